//! The shared permanent-failure record, `$CODEX_HOME/auth.json.refresh-failure` (AUTH.md §7.4c).
//!
//! It names the fingerprint of the dead snapshot and the reason; it holds no token and no
//! message. A record whose fingerprint differs from the current snapshot's is void; void,
//! unreadable and unknown-version records are ignored (and later overwritten).

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::Deserialize;

use crate::atomic_write::write_atomic;
use crate::classify::FailureReason;
use crate::fingerprint::Fingerprint;
use crate::store::watch::WatchedFile;
use crate::store::{Stamp, StoreError};

/// The record file name inside `CODEX_HOME`.
pub const FAILURE_RECORD_FILE: &str = "auth.json.refresh-failure";
/// The only record version we read and write.
const VERSION: u32 = 1;

/// A permanent refresh failure of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRecord {
    /// The snapshot that failed.
    pub fingerprint: Fingerprint,
    /// Why it failed.
    pub reason: FailureReason,
    /// The HTTP status of the failing answer.
    pub http_status: Option<u16>,
    /// The extracted backend code.
    pub backend_code: Option<String>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The recording process.
    pub recorded_by_pid: u32,
}

#[derive(Deserialize)]
struct RawRecord {
    version: u32,
    fingerprint: String,
    reason: String,
    #[serde(default)]
    http_status: Option<u16>,
    #[serde(default)]
    backend_code: Option<String>,
    recorded_at: DateTime<FixedOffset>,
    recorded_by_pid: u32,
}

/// The record file of one `CODEX_HOME`.
#[derive(Debug, Clone)]
pub struct FailureRecordFile {
    path: PathBuf,
    /// Its stamps, served from memory while the home's watcher sees no change (AUTH.md §4.2).
    watched: WatchedFile,
}

impl FailureRecordFile {
    /// The record at `codex_home/auth.json.refresh-failure`.
    pub fn new(codex_home: &Path) -> Self {
        let path = codex_home.join(FAILURE_RECORD_FILE);
        FailureRecordFile {
            watched: WatchedFile::new(path.clone()),
            path,
        }
    }

    /// The record path.
    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The record, or `None` if it is missing, unreadable, invalid or of another version.
    pub fn load(&self) -> Option<FailureRecord> {
        let bytes = match crate::safe_file::read_checked(&self.path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(err) => {
                tracing::debug!(target: "auth_core", error = %err, "failure record unreadable");
                return None;
            }
        };
        let record = decode(&bytes);
        if record.is_none() {
            tracing::debug!(target: "auth_core", "failure record invalid or of another version; ignored");
        }
        record
    }

    /// Writes `record` atomically (`0600`).
    pub fn save(&self, record: &FailureRecord) -> Result<(), StoreError> {
        write_atomic(&self.path, &encode(record)).map_err(|source| StoreError::Io {
            op: "write",
            path: self.path.clone(),
            source,
        })
    }

    /// Removes the record; true if it existed.
    pub fn delete(&self) -> Result<bool, StoreError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StoreError::Io {
                op: "delete",
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// The record file's change stamp; `None` if it cannot be stat'ed.
    pub fn stamp(&self) -> Option<Stamp> {
        self.watched.stamp().ok()
    }
}

/// The record's bytes: one JSON line, no token.
pub(crate) fn encode(record: &FailureRecord) -> Vec<u8> {
    let value = serde_json::json!({
        "version": VERSION,
        "fingerprint": record.fingerprint.to_hex(),
        "reason": record.reason.as_str(),
        "http_status": record.http_status,
        "backend_code": record.backend_code,
        "recorded_at": record.recorded_at.to_rfc3339_opts(SecondsFormat::Nanos, true),
        "recorded_by_pid": record.recorded_by_pid,
    });
    let mut out = value.to_string().into_bytes();
    out.push(b'\n');
    out
}

/// A record from its bytes; `None` if invalid or of another version.
pub(crate) fn decode(bytes: &[u8]) -> Option<FailureRecord> {
    let raw: RawRecord = serde_json::from_slice(bytes).ok()?;
    if raw.version != VERSION {
        return None;
    }
    Some(FailureRecord {
        fingerprint: Fingerprint::from_hex(&raw.fingerprint)?,
        reason: FailureReason::from_str_opt(&raw.reason)?,
        http_status: raw.http_status,
        backend_code: raw.backend_code,
        recorded_at: raw.recorded_at.with_timezone(&Utc),
        recorded_by_pid: raw.recorded_by_pid,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::auth_json::{IdToken, StoredAuth, TokenData};
    use crate::secret::Secret;
    use chrono::TimeZone;
    use pretty_assertions::assert_eq;

    fn record(fp: Fingerprint) -> FailureRecord {
        FailureRecord {
            fingerprint: fp,
            reason: FailureReason::Exhausted,
            http_status: Some(401),
            backend_code: Some("refresh_token_reused".into()),
            recorded_at: Utc.with_ymd_and_hms(2026, 3, 23, 20, 3, 11).unwrap()
                + chrono::Duration::nanoseconds(5),
            recorded_by_pid: 4242,
        }
    }

    /// §12 item 27 (file part): `0600`, holds fingerprint and reason, no token.
    #[cfg(unix)]
    #[test]
    fn saved_record_is_private_and_token_free() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = FailureRecordFile::new(dir.path());
        let auth = StoredAuth::chatgpt(
            TokenData::new(
                IdToken::Jwt(Secret::new("id-token-value")),
                Secret::new("access-token-value"),
                Secret::new("refresh-token-value"),
                Some("acct".into()),
            ),
            None,
            Utc::now(),
        );
        let rec = record(auth.fingerprint());
        file.save(&rec).unwrap();
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(text.contains(&auth.fingerprint().to_hex()));
        assert!(text.contains("\"reason\":\"exhausted\""));
        for token in [
            "id-token-value",
            "access-token-value",
            "refresh-token-value",
        ] {
            assert!(!text.contains(token));
        }
        assert_eq!(file.load(), Some(rec));
    }

    #[test]
    fn exact_shape() {
        let fp = Fingerprint::digest(b"x");
        let text = String::from_utf8(encode(&record(fp))).unwrap();
        assert_eq!(
            text,
            format!(
                "{{\"version\":1,\"fingerprint\":\"{}\",\"reason\":\"exhausted\",\"http_status\":401,\"backend_code\":\"refresh_token_reused\",\"recorded_at\":\"2026-03-23T20:03:11.000000005Z\",\"recorded_by_pid\":4242}}\n",
                fp.to_hex()
            )
        );
    }

    #[test]
    fn invalid_and_foreign_records_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = FailureRecordFile::new(dir.path());
        assert_eq!(file.load(), None);
        assert_eq!(file.stamp(), Some(Stamp::Missing));
        let hex = Fingerprint::digest(b"x").to_hex();
        let bad = [
            "not json".to_owned(),
            String::new(),
            format!(
                r#"{{"version":2,"fingerprint":"{hex}","reason":"other","recorded_at":"2026-01-01T00:00:00Z","recorded_by_pid":1}}"#
            ),
            format!(
                r#"{{"version":1,"fingerprint":"{hex}","reason":"bored","recorded_at":"2026-01-01T00:00:00Z","recorded_by_pid":1}}"#
            ),
            r#"{"version":1,"fingerprint":"abc","reason":"other","recorded_at":"2026-01-01T00:00:00Z","recorded_by_pid":1}"#.to_owned(),
        ];
        for text in bad {
            std::fs::write(file.path(), &text).unwrap();
            assert_eq!(file.load(), None, "{text}");
        }
        // nulls and missing optional fields are fine; offsets are normalized
        std::fs::write(
            file.path(),
            format!(
                r#"{{"version":1,"fingerprint":"{hex}","reason":"other","http_status":null,"recorded_at":"2026-01-01T02:00:00+02:00","recorded_by_pid":7}}"#
            ),
        )
        .unwrap();
        let rec = file.load().unwrap();
        assert_eq!(rec.reason, FailureReason::Other);
        assert_eq!(rec.http_status, None);
        assert_eq!(rec.backend_code, None);
        assert_eq!(
            rec.recorded_at,
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
        );
        assert!(matches!(file.stamp(), Some(Stamp::Present { .. })));
    }

    #[test]
    fn delete_reports_existence() {
        let dir = tempfile::tempdir().unwrap();
        let file = FailureRecordFile::new(&dir.path().join("home"));
        assert!(!file.delete().unwrap());
        file.save(&record(Fingerprint::digest(b"y"))).unwrap();
        assert!(file.delete().unwrap());
        assert!(!file.path().exists());
        assert!(!file.delete().unwrap());
    }
}
