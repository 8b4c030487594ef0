//! The injectable wall clock used for refresh scheduling, backoff and timestamps.

#[cfg(test)]
use std::time::Duration;

use chrono::{DateTime, Utc};
#[cfg(test)]
use parking_lot::{Mutex, MutexGuard};

/// A source of the current UTC time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The real system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests).
#[cfg(test)]
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

#[cfg(test)]
impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward by `d` (saturating at chrono's maximum).
    pub fn advance(&self, d: Duration) {
        let mut now = self.guard();
        let delta = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        *now = now
            .checked_add_signed(delta)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
    }

    /// Sets the clock to `t` (may move backwards).
    pub fn set(&self, t: DateTime<Utc>) {
        *self.guard() = t;
    }

    fn guard(&self) -> MutexGuard<'_, DateTime<Utc>> {
        self.now.lock()
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.guard()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use pretty_assertions::assert_eq;

    #[test]
    fn manual_clock_advances_and_sets() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), start + chrono::Duration::milliseconds(1500));
        let later = Utc.with_ymd_and_hms(2027, 5, 6, 7, 8, 9).unwrap();
        clock.set(later);
        assert_eq!(clock.now(), later);
        clock.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn manual_clock_saturates() {
        let clock = ManualClock::new(DateTime::<Utc>::MAX_UTC - chrono::Duration::seconds(1));
        clock.advance(Duration::from_secs(u64::MAX));
        assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn system_clock_is_close_to_now() {
        let diff = (SystemClock.now() - Utc::now()).num_seconds().abs();
        assert!(diff < 5);
    }
}
