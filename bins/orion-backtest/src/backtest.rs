//! `run` and `sweep`: backtests that trade, through `orion_replay::backtest`,
//! with reports written by `orion_replay::report`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use orion_core::{Cash, Fraction, PriceGrid};
use orion_matching::detection::PairSpec;
use orion_recording::{BinaryReader, JsonlReader, recording_files};
use orion_replay::backtest::sweep::{grid_points, parse_latency};
use orion_replay::backtest::{
    BacktestSettings, parse_grid, run_backtest, run_backtest_binary, run_grid,
};
use orion_replay::report::{self, BacktestRun, Summary, SweepRow};

/// Options shared by `run` and `sweep`.
#[derive(Debug, Args)]
pub struct Common {
    /// A recording (.orec or .jsonl) or a directory of .orec files.
    #[arg(long, value_name = "PATH")]
    recording: PathBuf,
    #[command(flatten)]
    pairs: super::PairsArgs,
    /// Engine configuration: detection, staleness, risk and execution settings.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Seeds venue behaviour (latency jitter, partial fills, rejections).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Kalshi latency in ms, optionally with uniform jitter: 50 or 50:20.
    #[arg(long, value_name = "MS[:JITTER]", default_value = "50")]
    kalshi_latency_ms: String,
    /// Polymarket latency in ms, optionally with uniform jitter.
    #[arg(long, value_name = "MS[:JITTER]", default_value = "100")]
    polymarket_latency_ms: String,
    /// Probability that others take part of the liquidity just before an order lands.
    #[arg(long, value_name = "P", default_value = "0")]
    partial_fill_prob: String,
    /// Probability that a venue refuses an order.
    #[arg(long, value_name = "P", default_value = "0")]
    reject_prob: String,
    /// Kalshi's price grid for order prices: deci_cent (accepts every
    /// 0.001 price), tapered_deci_cent or linear_cent.
    #[arg(long, value_name = "GRID", default_value = "deci_cent")]
    kalshi_grid: String,
    /// Starting cash on each venue, in dollars.
    #[arg(long, value_name = "USD", default_value = "10000")]
    balance: String,
    /// Where to write the report (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    common: Common,
    /// The grid: `name=v1,v2;name=v1,…` (min_edge, min_profit, slippage,
    /// max_trade_fraction, reserve_fraction, leg_timeout_ms,
    /// kalshi_latency_ms, polymarket_latency_ms, partial_fill_prob,
    /// reject_prob, seed).
    #[arg(long)]
    grid: String,
    /// Runs at once (default: the number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
}

/// Counts the bytes read from a file, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read
            .fetch_add(u64::try_from(n).unwrap_or(0), Ordering::Relaxed);
        Ok(n)
    }
}

/// The recording, opened for a run: JSON Lines read event by event, or
/// binary files read in place (the scan's fast path).
enum Source {
    Jsonl(JsonlReader<BufReader<Counting<File>>>),
    Binary(Vec<BinaryReader<BufReader<Counting<File>>>>),
}

/// The recording's files in order, and their total size.
fn files_of(path: &Path) -> Result<(Vec<PathBuf>, u64), String> {
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
    let mut total = 0u64;
    for f in &files {
        let meta = std::fs::metadata(f).map_err(|e| format!("cannot open {}: {e}", f.display()))?;
        total = total.saturating_add(meta.len());
    }
    Ok((files, total))
}

/// Opens the recording, counting the bytes read into `read`.
fn open_source(path: &Path, read: &Arc<AtomicU64>) -> Result<Source, String> {
    let (files, _) = files_of(path)?;
    let jsonl = !path.is_dir() && matches!(super::form_of(path), Some(super::Form::Jsonl));
    let open = |f: &Path| -> Result<BufReader<Counting<File>>, String> {
        let file = File::open(f).map_err(|e| format!("cannot open {}: {e}", f.display()))?;
        Ok(BufReader::with_capacity(
            1 << 20,
            Counting {
                inner: file,
                read: read.clone(),
            },
        ))
    };
    if jsonl {
        return Ok(Source::Jsonl(JsonlReader::new(open(path)?)));
    }
    let mut readers = Vec::new();
    for f in &files {
        readers.push(BinaryReader::new(open(f)?).map_err(|e| format!("{}: {e}", f.display()))?);
    }
    Ok(Source::Binary(readers))
}

fn settings(common: &Common) -> Result<BacktestSettings, String> {
    let config = match &common.config {
        Some(path) => orion_config::Config::load(path).map_err(|e| e.to_string())?,
        None => orion_config::Config::defaults(),
    };
    let mut s = BacktestSettings::from_config(&config);
    s.seed = common.seed;
    (s.kalshi.latency, s.kalshi.jitter) = parse_latency(&common.kalshi_latency_ms)
        .map_err(|e| format!("--kalshi-latency-ms: {e}"))?;
    (s.polymarket.latency, s.polymarket.jitter) = parse_latency(&common.polymarket_latency_ms)
        .map_err(|e| format!("--polymarket-latency-ms: {e}"))?;
    let prob = |flag: &str, text: &str| {
        Fraction::parse(text).map_err(|e| format!("{flag} {text}: {e} (a probability in 0..=1)"))
    };
    let partial = prob("--partial-fill-prob", &common.partial_fill_prob)?;
    let reject = prob("--reject-prob", &common.reject_prob)?;
    s.kalshi.partial_fill = partial;
    s.polymarket.partial_fill = partial;
    s.kalshi.reject = reject;
    s.polymarket.reject = reject;
    s.kalshi_grid = match common.kalshi_grid.as_str() {
        "deci_cent" => PriceGrid::kalshi_deci_cent(),
        "tapered_deci_cent" => PriceGrid::kalshi_tapered_deci_cent(),
        "linear_cent" => PriceGrid::kalshi_linear_cent(),
        other => {
            return Err(format!(
                "--kalshi-grid {other}: one of deci_cent, tapered_deci_cent, linear_cent"
            ));
        }
    };
    let balance =
        Cash::parse(&common.balance).map_err(|e| format!("--balance {}: {e}", common.balance))?;
    if balance <= Cash::ZERO {
        return Err(format!("--balance {}: must be positive", common.balance));
    }
    s.starting_balance_kalshi = balance;
    s.starting_balance_polymarket = balance;
    s.label = common
        .recording
        .file_name()
        .map_or_else(|| "backtest".into(), |n| n.to_string_lossy().into_owned());
    Ok(s)
}

/// `events / elapsed` in thousands per second, in integer arithmetic (the
/// workspace forbids floats, even for display figures).
fn per_second(events: u64, elapsed: Duration) -> u64 {
    let micros = u64::try_from(elapsed.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    u64::try_from(u128::from(events) * 1_000_000 / u128::from(micros)).unwrap_or(u64::MAX)
}

fn bar(total_bytes: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    // Drawn on stderr, and only when it is a terminal.
    let bar = indicatif::ProgressBar::new(total_bytes);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {percent:>3}%  {msg}  elapsed {elapsed}  ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// One run over the recording.
fn run_once(
    common: &Common,
    pairs: Vec<PairSpec>,
    settings: &BacktestSettings,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(BacktestRun, Duration), String> {
    let read = Arc::new(AtomicU64::new(0));
    let source = open_source(&common.recording, &read)?;
    let started = Instant::now();
    let report = |n: u64| {
        if let Some(bar) = progress {
            bar.set_position(read.load(Ordering::Relaxed));
            bar.set_message(format!(
                "{n} events, {} events/s",
                per_second(n, started.elapsed())
            ));
        }
    };
    let label = |e: String| format!("{}: {e}", common.recording.display());
    let run = match source {
        Source::Jsonl(events) => {
            run_backtest(events, pairs, settings, report).map_err(|e| label(e.to_string()))?
        }
        Source::Binary(readers) => run_backtest_binary(readers, pairs, settings, report)
            .map_err(|e| label(e.to_string()))?,
    };
    Ok((run, started.elapsed()))
}

pub fn run(args: &RunArgs) -> Result<(), String> {
    let common = &args.common;
    let settings = settings(common)?;
    let pairs = common.pairs.resolve(&common.recording)?;
    let (_, total) = files_of(&common.recording)?;
    let progress = bar(total, common.quiet);
    let (run, elapsed) = run_once(common, pairs, &settings, Some(&progress))?;
    progress.finish_and_clear();
    let summary = report::write_report(&common.out, &run).map_err(|e| e.to_string())?;
    print!("{}", report::text::render(&summary));
    println!(
        "wrote {}, {} and {} in {}",
        report::SUMMARY_FILE,
        report::TRADES_FILE,
        report::HTML_FILE,
        common.out.display()
    );
    // Throughput is wall-clock: printed, never written to the report.
    println!(
        "throughput: {} events in {:.2?} ({} events/s)",
        run.events,
        elapsed,
        per_second(run.events, elapsed)
    );
    Ok(())
}

pub fn sweep(args: &SweepArgs) -> Result<(), String> {
    let common = &args.common;
    let base = settings(common)?;
    let pairs = common.pairs.resolve(&common.recording)?;
    let axes = parse_grid(&args.grid, &base).map_err(|e| format!("--grid: {e}"))?;
    let points = grid_points(&axes);
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let (_, total) = files_of(&common.recording)?;
    let progress = bar(
        total.saturating_mul(u64::try_from(points.len()).unwrap_or(u64::MAX)),
        common.quiet,
    );
    let done_bytes = AtomicU64::new(0);
    let started = Instant::now();
    let runs = run_grid(&base, &points, threads, |settings| {
        let (run, _) = run_once(common, pairs.clone(), &settings, None)?;
        let done = done_bytes.fetch_add(total, Ordering::Relaxed) + total;
        progress.set_position(done);
        progress.set_message(format!("run {} of {}", done / total.max(1), points.len()));
        Ok(run)
    })?;
    progress.finish_and_clear();
    let elapsed = started.elapsed();
    let rows: Vec<SweepRow> = points
        .iter()
        .zip(&runs)
        .map(|(params, run)| SweepRow {
            params: params.clone(),
            summary: Summary::from_run(run),
        })
        .collect();
    let title = format!("Sweep over {}", common.recording.display());
    report::write_sweep(&common.out, &title, &rows).map_err(|e| e.to_string())?;
    print!("{}", report::sweep::text_table(&rows));
    println!(
        "wrote sweep.txt, sweep.csv and sweep.html in {}",
        common.out.display()
    );
    let events: u64 = runs.iter().map(|r| r.events).sum();
    println!(
        "throughput: {} runs, {} events in {:.2?} on {} threads ({} events/s)",
        runs.len(),
        events,
        elapsed,
        threads.min(runs.len()).max(1),
        per_second(events, elapsed)
    );
    Ok(())
}
