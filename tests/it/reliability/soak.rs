//! Multi-process soak (AUTH.md §7.4a-b, e): 8 real servers share one home while the refresh
//! token is force-rotated again and again (every server reports the current access token as
//! rejected at once). The fake issuer accepts each refresh token once, so a second request per
//! rotation would kill the credentials. No server may ever be left without a token, and the
//! issuer must see exactly one refresh request per rotation.

use auth_core::fake_issuer::{Endpoint, FakeIssuer};
use serde_json::{Value, json};

use crate::support::creds::seed_fresh;
use crate::support::real_server::{RealServer, command, scale};

const PROCESSES: usize = 8;

async fn tokens(servers: &mut [RealServer]) -> Vec<Value> {
    let mut ids = Vec::new();
    for server in servers.iter_mut() {
        ids.push(
            server
                .send("getAuthStatus", json!({"includeToken": true}))
                .await,
        );
    }
    let mut tokens = Vec::new();
    for (server, id) in servers.iter_mut().zip(ids) {
        tokens.push(server.answer(id).await["result"]["authToken"].clone());
    }
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_share_forced_rotations_with_one_token_request_each() {
    let rotations = scale(10, 50);
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    seed_fresh(home.path(), &issuer);
    let mut servers = Vec::new();
    for _ in 0..PROCESSES {
        let mut cmd = command(home.path(), "off");
        cmd.env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", issuer.token_url())
            .env("CODEX_REVOKE_TOKEN_URL_OVERRIDE", issuer.revoke_url());
        servers.push(RealServer::start(cmd).await);
    }
    let mut current = tokens(&mut servers).await;
    for rotation in 0..rotations {
        let token = current[0].clone();
        assert!(token.is_string(), "rotation {rotation}: a token is served");
        assert!(
            current.iter().all(|t| *t == token),
            "rotation {rotation}: every process serves the same token: {current:?}"
        );
        let before = issuer.count(Endpoint::Refresh);
        let mut ids = Vec::new();
        for server in servers.iter_mut() {
            let params = json!({"accessToken": token, "includeToken": true});
            ids.push(server.send("account/reportUnauthorized", params).await);
        }
        for (i, (server, id)) in servers.iter_mut().zip(ids).enumerate() {
            let answer = server.answer(id).await;
            let reported = &answer["result"]["authToken"];
            assert!(
                reported.is_string() && *reported != token,
                "rotation {rotation}: process {i} was left without a new token: {answer}"
            );
        }
        assert_eq!(
            issuer.count(Endpoint::Refresh) - before,
            1,
            "rotation {rotation}: exactly one token request"
        );
        current = tokens(&mut servers).await;
        assert_ne!(current[0], token, "rotation {rotation}: the token rotated");
    }
    assert_eq!(issuer.count(Endpoint::Refresh), rotations);
    for server in servers {
        server.finish().await;
    }
}
