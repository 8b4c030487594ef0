//! The Linux watch: one inotify instance per process, one watch per home directory in use,
//! shared by every [`super::WatchedFile`] of that directory, and read without blocking by the
//! thread that asks for a stamp (no watcher thread); a status poll reads it once per
//! [`super::input_arrived`] when a transport reports its input.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io::Errno;

/// What counts as a change: creation, writes, the close after writing, renames to and from,
/// deletion, attribute changes. Opening and reading are not (our own reads raise nothing), and
/// the directory's own removal or move ends the watch's usefulness.
fn mask() -> WatchFlags {
    WatchFlags::CREATE
        | WatchFlags::MODIFY
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::DELETE
        | WatchFlags::ATTRIB
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF
        | WatchFlags::ONLYDIR
}

/// The event counts of one watched directory.
#[derive(Debug, Default)]
struct DirState {
    /// False once the directory itself was removed or moved, or its watch ended.
    healthy: AtomicBool,
    counters: RwLock<HashMap<OsString, Arc<AtomicU64>>>,
}

impl DirState {
    fn counter(&self, name: &OsStr) -> Arc<AtomicU64> {
        if let Some(c) = self.counters.read().get(name) {
            return Arc::clone(c);
        }
        Arc::clone(self.counters.write().entry(name.to_owned()).or_default())
    }

    fn bump(&self, name: &OsStr) {
        if let Some(c) = self.counters.read().get(name) {
            c.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn bump_all(&self) {
        for c in self.counters.read().values() {
            c.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// The process's inotify instance and its watches.
struct Hub {
    fd: OwnedFd,
    watches: Mutex<Watches>,
    /// The [`super::input_epoch`] read before the last complete drain.
    drained_at: AtomicU64,
}

#[derive(Default)]
struct Watches {
    by_wd: HashMap<i32, (Arc<DirState>, usize)>,
    by_dir: HashMap<PathBuf, i32>,
}

fn hub() -> Option<&'static Hub> {
    static HUB: OnceLock<Option<Hub>> = OnceLock::new();
    HUB.get_or_init(|| {
        match inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC) {
            Ok(fd) => Some(Hub {
                fd,
                watches: Mutex::default(),
                drained_at: AtomicU64::new(0),
            }),
            Err(err) => {
                tracing::debug!(target: "auth_core", error = %err, "no inotify instance; stamps are stat calls");
                None
            }
        }
    })
    .as_ref()
}

impl Hub {
    /// Reads every queued event without blocking and counts it (one `read` when none is
    /// queued), unless this is a status poll and no input arrived since the last drain (see
    /// [`super::as_status_poll`]). False if the queue cannot be read: then no count can be
    /// trusted.
    fn drain(&self) -> bool {
        let epoch = super::input_epoch();
        if let Some((epoch, true)) = epoch
            && epoch == self.drained_at.load(Ordering::Acquire)
        {
            return true;
        }
        let drained = self.drain_now();
        if let (true, Some((epoch, _))) = (drained, epoch) {
            self.drained_at.fetch_max(epoch, Ordering::AcqRel);
        }
        drained
    }

    fn drain_now(&self) -> bool {
        let watches = self.watches.lock();
        let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
        let mut reader = inotify::Reader::new(&self.fd, &mut buf);
        loop {
            let event = match reader.next() {
                Ok(event) => event,
                Err(Errno::AGAIN) => return true,
                Err(Errno::INTR) => continue,
                Err(err) => {
                    tracing::debug!(target: "auth_core", error = %err, "inotify read failed; stamps are stat calls");
                    for (state, _) in watches.by_wd.values() {
                        state.healthy.store(false, Ordering::Release);
                    }
                    return false;
                }
            };
            let flags = event.events();
            if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                // Events were lost: any name may have changed.
                for (state, _) in watches.by_wd.values() {
                    state.bump_all();
                }
                continue;
            }
            let Some((state, _)) = watches.by_wd.get(&event.wd()) else {
                continue;
            };
            if flags.intersects(
                ReadFlags::DELETE_SELF
                    | ReadFlags::MOVE_SELF
                    | ReadFlags::IGNORED
                    | ReadFlags::UNMOUNT,
            ) {
                // The home itself went away or moved: the watch no longer sees its path.
                state.healthy.store(false, Ordering::Release);
                state.bump_all();
                continue;
            }
            if let Some(name) = event.file_name() {
                state.bump(OsStr::from_bytes(name.to_bytes()));
            }
        }
    }
}

/// One user's share of a directory's watch; the last one to drop removes the watch.
#[derive(Debug)]
pub(super) struct DirLease {
    wd: i32,
    state: Arc<DirState>,
}

impl DirLease {
    /// Watches `dir` (shared with every other user of the same directory), or `None` where
    /// notification cannot be relied on.
    pub(super) fn acquire(dir: &Path) -> Option<DirLease> {
        // One entry per directory however it is spelled (the kernel gives one watch per inode).
        let dir = std::fs::canonicalize(dir).ok()?;
        if let Some(kind) = unreliable_fs(&dir) {
            tracing::debug!(target: "auth_core", dir = %dir.display(), fs = kind,
                "not watching a network or FUSE file system; stamps are stat calls");
            return None;
        }
        let hub = hub()?;
        let mut watches = hub.watches.lock();
        if let Some(&wd) = watches.by_dir.get(&dir)
            && let Some((state, users)) = watches.by_wd.get_mut(&wd)
            && state.healthy.load(Ordering::Acquire)
        {
            *users += 1;
            return Some(DirLease {
                wd,
                state: Arc::clone(state),
            });
        }
        let wd = match inotify::add_watch(&hub.fd, &dir, mask()) {
            Ok(wd) => wd,
            Err(err) => {
                tracing::debug!(target: "auth_core", dir = %dir.display(), error = %err,
                    "could not watch the home directory; stamps are stat calls");
                return None;
            }
        };
        watches.by_dir.insert(dir, wd);
        let (state, users) = watches.by_wd.entry(wd).or_insert_with(|| {
            let state = DirState::default();
            state.healthy.store(true, Ordering::Release);
            (Arc::new(state), 0)
        });
        *users += 1;
        Some(DirLease {
            wd,
            state: Arc::clone(state),
        })
    }

    /// The event count of `name` in this directory.
    pub(super) fn counter(&self, name: &OsStr) -> Arc<AtomicU64> {
        self.state.counter(name)
    }

    /// Counts what is queued; true while this directory's counts can be trusted.
    pub(super) fn refresh(&self) -> bool {
        hub().is_some_and(Hub::drain) && self.state.healthy.load(Ordering::Acquire)
    }
}

impl Drop for DirLease {
    fn drop(&mut self) {
        let Some(hub) = hub() else {
            return;
        };
        let mut watches = hub.watches.lock();
        let last = match watches.by_wd.get_mut(&self.wd) {
            Some((_, users)) if *users > 1 => {
                *users -= 1;
                false
            }
            Some(_) => true,
            None => false,
        };
        if last {
            watches.by_wd.remove(&self.wd);
            watches.by_dir.retain(|_, wd| *wd != self.wd);
            // Fails harmlessly when the directory is already gone (its watch went with it).
            let _ = inotify::remove_watch(&hub.fd, self.wd);
        }
    }
}

/// The kind of file system at `dir` when change notification cannot be trusted there: a network
/// file system (changes made by other machines raise no event here) or FUSE (events depend on the
/// implementation).
pub(super) fn unreliable_fs(dir: &Path) -> Option<&'static str> {
    const KINDS: &[(u64, &str)] = &[
        (0x6969, "nfs"),
        (0x517B, "smb"),
        (0xFF53_4D42, "cifs"),
        (0xFE53_4D42, "smb2"),
        (0x6573_5546, "fuse"),
        (0x0102_1997, "9p"),
        (0x00C3_6400, "ceph"),
        (0x5346_414F, "afs"),
        (0x6B41_4653, "afs"),
        (0x7375_7245, "coda"),
        (0x0BD0_0BD0, "lustre"),
        (0x4750_4653, "gpfs"),
        (0x6A65_6A62, "glusterfs"),
    ];
    let Ok(fs) = rustix::fs::statfs(dir) else {
        return Some("unknown (statfs failed)");
    };
    // f_type is signed on some targets: compare the low 32 bits, as the magic numbers are.
    let magic = (fs.f_type as u64) & 0xFFFF_FFFF;
    KINDS.iter().find(|(m, _)| *m == magic).map(|(_, k)| *k)
}
