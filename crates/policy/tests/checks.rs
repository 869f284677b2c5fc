//! Each check and the attribution it relies on, on small graphs built from observations.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::path::Path;
use trustmap_attribution::Estate;
use trustmap_graph::Graph;
use trustmap_model::{Finding, Observation};
use trustmap_partners::parse_registry;
use trustmap_policy::{all_checks, CheckContext, Settings};

const PARTNERS: &str = r#"
[[partners]]
id = "acme"
name = "Acme"
sponsor = "a@corp.example"
purpose = "p"
status = "active"
expires = "2027-01-01"
review_every_days = 90
last_reviewed = "2026-10-01"
allowed_scopes = ["aws:s3:GetObject"]
[partners.match]
aws_accounts = ["111122223333"]
name_patterns = ["acme-*"]

[[partners]]
id = "sub"
name = "Sub"
sponsor = "a@corp.example"
purpose = "p"
via = "acme"
status = "active"
expires = "2027-01-01"
review_every_days = 90
last_reviewed = "2026-10-01"
[partners.match]
aws_accounts = ["444455556666"]

[[partners]]
id = "gone"
name = "Gone"
sponsor = "a@corp.example"
purpose = "p"
status = "suspended"
expires = "2027-01-01"
[partners.match]
name_patterns = ["gone-*"]

[[partners]]
id = "late"
name = "Late"
sponsor = "a@corp.example"
purpose = "p"
status = "active"
expires = "2026-06-30"
review_every_days = 90
last_reviewed = "2026-10-01"
[partners.match]
name_patterns = ["late-*"]
"#;

fn run(lines: &[&str], check: &str) -> (Graph, Vec<Finding>) {
    run_with(PARTNERS, lines, check)
}

fn run_with(partners: &str, lines: &[&str], check: &str) -> (Graph, Vec<Finding>) {
    run_remembering(partners, lines, check, &trustmap_model::Memory::default())
}

fn run_remembering(
    partners: &str,
    lines: &[&str],
    check: &str,
    memory: &trustmap_model::Memory,
) -> (Graph, Vec<Finding>) {
    let registry = parse_registry(Path::new("partners.toml"), partners).unwrap();
    let obs: Vec<Observation> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut graph = Graph::build(obs);
    trustmap_attribution::attribute(&mut graph, &registry, &Estate::default());
    let settings = Settings {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
        dormant_after_days: 90,
        max_credential_age_days: 365,
        renew_before_days: 30,
        now: "2026-11-22T00:00:00Z".into(),
    };
    let ctx = CheckContext {
        graph: &graph,
        registry: &registry,
        settings: &settings,
        memory,
    };
    let c = all_checks().into_iter().find(|c| c.id() == check).unwrap();
    let findings = c.run(&ctx);
    (graph, findings)
}

fn role(name: &str) -> String {
    format!(
        r#"{{"type":"identity","id":"aws:1:role/{name}","kind":"aws_iam_role","name":"{name}","last_used":"2026-11-20","created":"2026-01-01"}}"#
    )
}

fn trust(from: &str, to: &str, cond: &str) -> String {
    format!(
        r#"{{"type":"edge","from":"aws:1:role/{from}","to":"{to}","kind":"trusts","conditions":{{{cond}}}}}"#
    )
}

#[test]
fn nested_access_follows_a_three_hop_trust_chain_to_a_subcontractor() {
    let lines = [
        role("a"),
        role("b"),
        role("c"),
        trust("a", "aws:1:role/b", ""),
        trust("b", "aws:1:role/c", ""),
        trust("c", "aws-account:444455556666", ""),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (g, findings) = run(&refs, "nested_access");
    let a = g.node("aws:1:role/a").unwrap().attribution.clone().unwrap();
    assert_eq!(a.owner, "partner:sub");
    assert_eq!(
        a.chain,
        vec![
            "partner:acme",
            "partner:sub",
            "aws-account:444455556666",
            "aws:1:role/c",
            "aws:1:role/b",
            "aws:1:role/a"
        ]
    );
    assert_eq!(findings.len(), 3, "a, b and c all reach in through acme");
    assert!(findings.iter().all(|f| f.partner.as_deref() == Some("sub")));
}

#[test]
fn trust_cycles_terminate_and_leave_identities_unowned() {
    let lines = [
        role("x"),
        role("y"),
        trust("x", "aws:1:role/y", ""),
        trust("y", "aws:1:role/x", ""),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (_, findings) = run(&refs, "unowned_identity");
    assert_eq!(findings.len(), 2);
}

#[test]
fn open_oidc_trust_is_critical_and_a_scoped_one_is_not_flagged() {
    let lines = [
        role("open"),
        role("wild"),
        role("scoped"),
        trust(
            "open",
            "oidc:token.actions.githubusercontent.com",
            r#""token.actions.githubusercontent.com:aud":"sts.amazonaws.com""#,
        ),
        trust(
            "wild",
            "oidc:token.actions.githubusercontent.com",
            r#""token.actions.githubusercontent.com:sub":"repo:*""#,
        ),
        trust(
            "scoped",
            "oidc:token.actions.githubusercontent.com",
            r#""token.actions.githubusercontent.com:sub":"repo:corp/app:ref:refs/heads/main""#,
        ),
        role("stranger"),
        trust("stranger", "aws-account:999999999999", ""),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (_, findings) = run(&refs, "unknown_external_access");
    let subjects: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.subject.id.as_str(), f.severity.as_str()))
        .collect();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(subjects.contains(&("aws:1:role/open", "critical")));
    assert!(subjects.contains(&("aws:1:role/wild", "critical")));
    assert!(subjects.contains(&("aws:1:role/stranger", "high")));
}

#[test]
fn missing_external_id_only_without_the_condition() {
    let lines = [
        role("with"),
        role("without"),
        trust(
            "with",
            "aws-account:111122223333",
            r#""sts:ExternalId":"abc""#,
        ),
        trust("without", "aws-account:111122223333", ""),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (_, findings) = run(&refs, "missing_external_id");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].subject.id, "aws:1:role/without");
}

#[test]
fn lingering_access_for_suspended_and_expired_partners_only() {
    let lines = [role("gone-sync"), role("late-export"), role("acme-reader")];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (_, findings) = run(&refs, "lingering_access");
    let mut got: Vec<(String, String)> = findings
        .iter()
        .map(|f| (f.subject.name.clone(), f.severity.as_str().to_string()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("gone-sync".to_string(), "high".to_string()),
            ("late-export".to_string(), "high".to_string())
        ]
    );
}

#[test]
fn dormant_and_stale_use_the_configured_thresholds() {
    let lines = [
        r#"{"type":"identity","id":"u:idle","kind":"aws_iam_user","name":"acme-idle","last_used":"2026-07-01"}"#,
        r#"{"type":"identity","id":"u:never","kind":"aws_iam_user","name":"acme-never","created":"2026-01-01"}"#,
        r#"{"type":"identity","id":"u:busy","kind":"aws_iam_user","name":"acme-busy","last_used":"2026-11-20"}"#,
        r#"{"type":"credential","id":"k:old","kind":"aws_access_key","holder":"u:busy","created":"2025-01-01","last_used":"2026-11-20"}"#,
        r#"{"type":"credential","id":"k:rotated","kind":"aws_access_key","holder":"u:busy","created":"2024-01-01","last_rotated":"2026-10-01","last_used":"2026-11-20"}"#,
    ];
    let (_, dormant) = run(&lines, "dormant_access");
    let mut d: Vec<&str> = dormant.iter().map(|f| f.subject.id.as_str()).collect();
    d.sort();
    assert_eq!(d, vec!["u:idle", "u:never"]);
    assert!(
        dormant.iter().all(|f| f.severity.as_str() == "medium"),
        "a dormant key of an active partner is medium"
    );
    let (_, stale) = run(&lines, "stale_credential");
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].subject.id, "k:old");
}

#[test]
fn over_scoped_flags_wildcards_and_scopes_beyond_approval() {
    let lines = [
        r#"{"type":"identity","id":"u:ok","kind":"aws_iam_user","name":"acme-ok","scopes":["aws:s3:GetObject"]}"#,
        r#"{"type":"identity","id":"u:put","kind":"aws_iam_user","name":"acme-put","scopes":["aws:s3:GetObject","aws:s3:PutObject"]}"#,
        r#"{"type":"identity","id":"u:star","kind":"aws_iam_user","name":"acme-star","scopes":["aws:s3:*"]}"#,
        r#"{"type":"identity","id":"u:internal","kind":"aws_iam_user","name":"internal-admin","scopes":["aws:iam:*"]}"#,
    ];
    let (_, findings) = run(&lines, "over_scoped");
    let mut got: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.subject.id.as_str(), f.severity.as_str()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("u:internal", "high"),
            ("u:put", "high"),
            ("u:star", "critical")
        ]
    );
}

#[test]
fn shared_secrets_and_governance_gaps() {
    let leak = |path: &str| {
        format!(
            r#"{{"type":"secret","rule":"stripe-secret-key","rule_name":"Stripe live secret key","severity":"critical","digest":"abc123","redacted":"sk_l********","path":"{path}","line":3}}"#
        )
    };
    let lines = [leak("repo-a/.env"), leak("repo-b/config.yml")];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (_, shared) = run(&refs, "shared_credential");
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].evidence["places"].as_array().unwrap().len(), 2);
    let (_, gaps) = run(&[], "missing_governance");
    let titles: Vec<&str> = gaps.iter().map(|f| f.title.as_str()).collect();
    assert!(
        titles
            .iter()
            .any(|t| t.contains("Late") && t.contains("expired on 2026-06-30")),
        "{titles:?}"
    );
    assert!(
        titles
            .iter()
            .any(|t| t.contains("Sub: subcontractor of acme")),
        "{titles:?}"
    );
    assert_eq!(gaps.len(), 2, "{titles:?}");
}

#[test]
fn an_app_installed_by_a_partner_but_owned_by_another_organisation_is_nested() {
    let lines = [
        r#"{"type":"identity","id":"gh:corp:installation/1","kind":"github_app_installation","name":"acme-bi","identifiers":["aws_account:111122223333"]}"#,
        r#"{"type":"edge","from":"github-org:shadyco","to":"gh:corp:installation/1","kind":"owns"}"#,
        r#"{"type":"identity","id":"gh:corp:installation/2","kind":"github_app_installation","name":"acme-sync"}"#,
    ];
    let (_, findings) = run(&lines, "nested_access");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].subject.id, "gh:corp:installation/1");
    assert_eq!(findings[0].evidence["owned_by"], "github-org:shadyco");
    assert_eq!(findings[0].evidence["owner_attribution"], "nobody");
}

#[test]
fn a_deploy_key_modelled_as_an_identity_is_checked_like_a_credential() {
    // A write deploy key created two years ago and never rotated (issue: key-like identities).
    let key = r#"{"type":"identity","id":"github:corp/web:deploy-key/7","kind":"github_deploy_key","name":"ci","created":"2024-10-01","last_used":"2026-11-20","scopes":["github:contents:write"]}"#;
    let (_, stale) = run(&[key], "stale_credential");
    assert_eq!(stale.len(), 1, "{stale:#?}");
    assert_eq!(stale[0].subject.id, "github:corp/web:deploy-key/7");
    assert_eq!(stale[0].evidence["age_days"], 782);
    // An ordinary identity of the same age is no credential.
    let role = r#"{"type":"identity","id":"aws:1:role/old","kind":"aws_iam_role","name":"old","created":"2024-10-01","last_used":"2026-11-20"}"#;
    assert!(run(&[role], "stale_credential").1.is_empty());
}

#[test]
fn review_due_marks_renewals_and_overdue_reviews_while_access_remains() {
    let partner = |id: &str, status: &str, expires: &str, review: &str| {
        format!(
            "[[partners]]\nid = \"{id}\"\nname = \"{id}\"\nsponsor = \"s@corp.example\"\npurpose = \"p\"\nstatus = \"{status}\"\nexpires = \"{expires}\"\n{review}\n[partners.match]\nname_patterns = [\"{id}-*\"]\n\n"
        )
    };
    let current = "review_every_days = 365\nlast_reviewed = \"2026-10-01\"";
    let partners = [
        partner("soon", "active", "2026-11-27", current),
        partner("month", "active", "2026-12-12", current),
        partner("later", "active", "2027-03-01", current),
        // No access left: nothing to renew, yet its review is overdue.
        partner(
            "idle",
            "active",
            "2026-11-30",
            "review_every_days = 90\nlast_reviewed = \"2026-06-01\"",
        ),
        partner(
            "held",
            "approved",
            "2027-06-01",
            "review_every_days = 90\nlast_reviewed = \"2026-06-01\"",
        ),
        // Revoked: what remains is lingering access, not a renewal.
        partner("cut", "revoked", "2026-11-30", current),
    ]
    .concat();
    let lines = [
        role("soon-etl"),
        role("soon-sync"),
        role("month-etl"),
        role("later-etl"),
        role("held-etl"),
        role("cut-etl"),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (_, findings) = run_with(&partners, &refs, "review_due");
    let mut got: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f.partner.as_deref().unwrap(),
                f.severity,
                f.title
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            "held medium held's review is overdue since 2026-08-30 (last reviewed 2026-06-01, every 90 days)",
            "idle low idle's review is overdue since 2026-08-30 (last reviewed 2026-06-01, every 90 days)",
            "month medium month expires in 20 days (2026-12-12): renew or revoke the 1 identities and credentials it holds",
            "soon high soon expires in 5 days (2026-11-27): renew or revoke the 2 identities and credentials it holds",
        ]
    );
    let soon = findings
        .iter()
        .find(|f| f.partner.as_deref() == Some("soon"))
        .unwrap();
    assert_eq!(
        soon.evidence["covers"],
        serde_json::json!(["aws:1:role/soon-etl", "aws:1:role/soon-sync"])
    );
    assert_eq!(soon.subject.id, "partner:soon");
    // The next cycle is a new finding: the fingerprint names the date.
    let month = findings
        .iter()
        .find(|f| f.partner.as_deref() == Some("month"))
        .unwrap();
    assert_ne!(soon.id, month.id);
}

fn remembered(
    id: &str,
    first_seen: &str,
    scopes: &[(&str, &str)],
) -> trustmap_model::RememberedNode {
    trustmap_model::RememberedNode {
        id: id.into(),
        kind: "identity".into(),
        subtype: "aws_iam_user".into(),
        name: id.into(),
        first_seen: first_seen.into(),
        last_seen: first_seen.into(),
        scopes: scopes
            .iter()
            .map(|(s, d)| ((*s).to_string(), (*d).to_string()))
            .collect(),
        ..Default::default()
    }
}

#[test]
fn scope_drift_names_what_was_added_since_the_baseline_and_when() {
    let user = |id: &str, scopes: &str| {
        format!(
            r#"{{"type":"identity","id":"{id}","kind":"aws_iam_user","name":"{id}","account":"111122223333","scopes":[{scopes}]}}"#
        )
    };
    let lines = [
        // Acme's user: GetObject at onboarding, PutObject since 11-10 (beyond approval), and
        // DeleteObject appearing in this run.
        user(
            "acme-export",
            r#""aws:s3:GetObject","aws:s3:PutObject","aws:s3:DeleteObject""#,
        ),
        // Unchanged since first seen: no finding.
        user("acme-steady", r#""aws:s3:GetObject""#),
        // Never seen before: this run is its baseline.
        user("acme-new", r#""aws:s3:GetObject","aws:s3:PutObject""#),
    ];
    let mut memory = trustmap_model::Memory::default();
    for node in [
        remembered(
            "acme-export",
            "2026-11-01T00:00:00Z",
            &[
                ("aws:s3:GetObject", "2026-11-01T00:00:00Z"),
                ("aws:s3:PutObject", "2026-11-10T00:00:00Z"),
            ],
        ),
        remembered(
            "acme-steady",
            "2026-11-01T00:00:00Z",
            &[("aws:s3:GetObject", "2026-11-01T00:00:00Z")],
        ),
    ] {
        memory.nodes.insert(node.id.clone(), node);
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (_, findings) = run_remembering(PARTNERS, &lines, "scope_drift", &memory);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f.subject.id, "acme-export");
    assert_eq!(
        f.severity,
        trustmap_model::Severity::High,
        "beyond allowed_scopes"
    );
    assert_eq!(
        f.title,
        "aws iam user acme-export gained permissions since first seen on 2026-11-01: aws:s3:DeleteObject (2026-11-22), aws:s3:PutObject (2026-11-10)"
    );
    assert_eq!(
        f.evidence["beyond_approved"],
        serde_json::json!(["aws:s3:DeleteObject", "aws:s3:PutObject"])
    );
    // The same drift is the same finding next run; one more scope is a new one.
    let (_, again) = run_remembering(PARTNERS, &lines, "scope_drift", &memory);
    assert_eq!(again[0].id, f.id);
    let grown = [user(
        "acme-export",
        r#""aws:s3:GetObject","aws:s3:PutObject","aws:s3:DeleteObject","aws:s3:ListBucket""#,
    )];
    let grown: Vec<&str> = grown.iter().map(String::as_str).collect();
    let (_, grown) = run_remembering(PARTNERS, &grown, "scope_drift", &memory);
    assert_ne!(grown[0].id, f.id);
}

#[test]
fn lingering_access_says_how_long_it_outlived_the_revocation() {
    let partners = PARTNERS.replace("status = \"suspended\"", "status = \"revoked\"");
    let lines = [
        r#"{"type":"identity","id":"aws:1:user/gone-sync","kind":"aws_iam_user","name":"gone-sync"}"#,
    ];
    // No memory: the day of the revocation is unknown.
    let (_, f) = run_with(&partners, &lines, "lingering_access");
    assert_eq!(
        f[0].title,
        "aws iam user gone-sync still active after Gone was revoked"
    );
    // The store saw it change on 2026-07-02.
    let mut memory = trustmap_model::Memory::default();
    memory.partners.insert(
        "gone".into(),
        trustmap_model::PartnerState {
            status: "revoked".into(),
            expires: None,
            recorded: "2026-11-21T00:00:00Z".into(),
        },
    );
    memory.changes.push(trustmap_model::PartnerChange {
        partner: "gone".into(),
        field: "status".into(),
        from: Some("active".into()),
        to: Some("revoked".into()),
        at: "2026-07-02T00:00:00Z".into(),
    });
    let (_, f) = run_remembering(&partners, &lines, "lingering_access", &memory);
    assert_eq!(
        f[0].title,
        "aws iam user gone-sync still active 143 days after Gone was revoked"
    );
    assert_eq!(f[0].evidence["days_since_end"], 143);
    // The registry changed since the latest run: the revocation is today's.
    memory.partners.get_mut("gone").unwrap().status = "active".into();
    let (_, f) = run_remembering(&partners, &lines, "lingering_access", &memory);
    assert_eq!(
        f[0].title,
        "aws iam user gone-sync still active 0 days after Gone was revoked"
    );
}
