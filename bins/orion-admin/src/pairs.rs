//! `orion-admin pairs ...`: propose cross-venue pairs from two catalog
//! files, and measure the matcher against labelled pairs.
//!
//! All matching is done by `orion-matching`; this module reads files,
//! parses arguments and prints. Proposals are imported into the database,
//! where an operator lists, confirms or rejects them (`orion-storage` keeps
//! who decided and when, and audits it); live trading uses confirmed pairs only.

use std::fs;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use orion_core::{Clock, StoreError, SystemClock, Timestamp};
use orion_matching::matching::eval::render;
use orion_matching::matching::{
    KalshiMarket, MatchConfig, PolyMarket, evaluate, match_catalogs, parse_kalshi_markets_lenient,
    parse_labels, parse_polymarket_markets_lenient,
};
use orion_matching::matching::{Orientation, Proposal};
use orion_storage::{Database, PairRecord, PairStatus};

#[derive(Debug, Subcommand)]
pub enum PairsCommand {
    /// Propose Kalshi/Polymarket pairs from two catalogs; writes JSON.
    #[command(after_help = PROPOSE_EXAMPLE)]
    Propose(ProposeArgs),
    /// Print the matcher's precision and recall against labelled pairs.
    #[command(after_help = EVALUATE_EXAMPLE)]
    Evaluate(EvaluateArgs),
    /// Store proposals (the output of `propose`) in the database for review.
    #[command(after_help = IMPORT_EXAMPLE)]
    Import(ImportArgs),
    /// List stored pairs with their status, score and flags.
    #[command(after_help = LIST_EXAMPLE)]
    List(ListArgs),
    /// Confirm a proposed pair: it may then trade live.
    #[command(after_help = DECIDE_EXAMPLE)]
    Confirm(DecideArgs),
    /// Reject a pair: it never trades.
    #[command(after_help = DECIDE_EXAMPLE)]
    Reject(DecideArgs),
    /// List halted pairs: why, by whom and when.
    #[command(after_help = HALTS_EXAMPLE)]
    Halts(HaltsArgs),
    /// Lift a pair's halt once its exposure was dealt with; audited.
    #[command(after_help = RESUME_EXAMPLE)]
    Resume(ResumeArgs),
}

const HALTS_EXAMPLE: &str = "\
A pair halts when execution could not balance its legs within bounds, or when a
leg's fate stayed unknown; the halt survives restarts until an operator resumes it.
An operator's engine-wide halt (dashboard or Telegram) is listed as `*`; resume it
with `pairs resume '*'` or the engine's resume control. Readable while the engine runs.

Example:
  orion-admin pairs halts --config orion.toml";

const RESUME_EXAMPLE: &str = "\
Check the pair's positions on both venues first (a halted pair may hold a naked
leg). The resume is recorded in the audit log with the actor and the reason. The
engine must not hold the database (stop it; it reads the halts at start-up).

Example:
  orion-admin pairs resume 'KXFED-26DEC-T4.00~0x5f…' --config orion.toml \\
      --reason \"unwound the Kalshi leg by hand\" --actor alice";

#[derive(Debug, Args)]
pub struct HaltsArgs {
    #[command(flatten)]
    location: crate::db::DbLocation,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The pair id, as `pairs halts` shows it.
    pair_id: String,
    #[command(flatten)]
    location: crate::db::DbLocation,
    /// Why it is safe to trade the pair again (recorded in the audit log).
    #[arg(long)]
    reason: String,
    /// Who resumes [default: $USER].
    #[arg(long)]
    actor: Option<String>,
}

const IMPORT_EXAMPLE: &str = "\
Each proposal becomes a pair with status `proposed` and id KALSHI_TICKER~POLYMARKET_ID.
Importing again refreshes score, flags and reasons and keeps an earlier decision,
unless the orientation changed (then the pair needs review again).

Example:
  orion-admin pairs propose --kalshi k.json --polymarket p.json --out proposals.json
  orion-admin pairs import --proposals proposals.json --config orion.toml";

const LIST_EXAMPLE: &str = "\
Example:
  orion-admin pairs list --config orion.toml --status proposed";

const DECIDE_EXAMPLE: &str = "\
The decision is recorded with who made it and when, and audited. The engine must
not hold the database (stop it, or decide through its dashboard).

Example:
  orion-admin pairs confirm 'KXFED-26DEC-T4.00~0x5f…' --config orion.toml --actor alice";

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Proposals JSON written by `orion-admin pairs propose --out`.
    #[arg(long, value_name = "FILE")]
    proposals: PathBuf,
    #[command(flatten)]
    location: crate::db::DbLocation,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    location: crate::db::DbLocation,
    /// Only pairs with this status: proposed, confirmed or rejected.
    #[arg(long, value_name = "STATUS")]
    status: Option<String>,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The pair id, as `pairs list` shows it.
    pair_id: String,
    #[command(flatten)]
    location: crate::db::DbLocation,
    /// Who decides [default: $USER].
    #[arg(long)]
    actor: Option<String>,
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
        PairsCommand::Import(args) => import(args),
        PairsCommand::List(args) => list(args),
        PairsCommand::Confirm(args) => decide(args, PairStatus::Confirmed),
        PairsCommand::Reject(args) => decide(args, PairStatus::Rejected),
        PairsCommand::Halts(args) => halts(&args).map(|text| print!("{text}")),
        PairsCommand::Resume(args) => resume(args).map(|text| println!("{text}")),
    }
}

fn halts(args: &HaltsArgs) -> Result<String, String> {
    let located = args.location.resolve()?;
    crate::db::require_existing(&located.db)?;
    let db = Database::open_read_only(&located.db)
        .map_err(|e| format!("{}: {e}", located.db.display()))?;
    let halts = db.halted_pairs().map_err(|e| match e {
        // A database the engine has not migrated yet has no halts table.
        StoreError::Io(detail) if detail.contains("no such table") => format!(
            "{}: the database predates halts (schema below v3); start the engine once to migrate it",
            located.db.display()
        ),
        other => other.to_string(),
    })?;
    if halts.is_empty() {
        return Ok("no halted pairs\n".into());
    }
    let mut out = String::new();
    for h in halts {
        let who = if h.pair_id == orion_storage::ENGINE_HALT_ID {
            "* (engine-wide halt)".to_string()
        } else {
            h.pair_id.clone()
        };
        out.push_str(&format!(
            "{who}  halted at {} by {}: {}\n",
            h.halted_at, h.source, h.reason
        ));
    }
    Ok(out)
}

fn resume(args: ResumeArgs) -> Result<String, String> {
    let actor = args
        .actor
        .or_else(|| std::env::var("USER").ok())
        .filter(|a| !a.trim().is_empty())
        .ok_or("who resumes? pass --actor NAME")?;
    if args.reason.trim().is_empty() {
        return Err("--reason must say why the pair may trade again".into());
    }
    crate::db::require_existing(&args.location.resolve()?.db)?;
    let mut db = open_for_writing(&args.location)?;
    let resumed = db
        .resume_pair(&args.pair_id, &actor, &args.reason, SystemClock.now())
        .map_err(|e| e.to_string())?;
    if !resumed {
        return Err(format!(
            "pair {:?} is not halted: see `orion-admin pairs halts`",
            args.pair_id
        ));
    }
    Ok(format!(
        "{} resumed by {actor}: {}",
        args.pair_id, args.reason
    ))
}

fn open_for_writing(location: &crate::db::DbLocation) -> Result<Database, String> {
    let located = location.resolve()?;
    Database::open(&located.db).map_err(|e| match e {
        StoreError::Locked(_) => format!(
            "{} is held by the running engine: stop it, or review pairs through its dashboard",
            located.db.display()
        ),
        other => format!("{}: {other}", located.db.display()),
    })
}

/// The stored form of a proposal: tokens aligned with Kalshi's outcomes.
fn record_of(p: &Proposal, now: Timestamp) -> Result<PairRecord, String> {
    let id = format!("{}~{}", p.kalshi.symbol, p.polymarket.symbol);
    let (Some(yes), Some(no)) = (&p.polymarket_yes_token, &p.polymarket_no_token) else {
        return Err(format!(
            "{id}: the proposal names no Polymarket tokens; it cannot be traded"
        ));
    };
    let text = |v: serde_json::Value| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    Ok(PairRecord {
        pair_id: id,
        kalshi_ticker: p.kalshi.symbol.to_string(),
        polymarket_condition_id: p.polymarket.symbol.to_string(),
        polymarket_yes_token: yes.symbol.to_string(),
        polymarket_no_token: no.symbol.to_string(),
        inverted: p.orientation == Orientation::Inverted,
        score_bps: u32::from(p.score_bps),
        flags: p
            .flags
            .iter()
            .map(|f| {
                serde_json::to_value(f)
                    .map(text)
                    .unwrap_or_else(|_| format!("{f:?}"))
            })
            .collect(),
        reasons: p.reasons.clone(),
        status: PairStatus::Proposed,
        decided_by: None,
        decided_at: None,
        created_at: now,
    })
}

fn import(args: ImportArgs) -> Result<(), String> {
    let text = read(&args.proposals)?;
    let proposals: Vec<Proposal> = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a proposals file (the JSON array `orion-admin pairs propose --out` writes): {e}",
            args.proposals.display()
        )
    })?;
    let db = open_for_writing(&args.location)?;
    let now = SystemClock.now();
    let (mut stored, mut skipped) = (0, 0);
    for p in &proposals {
        match record_of(p, now) {
            Ok(record) => {
                db.upsert_proposal(&record).map_err(|e| e.to_string())?;
                stored += 1;
            }
            Err(reason) => {
                eprintln!("warning: skipped {reason}");
                skipped += 1;
            }
        }
    }
    println!(
        "imported {stored} proposals ({skipped} skipped) into {}",
        db.path().display()
    );
    Ok(())
}

fn list(args: ListArgs) -> Result<(), String> {
    let status = match args.status.as_deref() {
        None => None,
        Some("proposed") => Some(PairStatus::Proposed),
        Some("confirmed") => Some(PairStatus::Confirmed),
        Some("rejected") => Some(PairStatus::Rejected),
        Some(other) => {
            return Err(format!(
                "unknown status {other:?}: use proposed, confirmed or rejected"
            ));
        }
    };
    let located = args.location.resolve()?;
    crate::db::require_existing(&located.db)?;
    let db = Database::open_read_only(&located.db)
        .map_err(|e| format!("{}: {e}", located.db.display()))?;
    let pairs = db.pairs(status).map_err(|e| e.to_string())?;
    if pairs.is_empty() {
        println!("no pairs");
    }
    for p in pairs {
        let decided = match (&p.decided_by, p.decided_at) {
            (Some(who), Some(at)) => format!(" by {who} at {at}"),
            _ => String::new(),
        };
        println!(
            "{}  {}{}  score {}  {}{}",
            p.pair_id,
            p.status.as_str(),
            decided,
            p.score_bps,
            if p.inverted { "inverted" } else { "direct" },
            if p.flags.is_empty() {
                String::new()
            } else {
                format!("  flags: {}", p.flags.join(", "))
            }
        );
    }
    Ok(())
}

fn decide(args: DecideArgs, status: PairStatus) -> Result<(), String> {
    let actor = args
        .actor
        .or_else(|| std::env::var("USER").ok())
        .filter(|a| !a.trim().is_empty())
        .ok_or("who decides? pass --actor NAME")?;
    let mut db = open_for_writing(&args.location)?;
    db.set_pair_status(&args.pair_id, status, &actor, SystemClock.now())
        .map_err(|e| match e {
            StoreError::NotFound(_) => {
                format!("no pair {:?}: see `orion-admin pairs list`", args.pair_id)
            }
            other => other.to_string(),
        })?;
    println!("{} {} by {actor}", args.pair_id, status.as_str());
    Ok(())
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

    fn cli(args: &[&str]) -> Result<(), String> {
        run(Cli::try_parse_from(args).map_err(|e| e.to_string())?.cmd)
    }

    #[test]
    fn proposals_are_imported_reviewed_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
        fs::write(path("k.json"), KALSHI).unwrap();
        fs::write(path("p.json"), POLY).unwrap();
        let db = path("orion.db");
        // The engine creates the database; here the test does.
        drop(Database::open(Path::new(&db)).unwrap());
        cli(&[
            "pairs",
            "propose",
            "--kalshi",
            &path("k.json"),
            "--polymarket",
            &path("p.json"),
            "--out",
            &path("out.json"),
        ])
        .unwrap();
        cli(&[
            "pairs",
            "import",
            "--proposals",
            &path("out.json"),
            "--db",
            &db,
        ])
        .unwrap();
        let id = "KXBTCD-25DEC31-T100000~0xbtc";
        let stored = Database::open_read_only(Path::new(&db))
            .unwrap()
            .pairs(None)
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].pair_id, id);
        assert_eq!(stored[0].status, PairStatus::Proposed);
        // Tokens are stored aligned with Kalshi: YES pays with token 11.
        assert_eq!(stored[0].polymarket_yes_token, "11");
        assert_eq!(stored[0].polymarket_no_token, "22");
        cli(&["pairs", "list", "--db", &db, "--status", "proposed"]).unwrap();
        assert!(
            cli(&["pairs", "list", "--db", &db, "--status", "maybe"])
                .unwrap_err()
                .contains("unknown status")
        );
        cli(&["pairs", "confirm", id, "--db", &db, "--actor", "alice"]).unwrap();
        let err = cli(&["pairs", "reject", "nope", "--db", &db, "--actor", "alice"]).unwrap_err();
        assert!(err.contains("pairs list"), "{err}");
        let db = Database::open_read_only(Path::new(&db)).unwrap();
        let confirmed = db.pairs(Some(PairStatus::Confirmed)).unwrap();
        assert_eq!(confirmed[0].decided_by.as_deref(), Some("alice"));
        assert_eq!(db.audit_log(1).unwrap()[0].action, "pair.confirmed");
    }

    #[test]
    fn decisions_are_refused_while_the_engine_holds_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("orion.db");
        let _engine = Database::open(&db).unwrap();
        let err = cli(&[
            "pairs",
            "confirm",
            "X~Y",
            "--db",
            db.to_str().unwrap(),
            "--actor",
            "a",
        ])
        .unwrap_err();
        assert!(err.contains("running engine"), "{err}");
    }

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

    fn parse(args: &[&str]) -> PairsCommand {
        Cli::try_parse_from(args).unwrap().cmd
    }

    #[test]
    fn halts_are_listed_and_resumed_with_a_reason_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("orion.db");
        let db = db_path.to_str().unwrap().to_string();
        {
            let mut d = Database::open(&db_path).unwrap();
            d.halt_pair(&orion_storage::HaltRecord {
                pair_id: "K~P".into(),
                reason: "legs differ by 3 contracts".into(),
                source: "execution".into(),
                halted_at: Timestamp::from_secs(5),
            })
            .unwrap();
        }
        let PairsCommand::Halts(list) = parse(&["pairs", "halts", "--db", &db]) else {
            panic!("halts parsed as another command");
        };
        let text = halts(&list).unwrap();
        assert!(text.contains("K~P"), "{text}");
        assert!(text.contains("legs differ by 3 contracts"), "{text}");
        assert!(text.contains("execution"), "{text}");

        // A reason is required, by clap and when blank.
        assert!(Cli::try_parse_from(["pairs", "resume", "K~P", "--db", &db]).is_err());
        let PairsCommand::Resume(blank) = parse(&[
            "pairs", "resume", "K~P", "--db", &db, "--reason", " ", "--actor", "alice",
        ]) else {
            panic!("resume parsed as another command");
        };
        assert!(resume(blank).unwrap_err().contains("--reason"));

        // While the engine holds the database, the resume is refused.
        let engine = Database::open(&db_path).unwrap();
        let PairsCommand::Resume(held) = parse(&[
            "pairs", "resume", "K~P", "--db", &db, "--reason", "flat", "--actor", "alice",
        ]) else {
            panic!("resume parsed as another command");
        };
        assert!(resume(held).unwrap_err().contains("running engine"));
        drop(engine);

        let PairsCommand::Resume(ok) = parse(&[
            "pairs",
            "resume",
            "K~P",
            "--db",
            &db,
            "--reason",
            "unwound by hand",
            "--actor",
            "alice",
        ]) else {
            panic!("resume parsed as another command");
        };
        assert!(resume(ok).unwrap().contains("resumed by alice"));
        assert_eq!(halts(&list).unwrap(), "no halted pairs\n");
        let d = Database::open_read_only(&db_path).unwrap();
        let last = &d.audit_log(1).unwrap()[0];
        assert_eq!(
            (
                last.action.as_str(),
                last.actor.as_str(),
                last.detail.as_str()
            ),
            ("pair.resume", "alice", "K~P: unwound by hand")
        );
        // Resuming a pair that is not halted says so.
        let PairsCommand::Resume(again) = parse(&[
            "pairs", "resume", "K~P", "--db", &db, "--reason", "again", "--actor", "alice",
        ]) else {
            panic!("resume parsed as another command");
        };
        assert!(resume(again).unwrap_err().contains("not halted"));
    }
}
