//! Policy checks over the attributed identity graph, and the other queries over it: the exit
//! plan of a partner and the HTML report's view.
//!
//! Each check is one file under `checks/` implementing [`Check`], registered in [`all_checks`].
//! A check reads the graph and the registry and returns findings; it never mutates anything
//! and knows nothing about connectors or output formats. Severity follows the lifecycle: a live
//! credential of a revoked partner is critical, a dormant key of an active partner is medium.

mod checks;
pub mod exit_plan;
pub mod report_view;
mod util;

use chrono::NaiveDate;
use trustmap_graph::Graph;
use trustmap_model::{Finding, Memory};
use trustmap_partners::Registry;

pub use exit_plan::{exit_plan, verify, Basis, UnknownPartner};
pub use report_view::report_view;
pub use util::parse_day;

/// Thresholds from `[sweep]` in sweep.toml, and the date the sweep is "as of".
#[derive(Debug, Clone)]
pub struct Settings {
    pub today: NaiveDate,
    pub dormant_after_days: i64,
    pub max_credential_age_days: i64,
    /// A partner expiring within this many days gets a `review_due` checkpoint.
    pub renew_before_days: i64,
    /// RFC 3339 time stamped on findings.
    pub now: String,
}

/// Everything a check may read.
pub struct CheckContext<'a> {
    pub graph: &'a Graph,
    pub registry: &'a Registry,
    pub settings: &'a Settings,
    /// What the state store remembers of earlier runs (empty without one): scope drift and
    /// the time since a partner's revocation read it.
    pub memory: &'a Memory,
}

/// One policy check.
pub trait Check: Send + Sync {
    /// The finding kind it produces (`dormant_access`, ...).
    fn id(&self) -> &'static str;
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding>;
}

/// Every check, in report order.
pub fn all_checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(checks::leaked_secret::LeakedSecret),
        Box::new(checks::lingering_access::LingeringAccess),
        Box::new(checks::unknown_external_access::UnknownExternalAccess),
        Box::new(checks::missing_external_id::MissingExternalId),
        Box::new(checks::nested_access::NestedAccess),
        Box::new(checks::over_scoped::OverScoped),
        Box::new(checks::shared_credential::SharedCredential),
        Box::new(checks::dormant_access::DormantAccess),
        Box::new(checks::stale_credential::StaleCredential),
        Box::new(checks::unowned_identity::UnownedIdentity),
        Box::new(checks::missing_governance::MissingGovernance),
        Box::new(checks::review_due::ReviewDue),
        Box::new(checks::scope_drift::ScopeDrift),
    ]
}

/// Run every check (in parallel: they are independent readers); findings sorted by severity,
/// then id.
pub fn run_checks(ctx: &CheckContext<'_>) -> Vec<Finding> {
    use rayon::prelude::*;
    let parts: Vec<Vec<Finding>> = all_checks().par_iter().map(|c| c.run(ctx)).collect();
    // Move each part into one vector sized up front: no transient second copy of everything.
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        out.extend(part);
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
    out.dedup_by(|a, b| a.id == b.id);
    out
}
