//! Every output format, snapshotted (insta) from fixed findings, one of them hostile (a
//! formula for a title, backticks and a pipe in its id): a change to what readers see shows
//! up in review as a diff. Inputs carry fixed dates and relative paths, and the HTML's
//! embedded style and script (which have their own browser test) are cut, so the snapshots
//! hold only content.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::collections::BTreeMap;
use trustmap_model::{
    fingerprint, leaked_secret_finding, Finding, FindingKind, FindingStatus, Leak, Severity,
    Subject,
};
use trustmap_report::exit_plan::{
    to_html, to_markdown, ExitPlan, Step, System, Verdict, Verification,
};
use trustmap_report::html::{write_html, PartnerCard, View, ViewNode};
use trustmap_report::{write_findings, Format, RuleInfo, RunInfo};

const DAY: &str = "2026-11-22T00:00:00Z";

fn findings() -> Vec<Finding> {
    let hints = BTreeMap::from([("aws_account_id".to_string(), "111122223333".to_string())]);
    let mut leak = leaked_secret_finding(
        Leak {
            rule: "aws-access-key-id",
            rule_name: "AWS access key id",
            severity: Severity::High,
            digest: "0fbcdfde9edc5e687e5dd258",
            shown: "AKIA********".into(),
            path: "repos/payments/deploy/export.env",
            line: 3,
            column: 12,
            commit: Some("4b825dc642cb6eb9a060e54bf8d69288fbee4904"),
            commit_date: Some("2026-03-01T10:00:00Z"),
            hints: &hints,
            remediation: None,
            verification: None,
            subject: Subject {
                id: "secret:0fbcdfde9edc5e687e5dd258@repos/payments/deploy/export.env".into(),
                kind: "leaked_secret".into(),
                name: "AWS access key id".into(),
            },
        },
        DAY,
    );
    leak.partner = Some("acme".into());
    let other =
        |kind: FindingKind, severity, subject: &str, title: &str, partner: Option<&str>| Finding {
            id: fingerprint(&[kind.as_str(), subject]),
            kind,
            severity,
            title: title.into(),
            subject: Subject {
                id: subject.into(),
                kind: "aws_iam_user".into(),
                name: subject.rsplit('/').next().unwrap().into(),
            },
            partner: partner.map(str::to_string),
            chain: partner
                .map(|p| vec![format!("partner:{p}"), subject.to_string()])
                .unwrap_or_default(),
            rule: None,
            location: None,
            evidence: serde_json::from_str(
                r#"{"idle_days": 120, "note": "a | pipe, \"quotes\" and <tags>"}"#,
            )
            .unwrap(),
            remediation: "Disable it now, then delete it.".into(),
            references: vec!["OWASP-NHI1".into()],
            status: FindingStatus::Open,
            first_seen: "2026-10-01T00:00:00Z".into(),
            last_seen: DAY.into(),
            sources: vec!["aws".into()],
        };
    vec![
        leak,
        other(
            FindingKind::LingeringAccess,
            Severity::Critical,
            "aws:123456789012:user/oldco-sync",
            "Access key of oldco-sync still active after OldCo's relationship ended",
            Some("oldco"),
        ),
        other(
            FindingKind::UnownedIdentity,
            Severity::Low,
            "aws:123456789012:user/`reports|sync`",
            "=cmd|' /C calc'!A0 (a name that is a spreadsheet formula)",
            None,
        ),
    ]
}

fn info() -> RunInfo {
    RunInfo {
        tool_version: "0.0.0-test".into(),
        stats: serde_json::json!({"findings": 3}),
        rules: vec![RuleInfo {
            id: "aws-access-key-id".into(),
            name: "AWS access key id".into(),
            help: trustmap_model::DEFAULT_LEAK_REMEDIATION.into(),
            severity: Severity::High,
        }],
    }
}

fn render(format: Format) -> String {
    let mut out = Vec::new();
    write_findings(format, &findings(), &info(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn jsonl() {
    insta::assert_snapshot!(render(Format::Jsonl));
}

#[test]
fn json() {
    insta::assert_snapshot!(render(Format::Json));
}

#[test]
fn sarif() {
    insta::assert_snapshot!(render(Format::Sarif));
}

#[test]
fn csv() {
    insta::assert_snapshot!(render(Format::Csv));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(render(Format::Markdown));
}

/// The HTML without its `<style>` and `<script>` blocks.
fn content_of(html: &str) -> String {
    let mut s = html.to_string();
    for (open, close) in [("<style>", "</style>"), ("<script>", "</script>")] {
        if let (Some(a), Some(b)) = (s.find(open), s.find(close)) {
            s.replace_range(a + open.len()..b, "…");
        }
    }
    s.replace("><", ">\n<")
}

#[test]
fn html() {
    let view = View {
        title: "trustmap partner report — sweep.toml".into(),
        generated: DAY.into(),
        partners: vec![PartnerCard {
            id: "oldco".into(),
            name: "OldCo Ltd".into(),
            sponsor: Some("jane.doe@corp.example".into()),
            purpose: None,
            status: "revoked".into(),
            expires: Some("2026-06-30".into()),
            days_left: Some(-145),
            via: None,
            subcontractors: vec!["CloudHands".into()],
            allowed_scopes: vec![],
        }],
        nodes: vec![
            ViewNode {
                id: "partner:oldco".into(),
                kind: "partner".into(),
                subtype: "revoked".into(),
                name: "OldCo Ltd".into(),
                active: true,
                last_used: None,
                owner: None,
                partners: vec!["oldco".into()],
            },
            ViewNode {
                id: "aws:123456789012:user/oldco-sync".into(),
                kind: "identity".into(),
                subtype: "aws_iam_user".into(),
                name: "oldco-sync".into(),
                active: true,
                last_used: Some("2026-11-20".into()),
                owner: Some("partner:oldco".into()),
                partners: vec!["oldco".into()],
            },
        ],
        edges: vec![(0, 1, "attributed".into())],
        coverage: vec![("github".into(), "repository corp/secret: HTTP 403".into())],
    };
    let mut out = Vec::new();
    write_html(&view, &findings(), &mut out).unwrap();
    insta::assert_snapshot!(content_of(&String::from_utf8(out).unwrap()));
}

fn plan() -> ExitPlan {
    ExitPlan {
        partner_id: "oldco".into(),
        partner_name: "OldCo Ltd".into(),
        status: "revoked".into(),
        sponsor: Some("jane.doe@corp.example".into()),
        expires: Some("2026-06-30".into()),
        subcontractors: vec!["cloudhands".into()],
        systems: vec![System {
            name: "AWS account 123456789012".into(),
            steps: vec![Step {
                what: "identity".into(),
                kind: "aws_iam_user".into(),
                name: "oldco-sync".into(),
                id: "aws:123456789012:user/oldco-sync".into(),
                partner: "oldco".into(),
                evidence: "name_patterns: oldco-* (chain: partner:oldco → aws:123456789012:user/oldco-sync)".into(),
                last_used: Some("2026-11-20".into()),
                usage: "used recently".into(),
                action: "Delete the user's access keys, then the user".into(),
                findings: vec!["tm-0123456789abcdef".into()],
                // A hostile name stays one quoted word.
                revoke: Some(trustmap_model::Revocation::commands(&[
                    &["aws", "iam", "delete-login-profile", "--user-name", "oldco-sync"],
                    &["aws", "iam", "delete-user", "--user-name", "oldco-sync$(id)'x"],
                ])),
                ..Step::default()
            }],
        }],
        generated: DAY.into(),
        verification: None,
    }
}

/// The plan after `--verify`: the user still there, its old key gone.
fn verified_plan() -> ExitPlan {
    let mut plan = plan();
    plan.systems[0].steps[0].verdict = Some(Verdict::StillPresent);
    plan.systems[0].steps[0].last_seen = Some(DAY.into());
    plan.systems[0].steps.push(Step {
        what: "credential".into(),
        kind: "aws_access_key".into(),
        name: "AKIAOLDCO".into(),
        id: "aws:123456789012:key/AKIAOLDCO".into(),
        partner: "oldco".into(),
        evidence: "remembered by the state file: first seen 2026-10-01T00:00:00Z, last seen 2026-11-01T00:00:00Z".into(),
        usage: "gone".into(),
        action: "Deactivate, then delete the access key".into(),
        revoke: Some(trustmap_model::Revocation::commands(&[&["aws", "iam", "delete-access-key", "--access-key-id", "AKIAOLDCO"]])),
        verdict: Some(Verdict::Gone),
        last_seen: Some("2026-11-01T00:00:00Z".into()),
        ..Step::default()
    });
    plan.verification = Some(Verification {
        checked_at: DAY.into(),
        basis: "a new sweep".into(),
    });
    plan
}

#[test]
fn verified_exit_plan_markdown_html_and_script() {
    let plan = verified_plan();
    assert_eq!(
        plan.verdict_summary().as_deref(),
        Some("1 gone, 1 still present, 0 unknown")
    );
    insta::assert_snapshot!("verified_markdown", to_markdown(&plan));
    insta::assert_snapshot!("verified_html", to_html(&plan));
    let sh = trustmap_report::exit_plan::to_shell(&plan);
    assert!(
        !sh.contains("delete-access-key"),
        "nothing to run for what is gone:\n{sh}"
    );
}

#[test]
fn exit_plan_markdown() {
    insta::assert_snapshot!(to_markdown(&plan()));
}

#[test]
fn exit_plan_shell_script() {
    let sh = trustmap_report::exit_plan::to_shell(&plan());
    for line in sh.lines().skip(1) {
        assert!(
            line.is_empty() || line.starts_with('#'),
            "a live line: {line}"
        );
    }
    insta::assert_snapshot!(sh);
}

#[test]
fn exit_plan_html() {
    insta::assert_snapshot!(content_of(&to_html(&plan())));
}
