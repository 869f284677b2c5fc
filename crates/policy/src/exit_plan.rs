//! `trustmap exit-plan`: what a partner, and every subcontractor that came in through it, can
//! still use, from the attributed graph.
use std::collections::BTreeMap;
use trustmap_graph::{Graph, Node, NodeKind};
use trustmap_model::Finding;
use trustmap_partners::Registry;
use trustmap_report::exit_plan::{ExitPlan, Step, System};

fn action(n: &Node) -> &'static str {
    match (n.kind, n.subtype.as_str()) {
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
        (NodeKind::Credential, _) => "Revoke the credential",
        _ => "Disable or delete it",
    }
}

fn system(n: &Node) -> String {
    let prefix = n.id.split(':').next().unwrap_or("");
    match (n.kind, prefix) {
        (NodeKind::SecretLocation, _) => {
            let path = n
                .secret
                .as_ref()
                .map_or_else(|| n.name.clone(), |s| s.path.clone());
            let top = path.split('/').take(2).collect::<Vec<_>>().join("/");
            format!("Secrets in content: {top}")
        }
        (_, "aws") => format!(
            "AWS account {}",
            n.account
                .clone()
                .unwrap_or_else(|| n.id.split(':').nth(1).unwrap_or("?").to_string())
        ),
        (_, "github") => format!(
            "GitHub organisation {}",
            n.account.clone().unwrap_or_default()
        ),
        (_, "entra") => format!("Entra ID tenant {}", n.account.clone().unwrap_or_default()),
        (_, p) => format!("{p} {}", n.account.clone().unwrap_or_default()),
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
            action: action(n).to_string(),
            findings: by_subject
                .get(n.id.as_str())
                .map(|v| v.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default(),
            revoke: n.revoke.clone(),
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
    })
}
