//! The real binary over real pipes (PROTOCOL.md §1): protocol-only stdout, logs on stderr,
//! exit 0 at EOF, exit 1 when the client is gone.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

const TIMEOUT: Duration = Duration::from_secs(30);

fn server(home: &std::path::Path) -> Command {
    let mut command = crate::support::launcher::app_server();
    command
        .env("CODEX_HOME", home)
        .env("HOME", home)
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn real_binary_round_trip_then_exit_zero_at_eof() {
    let home = tempfile::tempdir().unwrap();
    let mut child = server(home.path()).spawn().expect("spawn app-server");
    let mut stdin = child.stdin.take().unwrap();
    let input = concat!(
        r#"{"id":1,"method":"initialize","params":{"clientInfo":{"name":"smoke","version":"1.0"}}}"#,
        "\n",
        r#"{"method":"initialized"}"#,
        "\n",
        r#"{"id":2,"method":"getUserAgent"}"#,
        "\n",
        r#"{"id":3,"method":"getAuthStatus","params":{"includeToken":true}}"#,
        "\n",
        "not json\n",
    );
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin); // EOF

    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .expect("exit")
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 stdout");
    assert!(stdout.ends_with('\n'));
    let mut answers = BTreeMap::new();
    for line in stdout.lines() {
        assert!(!line.contains("jsonrpc"), "{line}");
        let message: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(message.is_object(), "{line}");
        answers.insert(message["id"].to_string(), message);
    }
    assert_eq!(stdout.lines().count(), 4, "one line per answer: {stdout}");
    let canonical_home = std::fs::canonicalize(home.path()).unwrap();
    let init = &answers["1"]["result"];
    assert_eq!(init["codexHome"], json!(canonical_home.to_string_lossy()));
    assert!(
        init["userAgent"].as_str().unwrap().starts_with("smoke/"),
        "{init}"
    );
    assert_eq!(answers["2"]["result"]["userAgent"], init["userAgent"]);
    assert!(answers["3"].get("result").is_some() || answers["3"].get("error").is_some());
    assert_eq!(answers["null"]["error"]["code"], json!(-32700));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("initialize"), "logs go to stderr: {stderr}");
}

#[tokio::test]
async fn real_binary_exits_one_when_stdout_is_gone() {
    let home = tempfile::tempdir().unwrap();
    let mut child = server(home.path()).spawn().expect("spawn app-server");
    drop(child.stdout.take()); // the client stops reading: writes now fail
    let mut stdin = child.stdin.take().unwrap();
    let request =
        r#"{"id":1,"method":"initialize","params":{"clientInfo":{"name":"gone","version":"1"}}}"#;
    stdin
        .write_all(format!("{request}\n").as_bytes())
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    // stdin stays open: the write failure alone must end the process.
    let status = tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .expect("exit")
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    assert!(stderr.contains("writing output failed"), "{stderr}");
    drop(stdin);
}

/// README's example session: `app-server/examples/api-key-session.jsonl` piped into the real
/// binary answers with exactly the lines README shows (the first answer's machine-dependent
/// `userAgent` and `codexHome` aside, and `emittedAtMs` wherever it appears).
#[tokio::test]
async fn the_readme_example_session_answers_as_documented() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let block = readme
        .split("Example session:")
        .nth(1)
        .and_then(|rest| rest.split("```text\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("README has the example session block");
    let input = std::fs::read(format!("{root}/app-server/examples/api-key-session.jsonl")).unwrap();

    let home = tempfile::tempdir().unwrap();
    let mut child = server(home.path()).spawn().expect("spawn app-server");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&input).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .expect("exit")
        .unwrap();
    assert_eq!(output.status.code(), Some(0));

    let normalize = |line: &str| {
        let mut value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if let Some(message) = value.as_object_mut() {
            message.remove("emittedAtMs");
        }
        if let Some(result) = value.get_mut("result").and_then(Value::as_object_mut)
            && result.contains_key("userAgent")
        {
            result.insert("userAgent".into(), json!("<machine>"));
            result.insert("codexHome".into(), json!("<machine>"));
        }
        value
    };
    let shown: Vec<Value> = block.lines().map(normalize).collect();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let got: Vec<Value> = stdout.lines().map(normalize).collect();
    assert_eq!(got, shown);
}

/// The one launcher clears the child's environment: only PATH from the test process (which
/// cargo fills with `CARGO_*` variables) and what the test sets reach the child.
#[test]
fn the_launcher_passes_only_path_and_what_a_test_sets() {
    assert!(
        std::env::vars_os().any(|(name, _)| name != "PATH"),
        "the test process has more than PATH to leak"
    );
    let output = crate::support::launcher::clean_command("env")
        .env("CODEX_HOME", "/nonexistent")
        .output()
        .expect("run env");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut names: Vec<&str> = text.lines().filter_map(|l| l.split('=').next()).collect();
    names.sort_unstable();
    let mut expected = vec!["CODEX_HOME"];
    if std::env::var_os("PATH").is_some() {
        expected.push("PATH");
    }
    assert_eq!(names, expected, "{text}");
}
