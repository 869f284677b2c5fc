//! `sweep.toml`, parsed strictly: errors name the file, line and field.
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;
use trustmap_connector::Connector;
use trustmap_model::{line_of, Identifier};
use trustmap_store::StateLocation;

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
    #[serde(default)]
    verify: Option<Spanned<VerifyDef>>,
}

/// `[verify]`: how `verify = true` asks issuers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyDef {
    /// Issuer name → base URL (`slack = "https://slack.example"`).
    #[serde(default)]
    endpoints: std::collections::BTreeMap<String, String>,
    concurrency: Option<usize>,
    requests_per_second: Option<f64>,
    timeout_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepDef {
    partners: Spanned<String>,
    #[serde(default = "default_dormant")]
    dormant_after_days: i64,
    #[serde(default = "default_age")]
    max_credential_age_days: i64,
    /// A partner expiring within this many days gets a `review_due` checkpoint.
    #[serde(default = "default_renew_before")]
    renew_before_days: i64,
    /// The state file that remembers findings across runs (`--state` overrides it).
    #[serde(default)]
    state: Option<String>,
    /// A file holding the estate's digest key (else the state file keeps it).
    #[serde(default)]
    digest_key_file: Option<String>,
    /// How many connectors run at once (default 4).
    #[serde(default = "default_concurrency")]
    concurrency: usize,
    /// Other own estates (`aws_account:210987654321`, `github_org:corp-labs`, ...): trusts
    /// and grants to them are not external access. The swept ones are implied.
    #[serde(default)]
    internal: Vec<Spanned<String>>,
    /// Ask each found secret's issuer whether it is live (`[verify]` says how).
    #[serde(default)]
    verify: bool,
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
fn default_renew_before() -> i64 {
    30
}

/// A `[[sinks]]` table, kept unbuilt until something is to be delivered: building reads the
/// sink's credentials, which `trustmap graph` and `exit-plan` must not need.
pub struct SinkDef {
    pub line: usize,
    pub table: toml::Table,
}

/// A validated sweep configuration with its connectors built (no credentials read yet).
pub struct SweepConfig {
    pub file: PathBuf,
    pub base_dir: PathBuf,
    pub partners_file: PathBuf,
    /// `[sweep] state`: a file (relative to sweep.toml) or a `postgres://` URL.
    pub state: Option<StateLocation>,
    /// `[sweep] digest_key_file`.
    pub digest_key_file: Option<PathBuf>,
    pub dormant_after_days: i64,
    pub max_credential_age_days: i64,
    pub renew_before_days: i64,
    pub concurrency: usize,
    pub connectors: Vec<Box<dyn Connector>>,
    /// `[[sinks]]`: where finding events (opened, reopened, resolved) go.
    pub sinks: Vec<SinkDef>,
    /// `[sweep] internal`.
    pub internal: Vec<Identifier>,
    /// `[sweep] verify` (or `--verify`).
    pub verify: bool,
    /// `[verify]`.
    pub verify_options: trustmap_verify::VerifyOptions,
}

impl SweepConfig {
    /// Build the sinks (reading their credentials); errors name the file and line.
    pub fn build_sinks(&self) -> Result<Vec<Box<dyn trustmap_sinks::Sink>>, ConfigError> {
        self.sinks
            .iter()
            .map(|d| {
                trustmap_sinks::build_sink(d.table.clone(), &self.base_dir).map_err(|m| {
                    ConfigError::Invalid {
                        file: self.file.clone(),
                        line: d.line,
                        message: format!("sink: {m}"),
                    }
                })
            })
            .collect()
    }
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
    if def.sweep.renew_before_days < 0 {
        return Err(invalid(
            1,
            "[sweep]: renew_before_days must not be negative".into(),
        ));
    }
    if def.sweep.dormant_after_days < 1 || def.sweep.max_credential_age_days < 1 {
        return Err(invalid(
            1,
            "[sweep]: dormant_after_days and max_credential_age_days must be at least 1".into(),
        ));
    }
    // A bare `sweep.toml` has the empty path as its parent: that is the current directory.
    let base_dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let resolve = |p: &str| {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            base_dir.join(p)
        }
    };
    let connectors = def
        .connectors
        .into_iter()
        .enumerate()
        .map(|(i, spanned)| (i, line_of(text, spanned.span().start), spanned.into_inner()))
        .collect::<Vec<_>>();
    let sinks = def
        .sinks
        .into_iter()
        .map(|spanned| SinkDef {
            line: line_of(text, spanned.span().start),
            table: spanned.into_inner(),
        })
        .collect();
    let internal = def
        .sweep
        .internal
        .iter()
        .map(|s| {
            s.get_ref().parse::<Identifier>().map_err(|e| {
                invalid(
                    line_of(text, s.span().start),
                    format!("[sweep] internal: {e}"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let verify_options = verify_options(def.verify, text, &invalid)?;
    Ok(SweepConfig {
        state: state_of(def.sweep.state.as_deref(), &base_dir),
        digest_key_file: def.sweep.digest_key_file.as_deref().map(resolve),
        partners_file: resolve(def.sweep.partners.get_ref()),
        connectors: build_connectors(connectors, &invalid)?,
        file: file.to_path_buf(),
        base_dir,
        dormant_after_days: def.sweep.dormant_after_days,
        max_credential_age_days: def.sweep.max_credential_age_days,
        renew_before_days: def.sweep.renew_before_days,
        concurrency: def.sweep.concurrency.max(1),
        sinks,
        internal,
        verify: def.sweep.verify,
        verify_options,
    })
}

/// `[sweep] state`: a `postgres://` URL as it is, a file relative to sweep.toml.
fn state_of(state: Option<&str>, base_dir: &Path) -> Option<StateLocation> {
    state.map(|s| StateLocation::parse(s).relative_to(base_dir))
}

/// `[verify]` as options, checked: an unknown issuer or a bad URL names its line.
fn verify_options(
    def: Option<Spanned<VerifyDef>>,
    text: &str,
    invalid: &dyn Fn(usize, String) -> ConfigError,
) -> Result<trustmap_verify::VerifyOptions, ConfigError> {
    let mut options = trustmap_verify::VerifyOptions::default();
    let Some(def) = def else {
        return Ok(options);
    };
    let line = line_of(text, def.span().start);
    let def = def.into_inner();
    options.endpoints = def.endpoints;
    options.concurrency = def.concurrency.unwrap_or(options.concurrency);
    options.requests_per_second = def
        .requests_per_second
        .unwrap_or(options.requests_per_second);
    if let Some(s) = def.timeout_seconds {
        options.timeout = std::time::Duration::from_secs(s.max(1));
    }
    options
        .validate()
        .map_err(|m| invalid(line, format!("[verify] {m}")))?;
    Ok(options)
}

/// Each `[[connectors]]` table (position, line, table) built by its type; names are unique.
fn build_connectors(
    tables: Vec<(usize, usize, toml::Table)>,
    invalid: &dyn Fn(usize, String) -> ConfigError,
) -> Result<Vec<Box<dyn Connector>>, ConfigError> {
    let mut connectors = Vec::new();
    let mut names = std::collections::HashMap::new();
    for (i, line, mut table) in tables {
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
    Ok(connectors)
}
