//! `initialize` (PROTOCOL.md §3) and `getUserAgent` (§4.7).

use std::sync::Arc;

use protocol::requests::NoParams;
use protocol::{GetUserAgentResponse, InitializeParams, InitializeResponse};

use crate::client::{Connection, Session};
use crate::error::RpcError;
use crate::log_text::LogText;
use crate::reply::{Effect, Reply};

/// Client names that are not a client of their own but a relay for others (Codex's
/// `NON_ORIGINATING_CLIENT_NAMES`): they neither become the originator nor add the
/// `(<name>; <version>)` suffix to the user agent.
const NON_ORIGINATING_CLIENT_NAMES: [&str; 2] = ["codex_app_server_daemon", "codex-backend"];

/// Validates `clientInfo.name`, builds the user agent and returns the handshake result. The
/// connection counts as initialized once this response is written.
pub(crate) async fn initialize(
    ctx: Arc<Connection>,
    params: InitializeParams,
) -> Reply<InitializeResponse> {
    let client = params.client_info;
    if !is_header_value(&client.name) {
        return Reply::from(Err(RpcError::invalid_request(format!(
            "Invalid clientInfo.name: '{}'. Must be a valid HTTP header value.",
            client.name
        ))));
    }
    let config = ctx.state().config();
    let originating = !NON_ORIGINATING_CLIENT_NAMES.contains(&client.name.as_str());
    let originator = match (&config.originator_override, originating) {
        (Some(name), _) => name.clone(),
        (None, true) => client.name.clone(),
        (None, false) => auth_core::DEFAULT_ORIGINATOR.to_owned(),
    };
    let mut user_agent = format!(
        "{originator}/{} ({}; {}) {}",
        config.version, config.os, config.arch, config.terminal
    );
    if originating {
        user_agent.push_str(&format!(" ({}; {})", client.name, client.version));
    }
    tracing::info!(client = %LogText(&client.name), version = %LogText(&client.version), "initialize");
    let opt_out = params
        .capabilities
        .and_then(|caps| caps.opt_out_notification_methods)
        .unwrap_or_default();
    let session = Session {
        user_agent: user_agent.clone(),
        originator,
    };
    let response = InitializeResponse {
        user_agent,
        platform_family: if cfg!(windows) { "windows" } else { "unix" }.to_string(),
        platform_os: std::env::consts::OS.to_string(),
        codex_home: config.codex_home.to_string_lossy().into_owned(),
    };
    Reply::new(Ok(response), vec![Effect::Initialize(session, opt_out)])
}

/// The same user agent as this connection's `initialize` result.
pub(crate) async fn get_user_agent(
    ctx: Arc<Connection>,
    _: NoParams,
) -> Reply<GetUserAgentResponse> {
    let user_agent = ctx.session().map(|session| session.user_agent.clone());
    Reply::from(
        user_agent
            .map(|user_agent| GetUserAgentResponse { user_agent })
            .ok_or_else(RpcError::not_initialized),
    )
}

/// A valid HTTP header value: every byte is TAB, or at least 0x20 and not DEL.
fn is_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

#[cfg(test)]
mod tests {
    use super::is_header_value;

    #[test]
    fn header_value_rules() {
        assert!(is_header_value(""));
        assert!(is_header_value("codex_vscode"));
        assert!(is_header_value("naïve\tname"));
        assert!(!is_header_value("bad\rname"));
        assert!(!is_header_value("bad\nname"));
        assert!(!is_header_value("del\u{7f}"));
    }
}
