#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, SystemTime};

use pretty_assertions::assert_eq;

use super::*;

/// Long enough that no test here reaches the periodic re-stat.
const NEVER: Duration = Duration::from_secs(3600);

fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp-test");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A write through a hard link in another directory raises no event in the home, so only a
/// `stat` can see it: an unchanged stamp proves the stamp came from memory.
#[test]
fn a_watched_stamp_comes_from_memory_until_an_event_or_the_bound() {
    let home = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let path = home.path().join("auth.json");
    std::fs::write(&path, b"one").unwrap();
    let link = elsewhere.path().join("link");
    std::fs::hard_link(&path, &link).unwrap();

    let cached = WatchedFile::with_restat_every(path.clone(), NEVER);
    let restated = WatchedFile::with_restat_every(path.clone(), Duration::ZERO);
    let first = cached.stamp().unwrap();
    assert!(
        matches!(first, Stamp::Present { watch: Some(_), .. }),
        "{first:?}"
    );
    assert!(
        first.is_trusted(SystemTime::now()),
        "a young watched file is trusted"
    );
    let before_restated = restated.stamp().unwrap();

    std::fs::write(&link, b"three").unwrap();
    assert_eq!(
        cached.stamp().unwrap(),
        first,
        "no event, within the bound: from memory"
    );
    let after = restated.stamp().unwrap();
    assert_ne!(
        after, before_restated,
        "past the bound: a stat sees the change"
    );
    assert!(matches!(after, Stamp::Present { len: 5, .. }));
}

/// The queue is read by the caller: a change made before the call is in the very next stamp.
#[test]
fn every_change_is_in_the_next_stamp() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("auth.json");
    let file = WatchedFile::with_restat_every(path.clone(), NEVER);
    assert_eq!(file.stamp().unwrap(), Stamp::Missing);
    replace(&path, b"one");
    let one = file.stamp().unwrap();
    assert!(
        matches!(
            one,
            Stamp::Present {
                len: 3,
                watch: Some(_),
                ..
            }
        ),
        "{one:?}"
    );
    assert_eq!(file.stamp().unwrap(), one);
    // an in-place rewrite of the same length within the same timestamp tick
    std::fs::write(&path, b"two").unwrap();
    let two = file.stamp().unwrap();
    assert_ne!(two, one);
    assert_eq!(file.stamp().unwrap(), two);
    // a change of mode only
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_ne!(file.stamp().unwrap(), two);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(file.stamp().unwrap(), Stamp::Missing);
}

/// Where input is reported, only a status poll may skip the queue: a stamp that guards a write or
/// a refresh (taken outside [`as_status_poll`]) sees a change made after the last input, as one
/// taken under the credentials lock must (another process may have rotated the tokens while this
/// one waited for the lock).
#[test]
fn outside_a_status_poll_a_change_after_the_last_input_is_seen() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("auth.json");
    replace(&path, b"one");
    let file = WatchedFile::with_restat_every(path.clone(), NEVER);
    input_arrived_on_this_thread();
    let one = as_status_poll(|| file.stamp()).unwrap();
    assert!(matches!(one, Stamp::Present { len: 3, .. }), "{one:?}");

    replace(&path, b"two!");
    let two = file.stamp().unwrap();
    assert!(
        matches!(two, Stamp::Present { len: 4, .. }),
        "no input since the last read of the queue, yet the change is seen: {two:?}"
    );

    replace(&path, b"three");
    input_arrived_on_this_thread();
    let three = as_status_poll(|| file.stamp()).unwrap();
    assert!(
        matches!(three, Stamp::Present { len: 5, .. }),
        "a status poll after new input sees a change made before it: {three:?}"
    );
}

/// Reading the file, and changes to other names, leave its stamp alone.
#[test]
fn reads_and_other_names_are_not_changes() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("auth.json");
    std::fs::write(&path, b"one").unwrap();
    let file = WatchedFile::with_restat_every(path.clone(), NEVER);
    let other_path = home.path().join("auth.json.refresh-failure");
    let other = WatchedFile::with_restat_every(other_path.clone(), NEVER);
    let stamp = file.stamp().unwrap();
    assert_eq!(other.stamp().unwrap(), Stamp::Missing);
    for _ in 0..3 {
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
    }
    replace(&other_path, b"{}");
    std::fs::write(home.path().join("auth.json.lock"), b"").unwrap();
    assert_ne!(other.stamp().unwrap(), Stamp::Missing);
    assert_eq!(file.stamp().unwrap(), stamp);
}

/// A home moved away (or removed) takes its watch along: from then on every stamp is a `stat`
/// of the path, which names the new directory.
#[test]
fn a_moved_home_falls_back_to_stat() {
    let parent = tempfile::tempdir().unwrap();
    let home = parent.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let path = home.join("auth.json");
    std::fs::write(&path, b"one").unwrap();
    let file = WatchedFile::with_restat_every(path.clone(), NEVER);
    assert!(matches!(
        file.stamp().unwrap(),
        Stamp::Present { watch: Some(_), .. }
    ));
    std::fs::rename(&home, parent.path().join("moved")).unwrap();
    std::fs::create_dir(&home).unwrap();
    std::fs::write(&path, b"other").unwrap();
    assert!(matches!(
        file.stamp().unwrap(),
        Stamp::Present {
            len: 5,
            watch: None,
            ..
        }
    ));
}

#[test]
fn two_spellings_of_one_home_share_one_watch() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("auth.json");
    let plain = WatchedFile::with_restat_every(path.clone(), NEVER);
    let dotted = WatchedFile::with_restat_every(home.path().join(".").join("auth.json"), NEVER);
    assert_eq!(plain.stamp().unwrap(), Stamp::Missing);
    assert_eq!(dotted.stamp().unwrap(), Stamp::Missing);
    replace(&path, b"one");
    assert_ne!(plain.stamp().unwrap(), Stamp::Missing);
    assert_ne!(dotted.stamp().unwrap(), Stamp::Missing);
    drop(plain);
    // the watch stays for the other user
    std::fs::write(&path, b"two").unwrap();
    assert!(matches!(
        dotted.stamp().unwrap(),
        Stamp::Present {
            len: 3,
            watch: Some(_),
            ..
        }
    ));
}

#[test]
fn a_local_file_system_is_watched_and_an_unknown_one_is_not() {
    let home = tempfile::tempdir().unwrap();
    assert_eq!(os::unreliable_fs(home.path()), None);
    assert!(os::unreliable_fs(&home.path().join("missing")).is_some());
}
