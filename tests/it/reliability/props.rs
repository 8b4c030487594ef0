//! Property tests over the line decoder and the dispatcher (PROTOCOL.md §1): arbitrary byte
//! lines and arbitrary JSON never panic the server, every request line gets exactly one answer,
//! notifications and responses get none, and the decoder splits a byte stream into lines the
//! same way however it arrives.

use std::collections::BTreeMap;

use app_server::transport::{Incoming, LineReader, classify};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::support::Session;
use crate::support::real_server::scale;

/// Request methods the dispatcher knows, plus unknown ones and near misses.
const METHODS: &[&str] = &[
    "initialize",
    "getAuthStatus",
    "getUserAgent",
    "userInfo",
    "account/read",
    "loginApiKey",
    "logoutChatGpt",
    "cancelLoginChatGpt",
    "account/logout",
    "account/login/cancel",
    "account/login/start",
    "account/reportUnauthorized",
    "initialized",
    "nope/unknown",
    "",
    "getauthstatus",
];

const KEYS: &[&str] = &[
    "id",
    "method",
    "params",
    "result",
    "error",
    "jsonrpc",
    "includeToken",
    "refreshToken",
    "apiKey",
    "type",
    "clientInfo",
    "name",
    "loginId",
    "accessToken",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        // No ':' in generated strings: the ids of generated requests ("q:<n>") stay unique.
        "[a-z /_é\u{1F600}\\\\\"]{0,8}".prop_map(Value::String),
        prop::sample::select(METHODS).prop_map(|m| json!(m)),
        prop::sample::select(
            &[
                "apiKey",
                "chatgpt",
                "chatgptDeviceCode",
                "chatgptAuthTokens"
            ][..]
        )
        .prop_map(|t| json!(t)),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(KEYS).prop_map(str::to_owned),
                        "[a-z]{1,4}"
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One input line, before ids are assigned.
#[derive(Debug, Clone)]
enum Line {
    /// Any bytes but `\n`.
    Bytes(Vec<u8>),
    /// Any JSON value, serialized.
    Json(Value),
    /// A well-formed request (its id is assigned from its position).
    Request {
        method: String,
        params: Option<Value>,
    },
    /// A notification: no id, or an id that is not a valid request id.
    Notification {
        method: String,
        id: Option<Value>,
        params: Value,
    },
}

fn line() -> impl Strategy<Value = Line> {
    let method = prop::sample::select(METHODS).prop_map(str::to_owned);
    let bad_id = prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(json!(1.5))),
        Just(Some(json!(5.0))),
        Just(Some(json!(true))),
        Just(Some(json!(u64::MAX))),
        Just(Some(json!([1]))),
        Just(Some(json!({"id": 1}))),
    ];
    prop_oneof![
        2 => prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..48)
            .prop_map(Line::Bytes),
        2 => json_value().prop_map(Line::Json),
        4 => (method.clone(), prop::option::of(json_value()))
            .prop_map(|(method, params)| Line::Request { method, params }),
        1 => (method, bad_id, json_value())
            .prop_map(|(method, id, params)| Line::Notification { method, id, params }),
    ]
}

fn render(index: usize, line: &Line) -> Vec<u8> {
    match line {
        Line::Bytes(bytes) => bytes.clone(),
        Line::Json(value) => value.to_string().into_bytes(),
        Line::Request { method, params } => {
            let mut message = json!({"id": format!("q:{index}"), "method": method});
            if let Some(params) = params {
                message["params"] = params.clone();
            }
            message.to_string().into_bytes()
        }
        Line::Notification { method, id, params } => {
            let mut message = json!({"method": method, "params": params});
            if let Some(id) = id {
                message["id"] = id.clone();
            }
            message.to_string().into_bytes()
        }
    }
}

/// What PROTOCOL.md §1 says a line gets: `None` for no answer, else the id of its one answer
/// (`Value::Null` for errors without an id).
fn expected_answer(bytes: &[u8]) -> Option<Value> {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(bytes) else {
        return Some(Value::Null); // not JSON, a batch, or another non-object
    };
    let id = object.get("id").filter(|id| match id {
        Value::String(_) => true,
        Value::Number(n) => n.as_i64().is_some(),
        _ => false,
    });
    match object.get("method") {
        Some(Value::String(_)) => id.cloned(), // a request, or a notification (never answered)
        Some(_) => Some(id.cloned().unwrap_or(Value::Null)),
        None if object.contains_key("id")
            && (object.contains_key("result") || object.contains_key("error")) =>
        {
            None // a response to a server request; unknown ids are ignored
        }
        None => Some(id.cloned().unwrap_or(Value::Null)),
    }
}

/// Sends every line to a fresh in-process server, closes the input and checks the output.
async fn check_session(lines: Vec<Vec<u8>>, initialize_first: bool) {
    let mut session = if initialize_first {
        Session::initialized().await
    } else {
        Session::start()
    };
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    let mut input = Vec::new();
    for line in &lines {
        if let Some(id) = expected_answer(line) {
            *expected.entry(id.to_string()).or_default() += 1;
        }
        input.extend_from_slice(line);
        input.push(b'\n');
    }
    session.send_raw(&input).await;
    session.close_input().await;
    let mut answered: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(line) = session.read_line().await {
        let message: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("output not JSON ({e}): {line}"));
        if message.get("method").is_some() {
            continue; // a server notification or server request, not an answer
        }
        let error = message.get("error");
        assert!(
            message.get("result").is_some() != error.is_some(),
            "an answer has exactly one of result and error: {line}"
        );
        assert_ne!(
            error.and_then(|e| e.get("code")),
            Some(&json!(-32603)),
            "a handler panicked or failed internally: {line}"
        );
        let id = message
            .get("id")
            .unwrap_or_else(|| panic!("an answer carries an id: {line}"));
        *answered.entry(id.to_string()).or_default() += 1;
    }
    session
        .wait()
        .await
        .expect("the server ends cleanly at EOF");
    assert_eq!(
        answered, expected,
        "answers by id (JSON text) for {lines:?}"
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: scale(48, 1024) as u32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_request_line_gets_exactly_one_answer_and_nothing_panics(
        lines in prop::collection::vec(line(), 1..24),
        initialize_first in any::<bool>(),
    ) {
        let rendered = lines.iter().enumerate().map(|(i, l)| render(i, l)).collect();
        runtime().block_on(check_session(rendered, initialize_first));
    }

    #[test]
    fn the_decoder_finds_the_same_lines_however_the_bytes_arrive(
        bytes in prop::collection::vec(
            prop_oneof![8 => any::<u8>(), 1 => Just(b'\n'), 1 => Just(b'\r'), 1 => Just(b'{')],
            0..400,
        ),
        capacity in 1usize..64,
    ) {
        let expected: Vec<Incoming> = bytes
            .split(|b| *b == b'\n')
            .filter_map(|line| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                classify(line)
            })
            .collect();
        let decoded = runtime().block_on(async {
            let reader = tokio::io::BufReader::with_capacity(capacity, bytes.as_slice());
            let mut lines = LineReader::new(reader);
            let mut out = Vec::new();
            while let Some(incoming) = lines.next().await.expect("reading a slice never fails") {
                out.push(incoming);
            }
            out
        });
        prop_assert_eq!(decoded, expected);
    }
}
