//! Crash-safe file replacement (AUTH.md §3, "File").
//!
//! The new content goes to an exclusively created `0600` temporary file (tempfile's
//! `NamedTempFile`) in the target's own directory, is `fsync`ed, then persisted (renamed) over the
//! target; finally the directory is `fsync`ed. A failure before the rename removes the temporary
//! file (the `NamedTempFile` drops) and leaves the target untouched. A
//! symlinked target is written through to its resolved file, so the link survives, but only when
//! that file is a regular file of ours: a link to a device, a FIFO, a directory, another user's
//! file or nothing at all is refused (issue 12 item 4; `crate::safe_file`).

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// Symlink hops followed before giving up (the kernel's own limit is 40).
const MAX_SYMLINK_HOPS: usize = 40;

/// Atomically replaces `path` with `bytes` (mode `0600`), creating its directory (`0700`) if
/// missing.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, |_| Ok(()))
}

/// [`write_atomic`] with a hook that runs after the temporary file is written and synced and
/// before the rename (the fault-injection seam for tests).
fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    before_rename: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let target = resolve_symlinks(path)?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    create_dir_private(&dir)?;
    let mut file = create_temp(&dir, name)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    before_rename(file.path())?;
    persist_over(file, &target)?;
    sync_dir(&dir)
}

/// Follows a chain of symlinks to the final path. The final file must be a regular file of ours;
/// it may be missing only when `path` itself is not a symlink.
fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for hop in 0..MAX_SYMLINK_HOPS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(meta) => {
                crate::safe_file::check_write_target(&meta)?;
                return Ok(current);
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound && hop == 0 => return Ok(current),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a symlink to a missing file; refusing to create its target",
                ));
            }
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "too many levels of symbolic links",
    ))
}

/// Whether `dir` can take a new file: creates and removes a temporary file, as a save would.
pub fn probe_writable(dir: &Path) -> io::Result<()> {
    create_temp(dir, OsStr::new("auth.json"))?.close()
}

/// Temporary files older than this are leftovers of a crashed writer: a live one renames its
/// temporary file within milliseconds.
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(30);

/// Removes the leftovers of crashed writers in `dir` (issue 12 item 12): our temporary files
/// (`.<name>.tmp-*` for each of `names`) that are regular files of ours and older than `age`.
/// They may hold secrets. Returns how many were removed; errors are logged, never fatal.
pub fn remove_stale_temps(dir: &Path, names: &[&str], age: std::time::Duration) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let prefixes: Vec<String> = names.iter().map(|n| format!(".{n}.tmp-")).collect();
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !prefixes.iter().any(|p| name.starts_with(p.as_str())) {
            continue;
        }
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|elapsed| elapsed >= age);
        if !old || crate::safe_file::check_write_target(&meta).is_err() {
            continue;
        }
        match fs::remove_file(entry.path()) {
            Ok(()) => removed += 1,
            Err(err) => tracing::warn!(target: "auth_core", file = name, error = %err,
                "could not remove a stale temporary file"),
        }
    }
    if removed > 0 {
        tracing::info!(target: "auth_core", removed, dir = %dir.display(),
            "removed temporary files left by a crashed writer");
    }
    removed
}

/// Creates `dir` and missing ancestors with mode `0700`; existing modes are left alone.
pub(crate) fn create_dir_private(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Exclusively creates `.<name>.tmp-<random>` in `dir` with mode `0600`; it is removed when
/// dropped unless persisted.
fn create_temp(dir: &Path, name: &OsStr) -> io::Result<NamedTempFile> {
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".tmp-");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).rand_bytes(12);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    builder.tempfile_in(dir)
}

#[cfg(not(windows))]
fn persist_over(file: NamedTempFile, to: &Path) -> io::Result<()> {
    file.persist(to).map(drop).map_err(|err| err.error)
}

/// On Windows the rename fails while another process holds the target open: retry briefly.
#[cfg(windows)]
fn persist_over(mut file: NamedTempFile, to: &Path) -> io::Result<()> {
    let mut attempt = 0;
    loop {
        match file.persist(to) {
            Err(err) if attempt < 5 && err.error.kind() == io::ErrorKind::PermissionDenied => {
                attempt += 1;
                file = err.file;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other.map(drop).map_err(|err| err.error),
        }
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::Unsupported | io::ErrorKind::InvalidInput
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect()
    }

    /// §12 item 10.
    #[test]
    fn replaces_a_0644_file_with_a_0600_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"new content").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new content");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    /// §12 item 10: a missing home is created `0700`.
    #[test]
    fn creates_missing_directories_0700() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("a").join("codex-home");
        let path = home.join("auth.json");
        write_atomic(&path, b"{}").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{}");
        assert_eq!(mode(&home), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&path), 0o600);
    }

    /// §12 item 11: a fault between write and rename leaves the target byte-identical.
    #[test]
    fn fault_before_rename_leaves_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        fs::write(&path, b"original bytes").unwrap();
        let mut seen_tmp = None;
        let err = write_atomic_with(&path, b"replacement", |tmp| {
            // the temporary file is complete, private and in the same directory
            assert_eq!(fs::read(tmp).unwrap(), b"replacement");
            assert_eq!(mode(tmp), 0o600);
            assert_eq!(tmp.parent(), Some(dir.path()));
            let name = tmp.file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.starts_with(".auth.json.tmp-"), "{name}");
            seen_tmp = Some(tmp.to_path_buf());
            Err(io::Error::other("injected"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "injected");
        assert_eq!(fs::read(&path).unwrap(), b"original bytes");
        assert!(!seen_tmp.unwrap().exists());
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn symlink_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("real");
        fs::create_dir(&real_dir).unwrap();
        let real = real_dir.join("store.json");
        fs::write(&real, b"old").unwrap();
        let link = dir.path().join("auth.json");
        std::os::unix::fs::symlink("real/store.json", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert_eq!(fs::read(&link).unwrap(), b"new");
        assert_eq!(leftovers(&real_dir), Vec::<String>::new());
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    /// Issue 12 item 4: a symlink is followed only to an existing regular file of ours.
    #[test]
    fn dangling_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("auth.json");
        std::os::unix::fs::symlink(dir.path().join("target.json"), &link).unwrap();
        let err = write_atomic(&link, b"x").unwrap_err();
        assert!(
            err.to_string().contains("symlink to a missing file"),
            "{err}"
        );
        assert!(!dir.path().join("target.json").exists());
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    /// Issue 12 item 4: `auth.json -> /dev/null` replaced the device with a 0600 file holding
    /// the key. Now devices, FIFOs and directories are refused and left as they are.
    #[test]
    fn symlinks_to_devices_fifos_and_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("auth.json");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        let err = write_atomic(&link, b"secret").unwrap_err();
        assert!(err.to_string().contains("it is a device"), "{err}");
        use std::os::unix::fs::FileTypeExt;
        assert!(
            fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );

        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let err = write_atomic(&fifo, b"secret").unwrap_err();
        assert!(err.to_string().contains("it is a FIFO"), "{err}");

        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(&sub, &link).unwrap();
        let err = write_atomic(&link, b"secret").unwrap_err();
        assert!(err.to_string().contains("it is a directory"), "{err}");
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    /// Issue 12 item 4: another user's file is not replaced (as root: chowned to another uid).
    #[test]
    fn another_users_file_is_not_replaced() {
        if rustix::process::geteuid().as_raw() != 0 {
            return; // only root can hand a file to another user; CI runs as root
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        fs::write(&path, b"theirs").unwrap();
        std::os::unix::fs::chown(&path, Some(4242), None).unwrap();
        let err = write_atomic(&path, b"ours").unwrap_err();
        assert!(err.to_string().contains("owned by another user"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"theirs");
    }

    /// Issue 12 item 12: leftovers of crashed writers (which may hold secrets) are removed;
    /// young ones (a live writer's) and files that are not ours are kept.
    #[test]
    fn stale_temporary_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
        let make = |name: &str, aged: bool| {
            let path = dir.path().join(name);
            fs::write(&path, b"secret").unwrap();
            if aged {
                File::options()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_modified(old)
                    .unwrap();
            }
            path
        };
        let stale_auth = make(".auth.json.tmp-AbCdEf123456", true);
        let stale_record = make(".auth.json.refresh-failure.tmp-AbCdEf123456", true);
        let young = make(".auth.json.tmp-young0000000", false);
        let foreign = make(".other.tmp-AbCdEf123456", true);
        let auth = make("auth.json", true);
        let removed = remove_stale_temps(
            dir.path(),
            &["auth.json", "auth.json.refresh-failure"],
            STALE_TEMP_AGE,
        );
        assert_eq!(removed, 2);
        assert!(!stale_auth.exists() && !stale_record.exists());
        assert!(young.exists() && foreign.exists() && auth.exists());
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        assert!(write_atomic(&a, b"x").is_err());
    }
}
