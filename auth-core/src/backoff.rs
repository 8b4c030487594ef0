//! Transient-failure backoff (AUTH.md §7.4d): exponential with jitter, `Retry-After` as a lower
//! bound, capped.

use std::fmt::Debug;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::RngExt;

use crate::fingerprint::Fingerprint;

/// Longest delay between two attempts that backoff alone produces.
const MAX_DELAY: Duration = Duration::from_secs(300);
/// `Retry-After` values above this are capped.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Source of the jitter factor `J` of the backoff formula.
pub trait Jitter: Send + Sync + Debug {
    /// A factor, normally uniform in [0.8, 1.2].
    fn factor(&self) -> f64;
}

/// Uniform jitter in [0.8, 1.2] from the thread RNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomJitter;

impl Jitter for RandomJitter {
    fn factor(&self) -> f64 {
        rand::rng().random_range(0.8..=1.2)
    }
}

/// A constant jitter factor, for tests (AUTH.md §12 uses 1).
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub struct FixedJitter(pub f64);

#[cfg(test)]
impl Jitter for FixedJitter {
    fn factor(&self) -> f64 {
        self.0
    }
}

/// Backoff state of one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Backoff {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) attempts: u32,
    pub(crate) next_attempt_at: DateTime<Utc>,
    /// Display text of the last transient failure, for `refreshFailure.message`.
    pub(crate) last_error: String,
}

impl Backoff {
    /// The state after one more consecutive failure of `fingerprint` at `now`.
    pub(crate) fn after_failure(
        previous: Option<&Backoff>,
        fingerprint: Fingerprint,
        now: DateTime<Utc>,
        retry_after: Option<Duration>,
        jitter: f64,
        last_error: String,
    ) -> Backoff {
        let attempts = match previous {
            Some(b) if b.fingerprint == fingerprint => b.attempts.saturating_add(1),
            _ => 1,
        };
        let exponent = attempts.saturating_sub(1).min(16);
        let base = Duration::from_secs(1u64 << exponent).mul_f64(jitter.max(0.0));
        let mut delay = base.min(MAX_DELAY);
        if let Some(ra) = retry_after {
            delay = delay.max(ra.min(MAX_RETRY_AFTER));
        }
        let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(300));
        Backoff {
            fingerprint,
            attempts,
            next_attempt_at: now + delay,
            last_error,
        }
    }

    /// Whether an attempt for `fingerprint` is blocked at `now`.
    pub(crate) fn blocks(&self, fingerprint: Fingerprint, now: DateTime<Utc>) -> bool {
        self.fingerprint == fingerprint && now < self.next_attempt_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp() -> Fingerprint {
        crate::auth_json::StoredAuth::api_key(crate::secret::Secret::new("k")).fingerprint()
    }

    #[test]
    fn delays_double_from_one_second_and_cap_at_300() {
        let t0 = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap_or_default();
        let mut b: Option<Backoff> = None;
        let mut delays = Vec::new();
        for _ in 0..10 {
            let next = Backoff::after_failure(b.as_ref(), fp(), t0, None, 1.0, String::new());
            delays.push((next.next_attempt_at - t0).num_seconds());
            b = Some(next);
        }
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
    }

    #[test]
    fn retry_after_is_a_lower_bound_capped_at_an_hour() {
        let t0 = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap_or_default();
        let b = Backoff::after_failure(
            None,
            fp(),
            t0,
            Some(Duration::from_secs(120)),
            1.0,
            String::new(),
        );
        assert_eq!((b.next_attempt_at - t0).num_seconds(), 120);
        let b = Backoff::after_failure(
            None,
            fp(),
            t0,
            Some(Duration::from_secs(99_999)),
            1.0,
            String::new(),
        );
        assert_eq!((b.next_attempt_at - t0).num_seconds(), 3600);
    }

    #[test]
    fn jitter_scales_the_delay() {
        let t0 = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap_or_default();
        let b = Backoff::after_failure(None, fp(), t0, None, 1.2, String::new());
        assert_eq!((b.next_attempt_at - t0).num_milliseconds(), 1200);
        assert!(b.blocks(fp(), t0 + chrono::Duration::milliseconds(1199)));
        assert!(!b.blocks(fp(), t0 + chrono::Duration::milliseconds(1200)));
    }
}
