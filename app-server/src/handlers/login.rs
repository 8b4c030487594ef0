//! Browser and device-code logins and their cancellation, v1 and v2 (PROTOCOL.md §4.3, §4.4,
//! §4.9 `chatgpt`/`chatgptDeviceCode`, §4.10).

use std::sync::Arc;

use auth_core::{LoginHandle, SuccessPage};
use protocol::requests::NoParams;
use protocol::{
    CancelLoginAccountParams, CancelLoginAccountResponse, CancelLoginAccountStatus,
    CancelLoginChatGptParams, CancelLoginChatGptResponse, LoginAccountResponse,
    LoginChatGptResponse,
};
use uuid::Uuid;

use super::account::end_active_login;
use crate::client::Connection;
use crate::error::RpcError;
use crate::logins::Family;
use crate::reply::{Effect, Reply, notify_all};

const START_LOGIN_SERVER: &str = "failed to start login server";

/// v1 `loginChatGpt`.
pub(crate) async fn login_chatgpt_v1(
    ctx: Arc<Connection>,
    _: NoParams,
) -> Reply<LoginChatGptResponse> {
    let Reply { result, after } = start_browser(&ctx, Family::V1, SuccessPage::Local).await;
    let result = result.map(|(login_id, auth_url)| LoginChatGptResponse { login_id, auth_url });
    Reply::new(result, after)
}

/// v2 `account/login/start` with `type: chatgpt`.
pub(crate) async fn start_browser_v2(
    ctx: &Connection,
    success_page: SuccessPage,
) -> Reply<LoginAccountResponse> {
    let Reply { result, after } = start_browser(ctx, Family::V2, success_page).await;
    let result = result.map(|(login_id, auth_url)| LoginAccountResponse::Chatgpt {
        login_id: login_id.to_string(),
        auth_url,
    });
    Reply::new(result, after)
}

/// Ends the active login, starts a browser login and makes it the active one; answers its id
/// and URL.
async fn start_browser(
    ctx: &Connection,
    family: Family,
    success_page: SuccessPage,
) -> Reply<(Uuid, String)> {
    let auth = ctx.state().auth();
    if let Err(err) = auth.check_chatgpt_login_allowed() {
        return Reply::from(Err(RpcError::from_login_start(err, START_LOGIN_SERVER)));
    }
    let mut after = end_active_login(ctx).await;
    let started = match ctx.session() {
        Some(session) => {
            auth.start_browser_login_with(&session.originator, success_page)
                .await
        }
        None => auth.start_browser_login().await,
    };
    let (handle, url) = match started {
        Ok(started) => started,
        Err(err) => {
            let err = RpcError::from_login_start(err, START_LOGIN_SERVER);
            return Reply::new(Err(err), after);
        }
    };
    let id = handle.login_id();
    after.extend(track(ctx, handle, family).await);
    Reply::new(Ok((id, url)), after)
}

/// v2 `account/login/start` with `type: chatgptDeviceCode`: answers once the issuer handed out a
/// user code, then polls in the background.
pub(crate) async fn start_device_v2(ctx: &Connection) -> Reply<LoginAccountResponse> {
    const OPERATION: &str = "failed to request device code";
    let auth = ctx.state().auth();
    if let Err(err) = auth.check_chatgpt_login_allowed() {
        return Reply::from(Err(RpcError::from_login_start(err, OPERATION)));
    }
    let mut after = end_active_login(ctx).await;
    let (handle, code) = match auth.start_device_login().await {
        Ok(started) => started,
        Err(err) => return Reply::new(Err(RpcError::from_login_start(err, OPERATION)), after),
    };
    let login_id = handle.login_id().to_string();
    after.extend(track(ctx, handle, Family::V2).await);
    Reply::new(
        Ok(LoginAccountResponse::ChatgptDeviceCode {
            login_id,
            verification_url: code.verification_url,
            user_code: code.user_code,
        }),
        after,
    )
}

/// Makes `handle` the active login: the end of a login it displaced, then the watch that reports
/// its own end, both after the response.
async fn track(ctx: &Connection, handle: LoginHandle, family: Family) -> Vec<Effect> {
    let state = ctx.state();
    let (displaced, watch) = state.logins().track(handle, family, state.auth()).await;
    let mut after = notify_all(displaced);
    after.push(Effect::WatchLogin(watch));
    after
}

/// v1 `cancelLoginChatGpt`: an id that is not the active login is an error.
pub(crate) async fn cancel_v1(
    ctx: Arc<Connection>,
    params: CancelLoginChatGptParams,
) -> Reply<CancelLoginChatGptResponse> {
    let state = ctx.state();
    match state.logins().cancel(params.login_id, state.auth()).await {
        None => Reply::from(Err(RpcError::invalid_request(format!(
            "login id not found: {}",
            params.login_id
        )))),
        Some(ended) => Reply::new(Ok(CancelLoginChatGptResponse {}), notify_all(ended)),
    }
}

/// v2 `account/login/cancel`: `notFound` is a result, not an error.
pub(crate) async fn cancel_v2(
    ctx: Arc<Connection>,
    params: CancelLoginAccountParams,
) -> Reply<CancelLoginAccountResponse> {
    let Ok(id) = Uuid::parse_str(&params.login_id) else {
        let text = format!("invalid login id: {}", params.login_id);
        return Reply::from(Err(RpcError::invalid_request(text)));
    };
    let state = ctx.state();
    let (status, after) = match state.logins().cancel(id, state.auth()).await {
        None => (CancelLoginAccountStatus::NotFound, Vec::new()),
        Some(ended) => (CancelLoginAccountStatus::Canceled, notify_all(ended)),
    };
    Reply::new(Ok(CancelLoginAccountResponse { status }), after)
}
