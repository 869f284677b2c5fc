//! Secret-detection rules as data (`rules/*.toml`) and the engine that runs them over bytes.
//!
//! [`Engine::scan`] takes one buffer and returns [`RawMatch`]es placed at line and column of
//! that buffer. It knows nothing about files, git, partners or output formats: connectors feed
//! it bytes and turn its matches into observations.

pub mod check;
pub mod decode;
pub mod engine;
pub mod filters;
pub mod incremental;
pub mod rule;
pub mod validators;

pub use check::{check_examples, ExampleFailure};
pub use engine::{first_occurrences, looks_binary, CompiledRule, Engine, RawMatch, ALLOW_MARKER};
pub use incremental::{scan_edit, scan_whole, EditScan};
pub use rule::{builtin_rules, load_rule_dir, parse_rule_file, RuleDef, RuleError, SourcedRule};
pub use validators::{
    aws_account_from_key_id, aws_key_id_for_account, base62_crc32, Hints, ValidatorKind,
};
