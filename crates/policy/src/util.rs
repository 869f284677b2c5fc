//! Helpers shared by the checks: dates, partner lookups, finding construction.
use chrono::NaiveDate;
use serde_json::{Map, Value};
use trustmap_graph::{Node, NodeKind};
use trustmap_model::{fingerprint, Finding, FindingKind, FindingStatus, Severity, Subject};
use trustmap_partners::Partner;

use crate::CheckContext;

/// The day of `YYYY-MM-DD` or an RFC 3339 time.
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// The partner a node is attributed to, if it is a partner (not an internal owner).
pub fn partner_of<'a>(ctx: &'a CheckContext<'_>, n: &Node) -> Option<&'a Partner> {
    let owner = n.attribution.as_ref()?.owner.strip_prefix("partner:")?;
    ctx.registry.partner(owner)
}

/// Nodes that carry access: identities and credentials.
pub fn is_access(n: &Node) -> bool {
    matches!(n.kind, NodeKind::Identity | NodeKind::Credential)
}

pub struct Draft<'a> {
    pub kind: FindingKind,
    pub severity: Severity,
    pub node: &'a Node,
    pub title: String,
    pub remediation: String,
    pub reference: &'static str,
    pub evidence: Map<String, Value>,
    /// Extra parts of the fingerprint beyond kind and subject (e.g. the trusted principal).
    pub key: Vec<String>,
}

pub fn finding(ctx: &CheckContext<'_>, d: Draft<'_>) -> Finding {
    let mut parts: Vec<&str> = vec![d.kind.as_str(), &d.node.id];
    parts.extend(d.key.iter().map(String::as_str));
    let attribution = d.node.attribution.as_ref();
    let partner = attribution
        .and_then(|a| a.owner.strip_prefix("partner:"))
        .map(str::to_string);
    let mut evidence = d.evidence;
    if let Some(a) = attribution {
        evidence.insert("attributed_to".into(), a.owner.clone().into());
        evidence.insert("matched".into(), a.matched.clone().into());
        if !a.ties.is_empty() {
            evidence.insert("attribution_ties".into(), a.ties.clone().into());
        }
    }
    if !d.node.sources.is_empty() {
        evidence.insert("sources".into(), d.node.sources.clone().into());
    }
    Finding {
        id: fingerprint(&parts),
        kind: d.kind,
        severity: d.severity,
        title: d.title,
        subject: Subject {
            id: d.node.id.clone(),
            kind: d.node.subtype.clone(),
            name: d.node.name.clone(),
        },
        partner,
        chain: attribution.map(|a| a.chain.clone()).unwrap_or_default(),
        rule: None,
        location: None,
        evidence,
        remediation: d.remediation,
        references: vec![d.reference.to_string()],
        status: FindingStatus::New,
        first_seen: ctx.settings.now.clone(),
        last_seen: ctx.settings.now.clone(),
    }
}
