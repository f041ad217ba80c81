//! The shipped example configuration documents the whole schema and is valid.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::path::PathBuf;

use orion_config::Config;

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn lookup<'a>(table: &'a toml::Table, dotted: &str) -> Option<&'a toml::Value> {
    let mut parts = dotted.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(value)
}

#[test]
fn example_is_valid_and_equals_the_defaults() {
    let config =
        Config::load(&repo_file("config/orion.example.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config,
        Config::defaults(),
        "the example must show every default exactly"
    );
}

#[test]
fn example_documents_every_key() {
    let text = std::fs::read_to_string(repo_file("config/orion.example.toml")).unwrap();
    let table: toml::Table = text.parse().unwrap();
    let missing: Vec<String> = Config::schema_keys()
        .into_iter()
        .filter(|k| lookup(&table, k).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "keys missing from the example: {missing:?}"
    );
}

#[test]
fn three_mistakes_give_three_problems() {
    let err = Config::load(&repo_file(
        "crates/orion-config/tests/fixtures/three_mistakes.toml",
    ))
    .unwrap_err();
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "engine.mode",
            "risk.max_open_positions",
            "detection.min_edgee"
        ],
        "{err}"
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let err = Config::load(&repo_file("config/does-not-exist.toml")).unwrap_err();
    assert!(err.to_string().contains("cannot read the file"), "{err}");
}

/// Every metric the shipped Grafana dashboard and Prometheus alert rules use
/// is one the code exports (a renamed metric must not silently blank a panel
/// or disarm an alert).
#[test]
fn monitoring_files_use_exported_metrics() {
    let mut sources = String::new();
    let mut stack = vec![repo_file("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.components().any(|c| c.as_os_str() == "src")
            {
                sources.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let dashboard =
        std::fs::read_to_string(repo_file("config/monitoring/grafana-dashboard.json")).unwrap();
    let _: serde_json::Value =
        serde_json::from_str(&dashboard).expect("the dashboard is valid JSON");
    let alerts =
        std::fs::read_to_string(repo_file("config/monitoring/prometheus-alerts.yml")).unwrap();
    let mut checked = 0;
    for text in [&dashboard, &alerts] {
        for (start, _) in text.match_indices("orion_") {
            let name: String = text[start..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(&name);
            if base.starts_with("orion_engine") {
                continue; // the scrape job's name, not a metric
            }
            assert!(
                sources.contains(&format!("\"{base}\"")),
                "{base} is not exported by any crate"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} metric references found");
}

#[path = "example/bad_input.rs"]
mod bad_input;
