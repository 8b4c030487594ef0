//! The keyring backend: one secret string per (service, account), through the `keyring` crate in
//! production ([`SystemKeyring`]) and in memory in tests
//! ([`MemoryKeyring`](super::memory::MemoryKeyring)).

/// The outcome of a failed backend call. Messages never contain the stored value and say what
/// the user can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// There is no entry for this service and account.
    #[error("no keyring entry")]
    NoEntry,
    /// Any other failure, described without secrets.
    #[error("{0}")]
    Failure(String),
}

/// A keyring: get, set and delete one secret string per (service, account).
pub trait KeyringBackend: Send + Sync + std::fmt::Debug + 'static {
    /// Reads the value; [`KeyringError::NoEntry`] when there is none.
    fn get(&self, service: &str, account: &str) -> Result<String, KeyringError>;
    /// Creates or replaces the value.
    fn set(&self, service: &str, account: &str, value: &str) -> Result<(), KeyringError>;
    /// Removes the entry; [`KeyringError::NoEntry`] when there is none.
    fn delete(&self, service: &str, account: &str) -> Result<(), KeyringError>;
    /// Removes copies of the entry kept outside the keyring proper; true if one was removed. On
    /// Linux: a kernel keyutils entry (the session keyring), which earlier builds of this server
    /// wrote and a failed write could leave behind. Elsewhere there is none.
    fn forget_local_copies(&self, _service: &str, _account: &str) -> Result<bool, KeyringError> {
        Ok(false)
    }
}

/// What to check when the OS keyring cannot be reached, per platform.
#[cfg_attr(not(feature = "keyring"), allow(dead_code))]
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
pub const UNREACHABLE_HINT: &str = "a Secret Service (gnome-keyring or KWallet) must be running \
and unlocked on the D-Bus session bus (DBUS_SESSION_BUS_ADDRESS)";
/// What to check when the OS keyring cannot be reached, per platform.
#[cfg_attr(not(feature = "keyring"), allow(dead_code))]
#[cfg(target_os = "macos")]
pub const UNREACHABLE_HINT: &str = "the login Keychain must be unlocked";
/// What to check when the OS keyring cannot be reached, per platform.
#[cfg_attr(not(feature = "keyring"), allow(dead_code))]
#[cfg(target_os = "windows")]
pub const UNREACHABLE_HINT: &str = "the Windows Credential Manager must be available to this user";
/// What to check when the OS keyring cannot be reached, per platform.
#[cfg_attr(not(feature = "keyring"), allow(dead_code))]
#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    target_os = "windows"
)))]
pub const UNREACHABLE_HINT: &str = "this platform has no supported OS keyring";

/// The OS keyring through the `keyring` crate, with the backends the Codex CLI enables: Secret
/// Service on Linux (the crate's `linux-native-async-persistent` store) and the BSDs, Keychain on
/// Apple platforms, Credential Manager on Windows.
#[cfg(feature = "keyring")]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemKeyring;

#[cfg(feature = "keyring")]
impl KeyringBackend for SystemKeyring {
    fn get(&self, service: &str, account: &str) -> Result<String, KeyringError> {
        entry(service, account)?
            .get_password()
            .map_err(from_keyring_error)
    }

    fn set(&self, service: &str, account: &str, value: &str) -> Result<(), KeyringError> {
        entry(service, account)?
            .set_password(value)
            .map_err(|err| match err {
                // A write that finds "no entry" could not create one.
                keyring::Error::NoEntry => KeyringError::Failure(format!(
                    "the OS keyring did not create the entry; {UNREACHABLE_HINT}"
                )),
                other => from_keyring_error(other),
            })
    }

    fn delete(&self, service: &str, account: &str) -> Result<(), KeyringError> {
        entry(service, account)?
            .delete_credential()
            .map_err(from_keyring_error)
    }

    #[cfg(target_os = "linux")]
    fn forget_local_copies(&self, service: &str, account: &str) -> Result<bool, KeyringError> {
        use keyring::credential::CredentialApi;
        let copy = keyring::keyutils::KeyutilsCredential::new_with_target(None, service, account)
            .map_err(from_keyring_error)?;
        match copy.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(err) => Err(from_keyring_error(err)),
        }
    }
}

#[cfg(feature = "keyring")]
fn entry(service: &str, account: &str) -> Result<keyring::Entry, KeyringError> {
    keyring::Entry::new(service, account).map_err(from_keyring_error)
}

/// Maps a `keyring` crate error to words a user can act on; never includes stored data.
#[cfg(feature = "keyring")]
pub(crate) fn from_keyring_error(err: keyring::Error) -> KeyringError {
    let failure = KeyringError::Failure;
    match err {
        keyring::Error::NoEntry => KeyringError::NoEntry,
        keyring::Error::BadEncoding(_) => failure(
            "the keyring entry does not hold UTF-8 text; remove it with the OS keyring manager"
                .to_owned(),
        ),
        keyring::Error::Ambiguous(items) => failure(format!(
            "{} keyring items match the entry; remove the duplicates with the OS keyring manager",
            items.len()
        )),
        keyring::Error::NoStorageAccess(cause) => failure(format!(
            "the OS keyring is not reachable ({cause}); {UNREACHABLE_HINT}"
        )),
        keyring::Error::PlatformFailure(cause) => failure(format!(
            "the OS keyring failed ({cause}); {UNREACHABLE_HINT}"
        )),
        keyring::Error::TooLong(what, limit) => failure(format!(
            "the {what} is longer than the OS keyring accepts ({limit})"
        )),
        keyring::Error::Invalid(what, why) => {
            failure(format!("the keyring rejected the {what}: {why}"))
        }
        other => failure(other.to_string()),
    }
}

#[cfg(all(test, feature = "keyring"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use keyring::mock::MockCredential;

    use super::*;

    /// The `keyring` crate's own mock credential, with injected errors, through our mapping.
    #[test]
    fn keyring_crate_errors_map_to_actionable_words_without_data() {
        let entry = keyring::Entry::new_with_credential(Box::new(MockCredential::default()));
        assert_eq!(
            entry.get_password().map_err(from_keyring_error),
            Err(KeyringError::NoEntry)
        );
        let mock: &MockCredential = entry.get_credential().downcast_ref().unwrap();
        mock.set_error(keyring::Error::BadEncoding(b"sk-secret".to_vec()));
        let mapped = entry
            .get_password()
            .map_err(from_keyring_error)
            .unwrap_err();
        assert!(!mapped.to_string().contains("sk-secret"), "{mapped}");
        assert!(mapped.to_string().contains("not hold UTF-8"), "{mapped}");
        mock.set_error(keyring::Error::NoStorageAccess("locked".into()));
        let mapped = entry.set_password("sk-secret").map_err(from_keyring_error);
        assert_eq!(
            mapped,
            Err(KeyringError::Failure(format!(
                "the OS keyring is not reachable (locked); {UNREACHABLE_HINT}"
            )))
        );
        entry.set_password("sk-secret").unwrap();
        assert_eq!(entry.get_password().unwrap(), "sk-secret");
    }
}
