//! Fixture: a temporary home, an issuer played by a closure on the HTTP seam (no socket), a
//! manual clock, jitter 1.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::auth_json::StoredAuth;
use crate::backoff::FixedJitter;
use crate::clock::ManualClock;
use crate::http::recording::{Requests, recording};
use crate::http::{HttpRequest, HttpResponse, SharedHttpClient};
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

pub(crate) const TOKEN_PATH: &str = "/oauth/token";
pub(crate) const REVOKE_PATH: &str = "/oauth/revoke";
const ISSUER: &str = "https://issuer.test";

/// Per path: the answer and how long (tokio time) the issuer takes to give it.
type Answers = Arc<Mutex<HashMap<&'static str, (HttpResponse, Duration)>>>;

pub(crate) struct Fixture {
    pub(crate) home: tempfile::TempDir,
    pub(crate) clock: Arc<ManualClock>,
    answers: Answers,
    http: SharedHttpClient,
    seen: Requests,
}

impl Fixture {
    pub(crate) async fn new() -> Fixture {
        let answers = Answers::default();
        let table = Arc::clone(&answers);
        // A path without an answer gets a 404, as from an issuer that lacks the endpoint.
        let (http, seen) = recording(move |request: HttpRequest| {
            let answer = table.lock().get(request.path().as_str()).cloned();
            async move {
                let (response, delay) =
                    answer.unwrap_or((HttpResponse::status(404), Duration::ZERO));
                tokio::time::sleep(delay).await;
                Ok(response)
            }
        });
        Fixture {
            home: tempfile::tempdir().unwrap(),
            clock: Arc::new(ManualClock::new(t0())),
            answers,
            http,
            seen,
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
        opts.http = Some(self.http.clone());
        opts.refresh_url = Some(format!("{ISSUER}{TOKEN_PATH}"));
        opts.revoke_url = Some(format!("{ISSUER}{REVOKE_PATH}"));
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

    /// The issuer answers `path` with `response` after `delay` (tokio time).
    pub(crate) fn answer(&self, path: &'static str, response: HttpResponse, delay: Duration) {
        self.answers.lock().insert(path, (response, delay));
    }

    /// The token endpoint answers `response`.
    pub(crate) fn token_endpoint(&self, response: HttpResponse) {
        self.answer(TOKEN_PATH, response, Duration::ZERO);
    }

    /// A 200 answer with new tokens tagged `tag`.
    pub(crate) fn token_ok(&self, tag: &str, rt: &str) -> String {
        let token = access(tag, T0 + 7200);
        self.token_endpoint(HttpResponse::json(
            200,
            &json!({"access_token": token, "refresh_token": rt, "id_token": id_token("ws1")}),
        ));
        token
    }

    pub(crate) fn token_reused(&self) {
        self.token_reused_after(Duration::ZERO);
    }

    /// A 401 `refresh_token_reused` answered after `delay`.
    pub(crate) fn token_reused_after(&self, delay: Duration) {
        self.answer(
            TOKEN_PATH,
            HttpResponse::json(401, &json!({"error": {"code": "refresh_token_reused"}})),
            delay,
        );
    }

    /// Requests that reached the token endpoint.
    pub(crate) fn token_requests(&self) -> usize {
        self.seen.count_path(TOKEN_PATH)
    }

    /// The requests sent to `path`, in order.
    pub(crate) fn requests_to(&self, path: &str) -> Vec<HttpRequest> {
        self.seen
            .all()
            .into_iter()
            .filter(|r| r.path() == path)
            .collect()
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
