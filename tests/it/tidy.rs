//! Architecture rules checked by `cargo test`: the dependency direction of ARCHITECTURE-GUIDE
//! §2.2, "only the transport writes stdout", and the shape of this test binary (one launcher of
//! the real binary, helpers shared only through `support`).

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

const WORKSPACE_CRATES: [&str; 4] = ["protocol", "auth-core", "app-server", "tests"];

/// Every `(table, dependency name, spec)` of a manifest, including target-specific tables.
fn dependencies(manifest: &Path) -> Vec<(String, String, toml::Value)> {
    let text = std::fs::read_to_string(manifest).expect("read manifest");
    let doc: toml::Table = toml::from_str(&text).expect("parse manifest");
    let mut tables: Vec<(String, &toml::Value)> = Vec::new();
    for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(table) = doc.get(kind) {
            tables.push((kind.to_string(), table));
        }
        for (target, spec) in doc
            .get("target")
            .and_then(toml::Value::as_table)
            .into_iter()
            .flatten()
        {
            if let Some(table) = spec.get(kind) {
                tables.push((format!("target.{target}.{kind}"), table));
            }
        }
    }
    let mut out = Vec::new();
    for (kind, table) in tables {
        for (name, spec) in table.as_table().into_iter().flatten() {
            out.push((kind.clone(), name.clone(), spec.clone()));
        }
    }
    out
}

#[test]
fn protocol_and_auth_core_depend_on_no_workspace_crate() {
    for krate in ["protocol", "auth-core"] {
        for (kind, name, spec) in dependencies(&workspace().join(krate).join("Cargo.toml")) {
            let is_path = spec.get("path").is_some();
            assert!(
                !is_path && !WORKSPACE_CRATES.contains(&name.as_str()),
                "{krate} must not depend on a workspace crate: [{kind}] {name}"
            );
        }
    }
}

#[test]
fn protocol_does_no_io() {
    for (kind, name, _) in dependencies(&workspace().join("protocol/Cargo.toml")) {
        if kind == "dependencies" {
            assert!(
                !["tokio", "reqwest"].contains(&name.as_str()),
                "protocol must not depend on {name}"
            );
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn app_server_never_prints() {
    let mut files = Vec::new();
    rust_files(&workspace().join("app-server/src"), &mut files);
    assert!(!files.is_empty());
    let forbidden = ["println!", "eprintln!", "print!(", "eprint!(", "dbg!("];
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (number, line) in text.lines().enumerate() {
            for macro_name in forbidden {
                assert!(
                    !line.contains(macro_name),
                    "{}:{}: `{macro_name}` is forbidden; stdout carries protocol only, log with tracing",
                    file.display(),
                    number + 1
                );
            }
        }
    }
}

/// The `.rs` files of the `it` binary outside `support/`, with their path inside `it/`.
fn suite_files() -> Vec<(String, String)> {
    let root = workspace().join("tests/it");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let name = path
                .strip_prefix(&root)
                .ok()?
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("read source");
            (!name.starts_with("support/")).then_some((name, text))
        })
        .collect()
}

/// Every suite spawns the real binary through `support/launcher.rs`, which clears its
/// environment; no suite names the binary itself.
#[test]
fn the_real_binary_is_spawned_only_through_the_launcher() {
    let needle = concat!("CARGO_BIN", "_EXE");
    let files = suite_files();
    assert!(files.len() > 10, "{} suite files", files.len());
    for (name, text) in files {
        assert!(
            !text.contains(needle),
            "it/{name} names the binary: spawn it with crate::support::launcher"
        );
    }
}

/// A suite uses helpers of `support` only, never another suite's (a submodule reaches its own
/// suite through `super`).
#[test]
fn suites_share_helpers_only_through_support() {
    let needle = concat!("crate", "::");
    for (name, text) in suite_files() {
        for (at, _) in text.match_indices(needle) {
            let module: String = text[at + needle.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                module.is_empty() || module == "support",
                "it/{name} uses crate::{module}: move the helper to support"
            );
        }
    }
}
