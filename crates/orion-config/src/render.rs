//! The configuration written back as TOML, in the syntax an operator writes
//! (`mode = "dry-run"`, `min_edge = "0.01"`), for the dashboard's
//! configuration page and anything else that shows the effective settings.
//! `Config::parse` of the text gives the same configuration back (tested),
//! and every key of the schema is written (tested against `schema_keys`), so
//! a field added to the schema but not here fails a test rather than
//! silently going missing from the page.

use std::fmt::Write as _;

use orion_core::{Cash, Fraction, Price, Quantity};

use crate::{
    Config, KalshiLegTif, KalshiTier, LogFormat, PairSource, PasswordSource, PolymarketLegType,
};

/// One `key = value` line; `value` is already TOML (quoted where needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedKey {
    /// The TOML table it belongs to, dotted (`venues.kalshi`).
    pub section: String,
    pub key: String,
    pub value: String,
}

impl RenderedKey {
    /// `section.key`, as configuration problems name keys.
    pub fn path(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An exact decimal of `units / 10^digits`, as a quoted string with at
/// least two decimals ("0.01", "250.00", "0.005").
fn decimal(units: i128, digits: u32) -> String {
    let scale = 10i128.pow(digits);
    let sign = if units < 0 { "-" } else { "" };
    let abs = units.unsigned_abs();
    let scale_u = scale.unsigned_abs();
    let whole = abs / scale_u;
    let mut frac = format!("{:0width$}", abs % scale_u, width = digits as usize);
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    quoted(&format!("{sign}{whole}.{frac}"))
}

fn price(p: Price) -> String {
    decimal(i128::from(p.micros()), 6)
}

fn cash(c: Cash) -> String {
    decimal(i128::from(c.micros()), 6)
}

fn quantity(q: Quantity) -> String {
    decimal(i128::from(q.micros()), 6)
}

fn fraction(f: Fraction) -> String {
    decimal(i128::from(f.ppm()), 6)
}

fn list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| quoted(s)).collect();
    format!("[{}]", inner.join(", "))
}

fn path(p: &std::path::Path) -> String {
    quoted(&p.to_string_lossy())
}

impl Config {
    /// Every key with its value in configuration syntax, section by
    /// section in the order of `config/orion.example.toml`.
    pub fn rendered_keys(&self) -> Vec<RenderedKey> {
        let mut out = Vec::new();
        let mut put = |section: &str, key: &str, value: String| {
            out.push(RenderedKey {
                section: section.to_string(),
                key: key.to_string(),
                value,
            });
        };
        let b = |v: bool| v.to_string();
        let n = |v: u64| v.to_string();

        let e = &self.engine;
        put("engine", "mode", quoted(e.mode.as_str()));
        put("engine", "auto_execute", b(e.auto_execute));
        put("engine", "live_acknowledged", b(e.live_acknowledged));
        put("engine", "data_dir", path(&e.data_dir));
        let pairs = match e.pairs {
            PairSource::Confirmed => "confirmed",
            PairSource::Proposals => "proposals",
        };
        put("engine", "pairs", quoted(pairs));
        put(
            "engine",
            "proposal_min_score_bps",
            n(u64::from(e.proposal_min_score_bps)),
        );

        let k = &self.kalshi;
        let s = "venues.kalshi";
        put(s, "enabled", b(k.enabled));
        put(s, "rest_url", quoted(&k.rest_url));
        put(s, "ws_url", quoted(&k.ws_url));
        let tier = match k.tier {
            KalshiTier::Basic => "basic",
            KalshiTier::Advanced => "advanced",
            KalshiTier::Premier => "premier",
            KalshiTier::Paragon => "paragon",
            KalshiTier::Prime => "prime",
        };
        put(s, "tier", quoted(tier));
        put(s, "key_id_secret", quoted(&k.key_id_secret));
        put(s, "private_key_secret", quoted(&k.private_key_secret));
        put(s, "request_timeout_ms", n(k.request_timeout_ms));
        put(s, "max_book_age_ms", n(k.max_book_age_ms));
        put(s, "pin_spki_sha256", list(&k.pin_spki_sha256));

        let p = &self.polymarket;
        let s = "venues.polymarket";
        put(s, "enabled", b(p.enabled));
        put(s, "clob_url", quoted(&p.clob_url));
        put(s, "ws_url", quoted(&p.ws_url));
        put(s, "gamma_url", quoted(&p.gamma_url));
        put(s, "chain_id", n(p.chain_id));
        put(s, "signature_type", n(u64::from(p.signature_type)));
        put(s, "private_key_secret", quoted(&p.private_key_secret));
        put(s, "api_key_secret", quoted(&p.api_key_secret));
        put(s, "api_secret_secret", quoted(&p.api_secret_secret));
        put(s, "api_passphrase_secret", quoted(&p.api_passphrase_secret));
        put(s, "funder_secret", quoted(&p.funder_secret));
        put(s, "request_timeout_ms", n(p.request_timeout_ms));
        put(s, "max_book_age_ms", n(p.max_book_age_ms));
        put(s, "pin_spki_sha256", list(&p.pin_spki_sha256));

        let d = &self.detection;
        let s = "detection";
        put(s, "min_edge", price(d.min_edge));
        put(s, "min_profit", cash(d.min_profit));
        put(s, "slippage", price(d.slippage));
        put(s, "horizon_days", n(u64::from(d.horizon_days)));
        put(
            s,
            "min_edge_beyond_horizon",
            price(d.min_edge_beyond_horizon),
        );

        let m = &self.matching;
        put(
            "matching",
            "close_time_tolerance_hours",
            n(u64::from(m.close_time_tolerance_hours)),
        );
        put("matching", "min_score_bps", n(u64::from(m.min_score_bps)));

        let r = &self.risk;
        let s = "risk";
        put(s, "daily_loss_limit", fraction(r.daily_loss_limit));
        put(s, "max_drawdown", fraction(r.max_drawdown));
        put(
            s,
            "max_consecutive_failures",
            n(u64::from(r.max_consecutive_failures)),
        );
        put(s, "max_unwind_loss", cash(r.max_unwind_loss));
        put(s, "reserve_fraction", fraction(r.reserve_fraction));
        put(s, "max_trade_fraction", fraction(r.max_trade_fraction));
        put(s, "min_trade_contracts", quantity(r.min_trade_contracts));
        put(s, "max_open_positions", n(u64::from(r.max_open_positions)));
        put(s, "max_exposure_per_event", cash(r.max_exposure_per_event));
        put(s, "max_exposure_per_pair", cash(r.max_exposure_per_pair));
        put(
            s,
            "max_days_to_resolution",
            n(u64::from(r.max_days_to_resolution)),
        );

        let x = &self.execution;
        let s = "execution";
        put(s, "leg_timeout_ms", n(x.leg_timeout_ms));
        put(
            s,
            "max_repair_attempts",
            n(u64::from(x.max_repair_attempts)),
        );
        put(
            s,
            "max_unwind_loss_per_trade",
            cash(x.max_unwind_loss_per_trade),
        );
        let tif = match x.kalshi_time_in_force {
            KalshiLegTif::FillOrKill => "fill_or_kill",
            KalshiLegTif::ImmediateOrCancel => "immediate_or_cancel",
        };
        put(s, "kalshi_time_in_force", quoted(tif));
        let order_type = match x.polymarket_order_type {
            PolymarketLegType::Fok => "FOK",
            PolymarketLegType::Fak => "FAK",
        };
        put(s, "polymarket_order_type", quoted(order_type));

        let st = &self.storage;
        put("storage", "database", path(&st.database));
        put("storage", "backup_dir", path(&st.backup_dir));
        put("storage", "backup_keep", n(u64::from(st.backup_keep)));

        let t = &self.telemetry;
        put("telemetry", "listen", quoted(&t.listen.to_string()));
        let format = match t.log_format {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        };
        put("telemetry", "log_format", quoted(format));
        put("telemetry", "log_level", quoted(&t.log_level));

        let d = &self.dashboard;
        let s = "dashboard";
        put(s, "enabled", b(d.enabled));
        put(s, "listen", quoted(&d.listen.to_string()));
        put(s, "allow_non_loopback", b(d.allow_non_loopback));
        put(s, "session_idle_timeout_s", n(d.session_idle_timeout_s));
        put(
            s,
            "session_absolute_timeout_s",
            n(d.session_absolute_timeout_s),
        );

        let a = &self.alerts;
        let s = "alerts";
        put(s, "telegram_enabled", b(a.telegram_enabled));
        put(s, "telegram_token_secret", quoted(&a.telegram_token_secret));
        put(
            s,
            "telegram_chat_id_secret",
            quoted(&a.telegram_chat_id_secret),
        );
        put(s, "webhook_enabled", b(a.webhook_enabled));
        put(s, "webhook_url_secret", quoted(&a.webhook_url_secret));
        put(s, "coalesce_window_s", n(a.coalesce_window_s));
        put(s, "max_per_minute", n(u64::from(a.max_per_minute)));
        put(s, "telegram_api_url", quoted(&a.telegram_api_url));
        put(
            s,
            "telegram_commands_enabled",
            b(a.telegram_commands_enabled),
        );
        put(
            s,
            "telegram_error_chat_id_secret",
            quoted(&a.telegram_error_chat_id_secret),
        );
        put(
            s,
            "webhook_error_url_secret",
            quoted(&a.webhook_error_url_secret),
        );

        let rec = &self.recording;
        put("recording", "enabled", b(rec.enabled));
        put("recording", "dir", path(&rec.dir));
        put("recording", "rotate_mb", n(rec.rotate_mb));
        put("recording", "rotate_minutes", n(rec.rotate_minutes));

        let v = &self.vault;
        put("vault", "path", path(&v.path));
        let source = match v.password_source {
            PasswordSource::Prompt => "prompt",
            PasswordSource::Env => "env",
            PasswordSource::Fd => "fd",
        };
        put("vault", "password_source", quoted(source));
        put("vault", "password_env", quoted(&v.password_env));
        // No descriptor is written as the schema's "none" value.
        let fd = v.password_fd.map_or(-1, i64::from);
        put("vault", "password_fd", fd.to_string());
        out
    }

    /// The whole configuration as a TOML file: a `[section]` header, then
    /// its `key = value` lines. `Config::parse` of it equals `self`.
    pub fn to_toml_string(&self) -> String {
        let mut text = String::new();
        let mut current: Option<String> = None;
        for k in self.rendered_keys() {
            if current.as_deref() != Some(k.section.as_str()) {
                if current.is_some() {
                    text.push('\n');
                }
                let _ = writeln!(text, "[{}]", k.section);
                current = Some(k.section.clone());
            }
            let _ = writeln!(text, "{} = {}", k.key, k.value);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

    use super::*;

    #[test]
    fn decimals_are_exact_and_in_config_syntax() {
        assert_eq!(decimal(10_000, 6), "\"0.01\"");
        assert_eq!(decimal(250_000_000, 6), "\"250.00\"");
        assert_eq!(decimal(5_000, 6), "\"0.005\"");
        assert_eq!(decimal(1, 6), "\"0.000001\"");
        assert_eq!(decimal(-1_500_000, 6), "\"-1.50\"");
        assert_eq!(decimal(0, 6), "\"0.00\"");
    }

    #[test]
    fn strings_are_escaped_as_toml() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quoted("tab\there\u{1}"), r#""tab\there\u0001""#);
    }
}
