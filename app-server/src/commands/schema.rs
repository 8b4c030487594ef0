//! `generate-json-schema` and `generate-ts`: write part of `protocol::schema::generate()`.

use std::path::{Path, PathBuf};

use crate::cli::{AppServerCommand, Command};

/// Writes the `json/` or `typescript/` part of the schema set under `out` for the `generate-*`
/// commands (ours and Codex's under `app-server`); any other command is an `InvalidInput` error.
pub fn export_schema(command: &Command) -> std::io::Result<()> {
    match command {
        Command::GenerateJsonSchema { out } => export("json/", out).map(drop),
        Command::GenerateTs { out } => export("typescript/", out).map(drop),
        Command::AppServer(args) => match &args.command {
            Some(AppServerCommand::GenerateJsonSchema { out, .. }) => {
                export("json/", out).map(drop)
            }
            Some(AppServerCommand::GenerateTs {
                out, prettier: bin, ..
            }) => {
                let written = export("typescript/", out)?;
                match bin {
                    Some(bin) => prettier(bin, &written),
                    None => Ok(()),
                }
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a schema export command",
            )),
        },
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a schema export command",
        )),
    }
}

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
