//! The shared vocabulary of trustmap.
//!
//! Every other crate speaks in these types: [`Severity`], [`Finding`] (the finding JSON of
//! docs/architecture.md), [`Observation`] (what connectors emit: identities, credentials, external
//! principals, edges, leaked secrets), [`SecretMatch`] (a content match before it becomes an
//! observation), [`Secret`] (a value that redacts itself), [`fingerprint`] (the stable id),
//! [`Identifier`] (typed `aws_account:…` identifiers), [`Attribution`] (whose a node is) and
//! [`leaked_secret_finding`] (the one recipe for a leak finding).
//!
//! This crate must not know about connectors, rules, partners, output formats or I/O: it is
//! data plus the few pure functions that define its meaning. The one exception is [`env`],
//! the single module that reads environment variables, so that every name is in one place.

mod attribution;
mod config_error;
mod digest_key;
pub mod env;
mod finding;
mod identifier;
mod leak;
mod memory;
mod observation;
mod progress;
mod secret;
mod stats;
pub mod text;
mod verification;

pub use attribution::{Attributee, Attribution};
pub use config_error::ConfigFileError;
pub use digest_key::{digest_key, install_digest_key, BadDigestKey, DigestKey};
pub use finding::{
    fingerprint, Finding, FindingKind, FindingStatus, Location, Severity, SeverityParseError,
    Subject, UnknownName,
};
pub use identifier::{Identifier, IdentifierParseError};
pub use leak::{leak_id, leaked_secret_finding, Leak, DEFAULT_LEAK_REMEDIATION};
pub use memory::{Memory, PartnerChange, PartnerState, RememberedNode};
pub use observation::{
    is_key_like_kind, is_person_kind, CredentialObs, EdgeKind, EdgeObs, ExternalPrincipalObs,
    IdentityObs, Observation, Provenance, Revocation, SecretObs, ACTS_AS_TAG, BARE_NAME_TAG,
    KEY_LIKE_KINDS, WORKLOAD_IDENTITY_CONDITION,
};
pub use progress::{NoProgress, Progress};
pub use secret::{redact, Secret, SecretMatch};
pub use stats::{ScanStats, MAX_GAPS};
pub use verification::{Verification, VerificationStatus};

/// The 1-based line of a byte offset in `text` (for errors that name file, line and field).
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
