//! The shared vocabulary of trustmap.
//!
//! Every other crate speaks in these types: [`Severity`], [`Finding`] (the finding JSON of
//! DESIGN.md), [`Observation`] (what connectors emit: identities, credentials, external
//! principals, edges, leaked secrets), [`SecretMatch`] (a content match before it becomes an
//! observation), [`Secret`] (a value that redacts itself) and [`fingerprint`] (the stable id).
//!
//! This crate must not know about connectors, rules, partners, output formats or I/O: it is
//! data plus the few pure functions that define its meaning.

mod config_error;
mod finding;
mod observation;
mod progress;
mod secret;
mod stats;

pub use config_error::ConfigFileError;
pub use finding::{
    fingerprint, Finding, FindingKind, FindingStatus, Location, Severity, SeverityParseError,
    Subject,
};
pub use observation::{
    CredentialObs, EdgeKind, EdgeObs, ExternalPrincipalObs, IdentityObs, Observation, Provenance,
    SecretObs,
};
pub use progress::{NoProgress, Progress};
pub use secret::{redact, Secret, SecretMatch};
pub use stats::{ScanStats, MAX_GAPS};

/// The 1-based line of a byte offset in `text` (for errors that name file, line and field).
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
