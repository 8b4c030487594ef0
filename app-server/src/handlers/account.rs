//! Credential-changing methods without a browser: API-key login, external tokens and logout, v1
//! and v2 (PROTOCOL.md §4.2, §4.5, §4.9 `apiKey`/`chatgptAuthTokens`, §4.11).

use std::sync::Arc;

use auth_core::ExternalTokens;
use auth_core::Secret;
use protocol::requests::NoParams;
use protocol::{
    AccountLoginCompletedNotification, AccountUpdatedNotification, AuthStatusChangeNotification,
    LoginAccountResponse, LoginApiKeyParams, LoginApiKeyResponse, LogoutAccountResponse,
    LogoutChatGptResponse, PlanType, ServerNotification,
};

use crate::client::Connection;
use crate::convert;
use crate::error::RpcError;
use crate::reply::{Effect, Reply, notify_all};

const SAVE_API_KEY: &str = "failed to save api key";

/// v1 `loginApiKey` params: `-32602` for an empty key (before the handshake gate).
pub(crate) fn check_login_api_key(params: &LoginApiKeyParams) -> Result<(), RpcError> {
    check_api_key(&params.api_key)
}

/// An API key that is empty once trimmed is invalid params.
pub(crate) fn check_api_key(api_key: &str) -> Result<(), RpcError> {
    if api_key.trim().is_empty() {
        return Err(RpcError::invalid_params("apiKey must not be empty"));
    }
    Ok(())
}

/// v1 `loginApiKey`.
pub(crate) async fn login_api_key(
    ctx: Arc<Connection>,
    params: LoginApiKeyParams,
) -> Reply<LoginApiKeyResponse> {
    let mut after = Vec::new();
    let result = store_api_key(&ctx, &params.api_key, &mut after).await;
    if result.is_ok() {
        after.push(Effect::Notify(ServerNotification::AuthStatusChange(
            AuthStatusChangeNotification {
                auth_method: Some(protocol::AuthMode::ApiKey),
            },
        )));
    }
    Reply::new(result.map(|()| LoginApiKeyResponse {}), after)
}

/// v2 `account/login/start` with `type: apiKey`.
pub(crate) async fn start_api_key(ctx: &Connection, api_key: &str) -> Reply<LoginAccountResponse> {
    let mut after = Vec::new();
    let result = store_api_key(ctx, api_key, &mut after).await;
    if result.is_ok() {
        after.extend(v2_login_notifications(protocol::AuthMode::ApiKey, None));
    }
    Reply::new(result.map(|()| LoginAccountResponse::ApiKey {}), after)
}

/// Ends the active login (its end goes to `after`) and stores the key.
async fn store_api_key(
    ctx: &Connection,
    api_key: &str,
    after: &mut Vec<Effect>,
) -> Result<(), RpcError> {
    let auth = ctx.state().auth();
    auth.api_key_login_allowed()
        .map_err(|err| RpcError::from_auth(err, SAVE_API_KEY))?;
    after.extend(end_active_login(ctx).await);
    auth.login_with_api_key(api_key)
        .await
        .map_err(|err| RpcError::from_auth(err, SAVE_API_KEY))
}

/// v2 `account/login/start` with `type: chatgptAuthTokens`: memory only.
pub(crate) async fn start_external_tokens(
    ctx: &Connection,
    access_token: String,
    chatgpt_account_id: String,
    chatgpt_plan_type: Option<String>,
) -> Reply<LoginAccountResponse> {
    const OPERATION: &str = "failed to set external auth";
    let auth = ctx.state().auth();
    if let Err(err) = auth.external_login_allowed() {
        return Reply::from(Err(RpcError::from_auth(err, OPERATION)));
    }
    let mut after = end_active_login(ctx).await;
    let tokens = ExternalTokens {
        access_token: Secret::new(access_token),
        chatgpt_account_id,
        chatgpt_plan_type,
    };
    if let Err(err) = auth.login_with_external_tokens(tokens) {
        return Reply::new(Err(RpcError::from_auth(err, OPERATION)), after);
    }
    ctx.state().set_token_supplier(Some(ctx.id()));
    let plan = auth.current_view().plan().map(convert::plan_type);
    after.extend(v2_login_notifications(
        protocol::AuthMode::ChatgptAuthTokens,
        Some(plan.unwrap_or(PlanType::Unknown)),
    ));
    Reply::new(Ok(LoginAccountResponse::ChatgptAuthTokens {}), after)
}

/// v1 `logoutChatGpt`.
pub(crate) async fn logout_v1(ctx: Arc<Connection>, _: NoParams) -> Reply<LogoutChatGptResponse> {
    let (mode, mut after) = logout(&ctx).await;
    let result = mode.map(|mode| {
        after.push(Effect::Notify(ServerNotification::AuthStatusChange(
            AuthStatusChangeNotification { auth_method: mode },
        )));
        LogoutChatGptResponse {}
    });
    Reply::new(result, after)
}

/// v2 `account/logout`.
pub(crate) async fn logout_v2(ctx: Arc<Connection>, _: NoParams) -> Reply<LogoutAccountResponse> {
    let (mode, mut after) = logout(&ctx).await;
    let result = mode.map(|mode| {
        after.push(Effect::Notify(ServerNotification::AccountUpdated(
            AccountUpdatedNotification {
                auth_mode: mode,
                plan_type: None,
                reason: None,
            },
        )));
        LogoutAccountResponse {}
    });
    Reply::new(result, after)
}

/// Ends the active login, signs out, and returns the mode still in effect (normally none), with
/// the ended login's notifications.
async fn logout(ctx: &Connection) -> (Result<Option<protocol::AuthMode>, RpcError>, Vec<Effect>) {
    let after = end_active_login(ctx).await;
    let auth = ctx.state().auth();
    if let Err(err) = auth.logout().await {
        return (Err(RpcError::from_auth(err, "logout failed")), after);
    }
    ctx.state().set_token_supplier(None);
    (
        Ok(auth.current_view().mode().map(convert::auth_mode)),
        after,
    )
}

/// Ends the active browser or device-code login; its failed completion is to be sent after this
/// request's response and before the request's own notifications (§4.14).
pub(crate) async fn end_active_login(ctx: &Connection) -> Vec<Effect> {
    let state = ctx.state();
    notify_all(state.logins().end_active(state.auth()).await)
}

/// `account/login/completed` (no login id) then `account/updated`.
fn v2_login_notifications(mode: protocol::AuthMode, plan: Option<PlanType>) -> [Effect; 2] {
    [
        Effect::Notify(ServerNotification::AccountLoginCompleted(
            AccountLoginCompletedNotification {
                login_id: None,
                success: true,
                error: None,
                onboarding_entrypoint: None,
            },
        )),
        Effect::Notify(ServerNotification::AccountUpdated(
            AccountUpdatedNotification {
                auth_mode: Some(mode),
                plan_type: plan,
                reason: None,
            },
        )),
    ]
}
