//! Exponential backoff with full jitter, and the tower retry policy that
//! uses it for idempotent requests only.
//!
//! Written here because the `backoff` crate is unmaintained
//! (RUSTSEC-2025-0012). Full jitter (sleep a uniform random time in
//! `0..=min(cap, base × 2^attempt)`) spreads retries of many clients so they
//! do not hit a recovering venue in lockstep.

use std::time::Duration;

use rand::Rng;

use super::{ApiRequest, ApiResponse, BoxError};

/// Backoff parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    /// Retries after the first attempt (so `max_retries + 1` attempts in all).
    pub max_retries: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
            max_retries: 4,
        }
    }
}

impl Backoff {
    /// The ceiling of the `attempt`-th retry's sleep (0-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(30)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A full-jitter sleep for the `attempt`-th retry, from `unit` in
    /// `0..=u64::MAX` (a random draw; a parameter so tests can pin it).
    pub fn delay_from(&self, attempt: u32, unit: u64) -> Duration {
        let ceiling =
            u128::from(u64::try_from(self.ceiling(attempt).as_nanos()).unwrap_or(u64::MAX));
        // Scale the draw onto 0..=ceiling with integers only.
        let nanos = ceiling * u128::from(unit) / u128::from(u64::MAX);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// A random full-jitter sleep for the `attempt`-th retry.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_from(attempt, rand::rng().random::<u64>())
    }
}

/// Whether a finished attempt deserves another.
pub fn retryable(result: &Result<ApiResponse, BoxError>) -> bool {
    match result {
        Ok(resp) => matches!(resp.status.as_u16(), 429 | 500 | 502 | 503 | 504),
        // Timeouts and transport failures: for an idempotent read, trying
        // again is harmless.
        Err(_) => true,
    }
}

/// tower retry policy: only requests marked idempotent are cloned, so a
/// submit or cancel is never re-sent by the stack.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    backoff: Backoff,
    attempt: u32,
}

impl RetryPolicy {
    pub fn new(backoff: Backoff) -> RetryPolicy {
        RetryPolicy {
            backoff,
            attempt: 0,
        }
    }
}

impl tower::retry::Policy<ApiRequest, ApiResponse, BoxError> for RetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        req: &mut ApiRequest,
        result: &mut Result<ApiResponse, BoxError>,
    ) -> Option<Self::Future> {
        if !req.endpoint.idempotent || self.attempt >= self.backoff.max_retries {
            return None;
        }
        if !retryable(result) {
            return None;
        }
        let delay = self.backoff.delay(self.attempt);
        self.attempt += 1;
        req.attempt = self.attempt;
        metrics::counter!("orion_http_retries_total",
            "venue" => req.endpoint.venue.as_str(), "endpoint" => req.endpoint.name)
        .increment(1);
        tracing::debug!(
            venue = req.endpoint.venue.as_str(),
            endpoint = req.endpoint.name,
            attempt = self.attempt,
            ?delay,
            "retrying"
        );
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, req: &ApiRequest) -> Option<ApiRequest> {
        req.endpoint.idempotent.then(|| req.clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            max_retries: 10,
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(1), Duration::from_millis(200));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(4), Duration::from_secs(1));
        assert_eq!(b.ceiling(200), Duration::from_secs(1));
    }

    #[test]
    fn jitter_spans_zero_to_ceiling() {
        let b = Backoff::default();
        assert_eq!(b.delay_from(2, 0), Duration::ZERO);
        assert_eq!(b.delay_from(2, u64::MAX), b.ceiling(2));
        let mid = b.delay_from(2, u64::MAX / 2);
        assert!(mid > Duration::from_millis(199) && mid < Duration::from_millis(201));
        for a in 0..50 {
            assert!(b.delay(a) <= b.cap);
        }
    }
}
