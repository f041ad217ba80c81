//! report.html: one self-contained page — inline CSS, inline SVG plots drawn
//! here (equity curve, drawdown, edge distribution, P&L by pair; axes with
//! tick labels), the summary, per-pair, daily and trades tables. No external
//! URL, no script, nothing fetched: it opens from disk without a network.
//! Every string from the run is HTML-escaped (pair ids are external input).
//!
//! Tick values are chosen in exact integers (micro-dollars, counts, seconds);
//! only the mapping of values to pixel coordinates uses floating point.

// Pixel coordinates are rendering, not money: every money value is read from
// `Cash` and only converted to a pixel position here.
#![allow(clippy::float_arithmetic)]

use std::fmt::Write as _;

use orion_core::time_fmt::rfc3339_millis;
use orion_core::{Cash, Price, Timestamp};

use super::model::BacktestRun;
use super::stats::{Summary, format_day, money};
use super::text::summary_rows;

/// At most this many trades are listed in the page's trade table.
pub const MAX_TRADE_ROWS: usize = 1_000;
/// At most this many days are listed in the page's daily table (ten years).
pub const MAX_DAY_ROWS: usize = 3_660;
/// At most this many pairs get a bar in the P&L-by-pair chart.
pub const MAX_PAIR_BARS: usize = 40;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab/newline are not allowed in
            // HTML text; show them as the replacement character.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

pub(crate) const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;color:#1d2433;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d5d9e0}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
th,td{padding:.2em .7em;border-bottom:1px solid #e4e7ec;text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
th{background:#f2f4f7}td.t,th.t{text-align:left}
.neg{color:#b42318}.pos{color:#067647}.note{color:#667085;font-size:.9em}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1em}
figure{margin:0}figcaption{font-weight:600;margin-bottom:.3em}
svg{width:100%;height:auto;background:#fff;border:1px solid #e4e7ec}
svg text{font-size:11px;fill:#475467}
.grid{stroke:#eaecf0;stroke-width:1}.axis{stroke:#98a2b3;stroke-width:1}
.line{fill:none;stroke:#1570ef;stroke-width:1.5}.dd{fill:#fda29b;stroke:#b42318;stroke-width:1}
.bar{fill:#53b1fd}.barneg{fill:#f97066}.best{background:#fef0c7;font-weight:600}
td.sub{padding-left:2em;color:#475467}.headline{font-size:1.05em}.wide{overflow-x:auto}
";

/// The whole page.
pub fn render(run: &BacktestRun, s: &Summary) -> String {
    let mut out = String::with_capacity(64 * 1024 + run.trades.len().min(MAX_TRADE_ROWS) * 400);
    let title = format!("Backtest {} (seed {})", escape(&s.label), s.seed);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    if s.trades == 0 {
        out.push_str("<p class=\"note\"><strong>no trades</strong> in this run.</p>\n");
    }

    let _ = writeln!(
        out,
        "<p class=\"headline\">net P&amp;L <b>{}</b> · {} trades · max drawdown <b>{}</b> · Sharpe <b>{}</b> · {} events over {} UTC days</p>",
        escape(&money(s.net_pnl)),
        s.trades,
        escape(&money(s.max_drawdown)),
        escape(&super::text::opt_stat(s.sharpe)),
        s.events,
        s.days
    );

    out.push_str("<h2>Plots</h2>\n<div class=\"plots\">\n");
    figure(&mut out, "Equity", &equity_plot(s));
    figure(&mut out, "Drawdown", &drawdown_plot(s));
    figure(&mut out, "Detected edge per contract", &edge_plot(s));
    figure(&mut out, "Net P&L by pair", &pair_plot(s));
    out.push_str("</div>\n");

    out.push_str(
        "<h2>Summary</h2>\n<table>\n<tr><th class=\"t\">statistic</th><th>value</th></tr>\n",
    );
    for (k, v) in summary_rows(s) {
        // Rows indented in the printed summary break down the row above.
        let class = if k.starts_with(' ') { "t sub" } else { "t" };
        let _ = writeln!(
            out,
            "<tr><td class=\"{class}\">{}</td><td>{}</td></tr>",
            escape(k.trim_start()),
            escape(&v)
        );
    }
    out.push_str("</table>\n<p class=\"note\">Capital velocity = capital deployed (both legs' costs plus fees) ÷ starting capital ÷ UTC days of the run. Daily P&amp;L counts days without a trade as $0. Sharpe and Sortino are of daily net P&amp;L, annualised by √365.</p>\n");

    pair_table(&mut out, s);
    daily_table(&mut out, s);
    trade_table(&mut out, run);
    out.push_str("</body>\n</html>\n");
    out
}

fn figure(out: &mut String, caption: &str, svg: &str) {
    let _ = write!(
        out,
        "<figure>\n<figcaption>{}</figcaption>\n{svg}</figure>\n",
        escape(caption)
    );
}

fn cls(c: Cash) -> &'static str {
    if c < Cash::ZERO {
        " class=\"neg\""
    } else if c > Cash::ZERO {
        " class=\"pos\""
    } else {
        ""
    }
}

fn pair_table(out: &mut String, s: &Summary) {
    out.push_str("<h2>Per pair</h2>\n");
    if s.pairs.is_empty() {
        out.push_str("<p class=\"note\">no trades</p>\n");
        return;
    }
    out.push_str("<table>\n<tr><th class=\"t\">pair</th><th>trades</th><th>contracts</th><th>gross P&amp;L</th><th>fees</th><th>net P&amp;L</th><th>wins</th><th>losses</th></tr>\n");
    for p in &s.pairs {
        let _ = writeln!(
            out,
            "<tr><td class=\"t\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.pair_id),
            p.trades,
            p.contracts.format(2),
            money(p.gross_pnl),
            money(p.fees),
            cls(p.net_pnl),
            money(p.net_pnl),
            p.wins,
            p.losses
        );
    }
    out.push_str("</table>\n");
}

fn daily_table(out: &mut String, s: &Summary) {
    out.push_str("<h2>Daily net P&amp;L (UTC)</h2>\n");
    if s.daily_pnl.is_empty() {
        out.push_str("<p class=\"note\">no events</p>\n");
        return;
    }
    if s.daily_pnl.len() > MAX_DAY_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"note\">The first {MAX_DAY_ROWS} of {} days.</p>",
            s.daily_pnl.len()
        );
    }
    out.push_str("<table>\n<tr><th class=\"t\">day</th><th>trades</th><th>net P&amp;L</th></tr>\n");
    for d in s.daily_pnl.iter().take(MAX_DAY_ROWS) {
        let _ = writeln!(
            out,
            "<tr><td class=\"t\">{}</td><td>{}</td><td{}>{}</td></tr>",
            format_day(d.day),
            d.trades,
            cls(d.net_pnl),
            money(d.net_pnl)
        );
    }
    out.push_str("</table>\n");
}

fn trade_table(out: &mut String, run: &BacktestRun) {
    out.push_str("<h2>Trades</h2>\n");
    if run.trades.is_empty() {
        out.push_str("<p class=\"note\">no trades</p>\n");
        return;
    }
    if run.trades.len() > MAX_TRADE_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"note\">The first {MAX_TRADE_ROWS} of {} trades; trades.csv lists them all.</p>",
            run.trades.len()
        );
    }
    out.push_str("<div class=\"wide\">\n<table>\n<tr><th>#</th><th class=\"t\">pair</th><th class=\"t\">executed (UTC)</th><th class=\"t\">direction</th><th>planned</th><th>hedged</th><th>Kalshi cost</th><th>Polymarket cost</th><th>fees</th><th>expected</th><th class=\"t\">outcome</th><th>repair loss</th><th>net P&amp;L</th></tr>\n");
    for t in run.trades.iter().take(MAX_TRADE_ROWS) {
        let outcome = if t.partial {
            format!("{} (partial)", t.outcome)
        } else {
            t.outcome.clone()
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"t\">{}</td><td>{}</td><td{}>{}</td></tr>",
            t.trade_no,
            escape(&t.pair_id),
            rfc3339_millis(t.executed_at),
            escape(&t.direction),
            t.contracts_planned.format(2),
            t.contracts_hedged.format(2),
            money(t.kalshi_cost),
            money(t.polymarket_cost),
            money(t.fees),
            money(t.expected_profit),
            escape(&outcome),
            money(t.repair_loss),
            cls(t.net_pnl),
            money(t.net_pnl)
        );
    }
    out.push_str("</table>\n</div>\n");
}

// ---------------------------------------------------------------- plotting

const W: f64 = 640.0;
const H: f64 = 280.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 40.0;
const PLOT_W: f64 = W - LEFT - RIGHT;
const PLOT_H: f64 = H - TOP - BOTTOM;

/// The plotting area's vertical scale: `lo` at the bottom, `hi` at the top.
#[derive(Debug, Clone, Copy)]
struct YScale {
    lo: i64,
    hi: i64,
}

impl YScale {
    fn y(self, v: i64) -> f64 {
        let span = self.hi.saturating_sub(self.lo).max(1) as f64;
        TOP + PLOT_H - (v.saturating_sub(self.lo)) as f64 / span * PLOT_H
    }
}

/// The smallest 1-2-5 step (times a power of ten, at least `min_step`) that
/// divides `span` into at most `max_ticks` intervals.
fn nice_step(span: i64, max_ticks: i64, min_step: i64) -> i64 {
    let mut magnitude: i64 = 1;
    loop {
        for m in [1i64, 2, 5] {
            let step = m.saturating_mul(magnitude).max(min_step);
            if step.saturating_mul(max_ticks) >= span || step == i64::MAX {
                return step;
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

/// Widens `[lo, hi]` to whole steps and returns the scale and its ticks.
fn y_axis(lo: i64, hi: i64, min_step: i64) -> (YScale, Vec<i64>) {
    let (lo, hi) = if lo == hi {
        (lo.saturating_sub(min_step), hi.saturating_add(min_step))
    } else {
        (lo, hi)
    };
    let step = nice_step(hi.saturating_sub(lo), 5, min_step);
    let lo = lo.div_euclid(step).saturating_mul(step);
    let hi = hi
        .div_euclid(step)
        .saturating_add(i64::from(hi.rem_euclid(step) != 0))
        .saturating_mul(step);
    let mut ticks = Vec::new();
    let mut v = lo;
    while v <= hi && ticks.len() < 20 {
        ticks.push(v);
        v = v.saturating_add(step);
        if v == i64::MAX {
            break;
        }
    }
    (YScale { lo, hi }, ticks)
}

/// Tick steps for a time axis, in seconds.
const TIME_STEPS: [i64; 24] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200,
    86_400, 172_800, 604_800, 1_209_600, 2_592_000, 7_776_000, 31_536_000,
];

/// Ticks (nanoseconds) and their labels for a time axis over `[t0, t1]`.
fn time_ticks(t0: i64, t1: i64) -> Vec<(i64, String)> {
    let span_s = (t1.saturating_sub(t0)) / 1_000_000_000;
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|s| s * 5 >= span_s)
        .unwrap_or(31_536_000);
    // The first whole step at or after t0.
    let t0_s = t0.div_euclid(1_000_000_000);
    let first = t0_s.div_euclid(step) + i64::from(t0_s.rem_euclid(step) != 0);
    let mut ticks = Vec::new();
    let mut k = first;
    while ticks.len() < 8 {
        let secs = k.saturating_mul(step);
        let nanos = secs.saturating_mul(1_000_000_000);
        if nanos > t1 || nanos == i64::MAX {
            break;
        }
        let text = rfc3339_millis(Timestamp::from_nanos(nanos));
        // "YYYY-MM-DDTHH:MM:SS.mmmZ": pick the part the step makes useful.
        let label = if step >= 86_400 {
            text[..10].to_owned()
        } else if span_s >= 86_400 {
            format!("{} {}", &text[5..10], &text[11..16])
        } else if step >= 60 {
            text[11..16].to_owned()
        } else {
            text[11..19].to_owned()
        };
        ticks.push((nanos, label));
        k += 1;
    }
    ticks
}

fn svg_open(out: &mut String, label: &str) {
    let _ = writeln!(
        out,
        "<svg viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{}\">",
        escape(label)
    );
}

fn no_data(out: &mut String, what: &str) {
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        W / 2.0,
        H / 2.0,
        escape(what)
    );
}

/// Horizontal grid lines and y tick labels formatted by `label`.
fn y_grid(out: &mut String, scale: YScale, ticks: &[i64], label: impl Fn(i64) -> String) {
    for &v in ticks {
        let y = scale.y(v);
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + PLOT_W,
            LEFT - 6.0,
            y + 4.0,
            escape(&label(v))
        );
    }
}

fn axes(out: &mut String) {
    let _ = writeln!(
        out,
        "<line class=\"axis\" x1=\"{LEFT:.1}\" y1=\"{TOP:.1}\" x2=\"{LEFT:.1}\" y2=\"{b:.1}\"/><line class=\"axis\" x1=\"{LEFT:.1}\" y1=\"{b:.1}\" x2=\"{r:.1}\" y2=\"{b:.1}\"/>",
        b = TOP + PLOT_H,
        r = LEFT + PLOT_W
    );
}

/// The x position of time `t` on an axis over `[t0, t1]`.
fn time_x(t: i64, t0: i64, t1: i64) -> f64 {
    let span = (t1.saturating_sub(t0)).max(1) as f64;
    LEFT + (t.saturating_sub(t0)) as f64 / span * PLOT_W
}

fn x_time_labels(out: &mut String, t0: i64, t1: i64) {
    for (t, label) in time_ticks(t0, t1) {
        let x = time_x(t, t0, t1);
        let _ = writeln!(
            out,
            "<line class=\"axis\" x1=\"{x:.1}\" y1=\"{b:.1}\" x2=\"{x:.1}\" y2=\"{b2:.1}\"/><text x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{}</text>",
            escape(&label),
            b = TOP + PLOT_H,
            b2 = TOP + PLOT_H + 4.0,
            ty = TOP + PLOT_H + 18.0
        );
    }
}

/// A dollar tick label: "$1.50", "-$0.50".
fn dollars(v: i64) -> String {
    let text = Cash::from_micros(v).format(2);
    match text.strip_prefix('-') {
        Some(magnitude) => format!("-${magnitude}"),
        None => format!("${text}"),
    }
}

/// Time extent of the equity curve (the last event extends it, so the curve
/// ends where the run did).
fn time_extent(s: &Summary) -> (i64, i64) {
    let t0 = s.equity_curve.first().map_or(0, |p| p.at.nanos());
    let mut t1 = s.equity_curve.last().map_or(0, |p| p.at.nanos());
    if let Some(last) = s.last_event {
        t1 = t1.max(last.nanos());
    }
    (t0, t1.max(t0))
}

/// Vertices of a step line through the equity curve: equity (and drawdown)
/// only change when a trade executes, so the line holds each value flat until
/// the next trade, then steps, and runs flat to the end of the run. For n
/// points that is 2n vertices: the first point, two per later point, and the
/// end.
fn step_points(
    s: &Summary,
    t0: i64,
    t1: i64,
    y: impl Fn(&super::stats::EquityPoint) -> f64,
) -> String {
    let mut points = String::new();
    let mut previous: Option<f64> = None;
    for p in drawn(s, t0, t1) {
        let x = time_x(p.at.nanos(), t0, t1);
        let value = y(p);
        if let Some(before) = previous {
            let _ = write!(points, " {x:.1},{before:.1}");
            points.push(' ');
        }
        let _ = write!(points, "{x:.1},{value:.1}");
        previous = Some(value);
    }
    if let Some(last) = previous {
        let _ = write!(points, " {:.1},{last:.1}", time_x(t1, t0, t1));
    }
    points
}

/// Beyond this many equity points the plots draw a subset: per time column,
/// the first and last point and the extremes of equity and drawdown.
pub const MAX_PLOT_POINTS: usize = 4_000;
/// Pixel columns the subset is chosen over.
const PLOT_COLUMNS: i128 = 800;

/// The equity points the plots draw: all of them up to [`MAX_PLOT_POINTS`];
/// past that, per one of [`PLOT_COLUMNS`] time columns, the first and last
/// point and those with the lowest and highest equity and the deepest
/// drawdown — so every extreme a reader could see at this width is kept,
/// and a million-trade run does not make a 30 MB page.
fn drawn(s: &Summary, t0: i64, t1: i64) -> Vec<&super::stats::EquityPoint> {
    let curve = &s.equity_curve;
    if curve.len() <= MAX_PLOT_POINTS {
        return curve.iter().collect();
    }
    let span = i128::from(t1.saturating_sub(t0)).max(1);
    let column = |p: &super::stats::EquityPoint| {
        (i128::from(p.at.nanos().saturating_sub(t0)) * PLOT_COLUMNS / span).clamp(0, PLOT_COLUMNS)
    };
    let mut keep = vec![false; curve.len()];
    let mut start = 0;
    while start < curve.len() {
        let col = column(&curve[start]);
        let mut end = start;
        while end + 1 < curve.len() && column(&curve[end + 1]) == col {
            end += 1;
        }
        let group = start..=end;
        let pick = |key: &dyn Fn(usize) -> i64, max: bool| {
            group
                .clone()
                .reduce(|a, b| {
                    let better = if max {
                        key(b) > key(a)
                    } else {
                        key(b) < key(a)
                    };
                    if better { b } else { a }
                })
                .unwrap_or(start)
        };
        let equity = |i: usize| curve[i].equity.micros();
        let drawdown = |i: usize| curve[i].drawdown.micros();
        for i in [
            start,
            end,
            pick(&equity, false),
            pick(&equity, true),
            pick(&drawdown, true),
        ] {
            keep[i] = true;
        }
        start = end + 1;
    }
    curve
        .iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(p))
        .collect()
}

/// The equity curve as a step line (see [`step_points`]); `data-points` says
/// how many equity points it draws (the starting capital plus one per trade,
/// or the subset [`drawn`] keeps), `data-total` how many there are.
fn equity_plot(s: &Summary) -> String {
    let mut out = String::new();
    svg_open(&mut out, "equity curve");
    let values: Vec<i64> = s.equity_curve.iter().map(|p| p.equity.micros()).collect();
    let lo = values.iter().copied().min().unwrap_or(0);
    let hi = values.iter().copied().max().unwrap_or(0);
    let (scale, ticks) = y_axis(lo, hi, 10_000);
    let (t0, t1) = time_extent(s);
    y_grid(&mut out, scale, &ticks, dollars);
    axes(&mut out);
    x_time_labels(&mut out, t0, t1);
    let points = step_points(s, t0, t1, |p| scale.y(p.equity.micros()));
    let _ = writeln!(
        out,
        "<polyline class=\"line equity\" data-points=\"{}\" data-total=\"{}\" points=\"{points}\"/>",
        drawn(s, t0, t1).len(),
        s.equity_curve.len()
    );
    if s.equity_curve.len() > MAX_PLOT_POINTS {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{} of {} points drawn (extremes kept)</text>",
            LEFT + PLOT_W,
            H - 4.0,
            drawn(s, t0, t1).len(),
            s.equity_curve.len()
        );
    }
    if s.trades == 0 {
        no_data(&mut out, "no trades");
    }
    out.push_str("</svg>\n");
    out
}

/// Drawdown below the running peak, as a filled area under zero.
fn drawdown_plot(s: &Summary) -> String {
    let mut out = String::new();
    svg_open(&mut out, "drawdown");
    let deepest = s
        .equity_curve
        .iter()
        .map(|p| p.drawdown.micros())
        .max()
        .unwrap_or(0);
    let (scale, ticks) = y_axis(deepest.saturating_neg().min(0), 0, 10_000);
    let (t0, t1) = time_extent(s);
    y_grid(&mut out, scale, &ticks, dollars);
    axes(&mut out);
    x_time_labels(&mut out, t0, t1);
    let zero = scale.y(0);
    let points = format!(
        "{LEFT:.1},{zero:.1} {} {:.1},{zero:.1}",
        step_points(s, t0, t1, |p| scale.y(p.drawdown.micros().saturating_neg())),
        time_x(t1, t0, t1)
    );
    let _ = writeln!(out, "<polygon class=\"dd\" points=\"{points}\"/>");
    if s.trades == 0 {
        no_data(&mut out, "no trades");
    }
    out.push_str("</svg>\n");
    out
}

/// Histogram of detected edges: one bar per bucket.
fn edge_plot(s: &Summary) -> String {
    let mut out = String::new();
    svg_open(&mut out, "edge distribution");
    let buckets = &s.edges.buckets;
    let top = buckets.iter().map(|b| b.count).max().unwrap_or(0);
    let (scale, ticks) = y_axis(0, i64::try_from(top).unwrap_or(i64::MAX).max(1), 1);
    y_grid(&mut out, scale, &ticks, |v| v.to_string());
    axes(&mut out);
    if buckets.is_empty() {
        no_data(&mut out, "no detections");
        out.push_str("</svg>\n");
        return out;
    }
    let n = buckets.len() as f64;
    let slot = PLOT_W / n;
    // Label at most ~8 bucket edges so the labels never overlap.
    let label_every = buckets.len().div_ceil(8).max(1);
    for (i, b) in buckets.iter().enumerate() {
        let x = LEFT + i as f64 * slot;
        let y = scale.y(i64::try_from(b.count).unwrap_or(i64::MAX));
        let _ = writeln!(
            out,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{} ≤ edge &lt; {}: {}</title></rect>",
            x + 1.0,
            (slot - 2.0).max(0.5),
            (TOP + PLOT_H - y).max(0.0),
            Price::from_micros_clamped(b.from_micros).format(4),
            format_micros(u64::from(b.from_micros) + u64::from(s.edges.width_micros)),
            b.count
        );
        if i % label_every == 0 {
            let _ = writeln!(
                out,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                TOP + PLOT_H + 18.0,
                Price::from_micros_clamped(b.from_micros).format(3)
            );
        }
    }
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">$ per contract (bucket {})</text>",
        LEFT + PLOT_W / 2.0,
        H - 4.0,
        format_micros(u64::from(s.edges.width_micros))
    );
    out.push_str("</svg>\n");
    out
}

/// Micro-dollars that may exceed $1, as dollars with at least 3 decimals.
fn format_micros(m: u64) -> String {
    orion_core::decimal::format_scaled(i128::from(m), 6, 3)
}

/// Horizontal bars of net P&L per pair, largest gains first; at most
/// [`MAX_PAIR_BARS`] pairs (the largest by |net P&L|).
fn pair_plot(s: &Summary) -> String {
    let mut rows: Vec<&super::stats::PairRow> = s.pairs.iter().collect();
    // Keep the pairs that moved P&L most, then order them by P&L; ties by id.
    rows.sort_by(|a, b| {
        b.net_pnl
            .micros()
            .unsigned_abs()
            .cmp(&a.net_pnl.micros().unsigned_abs())
            .then_with(|| a.pair_id.cmp(&b.pair_id))
    });
    let hidden = rows.len().saturating_sub(MAX_PAIR_BARS);
    rows.truncate(MAX_PAIR_BARS);
    rows.sort_by(|a, b| {
        b.net_pnl
            .cmp(&a.net_pnl)
            .then_with(|| a.pair_id.cmp(&b.pair_id))
    });

    let mut out = String::new();
    // Thick bars for a few pairs, thinner for many; the plot grows to fit.
    let bar_h = (PLOT_H / rows.len().max(1) as f64).clamp(14.0, 28.0);
    let height = TOP + BOTTOM + bar_h * rows.len().max(3) as f64;
    let label_w = 150.0;
    let _ = writeln!(
        out,
        "<svg viewBox=\"0 0 {W} {height:.0}\" width=\"{W}\" height=\"{height:.0}\" role=\"img\" aria-label=\"net P&amp;L by pair\">"
    );
    if rows.is_empty() {
        no_data(&mut out, "no trades");
        out.push_str("</svg>\n");
        return out;
    }
    let lo = rows
        .iter()
        .map(|r| r.net_pnl.micros())
        .min()
        .unwrap_or(0)
        .min(0);
    let hi = rows
        .iter()
        .map(|r| r.net_pnl.micros())
        .max()
        .unwrap_or(0)
        .max(0);
    let (lo, hi) = if lo == hi {
        (lo.saturating_sub(10_000), hi.saturating_add(10_000))
    } else {
        (lo, hi)
    };
    let step = nice_step(hi.saturating_sub(lo), 4, 10_000);
    let lo = lo.div_euclid(step).saturating_mul(step);
    let hi = (hi.div_euclid(step) + i64::from(hi.rem_euclid(step) != 0)).saturating_mul(step);
    let span = hi.saturating_sub(lo).max(1) as f64;
    let plot_left = label_w + 8.0;
    let plot_w = W - plot_left - RIGHT;
    let x = |v: i64| plot_left + v.saturating_sub(lo) as f64 / span * plot_w;
    let bottom = TOP + bar_h * rows.len() as f64;
    let mut v = lo;
    while v <= hi {
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{xv:.1}\" y1=\"{TOP:.1}\" x2=\"{xv:.1}\" y2=\"{bottom:.1}\"/><text x=\"{xv:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            bottom + 16.0,
            escape(&dollars(v)),
            xv = x(v)
        );
        v = v.saturating_add(step);
        if v == i64::MAX {
            break;
        }
    }
    let zero = x(0);
    for (i, r) in rows.iter().enumerate() {
        let y = TOP + i as f64 * bar_h;
        let value = r.net_pnl.micros();
        let (x0, x1) = if value < 0 {
            (x(value), zero)
        } else {
            (zero, x(value))
        };
        let name: String = r.pair_id.chars().take(24).collect();
        let name = if name.len() < r.pair_id.len() {
            format!("{name}…")
        } else {
            name
        };
        let _ = writeln!(
            out,
            "<text x=\"{label_w:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect class=\"{}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}: {}</title></rect>",
            y + bar_h / 2.0 + 4.0,
            escape(&name),
            if value < 0 { "barneg" } else { "bar" },
            y + 2.0,
            (x1 - x0).max(0.5),
            bar_h - 4.0,
            escape(&r.pair_id),
            money(r.net_pnl)
        );
    }
    let _ = writeln!(
        out,
        "<line class=\"axis\" x1=\"{zero:.1}\" y1=\"{TOP:.1}\" x2=\"{zero:.1}\" y2=\"{bottom:.1}\"/>"
    );
    if hidden > 0 {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{hidden} more pairs with smaller |net P&amp;L| not drawn</text>",
            plot_left + plot_w / 2.0,
            bottom + 32.0
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_curve_keeps_its_ends_and_extremes() {
        let mut run = crate::report::BacktestRun {
            label: String::new(),
            seed: 0,
            events: 0,
            opportunities_seen: 0,
            first_event: None,
            last_event: None,
            starting_capital: Cash::from_micros(1_000_000_000),
            orders_sent: 0,
            orders_filled: 0,
            orders_partially_filled: 0,
            orders_rejected: 0,
            detected_edges: Vec::new(),
            trades: Vec::new(),
        };
        let n: i64 = 20_000;
        let (trough, peak) = (12_345, 777);
        for i in 0..n {
            let net = match i {
                _ if i == peak => 500_000_000,
                _ if i == trough => -2_000_000_000,
                _ if i % 2 == 0 => 1_000_000,
                _ => -1_000_000,
            };
            run.trades.push(crate::report::TradeRecord {
                trade_no: i as u64,
                pair_id: "p".into(),
                detected_at: Timestamp::from_secs(i),
                executed_at: Timestamp::from_secs(i),
                direction: String::new(),
                contracts_planned: orion_core::Quantity::ZERO,
                contracts_hedged: orion_core::Quantity::ZERO,
                kalshi_cost: Cash::ZERO,
                polymarket_cost: Cash::ZERO,
                fees: Cash::ZERO,
                expected_profit: Cash::ZERO,
                outcome: "completed".into(),
                partial: false,
                repair_loss: Cash::ZERO,
                gross_pnl: Cash::from_micros(net),
                net_pnl: Cash::from_micros(net),
            });
        }
        let s = Summary::from_run(&run);
        let (t0, t1) = time_extent(&s);
        let kept = drawn(&s, t0, t1);
        assert!(kept.len() <= 5 * 801 && kept.len() < s.equity_curve.len());
        let has = |k: usize| kept.iter().any(|p| std::ptr::eq(*p, &s.equity_curve[k]));
        // Point k + 1 is the equity after trade k.
        let deepest = (0..s.equity_curve.len())
            .max_by_key(|&k| (s.equity_curve[k].drawdown, std::cmp::Reverse(k)))
            .unwrap();
        let lowest = (0..s.equity_curve.len())
            .min_by_key(|&k| (s.equity_curve[k].equity, k))
            .unwrap();
        let highest = (0..s.equity_curve.len())
            .max_by_key(|&k| (s.equity_curve[k].equity, std::cmp::Reverse(k)))
            .unwrap();
        assert_eq!(deepest, trough as usize + 1);
        for k in [0, s.equity_curve.len() - 1, deepest, lowest, highest] {
            assert!(has(k), "point {k} was dropped");
        }
        // In time order, as the step line needs.
        assert!(kept.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{7}b"), "a\u{FFFD}b");
    }

    #[test]
    fn nice_steps_are_1_2_5() {
        assert_eq!(nice_step(10, 5, 1), 2);
        assert_eq!(nice_step(11, 5, 1), 5);
        assert_eq!(nice_step(3_000_000, 5, 10_000), 1_000_000);
        assert_eq!(nice_step(0, 5, 10_000), 10_000);
        assert_eq!(nice_step(i64::MAX, 5, 1), 2_000_000_000_000_000_000);
    }

    #[test]
    fn y_axis_covers_the_range_in_whole_steps() {
        let (scale, ticks) = y_axis(-1_234_567, 2_000_001, 10_000);
        assert!(scale.lo <= -1_234_567 && scale.hi >= 2_000_001);
        assert_eq!(ticks.first(), Some(&scale.lo));
        assert_eq!(ticks.last(), Some(&scale.hi));
    }

    #[test]
    fn time_ticks_fall_inside_the_span() {
        let t0 = 1_767_225_600 * 1_000_000_000; // 2026-01-01T00:00:00Z
        let t1 = t0 + 3 * 86_400 * 1_000_000_000;
        let ticks = time_ticks(t0, t1);
        assert!(!ticks.is_empty());
        assert!(ticks.iter().all(|(t, _)| *t >= t0 && *t <= t1));
        // A three-day span ticks daily, labelled by date.
        let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
        );
        // Six hours tick every two hours, labelled by time of day.
        let ticks = time_ticks(t0 + 1_000_000_000, t0 + 6 * 3_600 * 1_000_000_000);
        let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["02:00", "04:00", "06:00"]);
    }
}
