//! Entries split into parts: some Codex CLI builds store a value longer than their limit as
//! `CODEX_CHUNKED:<count>:<first part>` under the account, and part `i` under `<account>:<i>`
//! (for 1 ≤ i < count). We read and delete such entries; we write whole values, which every
//! Codex build reads.

use super::account::KEYRING_SERVICE;
use super::backend::{KeyringBackend, KeyringError};

/// The header of a split value.
pub const CHUNKED_PREFIX: &str = "CODEX_CHUNKED:";

/// The account of part `index` of a split value.
fn part_account(account: &str, index: usize) -> String {
    format!("{account}:{index}")
}

/// The number of parts of a split value and its first part; `None` for a whole value.
fn split_header(value: &str) -> Option<(&str, &str)> {
    value.strip_prefix(CHUNKED_PREFIX)?.split_once(':')
}

/// Reads the entry of `account`, joining a split value.
pub fn read(backend: &dyn KeyringBackend, account: &str) -> Result<String, KeyringError> {
    let value = backend.get(KEYRING_SERVICE, account)?;
    let Some((count, first)) = split_header(&value) else {
        return Ok(value);
    };
    let count: usize = count.parse().map_err(|_| {
        KeyringError::Failure(
            "the keyring entry is split into parts but its part count is unreadable; remove it \
             with the OS keyring manager"
                .to_owned(),
        )
    })?;
    let mut joined = first.to_owned();
    for index in 1..count {
        match backend.get(KEYRING_SERVICE, &part_account(account, index)) {
            Ok(part) => joined.push_str(&part),
            Err(KeyringError::NoEntry) => {
                return Err(KeyringError::Failure(format!(
                    "part {index} of the {count} parts of the keyring entry is missing; sign in \
                     again"
                )));
            }
            Err(err) => return Err(err),
        }
    }
    Ok(joined)
}

/// Deletes the entry of `account` and, for a split value, its other parts.
pub fn delete(backend: &dyn KeyringBackend, account: &str) -> Result<(), KeyringError> {
    if let Ok(value) = backend.get(KEYRING_SERVICE, account)
        && let Some(count) = split_header(&value).and_then(|(count, _)| count.parse::<usize>().ok())
    {
        for index in 1..count {
            // A part already gone is fine; the header is what readers look at.
            let _ = backend.delete(KEYRING_SERVICE, &part_account(account, index));
        }
    }
    backend.delete(KEYRING_SERVICE, account)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use super::*;
    use crate::store::keyring::MemoryKeyring;

    /// Splits `value` as those Codex builds do (1,200 characters per part).
    fn codex_split(keyring: &MemoryKeyring, account: &str, value: &str) {
        let chars: Vec<char> = value.chars().collect();
        let parts: Vec<String> = chars.chunks(1200).map(|c| c.iter().collect()).collect();
        let header = format!("{CHUNKED_PREFIX}{}:{}", parts.len(), parts[0]);
        keyring.set(KEYRING_SERVICE, account, &header).unwrap();
        for (index, part) in parts.iter().enumerate().skip(1) {
            keyring
                .set(KEYRING_SERVICE, &part_account(account, index), part)
                .unwrap();
        }
    }

    #[test]
    fn a_split_value_is_joined_and_deleted_with_its_parts() {
        let keyring = MemoryKeyring::new();
        let value = format!("{{\"OPENAI_API_KEY\":\"sk-{}\"}}", "x".repeat(3000));
        codex_split(&keyring, "cli|a", &value);
        assert!(keyring.value(KEYRING_SERVICE, "cli|a:2").is_some());
        assert_eq!(read(&keyring, "cli|a").unwrap(), value);
        delete(&keyring, "cli|a").unwrap();
        for account in ["cli|a", "cli|a:1", "cli|a:2"] {
            assert_eq!(keyring.value(KEYRING_SERVICE, account), None, "{account}");
        }
        assert_eq!(read(&keyring, "cli|a"), Err(KeyringError::NoEntry));
    }

    #[test]
    fn whole_values_and_broken_splits() {
        let keyring = MemoryKeyring::new();
        keyring.set(KEYRING_SERVICE, "cli|w", "{\"a\":1}").unwrap();
        assert_eq!(read(&keyring, "cli|w").unwrap(), "{\"a\":1}");
        keyring
            .set(KEYRING_SERVICE, "cli|b", "CODEX_CHUNKED:3:{\"a\"")
            .unwrap();
        keyring.set(KEYRING_SERVICE, "cli|b:1", ":1").unwrap();
        let missing = read(&keyring, "cli|b").unwrap_err().to_string();
        assert!(missing.contains("part 2 of the 3 parts"), "{missing}");
        keyring
            .set(KEYRING_SERVICE, "cli|c", "CODEX_CHUNKED:x:{}")
            .unwrap();
        assert!(read(&keyring, "cli|c").is_err());
    }
}
