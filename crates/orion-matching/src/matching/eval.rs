//! Precision and recall of proposals against labelled pairs.
//!
//! Scoring follows the evaluation set's README: a proposal that hits an
//! `equivalent` label with the right Polymarket outcome for Kalshi YES is a
//! true positive; one that hits it with the wrong outcome is an orientation
//! error (a guaranteed loss if traded, so it counts against precision); one
//! that hits a `not_equivalent` label is a false positive; a proposal that
//! hits no label is unknown and not counted.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::catalog::CatalogError;
use super::matcher::Proposal;

/// One labelled pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub kalshi_ticker: String,
    pub polymarket_id: String,
    pub equivalent: bool,
    /// Polymarket outcome index that pays when Kalshi YES pays.
    pub poly_outcome_index: Option<u8>,
    pub poly_token_id: Option<String>,
    pub reason: Option<String>,
    pub flags: Vec<String>,
}

/// Labels from JSON Lines (the `labels.jsonl` format) or a JSON array.
pub fn parse_labels(text: &str) -> Result<Vec<Label>, CatalogError> {
    let trimmed = text.trim();
    let values: Vec<Value> = if trimmed.starts_with('[') {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Array(v)) => v,
            Ok(_) => return Err(CatalogError::Shape("expected an array of labels")),
            Err(e) => return Err(CatalogError::Syntax(e.to_string())),
        }
    } else {
        let mut v = Vec::new();
        for (n, line) in trimmed.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            v.push(serde_json::from_str(line).map_err(|e| CatalogError::Line {
                line: n + 1,
                message: e.to_string(),
            })?);
        }
        v
    };
    values
        .iter()
        .enumerate()
        .map(|(n, v)| {
            let err = |field: &'static str, message: &str| CatalogError::Field {
                record: n,
                field,
                message: message.to_owned(),
            };
            let s = |field: &'static str| -> Result<String, CatalogError> {
                v.get(field)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| err(field, "missing or not a string"))
            };
            let label = s("label")?;
            let equivalent = match label.as_str() {
                "equivalent" => true,
                "not_equivalent" => false,
                _ => return Err(err("label", "expected equivalent or not_equivalent")),
            };
            let orientation = v.get("orientation");
            let poly_outcome_index = orientation
                .and_then(|o| o.get("poly_outcome_index"))
                .and_then(Value::as_u64)
                .and_then(|i| u8::try_from(i).ok());
            let poly_token_id = orientation
                .and_then(|o| o.get("poly_token_id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let flags = v
                .get("flags")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            Ok(Label {
                kalshi_ticker: s("kalshi_ticker")?,
                polymarket_id: s("polymarket_id")?,
                equivalent,
                poly_outcome_index,
                poly_token_id,
                reason: v.get("reason").and_then(Value::as_str).map(str::to_owned),
                flags,
            })
        })
        .collect()
}

/// Evaluation result.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Evaluation {
    pub labels: usize,
    pub equivalent_labels: usize,
    pub proposals: usize,
    /// Proposals that hit a label.
    pub proposals_labelled: usize,
    pub true_positives: usize,
    pub orientation_errors: usize,
    pub false_positives: usize,
    /// True positives whose label gives no outcome index or token to check.
    pub orientation_unverified: usize,
    /// Precision over labelled proposals, basis points.
    pub precision_bps: u32,
    /// Recall over equivalent labels, basis points.
    pub recall_bps: u32,
    /// reason (or "equivalent") -> (proposed, labelled)
    pub by_reason: BTreeMap<String, (usize, usize)>,
    /// flag -> (proposed, labelled)
    pub by_flag: BTreeMap<String, (usize, usize)>,
    pub wrong: Vec<String>,
    pub missed: Vec<String>,
}

impl Evaluation {
    /// "0.9876" from basis points.
    pub fn ratio(bps: u32) -> String {
        format!("{}.{:04}", bps / 10_000, bps % 10_000)
    }
}

fn bps(num: usize, den: usize) -> u32 {
    if den == 0 {
        return 0;
    }
    u32::try_from(num.saturating_mul(10_000) / den).unwrap_or(u32::MAX)
}

/// Scores proposals against labels.
pub fn evaluate(labels: &[Label], proposals: &[Proposal]) -> Evaluation {
    let mut ev = Evaluation {
        labels: labels.len(),
        equivalent_labels: labels.iter().filter(|l| l.equivalent).count(),
        proposals: proposals.len(),
        ..Evaluation::default()
    };
    let by_pair: HashMap<(&str, &str), &Proposal> = proposals
        .iter()
        .map(|p| ((&*p.kalshi.symbol, &*p.polymarket.symbol), p))
        .collect();
    let mut hit = 0usize;
    for l in labels {
        let key = l.reason.clone().unwrap_or_else(|| "equivalent".to_owned());
        let proposed = by_pair.get(&(l.kalshi_ticker.as_str(), l.polymarket_id.as_str()));
        let e = ev.by_reason.entry(key).or_default();
        e.1 += 1;
        if proposed.is_some() {
            e.0 += 1;
        }
        for f in &l.flags {
            let e = ev.by_flag.entry(f.clone()).or_default();
            e.1 += 1;
            if proposed.is_some() {
                e.0 += 1;
            }
        }
        let Some(p) = proposed else {
            if l.equivalent {
                ev.missed
                    .push(format!("{} ~ {}", l.kalshi_ticker, l.polymarket_id));
            }
            continue;
        };
        hit += 1;
        if !l.equivalent {
            ev.false_positives += 1;
            ev.wrong.push(format!(
                "{} ~ {}: labelled {}",
                l.kalshi_ticker,
                l.polymarket_id,
                l.reason.as_deref().unwrap_or("not_equivalent")
            ));
            continue;
        }
        let orientation_ok = match (l.poly_outcome_index, &l.poly_token_id) {
            (Some(i), _) => p.kalshi_yes.outcome_index.map(|x| x == i),
            (None, Some(t)) => p
                .kalshi_yes
                .token
                .as_ref()
                .map(|x| &*x.symbol == t.as_str()),
            (None, None) => None,
        };
        match orientation_ok {
            Some(true) => ev.true_positives += 1,
            Some(false) => {
                ev.orientation_errors += 1;
                ev.wrong.push(format!(
                    "{} ~ {}: orientation error",
                    l.kalshi_ticker, l.polymarket_id
                ));
            }
            None => {
                ev.true_positives += 1;
                ev.orientation_unverified += 1;
            }
        }
    }
    ev.proposals_labelled = hit;
    ev.precision_bps = bps(ev.true_positives, hit);
    ev.recall_bps = bps(ev.true_positives, ev.equivalent_labels);
    ev
}

/// A human-readable report.
pub fn render(ev: &Evaluation) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "labels {} ({} equivalent); proposals {} ({} hit a label)\n",
        ev.labels, ev.equivalent_labels, ev.proposals, ev.proposals_labelled
    ));
    s.push_str(&format!(
        "precision {}  recall {}  (true positives {}, false positives {}, orientation errors {}, orientation unverified {})\n",
        Evaluation::ratio(ev.precision_bps),
        Evaluation::ratio(ev.recall_bps),
        ev.true_positives,
        ev.false_positives,
        ev.orientation_errors,
        ev.orientation_unverified
    ));
    s.push_str("per label class (proposed / labelled):\n");
    for (k, (p, n)) in &ev.by_reason {
        s.push_str(&format!("  {k}: {p} / {n}\n"));
    }
    if !ev.by_flag.is_empty() {
        s.push_str("per label flag (proposed / labelled):\n");
        for (k, (p, n)) in &ev.by_flag {
            s.push_str(&format!("  {k}: {p} / {n}\n"));
        }
    }
    for w in &ev.wrong {
        s.push_str(&format!("WRONG {w}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_and_reject_bad_records() {
        let l = r#"{"kalshi_ticker":"K","polymarket_id":"P","label":"equivalent","orientation":{"poly_outcome_index":1},"reason":null,"flags":["x"]}"#;
        let v = parse_labels(l).unwrap_or_default();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].poly_outcome_index, Some(1));
        assert!(
            parse_labels(r#"{"kalshi_ticker":"K","polymarket_id":"P","label":"maybe"}"#).is_err()
        );
        assert!(parse_labels("{").is_err());
    }

    #[test]
    fn empty_sets_score_zero_not_nan() {
        let ev = evaluate(&[], &[]);
        assert_eq!((ev.precision_bps, ev.recall_bps), (0, 0));
        assert_eq!(Evaluation::ratio(9_512), "0.9512");
    }
}
