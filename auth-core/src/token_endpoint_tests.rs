#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::classify::{FailureReason, PermanentFailure};
use crate::fake_issuer::{Endpoint, FakeIssuer, ScriptedResponse};
use crate::http::recording::{Requests, answering};
use crate::http::{HttpResponse, header};
use chrono::TimeZone;
use pretty_assertions::assert_eq;
use serde_json::json;

const REFRESH: &str = "rt-secret-123";
const TOKEN_URL: &str = "https://issuer.test/oauth/token";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 23, 20, 0, 0).unwrap()
}

fn endpoint(url: String, total: Duration) -> TokenEndpoint {
    TokenEndpoint::new(url, "codex_cli_rs".into(), Duration::from_secs(2), total).unwrap()
}

/// One refresh through the seam against an issuer answering `response`.
async fn attempt(response: HttpResponse) -> (Result<TokenResponse, AttemptError>, Requests) {
    let (http, seen) = answering(response);
    let ep = endpoint(TOKEN_URL.into(), Duration::from_secs(5)).with_http(Some(http));
    (ep.refresh(&Secret::new(REFRESH), now()).await, seen)
}

/// §12 item 19: exactly the three body keys and the documented headers.
#[tokio::test]
async fn sends_the_documented_request() {
    let (result, seen) = attempt(HttpResponse::json(
        200,
        &json!({
            "id_token": "id-new", "access_token": "at-new", "refresh_token": "rt-new",
            "expires_in": 3600, "token_type": "Bearer"
        }),
    ))
    .await;
    assert_eq!(
        result.unwrap(),
        TokenResponse {
            id_token: Some(Secret::new("id-new")),
            access_token: Some(Secret::new("at-new")),
            refresh_token: Some(Secret::new("rt-new")),
        }
    );
    let requests = seen.all();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method, crate::http::Method::POST);
    assert_eq!(req.url, TOKEN_URL);
    assert_eq!(
        req.json(),
        json!({"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": REFRESH})
    );
    let header = |name: &str| req.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("accept"), "application/json");
    assert_eq!(header("originator"), "codex_cli_rs");
    assert_eq!(
        header("user-agent"),
        format!("codex_cli_rs/{}", env!("CARGO_PKG_VERSION"))
    );
    let ep = endpoint(TOKEN_URL.into(), Duration::from_secs(5));
    assert_eq!(ep.url(), TOKEN_URL);
}

#[tokio::test]
async fn partial_answers_are_accepted() {
    let (result, seen) = attempt(HttpResponse::json(200, &json!({"access_token": "only"}))).await;
    assert_eq!(seen.count(), 1);
    assert_eq!(
        result.unwrap(),
        TokenResponse {
            access_token: Some(Secret::new("only")),
            ..TokenResponse::default()
        }
    );
}

fn perm(
    reason: FailureReason,
    status: u16,
    code: Option<&str>,
) -> Result<TokenResponse, AttemptError> {
    Err(AttemptError::Permanent(PermanentFailure {
        reason,
        http_status: Some(status),
        backend_code: code.map(str::to_owned),
    }))
}

fn http_error(status: u16) -> Result<TokenResponse, AttemptError> {
    Err(AttemptError::Transient(TransientKind::Http {
        status,
        message: None,
    }))
}

fn bad_response() -> Result<TokenResponse, AttemptError> {
    Err(AttemptError::Transient(TransientKind::BadResponse))
}

/// §12 item 22 on the seam, one request per row.
#[tokio::test]
async fn classification_of_answers() {
    let raw = |status: u16, content_type: &str, body: &str| HttpResponse {
        body: body.as_bytes().to_vec(),
        ..HttpResponse::status(status).with_header(header::CONTENT_TYPE, content_type)
    };
    let json_body = |status: u16, body: &str| raw(status, "application/json", body);
    let rows: Vec<(HttpResponse, Result<TokenResponse, AttemptError>)> = vec![
        (json_body(401, "{}"), perm(FailureReason::Other, 401, None)),
        (
            json_body(401, r#"{"error":{"code":"REFRESH_TOKEN_EXPIRED"}}"#),
            perm(FailureReason::Expired, 401, Some("refresh_token_expired")),
        ),
        (
            json_body(400, r#"{"error":{"code":"refresh_token_reused"}}"#),
            perm(FailureReason::Exhausted, 400, Some("refresh_token_reused")),
        ),
        (
            json_body(403, r#"{"code":"refresh_token_invalidated"}"#),
            perm(
                FailureReason::Revoked,
                403,
                Some("refresh_token_invalidated"),
            ),
        ),
        (
            json_body(400, r#"{"error":"invalid_grant"}"#),
            perm(FailureReason::Other, 400, Some("invalid_grant")),
        ),
        (
            json_body(400, r#"{"error":"invalid_request"}"#),
            http_error(400),
        ),
        (json_body(403, "{}"), http_error(403)),
        (HttpResponse::status(500), http_error(500)),
        (raw(503, "text/html", "<html>down</html>"), http_error(503)),
        (raw(200, "text/plain", "not json"), bad_response()),
        (json_body(200, "{}"), bad_response()),
        (json_body(200, r#"{"access_token":5}"#), bad_response()),
        (
            HttpResponse::status(429).with_header(header::RETRY_AFTER, "120"),
            Err(AttemptError::Transient(TransientKind::RateLimited {
                retry_after: Some(Duration::from_secs(120)),
            })),
        ),
    ];
    for (answer, expected) in rows {
        let (result, seen) = attempt(answer).await;
        assert_eq!(result, expected);
        assert_eq!(seen.count(), 1);
    }
}

/// The reqwest transport over a real socket (the fake issuer): statuses, `Retry-After` and a
/// permanent answer classify as on the seam, and an oversized answer is not read whole (issue 12
/// item 11: the body cap lives in the transport); one request per row.
#[tokio::test]
async fn classification_over_http() {
    let rows = vec![
        (
            ScriptedResponse::new(400, json!({"error": {"code": "refresh_token_reused"}})),
            perm(FailureReason::Exhausted, 400, Some("refresh_token_reused")),
        ),
        (ScriptedResponse::new(500, json!({})), http_error(500)),
        (
            ScriptedResponse::new(429, json!({})).with_retry_after(120),
            Err(AttemptError::Transient(TransientKind::RateLimited {
                retry_after: Some(Duration::from_secs(120)),
            })),
        ),
        (
            ScriptedResponse::new(
                200,
                json!({"access_token": "a".repeat(crate::http_body::MAX_RESPONSE_BYTES)}),
            ),
            bad_response(),
        ),
        (
            ScriptedResponse::new(200, json!({"access_token": "at-new"})),
            Ok(TokenResponse {
                access_token: Some(Secret::new("at-new")),
                ..TokenResponse::default()
            }),
        ),
    ];
    for (answer, expected) in rows {
        let issuer = FakeIssuer::start().await.unwrap();
        issuer.script_refresh(vec![answer]);
        let ep = endpoint(issuer.token_url(), Duration::from_secs(5));
        assert_eq!(ep.refresh(&Secret::new(REFRESH), now()).await, expected);
        assert_eq!(issuer.count(Endpoint::Refresh), 1);
    }
}

/// §12 item 21: a slow endpoint is a transient timeout after exactly one request (reqwest's
/// timeout over a real socket).
#[tokio::test]
async fn slow_endpoint_times_out() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.script_refresh(vec![
        ScriptedResponse::new(200, json!({"access_token": "late"}))
            .with_delay(Duration::from_secs(2)),
    ]);
    let ep = endpoint(issuer.token_url(), Duration::from_millis(200));
    let started = std::time::Instant::now();
    let result = ep.refresh(&Secret::new(REFRESH), now()).await;
    assert_eq!(result, Err(AttemptError::Transient(TransientKind::Timeout)));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
}

/// The reqwest transport itself: a real, refusing loopback port.
#[tokio::test]
async fn connection_refused_is_transient_names_the_host_and_leaks_nothing() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/oauth/token?key=url-secret");
    let ep = endpoint(url, Duration::from_secs(5));
    let err = ep.refresh(&Secret::new(REFRESH), now()).await.unwrap_err();
    assert_eq!(
        err,
        AttemptError::Transient(TransientKind::Network(
            "could not reach 127.0.0.1 (connection refused)".into()
        ))
    );
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("url-secret") && !text.contains(REFRESH),
        "{text}"
    );
}

#[test]
fn bad_configuration_is_rejected() {
    let new = |url: &str, originator: &str| {
        TokenEndpoint::new(
            url.into(),
            originator.into(),
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .map(|_| ())
    };
    assert_eq!(new("not a url", "o"), Err(EndpointError::InvalidUrl));
    assert_eq!(new("ftp://host/x", "o"), Err(EndpointError::InvalidUrl));
    assert_eq!(
        new("https://h/x", "bad\nvalue"),
        Err(EndpointError::InvalidOriginator)
    );
    assert_eq!(new(DEFAULT_REFRESH_URL, DEFAULT_ORIGINATOR), Ok(()));
}

#[test]
fn token_response_debug_is_redacted() {
    let resp = TokenResponse {
        id_token: Some(Secret::new("id-x")),
        access_token: Some(Secret::new("at-x")),
        refresh_token: None,
    };
    let dbg = format!("{resp:?}");
    assert!(!dbg.contains("id-x") && !dbg.contains("at-x"), "{dbg}");
}

/// Through the seam: what the client reports maps to the attempt errors the manager classifies
/// (timeout, the host named, an oversized or broken body a bad response / a network error), one
/// request each.
#[tokio::test]
async fn seam_failures_map_to_transient_attempt_errors() {
    use crate::http::recording::recording;
    use crate::http::{BodyError, HttpError, StatusCode, TransportError};
    let rows = [
        (
            HttpError::Transport(TransportError::timeout()),
            TransientKind::Timeout,
        ),
        (
            HttpError::Transport(TransportError::network("dns", Some("issuer.test"))),
            TransientKind::Network("could not reach issuer.test (dns)".into()),
        ),
        (
            HttpError::Transport(TransportError::network("reset", None)),
            TransientKind::Network("reset".into()),
        ),
        (
            HttpError::Body {
                status: StatusCode::OK,
                cause: BodyError::TooLarge,
            },
            TransientKind::BadResponse,
        ),
        (
            HttpError::Body {
                status: StatusCode::UNAUTHORIZED,
                cause: BodyError::Transport(TransportError::timeout()),
            },
            TransientKind::Timeout,
        ),
    ];
    for (failure, expected) in rows {
        let (http, seen) = recording(move |_| std::future::ready(Err(failure.clone())));
        let ep = endpoint(
            "https://issuer.test/oauth/token".into(),
            Duration::from_secs(5),
        )
        .with_http(Some(http));
        let result = ep.refresh(&Secret::new(REFRESH), now()).await;
        assert_eq!(result, Err(AttemptError::Transient(expected)));
        assert_eq!(seen.count(), 1);
    }
}
