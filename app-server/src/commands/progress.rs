//! Waiting for a browser or device-code login. When stderr is a terminal, one line shows a
//! spinner and the elapsed time until the login ends; otherwise nothing is drawn. Ctrl-C keeps
//! its default action (the process ends; nothing was saved, the OS frees the callback port).

use std::time::{Duration, Instant};

use auth_core::{LoginHandle, LoginOutcome};

use super::Console;

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TICK: Duration = Duration::from_millis(100);

/// Waits for `handle`, drawing `"<spinner> <what> (m:ss) — Ctrl-C to cancel"` on
/// `console.err` when `console.progress` is set, and erasing that line at the end.
pub(crate) async fn wait_for_login(
    handle: &LoginHandle,
    console: &mut Console<'_>,
    what: &str,
) -> std::io::Result<LoginOutcome> {
    if !console.progress {
        return Ok(handle.wait().await);
    }
    let started = Instant::now();
    let mut tick = tokio::time::interval(TICK);
    let wait = handle.wait();
    tokio::pin!(wait);
    let mut frame = 0;
    let outcome = loop {
        tokio::select! {
            outcome = &mut wait => break outcome,
            _ = tick.tick() => {
                let elapsed = started.elapsed().as_secs();
                write!(
                    console.err,
                    "\r\x1b[2K{} {what} ({}:{:02}) — Ctrl-C to cancel",
                    FRAMES[frame % FRAMES.len()],
                    elapsed / 60,
                    elapsed % 60
                )?;
                console.err.flush()?;
                frame += 1;
            }
        }
    };
    write!(console.err, "\r\x1b[2K")?;
    console.err.flush()?;
    Ok(outcome)
}
