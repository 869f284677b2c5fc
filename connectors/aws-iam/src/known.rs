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

impl KnownAccounts {
    pub fn load(file: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
        Self::parse(file, &text)
    }

    pub fn parse(file: &Path, text: &str) -> Result<Self, String> {
        let entries: Vec<Entry> = serde_yaml_ng::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map_or(String::new(), |l| format!(":{}:{}", l.line(), l.column()));
            format!(
                "{}{at}: not a known-accounts list (expected `- name: ... accounts: [...]`): {e}",
                file.display()
            )
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
        let err = KnownAccounts::parse(Path::new("k.yaml"), "- name: [oops\n").unwrap_err();
        assert!(err.starts_with("k.yaml:"), "{err}");
    }
}
