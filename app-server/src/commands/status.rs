//! `status` (text, or `--json` for scripts) and `refresh` (one forced refresh).

use std::io::Write;

use auth_core::{AuthManager, RefreshOutcome, Trigger};
use auth_core::{AuthMode, AuthView};
use auth_core::{RefreshError, TransientError};
use protocol::{AuthMode as WireMode, PlanType, RefreshFailure};
use serde::Serialize;

use super::{CommandError, Console, Exit};
use crate::convert;

/// What `status --json` prints: one object, keys always present.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusJson {
    /// `apikey`, `chatgpt` or null (as `getAuthStatus`).
    auth_method: Option<WireMode>,
    /// Credentials are stored and usable.
    signed_in: bool,
    /// The stored credentials are permanently unusable (exit code 2).
    relogin_required: bool,
    email: Option<String>,
    plan_type: Option<PlanType>,
    account_id: Option<String>,
    /// As `refreshFailure` of PROTOCOL.md §6.1.
    refresh_failure: Option<RefreshFailure>,
}

/// Reports the stored credentials (refreshing them first only when they are stale, as a
/// polling client would). Exit 0 signed in, 1 signed out, 2 re-login needed.
pub async fn status(
    auth: &AuthManager,
    json: bool,
    console: &mut Console<'_>,
) -> Result<Exit, CommandError> {
    let view = auth.view_refreshed_if_stale().await;
    let exit = if view.is_dead() {
        Exit::ReloginRequired
    } else if view.mode().is_some() {
        Exit::Success
    } else {
        Exit::Failure
    };
    if json {
        let report = StatusJson {
            auth_method: view.mode().map(convert::auth_mode),
            signed_in: exit == Exit::Success,
            relogin_required: exit == Exit::ReloginRequired,
            email: view.email().map(str::to_owned),
            plan_type: chatgpt(&view)
                .then(|| view.plan().map(convert::plan_type))
                .flatten(),
            account_id: view.account_id().map(str::to_owned),
            refresh_failure: view.refresh_failure().map(convert::refresh_failure),
        };
        let line = serde_json::to_string(&report).map_err(std::io::Error::other)?;
        writeln!(console.out, "{line}")?;
    } else {
        describe(&view, console.out)?;
    }
    Ok(exit)
}

fn chatgpt(view: &AuthView) -> bool {
    matches!(
        view.mode(),
        Some(AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens)
    )
}

fn describe(view: &AuthView, out: &mut dyn Write) -> std::io::Result<()> {
    let who = match view.mode() {
        None => {
            writeln!(out, "Not signed in. Run `app-server login` to sign in.")?;
            return Ok(());
        }
        Some(AuthMode::ApiKey) => "Signed in with an API key".to_owned(),
        Some(AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens) => format!(
            "Signed in with ChatGPT as {} ({} plan)",
            view.email().unwrap_or("an unknown email"),
            view.plan().map_or("unknown", |p| p.as_str())
        ),
    };
    match view.refresh_failure() {
        Some(failure) if !failure.transient => writeln!(
            out,
            "{who}, but these credentials can no longer be used:\n  {}\nRun `app-server login` to sign in again.",
            failure.message
        ),
        Some(failure) => writeln!(
            out,
            "{who}.\nThe last refresh failed ({}); the next attempt is allowed in {}s.",
            failure.message,
            failure.retry_after_ms.unwrap_or(0).div_ceil(1000)
        ),
        None => writeln!(out, "{who}."),
    }
}

/// One forced refresh, unless a permanent failure is already known for these credentials (then
/// no request). Exit 0 refreshed or newer credentials adopted, 2 re-login needed, 1 otherwise.
pub async fn refresh(auth: &AuthManager, console: &mut Console<'_>) -> Result<Exit, CommandError> {
    let outcome = auth.refresh(Trigger::Forced).await;
    tracing::debug!(outcome = ?outcome, "refresh command");
    let (exit, message) = match outcome {
        Ok(RefreshOutcome::Refreshed) => {
            writeln!(console.out, "Refreshed the access token.")?;
            return Ok(Exit::Success);
        }
        Ok(RefreshOutcome::Adopted { .. }) => {
            writeln!(
                console.out,
                "Newer credentials were stored meanwhile (another process refreshed or signed \
                 in); adopted them without a request."
            )?;
            return Ok(Exit::Success);
        }
        Ok(RefreshOutcome::NotNeeded) => {
            writeln!(
                console.out,
                "The credentials are fresh; nothing to refresh."
            )?;
            return Ok(Exit::Success);
        }
        Err(RefreshError::Permanent(failure)) => (
            Exit::ReloginRequired,
            format!("{failure}\nRun `app-server login` to sign in again."),
        ),
        Err(RefreshError::NotLoggedIn) => (
            Exit::Failure,
            "not signed in. Run `app-server login` to sign in.".to_owned(),
        ),
        Err(RefreshError::NotRefreshable) => (
            Exit::Failure,
            "these credentials cannot be refreshed (API keys do not expire).".to_owned(),
        ),
        Err(RefreshError::Transient { kind, retry_at }) => {
            let retry = match (&kind, retry_at) {
                (TransientError::LockTimeout, _) => " Another process is refreshing; try again.",
                (_, Some(_)) => " Try again later; repeated attempts back off.",
                (_, None) => " Try again later.",
            };
            (Exit::Failure, format!("{kind}.{retry}"))
        }
    };
    writeln!(console.err, "error: {message}")?;
    Ok(exit)
}
