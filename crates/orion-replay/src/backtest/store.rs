//! An in-memory journal: the executor's `Store` port without SQLite. A
//! backtest has no crash to recover from, so durability buys nothing; the
//! journal protocol (intent before legs, every answer, finish) still runs.

use std::collections::BTreeMap;

use orion_core::{
    ClientOrderId, IntentOutcome, JournaledIntent, LegEvent, Store, StoreError, Timestamp,
    TradeIntent,
};

#[derive(Debug, Default)]
pub struct MemoryStore {
    intents: BTreeMap<String, (JournaledIntent, Option<IntentOutcome>)>,
}

impl MemoryStore {
    /// Intents finished with each outcome.
    pub fn finished(&self) -> impl Iterator<Item = (&str, &IntentOutcome)> {
        self.intents
            .iter()
            .filter_map(|(id, (_, o))| o.as_ref().map(|o| (id.as_str(), o)))
    }
}

impl Store for MemoryStore {
    fn record_intent(&mut self, intent: &TradeIntent) -> Result<(), StoreError> {
        if self.intents.contains_key(&intent.intent_id) {
            return Err(StoreError::Conflict(format!(
                "intent {} recorded twice",
                intent.intent_id
            )));
        }
        self.intents.insert(
            intent.intent_id.clone(),
            (
                JournaledIntent {
                    intent: intent.clone(),
                    events: Vec::new(),
                },
                None,
            ),
        );
        Ok(())
    }

    fn record_leg_event(
        &mut self,
        intent_id: &str,
        client_order_id: &ClientOrderId,
        event: &LegEvent,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (journaled, _) = self
            .intents
            .get_mut(intent_id)
            .ok_or_else(|| StoreError::NotFound(format!("intent {intent_id}")))?;
        journaled
            .events
            .push((client_order_id.clone(), event.clone(), at));
        Ok(())
    }

    fn finish_intent(
        &mut self,
        intent_id: &str,
        outcome: &IntentOutcome,
        _at: Timestamp,
    ) -> Result<(), StoreError> {
        let (_, finished) = self
            .intents
            .get_mut(intent_id)
            .ok_or_else(|| StoreError::NotFound(format!("intent {intent_id}")))?;
        *finished = Some(outcome.clone());
        Ok(())
    }

    fn unfinished_intents(&self) -> Result<Vec<JournaledIntent>, StoreError> {
        Ok(self
            .intents
            .values()
            .filter(|(_, o)| o.is_none())
            .map(|(j, _)| j.clone())
            .collect())
    }
}
