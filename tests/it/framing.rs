//! PROTOCOL.md §1: framing, classification of lines, and exact id echoing.

use pretty_assertions::assert_eq;
use serde_json::json;

use crate::support::{Session, error_of};

#[tokio::test]
async fn non_json_line_is_answered_and_the_server_keeps_serving() {
    let mut session = Session::initialized().await;
    session.send_raw(b"this is not json\n").await;
    let answer = session.read_message().await;
    assert_eq!(answer["id"], json!(null));
    let (code, message) = error_of(&answer);
    assert_eq!(code, -32700);
    assert!(message.starts_with("Parse error: "), "{message}");
    session
        .send_raw(b"{\"id\":1,\"method\":\"getUserAgent\"}\xff\n")
        .await;
    assert_eq!(error_of(&session.read_message().await).0, -32700);
    let answer = session.request("getUserAgent", json!({})).await;
    assert!(answer["result"].is_object());
}

#[tokio::test]
async fn two_mib_line_is_rejected_and_the_next_request_answered() {
    let mut session = Session::initialized().await;
    let mut line = b"{\"id\":1,\"method\":\"getUserAgent\",\"pad\":\"".to_vec();
    line.resize(2 * 1024 * 1024, b'x');
    line.extend_from_slice(b"\"}\n");
    session.send_raw(&line).await;
    let answer = session.read_message().await;
    assert_eq!(
        answer,
        json!({"id": null, "error": {"code": -32600, "message": "Invalid request: message exceeds 1048576 bytes"}})
    );
    let answer = session.request("getUserAgent", json!({})).await;
    assert!(answer["result"].is_object());
}

#[tokio::test]
async fn batches_and_non_objects_are_invalid_requests() {
    let mut session = Session::initialized().await;
    let cases: [(&[u8], &str); 4] = [
        (
            b"[{\"id\":1,\"method\":\"getUserAgent\"}]\n",
            "Invalid request: batch requests are not supported",
        ),
        (b"42\n", "Invalid request: expected a JSON object"),
        (b"\"text\"\n", "Invalid request: expected a JSON object"),
        (
            b"{\"foo\":1}\n",
            "Invalid request: not a request, notification or response",
        ),
    ];
    for (line, message) in cases {
        session.send_raw(line).await;
        let answer = session.read_message().await;
        assert_eq!(
            answer,
            json!({"id": null, "error": {"code": -32600, "message": message}})
        );
    }
    session.send_raw(b"{\"id\":\"m\",\"method\":5}\n").await;
    let answer = session.read_message().await;
    assert_eq!(
        answer,
        json!({"id": "m", "error": {"code": -32600, "message": "Invalid request: method must be a string"}})
    );
}

#[tokio::test]
async fn ids_are_echoed_exactly() {
    let mut session = Session::initialized().await;
    for id in [
        "-5",
        "\"\"",
        "9007199254740993",
        "\"abc\"",
        "0",
        "9223372036854775807",
    ] {
        let line = format!("{{\"id\":{id},\"method\":\"getUserAgent\"}}\n");
        session.send_raw(line.as_bytes()).await;
        let raw = session.read_line().await.unwrap();
        assert!(
            raw.starts_with(&format!("{{\"id\":{id},\"result\":")),
            "{raw}"
        );
    }
}

#[tokio::test]
async fn invalid_ids_are_notifications_never_answered_nor_executed() {
    let mut session = Session::start();
    for id in [
        "null",
        "1.5",
        "1e3",
        "5.0",
        "true",
        "[1]",
        "{}",
        "9223372036854775808",
    ] {
        let line = format!(
            "{{\"id\":{id},\"method\":\"initialize\",\"params\":{{\"clientInfo\":{{\"name\":\"x\",\"version\":\"1\"}}}}}}\n"
        );
        session.send_raw(line.as_bytes()).await;
    }
    session
        .send_json(json!({"method": "initialize", "params": {}}))
        .await;
    // Had any of them run, this connection would be initialized.
    let answer = session.request("getUserAgent", json!({})).await;
    assert_eq!(error_of(&answer), (-32600, "Not initialized".into()));
}

#[tokio::test]
async fn jsonrpc_member_is_accepted_and_never_emitted() {
    let mut session = Session::start();
    let line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"trace\":{\"x\":1},\"params\":{\"clientInfo\":{\"name\":\"n\",\"version\":\"1\"}}}\n";
    session.send_raw(line.as_bytes()).await;
    let raw = session.read_line().await.unwrap();
    assert!(!raw.contains("jsonrpc"), "{raw}");
    session
        .send_raw(b"{\"jsonrpc\":\"1.0\",\"id\":2,\"method\":\"getUserAgent\"}\n")
        .await;
    let raw = session.read_line().await.unwrap();
    assert!(
        raw.starts_with("{\"id\":2,\"result\":") && !raw.contains("jsonrpc"),
        "{raw}"
    );
    session
        .send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"}\n")
        .await;
    let raw = session.read_line().await.unwrap();
    assert!(!raw.contains("jsonrpc"), "{raw}");
}

#[tokio::test]
async fn output_is_compact_one_message_per_line() {
    let mut session = Session::start();
    session.send_raw(b"{ \"id\" : 1 , \"method\" : \"initialize\" , \"params\" : { \"clientInfo\" : { \"name\" : \"n\" , \"version\" : \"1\" } } }\n").await;
    let raw = session.read_line().await.unwrap();
    let value: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(raw, serde_json::to_string(&value).unwrap(), "compact JSON");
    assert!(!raw.contains('\n'));
}

#[tokio::test]
async fn trailing_carriage_returns_and_blank_lines() {
    let mut session = Session::initialized().await;
    session
        .send_raw(b"\n   \n\t\r\n\r\n{\"id\":7,\"method\":\"getUserAgent\"}\r\n")
        .await;
    let answer = session.read_message().await;
    assert_eq!(
        answer["id"],
        json!(7),
        "blank lines get no answer: {answer}"
    );
    assert!(answer["result"].is_object());
}

#[tokio::test]
async fn last_line_without_newline_is_answered_at_eof() {
    let mut session = Session::initialized().await;
    session
        .send_raw(b"{\"id\":8,\"method\":\"getUserAgent\"}")
        .await;
    session.close_input().await;
    assert_eq!(session.read_message().await["id"], json!(8));
    assert!(session.read_line().await.is_none());
    session.wait().await.unwrap();
}

/// `app_server::run` serves on a task of its own; dropping its future must still end the
/// serving (an embedder that cancels it, a `select!`), which closes the output.
#[tokio::test]
async fn dropping_the_run_future_stops_serving() {
    let mut session = Session::initialized().await;
    session.drop_server().await;
    assert!(
        session.read_line().await.is_none(),
        "the output closes once the serving stopped"
    );
}
