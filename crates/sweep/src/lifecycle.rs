//! The partner lifecycle over the state file: exit plans verified against a new sweep or the
//! latest recorded run, and a partner's audit pack.
use std::time::Duration;
use trustmap_graph::Graph;
use trustmap_model::Memory;
use trustmap_policy::{Basis, UnknownPartner};
use trustmap_report::evidence::{
    EvidenceFinding, EvidenceIdentity, EvidencePack, EvidenceRun, RegistryEntry,
};
use trustmap_report::exit_plan::ExitPlan;
use trustmap_store::{StateLocation, StateStore};

use crate::{Plan, SweepError, SweepRun};

/// Reading the state file for a report waits this long for a sweep writing it.
const READ_WAIT: Duration = Duration::from_secs(30);

/// The state file, which must exist (these views read what sweeps recorded).
fn open_existing(state: &StateLocation) -> Result<Box<dyn StateStore + Send>, SweepError> {
    if !state.exists() {
        return Err(SweepError::NoState(state.to_string()));
    }
    Ok(state.open(READ_WAIT)?)
}

/// The partner, or the error naming the known ones.
fn partner<'a>(plan: &'a Plan, id: &str) -> Result<&'a trustmap_partners::Partner, UnknownPartner> {
    plan.registry.partner(id).ok_or_else(|| UnknownPartner {
        partner: id.to_string(),
        file: plan.registry.file.clone(),
        known: plan
            .registry
            .partners
            .iter()
            .map(|p| p.id.clone())
            .collect(),
    })
}

impl SweepRun {
    /// The partner's exit plan from this run, each step marked still present, and what the
    /// state file remembered of the partner (read before the run) marked gone or unknown.
    pub fn verified_exit_plan(
        &self,
        plan: &Plan,
        partner: &str,
    ) -> Result<ExitPlan, UnknownPartner> {
        let mut exit = self.exit_plan(plan, partner)?;
        let connectors: Vec<(String, bool)> = self
            .connectors
            .iter()
            .map(|c| (c.name.clone(), c.complete()))
            .collect();
        trustmap_policy::verify(
            &mut exit,
            &plan.registry,
            &self.memory,
            &Basis::Sweep {
                graph: &self.graph,
                connectors: &connectors,
            },
            &plan.settings.now,
        );
        Ok(exit)
    }
}

/// The partner's exit plan verified against the latest run recorded in `state`, no sweep.
pub fn exit_plan_from_state(
    plan: &Plan,
    state: &StateLocation,
    partner: &str,
) -> Result<ExitPlan, SweepError> {
    let memory = open_existing(state)?.memory()?;
    let empty = Graph::build(Vec::new());
    let mut exit = trustmap_policy::exit_plan(
        &empty,
        &plan.registry,
        &[],
        partner,
        plan.settings.today,
        plan.config.dormant_after_days,
    )?;
    trustmap_policy::verify(
        &mut exit,
        &plan.registry,
        &memory,
        &Basis::LatestRun,
        &plan.settings.now,
    );
    Ok(exit)
}

fn identities(memory: &Memory, family: &[String]) -> Vec<EvidenceIdentity> {
    let latest = memory.latest_run.as_ref().map(|(s, _)| s.as_str());
    let mut out: Vec<EvidenceIdentity> = memory
        .nodes
        .values()
        .filter_map(|n| {
            let partner = n.partner.as_ref().filter(|p| family.contains(p))?;
            Some(EvidenceIdentity {
                id: n.id.clone(),
                kind: n.kind.clone(),
                subtype: n.subtype.clone(),
                name: n.name.clone(),
                partner: partner.clone(),
                first_seen: n.first_seen.clone(),
                last_seen: n.last_seen.clone(),
                present: Some(n.last_seen.as_str()) == latest,
                scopes: n
                    .scopes
                    .iter()
                    .map(|(s, d)| (s.clone(), d.clone()))
                    .collect(),
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.first_seen, &a.id).cmp(&(&b.first_seen, &b.id)));
    out
}

/// The audit pack of `partner`: its registry entry, what the state file remembers of it,
/// its findings with their dates, its status changes and every recorded run.
pub fn evidence(
    plan: &Plan,
    state: &StateLocation,
    partner_id: &str,
) -> Result<EvidencePack, SweepError> {
    let p = partner(plan, partner_id)?;
    let store = open_existing(state)?;
    let memory = store.memory()?;
    let family = plan.registry.with_subcontractors(partner_id);
    let subjects: std::collections::HashSet<&str> = memory
        .nodes
        .values()
        .filter(|n| n.partner.as_ref().is_some_and(|x| family.contains(x)))
        .map(|n| n.id.as_str())
        .collect();
    let mut findings: Vec<EvidenceFinding> = store
        .findings(None)?
        .into_iter()
        .filter(|f| {
            f.partner.as_ref().is_some_and(|x| family.contains(x))
                || f.subject.as_deref().is_some_and(|s| subjects.contains(s))
        })
        .map(|f| EvidenceFinding {
            id: f.id,
            kind: f.kind.as_str().to_string(),
            severity: f.severity.as_str().to_string(),
            title: f.title,
            subject: f.subject,
            partner: f.partner,
            status: f.status.as_str().to_string(),
            opened: f.first_seen,
            last_seen: f.last_seen,
            resolved: f.resolved_at,
            ticket: f.ticket,
            suppressed_because: f.reason,
        })
        .collect();
    findings.sort_by(|a, b| (&a.opened, &a.id).cmp(&(&b.opened, &b.id)));
    let mut runs: Vec<EvidenceRun> = store
        .history(usize::MAX >> 1)?
        .into_iter()
        .map(|r| EvidenceRun {
            id: r.id,
            started: r.started,
            ended: r.ended,
            connectors: r.connectors,
            new: r.new,
            open: r.open,
            reopened: r.reopened,
            resolved: r.resolved,
            gaps: r.gaps,
        })
        .collect();
    runs.reverse();
    Ok(EvidencePack {
        generated: plan.settings.now.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        state_file: state.to_string(),
        partner: RegistryEntry {
            id: p.id.clone(),
            name: p.name.clone(),
            status: p.status.as_str().to_string(),
            sponsor: p.sponsor.clone(),
            purpose: p.purpose.clone(),
            expires: p.expires.map(|d| d.to_string()),
            last_reviewed: p.last_reviewed.map(|d| d.to_string()),
            review_every_days: p.review_every_days,
            review_due: p.review_due().map(|d| d.to_string()),
            via: p.via.clone(),
            allowed_scopes: p.allowed_scopes.clone(),
            subcontractors: family.iter().skip(1).cloned().collect(),
            source: format!("{}:{}", plan.registry.file.display(), p.line),
        },
        identities: identities(&memory, &family),
        findings,
        status_changes: memory
            .changes
            .iter()
            .filter(|c| family.contains(&c.partner))
            .cloned()
            .collect(),
        runs,
    })
}
