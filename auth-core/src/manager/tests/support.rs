//! Fixture: a temporary home, a wiremock token endpoint, a manual clock, jitter 1.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::auth_json::StoredAuth;
use crate::backoff::FixedJitter;
use crate::clock::ManualClock;
use crate::manager::{AuthManager, ManagerOptions};
use crate::store::file::FileStore;
use crate::store::{CredentialStore, Stamp, StoreError};

pub(crate) const T0: i64 = 1_800_000_000;

pub(crate) fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(T0, 0).unwrap()
}

/// An unsigned JWT with `claims` as payload.
pub(crate) fn jwt(claims: Value) -> String {
    crate::fake_issuer::unsigned_jwt(&claims)
}

/// An access token expiring at `exp` (unique per `tag`).
pub(crate) fn access(tag: &str, exp: i64) -> String {
    jwt(json!({"exp": exp, "tag": tag}))
}

pub(crate) fn id_token(account: &str) -> String {
    jwt(json!({
        "email": "user@example.com",
        "https://api.openai.com/auth": {"chatgpt_plan_type": "pro", "chatgpt_account_id": account}
    }))
}

/// `auth.json` text for ChatGPT tokens.
pub(crate) fn chatgpt_json(access_token: &str, refresh_token: &str) -> String {
    json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": id_token("ws1"),
            "access_token": access_token,
            "refresh_token": refresh_token,
            "account_id": "ws1"
        },
        "last_refresh": "2026-11-01T00:00:00Z"
    })
    .to_string()
}

pub(crate) struct Fixture {
    pub(crate) home: tempfile::TempDir,
    pub(crate) server: MockServer,
    pub(crate) clock: Arc<ManualClock>,
}

impl Fixture {
    pub(crate) async fn new() -> Fixture {
        Fixture {
            home: tempfile::tempdir().unwrap(),
            server: MockServer::start().await,
            clock: Arc::new(ManualClock::new(t0())),
        }
    }

    pub(crate) fn home(&self) -> &Path {
        self.home.path()
    }

    pub(crate) fn auth_path(&self) -> PathBuf {
        self.home().join("auth.json")
    }

    /// Writes `auth.json` atomically, as another process would.
    pub(crate) fn write_auth(&self, text: &str) {
        crate::atomic_write::write_atomic(&self.auth_path(), text.as_bytes()).unwrap();
    }

    /// Stale ChatGPT credentials (access token expired) with refresh token `rt`.
    pub(crate) fn write_stale(&self, tag: &str, rt: &str) -> String {
        let token = access(tag, T0 - 60);
        self.write_auth(&chatgpt_json(&token, rt));
        token
    }

    /// Fresh ChatGPT credentials (access token valid for an hour).
    pub(crate) fn write_fresh(&self, tag: &str, rt: &str) -> String {
        let token = access(tag, T0 + 3600);
        self.write_auth(&chatgpt_json(&token, rt));
        token
    }

    pub(crate) fn options(&self) -> ManagerOptions {
        let mut opts = ManagerOptions::new(self.home().to_path_buf());
        opts.refresh_url = Some(format!("{}/oauth/token", self.server.uri()));
        opts.revoke_url = Some(format!("{}/oauth/revoke", self.server.uri()));
        opts.clock = self.clock.clone();
        opts.jitter = Arc::new(FixedJitter(1.0));
        opts.lock_wait = Duration::from_millis(500);
        // Most tests count requests right after a status call: let it wait for the refresh.
        opts.valid_proactive_wait = Duration::from_secs(10);
        opts.valid_requested_wait = Duration::from_secs(10);
        opts
    }

    pub(crate) fn manager(&self) -> AuthManager {
        AuthManager::new(self.options()).unwrap()
    }

    /// Mounts a token endpoint answering `template`.
    pub(crate) async fn token_endpoint(&self, template: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(template)
            .mount(&self.server)
            .await;
    }

    /// A 200 answer with new tokens tagged `tag`.
    pub(crate) async fn token_ok(&self, tag: &str, rt: &str) -> String {
        let token = access(tag, T0 + 7200);
        self.token_endpoint(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": token, "refresh_token": rt, "id_token": id_token("ws1")}),
        ))
        .await;
        token
    }

    pub(crate) async fn token_reused(&self) {
        self.token_reused_after(Duration::ZERO).await;
    }

    /// A 401 `refresh_token_reused` answered after `delay`.
    pub(crate) async fn token_reused_after(&self, delay: Duration) {
        self.token_endpoint(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"code": "refresh_token_reused"}}))
                .set_delay(delay),
        )
        .await;
    }

    /// Requests that reached the token endpoint.
    pub(crate) async fn token_requests(&self) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/oauth/token")
            .count()
    }

    /// Holds `auth.json.lock` as another process would, until the guard is dropped.
    pub(crate) async fn hold_lock(&self) -> crate::lock::LockGuard {
        match crate::lock::CredentialLock::new(self.home())
            .acquire(Duration::from_secs(1))
            .await
            .unwrap()
        {
            crate::lock::LockOutcome::Held(guard) => guard,
            crate::lock::LockOutcome::Degraded(err) => panic!("locking unsupported here: {err}"),
        }
    }

    pub(crate) fn auth_bytes(&self) -> Vec<u8> {
        std::fs::read(self.auth_path()).unwrap()
    }

    pub(crate) fn stored(&self) -> StoredAuth {
        crate::auth_json::parse(&self.auth_bytes()).unwrap()
    }
}

/// A file store that counts loads and can be told to fail saves.
#[derive(Debug)]
pub(crate) struct ProbeStore {
    pub(crate) inner: FileStore,
    pub(crate) loads: AtomicUsize,
    pub(crate) fail_saves: AtomicBool,
}

impl ProbeStore {
    pub(crate) fn new(home: &Path) -> Arc<ProbeStore> {
        ProbeStore::with(FileStore::new(home))
    }

    pub(crate) fn with(inner: FileStore) -> Arc<ProbeStore> {
        Arc::new(ProbeStore {
            inner,
            loads: AtomicUsize::new(0),
            fail_saves: AtomicBool::new(false),
        })
    }
}

impl CredentialStore for ProbeStore {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load()
    }
    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        if self.fail_saves.load(Ordering::SeqCst) {
            return Err(StoreError::Io {
                op: "write",
                path: self.inner.path().to_path_buf(),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            });
        }
        self.inner.save(auth)
    }
    fn delete(&self) -> Result<bool, StoreError> {
        self.inner.delete()
    }
    fn stamp(&self) -> Option<Stamp> {
        self.inner.stamp()
    }
    fn kind(&self) -> &'static str {
        "file"
    }
    fn saves_auth_json(&self) -> bool {
        self.inner.saves_auth_json()
    }
}

/// Sets the file's mtime 10 s in the past so its stamp is trusted.
pub(crate) fn age_file(path: &Path) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(10))
        .unwrap();
}
