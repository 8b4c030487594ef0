//! Change notification for the files of a `CODEX_HOME` (AUTH.md §4.2): the directory is watched
//! (inotify on Linux; the files are replaced by rename, so the directory, not the file), events
//! are counted per file name, and [`WatchedFile::stamp`] answers from its last `stat` while the
//! count has not moved.
//!
//! The polling thread reads the watch's queue itself, without blocking, before it trusts the
//! count: the kernel queues an event before the writer's `write` or `rename` returns, so a change
//! made before a request was sent is always counted when that request is answered. In a server
//! that reports each read of client input ([`input_arrived`]), a status poll
//! ([`as_status_poll`]) reads the queue once per such read rather than once per stamp: a change
//! made before a request was sent is queued before the read that brought the request, so it is
//! still counted when that request is answered. Every other stamp (a refresh, a save, a re-read
//! under the credentials lock) reads the queue, so it sees every change made before it. (A watcher
//! thread that counts in the background, as the `notify` crate's does, is a few microseconds to
//! milliseconds behind; on this loaded machine that served stale credentials in 2 of 50 runs of
//! `credentials_rewritten_by_another_process_are_served_next`.)
//!
//! Where notification is unavailable or unreliable (another OS, a network or FUSE file system, a
//! watch that failed, the directory removed or moved) every stamp is a fresh `stat`, as without a
//! watcher. Either way a stamp is at most [`RESTAT_EVERY`] old.

use std::cell::Cell;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::Stamp;

#[cfg(target_os = "linux")]
#[path = "watch_inotify.rs"]
mod os;

#[cfg(not(target_os = "linux"))]
mod os {
    //! No watcher here: FSEvents coalesces and delivers late, and ReadDirectoryChangesW is not
    //! tested on this project's machines; every stamp is a `stat`.
    use std::path::Path;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    #[derive(Debug)]
    pub(super) struct DirLease;

    impl DirLease {
        pub(super) fn acquire(_dir: &Path) -> Option<DirLease> {
            None
        }
        pub(super) fn counter(&self, _name: &std::ffi::OsStr) -> Arc<AtomicU64> {
            Arc::default()
        }
        pub(super) fn refresh(&self) -> bool {
            false
        }
    }
}

/// The longest a stamp is served from memory: a later call `stat`s again even if no event came.
/// It bounds what the watch cannot see (a `CODEX_HOME` symlink pointed elsewhere, a file system
/// that drops events) and costs at most one `stat` per second per file however fast clients
/// poll; clients that poll once a second or slower see a `stat` per poll, as without a watcher,
/// but no re-read of a young file.
pub const RESTAT_EVERY: Duration = Duration::from_secs(1);

/// Reads of client input reported by [`input_arrived`]; meaningful once [`REPORTED`] is set.
static INPUT_EPOCH: AtomicU64 = AtomicU64::new(1);
/// Whether the process reports its input: until then every stamp reads the watch's queue.
static REPORTED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Whether this thread is inside [`as_status_poll`].
    static STATUS_POLL: Cell<bool> = const { Cell::new(false) };
    /// Tests: this thread counts as reporting its input, whatever the rest of the process does.
    #[cfg(test)]
    static REPORTED_HERE: Cell<bool> = const { Cell::new(false) };
}

/// Tells the change watch that input from a client was just read: a request in it may follow a
/// change of the credential files, so the next status-poll stamp reads the watch's queue. A
/// transport calls it after every read of client bytes (not per message). From the first call
/// on, status polls read the queue only after new input, which makes them free of system calls
/// in the steady state; in a process that never calls it every stamp reads the queue.
pub fn input_arrived() {
    INPUT_EPOCH.fetch_add(1, Ordering::AcqRel);
    REPORTED.store(true, Ordering::Release);
}

/// Tests: [`input_arrived`] for this thread only, so other tests of the process keep reading the
/// queue at every stamp.
#[cfg(test)]
pub(crate) fn input_arrived_on_this_thread() {
    INPUT_EPOCH.fetch_add(1, Ordering::AcqRel);
    REPORTED_HERE.set(true);
}

fn reported() -> bool {
    #[cfg(test)]
    if REPORTED_HERE.get() {
        return true;
    }
    REPORTED.load(Ordering::Acquire)
}

/// Runs `f` as a status poll: its stamps may skip reading the watch's queue when no client input
/// arrived since it was last read. Only the answer to a status request may: a stamp that guards
/// a write or a refresh must see every change made before it, not only those made before the
/// last input.
pub(crate) fn as_status_poll<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            STATUS_POLL.set(self.0);
        }
    }
    let _reset = Reset(STATUS_POLL.replace(true));
    f()
}

/// The input epoch read now, and whether a drain already made at this epoch may stand (a
/// status poll in a process that reports its input); `None` where input is not reported.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn input_epoch() -> Option<(u64, bool)> {
    reported().then(|| (INPUT_EPOCH.load(Ordering::Acquire), STATUS_POLL.get()))
}

/// How long a directory that could not be watched waits before the next attempt.
const REARM_EVERY: Duration = Duration::from_secs(5);

/// One file of a home directory, stamped with the help of the directory's watch.
#[derive(Debug, Clone)]
pub(crate) struct WatchedFile {
    path: PathBuf,
    /// False: never watched, every stamp is a `stat` (tests of that path).
    watch: bool,
    restat_every: Duration,
    cache: Arc<Mutex<Cache>>,
}

#[derive(Debug, Default)]
struct Cache {
    lease: Option<os::DirLease>,
    counter: Option<Arc<AtomicU64>>,
    last_arm: Option<Instant>,
    /// The event count read before the last `stat`, that `stat`'s stamp, and when it was taken.
    last: Option<(u64, Stamp, Instant)>,
}

impl WatchedFile {
    /// `path`, a file directly inside its home directory.
    pub(crate) fn new(path: PathBuf) -> WatchedFile {
        WatchedFile {
            path,
            watch: true,
            restat_every: RESTAT_EVERY,
            cache: Arc::default(),
        }
    }

    /// The same, never watched: every stamp is a `stat`, as where notification is unavailable.
    #[cfg(test)]
    pub(crate) fn unwatched(path: PathBuf) -> WatchedFile {
        WatchedFile {
            watch: false,
            ..WatchedFile::new(path)
        }
    }

    /// The same with another bound than [`RESTAT_EVERY`] (tests).
    #[cfg(test)]
    pub(crate) fn with_restat_every(path: PathBuf, restat_every: Duration) -> WatchedFile {
        WatchedFile {
            restat_every,
            ..WatchedFile::new(path)
        }
    }

    /// The file's stamp: the last one while the watch has counted no event for this name since
    /// and it is younger than [`RESTAT_EVERY`]; otherwise a `stat`. A watched stamp carries the
    /// event count read *before* its `stat`, so any write the `stat` (or the read that follows)
    /// may have missed, and any later one, changes the next stamp (AUTH.md §4.2).
    pub(crate) fn stamp(&self) -> io::Result<Stamp> {
        let mut cache = self.cache.lock();
        let now = Instant::now();
        self.arm(&mut cache, now);
        let watched = match (&cache.lease, &cache.counter) {
            // Reads the queue first: every change made before this call (before the last input,
            // where input is reported) is counted by then.
            (Some(lease), Some(counter)) if lease.refresh() => {
                Some(counter.load(Ordering::Acquire))
            }
            _ => None,
        };
        let Some(events) = watched else {
            cache.last = None;
            return Stamp::of(&self.path);
        };
        if let Some((seen, stamp, at)) = cache.last
            && seen == events
            && now.duration_since(at) < self.restat_every
        {
            return Ok(stamp);
        }
        let stamp = Stamp::of(&self.path)?.watched(events);
        cache.last = Some((events, stamp, now));
        Ok(stamp)
    }

    /// Starts watching the directory the first time, and again [`REARM_EVERY`] after a failure.
    fn arm(&self, cache: &mut Cache, now: Instant) {
        if !self.watch
            || cache.lease.is_some()
            || cache.last_arm.is_some_and(|t| now - t < REARM_EVERY)
        {
            return;
        }
        cache.last_arm = Some(now);
        let (Some(dir), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return;
        };
        let Some(lease) = os::DirLease::acquire(dir) else {
            return;
        };
        cache.counter = Some(lease.counter(name));
        cache.lease = Some(lease);
    }
}

#[cfg(all(test, target_os = "linux"))]
#[path = "watch_tests.rs"]
mod tests;
