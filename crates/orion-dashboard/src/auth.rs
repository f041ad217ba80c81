//! Sessions, CSRF tokens and login throttling.
//!
//! Session ids are 256 random bits from the operating system's generator,
//! handed to the browser once (in the cookie) and kept here only as their
//! SHA-256, so a memory dump of the table does not yield a usable cookie.
//! Every session (an anonymous one is made for the login form, so the login
//! POST has a CSRF token too) carries its own CSRF token. Logging in always
//! creates a fresh session and deletes the anonymous one: a cookie planted
//! before login is worth nothing after it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use orion_core::{Clock, Timestamp};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

/// The session cookie's name. The `__Host-` prefix (which would pin it to
/// the exact origin) needs `Secure`, which plain-http loopback cannot set.
pub const COOKIE: &str = "orion_session";

/// Anonymous (login-form) sessions kept at most; the oldest go first, so a
/// flood of GET /login cannot grow memory without bound.
const MAX_ANONYMOUS: usize = 1024;
/// An anonymous session lives this long at most.
const ANONYMOUS_TTL: Duration = Duration::from_secs(30 * 60);
/// Authenticated sessions kept at most (one operator; a few browsers).
const MAX_AUTHENTICATED: usize = 64;

/// A random 256-bit value, hex-encoded. `None` only if the OS generator
/// fails, which callers treat as a server error (never a weaker fallback).
pub fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

fn key_of(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// Compares two strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, Clone)]
struct Session {
    csrf: String,
    authenticated: bool,
    created: Timestamp,
    last_seen: Timestamp,
    /// A message for the next page (the result of a POST, shown after its
    /// redirect).
    flash: Option<String>,
}

/// A live session as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub csrf: String,
    pub authenticated: bool,
}

/// The session table.
#[derive(Debug)]
pub struct Sessions {
    clock: Arc<dyn Clock>,
    idle: Duration,
    absolute: Duration,
    table: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    pub fn new(clock: Arc<dyn Clock>, idle: Duration, absolute: Duration) -> Sessions {
        Sessions {
            clock,
            idle,
            absolute,
            table: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<[u8; 32], Session>> {
        // The table holds no invariant a panic could break halfway.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn expired(&self, s: &Session, now: Timestamp) -> bool {
        let (idle, absolute) = if s.authenticated {
            (self.idle, self.absolute)
        } else {
            (ANONYMOUS_TTL, ANONYMOUS_TTL)
        };
        now.since(s.last_seen) >= idle || now.since(s.created) >= absolute
    }

    /// Creates a session; returns its id (for the cookie) and CSRF token.
    pub fn create(&self, authenticated: bool) -> Option<(String, String)> {
        let id = random_token()?;
        let csrf = random_token()?;
        let now = self.clock.now();
        let mut table = self.lock();
        table.retain(|_, s| !self.expired(s, now));
        let (cap, of_kind) = if authenticated {
            (
                MAX_AUTHENTICATED,
                table.values().filter(|s| s.authenticated).count(),
            )
        } else {
            (
                MAX_ANONYMOUS,
                table.values().filter(|s| !s.authenticated).count(),
            )
        };
        if of_kind >= cap {
            // Evict the least recently used session of the same kind.
            let oldest = table
                .iter()
                .filter(|(_, s)| s.authenticated == authenticated)
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                table.remove(&k);
            }
        }
        table.insert(
            key_of(&id),
            Session {
                csrf: csrf.clone(),
                authenticated,
                created: now,
                last_seen: now,
                flash: None,
            },
        );
        Some((id, csrf))
    }

    /// Looks a session up; a live one is touched (its idle timer restarts),
    /// an expired one is deleted.
    pub fn touch(&self, id: &str) -> Option<SessionInfo> {
        let now = self.clock.now();
        let key = key_of(id);
        let mut table = self.lock();
        let session = table.get(&key)?;
        if self.expired(session, now) {
            table.remove(&key);
            return None;
        }
        let session = table.get_mut(&key)?;
        session.last_seen = now;
        Some(SessionInfo {
            csrf: session.csrf.clone(),
            authenticated: session.authenticated,
        })
    }

    pub fn set_flash(&self, id: &str, message: String) {
        if let Some(s) = self.lock().get_mut(&key_of(id)) {
            s.flash = Some(message);
        }
    }

    pub fn take_flash(&self, id: &str) -> Option<String> {
        self.lock()
            .get_mut(&key_of(id))
            .and_then(|s| s.flash.take())
    }

    pub fn remove(&self, id: &str) {
        self.lock().remove(&key_of(id));
    }

    /// Live authenticated sessions (for tests and the status line).
    pub fn authenticated_count(&self) -> usize {
        let now = self.clock.now();
        self.lock()
            .values()
            .filter(|s| s.authenticated && !self.expired(s, now))
            .count()
    }
}

/// Failures allowed per client before it is locked out.
pub const FREE_FAILURES_PER_IP: u32 = 5;
/// Failures allowed across all clients (a distributed guess) before every
/// login is locked out.
pub const FREE_FAILURES_GLOBAL: u32 = 20;
/// The first lockout; each further failure doubles it, up to the maximum.
const BASE_LOCKOUT: Duration = Duration::from_secs(1);
const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Failures are forgotten after this long without another one.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Clients tracked at most (oldest forgotten first).
const MAX_TRACKED: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Timestamp,
    locked_until: Timestamp,
}

impl Failures {
    fn new(now: Timestamp) -> Failures {
        Failures {
            count: 0,
            last: now,
            locked_until: Timestamp::ZERO,
        }
    }

    fn fail(&mut self, now: Timestamp, free: u32) {
        if now.since(self.last) >= FORGET_AFTER {
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        self.last = now;
        if self.count >= free {
            let doublings = (self.count - free).min(20);
            let lockout = BASE_LOCKOUT
                .saturating_mul(1u32 << doublings)
                .min(MAX_LOCKOUT);
            self.locked_until = now.saturating_add(lockout);
        }
    }

    fn wait(&self, now: Timestamp) -> Option<Duration> {
        (self.locked_until > now).then(|| self.locked_until.since(now))
    }
}

/// Password-guess throttling: per client address and across all clients.
#[derive(Debug)]
pub struct Throttle {
    clock: Arc<dyn Clock>,
    state: Mutex<(HashMap<IpAddr, Failures>, Failures)>,
}

impl Throttle {
    pub fn new(clock: Arc<dyn Clock>) -> Throttle {
        let now = clock.now();
        Throttle {
            clock,
            state: Mutex::new((HashMap::new(), Failures::new(now))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, (HashMap<IpAddr, Failures>, Failures)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long `ip` must wait before trying a password, if it must.
    pub fn check(&self, ip: IpAddr) -> Option<Duration> {
        let now = self.clock.now();
        let state = self.lock();
        let own = state.0.get(&ip).and_then(|f| f.wait(now));
        let global = state.1.wait(now);
        match (own, global) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn failure(&self, ip: IpAddr) {
        let now = self.clock.now();
        let mut state = self.lock();
        if state.0.len() >= MAX_TRACKED && !state.0.contains_key(&ip) {
            let oldest = state.0.iter().min_by_key(|(_, f)| f.last).map(|(k, _)| *k);
            if let Some(k) = oldest {
                state.0.remove(&k);
            }
        }
        state
            .0
            .entry(ip)
            .or_insert_with(|| Failures::new(now))
            .fail(now, FREE_FAILURES_PER_IP);
        state.1.fail(now, FREE_FAILURES_GLOBAL);
    }

    /// A correct password clears the client's own record (not the global one:
    /// one good login must not unlock a distributed guess).
    pub fn success(&self, ip: IpAddr) {
        self.lock().0.remove(&ip);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use orion_core::SimulatedClock;

    #[test]
    fn lockout_starts_after_the_free_failures_and_doubles() {
        let clock = Arc::new(SimulatedClock::new(Timestamp::from_secs(1_000)));
        let t = Throttle::new(clock.clone());
        let ip: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..FREE_FAILURES_PER_IP - 1 {
            t.failure(ip);
            assert_eq!(t.check(ip), None);
        }
        t.failure(ip);
        assert_eq!(t.check(ip), Some(Duration::from_secs(1)));
        t.failure(ip);
        assert_eq!(t.check(ip), Some(Duration::from_secs(2)));
        clock.advance(Duration::from_secs(2));
        assert_eq!(t.check(ip), None);
        // Another client is not locked out by this one (yet).
        assert_eq!(t.check([127, 0, 0, 2].into()), None);
        t.success(ip);
        assert_eq!(t.check(ip), None);
    }

    #[test]
    fn global_lockout_catches_many_clients() {
        let clock = Arc::new(SimulatedClock::new(Timestamp::from_secs(1_000)));
        let t = Throttle::new(clock);
        for i in 0..FREE_FAILURES_GLOBAL {
            t.failure([10, 0, (i / 256) as u8, (i % 256) as u8].into());
        }
        assert!(t.check([10, 9, 9, 9].into()).is_some());
    }

    #[test]
    fn tokens_are_distinct_and_compare_exactly() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
