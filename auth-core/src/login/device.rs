//! The device-code login (AUTH.md §8.3): request a user code, poll until the user approves it,
//! exchange the returned code, check the workspace and save (no API-key exchange).

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::exchange::{exchange_code, login_http};
use super::handle::{LoginHandle, LoginKind, LoginSuccess};
use super::{LoginError, LoginOptions, Persist, checked_tokens, login_document};
use crate::http::{
    HttpError, HttpRequest, HttpResponse, SharedHttpClient, StatusCode, answered_status,
};
use crate::secret::Secret;

/// The poll interval when the issuer sends none, or zero.
pub(crate) const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// What the user needs to approve the login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCode {
    /// The page to open: `<issuer>/codex/device`.
    pub verification_url: String,
    /// The code to type there.
    pub user_code: String,
}

/// The issuer's answer to the user-code request.
#[derive(Debug, Clone)]
pub(crate) struct UserCode {
    pub device_auth_id: Secret,
    pub user_code: String,
    pub interval: Duration,
}

/// What an approved poll returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceGrant {
    pub authorization_code: Secret,
    pub code_verifier: Secret,
}

/// Starts a device-code login. Returns once the issuer handed out a user code; polling, the
/// exchange and the save then run in their own task until success, failure, cancel or
/// `opts.device_timeout`.
pub async fn start_device_login(
    opts: &LoginOptions,
    persist: Persist,
) -> Result<(LoginHandle, DeviceCode), LoginError> {
    let client = login_http(opts).map_err(LoginError::DeviceCodeRequest)?;
    let issuer = opts.issuer().to_owned();
    let client_id = opts.client_id.clone();
    let code = request_user_code(&client, &issuer, &client_id).await?;
    let shown = DeviceCode {
        verification_url: format!("{issuer}/codex/device"),
        user_code: code.user_code.clone(),
    };
    let (handle, mut control) = LoginHandle::new(LoginKind::DeviceCode);
    tracing::info!(target: "auth_core", login_id = %handle.login_id(), "device-code login started");
    let (config, timeout) = (opts.config.clone(), opts.device_timeout);
    tokio::spawn(async move {
        let poll = || poll_once(&client, &issuer, &code);
        let prepared = tokio::select! {
            prepared = async {
                let grant = poll_until_approved(code.interval, timeout, poll).await?;
                let redirect_uri = format!("{issuer}/deviceauth/callback");
                let tokens = exchange_code(
                    &client,
                    &issuer,
                    &client_id,
                    &redirect_uri,
                    &grant.authorization_code,
                    &grant.code_verifier,
                )
                .await
                .map_err(|e| LoginError::DeviceExchange(e.to_string()))?;
                checked_tokens(tokens, &config)
            } => prepared,
            _ = control.cancelled() => Err(LoginError::NotCompleted),
        };
        let result = match prepared {
            // A cancel that arrives during the save waits for it: the save is the commit point.
            Ok(_) if *control.cancel.borrow() => Err(LoginError::NotCompleted),
            Ok(tokens) => persist(login_document(tokens, None)).await.map_err(|cause| {
                tracing::error!(target: "auth_core", %cause, "could not save the login's credentials");
                LoginError::SaveFailed(cause)
            }),
            Err(err) => Err(err),
        };
        control.finish(result.map(|()| LoginSuccess::default()));
    });
    Ok((handle, shown))
}

/// `POST <issuer>/api/accounts/deviceauth/usercode` with `{"client_id":…}`.
pub(crate) async fn request_user_code(
    client: &SharedHttpClient,
    issuer: &str,
    client_id: &str,
) -> Result<UserCode, LoginError> {
    let request = HttpRequest::post_json(
        format!("{issuer}/api/accounts/deviceauth/usercode"),
        &json!({ "client_id": client_id }),
    );
    let resp = client.send(request).await;
    let status = answered_status(&resp);
    if status == Some(StatusCode::NOT_FOUND) {
        return Err(LoginError::DeviceCodeNotEnabled);
    }
    if let Some(status) = status.filter(|s| !s.is_success()) {
        return Err(LoginError::DeviceCodeStatus(status.to_string()));
    }
    #[derive(Deserialize)]
    struct Raw {
        device_auth_id: Option<Secret>,
        #[serde(alias = "usercode")]
        user_code: Option<String>,
        interval: Option<Value>,
    }
    let raw: Raw = read_json(resp).map_err(LoginError::DeviceCodeRequest)?;
    let missing = |name: &str| LoginError::DeviceCodeRequest(format!("response is missing {name}"));
    Ok(UserCode {
        device_auth_id: raw
            .device_auth_id
            .ok_or_else(|| missing("device_auth_id"))?,
        user_code: raw.user_code.ok_or_else(|| missing("user_code"))?,
        interval: parse_interval(raw.interval.as_ref()),
    })
}

/// A JSON answer; the error is a short text (never the URL or body).
fn read_json<T: serde::de::DeserializeOwned>(
    resp: Result<HttpResponse, HttpError>,
) -> Result<T, String> {
    let body = resp.map_err(|e| e.to_string())?.body;
    serde_json::from_slice(&body).map_err(|e| format!("invalid JSON answer ({:?})", e.classify()))
}

/// The longest poll interval we accept from the issuer; longer ones are clamped (issue 12 item 7:
/// an `interval` of 2^64-1 panicked when added to an instant).
pub(crate) const MAX_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// `interval` is a string of seconds (a number is accepted too); missing, zero or unreadable
/// means [`DEFAULT_POLL_INTERVAL`], and more than [`MAX_POLL_INTERVAL`] is clamped to it.
pub(crate) fn parse_interval(raw: Option<&Value>) -> Duration {
    let secs = match raw {
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    match secs {
        Some(s) if s > 0 => Duration::from_secs(s).min(MAX_POLL_INTERVAL),
        _ => DEFAULT_POLL_INTERVAL,
    }
}

/// One poll of `POST <issuer>/api/accounts/deviceauth/token`: `None` while pending (403, 404).
async fn poll_once(
    client: &SharedHttpClient,
    issuer: &str,
    code: &UserCode,
) -> Result<Option<DeviceGrant>, LoginError> {
    let body = json!({
        "device_auth_id": code.device_auth_id.expose(),
        "user_code": code.user_code,
    });
    let request = HttpRequest::post_json(format!("{issuer}/api/accounts/deviceauth/token"), &body);
    let resp = client.send(request).await;
    match answered_status(&resp) {
        Some(StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) => return Ok(None),
        Some(status) if !status.is_success() => {
            return Err(LoginError::DeviceAuthStatus(status.to_string()));
        }
        _ => {}
    }
    #[derive(Deserialize)]
    struct Raw {
        authorization_code: Secret,
        code_verifier: Secret,
    }
    let raw: Raw = read_json(resp).map_err(LoginError::DeviceAuthRequest)?;
    Ok(Some(DeviceGrant {
        authorization_code: raw.authorization_code,
        code_verifier: raw.code_verifier,
    }))
}

/// Polls at once and then every `interval` until a grant, an error, or `timeout`
/// ("device auth timed out after 15 minutes"). Uses tokio time.
pub(crate) async fn poll_until_approved<F, Fut>(
    interval: Duration,
    timeout: Duration,
    mut poll: F,
) -> Result<DeviceGrant, LoginError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<DeviceGrant>, LoginError>>,
{
    let start = tokio::time::Instant::now();
    // Checked: neither duration may panic the flow, whatever their size.
    let far = start + Duration::from_secs(100 * 365 * 24 * 3600);
    let deadline = start.checked_add(timeout).unwrap_or(far).min(far);
    let polling = async {
        loop {
            if let Some(grant) = poll().await? {
                return Ok(grant);
            }
            let next = tokio::time::Instant::now()
                .checked_add(interval)
                .unwrap_or(deadline);
            if next >= deadline {
                // No poll would start in time: let the deadline end it.
                std::future::pending::<()>().await;
            }
            tokio::time::sleep_until(next).await;
        }
    };
    tokio::time::timeout_at(deadline, polling)
        .await
        .unwrap_or(Err(LoginError::DeviceTimedOut))
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;
