#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The backtest report: hand-computed statistics on a small run, trades.csv
//! escaping, report.html structure (well-formed, four plots, no network
//! references, escaped pair ids), sweep best-row marking and the empty run.

use orion_core::time_fmt::parse_rfc3339;
use orion_core::{Cash, Price, Quantity, Timestamp};
use orion_replay::report::stats::format_day;
use orion_replay::report::{
    BacktestRun, Summary, SweepRow, TradeRecord, csv, html, sweep, text, write_report,
};

fn at(text: &str) -> Timestamp {
    parse_rfc3339(text).unwrap()
}

fn usd(text: &str) -> Cash {
    Cash::parse(text).unwrap()
}

fn qty(contracts: u64) -> Quantity {
    Quantity::from_contracts(contracts).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn trade(
    trade_no: u64,
    pair_id: &str,
    executed_at: &str,
    hedged: u64,
    kalshi: &str,
    polymarket: &str,
    fees: &str,
    repair: &str,
    outcome: &str,
    partial: bool,
) -> TradeRecord {
    let kalshi_cost = usd(kalshi);
    let polymarket_cost = usd(polymarket);
    let fees = usd(fees);
    let repair_loss = usd(repair);
    // Settlement pays $1 per hedged contract.
    let gross_pnl = Cash::from_micros(
        qty(hedged).micros() as i64 - kalshi_cost.micros() - polymarket_cost.micros(),
    );
    let net_pnl = Cash::from_micros(gross_pnl.micros() - fees.micros() - repair_loss.micros());
    let executed_at = at(executed_at);
    TradeRecord {
        trade_no,
        pair_id: pair_id.to_owned(),
        detected_at: Timestamp::from_nanos(executed_at.nanos() - 250_000_000),
        executed_at,
        direction: "kalshi_yes+polymarket_no".to_owned(),
        contracts_planned: qty(hedged.max(1)),
        contracts_hedged: qty(hedged),
        kalshi_cost,
        polymarket_cost,
        fees,
        expected_profit: usd("1.00"),
        outcome: outcome.to_owned(),
        partial,
        repair_loss,
        gross_pnl,
        net_pnl,
    }
}

/// Three UTC days (2026-01-01..03), four trades, the middle day empty.
///
/// | # | pair | day | hedged | legs         | fees | repair | gross | net   |
/// |---|------|-----|--------|--------------|------|--------|-------|-------|
/// | 1 | KX-A | 1   | 100    | 45.00+52.00  | 1.00 | 0      | 3.00  | 2.00  |
/// | 2 | KX-B | 1   | 40     | 18.00+20.80  | 0.20 | 0.50   | 1.20  | 0.50  |
/// | 3 | KX-A | 3   | 100    | 48.00+51.50  | 1.50 | 2.00   | 0.50  | -3.00 |
/// | 4 | KX-B | 3   | 20     | 9.00+9.80    | 0.20 | 0      | 1.20  | 1.00  |
fn hand_run() -> BacktestRun {
    BacktestRun {
        label: "hand".to_owned(),
        seed: 7,
        events: 1_234,
        opportunities_seen: 9,
        first_event: Some(at("2026-01-01T00:00:00Z")),
        last_event: Some(at("2026-01-03T23:00:00Z")),
        starting_capital: usd("1000"),
        orders_sent: 10,
        orders_filled: 7,
        orders_partially_filled: 2,
        orders_rejected: 1,
        detected_edges: [12_000, 15_000, 30_000, 11_000, 12_500]
            .iter()
            .map(|&m| Price::from_micros(m).unwrap())
            .collect(),
        trades: vec![
            trade(
                1,
                "KX-A",
                "2026-01-01T10:00:00Z",
                100,
                "45.00",
                "52.00",
                "1.00",
                "0",
                "completed",
                false,
            ),
            trade(
                2,
                "KX-B",
                "2026-01-01T15:00:00Z",
                40,
                "18.00",
                "20.80",
                "0.20",
                "0.50",
                "repaired",
                true,
            ),
            trade(
                3,
                "KX-A",
                "2026-01-03T09:00:00Z",
                100,
                "48.00",
                "51.50",
                "1.50",
                "2.00",
                "repaired",
                true,
            ),
            trade(
                4,
                "KX-B",
                "2026-01-03T12:00:00Z",
                20,
                "9.00",
                "9.80",
                "0.20",
                "0",
                "completed",
                false,
            ),
        ],
    }
}

fn empty_run() -> BacktestRun {
    BacktestRun {
        label: "empty".to_owned(),
        seed: 1,
        events: 0,
        opportunities_seen: 0,
        first_event: None,
        last_event: None,
        starting_capital: usd("1000"),
        orders_sent: 0,
        orders_filled: 0,
        orders_partially_filled: 0,
        orders_rejected: 0,
        detected_edges: Vec::new(),
        trades: Vec::new(),
    }
}

#[test]
fn hand_computed_money_and_rates() {
    let s = Summary::from_run(&hand_run());
    assert_eq!(s.trades, 4);
    assert_eq!(s.opportunities_seen, 9);
    // 3.00 + 1.20 + 0.50 + 1.20
    assert_eq!(s.gross_pnl, usd("5.90"));
    // 1.00 + 0.20 + 1.50 + 0.20
    assert_eq!(s.fees, usd("2.90"));
    // 0.50 + 2.00
    assert_eq!(s.repair_losses, usd("2.50"));
    // 5.90 - 2.90 - 2.50 = 2.00 + 0.50 - 3.00 + 1.00
    assert_eq!(s.net_pnl, usd("0.50"));
    assert_eq!(s.final_equity, usd("1000.50"));
    assert_eq!(s.expected_profit, usd("4.00"));
    assert_eq!((s.wins, s.losses), (3, 1));
    assert_eq!(s.partial_trades, 2);
    assert_eq!((s.outcomes.completed, s.outcomes.repaired), (2, 2));
    assert_eq!(s.contracts_hedged, qty(260));
    // 7/10, 2/10, 1/10 of orders sent.
    assert_eq!(s.fill_rate.unwrap().ppm(), 700_000);
    assert_eq!(s.partial_fill_rate.unwrap().ppm(), 200_000);
    assert_eq!(s.reject_rate.unwrap().ppm(), 100_000);
}

#[test]
fn hand_computed_drawdown_and_equity_curve() {
    let s = Summary::from_run(&hand_run());
    // Equity 1000 -> 1002.00 -> 1002.50 (peak) -> 999.50 -> 1000.50.
    let equity: Vec<Cash> = s.equity_curve.iter().map(|p| p.equity).collect();
    assert_eq!(
        equity,
        [
            usd("1000"),
            usd("1002.00"),
            usd("1002.50"),
            usd("999.50"),
            usd("1000.50")
        ]
    );
    assert_eq!(s.equity_curve[0].at, at("2026-01-01T00:00:00Z"));
    // Deepest point: 1002.50 - 999.50 = 3.00 below the peak.
    assert_eq!(s.max_drawdown, usd("3.00"));
    assert_eq!(s.equity_curve[3].drawdown, usd("3.00"));
    assert_eq!(s.equity_curve[4].drawdown, usd("2.00"));
    // 3.00 / 1002.50 = 0.0029925187... -> 2992.52 ppm, rounded up to 2993.
    assert_eq!(s.max_drawdown_fraction.unwrap().ppm(), 2_993);
}

#[test]
fn hand_computed_daily_series_sharpe_and_sortino() {
    let s = Summary::from_run(&hand_run());
    // Day 1: 2.00 + 0.50; day 2: no trade, counted as 0; day 3: -3.00 + 1.00.
    let days: Vec<(String, u64, Cash)> = s
        .daily_pnl
        .iter()
        .map(|d| (format_day(d.day), d.trades, d.net_pnl))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-01-01".to_owned(), 2, usd("2.50")),
            ("2026-01-02".to_owned(), 0, Cash::ZERO),
            ("2026-01-03".to_owned(), 2, usd("-2.00")),
        ]
    );
    assert_eq!(s.days, 3);
    // Daily P&L p = [2.5, 0, -2]: mean 1/6; Σ(p - mean)² = 10.25 - 3/36 = 61/6;
    // sample variance 61/12. Sharpe = (1/6) / sqrt(61/12) * sqrt(365)
    //   = sqrt(365 * 12 / 61) / 6 = sqrt(4380/61) / 6 = 1.412280255...
    let sharpe = (4380.0f64 / 61.0).sqrt() / 6.0;
    assert!((sharpe - 1.412_280_255_163_855).abs() < 1e-9);
    assert!((s.sharpe.unwrap() - sharpe).abs() < 1e-9, "{:?}", s.sharpe);
    // Downside deviation sqrt((-2)² / 3) = sqrt(4/3).
    // Sortino = (1/6) / sqrt(4/3) * sqrt(365) = sqrt(365 * 3 / 4) / 6
    //   = sqrt(273.75) / 6 = 2.757565351...
    let sortino = 273.75f64.sqrt() / 6.0;
    assert!((sortino - 2.757_565_351_295_716).abs() < 1e-9);
    assert!(
        (s.sortino.unwrap() - sortino).abs() < 1e-9,
        "{:?}",
        s.sortino
    );
}

#[test]
fn statistics_are_absent_when_undefined() {
    // One day only: no Sharpe or Sortino.
    let mut run = hand_run();
    run.trades.truncate(2);
    run.last_event = Some(at("2026-01-01T23:59:59Z"));
    let s = Summary::from_run(&run);
    assert_eq!(s.days, 1);
    assert_eq!((s.sharpe, s.sortino), (None, None));
    // Two days with the same P&L: zero deviation, and no losing day.
    let mut run = hand_run();
    run.trades = vec![run.trades[1].clone(), run.trades[1].clone()];
    run.trades[1].executed_at = at("2026-01-02T15:00:00Z");
    run.last_event = Some(at("2026-01-02T16:00:00Z"));
    let s = Summary::from_run(&run);
    assert_eq!(s.days, 2);
    assert_eq!((s.sharpe, s.sortino), (None, None));
    // No orders sent: rates are undefined, not 0%.
    assert_eq!(Summary::from_run(&empty_run()).fill_rate, None);
}

#[test]
fn hand_computed_capital_velocity() {
    let s = Summary::from_run(&hand_run());
    // Legs + fees: 98.00 + 39.00 + 101.00 + 19.00 = 257.00.
    assert_eq!(s.capital_deployed, usd("257.00"));
    // 257 / 1000 / 3 days = 0.0856666... per day -> 85,667 ppm (half-even).
    assert_eq!(s.capital_velocity.unwrap().ppm, 85_667);
    assert_eq!(s.capital_velocity.unwrap().format(4), "0.0857");
}

#[test]
fn hand_computed_per_pair_rows_and_edges() {
    let s = Summary::from_run(&hand_run());
    let rows: Vec<_> = s
        .pairs
        .iter()
        .map(|p| {
            (
                p.pair_id.as_str(),
                p.trades,
                p.contracts,
                p.net_pnl,
                p.fees,
                p.wins,
                p.losses,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            // 2.00 - 3.00; fees 1.00 + 1.50
            ("KX-A", 2, qty(200), usd("-1.00"), usd("2.50"), 1, 1),
            // 0.50 + 1.00; fees 0.20 + 0.20
            ("KX-B", 2, qty(60), usd("1.50"), usd("0.40"), 2, 0),
        ]
    );
    // Edges 0.011..0.030: 0.001-wide buckets (20 of them).
    let e = &s.edges;
    assert_eq!(e.count, 5);
    assert_eq!(e.width_micros, 1_000);
    assert_eq!(e.buckets.len(), 20);
    assert_eq!(e.buckets[0].from_micros, 11_000);
    let counts: Vec<u64> = e.buckets.iter().map(|b| b.count).collect();
    let mut expected = vec![0u64; 20];
    expected[0] = 1; // 0.011
    expected[1] = 2; // 0.012, 0.0125
    expected[4] = 1; // 0.015
    expected[19] = 1; // 0.030
    assert_eq!(counts, expected);
    assert_eq!(e.median.unwrap().micros(), 12_500);
}

#[test]
fn printed_summary_is_aligned_and_complete() {
    let s = Summary::from_run(&hand_run());
    let out = text::render(&s);
    for needle in [
        "net P&L",
        "0.50",
        "max drawdown of peak",
        "0.30%",
        "70.00%",
        "1.4123",
        "2.7576",
        "0.0857",
        "KX-A",
        "2026-01-02",
        "capital velocity = capital deployed",
    ] {
        assert!(out.contains(needle), "summary lacks {needle:?}:\n{out}");
    }
    // The edge histogram: 0.012..0.013 holds the most (2: a full 40-mark
    // bar), 0.011..0.012 half as many, empty buckets no bar.
    let bar = |from: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(from))
            .map(|l| l.chars().filter(|&c| c == '#').count())
    };
    assert_eq!(bar("0.0120"), Some(40), "{out}");
    assert_eq!(bar("0.0110"), Some(20), "{out}");
    assert_eq!(bar("0.0130"), Some(0), "{out}");
    // Values are right-aligned: every row of the statistics table ends in
    // the same column.
    let table: Vec<&str> = out
        .lines()
        .skip(2)
        .take_while(|l| !l.trim().is_empty() && !l.contains("velocity ="))
        .collect();
    let width = table[0].chars().count();
    assert!(table.len() > 20);
    assert!(
        table.iter().all(|l| l.chars().count() == width),
        "{table:#?}"
    );
}

#[test]
fn csv_escapes_a_pair_id_with_a_comma_and_a_quote() {
    let mut run = hand_run();
    run.trades[0].pair_id = "FED,\"HIKE\"".to_owned();
    run.trades[1].pair_id = "=cmd|' /C calc'!A0".to_owned();
    let out = csv::trades_csv(&run);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0], csv::TRADE_COLUMNS.join(","));
    assert_eq!(
        lines[1],
        "1,\"FED,\"\"HIKE\"\"\",2026-01-01T09:59:59.750Z,2026-01-01T10:00:00.000Z,\
         kalshi_yes+polymarket_no,100.00,100.00,45.00,52.00,1.00,1.00,completed,false,0.00,3.00,2.00"
    );
    // A formula-looking id is defused with a leading apostrophe.
    assert!(
        lines[2].starts_with("2,'=cmd|' /C calc'!A0,"),
        "{}",
        lines[2]
    );
    // Negative money stays a plain number.
    assert!(lines[3].ends_with(",2.00,0.50,-3.00"), "{}", lines[3]);
    // Parsing the quoted field back yields the original id.
    assert_eq!(
        parse_first_two_fields(lines[1]),
        ("1", "FED,\"HIKE\"".to_owned())
    );
}

/// Reads the first two fields of a CSV line by RFC 4180 rules.
fn parse_first_two_fields(line: &str) -> (&str, String) {
    let (first, rest) = line.split_once(',').unwrap();
    let mut chars = rest.chars().peekable();
    assert_eq!(chars.next(), Some('"'));
    let mut field = String::new();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
                field.push('"');
            } else {
                break;
            }
        } else {
            field.push(c);
        }
    }
    assert_eq!(chars.next(), Some(','));
    (first, field)
}

/// A small well-formedness check: every element is closed in order (void
/// elements and `/>` excepted), attribute quotes balance, no stray `<` or
/// `>` in text, and `<style>` content is skipped as raw text. Returns the
/// element names in document order.
fn check_well_formed(doc: &str) -> Vec<String> {
    const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = doc;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        assert!(!text.contains('>'), "stray '>' in text: {text:?}");
        let after = &rest[open..];
        if after.starts_with("<!DOCTYPE") {
            rest = &after[after.find('>').unwrap() + 1..];
            continue;
        }
        // The tag ends at the first '>' outside quotes.
        let mut in_quote = false;
        let mut end = None;
        for (i, c) in after.char_indices().skip(1) {
            match c {
                '"' => in_quote = !in_quote,
                '<' if !in_quote => panic!("'<' inside a tag: {}", &after[..i + 1]),
                '>' if !in_quote => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.unwrap_or_else(|| panic!("unterminated tag: {after:.60}"));
        let tag = &after[1..end];
        rest = &after[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(top, name, "</{name}> closes <{top}>");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(!name.is_empty(), "tag without a name: <{tag}>");
        seen.push(name.clone());
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        if name == "style" {
            let close = rest.find("</style>").expect("unclosed <style>");
            assert!(!rest[..close].contains('<'), "'<' inside <style>");
            rest = &rest[close + "</style>".len()..];
            continue;
        }
        stack.push(name);
    }
    assert!(!rest.contains('>'), "stray '>' after the last tag");
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    seen
}

#[test]
fn tag_checker_catches_broken_markup() {
    assert!(std::panic::catch_unwind(|| check_well_formed("<p><b>x</p></b>")).is_err());
    assert!(std::panic::catch_unwind(|| check_well_formed("<div>")).is_err());
    assert!(std::panic::catch_unwind(|| check_well_formed("<p>a > b</p>")).is_err());
    assert_eq!(
        check_well_formed("<p>a<br>b<line/></p>"),
        ["p", "br", "line"]
    );
}

/// The equity polyline's declared point count and its vertex count. It is a
/// step line: the first point, two vertices per later point (flat, then the
/// step), and a last one at the end of the run — 2n vertices for n points.
fn equity_points(doc: &str) -> (usize, usize) {
    let start = doc.find("<polyline class=\"line equity\"").unwrap();
    let tag = &doc[start..start + doc[start..].find("/>").unwrap()];
    let declared: usize = tag
        .split("data-points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let points = tag
        .split(" points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let pairs = points
        .split(' ')
        .filter(|p| {
            let (x, y) = p.split_once(',').unwrap();
            x.parse::<f64>().unwrap().is_finite() && y.parse::<f64>().unwrap().is_finite()
        })
        .count();
    (declared, pairs)
}

#[test]
fn html_report_is_well_formed_self_contained_and_escaped() {
    let mut run = hand_run();
    run.trades[3].pair_id = "<script>alert(\"x\")</script>".to_owned();
    let s = Summary::from_run(&run);
    let doc = html::render(&run, &s);
    let elements = check_well_formed(&doc);
    assert_eq!(elements.iter().filter(|e| *e == "svg").count(), 4);
    assert_eq!(doc.matches("<svg").count(), 4);
    // Starting capital plus one point per trade, drawn as a step line.
    assert_eq!(equity_points(&doc), (5, 10));
    // Axes carry tick labels: dollar values and dates.
    // Equity spans $999.50..$1002.50: $1 ticks from $999 to $1003.
    for tick in ["$999.00", "$1000.00", "$1003.00"] {
        assert!(doc.contains(&format!(">{tick}</text>")), "no tick {tick}");
    }
    assert!(doc.contains(">2026-01-02<"));
    assert!(!doc.contains("http://") && !doc.contains("https://"));
    assert!(!doc.contains("<script"), "a pair id was not escaped");
    assert!(doc.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    assert!(
        !elements
            .iter()
            .any(|e| e == "script" || e == "link" || e == "img")
    );
    // The summary table and the per-pair table are there.
    assert!(doc.contains("<td class=\"t\">net P&amp;L</td><td>0.50</td>"));
    assert!(doc.contains("<td class=\"t\">KX-A</td><td>2</td><td>200.00</td>"));
    // Deterministic: the same run renders the same bytes.
    assert_eq!(doc, html::render(&run, &Summary::from_run(&run)));
}

#[test]
fn html_trade_table_is_capped() {
    let mut run = hand_run();
    let template = run.trades[0].clone();
    run.trades = (0..1_205)
        .map(|i| {
            let mut t = template.clone();
            t.trade_no = i + 1;
            t.executed_at =
                Timestamp::from_nanos(template.executed_at.nanos() + i as i64 * 1_000_000_000);
            t
        })
        .collect();
    let s = Summary::from_run(&run);
    let doc = html::render(&run, &s);
    check_well_formed(&doc);
    assert!(doc.contains("The first 1000 of 1205 trades"));
    assert!(doc.contains("<tr><td>1000</td>"));
    assert!(!doc.contains("<tr><td>1001</td>"));
    // The equity curve still has every point.
    assert_eq!(equity_points(&doc), (1_206, 2_412));
}

#[test]
fn html_plots_of_a_long_run_stay_small_and_keep_the_extremes() {
    let mut run = hand_run();
    let template = run.trades[0].clone();
    let n = 50_000u64;
    // Net P&L +1 each trade, except one deep loss in the middle.
    run.trades = (0..n)
        .map(|i| {
            let mut t = template.clone();
            t.trade_no = i + 1;
            t.executed_at =
                Timestamp::from_nanos(template.executed_at.nanos() + i as i64 * 1_000_000_000);
            t.net_pnl = if i == n / 2 { usd("-30000") } else { usd("1") };
            t
        })
        .collect();
    run.last_event = None;
    let s = Summary::from_run(&run);
    assert_eq!(s.max_drawdown, usd("30000"));
    let doc = html::render(&run, &s);
    check_well_formed(&doc);
    let (drawn, vertices) = equity_points(&doc);
    assert!(drawn <= 4_000 && drawn > 800, "{drawn} points drawn");
    assert_eq!(vertices, 2 * drawn);
    assert!(doc.contains(&format!("{drawn} of 50001 points drawn")));
    assert!(doc.len() < 1_000_000, "{} bytes", doc.len());
    // The deepest drawdown is among the drawn points: the drawdown axis
    // reaches down to it.
    assert!(doc.contains(">-$30000.00</text>"));
}

fn row(params: &[(&str, &str)], net: &str, drawdown: &str) -> SweepRow {
    let mut summary = Summary::from_run(&hand_run());
    summary.net_pnl = usd(net);
    summary.max_drawdown = usd(drawdown);
    SweepRow {
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        summary,
    }
}

#[test]
fn sweep_marks_the_best_row_and_breaks_ties() {
    let rows = vec![
        row(&[("min_edge", "0.01"), ("max_size", "100")], "5.00", "2.00"),
        row(&[("min_edge", "0.02"), ("max_size", "100")], "7.00", "3.00"),
        // Same net P&L as the row above with a smaller drawdown: best.
        row(&[("min_edge", "0.01"), ("max_size", "200")], "7.00", "1.00"),
        row(
            &[("min_edge", "0.02"), ("max_size", "200")],
            "-1.00",
            "4.00",
        ),
    ];
    assert_eq!(sweep::best_index(&rows), Some(2));
    // A full tie goes to the earlier row.
    let tied = vec![
        row(&[("min_edge", "0.01")], "7.00", "1.00"),
        row(&[("min_edge", "0.02")], "7.00", "1.00"),
    ];
    assert_eq!(sweep::best_index(&tied), Some(0));
    assert_eq!(sweep::best_index(&[]), None);

    let table = sweep::text_table(&rows);
    let marked: Vec<&str> = table.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(marked.len(), 2, "{table}"); // the row and the legend
    assert!(marked[0].contains("0.01") && marked[0].contains("200") && marked[0].contains("7.00"));
    assert!(table.lines().next().unwrap().contains("min_edge"));

    let page = sweep::html_page("sweep <1>", &rows);
    check_well_formed(&page);
    assert_eq!(page.matches("<tr class=\"best\">").count(), 1);
    let best_row = page.split("<tr class=\"best\">").nth(1).unwrap();
    assert!(
        best_row
            .starts_with("<td class=\"t\">★</td><td class=\"t\">0.01</td><td class=\"t\">200</td>")
    );
    assert!(page.contains("sweep &lt;1&gt;"));
    assert!(!page.contains("http://") && !page.contains("https://"));

    let csv = sweep::csv(&rows);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("min_edge,max_size,trades,net_pnl,"));
    let best: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.ends_with(",true"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(best, [3]); // header + third row
    assert!(lines[3].starts_with("0.01,200,4,7.00,"));
}

#[test]
fn empty_run_renders_and_says_no_trades() {
    let run = empty_run();
    let s = Summary::from_run(&run);
    assert_eq!(s.trades, 0);
    assert_eq!(s.net_pnl, Cash::ZERO);
    assert_eq!(s.max_drawdown, Cash::ZERO);
    assert_eq!(s.equity_curve.len(), 1);
    assert!(s.daily_pnl.is_empty());
    assert_eq!(s.capital_velocity, None);
    assert!(text::render(&s).contains("no trades"));
    let doc = html::render(&run, &s);
    check_well_formed(&doc);
    assert!(doc.contains("no trades"));
    assert_eq!(doc.matches("<svg").count(), 4);
    assert_eq!(equity_points(&doc), (1, 2));
    assert_eq!(csv::trades_csv(&run).lines().count(), 1);
}

#[test]
fn write_report_writes_three_deterministic_files() {
    let dir = tempfile::tempdir().unwrap();
    let run = hand_run();
    let s = write_report(&dir.path().join("a"), &run).unwrap();
    write_report(&dir.path().join("b"), &run).unwrap();
    assert_eq!(s.net_pnl, usd("0.50"));
    for name in ["summary.txt", "trades.csv", "report.html"] {
        let a = std::fs::read(dir.path().join("a").join(name)).unwrap();
        let b = std::fs::read(dir.path().join("b").join(name)).unwrap();
        assert!(!a.is_empty(), "{name} is empty");
        assert_eq!(a, b, "{name} differs between two identical runs");
    }
    // A path that cannot be a directory names itself in the error.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let err = write_report(&file, &run).unwrap_err();
    assert!(err.to_string().contains("plain-file"), "{err}");
}

/// report.html opened from disk in headless Chromium: every plot lays out
/// with a non-zero box, nothing is fetched, nothing logs an error. Skips
/// with a notice when Chromium is absent (unless ORION_REQUIRE_CHROMIUM=1).
#[tokio::test]
async fn html_report_renders_in_headless_chromium() {
    let Some(browser) = orion_browser::launch_or_skip().await.unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut run = hand_run();
    run.trades[3].pair_id = "<script>alert(\"x\")</script>".to_owned();
    write_report(dir.path(), &run).unwrap();
    let path = dir.path().join("report.html").canonicalize().unwrap();
    let url = format!("file://{}", path.display());

    let page = browser.new_page().await.unwrap();
    let nav = page.goto(&url).await.unwrap();
    assert_eq!(nav.error_text, None, "{nav:?}");
    let boxes = page
        .eval(
            "Array.from(document.querySelectorAll('svg')).map(s => { \
               const r = s.getBoundingClientRect(); return [r.width, r.height]; })",
        )
        .await
        .unwrap();
    let boxes = boxes.as_array().unwrap();
    assert_eq!(boxes.len(), 4, "{boxes:?}");
    for b in boxes {
        let (w, h) = (b[0].as_f64().unwrap(), b[1].as_f64().unwrap());
        assert!(
            w > 100.0 && h > 50.0,
            "an SVG has a degenerate box: {boxes:?}"
        );
    }
    // The equity step line has its 2 × 5 vertices as the browser parsed them.
    let vertices = page
        .eval("document.querySelector('polyline.equity').points.numberOfItems")
        .await
        .unwrap();
    assert_eq!(vertices.as_u64(), Some(10));
    // The hostile pair id is text, not a script.
    let scripts = page
        .eval("document.querySelectorAll('script').length")
        .await
        .unwrap();
    assert_eq!(scripts.as_u64(), Some(0));
    let shown = page
        .eval("document.body.textContent.includes('<script>alert(\"x\")</script>')")
        .await
        .unwrap();
    assert_eq!(shown.as_bool(), Some(true));
    // Nothing besides the page itself was loaded.
    let fetched = page
        .eval("performance.getEntriesByType('resource').length")
        .await
        .unwrap();
    assert_eq!(fetched.as_u64(), Some(0));
    assert!(
        page.console_errors().is_empty(),
        "{:?}",
        page.console_errors()
    );
    if let Ok(dump) = std::env::var("ORION_REPORT_SCREENSHOT") {
        std::fs::write(dump, page.screenshot_png().await.unwrap()).unwrap();
    }
    browser.close().await.unwrap();
}

#[test]
fn extreme_values_render_without_panicking() {
    // Money at the limits of Cash, times at the limits of Timestamp, zero and
    // negative starting capital, edges of $0 and $1: sums saturate, plots
    // scale, nothing panics, and the page stays well-formed.
    let mut run = hand_run();
    run.first_event = Some(Timestamp::from_nanos(i64::MIN));
    run.last_event = Some(Timestamp::from_nanos(i64::MAX));
    run.orders_sent = u64::MAX;
    run.orders_filled = u64::MAX;
    run.detected_edges = vec![Price::ZERO, Price::ONE];
    run.trades[0].net_pnl = Cash::MAX;
    run.trades[1].net_pnl = Cash::from_micros(i64::MIN);
    run.trades[2].net_pnl = Cash::MAX;
    run.trades[2].executed_at = Timestamp::from_nanos(i64::MAX);
    run.trades[3].fees = Cash::MAX;
    for capital in [Cash::ZERO, usd("-5"), Cash::MAX] {
        run.starting_capital = capital;
        let s = Summary::from_run(&run);
        assert_eq!(s.fill_rate.unwrap().ppm(), 1_000_000);
        assert!(s.days > 100_000);
        let _ = text::render(&s);
        let _ = csv::trades_csv(&run);
        let doc = html::render(&run, &s);
        check_well_formed(&doc);
        assert_eq!(doc.matches("<svg").count(), 4);
        assert!(
            !doc.contains("NaN") && !doc.contains("inf"),
            "a plot coordinate is not finite"
        );
    }
    // A drop from a positive peak to below zero is a 100% drawdown.
    let mut run = hand_run();
    run.trades[2].net_pnl = usd("-5000");
    let s = Summary::from_run(&run);
    assert_eq!(s.max_drawdown_fraction.unwrap().ppm(), 1_000_000);
    // No positive peak at all: the fraction is undefined.
    run.starting_capital = usd("-10000");
    assert_eq!(Summary::from_run(&run).max_drawdown_fraction, None);
}
