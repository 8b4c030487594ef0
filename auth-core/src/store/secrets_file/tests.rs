#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::path::PathBuf;

use super::*;
use crate::store::keyring::{KEYRING_SERVICE, KeyringOp, MemoryKeyring, keyring_account};

/// Cheap scrypt for tests (the files Codex writes use about a second of work).
const FAST: u8 = 4;

fn key(value: &str) -> StoredAuth {
    StoredAuth::api_key(Secret::new(value))
}

struct Fixture {
    home: tempfile::TempDir,
    keyring: Arc<MemoryKeyring>,
    store: SecretsFileStore,
}

impl Fixture {
    fn new() -> Self {
        let home = tempfile::tempdir().unwrap();
        let keyring = Arc::new(MemoryKeyring::new());
        let store = SecretsFileStore::new(home.path(), keyring.clone()).with_work_factor(FAST);
        Fixture {
            home,
            keyring,
            store,
        }
    }
    fn file_key(&self) -> Option<String> {
        self.keyring
            .value(SECRETS_KEY_SERVICE, &secrets_key_account(self.home.path()))
    }
    fn decrypted(&self) -> SecretsFile {
        let bytes = std::fs::read(self.store.path()).unwrap();
        SecretsFile::decrypt(&bytes, &Secret::new(self.file_key().unwrap())).unwrap()
    }
    fn auth_json(&self) -> PathBuf {
        self.home.path().join("auth.json")
    }
}

#[test]
fn save_writes_cli_auth_age_with_its_key_in_the_keyring_and_removes_auth_json() {
    let fx = Fixture::new();
    FileStore::new(fx.home.path())
        .save(&key("sk-plain"))
        .unwrap();
    assert_eq!(fx.store.load().unwrap(), None);
    assert_eq!(fx.file_key(), None, "a read creates no key");

    let auth = key("sk-secrets");
    fx.store.save(&auth).unwrap();
    assert_eq!(
        fx.store.path(),
        fx.home.path().join("secrets").join("cli_auth.age")
    );
    let bytes = std::fs::read(fx.store.path()).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    assert!(!String::from_utf8_lossy(&bytes).contains("sk-secrets"));
    assert_eq!(
        fx.decrypted().get(CLI_AUTH_SECRET),
        Some(auth.to_compact_json().as_str())
    );
    assert!(!fx.auth_json().exists());
    assert_eq!(fx.store.load().unwrap(), Some(auth));

    // A second save keeps the key and replaces the value.
    let first_key = fx.file_key().unwrap();
    fx.store.save(&key("sk-second")).unwrap();
    assert_eq!(fx.file_key().unwrap(), first_key);
    assert_eq!(fx.store.load().unwrap(), Some(key("sk-second")));
    assert_eq!(
        std::fs::read_dir(fx.home.path().join("secrets"))
            .unwrap()
            .count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn the_stamp_is_the_files_and_reads_no_keyring() {
    let fx = Fixture::new();
    assert_eq!(fx.store.stamp(), Some(Stamp::Missing));
    fx.store.save(&key("sk-one")).unwrap();
    let one = fx.store.stamp().unwrap();
    assert!(matches!(one, Stamp::Present { .. }));
    fx.keyring.fail(KeyringOp::Get, Some("hung"));
    assert_eq!(fx.store.stamp(), Some(one));
}

#[test]
fn a_file_without_its_key_is_an_actionable_error_and_no_key_is_made() {
    let fx = Fixture::new();
    fx.store.save(&key("sk-x")).unwrap();
    fx.keyring
        .delete(SECRETS_KEY_SERVICE, &secrets_key_account(fx.home.path()))
        .unwrap();
    let error = fx.store.load().unwrap_err().to_string();
    assert!(
        error.contains("its key is missing from the OS keyring"),
        "{error}"
    );
    assert!(
        error.contains("delete the file and sign in again"),
        "{error}"
    );
    assert_eq!(fx.file_key(), None);
}

#[test]
fn a_wrong_key_is_a_decrypt_error() {
    let fx = Fixture::new();
    fx.store.save(&key("sk-x")).unwrap();
    let account = secrets_key_account(fx.home.path());
    fx.keyring
        .set(
            SECRETS_KEY_SERVICE,
            &account,
            generate_passphrase().expose(),
        )
        .unwrap();
    let error = fx.store.load().unwrap_err();
    assert!(matches!(error, StoreError::SecretsFile { .. }), "{error:?}");
    assert!(error.to_string().contains("cannot decrypt it"), "{error}");
}

#[test]
fn a_failed_key_write_stores_nothing_and_says_what_to_do() {
    let fx = Fixture::new();
    FileStore::new(fx.home.path()).save(&key("sk-old")).unwrap();
    fx.keyring
        .fail(KeyringOp::Set, Some("the OS keyring is not reachable"));
    let error = fx.store.save(&key("sk-new")).unwrap_err().to_string();
    assert!(
        error.contains("cannot store its new key in the OS keyring: the OS keyring is not reachable. Nothing was stored"),
        "{error}"
    );
    assert!(!error.contains("sk-new"));
    assert!(!fx.store.path().exists());
    assert!(
        !fx.home.path().join("secrets").exists()
            || std::fs::read_dir(fx.home.path().join("secrets"))
                .unwrap()
                .count()
                == 0
    );
    assert_eq!(
        FileStore::new(fx.home.path()).load().unwrap(),
        Some(key("sk-old"))
    );
}

#[test]
fn delete_removes_every_copy() {
    let fx = Fixture::new();
    fx.store.save(&key("sk-secrets")).unwrap();
    let account = keyring_account(fx.home.path());
    fx.keyring
        .set(
            KEYRING_SERVICE,
            &account,
            &key("sk-direct").to_compact_json(),
        )
        .unwrap();
    fx.keyring.plant_local_copy(
        KEYRING_SERVICE,
        &account,
        &key("sk-keyutils").to_compact_json(),
    );
    FileStore::new(fx.home.path())
        .save(&key("sk-file"))
        .unwrap();

    assert!(fx.store.delete().unwrap());
    assert!(!fx.store.path().exists(), "nothing else was in the file");
    assert_eq!(fx.keyring.value(KEYRING_SERVICE, &account), None);
    assert!(!fx.keyring.has_local_copy(KEYRING_SERVICE, &account));
    assert!(!fx.auth_json().exists());
    assert_eq!(fx.store.load().unwrap(), None);
    assert!(!fx.store.delete().unwrap());
}

#[test]
fn delete_keeps_other_secrets_in_the_file() {
    let fx = Fixture::new();
    fx.store.save(&key("sk-secrets")).unwrap();
    let mut file = fx.decrypted();
    file.set("global/OTHER", "kept".to_owned());
    let passphrase = Secret::new(fx.file_key().unwrap());
    std::fs::write(
        fx.store.path(),
        file.encrypt(&passphrase, Some(FAST)).unwrap(),
    )
    .unwrap();
    assert!(fx.store.delete().unwrap());
    let left = fx.decrypted();
    assert_eq!(left.get(CLI_AUTH_SECRET), None);
    assert_eq!(left.get("global/OTHER"), Some("kept"));
}

#[test]
fn delete_removes_a_file_that_cannot_be_decrypted() {
    let fx = Fixture::new();
    fx.store.save(&key("sk-secrets")).unwrap();
    let account = secrets_key_account(fx.home.path());
    fx.keyring
        .set(
            SECRETS_KEY_SERVICE,
            &account,
            generate_passphrase().expose(),
        )
        .unwrap();
    assert!(fx.store.delete().unwrap());
    assert!(!fx.store.path().exists());
}

#[test]
fn the_key_account_is_codexs() {
    assert_eq!(
        secrets_key_account(Path::new("~/.codex")),
        "secrets|940db7b1d0e4eb40"
    );
}

/// `tests/fixtures/secrets/` holds a `cli_auth.age` built as Codex builds it (see the README
/// there): our store reads it with the key from the keyring, at Codex's default work factor.
#[test]
fn reads_a_cli_auth_age_built_as_codex_builds_it() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets");
    let passphrase = std::fs::read_to_string(fixtures.join("passphrase.txt")).unwrap();
    let expected = std::fs::read_to_string(fixtures.join("cli_auth.json")).unwrap();
    let fx = Fixture::new();
    std::fs::create_dir_all(fx.home.path().join("secrets")).unwrap();
    std::fs::copy(fixtures.join("cli_auth.age"), fx.store.path()).unwrap();
    fx.keyring
        .set(
            SECRETS_KEY_SERVICE,
            &secrets_key_account(fx.home.path()),
            passphrase.trim(),
        )
        .unwrap();
    let loaded = fx.store.load().unwrap().expect("credentials");
    assert_eq!(
        loaded,
        crate::auth_json::parse(expected.trim().as_bytes()).unwrap()
    );
}

/// Rebuilds the fixture the way Codex's `codex-secrets` builds `cli_auth.age`: the JSON
/// `{"version":1,"secrets":{"global/CLI_AUTH":<auth JSON>}}` (serde_json, no spaces) encrypted
/// with `age::encrypt` to `age::scrypt::Recipient::new(passphrase)` at age's calibrated work
/// factor. Run with `cargo test -p auth-core regenerate_codex_secrets_fixture -- --ignored`.
#[test]
#[ignore = "rewrites tests/fixtures/secrets/cli_auth.age"]
fn regenerate_codex_secrets_fixture() {
    use std::collections::BTreeMap;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets");
    let passphrase = std::fs::read_to_string(fixtures.join("passphrase.txt")).unwrap();
    let auth = std::fs::read_to_string(fixtures.join("cli_auth.json")).unwrap();
    let secrets = BTreeMap::from([(CLI_AUTH_SECRET.to_owned(), auth.trim().to_owned())]);
    let plaintext =
        serde_json::to_vec(&serde_json::json!({ "version": 1, "secrets": secrets })).unwrap();
    let recipient = age::scrypt::Recipient::new(age::secrecy::SecretString::from(
        passphrase.trim().to_owned(),
    ));
    let ciphertext = age::encrypt(&recipient, &plaintext).unwrap();
    std::fs::write(fixtures.join("cli_auth.age"), ciphertext).unwrap();
}
