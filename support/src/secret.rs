//! Secrets in config files (CONTRACT §2): passwords, tokens and database URLs may be given inline,
//! as `{ env = "NAME" }` or as `{ file = "PATH" }`, and are never printed.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A secret as the config file gives it. Resolve it once at start-up with [`Secret::resolve`].
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Secret {
    Inline(String),
    Env { env: String },
    File { file: PathBuf },
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    /// Reads the value: the variable, or the file relative to `base_dir` (its trailing newline
    /// dropped). The error names the variable or file, never a value.
    pub fn resolve(&self, base_dir: &Path) -> Result<SecretString, String> {
        match self {
            Secret::Inline(value) => Ok(SecretString(value.clone())),
            Secret::Env { env } => std::env::var(env)
                .map(SecretString)
                .map_err(|_| format!("environment variable {env} is not set")),
            Secret::File { file } => std::fs::read_to_string(base_dir.join(file))
                .map(|text| SecretString(text.trim_end_matches(['\n', '\r']).to_string()))
                .map_err(|error| format!("cannot read secret file {}: {error}", file.display())),
        }
    }
}

/// A resolved secret. `Debug` and `Display` show `***`; [`SecretString::expose`] is the one way to
/// the value, so every use of it is easy to find.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> SecretString {
        SecretString(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_env_or_file_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
        let secret = Secret::File { file: "pw".into() };
        let value = secret.resolve(dir.path()).unwrap();
        assert_eq!(value.expose(), "s3cret");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{value:?} {value}"), "*** ***");
        let missing = Secret::Env {
            env: "DHUB_TEST_SURELY_UNSET_VARIABLE".into(),
        };
        assert!(missing
            .resolve(dir.path())
            .unwrap_err()
            .contains("DHUB_TEST_SURELY_UNSET_VARIABLE"));
    }

    #[test]
    fn the_three_spellings_deserialize() {
        #[derive(Deserialize)]
        struct T {
            a: Secret,
            b: Secret,
            c: Secret,
        }
        let t: T = toml_like(r#"{"a":"x","b":{"env":"E"},"c":{"file":"f"}}"#);
        assert_eq!(t.a, Secret::Inline("x".into()));
        assert_eq!(t.b, Secret::Env { env: "E".into() });
        assert_eq!(t.c, Secret::File { file: "f".into() });
    }

    fn toml_like<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }
}
