//! PROTOCOL.md §3: the handshake, the per-connection gate, and hub delivery (§4.14, §4.15).

use app_server::ServerConfig;
use pretty_assertions::assert_eq;
use protocol::{
    AccountUpdatedNotification, AuthMode, ChatgptAuthTokensRefreshParams,
    ChatgptAuthTokensRefreshReason, ServerNotification, ServerRequest,
};
use serde_json::{Value, json};

use crate::support::{Session, client, error_of, hermetic_options, test_state};

#[tokio::test]
async fn initialize_returns_the_four_keys() {
    let mut session = Session::start();
    let answer = session.request("initialize", client("codex_vscode")).await;
    let result = answer["result"].as_object().expect("result object");
    let keys: Vec<&str> = result.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["userAgent", "platformFamily", "platformOs", "codexHome"]
    );
    let user_agent = result["userAgent"].as_str().unwrap();
    let version = ServerConfig::new(session.home.path().to_path_buf()).version;
    assert_ne!(version, "0.0.0", "the workspace carries a real version");
    assert!(
        user_agent.starts_with(&format!("codex_vscode/{version} (")),
        "{user_agent}"
    );
    assert!(
        user_agent.ends_with(" unknown (codex_vscode; 0.1.0)"),
        "{user_agent}"
    );
    let family = if cfg!(windows) { "windows" } else { "unix" };
    assert_eq!(result["platformFamily"], json!(family));
    assert_eq!(result["platformOs"], json!(std::env::consts::OS));
    assert_eq!(
        result["codexHome"],
        json!(session.home.path().to_string_lossy())
    );
}

#[tokio::test]
async fn originator_override_and_terminal_come_from_config() {
    let (_, home) = test_state();
    let mut config = ServerConfig::new(home.path().to_path_buf());
    config.originator_override = Some("codex_internal".into());
    config.terminal = "vscode/1.90.0".into();
    let auth = auth_core::AuthManager::new(hermetic_options(home.path())).unwrap();
    let mut session = Session::connect(app_server::ServerState::new(config, auth), home);
    let result = session.initialize().await;
    let user_agent = result["userAgent"].as_str().unwrap();
    assert!(user_agent.starts_with("codex_internal/"), "{user_agent}");
    assert!(
        user_agent.ends_with(" vscode/1.90.0 (test_client; 0.1.0)"),
        "{user_agent}"
    );
}

/// Codex 0.171: a relay client name (`codex_app_server_daemon`, `codex-backend`) is not the
/// originator and adds no client suffix; the override still wins.
#[tokio::test]
async fn relay_client_names_do_not_originate() {
    for name in ["codex_app_server_daemon", "codex-backend"] {
        let mut session = Session::start();
        let answer = session.request("initialize", client(name)).await;
        let user_agent = answer["result"]["userAgent"].as_str().unwrap().to_owned();
        assert!(user_agent.starts_with("codex_cli_rs/"), "{user_agent}");
        assert!(user_agent.ends_with(" unknown"), "{user_agent}");
        assert!(!user_agent.contains(name), "{user_agent}");
    }
    let (_, home) = test_state();
    let mut config = ServerConfig::new(home.path().to_path_buf());
    config.originator_override = Some("codex_internal".into());
    let auth = auth_core::AuthManager::new(hermetic_options(home.path())).unwrap();
    let mut session = Session::connect(app_server::ServerState::new(config, auth), home);
    let answer = session
        .request("initialize", client("codex_app_server_daemon"))
        .await;
    let user_agent = answer["result"]["userAgent"].as_str().unwrap();
    assert!(user_agent.starts_with("codex_internal/"), "{user_agent}");
    assert!(user_agent.ends_with(" unknown"), "{user_agent}");
}

#[tokio::test]
async fn requests_before_initialize_are_rejected() {
    let mut session = Session::start();
    let answer = session.request("getUserAgent", Value::Null).await;
    assert_eq!(error_of(&answer), (-32600, "Not initialized".to_string()));
    session.initialize().await;
    let answer = session.request("initialize", client("again")).await;
    assert_eq!(
        error_of(&answer),
        (-32600, "Already initialized".to_string())
    );
}

#[tokio::test]
async fn failed_initialize_can_be_retried() {
    let mut session = Session::start();
    let answer = session.request("initialize", client("bad\rname")).await;
    assert_eq!(
        error_of(&answer),
        (
            -32600,
            "Invalid clientInfo.name: 'bad\rname'. Must be a valid HTTP header value.".into()
        )
    );
    let answer = session.request("initialize", json!({})).await;
    assert_eq!(
        error_of(&answer),
        (-32602, "Invalid params: missing field `clientInfo`".into())
    );
    let answer = session.request("getUserAgent", json!({})).await;
    assert_eq!(error_of(&answer).1, "Not initialized");
    for name in ["", "naïve", "tab\tname"] {
        let mut fresh = Session::start();
        let answer = fresh.request("initialize", client(name)).await;
        assert!(
            answer["result"]["userAgent"].is_string(),
            "{name:?}: {answer}"
        );
    }
    session.initialize().await;
}

#[tokio::test]
async fn get_user_agent_matches_initialize() {
    let mut session = Session::start();
    let init = session.initialize().await;
    let answer = session.request("getUserAgent", json!(null)).await;
    assert_eq!(answer["result"], json!({"userAgent": init["userAgent"]}));
}

#[tokio::test]
async fn initialized_notification_is_not_answered() {
    let mut session = Session::initialized().await;
    session.notify("initialized", json!({})).await;
    session.send_json(json!({"method": "initialized"})).await;
    let answer = session.request("getUserAgent", json!({})).await;
    assert!(answer["result"]["userAgent"].is_string());
}

#[tokio::test]
async fn gate_is_per_connection() {
    let (state, home) = test_state();
    let mut first = Session::connect(state.clone(), home.clone());
    first.initialize().await;
    let mut second = Session::connect(state, home);
    let answer = second.request("getUserAgent", json!({})).await;
    assert_eq!(error_of(&answer).1, "Not initialized");
    second.initialize().await;
}

fn account_updated() -> ServerNotification {
    ServerNotification::AccountUpdated(AccountUpdatedNotification {
        auth_mode: Some(AuthMode::ApiKey),
        plan_type: None,
        reason: None,
    })
}

#[tokio::test]
async fn broadcast_reaches_initialized_connections_minus_opt_outs() {
    let (state, home) = test_state();
    let mut plain = Session::connect(state.clone(), home.clone());
    plain.initialize().await;
    let mut opted_out = Session::connect(state.clone(), home.clone());
    let mut params = client("quiet");
    params["capabilities"] = json!({"optOutNotificationMethods": ["account/updated"]});
    opted_out.request("initialize", params).await;
    let mut uninitialized = Session::connect(state.clone(), home);

    state.hub().broadcast(account_updated()).await;

    let expected = json!({"method": "account/updated", "params": {"authMode": "apikey", "planType": null, "reason": null}});
    assert_eq!(plain.read_message().await, expected);
    // The next message on the other connections is the answer to a fence request.
    let answer = opted_out.request("getUserAgent", json!({})).await;
    assert!(answer["result"].is_object(), "{answer}");
    let answer = uninitialized.request("getUserAgent", json!({})).await;
    assert_eq!(error_of(&answer).1, "Not initialized");
}

fn refresh_request(id: protocol::RequestId) -> ServerRequest {
    ServerRequest::ChatgptAuthTokensRefresh {
        id,
        params: ChatgptAuthTokensRefreshParams {
            reason: ChatgptAuthTokensRefreshReason::Unauthorized,
            previous_account_id: Some("org-123".into()),
        },
    }
}

#[tokio::test]
async fn server_requests_use_a_counter_from_zero_and_resolve_by_id() {
    let mut session = Session::initialized().await;
    let state = session.state.clone();
    let hub = state.hub();
    let connection = hub.initialized_connections()[0];

    let first = hub.send_request(connection, refresh_request).await.unwrap();
    let sent = session.read_message().await;
    assert_eq!(
        sent,
        json!({"method": "account/chatgptAuthTokens/refresh", "id": 0,
               "params": {"reason": "unauthorized", "previousAccountId": "org-123"}})
    );
    let second = hub.send_request(connection, refresh_request).await.unwrap();
    assert_eq!(session.read_message().await["id"], json!(1));

    session.send_json(json!({"id": 77, "result": {}})).await; // unknown id: ignored
    session
        .send_json(json!({"id": 1, "error": {"code": -1, "message": "no"}}))
        .await;
    let result = json!({"accessToken": "a.b.c", "chatgptAccountId": "org-123"});
    session.send_json(json!({"id": 0, "result": result})).await;
    assert_eq!(first.response().await.unwrap(), Ok(result));
    assert_eq!(
        second.response().await.unwrap(),
        Err(json!({"code": -1, "message": "no"}))
    );

    let third = hub.send_request(connection, refresh_request).await.unwrap();
    assert_eq!(session.read_message().await["id"], json!(2));
    session.finish().await.unwrap();
    assert_eq!(
        third.response().await,
        Err(app_server::ServerRequestError::Cancelled)
    );
}

#[tokio::test]
async fn server_requests_need_an_initialized_connection() {
    let (state, home) = test_state();
    let mut first = Session::connect(state.clone(), home.clone());
    first.initialize().await;
    let connection = state.hub().initialized_connections()[0];
    first.finish().await.unwrap();
    let _uninitialized = Session::connect(state.clone(), home);
    assert!(state.hub().initialized_connections().is_empty());
    let sent = state.hub().send_request(connection, refresh_request).await;
    assert_eq!(
        sent.unwrap_err(),
        app_server::ServerRequestError::NoConnection
    );
}
