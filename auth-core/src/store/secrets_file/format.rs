//! The format of the Codex CLI's encrypted secrets files (`$CODEX_HOME/secrets/*.age`), as its
//! `codex-secrets` crate writes them: an age file encrypted to an scrypt passphrase recipient,
//! whose plaintext is the JSON `{"version":1,"secrets":{"<scope>/<NAME>":"<value>",...}}`. The
//! passphrase is 32 random bytes in standard base64, kept in the OS keyring.

use std::collections::BTreeMap;

use age::secrecy::SecretString;
use base64::Engine as _;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// The newest plaintext version the Codex CLI writes and we read.
pub const SECRETS_VERSION: u8 = 1;

/// The key of the CLI credentials inside `cli_auth.age` (scope `global`, name `CLI_AUTH`).
pub const CLI_AUTH_SECRET: &str = "global/CLI_AUTH";

/// Why a secrets file cannot be read or written. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The age layer failed (wrong key, damaged file, work factor too high).
    #[error("cannot decrypt it ({0}); its key in the OS keyring does not match")]
    Decrypt(String),
    /// Encryption failed.
    #[error("cannot encrypt it ({0})")]
    Encrypt(String),
    /// The plaintext is not the secrets JSON.
    #[error("its content is not a secrets file (JSON error at line {line}, column {column})")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Written by a newer Codex.
    #[error("it has version {0}, newer than the supported version {SECRETS_VERSION}")]
    TooNew(u8),
}

/// The decrypted content of a secrets file: secret names to values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretsFile {
    version: u8,
    secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for SecretsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsFile")
            .field("version", &self.version)
            .field("names", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretsFile {
    /// An empty file of the current version.
    pub fn new() -> Self {
        SecretsFile {
            version: SECRETS_VERSION,
            secrets: BTreeMap::new(),
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.secrets.get(name).map(String::as_str)
    }

    /// Sets `name` to `value`.
    pub fn set(&mut self, name: &str, value: String) {
        self.secrets.insert(name.to_owned(), value);
    }

    /// Removes `name`; true if it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        self.secrets.remove(name).is_some()
    }

    /// Whether no secret is left.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Decrypts and parses a file. Version 0 reads as the current version, as in Codex.
    pub fn decrypt(ciphertext: &[u8], passphrase: &Secret) -> Result<SecretsFile, FormatError> {
        let identity = age::scrypt::Identity::new(secret_string(passphrase));
        let plaintext = age::decrypt(&identity, ciphertext)
            .map_err(|err| FormatError::Decrypt(err.to_string()))?;
        let mut file: SecretsFile =
            serde_json::from_slice(&plaintext).map_err(|err| FormatError::Json {
                line: err.line(),
                column: err.column(),
            })?;
        if file.version == 0 {
            file.version = SECRETS_VERSION;
        }
        if file.version > SECRETS_VERSION {
            return Err(FormatError::TooNew(file.version));
        }
        Ok(file)
    }

    /// Serializes and encrypts the file. `work_factor` (scrypt log2 N) overrides age's
    /// calibration, which targets about a second of work as Codex's files do (tests only).
    pub fn encrypt(
        &self,
        passphrase: &Secret,
        work_factor: Option<u8>,
    ) -> Result<Vec<u8>, FormatError> {
        let plaintext =
            serde_json::to_vec(self).map_err(|err| FormatError::Encrypt(err.to_string()))?;
        let mut recipient = age::scrypt::Recipient::new(secret_string(passphrase));
        if let Some(log_n) = work_factor {
            recipient.set_work_factor(log_n);
        }
        age::encrypt(&recipient, &plaintext).map_err(|err| FormatError::Encrypt(err.to_string()))
    }
}

/// A new file key: 32 random bytes in standard base64, as Codex generates it.
pub fn generate_passphrase() -> Secret {
    let mut bytes = [0_u8; 32];
    // The thread RNG is a CSPRNG seeded from the OS (as the PKCE verifier's).
    rand::rng().fill_bytes(&mut bytes);
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    bytes.fill(0);
    Secret::new(encoded)
}

fn secret_string(passphrase: &Secret) -> SecretString {
    SecretString::from(passphrase.expose().to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use super::*;

    /// Cheap scrypt for tests (real files use about a second of work).
    const FAST: Option<u8> = Some(4);

    #[test]
    fn round_trip_with_the_same_passphrase_only() {
        let passphrase = generate_passphrase();
        let mut file = SecretsFile::new();
        file.set(CLI_AUTH_SECRET, "{\"OPENAI_API_KEY\":\"sk-x\"}".to_owned());
        let bytes = file.encrypt(&passphrase, FAST).unwrap();
        assert!(bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "));
        assert_eq!(SecretsFile::decrypt(&bytes, &passphrase).unwrap(), file);
        let wrong = SecretsFile::decrypt(&bytes, &generate_passphrase()).unwrap_err();
        assert!(matches!(wrong, FormatError::Decrypt(_)), "{wrong:?}");
    }

    #[test]
    fn the_plaintext_is_codex_json() {
        let mut file = SecretsFile::new();
        file.set(CLI_AUTH_SECRET, "v".to_owned());
        assert_eq!(
            serde_json::to_string(&file).unwrap(),
            r#"{"version":1,"secrets":{"global/CLI_AUTH":"v"}}"#
        );
    }

    #[test]
    fn versions_zero_and_newer() {
        let passphrase = generate_passphrase();
        let encrypt = |json: &str| {
            let recipient = {
                let mut r = age::scrypt::Recipient::new(secret_string(&passphrase));
                r.set_work_factor(4);
                r
            };
            age::encrypt(&recipient, json.as_bytes()).unwrap()
        };
        let zero = SecretsFile::decrypt(&encrypt(r#"{"version":0,"secrets":{}}"#), &passphrase);
        assert_eq!(zero.unwrap(), SecretsFile::new());
        let newer = SecretsFile::decrypt(&encrypt(r#"{"version":2,"secrets":{}}"#), &passphrase);
        assert!(matches!(newer, Err(FormatError::TooNew(2))), "{newer:?}");
        let junk = SecretsFile::decrypt(&encrypt("not json"), &passphrase);
        assert!(matches!(junk, Err(FormatError::Json { .. })), "{junk:?}");
    }

    #[test]
    fn passphrases_are_32_bytes_of_standard_base64() {
        let one = generate_passphrase();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(one.expose())
            .unwrap();
        assert_eq!(bytes.len(), 32);
        assert_ne!(one.expose(), generate_passphrase().expose());
    }

    #[test]
    fn debug_names_secrets_without_values() {
        let mut file = SecretsFile::new();
        file.set(CLI_AUTH_SECRET, "sk-hidden".to_owned());
        let debug = format!("{file:?}");
        assert!(
            debug.contains("global/CLI_AUTH") && !debug.contains("sk-hidden"),
            "{debug}"
        );
    }
}
