//! PROTOCOL.md §2: codes, texts and the check order envelope → method → params → gate → handler.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::{Session, error_of};

#[tokio::test]
async fn unknown_method_is_method_not_found_before_and_after_initialize() {
    let mut session = Session::start();
    let answer = session.request("bogus/method", json!({})).await;
    assert_eq!(
        error_of(&answer),
        (-32601, "Method not found: bogus/method".into())
    );
    let answer = session.request("bogus/method", json!([1, 2])).await;
    assert_eq!(
        error_of(&answer).0,
        -32601,
        "method lookup comes before params"
    );
    session.initialize().await;
    let answer = session.request("getauthstatus", json!({})).await;
    assert_eq!(
        error_of(&answer),
        (-32601, "Method not found: getauthstatus".into())
    );
}

#[tokio::test]
async fn bad_params_come_before_the_gate() {
    let mut session = Session::start();
    let answer = session.request("loginApiKey", json!({})).await;
    assert_eq!(
        error_of(&answer),
        (-32602, "Invalid params: missing field `apiKey`".into())
    );
    let answer = session
        .request("getAuthStatus", json!({"includeToken": "yes"}))
        .await;
    assert_eq!(
        error_of(&answer),
        (
            -32602,
            "Invalid params: invalid type: string \"yes\", expected a boolean".into()
        )
    );
    let answer = session
        .request("loginApiKey", json!({"apiKey": "sk-test"}))
        .await;
    assert_eq!(error_of(&answer), (-32600, "Not initialized".into()));
}

#[tokio::test]
async fn params_validation_texts() {
    let mut session = Session::initialized().await;
    let cases = [
        (
            "loginApiKey",
            json!({"apiKey": "   "}),
            "Invalid params: apiKey must not be empty",
        ),
        (
            "account/login/start",
            json!({}),
            "Invalid params: missing field `type`",
        ),
        (
            "account/login/start",
            json!({"type": "bogus"}),
            "Invalid params: unknown variant `bogus`, expected one of `apiKey`, `chatgpt`, `chatgptDeviceCode`, `chatgptAuthTokens`",
        ),
        (
            "account/login/start",
            json!({"type": "apiKey", "apiKey": ""}),
            "Invalid params: apiKey must not be empty",
        ),
        (
            "getUserAgent",
            json!([]),
            "Invalid params: invalid type: sequence, expected an object",
        ),
        (
            "logoutChatGpt",
            json!("x"),
            "Invalid params: invalid type: string \"x\", expected an object",
        ),
        (
            "account/read",
            json!(true),
            "Invalid params: invalid type: boolean `true`, expected an object",
        ),
    ];
    for (method, params, message) in cases {
        let answer = session.request(method, params).await;
        assert_eq!(error_of(&answer), (-32602, message.to_string()), "{method}");
    }
    let answer = session
        .request("cancelLoginChatGpt", json!({"loginId": "not-a-uuid"}))
        .await;
    let (code, message) = error_of(&answer);
    assert_eq!(code, -32602);
    assert!(message.starts_with("Invalid params: "), "{message}");
}

#[tokio::test]
async fn no_params_methods_accept_omitted_null_and_empty() {
    let mut session = Session::initialized().await;
    for params in [None, Some(Value::Null), Some(json!({}))] {
        let mut message = json!({"id": "ua", "method": "getUserAgent"});
        if let Some(params) = params {
            message["params"] = params;
        }
        session.send_json(message).await;
        let answer = session.read_message().await;
        assert_eq!(answer["id"], json!("ua"));
        assert!(answer["result"]["userAgent"].is_string(), "{answer}");
    }
}

/// Every auth method with valid params: each is gated by `initialize`, then answered (a result
/// or one of its own application errors, never -32601/-32602/-32600 "Not initialized").
const AUTH_METHODS: [(&str, &str); 11] = [
    ("getAuthStatus", "{}"),
    ("loginApiKey", r#"{"apiKey":"sk-test"}"#),
    ("userInfo", "{}"),
    ("account/read", "{}"),
    ("account/reportUnauthorized", "{}"),
    ("loginChatGpt", "{}"),
    (
        "cancelLoginChatGpt",
        r#"{"loginId":"1b4e28ba-2fa1-4d2e-883f-0016d3cca427"}"#,
    ),
    (
        "account/login/start",
        r#"{"type":"apiKey","apiKey":"sk-x"}"#,
    ),
    ("account/login/cancel", r#"{"loginId":"x"}"#),
    ("logoutChatGpt", "{}"),
    ("account/logout", "{}"),
];

#[tokio::test]
async fn auth_methods_are_gated_then_answered() {
    let mut session = Session::start();
    for (method, params) in AUTH_METHODS {
        let params: Value = serde_json::from_str(params).unwrap();
        let answer = session.request(method, params).await;
        assert_eq!(
            error_of(&answer),
            (-32600, "Not initialized".into()),
            "{method}"
        );
    }
    session.initialize().await;
    for (method, params) in AUTH_METHODS {
        let params: Value = serde_json::from_str(params).unwrap();
        let id = session.send(method, params).await;
        // Skip the notifications a method causes; find its answer.
        let answer = loop {
            let message = session.read_message().await;
            if message.get("id") == Some(&id) {
                break message;
            }
        };
        if let Some(error) = answer.get("error") {
            let code = error["code"].as_i64().unwrap();
            assert!(
                code != -32601 && code != -32602,
                "{method} must be implemented: {answer}"
            );
            assert_ne!(error["message"], "Not initialized", "{method}");
        }
    }
}
