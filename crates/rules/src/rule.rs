//! Rule files: parsing, with errors that name the file, line and field.
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;
pub(crate) use trustmap_model::line_of;
use trustmap_model::Severity;

use crate::validators::ValidatorKind;

/// One rule as written in `rules/*.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub id: Spanned<String>,
    pub name: String,
    /// The secret is the capture group named `secret`, else the first group, else the match.
    /// Other named groups become attribution hints (`account`, `host`, `user`, ...).
    pub regex: Spanned<String>,
    /// Literal strings (matched case-insensitively); the regex only runs near one of them.
    pub keywords: Vec<String>,
    #[serde(default)]
    pub entropy_min: Option<f64>,
    #[serde(default)]
    pub validator: Option<ValidatorKind>,
    pub severity: Severity,
    /// The identity the secret reveals: provider and credential kind.
    pub reveals: Reveals,
    /// A generic assignment rule (`password = "..."`): stricter filtering, and it yields to any
    /// specific rule that matched the same text.
    #[serde(default)]
    pub generic: bool,
    /// The secret may span lines (PEM blocks): the regex sees up to `window` bytes after the
    /// keyword.
    #[serde(default)]
    pub multiline: bool,
    /// For a multi-line rule, how far after its keyword the regex looks (bytes, 64 to 65536;
    /// default 16384). A small window for a common keyword keeps scans and history fast.
    #[serde(default)]
    pub window: Option<Spanned<usize>>,
    /// Where two rules match the same text, the higher priority wins (default 0).
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub remediation: Option<String>,
    /// Hints found near the secret (within [`crate::engine::NEAR_BYTES`] either side): hint
    /// name → a regex whose first group is the value, e.g. the client id next to a client
    /// secret. The closest match wins.
    #[serde(default)]
    pub near: std::collections::BTreeMap<String, String>,
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
}

/// What identity a secret reveals.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reveals {
    pub provider: String,
    pub kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rules: Vec<RuleDef>,
}

/// A rule together with the file it came from.
#[derive(Debug, Clone)]
pub struct SourcedRule {
    pub def: RuleDef,
    pub file: PathBuf,
    pub line: usize,
}

/// What can go wrong loading rules. Each variant names the file and, where known, the line.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{file}: cannot read rules: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Parse {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{file}:{line}: rule {rule:?}, field `{field}`: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        rule: String,
        field: &'static str,
        message: String,
    },
    #[error("{dir}: no rule files (*.toml) found")]
    Empty { dir: PathBuf },
}

/// Parse one rule file's text.
pub fn parse_rule_file(file: &Path, text: &str) -> Result<Vec<SourcedRule>, RuleError> {
    let parsed: RuleFile = toml::from_str(text).map_err(|e| RuleError::Parse {
        file: file.to_path_buf(),
        line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
        message: e.message().to_string(),
    })?;
    Ok(parsed
        .rules
        .into_iter()
        .map(|def| {
            let line = line_of(text, def.id.span().start);
            SourcedRule {
                def,
                file: file.to_path_buf(),
                line,
            }
        })
        .collect())
}

/// Load every `*.toml` in a directory, sorted by file name.
pub fn load_rule_dir(dir: &Path) -> Result<Vec<SourcedRule>, RuleError> {
    let rd = std::fs::read_dir(dir).map_err(|source| RuleError::Read {
        file: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(RuleError::Empty {
            dir: dir.to_path_buf(),
        });
    }
    let mut rules = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|source| RuleError::Read {
            file: f.clone(),
            source,
        })?;
        rules.extend(parse_rule_file(&f, &text)?);
    }
    Ok(rules)
}

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// The rules shipped in the repository's `rules/` directory, compiled into the binary.
pub fn builtin_rules() -> Result<Vec<SourcedRule>, RuleError> {
    let mut rules = Vec::new();
    for (name, text) in builtin::BUILTIN_RULE_FILES {
        rules.extend(parse_rule_file(&Path::new("rules").join(name), text)?);
    }
    Ok(rules)
}
