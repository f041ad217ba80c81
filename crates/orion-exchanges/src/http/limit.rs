//! Rate limiting that waits instead of bursting into a 429.
//!
//! Two shapes, because the venues document two:
//!
//! * [`TokenBucket`]: Kalshi's read and write buckets (kalshi.md §9): a
//!   capacity and a refill rate in tokens per second; each request costs
//!   tokens by endpoint.
//! * [`SlidingWindow`]: Polymarket's "N per 10 s" limits (polymarket.md §12):
//!   at most N units granted in any window of that length.
//!
//! Both are *reservation* limiters: a caller that cannot be served now takes
//! its place in line (the bucket goes into debt, the window books a future
//! slot) and sleeps until its slot, so concurrent callers are served in order
//! and the budget holds however many wait. Time comes from a [`TimeSource`],
//! so tests drive it with tokio's paused clock.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Where a limiter reads the time. The default is tokio's clock, which tests
/// pause and advance deterministically (`tokio::time::pause`).
pub trait TimeSource: Send + Sync + fmt::Debug {
    fn now(&self) -> Instant;
}

/// tokio's monotonic clock (paused-time aware).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTime;

impl TimeSource for TokioTime {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Tokens are counted in millitokens so refill needs no fractions.
const MILLI: i128 = 1_000;
const NANOS_PER_SEC: i128 = 1_000_000_000;

#[derive(Debug)]
struct BucketState {
    /// Millitokens available; negative while callers are queued.
    level: i128,
    last: Instant,
}

/// A token bucket: `capacity` tokens, refilled at `rate_per_sec`.
#[derive(Debug)]
pub struct TokenBucket {
    name: &'static str,
    capacity: i128,
    rate_per_sec: i128,
    state: Mutex<BucketState>,
    time: Arc<dyn TimeSource>,
}

impl TokenBucket {
    /// A full bucket. A zero rate is raised to one token per second so a
    /// misconfiguration slows down rather than deadlocks.
    pub fn new(
        name: &'static str,
        capacity: u32,
        rate_per_sec: u32,
        time: Arc<dyn TimeSource>,
    ) -> TokenBucket {
        let capacity = i128::from(capacity.max(1)) * MILLI;
        let now = time.now();
        TokenBucket {
            name,
            capacity,
            rate_per_sec: i128::from(rate_per_sec.max(1)),
            state: Mutex::new(BucketState {
                level: capacity,
                last: now,
            }),
            time,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    fn refill(&self, st: &mut BucketState, now: Instant) {
        let elapsed = i128::try_from(now.saturating_duration_since(st.last).as_nanos())
            .unwrap_or(i128::MAX / 4);
        let gained = elapsed.saturating_mul(self.rate_per_sec) * MILLI / NANOS_PER_SEC;
        if gained > 0 {
            st.level = st.level.saturating_add(gained).min(self.capacity);
            // Advance `last` only by the time that produced whole millitokens,
            // so slow trickles are not lost to truncation.
            let used_nanos = gained * NANOS_PER_SEC / (self.rate_per_sec * MILLI);
            st.last += Duration::from_nanos(u64::try_from(used_nanos).unwrap_or(u64::MAX));
            if st.level == self.capacity {
                st.last = now;
            }
        }
    }

    /// Reserves `cost` tokens and returns how long to wait before using them.
    pub fn reserve(&self, cost: u32) -> Duration {
        let now = self.time.now();
        let cost = i128::from(cost) * MILLI;
        // A poisoned lock only means another thread panicked mid-update; the
        // state is two integers and stays usable.
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.refill(&mut st, now);
        st.level -= cost;
        if st.level >= 0 {
            return Duration::ZERO;
        }
        let deficit = -st.level;
        let denom = self.rate_per_sec * MILLI;
        let nanos = (deficit * NANOS_PER_SEC + denom - 1) / denom;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Empties the bucket: the venue said 429, so our view of its budget was
    /// too generous (another process shares the key, or the tier is lower).
    pub fn drain(&self) {
        let now = self.time.now();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.refill(&mut st, now);
        st.level = st.level.min(0);
    }
}

/// At most `limit` units in any `window`.
#[derive(Debug)]
pub struct SlidingWindow {
    name: &'static str,
    limit: u32,
    window: Duration,
    /// Grant times (possibly in the future: reservations) and their costs.
    grants: Mutex<VecDeque<(Instant, u32)>>,
    time: Arc<dyn TimeSource>,
}

impl SlidingWindow {
    pub fn new(
        name: &'static str,
        limit: u32,
        window: Duration,
        time: Arc<dyn TimeSource>,
    ) -> SlidingWindow {
        SlidingWindow {
            name,
            limit: limit.max(1),
            window,
            grants: Mutex::new(VecDeque::new()),
            time,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Books the earliest slot at which `cost` more units keep every window
    /// within the limit, and returns the wait until it.
    pub fn reserve(&self, cost: u32) -> Duration {
        let now = self.time.now();
        let cost = cost.min(self.limit);
        let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
        while grants.front().is_some_and(|(t, _)| *t + self.window <= now) {
            grants.pop_front();
        }
        // Grants are kept in time order, so the candidate slot only moves
        // forward: start now (or after the last reservation) and, while the
        // window ending at the slot is too full, move past its oldest grant.
        let mut slot = grants.back().map_or(now, |(t, _)| (*t).max(now));
        loop {
            let start = slot.checked_sub(self.window).unwrap_or(slot);
            let used: u64 = grants
                .iter()
                .filter(|(t, _)| *t > start)
                .map(|(_, c)| u64::from(*c))
                .sum();
            if used + u64::from(cost) <= u64::from(self.limit) {
                break;
            }
            match grants.iter().find(|(t, _)| *t > start) {
                Some((t, _)) => slot = *t + self.window,
                None => break,
            }
        }
        grants.push_back((slot, cost));
        slot.saturating_duration_since(now)
    }

    /// Pushes every future grant back by a full window (after a 429).
    pub fn drain(&self) {
        let now = self.time.now();
        let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
        grants.push_back((now, self.limit));
    }
}

/// One limiter a request draws from.
#[derive(Debug, Clone)]
pub enum Limiter {
    Bucket(Arc<TokenBucket>),
    Window(Arc<SlidingWindow>),
}

impl Limiter {
    pub fn name(&self) -> &'static str {
        match self {
            Limiter::Bucket(b) => b.name(),
            Limiter::Window(w) => w.name(),
        }
    }

    pub fn reserve(&self, cost: u32) -> Duration {
        match self {
            Limiter::Bucket(b) => b.reserve(cost),
            Limiter::Window(w) => w.reserve(cost),
        }
    }

    pub fn drain(&self) {
        match self {
            Limiter::Bucket(b) => b.drain(),
            Limiter::Window(w) => w.drain(),
        }
    }
}

/// The limiters one request passes and what it costs in each.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    pub charges: Vec<(Limiter, u32)>,
}

impl Budget {
    pub fn none() -> Budget {
        Budget::default()
    }

    pub fn with(mut self, limiter: &Limiter, cost: u32) -> Budget {
        self.charges.push((limiter.clone(), cost));
        self
    }

    /// Reserves in every limiter and returns the longest wait. Reserving
    /// everywhere at once (rather than one after another) keeps a request
    /// from holding a slot in one limiter while it sleeps for another.
    pub fn reserve(&self) -> Duration {
        self.charges
            .iter()
            .map(|(l, c)| l.reserve(*c))
            .max()
            .unwrap_or(Duration::ZERO)
    }

    pub fn drain(&self) {
        for (l, _) in &self.charges {
            l.drain();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn tokio_time() -> Arc<dyn TimeSource> {
        Arc::new(TokioTime)
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_serves_burst_then_paces() {
        // Kalshi Basic read: 200 tokens/s, 10 per request.
        let b = TokenBucket::new("read", 200, 200, tokio_time());
        for _ in 0..20 {
            assert_eq!(b.reserve(10), Duration::ZERO);
        }
        // The 21st request waits for 10 tokens: 50 ms.
        assert_eq!(b.reserve(10), Duration::from_millis(50));
        // And the 22nd queues behind it.
        assert_eq!(b.reserve(10), Duration::from_millis(100));
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(b.reserve(10), Duration::from_millis(50));
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_never_grants_more_than_budget() {
        let b = TokenBucket::new("write", 100, 100, tokio_time());
        // Grant 1000 requests of cost 10 at their reserved times; count how
        // many fall in each one-second window: at most capacity + rate.
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..1000 {
            at.push(start + b.reserve(10));
        }
        let last = *at.last().unwrap();
        // 1000 × 10 tokens = 10 000; the first 100 are free: ≥ 99 s.
        assert!(
            last - start >= Duration::from_secs(99),
            "{:?}",
            last - start
        );
        for w in 0..100u64 {
            let lo = start + Duration::from_secs(w);
            let hi = lo + Duration::from_secs(1);
            let n = at.iter().filter(|t| **t >= lo && **t < hi).count();
            assert!(n <= 20, "window {w}: {n} grants");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_drain_forces_a_wait() {
        let b = TokenBucket::new("read", 200, 200, tokio_time());
        b.drain();
        assert_eq!(b.reserve(10), Duration::from_millis(50));
    }

    #[tokio::test(start_paused = true)]
    async fn window_holds_limit_in_every_window() {
        let w = SlidingWindow::new("book", 5, Duration::from_secs(10), tokio_time());
        let start = Instant::now();
        let at: Vec<Instant> = (0..23).map(|_| start + w.reserve(1)).collect();
        for (i, t) in at.iter().enumerate() {
            let n = at
                .iter()
                .filter(|u| **u <= *t && **u + Duration::from_secs(10) > *t)
                .count();
            assert!(n <= 5, "grant {i}: {n} in window");
        }
        // 23 grants at 5 per 10 s: the last lands at 40 s.
        assert_eq!(*at.last().unwrap() - start, Duration::from_secs(40));
        tokio::time::advance(Duration::from_secs(100)).await;
        assert_eq!(w.reserve(1), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn budget_waits_for_the_slowest() {
        let a = Limiter::Bucket(Arc::new(TokenBucket::new("a", 10, 10, tokio_time())));
        let b = Limiter::Window(Arc::new(SlidingWindow::new(
            "b",
            1,
            Duration::from_secs(10),
            tokio_time(),
        )));
        let budget = Budget::none().with(&a, 1).with(&b, 1);
        assert_eq!(budget.reserve(), Duration::ZERO);
        assert_eq!(budget.reserve(), Duration::from_secs(10));
    }
}
