//! Command-line layers over `config.toml`, as Codex applies them: a profile file
//! (`--profile NAME`) and `-c key=value` overrides, merged into the parsed TOML table before the
//! typed [`Config`](super::Config) is built. Generic over the table: a key this crate does not
//! honour is carried along and ignored (logged at debug level), so honouring a new key only
//! needs the typed view in `raw.rs`.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use toml::{Table, Value};

/// Top-level keys (or tables) of the typed config; overrides of any other key are ignored.
const HONOURED_KEYS: [&str; 5] = [
    "cli_auth_credentials_store",
    "forced_login_method",
    "forced_chatgpt_workspace_id",
    "model_provider",
    "model_providers",
];

/// One `-c key=value` (`--config`): a dotted key and a TOML value.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigOverride {
    /// The dotted path, e.g. `model_providers.local.requires_openai_auth`.
    pub key: String,
    /// The value: parsed as TOML, else the raw text (outer quotes stripped) as a string.
    pub value: Value,
}

/// Why a `-c` argument is not `key=value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideSyntaxError {
    /// No `=` in the argument.
    #[error("invalid override (missing '='): {0}")]
    MissingEquals(String),
    /// Nothing before the `=`.
    #[error("empty key in override: {0}")]
    EmptyKey(String),
}

impl FromStr for ConfigOverride {
    type Err = OverrideSyntaxError;

    /// Codex's rules: split at the first `=`, trim both halves, parse the value as a TOML value
    /// and fall back to the raw text as a string (`-c model=o3` needs no quotes).
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let (key, value) = raw
            .split_once('=')
            .ok_or_else(|| OverrideSyntaxError::MissingEquals(raw.to_owned()))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(OverrideSyntaxError::EmptyKey(raw.to_owned()));
        }
        let value = value.trim();
        let value = toml_value(value).unwrap_or_else(|| {
            Value::String(value.trim_matches(|c| c == '"' || c == '\'').to_owned())
        });
        Ok(ConfigOverride {
            key: key.to_owned(),
            value,
        })
    }
}

impl ConfigOverride {
    /// Codex's `--enable NAME` / `--disable NAME`: `features.NAME = true|false`.
    pub fn feature(name: &str, enabled: bool) -> Self {
        ConfigOverride {
            key: format!("features.{name}"),
            value: Value::Boolean(enabled),
        }
    }
}

/// `text` as a TOML value, if it is one.
fn toml_value(text: &str) -> Option<Value> {
    let mut table: Table = toml::from_str(&format!("value = {text}")).ok()?;
    table.remove("value")
}

/// The command-line layers, in Codex's precedence: `config.toml` < the profile < `-c`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--profile NAME`.
    pub profile: Option<String>,
    /// Every `-c key=value` (and `--enable`/`--disable FEATURE` as `features.FEATURE`), in
    /// command-line order; a later one wins.
    pub values: Vec<ConfigOverride>,
}

impl Overrides {
    /// True when there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.profile.is_none() && self.values.is_empty()
    }
}

/// Where the profile `name` lives: Codex 0.171's `$CODEX_HOME/<name>.config.toml`.
pub fn profile_path(codex_home: &Path, name: &str) -> PathBuf {
    codex_home.join(format!("{name}.config.toml"))
}

/// Merges `layer` into `base`: tables merge key by key, any other value replaces.
pub(super) fn merge(base: &mut Table, layer: Table) {
    for (key, value) in layer {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(incoming)) => merge(existing, incoming),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Sets `value` at the dotted `key`, creating (or replacing non-table values with) tables on
/// the way, as Codex does.
pub(super) fn apply(table: &mut Table, key: &str, value: Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or(key);
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        let Value::Table(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.to_owned(), value);
}

/// Logs the override of a key this crate does not use.
pub(super) fn note_ignored(key: &str) {
    let top = key.split('.').next().unwrap_or(key);
    if !HONOURED_KEYS.contains(&top) {
        tracing::debug!(target: "auth_core", key, "config override of a key we do not use; ignored");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> ConfigOverride {
        raw.parse().unwrap()
    }

    #[test]
    fn values_are_toml_else_strings() {
        assert_eq!(parsed("a=42").value, Value::Integer(42));
        assert_eq!(parsed("a = true").value, Value::Boolean(true));
        assert_eq!(parsed(r#"a="x=y""#).value, Value::String("x=y".into()));
        assert_eq!(parsed("a=o3").value, Value::String("o3".into()));
        assert_eq!(parsed("a='half").value, Value::String("half".into()));
        assert_eq!(
            parsed(r#"a=["p", "q"]"#).value,
            Value::Array(vec!["p".into(), "q".into()])
        );
        assert_eq!(parsed(" x.y.z =1").key, "x.y.z");
        assert_eq!(
            "novalue".parse::<ConfigOverride>(),
            Err(OverrideSyntaxError::MissingEquals("novalue".into()))
        );
        assert_eq!(
            " =1".parse::<ConfigOverride>(),
            Err(OverrideSyntaxError::EmptyKey(" =1".into()))
        );
    }

    #[test]
    fn dotted_keys_create_and_replace_tables() {
        let mut table: Table = toml::from_str("a = 1\n[t]\nkeep = true\n").unwrap();
        apply(&mut table, "t.new", Value::Integer(2));
        apply(&mut table, "a.b", Value::Integer(3));
        apply(&mut table, "top", Value::Integer(4));
        let expected: Table =
            toml::from_str("top = 4\n[a]\nb = 3\n[t]\nkeep = true\nnew = 2\n").unwrap();
        assert_eq!(table, expected);
    }

    #[test]
    fn layers_merge_tables_and_replace_values() {
        let mut base: Table = toml::from_str("x = 1\n[p.a]\nkeep = 1\nswap = 1\n").unwrap();
        merge(
            &mut base,
            toml::from_str("x = [2]\n[p.a]\nswap = 2\n[p.b]\nnew = 3\n").unwrap(),
        );
        let expected: Table =
            toml::from_str("x = [2]\n[p.a]\nkeep = 1\nswap = 2\n[p.b]\nnew = 3\n").unwrap();
        assert_eq!(base, expected);
    }
}
