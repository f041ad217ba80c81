//! Additive reads and writes for execution: the journal of one intent family
//! (finished or not), positions, and settlements. The tables are those of
//! migration 1; nothing here changes the schema.

use orion_core::{
    Cash, ClientOrderId, IntentOutcome, JournaledIntent, Outcome, PreparedOrder, Quantity,
    StoreError, Timestamp, TradeIntent, Venue,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::{Database, json_err, sql_err};

/// One intent read back from the journal with where it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRecord {
    pub journal: JournaledIntent,
    pub outcome: Option<IntentOutcome>,
    pub finished_at: Option<Timestamp>,
}

/// A holding as Orion's ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionRecord {
    pub venue: Venue,
    pub instrument: String,
    pub market: String,
    pub outcome: Outcome,
    pub pair_id: Option<String>,
    pub quantity: Quantity,
    pub cost: Cash,
    pub simulated: bool,
    pub updated_at: Timestamp,
}

/// A closed holding of a resolved market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementRecord {
    pub pair_id: Option<String>,
    pub venue: Venue,
    pub market: String,
    pub winning_outcome: Outcome,
    pub quantity: Quantity,
    pub payout: Cash,
    pub cost: Cash,
    pub realized_pnl: Cash,
    pub simulated: bool,
    pub settled_at: Timestamp,
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

fn parse_outcome(s: &str) -> Result<Outcome, StoreError> {
    match s {
        "yes" => Ok(Outcome::Yes),
        "no" => Ok(Outcome::No),
        other => Err(corrupt("outcome", other)),
    }
}

fn qty_to_sql(q: Quantity) -> Result<i64, StoreError> {
    i64::try_from(q.micros()).map_err(|_| StoreError::Conflict("quantity too large".into()))
}

fn qty_from_sql(v: i64) -> Result<Quantity, StoreError> {
    u64::try_from(v)
        .map(Quantity::from_micros)
        .map_err(|_| StoreError::Corrupt(format!("negative quantity {v}")))
}

impl Database {
    /// Every intent of a family: `parent_id` and its `parent_id/repair-N`
    /// children, oldest first, finished or not.
    pub fn intent_family(&self, parent_id: &str) -> Result<Vec<JournalRecord>, StoreError> {
        let conn = self.connection();
        let mut heads = conn
            .prepare(
                "SELECT intent_id, pair_id, expected_profit_micros, created_at_ns, finished_at_ns, outcome
                 FROM intents WHERE intent_id = ?1 OR substr(intent_id, 1, length(?1) + 8) = ?1 || '/repair-'
                 ORDER BY created_at_ns, rowid",
            )
            .map_err(sql_err)?;
        let rows = heads
            .query_map(params![parent_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(sql_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for (intent_id, pair_id, profit, created, finished, outcome) in rows {
            let journal = self.journal_of(&intent_id, pair_id, profit, created)?;
            let outcome = outcome
                .map(|o| serde_json::from_str::<IntentOutcome>(&o).map_err(json_err))
                .transpose()?;
            out.push(JournalRecord {
                journal,
                outcome,
                finished_at: finished.map(Timestamp::from_nanos),
            });
        }
        Ok(out)
    }

    /// Every journaled intent id (parents and repair children), oldest first.
    pub fn intent_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare("SELECT intent_id FROM intents ORDER BY created_at_ns, rowid")
            .map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(sql_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql_err)?;
        Ok(rows)
    }

    /// One intent's journal, finished or not.
    pub fn intent_journal(&self, intent_id: &str) -> Result<Option<JournalRecord>, StoreError> {
        Ok(self
            .intent_family(intent_id)?
            .into_iter()
            .find(|r| r.journal.intent.intent_id == intent_id))
    }

    pub(crate) fn journal_of(
        &self,
        intent_id: &str,
        pair_id: String,
        profit: i64,
        created: i64,
    ) -> Result<JournaledIntent, StoreError> {
        journal_of(self.connection(), intent_id, pair_id, profit, created)
    }

    /// Sets a holding (replacing the previous row for its venue, instrument
    /// and simulated flag); a zero quantity removes it.
    pub fn upsert_position(&self, p: &PositionRecord) -> Result<(), StoreError> {
        upsert_position(self.connection(), p)
    }

    /// Every holding, real or simulated.
    pub fn positions(&self, simulated: bool) -> Result<Vec<PositionRecord>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare(
                "SELECT venue, instrument, market, outcome, pair_id, quantity_micros, cost_micros, updated_at_ns
                 FROM positions WHERE simulated = ?1 ORDER BY venue, instrument",
            )
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(params![simulated], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .map_err(sql_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql_err)?;
        rows.into_iter()
            .map(
                |(venue, instrument, market, outcome, pair_id, qty, cost, at)| {
                    Ok(PositionRecord {
                        venue: venue.parse().map_err(|_| corrupt("venue", &venue))?,
                        instrument,
                        market,
                        outcome: parse_outcome(&outcome)?,
                        pair_id,
                        quantity: qty_from_sql(qty)?,
                        cost: Cash::from_micros(cost),
                        simulated,
                        updated_at: Timestamp::from_nanos(at),
                    })
                },
            )
            .collect()
    }

    /// Records a settlement; returns its row id.
    pub fn record_settlement(&self, s: &SettlementRecord) -> Result<i64, StoreError> {
        let conn = self.connection();
        insert_settlement(conn, s)?;
        Ok(conn.last_insert_rowid())
    }

    /// Settlements, of one pair or all, oldest first.
    pub fn settlements(&self, pair_id: Option<&str>) -> Result<Vec<SettlementRecord>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare(
                "SELECT pair_id, venue, market, winning_outcome, quantity_micros, payout_micros, cost_micros,
                    realized_pnl_micros, simulated, settled_at_ns
                 FROM settlements WHERE ?1 IS NULL OR pair_id = ?1 ORDER BY id",
            )
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(params![pair_id], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, bool>(8)?,
                    r.get::<_, i64>(9)?,
                ))
            })
            .map_err(sql_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql_err)?;
        rows.into_iter()
            .map(
                |(pair_id, venue, market, winner, qty, payout, cost, pnl, simulated, at)| {
                    Ok(SettlementRecord {
                        pair_id,
                        venue: venue.parse().map_err(|_| corrupt("venue", &venue))?,
                        market,
                        winning_outcome: parse_outcome(&winner)?,
                        quantity: qty_from_sql(qty)?,
                        payout: Cash::from_micros(payout),
                        cost: Cash::from_micros(cost),
                        realized_pnl: Cash::from_micros(pnl),
                        simulated,
                        settled_at: Timestamp::from_nanos(at),
                    })
                },
            )
            .collect()
    }

    /// Realized P&L per pair over all settlements (real only).
    pub fn realized_pnl_by_pair(&self) -> Result<Vec<(String, Cash)>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare(
                "SELECT pair_id, SUM(realized_pnl_micros) FROM settlements
                 WHERE simulated = 0 AND pair_id IS NOT NULL GROUP BY pair_id ORDER BY pair_id",
            )
            .map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(sql_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql_err)?;
        Ok(rows
            .into_iter()
            .map(|(p, v)| (p, Cash::from_micros(v)))
            .collect())
    }
}

/// One intent's journal read through `conn` (the connection or an open
/// transaction).
pub(crate) fn journal_of(
    conn: &Connection,
    intent_id: &str,
    pair_id: String,
    profit: i64,
    created: i64,
) -> Result<JournaledIntent, StoreError> {
    let mut legs_stmt = conn
        .prepare("SELECT request, venue_order_id, body FROM orders WHERE intent_id = ?1 ORDER BY leg_index")
        .map_err(sql_err)?;
    let legs = legs_stmt
        .query_map(params![intent_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .map_err(sql_err)?
        .map(|row| {
            let (request, venue_order_id, body) = row.map_err(sql_err)?;
            Ok(PreparedOrder {
                request: serde_json::from_str(&request).map_err(json_err)?,
                venue_order_id,
                body,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut events_stmt = conn
        .prepare("SELECT client_order_id, event, at_ns FROM order_events WHERE intent_id = ?1 ORDER BY id")
        .map_err(sql_err)?;
    let events = events_stmt
        .query_map(params![intent_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .map_err(sql_err)?
        .map(|row| {
            let (coid, event, at) = row.map_err(sql_err)?;
            let coid = ClientOrderId::new(&coid).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((
                coid,
                serde_json::from_str(&event).map_err(json_err)?,
                Timestamp::from_nanos(at),
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(JournaledIntent {
        intent: TradeIntent {
            intent_id: intent_id.to_string(),
            pair_id,
            legs,
            expected_profit: Cash::from_micros(profit),
            created_at: Timestamp::from_nanos(created),
        },
        events,
    })
}

fn upsert_position(conn: &Connection, p: &PositionRecord) -> Result<(), StoreError> {
    if p.quantity.is_zero() {
        conn.execute(
            "DELETE FROM positions WHERE venue = ?1 AND instrument = ?2 AND simulated = ?3",
            params![p.venue.as_str(), p.instrument, p.simulated],
        )
        .map_err(sql_err)?;
        return Ok(());
    }
    conn.execute(
        "INSERT INTO positions (venue, instrument, market, outcome, pair_id, quantity_micros, cost_micros, simulated, updated_at_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (venue, instrument, simulated) DO UPDATE SET market = excluded.market, outcome = excluded.outcome,
            pair_id = excluded.pair_id, quantity_micros = excluded.quantity_micros, cost_micros = excluded.cost_micros,
            updated_at_ns = excluded.updated_at_ns",
        params![
            p.venue.as_str(),
            p.instrument,
            p.market,
            p.outcome.as_str(),
            p.pair_id,
            qty_to_sql(p.quantity)?,
            p.cost.micros(),
            p.simulated,
            p.updated_at.nanos()
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

fn position_of(
    conn: &Connection,
    venue: Venue,
    instrument: &str,
    simulated: bool,
) -> Result<Option<(Quantity, Cash)>, StoreError> {
    let row = conn
        .query_row(
            "SELECT quantity_micros, cost_micros FROM positions WHERE venue = ?1 AND instrument = ?2 AND simulated = ?3",
            params![venue.as_str(), instrument, simulated],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()
        .map_err(sql_err)?;
    row.map(|(q, c)| Ok((qty_from_sql(q)?, Cash::from_micros(c))))
        .transpose()
}

fn overflow(what: &str) -> StoreError {
    StoreError::Conflict(format!("{what} overflowed"))
}

/// Applies what one intent's orders filled to the positions, through `conn`
/// (the caller's transaction, which also marks the intent finished, so the
/// journal and the holdings can never disagree after a crash).
///
/// Each order counts its last final report in the journal (fills are
/// cumulative per order); an order without one filled nothing. A buy adds
/// its contracts and what they cost (price rounded up, plus fees); a sale
/// removes contracts and takes its proceeds (rounded down, less fees) off
/// the cost, so `cost` stays "everything paid, net of sales" as settlement
/// expects. A holding sold down to zero is removed.
pub(crate) fn apply_intent_positions(
    conn: &Connection,
    intent_id: &str,
    simulated: bool,
    at: Timestamp,
) -> Result<(), StoreError> {
    let (pair_id, profit, created): (String, i64, i64) = conn
        .query_row(
            "SELECT pair_id, expected_profit_micros, created_at_ns FROM intents WHERE intent_id = ?1",
            params![intent_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(sql_err)?;
    let journal = journal_of(conn, intent_id, pair_id, profit, created)?;
    for leg in &journal.intent.legs {
        let request = &leg.request;
        let last_final = journal
            .events
            .iter()
            .rev()
            .filter(|(coid, _, _)| *coid == request.client_order_id)
            .find_map(|(_, event, _)| match event {
                orion_core::LegEvent::Report(report) if report.status.is_final() => Some(report),
                _ => None,
            });
        let Some(report) = last_final.filter(|r| !r.filled.is_zero()) else {
            continue;
        };
        let price = report.average_price.unwrap_or(request.limit_price);
        let venue = request.instrument.venue;
        let instrument = request.instrument.symbol.as_ref();
        let (held, cost) = position_of(conn, venue, instrument, simulated)?
            .unwrap_or((Quantity::ZERO, Cash::ZERO));
        let (held, cost) = match request.side {
            orion_core::Side::Buy => {
                let paid = price
                    .notional(report.filled)
                    .to_cash(orion_core::Rounding::Up)
                    .and_then(|c| c.checked_add(report.fees))
                    .ok_or_else(|| overflow("position cost"))?;
                (
                    held.checked_add(report.filled)
                        .ok_or_else(|| overflow("position quantity"))?,
                    cost.checked_add(paid)
                        .ok_or_else(|| overflow("position cost"))?,
                )
            }
            orion_core::Side::Sell => {
                let proceeds = price
                    .notional(report.filled)
                    .to_cash(orion_core::Rounding::Down)
                    .and_then(|c| c.checked_sub(report.fees))
                    .ok_or_else(|| overflow("sale proceeds"))?;
                // Selling more than the ledger holds cannot come from
                // Orion's own journal; the holding stops at zero and
                // reconciliation reports the difference with the venue.
                (
                    held.saturating_sub(report.filled),
                    cost.checked_sub(proceeds)
                        .ok_or_else(|| overflow("position cost"))?,
                )
            }
        };
        upsert_position(
            conn,
            &PositionRecord {
                venue,
                instrument: instrument.to_string(),
                market: request.market.symbol.to_string(),
                outcome: request.outcome,
                pair_id: Some(journal.intent.pair_id.clone()),
                quantity: held,
                cost,
                simulated,
                updated_at: at,
            },
        )?;
    }
    Ok(())
}

impl PositionRecord {
    /// The holding as the `orion-core` ports describe it (reconciliation
    /// compares these with what the venues report).
    pub fn to_position(&self) -> Result<orion_core::Position, StoreError> {
        let bad = |e: orion_core::IdError| {
            StoreError::Corrupt(format!("stored position {}: {e}", self.instrument))
        };
        Ok(orion_core::Position {
            market: orion_core::MarketId::new(self.venue, &self.market).map_err(bad)?,
            instrument: orion_core::InstrumentId::new(self.venue, &self.instrument).map_err(bad)?,
            outcome: self.outcome,
            quantity: self.quantity,
        })
    }
}

impl Database {
    /// Records a settlement and closes the holding it settles
    /// (`instrument` on the settlement's venue) in one transaction, so a
    /// crash can neither pay a holding twice nor lose its P&L. Returns
    /// false, recording nothing, when the holding is already gone (settled
    /// by an earlier pass).
    pub fn settle_position(
        &mut self,
        s: &SettlementRecord,
        instrument: &str,
    ) -> Result<bool, StoreError> {
        let tx = self.connection_mut().transaction().map_err(sql_err)?;
        let closed = tx
            .execute(
                "DELETE FROM positions WHERE venue = ?1 AND instrument = ?2 AND simulated = ?3",
                params![s.venue.as_str(), instrument, s.simulated],
            )
            .map_err(sql_err)?;
        if closed == 0 {
            return Ok(false);
        }
        insert_settlement(&tx, s)?;
        tx.commit().map_err(sql_err)?;
        Ok(true)
    }

    /// The markets settled so far, as (venue, market), real or simulated.
    pub fn settled_markets(
        &self,
        simulated: bool,
    ) -> Result<std::collections::BTreeSet<(Venue, String)>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare("SELECT DISTINCT venue, market FROM settlements WHERE simulated = ?1")
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(params![simulated], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(sql_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql_err)?;
        rows.into_iter()
            .map(|(venue, market)| {
                Ok((venue.parse().map_err(|_| corrupt("venue", &venue))?, market))
            })
            .collect()
    }

    /// Realized P&L over every settlement, real or simulated.
    pub fn realized_pnl(&self, simulated: bool) -> Result<Cash, StoreError> {
        let total: i64 = self
            .connection()
            .query_row(
                "SELECT COALESCE(SUM(realized_pnl_micros), 0) FROM settlements WHERE simulated = ?1",
                params![simulated],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        Ok(Cash::from_micros(total))
    }
}

/// With migration 3, the ledger starts being written with each intent's
/// finish. A database from before holds finished trades whose fills were
/// never put in the ledger: they are replayed here, oldest finish first, so
/// reconciliation compares the venues with what Orion really traded (an
/// empty ledger would make every open holding look unknown). Holdings of
/// markets that have resolved since are then settled by the engine's
/// settlement task. Skipped when the ledger already holds something.
pub(crate) fn backfill_positions(conn: &Connection) -> Result<(), StoreError> {
    let held: i64 = conn
        .query_row("SELECT COUNT(*) FROM positions", [], |r| r.get(0))
        .map_err(sql_err)?;
    if held > 0 {
        return Ok(());
    }
    let mut stmt = conn
        .prepare(
            "SELECT intent_id, simulated, finished_at_ns FROM intents
             WHERE finished_at_ns IS NOT NULL ORDER BY finished_at_ns, rowid",
        )
        .map_err(sql_err)?;
    let finished = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .map_err(sql_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_err)?;
    for (intent_id, simulated, at) in finished {
        apply_intent_positions(conn, &intent_id, simulated, Timestamp::from_nanos(at))?;
    }
    Ok(())
}

/// The one INSERT of a settlement row, alone or inside a transaction.
fn insert_settlement(conn: &rusqlite::Connection, s: &SettlementRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO settlements (pair_id, venue, market, winning_outcome, quantity_micros, payout_micros, cost_micros,
            realized_pnl_micros, simulated, settled_at_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            s.pair_id,
            s.venue.as_str(),
            s.market,
            s.winning_outcome.as_str(),
            qty_to_sql(s.quantity)?,
            s.payout.micros(),
            s.cost.micros(),
            s.realized_pnl.micros(),
            s.simulated,
            s.settled_at.nanos()
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}
