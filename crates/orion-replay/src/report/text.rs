//! The printed summary: aligned plain-text tables, the same bytes for the
//! same run.

use orion_core::Timestamp;

use orion_core::decimal::format_scaled;

use super::stats::{Summary, format_day, money, percent};

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
    /// Numbers right-aligned on their decimal point, so exact amounts with
    /// different numbers of decimals ("2.50", "0.017250") still line up.
    Decimal,
}

/// A plain-text table whose columns are padded to their widest cell.
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&str, Align)]) -> Table {
        Table {
            header: columns.iter().map(|(h, _)| (*h).to_owned()).collect(),
            align: columns.iter().map(|(_, a)| *a).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells: Vec<String> = cells.into_iter().map(|c| printable(&c)).collect();
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    /// Renders with two spaces between columns, a dashed rule under the
    /// header, each line indented by `indent` and ending in '\n'.
    pub fn render(&self, indent: &str) -> String {
        let rows = self.decimal_padded();
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain(std::iter::once(self.header[i].chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String| {
            let mut text = String::from(indent);
            for (i, cell) in cells.iter().enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                let pad = widths[i].saturating_sub(cell.chars().count());
                match self.align[i] {
                    Align::Left => {
                        text.push_str(cell);
                        text.extend(std::iter::repeat_n(' ', pad));
                    }
                    Align::Right | Align::Decimal => {
                        text.extend(std::iter::repeat_n(' ', pad));
                        text.push_str(cell);
                    }
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&self.header, &mut out);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(&rule, &mut out);
        for r in &rows {
            line(r, &mut out);
        }
        out
    }

    /// The rows with every [`Align::Decimal`] cell padded on the right to the
    /// column's longest fraction (from the '.'), so right-aligning them lines
    /// the decimal points up.
    fn decimal_padded(&self) -> Vec<Vec<String>> {
        let frac = |cell: &str| cell.find('.').map_or(0, |dot| cell[dot..].chars().count());
        let longest: Vec<usize> = (0..self.header.len())
            .map(|i| self.rows.iter().map(|r| frac(&r[i])).max().unwrap_or(0))
            .collect();
        self.rows
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .map(|(i, cell)| {
                        if self.align[i] != Align::Decimal {
                            return cell.clone();
                        }
                        let mut padded = cell.clone();
                        padded.extend(std::iter::repeat_n(' ', longest[i] - frac(cell)));
                        padded
                    })
                    .collect()
            })
            .collect()
    }
}

/// Replaces control characters (a pair id is external input and must not
/// move a terminal's cursor or ring its bell) with U+FFFD.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

fn opt_time(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "-".to_owned(), orion_core::time_fmt::rfc3339_millis)
}

fn opt_pct(f: Option<orion_core::Fraction>) -> String {
    f.map_or_else(|| "-".to_owned(), percent)
}

/// A statistic with fixed decimals, or "-" when undefined.
pub fn opt_stat(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |x| format!("{x:.4}"))
}

/// The summary's statistics as (name, value) rows, shared by the printed
/// summary and report.html so both say the same thing.
pub fn summary_rows(s: &Summary) -> Vec<(&'static str, String)> {
    let mut rows: Vec<(&'static str, String)> = Vec::new();
    let mut add = |k: &'static str, v: String| rows.push((k, v));
    add("events", s.events.to_string());
    add("first event", opt_time(s.first_event));
    add("last event", opt_time(s.last_event));
    add("days (UTC)", s.days.to_string());
    add("opportunities seen", s.opportunities_seen.to_string());
    add("trades", s.trades.to_string());
    add("  completed", s.outcomes.completed.to_string());
    add("  repaired", s.outcomes.repaired.to_string());
    add("  nothing filled", s.outcomes.nothing_filled.to_string());
    add("  halted", s.outcomes.halted.to_string());
    if s.outcomes.other > 0 {
        add("  other outcome", s.outcomes.other.to_string());
    }
    add("  with a partial leg", s.partial_trades.to_string());
    add("  winning / losing", format!("{} / {}", s.wins, s.losses));
    add("contracts hedged", s.contracts_hedged.format(2));
    add("orders sent", s.orders_sent.to_string());
    add("fill rate", opt_pct(s.fill_rate));
    add("partial-fill rate", opt_pct(s.partial_fill_rate));
    add("reject rate", opt_pct(s.reject_rate));
    add("starting capital", money(s.starting_capital));
    add("expected profit", money(s.expected_profit));
    add("gross P&L", money(s.gross_pnl));
    add("fees", money(s.fees));
    add("repair losses", money(s.repair_losses));
    add("net P&L", money(s.net_pnl));
    add("final equity", money(s.final_equity));
    add("max drawdown", money(s.max_drawdown));
    add("max drawdown of peak", opt_pct(s.max_drawdown_fraction));
    add("Sharpe (daily, x sqrt 365)", opt_stat(s.sharpe));
    add("Sortino (daily, x sqrt 365)", opt_stat(s.sortino));
    add("detected edges", s.edges.count.to_string());
    let edge = |p: Option<orion_core::Price>| p.map_or_else(|| "-".to_owned(), |p| p.format(4));
    add(
        "  edge min / median / max",
        format!(
            "{} / {} / {}",
            edge(s.edges.min),
            edge(s.edges.median),
            edge(s.edges.max)
        ),
    );
    add("capital deployed", money(s.capital_deployed));
    add(
        "capital velocity (/day)",
        s.capital_velocity
            .map_or_else(|| "-".to_owned(), |r| r.format(4)),
    );
    rows
}

/// The widest bar of the text histogram, in characters.
const HISTOGRAM_WIDTH: u64 = 40;

/// Detected edges as a text histogram, one line per bucket.
fn edge_histogram(s: &Summary) -> String {
    let e = &s.edges;
    let top = e.buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let mut out = String::from("Detected edge per contract ($)\n");
    let mut table = Table::new(&[
        ("from", Align::Decimal),
        ("to", Align::Decimal),
        ("count", Align::Right),
        ("", Align::Left),
    ]);
    for b in &e.buckets {
        let from = u64::from(b.from_micros);
        // Rounded up so a non-empty bucket always shows at least one mark.
        let marks = b.count.saturating_mul(HISTOGRAM_WIDTH).div_ceil(top);
        table.row(vec![
            format_scaled(i128::from(from), 6, 4),
            format_scaled(i128::from(from + u64::from(e.width_micros)), 6, 4),
            b.count.to_string(),
            "#".repeat(usize::try_from(marks).unwrap_or(0)),
        ]);
    }
    out.push_str(&table.render("  "));
    out
}

/// Longer daily series are left to report.html.
const MAX_TEXT_DAYS: usize = 62;

/// The summary as printed at the end of `orion-backtest run`.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Backtest {} (seed {})\n\n",
        printable(&s.label),
        s.seed
    ));
    let mut kv = Table::new(&[("statistic", Align::Left), ("value", Align::Right)]);
    for (k, v) in summary_rows(s) {
        kv.row(vec![k.to_owned(), v]);
    }
    out.push_str(&kv.render("  "));
    out.push_str(
        "  capital velocity = capital deployed (leg costs + fees) / starting capital / days\n",
    );

    out.push('\n');
    if !s.edges.buckets.is_empty() {
        out.push_str(&edge_histogram(s));
        out.push('\n');
    }
    if s.trades == 0 {
        out.push_str("  no trades\n");
        return out;
    }

    out.push_str("Per pair\n");
    let mut pairs = Table::new(&[
        ("pair", Align::Left),
        ("trades", Align::Right),
        ("contracts", Align::Decimal),
        ("net P&L", Align::Decimal),
        ("fees", Align::Decimal),
        ("win/loss", Align::Right),
    ]);
    for p in &s.pairs {
        pairs.row(vec![
            p.pair_id.clone(),
            p.trades.to_string(),
            p.contracts.format(2),
            money(p.net_pnl),
            money(p.fees),
            format!("{}/{}", p.wins, p.losses),
        ]);
    }
    out.push_str(&pairs.render("  "));

    if s.daily_pnl.len() > MAX_TEXT_DAYS {
        out.push_str(&format!(
            "\nDaily net P&L: {} days (UTC), listed in report.html\n",
            s.daily_pnl.len()
        ));
        return out;
    }
    out.push_str("\nDaily net P&L (UTC; days without a trade count as 0)\n");
    let mut days = Table::new(&[
        ("day", Align::Left),
        ("trades", Align::Right),
        ("net P&L", Align::Decimal),
    ]);
    for d in &s.daily_pnl {
        days.row(vec![
            format_day(d.day),
            d.trades.to_string(),
            money(d.net_pnl),
        ]);
    }
    out.push_str(&days.render("  "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_columns_line_up_on_the_point() {
        let mut t = Table::new(&[("pair", Align::Left), ("net", Align::Decimal)]);
        t.row(vec!["a".into(), "2.50".into()]);
        t.row(vec!["bb\u{7}".into(), "-0.017250".into()]);
        t.row(vec!["c".into(), "12".into()]);
        let out = t.render("");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "pair        net");
        assert_eq!(lines[1], "----  ---------");
        // The points share a column; the bell became U+FFFD.
        assert_eq!(lines[2], "a      2.50");
        assert_eq!(lines[3], "bb\u{FFFD}   -0.017250");
        assert_eq!(lines[4], "c     12");
        let dot = |l: &str| l.chars().position(|c| c == '.');
        assert_eq!(dot(lines[2]), Some(8));
        assert_eq!(dot(lines[3]), Some(8));
    }
}
