//! What we accept as one of our files (AUTH.md §10): `auth.json`, `auth.json.refresh-failure` and
//! `config.toml` are read only from a regular file of at most [`MAX_FILE_BYTES`], owned by the
//! user we run as; a symlink is followed only to such a file. Writes replace only such a file (or
//! create a missing one). Anything else (a FIFO, a device, a directory, another user's file) is a
//! clear error, never a hang or an unbounded read.

use std::collections::HashSet;
use std::fs::{Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use parking_lot::Mutex;

/// The largest file we read (1 MiB); a real `auth.json` is a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads `path` whole after checking it (see the module doc); `Ok(None)` when it is missing.
/// The file is opened non-blocking, so a FIFO is refused instead of blocking the caller.
pub fn read_checked(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let meta = file.metadata()?;
    check_ours(&meta)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    (&mut file)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(Some(bytes))
}

/// Checks an existing write target (after symlinks were followed): a regular file of ours.
pub fn check_write_target(meta: &Metadata) -> io::Result<()> {
    check_ours(meta)
}

/// A regular file owned by the effective user.
fn check_ours(meta: &Metadata) -> io::Result<()> {
    let kind = file_kind(meta);
    if kind != "regular file" {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file (it is a {kind}); refusing to use it"),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "owned by another user (uid {}, we are uid {me}); refusing to use it",
                    meta.uid()
                ),
            ));
        }
    }
    Ok(())
}

fn too_large() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than the {MAX_FILE_BYTES}-byte limit; refusing to read it"),
    )
}

fn file_kind(meta: &Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_file() {
        return "regular file";
    }
    if ft.is_dir() {
        return "directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "FIFO";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "device";
        }
        if ft.is_socket() {
            return "socket";
        }
    }
    "special file"
}

/// The paths the "writable by others" warning was logged for in this process.
static WARNED_WRITABLE: LazyLock<Mutex<HashSet<PathBuf>>> =
    LazyLock::new(|| Mutex::new(HashSet::new()));

/// Warns once per path and process when `path` (the home or a credential file) is group- or
/// world-writable, as OpenSSH's StrictModes would: another user could replace the credentials.
pub fn warn_if_writable_by_others(path: &Path) {
    if is_writable_by_others(path) && WARNED_WRITABLE.lock().insert(path.to_path_buf()) {
        tracing::warn!(target: "auth_core", path = %path.display(),
            "writable by other users, who could replace the credentials; consider `chmod go-w`");
    }
}

#[cfg(unix)]
pub(crate) fn is_writable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o022 != 0)
}

#[cfg(not(unix))]
pub(crate) fn is_writable_by_others(_path: &Path) -> bool {
    false
}

#[cfg(all(test, unix))]
#[path = "safe_file_tests.rs"]
mod tests;
