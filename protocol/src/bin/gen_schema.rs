//! Rewrites `schema/json` and `schema/typescript` from `protocol::schema::generate()`, deleting stale files.
use std::path::Path;

fn main() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema");
    for dir in ["json", "typescript"] {
        match std::fs::remove_dir_all(root.join(dir)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    for (relative, contents) in protocol::schema::generate() {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap_or(&root))?;
        std::fs::write(&path, contents)?;
    }
    Ok(())
}
