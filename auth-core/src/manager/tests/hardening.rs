//! Issue 12: what a hostile file system, a hung issuer or a held lock must not do to the manager.

use std::time::{Duration, Instant, SystemTime};

use super::support::*;

/// Item 10: a truncated `auth.json` with a future mtime (never trusted) is re-read by every
/// poll; the re-read must not sleep on the runtime (it slept 100 ms per poll).
#[tokio::test]
async fn polls_of_a_broken_file_never_sleep() {
    let fx = Fixture::new().await;
    let token = fx.write_fresh("a", "rt-a");
    let m = fx.manager();
    std::fs::write(fx.auth_path(), b"{\"auth_mode\":\"chatgpt\",\"tok").unwrap();
    let file = std::fs::File::options()
        .write(true)
        .open(fx.auth_path())
        .unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(3600))
        .unwrap();
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(m.auth_cached().usable_bearer(), Some(token.as_str()));
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

/// Item 8: a FIFO at `auth.json` froze every call; now the poll refuses it at once and the
/// cached credentials are still served.
#[tokio::test]
async fn a_fifo_at_auth_json_does_not_freeze_the_manager() {
    let fx = Fixture::new().await;
    let token = fx.write_fresh("a", "rt-a");
    let m = fx.manager();
    std::fs::remove_file(fx.auth_path()).unwrap();
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fx.auth_path(),
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let started = Instant::now();
    assert_eq!(m.auth_cached().usable_bearer(), Some(token.as_str()));
    // A fresh manager on that home starts, signed out, without blocking.
    let other = fx.manager();
    assert_eq!(other.auth_cached().usable_bearer(), None);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// Item 12: a manager removes the temporary files crashed writers left in the home.
#[tokio::test]
async fn stale_temporary_files_are_removed_at_start() {
    let fx = Fixture::new().await;
    fx.write_fresh("a", "rt-a");
    let leftover = fx.home().join(".auth.json.tmp-0123456789ab");
    std::fs::write(&leftover, chatgpt_json("secret-access", "secret-refresh")).unwrap();
    let file = std::fs::File::options()
        .write(true)
        .open(&leftover)
        .unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(600))
        .unwrap();
    let _m = fx.manager();
    assert!(!leftover.exists());
}
