//! [`EngineControl`] for orion-runtime's running engine.

use async_trait::async_trait;
use orion_decision::Control;
use orion_runtime::EngineHandle;

use crate::commands::{EngineControl, EngineStatus};

#[async_trait]
impl EngineControl for EngineHandle {
    async fn control(&self, control: Control) {
        EngineHandle::control(self, control).await;
    }

    fn status(&self) -> EngineStatus {
        let (ready, report) = self.ready();
        let (breaker, failing_checks) = crate::commands::readiness(&report);
        let s = EngineHandle::status(self);
        EngineStatus {
            ready,
            breaker,
            failing_checks,
            counters: vec![
                ("pairs".into(), s.pairs),
                ("suspended pairs".into(), s.suspended_pairs),
                ("book events".into(), s.book_events),
                ("opportunities".into(), s.opportunities),
                ("executions".into(), s.executions),
                ("simulated executions".into(), s.simulated_executions),
                ("completed".into(), s.completed),
                ("refusals".into(), s.refusals),
            ],
        }
    }
}
