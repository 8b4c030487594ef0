#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed assertion.

use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;

#[tokio::test]
async fn a_panicking_handler_becomes_internal_error() {
    let result = catch_panic(async {
        if true {
            panic!("handler bug");
        }
        Ok(Value::Null)
    })
    .await;
    assert_eq!(result, Err(RpcError::internal()));
    assert_eq!(RpcError::internal().message, "Internal error");
}

#[test]
fn barriers_are_exactly_the_credential_changing_methods() {
    let barriers: Vec<&str> = CLIENT_REQUEST_METHODS
        .iter()
        .copied()
        .filter(|m| is_barrier(m))
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
fn every_method_is_recognised() {
    for method in CLIENT_REQUEST_METHODS {
        let params = json!({
            "clientInfo": {"name": "n", "version": "1"}, "apiKey": "k",
            "loginId": "1b4e28ba-2fa1-4d2e-883f-0016d3cca427", "type": "chatgpt"
        });
        assert!(
            parse(method, RequestId::Integer(1), params).is_ok(),
            "{method}"
        );
    }
}

#[test]
fn params_errors() {
    let id = || RequestId::Integer(1);
    let err = parse("nope", id(), json!([1])).unwrap_err();
    assert_eq!(err, RpcError::method_not_found("nope"));
    let err = parse(GET_AUTH_STATUS, id(), json!([true])).unwrap_err();
    assert_eq!(
        err.message,
        "Invalid params: invalid type: sequence, expected an object"
    );
    let err = parse(USER_INFO, id(), json!(5)).unwrap_err();
    assert_eq!(
        err.message,
        "Invalid params: invalid type: integer `5`, expected an object"
    );
    let err = parse(INITIALIZE, id(), Value::Null).unwrap_err();
    assert_eq!(err.message, "Invalid params: missing field `clientInfo`");
    assert!(parse(LOGOUT_CHAT_GPT, id(), json!({})).is_ok());
    assert!(parse(GET_AUTH_STATUS, id(), Value::Null).is_ok());
    let err = parse(CANCEL_LOGIN_CHAT_GPT, id(), json!({"loginId": "nope"})).unwrap_err();
    assert_eq!(err.code, protocol::jsonrpc::INVALID_PARAMS);
}

#[test]
fn empty_api_keys_are_invalid_params() {
    let login = parse(
        LOGIN_API_KEY,
        RequestId::Integer(1),
        json!({"apiKey": "  "}),
    )
    .unwrap();
    assert_eq!(
        validate(&login),
        Err(RpcError::invalid_params("apiKey must not be empty"))
    );
    let start = json!({"type": "apiKey", "apiKey": ""});
    let start = parse(ACCOUNT_LOGIN_START, RequestId::Integer(1), start).unwrap();
    assert_eq!(
        validate(&start).unwrap_err().message,
        "Invalid params: apiKey must not be empty"
    );
}
