//! The command line: `app-server [--listen stdio://]` serves stdio; `generate-json-schema` and
//! `generate-ts` write the schema trees of `protocol::schema` to a directory.

use std::path::{Path, PathBuf};

/// `app-server` command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "app-server",
    version,
    about = "Codex-compatible auth app-server (JSON-RPC over stdio)"
)]
pub struct Cli {
    /// Transport to serve; only `stdio://` is supported.
    #[arg(long, default_value = "stdio://")]
    pub listen: String,
    /// Export a schema tree instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write the JSON Schema tree (`<Type>.json`, `v2/<Type>.json`) to `--out`.
    GenerateJsonSchema {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the TypeScript tree (`<Type>.ts`, `v2/<Type>.ts`, `index.ts`) to `--out`.
    GenerateTs {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Writes the `json/` or `typescript/` part of the schema set under `out`.
pub fn export_schema(command: &Command) -> std::io::Result<()> {
    let (prefix, out) = match command {
        Command::GenerateJsonSchema { out } => ("json/", out),
        Command::GenerateTs { out } => ("typescript/", out),
    };
    for (relative, contents) in protocol::schema::generate() {
        if let Some(rest) = relative.strip_prefix(prefix) {
            let path = out.join(rest);
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
            std::fs::write(path, contents)?;
        }
    }
    Ok(())
}
