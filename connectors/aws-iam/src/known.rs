//! Known vendor accounts, from a YAML list in the format of the community "known AWS accounts"
//! list: `- name: Vendor / source: [urls] / accounts: ['123456789012']`. A match is a hint
//! about who an unknown external account probably is, never proof of ownership.
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
struct Entry {
    name: String,
    #[serde(default)]
    accounts: Vec<serde_yaml_ng::Value>,
}

/// Account id → vendor name.
#[derive(Debug, Clone, Default)]
pub struct KnownAccounts(HashMap<String, String>);

/// A known-accounts file that cannot be used; each names the file (and line when known).
#[derive(Debug, thiserror::Error)]
pub enum KnownAccountsError {
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        file: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}{at}: not a known-accounts list (expected `- name: ... accounts: [...]`): {source}", file.display())]
    Parse {
        file: std::path::PathBuf,
        /// `:LINE:COLUMN`, when the parser knows.
        at: String,
        source: serde_yaml_ng::Error,
    },
}

impl KnownAccounts {
    pub fn load(file: &Path) -> Result<Self, KnownAccountsError> {
        let text = std::fs::read_to_string(file).map_err(|source| KnownAccountsError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        Self::parse(file, &text)
    }

    pub fn parse(file: &Path, text: &str) -> Result<Self, KnownAccountsError> {
        let entries: Vec<Entry> =
            serde_yaml_ng::from_str(text).map_err(|source| KnownAccountsError::Parse {
                file: file.to_path_buf(),
                at: source
                    .location()
                    .map_or(String::new(), |l| format!(":{}:{}", l.line(), l.column())),
                source,
            })?;
        let mut map = HashMap::new();
        for e in entries {
            for a in e.accounts {
                let id = match a {
                    serde_yaml_ng::Value::String(s) => s,
                    serde_yaml_ng::Value::Number(n) => format!("{:0>12}", n.to_string()),
                    _ => continue,
                };
                map.entry(id).or_insert_with(|| e.name.clone());
            }
        }
        Ok(KnownAccounts(map))
    }

    pub fn vendor(&self, account: &str) -> Option<&str> {
        self.0.get(account).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_community_format() {
        let yaml = "- name: Datadog\n  source:\n    - https://docs.example/dd\n  accounts:\n    - '464622532012'\n- name: Numeric\n  source: https://x\n  accounts: [12345678901]\n";
        let k = KnownAccounts::parse(Path::new("k.yaml"), yaml).unwrap();
        assert_eq!(k.vendor("464622532012"), Some("Datadog"));
        assert_eq!(k.vendor("012345678901"), Some("Numeric"));
        assert_eq!(k.vendor("111122223333"), None);
        let err = KnownAccounts::parse(Path::new("k.yaml"), "- name: [oops\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("k.yaml:"), "{err}");
    }
}
