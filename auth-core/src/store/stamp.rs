//! Cheap change stamps for store files and keyring entries (AUTH.md §4.2).

use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How old a file's mtime must be, when stamped, for the stamp to be trusted.
pub const TRUST_AGE: Duration = Duration::from_secs(2);

/// The result of one `stat` of a store file, or what the last read of a keyring entry found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// The file (or keyring entry) does not exist.
    Missing,
    /// A keyring entry holding a value with this digest (the first 8 bytes of its SHA-256). A
    /// digest is never reused for other content, so an equal stamp is always trusted.
    Content {
        /// The value's digest.
        digest: u64,
    },
    /// The keyring entry has not been read successfully yet (failed reads keep the last stamp).
    Unreadable,
    /// The file exists with this metadata (on non-Unix only `len` and `mtime_ns` are filled).
    Present {
        /// Length in bytes.
        len: u64,
        /// Modification time, nanoseconds since the Unix epoch.
        mtime_ns: i128,
        /// Status-change time, nanoseconds since the Unix epoch (0 where unavailable).
        ctime_ns: i128,
        /// Inode number (0 where unavailable).
        inode: u64,
        /// Device number (0 where unavailable).
        device: u64,
        /// The home watcher's event count for this name, read before the `stat`; `None` when the
        /// file is not watched ([`super::watch`]). Every change to the file raises the count, so
        /// an equal watched stamp is trusted whatever the mtime's age.
        watch: Option<u64>,
    },
    /// A shared store's change counter (Redis): every write gets a new, never reused number.
    Version(u64),
}

impl Stamp {
    /// The stamp of a keyring value: its digest.
    pub fn of_content(value: &[u8]) -> Stamp {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(value);
        let mut first = [0_u8; 8];
        first.copy_from_slice(&digest[..8]);
        Stamp::Content {
            digest: u64::from_be_bytes(first),
        }
    }

    /// Stats `path` (following symlinks). A missing file is [`Stamp::Missing`].
    pub fn of(path: &Path) -> io::Result<Stamp> {
        match std::fs::metadata(path) {
            Ok(meta) => Ok(present(&meta)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Stamp::Missing),
            Err(err) => Err(err),
        }
    }

    /// This stamp of a watched file, taken after the watcher had counted `events` for its name.
    pub fn watched(self, events: u64) -> Stamp {
        match self {
            Stamp::Present {
                len,
                mtime_ns,
                ctime_ns,
                inode,
                device,
                ..
            } => Stamp::Present {
                len,
                mtime_ns,
                ctime_ns,
                inode,
                device,
                watch: Some(events),
            },
            other => other,
        }
    }

    /// Whether an equal later stamp proves the store unchanged: `Missing`, `Content`,
    /// `Unreadable` and `Version` always do (an unreadable entry stays skipped until a read finds
    /// it changed; a version is never reused); a watched file too (any write raises its event
    /// count); an unwatched present file only if its mtime was at least [`TRUST_AGE`] older than
    /// `taken_at`, so in-place rewrites within one timestamp tick cannot hide behind an equal
    /// stamp.
    pub fn is_trusted(&self, taken_at: SystemTime) -> bool {
        match self {
            Stamp::Missing | Stamp::Content { .. } | Stamp::Unreadable | Stamp::Version(_) => true,
            Stamp::Present { watch: Some(_), .. } => true,
            Stamp::Present { mtime_ns, .. } => {
                let taken_ns = match taken_at.duration_since(UNIX_EPOCH) {
                    Ok(d) => d.as_nanos() as i128,
                    Err(e) => -(e.duration().as_nanos() as i128),
                };
                taken_ns.saturating_sub(*mtime_ns) >= TRUST_AGE.as_nanos() as i128
            }
        }
    }
}

#[cfg(unix)]
fn present(meta: &std::fs::Metadata) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
    Stamp::Present {
        len: meta.len(),
        mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
        ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        inode: meta.ino(),
        device: meta.dev(),
        watch: None,
    }
}

#[cfg(not(unix))]
fn present(meta: &std::fs::Metadata) -> Stamp {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    Stamp::Present {
        len: meta.len(),
        mtime_ns,
        ctime_ns: 0,
        inode: 0,
        device: 0,
        watch: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn missing_then_present_then_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        assert_eq!(Stamp::of(&path).unwrap(), Stamp::Missing);
        std::fs::write(&path, b"one").unwrap();
        let first = Stamp::of(&path).unwrap();
        assert!(matches!(first, Stamp::Present { len: 3, .. }));
        assert_eq!(Stamp::of(&path).unwrap(), first);
        // a replacement by rename changes the inode even with equal length
        let tmp = dir.path().join("tmp");
        std::fs::write(&tmp, b"two").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        assert_ne!(Stamp::of(&path).unwrap(), first);
    }

    #[test]
    fn not_found_inside_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        // "f/auth.json" is ENOTDIR, which is not NotFound
        assert!(Stamp::of(&file.join("auth.json")).is_err());
    }

    #[test]
    fn trust_needs_a_two_second_old_mtime() {
        assert!(Stamp::Missing.is_trusted(UNIX_EPOCH));
        let mtime = UNIX_EPOCH + Duration::from_secs(1_000);
        let stamp = Stamp::Present {
            len: 1,
            mtime_ns: Duration::from_secs(1_000).as_nanos() as i128,
            ctime_ns: 0,
            inode: 1,
            device: 1,
            watch: None,
        };
        assert!(!stamp.is_trusted(mtime));
        assert!(!stamp.is_trusted(mtime + Duration::from_millis(1_999)));
        assert!(stamp.is_trusted(mtime + Duration::from_secs(2)));
        assert!(stamp.is_trusted(mtime + Duration::from_secs(60)));
        // an mtime in the future (clock skew) is never trusted
        assert!(!stamp.is_trusted(mtime - Duration::from_secs(60)));
        // unless the file is watched: then any write changes the stamp
        let watched = stamp.watched(7);
        assert_ne!(watched, stamp);
        assert_ne!(watched, stamp.watched(8));
        assert!(watched.is_trusted(mtime));
        assert_eq!(Stamp::Missing.watched(7), Stamp::Missing);
    }

    #[test]
    fn content_stamps_follow_the_value_and_are_trusted() {
        let one = Stamp::of_content(b"{\"OPENAI_API_KEY\":\"sk-1\"}");
        assert_eq!(one, Stamp::of_content(b"{\"OPENAI_API_KEY\":\"sk-1\"}"));
        assert_ne!(one, Stamp::of_content(b"{\"OPENAI_API_KEY\":\"sk-2\"}"));
        assert!(one.is_trusted(UNIX_EPOCH));
        assert!(Stamp::Unreadable.is_trusted(UNIX_EPOCH));
    }

    #[test]
    fn fresh_file_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        std::fs::write(&path, b"x").unwrap();
        let stamp = Stamp::of(&path).unwrap();
        assert!(!stamp.is_trusted(SystemTime::now()));
        assert!(stamp.is_trusted(SystemTime::now() + Duration::from_secs(3)));
    }
}
