//! Hand-written `Debug` for every wire type that can carry a secret (API keys, access tokens)
//! or an opaque payload that may hold one: they print `[REDACTED]` in its place, so a log line or
//! a panic message can never leak a credential. Everything else derives `Debug`.

use std::fmt;

use crate::jsonrpc::{JSONRPCNotification, JSONRPCRequest, JSONRPCResponse};
use crate::v1::{GetAuthStatusResponse, LoginApiKeyParams};
use crate::v2::{
    ChatgptAuthTokensRefreshResponse, LoginAccountParams, ReportUnauthorizedParams,
    ReportUnauthorizedResponse,
};

/// Stands for a secret (or a payload that may hold one) in `Debug` output.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// `Some([REDACTED])` / `None`: whether a secret is present, never its value.
fn presence<T>(value: &Option<T>) -> Option<Redacted> {
    value.as_ref().map(|_| Redacted)
}

impl fmt::Debug for JSONRPCRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JSONRPCRequest")
            .field("id", &self.id)
            .field("method", &self.method)
            .field("params", &presence(&self.params))
            .finish()
    }
}

impl fmt::Debug for JSONRPCNotification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JSONRPCNotification")
            .field("method", &self.method)
            .field("params", &presence(&self.params))
            .finish()
    }
}

impl fmt::Debug for JSONRPCResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JSONRPCResponse")
            .field("id", &self.id)
            .field("result", &Redacted)
            .finish()
    }
}

impl fmt::Debug for GetAuthStatusResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetAuthStatusResponse")
            .field("auth_method", &self.auth_method)
            .field("auth_token", &presence(&self.auth_token))
            .field("requires_openai_auth", &self.requires_openai_auth)
            .field("refresh_failure", &self.refresh_failure)
            .finish()
    }
}

impl fmt::Debug for LoginApiKeyParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginApiKeyParams")
            .field("api_key", &Redacted)
            .finish()
    }
}

impl fmt::Debug for LoginAccountParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginAccountParams::ApiKey { .. } => f
                .debug_struct("ApiKey")
                .field("api_key", &Redacted)
                .finish(),
            LoginAccountParams::Chatgpt {
                use_hosted_login_success_page,
                app_brand,
                codex_streamlined_login,
            } => f
                .debug_struct("Chatgpt")
                .field(
                    "use_hosted_login_success_page",
                    use_hosted_login_success_page,
                )
                .field("app_brand", app_brand)
                .field("codex_streamlined_login", codex_streamlined_login)
                .finish(),
            LoginAccountParams::ChatgptDeviceCode => f.write_str("ChatgptDeviceCode"),
            LoginAccountParams::ChatgptAuthTokens {
                chatgpt_account_id,
                chatgpt_plan_type,
                ..
            } => f
                .debug_struct("ChatgptAuthTokens")
                .field("access_token", &Redacted)
                .field("chatgpt_account_id", chatgpt_account_id)
                .field("chatgpt_plan_type", chatgpt_plan_type)
                .finish(),
        }
    }
}

impl fmt::Debug for ChatgptAuthTokensRefreshResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatgptAuthTokensRefreshResponse")
            .field("access_token", &Redacted)
            .field("chatgpt_account_id", &self.chatgpt_account_id)
            .field("chatgpt_plan_type", &self.chatgpt_plan_type)
            .finish()
    }
}

impl fmt::Debug for ReportUnauthorizedParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportUnauthorizedParams")
            .field("access_token", &presence(&self.access_token))
            .field("include_token", &self.include_token)
            .field("include_refresh_failure", &self.include_refresh_failure)
            .finish()
    }
}

impl fmt::Debug for ReportUnauthorizedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportUnauthorizedResponse")
            .field("auth_method", &self.auth_method)
            .field("auth_token", &presence(&self.auth_token))
            .field("requires_openai_auth", &self.requires_openai_auth)
            .field("refresh_failure", &self.refresh_failure)
            .field("refreshed", &self.refreshed)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::RequestId;

    #[test]
    fn debug_never_prints_a_secret() {
        let secret = "sk-super-secret";
        let outputs = [
            format!(
                "{:?}",
                LoginApiKeyParams {
                    api_key: secret.into()
                }
            ),
            format!(
                "{:?}",
                LoginAccountParams::ChatgptAuthTokens {
                    access_token: secret.into(),
                    chatgpt_account_id: "acct".into(),
                    chatgpt_plan_type: None
                }
            ),
            format!(
                "{:?}",
                GetAuthStatusResponse {
                    auth_method: None,
                    auth_token: Some(secret.into()),
                    requires_openai_auth: true,
                    refresh_failure: None
                }
            ),
            format!(
                "{:?}",
                JSONRPCRequest {
                    id: RequestId::Integer(1),
                    method: "loginApiKey".into(),
                    params: Some(json!({"apiKey": secret}))
                }
            ),
            format!(
                "{:?}",
                JSONRPCResponse {
                    id: RequestId::Integer(1),
                    result: json!({"authToken": secret})
                }
            ),
        ];
        for output in outputs {
            assert!(!output.contains(secret), "{output}");
            assert!(output.contains("[REDACTED]"), "{output}");
        }
    }
}
