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
        let checks = report.get("checks").and_then(|c| c.as_object());
        let breaker = checks
            .and_then(|c| c.get("breaker"))
            .and_then(|b| b.get("state"))
            .and_then(|s| s.as_str())
            .unwrap_or("unknown")
            .to_string();
        let failing_checks = checks
            .map(|c| {
                c.iter()
                    .filter(|(_, v)| {
                        // A check is either a bool or {"ok": bool, ...}.
                        let ok = v
                            .as_bool()
                            .or_else(|| v.get("ok").and_then(|o| o.as_bool()));
                        ok == Some(false)
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
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
