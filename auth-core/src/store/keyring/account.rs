//! Keyring names shared with the Codex CLI: the service of the credentials entry and the accounts
//! derived from the Codex home.

use std::path::Path;

use sha2::{Digest, Sha256};

/// The keyring service of the credentials entry, shared with the Codex CLI.
pub const KEYRING_SERVICE: &str = "Codex Auth";

/// The keyring account of the credentials entry of a Codex home: `cli|` + [`home_digest`].
pub fn keyring_account(codex_home: &Path) -> String {
    format!("cli|{}", home_digest(codex_home))
}

/// The first 16 hex digits of the SHA-256 of the home's path string, exactly as the Codex CLI
/// computes it: the resolved path (`canonicalize`) when the home exists, else the path as given
/// (a home that does not exist yet is hashed unresolved, so a relative or dotted path gives
/// another account than the same home once it exists, in Codex as here).
pub fn home_digest(codex_home: &Path) -> String {
    let path = std::fs::canonicalize(codex_home).unwrap_or_else(|_| codex_home.to_path_buf());
    let digest = Sha256::digest(path.to_string_lossy().as_bytes());
    digest
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use super::*;

    fn hashed(prefix: &str, path: &Path) -> String {
        let digest = Sha256::digest(path.to_string_lossy().as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{prefix}{}", &hex[..16])
    }

    #[test]
    fn account_of_the_unresolvable_home_matches_the_spec_vector() {
        assert_eq!(
            keyring_account(Path::new("~/.codex")),
            "cli|940db7b1d0e4eb40"
        );
    }

    #[test]
    fn an_existing_home_hashes_its_resolved_path() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(dir.path().join("x")).unwrap();
        let dotted = dir.path().join("x").join("..");
        assert_eq!(keyring_account(&dotted), hashed("cli|", &real));
    }

    /// Codex falls back to the path as given, not to a resolved parent: a home that does not
    /// exist yet is hashed exactly as spelled.
    #[test]
    fn a_missing_home_hashes_the_path_as_given_like_codex() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("x")).unwrap();
        let missing = dir.path().join("x").join("..").join(".codex");
        assert_eq!(keyring_account(&missing), hashed("cli|", &missing));
        let real_parent = std::fs::canonicalize(dir.path()).unwrap();
        assert_ne!(
            keyring_account(&missing),
            hashed("cli|", &real_parent.join(".codex")),
            "no resolved-parent rule"
        );
        // Once created, the same home is hashed resolved.
        std::fs::create_dir(dir.path().join(".codex")).unwrap();
        assert_eq!(
            keyring_account(&missing),
            hashed("cli|", &real_parent.join(".codex"))
        );
    }
}
