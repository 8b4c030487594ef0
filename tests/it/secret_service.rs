//! The keyring stores against a real Secret Service (gnome-keyring on a private D-Bus session
//! bus, started by `tests/setup/secret-service.sh`), with the Codex CLI played by `secret-tool`
//! (the attributes the `keyring` crate's Secret Service backend writes) and the reboot and the
//! container played with `keyctl` and a missing bus.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::Secret;
use auth_core::{
    CLI_AUTH_SECRET, SECRETS_KEY_SERVICE, SecretsFile, SecretsFileStore, secrets_key_account,
};
use auth_core::{CredentialStore, Stamp};
use auth_core::{KEYRING_SERVICE, KeyringStore, SystemKeyring, keyring_account};
use auth_core::{StoredAuth, parse_auth_json};
use pretty_assertions::assert_eq;

use crate::support::launcher::{BIN, clean_command, inherit};

/// Fails (never skips) without the Secret Service of the setup script.
fn require_secret_service() {
    assert!(
        std::env::var_os("APP_SERVER_SECRET_SERVICE").is_some(),
        "no Secret Service for the keyring tests: run through tests/run.sh \
         (tests/setup/secret-service.sh starts one on a private D-Bus session bus)"
    );
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run a helper command")
}

/// `secret-tool lookup` of the credentials entry of `account`.
fn lookup(service: &str, account: &str) -> Option<String> {
    let out =
        run(Command::new("secret-tool").args(["lookup", "service", service, "username", account]));
    let value = String::from_utf8(out.stdout).unwrap();
    (out.status.success() && !value.is_empty()).then_some(value)
}

/// The item's attributes as `secret-tool search` prints them.
fn attributes(account: &str) -> String {
    let out = run(Command::new("secret-tool").args([
        "search",
        "--all",
        "service",
        KEYRING_SERVICE,
        "username",
        account,
    ]));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Writes the entry as the Codex CLI does: the `keyring` crate's Secret Service item (service,
/// username, target `default`, application `rust-keyring`) in the default collection.
fn codex_writes(account: &str, value: &str) {
    let mut child = Command::new("secret-tool")
        .args([
            "store",
            &format!("--label={account}@{KEYRING_SERVICE}:default (keyring v3.6.3)"),
            "service",
            KEYRING_SERVICE,
            "username",
            account,
            "target",
            "default",
            "application",
            "rust-keyring",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(value.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "secret-tool store");
}

/// The kernel keyutils description the `keyring` crate gives the entry.
fn keyutils_description(account: &str) -> String {
    format!("keyring-rs:{account}@{KEYRING_SERVICE}")
}

fn keyutils_has(account: &str) -> bool {
    run(Command::new("keyctl").args(["search", "@s", "user", &keyutils_description(account)]))
        .status
        .success()
}

/// A keyutils copy in the session keyring, as a keyutils-only build (or a failed write) left.
fn keyutils_plant(account: &str, value: &str) {
    let mut child = Command::new("keyctl")
        .args(["padd", "user", &keyutils_description(account), "@s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(value.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "keyctl padd");
    assert!(keyutils_has(account));
}

fn key(value: &str) -> StoredAuth {
    StoredAuth::api_key(Secret::new(value))
}

fn store(home: &Path) -> KeyringStore {
    KeyringStore::new(home, Arc::new(SystemKeyring)).with_timeout(Duration::from_secs(10))
}

/// The Codex serialization of a ChatGPT credential (about 4 KB), shared with the secrets-file
/// fixture.
fn codex_chatgpt_json() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../auth-core/tests/fixtures/secrets/cli_auth.json");
    std::fs::read_to_string(path).unwrap().trim().to_owned()
}

/// The Secret Service's session bus (tests/setup/secret-service.sh), passed on to the binary.
const DBUS: &str = "DBUS_SESSION_BUS_ADDRESS";

/// `app-server --credentials-store keyring <args>` on `home`, nothing inherited that could leak
/// but the session bus of the Secret Service.
fn app(home: &Path, args: &[&str]) -> Command {
    let mut command = crate::support::launcher::app_server_std();
    inherit(&mut command, DBUS)
        .args(["--credentials-store", "keyring"])
        .args(args)
        .env("CODEX_HOME", home)
        .env("HOME", home)
        .stdin(Stdio::null());
    command
}

#[test]
fn our_entry_is_the_secret_service_item_codex_reads() {
    require_secret_service();
    let home = tempfile::tempdir().unwrap();
    let account = keyring_account(home.path());
    let store = store(home.path());
    let auth = key("sk-ss-round-trip");
    store.save(&auth).unwrap();
    assert_eq!(
        lookup(KEYRING_SERVICE, &account),
        Some(auth.to_compact_json())
    );
    let attributes = attributes(&account);
    for expected in [
        "attribute.service = Codex Auth",
        &format!("attribute.username = {account}"),
        "attribute.target = default",
        "attribute.application = rust-keyring",
    ] {
        assert!(attributes.contains(expected), "{expected} in {attributes}");
    }
    assert_eq!(store.load().unwrap(), Some(auth));
    assert!(!keyutils_has(&account), "nothing of ours lives in keyutils");
    assert!(store.delete().unwrap());
    assert_eq!(lookup(KEYRING_SERVICE, &account), None);
    assert_eq!(store.load().unwrap(), None);
}

#[test]
fn an_entry_written_by_codex_is_read_and_its_rewrite_seen() {
    require_secret_service();
    let home = tempfile::tempdir().unwrap();
    let account = keyring_account(home.path());
    let json = codex_chatgpt_json();
    codex_writes(&account, &json);
    let store = store(home.path()).with_reread(Duration::ZERO);
    assert_eq!(
        store.load().unwrap(),
        Some(parse_auth_json(json.as_bytes()).unwrap())
    );
    // Codex refreshes: the rewrite shows in the stamp after a background read, then in a load.
    let before = store.stamp().unwrap();
    let rewritten = key("sk-codex-rewrote").to_compact_json();
    codex_writes(&account, &rewritten);
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.stamp() == Some(before) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(store.stamp(), Some(Stamp::of_content(rewritten.as_bytes())));
    assert_eq!(store.load().unwrap(), Some(key("sk-codex-rewrote")));
    assert!(store.delete().unwrap());
}

/// The reboot case: the credentials live only in the Secret Service (no keyutils copy to lose)
/// and a process started in a fresh, empty session keyring reads them.
#[test]
fn the_entry_survives_a_keyutils_flush() {
    require_secret_service();
    let home = tempfile::tempdir().unwrap();
    let account = keyring_account(home.path());
    let login = app(home.path(), &["login", "--with-api-key"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = {
        let mut login = login;
        use std::io::Write;
        login
            .stdin
            .take()
            .unwrap()
            .write_all(b"sk-survives-reboot\n")
            .unwrap();
        login.wait_with_output().unwrap()
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(lookup(KEYRING_SERVICE, &account).is_some());
    assert!(!keyutils_has(&account));
    let status = run(inherit(&mut clean_command("keyctl"), DBUS)
        .args(["session", "-"])
        .arg(BIN)
        .args(["--credentials-store", "keyring", "status", "--json"])
        .env("CODEX_HOME", home.path())
        .env("HOME", home.path()));
    let stdout = String::from_utf8_lossy(&status.stdout);
    let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|err| {
            panic!(
                "{err}: {stdout} {}",
                String::from_utf8_lossy(&status.stderr)
            )
        });
    assert_eq!(json["signedIn"], true, "{json}");
    assert_eq!(json["authMethod"], "apikey", "{json}");
    assert!(store(home.path()).delete().unwrap());
}

#[test]
fn logout_removes_every_copy() {
    require_secret_service();
    let home = tempfile::tempdir().unwrap();
    let account = keyring_account(home.path());
    codex_writes(&account, &key("sk-codex-login").to_compact_json());
    keyutils_plant(&account, &key("sk-old-keyutils").to_compact_json());
    std::fs::write(
        home.path().join("auth.json"),
        key("sk-file").to_compact_json(),
    )
    .unwrap();
    let out = run(&mut app(home.path(), &["logout"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        lookup(KEYRING_SERVICE, &account),
        None,
        "the Secret Service item"
    );
    assert!(!keyutils_has(&account), "the keyutils copy");
    assert!(!home.path().join("auth.json").exists(), "auth.json");
}

/// The container case: no session bus, so the write fails; it says why and what to do, and
/// leaves no copy of the key anywhere (not in keyutils, not in auth.json).
#[test]
fn a_write_without_a_session_bus_fails_in_words_and_leaves_nothing() {
    require_secret_service();
    let home = tempfile::tempdir().unwrap();
    let account = keyring_account(home.path());
    keyutils_plant(&account, "{\"OPENAI_API_KEY\":\"sk-container\"}");
    let mut login = app(home.path(), &["login", "--with-api-key"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", home.path().join("no-bus").display()),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        login
            .stdin
            .take()
            .unwrap()
            .write_all(b"sk-container\n")
            .unwrap();
    }
    let out = login.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("could not save the credentials to the OS keyring"),
        "{stderr}"
    );
    assert!(stderr.contains("D-Bus session bus"), "{stderr}");
    assert!(
        stderr.contains("cli_auth_credentials_store = \"file\""),
        "{stderr}"
    );
    assert!(!stderr.contains("sk-container"), "{stderr}");
    assert!(!keyutils_has(&account), "the keyutils copy is gone");
    assert!(!home.path().join("auth.json").exists());
    assert_eq!(lookup(KEYRING_SERVICE, &account), None);
}

/// The secrets file with its key in the real keyring: service `codex`, account `secrets|…`.
#[test]
fn the_secrets_file_keeps_its_key_in_the_secret_service() {
    require_secret_service();
    let home = tempfile::tempdir().unwrap();
    let store = SecretsFileStore::new(home.path(), Arc::new(SystemKeyring))
        .with_work_factor(10)
        .with_timeout(Duration::from_secs(10));
    let auth = parse_auth_json(codex_chatgpt_json().as_bytes()).unwrap();
    store.save(&auth).unwrap();
    let passphrase = lookup(SECRETS_KEY_SERVICE, &secrets_key_account(home.path()))
        .expect("the file key in the keyring");
    let bytes = std::fs::read(home.path().join("secrets/cli_auth.age")).unwrap();
    let file = SecretsFile::decrypt(&bytes, &Secret::new(passphrase)).unwrap();
    assert_eq!(
        file.get(CLI_AUTH_SECRET),
        Some(auth.to_compact_json().as_str())
    );
    assert_eq!(store.load().unwrap(), Some(auth));
    assert!(store.delete().unwrap());
    assert!(!home.path().join("secrets/cli_auth.age").exists());
    assert_eq!(store.load().unwrap(), None);
    // The key stays for the next sign-in, as in Codex.
    assert!(lookup(SECRETS_KEY_SERVICE, &secrets_key_account(home.path())).is_some());
}
