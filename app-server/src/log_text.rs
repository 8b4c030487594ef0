//! Client-supplied text in log lines (issue 12 item 18): escaped and cut, so a client cannot
//! forge log lines (newlines, terminal escapes) or flood the log with one huge field.

use std::fmt;

/// The most characters of one client-supplied value that reach a log line.
pub const MAX_LOGGED_CHARS: usize = 64;

/// Displays `text` with control characters, quotes and backslashes escaped (Rust's
/// `escape_debug`) and at most [`MAX_LOGGED_CHARS`] characters, then `…` if cut. Lazy: nothing
/// is formatted unless the log line is written.
pub struct LogText<'a>(pub &'a str);

impl fmt::Display for LogText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(MAX_LOGGED_CHARS) {
            write!(f, "{}", c.escape_debug())?;
        }
        if chars.next().is_some() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl fmt::Debug for LogText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Displays a request id as [`LogText`] does (string ids are the client's text).
pub struct LogId<'a>(pub &'a protocol::RequestId);

impl fmt::Display for LogId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            protocol::RequestId::Integer(i) => write!(f, "{i}"),
            protocol::RequestId::String(s) => write!(f, "{:?}", LogText(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn control_characters_are_escaped_and_long_text_is_cut() {
        assert_eq!(LogText("getAuthStatus").to_string(), "getAuthStatus");
        assert_eq!(
            LogText("x\n2026-12-02T00:00:00Z ERROR forged\u{1b}[2J").to_string(),
            "x\\n2026-12-02T00:00:00Z ERROR forged\\u{1b}[2J"
        );
        let long = "a".repeat(1000);
        assert_eq!(LogText(&long).to_string(), format!("{}…", "a".repeat(64)));
        assert_eq!(format!("{:?}", LogText("q\"")), "\"q\\\"\"");
    }
}
