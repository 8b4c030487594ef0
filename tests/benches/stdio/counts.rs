//! Token requests counted at the fake issuer's token endpoint for the situations of PROTOCOL.md
//! §5, each against real server processes.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use auth_core::fake_issuer::{Endpoint, FakeIssuer, ScriptedResponse};
use chrono::TimeDelta;
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use crate::client::{Launcher, Server};

/// One row of the token-request table.
pub struct Row {
    pub situation: &'static str,
    pub requests: usize,
    pub goal: &'static str,
    pub met: bool,
    pub note: String,
}

const POLL: &str = "getAuthStatus";

fn refresh_poll() -> Value {
    json!({"includeToken": true, "refreshToken": true})
}

fn launcher(program: &Path, home: &Path, issuer: &FakeIssuer) -> Launcher {
    Launcher::new(program, home)
        .with_env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", &issuer.token_url())
        .with_env("CODEX_REVOKE_TOKEN_URL_OVERRIDE", &issuer.revoke_url())
}

/// Writes `doc` as `auth.json` with an old mtime, as a real home has.
fn write_auth(home: &Path, doc: &str) -> Value {
    let path = home.join("auth.json");
    auth_core::write_atomic(&path, doc.as_bytes()).expect("write auth.json");
    let file = std::fs::File::options()
        .append(true)
        .open(&path)
        .expect("open auth.json");
    file.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .expect("set mtime");
    serde_json::from_str(doc).expect("auth.json is JSON")
}

/// Credentials the issuer accepts whose access token expired a minute ago.
fn seed_stale(home: &Path, issuer: &FakeIssuer) -> Value {
    issuer.set_access_token_lifetime(TimeDelta::seconds(-60));
    let doc = issuer.auth_json();
    issuer.set_access_token_lifetime(TimeDelta::hours(1));
    write_auth(home, &doc)
}

fn token(doc: &Value) -> Value {
    doc["tokens"]["access_token"].clone()
}

fn reused() -> ScriptedResponse {
    ScriptedResponse::new(401, json!({"error": {"code": "refresh_token_reused"}}))
}

/// Runs every situation; `program` is the server executable.
pub fn run(rt: &Runtime, program: &Path) -> Vec<Row> {
    let mut rows = permanent_then_restart(rt, program);
    rows.insert(1, concurrent(rt, program));
    rows.insert(2, six_processes(rt, program));
    rows.insert(3, outage(rt, program));
    rows
}

/// 50 polls after a permanent failure, then a restart on the same home polling 50 more times.
fn permanent_then_restart(rt: &Runtime, program: &Path) -> Vec<Row> {
    let issuer = rt.block_on(FakeIssuer::start()).expect("issuer");
    let home = tempfile::tempdir().expect("home");
    seed_stale(home.path(), &issuer);
    issuer.script_refresh(vec![reused()]);
    let launcher = launcher(program, home.path(), &issuer);
    let (mut server, _) = launcher.start();
    let withheld = (0..50)
        .filter(|_| server.result(POLL, refresh_poll())["authToken"].is_null())
        .count();
    server.finish();
    let first = issuer.count(Endpoint::Refresh);
    let (mut restarted, _) = launcher.start();
    let withheld_after = (0..50)
        .filter(|_| restarted.result(POLL, refresh_poll())["authToken"].is_null())
        .count();
    restarted.finish();
    let more = issuer.count(Endpoint::Refresh) - first;
    vec![
        Row {
            situation: "50 polls (`refreshToken:true`) after a permanent failure",
            requests: first,
            goal: "1",
            met: first == 1,
            note: format!("token withheld in {withheld}/50 answers"),
        },
        Row {
            situation: "restart after the permanent failure, 50 more polls",
            requests: more,
            goal: "0",
            met: more == 0,
            note: format!("token withheld in {withheld_after}/50 answers"),
        },
    ]
}

/// 50 pipelined `refreshToken:true` requests while the endpoint takes 300 ms.
fn concurrent(rt: &Runtime, program: &Path) -> Row {
    let issuer = rt.block_on(FakeIssuer::start()).expect("issuer");
    let home = tempfile::tempdir().expect("home");
    write_auth(home.path(), &issuer.auth_json());
    let new = issuer.auth_json();
    let new_doc: Value = serde_json::from_str(&new).expect("JSON");
    issuer.script_refresh(vec![
        ScriptedResponse::new(
            200,
            json!({"access_token": token(&new_doc), "refresh_token": "rt-bench-2"}),
        )
        .with_delay(Duration::from_millis(300)),
    ]);
    let (mut server, _) = launcher(program, home.path(), &issuer).start();
    let mut ids: Vec<i64> = (0..50).map(|_| server.send(POLL, refresh_poll())).collect();
    // Answers come in any order.
    let answers: Vec<Value> = (0..50).map(|_| server.read()).collect();
    let mut answered: Vec<i64> = answers.iter().filter_map(|a| a["id"].as_i64()).collect();
    answered.sort_unstable();
    ids.sort_unstable();
    assert_eq!(answered, ids, "every request answered once");
    let same = answers
        .iter()
        .filter(|a| a["result"]["authToken"] == token(&new_doc))
        .count();
    server.finish();
    let requests = issuer.count(Endpoint::Refresh);
    Row {
        situation: "50 concurrent refreshes (pipelined, endpoint takes 300 ms)",
        requests,
        goal: "1",
        met: requests == 1,
        note: format!("{same}/50 answers carry the new token"),
    }
}

/// Six processes on one home with an expired token and a rotating refresh token, polled at once.
fn six_processes(rt: &Runtime, program: &Path) -> Row {
    let issuer = rt.block_on(FakeIssuer::start()).expect("issuer");
    let home = tempfile::tempdir().expect("home");
    let old = seed_stale(home.path(), &issuer);
    let launcher = launcher(program, home.path(), &issuer);
    let mut servers: Vec<Server> = (0..6).map(|_| launcher.start().0).collect();
    let params = json!({"includeToken": true});
    let ids: Vec<i64> = servers
        .iter_mut()
        .map(|s| s.send(POLL, params.clone()))
        .collect();
    let tokens: Vec<Value> = servers
        .iter_mut()
        .zip(ids)
        .map(|(s, id)| s.answer(id)["result"]["authToken"].clone())
        .collect();
    for server in servers {
        server.finish();
    }
    let requests = issuer.count(Endpoint::Refresh);
    let agree = tokens
        .iter()
        .filter(|t| t.is_string() && **t == tokens[0] && **t != token(&old))
        .count();
    Row {
        situation: "6 processes racing on a rotating refresh token",
        requests,
        goal: "1",
        met: requests == 1,
        note: format!("{agree}/6 processes hold the same new token"),
    }
}

/// The endpoint answers 500 for 2 s while a client polls at 20 Hz with `refreshToken:true`.
fn outage(rt: &Runtime, program: &Path) -> Row {
    let issuer = rt.block_on(FakeIssuer::start()).expect("issuer");
    let home = tempfile::tempdir().expect("home");
    let doc = write_auth(home.path(), &issuer.auth_json());
    issuer.script_refresh(
        (0..100)
            .map(|_| ScriptedResponse::new(500, json!({"error": "unavailable"})))
            .collect(),
    );
    let (mut server, _) = launcher(program, home.path(), &issuer).start();
    let start = Instant::now();
    let mut polls = 0;
    let mut old_token = 0;
    while start.elapsed() < Duration::from_secs(2) {
        let tick = start + Duration::from_millis(50 * polls);
        std::thread::sleep(tick.saturating_duration_since(Instant::now()));
        polls += 1;
        if server.result(POLL, refresh_poll())["authToken"] == token(&doc) {
            old_token += 1;
        }
    }
    let requests = issuer.count(Endpoint::Refresh);
    server.finish();
    Row {
        situation: "2 s outage (HTTP 500) under 20 Hz polling",
        requests,
        goal: "≤ 3",
        met: requests <= 3,
        note: format!("old token served in {old_token}/{polls} answers"),
    }
}
