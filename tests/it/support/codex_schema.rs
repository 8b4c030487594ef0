//! Codex 0.171's JSON Schema (`tests/codex-schema/0.171.0`, see its README) and the check that a
//! message the server sent conforms to it. [`super::Session`] runs [`check`] on every message it
//! reads, so every integration test that talks to the in-process server is also a schema test.
//!
//! Not checked, because Codex 0.171 has no such message (PROTOCOL.md, differences table): answers
//! to the v1 methods and to `account/reportUnauthorized`, the v1 notifications
//! (`authStatusChange`, `loginChatGptComplete`), and error answers with `"id": null` (to lines
//! Codex drops: not JSON, too long).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;
use serde_json::{Value, json};

/// The vendored bundle: every Codex type under `definitions` (`v2/` types nested).
static BUNDLE: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!(
        "../../codex-schema/0.171.0/codex_app_server_protocol.schemas.json"
    ))
    .expect("the vendored Codex schema is JSON")
});

/// How many messages [`check`] validated, process-wide (tests assert it grows).
pub static VALIDATED: AtomicUsize = AtomicUsize::new(0);

/// Compiled validators by definition path (`v2/GetAccountResponse`).
static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
    LazyLock::new(Default::default);

/// The Codex type of the result of `method`; `None` for methods Codex 0.171 does not have.
fn result_type(method: &str) -> Option<&'static str> {
    Some(match method {
        "initialize" => "InitializeResponse",
        "account/read" => "v2/GetAccountResponse",
        "account/login/start" => "v2/LoginAccountResponse",
        "account/login/cancel" => "v2/CancelLoginAccountResponse",
        "account/logout" => "v2/LogoutAccountResponse",
        _ => return None,
    })
}

/// The validator of the definition at `path` (`/`-separated below `definitions`).
fn validator(path: &str) -> Arc<jsonschema::Validator> {
    let mut cache = VALIDATORS.lock();
    let entry = cache.entry(path.to_owned()).or_insert_with(|| {
        let schema = json!({
            "definitions": BUNDLE["definitions"],
            "allOf": [{"$ref": format!("#/definitions/{path}")}],
        });
        Arc::new(jsonschema::draft7::new(&schema).expect("the Codex schema compiles"))
    });
    Arc::clone(entry)
}

/// The method names of a union of Codex's (`ServerNotification`, `ServerRequest`).
fn union_methods(union: &str) -> Vec<String> {
    BUNDLE["definitions"][union]["oneOf"]
        .as_array()
        .expect("a oneOf union")
        .iter()
        .filter_map(|variant| variant["properties"]["method"]["enum"][0].as_str())
        .map(str::to_owned)
        .collect()
}

/// Validates `instance` against the definition at `path`; the errors, if any.
pub fn errors(path: &str, instance: &Value) -> Vec<String> {
    validator(path)
        .iter_errors(instance)
        .map(|err| format!("{err} at {}", err.instance_path()))
        .collect()
}

/// Fails the test unless `message` conforms to Codex 0.171's schema. `request_method` is the
/// method of the request a response answers, when the session knows it.
pub fn check(message: &Value, request_method: Option<&str>) {
    let problems = match classify(message, request_method) {
        Some((path, instance)) => {
            VALIDATED.fetch_add(1, Ordering::Relaxed);
            errors(path, instance)
        }
        None => Vec::new(),
    };
    assert!(
        problems.is_empty(),
        "not valid against Codex 0.171's schema: {message}\n{}",
        problems.join("\n")
    );
}

/// The definition a message must satisfy and the part of it to validate; `None` for the
/// messages Codex 0.171 does not have (see the module docs).
fn classify<'m>(
    message: &'m Value,
    request_method: Option<&str>,
) -> Option<(&'static str, &'m Value)> {
    static NOTIFICATIONS: LazyLock<Vec<String>> =
        LazyLock::new(|| union_methods("ServerNotification"));
    static REQUESTS: LazyLock<Vec<String>> = LazyLock::new(|| union_methods("ServerRequest"));
    let method = message.get("method").and_then(Value::as_str);
    let id = message.get("id");
    match (method, id) {
        (Some(method), None) => NOTIFICATIONS
            .iter()
            .any(|m| m == method)
            .then_some(("ServerNotification", message)),
        (Some(method), Some(_)) => {
            assert!(
                REQUESTS.iter().any(|m| m == method),
                "a server request Codex 0.171 does not have: {message}"
            );
            Some(("ServerRequest", message))
        }
        (None, Some(Value::Null)) => None,
        (None, Some(_)) if message.get("error").is_some() => Some(("JSONRPCError", message)),
        (None, Some(_)) => match request_method.and_then(result_type) {
            Some(path) => {
                let problems = errors("JSONRPCResponse", message);
                assert!(problems.is_empty(), "{message}: {problems:?}");
                Some((path, &message["result"]))
            }
            None if request_method.is_some() => None,
            None => Some(("JSONRPCResponse", message)),
        },
        (None, None) => panic!("neither a notification nor an answer: {message}"),
    }
}
