//! Which refresh tokens the fake issuer has issued and which it has seen spent: in memory, or
//! also in a file that every issuer pointed at it shares (the demo's persistent home), so tokens
//! issued by one demo process are accepted, once, by the next.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::atomic_write::write_atomic;

/// What spending a refresh token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spend {
    /// The token was live and is spent now.
    Accepted,
    /// The token was spent before.
    Reused,
    /// The token was never issued here (or was revoked unseen).
    Unknown,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Tokens {
    live: BTreeSet<String>,
    spent: BTreeSet<String>,
}

/// The refresh-token ledger. With a file, every operation re-reads it first and replaces it
/// atomically after a change, so several issuer processes see one ledger.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    tokens: Tokens,
    file: Option<PathBuf>,
}

impl Ledger {
    /// A ledger kept in `file` (created at the first change; an unreadable file counts as empty).
    pub(super) fn in_file(file: PathBuf) -> Ledger {
        Ledger {
            tokens: Tokens::default(),
            file: Some(file),
        }
    }

    /// Records `token` as issued and live.
    pub(super) fn issue(&mut self, token: &str) {
        self.change(|tokens| {
            tokens.live.insert(token.to_owned());
        });
    }

    /// Spends `token` if it is live.
    pub(super) fn spend(&mut self, token: &str) -> Spend {
        let mut outcome = Spend::Unknown;
        self.change(|tokens| {
            outcome = if tokens.live.remove(token) {
                tokens.spent.insert(token.to_owned());
                Spend::Accepted
            } else if tokens.spent.contains(token) {
                Spend::Reused
            } else {
                Spend::Unknown
            };
        });
        outcome
    }

    fn change(&mut self, change: impl FnOnce(&mut Tokens)) {
        let Some(file) = &self.file else {
            change(&mut self.tokens);
            return;
        };
        self.tokens = std::fs::read(file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        change(&mut self.tokens);
        let saved = serde_json::to_vec(&self.tokens)
            .map_err(std::io::Error::other)
            .and_then(|bytes| write_atomic(file, &bytes));
        if let Err(err) = saved {
            tracing::warn!(file = %file.display(), error = %err, "fake issuer: could not save its ledger");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_token_issued_through_one_file_ledger_is_spent_once_through_another() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ledger.json");
        let mut first = Ledger::in_file(file.clone());
        first.issue("rt-1");
        let mut second = Ledger::in_file(file.clone());
        assert_eq!(second.spend("rt-1"), Spend::Accepted);
        assert_eq!(first.spend("rt-1"), Spend::Reused);
        assert_eq!(Ledger::in_file(file).spend("rt-2"), Spend::Unknown);
    }

    #[test]
    fn an_in_memory_ledger_rotates_strictly() {
        let mut ledger = Ledger::default();
        ledger.issue("rt-1");
        assert_eq!(ledger.spend("rt-1"), Spend::Accepted);
        assert_eq!(ledger.spend("rt-1"), Spend::Reused);
        assert_eq!(ledger.spend("rt-x"), Spend::Unknown);
    }
}
