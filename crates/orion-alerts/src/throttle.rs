//! The pure policy of one alert lane: coalescing repeats of a key and a
//! per-minute message budget.
//!
//! No I/O and no clock reads: every call is given `now` (from
//! `orion_core::Clock`), so tests drive it with a `SimulatedClock`.
//!
//! Accounting is exact: every alert offered ends up in exactly one of
//! * the first message of its key's window ([`Outgoing::Alert`]),
//! * the repeat count of a window summary ([`Outgoing::Repeats`]),
//! * the count of a drop note ([`Outgoing::Dropped`]),
//! * or is still [`Throttle::pending`] (an open window, or drops not yet
//!   reported).
//!
//! so an operator can always add up what happened during a storm.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use orion_core::{Alert, Severity, Timestamp};

/// The budget is counted over a sliding minute: at most `max_per_minute`
/// messages in any 60 s interval, not just per calendar minute.
const BUDGET_PERIOD: Duration = Duration::from_secs(60);

/// The key drop notes carry.
pub const DROPPED_KEY: &str = "orion.alerts.dropped";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Repeats of a key within this long of its first message are folded
    /// into one summary. Zero disables coalescing.
    pub coalesce_window: Duration,
    /// Messages (first alerts, summaries and drop notes alike) per sliding
    /// minute. At least 1.
    pub max_per_minute: u32,
}

/// A message the lane should deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// The first alert of its key in a window.
    Alert(Alert),
    /// A window closed with `more` repeats after its first message.
    Repeats {
        severity: Severity,
        key: String,
        /// The newest repeat's text.
        last_message: String,
        more: u64,
        /// When the newest repeat was raised.
        last_at: Timestamp,
        window: Duration,
    },
    /// Alerts dropped by the budget (or a full queue) since the last note.
    Dropped { count: u64, at: Timestamp },
}

impl Outgoing {
    /// How many alerts this message stands for.
    pub fn count(&self) -> u64 {
        match self {
            Outgoing::Alert(_) => 1,
            Outgoing::Repeats { more, .. } => *more,
            Outgoing::Dropped { count, .. } => *count,
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            Outgoing::Alert(a) => a.severity,
            Outgoing::Repeats { severity, .. } => *severity,
            Outgoing::Dropped { .. } => Severity::Warning,
        }
    }

    pub fn key(&self) -> &str {
        match self {
            Outgoing::Alert(a) => &a.key,
            Outgoing::Repeats { key, .. } => key,
            Outgoing::Dropped { .. } => DROPPED_KEY,
        }
    }

    pub fn at(&self) -> Timestamp {
        match self {
            Outgoing::Alert(a) => a.at,
            Outgoing::Repeats { last_at, .. } => *last_at,
            Outgoing::Dropped { at, .. } => *at,
        }
    }

    /// The human-readable text (without severity or key).
    pub fn message(&self) -> String {
        match self {
            Outgoing::Alert(a) => a.message.clone(),
            Outgoing::Repeats {
                last_message,
                more,
                window,
                ..
            } => format!(
                "{more} more like this within {} s (latest: {last_message})",
                window.as_secs()
            ),
            Outgoing::Dropped { count, .. } => {
                format!("{count} alerts dropped (alert rate limit or full queue)")
            }
        }
    }
}

/// What happened to one offered alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Goes out as the first message of its key's window.
    Sent,
    /// Folded into an open window; reported in its summary.
    Coalesced,
    /// Over budget; reported in the next drop note.
    Dropped,
}

#[derive(Debug, Clone)]
struct Window {
    opened: Timestamp,
    severity: Severity,
    more: u64,
    last_message: String,
    last_at: Timestamp,
}

/// One lane's coalescing windows and budget.
#[derive(Debug, Clone)]
pub struct Throttle {
    settings: ThrottleSettings,
    windows: HashMap<String, Window>,
    /// Send times within the last budget period, oldest first.
    sent: VecDeque<Timestamp>,
    /// Alerts dropped and not yet reported in a note.
    dropped: u64,
    /// Alerts dropped since the last [`Throttle::take_new_drops`] (metrics).
    new_drops: u64,
}

impl Throttle {
    pub fn new(settings: ThrottleSettings) -> Throttle {
        Throttle {
            settings: ThrottleSettings {
                max_per_minute: settings.max_per_minute.max(1),
                ..settings
            },
            windows: HashMap::new(),
            sent: VecDeque::new(),
            dropped: 0,
            new_drops: 0,
        }
    }

    pub fn settings(&self) -> ThrottleSettings {
        self.settings
    }

    /// Offers one alert; messages to deliver now are appended to `out`
    /// (a summary of the key's expired window and a pending drop note may
    /// come before the alert itself).
    pub fn offer(&mut self, alert: Alert, now: Timestamp, out: &mut Vec<Outgoing>) -> Fate {
        self.close_if_expired(&alert.key, now, out);
        if let Some(w) = self.windows.get_mut(&alert.key) {
            w.more = w.more.saturating_add(1);
            w.severity = w.severity.max(alert.severity);
            w.last_message = alert.message;
            w.last_at = alert.at;
            return Fate::Coalesced;
        }
        self.release_drop_note(now, out);
        if !self.take_budget(now) {
            self.drop_alerts(1);
            return Fate::Dropped;
        }
        if !self.settings.coalesce_window.is_zero() {
            self.windows.insert(
                alert.key.clone(),
                Window {
                    opened: now,
                    severity: alert.severity,
                    more: 0,
                    last_message: String::new(),
                    last_at: alert.at,
                },
            );
        }
        out.push(Outgoing::Alert(alert));
        Fate::Sent
    }

    /// Closes every expired window (summaries for those with repeats) and
    /// sends a drop note if the budget allows. Call it periodically.
    pub fn tick(&mut self, now: Timestamp, out: &mut Vec<Outgoing>) {
        self.release_drop_note(now, out);
        let window = self.settings.coalesce_window;
        let mut expired: Vec<(Timestamp, String)> = self
            .windows
            .iter()
            .filter(|(_, w)| now >= w.opened.saturating_add(window))
            .map(|(k, w)| (w.opened, k.clone()))
            .collect();
        // Oldest window first, so summaries come out in the order the
        // storms began (and deterministically for tests).
        expired.sort();
        for (_, key) in expired {
            self.close_if_expired(&key, now, out);
        }
    }

    /// Closes every window now, expired or not (at shutdown): summaries
    /// for those with repeats and the drop note, as far as the budget
    /// allows; the rest stays in [`Throttle::pending`].
    pub fn close_all(&mut self, now: Timestamp, out: &mut Vec<Outgoing>) {
        self.release_drop_note(now, out);
        let mut open: Vec<(Timestamp, String)> = self
            .windows
            .iter()
            .map(|(k, w)| (w.opened, k.clone()))
            .collect();
        open.sort();
        for (_, key) in open {
            let Some(w) = self.windows.remove(&key) else {
                continue;
            };
            if w.more == 0 {
                continue;
            }
            if self.take_budget(now) {
                out.push(Outgoing::Repeats {
                    severity: w.severity,
                    key,
                    last_message: w.last_message,
                    more: w.more,
                    last_at: w.last_at,
                    window: self.settings.coalesce_window,
                });
            } else {
                self.drop_alerts(w.more);
            }
        }
    }

    /// Records alerts that had a message but could not be queued (the
    /// sender is stalled): they are reported in the next drop note.
    pub fn undeliverable(&mut self, count: u64) {
        self.drop_alerts(count);
    }

    /// Alerts dropped since the last call (for metrics).
    pub fn take_new_drops(&mut self) -> u64 {
        std::mem::take(&mut self.new_drops)
    }

    /// Alerts accepted but not yet reported: repeats in open windows plus
    /// drops awaiting a note.
    pub fn pending(&self) -> u64 {
        self.windows
            .values()
            .map(|w| w.more)
            .fold(self.dropped, u64::saturating_add)
    }

    /// The earliest time something could change without a new alert (a
    /// window closing or budget returning), if anything is waiting.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let window_close = self
            .windows
            .values()
            .map(|w| w.opened.saturating_add(self.settings.coalesce_window))
            .min();
        let budget_back = if self.dropped > 0 {
            self.sent.front().map(|t| t.saturating_add(BUDGET_PERIOD))
        } else {
            None
        };
        match (window_close, budget_back) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn drop_alerts(&mut self, count: u64) {
        self.dropped = self.dropped.saturating_add(count);
        self.new_drops = self.new_drops.saturating_add(count);
    }

    fn close_if_expired(&mut self, key: &str, now: Timestamp, out: &mut Vec<Outgoing>) {
        let expired = self
            .windows
            .get(key)
            .is_some_and(|w| now >= w.opened.saturating_add(self.settings.coalesce_window));
        if !expired {
            return;
        }
        let Some(w) = self.windows.remove(key) else {
            return;
        };
        if w.more == 0 {
            return;
        }
        // A summary needs budget like any message; without it its repeats
        // become drops (still counted, reported in the drop note).
        self.release_drop_note(now, out);
        if self.take_budget(now) {
            out.push(Outgoing::Repeats {
                severity: w.severity,
                key: key.to_string(),
                last_message: w.last_message,
                more: w.more,
                last_at: w.last_at,
                window: self.settings.coalesce_window,
            });
        } else {
            self.drop_alerts(w.more);
        }
    }

    fn release_drop_note(&mut self, now: Timestamp, out: &mut Vec<Outgoing>) {
        if self.dropped > 0 && self.take_budget(now) {
            out.push(Outgoing::Dropped {
                count: std::mem::take(&mut self.dropped),
                at: now,
            });
        }
    }

    fn take_budget(&mut self, now: Timestamp) -> bool {
        while self
            .sent
            .front()
            .is_some_and(|t| now >= t.saturating_add(BUDGET_PERIOD))
        {
            self.sent.pop_front();
        }
        if self.sent.len() < self.settings.max_per_minute as usize {
            self.sent.push_back(now);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orion_core::{Clock, SimulatedClock};

    fn alert(key: &str, severity: Severity, n: u64, at: Timestamp) -> Alert {
        Alert {
            severity,
            key: key.to_string(),
            message: format!("{key} #{n}"),
            at,
        }
    }

    fn settings(window_s: u64, max: u32) -> ThrottleSettings {
        ThrottleSettings {
            coalesce_window: Duration::from_secs(window_s),
            max_per_minute: max,
        }
    }

    fn total(out: &[Outgoing]) -> u64 {
        out.iter().map(Outgoing::count).sum()
    }

    #[test]
    fn repeats_within_the_window_become_one_summary() {
        let clock = SimulatedClock::new(Timestamp::from_secs(1_000));
        let mut t = Throttle::new(settings(60, 20));
        let mut out = Vec::new();
        for n in 0..10 {
            t.offer(
                alert("feed", Severity::Warning, n, clock.now()),
                clock.now(),
                &mut out,
            );
            clock.advance(Duration::from_secs(1));
        }
        assert_eq!(out.len(), 1, "only the first goes out at once: {out:?}");
        assert_eq!(t.pending(), 9);
        clock.advance(Duration::from_secs(49)); // 59 s after the first
        t.tick(clock.now(), &mut out);
        assert_eq!(out.len(), 1, "window still open at 59 s");
        clock.advance(Duration::from_secs(1));
        t.tick(clock.now(), &mut out);
        assert_eq!(out.len(), 2);
        match &out[1] {
            Outgoing::Repeats {
                more, last_message, ..
            } => {
                assert_eq!(*more, 9);
                assert_eq!(last_message, "feed #9");
            }
            other => panic!("expected a summary, got {other:?}"),
        }
        assert!(out[1].message().starts_with("9 more like this"));
        assert_eq!(t.pending(), 0);
        assert_eq!(total(&out), 10);
    }

    #[test]
    fn a_window_with_no_repeats_closes_silently() {
        let mut t = Throttle::new(settings(60, 20));
        let mut out = Vec::new();
        t.offer(
            alert("a", Severity::Info, 0, Timestamp::ZERO),
            Timestamp::ZERO,
            &mut out,
        );
        t.tick(Timestamp::from_secs(61), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn budget_caps_messages_per_sliding_minute_and_reports_drops_once() {
        let clock = SimulatedClock::new(Timestamp::from_secs(0));
        let mut t = Throttle::new(settings(0, 5));
        let mut out = Vec::new();
        let mut fates = Vec::new();
        for n in 0..50 {
            fates.push(t.offer(
                alert(&format!("k{n}"), Severity::Info, n, clock.now()),
                clock.now(),
                &mut out,
            ));
        }
        assert_eq!(out.len(), 5);
        assert_eq!(fates.iter().filter(|f| **f == Fate::Dropped).count(), 45);
        assert_eq!(t.take_new_drops(), 45);
        clock.advance(Duration::from_secs(59));
        t.tick(clock.now(), &mut out);
        assert_eq!(out.len(), 5, "budget comes back only after a full minute");
        clock.advance(Duration::from_secs(1));
        t.tick(clock.now(), &mut out);
        assert_eq!(out.len(), 6);
        assert_eq!(
            out[5],
            Outgoing::Dropped {
                count: 45,
                at: clock.now()
            }
        );
        t.tick(clock.now(), &mut out);
        assert_eq!(out.len(), 6, "one note, not one per tick");
        assert_eq!(total(&out), 50);
    }

    #[test]
    fn storm_never_exceeds_the_budget_in_any_minute() {
        let clock = SimulatedClock::new(Timestamp::from_secs(0));
        let max = 7;
        let mut t = Throttle::new(settings(30, max));
        let mut out = Vec::new();
        let mut sent_at: Vec<Timestamp> = Vec::new();
        let mut offered = 0u64;
        // 10 minutes: 40 alerts a second over 13 keys, ticking each second.
        for second in 0..600u64 {
            for n in 0..40u64 {
                let key = format!("k{}", (second * 40 + n) % 13);
                let before = out.len();
                t.offer(
                    alert(&key, Severity::Info, n, clock.now()),
                    clock.now(),
                    &mut out,
                );
                offered += 1;
                sent_at.extend(std::iter::repeat_n(clock.now(), out.len() - before));
            }
            let before = out.len();
            t.tick(clock.now(), &mut out);
            sent_at.extend(std::iter::repeat_n(clock.now(), out.len() - before));
            clock.advance(Duration::from_secs(1));
        }
        for (i, start) in sent_at.iter().enumerate() {
            let in_minute = sent_at[i..]
                .iter()
                .take_while(|t| t.since(*start) < Duration::from_secs(60))
                .count();
            assert!(
                in_minute <= max as usize,
                "{in_minute} messages within a minute"
            );
        }
        assert_eq!(
            total(&out) + t.pending(),
            offered,
            "every alert is accounted for"
        );
    }

    #[test]
    fn summary_without_budget_becomes_a_drop() {
        let mut t = Throttle::new(settings(10, 1));
        let mut out = Vec::new();
        t.offer(
            alert("a", Severity::Info, 0, Timestamp::ZERO),
            Timestamp::ZERO,
            &mut out,
        );
        for n in 1..4 {
            t.offer(
                alert("a", Severity::Critical, n, Timestamp::ZERO),
                Timestamp::ZERO,
                &mut out,
            );
        }
        t.tick(Timestamp::from_secs(10), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(t.pending(), 3, "three repeats now wait in the drop count");
        t.tick(Timestamp::from_secs(60), &mut out);
        assert_eq!(
            out[1],
            Outgoing::Dropped {
                count: 3,
                at: Timestamp::from_secs(60)
            }
        );
    }

    #[test]
    fn close_all_reports_open_windows_at_once() {
        let mut t = Throttle::new(settings(600, 3));
        let mut out = Vec::new();
        for (key, repeats) in [("a", 2), ("b", 0), ("c", 5)] {
            for n in 0..=repeats {
                t.offer(
                    alert(key, Severity::Info, n, Timestamp::ZERO),
                    Timestamp::ZERO,
                    &mut out,
                );
            }
        }
        assert_eq!(out.len(), 3);
        let now = Timestamp::from_secs(60);
        t.close_all(now, &mut out);
        let more: Vec<u64> = out[3..].iter().map(Outgoing::count).collect();
        assert_eq!(more, [2, 5], "b had no repeats: no summary");
        assert_eq!(t.pending(), 0);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn summary_takes_the_highest_severity() {
        let mut t = Throttle::new(settings(10, 10));
        let mut out = Vec::new();
        t.offer(
            alert("a", Severity::Info, 0, Timestamp::ZERO),
            Timestamp::ZERO,
            &mut out,
        );
        t.offer(
            alert("a", Severity::Critical, 1, Timestamp::ZERO),
            Timestamp::ZERO,
            &mut out,
        );
        t.offer(
            alert("a", Severity::Warning, 2, Timestamp::ZERO),
            Timestamp::ZERO,
            &mut out,
        );
        assert_eq!(t.next_deadline(), Some(Timestamp::from_secs(10)));
        t.tick(Timestamp::from_secs(10), &mut out);
        assert_eq!(out[1].severity(), Severity::Critical);
        assert_eq!(out[1].count(), 2);
    }

    #[test]
    fn an_alert_after_its_window_closed_gets_the_summary_first() {
        let mut t = Throttle::new(settings(10, 10));
        let mut out = Vec::new();
        t.offer(
            alert("a", Severity::Info, 0, Timestamp::ZERO),
            Timestamp::ZERO,
            &mut out,
        );
        t.offer(
            alert("a", Severity::Info, 1, Timestamp::ZERO),
            Timestamp::ZERO,
            &mut out,
        );
        let at = Timestamp::from_secs(11);
        assert_eq!(
            t.offer(alert("a", Severity::Info, 2, at), at, &mut out),
            Fate::Sent
        );
        assert_eq!(out.len(), 3);
        assert!(matches!(out[1], Outgoing::Repeats { more: 1, .. }));
        assert!(matches!(&out[2], Outgoing::Alert(a) if a.message == "a #2"));
    }
}
