//! Deterministic fault injection.
//!
//! A rule matches requests by venue and endpoint and fires on a schedule
//! (`after`, `count`) and with a probability drawn from a ChaCha stream
//! seeded by the scenario, so the same scenario and the same request order
//! give the same faults on every run.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::scenario::VenueName;

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// HTTP 429 with the venue's body.
    RateLimit,
    /// HTTP 5xx (`status`, default 500) with the venue's error body.
    ServerError,
    /// Delay the answer by `latency_ms`, then answer normally.
    Latency,
    /// Accept the request and never answer.
    Timeout,
    /// Close the connection without answering.
    Drop,
    /// Let an order fill at most `fill_percent` of its size; the rest follows its time in force.
    PartialFill,
    /// Refuse an order with the venue's business error (`message` optional).
    Reject,
    /// The venue goes away for `duration_ms`: the listener closes (connection refused), then comes back on the same port.
    Down,
    /// Skip one WebSocket sequence number (Kalshi `seq` jumps by 2).
    WsGap,
    /// Close the WebSocket connection.
    WsDisconnect,
    /// Send `message` (default: a truncated JSON object) as an extra text
    /// frame before the next outgoing messages; it takes no sequence number.
    WsRawFrame,
    /// Send one text frame of [`OVERSIZED_FRAME_BYTES`] before the next
    /// outgoing messages: over Orion's 16 MiB limit, so a correct client
    /// drops the connection.
    WsOversizedFrame,
    /// Send the next order-book update twice (Kalshi: the same `seq` again;
    /// Polymarket: the same `price_change`).
    WsDuplicateSeq,
    /// Hold the next order-book update back and send it after the one that
    /// follows (Kalshi: `seq` n+1 arrives before n).
    WsOutOfOrder,
}

/// Size of the [`FaultKind::WsOversizedFrame`] frame: one byte over 16 MiB.
pub const OVERSIZED_FRAME_BYTES: usize = (16 << 20) + 1;

/// The extra frame [`FaultKind::WsRawFrame`] sends without a `message`.
pub const DEFAULT_RAW_FRAME: &str = r#"{"type":"orderbook_delta","msg":{"market_ticker""#;

/// One fault rule, as written in a scenario or posted to `/_sim/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub venue: VenueName,
    /// `"METHOD /path"`, `"/path"` (any method), a prefix ending in `*`, or `"*"`.
    /// For `ws_gap`/`ws_disconnect` use the WebSocket path (e.g. `/trade-api/ws/v2`).
    #[serde(default = "any_endpoint")]
    pub endpoint: String,
    pub kind: FaultKind,
    /// Let this many matching requests through before the rule can fire.
    #[serde(default)]
    pub after: u64,
    /// Fire at most this many times; absent = no limit.
    pub count: Option<u64>,
    /// Chance of firing per matching request, in parts per million (default: always).
    #[serde(default = "always")]
    pub probability_ppm: u32,
    pub latency_ms: Option<u64>,
    pub status: Option<u16>,
    pub fill_percent: Option<u32>,
    pub duration_ms: Option<u64>,
    pub message: Option<String>,
}

fn any_endpoint() -> String {
    "*".into()
}
fn always() -> u32 {
    1_000_000
}

impl FaultSpec {
    pub fn check(&self) -> Result<(), String> {
        if self.probability_ppm > 1_000_000 {
            return Err(format!(
                "fault {:?}: probability_ppm above 1000000",
                self.kind
            ));
        }
        match self.kind {
            FaultKind::Latency if self.latency_ms.is_none() => {
                Err("latency fault needs latency_ms".into())
            }
            FaultKind::Down if self.duration_ms.is_none() => {
                Err("down fault needs duration_ms".into())
            }
            FaultKind::PartialFill if self.fill_percent.is_none_or(|p| p > 100) => {
                Err("partial_fill fault needs fill_percent 0..=100".into())
            }
            FaultKind::ServerError if self.status.is_some_and(|s| !(500..=599).contains(&s)) => {
                Err("server_error status must be 5xx".into())
            }
            _ => Ok(()),
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        let pattern = self.endpoint.trim();
        if pattern == "*" {
            return true;
        }
        let (m, p) = match pattern.split_once(' ') {
            Some((m, p)) => (Some(m), p.trim()),
            None => (None, pattern),
        };
        if let Some(m) = m
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == p,
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    spec: FaultSpec,
    seen: u64,
    fired: u64,
}

/// The live rules of one venue.
#[derive(Debug)]
pub struct FaultSet {
    rules: Vec<Rule>,
    rng: ChaCha8Rng,
}

impl FaultSet {
    pub fn new(seed: u64) -> FaultSet {
        FaultSet {
            rules: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    pub fn add(&mut self, spec: FaultSpec) {
        self.rules.push(Rule {
            spec,
            seen: 0,
            fired: 0,
        });
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn list(&self) -> Vec<serde_json::Value> {
        self.rules
            .iter()
            .map(|r| serde_json::json!({"rule": r.spec, "seen": r.seen, "fired": r.fired}))
            .collect()
    }

    /// Faults that fire for this request, in rule order. `kinds` limits the
    /// rules considered (HTTP middleware, order placement and WebSocket
    /// sends each look at their own kinds).
    pub fn fire(&mut self, method: &str, path: &str, kinds: &[FaultKind]) -> Vec<FaultSpec> {
        let mut out = Vec::new();
        for rule in &mut self.rules {
            if !kinds.contains(&rule.spec.kind) || !rule.spec.matches(method, path) {
                continue;
            }
            rule.seen += 1;
            if rule.seen <= rule.spec.after {
                continue;
            }
            if rule.spec.count.is_some_and(|c| rule.fired >= c) {
                continue;
            }
            // Always draw, so one rule's outcome does not shift another's stream
            // depending on whether it was reached.
            let draw: u32 = self.rng.random_range(0..1_000_000);
            if draw >= rule.spec.probability_ppm {
                continue;
            }
            rule.fired += 1;
            out.push(rule.spec.clone());
        }
        out
    }
}

/// Kinds handled by the HTTP layer before a handler runs.
pub const HTTP_KINDS: &[FaultKind] = &[
    FaultKind::RateLimit,
    FaultKind::ServerError,
    FaultKind::Latency,
    FaultKind::Timeout,
    FaultKind::Drop,
    FaultKind::Down,
];

/// Kinds handled where an order is placed.
pub const ORDER_KINDS: &[FaultKind] = &[FaultKind::PartialFill, FaultKind::Reject];

/// Kinds handled by WebSocket senders.
pub const WS_KINDS: &[FaultKind] = &[FaultKind::WsGap, FaultKind::WsDisconnect];

/// Kinds that add whole frames to a WebSocket batch ([`tamper`]).
pub const WS_FRAME_KINDS: &[FaultKind] = &[FaultKind::WsRawFrame, FaultKind::WsOversizedFrame];

/// Kinds that repeat or reorder order-book updates ([`tamper`]).
pub const WS_ORDER_KINDS: &[FaultKind] = &[FaultKind::WsDuplicateSeq, FaultKind::WsOutOfOrder];

/// Applies the frame faults to one outgoing WebSocket batch and returns the
/// raw frames to send before it. `is_update` picks the order-book updates
/// the duplicate and out-of-order faults act on; `held` carries an update
/// delayed by [`FaultKind::WsOutOfOrder`] into the next batch that has one,
/// where it is sent after that batch's first update. An empty batch fires
/// nothing, so a rule waits for real traffic.
pub fn tamper(
    faults: &mut FaultSet,
    path: &str,
    out: &mut Vec<serde_json::Value>,
    held: &mut Option<serde_json::Value>,
    is_update: impl Fn(&serde_json::Value) -> bool,
) -> Vec<String> {
    let mut raw = Vec::new();
    if out.is_empty() {
        return raw;
    }
    for f in faults.fire("WS", path, WS_FRAME_KINDS) {
        match f.kind {
            FaultKind::WsRawFrame => raw.push(
                f.message
                    .clone()
                    .unwrap_or_else(|| DEFAULT_RAW_FRAME.to_string()),
            ),
            FaultKind::WsOversizedFrame => {
                // A JSON string of that size, built as bytes (fast in debug builds).
                let mut big = vec![b'x'; OVERSIZED_FRAME_BYTES];
                big[0] = b'"';
                big[OVERSIZED_FRAME_BYTES - 1] = b'"';
                raw.push(String::from_utf8_lossy(&big).into_owned());
            }
            _ => {}
        }
    }
    let Some(first) = out.iter().position(&is_update) else {
        return raw;
    };
    if let Some(late) = held.take() {
        out.insert(first + 1, late);
        return raw;
    }
    for f in faults.fire("WS", path, WS_ORDER_KINDS) {
        match f.kind {
            FaultKind::WsDuplicateSeq => {
                let again = out[first].clone();
                out.insert(first + 1, again);
            }
            FaultKind::WsOutOfOrder if held.is_none() => *held = Some(out.remove(first)),
            _ => {}
        }
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(endpoint: &str, kind: FaultKind) -> FaultSpec {
        FaultSpec {
            venue: VenueName::Kalshi,
            endpoint: endpoint.into(),
            kind,
            after: 1,
            count: Some(2),
            probability_ppm: 1_000_000,
            latency_ms: None,
            status: None,
            fill_percent: None,
            duration_ms: None,
            message: None,
        }
    }

    #[test]
    fn schedule_and_matching() {
        let mut f = FaultSet::new(7);
        f.add(spec("POST /trade-api/v2/portfolio/*", FaultKind::RateLimit));
        let fire = |f: &mut FaultSet, m, p| f.fire(m, p, HTTP_KINDS).len();
        assert_eq!(fire(&mut f, "GET", "/trade-api/v2/portfolio/balance"), 0);
        assert_eq!(
            fire(&mut f, "POST", "/trade-api/v2/portfolio/events/orders"),
            0
        ); // after = 1
        assert_eq!(
            fire(&mut f, "POST", "/trade-api/v2/portfolio/events/orders"),
            1
        );
        assert_eq!(
            fire(&mut f, "POST", "/trade-api/v2/portfolio/events/orders"),
            1
        );
        assert_eq!(
            fire(&mut f, "POST", "/trade-api/v2/portfolio/events/orders"),
            0
        ); // count = 2
    }

    #[test]
    fn frame_faults_add_repeat_and_reorder() {
        let upd = |v: &serde_json::Value| v["type"] == "orderbook_delta";
        let delta = |seq: u64| serde_json::json!({"type": "orderbook_delta", "seq": seq});
        let mut f = FaultSet::new(1);
        for kind in [
            FaultKind::WsRawFrame,
            FaultKind::WsDuplicateSeq,
            FaultKind::WsOutOfOrder,
        ] {
            let mut s = spec("/ws", kind);
            s.after = 0;
            s.count = Some(1);
            f.add(s);
        }
        let mut held = None;
        // Nothing to send: nothing fires.
        assert!(tamper(&mut f, "/ws", &mut Vec::new(), &mut held, upd).is_empty());
        // Raw frame first; the delta is duplicated, then the out-of-order
        // rule holds the first copy back.
        let mut out = vec![delta(1)];
        let raw = tamper(&mut f, "/ws", &mut out, &mut held, upd);
        assert_eq!(raw, vec![DEFAULT_RAW_FRAME.to_string()]);
        assert_eq!(out, vec![delta(1)]);
        assert_eq!(held, Some(delta(1)));
        // The held update follows the next one.
        let mut out = vec![delta(2)];
        assert!(tamper(&mut f, "/ws", &mut out, &mut held, upd).is_empty());
        assert_eq!(out, vec![delta(2), delta(1)]);
        assert!(held.is_none());
        // Scenario files and `/_sim/faults` name them in snake case.
        for (name, kind) in [
            ("ws_raw_frame", FaultKind::WsRawFrame),
            ("ws_oversized_frame", FaultKind::WsOversizedFrame),
            ("ws_duplicate_seq", FaultKind::WsDuplicateSeq),
            ("ws_out_of_order", FaultKind::WsOutOfOrder),
        ] {
            let parsed: FaultKind = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(parsed, kind);
        }
    }

    #[test]
    fn probability_is_seeded() {
        let run = |seed| {
            let mut f = FaultSet::new(seed);
            let mut s = spec("*", FaultKind::ServerError);
            s.after = 0;
            s.count = None;
            s.probability_ppm = 500_000;
            f.add(s);
            (0..64)
                .map(|_| f.fire("GET", "/x", HTTP_KINDS).len())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
        let hits: usize = run(3).iter().sum();
        assert!(hits > 10 && hits < 54, "{hits}");
    }
}
