//! Browser and device-code logins and their cancellation, v1 and v2 (PROTOCOL.md §4.3, §4.4,
//! §4.9 `chatgpt`/`chatgptDeviceCode`, §4.10).

use auth_core::login::SuccessPage;
use protocol::{
    CancelLoginAccountParams, CancelLoginAccountResponse, CancelLoginAccountStatus,
    CancelLoginChatGptParams, CancelLoginChatGptResponse, LoginAccountResponse,
    LoginChatGptResponse,
};
use uuid::Uuid;

use super::account::end_active_login;
use crate::dispatch::RequestCtx;
use crate::error::RpcError;
use crate::logins::Family;

const START_LOGIN_SERVER: &str = "failed to start login server";

/// v1 `loginChatGpt`.
pub(crate) async fn login_chatgpt_v1(ctx: &RequestCtx) -> Result<LoginChatGptResponse, RpcError> {
    let (login_id, auth_url) = start_browser(ctx, Family::V1, SuccessPage::Local).await?;
    Ok(LoginChatGptResponse { login_id, auth_url })
}

/// v2 `account/login/start` with `type: chatgpt`.
pub(crate) async fn start_browser_v2(
    ctx: &RequestCtx,
    success_page: SuccessPage,
) -> Result<LoginAccountResponse, RpcError> {
    let (login_id, auth_url) = start_browser(ctx, Family::V2, success_page).await?;
    Ok(LoginAccountResponse::Chatgpt {
        login_id: login_id.to_string(),
        auth_url,
    })
}

async fn start_browser(
    ctx: &RequestCtx,
    family: Family,
    success_page: SuccessPage,
) -> Result<(Uuid, String), RpcError> {
    let state = ctx.state();
    let auth = state.auth();
    auth.check_chatgpt_login_allowed()
        .map_err(|err| RpcError::from_login_start(err, START_LOGIN_SERVER))?;
    end_active_login(ctx).await;
    let started = match ctx.connection().session() {
        Some(session) => {
            auth.start_browser_login_with(&session.originator, success_page)
                .await
        }
        None => auth.start_browser_login().await,
    };
    let (handle, url) =
        started.map_err(|err| RpcError::from_login_start(err, START_LOGIN_SERVER))?;
    let id = handle.login_id();
    let (sent, response_sent) = tokio::sync::oneshot::channel();
    let ended = state
        .logins()
        .track(handle, family, state.clone(), response_sent);
    for ended in ended.await {
        ctx.notify_after_response(ended);
    }
    ctx.signal_after_response(sent);
    Ok((id, url))
}

/// v2 `account/login/start` with `type: chatgptDeviceCode`: answers once the issuer handed out a
/// user code, then polls in the background.
pub(crate) async fn start_device_v2(ctx: &RequestCtx) -> Result<LoginAccountResponse, RpcError> {
    const OPERATION: &str = "failed to request device code";
    let state = ctx.state();
    let auth = state.auth();
    auth.check_chatgpt_login_allowed()
        .map_err(|err| RpcError::from_login_start(err, OPERATION))?;
    end_active_login(ctx).await;
    let (handle, code) = auth
        .start_device_login()
        .await
        .map_err(|err| RpcError::from_login_start(err, OPERATION))?;
    let login_id = handle.login_id().to_string();
    let (sent, response_sent) = tokio::sync::oneshot::channel();
    let ended = state
        .logins()
        .track(handle, Family::V2, state.clone(), response_sent);
    for ended in ended.await {
        ctx.notify_after_response(ended);
    }
    ctx.signal_after_response(sent);
    Ok(LoginAccountResponse::ChatgptDeviceCode {
        login_id,
        verification_url: code.verification_url,
        user_code: code.user_code,
    })
}

/// v1 `cancelLoginChatGpt`: an id that is not the active login is an error.
pub(crate) async fn cancel_v1(
    ctx: &RequestCtx,
    params: CancelLoginChatGptParams,
) -> Result<CancelLoginChatGptResponse, RpcError> {
    let state = ctx.state();
    match state.logins().cancel(params.login_id, state).await {
        None => Err(RpcError::invalid_request(format!(
            "login id not found: {}",
            params.login_id
        ))),
        Some(notifications) => {
            notifications
                .into_iter()
                .for_each(|n| ctx.notify_after_response(n));
            Ok(CancelLoginChatGptResponse {})
        }
    }
}

/// v2 `account/login/cancel`: `notFound` is a result, not an error.
pub(crate) async fn cancel_v2(
    ctx: &RequestCtx,
    params: CancelLoginAccountParams,
) -> Result<CancelLoginAccountResponse, RpcError> {
    let id = Uuid::parse_str(&params.login_id)
        .map_err(|_| RpcError::invalid_request(format!("invalid login id: {}", params.login_id)))?;
    let state = ctx.state();
    let status = match state.logins().cancel(id, state).await {
        None => CancelLoginAccountStatus::NotFound,
        Some(notifications) => {
            notifications
                .into_iter()
                .for_each(|n| ctx.notify_after_response(n));
            CancelLoginAccountStatus::Canceled
        }
    };
    Ok(CancelLoginAccountResponse { status })
}
