//! CPU pinning for the benchmarks (issue 16): the load generator on one core, the server on
//! another, so the two never fight for a core and the scheduler cannot move them around (unpinned
//! runs on two cores swung 4x from run to run).
//!
//! Affinity is per thread and a child inherits the mask of the thread that spawns it: `main`
//! pins itself to the client core first (every thread it starts inherits that), and spawns each
//! server with its own mask switched to the server core for the duration of the spawn.

use std::fmt;

use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

/// Which core runs what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinning {
    pub client: usize,
    pub server: usize,
}

impl fmt::Display for Pinning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "load generator on CPU {}, server on CPU {} (sched_setaffinity)",
            self.client, self.server
        )
    }
}

/// The first two CPUs this process may run on, unless there is only one or `BENCH_PIN=off`.
pub fn plan() -> Option<Pinning> {
    if std::env::var("BENCH_PIN").is_ok_and(|v| v == "off") {
        return None;
    }
    let allowed = sched_getaffinity(None).ok()?;
    let mut cpus = (0..CpuSet::MAX_CPU).filter(|&c| allowed.is_set(c));
    let client = cpus.next()?;
    let server = cpus.next()?;
    Some(Pinning { client, server })
}

/// Pins the calling thread (and the threads and children it starts from now on) to `cpu`.
pub fn pin_current(cpu: usize) {
    let mut set = CpuSet::new();
    set.set(cpu);
    sched_setaffinity(None, &set).expect("sched_setaffinity");
}

/// Runs `spawn` with the calling thread pinned to the server core, then back on the client core.
pub fn spawning_on<T>(pinning: Option<Pinning>, spawn: impl FnOnce() -> T) -> T {
    let Some(p) = pinning else {
        return spawn();
    };
    pin_current(p.server);
    let out = spawn();
    pin_current(p.client);
    out
}

/// Describes the pinning for the bench's header.
pub fn describe(pinning: Option<Pinning>) -> String {
    match pinning {
        Some(p) => p.to_string(),
        None if std::env::var("BENCH_PIN").is_ok_and(|v| v == "off") => {
            "none (BENCH_PIN=off)".to_owned()
        }
        None => "none (fewer than two CPUs allowed)".to_owned(),
    }
}
