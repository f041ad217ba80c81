//! [`FanOut`] (one alert to every destination) and [`LogAlerter`] (the
//! alert in the process log, always on).

use std::sync::Arc;

use orion_core::{Alert, Alerter, Severity};

/// Writes each alert to the log: critical as error, warning as warn, info
/// as info. The log is never rate limited here (the log pipeline has its
/// own limits) so nothing an operator might need is lost from it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogAlerter;

impl Alerter for LogAlerter {
    fn alert(&self, alert: Alert) {
        let Alert {
            severity,
            key,
            message,
            at,
        } = alert;
        match severity {
            Severity::Critical => tracing::error!(%key, %at, "alert: {message}"),
            Severity::Warning => tracing::warn!(%key, %at, "alert: {message}"),
            Severity::Info => tracing::info!(%key, %at, "alert: {message}"),
        }
    }
}

/// Sends every alert to each of its alerters, in order. Each must return
/// at once (see [`orion_core::Alerter`]), so neither does this.
#[derive(Debug, Clone, Default)]
pub struct FanOut {
    alerters: Vec<Arc<dyn Alerter>>,
}

impl FanOut {
    pub fn new(alerters: Vec<Arc<dyn Alerter>>) -> FanOut {
        FanOut { alerters }
    }

    pub fn len(&self) -> usize {
        self.alerters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerters.is_empty()
    }
}

impl Alerter for FanOut {
    fn alert(&self, alert: Alert) {
        if let Some((last, rest)) = self.alerters.split_last() {
            for a in rest {
                a.alert(alert.clone());
            }
            last.alert(alert);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use orion_core::Timestamp;

    use super::*;

    #[derive(Debug, Default)]
    struct Recording(Mutex<Vec<String>>);

    impl Alerter for Recording {
        fn alert(&self, alert: Alert) {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(alert.key);
        }
    }

    #[test]
    fn every_alerter_gets_every_alert() {
        let a = Arc::new(Recording::default());
        let b = Arc::new(Recording::default());
        let fan = FanOut::new(vec![a.clone(), Arc::new(LogAlerter), b.clone()]);
        for key in ["x", "y"] {
            fan.alert(Alert {
                severity: Severity::Info,
                key: key.into(),
                message: "m".into(),
                at: Timestamp::ZERO,
            });
        }
        for r in [a, b] {
            assert_eq!(*r.0.lock().unwrap_or_else(|e| e.into_inner()), ["x", "y"]);
        }
    }
}
