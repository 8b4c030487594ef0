//! Process-wide hardening applied first thing in `main` (issue 12 item 14): a core dump of this
//! process would hold API keys and tokens, so none is ever written.

/// Sets the core-file size limit to 0 (soft and hard, so no child can raise it again) and, on
/// Linux, marks the process not dumpable (which also covers a piped `core_pattern`, where the
/// size limit does not apply, and keeps other processes of the user from attaching to it).
/// Failures are returned for the caller to log; the server runs anyway.
#[cfg(unix)]
pub fn disable_core_dumps() -> std::io::Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    #[cfg(target_os = "linux")]
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    Ok(())
}

/// Core dumps are not configured per process on this platform.
#[cfg(not(unix))]
pub fn disable_core_dumps() -> std::io::Result<()> {
    Ok(())
}
