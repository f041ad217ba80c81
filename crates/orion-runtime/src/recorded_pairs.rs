//! The pair specifications the engine trades, written next to its
//! recordings as `pairs.json`, so `orion-backtest` can replay a recording
//! directory without a hand-made pairs file: the specs carry what stored
//! pairs lack (fees, tick, minimum size, resolution time), which the
//! engine only learns from the venues at start-up.
//!
//! The file is a JSON array of `PairSpec` ordered by pair id. Each start-up
//! merges its pairs into the existing file (its own specs replace stored
//! ones of the same id; pairs no longer loaded are kept, because older
//! recording files in the directory still hold their books). It is
//! replaced atomically: written to a temporary file, synced, renamed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use orion_matching::detection::PairSpec;

/// The file's name inside the recording directory.
pub const PAIRS_FILE: &str = "pairs.json";

/// Merges `pairs` into `<dir>/pairs.json` and returns the file's path and
/// how many pairs it now holds. An existing file that does not decode is an
/// error (it is left alone rather than overwritten: it may hold the only
/// specs of older recordings).
pub fn write_pairs(dir: &Path, pairs: &[PairSpec]) -> Result<(PathBuf, usize), String> {
    let path = dir.join(PAIRS_FILE);
    let mut merged: BTreeMap<String, PairSpec> = BTreeMap::new();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let old: Vec<PairSpec> = serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{}: not a JSON array of pair specs ({e}); left unchanged",
                    path.display()
                )
            })?;
            for spec in old {
                merged.insert(spec.pair_id.to_string(), spec);
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    for spec in pairs {
        merged.insert(spec.pair_id.to_string(), spec.clone());
    }
    let list: Vec<&PairSpec> = merged.values().collect();
    let json = serde_json::to_vec_pretty(&list)
        .map_err(|e| format!("cannot encode the pair specs: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".{PAIRS_FILE}.tmp"));
    let written = replace(dir, &tmp, &path, &json);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok((path, list.len()))
}

/// Writes `bytes` to `tmp`, syncs it and renames it over `path`.
fn replace(dir: &Path, tmp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(tmp)?;
    file.write_all(bytes)?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(tmp, path)?;
    // The rename is durable once the directory entry is.
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn specs(n: usize) -> Vec<PairSpec> {
        let config = orion_replay::GeneratorConfig {
            pairs: n,
            events: 10,
            planted: 0,
            fake: 0,
            ..orion_replay::GeneratorConfig::default()
        };
        orion_replay::generate(&config, |_| Ok::<(), ()>(()))
            .unwrap()
            .pairs
    }

    fn read(path: &Path) -> Vec<PairSpec> {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn merges_by_pair_id_keeping_unloaded_pairs_and_preferring_the_new_spec() {
        let dir = tempfile::tempdir().unwrap();
        let all = specs(3);
        let (path, n) = write_pairs(dir.path(), &all[..2]).unwrap();
        assert_eq!(n, 2);
        assert_eq!(read(&path), all[..2].to_vec());

        // A later start-up loads pair 1 (changed) and pair 2, not pair 0.
        let mut changed = all[1].clone();
        changed.inverted = !changed.inverted;
        let (_, n) = write_pairs(dir.path(), &[changed.clone(), all[2].clone()]).unwrap();
        assert_eq!(n, 3);
        let stored = read(&path);
        assert_eq!(stored, vec![all[0].clone(), changed, all[2].clone()]);
        assert!(!dir.path().join(format!(".{PAIRS_FILE}.tmp")).exists());
    }

    #[test]
    fn an_undecodable_file_is_an_error_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PAIRS_FILE);
        std::fs::write(&path, "not json").unwrap();
        let e = write_pairs(dir.path(), &specs(1)).unwrap_err();
        assert!(e.contains("pairs.json"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json");
    }
}
