//! Change detection of the real binary (AUTH.md §4.2, issue 16): a status poll costs no system
//! call of its own in the steady state, and a rewrite by another process made before a request
//! was sent is served in that request's answer.

use pretty_assertions::assert_eq;
use serde_json::json;

use crate::support::creds::write_auth;
use crate::support::real_server::{RealServer, command};

const POLL: &str = "getAuthStatus";

fn api_key(key: &str) -> String {
    json!({"auth_mode": "apikey", "OPENAI_API_KEY": key}).to_string()
}

/// `read` system calls the process has made so far (`/proc/PID/io`, every thread).
fn read_syscalls(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).expect("read /proc/PID/io");
    io.lines()
        .find_map(|line| line.strip_prefix("syscr: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("syscr line")
}

#[tokio::test]
async fn a_burst_of_polls_reads_less_than_once_per_poll_and_still_sees_a_rewrite() {
    let home = tempfile::tempdir().unwrap();
    write_auth(home.path(), &api_key("sk-first"));
    let mut server = RealServer::start(command(home.path(), "warn")).await;
    let pid = server.child.id().expect("running");
    assert_eq!(
        server.result(POLL, json!({"includeToken": true})).await["authToken"],
        "sk-first"
    );

    const POLLS: usize = 200;
    let before = read_syscalls(pid);
    let ids = server
        .send_burst(POLL, json!({"includeToken": true}), POLLS)
        .await;
    for id in ids {
        let answer = server.answer(id).await;
        assert_eq!(answer["result"]["authToken"], "sk-first", "{answer}");
    }
    let reads = read_syscalls(pid) - before;
    // Reading the watch's queue per poll made 2 reads a poll (auth.json and the failure record);
    // now it is read once per read of input, and the burst arrives in a few reads.
    assert!(
        reads < POLLS as u64 / 4,
        "{reads} read calls for {POLLS} polls"
    );

    write_auth(home.path(), &api_key("sk-second"));
    assert_eq!(
        server.result(POLL, json!({"includeToken": true})).await["authToken"],
        "sk-second",
        "a rewrite made before the request is in its answer"
    );
}
