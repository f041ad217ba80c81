//! The backtest report: summary statistics, the printed summary, trades.csv,
//! a self-contained report.html with plots, and parameter-sweep tables, all
//! computed from one [`BacktestRun`] and formatted deterministically (no
//! generation timestamps, stable ordering, fixed decimals) so two runs of the
//! same inputs produce byte-identical files.

pub mod csv;
pub mod html;
pub mod model;
pub mod stats;
pub mod sweep;
pub mod text;

pub use model::{BacktestRun, TradeRecord};
pub use stats::Summary;
pub use sweep::SweepRow;

use std::path::{Path, PathBuf};

/// Writing the report's files failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct ReportError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The file names [`write_report`] writes in its directory.
pub const SUMMARY_FILE: &str = "summary.txt";
pub const TRADES_FILE: &str = "trades.csv";
pub const HTML_FILE: &str = "report.html";

/// Computes the summary of `run` and writes summary.txt, trades.csv and
/// report.html into `dir` (created if missing). Returns the summary so the
/// caller can print it.
pub fn write_report(dir: &Path, run: &BacktestRun) -> Result<Summary, ReportError> {
    let summary = Summary::from_run(run);
    std::fs::create_dir_all(dir).map_err(|source| ReportError {
        path: dir.to_owned(),
        source,
    })?;
    let files = [
        (SUMMARY_FILE, text::render(&summary)),
        (TRADES_FILE, csv::trades_csv(run)),
        (HTML_FILE, html::render(run, &summary)),
    ];
    for (name, contents) in files {
        let path = dir.join(name);
        std::fs::write(&path, contents).map_err(|source| ReportError { path, source })?;
    }
    Ok(summary)
}

/// Writes a sweep's results as sweep.txt, sweep.csv and sweep.html in `dir`.
pub fn write_sweep(dir: &Path, title: &str, rows: &[SweepRow]) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError {
        path: dir.to_owned(),
        source,
    })?;
    let files = [
        ("sweep.txt", sweep::text_table(rows)),
        ("sweep.csv", sweep::csv(rows)),
        ("sweep.html", sweep::html_page(title, rows)),
    ];
    for (name, contents) in files {
        let path = dir.join(name);
        std::fs::write(&path, contents).map_err(|source| ReportError { path, source })?;
    }
    Ok(())
}
