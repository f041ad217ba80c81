//! Pair halts (migration 3). A pair halted because its legs could not be
//! balanced, or by an operator, stays halted across restarts until an
//! operator resumes it; every halt and resume is in the audit log.

use orion_core::{StoreError, Timestamp};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::{Database, sql_err};

/// The id under which an operator's engine-wide halt is stored (it survives
/// restarts like a pair's halt, and `orion-admin pairs resume '*'` lifts it).
pub const ENGINE_HALT_ID: &str = "*";

/// A halted pair and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaltRecord {
    pub pair_id: String,
    pub reason: String,
    /// Who halted it: `execution`, `engine` or an operator's name.
    pub source: String,
    pub halted_at: Timestamp,
}

impl Database {
    /// Records a halt (audited). A pair already halted keeps its first
    /// reason; returns whether the halt is new.
    pub fn halt_pair(&mut self, halt: &HaltRecord) -> Result<bool, StoreError> {
        let tx = self.connection_mut().transaction().map_err(sql_err)?;
        let n = tx
            .execute(
                "INSERT OR IGNORE INTO pair_halts (pair_id, reason, source, halted_at_ns) VALUES (?1, ?2, ?3, ?4)",
                params![halt.pair_id, halt.reason, halt.source, halt.halted_at.nanos()],
            )
            .map_err(sql_err)?;
        if n == 1 {
            tx.execute(
                "INSERT INTO audit_log (at_ns, actor, action, detail) VALUES (?1, ?2, 'pair.halt', ?3)",
                params![
                    halt.halted_at.nanos(),
                    halt.source,
                    format!("{}: {}", halt.pair_id, halt.reason)
                ],
            )
            .map_err(sql_err)?;
        }
        tx.commit().map_err(sql_err)?;
        Ok(n == 1)
    }

    /// Every halted pair, by id.
    pub fn halted_pairs(&self) -> Result<Vec<HaltRecord>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare(
                "SELECT pair_id, reason, source, halted_at_ns FROM pair_halts ORDER BY pair_id",
            )
            .map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(HaltRecord {
                    pair_id: r.get(0)?,
                    reason: r.get(1)?,
                    source: r.get(2)?,
                    halted_at: Timestamp::from_nanos(r.get(3)?),
                })
            })
            .map_err(sql_err)?;
        rows.collect::<Result<_, _>>().map_err(sql_err)
    }

    /// Lifts a halt: an operator's decision, with a reason, audited in the
    /// same transaction. Returns false when the pair was not halted.
    pub fn resume_pair(
        &mut self,
        pair_id: &str,
        actor: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let tx = self.connection_mut().transaction().map_err(sql_err)?;
        let n = tx
            .execute(
                "DELETE FROM pair_halts WHERE pair_id = ?1",
                params![pair_id],
            )
            .map_err(sql_err)?;
        if n == 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO audit_log (at_ns, actor, action, detail) VALUES (?1, ?2, 'pair.resume', ?3)",
            params![at.nanos(), actor, format!("{pair_id}: {reason}")],
        )
        .map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
        Ok(true)
    }
}
