//! The checked-in `schema/` tree must equal `protocol::schema::generate()` (PROTOCOL.md §8).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const STALE: &str = "schema/ is stale; run: cargo run -p protocol --bin gen_schema";

fn schema_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema")
}

fn checked_in(dir: &Path, root: &Path, files: &mut BTreeMap<String, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("read schema dir").path();
        if path.is_dir() {
            checked_in(&path, root, files);
        } else {
            let relative = path.strip_prefix(root).expect("under schema/");
            let key = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let contents =
                std::fs::read_to_string(&path).unwrap_or_else(|e| format!("<unreadable: {e}>"));
            files.insert(key, contents);
        }
    }
}

/// The first differing lines of two texts, for the failure message.
fn first_difference(expected: &str, actual: &str) -> String {
    let (mut e, mut a) = (expected.lines(), actual.lines());
    for number in 1.. {
        match (e.next(), a.next()) {
            (None, None) => return "  (line endings differ)".into(),
            (x, y) if x == y => continue,
            (x, y) => {
                return format!("  line {number}:\n  - generated:  {x:?}\n  + checked in: {y:?}");
            }
        }
    }
    String::new()
}

#[test]
fn schema_directory_is_fresh() {
    let root = schema_root();
    let mut on_disk = BTreeMap::new();
    checked_in(&root.join("json"), &root, &mut on_disk);
    checked_in(&root.join("typescript"), &root, &mut on_disk);
    let generated: BTreeMap<String, String> = protocol::schema::generate().into_iter().collect();

    let mut problems = Vec::new();
    for (path, contents) in &generated {
        match on_disk.get(path) {
            None => problems.push(format!("missing: schema/{path}")),
            Some(disk) if disk != contents => {
                problems.push(format!(
                    "differs: schema/{path}\n{}",
                    first_difference(contents, disk)
                ));
            }
            Some(_) => {}
        }
    }
    for path in on_disk.keys().filter(|p| !generated.contains_key(*p)) {
        problems.push(format!("stale extra file: schema/{path}"));
    }
    assert!(problems.is_empty(), "{}\n{STALE}", problems.join("\n"));
}

#[test]
fn app_server_exports_the_same_trees() {
    use app_server::cli::Command;
    use app_server::commands::schema::export_schema;
    let out = tempfile::tempdir().unwrap();
    let json_dir = out.path().join("json");
    let ts_dir = out.path().join("typescript");
    export_schema(&Command::GenerateJsonSchema {
        out: json_dir.clone(),
    })
    .unwrap();
    export_schema(&Command::GenerateTs {
        out: ts_dir.clone(),
    })
    .unwrap();
    let mut exported = BTreeMap::new();
    checked_in(&json_dir, out.path(), &mut exported);
    checked_in(&ts_dir, out.path(), &mut exported);
    let generated: BTreeMap<String, String> = protocol::schema::generate().into_iter().collect();
    assert_eq!(exported, generated);
}
