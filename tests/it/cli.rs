//! The command line (`login`, `logout`, `status`, `refresh`, `generate-*`) against the real binary,
//! with a tempdir as `CODEX_HOME` and `HOME` and the fake issuer's URLs given to the child only
//! (`--login-issuer` and the URL override variables). Token requests are counted at the issuer.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use app_server::cli::{Command as Subcommand, LoginArgs};
use app_server::commands::{self, Console, Exit};
use auth_core::fake_issuer::{Endpoint, FakeIssuer, ScriptedResponse};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::support::creds::{access_token, read_auth, seed_fresh, seed_stale};
use crate::support::issuer_options;

const TIMEOUT: Duration = Duration::from_secs(60);

/// `app-server --login-issuer <issuer> <args>` on `home`, nothing inherited that could leak in
/// (the launcher clears the environment: no `BROWSER` or `DISPLAY`, so no browser ever opens).
fn app(home: &Path, issuer: &FakeIssuer, args: &[&str]) -> Command {
    let mut command = crate::support::launcher::app_server();
    command
        .arg("--login-issuer")
        .arg(issuer.url())
        .args(args)
        .env("CODEX_HOME", home)
        .env("HOME", home)
        .env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", issuer.token_url())
        .env("CODEX_REVOKE_TOKEN_URL_OVERRIDE", issuer.revoke_url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `app` to completion.
async fn run(home: &Path, issuer: &FakeIssuer, args: &[&str]) -> Output {
    let child = app(home, issuer, args).spawn().expect("spawn app-server");
    finish(child).await
}

async fn finish(child: tokio::process::Child) -> Output {
    tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .expect("the command ends")
        .expect("wait for app-server")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// Reads `stderr` up to the line holding `issuer`'s authorize URL: that URL, and all read so far.
async fn authorize_url(
    stderr: &mut BufReader<tokio::process::ChildStderr>,
    issuer: &FakeIssuer,
) -> (String, String) {
    let mut shown = String::new();
    loop {
        let mut line = String::new();
        let read = tokio::time::timeout(TIMEOUT, stderr.read_line(&mut line))
            .await
            .expect("the URL is printed")
            .unwrap();
        assert!(read > 0, "stderr ended before the URL: {shown}");
        shown.push_str(&line);
        let line = line.trim();
        if line.starts_with(&format!("{}/oauth/authorize?", issuer.url())) {
            return (line.to_owned(), shown);
        }
    }
}

/// Asserts the exit code, showing both streams on failure.
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

async fn status_json(home: &Path, issuer: &FakeIssuer) -> (i32, Value) {
    let output = run(home, issuer, &["status", "--json"]).await;
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "one JSON line: {stdout}");
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (output.status.code().expect("exit code"), value)
}

/// No spinner or terminal control sequence when stderr is not a terminal.
fn assert_no_progress_drawn(stderr: &str) {
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}'),
        "stderr is a pipe: no spinner expected: {stderr:?}"
    );
}

#[tokio::test]
async fn status_on_an_empty_home_exits_one() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let output = run(home.path(), &issuer, &["status"]).await;
    assert_exit(&output, 1);
    assert!(
        text(&output.stdout).contains("Not signed in"),
        "{}",
        text(&output.stdout)
    );
    let (code, status) = status_json(home.path(), &issuer).await;
    assert_eq!(code, 1);
    assert_eq!(
        status,
        json!({"authMethod": null, "signedIn": false, "reloginRequired": false, "email": null,
               "planType": null, "accountId": null, "refreshFailure": null})
    );
    // Nothing to refresh: a failure (1), not "re-login needed" (2).
    assert_exit(&run(home.path(), &issuer, &["refresh"]).await, 1);
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
}

#[tokio::test]
async fn api_key_login_from_stdin_then_status_then_logout() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let key = "sk-cli-secret-1234";
    let mut child = app(home.path(), &issuer, &["login", "--with-api-key"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{key}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = finish(child).await;
    assert_exit(&output, 0);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(stdout.contains("API key"), "{stdout}");
    assert!(
        !stdout.contains(key) && !stderr.contains(key),
        "the key is never printed"
    );
    let stored = read_auth(home.path()).unwrap();
    assert!(stored["OPENAI_API_KEY"] == key, "the key is stored");

    let (code, status) = status_json(home.path(), &issuer).await;
    assert_eq!(code, 0);
    assert_eq!(status["authMethod"], "apikey");
    assert_eq!(status["signedIn"], json!(true));
    assert_eq!(status["reloginRequired"], json!(false));
    let human = run(home.path(), &issuer, &["status"]).await;
    assert_exit(&human, 0);
    assert!(text(&human.stdout).contains("Signed in with an API key"));
    assert!(!text(&human.stdout).contains(key));
    // An API key has nothing to refresh.
    assert_exit(&run(home.path(), &issuer, &["refresh"]).await, 1);

    let logout = run(home.path(), &issuer, &["logout"]).await;
    assert_exit(&logout, 0);
    assert!(!home.path().join("auth.json").exists());
    assert_exit(&run(home.path(), &issuer, &["status"]).await, 1);
    // Signing out twice is fine.
    assert_exit(&run(home.path(), &issuer, &["logout"]).await, 0);
}

#[tokio::test]
async fn an_empty_api_key_is_refused() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let output = run(home.path(), &issuer, &["login", "--with-api-key"]).await;
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("no API key"));
    assert!(!home.path().join("auth.json").exists());
}

#[tokio::test]
async fn a_dead_refresh_token_gives_exit_three_with_one_token_request() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    seed_stale(home.path(), &issuer);
    let before = std::fs::read(home.path().join("auth.json")).unwrap();
    issuer.script_refresh(vec![ScriptedResponse::new(
        401,
        json!({"error": {"code": "refresh_token_reused"}}),
    )]);
    let refresh = run(home.path(), &issuer, &["refresh"]).await;
    assert_exit(&refresh, 3);
    let stderr = text(&refresh.stderr);
    assert!(stderr.contains("already used"), "{stderr}");
    assert!(stderr.contains("app-server login"), "{stderr}");
    assert_eq!(issuer.count(Endpoint::Refresh), 1);

    let status = run(home.path(), &issuer, &["status"]).await;
    assert_exit(&status, 3);
    assert!(text(&status.stdout).contains("sign in again"));
    let (code, json) = status_json(home.path(), &issuer).await;
    assert_eq!(code, 3);
    assert_eq!(json["authMethod"], "chatgpt");
    assert_eq!(json["signedIn"], json!(false));
    assert_eq!(json["reloginRequired"], json!(true));
    assert_eq!(json["refreshFailure"]["reason"], "exhausted");
    assert_eq!(json["refreshFailure"]["transient"], json!(false));
    // The remembered failure is honoured by a later `refresh` too.
    assert_exit(&run(home.path(), &issuer, &["refresh"]).await, 3);
    assert_eq!(
        issuer.count(Endpoint::Refresh),
        1,
        "one token request in total"
    );
    assert_eq!(
        std::fs::read(home.path().join("auth.json")).unwrap(),
        before
    );
}

#[tokio::test]
async fn refresh_replaces_valid_credentials_and_status_reports_them() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let old = access_token(&seed_fresh(home.path(), &issuer));
    let refresh = run(home.path(), &issuer, &["refresh"]).await;
    assert_exit(&refresh, 0);
    assert!(text(&refresh.stdout).contains("Refreshed"));
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
    let stored = read_auth(home.path()).unwrap();
    assert!(access_token(&stored) != old, "a new access token is stored");
    let (code, status) = status_json(home.path(), &issuer).await;
    assert_eq!(code, 0);
    assert_eq!(status["authMethod"], "chatgpt");
    assert_eq!(status["signedIn"], json!(true));
    assert_eq!(status["email"], "user@example.com");
    assert!(status["planType"].is_string(), "{status}");
    assert_eq!(status["refreshFailure"], Value::Null);
    assert_eq!(
        issuer.count(Endpoint::Refresh),
        1,
        "status of fresh credentials sends nothing"
    );
}

#[tokio::test]
async fn device_code_login_prints_the_code_and_completes() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_device_interval(Some("1"));
    issuer.set_device_pending_polls(1);
    let home = tempfile::tempdir().unwrap();
    // Global flags work after the subcommand too.
    let output = run(
        home.path(),
        &issuer,
        &["login", "--device-code", "--login-issuer", &issuer.url()],
    )
    .await;
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("{}/codex/device", issuer.url())),
        "{stderr}"
    );
    let code = stderr
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("FAKE-"))
        .unwrap_or_else(|| panic!("no user code on stderr: {stderr}"));
    assert!(
        code.len() > "FAKE-".len(),
        "a user code follows the instructions"
    );
    assert_no_progress_drawn(&stderr);
    assert!(text(&output.stdout).contains("Signed in with ChatGPT as user@example.com"));
    assert!(
        issuer.count(Endpoint::DeviceToken) >= 2,
        "polled until approved"
    );
    let (code, status) = status_json(home.path(), &issuer).await;
    assert_eq!(code, 0);
    assert_eq!(status["authMethod"], "chatgpt");
}

/// Issue 11 §3: `CODEX_APP_SERVER_LOGIN_CLIENT_ID` overrides the OAuth client id of the login.
#[tokio::test]
async fn the_login_client_id_can_be_overridden() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut child = app(home.path(), &issuer, &["--login-port", "0", "login"])
        .env("CODEX_APP_SERVER_LOGIN_CLIENT_ID", "app_override123")
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (url, _) = authorize_url(&mut stderr, &issuer).await;
    assert!(url.contains("&client_id=app_override123&"), "{url}");
    assert!(
        url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );
    child.kill().await.unwrap();
}

#[tokio::test]
async fn browser_login_prints_the_url_and_completes_when_the_browser_comes_back() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut child = app(home.path(), &issuer, &["--login-port", "0", "login"])
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (url, mut shown) = authorize_url(&mut stderr, &issuer).await;
    // Play the browser: the issuer redirects to the callback server, which redirects to /success.
    let no_redirects = crate::support::login::Browser::new().client;
    let authorize = no_redirects.get(&url).send().await.unwrap();
    assert_eq!(authorize.status().as_u16(), 302);
    let callback = authorize.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
    let landed = reqwest::get(&callback).await.unwrap();
    assert_eq!(landed.status().as_u16(), 200);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).await.unwrap();
    shown.push_str(&rest);
    let mut output = finish(child).await;
    output.stderr = shown.into_bytes();
    assert_exit(&output, 0);
    assert!(text(&output.stdout).contains("Signed in with ChatGPT as user@example.com"));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("--device-auth"), "the headless hint");
    assert!(
        stderr.contains("Open this URL"),
        "no display: the URL is printed, no browser tried: {stderr}"
    );
    assert_no_progress_drawn(&text(&output.stderr));
    assert_eq!(issuer.count(Endpoint::AuthorizationCode), 1);
    assert_exit(&run(home.path(), &issuer, &["status"]).await, 0);
}

#[tokio::test]
async fn config_override_flags_apply_to_subcommands() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let output = run(
        home.path(),
        &issuer,
        &["login", "--device-code", "--forced-login-method", "api"],
    )
    .await;
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("ChatGPT login is disabled"));
    assert_eq!(issuer.count(Endpoint::UserCode), 0);
}

/// Every file under `dir`, by path relative to it.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(relative, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[tokio::test]
async fn generate_commands_write_the_checked_in_trees() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema");
    for (command, checked_in) in [
        ("generate-json-schema", "json"),
        ("generate-ts", "typescript"),
    ] {
        let out = home.path().join(checked_in);
        let output = run(
            home.path(),
            &issuer,
            &[command, "--out", out.to_str().unwrap()],
        )
        .await;
        assert_exit(&output, 0);
        let written = tree(&out);
        assert!(!written.is_empty());
        assert!(
            written == tree(&schema.join(checked_in)),
            "{command} differs from schema/{checked_in}"
        );
    }
}

/// Issue 12 item 13: `login --with-api-key` on a terminal would echo the key; it refuses to read
/// it, says how to pipe it, and stores nothing.
#[tokio::test]
async fn api_key_login_refuses_a_terminal() {
    struct Untouchable;
    impl std::io::Read for Untouchable {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            panic!("the key was read from the terminal");
        }
    }
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let auth = auth_core::AuthManager::new(issuer_options(home.path(), &issuer)).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let login = Subcommand::Login(LoginArgs {
        with_api_key: true,
        ..LoginArgs::default()
    });
    let mut console = Console {
        stdin: &mut Untouchable,
        out: &mut out,
        err: &mut err,
        progress: false,
        stdin_is_terminal: true,
        browser: false,
    };
    let exit = commands::execute(&auth, &login, &mut console)
        .await
        .unwrap();
    assert_eq!(exit, Exit::Failure);
    let err = text(&err);
    assert!(
        err.contains("refusing to read an API key typed at a terminal"),
        "{err}"
    );
    assert!(
        err.contains("printenv OPENAI_API_KEY | app-server login --with-api-key"),
        "{err}"
    );
    assert!(!home.path().join("auth.json").exists());
}

/// In process, with `progress` set as for a terminal: the wait draws a spinner line with the
/// elapsed time on `err` and erases it at the end.
#[tokio::test]
async fn a_terminal_gets_a_spinner_while_the_login_waits() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_device_interval(Some("1"));
    issuer.set_device_pending_polls(1);
    let home = tempfile::tempdir().unwrap();
    let auth = auth_core::AuthManager::new(issuer_options(home.path(), &issuer)).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let login = Subcommand::Login(LoginArgs {
        device_code: true,
        ..LoginArgs::default()
    });
    let mut console = Console {
        stdin: &mut std::io::empty(),
        out: &mut out,
        err: &mut err,
        progress: true,
        stdin_is_terminal: false,
        browser: false,
    };
    let exit = commands::execute(&auth, &login, &mut console)
        .await
        .unwrap();
    assert_eq!(exit, Exit::Success);
    let err = text(&err);
    assert!(err.contains("FAKE-"), "{err}");
    assert!(err.contains("\r\u{1b}[2K"), "the line is redrawn in place");
    assert!(err.contains("(0:00)"), "elapsed time shown: {err}");
    assert!(err.ends_with("\r\u{1b}[2K"), "the spinner line is erased");
    assert!(text(&out).starts_with("Signed in with ChatGPT"));
}

/// `app-server fake-issuer` runs the demo issuer as its own process: its URL comes first on
/// stdout, and another server completes a device-code sign-in against it.
#[tokio::test]
async fn the_fake_issuer_runs_as_its_own_process() {
    let home = tempfile::tempdir().unwrap();
    let mut issuer = crate::support::launcher::app_server()
        .arg("fake-issuer")
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(issuer.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(TIMEOUT, lines.next_line())
        .await
        .expect("the issuer prints its URL")
        .unwrap()
        .unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let login = crate::support::launcher::app_server()
        .args(["--login-issuer", &url, "login", "--device-code"])
        .env("CODEX_HOME", home.path())
        .env("HOME", home.path())
        .env(
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
            format!("{url}/oauth/token"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let output = finish(login).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(home.path().join("auth.json").exists());
    issuer.kill().await.unwrap();
}

/// `app-server --demo <args>` as a newcomer runs it: no `CODEX_HOME`, `HOME` and
/// `XDG_STATE_HOME` inside `root`, nothing else inherited that could point elsewhere.
fn demo(root: &Path, args: &[&str]) -> Command {
    let mut command = crate::support::launcher::app_server();
    command
        .arg("--demo")
        .args(args)
        .env("HOME", root)
        .env("XDG_STATE_HOME", root.join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

async fn run_demo(root: &Path, args: &[&str]) -> Output {
    finish(demo(root, args).spawn().expect("spawn app-server")).await
}

/// The demo is a place to walk through the product in separate commands: a device-code sign-in
/// (approved by the embedded issuer by itself), then status, a forced refresh and logout, each
/// its own process with its own embedded issuer, all on one persistent demo home.
#[tokio::test]
async fn the_demo_keeps_its_sign_in_between_commands() {
    let root = tempfile::tempdir().unwrap();
    let login = run_demo(root.path(), &["login", "--device-auth"]).await;
    assert_exit(&login, 0);
    let stderr = text(&login.stderr);
    assert!(
        stderr.contains("approves device codes by itself"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("WARN"),
        "the banner is not a log line: {stderr}"
    );
    let home = root.path().join("state/app-server/demo");
    assert!(home.join("auth.json").is_file(), "{stderr}");

    let status = run_demo(root.path(), &["login", "status"]).await;
    assert_exit(&status, 0);
    assert!(text(&status.stdout).contains("Signed in with ChatGPT"));
    let before = std::fs::read_to_string(home.join("auth.json")).unwrap();
    let refresh = run_demo(root.path(), &["refresh"]).await;
    assert_exit(&refresh, 0);
    let after = std::fs::read_to_string(home.join("auth.json")).unwrap();
    assert_ne!(
        before, after,
        "a later process's issuer accepted the refresh token"
    );
    assert!(!home.join("auth.json.refresh-failure").exists());

    assert_exit(&run_demo(root.path(), &["logout"]).await, 0);
    assert_exit(&run_demo(root.path(), &["status"]).await, 1);
}

/// A mistyped flag is clap's usage error (2); "sign in again" is 3, so scripts can tell them apart.
#[tokio::test]
async fn a_usage_error_exits_two_which_no_outcome_uses() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let typo = run(home.path(), &issuer, &["status", "--jsn"]).await;
    assert_exit(&typo, 2);
    assert!(text(&typo.stderr).starts_with("error: unexpected argument"));
    assert_ne!(Exit::ReloginRequired as i32, 2);
}

/// `login` creates a missing `CODEX_HOME` (0700); a failure elsewhere is one `error:` line with
/// its cause once and a hint, never a timestamped log line.
#[tokio::test]
async fn login_creates_a_missing_home_and_other_commands_explain_it() {
    let issuer = FakeIssuer::start().await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("new-home");

    let status = run(&missing, &issuer, &["status"]).await;
    assert_exit(&status, 1);
    let stderr = text(&status.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: CODEX_HOME "), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("hint: create it"), "{stderr}");
    assert!(!missing.exists(), "status does not create the home");

    let mut child = app(&missing, &issuer, &["login", "--with-api-key"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"sk-new-home\n").await.unwrap();
    drop(stdin);
    assert_exit(&finish(child).await, 0);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&missing).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert!(missing.join("auth.json").is_file());
}

/// Where a browser can be shown, `login` opens the URL itself (`BROWSER` names a script that
/// records what it was asked to open); `--no-browser` only prints it.
#[tokio::test]
async fn login_opens_the_browser_unless_told_not_to() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let opened = home.path().join("opened-url");
    let browser = home.path().join("browser.sh");
    std::fs::write(
        &browser,
        // Written aside, then renamed: the test waits for the file to exist, and must never
        // read it between its creation and the write.
        format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > '{0}.tmp' && mv '{0}.tmp' '{0}'\n",
            opened.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o700)).unwrap();

    for (flags, expect_opened) in [(&["--no-browser"][..], false), (&[][..], true)] {
        let _ = std::fs::remove_file(&opened);
        let mut args = vec!["login", "--login-port", "0"];
        args.extend_from_slice(flags);
        let mut child = app(home.path(), &issuer, &args)
            .env("BROWSER", &browser)
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let (url, _) = authorize_url(&mut stderr, &issuer).await;
        // The script runs detached from the login; give it a moment to write.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while expect_opened && !opened.exists() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        match expect_opened {
            true => assert_eq!(std::fs::read_to_string(&opened).unwrap(), url),
            false => assert!(!opened.exists(), "--no-browser opened {url}"),
        }
        child.kill().await.unwrap();
    }
}

/// `status` (and `login status`) on a machine where `~/.codex` does not exist report "signed
/// out" and leave it missing: reading creates nothing.
#[tokio::test]
async fn status_does_not_create_a_missing_default_home() {
    let issuer = FakeIssuer::start().await.unwrap();
    let root = tempfile::tempdir().unwrap();
    for args in [&["status"][..], &["login", "status"][..]] {
        let output = finish(
            app(root.path(), &issuer, args)
                .env_remove("CODEX_HOME")
                .spawn()
                .unwrap(),
        )
        .await;
        assert_exit(&output, 1);
        assert!(
            !root.path().join(".codex").exists(),
            "{args:?} created ~/.codex"
        );
    }
}

/// A subcommand's warnings are for a person: no timestamp, no module path (here the warning
/// about a world-writable `CODEX_HOME`).
#[tokio::test]
async fn subcommand_warnings_carry_no_timestamp() {
    use std::os::unix::fs::PermissionsExt;
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    seed_fresh(home.path(), &issuer);
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let output = run(home.path(), &issuer, &["status"]).await;
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let stderr = text(&output.stderr);
    let warning = stderr
        .lines()
        .find(|line| line.contains("WARN"))
        .unwrap_or_else(|| panic!("a warning about the writable home: {stderr}"));
    assert!(warning.trim_start().starts_with("WARN "), "{warning}");
    assert!(!warning.contains("auth_core"), "{warning}");
}
