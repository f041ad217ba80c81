//! Read-only queries for the engine's dashboard: the newest opportunities,
//! the newest trade intents with where they ended, and market titles.

use orion_core::{Cash, Quantity, Timestamp};
use rusqlite::{OptionalExtension, params};

use crate::{Database, OpportunityRecord, sql_err};
use orion_core::StoreError;

/// A trade intent from the journal, in brief.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentSummary {
    pub intent_id: String,
    pub pair_id: String,
    pub expected_profit: Cash,
    pub simulated: bool,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// The stored outcome (JSON of `IntentOutcome`); `None` while unfinished.
    pub outcome: Option<String>,
}

impl Database {
    /// The newest `limit` opportunities, newest first.
    pub fn recent_opportunities(&self, limit: u32) -> Result<Vec<OpportunityRecord>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare(
                "SELECT pair_id, direction, quantity_micros, total_cost_micros, net_profit_micros,
                        detected_at_ns, acted, data
                 FROM opportunities ORDER BY detected_at_ns DESC, id DESC LIMIT ?1",
            )
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(params![limit], |r| {
                Ok(OpportunityRecord {
                    pair_id: r.get(0)?,
                    direction: r.get(1)?,
                    quantity: Quantity::from_micros(
                        u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    ),
                    total_cost: Cash::from_micros(r.get(3)?),
                    net_profit: Cash::from_micros(r.get(4)?),
                    detected_at: Timestamp::from_nanos(r.get(5)?),
                    acted: r.get(6)?,
                    data: r.get(7)?,
                })
            })
            .map_err(sql_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
    }

    /// The newest `limit` trade intents (real and simulated), newest first.
    pub fn recent_intents(&self, limit: u32) -> Result<Vec<IntentSummary>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare(
                "SELECT intent_id, pair_id, expected_profit_micros, simulated, created_at_ns,
                        finished_at_ns, outcome
                 FROM intents ORDER BY created_at_ns DESC, intent_id LIMIT ?1",
            )
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(params![limit], |r| {
                Ok(IntentSummary {
                    intent_id: r.get(0)?,
                    pair_id: r.get(1)?,
                    expected_profit: Cash::from_micros(r.get(2)?),
                    simulated: r.get(3)?,
                    created_at: Timestamp::from_nanos(r.get(4)?),
                    finished_at: r.get::<_, Option<i64>>(5)?.map(Timestamp::from_nanos),
                    outcome: r.get(6)?,
                })
            })
            .map_err(sql_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
    }

    /// A stored market's title, if the market is known.
    pub fn market_title(&self, venue: &str, symbol: &str) -> Result<Option<String>, StoreError> {
        self.connection()
            .query_row(
                "SELECT title FROM markets WHERE venue = ?1 AND symbol = ?2",
                params![venue, symbol],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn newest_opportunities_first_and_limited() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("o.db")).unwrap();
        for i in 0..5i64 {
            db.record_opportunity(&OpportunityRecord {
                pair_id: format!("p{i}"),
                direction: "KalshiYes".into(),
                quantity: Quantity::from_micros(1_000_000),
                total_cost: Cash::from_micros(900_000),
                net_profit: Cash::from_micros(10_000 * i),
                detected_at: Timestamp::from_secs(100 + i),
                acted: i % 2 == 0,
                data: "{}".into(),
            })
            .unwrap();
        }
        let got = db.recent_opportunities(3).unwrap();
        let ids: Vec<_> = got.iter().map(|o| o.pair_id.as_str()).collect();
        assert_eq!(ids, ["p4", "p3", "p2"]);
        assert_eq!(got[0].net_profit, Cash::from_micros(40_000));
        assert!(got[0].acted && !got[1].acted);
        assert!(db.recent_intents(10).unwrap().is_empty());
        assert_eq!(db.market_title("kalshi", "X").unwrap(), None);
    }
}
