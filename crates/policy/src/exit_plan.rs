//! `trustmap exit-plan`: what a partner, and every subcontractor that came in through it, can
//! still use, from the attributed graph.
use std::collections::{BTreeMap, BTreeSet};
use trustmap_graph::{Graph, Node, NodeKind};
use trustmap_model::{Finding, Memory, RememberedNode};
use trustmap_partners::Registry;
use trustmap_report::exit_plan::{ExitPlan, Step, System, Verdict, Verification};

/// What to do about a node of this kind and subtype.
fn action(kind: NodeKind, subtype: &str) -> &'static str {
    match (kind, subtype) {
        (NodeKind::SecretLocation, _) => {
            "Rotate the secret and purge it from the repository history"
        }
        (_, "aws_iam_user") => "Delete the user's access keys, then the user",
        (_, "aws_access_key") => "Deactivate, then delete the access key",
        (_, "aws_iam_role") => {
            "Remove the partner's principal from the trust policy, or delete the role"
        }
        (_, "github_app_installation") => "Uninstall the app from the organisation",
        (_, "github_deploy_key") => "Delete the deploy key",
        (_, "github_outside_collaborator") => "Remove the outside collaborator",
        (_, "github_webhook") => "Delete the webhook",
        (
            _,
            "github_pat_classic" | "github_oauth_token" | "github_ssh_key" | "github_credential",
        ) => "Revoke the credential's SAML SSO authorization",
        (_, "github_fine_grained_pat") => {
            "Revoke the fine-grained token's access to the organisation"
        }
        (_, "github_machine_user" | "github_user") => "Remove the account from the organisation",
        (_, "entra_service_principal") => {
            "Revoke its admin and user consents and app role assignments, then delete the service principal (Enterprise applications)"
        }
        (_, "entra_application") => {
            "Remove the partner's federated credentials and secrets from the app registration, or delete it"
        }
        (_, "entra_client_secret") => "Delete the client secret from the app registration",
        (_, "entra_certificate") => "Delete the certificate from the app registration",
        (_, "gcp_service_account") => "Disable, then delete the service account",
        (_, "gcp_service_account_key") => "Disable, then delete the key",
        (
            _,
            "gcp_user"
            | "gcp_group"
            | "gcp_domain"
            | "gcp_public"
            | "gcp_workforce_identity"
            | "gcp_external_service_account",
        ) => "Remove its IAM bindings",
        (_, "gcp_workload_identity_pool") => {
            "Remove the pool's IAM bindings, or disable the provider that trusts the partner"
        }
        (_, "workspace_oauth_app") => {
            "Block the app in the Admin console (App access control) and revoke users' tokens"
        }
        (NodeKind::Credential, _) => "Revoke the credential",
        _ => "Disable or delete it",
    }
}

fn system(n: &Node) -> String {
    let path = n
        .secret
        .as_ref()
        .map_or(n.name.as_str(), |s| s.path.as_str());
    system_of(n.kind, &n.id, n.account.as_deref(), path)
}

/// The system a node lives in, from its id and account (`path`: a secret's file).
fn system_of(kind: NodeKind, id: &str, account: Option<&str>, path: &str) -> String {
    let prefix = id.split(':').next().unwrap_or("");
    let account = account.unwrap_or_default();
    match (kind, prefix) {
        (NodeKind::SecretLocation, _) => {
            let top = path.split('/').take(2).collect::<Vec<_>>().join("/");
            format!("Secrets in content: {top}")
        }
        (_, "aws") if account.is_empty() => {
            format!("AWS account {}", id.split(':').nth(1).unwrap_or("?"))
        }
        (_, "aws") => format!("AWS account {account}"),
        (_, "github") => format!("GitHub organisation {account}"),
        (_, "entra") => format!("Entra ID tenant {account}"),
        (_, "gcp") if account.contains('/') => format!("Google Cloud {account}"),
        (_, "gcp") => format!("Google Cloud project {account}"),
        (_, "workspace") => format!("Google Workspace {account}"),
        (_, p) => format!("{p} {account}"),
    }
}

/// How urgent a step is (0 first) and what its use says: used recently, leaked, never used,
/// dormant, inactive.
fn usage(n: &Node, today: chrono::NaiveDate, dormant_after_days: i64) -> (u8, String) {
    let day = n
        .last_used
        .as_deref()
        .and_then(|d| d.get(..10))
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    match (n.active, day) {
        (false, _) => (3, "inactive".to_string()),
        (true, None) if n.kind == NodeKind::SecretLocation => (0, "leaked".to_string()),
        (true, None) if n.tags.get("usage").map(String::as_str) == Some("untracked") => {
            (1, "use not recorded by the source".to_string())
        }
        (true, None) => (1, "never used".to_string()),
        (true, Some(d)) if (today - d).num_days() <= dormant_after_days => {
            (0, "used recently".to_string())
        }
        (true, Some(d)) => (2, format!("dormant for {} days", (today - d).num_days())),
    }
}

/// An exit plan asked for a partner the registry does not have.
#[derive(Debug, thiserror::Error)]
#[error("no partner {partner:?} in {} (partners: {})", file.display(), known.join(", "))]
pub struct UnknownPartner {
    pub partner: String,
    pub file: std::path::PathBuf,
    pub known: Vec<String>,
}

/// The plan for `partner_id`, or an error naming the known partners.
pub fn exit_plan(
    graph: &Graph,
    registry: &Registry,
    findings: &[Finding],
    partner_id: &str,
    today: chrono::NaiveDate,
    dormant_after_days: i64,
) -> Result<ExitPlan, UnknownPartner> {
    let partner = registry.partner(partner_id).ok_or_else(|| UnknownPartner {
        partner: partner_id.to_string(),
        file: registry.file.clone(),
        known: registry.partners.iter().map(|p| p.id.clone()).collect(),
    })?;
    let tag = format!("partner:{partner_id}");
    let mut by_subject: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in findings {
        by_subject
            .entry(f.subject.id.as_str())
            .or_default()
            .push(f.id.as_str());
    }
    let mut systems: BTreeMap<String, Vec<(u8, Step)>> = BTreeMap::new();
    let mut subcontractors = std::collections::BTreeSet::new();
    for n in &graph.nodes {
        if !matches!(
            n.kind,
            NodeKind::Identity | NodeKind::Credential | NodeKind::SecretLocation
        ) {
            continue;
        }
        let Some(a) = &n.attribution else { continue };
        if !(a.partner() == Some(partner_id) || a.chain.iter().any(|c| c == &tag)) {
            continue;
        }
        let owner = a.partner().unwrap_or(partner_id).to_string();
        if owner != partner_id {
            subcontractors.insert(owner.clone());
        }
        let (rank, usage) = usage(n, today, dormant_after_days);
        let chain: Vec<&str> = a.chain.iter().map(String::as_str).collect();
        let step = Step {
            what: n.kind.as_str().to_string(),
            kind: n.subtype.clone(),
            name: n.name.clone(),
            id: n.id.clone(),
            partner: owner,
            evidence: format!("{} (chain: {})", a.matched, chain.join(" → ")),
            last_used: n.last_used.clone(),
            usage,
            action: action(n.kind, &n.subtype).to_string(),
            findings: by_subject
                .get(n.id.as_str())
                .map(|v| v.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default(),
            revoke: n.revoke.clone(),
            verdict: None,
            last_seen: None,
        };
        systems.entry(system(n)).or_default().push((rank, step));
    }
    let systems = systems
        .into_iter()
        .map(|(name, mut steps)| {
            steps.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
            System {
                name,
                steps: steps.into_iter().map(|(_, s)| s).collect(),
            }
        })
        .collect();
    Ok(ExitPlan {
        partner_id: partner.id.clone(),
        partner_name: partner.name.clone(),
        status: partner.status.as_str().to_string(),
        sponsor: partner.sponsor.clone(),
        expires: partner.expires.map(|d| d.to_string()),
        subcontractors: subcontractors.into_iter().collect(),
        systems,
        generated: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        verification: None,
    })
}

/// What `exit-plan --verify` compares the remembered access with.
pub enum Basis<'a> {
    /// A sweep just run (the plan was built from its graph): each configured connector and
    /// whether it ran fine.
    Sweep {
        graph: &'a Graph,
        connectors: &'a [(String, bool)],
    },
    /// No new sweep: the latest run recorded in the state file.
    LatestRun,
}

fn node_kind(kind: &str) -> NodeKind {
    match kind {
        "credential" => NodeKind::Credential,
        "secret_location" => NodeKind::SecretLocation,
        _ => NodeKind::Identity,
    }
}

/// Mark every step of `plan` (still present: the sweep saw it) and add what the state file
/// remembers of the partner that is no longer there: gone when every connector that had
/// seen it ran fine, unknown when one failed or is no longer configured.
pub fn verify(
    plan: &mut ExitPlan,
    registry: &Registry,
    memory: &Memory,
    basis: &Basis<'_>,
    checked_at: &str,
) {
    let (latest, connectors): (&str, &[(String, bool)]) = match basis {
        Basis::Sweep { connectors, .. } => (checked_at, connectors),
        Basis::LatestRun => memory
            .latest_run
            .as_ref()
            .map_or(("", &[][..]), |(stamp, c)| (stamp.as_str(), c.as_slice())),
    };
    let present: BTreeSet<String> = plan.steps().map(|s| s.id.clone()).collect();
    for sys in &mut plan.systems {
        for step in &mut sys.steps {
            step.verdict = Some(Verdict::StillPresent);
            step.last_seen = Some(latest.to_string());
        }
    }
    let ran_fine = |source: &String| connectors.iter().any(|(n, ok)| n == source && *ok);
    let family = registry.with_subcontractors(&plan.partner_id);
    let mut remembered: Vec<&RememberedNode> = memory
        .nodes
        .values()
        .filter(|r| r.partner.as_ref().is_some_and(|p| family.contains(p)))
        .filter(|r| !present.contains(&r.id))
        .collect();
    remembered.sort_by(|a, b| a.id.cmp(&b.id));
    for r in remembered {
        let verdict = match basis {
            Basis::LatestRun if r.last_seen == latest => Verdict::StillPresent,
            // Still there, though no longer attributed to the partner.
            Basis::Sweep { graph, .. } if graph.node(&r.id).is_some() => Verdict::StillPresent,
            _ if r.sources.iter().all(ran_fine) => Verdict::Gone,
            _ => Verdict::Unknown,
        };
        let kind = node_kind(&r.kind);
        let partner = r.partner.clone().unwrap_or_default();
        if partner != plan.partner_id && !plan.subcontractors.contains(&partner) {
            plan.subcontractors.push(partner.clone());
        }
        let step = Step {
            what: r.kind.clone(),
            kind: r.subtype.clone(),
            name: r.name.clone(),
            id: r.id.clone(),
            partner,
            evidence: format!(
                "remembered by the state file: first seen {}, last seen {}",
                r.first_seen, r.last_seen
            ),
            last_used: None,
            usage: match verdict {
                Verdict::StillPresent => "present in the latest run".to_string(),
                Verdict::Gone => "gone".to_string(),
                Verdict::Unknown => {
                    format!("not seen; connector failed ({})", r.sources.join(", "))
                }
            },
            action: action(kind, &r.subtype).to_string(),
            findings: Vec::new(),
            revoke: r.revoke.clone(),
            verdict: Some(verdict),
            last_seen: Some(r.last_seen.clone()),
        };
        let name = system_of(kind, &r.id, r.account.as_deref(), &r.name);
        match plan.systems.iter_mut().find(|s| s.name == name) {
            Some(sys) => sys.steps.push(step),
            None => plan.systems.push(System {
                name,
                steps: vec![step],
            }),
        }
    }
    plan.systems.sort_by(|a, b| a.name.cmp(&b.name));
    plan.verification = Some(Verification {
        checked_at: checked_at.to_string(),
        basis: match basis {
            Basis::Sweep { .. } => "a new sweep".to_string(),
            Basis::LatestRun => format!("the latest run in the state file ({latest})"),
        },
    });
}
