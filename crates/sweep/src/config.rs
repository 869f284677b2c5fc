//! `sweep.toml`, parsed strictly: errors name the file, line and field.
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;
use trustmap_connector::Connector;
use trustmap_model::line_of;

use crate::registry::build_connector;

/// Errors name the file and line (and the field in the message).
pub type ConfigError = trustmap_model::ConfigFileError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    sweep: SweepDef,
    #[serde(default)]
    connectors: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    sinks: Vec<Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepDef {
    partners: Spanned<String>,
    #[serde(default = "default_dormant")]
    dormant_after_days: i64,
    #[serde(default = "default_age")]
    max_credential_age_days: i64,
    /// The state file that remembers findings across runs (`--state` overrides it).
    #[serde(default)]
    state: Option<String>,
    /// How many connectors run at once (default 4).
    #[serde(default = "default_concurrency")]
    concurrency: usize,
}

fn default_dormant() -> i64 {
    90
}
fn default_age() -> i64 {
    365
}
fn default_concurrency() -> usize {
    4
}

/// A validated sweep configuration with its connectors built.
pub struct SweepConfig {
    pub file: PathBuf,
    pub base_dir: PathBuf,
    pub partners_file: PathBuf,
    pub state_file: Option<PathBuf>,
    pub dormant_after_days: i64,
    pub max_credential_age_days: i64,
    pub concurrency: usize,
    pub connectors: Vec<Box<dyn Connector>>,
    /// `[[sinks]]`: where finding events (opened, reopened, resolved) go.
    pub sinks: Vec<Box<dyn trustmap_sinks::Sink>>,
}

pub fn load_config(file: &Path) -> Result<SweepConfig, ConfigError> {
    let text = ConfigError::read(file)?;
    parse_config(file, &text)
}

pub fn parse_config(file: &Path, text: &str) -> Result<SweepConfig, ConfigError> {
    let invalid = |line: usize, message: String| ConfigError::Invalid {
        file: file.to_path_buf(),
        line,
        message,
    };
    let def: FileDef = toml::from_str(text).map_err(|e| {
        invalid(
            e.span().map_or(0, |s| line_of(text, s.start)),
            e.message().to_string(),
        )
    })?;
    if def.sweep.dormant_after_days < 1 || def.sweep.max_credential_age_days < 1 {
        return Err(invalid(
            1,
            "[sweep]: dormant_after_days and max_credential_age_days must be at least 1".into(),
        ));
    }
    let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut connectors = Vec::new();
    let mut names = std::collections::HashMap::new();
    for (i, spanned) in def.connectors.into_iter().enumerate() {
        let line = line_of(text, spanned.span().start);
        let mut table = spanned.into_inner();
        let kind = match table.remove("type") {
            Some(toml::Value::String(s)) => s,
            _ => {
                return Err(invalid(
                    line,
                    format!(
                        "connector #{}: field `type` is missing or not a string",
                        i + 1
                    ),
                ))
            }
        };
        let name = match table.remove("name") {
            Some(toml::Value::String(s)) => s,
            Some(_) => {
                return Err(invalid(
                    line,
                    format!("connector #{}: field `name` must be a string", i + 1),
                ))
            }
            None => format!("{kind}-{}", i + 1),
        };
        if let Some(first) = names.insert(name.clone(), line) {
            return Err(invalid(
                line,
                format!("connector {name:?}: field `name`: duplicate, first used on line {first}"),
            ));
        }
        let c = build_connector(&kind, name.clone(), table)
            .map_err(|m| invalid(line, format!("connector {name:?} ({kind}): {m}")))?;
        connectors.push(c);
    }
    let mut sinks = Vec::new();
    for spanned in def.sinks {
        let line = line_of(text, spanned.span().start);
        let sink = trustmap_sinks::build_sink(spanned.into_inner(), &base_dir)
            .map_err(|m| invalid(line, format!("sink: {m}")))?;
        sinks.push(sink);
    }
    let partners_file = {
        let p = PathBuf::from(def.sweep.partners.get_ref());
        if p.is_absolute() {
            p
        } else {
            base_dir.join(p)
        }
    };
    let state_file = def.sweep.state.as_deref().map(|p| {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            base_dir.join(p)
        }
    });
    Ok(SweepConfig {
        state_file,
        file: file.to_path_buf(),
        base_dir,
        partners_file,
        dormant_after_days: def.sweep.dormant_after_days,
        max_credential_age_days: def.sweep.max_credential_age_days,
        concurrency: def.sweep.concurrency.max(1),
        connectors,
        sinks,
    })
}
