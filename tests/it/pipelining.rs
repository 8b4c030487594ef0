//! PROTOCOL.md §1 "Pipelining and backpressure", "Ordering guarantee", "End of input".

use pretty_assertions::assert_eq;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::support::{Session, client, error_of};

fn burst(method: &str, ids: std::ops::Range<usize>) -> Vec<u8> {
    let mut bytes = Vec::new();
    for id in ids {
        bytes.extend_from_slice(format!("{{\"id\":{id},\"method\":\"{method}\"}}\n").as_bytes());
    }
    bytes
}

/// Reads `count` answers; every id in `0..count` must be answered exactly once with a result.
async fn expect_all_answered(session: &mut Session, count: usize) {
    let mut seen = vec![false; count];
    for _ in 0..count {
        let answer = session.read_message().await;
        if let Some(error) = answer.get("error") {
            assert_ne!(error["code"], json!(-32001), "no overload errors");
            panic!("unexpected error: {answer}");
        }
        let id = answer["id"].as_u64().expect("integer id") as usize;
        assert!(!seen[id], "id {id} answered twice");
        seen[id] = true;
    }
    assert!(seen.iter().all(|s| *s));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_hundred_thousand_pipelined_requests_all_answered() {
    const COUNT: usize = 100_000;
    let mut session = Session::initialized().await;
    let writer = session.writer();
    let bytes = burst("getAuthStatus", 0..COUNT);
    let feeding = tokio::spawn(async move {
        let mut writer = writer.lock().await;
        for chunk in bytes.chunks(64 * 1024) {
            writer.write_all(chunk).await.expect("write burst");
        }
        writer.flush().await.expect("flush burst");
    });
    expect_all_answered(&mut session, COUNT).await;
    feeding.await.unwrap();
    session.finish().await.unwrap();
}

#[tokio::test]
async fn eof_right_after_a_burst_answers_everything_then_exits_cleanly() {
    const COUNT: usize = 1_000;
    let mut session = Session::initialized().await;
    let writer = session.writer();
    let bytes = burst("getAuthStatus", 0..COUNT);
    let feeding = tokio::spawn(async move {
        let mut writer = writer.lock().await;
        writer.write_all(&bytes).await.expect("write burst");
        writer.shutdown().await.expect("close input");
    });
    expect_all_answered(&mut session, COUNT).await;
    feeding.await.unwrap();
    assert!(
        session.read_line().await.is_none(),
        "output ends after the last answer"
    );
    session.wait().await.unwrap();
}

#[tokio::test]
async fn requests_after_initialize_barrier_see_it() {
    let mut session = Session::start();
    let mut bytes =
        serde_json::to_vec(&json!({"id": 0, "method": "initialize", "params": client("n")}))
            .unwrap();
    bytes.push(b'\n');
    bytes.extend(burst("getUserAgent", 1..300));
    session.send_raw(&bytes).await;
    assert!(session.read_message().await["result"]["userAgent"].is_string());
    for _ in 1..300 {
        let answer = session.read_message().await;
        assert!(answer["result"]["userAgent"].is_string(), "{answer}");
    }
}

#[tokio::test]
async fn requests_before_initialize_in_the_same_burst_are_rejected() {
    let mut session = Session::start();
    let mut bytes = burst("getUserAgent", 0..1);
    bytes.extend(
        serde_json::to_vec(&json!({"id": 1, "method": "initialize", "params": client("n")}))
            .unwrap(),
    );
    bytes.push(b'\n');
    session.send_raw(&bytes).await;
    let mut answers = [session.read_message().await, session.read_message().await];
    answers.sort_by_key(|a| a["id"].as_i64());
    assert_eq!(error_of(&answers[0]).1, "Not initialized");
    assert!(answers[1]["result"].is_object());
}
