//! Read-only auth methods: `getAuthStatus`, `account/read`, `userInfo`, and the
//! `account/reportUnauthorized` extension (PROTOCOL.md §4.1, §4.6, §4.8, §5, §6).

use std::sync::Arc;

use auth_core::{AuthMode, AuthView};
use auth_core::{RecoverOutcome, StatusRefresh};
use protocol::requests::NoParams;
use protocol::{
    GetAccountParams, GetAccountResponse, GetAuthStatusParams, GetAuthStatusResponse,
    ReportUnauthorizedParams, ReportUnauthorizedResponse, UserInfoResponse,
};

use crate::client::Connection;
use crate::convert;
use crate::external_host::ConnectionHost;
use crate::reply::{Encoded, Reply};
use crate::status_cache::StatusQuery;

/// `getAuthStatus`: never fails because a refresh failed.
pub(crate) async fn get_auth_status(
    ctx: Arc<Connection>,
    params: GetAuthStatusParams,
) -> Reply<Encoded<GetAuthStatusResponse>> {
    let auth = ctx.state().auth();
    let view = auth.status(StatusRefresh::from(params.refresh_token)).await;
    let query = StatusQuery {
        include_token: params.include_token.unwrap_or(false),
        include_failure: params.include_refresh_failure.unwrap_or(false),
        requires_openai_auth: auth.requires_openai_auth(),
    };
    Reply::from(ctx.state().status_cache().answer(&view, query, || {
        status_response(
            &view,
            query.requires_openai_auth,
            query.include_token,
            query.include_failure,
        )
    }))
}

fn status_response(
    view: &AuthView,
    requires_openai_auth: bool,
    include_token: bool,
    include_failure: bool,
) -> GetAuthStatusResponse {
    GetAuthStatusResponse {
        auth_method: view.mode().map(convert::auth_mode),
        auth_token: include_token
            .then(|| view.usable_bearer().map(|token| token.into()))
            .flatten(),
        requires_openai_auth,
        refresh_failure: convert::opt_in_failure(view, include_failure),
    }
}

/// `account/read`.
pub(crate) async fn read_account(
    ctx: Arc<Connection>,
    params: GetAccountParams,
) -> Reply<GetAccountResponse> {
    let auth = ctx.state().auth();
    let view = auth.status(StatusRefresh::from(params.refresh_token)).await;
    let account = convert::account(&view);
    // "ChatGPT user ID belonging to this account response": only with a ChatGPT account.
    let user_id = match account {
        Some(protocol::Account::Chatgpt { .. }) => view.user_id().map(str::to_owned),
        _ => None,
    };
    Reply::ok(GetAccountResponse {
        account,
        user_id,
        requires_openai_auth: auth.requires_openai_auth(),
        workspace_routing: None,
        refresh_failure: convert::opt_in_failure(
            &view,
            params.include_refresh_failure.unwrap_or(false),
        ),
    })
}

/// `userInfo`: the email claim of ChatGPT credentials; no network, no refresh.
pub(crate) async fn user_info(ctx: Arc<Connection>, _: NoParams) -> Reply<UserInfoResponse> {
    let view = ctx.state().auth().current_view();
    let chatgpt = matches!(
        view.mode(),
        Some(AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens)
    );
    Reply::ok(UserInfoResponse {
        alleged_user_email: chatgpt.then(|| view.email().map(str::to_owned)).flatten(),
    })
}

/// `account/reportUnauthorized` (§6.2): reload, then at most one forced refresh per rejected
/// token; the answer is the status afterwards plus whether a refresh replaced the token.
pub(crate) async fn report_unauthorized(
    ctx: Arc<Connection>,
    params: ReportUnauthorizedParams,
) -> Reply<ReportUnauthorizedResponse> {
    let auth = ctx.state().auth();
    let include_token = params.include_token.unwrap_or(true);
    let include_failure = params.include_refresh_failure.unwrap_or(false);
    if !auth.requires_openai_auth() {
        let view = auth.status(StatusRefresh::WhenStale).await;
        return Reply::ok(report_response(
            &view,
            false,
            include_token,
            include_failure,
            false,
        ));
    }
    let host = ConnectionHost::new(&ctx);
    let outcome = auth
        .recover_unauthorized(
            params.access_token.as_deref().map(String::as_str),
            Some(&host),
        )
        .await;
    tracing::debug!(outcome = ?outcome, "401 report handled");
    let view = auth.current_view();
    let refreshed = outcome == RecoverOutcome::Refreshed;
    Reply::ok(report_response(
        &view,
        true,
        include_token,
        include_failure,
        refreshed,
    ))
}

fn report_response(
    view: &AuthView,
    requires_openai_auth: bool,
    include_token: bool,
    include_failure: bool,
    refreshed: bool,
) -> ReportUnauthorizedResponse {
    let status = status_response(view, requires_openai_auth, include_token, include_failure);
    ReportUnauthorizedResponse {
        auth_method: status.auth_method,
        auth_token: status.auth_token,
        requires_openai_auth: status.requires_openai_auth,
        refresh_failure: status.refresh_failure,
        refreshed,
    }
}
