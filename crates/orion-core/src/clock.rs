//! Time: [`Timestamp`] and the [`Clock`] port.
//!
//! Domain code never reads the wall clock; it asks a `Clock`. Live runs use
//! [`SystemClock`]; tests and backtests use [`SimulatedClock`], which moves
//! only when told to (by event timestamps in a backtest).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Nanoseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp(0);

    pub const fn from_nanos(nanos: i64) -> Timestamp {
        Timestamp(nanos)
    }

    pub const fn from_millis(millis: i64) -> Timestamp {
        Timestamp(millis.saturating_mul(1_000_000))
    }

    pub const fn from_secs(secs: i64) -> Timestamp {
        Timestamp(secs.saturating_mul(1_000_000_000))
    }

    pub const fn nanos(self) -> i64 {
        self.0
    }

    pub const fn millis(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    pub fn saturating_add(self, d: Duration) -> Timestamp {
        let nanos = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(nanos))
    }

    pub fn saturating_sub(self, d: Duration) -> Timestamp {
        let nanos = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(nanos))
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        let delta = self.0.saturating_sub(earlier.0);
        Duration::from_nanos(u64::try_from(delta).unwrap_or(0))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({}ns)", self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", crate::time_fmt::rfc3339_millis(*self))
    }
}

/// Where domain code gets the time.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp(i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to, and never backwards.
#[derive(Debug, Clone, Default)]
pub struct SimulatedClock {
    now: Arc<AtomicI64>,
}

impl SimulatedClock {
    pub fn new(start: Timestamp) -> SimulatedClock {
        SimulatedClock {
            now: Arc::new(AtomicI64::new(start.0)),
        }
    }

    /// Moves the clock to `t` if `t` is later than now; returns the new time.
    pub fn advance_to(&self, t: Timestamp) -> Timestamp {
        let previous = self.now.fetch_max(t.0, Ordering::AcqRel);
        Timestamp(previous.max(t.0))
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) -> Timestamp {
        let nanos = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        let previous = self.now.fetch_add(nanos, Ordering::AcqRel);
        Timestamp(previous.saturating_add(nanos))
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_clock_never_goes_back() {
        let clock = SimulatedClock::new(Timestamp::from_secs(100));
        assert_eq!(
            clock.advance_to(Timestamp::from_secs(90)),
            Timestamp::from_secs(100)
        );
        assert_eq!(
            clock.advance_to(Timestamp::from_secs(110)),
            Timestamp::from_secs(110)
        );
        assert_eq!(
            clock.advance(Duration::from_millis(5)),
            Timestamp::from_nanos(110_005_000_000)
        );
        assert_eq!(clock.now().millis(), 110_005);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > Timestamp::from_secs(1_577_836_800));
    }

    #[test]
    fn since_saturates() {
        let a = Timestamp::from_secs(5);
        let b = Timestamp::from_secs(7);
        assert_eq!(b.since(a), Duration::from_secs(2));
        assert_eq!(a.since(b), Duration::ZERO);
    }
}
