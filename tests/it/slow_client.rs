//! Memory is bounded per connection (issue "hardening" item 1): a WebSocket client that sends
//! 200,000 requests and never reads is disconnected once its outbound queue (32,768 messages,
//! as Codex) is full; the real server's peak RSS stays under [`peak_rss_bound_kib`] and it keeps
//! serving other clients. `RELIABILITY_FULL=1` runs eight such clients at once.

use futures::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::support::TIMEOUT;
use crate::support::wire::Client;

/// Requests the slow client sends.
const REQUESTS: usize = 200_000;

/// The bound on the server's peak RSS with `clients` slow clients: 24 MiB for the idle server
/// (about 18 MiB measured in a debug build, multi-threaded runtime) plus 40 MiB per client.
/// What one slow client can make the server hold: its queue of 32,768 `getAuthStatus` answers
/// (a few hundred bytes each as queued values: ~10-15 MiB), one frame of at most 4 MiB being
/// read, 128 requests in flight, and the kernel's socket buffers (not counted in RSS); the
/// rest is allocator slack. Measured: about 20 MiB per client. Before the bound, one such
/// client took the server past 600 MB, eight to 4.8 GB.
fn peak_rss_bound_kib(clients: u64) -> u64 {
    (24 + 40 * clients) * 1024
}

/// Writes [`REQUESTS`] requests to `url` without ever reading; returns how many were written
/// before the server closed the connection.
async fn flood(url: String) -> usize {
    let mut slow = Client::ws(&url).await;
    slow.initialize("slow").await;
    let mut stream = slow.into_ws();
    let mut sent = 0;
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
    // Keep the connection (unread) until the server drops it.
    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    drop(stream);
    sent
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_client_that_never_reads_is_disconnected_and_memory_stays_bounded() {
    let home = tempfile::tempdir().unwrap();
    let crate::support::Listening {
        mut child,
        url,
        mut stderr,
    } = crate::support::spawn_listening("ws://127.0.0.1:0", home.path(), Some("warn")).await;
    let pid = child.id().unwrap();
    let clients: usize = match std::env::var("RELIABILITY_FULL").as_deref() {
        Ok("1") => 8,
        _ => 1,
    };
    let (slow_tx, mut slow_rx) = tokio::sync::mpsc::unbounded_channel();
    let logs = tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            if line.contains("disconnecting a slow client") {
                let _ = slow_tx.send(());
            }
        }
    });
    let baseline = peak_rss_kib(pid);
    let started = std::time::Instant::now();
    let floods: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(flood(url.clone())))
        .collect();
    for _ in 0..clients {
        tokio::time::timeout(TIMEOUT * 3 * clients as u32, slow_rx.recv())
            .await
            .expect("every slow client is disconnected in time")
            .expect("server log open");
    }
    let elapsed = started.elapsed();
    let peak = peak_rss_kib(pid);
    let bound = peak_rss_bound_kib(clients as u64);
    eprintln!(
        "{clients} slow client(s), {REQUESTS} requests each, never reading: all disconnected after {elapsed:?}; server VmHWM {baseline} KiB idle, {peak} KiB peak (bound {bound} KiB)"
    );
    assert!(
        peak < bound,
        "peak RSS {peak} KiB over the bound {bound} KiB"
    );
    // The server keeps serving everyone else.
    let mut other = Client::ws(&url).await;
    other.initialize("other").await;
    let status = other.result("getAuthStatus", json!({})).await;
    assert_eq!(status["authMethod"], serde_json::Value::Null);
    for flood in floods {
        flood.abort();
    }
    child.kill().await.unwrap();
    logs.abort();
}
