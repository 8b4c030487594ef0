#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

fn mkfifo(path: &Path) {
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        path,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
}

#[test]
fn a_regular_file_of_ours_is_read_and_a_missing_one_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    assert_eq!(read_checked(&path).unwrap(), None);
    std::fs::write(&path, b"{}").unwrap();
    assert_eq!(read_checked(&path).unwrap(), Some(b"{}".to_vec()));
}

/// Issue 12 item 8: a FIFO at `auth.json` froze the server (the open blocked for a writer).
#[test]
fn a_fifo_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    mkfifo(&path);
    let started = Instant::now();
    let err = read_checked(&path).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        err.to_string()
            .contains("not a regular file (it is a FIFO)"),
        "{err}"
    );
}

/// Issue 12 items 4 and 8: devices (here through a symlink, as `auth.json -> /dev/zero`),
/// directories and oversized files are refused with a clear error, without reading them.
#[test]
fn devices_directories_and_big_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("auth.json");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let err = read_checked(&link).unwrap_err();
    assert!(err.to_string().contains("it is a device"), "{err}");

    let sub = dir.path().join("config.toml");
    std::fs::create_dir(&sub).unwrap();
    let err = read_checked(&sub).unwrap_err();
    assert!(err.to_string().contains("it is a directory"), "{err}");

    let big = dir.path().join("big");
    std::fs::write(&big, vec![b' '; (MAX_FILE_BYTES + 1) as usize]).unwrap();
    let err = read_checked(&big).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("1048576-byte limit"), "{err}");
    std::fs::write(&big, vec![b' '; MAX_FILE_BYTES as usize]).unwrap();
    assert_eq!(
        read_checked(&big).unwrap().unwrap().len(),
        MAX_FILE_BYTES as usize
    );
}

#[test]
fn a_symlink_to_a_regular_file_of_ours_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.json");
    std::fs::write(&real, b"[1]").unwrap();
    let link = dir.path().join("auth.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(read_checked(&link).unwrap(), Some(b"[1]".to_vec()));
}

/// Issue 12 item 4: credentials planted by another user are refused. As root the file is
/// chowned to another uid; as another user, a root-owned file (`/etc/hostname`-like) is used.
#[test]
fn a_file_owned_by_another_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    std::fs::write(&path, b"{}").unwrap();
    let me = rustix::process::geteuid().as_raw();
    let other = if me == 0 { 4242 } else { 0 };
    if me == 0 {
        std::os::unix::fs::chown(&path, Some(other), None).unwrap();
    } else {
        // Not root: a file we cannot chown; any root-owned regular file stands in.
        let err = read_checked(Path::new("/etc/passwd")).unwrap_err();
        assert!(
            err.to_string().contains("owned by another user (uid 0"),
            "{err}"
        );
        return;
    }
    let err = read_checked(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    assert!(
        err.to_string()
            .contains(&format!("owned by another user (uid {other}")),
        "{err}"
    );
}

#[test]
fn group_or_world_writable_paths_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(!is_writable_by_others(dir.path()));
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    assert!(is_writable_by_others(dir.path()));
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o720)).unwrap();
    assert!(is_writable_by_others(dir.path()));
}
