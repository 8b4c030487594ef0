//! `app-server fake-issuer`: the offline OAuth issuer of `--demo` as a process of its own, so
//! several servers (or other tools) can sign in and refresh against one local issuer.

use std::net::{Ipv4Addr, SocketAddr};

use auth_core::fake_issuer::FakeIssuer;

use super::{CommandError, Console, Exit};

/// Serves the fake issuer on `127.0.0.1:port` (0 picks a free port) until Ctrl-C, after printing
/// its URL and the settings that point a server at it.
pub(super) async fn serve(port: u16, console: &mut Console<'_>) -> Result<Exit, CommandError> {
    let issuer = FakeIssuer::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    writeln!(console.out, "{}", issuer.url())?;
    writeln!(
        console.err,
        "fake issuer listening on {url}; point servers at it with\n  \
         --login-issuer {url} and CODEX_REFRESH_TOKEN_URL_OVERRIDE={token} \
         CODEX_REVOKE_TOKEN_URL_OVERRIDE={revoke}\nCtrl-C stops it.",
        url = issuer.url(),
        token = issuer.token_url(),
        revoke = issuer.revoke_url(),
    )?;
    console.out.flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(Exit::Success)
}
