//! `orion-admin breaker ...`: read the circuit breaker's state, and reset a
//! halted breaker with an audited reason. The state machine lives in
//! `orion-risk`; the record and the audit log in `orion-storage`.
//!
//! A reset writes the database, so it needs the writer's lock: while the
//! engine runs it holds that lock and the reset is refused here; the engine's
//! authenticated dashboard control is then the way to reset.

use clap::{Args, Subcommand};
use orion_core::{Clock, StoreError, SystemClock, Timestamp};
use orion_risk::{
    AdminReset, BreakerLimits, BreakerState, BreakerStatus, ResetOutcome, breaker::day_label,
};
use orion_storage::{AuditEntry, BreakerRecord, Database};

use crate::db::{DbLocation, open_error, require_existing};

#[derive(Debug, Subcommand)]
pub enum BreakerCommand {
    /// Print the breaker's state, reason, since when, and its counters.
    #[command(after_help = STATUS_EXAMPLE)]
    Status(StatusArgs),
    /// Clear a halted breaker (engine stopped); audited with actor and reason.
    #[command(after_help = RESET_EXAMPLE)]
    Reset(ResetArgs),
}

pub const BREAKER_EXAMPLE: &str = "\
Example:
  orion-admin breaker status --config orion.toml";

const STATUS_EXAMPLE: &str = "\
Reads the database read-only, so it works while the engine runs.

Example:
  orion-admin breaker status --config orion.toml
  orion-admin breaker status --db orion-data/orion.db --json";

const RESET_EXAMPLE: &str = "\
Needs the database's writer lock: refused while the engine runs (reset through
the engine's authenticated dashboard control instead). Resetting accepts the
loss: the daily and peak baselines restart from the last equity seen, and the
failure and unwind counters from zero. Resetting an active breaker changes
nothing.

Example:
  orion-admin breaker reset --config orion.toml \\
      --reason \"Kalshi balance read was stale; positions reconciled\"";

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Print the stored state document (JSON) instead of the summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Why the halt may be cleared; recorded in the audit log.
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// Who is resetting [default: $USER].
    #[arg(long, value_name = "NAME")]
    actor: Option<String>,
}

pub fn run(cmd: BreakerCommand) -> Result<(), String> {
    match cmd {
        BreakerCommand::Status(args) => status(&args),
        BreakerCommand::Reset(args) => reset(&args),
    }
}

fn status(args: &StatusArgs) -> Result<(), String> {
    let at = args.location.resolve()?;
    let db = Database::open_read_only(&at.db).map_err(|e| open_error(&at.db, &e))?;
    let record = db
        .load_breaker()
        .map_err(|e| format!("cannot read the breaker record: {e}"))?;
    let Some(record) = record else {
        if args.json {
            println!("null");
        } else {
            println!("state:                active (no breaker state saved yet)");
        }
        return Ok(());
    };
    if args.json {
        println!("{}", record.data);
        return Ok(());
    }
    let state = BreakerState::restore(&record.data).map_err(|e| {
        format!(
            "the stored breaker state is unreadable ({e}); the engine starts halted on it. \
             Reset with `orion-admin breaker reset --reason TEXT` (engine stopped) to write a fresh state"
        )
    })?;
    print_state(&state, record.updated_at);
    if let Some(config) = &at.config {
        let l = BreakerLimits::from_config(&config.risk);
        println!(
            "limits:               daily loss {}, drawdown {}, {} consecutive failures, unwind loss ${}/day",
            l.daily_loss_limit, l.max_drawdown, l.max_consecutive_failures, l.max_unwind_loss
        );
    }
    // The last few control actions, for context.
    let actions: Vec<AuditEntry> = db
        .audit_log(200)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.action.starts_with("breaker."))
        .take(5)
        .collect();
    if !actions.is_empty() {
        println!("recent breaker actions:");
        for e in actions {
            println!("  {} {} by {}: {}", e.at, e.action, e.actor, e.detail);
        }
    }
    Ok(())
}

fn money(c: Option<orion_core::Cash>) -> String {
    c.map_or_else(|| "unknown".to_string(), |c| format!("${c}"))
}

fn print_state(state: &BreakerState, updated_at: Timestamp) {
    match state.status() {
        BreakerStatus::Active => println!("state:                active"),
        BreakerStatus::Halted { reason, since } => {
            println!("state:                HALTED (no new trades; cancels and unwinds continue)");
            println!("reason:               {reason}");
            println!("since:                {since}");
        }
    }
    println!(
        "day (UTC):            {}",
        state.day().map_or_else(|| "not started".into(), day_label)
    );
    println!("day start equity:     {}", money(state.day_start_equity()));
    println!("peak equity:          {}", money(state.peak_equity()));
    match state.last_equity() {
        Some((equity, at)) => println!("last equity:          ${equity} at {at}"),
        None => println!("last equity:          unknown"),
    }
    println!("consecutive failures: {}", state.consecutive_failures());
    println!("unwind loss today:    ${}", state.unwind_loss_today());
    println!("trips (all time):     {}", state.trips_total());
    if let Some(r) = state.last_reset() {
        println!(
            "last reset:           {} by {}: {} (cleared: {})",
            r.at, r.actor, r.reason, r.cleared
        );
    }
    println!("state saved at:       {updated_at}");
}

fn reset(args: &ResetArgs) -> Result<(), String> {
    let actor = match &args.actor {
        Some(a) => a.clone(),
        None => std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .map_err(|_| "who is resetting? pass --actor NAME (USER is not set)".to_string())?,
    };
    let authority = AdminReset::new(&actor, &args.reason).map_err(|e| e.to_string())?;
    let at = args.location.resolve()?;
    // Opening for writing would create a database; a reset never should.
    require_existing(&at.db)?;
    let mut db = Database::open(&at.db).map_err(|e| match e {
        StoreError::Locked(_) => format!(
            "{} is held by a running engine: reset the breaker through the engine's authenticated dashboard control path, \
             or stop the engine and run this again",
            at.db.display()
        ),
        other => open_error(&at.db, &other),
    })?;
    let now = SystemClock.now();
    let record = db
        .load_breaker()
        .map_err(|e| format!("cannot read the breaker record: {e}"))?;
    let Some(record) = record else {
        println!("breaker is already active (no state saved yet); nothing to reset");
        return Ok(());
    };
    let (mut state, unreadable) = match BreakerState::restore(&record.data) {
        Ok(state) => (state, None),
        // What the engine would start with; the reset then writes a fresh,
        // readable state in its place.
        Err(e) => (BreakerState::fail_closed(&e.to_string(), now), Some(e)),
    };
    match state.reset(authority, now) {
        ResetOutcome::AlreadyActive => {
            println!("breaker is already active; nothing changed");
            Ok(())
        }
        ResetOutcome::Cleared {
            previous,
            halted_since,
            audit,
        } => {
            let data = state
                .snapshot()
                .map_err(|e| format!("cannot encode the breaker state: {e}"))?;
            let audit = AuditEntry {
                at: audit.at,
                actor: audit.actor,
                action: audit.action,
                detail: audit.detail,
            };
            db.save_breaker(
                &BreakerRecord {
                    state: state.state_name().to_string(),
                    data,
                    updated_at: now,
                },
                Some(&audit),
            )
            .map_err(|e| format!("cannot save the reset: {e}; the breaker is unchanged"))?;
            if let Some(e) = unreadable {
                println!("the stored state was unreadable ({e}); wrote a fresh active state");
            }
            println!(
                "breaker reset by {}: was halted since {halted_since}",
                audit.actor
            );
            println!("cleared:  {previous}");
            println!("reason:   {}", args.reason.trim());
            println!(
                "now active; baselines restart from the last equity seen ({})",
                money(state.last_equity().map(|(c, _)| c))
            );
            Ok(())
        }
    }
}
