//! The `file` store: `$CODEX_HOME/auth.json` (AUTH.md §3, §4.3).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::watch::WatchedFile;
use super::{CredentialStore, Stamp, StoreError};
use crate::atomic_write::write_atomic;
use crate::auth_json::{StoredAuth, parse};

/// The file name inside `CODEX_HOME`.
pub const AUTH_FILE: &str = "auth.json";

/// Extra reads after a parse failure (a lock-unaware writer may be mid-rewrite). They follow at
/// once: `load` runs on the server's runtime and must never sleep (issue 12 item 10). A file that
/// stays unparsable is retried by the next poll instead (AUTH.md §4.3).
const PARSE_RETRIES: usize = 1;

/// Set once the "readable by others" warning has been logged in this process.
static WARNED_PERMISSIONS: AtomicBool = AtomicBool::new(false);

/// Credentials in `$CODEX_HOME/auth.json`.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    /// Its stamps, served from memory while the home's watcher sees no change (AUTH.md §4.2).
    watched: WatchedFile,
}

impl FileStore {
    /// The store for `codex_home/auth.json`.
    pub fn new(codex_home: &Path) -> Self {
        let path = codex_home.join(AUTH_FILE);
        FileStore {
            watched: WatchedFile::new(path.clone()),
            path,
        }
    }

    /// The same store without the home's watcher: every stamp is a `stat` (tests of that path).
    #[cfg(test)]
    pub(crate) fn unwatched(codex_home: &Path) -> Self {
        let path = codex_home.join(AUTH_FILE);
        FileStore {
            watched: WatchedFile::unwatched(path.clone()),
            path,
        }
    }

    /// The `auth.json` path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One read of a regular file of ours under the size cap; `Ok(None)` when missing.
    fn read(&self) -> Result<Option<Vec<u8>>, StoreError> {
        crate::safe_file::read_checked(&self.path).map_err(|source| self.io_error("read", source))
    }

    fn io_error(&self, op: &'static str, source: io::Error) -> StoreError {
        StoreError::Io {
            op,
            path: self.path.clone(),
            source,
        }
    }

    fn warn_if_readable_by_others(&self) {
        crate::safe_file::warn_if_writable_by_others(&self.path);
        if let Some(home) = self.path.parent() {
            crate::safe_file::warn_if_writable_by_others(home);
        }
        if is_readable_by_others(&self.path) && !WARNED_PERMISSIONS.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "auth_core",
                path = %self.path.display(),
                "auth.json is readable by other users; consider `chmod 600`"
            );
        }
    }
}

impl CredentialStore for FileStore {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        let mut attempt = 0;
        loop {
            let Some(bytes) = self.read()? else {
                return Ok(None);
            };
            match parse(&bytes) {
                Ok(auth) => {
                    self.warn_if_readable_by_others();
                    return Ok(Some(auth));
                }
                Err(err) if attempt >= PARSE_RETRIES => return Err(StoreError::Parse(err)),
                Err(_) => attempt += 1,
            }
        }
    }

    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        write_atomic(&self.path, &auth.to_file_json()).map_err(|e| self.io_error("write", e))
    }

    fn delete(&self) -> Result<bool, StoreError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(self.io_error("delete", source)),
        }
    }

    fn stamp(&self) -> Option<Stamp> {
        self.watched.stamp().ok()
    }

    fn kind(&self) -> &'static str {
        "file"
    }

    fn saves_auth_json(&self) -> bool {
        true
    }
}

#[cfg(unix)]
fn is_readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

#[cfg(not(unix))]
fn is_readable_by_others(_path: &Path) -> bool {
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::auth_json::ParseErrorCategory;
    use crate::secret::Secret;
    use pretty_assertions::assert_eq;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    #[test]
    fn missing_file_loads_none_and_deletes_false() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        assert_eq!(store.path(), dir.path().join("auth.json"));
        assert!(store.load().unwrap().is_none());
        assert!(!store.delete().unwrap());
        assert_eq!(store.stamp(), Some(Stamp::Missing));
        assert_eq!(store.kind(), "file");
    }

    #[test]
    fn save_load_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let store = FileStore::new(&home);
        let auth = StoredAuth::api_key(Secret::new("sk-1"));
        store.save(&auth).unwrap();
        assert_eq!(store.load().unwrap(), Some(auth.clone()));
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(store.stamp(), Some(Stamp::Present { .. })));
        assert_eq!(std::fs::read(store.path()).unwrap(), auth.to_file_json());
        assert!(store.delete().unwrap());
        assert!(store.load().unwrap().is_none());
        assert!(!store.delete().unwrap());
    }

    /// Issue 12 item 10: the retries never sleep (they slept 100 ms per poll on the runtime).
    #[test]
    fn invalid_file_is_a_parse_error_after_retries_without_sleeping() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        std::fs::write(store.path(), br#"{"OPENAI_API_KEY":"sk-secret""#).unwrap();
        let started = std::time::Instant::now();
        let err = store.load().unwrap_err();
        assert!(
            started.elapsed() < Duration::from_millis(40),
            "{:?}",
            started.elapsed()
        );
        match &err {
            StoreError::Parse(p) => assert_eq!(p.category, ParseErrorCategory::Eof),
            other => panic!("unexpected {other:?}"),
        }
        assert!(!err.to_string().contains("sk-secret"));
        // the invalid file is left alone
        assert!(store.path().exists());
    }

    #[test]
    fn read_errors_are_io_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("auth.json")).unwrap();
        let store = FileStore::new(dir.path());
        assert!(matches!(
            store.load(),
            Err(StoreError::Io { op: "read", .. })
        ));
    }

    #[test]
    fn permission_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        std::fs::write(&path, b"{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(!is_readable_by_others(&path));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(is_readable_by_others(&path));
        // loading such a file still works (it only warns)
        assert!(FileStore::new(dir.path()).load().unwrap().is_some());
    }
}
