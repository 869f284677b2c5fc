//! Helpers shared by the checks: dates, partner lookups, finding construction.
use chrono::NaiveDate;
use serde_json::{Map, Value};
use trustmap_graph::{Node, NodeKind};
use trustmap_model::{
    fingerprint, Attribution, Finding, FindingKind, FindingStatus, Severity, Subject,
};
use trustmap_partners::Partner;

use crate::CheckContext;

/// The day of `YYYY-MM-DD` or an RFC 3339 time.
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// The partner a node is attributed to, if it is a partner (not an internal owner).
pub fn partner_of<'a>(ctx: &'a CheckContext<'_>, n: &Node) -> Option<&'a Partner> {
    ctx.registry.partner(n.attribution.as_ref()?.partner()?)
}

/// `aws:s3:*` allows `aws:s3:GetObject`; an exact scope allows itself.
pub fn allowed_by(scope: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| {
        a == scope
            || a.strip_suffix('*')
                .is_some_and(|prefix| scope.starts_with(prefix))
    })
}

/// Nodes that carry access: identities and credentials. People of the estate's own domains
/// (staff bound in IAM) are not: trustmap is about non-human and outside access.
pub fn is_access(n: &Node) -> bool {
    matches!(n.kind, NodeKind::Identity | NodeKind::Credential) && !is_staff(n)
}

/// A person of the estate's own domain (`[sweep] internal`, the Workspace's domain).
pub fn is_staff(n: &Node) -> bool {
    trustmap_model::is_person_kind(&n.subtype)
        && n.attribution
            .as_ref()
            .is_some_and(|a| a.owner == trustmap_model::Attributee::Internal)
}

/// A credential for the age and use checks: a credential node, or an identity that is itself
/// a key (a deploy key, an SSH key, a fine-grained token's grant), however the connector
/// chose to model it.
pub fn is_credential_like(n: &Node) -> bool {
    n.kind == NodeKind::Credential
        || n.kind == NodeKind::Identity && trustmap_model::is_key_like_kind(&n.subtype)
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

/// Whose the subject is, what matched and any ties, as every finding's evidence says it.
pub fn attribution_evidence(evidence: &mut Map<String, Value>, a: &Attribution) {
    evidence.insert("attributed_to".into(), a.owner.to_string().into());
    evidence.insert("matched".into(), a.matched.clone().into());
    if !a.ties.is_empty() {
        let ties: Vec<String> = a.ties.iter().map(ToString::to_string).collect();
        evidence.insert("attribution_ties".into(), ties.into());
    }
}

pub fn finding(ctx: &CheckContext<'_>, d: Draft<'_>) -> Finding {
    let mut parts: Vec<&str> = vec![d.kind.as_str(), &d.node.id];
    parts.extend(d.key.iter().map(String::as_str));
    let attribution = d.node.attribution.as_ref();
    let partner = attribution.and_then(|a| a.partner()).map(str::to_string);
    let mut evidence = d.evidence;
    if let Some(a) = attribution {
        attribution_evidence(&mut evidence, a);
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
        sources: d.node.sources.clone(),
    }
}

/// Entra permissions that are administration in all but name: who holds them can read every
/// mailbox, rewrite the directory or grant itself anything.
const ENTRA_ADMIN_PERMISSIONS: &[&str] = &[
    "Mail.ReadWrite",
    "Directory.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "AppRoleAssignment.ReadWrite.All",
    "Application.ReadWrite.All",
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "Files.ReadWrite.All",
    "Sites.FullControl.All",
    "full_access_as_app",
];

/// Google Cloud roles and Workspace OAuth scopes that are administration in all but name (the
/// basic roles, acting as any service account, full Gmail, Drive or directory access). Roles
/// named `*Admin` count through the generic rule.
pub fn is_google_admin(scope: &str) -> bool {
    const ROLES: &[&str] = &[
        "roles/owner",
        "roles/editor",
        "roles/iam.serviceAccountTokenCreator",
        "roles/iam.serviceAccountUser",
        "roles/iam.workloadIdentityUser",
    ];
    const OAUTH: &[&str] = &[
        "https://mail.google.com/",
        "https://www.googleapis.com/auth/drive",
        "https://www.googleapis.com/auth/cloud-platform",
        "https://www.googleapis.com/auth/gmail.modify",
    ];
    if let Some(role) = scope.strip_prefix("gcp:") {
        return ROLES.contains(&role);
    }
    scope.strip_prefix("oauth:").is_some_and(|s| {
        OAUTH.contains(&s) || s.starts_with("https://www.googleapis.com/auth/admin.")
    })
}

/// Kubernetes permissions that are cluster administration in all but name: `cluster-admin`,
/// any wildcard verb or resource, the verbs that escalate (`escalate`, `bind`, `impersonate`)
/// and reading Secrets (every token and password in the namespace).
pub fn is_k8s_admin(scope: &str) -> bool {
    if scope == "k8s:cluster-admin" {
        return true;
    }
    let Some((verb, resource)) = scope.strip_prefix("k8s:").and_then(|s| s.split_once(':')) else {
        return false;
    };
    verb == "*"
        || resource == "*"
        || resource.ends_with("/*")
        || resource.starts_with("*/")
        || matches!(verb, "escalate" | "bind" | "impersonate")
        || resource == "secrets" && matches!(verb, "get" | "list" | "watch")
}

/// The permission of an `entra:<resource>:<permission>` scope.
fn entra_permission(scope: &str) -> Option<&str> {
    scope
        .strip_prefix("entra:")?
        .rsplit_once(':')
        .map(|(_, p)| p)
}

/// An Entra permission that counts as admin (see [`ENTRA_ADMIN_PERMISSIONS`]).
pub fn is_entra_admin(scope: &str) -> bool {
    entra_permission(scope).is_some_and(|p| {
        ENTRA_ADMIN_PERMISSIONS
            .iter()
            .any(|a| a.eq_ignore_ascii_case(p))
    })
}

/// An Entra permission that writes, or reads mail or files: what makes lingering access
/// critical whatever the partner's state.
pub fn is_entra_sensitive(scope: &str) -> bool {
    entra_permission(scope).is_some_and(|p| {
        p.contains("ReadWrite")
            || p.contains("FullControl")
            || p.starts_with("Mail.")
            || p.starts_with("Files.")
            || p.starts_with("Sites.")
            || p == "full_access_as_app"
    })
}
