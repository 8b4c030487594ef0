//! The host side of external tokens (`chatgptAuthTokens`): asks a client for new tokens with the
//! server request `account/chatgptAuthTokens/refresh` (PROTOCOL.md §4.15).

use auth_core::Secret;
use auth_core::{ExternalAuthHost, ExternalTokens};
use protocol::{
    ChatgptAuthTokensRefreshParams, ChatgptAuthTokensRefreshReason,
    ChatgptAuthTokensRefreshResponse, ServerRequest,
};

use crate::client::Connection;
use crate::hub::ConnectionId;
use crate::state::ServerState;

/// Sends the refresh request to the connection that supplied the tokens when it is still
/// initialized, else to the reporting connection. auth-core applies the 10 s timeout.
pub(crate) struct ConnectionHost {
    state: ServerState,
    target: ConnectionId,
}

impl ConnectionHost {
    /// The host for a report arriving on `reporter`.
    pub(crate) fn new(reporter: &Connection) -> Self {
        let state = reporter.state().clone();
        let reporter = reporter.id();
        let target = state
            .token_supplier()
            .filter(|id| state.hub().is_initialized(*id))
            .unwrap_or(reporter);
        Self { state, target }
    }
}

impl ExternalAuthHost for ConnectionHost {
    fn refresh_tokens(
        &self,
        previous_account_id: Option<String>,
    ) -> futures::future::BoxFuture<'static, Result<ExternalTokens, String>> {
        let state = self.state.clone();
        let target = self.target;
        Box::pin(async move {
            let params = ChatgptAuthTokensRefreshParams {
                reason: ChatgptAuthTokensRefreshReason::Unauthorized,
                previous_account_id,
            };
            let pending = state
                .hub()
                .send_request(target, |id| ServerRequest::ChatgptAuthTokensRefresh {
                    id,
                    params,
                })
                .await
                .map_err(|err| err.to_string())?;
            let answer = pending.response().await.map_err(|err| err.to_string())?;
            let result = answer.map_err(|_| "the client answered with an error".to_owned())?;
            let tokens: ChatgptAuthTokensRefreshResponse = serde_json::from_value(result)
                .map_err(|_| "the client's answer is malformed".to_owned())?;
            Ok(ExternalTokens {
                access_token: Secret::new(tokens.access_token.into_inner()),
                chatgpt_account_id: tokens.chatgpt_account_id,
                chatgpt_plan_type: tokens.chatgpt_plan_type,
            })
        })
    }
}
