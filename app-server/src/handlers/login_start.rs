//! `account/login/start` (PROTOCOL.md §4.9): its params checks, and the login its `type` names.

use std::sync::Arc;

use auth_core::{AppBrand, SuccessPage};
use protocol::{LoginAccountParams, LoginAccountResponse, LoginAppBrand};

use super::{account, login};
use crate::client::Connection;
use crate::error::RpcError;
use crate::reply::Reply;

/// `-32602` (before the handshake gate) for an empty API key or external tokens whose access
/// token is not a JWT.
pub(crate) fn check(params: &LoginAccountParams) -> Result<(), RpcError> {
    match params {
        LoginAccountParams::ApiKey { api_key } => account::check_api_key(api_key),
        LoginAccountParams::ChatgptAuthTokens { access_token, .. }
            if !auth_core::is_jwt(access_token) =>
        {
            Err(RpcError::invalid_params("accessToken is not a JWT"))
        }
        _ => Ok(()),
    }
}

/// `account/login/start`, by `type`.
pub(crate) async fn start(
    ctx: Arc<Connection>,
    params: LoginAccountParams,
) -> Reply<LoginAccountResponse> {
    match params {
        LoginAccountParams::ApiKey { api_key } => account::start_api_key(&ctx, &api_key).await,
        LoginAccountParams::Chatgpt {
            use_hosted_login_success_page,
            app_brand,
            ..
        } => {
            let page = success_page(use_hosted_login_success_page, app_brand);
            login::start_browser_v2(&ctx, page).await
        }
        LoginAccountParams::ChatgptDeviceCode => login::start_device_v2(&ctx).await,
        LoginAccountParams::ChatgptAuthTokens {
            access_token,
            chatgpt_account_id,
            chatgpt_plan_type,
        } => {
            account::start_external_tokens(
                &ctx,
                access_token.into_inner(),
                chatgpt_account_id,
                chatgpt_plan_type,
            )
            .await
        }
    }
}

/// The success page a v2 browser login asked for (Codex 0.171's `useHostedLoginSuccessPage` and
/// `appBrand`).
fn success_page(hosted: Option<bool>, brand: Option<LoginAppBrand>) -> SuccessPage {
    match (hosted, brand) {
        (Some(true), Some(LoginAppBrand::Chatgpt)) => SuccessPage::Hosted(AppBrand::Chatgpt),
        (Some(true), _) => SuccessPage::Hosted(AppBrand::Codex),
        _ => SuccessPage::Local,
    }
}
