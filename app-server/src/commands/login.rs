//! `login` (browser, `--device-code`, `--with-api-key`) and `logout`.

use auth_core::AuthManager;
use auth_core::AuthMode;

use super::progress::wait_for_login;
use super::{CommandError, Console, Exit};
use crate::cli::LoginArgs;

/// Signs in with the flow `args` selects and saves the credentials.
pub async fn login(
    auth: &AuthManager,
    args: &LoginArgs,
    console: &mut Console<'_>,
) -> Result<Exit, CommandError> {
    if args.with_api_key {
        return api_key(auth, console).await;
    }
    let (handle, waiting_for) = if args.device_code {
        let (handle, code) = match auth.start_device_login().await {
            Ok(started) => started,
            Err(err) => return failed(console, &err),
        };
        writeln!(
            console.err,
            "To sign in, open this page on any device:\n\n    {}\n\nand enter this one-time \
             code (it expires in 15 minutes; never share it):\n\n    {}\n",
            code.verification_url, code.user_code
        )?;

        (handle, "Waiting for the code to be approved")
    } else {
        let (handle, url) = match auth.start_browser_login().await {
            Ok(started) => started,
            Err(err) => return failed(console, &err),
        };
        let opened = console.browser && !args.no_browser && webbrowser::open(&url).is_ok();
        let how = if opened {
            "A browser window was opened to sign in. If it did not appear, open this URL in a \
             browser on this machine:"
        } else {
            "Open this URL in a browser on this machine to sign in:"
        };
        writeln!(
            console.err,
            "{how}\n\n    {url}\n\nOn a machine without a browser, use `app-server login \
             --device-auth` instead.\n"
        )?;
        (handle, "Waiting for the sign-in to finish in the browser")
    };
    console.err.flush()?;
    match wait_for_login(&handle, console, waiting_for).await? {
        Ok(_) => {
            signed_in(auth, console)?;
            Ok(Exit::Success)
        }
        Err(err) => failed(console, &err),
    }
}

/// `login --with-api-key`: the key is all of the input, trimmed.
async fn api_key(auth: &AuthManager, console: &mut Console<'_>) -> Result<Exit, CommandError> {
    if console.stdin_is_terminal {
        writeln!(
            console.err,
            "error: refusing to read an API key typed at a terminal (it would be echoed); pipe it \
             instead: `printenv OPENAI_API_KEY | app-server login --with-api-key`"
        )?;
        return Ok(Exit::Failure);
    }
    let mut key = String::new();
    console.stdin.read_to_string(&mut key)?;
    let key = key.trim();
    if key.is_empty() {
        writeln!(
            console.err,
            "error: no API key on stdin; try `printenv OPENAI_API_KEY | app-server login --with-api-key`"
        )?;
        return Ok(Exit::Failure);
    }
    match auth.login_with_api_key(key).await {
        Ok(()) => {
            signed_in(auth, console)?;
            Ok(Exit::Success)
        }
        Err(err) => failed(console, &err),
    }
}

/// Signs out; succeeds whether or not anything was stored.
pub async fn logout(auth: &AuthManager, console: &mut Console<'_>) -> Result<Exit, CommandError> {
    match auth.logout().await {
        Ok(true) => writeln!(
            console.out,
            "Signed out; the stored credentials were removed."
        )?,
        Ok(false) => writeln!(console.out, "Not signed in; nothing to remove.")?,
        Err(err) => return failed(console, &err),
    }
    Ok(Exit::Success)
}

/// Reports the credentials just saved.
fn signed_in(auth: &AuthManager, console: &mut Console<'_>) -> std::io::Result<()> {
    let view = auth.current_view();
    match view.mode() {
        Some(AuthMode::ApiKey) => writeln!(console.out, "Signed in with an API key."),
        Some(AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens) => writeln!(
            console.out,
            "Signed in with ChatGPT as {} ({} plan).",
            view.email().unwrap_or("an unknown email"),
            view.plan().map_or("unknown", |p| p.as_str())
        ),
        None => writeln!(console.out, "Signed in."),
    }
}

fn failed(console: &mut Console<'_>, err: &dyn std::fmt::Display) -> Result<Exit, CommandError> {
    writeln!(console.err, "error: {err}")?;
    Ok(Exit::Failure)
}
