//! Memory is bounded per connection (issue "hardening" item 1): a WebSocket client that sends
//! 200,000 requests and never reads is disconnected once its outbound queue (32,768 messages,
//! as Codex) is full; the real server's peak RSS stays under [`PEAK_RSS_BOUND_KIB`] and it keeps
//! serving other clients.

use std::process::Stdio;

use futures::SinkExt;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

use crate::support::TIMEOUT;
use crate::support::wire::Client;

/// Requests the slow client sends.
const REQUESTS: usize = 200_000;

/// The bound on the server's peak RSS. What it can hold for the slow client: its queue of
/// 32,768 `getAuthStatus` answers (about 300 bytes each as queued values: ~10 MiB), one frame
/// of at most 4 MiB being read, 128 requests in flight, and the kernel's socket buffers (not
/// counted in RSS); plus the idle server itself (~10 MiB in a debug build). 64 MiB leaves
/// room for allocator slack; before the bound, one such client took the server past 600 MB.
const PEAK_RSS_BOUND_KIB: u64 = 64 * 1024;

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[tokio::test]
async fn a_websocket_client_that_never_reads_is_disconnected_and_memory_stays_bounded() {
    let home = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_app-server-smoke"))
        .args(["--listen", "ws://127.0.0.1:0"])
        .env("CODEX_HOME", home.path())
        .env("HOME", home.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = tokio::time::timeout(TIMEOUT, stderr.next_line())
            .await
            .expect("listening line in time")
            .unwrap()
            .expect("stderr open");
        if let Some(addr) = line.strip_prefix("listening on ") {
            break addr.to_string();
        }
    };
    let (slow_tx, slow_rx) = tokio::sync::oneshot::channel();
    let logs = tokio::spawn(async move {
        let mut slow_tx = Some(slow_tx);
        while let Ok(Some(line)) = stderr.next_line().await {
            if line.contains("disconnecting a slow client")
                && let Some(tx) = slow_tx.take()
            {
                let _ = tx.send(());
            }
        }
    });
    let baseline = peak_rss_kib(pid);

    let mut slow = Client::ws(&url).await;
    slow.initialize("slow").await;
    let mut stream = slow.into_ws();
    let mut sent = 0;
    let started = std::time::Instant::now();
    for id in 0..REQUESTS {
        let request =
            json!({"id": id, "method": "getAuthStatus", "params": {"includeToken": true}});
        if stream
            .feed(Message::text(request.to_string()))
            .await
            .is_err()
        {
            break;
        }
        sent += 1;
        if id % 256 == 255 && stream.flush().await.is_err() {
            break;
        }
    }
    let _ = stream.flush().await;
    tokio::time::timeout(TIMEOUT, slow_rx)
        .await
        .expect("the slow client is disconnected in time")
        .unwrap();
    let peak = peak_rss_kib(pid);
    eprintln!(
        "slow client: {sent} of {REQUESTS} requests written in {:?}; server VmHWM {baseline} KiB idle, {peak} KiB peak (bound {PEAK_RSS_BOUND_KIB} KiB)",
        started.elapsed()
    );
    assert!(
        peak < PEAK_RSS_BOUND_KIB,
        "peak RSS {peak} KiB over the bound {PEAK_RSS_BOUND_KIB} KiB"
    );
    // The server keeps serving everyone else.
    let mut other = Client::ws(&url).await;
    other.initialize("other").await;
    let status = other.result("getAuthStatus", json!({})).await;
    assert_eq!(status["authMethod"], serde_json::Value::Null);
    drop(stream);
    child.kill().await.unwrap();
    logs.abort();
}
