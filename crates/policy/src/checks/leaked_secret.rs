//! A secret found in content, linked to the credential and partner it belongs to.
use trustmap_graph::{Node, NodeKind};
use trustmap_model::{
    leaked_secret_finding, EdgeKind, Finding, Leak, Severity, Subject, VerificationStatus,
};

use crate::util::{attribution_evidence, partner_of};
use crate::{Check, CheckContext};

pub struct LeakedSecret;

impl Check for LeakedSecret {
    fn id(&self) -> &'static str {
        "leaked_secret"
    }
    fn run(&self, ctx: &CheckContext<'_>) -> Vec<Finding> {
        let g = ctx.graph;
        g.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.kind == NodeKind::SecretLocation)
            .filter_map(|(i, n)| {
                let linked: Vec<&Node> = g
                    .outgoing(i)
                    .filter(|e| {
                        e.kind == EdgeKind::SameSecretAs
                            && g.nodes[e.to].kind == NodeKind::Credential
                    })
                    .map(|e| &g.nodes[e.to])
                    .collect();
                leak_finding(ctx, n, &linked)
            })
            .collect()
    }
}

/// The model's leak recipe (the same id, remediation and references `trustmap scan` gives),
/// plus what the graph knows: whose it is and which inventory credential it unlocks.
fn leak_finding(ctx: &CheckContext<'_>, n: &Node, linked: &[&Node]) -> Option<Finding> {
    let s = n.secret.as_ref()?;
    let live = linked.iter().any(|c| c.active);
    let partner = partner_of(ctx, n);
    // Revoked, suspended or past its expiry: nothing of this partner should still work.
    let forbids = partner.is_some_and(|p| {
        p.status.forbids_access() || p.expires.is_some_and(|e| e < ctx.settings.today)
    });
    let answered = s
        .verification
        .as_ref()
        .filter(|v| v.status != VerificationStatus::Unknown);
    let severity = match answered {
        // The issuer's answer is newer and surer than the inventory's `active` flag.
        Some(v) => v.adjust(s.severity, forbids),
        None if live && forbids => Severity::Critical,
        None => s.severity,
    };
    let mut f = leaked_secret_finding(
        Leak {
            rule: &s.rule,
            rule_name: &n.name,
            severity,
            digest: &s.digest,
            shown: s.redacted.clone(),
            path: &s.path,
            line: s.line,
            column: s.column,
            commit: s.commit.as_deref(),
            commit_date: s.commit_date.as_deref(),
            hints: &s.hints,
            remediation: s.remediation.as_deref(),
            verification: s.verification.as_ref(),
            subject: Subject {
                id: n.id.clone(),
                kind: n.subtype.clone(),
                name: n.name.clone(),
            },
        },
        &ctx.settings.now,
    );
    if let Some(p) = partner {
        f.title = format!("{} of {} in {}", n.name, p.name, s.path);
    }
    if !linked.is_empty() {
        let ids: Vec<String> = linked.iter().map(|c| c.id.clone()).collect();
        f.evidence.insert("credential".into(), ids.into());
        f.evidence.insert("credential_active".into(), live.into());
    }
    if let Some(a) = &n.attribution {
        f.partner = a.partner().map(str::to_string);
        f.chain.clone_from(&a.chain);
        attribution_evidence(&mut f.evidence, a);
    }
    f.sources.clone_from(&n.sources);
    Some(f)
}
