//! Issue 12: what a hostile file system, a hung issuer or a held lock must not do to the manager.

use std::time::{Duration, Instant, SystemTime};

use super::support::*;
use crate::manager::StatusRefresh;

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
        assert_eq!(m.current_view().usable_bearer(), Some(token.as_str()));
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
        fx.auth_path(),
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let started = Instant::now();
    // On a thread: a blocking open would hang the test instead of failing it.
    let (tx, rx) = std::sync::mpsc::channel();
    let opts = fx.options();
    std::thread::spawn(move || {
        let served = m.current_view().usable_bearer().map(str::to_owned);
        // A fresh manager on that home starts, signed out, without blocking.
        let other = crate::manager::AuthManager::new(opts).unwrap();
        let _ = tx.send((served, other.current_view().usable_bearer().is_none()));
    });
    let (served, other_signed_out) = rx
        .recv_timeout(Duration::from_secs(2))
        .expect("polls of a FIFO returned");
    assert_eq!(served.as_deref(), Some(token.as_str()));
    assert!(other_signed_out);
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

/// Item 3: a startup with no login restriction to enforce never waits on a lock held
/// elsewhere (`initialize` waited the whole lock timeout).
#[tokio::test]
async fn startup_does_not_wait_on_a_held_lock_without_a_restriction() {
    let fx = Fixture::new().await;
    fx.write_fresh("a", "rt-a");
    let mut opts = fx.options();
    opts.lock_wait = Duration::from_secs(5);
    let m = crate::manager::AuthManager::new(opts).unwrap();
    let _held = fx.hold_lock().await;
    let started = Instant::now();
    assert_eq!(m.enforce_login_restrictions().await.unwrap(), None);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

/// Item 3: pipelined refreshes queued behind one lock wait share it (answers came at
/// 10/20/30/40/50 s); every caller is answered within about one lock timeout.
#[tokio::test]
async fn concurrent_waiters_share_one_lock_wait() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_ok("b", "rt-b");
    let mut opts = fx.options();
    opts.lock_wait = Duration::from_millis(800);
    let m = crate::manager::AuthManager::new(opts).unwrap();
    let _held = fx.hold_lock().await;
    let started = Instant::now();
    let calls = (0..5).map(|_| {
        let m = m.clone();
        tokio::spawn(async move { m.refresh(crate::manager::Trigger::Requested).await })
    });
    for call in calls.collect::<Vec<_>>() {
        let result = call.await.unwrap();
        assert!(
            matches!(
                result,
                Err(crate::error::RefreshError::Transient {
                    kind: crate::error::TransientError::LockTimeout,
                    ..
                })
            ),
            "{result:?}"
        );
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1600), "{elapsed:?}");
    assert_eq!(fx.token_requests(), 0);
}

/// Items 3 and 9: a poll whose cached token is still valid (but due for a proactive refresh)
/// answers at once with it, whether the lock is held elsewhere or the issuer hangs; a
/// requested refresh waits no longer than `valid_requested_wait`.
#[tokio::test(start_paused = true)]
async fn a_valid_cached_token_is_served_at_once_whatever_the_issuer_or_lock_do() {
    // Paused clock: the times below are tokio's, so waiting out the 30 s issuer would show.
    let fx = Fixture::new().await;
    let token = access("a", T0 + 240); // valid, but within the 5-minute refresh window
    fx.write_auth(&chatgpt_json(&token, "rt-a"));
    fx.answer(
        TOKEN_PATH,
        crate::http::HttpResponse::json(
            200,
            &serde_json::json!({"access_token": access("b", T0 + 7200)}),
        ),
        Duration::from_secs(30),
    );
    let mut opts = fx.options();
    opts.valid_proactive_wait = Duration::ZERO;
    opts.valid_requested_wait = Duration::from_millis(300);
    opts.lock_wait = Duration::from_secs(5);
    let m = crate::manager::AuthManager::new(opts).unwrap();

    let started = tokio::time::Instant::now();
    assert_eq!(
        m.status(StatusRefresh::WhenStale).await.usable_bearer(),
        Some(token.as_str())
    );
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    let started = tokio::time::Instant::now();
    assert_eq!(
        m.status(StatusRefresh::Requested).await.usable_bearer(),
        Some(token.as_str())
    );
    let waited = started.elapsed();
    assert!(waited < Duration::from_millis(1000), "{waited:?}");

    let fx2 = Fixture::new().await;
    fx2.write_auth(&chatgpt_json(&token, "rt-a"));
    let mut opts = fx2.options();
    opts.valid_proactive_wait = Duration::ZERO;
    opts.lock_wait = Duration::from_secs(5);
    let m2 = crate::manager::AuthManager::new(opts).unwrap();
    let _held = fx2.hold_lock().await;
    let started = tokio::time::Instant::now();
    assert_eq!(
        m2.status(StatusRefresh::WhenStale).await.usable_bearer(),
        Some(token.as_str())
    );
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
}

/// Makes a directory unwritable, even for root (the immutable flag), until dropped.
struct Unwritable(std::path::PathBuf);

impl Unwritable {
    fn new(dir: &std::path::Path) -> Unwritable {
        use std::os::unix::fs::PermissionsExt;
        if rustix::process::geteuid().as_raw() == 0 {
            let fd = std::fs::File::open(dir).unwrap();
            let flags = rustix::fs::ioctl_getflags(&fd).unwrap();
            rustix::fs::ioctl_setflags(&fd, flags | rustix::fs::IFlags::IMMUTABLE).unwrap();
        } else {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o500)).unwrap();
        }
        assert!(
            std::fs::write(dir.join("probe"), b"x").is_err(),
            "still writable"
        );
        Unwritable(dir.to_path_buf())
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(fd) = std::fs::File::open(&self.0)
            && let Ok(flags) = rustix::fs::ioctl_getflags(&fd)
        {
            let _ = rustix::fs::ioctl_setflags(&fd, flags - rustix::fs::IFlags::IMMUTABLE);
        }
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o700));
    }
}

/// Item 5: on a read-only home the refresh token is not spent (the new tokens could not be
/// saved, and a restart would report `refresh_token_reused`); the cached state is served and
/// the error names the directory.
#[tokio::test]
async fn a_read_only_home_never_spends_the_refresh_token() {
    let fx = Fixture::new().await;
    let old = fx.write_stale("a", "rt-a");
    fx.token_ok("b", "rt-b");
    let m = fx.manager();
    let before = fx.auth_bytes();
    let _ro = Unwritable::new(fx.home());
    let err = m
        .refresh(crate::manager::Trigger::Requested)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            crate::error::RefreshError::Transient {
                kind: crate::error::TransientError::Storage(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(text.contains(&fx.home().display().to_string()), "{text}");
    assert!(text.contains("not writable"), "{text}");
    assert_eq!(fx.token_requests(), 0);
    let view = m.status(StatusRefresh::WhenStale).await;
    assert_eq!(view.usable_bearer(), Some(old.as_str()));
    let failure = view.refresh_failure().expect("the reason is shown");
    assert!(failure.transient);
    assert!(
        failure.message.contains(&fx.home().display().to_string()),
        "{failure:?}"
    );
    assert_eq!(fx.token_requests(), 0);
    assert_eq!(fx.auth_bytes(), before);
}

/// Item 19: a token rotated by a lock-unaware writer while logout revoked the old one is the
/// token actually stored at the moment of logout: it is revoked too.
#[tokio::test(start_paused = true)]
async fn logout_revokes_the_token_stored_at_the_moment_of_logout() {
    let fx = Fixture::new().await;
    fx.write_fresh("a", "rt-old");
    fx.answer(
        REVOKE_PATH,
        crate::http::HttpResponse::status(200),
        Duration::from_millis(300),
    );
    let m = fx.manager();
    let logout = tokio::spawn({
        let m = m.clone();
        async move { m.logout().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    fx.write_fresh("b", "rt-rotated"); // a lock-unaware writer, during the revoke
    assert!(logout.await.unwrap().unwrap());
    let revoked: Vec<String> = fx
        .requests_to(REVOKE_PATH)
        .iter()
        .map(|r| r.json()["token"].to_string())
        .collect();
    assert_eq!(revoked, vec!["\"rt-old\"", "\"rt-rotated\""]);
    assert!(!fx.auth_path().exists());
}
