#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use chrono::TimeZone;

use crate::test_log::event_texts;
use pretty_assertions::assert_eq;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 23, 20, 0, 0).unwrap()
}

fn permanent(reason: FailureReason, status: u16, code: Option<&str>) -> AttemptError {
    AttemptError::Permanent(PermanentFailure {
        reason,
        http_status: Some(status),
        backend_code: code.map(str::to_owned),
    })
}

fn http(status: u16, message: Option<&str>) -> AttemptError {
    AttemptError::Transient(TransientKind::Http {
        status,
        message: message.map(str::to_owned),
    })
}

/// §12 item 22, the rows that are decided from a non-2xx answer.
#[test]
fn classification_table() {
    let rows: Vec<(u16, Option<&str>, &str, AttemptError)> = vec![
        (401, None, "{}", permanent(FailureReason::Other, 401, None)),
        (
            401,
            None,
            r#"{"error":{"code":"REFRESH_TOKEN_EXPIRED"}}"#,
            permanent(FailureReason::Expired, 401, Some("refresh_token_expired")),
        ),
        (
            400,
            None,
            r#"{"error":{"code":"refresh_token_reused"}}"#,
            permanent(FailureReason::Exhausted, 400, Some("refresh_token_reused")),
        ),
        (
            403,
            None,
            r#"{"code":"refresh_token_invalidated"}"#,
            permanent(
                FailureReason::Revoked,
                403,
                Some("refresh_token_invalidated"),
            ),
        ),
        (
            400,
            None,
            r#"{"error":"invalid_grant"}"#,
            permanent(FailureReason::Other, 400, Some("invalid_grant")),
        ),
        (
            401,
            None,
            r#"{"error":"something_new"}"#,
            permanent(FailureReason::Other, 401, Some("something_new")),
        ),
        (
            401,
            None,
            "<html>",
            permanent(FailureReason::Other, 401, None),
        ),
        (
            500,
            None,
            r#"{"error":"  Refresh_Token_Reused "}"#,
            permanent(FailureReason::Exhausted, 500, Some("refresh_token_reused")),
        ),
        (400, None, r#"{"error":"invalid_request"}"#, http(400, None)),
        (403, None, "{}", http(403, None)),
        (500, None, "", http(500, None)),
        (503, None, "<html><body>down</body></html>", http(503, None)),
        (408, None, "{}", http(408, None)),
        // invalid_grant is only permanent on 400
        (403, None, r#"{"error":"invalid_grant"}"#, http(403, None)),
        (
            400,
            None,
            r#"{"error":"invalid_request","error_description":"missing thing"}"#,
            http(400, Some("missing thing")),
        ),
        (
            502,
            None,
            r#"{"error":{"code":"x","message":"upstream failed"}}"#,
            http(502, Some("upstream failed")),
        ),
        (
            429,
            Some("120"),
            "{}",
            AttemptError::Transient(TransientKind::RateLimited {
                retry_after: Some(Duration::from_secs(120)),
            }),
        ),
        (
            429,
            None,
            "",
            AttemptError::Transient(TransientKind::RateLimited { retry_after: None }),
        ),
    ];
    for (status, retry_after, body, expected) in rows {
        let got = classify_response(status, retry_after, body.as_bytes(), now());
        assert_eq!(got, expected, "{status} {body}");
    }
}

#[test]
fn code_precedence() {
    // error.code beats top-level code; error string beats top-level code
    let got = classify_response(
        400,
        None,
        br#"{"error":{"code":"refresh_token_reused"},"code":"refresh_token_expired"}"#,
        now(),
    );
    assert_eq!(
        got,
        permanent(FailureReason::Exhausted, 400, Some("refresh_token_reused"))
    );
    let got = classify_response(
        400,
        None,
        br#"{"error":"refresh_token_invalidated","code":"refresh_token_expired"}"#,
        now(),
    );
    assert_eq!(
        got,
        permanent(
            FailureReason::Revoked,
            400,
            Some("refresh_token_invalidated")
        )
    );
    // an error object without a code falls through to the top-level code
    let got = classify_response(
        400,
        None,
        br#"{"error":{"message":"m"},"code":"refresh_token_expired"}"#,
        now(),
    );
    assert_eq!(
        got,
        permanent(FailureReason::Expired, 400, Some("refresh_token_expired"))
    );
}

#[test]
fn messages_are_cut_to_200_chars() {
    let long = "é".repeat(300);
    let body = serde_json::json!({"error_description": long}).to_string();
    match classify_response(500, None, body.as_bytes(), now()) {
        AttemptError::Transient(TransientKind::Http {
            message: Some(m), ..
        }) => assert_eq!(m.chars().count(), 200),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn retry_after_as_http_date() {
    let date = httpdate::fmt_http_date(SystemTime::from(now() + chrono::Duration::seconds(90)));
    let got = classify_response(429, Some(&date), b"", now());
    assert_eq!(got.retry_after(), Some(Duration::from_secs(90)));
    // a date in the past means "now"
    let past = httpdate::fmt_http_date(SystemTime::from(now() - chrono::Duration::seconds(90)));
    assert_eq!(parse_retry_after(&past, now()), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after(" 7 ", now()),
        Some(Duration::from_secs(7))
    );
    assert_eq!(parse_retry_after("soon", now()), None);
    // Issue 12 item 7: issuer durations are clamped before any date arithmetic.
    assert_eq!(
        parse_retry_after("18446744073709551615", now()),
        Some(MAX_RETRY_AFTER)
    );
    assert_eq!(
        parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now()),
        Some(MAX_RETRY_AFTER)
    );
    assert_eq!(parse_retry_after("-5", now()), None);
}

#[test]
fn permanent_display_is_the_exact_message() {
    let expired = permanent(FailureReason::Expired, 401, None);
    assert_eq!(
        expired.to_string(),
        "Your access token could not be refreshed because your refresh token has expired. Please log out and sign in again."
    );
    assert_eq!(
        permanent(FailureReason::Exhausted, 401, None).to_string(),
        "Your access token could not be refreshed because your refresh token was already used. Please log out and sign in again."
    );
    assert_eq!(
        permanent(FailureReason::Revoked, 401, None).to_string(),
        "Your access token could not be refreshed because your refresh token was revoked. Please log out and sign in again."
    );
    assert_eq!(
        permanent(FailureReason::Other, 401, None).to_string(),
        "Your access token could not be refreshed. Please log out and sign in again."
    );
}

#[test]
fn transient_display() {
    assert_eq!(
        http(500, Some("boom")).to_string(),
        "Failed to refresh token: 500: boom"
    );
    assert_eq!(
        http(503, None).to_string(),
        "Failed to refresh token: 503: Service Unavailable"
    );
    let t = |k: TransientKind| AttemptError::Transient(k).to_string();
    assert_eq!(
        t(TransientKind::Network("connection refused".into())),
        "Failed to refresh token: connection refused"
    );
    assert_eq!(
        t(TransientKind::Timeout),
        "Failed to refresh token: timeout"
    );
    assert_eq!(
        t(TransientKind::BadResponse),
        "Failed to refresh token: bad response"
    );
    assert_eq!(
        t(TransientKind::RateLimited {
            retry_after: Some(Duration::from_secs(120))
        }),
        "Failed to refresh token: 429: rate limited, retry after 120s"
    );
}

#[test]
fn reason_round_trip() {
    for reason in [
        FailureReason::Expired,
        FailureReason::Exhausted,
        FailureReason::Revoked,
        FailureReason::Other,
    ] {
        assert_eq!(FailureReason::from_str_opt(reason.as_str()), Some(reason));
    }
    assert_eq!(FailureReason::from_str_opt("Expired"), None);
    assert_eq!(FailureReason::from_str_opt(""), None);
}

#[test]
fn unknown_401_is_logged_with_the_code_but_never_the_body() {
    let body = br#"{"error":"brand_new_code","error_description":"token sk-in-body rejected"}"#;
    let (got, events) = event_texts(|| classify_response(401, None, body, now()));
    assert_eq!(
        got,
        permanent(FailureReason::Other, 401, Some("brand_new_code"))
    );
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert!(event.starts_with("WARN auth_core "), "{event}");
    assert!(
        event.contains("Encountered unknown 401 response while refreshing token"),
        "{event}"
    );
    assert!(event.contains("backend_code=\"brand_new_code\""), "{event}");
    assert!(!event.contains("sk-in-body"), "{event}");

    // known codes are not "unknown 401s"
    let (_, events) =
        event_texts(|| classify_response(401, None, br#"{"error":"refresh_token_reused"}"#, now()));
    assert!(events.is_empty(), "{events:?}");
}
