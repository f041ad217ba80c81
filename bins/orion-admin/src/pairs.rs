//! `orion-admin pairs ...`: propose cross-venue pairs from two catalog
//! files, and measure the matcher against labelled pairs.
//!
//! All matching is done by `orion-matching`; this module reads files,
//! parses arguments and prints. Reviewing proposals (list, confirm, reject)
//! needs the database and is not here yet.

use std::fs;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use orion_matching::matching::eval::render;
use orion_matching::matching::{
    KalshiMarket, MatchConfig, PolyMarket, evaluate, match_catalogs, parse_kalshi_markets_lenient,
    parse_labels, parse_polymarket_markets_lenient,
};

#[derive(Debug, Subcommand)]
pub enum PairsCommand {
    /// Propose Kalshi/Polymarket pairs from two catalogs; writes JSON.
    #[command(after_help = PROPOSE_EXAMPLE)]
    Propose(ProposeArgs),
    /// Print the matcher's precision and recall against labelled pairs.
    #[command(after_help = EVALUATE_EXAMPLE)]
    Evaluate(EvaluateArgs),
}

const PROPOSE_EXAMPLE: &str = "\
Catalogs are read in the venues' native shapes: a Kalshi GET /markets page
({\"markets\": [...], \"cursor\": ...}), a bare array of markets, a GET /events
page with nested markets, or JSON Lines; Polymarket Gamma markets as an array,
{\"data\": [...]} or JSON Lines. The output is a JSON array of proposals: Kalshi
ticker, Polymarket condition id (or slug), the Polymarket tokens paying when
Kalshi YES and Kalshi NO pay, orientation, score in basis points, flags and
reasons. Proposals are for an operator to confirm; they are never traded live
unconfirmed.

Example:
  orion-admin pairs propose --kalshi kalshi_markets.json \\
      --polymarket gamma_markets.json --out proposals.json --min-score 8000";

const EVALUATE_EXAMPLE: &str = "\
Labels are JSON Lines with kalshi_ticker, polymarket_id, label (equivalent or
not_equivalent) and orientation.poly_outcome_index / poly_token_id. Precision
is over proposals that hit a label (an orientation error counts as wrong);
recall is over equivalent labels.

Example:
  orion-admin pairs evaluate --labels ../shared/data/pairs/labels.jsonl \\
      --kalshi ../shared/data/pairs/kalshi_markets.jsonl \\
      --polymarket ../shared/data/pairs/polymarket_markets.jsonl";

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Kalshi markets file (GET /markets page, array or JSON Lines).
    #[arg(long, value_name = "FILE")]
    kalshi: PathBuf,
    /// Polymarket Gamma markets file (array or JSON Lines).
    #[arg(long, value_name = "FILE")]
    polymarket: PathBuf,
    /// Minimum score, in basis points (0..=10000), for a pair to be proposed.
    #[arg(long, value_name = "N", default_value_t = MatchConfig::default().min_score_bps)]
    min_score: u16,
    /// Close/expiration times further apart than this many hours are flagged.
    #[arg(long, value_name = "HOURS", default_value_t = 36)]
    close_tolerance_hours: i64,
}

#[derive(Debug, Args)]
pub struct ProposeArgs {
    #[command(flatten)]
    catalogs: CatalogArgs,
    /// Write the proposals here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Labelled pairs (JSON Lines).
    #[arg(long, value_name = "FILE")]
    labels: PathBuf,
    #[command(flatten)]
    catalogs: CatalogArgs,
}

pub fn run(cmd: PairsCommand) -> Result<(), String> {
    match cmd {
        PairsCommand::Propose(args) => propose(args),
        PairsCommand::Evaluate(args) => evaluate_cmd(args),
    }
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn load(args: &CatalogArgs) -> Result<(Vec<KalshiMarket>, Vec<PolyMarket>, MatchConfig), String> {
    if args.min_score > 10_000 {
        return Err(format!(
            "--min-score {} is above 10000 basis points",
            args.min_score
        ));
    }
    if args.close_tolerance_hours < 0 {
        return Err("--close-tolerance-hours must not be negative".to_owned());
    }
    // A malformed record is reported and skipped; one bad market must not
    // hide the rest of a catalog.
    let (kalshi, k_errors) = parse_kalshi_markets_lenient(&read(&args.kalshi)?)
        .map_err(|e| format!("{}: {e}", args.kalshi.display()))?;
    let (poly, p_errors) = parse_polymarket_markets_lenient(&read(&args.polymarket)?)
        .map_err(|e| format!("{}: {e}", args.polymarket.display()))?;
    for e in &k_errors {
        eprintln!("warning: {}: skipped: {e}", args.kalshi.display());
    }
    for e in &p_errors {
        eprintln!("warning: {}: skipped: {e}", args.polymarket.display());
    }
    let cfg = MatchConfig {
        min_score_bps: args.min_score,
        close_time_tolerance_secs: args.close_tolerance_hours.saturating_mul(3600),
        ..MatchConfig::default()
    };
    Ok((kalshi, poly, cfg))
}

fn propose(args: ProposeArgs) -> Result<(), String> {
    let (kalshi, poly, cfg) = load(&args.catalogs)?;
    let outcome = match_catalogs(&kalshi, &poly, &cfg);
    let json = serde_json::to_string_pretty(&outcome.proposals)
        .map_err(|e| format!("cannot encode proposals: {e}"))?;
    match &args.out {
        Some(path) => fs::write(path, json + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => println!("{json}"),
    }
    eprintln!(
        "{} Kalshi and {} Polymarket markets; {} candidate pairs scored; {} proposals{}",
        kalshi.len(),
        poly.len(),
        outcome.pairs_scored,
        outcome.proposals.len(),
        if outcome.skipped.is_empty() {
            String::new()
        } else {
            format!(
                "; {} skipped: {}",
                outcome.skipped.len(),
                outcome.skipped.join("; ")
            )
        }
    );
    Ok(())
}

fn evaluate_cmd(args: EvaluateArgs) -> Result<(), String> {
    let labels = parse_labels(&read(&args.labels)?)
        .map_err(|e| format!("{}: {e}", args.labels.display()))?;
    let (kalshi, poly, cfg) = load(&args.catalogs)?;
    let outcome = match_catalogs(&kalshi, &poly, &cfg);
    let ev = evaluate(&labels, &outcome.proposals);
    print!("{}", render(&ev));
    println!(
        "candidate pairs scored: {} (of {} x {} = {})",
        outcome.pairs_scored,
        kalshi.len(),
        poly.len(),
        kalshi.len().saturating_mul(poly.len())
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: PairsCommand,
    }

    const KALSHI: &str = r#"{"markets":[{"ticker":"KXBTCD-25DEC31-T100000","title":"Will Bitcoin be above $100k on Dec. 31, 2025?","strike_type":"greater","floor_strike":100000}],"cursor":""}"#;
    const POLY: &str = r#"[{"conditionId":"0xbtc","question":"Bitcoin above 100,000 on December 31, 2025?","outcomes":"[\"No\", \"Yes\"]","clobTokenIds":"[\"22\", \"11\"]"}]"#;

    #[test]
    fn propose_writes_proposals_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let (k, p, out) = (
            dir.path().join("k.json"),
            dir.path().join("p.json"),
            dir.path().join("out.json"),
        );
        fs::write(&k, KALSHI).unwrap();
        fs::write(&p, POLY).unwrap();
        let cli = Cli::try_parse_from([
            "pairs",
            "propose",
            "--kalshi",
            k.to_str().unwrap(),
            "--polymarket",
            p.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--min-score",
            "8000",
        ])
        .unwrap();
        run(cli.cmd).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
        let first = &v[0];
        assert_eq!(first["kalshi"]["symbol"], "KXBTCD-25DEC31-T100000");
        assert_eq!(first["polymarket"]["symbol"], "0xbtc");
        assert_eq!(
            first["polymarket_yes_token"]["symbol"], "11",
            "mapped by outcome text"
        );
        assert_eq!(first["polymarket_no_token"]["symbol"], "22");
        assert_eq!(first["orientation"], "direct");
    }

    #[test]
    fn bad_arguments_and_files_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path().join("k.json");
        fs::write(&k, "not json").unwrap();
        let missing = dir.path().join("missing.json");
        let cli = Cli::try_parse_from([
            "pairs",
            "propose",
            "--kalshi",
            k.to_str().unwrap(),
            "--polymarket",
            missing.to_str().unwrap(),
        ])
        .unwrap();
        assert!(run(cli.cmd).is_err());
        let cli = Cli::try_parse_from([
            "pairs",
            "propose",
            "--kalshi",
            "a",
            "--polymarket",
            "b",
            "--min-score",
            "20000",
        ])
        .unwrap();
        assert!(run(cli.cmd).unwrap_err().contains("10000"));
        assert!(Cli::try_parse_from(["pairs", "propose", "--kalshi", "a"]).is_err());
    }
}
