//! Codex's launch line against the real binary (issue 11 §1): `app-server app-server [FLAGS]`
//! serves exactly as `app-server [FLAGS]`, with the flags published clients pass in the
//! positions they pass them; `-c`/`--profile` reach the typed config; the schema exports under
//! `app-server` write the checked-in trees.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const TIMEOUT: Duration = Duration::from_secs(30);

/// The binary on `home` with `args`, URLs pointing at a closed loopback port.
fn app(home: &Path, args: &[&str]) -> Command {
    let mut command = crate::support::launcher::app_server();
    command
        .args(args)
        .env("CODEX_HOME", home)
        .env("HOME", home)
        .env("RUST_LOG", "warn")
        .env("CODEX_APP_SERVER_LOGIN_ISSUER", "http://127.0.0.1:9")
        .env(
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
            "http://127.0.0.1:9/oauth/token",
        )
        .env(
            "CODEX_REVOKE_TOKEN_URL_OVERRIDE",
            "http://127.0.0.1:9/oauth/revoke",
        )
        .env(
            app_server::startup::REQUIREMENTS_ENV,
            home.join("no-requirements.toml"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `args` with `lines` on stdin; returns (exit code, stdout lines as JSON, stderr).
async fn session(home: &Path, args: &[&str], lines: &[Value]) -> (Option<i32>, Vec<Value>, String) {
    let mut child = app(home, args).spawn().expect("spawn app-server");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut input = String::new();
    for line in lines {
        input.push_str(&line.to_string());
        input.push('\n');
    }
    // The server may exit before reading (a startup error): a broken pipe is expected then.
    let _ = stdin.write_all(input.as_bytes()).await;
    drop(stdin);
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .expect("the server exits at end of input")
        .expect("wait for app-server");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 stdout");
    let messages = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    (
        output.status.code(),
        messages,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn request(id: i64, method: &str, params: Value) -> Value {
    json!({"id": id, "method": method, "params": params})
}

fn initialize() -> Value {
    request(
        0,
        "initialize",
        json!({"clientInfo": {"name": "launch", "version": "1.0"}}),
    )
}

/// The answers of a read-only session: initialize, `initialized`, `account/read`, `getAuthStatus`.
async fn read_only(home: &Path, args: &[&str]) -> Vec<Value> {
    let (code, messages, stderr) = session(
        home,
        args,
        &[
            initialize(),
            json!({"method": "initialized"}),
            request(1, "account/read", json!({})),
            request(2, "getAuthStatus", json!({"includeToken": true})),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{args:?}: {stderr}");
    messages
}

#[tokio::test]
async fn the_app_server_subcommand_serves_exactly_as_the_bare_binary() {
    let home = tempfile::tempdir().unwrap();
    let bare = read_only(home.path(), &[]).await;
    assert_eq!(bare.len(), 3, "{bare:?}");
    assert_eq!(bare[1]["result"]["account"], Value::Null);
    // The argv of the published clients (tests/interop/), and Codex's other spellings.
    for args in [
        &["app-server"][..],
        &["app-server", "--listen", "stdio://"],
        &[
            "--config",
            "model=\"o3\"",
            "app-server",
            "--listen",
            "stdio://",
        ],
        &[
            "app-server",
            "--enable",
            "guardian_approval",
            "-c",
            "web_search=\"live\"",
        ],
        &["app-server", "--stdio", "--analytics-default-enabled"],
        &[
            "--enable",
            "a",
            "--disable",
            "b",
            "app-server",
            "--disable",
            "c",
        ],
        &[
            "-c",
            "sandbox_mode=read-only",
            "app-server",
            "-c",
            "x.y.z=[1, 2]",
        ],
    ] {
        assert_eq!(read_only(home.path(), args).await, bare, "{args:?}");
    }
}

#[tokio::test]
async fn config_overrides_before_and_after_the_subcommand_both_apply() {
    let home = tempfile::tempdir().unwrap();
    // Root-level `-c` first, then those after `app-server` (a later one wins).
    let answers = read_only(
        home.path(),
        &[
            "-c",
            "model_provider=local",
            "-c",
            "model_providers.local.requires_openai_auth=true",
            "app-server",
            "-c",
            "model_providers.local.requires_openai_auth=false",
        ],
    )
    .await;
    assert_eq!(
        answers[2]["result"],
        json!({"authMethod": null, "authToken": null, "requiresOpenaiAuth": false})
    );
    // A bad value for a key we honour stops startup with a message naming it.
    let (code, messages, stderr) = session(
        home.path(),
        &["app-server", "-c", "cli_auth_credentials_store=cloud"],
        &[initialize()],
    )
    .await;
    assert_eq!(code, Some(1));
    assert!(messages.is_empty(), "{messages:?}");
    assert!(
        stderr.contains("with the command-line overrides")
            && stderr.contains("cli_auth_credentials_store"),
        "{stderr}"
    );
    // Not `key=value`: a usage error from the argument parser.
    let (code, _, stderr) = session(home.path(), &["app-server", "-c", "oops"], &[]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("missing '='"), "{stderr}");
}

#[tokio::test]
async fn a_profile_applies_its_file_over_config_toml() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("work.config.toml"),
        "forced_login_method = \"chatgpt\"\n",
    )
    .unwrap();
    let start_api_key = request(
        1,
        "account/login/start",
        json!({"type": "apiKey", "apiKey": "sk-launch"}),
    );
    let (code, messages, stderr) = session(
        home.path(),
        &["--profile", "work", "app-server"],
        &[initialize(), start_api_key.clone()],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        messages[1]["error"]["message"],
        "API key login is disabled. Use ChatGPT login instead."
    );
    assert!(!home.path().join("auth.json").exists());
    // `-c` beats the profile.
    let (_, messages, _) = session(
        home.path(),
        &[
            "--profile",
            "work",
            "app-server",
            "-c",
            "forced_login_method=api",
        ],
        &[initialize(), start_api_key],
    )
    .await;
    assert_eq!(messages[1]["result"], json!({"type": "apiKey"}));
    // An unknown profile stops startup.
    let (code, _, stderr) = session(home.path(), &["app-server", "--profile", "nope"], &[]).await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("config profile `nope` not found"),
        "{stderr}"
    );
}

/// Files under `dir`, relative, `/`-separated, with their contents.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                let name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                files.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    files
}

fn generated(prefix: &str) -> BTreeMap<String, String> {
    protocol::schema::generate()
        .into_iter()
        .filter_map(|(path, contents)| Some((path.strip_prefix(prefix)?.to_owned(), contents)))
        .collect()
}

#[cfg(unix)]
#[tokio::test]
async fn the_schema_exports_under_app_server_take_codex_flags() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let json_dir = out.path().join("json");
    let json_arg = json_dir.to_string_lossy().into_owned();
    let (code, _, stderr) = session(
        home.path(),
        &[
            "app-server",
            "generate-json-schema",
            "--out",
            &json_arg,
            "--experimental",
        ],
        &[],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(tree(&json_dir), generated("json/"));

    // `--prettier BIN` runs `BIN --write FILE…` over the written files.
    let log = out.path().join("prettier.log");
    let prettier = out.path().join("prettier");
    std::fs::write(
        &prettier,
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&prettier, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ts_dir = out.path().join("ts");
    let ts_arg = ts_dir.to_string_lossy().into_owned();
    let prettier_arg = prettier.to_string_lossy().into_owned();
    let (code, _, stderr) = session(
        home.path(),
        &[
            "-c",
            "a=1",
            "app-server",
            "generate-ts",
            "-o",
            &ts_arg,
            "-p",
            &prettier_arg,
        ],
        &[],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    let expected = generated("typescript/");
    assert_eq!(tree(&ts_dir), expected);
    let logged = std::fs::read_to_string(&log).unwrap();
    let mut args = logged.lines();
    assert_eq!(args.next(), Some("--write"));
    assert_eq!(args.count(), expected.len());
}

/// Codex's managed requirements (`requirements.toml`, path replaced for the test): a single
/// allowed method is forced, so a stored API key is logged out at startup and API-key login is
/// refused; a configured method the requirements forbid stops startup.
#[tokio::test]
async fn managed_requirements_restrict_the_login_methods() {
    let home = tempfile::tempdir().unwrap();
    let requirements = home.path().join("requirements.toml");
    std::fs::write(&requirements, "allowed_login_methods = [\"chatgpt\"]\n").unwrap();
    std::fs::write(
        home.path().join("auth.json"),
        r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-stored"}"#,
    )
    .unwrap();
    let run = |args: &'static [&'static str], lines: Vec<Value>| {
        let home = home.path().to_path_buf();
        let requirements = requirements.clone();
        async move {
            let mut child = app(&home, args)
                .env(app_server::startup::REQUIREMENTS_ENV, &requirements)
                .spawn()
                .expect("spawn app-server");
            let mut stdin = child.stdin.take().expect("stdin");
            let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
            let _ = stdin.write_all(input.as_bytes()).await;
            drop(stdin);
            let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
                .await
                .expect("exit")
                .unwrap();
            let stdout = String::from_utf8(output.stdout).unwrap();
            let messages: Vec<Value> = stdout
                .lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect();
            (
                output.status.code(),
                messages,
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        }
    };
    let (code, messages, stderr) = run(
        &["app-server"],
        vec![
            initialize(),
            request(1, "getAuthStatus", json!({})),
            request(
                2,
                "account/login/start",
                json!({"type": "apiKey", "apiKey": "sk-new"}),
            ),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        messages[1]["result"]["authMethod"],
        Value::Null,
        "{messages:?}"
    );
    assert_eq!(
        messages[2]["error"]["message"],
        "API key login is disabled. Use ChatGPT login instead."
    );
    assert!(
        !home.path().join("auth.json").exists(),
        "the stored key was logged out"
    );
    let (code, _, stderr) = run(&["-c", "forced_login_method=api", "app-server"], vec![]).await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("conflicts with the managed requirements"),
        "{stderr}"
    );
}

/// The transport flags work in Codex's position too (`app-server app-server --listen ws://…`),
/// and before the subcommand.
#[tokio::test]
async fn listen_flags_after_the_subcommand_choose_the_transport() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["app-server", "--listen", "ws://127.0.0.1:0"][..],
        &["--listen", "ws://127.0.0.1:0", "app-server"],
    ] {
        let mut child = app(home.path(), args).spawn().expect("spawn app-server");
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let listening = tokio::time::timeout(TIMEOUT, async {
            while let Some(line) = stderr.next_line().await.unwrap() {
                if let Some(url) = line.strip_prefix("listening on ") {
                    return url.to_owned();
                }
            }
            panic!("{args:?}: the server exited without listening");
        })
        .await
        .expect("a listening line");
        assert!(
            listening.starts_with("ws://127.0.0.1:"),
            "{args:?}: {listening}"
        );
        child.kill().await.unwrap();
    }
}
