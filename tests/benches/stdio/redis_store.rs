//! `--only redis`: the same `getAuthStatus` load against the file store and the Redis store
//! (one real `redis-server` on loopback, started here), in one run, so the cost of the per-poll
//! version check is measured rather than guessed. Needs `APP_SERVER_REDIS_SERVER` (exported by
//! `tests/setup/redis.sh`); without it the part is skipped with a note.

use std::path::Path;
use std::time::Duration;

use auth_core::CredentialStore;
use auth_core::RedisConfig;
use auth_core::RedisServer;
use auth_core::Secret;
use auth_core::fake_issuer::FakeIssuer;

use crate::WARMUP;
use crate::client::{Launcher, Load};

/// Runs the comparison and prints its table.
pub fn run(
    program: &Path,
    file_home: &Path,
    issuer: &FakeIssuer,
    total: usize,
    pinning: Option<crate::pin::Pinning>,
) {
    let redis = match RedisServer::start() {
        Ok(redis) => redis,
        Err(err) => {
            println!("\n### Redis store: skipped ({err})");
            return;
        }
    };
    let store = auth_core::open_redis(&RedisConfig {
        url: Some(Secret::new(redis.url())),
        namespace: "bench".to_owned(),
        lease: Duration::from_secs(10),
    })
    .expect("redis store");
    store.save(&issuer.stored_auth()).expect("seed redis");
    let redis_home = tempfile::tempdir().expect("home");
    std::fs::write(
        redis_home.path().join("config.toml"),
        format!(
            "cli_auth_credentials_store = \"redis\"\n[auth_redis]\nurl = \"{}\"\nnamespace = \"bench\"\n",
            redis.url()
        ),
    )
    .expect("config");
    let launcher = |home: &Path| {
        Launcher::new(program, home)
            .with_env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", &issuer.token_url())
            .with_env("CODEX_REVOKE_TOKEN_URL_OVERRIDE", &issuer.revoke_url())
            .pinned(pinning)
    };
    let file = launcher(file_home);
    let shared = launcher(redis_home.path());
    println!(
        "\n### Redis store against the file store ({total} `getAuthStatus` polls per window, includeToken)\n"
    );
    println!(
        "| Window | File: polls/s | Redis: polls/s | Redis / file | File: p50 | Redis: p50 | File: p99 | Redis: p99 |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for window in [1, 16] {
        let f = drive(&file, window, total);
        let r = drive(&shared, window, total);
        assert!(f.rtts.len() == total && r.rtts.len() == total);
        println!(
            "| {window} | {:.0} | {:.0} | {:.2} | {:.1} µs | {:.1} µs | {:.1} µs | {:.1} µs |",
            f.throughput(),
            r.throughput(),
            r.throughput() / f.throughput(),
            f.quantile_us(0.5),
            r.quantile_us(0.5),
            f.quantile_us(0.99),
            r.quantile_us(0.99),
        );
    }
}

fn drive(launcher: &Launcher, window: usize, total: usize) -> Load {
    let (mut server, _) = launcher.start();
    server.drive(window, WARMUP);
    let load = server.drive(window, total);
    server.finish();
    load
}
