//! One SQLite connection shared by the executor(s) and the engine loop.

use std::sync::{Arc, Mutex, MutexGuard};

use orion_core::{
    ClientOrderId, IntentOutcome, JournaledIntent, LegEvent, Store, StoreError, Timestamp,
    TradeIntent,
};
use orion_storage::Database;

/// The database behind a mutex. The journal writes are short (one SQLite
/// transaction each), so one connection serialises them without hurting the
/// loop; the database's own lock keeps other processes out.
#[derive(Debug, Clone)]
pub struct SharedDb(Arc<Mutex<Database>>);

impl SharedDb {
    pub fn new(db: Database) -> SharedDb {
        SharedDb(Arc::new(Mutex::new(db)))
    }

    /// The connection. A poisoned lock means a panic mid-call elsewhere;
    /// SQLite transactions are atomic, so the database itself is still sound.
    pub fn lock(&self) -> MutexGuard<'_, Database> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for SharedDb {
    fn record_intent(&mut self, intent: &TradeIntent) -> Result<(), StoreError> {
        self.lock().record_intent(intent)
    }

    fn record_leg_event(
        &mut self,
        intent_id: &str,
        client_order_id: &ClientOrderId,
        event: &LegEvent,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.lock()
            .record_leg_event(intent_id, client_order_id, event, at)
    }

    fn finish_intent(
        &mut self,
        intent_id: &str,
        outcome: &IntentOutcome,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.lock().finish_intent(intent_id, outcome, at)
    }

    fn unfinished_intents(&self) -> Result<Vec<JournaledIntent>, StoreError> {
        self.lock().unfinished_intents()
    }
}
