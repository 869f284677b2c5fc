//! One file per check.
pub mod dormant_access;
pub mod leaked_secret;
pub mod lingering_access;
pub mod missing_external_id;
pub mod missing_governance;
pub mod nested_access;
pub mod over_scoped;
pub mod review_due;
pub mod scope_drift;
pub mod shared_credential;
pub mod stale_credential;
pub mod unknown_external_access;
pub mod unowned_identity;
