//! `--demo`: an embedded offline issuer and a persistent demo home, so a newcomer can walk through
//! sign-in, status, a client's poll, refresh and logout in separate commands with no network.
//! Compiled only with the `demo` cargo feature (on by default); the production path never calls
//! into it unless `--demo` is given.

use std::io::Write;
use std::path::{Path, PathBuf};

use auth_core::ManagerOptions;
use auth_core::fake_issuer::FakeIssuer;

use crate::startup::{StartupError, create_private_dir};

/// The demo issuer's refresh-token ledger, inside the demo's `CODEX_HOME`.
const LEDGER: &str = "demo-issuer-ledger.json";

/// The demo issuer's device-code poll interval: the code approves itself on the second poll.
const DEVICE_INTERVAL_SECS: &str = "2";

/// A running demo: the embedded issuer, kept alive for the process.
pub struct Demo {
    issuer: FakeIssuer,
}

impl Demo {
    /// Starts the issuer on `codex_home`'s ledger: every `--demo` process accepts, once, the
    /// refresh tokens an earlier one issued, so a sign-in survives between commands.
    pub async fn start(codex_home: &Path) -> Result<Demo, StartupError> {
        let issuer = FakeIssuer::start_with_ledger(codex_home.join(LEDGER))
            .await
            .map_err(StartupError::Demo)?;
        issuer.set_device_interval(Some(DEVICE_INTERVAL_SECS));
        Ok(Demo { issuer })
    }

    /// Points sign-in, refresh and revoke at the issuer, and says so on stderr (a banner, not a
    /// log line).
    pub fn apply(&self, opts: &mut ManagerOptions, login_port: Option<u16>) {
        opts.issuer = self.issuer.url();
        opts.refresh_url = Some(self.issuer.token_url());
        opts.revoke_url = Some(self.issuer.revoke_url());
        opts.callback_port = login_port.unwrap_or(0);
        let _ = writeln!(
            std::io::stderr(),
            "demo: signing in against an embedded local issuer at {} (it approves device codes \
             by itself after a few seconds); credentials in {}",
            self.issuer.url(),
            opts.codex_home.display()
        );
    }
}

/// The persistent home of `--demo` without `CODEX_HOME`: `$XDG_STATE_HOME/app-server/demo`, else
/// `~/.local/state/app-server/demo`, created with mode 0700. It outlives the process so that a
/// demo sign-in is still there for the next command; delete the directory to start over.
pub fn home() -> Result<PathBuf, StartupError> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|h| h.join(".local").join("state")))
        .ok_or(StartupError::Config(auth_core::ConfigError::NoHomeDir))?;
    let home = state.join("app-server").join("demo");
    create_private_dir(&home).map_err(StartupError::Demo)?;
    Ok(home)
}
