//! Attribution on small graphs built from observations: each matcher, precedence, ties,
//! chains through trust and subcontractors, cycles, inheritance, and the estate.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::path::Path;
use trustmap_attribution::{attribute, Estate};
use trustmap_graph::{Graph, NodeKind};
use trustmap_model::{Attributee, EdgeKind, Identifier, Observation};
use trustmap_partners::parse_registry;

const PARTNERS: &str = r#"
[[partners]]
id = "acme"
name = "Acme"
status = "active"
allow_subcontractors = true
[partners.match]
aws_accounts = ["111122223333"]
email_domains = ["acme.example"]
github_orgs = ["acme-analytics"]
name_patterns = ["acme-*"]

[[partners]]
id = "sub"
name = "Sub"
via = "acme"
status = "active"
[partners.match]
aws_accounts = ["444455556666"]
name_patterns = ["acme-sub-*"]

[[owners]]
id = "platform"
contact = "platform@corp.example"
[owners.match]
name_patterns = ["ci-*", "acme-*"]
"#;

fn graph(lines: &[String], estate: &Estate) -> Graph {
    let registry = parse_registry(Path::new("partners.toml"), PARTNERS).unwrap();
    let obs: Vec<Observation> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut g = Graph::build(obs);
    attribute(&mut g, &registry, estate);
    g
}

fn identity(id: &str, name: &str, identifiers: &[&str]) -> String {
    serde_json::json!({"type": "identity", "id": id, "kind": "aws_iam_role", "name": name,
                       "identifiers": identifiers})
    .to_string()
}

fn edge(from: &str, to: &str, kind: &str) -> String {
    serde_json::json!({"type": "edge", "from": from, "to": to, "kind": kind}).to_string()
}

fn owner(g: &Graph, id: &str) -> Option<String> {
    g.node(id)
        .unwrap()
        .attribution
        .as_ref()
        .map(|a| a.owner.to_string())
}

#[test]
fn each_matcher_attributes() {
    let g = graph(
        &[
            identity("n:1", "x", &["aws_account:111122223333"]),
            identity("n:2", "x", &["email:bot@acme.example"]),
            identity("n:3", "x", &["domain:hooks.bi.acme.example"]),
            identity("n:4", "x", &["github_org:Acme-Analytics"]),
            identity("n:5", "acme-sub-etl", &[]),
            identity("n:6", "ci-runner", &[]),
            identity("n:7", "stranger", &["email:x@elsewhere.example"]),
        ],
        &Estate::default(),
    );
    assert_eq!(owner(&g, "n:1").as_deref(), Some("partner:acme"));
    assert_eq!(owner(&g, "n:2").as_deref(), Some("partner:acme"));
    assert_eq!(
        owner(&g, "n:3").as_deref(),
        Some("partner:acme"),
        "any level of a domain"
    );
    assert_eq!(
        owner(&g, "n:4").as_deref(),
        Some("partner:acme"),
        "case-insensitive"
    );
    assert_eq!(
        owner(&g, "n:5").as_deref(),
        Some("partner:sub"),
        "longer glob wins"
    );
    assert_eq!(owner(&g, "n:6").as_deref(), Some("owner:platform"));
    assert_eq!(owner(&g, "n:7"), None);
    let matched = &g.node("n:1").unwrap().attribution.as_ref().unwrap().matched;
    assert_eq!(matched, "aws_accounts: 111122223333");
}

#[test]
fn exact_identifiers_beat_globs_and_equal_globs_tie() {
    let g = graph(
        &[
            identity("n:1", "ci-x", &["aws_account:444455556666"]),
            identity("n:2", "acme-export", &[]),
        ],
        &Estate::default(),
    );
    assert_eq!(owner(&g, "n:1").as_deref(), Some("partner:sub"));
    let a = g.node("n:2").unwrap().attribution.clone().unwrap();
    assert_eq!(a.owner, Attributee::Partner("acme".into()));
    assert_eq!(a.ties, vec![Attributee::Owner("platform".into())]);
}

#[test]
fn subcontractor_chains_start_at_the_top_partner() {
    let g = graph(
        &[identity("n:1", "x", &["aws_account:444455556666"])],
        &Estate::default(),
    );
    let a = g.node("n:1").unwrap().attribution.clone().unwrap();
    assert_eq!(a.chain, vec!["partner:acme", "partner:sub", "n:1"]);
    // The registry's nodes and the grant from partner to subcontractor are in the graph.
    let acme = g.index_of("partner:acme").unwrap();
    let sub = g.index_of("partner:sub").unwrap();
    assert_eq!(g.nodes[acme].kind, NodeKind::Partner);
    assert!(g
        .outgoing(acme)
        .any(|e| e.to == sub && e.kind == EdgeKind::Grants));
    assert!(g.node("owner:platform").is_some());
}

#[test]
fn trust_chains_are_followed_and_cycles_end() {
    let g = graph(
        &[
            identity("r:a", "a", &[]),
            identity("r:b", "b", &[]),
            edge("r:a", "r:b", "trusts"),
            edge("r:b", "r:a", "trusts"),
            edge("r:b", "aws-account:444455556666", "can_assume"),
            identity("r:c", "c", &[]),
            identity("r:d", "d", &[]),
            edge("r:c", "r:d", "trusts"),
            edge("r:d", "r:c", "trusts"),
        ],
        &Estate::default(),
    );
    let a = g.node("r:a").unwrap().attribution.clone().unwrap();
    assert_eq!(
        a.chain,
        vec![
            "partner:acme",
            "partner:sub",
            "aws-account:444455556666",
            "r:b",
            "r:a"
        ]
    );
    // A cycle with nobody at its end stays unattributed (and terminates).
    assert_eq!(owner(&g, "r:c"), None);
}

#[test]
fn credentials_follow_their_holder_and_leaks_the_credential_they_reveal() {
    let key = "AKIAIOSFODNN7EXAMPLQ";
    let digest = trustmap_model::Secret::new(key).digest();
    let g = graph(
        &[
            identity("u:1", "acme-export", &["aws_account:111122223333"]),
            serde_json::json!({"type": "credential", "id": "k:1", "kind": "aws_access_key",
                "holder": "u:1", "identifiers": [format!("aws_access_key_id:{key}")]})
            .to_string(),
            serde_json::json!({"type": "secret", "rule": "aws-access-key-id", "rule_name": "AWS key",
                "severity": "high", "digest": digest, "redacted": "AKIA********",
                "path": "a.env", "line": 1})
            .to_string(),
        ],
        &Estate::default(),
    );
    assert_eq!(owner(&g, "k:1").as_deref(), Some("partner:acme"));
    let leak = format!("secret:{digest}@a.env");
    let a = g.node(&leak).unwrap().attribution.clone().unwrap();
    assert_eq!(a.owner, "partner:acme");
    assert_eq!(a.chain.last().unwrap(), &leak);
}

#[test]
fn the_estate_is_internal_but_never_inherited_and_the_registry_comes_first() {
    let estate = Estate::new([
        Identifier::GithubOrg("corp".into()),
        Identifier::AwsAccount("210987654321".into()),
        Identifier::Domain("corp.example".into()),
        // A registry match wins over the estate.
        Identifier::AwsAccount("111122223333".into()),
    ]);
    let g = graph(
        &[
            serde_json::json!({"type": "external_principal", "id": "github-repo:corp/app",
                "kind": "github_repository", "name": "corp/app",
                "identifiers": ["github_org:corp", "github_repo:corp/app"]})
            .to_string(),
            identity("r:deploy", "deploy", &[]),
            edge("r:deploy", "github-repo:corp/app", "trusts"),
            edge("r:deploy", "aws-account:210987654321", "trusts"),
            identity("n:mail", "x", &["email:bot@mail.corp.example"]),
            identity("n:acme", "x", &["aws_account:111122223333"]),
        ],
        &estate,
    );
    let repo = g
        .node("github-repo:corp/app")
        .unwrap()
        .attribution
        .clone()
        .unwrap();
    assert_eq!(repo.owner, Attributee::Internal);
    assert_eq!(repo.matched, "estate: github_org:corp");
    assert_eq!(
        owner(&g, "aws-account:210987654321").as_deref(),
        Some("internal")
    );
    assert_eq!(owner(&g, "n:mail").as_deref(), Some("internal"));
    assert_eq!(owner(&g, "n:acme").as_deref(), Some("partner:acme"));
    // Trusting our own repository says nothing about who owns the role.
    assert_eq!(owner(&g, "r:deploy"), None);
}

#[test]
fn estate_covers_only_what_is_ours() {
    let e = Estate::new([
        Identifier::GithubOrg("Corp".into()),
        Identifier::Domain("corp.example".into()),
    ]);
    assert!(e.covers(&Identifier::GithubRepo("corp/x".into())).is_some());
    assert!(e
        .covers(&Identifier::GithubRepo("corpx/x".into()))
        .is_none());
    assert!(e
        .covers(&Identifier::Domain("a.b.corp.example".into()))
        .is_some());
    assert!(e
        .covers(&Identifier::Domain("notcorp.example".into()))
        .is_none());
    assert!(e
        .covers(&Identifier::Email("x@corp.example".into()))
        .is_some());
    assert!(e.covers(&Identifier::Name("corp".into())).is_none());
}
