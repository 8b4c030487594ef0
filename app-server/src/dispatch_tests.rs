#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed assertion.

use pretty_assertions::assert_eq;
use protocol::methods::*;
use protocol::{GetAuthStatusParams, InitializeParams, LoginAccountParams, LoginApiKeyParams};
use serde_json::json;

use super::*;

fn params(value: Value) -> Params {
    Params::from_value(&value)
}

#[tokio::test]
async fn a_panicking_handler_becomes_internal_error() {
    let reply = CatchPanic(Box::pin(async {
        if true {
            panic!("handler bug");
        }
        Reply::from(Ok(RawValue::NULL.to_owned()))
    }))
    .await;
    assert_eq!(reply.result.err(), Some(RpcError::internal()));
    assert!(reply.after.is_empty());
    assert_eq!(RpcError::internal().message, "Internal error");
}

#[test]
fn every_client_request_is_routed_by_its_name() {
    let mut registered: Vec<&str> = ROUTES.routes.iter().map(|route| route.name).collect();
    let mut methods = requests::client_request_names();
    registered.sort_unstable();
    methods.sort_unstable();
    assert_eq!(registered, methods);
    for method in requests::client_request_names() {
        assert_eq!(route(method).map(|route| route.name), Some(method));
    }
    assert!(route("nope").is_none());
    assert!(route("getauthstatus").is_none());
}

#[test]
fn barriers_are_exactly_the_credential_changing_methods() {
    let barriers: Vec<&str> = requests::client_request_names()
        .into_iter()
        .filter(|method| route(method).is_some_and(Route::is_barrier))
        .collect();
    assert_eq!(
        barriers,
        [
            INITIALIZE,
            LOGIN_API_KEY,
            LOGIN_CHAT_GPT,
            CANCEL_LOGIN_CHAT_GPT,
            LOGOUT_CHAT_GPT,
            ACCOUNT_LOGIN_START,
            ACCOUNT_LOGIN_CANCEL,
            ACCOUNT_LOGOUT
        ]
    );
}

#[test]
fn params_errors() {
    let err = decode::<GetAuthStatusParams>(&params(json!([true])))
        .err()
        .unwrap();
    assert_eq!(
        err.message,
        "Invalid params: invalid type: sequence, expected an object"
    );
    let err = decode::<requests::NoParams>(&params(json!(5)))
        .err()
        .unwrap();
    assert_eq!(
        err.message,
        "Invalid params: invalid type: integer `5`, expected an object"
    );
    let err = decode::<InitializeParams>(&Params::default())
        .err()
        .unwrap();
    assert_eq!(err.message, "Invalid params: missing field `clientInfo`");
    assert!(decode::<requests::NoParams>(&params(json!({}))).is_ok());
    assert!(decode::<requests::NoParams>(&params(json!({"ignored": 1}))).is_ok());
    assert!(decode::<GetAuthStatusParams>(&Params::default()).is_ok());
    let err = decode::<protocol::CancelLoginChatGptParams>(&params(json!({"loginId": "nope"})))
        .err()
        .unwrap();
    assert_eq!(err.code, protocol::jsonrpc::INVALID_PARAMS);
}

#[test]
fn params_text_decodes_as_its_value_would() {
    // A duplicate member: the text alone is refused by serde; the value keeps the last one.
    let status: GetAuthStatusParams = decode(&Params::from_value(&Value::Null)).unwrap();
    assert_eq!(status.include_token, None);
    let line =
        br#"{"id":1,"method":"getAuthStatus","params":{"includeToken":false,"includeToken":true}}"#;
    let Some(crate::transport::Incoming::Request { params: sent, .. }) =
        crate::transport::classify(line)
    else {
        panic!("expected a request");
    };
    let status: GetAuthStatusParams = decode(&sent).unwrap();
    assert_eq!(status.include_token, Some(true));
    let err = decode::<GetAuthStatusParams>(&params(json!({"includeToken": "yes"})))
        .err()
        .unwrap();
    assert_eq!(
        err.message,
        "Invalid params: invalid type: string \"yes\", expected a boolean"
    );
}

#[test]
fn empty_api_keys_are_invalid_params() {
    let login: LoginApiKeyParams = decode(&params(json!({"apiKey": "  "}))).unwrap();
    assert_eq!(
        account::check_login_api_key(&login),
        Err(RpcError::invalid_params("apiKey must not be empty"))
    );
    let start: LoginAccountParams =
        decode(&params(json!({"type": "apiKey", "apiKey": ""}))).unwrap();
    assert_eq!(
        login_start::check(&start).unwrap_err().message,
        "Invalid params: apiKey must not be empty"
    );
    let tokens = json!({"type": "chatgptAuthTokens", "accessToken": "opaque",
                        "chatgptAccountId": "org-1"});
    let tokens: LoginAccountParams = decode(&params(tokens)).unwrap();
    assert_eq!(
        login_start::check(&tokens).unwrap_err().message,
        "Invalid params: accessToken is not a JWT"
    );
}
