//! Credential-changing methods without a browser: API-key login, external tokens and logout, v1
//! and v2 (PROTOCOL.md §4.2, §4.5, §4.9 `apiKey`/`chatgptAuthTokens`, §4.11).

use auth_core::manager::ExternalTokens;
use auth_core::secret::Secret;
use protocol::{
    AccountLoginCompletedNotification, AccountUpdatedNotification, AuthStatusChangeNotification,
    LoginAccountResponse, LoginApiKeyParams, LoginApiKeyResponse, LogoutAccountResponse,
    LogoutChatGptResponse, PlanType, ServerNotification,
};

use crate::convert;
use crate::dispatch::RequestCtx;
use crate::error::RpcError;

const SAVE_API_KEY: &str = "failed to save api key";

/// v1 `loginApiKey`.
pub(crate) async fn login_api_key(
    ctx: &RequestCtx,
    params: LoginApiKeyParams,
) -> Result<LoginApiKeyResponse, RpcError> {
    store_api_key(ctx, &params.api_key).await?;
    ctx.notify_after_response(ServerNotification::AuthStatusChange(
        AuthStatusChangeNotification {
            auth_method: Some(protocol::AuthMode::ApiKey),
        },
    ));
    Ok(LoginApiKeyResponse {})
}

/// v2 `account/login/start` with `type: apiKey`.
pub(crate) async fn start_api_key(
    ctx: &RequestCtx,
    api_key: &str,
) -> Result<LoginAccountResponse, RpcError> {
    store_api_key(ctx, api_key).await?;
    notify_v2_login(ctx, protocol::AuthMode::ApiKey, None);
    Ok(LoginAccountResponse::ApiKey {})
}

async fn store_api_key(ctx: &RequestCtx, api_key: &str) -> Result<(), RpcError> {
    let auth = ctx.state().auth();
    auth.api_key_login_allowed()
        .map_err(|err| RpcError::from_auth(err, SAVE_API_KEY))?;
    end_active_login(ctx).await;
    auth.login_with_api_key(api_key)
        .await
        .map_err(|err| RpcError::from_auth(err, SAVE_API_KEY))
}

/// v2 `account/login/start` with `type: chatgptAuthTokens`: memory only.
pub(crate) async fn start_external_tokens(
    ctx: &RequestCtx,
    access_token: String,
    chatgpt_account_id: String,
    chatgpt_plan_type: Option<String>,
) -> Result<LoginAccountResponse, RpcError> {
    const OPERATION: &str = "failed to set external auth";
    let auth = ctx.state().auth();
    auth.external_login_allowed()
        .map_err(|err| RpcError::from_auth(err, OPERATION))?;
    end_active_login(ctx).await;
    auth.login_with_external_tokens(ExternalTokens {
        access_token: Secret::new(access_token),
        chatgpt_account_id,
        chatgpt_plan_type,
    })
    .map_err(|err| RpcError::from_auth(err, OPERATION))?;
    ctx.state().set_token_supplier(Some(ctx.connection().id()));
    let plan = auth.current_view().plan().map(convert::plan_type);
    notify_v2_login(
        ctx,
        protocol::AuthMode::ChatgptAuthTokens,
        Some(plan.unwrap_or(PlanType::Unknown)),
    );
    Ok(LoginAccountResponse::ChatgptAuthTokens {})
}

/// v1 `logoutChatGpt`.
pub(crate) async fn logout_v1(ctx: &RequestCtx) -> Result<LogoutChatGptResponse, RpcError> {
    let mode = logout(ctx).await?;
    ctx.notify_after_response(ServerNotification::AuthStatusChange(
        AuthStatusChangeNotification { auth_method: mode },
    ));
    Ok(LogoutChatGptResponse {})
}

/// v2 `account/logout`.
pub(crate) async fn logout_v2(ctx: &RequestCtx) -> Result<LogoutAccountResponse, RpcError> {
    let mode = logout(ctx).await?;
    ctx.notify_after_response(ServerNotification::AccountUpdated(
        AccountUpdatedNotification {
            auth_mode: mode,
            plan_type: None,
            reason: None,
        },
    ));
    Ok(LogoutAccountResponse {})
}

/// Ends the active login, signs out, and returns the mode still in effect (normally none).
async fn logout(ctx: &RequestCtx) -> Result<Option<protocol::AuthMode>, RpcError> {
    end_active_login(ctx).await;
    let auth = ctx.state().auth();
    auth.logout()
        .await
        .map_err(|err| RpcError::from_auth(err, "logout failed"))?;
    ctx.state().set_token_supplier(None);
    Ok(auth.current_view().mode().map(convert::auth_mode))
}

/// Ends the active browser or device-code login; its failed completion is sent after this
/// request's response and before the request's own notifications (§4.14).
pub(crate) async fn end_active_login(ctx: &RequestCtx) {
    let state = ctx.state();
    for ended in state.logins().end_active(state).await {
        ctx.notify_after_response(ended);
    }
}

/// `account/login/completed` (no login id) then `account/updated`.
fn notify_v2_login(ctx: &RequestCtx, mode: protocol::AuthMode, plan: Option<PlanType>) {
    ctx.notify_after_response(ServerNotification::AccountLoginCompleted(
        AccountLoginCompletedNotification {
            login_id: None,
            success: true,
            error: None,
            onboarding_entrypoint: None,
        },
    ));
    ctx.notify_after_response(ServerNotification::AccountUpdated(
        AccountUpdatedNotification {
            auth_mode: Some(mode),
            plan_type: plan,
            reason: None,
        },
    ));
}
