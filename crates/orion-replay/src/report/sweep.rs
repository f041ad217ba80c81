//! Parameter-sweep results: one row per parameter combination, as a text
//! table, an HTML table (or a whole page) and CSV, with the best row marked.
//!
//! The best row has the highest net P&L; ties go to the lower max drawdown,
//! then to the row that comes first in parameter order — the order the rows
//! are given in, which the sweep runner keeps as the grid's order whatever
//! order the runs finished in. Every output is deterministic.

use std::cmp::Ordering;
use std::fmt::Write as _;

use super::csv::{escape_text, line};
use super::html::escape;
use super::stats::{Summary, money, percent};
use super::text::{Align, Table, opt_stat};

/// One parameter combination and what its run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// (name, value) in the grid's order, e.g. ("min_edge", "0.01").
    pub params: Vec<(String, String)>,
    pub summary: Summary,
}

/// The index of the best row (see the module doc), `None` for no rows.
pub fn best_index(rows: &[SweepRow]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, r) in rows.iter().enumerate() {
        let better = match best {
            None => true,
            Some(b) => {
                let (s, bs) = (&r.summary, &rows[b].summary);
                // Strictly better only: an equal row keeps the earlier one.
                match s.net_pnl.cmp(&bs.net_pnl) {
                    Ordering::Greater => true,
                    Ordering::Less => false,
                    Ordering::Equal => s.max_drawdown < bs.max_drawdown,
                }
            }
        };
        if better {
            best = Some(i);
        }
    }
    best
}

/// Parameter names in order of first appearance across rows.
fn param_names(rows: &[SweepRow]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in rows {
        for (name, _) in &r.params {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

fn param_value<'a>(row: &'a SweepRow, name: &str) -> &'a str {
    row.params
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

const RESULT_COLUMNS: [&str; 8] = [
    "trades",
    "net P&L",
    "fees",
    "max drawdown",
    "max DD %",
    "Sharpe",
    "Sortino",
    "fill rate",
];

fn result_cells(s: &Summary) -> [String; 8] {
    [
        s.trades.to_string(),
        money(s.net_pnl),
        money(s.fees),
        money(s.max_drawdown),
        s.max_drawdown_fraction
            .map_or_else(|| "-".to_owned(), percent),
        opt_stat(s.sharpe),
        opt_stat(s.sortino),
        s.fill_rate.map_or_else(|| "-".to_owned(), percent),
    ]
}

/// The sweep as an aligned text table; the best row is marked `*`.
pub fn text_table(rows: &[SweepRow]) -> String {
    if rows.is_empty() {
        return "no sweep results\n".to_owned();
    }
    let names = param_names(rows);
    let mut columns: Vec<(&str, Align)> = vec![("best", Align::Left)];
    columns.extend(names.iter().map(|n| (n.as_str(), Align::Left)));
    // Money columns line up on the decimal point; the rest right-aligned.
    columns.extend(RESULT_COLUMNS.iter().map(|c| {
        let money = matches!(*c, "net P&L" | "fees" | "max drawdown");
        (*c, if money { Align::Decimal } else { Align::Right })
    }));
    let mut table = Table::new(&columns);
    let best = best_index(rows);
    for (i, r) in rows.iter().enumerate() {
        let mut cells = vec![if best == Some(i) { "*" } else { "" }.to_owned()];
        cells.extend(names.iter().map(|n| param_value(r, n).to_owned()));
        cells.extend(result_cells(&r.summary));
        table.row(cells);
    }
    let mut out = table.render("");
    out.push_str(
        "* best: highest net P&L; ties to the lower max drawdown, then to the earlier row\n",
    );
    out
}

/// The sweep as CSV, with a `best` column (`true` on exactly one row).
pub fn csv(rows: &[SweepRow]) -> String {
    let names = param_names(rows);
    let mut header: Vec<String> = names.iter().map(|n| escape_text(n)).collect();
    header.extend(
        [
            "trades",
            "net_pnl",
            "fees",
            "max_drawdown",
            "max_drawdown_ppm",
            "sharpe",
            "sortino",
            "fill_rate_ppm",
            "best",
        ]
        .iter()
        .map(|h| (*h).to_owned()),
    );
    let mut out = line(&header);
    let best = best_index(rows);
    for (i, r) in rows.iter().enumerate() {
        let s = &r.summary;
        let mut fields: Vec<String> = names
            .iter()
            .map(|n| escape_text(param_value(r, n)))
            .collect();
        let opt = |v: Option<u32>| v.map_or_else(String::new, |v| v.to_string());
        let stat = |v: Option<f64>| v.map_or_else(String::new, |x| format!("{x:.6}"));
        fields.extend([
            s.trades.to_string(),
            s.net_pnl.format(2),
            s.fees.format(2),
            s.max_drawdown.format(2),
            opt(s.max_drawdown_fraction.map(|f| f.ppm())),
            stat(s.sharpe),
            stat(s.sortino),
            opt(s.fill_rate.map(|f| f.ppm())),
            (best == Some(i)).to_string(),
        ]);
        out.push_str(&line(&fields));
    }
    out
}

/// The sweep as an HTML `<table>` fragment; the best row has class `best`
/// and a ★ in its first cell.
pub fn html_table(rows: &[SweepRow]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("<p class=\"note\">no sweep results</p>\n");
        return out;
    }
    let names = param_names(rows);
    out.push_str("<table class=\"sweep\">\n<tr><th class=\"t\">best</th>");
    for n in &names {
        let _ = write!(out, "<th class=\"t\">{}</th>", escape(n));
    }
    for c in RESULT_COLUMNS {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr>\n");
    let best = best_index(rows);
    for (i, r) in rows.iter().enumerate() {
        if best == Some(i) {
            out.push_str("<tr class=\"best\"><td class=\"t\">★</td>");
        } else {
            out.push_str("<tr><td class=\"t\"></td>");
        }
        for n in &names {
            let _ = write!(out, "<td class=\"t\">{}</td>", escape(param_value(r, n)));
        }
        for c in result_cells(&r.summary) {
            let _ = write!(out, "<td>{}</td>", escape(&c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// A self-contained page holding the sweep table.
pub fn html_page(title: &str, rows: &[SweepRow]) -> String {
    let title = escape(title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>\n{}</style>\n</head>\n<body>\n<h1>{title}</h1>\n{}<p class=\"note\">★ best: highest net P&amp;L; ties to the lower max drawdown, then to the earlier row.</p>\n</body>\n</html>\n",
        super::html::CSS,
        html_table(rows)
    )
}
