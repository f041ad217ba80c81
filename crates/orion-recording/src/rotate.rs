//! Rotating recording files, as the engine writes them.
//!
//! Files are named `PREFIX-YYYYMMDDTHHMMSSZ.orec` after the receive time of
//! their first event (a counter is appended on collision) so a directory
//! sorts into recording order. A file is closed — flushed and synced — when
//! it reaches the size limit or its first event is older than the age limit;
//! time comes from the events, never from the wall clock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Duration;

use orion_core::time_fmt::civil_from_days;
use orion_core::{BookEvent, Timestamp};

use crate::binary::BinaryWriter;

/// When to start a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    pub max_bytes: u64,
    pub max_age: Duration,
}

#[derive(Debug)]
struct OpenFile {
    path: PathBuf,
    writer: BinaryWriter<BufWriter<File>>,
    started: Timestamp,
}

/// Writes events into a directory of rotating `.orec` files.
#[derive(Debug)]
pub struct RotatingRecorder {
    dir: PathBuf,
    prefix: String,
    policy: RotationPolicy,
    current: Option<OpenFile>,
    closed: Vec<PathBuf>,
}

fn stamp(t: Timestamp) -> String {
    let secs = t.secs();
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl RotatingRecorder {
    /// Creates the directory if needed.
    pub fn new(dir: &Path, prefix: &str, policy: RotationPolicy) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(RotatingRecorder {
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            policy,
            current: None,
            closed: Vec::new(),
        })
    }

    /// Files finished so far, oldest first.
    pub fn closed_files(&self) -> &[PathBuf] {
        &self.closed
    }

    /// The file being written, if any.
    pub fn current_file(&self) -> Option<&Path> {
        self.current.as_ref().map(|f| f.path.as_path())
    }

    pub fn record(&mut self, event: &BookEvent) -> io::Result<()> {
        let now = event.received_at;
        let rotate = match &self.current {
            None => false,
            Some(f) => {
                f.writer.bytes_written() >= self.policy.max_bytes
                    || now.since(f.started) >= self.policy.max_age
            }
        };
        if rotate {
            self.close_current()?;
        }
        if self.current.is_none() {
            self.open(now)?;
        }
        match &mut self.current {
            Some(f) => f.writer.write_event(event),
            None => Err(io::Error::other("recording file could not be opened")),
        }
    }

    fn open(&mut self, now: Timestamp) -> io::Result<()> {
        let base = format!("{}-{}", self.prefix, stamp(now));
        for n in 0..10_000u32 {
            let name = if n == 0 {
                format!("{base}.orec")
            } else {
                format!("{base}-{n}.orec")
            };
            let path = self.dir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    let writer = BinaryWriter::new(BufWriter::with_capacity(1 << 16, file), now)?;
                    self.current = Some(OpenFile {
                        path,
                        writer,
                        started: now,
                    });
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(
            "too many recording files with the same timestamp",
        ))
    }

    fn close_current(&mut self) -> io::Result<()> {
        if let Some(f) = self.current.take() {
            let buffered = f.writer.into_inner()?;
            let file = buffered.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            self.closed.push(f.path);
        }
        Ok(())
    }

    /// Flushes buffered events to the operating system (not a sync).
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.current {
            Some(f) => f.writer.flush(),
            None => Ok(()),
        }
    }

    /// Closes the current file, synced.
    pub fn finish(mut self) -> io::Result<Vec<PathBuf>> {
        self.close_current()?;
        Ok(self.closed)
    }
}

/// The `.orec` files of a directory in recording order.
pub fn recording_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "orec"))
        .collect();
    files.sort();
    Ok(files)
}
