//! HTML rendering: plain string building, with every piece of data passing
//! through [`escape`] (text and attribute values alike). No inline script or
//! style anywhere, so the Content-Security-Policy can forbid both.

use std::collections::HashMap;
use std::fmt::Write as _;

use orion_core::Cash;

use crate::backend::{ConfigEntry, OpportunityView, PairView, PositionView, StatusView, TradeView};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2F;"),
            '`' => out.push_str("&#x60;"),
            '=' => out.push_str("&#x3D;"),
            c => out.push(c),
        }
    }
    out
}

fn money(c: Option<Cash>) -> String {
    c.map_or_else(|| "unknown".to_string(), |c| format!("${c}"))
}

/// The navigation entries: path and label.
const NAV: &[(&str, &str)] = &[
    ("/", "Status"),
    ("/opportunities", "Opportunities"),
    ("/trades", "Positions & trades"),
    ("/pairs", "Pair review"),
    ("/config", "Configuration"),
    ("/controls", "Controls"),
];

/// A hidden CSRF field for a form.
pub fn csrf_field(csrf: &str) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        escape(csrf)
    )
}

/// A whole page around `body`. `csrf` is `None` on the login page (no
/// navigation, no logout).
pub fn page(
    title: &str,
    current: &str,
    csrf: Option<&str>,
    notice: Option<&str>,
    body: &str,
) -> String {
    let mut html = String::with_capacity(body.len() + 2048);
    let _ = write!(
        html,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{} · Orion</title>
<link rel="stylesheet" href="/static/style.css">
<script src="/static/app.js" defer></script>
</head><body>
<header><span class="brand">Orion</span>"#,
        escape(title)
    );
    if let Some(csrf) = csrf {
        html.push_str("<nav>");
        for (path, label) in NAV {
            let class = if *path == current {
                r#" class="current""#
            } else {
                ""
            };
            let _ = write!(
                html,
                r#"<a href="{}"{class}>{}</a>"#,
                escape(path),
                escape(label)
            );
        }
        let _ = write!(
            html,
            r#"</nav><form method="post" action="/logout" class="logout">{}<button type="submit">Log out</button></form>"#,
            csrf_field(csrf)
        );
    }
    html.push_str("</header><main>");
    let _ = write!(html, "<h1>{}</h1>", escape(title));
    if let Some(n) = notice {
        let _ = write!(html, r#"<p class="notice" id="notice">{}</p>"#, escape(n));
    }
    html.push_str(body);
    html.push_str("</main></body></html>\n");
    html
}

pub fn login(csrf: &str, error: Option<&str>) -> String {
    let body = format!(
        r#"<form method="post" action="/login" class="login" id="login-form">{}
<label>Password <input type="password" name="password" id="password" autocomplete="current-password" required autofocus></label>
<button type="submit" id="login-button">Log in</button></form>"#,
        csrf_field(csrf)
    );
    page("Log in", "/login", None, error, &body)
}

pub fn status(s: &StatusView) -> String {
    let mut b = String::new();
    b.push_str(r#"<section><h2>Engine</h2><table class="kv">"#);
    let row = |b: &mut String, k: &str, v: &str, field: &str| {
        let _ = write!(
            b,
            r#"<tr><th>{}</th><td data-field="{}">{}</td></tr>"#,
            escape(k),
            escape(field),
            escape(v)
        );
    };
    row(&mut b, "Mode", &s.mode, "mode");
    row(&mut b, "Trading", &s.trading, "trading");
    let breaker = if s.breaker_allows_trades {
        format!("{} (trades allowed)", s.breaker)
    } else {
        format!("{} (no new trades)", s.breaker)
    };
    row(&mut b, "Circuit breaker", &breaker, "breaker");
    if let Some(d) = &s.breaker_detail {
        row(&mut b, "Breaker detail", d, "breaker_detail");
    }
    row(&mut b, "Ready", if s.ready { "yes" } else { "no" }, "ready");
    row(
        &mut b,
        "Realized P&L",
        &money(s.realized_pnl),
        "realized_pnl",
    );
    b.push_str("</table></section>");

    b.push_str(r#"<section><h2>Balances</h2><table class="kv">"#);
    for (venue, cash) in &s.balances {
        let _ = write!(
            b,
            r#"<tr><th>{}</th><td data-balance="{}">{}</td></tr>"#,
            escape(venue),
            escape(venue),
            escape(&money(*cash))
        );
    }
    b.push_str("</table></section>");

    b.push_str(r#"<section><h2>Counters</h2><table class="kv" id="counters">"#);
    for (name, value) in &s.counters {
        let _ = write!(
            b,
            r#"<tr><th>{}</th><td data-counter="{}">{value}</td></tr>"#,
            escape(&name.replace('_', " ")),
            escape(name)
        );
    }
    b.push_str("</table></section>");

    b.push_str(r#"<section><h2>Readiness</h2><pre id="readiness">"#);
    b.push_str(&escape(
        &serde_json::to_string_pretty(&s.readiness).unwrap_or_default(),
    ));
    b.push_str("</pre></section>");
    b
}

fn opportunity_rows(list: &[OpportunityView]) -> String {
    let mut b = String::new();
    for o in list {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>${}</td><td>${}</td><td>{}</td></tr>",
            escape(&o.detected_at.to_string()),
            escape(&o.pair_id),
            escape(&o.direction),
            escape(&o.quantity),
            escape(&o.total_cost.to_string()),
            escape(&o.net_profit.to_string()),
            if o.acted { "executed" } else { "detected" }
        );
    }
    b
}

/// The live opportunities, then the titles of the confirmed pairs
/// (`titles`: pair id, title) so the ids in the live rows can be read.
pub fn opportunities(list: &[OpportunityView], titles: &[(String, String)]) -> String {
    let mut b = format!(
        r#"<p>Newest first; refreshed every two seconds.</p>
<table class="list"><thead><tr><th>Detected</th><th>Pair</th><th>Direction</th><th>Contracts</th><th>Cost</th><th>Net profit</th><th>Action</th></tr></thead>
<tbody id="opportunities" data-live="/api/opportunities">{}</tbody></table>"#,
        opportunity_rows(list)
    );
    if !titles.is_empty() {
        b.push_str(r#"<section><h2>Pairs</h2><table class="kv" id="pair-titles">"#);
        for (pair_id, title) in titles {
            let _ = write!(
                b,
                r#"<tr><th class="id">{}</th><td>{}</td></tr>"#,
                escape(pair_id),
                escape(title)
            );
        }
        b.push_str("</table></section>");
    }
    b
}

/// A pair cell: its id, and its market's title beneath when known.
fn pair_cell(pair_id: &str, titles: &HashMap<String, String>) -> String {
    match titles.get(pair_id) {
        Some(title) => format!(
            r#"<span class="id">{}</span><br><small class="title">{}</small>"#,
            escape(pair_id),
            escape(title)
        ),
        None => format!(r#"<span class="id">{}</span>"#, escape(pair_id)),
    }
}

/// Positions and recent trades; `titles` maps pair ids to market titles.
pub fn trades(
    positions: &[PositionView],
    trades: &[TradeView],
    titles: &HashMap<String, String>,
) -> String {
    let mut b = String::from(
        r#"<section><h2>Open positions</h2><table class="list"><thead><tr><th>Venue</th><th>Market</th><th>Outcome</th><th>Pair</th><th>Contracts</th><th>Cost</th><th>Kind</th></tr></thead><tbody id="positions">"#,
    );
    for p in positions {
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=\"id\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>${}</td><td>{}</td></tr>",
            escape(&p.venue),
            escape(&p.market),
            escape(&p.outcome),
            pair_cell(p.pair_id.as_deref().unwrap_or(""), titles),
            escape(&p.quantity),
            escape(&p.cost.to_string()),
            if p.simulated { "simulated" } else { "real" }
        );
    }
    if positions.is_empty() {
        b.push_str(r#"<tr><td colspan="7">No open positions.</td></tr>"#);
    }
    b.push_str(
        r#"</tbody></table></section><section><h2>Recent trades</h2><table class="list"><thead><tr><th>Started</th><th>Intent</th><th>Pair</th><th>Expected profit</th><th>Outcome</th><th>Finished</th><th>Kind</th></tr></thead><tbody id="trades">"#,
    );
    for t in trades {
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=\"id\">{}</td><td>{}</td><td>${}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&t.created_at.to_string()),
            escape(&t.intent_id),
            pair_cell(&t.pair_id, titles),
            escape(&t.expected_profit.to_string()),
            escape(t.outcome.as_deref().unwrap_or("in flight")),
            escape(&t.finished_at.map(|f| f.to_string()).unwrap_or_default()),
            if t.simulated { "SIMULATED" } else { "real" }
        );
    }
    if trades.is_empty() {
        b.push_str(r#"<tr><td colspan="7">No trades yet.</td></tr>"#);
    }
    b.push_str("</tbody></table></section>");
    b
}

pub fn pairs(list: &[PairView], csrf: &str) -> String {
    let mut b = String::from(
        r#"<table class="list"><thead><tr><th>Pair</th><th>Title</th><th>Kalshi</th><th>Polymarket condition</th><th>Inverted</th><th>Score</th><th>Flags</th><th>Reasons</th><th>Status</th><th>Decision</th></tr></thead><tbody>"#,
    );
    for p in list {
        let _ = write!(
            b,
            r#"<tr data-pair="{}"><td class="id">{}</td><td>{}</td><td class="id">{}</td><td class="id">{}</td><td>{}</td><td>{}.{:02}%</td><td>{}</td><td>{}</td><td class="status">{}</td><td class="decide">"#,
            escape(&p.pair_id),
            escape(&p.pair_id),
            escape(&p.title),
            escape(&p.kalshi_ticker),
            escape(&p.polymarket_condition_id),
            if p.inverted { "yes" } else { "no" },
            p.score_bps / 100,
            p.score_bps % 100,
            escape(&p.flags.join(", ")),
            escape(&p.reasons.join("; ")),
            escape(&p.status),
        );
        for (action, label) in [("confirm", "Confirm"), ("reject", "Reject")] {
            let _ = write!(
                b,
                r#"<form method="post" action="/pairs/{action}" class="inline">{}<input type="hidden" name="pair_id" value="{}"><input type="text" name="reason" placeholder="reason" required><button type="submit" data-action="{action}">{label}</button></form>"#,
                csrf_field(csrf),
                escape(&p.pair_id),
            );
        }
        if let Some(by) = &p.decided_by {
            let _ = write!(b, r#"<span class="by">by {}</span>"#, escape(by));
        }
        b.push_str("</td></tr>");
    }
    if list.is_empty() {
        b.push_str(r#"<tr><td colspan="10">No pairs stored.</td></tr>"#);
    }
    b.push_str("</tbody></table>");
    b
}

/// The configuration as the operator writes it: a `[section]` line, then
/// its `key = value` lines (entries are dotted keys, the last part the key;
/// values are already in configuration syntax). Each row carries its full
/// key in `data-key`, to find or link one setting.
pub fn config(entries: &[ConfigEntry]) -> String {
    let mut b = String::from(
        r#"<p>The effective configuration, as it would be written in <code>orion.toml</code>. Secrets live in the vault and are never shown; any value of a key ending in <code>_secret</code> is masked too.</p><table class="kv toml"><tbody>"#,
    );
    let mut current: Option<&str> = None;
    for e in entries {
        let (section, key) = e.key.rsplit_once('.').unwrap_or(("", e.key.as_str()));
        if current != Some(section) {
            if !section.is_empty() {
                let _ = write!(
                    b,
                    r#"<tr class="section"><th><code>[{}]</code></th></tr>"#,
                    escape(section)
                );
            }
            current = Some(section);
        }
        let _ = write!(
            b,
            r#"<tr data-key="{}"><td><code>{} = {}</code></td></tr>"#,
            escape(&e.key),
            escape(key),
            escape(&e.value)
        );
    }
    b.push_str("</tbody></table>");
    b
}

pub fn controls(status: &StatusView, csrf: &str) -> String {
    let f = csrf_field(csrf);
    format!(
        r#"<section><p>Trading: <strong>{}</strong>. Circuit breaker: <strong>{}</strong>.</p>
<form method="post" action="/controls/pause" class="inline">{f}<button type="submit" id="pause">Pause</button></form>
<form method="post" action="/controls/resume" class="inline">{f}<button type="submit" id="resume">Resume</button></form>
<form method="post" action="/controls/halt" class="inline">{f}<input type="text" name="reason" placeholder="reason" required><button type="submit" id="halt">Halt</button></form></section>
<section><h2>Reset the circuit breaker</h2><p>Resetting accepts the loss that tripped it. Re-enter the dashboard password; the reason is recorded in the audit log.</p>
<form method="post" action="/controls/breaker-reset">{f}
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<label>Reason <input type="text" name="reason" required></label>
<button type="submit" id="breaker-reset">Reset breaker</button></form></section>"#,
        escape(&status.trading),
        escape(&status.breaker),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_attribute_breakouts() {
        assert_eq!(
            escape(r#"<script>alert("x")</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2F;script&gt;"
        );
        assert_eq!(
            escape("a' onmouseover='b"),
            "a&#x27; onmouseover&#x3D;&#x27;b"
        );
        assert_eq!(escape("&amp;"), "&amp;amp;");
        assert_eq!(escape("plain text 1.25"), "plain text 1.25");
    }

    #[test]
    fn trades_show_the_pair_title_when_known() {
        let trade = |pair: &str| TradeView {
            intent_id: format!("i-{pair}"),
            pair_id: pair.into(),
            expected_profit: Cash::from_micros(1_000_000),
            created_at: orion_core::Timestamp::from_secs(1),
            finished_at: None,
            outcome: None,
            simulated: true,
        };
        let titles = HashMap::from([("P1".to_string(), "Fed <cut> in Dec".to_string())]);
        let html = trades(&[], &[trade("P1"), trade("P2")], &titles);
        assert!(
            html.contains(r#"<span class="id">P1</span><br><small class="title">Fed &lt;cut&gt; in Dec</small>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<td><span class="id">P2</span></td>"#),
            "{html}"
        );
    }

    #[test]
    fn opportunities_list_the_pair_titles_outside_the_live_rows() {
        let html = opportunities(&[], &[("P1".into(), "Fed & CPI".into())]);
        let live_end = html.find("</tbody>").unwrap();
        let legend = html
            .find(r#"<tr><th class="id">P1</th><td>Fed &amp; CPI</td></tr>"#)
            .unwrap();
        assert!(live_end < legend, "{html}");
        assert!(!opportunities(&[], &[]).contains("pair-titles"));
    }

    #[test]
    fn configuration_is_shown_as_toml_sections() {
        let entry = |key: &str, value: &str| ConfigEntry {
            key: key.into(),
            value: value.into(),
        };
        let html = config(&[
            entry("engine.mode", "\"dry-run\""),
            entry("engine.auto_execute", "false"),
            entry("venues.kalshi.tier", "\"basic\""),
        ]);
        let engine = html.find("<code>[engine]</code>").unwrap();
        let mode = html
            .find("<code>mode = &quot;dry-run&quot;</code>")
            .unwrap();
        let auto = html.find("<code>auto_execute = false</code>").unwrap();
        let kalshi = html.find("<code>[venues.kalshi]</code>").unwrap();
        let tier = html.find("<code>tier = &quot;basic&quot;</code>").unwrap();
        assert!(
            engine < mode && mode < auto && auto < kalshi && kalshi < tier,
            "{html}"
        );
        // One header per section.
        assert_eq!(html.matches("[engine]").count(), 1, "{html}");
        assert!(html.contains(r#"data-key="venues.kalshi.tier""#), "{html}");
    }
}
