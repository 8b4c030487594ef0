#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed assertion.

use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;

fn raw(value: Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(&value).unwrap()
}

fn error_of(incoming: Option<Incoming>) -> (Option<RequestId>, i64, String) {
    match incoming {
        Some(Incoming::Invalid(JSONRPCError { id, error })) => (id, error.code, error.message),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn classifies_envelopes_per_section_1() {
    assert_eq!(classify(b"  \t "), None);
    let (id, code, message) = error_of(classify(b"{not json"));
    assert_eq!((id, code), (None, -32700));
    assert!(message.starts_with("Parse error: "), "{message}");
    let (_, code, _) = error_of(classify(b"\xff\xfe"));
    assert_eq!(code, -32700);
    assert_eq!(
        error_of(classify(b"[]")),
        (
            None,
            -32600,
            "Invalid request: batch requests are not supported".into()
        )
    );
    assert_eq!(
        error_of(classify(b"42")),
        (
            None,
            -32600,
            "Invalid request: expected a JSON object".into()
        )
    );
    assert_eq!(
        error_of(classify(br#"{"id":"x","method":7}"#)),
        (
            Some(RequestId::String("x".into())),
            -32600,
            "Invalid request: method must be a string".into()
        )
    );
    assert_eq!(
        error_of(classify(br#"{"id":1.5}"#)),
        (
            None,
            -32600,
            "Invalid request: not a request, notification or response".into()
        )
    );
}

#[test]
fn requests_notifications_and_responses() {
    assert_eq!(
        classify(br#"{"jsonrpc":"2.0","id":-5,"method":"m","params":{"a":1}}"#),
        Some(Incoming::Request {
            id: RequestId::Integer(-5),
            method: "m".into(),
            params: Params::from_value(&json!({"a":1}))
        })
    );
    for id in [
        "null",
        "1.5",
        "1e3",
        "5.0",
        "true",
        "{}",
        "[]",
        "9223372036854775808",
    ] {
        let line = format!(r#"{{"id":{id},"method":"getUserAgent"}}"#);
        assert_eq!(
            classify(line.as_bytes()),
            Some(Incoming::Notification {
                method: "getUserAgent".into()
            }),
            "id {id}"
        );
    }
    assert_eq!(
        classify(br#"{"id":0,"result":{"ok":true}}"#),
        Some(Incoming::Response {
            id: Some(RequestId::Integer(0)),
            outcome: Ok(json!({"ok":true}))
        })
    );
    assert_eq!(
        classify(br#"{"id":3,"error":{"code":1,"message":"no"}}"#),
        Some(Incoming::Response {
            id: Some(RequestId::Integer(3)),
            outcome: Err(json!({"code":1,"message":"no"}))
        })
    );
}

#[tokio::test]
async fn overlong_line_is_discarded_without_buffering() {
    let mut input = vec![b'x'; 2 * MAX_LINE_BYTES];
    input.extend_from_slice(b"\n\r\n{\"id\":1,\"method\":\"m\"}\r\n");
    input.extend(std::iter::repeat_n(b'y', MAX_LINE_BYTES + 1));
    let mut reader = LineReader::new(tokio::io::BufReader::with_capacity(4096, input.as_slice()));
    let (id, code, message) = error_of(reader.next().await.unwrap());
    assert_eq!((id, code), (None, -32600));
    assert_eq!(message, "Invalid request: message exceeds 1048576 bytes");
    assert!(reader.line.capacity() <= MAX_LINE_BYTES + 4096);
    assert_eq!(
        reader.next().await.unwrap(),
        Some(Incoming::Request {
            id: RequestId::Integer(1),
            method: "m".into(),
            params: Params::default()
        })
    );
    let (_, code, _) = error_of(reader.next().await.unwrap());
    assert_eq!(code, -32600, "overlong final line without newline");
    assert_eq!(reader.next().await.unwrap(), None);
}

#[tokio::test]
async fn line_of_exactly_the_limit_is_accepted() {
    let mut input = br#"{"id":1,"method":"m","pad":""#.to_vec();
    let pad = MAX_LINE_BYTES - input.len() - 2;
    input.extend(std::iter::repeat_n(b'p', pad));
    input.extend_from_slice(b"\"}");
    assert_eq!(input.len(), MAX_LINE_BYTES);
    input.push(b'\n');
    let mut reader = LineReader::new(tokio::io::BufReader::new(input.as_slice()));
    assert!(matches!(
        reader.next().await.unwrap(),
        Some(Incoming::Request { .. })
    ));
}

#[tokio::test]
async fn writer_emits_compact_lines_without_jsonrpc() {
    let (tx, rx) = mpsc::channel(4);
    let mut out = Vec::new();
    tx.send(Outgoing::reply(
        RequestId::String("a".into()),
        Ok(raw(json!({"k": [1, 2]}))),
    ))
    .await
    .unwrap();
    tx.send(Outgoing::reply(
        RequestId::Integer(2),
        Err(RpcError::method_not_found("x")),
    ))
    .await
    .unwrap();
    drop(tx);
    write_loop(&mut out, rx).await.unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"id\":\"a\",\"result\":{\"k\":[1,2]}}\n{\"id\":2,\"error\":{\"code\":-32601,\"message\":\"Method not found: x\"}}\n"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn pipe_ends_carry_lines_both_ways_without_the_blocking_pool() {
    use std::os::fd::OwnedFd;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::unix::pipe;

    use crate::stdio::{StdinReader, StdoutWriter};
    let (to_server, from_client) = std::io::pipe().unwrap();
    let (to_client, from_server) = std::io::pipe().unwrap();
    let reader =
        StdinReader::Pipe(pipe::Receiver::from_owned_fd(OwnedFd::from(to_server)).unwrap());
    let writer =
        StdoutWriter::Pipe(pipe::Sender::from_owned_fd(OwnedFd::from(from_server)).unwrap());
    let mut client = pipe::Sender::from_owned_fd(OwnedFd::from(from_client)).unwrap();
    client
        .write_all(b"{\"id\":7,\"method\":\"getAuthStatus\"}\n")
        .await
        .unwrap();
    drop(client);
    let mut lines = LineReader::new(tokio::io::BufReader::new(reader));
    let Some(Incoming::Request { id, .. }) = lines.next().await.unwrap() else {
        panic!("expected a request");
    };
    assert_eq!(
        lines.next().await.unwrap(),
        None,
        "EOF after the client closed"
    );
    let (tx, rx) = mpsc::channel(1);
    tx.send(Outgoing::reply(id, Ok(raw(json!({})))))
        .await
        .unwrap();
    drop(tx);
    write_loop(writer, rx).await.unwrap();
    let mut answer = String::new();
    pipe::Receiver::from_owned_fd(OwnedFd::from(to_client))
        .unwrap()
        .read_to_string(&mut answer)
        .await
        .unwrap();
    assert_eq!(answer, "{\"id\":7,\"result\":{}}\n");
}

#[test]
fn request_lines_classify_as_through_a_value() {
    for line in [
        r#"{"id":1,"method":"getAuthStatus","params":{"includeToken":true}}"#,
        r#" {"method":"m","id":"s","params":null,"extra":[1,{"a":2}]}"#,
        r#"{"id":-9223372036854775808,"method":"m","params":[1,2]}"#,
        r#"{"id":1,"method":"m","params":"text"}"#,
        r#"{"id":1,"id":2,"method":"m"}"#,
        r#"{"id":1,"method":"a","method":"b"}"#,
        r#"{"id":1,"method":"m","params":{"x":1},"params":{"y":2}}"#,
        r#"{"id":9223372036854775808,"method":"m"}"#,
        r#"{"id":1.0,"method":"m"}"#,
        r#"{"id":null,"method":"m"}"#,
        r#"{"method":"m"}"#,
        r#"{"id":"x","method":"\u0067et"}"#,
        r#"{"id":1,"method":7}"#,
        r#"[{"id":1,"method":"m"}]"#,
        r#"{"id":1,"method":"m","params":{"a":1}"#,
        r#"{"id":1,"result":{}}"#,
        // What serde_json checks less where it skips a member or keeps params as text
        r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{}}"#,
        r#"{"id":1,"method":"m","jsonrpc":2}"#,
        r#"{"id":1,"method":"m","jsonrpc":"\ud800"}"#,
        r#"{"id":1,"method":"m","trace":{"traceparent":"00-1-2-01"}}"#,
        r#"{"id":1,"method":"m","extra":"\ud800"}"#,
        r#"{"id":1,"method":"m","params":{"x":"\udc00"}}"#,
        r#"{"id":1,"method":"m","params":{"x":"\udcff"}}"#,
        r#"{"id":1,"method":"m","params":{"x":"\u00e9"}}"#,
        r#"{"id":1,"method":"m","extra":1e400}"#,
        r#"{"id":1,"method":"m","params":{"x":-1E+400}}"#,
        r#"{"id":1,"method":"m","params":{"x":1.5e3,"ok":true,"no":false}}"#,
        r#"{"id":1,"method":"m","extra":01}"#,
        r#"{"id":1,"method":"m","extra":"\q"}"#,
        "{\"id\":1,\"method\":\"m\",\"extra\":\"\u{1}\"}",
        "{\"id\":1,\"method\":\"m\",\"params\":{\"x\":\"\u{e9}\"}}",
    ] {
        assert_eq!(
            classify(line.as_bytes()),
            classify_value(line.as_bytes()),
            "{line}"
        );
    }
    let long = "9".repeat(400);
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let lines = [
        format!(r#"{{"id":1,"method":"m","extra":{long}}}"#),
        format!(r#"{{"id":1,"method":"m","params":{{"x":{long}.5}}}}"#),
        format!(r#"{{"id":1,"method":"m","extra":{}}}"#, deep(200)),
        format!(r#"{{"id":1,"method":"m","params":{{"x":{}}}}}"#, deep(127)),
        format!(r#"{{"id":1,"method":"m","params":{{"x":{}}}}}"#, deep(20)),
    ];
    for line in &lines {
        assert_eq!(
            classify(line.as_bytes()),
            classify_value(line.as_bytes()),
            "{line}"
        );
    }
    for line in [
        &b"{\"id\":1,\"method\":\"m\",\"extra\":\"\xff\"}"[..],
        &b"{\"id\":1,\"method\":\"m\",\"params\":{\"x\":\"\xc3\"}}"[..],
    ] {
        assert_eq!(classify(line), classify_value(line), "{line:?}");
    }
}

#[test]
fn an_answer_is_written_as_serde_writes_it() {
    let result =
        serde_json::value::to_raw_value(&serde_json::json!({"authToken": "t\"k"})).unwrap();
    for id in [
        RequestId::Integer(-7),
        RequestId::String("a\"b\\c\u{1}é".into()),
    ] {
        let message = Outgoing::reply(id, Ok(result.clone()));
        let mut line = Vec::new();
        encode(&mut line, &message).unwrap();
        let mut expected = serde_json::to_vec(&message).unwrap();
        expected.push(b'\n');
        assert_eq!(
            String::from_utf8(line).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }
}

/// The read loop lets a burst's answers share one write while more of the burst is buffered.
#[tokio::test]
async fn more_buffered_says_whether_the_burst_read_at_once_goes_on() {
    let input = b"{\"id\":1,\"method\":\"m\"}\n{\"id\":2,\"method\":\"m\"}\n".as_slice();
    let mut reader = LineReader::new(tokio::io::BufReader::new(input));
    assert!(reader.next().await.unwrap().is_some());
    assert!(reader.more_buffered());
    assert!(reader.next().await.unwrap().is_some());
    assert!(!reader.more_buffered());
    assert!(reader.next().await.unwrap().is_none());
}
