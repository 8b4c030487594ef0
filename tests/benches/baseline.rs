//! `stdio-baseline`: the least a JSON-RPC stdio server can do, for the benchmark to compare
//! against. It reads a line, parses it with serde_json, and writes a fixed `getAuthStatus`-shaped
//! result with the request's id, flushed after every message like the real server.

use std::io::{BufRead, Write};

/// The same shape and about the same size as the real server's answer with `includeToken`.
const RESULT: &str = concat!(
    r#"{"authMethod":"chatgpt","authToken":"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."#,
    "eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjQ0MzMiLCJhdWQiOlsiaHR0cHM6Ly9hcGkub3BlbmFpLmNvbS92MSJdLCJzdWIi",
    "OiJ1c2VyLWRlbW8iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMCwianRpIjoiYWJjZGVmZ2hpamtsbW5vcHFy",
    "c3R1diIsImh0dHBzOi8vYXBpLm9wZW5haS5jb20vYXV0aCI6eyJjaGF0Z3B0X3BsYW5fdHlwZSI6InBsdXMiLCJjaGF0Z3B0",
    r#"X3VzZXJfaWQiOiJ1c2VyLWRlbW8ifX0.fake-signature","requiresOpenaiAuth":true}"#,
);

fn main() -> std::io::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut out = Vec::with_capacity(1024);
    for line in stdin.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        out.clear();
        match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(message) => {
                let id = message
                    .get("id")
                    .cloned()
                    .unwrap_or(serde_json::Value::Null);
                out.extend_from_slice(b"{\"id\":");
                serde_json::to_writer(&mut out, &id)?;
                out.extend_from_slice(b",\"result\":");
                out.extend_from_slice(RESULT.as_bytes());
                out.extend_from_slice(b"}\n");
            }
            Err(_) => out.extend_from_slice(
                b"{\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}\n",
            ),
        }
        stdout.write_all(&out)?;
        stdout.flush()?;
    }
    Ok(())
}
