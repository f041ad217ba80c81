//! `orion-backtest`: replays recorded books through the engine's own code.
//! Thin: parses the command line and calls the library crates.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use orion_core::{BookEventKind, Clock, SystemClock, Timestamp};
use orion_recording::{
    BinaryReader, JsonlReader, RecordingError, binary_to_jsonl, jsonl_to_binary,
};

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
