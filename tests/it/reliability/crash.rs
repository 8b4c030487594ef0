//! Crash consistency (AUTH.md §3): SIGKILL the real server at random moments while it refreshes
//! and writes credentials; after every kill `auth.json` parses and holds either the credentials
//! it held before that process started or ones that process wrote, never a mix, never empty.
//!
//! The token endpoint is scripted so that every refresh answer is known in advance: answer `i`
//! carries an already-expired access token tagged `i` and the refresh token `rt-crash-i`, so a
//! mix shows as a tag that differs from the refresh token's number, and every call with
//! `refreshToken:true` refreshes again. (With real rotation a kill between the issuer's answer
//! and the save would leave a spent refresh token behind and end the refreshing.) A kill between
//! creating `.auth.json.tmp-*` and the rename may leave that temporary file behind; that is
//! accepted as long as `auth.json` itself is intact, and it is counted: at most one per kill.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::fake_issuer::{Endpoint, FakeIssuer, ScriptedResponse};
use serde_json::{Value, json};

use crate::support::creds::{jwt, write_auth};
use crate::support::real_server::{RealServer, command, scale};

/// Scripted answers added before each process starts (more than one process can use).
const ANSWERS_PER_PROCESS: usize = 80;

fn stale_access(tag: usize) -> String {
    jwt(json!({"exp": chrono::Utc::now().timestamp() - 60, "tag": tag}))
}

fn answer(tag: usize) -> ScriptedResponse {
    ScriptedResponse::new(
        200,
        json!({"access_token": stale_access(tag), "refresh_token": format!("rt-crash-{tag}")}),
    )
}

/// The tag of the access token and the number of the refresh token of `auth.json`.
fn credentials_of(path: &Path, context: &str) -> (usize, usize, Value) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{context}: auth.json: {e}"));
    assert!(!bytes.is_empty(), "{context}: auth.json is empty");
    let doc: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{context}: auth.json does not parse ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    let access = doc["tokens"]["access_token"]
        .as_str()
        .expect("access token");
    let payload = access.split('.').nth(1).expect("JWT payload");
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .expect("base64"),
    )
    .expect("claims");
    let tag = claims["tag"].as_u64().expect("tag") as usize;
    let refresh = doc["tokens"]["refresh_token"]
        .as_str()
        .expect("refresh token");
    let number = refresh
        .strip_prefix("rt-crash-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{context}: unknown refresh token in auth.json"));
    (tag, number, doc)
}

fn temp_files(home: &Path) -> usize {
    std::fs::read_dir(home)
        .unwrap()
        .filter(|e| {
            e.as_ref().is_ok_and(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".auth.json.tmp-")
            })
        })
        .count()
}

/// A small deterministic generator (xorshift), seeded from the clock and printed on failure.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_refreshing_leaves_old_or_new_credentials_never_a_mix() {
    let kills = scale(30, 200);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let auth = home.path().join("auth.json");
    let mut seed_doc: Value = serde_json::from_str(&issuer.auth_json()).unwrap();
    seed_doc["tokens"]["access_token"] = json!(stale_access(0));
    seed_doc["tokens"]["refresh_token"] = json!("rt-crash-0");
    write_auth(home.path(), &seed_doc.to_string());
    let id_token = seed_doc["tokens"]["id_token"].clone();
    let mut scripted = 0;
    let mut before = 0;
    for kill in 0..kills {
        let context = format!("kill {kill} of {kills} (seed {seed})");
        issuer.script_refresh(
            (scripted + 1..=scripted + ANSWERS_PER_PROCESS)
                .map(answer)
                .collect(),
        );
        scripted += ANSWERS_PER_PROCESS;
        let mut cmd = command(home.path(), "off");
        cmd.env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", issuer.token_url())
            .env("CODEX_REVOKE_TOKEN_URL_OVERRIDE", issuer.revoke_url());
        let mut server = RealServer::start(cmd).await;
        let poll = json!({"includeToken": true, "refreshToken": true});
        // One complete refresh and save first, then a burst, killed at a random moment.
        let first = server.result("getAuthStatus", poll.clone()).await;
        assert!(first["authToken"].is_string(), "{context}: {first}");
        for _ in 0..ANSWERS_PER_PROCESS - 10 {
            server.send("getAuthStatus", poll.clone()).await;
        }
        tokio::time::sleep(Duration::from_micros(rng.below(25_000))).await;
        server.child.start_kill().unwrap();
        server.child.wait().await.unwrap();

        let (tag, number, doc) = credentials_of(&auth, &context);
        assert_eq!(
            tag, number,
            "{context}: access and refresh token of different writes"
        );
        assert_eq!(
            doc["tokens"]["id_token"], id_token,
            "{context}: id_token kept"
        );
        assert_eq!(doc["auth_mode"], "chatgpt", "{context}");
        let sent = issuer.count(Endpoint::Refresh);
        assert!(
            number >= before && number <= sent,
            "{context}: auth.json holds {number}; before this process {before}, issued up to {sent}"
        );
        assert!(
            number > before,
            "{context}: the first refresh was saved before the kill"
        );
        before = number;
        assert!(
            temp_files(home.path()) <= kill + 1,
            "{context}: temporary files pile up"
        );
    }
    println!(
        "{kills} kills: {} refreshes sent, auth.json at #{before}, {} temporary files left",
        issuer.count(Endpoint::Refresh),
        temp_files(home.path())
    );
    // A server started on what the kills left behind still serves and refreshes.
    let mut cmd = command(home.path(), "off");
    cmd.env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", issuer.token_url());
    issuer.script_refresh(vec![answer(scripted + 1)]);
    let mut server = RealServer::start(cmd).await;
    let status = server
        .result(
            "getAuthStatus",
            json!({"includeToken": true, "refreshToken": true}),
        )
        .await;
    assert!(status["authToken"].is_string(), "{status}");
    server.finish().await;
}
