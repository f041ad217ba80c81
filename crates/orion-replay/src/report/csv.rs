//! trades.csv: one row per trade, a header row, money as exact decimal
//! strings, times in RFC 3339 (UTC, milliseconds), text fields escaped by
//! RFC 4180 and guarded against spreadsheet formula injection.

use orion_core::time_fmt::rfc3339_millis;

use super::model::{BacktestRun, TradeRecord};

/// The header of trades.csv, in column order.
pub const TRADE_COLUMNS: [&str; 16] = [
    "trade_no",
    "pair_id",
    "detected_at",
    "executed_at",
    "direction",
    "contracts_planned",
    "contracts_hedged",
    "kalshi_cost",
    "polymarket_cost",
    "fees",
    "expected_profit",
    "outcome",
    "partial",
    "repair_loss",
    "gross_pnl",
    "net_pnl",
];

/// One CSV field, quoted when it holds a comma, a quote, CR or LF (quotes
/// doubled inside). Numbers and times never need it; text from outside does.
pub fn escape_field(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        let mut out = String::with_capacity(field.len() + 2);
        out.push('"');
        for c in field.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
        out
    } else {
        field.to_owned()
    }
}

/// A text field (never a number) that comes from outside: a leading `=`,
/// `+`, `-`, `@`, tab or CR would make a spreadsheet evaluate it as a
/// formula, so such a value gets a leading apostrophe before escaping.
pub fn escape_text(field: &str) -> String {
    if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        escape_field(&format!("'{field}"))
    } else {
        escape_field(field)
    }
}

/// Joins already-escaped fields into one CSV line ending in '\n'.
pub fn line(fields: &[String]) -> String {
    let mut out = fields.join(",");
    out.push('\n');
    out
}

fn trade_line(t: &TradeRecord) -> String {
    line(&[
        t.trade_no.to_string(),
        escape_text(&t.pair_id),
        rfc3339_millis(t.detected_at),
        rfc3339_millis(t.executed_at),
        escape_text(&t.direction),
        t.contracts_planned.format(2),
        t.contracts_hedged.format(2),
        t.kalshi_cost.format(2),
        t.polymarket_cost.format(2),
        t.fees.format(2),
        t.expected_profit.format(2),
        escape_text(&t.outcome),
        t.partial.to_string(),
        t.repair_loss.format(2),
        t.gross_pnl.format(2),
        t.net_pnl.format(2),
    ])
}

/// The whole trades.csv of a run, in the run's trade order.
pub fn trades_csv(run: &BacktestRun) -> String {
    let mut out = TRADE_COLUMNS.join(",");
    out.push('\n');
    for t in &run.trades {
        out.push_str(&trade_line(t));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fields_pass_through() {
        assert_eq!(escape_field("KXFED-26DEC"), "KXFED-26DEC");
        assert_eq!(escape_field(""), "");
    }

    #[test]
    fn special_fields_are_quoted() {
        assert_eq!(escape_field("a,b"), "\"a,b\"");
        assert_eq!(escape_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(escape_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(escape_field("cr\r"), "\"cr\r\"");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(
            escape_text("=HYPERLINK(\"x\")"),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(escape_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(escape_text("pair-1"), "pair-1");
    }
}
