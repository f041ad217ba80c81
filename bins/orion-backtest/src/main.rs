//! `orion-backtest`: replays recorded books through the engine's own code.
//! Thin: parses the command line and calls the library crates.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod backtest;

use clap::{Parser, Subcommand, ValueEnum};
use orion_core::{BookEventKind, Clock, SystemClock, Timestamp};
use orion_matching::detection::{DetectionParams, PairSpec};
use orion_recording::{
    BinaryReader, BinaryWriter, JsonlReader, RecordingError, binary_to_jsonl, jsonl_to_binary,
    recording_files,
};
use orion_replay::GeneratorConfig;

#[derive(Debug, Parser)]
#[command(
    name = "orion-backtest",
    version,
    about = "Replay recorded order books through Orion's engine code"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Form {
    /// Compact binary (.orec).
    Binary,
    /// Readable JSON Lines (.jsonl).
    Jsonl,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert a recording between the readable JSON Lines form and the binary form.
    #[command(
        after_help = "Examples:\n  orion-backtest convert --from book.jsonl --to book.orec\n  orion-backtest convert --from book.orec --to book.jsonl\n\n\
        The direction follows the file extensions (.jsonl / .orec) unless --to-form is given.\n\
        The format is specified in docs/recording-format.md."
    )]
    Convert {
        /// Input recording.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Output file (created; must not exist).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// Output form, when the extension does not say.
        #[arg(long, value_enum)]
        to_form: Option<Form>,
    },
    /// Write a synthetic recording (and its pairs file) with planted opportunities.
    #[command(
        after_help = "Example:\n  orion-backtest generate --out synth.orec --pairs-out synth-pairs.json --pairs 200 --events 10000000 --seed 1\n\n\
        The pairs file lists every pair and the planted edges (real ones with depth,\n\
        fake ones at the top of the book only) with their times."
    )]
    Generate {
        /// The recording to write (.orec; must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Where to write the pairs and the planted edges (JSON; must not exist).
        #[arg(long, value_name = "FILE")]
        pairs_out: PathBuf,
        #[arg(long, default_value_t = 50)]
        pairs: usize,
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Real opportunities to plant.
        #[arg(long, default_value_t = 10)]
        planted: usize,
        /// Top-of-book-only (fake) opportunities to plant.
        #[arg(long, default_value_t = 10)]
        fake: usize,
    },
    /// Replay a recording through the decision core and report every opportunity detection saw.
    #[command(
        after_help = "Examples:\n  orion-backtest scan --recording synth.orec --pairs synth-pairs.json --config config/orion.example.toml\n  orion-backtest scan --recording data/recordings/ --db data/orion.db --config orion.toml\n\n\
        A directory orion-engine recorded holds pairs.json, the specs of the pairs it traded:\n\
        without --pairs they are used. --db keeps only the pairs confirmed in that database.\n\
        Detection thresholds and staleness limits come from the configuration (defaults\n\
        without --config). The clock is driven only by event timestamps, so the report is\n\
        the same on every run; throughput is printed separately."
    )]
    Scan {
        /// A recording (.orec or .jsonl) or a directory of .orec files.
        #[arg(long, value_name = "PATH")]
        recording: PathBuf,
        #[command(flatten)]
        pairs: PairsArgs,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Write the report as JSON here (else print a summary).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Replay a recording through the decision core, the risk gate and the executor against simulated venues.
    #[command(
        after_help = "Example:\n  orion-backtest run --recording synth.orec --pairs synth-pairs.json \\\n      --config config/orion.example.toml --seed 1 --out bt/ \\\n      --kalshi-latency-ms 50:20 --polymarket-latency-ms 100 \\\n      --partial-fill-prob 0.05 --reject-prob 0.01\n  orion-backtest run --recording data/recordings/ --db data/orion.db --config orion.toml --out bt/\n\n\
        A directory orion-engine recorded holds pairs.json, the specs of the pairs it traded:\n\
        without --pairs they are used. --db keeps only the pairs confirmed in that database.\n\
        Writes summary.txt (also printed), trades.csv and report.html in --out. Orders reach a\n\
        venue after its latency and fill against the recorded book as it is then, with the\n\
        venue's fees and rules. The outputs depend only on the inputs and the seed; the\n\
        throughput printed at the end is wall-clock and is not written anywhere."
    )]
    Run(backtest::RunArgs),
    /// Run a backtest for every combination of a parameter grid, on all cores, and tabulate the results.
    #[command(
        after_help = "Example:\n  orion-backtest sweep --recording synth.orec --pairs synth-pairs.json --out sweep/ \\\n      --grid \"min_edge=0.01,0.02;max_trade_fraction=0.02,0.05;kalshi_latency_ms=20,100\"\n\n\
        A directory orion-engine recorded holds pairs.json, the specs of the pairs it traded:\n\
        without --pairs they are used. --db keeps only the pairs confirmed in that database.\n\
        Writes sweep.txt (also printed), sweep.csv and sweep.html in --out; the best row\n\
        (highest net P&L) is marked. Each run is single-threaded and deterministic."
    )]
    Sweep(backtest::SweepArgs),
    /// Summarize a recording: events, instruments, time span; checks every record.
    #[command(
        after_help = "Example:\n  orion-backtest inspect recordings/orion-20261124T120000Z.orec"
    )]
    Inspect {
        /// A recording in either form.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert { from, to, to_form } => convert(&from, &to, to_form),
        Command::Inspect { file } => inspect(&file),
        Command::Run(args) => backtest::run(&args),
        Command::Sweep(args) => backtest::sweep(&args),
        Command::Generate {
            out,
            pairs_out,
            pairs,
            events,
            seed,
            planted,
            fake,
        } => generate(
            &out,
            &pairs_out,
            GeneratorConfig {
                pairs,
                events,
                seed,
                planted,
                fake,
                ..GeneratorConfig::default()
            },
        ),
        Command::Scan {
            recording,
            pairs,
            config,
            out,
        } => scan(&recording, &pairs, config.as_deref(), out.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn form_of(path: &Path) -> Option<Form> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("orec") => Some(Form::Binary),
        Some("jsonl" | "json") => Some(Form::Jsonl),
        _ => None,
    }
}

fn open(path: &Path) -> Result<BufReader<File>, String> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 16, f))
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

fn convert(from: &Path, to: &Path, to_form: Option<Form>) -> Result<(), String> {
    let target = to_form.or_else(|| form_of(to)).ok_or_else(|| {
        format!(
            "cannot tell the output form from {}; pass --to-form binary|jsonl",
            to.display()
        )
    })?;
    let input = open(from)?;
    let output = File::options()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|e| format!("cannot create {} (it must not exist): {e}", to.display()))?;
    let output = BufWriter::with_capacity(1 << 16, output);
    let label = |e: RecordingError| format!("{}: {e}", from.display());
    let result = match target {
        Form::Binary => jsonl_to_binary(input, output, SystemClock.now()),
        Form::Jsonl => binary_to_jsonl(input, output),
    };
    let stats = match result {
        Ok(stats) => stats,
        Err(e) => {
            // Leave nothing half-written behind.
            let _ = std::fs::remove_file(to);
            return Err(label(e));
        }
    };
    println!(
        "wrote {} events ({} bytes) to {}",
        stats.events,
        stats.bytes_written,
        to.display()
    );
    Ok(())
}

#[derive(Default)]
struct Summary {
    events: u64,
    snapshots: u64,
    deltas: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    per_instrument: BTreeMap<String, u64>,
}

fn inspect(file: &Path) -> Result<(), String> {
    let mut summary = Summary::default();
    let mut add = |event: orion_core::BookEvent| {
        summary.events += 1;
        match event.kind {
            BookEventKind::Snapshot { .. } => summary.snapshots += 1,
            BookEventKind::Delta { .. } => summary.deltas += 1,
        }
        summary.first = Some(
            summary
                .first
                .map_or(event.received_at, |t| t.min(event.received_at)),
        );
        summary.last = Some(
            summary
                .last
                .map_or(event.received_at, |t| t.max(event.received_at)),
        );
        *summary
            .per_instrument
            .entry(event.instrument.to_string())
            .or_default() += 1;
    };
    let label = |e: RecordingError| format!("{}: {e}", file.display());
    match form_of(file) {
        Some(Form::Jsonl) => {
            for event in JsonlReader::new(open(file)?) {
                add(event.map_err(label)?);
            }
        }
        _ => {
            for event in BinaryReader::new(open(file)?).map_err(label)? {
                add(event.map_err(label)?);
            }
        }
    }
    println!("file:        {}", file.display());
    println!(
        "events:      {} ({} snapshots, {} deltas)",
        summary.events, summary.snapshots, summary.deltas
    );
    if let (Some(first), Some(last)) = (summary.first, summary.last) {
        println!(
            "received:    {first} .. {last} ({} s)",
            last.since(first).as_secs()
        );
    }
    println!("instruments: {}", summary.per_instrument.len());
    for (instrument, count) in &summary.per_instrument {
        println!("  {instrument}  {count}");
    }
    Ok(())
}

fn create_new(path: &Path) -> Result<BufWriter<File>, String> {
    File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map(|f| BufWriter::with_capacity(1 << 16, f))
        .map_err(|e| format!("cannot create {} (it must not exist): {e}", path.display()))
}

fn generate(out: &Path, pairs_out: &Path, config: GeneratorConfig) -> Result<(), String> {
    let file = create_new(out)?;
    let started = std::time::Instant::now();
    let mut writer = BinaryWriter::new(file, config.start).map_err(|e| e.to_string())?;
    let generated = orion_replay::generate(&config, |e| writer.write_event(e))
        .map_err(|e| format!("writing {}: {e}", out.display()))?;
    let bytes = writer.bytes_written();
    writer.into_inner().map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(&generated).map_err(|e| e.to_string())?;
    let mut pairs_file = create_new(pairs_out)?;
    std::io::Write::write_all(&mut pairs_file, json.as_bytes()).map_err(|e| e.to_string())?;
    println!(
        "wrote {} events for {} pairs ({} bytes, {} real and {} fake planted edges) in {:.1?}",
        generated.events,
        generated.pairs.len(),
        bytes,
        generated.planted.iter().filter(|p| p.real).count(),
        generated.planted.iter().filter(|p| !p.real).count(),
        started.elapsed()
    );
    Ok(())
}

/// Where a replay's pairs come from (`scan`, `run` and `sweep`).
#[derive(Debug, clap::Args)]
pub(crate) struct PairsArgs {
    /// A pairs file: a JSON array of pairs, or the output of `generate`.
    /// Optional when --recording is a directory holding pairs.json (written
    /// there by orion-engine).
    #[arg(long, value_name = "FILE")]
    pairs: Option<PathBuf>,
    /// Keep only the pairs confirmed in this orion-storage database (opened
    /// read-only); each of them must have a spec in the pairs file.
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
}

/// The specs file orion-engine writes in its recording directory.
const RECORDED_PAIRS: &str = "pairs.json";

impl PairsArgs {
    /// The pair specs for a replay of `recording`: from --pairs, else the
    /// recording directory's pairs.json; restricted to --db's confirmed
    /// pairs when given. Notes go to stderr (stdout is the report).
    pub(crate) fn resolve(&self, recording: &Path) -> Result<Vec<PairSpec>, String> {
        let file = match &self.pairs {
            Some(file) => file.clone(),
            None => {
                let recorded = recording.join(RECORDED_PAIRS);
                if !recording.is_dir() || !recorded.is_file() {
                    return Err(format!(
                        "--pairs is required: {} is not a recording directory holding \
                         {RECORDED_PAIRS} (orion-engine writes it next to its recordings)",
                        recording.display()
                    ));
                }
                eprintln!(
                    "using the pair specs recorded with the books: {}",
                    recorded.display()
                );
                recorded
            }
        };
        let pairs = load_pairs(&file)?;
        match &self.db {
            Some(db) => confirmed_only(pairs, &file, db),
            None => Ok(pairs),
        }
    }
}

/// `pairs` restricted to those confirmed in the database at `db`. A
/// confirmed pair without a spec is an error: the replay would otherwise
/// silently leave out a pair the operator approved.
fn confirmed_only(pairs: Vec<PairSpec>, file: &Path, db: &Path) -> Result<Vec<PairSpec>, String> {
    let database = orion_storage::Database::open_read_only(db)
        .map_err(|e| format!("--db {}: {e}", db.display()))?;
    let confirmed: BTreeSet<String> = database
        .pairs(Some(orion_storage::PairStatus::Confirmed))
        .map_err(|e| format!("--db {}: {e}", db.display()))?
        .into_iter()
        .map(|p| p.pair_id)
        .collect();
    if confirmed.is_empty() {
        return Err(format!("--db {}: no confirmed pairs", db.display()));
    }
    let specified: BTreeSet<&str> = pairs.iter().map(|p| &*p.pair_id).collect();
    let missing: Vec<&str> = confirmed
        .iter()
        .map(String::as_str)
        .filter(|id| !specified.contains(id))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "confirmed in {} but without a spec in {}: {} (the engine records the specs it \
             trades in its recording directory's {RECORDED_PAIRS}; or add them to the pairs file)",
            db.display(),
            file.display(),
            missing.join(", ")
        ));
    }
    let (kept, skipped): (Vec<PairSpec>, Vec<PairSpec>) = pairs
        .into_iter()
        .partition(|p| confirmed.contains(&*p.pair_id));
    if !skipped.is_empty() {
        let ids: Vec<&str> = skipped.iter().map(|p| &*p.pair_id).collect();
        eprintln!(
            "note: {} pair spec(s) skipped, not confirmed in {}: {}",
            ids.len(),
            db.display(),
            ids.join(", ")
        );
    }
    Ok(kept)
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum PairsFile {
    List(Vec<PairSpec>),
    Generated { pairs: Vec<PairSpec> },
}

fn load_pairs(path: &Path) -> Result<Vec<PairSpec>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    match serde_json::from_str::<PairsFile>(&text) {
        Ok(PairsFile::List(pairs) | PairsFile::Generated { pairs }) => Ok(pairs),
        Err(e) => Err(format!(
            "{}: not a pairs file (a JSON array of pairs, or generate's output): {e}",
            path.display()
        )),
    }
}

/// Every event of a file or directory, in recording order.
fn events_of(
    path: &Path,
) -> Result<Box<dyn Iterator<Item = Result<orion_core::BookEvent, RecordingError>>>, String> {
    if path.is_dir() {
        let files =
            recording_files(path).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
        if files.is_empty() {
            return Err(format!("{} holds no .orec files", path.display()));
        }
        let mut readers = Vec::new();
        for f in files {
            readers
                .push(BinaryReader::new(open(&f)?).map_err(|e| format!("{}: {e}", f.display()))?);
        }
        return Ok(Box::new(readers.into_iter().flatten()));
    }
    match form_of(path) {
        Some(Form::Jsonl) => Ok(Box::new(JsonlReader::new(open(path)?))),
        _ => Ok(Box::new(
            BinaryReader::new(open(path)?).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
    }
}

/// One reader per binary file of `path` (a file, or a directory's `.orec`
/// files in recording order), with a large buffer: the scan decodes records
/// in place from it.
fn binary_readers(path: &Path) -> Result<Vec<BinaryReader<BufReader<File>>>, String> {
    let files = if path.is_dir() {
        let files =
            recording_files(path).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
        if files.is_empty() {
            return Err(format!("{} holds no .orec files", path.display()));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    files
        .iter()
        .map(|f| {
            let file = File::open(f).map_err(|e| format!("cannot open {}: {e}", f.display()))?;
            BinaryReader::new(BufReader::with_capacity(1 << 20, file))
                .map_err(|e| format!("{}: {e}", f.display()))
        })
        .collect()
}

/// CPU time (user + system) this process has used so far, from
/// `/proc/self/stat`: a throughput figure per CPU-second does not depend on
/// what else the machine is running. Counted in clock ticks, which Linux
/// exports at a fixed 100 per second (USER_HZ); `None` without procfs.
fn cpu_time() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; fields after it are plain.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    // utime and stime are fields 14 and 15: the 12th and 13th after the name.
    let user: u64 = fields.nth(11)?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(std::time::Duration::from_millis(
        user.saturating_add(system).saturating_mul(10),
    ))
}

/// `events / elapsed` in millions per second with two decimals, in integer
/// arithmetic (the workspace forbids floats, even for display figures).
fn millions_per_sec(events: u64, elapsed: std::time::Duration) -> String {
    let micros = u64::try_from(elapsed.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    let per_sec = u128::from(events) * 1_000_000 / u128::from(micros);
    format!("{}.{:02}", per_sec / 1_000_000, per_sec / 10_000 % 100)
}

fn scan(
    recording: &Path,
    pairs: &PairsArgs,
    config: Option<&Path>,
    out: Option<&Path>,
) -> Result<(), String> {
    let config = match config {
        Some(path) => orion_config::Config::load(path).map_err(|e| e.to_string())?,
        None => orion_config::Config::defaults(),
    };
    let pairs = pairs.resolve(recording)?;
    let detection = DetectionParams {
        min_edge: config.detection.min_edge,
        min_edge_beyond_horizon: config.detection.min_edge_beyond_horizon,
        horizon_days: config.detection.horizon_days,
        min_profit: config.detection.min_profit,
        slippage: config.detection.slippage,
        max_size: orion_core::Quantity::MAX,
    };
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {human_pos} events  {per_sec}  {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let max_age_kalshi = std::time::Duration::from_millis(config.kalshi.max_book_age_ms);
    let max_age_polymarket = std::time::Duration::from_millis(config.polymarket.max_book_age_ms);
    let label = |e: RecordingError| format!("{}: {e}", recording.display());
    let binary = recording.is_dir() || !matches!(form_of(recording), Some(Form::Jsonl));
    let started = std::time::Instant::now();
    let cpu_started = cpu_time();
    let report = if binary {
        // Binary recordings are read in place (the fast path); the report
        // is the same as replaying them as events.
        orion_replay::scan_binary(
            binary_readers(recording)?,
            pairs,
            detection,
            max_age_kalshi,
            max_age_polymarket,
            |n| progress.set_position(n),
        )
        .map_err(label)?
    } else {
        orion_replay::scan_with(
            events_of(recording)?,
            pairs,
            detection,
            max_age_kalshi,
            max_age_polymarket,
            |n| progress.set_position(n),
        )
        .map_err(label)?
    };
    let cpu = cpu_time()
        .zip(cpu_started)
        .map(|(end, start)| end.saturating_sub(start));
    progress.finish_and_clear();
    let elapsed = started.elapsed();
    match out {
        Some(path) => {
            let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
            std::fs::write(path, json)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        None => {
            println!("events:        {}", report.events);
            println!("evaluations:   {}", report.evaluations);
            println!(
                "detections:    {} in {} episodes",
                report.detections, report.episodes
            );
            println!(
                "suspensions:   {}  resyncs: {}",
                report.suspensions, report.resyncs
            );
            for (pair, f) in &report.pairs {
                println!(
                    "  {pair}: {} episodes, best net profit {}, best edge {}",
                    f.episodes, f.best_net_profit, f.best_average_edge
                );
            }
        }
    }
    println!(
        "throughput:    {} events in {:.2?} wall ({} M events/s)",
        report.events,
        elapsed,
        millions_per_sec(report.events, elapsed)
    );
    match cpu {
        // The CPU clock counts in 10 ms ticks: below a second the figure
        // would mostly be rounding.
        Some(cpu) if cpu >= std::time::Duration::from_secs(1) => println!(
            "               {:.2?} CPU ({} M events per CPU-second)",
            cpu,
            millions_per_sec(report.events, cpu)
        ),
        Some(cpu) => println!(
            "               {cpu:.2?} CPU (too short for a per-CPU-second figure: 10 ms clock)"
        ),
        None => println!("               CPU time unavailable (no /proc/self/stat)"),
    }
    Ok(())
}
