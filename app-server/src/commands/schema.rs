//! `generate-json-schema` and `generate-ts`: write part of `protocol::schema::generate()`.

use std::path::{Path, PathBuf};

/// Writes every generated file whose path starts with `prefix` (`json/` or `typescript/`) under
/// `out`, without the prefix, creating directories as needed; returns the written paths.
pub fn export(prefix: &str, out: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (relative, contents) in protocol::schema::generate() {
        if let Some(rest) = relative.strip_prefix(prefix) {
            let path = out.join(rest);
            std::fs::create_dir_all(path.parent().unwrap_or(out))?;
            std::fs::write(&path, contents)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Formats `files` in place with `<bin> --write FILE…`, as Codex's `generate-ts --prettier`.
pub fn prettier(bin: &Path, files: &[PathBuf]) -> std::io::Result<()> {
    let status = std::process::Command::new(bin)
        .arg("--write")
        .args(files)
        .stdout(std::process::Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{} --write failed: {status}",
            bin.display()
        )))
    }
}
