//! `generate-json-schema` and `generate-ts`: write part of `protocol::schema::generate()`.

use std::path::Path;

/// Writes every generated file whose path starts with `prefix` (`json/` or `typescript/`) under
/// `out`, without the prefix, creating directories as needed.
pub fn export(prefix: &str, out: &Path) -> std::io::Result<()> {
    for (relative, contents) in protocol::schema::generate() {
        if let Some(rest) = relative.strip_prefix(prefix) {
            let path = out.join(rest);
            std::fs::create_dir_all(path.parent().unwrap_or(out))?;
            std::fs::write(path, contents)?;
        }
    }
    Ok(())
}
