//! The shared Redis store (issue 17, AUTH.md §7.6) with real server processes: several
//! `CODEX_HOME`s, one Redis (a real `redis-server` per test, started by
//! `auth_core::RedisServer`; run through `tests/run.sh`), counted at the fake issuer.

use std::path::Path;
use std::time::{Duration, Instant};

use auth_core::CredentialStore;
use auth_core::RedisConfig;
use auth_core::RedisServer;
use auth_core::Secret;
use auth_core::StoredAuth;
use auth_core::fake_issuer::{Endpoint, FakeIssuer, ScriptedResponse};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::creds::fresh_access_token;
use crate::support::real_server::{RealServer, command, scale};

const NAMESPACE: &str = "fleet";
/// Short leases, so a stopped holder loses its lease quickly.
const LEASE_MS: u64 = 1000;

fn redis() -> RedisServer {
    RedisServer::start().unwrap_or_else(|e| panic!("{e}"))
}

/// The store as one more machine sees it (for seeding and for inspecting what is stored).
fn shared(redis: &RedisServer) -> std::sync::Arc<auth_core::RedisStore> {
    auth_core::open_redis(&RedisConfig {
        url: Some(Secret::new(redis.url())),
        namespace: NAMESPACE.to_owned(),
        lease: Duration::from_millis(LEASE_MS),
    })
    .unwrap()
}

/// A home whose `config.toml` selects the shared store.
fn redis_home(redis: &RedisServer) -> TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "cli_auth_credentials_store = \"redis\"\n[auth_redis]\nurl = \"{}\"\nnamespace = \"{NAMESPACE}\"\nlease_ms = {LEASE_MS}\n",
            redis.url()
        ),
    )
    .unwrap();
    home
}

async fn server(home: &Path, issuer: &FakeIssuer) -> RealServer {
    let mut cmd = command(home, "off");
    cmd.env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", issuer.token_url())
        .env("CODEX_REVOKE_TOKEN_URL_OVERRIDE", issuer.revoke_url());
    RealServer::start(cmd).await
}

/// `n` servers, each on its own home, all on `redis`.
async fn fleet(
    n: usize,
    redis: &RedisServer,
    issuer: &FakeIssuer,
) -> (Vec<TempDir>, Vec<RealServer>) {
    let mut homes = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..n {
        let home = redis_home(redis);
        servers.push(server(home.path(), issuer).await);
        homes.push(home);
    }
    (homes, servers)
}

/// Sends `method` to every server at once and collects the answers.
async fn everyone(servers: &mut [RealServer], method: &str, params: Value) -> Vec<Value> {
    let mut ids = Vec::new();
    for server in servers.iter_mut() {
        ids.push(server.send(method, params.clone()).await);
    }
    let mut answers = Vec::new();
    for (server, id) in servers.iter_mut().zip(ids) {
        answers.push(server.answer(id).await);
    }
    answers
}

async fn tokens(servers: &mut [RealServer]) -> Vec<Value> {
    everyone(servers, "getAuthStatus", json!({"includeToken": true}))
        .await
        .into_iter()
        .map(|a| a["result"]["authToken"].clone())
        .collect()
}

fn access_of(auth: &StoredAuth) -> String {
    auth.tokens
        .as_ref()
        .unwrap()
        .access_token
        .expose()
        .to_owned()
}

/// A 200 refresh answer (bypassing the issuer's rotation) with tokens tagged `tag`.
fn scripted_tokens(tag: &str, delay: Duration) -> (String, ScriptedResponse) {
    let access = fresh_access_token(tag);
    let response = ScriptedResponse::new(
        200,
        json!({"access_token": access, "refresh_token": format!("rt-{tag}")}),
    )
    .with_delay(delay);
    (access, response)
}

async fn wait_for_requests(issuer: &FakeIssuer, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while issuer.count(Endpoint::Refresh) < n {
        assert!(Instant::now() < deadline, "the token request never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn signal(server: &RealServer, sig: &str) {
    let pid = server.child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args([sig, &pid])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_servers_on_one_redis_rotate_once_per_forced_rotation() {
    let rotations = scale(5, 25);
    let redis = redis();
    let issuer = FakeIssuer::start().await.unwrap();
    shared(&redis).save(&issuer.stored_auth()).unwrap();
    let (_homes, mut servers) = fleet(4, &redis, &issuer).await;
    let mut current = tokens(&mut servers).await;
    for rotation in 0..rotations {
        let token = current[0].clone();
        assert!(token.is_string(), "rotation {rotation}: a token is served");
        assert!(
            current.iter().all(|t| *t == token),
            "rotation {rotation}: every server serves the same token: {current:?}"
        );
        let before = issuer.count(Endpoint::Refresh);
        let params = json!({"accessToken": token, "includeToken": true});
        let answers = everyone(&mut servers, "account/reportUnauthorized", params).await;
        for (i, answer) in answers.iter().enumerate() {
            let reported = &answer["result"]["authToken"];
            assert!(
                reported.is_string() && *reported != token,
                "rotation {rotation}: server {i} was left without a new token: {answer}"
            );
        }
        assert_eq!(
            issuer.count(Endpoint::Refresh) - before,
            1,
            "rotation {rotation}: exactly one token request fleet-wide"
        );
        current = tokens(&mut servers).await;
        assert_ne!(current[0], token, "rotation {rotation}: the token rotated");
        let stored = shared(&redis).load().unwrap().unwrap();
        assert_eq!(
            current[0],
            json!(access_of(&stored)),
            "Redis holds the served token"
        );
    }
    assert_eq!(issuer.count(Endpoint::Refresh), rotations);
    for server in servers {
        server.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_storm_on_four_servers_costs_one_token_request() {
    let redis = redis();
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_access_token_lifetime(chrono::TimeDelta::seconds(-60));
    shared(&redis).save(&issuer.stored_auth()).unwrap();
    issuer.set_access_token_lifetime(chrono::TimeDelta::hours(1));
    issuer.script_refresh(vec![ScriptedResponse::new(
        401,
        json!({"error": {"code": "refresh_token_reused"}}),
    )]);
    let (_homes, mut servers) = fleet(4, &redis, &issuer).await;
    let params = json!({"includeToken": true, "refreshToken": true});
    // 50 polls on each server, the four servers polling concurrently
    let mut ids: Vec<Vec<i64>> = vec![Vec::new(); servers.len()];
    for _ in 0..50 {
        for (server, ids) in servers.iter_mut().zip(ids.iter_mut()) {
            ids.push(server.send("getAuthStatus", params.clone()).await);
        }
    }
    for (i, (server, ids)) in servers.iter_mut().zip(ids).enumerate() {
        for id in ids {
            let answer = server.answer(id).await;
            assert_eq!(
                answer["result"],
                json!({"authMethod": "chatgpt", "authToken": null, "requiresOpenaiAuth": true}),
                "server {i}"
            );
        }
    }
    assert_eq!(
        issuer.count(Endpoint::Refresh),
        1,
        "one token request in total"
    );
    // a fifth machine started later fails fast from the shared record too
    let late_home = redis_home(&redis);
    let mut late = server(late_home.path(), &issuer).await;
    let status = late.result("getAuthStatus", params).await;
    assert_eq!(status["authToken"], Value::Null);
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
    // new credentials (a login on any machine) clear the shared record for everyone
    let fresh = issuer.stored_auth();
    shared(&redis).save(&fresh).unwrap();
    for server in servers.iter_mut() {
        let status = server
            .result("getAuthStatus", json!({"includeToken": true}))
            .await;
        assert_eq!(status["authToken"], json!(access_of(&fresh)));
    }
    for server in servers {
        server.finish().await;
    }
    late.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_holder_stopped_past_its_lease_cannot_overwrite_newer_credentials() {
    let redis = redis();
    let issuer = FakeIssuer::start().await.unwrap();
    let original = issuer.stored_auth();
    shared(&redis).save(&original).unwrap();
    let (_homes, mut servers) = fleet(2, &redis, &issuer).await;
    let old = json!(access_of(&original));
    // A's token request is answered after 3 s, with tokens that will be stale by then; the
    // scripted answer leaves the refresh token live, so B can refresh after A lost the lease.
    let (stale_token, slow) = scripted_tokens("stale-holder", Duration::from_secs(3));
    issuer.script_refresh(vec![slow]);
    let params = json!({"accessToken": old, "includeToken": true});
    let a_id = servers[0]
        .send("account/reportUnauthorized", params.clone())
        .await;
    wait_for_requests(&issuer, 1).await;
    signal(&servers[0], "-STOP");
    // A is stopped with the lease: no renewal, so it expires after LEASE_MS
    tokio::time::sleep(Duration::from_millis(LEASE_MS + 500)).await;
    let b = servers[1]
        .result("account/reportUnauthorized", params)
        .await;
    let newer = b["authToken"].clone();
    assert!(newer.is_string() && newer != old, "B refreshed: {b}");
    assert_eq!(issuer.count(Endpoint::Refresh), 2);
    signal(&servers[0], "-CONT");
    let a = servers[0].answer(a_id).await;
    assert_eq!(
        a["result"]["authToken"], newer,
        "A's stale save was refused and A adopted the newer credentials: {a}"
    );
    assert_ne!(a["result"]["authToken"], json!(stale_token));
    let stored = shared(&redis).load().unwrap().unwrap();
    assert_eq!(
        json!(access_of(&stored)),
        newer,
        "Redis keeps the newer credentials"
    );
    assert_eq!(tokens(&mut servers).await, vec![newer.clone(), newer]);
    assert_eq!(issuer.count(Endpoint::Refresh), 2);
    for server in servers {
        server.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_mid_refresh_loses_nothing() {
    let mut redis = RedisServer::start_durable().unwrap_or_else(|e| panic!("{e}"));
    let issuer = FakeIssuer::start().await.unwrap();
    let original = issuer.stored_auth();
    shared(&redis).save(&original).unwrap();
    let (_homes, mut servers) = fleet(3, &redis, &issuer).await;
    let old = json!(access_of(&original));
    assert_eq!(tokens(&mut servers).await, vec![old.clone(); 3]);
    let (new_token, slow) = scripted_tokens("after-outage", Duration::from_millis(1500));
    issuer.script_refresh(vec![slow]);
    let a_id = servers[0]
        .send(
            "account/reportUnauthorized",
            json!({"accessToken": old, "includeToken": true}),
        )
        .await;
    wait_for_requests(&issuer, 1).await;
    redis.kill();
    // while Redis is down the others keep serving their cached token, promptly
    for _ in 0..5 {
        for (i, server) in servers[1..].iter_mut().enumerate() {
            let started = Instant::now();
            let status = server
                .result("getAuthStatus", json!({"includeToken": true}))
                .await;
            assert_eq!(
                status["authToken"],
                old,
                "server {} during the outage",
                i + 1
            );
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{:?}",
                started.elapsed()
            );
        }
    }
    // A's request succeeds; its save cannot reach Redis, so A keeps the new tokens in memory
    let a = servers[0].answer(a_id).await;
    assert_eq!(a["result"]["authToken"], json!(new_token), "{a}");
    // a refresh now cannot take the lease: transient, with a clear message, token still served
    let refused = servers[1]
        .result(
            "account/reportUnauthorized",
            json!({"accessToken": old, "includeToken": true}),
        )
        .await;
    assert_eq!(refused["authToken"], old, "{refused}");
    assert_eq!(issuer.count(Endpoint::Refresh), 1);

    redis.restart().unwrap();
    let stored = shared(&redis).load().unwrap().unwrap();
    assert_eq!(
        stored, original,
        "after the restart Redis holds the old credentials whole"
    );
    // A's next refresh-path call saves what it kept (no new token request)
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = servers[0]
            .result(
                "getAuthStatus",
                json!({"includeToken": true, "refreshToken": true}),
            )
            .await;
        assert_eq!(status["authToken"], json!(new_token));
        if shared(&redis).load().ok().flatten().map(|s| access_of(&s)) == Some(new_token.clone()) {
            break;
        }
        assert!(Instant::now() < deadline, "A never saved its kept tokens");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // the others adopt it once their circuit breaker lets them ask Redis again
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let served = tokens(&mut servers).await;
        assert!(
            served.iter().all(|t| *t == old || *t == json!(new_token)),
            "only the old or the new token is ever served: {served:?}"
        );
        if served.iter().all(|t| *t == json!(new_token)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the fleet never adopted the saved tokens: {served:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        issuer.count(Endpoint::Refresh),
        1,
        "nothing was refreshed twice"
    );
    for server in servers {
        server.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_and_a_logout_on_one_machine_reach_the_others_on_their_next_poll() {
    let redis = redis();
    let issuer = FakeIssuer::start().await.unwrap();
    let (_homes, mut servers) = fleet(3, &redis, &issuer).await;
    let signed_out = json!({"authMethod": null, "authToken": null, "requiresOpenaiAuth": true});
    for answer in everyone(&mut servers, "getAuthStatus", json!({"includeToken": true})).await {
        assert_eq!(answer["result"], signed_out);
    }
    servers[0]
        .result(
            "account/login/start",
            json!({"type": "apiKey", "apiKey": "sk-fleet"}),
        )
        .await;
    for answer in everyone(&mut servers, "getAuthStatus", json!({"includeToken": true})).await {
        assert_eq!(
            answer["result"],
            json!({"authMethod": "apikey", "authToken": "sk-fleet", "requiresOpenaiAuth": true})
        );
    }
    servers[2].result("account/logout", json!({})).await;
    for answer in everyone(&mut servers, "getAuthStatus", json!({"includeToken": true})).await {
        assert_eq!(answer["result"], signed_out);
    }
    assert_eq!(shared(&redis).load().unwrap(), None);
    for server in servers {
        server.finish().await;
    }
}

#[tokio::test]
async fn redis_url_comes_from_the_environment_when_the_table_has_none() {
    let redis = redis();
    let issuer = FakeIssuer::start().await.unwrap();
    shared(&redis)
        .save(&StoredAuth::api_key(Secret::new("sk-env")))
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "cli_auth_credentials_store = \"redis\"\n[auth_redis]\nnamespace = \"{NAMESPACE}\"\n"
        ),
    )
    .unwrap();
    let mut cmd = command(home.path(), "off");
    cmd.env("REDIS_URL", redis.url())
        .env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", issuer.token_url());
    let mut server = RealServer::start(cmd).await;
    let status = server
        .result("getAuthStatus", json!({"includeToken": true}))
        .await;
    assert_eq!(status["authToken"], "sk-env");
    server.finish().await;
}
