#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use pretty_assertions::assert_eq;
use serde_json::json;
use tokio::time::Instant;

use super::*;

fn grant() -> DeviceGrant {
    DeviceGrant {
        authorization_code: Secret::new("code"),
        code_verifier: Secret::new("verifier"),
    }
}

#[test]
fn interval_is_seconds_with_a_five_second_floor_for_missing_or_zero() {
    assert_eq!(parse_interval(Some(&json!("7"))), Duration::from_secs(7));
    assert_eq!(parse_interval(Some(&json!(" 3 "))), Duration::from_secs(3));
    assert_eq!(parse_interval(Some(&json!(2))), Duration::from_secs(2));
    assert_eq!(parse_interval(Some(&json!("0"))), DEFAULT_POLL_INTERVAL);
    assert_eq!(parse_interval(Some(&json!("soon"))), DEFAULT_POLL_INTERVAL);
    assert_eq!(parse_interval(None), DEFAULT_POLL_INTERVAL);
    assert_eq!(DEFAULT_POLL_INTERVAL, Duration::from_secs(5));
}

/// Issue 12 item 7: an `interval` of 2^64-1 panicked ("overflow when adding duration to
/// instant"); issuer durations are clamped and the poll loop uses checked arithmetic.
#[test]
fn huge_intervals_are_clamped() {
    assert_eq!(
        parse_interval(Some(&json!("18446744073709551615"))),
        MAX_POLL_INTERVAL
    );
    assert_eq!(parse_interval(Some(&json!(u64::MAX))), MAX_POLL_INTERVAL);
    assert_eq!(parse_interval(Some(&json!("61"))), Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn a_maximal_interval_or_timeout_never_panics_the_poll_loop() {
    let (times, poll) = scripted(1, Ok(Some(grant())));
    let result = poll_until_approved(Duration::MAX, Duration::from_secs(1), poll).await;
    assert_eq!(result.unwrap_err(), LoginError::DeviceTimedOut);
    assert_eq!(times.lock().len(), 1);
    let (_, poll) = scripted(0, Ok(Some(grant())));
    assert!(
        poll_until_approved(Duration::MAX, Duration::MAX, poll)
            .await
            .is_ok()
    );
}

type PollAnswer = Result<Option<DeviceGrant>, LoginError>;

/// Records when each poll happened, answers pending `pending` times, then `last`.
fn scripted(
    pending: usize,
    last: PollAnswer,
) -> (
    Arc<Mutex<Vec<Instant>>>,
    impl FnMut() -> std::future::Ready<PollAnswer>,
) {
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&times);
    let poll = move || {
        let mut t = seen.lock();
        t.push(Instant::now());
        let answer = if t.len() <= pending {
            Ok(None)
        } else {
            last.clone()
        };
        std::future::ready(answer)
    };
    (times, poll)
}

#[tokio::test(start_paused = true)]
async fn polls_at_once_then_every_interval_until_approved() {
    let start = Instant::now();
    let (times, poll) = scripted(2, Ok(Some(grant())));
    let got = poll_until_approved(DEFAULT_POLL_INTERVAL, Duration::from_secs(900), poll).await;
    assert_eq!(got, Ok(grant()));
    let offsets: Vec<u64> = times
        .lock()
        .iter()
        .map(|t| (*t - start).as_secs())
        .collect();
    assert_eq!(offsets, vec![0, 5, 10]);
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_fifteen_virtual_minutes() {
    let start = Instant::now();
    let (times, poll) = scripted(usize::MAX, Ok(None));
    let got = poll_until_approved(DEFAULT_POLL_INTERVAL, Duration::from_secs(15 * 60), poll).await;
    assert_eq!(got, Err(LoginError::DeviceTimedOut));
    assert_eq!(
        got.unwrap_err().to_string(),
        "device auth timed out after 15 minutes"
    );
    assert_eq!(Instant::now() - start, Duration::from_secs(15 * 60));
    // Polls at 0, 5, ..., 895 s: 180 of them, never a busy loop.
    assert_eq!(times.lock().len(), 180);
}

#[tokio::test(start_paused = true)]
async fn a_poll_error_ends_the_polling() {
    let (times, poll) = scripted(
        1,
        Err(LoginError::DeviceAuthStatus(
            "500 Internal Server Error".into(),
        )),
    );
    let got = poll_until_approved(DEFAULT_POLL_INTERVAL, Duration::from_secs(900), poll).await;
    assert_eq!(
        got.unwrap_err().to_string(),
        "device auth failed with status 500 Internal Server Error"
    );
    assert_eq!(times.lock().len(), 2);
}
