//! Settlement wiring: a background task that watches the markets Orion holds
//! for their resolution, closes the holdings at $1 or $0 through
//! `orion-execution`'s settlement arithmetic, and records each settlement and
//! its realized P&L in SQLite (the settlement row and the closed position in
//! one transaction, so a crash can neither pay a holding twice nor lose it).
//!
//! When is a market settled?
//! * Kalshi: `result` is `yes` or `no` **and** `status` is `finalized` (or
//!   `settled`). `determined` is not enough: the result may still be
//!   disputed, and the venue keeps the position until it pays out, so
//!   closing the holding earlier would make reconciliation report a
//!   difference.
//! * Polymarket: the CLOB market (`GET /markets/{condition_id}`) is `closed`
//!   and one token is flagged `winner`.
//!
//! Each market settles as soon as its own venue resolves it; the two venues
//! of a pair may resolve hours apart. Once both have, their results are
//! compared in Kalshi's terms: if they disagree (the dangerous case: both
//! legs of a hedged pair lose, or both win) a critical alert goes out.
//!
//! Real and simulated (dry-run) holdings are settled alike, each into its
//! own rows. Polymarket winnings are paid by redeeming the tokens on chain,
//! which Orion does not do: see docs/runbook.md.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orion_core::{Alert, Alerter, Cash, Clock, InstrumentId, MarketId, Outcome, Severity, Venue};
use orion_execution::{HeldLeg, settle_pair};
use orion_matching::detection::PairSpec;
use orion_storage::{PositionRecord, SettlementRecord};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::SharedDb;
use crate::venues::VenueClients;

/// How often open holdings are checked for resolution. Only markets Orion
/// holds are asked about (two reads per held pair), so this stays far inside
/// both venues' read budgets.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);

/// Where resolutions come from: the venues' REST clients, or a test double.
#[async_trait]
pub trait Resolutions: Send + Sync {
    /// The winning outcome of a Kalshi market once it is final; `None` while
    /// it is open, closed or awaiting its result.
    async fn kalshi(&self, ticker: &str) -> Result<Option<Outcome>, String>;
    /// The winning token of a Polymarket market once resolved.
    async fn polymarket(&self, condition_id: &str) -> Result<Option<String>, String>;
}

/// The venues' REST clients as a [`Resolutions`] source.
#[derive(Debug, Clone)]
pub struct VenueResolutions(pub VenueClients);

/// Kalshi's market status and result as a settlement, if final.
pub fn kalshi_settled(status: &str, result: &str) -> Option<Outcome> {
    if !matches!(status, "finalized" | "settled") {
        return None;
    }
    match result {
        "yes" => Some(Outcome::Yes),
        "no" => Some(Outcome::No),
        // `scalar` or empty: not a binary result Orion can settle.
        _ => None,
    }
}

#[async_trait]
impl Resolutions for VenueResolutions {
    async fn kalshi(&self, ticker: &str) -> Result<Option<Outcome>, String> {
        let market = self
            .0
            .kalshi
            .client()
            .market(ticker)
            .await
            .map_err(|e| format!("Kalshi market {ticker}: {e}"))?;
        Ok(kalshi_settled(&market.status, &market.result))
    }

    async fn polymarket(&self, condition_id: &str) -> Result<Option<String>, String> {
        let r = self
            .0
            .polymarket
            .client()
            .market_resolution(condition_id)
            .await
            .map_err(|e| format!("Polymarket market {condition_id}: {e}"))?;
        Ok(if r.closed { r.winner } else { None })
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    pub settled: Vec<SettlementRecord>,
    /// Pairs whose venues resolved differently.
    pub mismatches: Vec<String>,
    /// Markets that could not be asked, or holdings that could not be closed.
    pub errors: Vec<String>,
}

/// Settles what has resolved, one pass at a time.
pub struct Settler {
    db: SharedDb,
    source: Arc<dyn Resolutions>,
    pairs: HashMap<String, PairSpec>,
    alerter: Arc<dyn Alerter>,
    clock: Arc<dyn Clock>,
    /// Pairs already alerted for a mismatch (once per process is enough).
    alerted: BTreeSet<String>,
}

impl std::fmt::Debug for Settler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settler")
            .field("pairs", &self.pairs.len())
            .finish_non_exhaustive()
    }
}

fn winning_outcome_of_token(holding: &PositionRecord, winner: &str) -> Outcome {
    // The holding's token either is the winner (its outcome won) or is the
    // market's other token.
    if holding.instrument == winner {
        holding.outcome
    } else {
        holding.outcome.opposite()
    }
}

impl Settler {
    pub fn new(
        db: SharedDb,
        source: Arc<dyn Resolutions>,
        pairs: &[PairSpec],
        alerter: Arc<dyn Alerter>,
        clock: Arc<dyn Clock>,
    ) -> Settler {
        Settler {
            db,
            source,
            pairs: pairs
                .iter()
                .map(|p| (p.pair_id.to_string(), p.clone()))
                .collect(),
            alerter,
            clock,
            alerted: BTreeSet::new(),
        }
    }

    /// Replaces the pairs whose holdings this settler can match (a pair's
    /// spec tells which venue market pays on which outcome).
    pub fn set_pairs(&mut self, pairs: &[PairSpec]) {
        self.pairs = pairs
            .iter()
            .map(|p| (p.pair_id.to_string(), p.clone()))
            .collect();
    }

    fn alert(&self, severity: Severity, key: String, message: String) {
        self.alerter.alert(Alert {
            severity,
            key,
            message,
            at: self.clock.now(),
        });
    }

    /// Asks the venues about every market Orion holds and settles what has
    /// resolved.
    pub async fn pass(&mut self) -> PassReport {
        let mut report = PassReport::default();
        let held = {
            let db = self.db.lock();
            let mut all = Vec::new();
            for simulated in [false, true] {
                match db.positions(simulated) {
                    Ok(list) => all.extend(list),
                    Err(e) => report.errors.push(format!("positions: {e}")),
                }
            }
            all
        };
        if held.is_empty() {
            return report;
        }

        // Which markets to ask about: those held, plus the other venue's
        // market of each held pair (for the cross-venue comparison).
        let mut kalshi_markets: BTreeSet<String> = BTreeSet::new();
        let mut poly_markets: BTreeSet<String> = BTreeSet::new();
        for h in &held {
            match h.venue {
                Venue::Kalshi => kalshi_markets.insert(h.market.clone()),
                Venue::Polymarket => poly_markets.insert(h.market.clone()),
            };
            if let Some(spec) = h.pair_id.as_ref().and_then(|p| self.pairs.get(p)) {
                kalshi_markets.insert(spec.kalshi_market.symbol.to_string());
                poly_markets.insert(spec.polymarket_market.symbol.to_string());
            }
        }
        let mut kalshi: BTreeMap<String, Outcome> = BTreeMap::new();
        for ticker in &kalshi_markets {
            match self.source.kalshi(ticker).await {
                Ok(Some(o)) => {
                    kalshi.insert(ticker.clone(), o);
                }
                Ok(None) => {}
                Err(e) => report.errors.push(e),
            }
        }
        let mut poly: BTreeMap<String, String> = BTreeMap::new();
        for condition in &poly_markets {
            match self.source.polymarket(condition).await {
                Ok(Some(token)) => {
                    poly.insert(condition.clone(), token);
                }
                Ok(None) => {}
                Err(e) => report.errors.push(e),
            }
        }

        // Mismatches, in Kalshi's terms, for pairs whose both markets resolved.
        let held_pairs: BTreeSet<String> = held.iter().filter_map(|h| h.pair_id.clone()).collect();
        for pair_id in &held_pairs {
            let Some(spec) = self.pairs.get(pair_id) else {
                continue;
            };
            let (Some(k), Some(winner)) = (
                kalshi.get(spec.kalshi_market.symbol.as_ref()),
                poly.get(spec.polymarket_market.symbol.as_ref()),
            ) else {
                continue;
            };
            let (token_paying_kalshi_yes, _) = spec.polymarket_token_for(Outcome::Yes);
            let poly_in_kalshi_terms = if token_paying_kalshi_yes.symbol.as_ref() == winner {
                Outcome::Yes
            } else {
                Outcome::No
            };
            if *k != poly_in_kalshi_terms {
                report.mismatches.push(pair_id.clone());
                metrics::counter!("orion_settlement_mismatches_total").increment(1);
                if self.alerted.insert(pair_id.clone()) {
                    self.alert(
                        Severity::Critical,
                        format!("settlement.mismatch.{pair_id}"),
                        format!(
                            "pair {pair_id}: the venues resolved differently (Kalshi {k}, Polymarket {poly_in_kalshi_terms} in Kalshi's terms): \
                             the hedge did not hold; check both markets' rules and dispute windows"
                        ),
                    );
                }
            }
        }

        // Settle every resolved holding.
        let now = self.clock.now();
        for h in &held {
            let winning = match h.venue {
                Venue::Kalshi => kalshi.get(&h.market).copied(),
                Venue::Polymarket => poly
                    .get(&h.market)
                    .map(|winner| winning_outcome_of_token(h, winner)),
            };
            let Some(winning) = winning else {
                continue;
            };
            let leg = match held_leg(h) {
                Ok(leg) => leg,
                Err(e) => {
                    report.errors.push(e);
                    continue;
                }
            };
            let pair_label = h.pair_id.clone().unwrap_or_default();
            let settled =
                match settle_pair(&pair_label, std::slice::from_ref(&leg), |_| Some(winning)) {
                    Ok(s) => s,
                    Err(e) => {
                        report
                            .errors
                            .push(format!("{} {}: {e}", h.venue, h.instrument));
                        continue;
                    }
                };
            for s in settled.settled {
                let record = SettlementRecord {
                    pair_id: h.pair_id.clone(),
                    venue: h.venue,
                    market: h.market.clone(),
                    winning_outcome: s.winning_outcome,
                    quantity: s.leg.quantity,
                    payout: s.payout,
                    cost: s.leg.cost,
                    realized_pnl: s.realized_pnl,
                    simulated: h.simulated,
                    settled_at: now,
                };
                let stored = self.db.lock().settle_position(&record, &h.instrument);
                match stored {
                    Ok(true) => {
                        tracing::info!(
                            pair = %pair_label,
                            venue = %h.venue,
                            market = %h.market,
                            winner = %s.winning_outcome,
                            payout = %s.payout,
                            pnl = %s.realized_pnl,
                            simulated = h.simulated,
                            "settled"
                        );
                        if !h.simulated {
                            metrics::counter!("orion_settlements_total", "venue" => h.venue.as_str())
                                .increment(1);
                        }
                        report.settled.push(record);
                    }
                    Ok(false) => {}
                    Err(e) => report
                        .errors
                        .push(format!("recording settlement of {}: {e}", h.instrument)),
                }
            }
        }
        for (pair_id, pnl) in pair_totals(&report.settled) {
            self.alert(
                Severity::Info,
                format!("settlement.{pair_id}"),
                format!("pair {pair_id} settled: realized P&L {pnl} so far"),
            );
        }
        report
    }
}

fn held_leg(h: &PositionRecord) -> Result<HeldLeg, String> {
    let position = h.to_position().map_err(|e| e.to_string())?;
    Ok(HeldLeg {
        market: position.market,
        instrument: position.instrument,
        outcome: h.outcome,
        quantity: h.quantity,
        cost: h.cost,
    })
}

fn pair_totals(settled: &[SettlementRecord]) -> BTreeMap<String, Cash> {
    let mut totals: BTreeMap<String, Cash> = BTreeMap::new();
    for s in settled.iter().filter(|s| !s.simulated) {
        if let Some(p) = &s.pair_id {
            let t = totals.entry(p.clone()).or_insert(Cash::ZERO);
            *t = t.saturating_add(s.realized_pnl);
        }
    }
    totals
}

/// The instruments whose differences with the venues block start-up
/// reconciliation: those of the loaded pairs, less those of markets already
/// settled in the ledger. A settled Polymarket market's tokens stay in the
/// wallet until redeemed on chain, so the venue keeps reporting what the
/// ledger has closed; that difference is reported, and does not block.
pub fn reconcile_scope(
    pairs: &[PairSpec],
    settled: &BTreeSet<(Venue, String)>,
) -> BTreeSet<InstrumentId> {
    let is_settled =
        |market: &MarketId| settled.contains(&(market.venue, market.symbol.to_string()));
    let mut scope = BTreeSet::new();
    for p in pairs {
        if !is_settled(&p.kalshi_market) {
            scope.insert(p.kalshi_instrument.clone());
        }
        if !is_settled(&p.polymarket_market) {
            scope.insert(p.polymarket_yes.clone());
            scope.insert(p.polymarket_no.clone());
        }
    }
    scope
}

/// Runs [`Settler::pass`] every `every` until `stop`; `on_pass` sees each
/// report (the engine updates its status from it).
pub fn spawn(
    mut settler: Settler,
    every: Duration,
    mut pairs: watch::Receiver<Arc<Vec<PairSpec>>>,
    mut stop: watch::Receiver<bool>,
    on_pass: impl Fn(&PassReport) + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = crate::stopped(&mut stop) => break,
                _ = tick.tick() => {
                    // Pairs confirmed while the engine runs are settled too.
                    if pairs.has_changed().unwrap_or(false) {
                        let list = pairs.borrow_and_update().clone();
                        settler.set_pairs(&list);
                    }
                    let report = settler.pass().await;
                    for e in &report.errors {
                        tracing::warn!(error = %e, "settlement check");
                    }
                    on_pass(&report);
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Mutex;

    use orion_core::{
        FeeSchedule, KalshiFeeType, Quantity, Rate, SimulatedClock, TickSize, Timestamp,
    };
    use orion_storage::Database;

    use super::*;

    /// Resolutions an operator scripts step by step.
    #[derive(Debug, Default)]
    struct Scripted {
        kalshi: Mutex<BTreeMap<String, Outcome>>,
        poly: Mutex<BTreeMap<String, String>>,
    }

    #[async_trait]
    impl Resolutions for Scripted {
        async fn kalshi(&self, ticker: &str) -> Result<Option<Outcome>, String> {
            Ok(self.kalshi.lock().unwrap().get(ticker).copied())
        }
        async fn polymarket(&self, condition_id: &str) -> Result<Option<String>, String> {
            Ok(self.poly.lock().unwrap().get(condition_id).cloned())
        }
    }

    #[derive(Debug, Default)]
    struct Kept(Mutex<Vec<Alert>>);

    impl Alerter for Kept {
        fn alert(&self, alert: Alert) {
            self.0.lock().unwrap().push(alert);
        }
    }

    fn spec() -> PairSpec {
        PairSpec {
            pair_id: "K~P".into(),
            event_key: "E".into(),
            kalshi_market: MarketId::new(Venue::Kalshi, "KX").unwrap(),
            kalshi_instrument: InstrumentId::new(Venue::Kalshi, "KX").unwrap(),
            polymarket_market: MarketId::new(Venue::Polymarket, "0xc").unwrap(),
            polymarket_yes: InstrumentId::new(Venue::Polymarket, "111").unwrap(),
            polymarket_no: InstrumentId::new(Venue::Polymarket, "222").unwrap(),
            inverted: false,
            kalshi_fees: FeeSchedule::Kalshi {
                fee_type: KalshiFeeType::Quadratic,
                multiplier: Rate::ONE,
            },
            polymarket_fees: FeeSchedule::Polymarket {
                rate: Rate::ZERO,
                exponent: 1,
            },
            polymarket_tick: TickSize::Hundredth,
            polymarket_min_size: Quantity::from_contracts(5).unwrap(),
            resolves_at: Timestamp::from_secs(1),
        }
    }

    fn holding(
        venue: Venue,
        instrument: &str,
        market: &str,
        outcome: Outcome,
        cost: i64,
    ) -> PositionRecord {
        PositionRecord {
            venue,
            instrument: instrument.into(),
            market: market.into(),
            outcome,
            pair_id: Some("K~P".into()),
            quantity: Quantity::from_contracts(10).unwrap(),
            cost: Cash::from_micros(cost),
            simulated: false,
            updated_at: Timestamp::from_secs(1),
        }
    }

    #[tokio::test]
    async fn each_venue_settles_when_it_resolves_and_a_disagreement_is_alerted_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = SharedDb::new(Database::open(&dir.path().join("orion.db")).unwrap());
        {
            let guard = db.lock();
            // Kalshi YES and the Polymarket token paying on Kalshi NO.
            guard
                .upsert_position(&holding(Venue::Kalshi, "KX", "KX", Outcome::Yes, 4_300_000))
                .unwrap();
            guard
                .upsert_position(&holding(
                    Venue::Polymarket,
                    "222",
                    "0xc",
                    Outcome::No,
                    5_500_000,
                ))
                .unwrap();
        }
        let source = Arc::new(Scripted::default());
        let alerts = Arc::new(Kept::default());
        let mut settler = Settler::new(
            db.clone(),
            source.clone(),
            &[spec()],
            alerts.clone(),
            Arc::new(SimulatedClock::new(Timestamp::from_secs(9))),
        );
        // Nothing resolved: nothing settles.
        assert!(settler.pass().await.settled.is_empty());

        // Kalshi resolves NO first: its leg closes at $0, Polymarket's stays.
        source
            .kalshi
            .lock()
            .unwrap()
            .insert("KX".into(), Outcome::No);
        let r = settler.pass().await;
        assert_eq!(r.settled.len(), 1);
        assert_eq!(r.settled[0].realized_pnl, Cash::from_micros(-4_300_000));
        assert_eq!(db.lock().positions(false).unwrap().len(), 1);
        // Asked again, the closed holding is not settled twice.
        assert!(settler.pass().await.settled.is_empty());

        // Polymarket resolves YES (token 111 wins): in Kalshi's terms YES,
        // against Kalshi's NO. Both legs lost.
        source
            .poly
            .lock()
            .unwrap()
            .insert("0xc".into(), "111".into());
        let r = settler.pass().await;
        assert_eq!(r.mismatches, vec!["K~P".to_string()]);
        assert_eq!(r.settled.len(), 1);
        assert_eq!(r.settled[0].payout, Cash::ZERO);
        assert!(db.lock().positions(false).unwrap().is_empty());
        assert_eq!(
            db.lock().realized_pnl(false).unwrap(),
            Cash::from_micros(-9_800_000)
        );
        let critical: Vec<_> = alerts
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.severity == Severity::Critical)
            .cloned()
            .collect();
        assert_eq!(critical.len(), 1, "{critical:?}");
        assert_eq!(critical[0].key, "settlement.mismatch.K~P");
    }

    #[test]
    fn settled_markets_leave_the_blocking_scope() {
        let pairs = [spec()];
        let all = reconcile_scope(&pairs, &BTreeSet::new());
        assert_eq!(all.len(), 3);
        let settled: BTreeSet<(Venue, String)> = [(Venue::Polymarket, "0xc".to_string())]
            .into_iter()
            .collect();
        let scope = reconcile_scope(&pairs, &settled);
        assert_eq!(
            scope,
            [InstrumentId::new(Venue::Kalshi, "KX").unwrap()]
                .into_iter()
                .collect()
        );
    }

    #[tokio::test]
    async fn agreeing_venues_pay_exactly_one_leg() {
        let dir = tempfile::tempdir().unwrap();
        let db = SharedDb::new(Database::open(&dir.path().join("orion.db")).unwrap());
        {
            let guard = db.lock();
            guard
                .upsert_position(&holding(Venue::Kalshi, "KX", "KX", Outcome::Yes, 4_300_000))
                .unwrap();
            guard
                .upsert_position(&holding(
                    Venue::Polymarket,
                    "222",
                    "0xc",
                    Outcome::No,
                    5_500_000,
                ))
                .unwrap();
        }
        let source = Arc::new(Scripted::default());
        source
            .kalshi
            .lock()
            .unwrap()
            .insert("KX".into(), Outcome::No);
        // Token 222 pays with Kalshi NO.
        source
            .poly
            .lock()
            .unwrap()
            .insert("0xc".into(), "222".into());
        let alerts = Arc::new(Kept::default());
        let mut settler = Settler::new(
            db.clone(),
            source,
            &[spec()],
            alerts.clone(),
            Arc::new(SimulatedClock::new(Timestamp::from_secs(9))),
        );
        let r = settler.pass().await;
        assert!(r.mismatches.is_empty());
        assert_eq!(r.settled.len(), 2);
        // $10 paid for $9.80 spent.
        assert_eq!(
            db.lock().realized_pnl(false).unwrap(),
            Cash::from_micros(200_000)
        );
        assert!(
            alerts
                .0
                .lock()
                .unwrap()
                .iter()
                .all(|a| a.severity != Severity::Critical)
        );
    }

    /// A pair confirmed while the engine runs reaches the running settler:
    /// its venues' disagreement is caught although it was unknown at start.
    #[tokio::test]
    async fn pairs_published_later_are_checked_for_mismatches() {
        let dir = tempfile::tempdir().unwrap();
        let db = SharedDb::new(Database::open(&dir.path().join("orion.db")).unwrap());
        db.lock()
            .upsert_position(&holding(Venue::Kalshi, "KX", "KX", Outcome::Yes, 4_300_000))
            .unwrap();
        let source = Arc::new(Scripted::default());
        source
            .kalshi
            .lock()
            .unwrap()
            .insert("KX".into(), Outcome::No);
        // Polymarket's market says YES won: against Kalshi's NO.
        source
            .poly
            .lock()
            .unwrap()
            .insert("0xc".into(), "111".into());
        let alerts = Arc::new(Kept::default());
        let settler = Settler::new(
            db.clone(),
            source,
            &[],
            alerts.clone(),
            Arc::new(SimulatedClock::new(Timestamp::from_secs(9))),
        );
        let (pairs_tx, pairs_rx) = watch::channel(Arc::new(Vec::new()));
        let (stop_tx, stop_rx) = watch::channel(false);
        pairs_tx.send_replace(Arc::new(vec![spec()]));
        let task = spawn(settler, Duration::from_millis(5), pairs_rx, stop_rx, |_| {});
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !alerts
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|a| a.key == "settlement.mismatch.K~P")
        {
            assert!(tokio::time::Instant::now() < deadline, "no mismatch alert");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop_tx.send_replace(true);
        task.await.unwrap();
    }

    #[test]
    fn kalshi_settles_only_when_final_and_binary() {
        assert_eq!(kalshi_settled("finalized", "yes"), Some(Outcome::Yes));
        assert_eq!(kalshi_settled("settled", "no"), Some(Outcome::No));
        assert_eq!(kalshi_settled("determined", "yes"), None, "may be disputed");
        assert_eq!(kalshi_settled("active", ""), None);
        assert_eq!(kalshi_settled("finalized", "scalar"), None);
    }
}
