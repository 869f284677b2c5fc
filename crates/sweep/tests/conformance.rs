//! Every registered connector type passes the same checks: strict config (unknown fields are
//! errors naming the field), valid observations from a working target, and a classified error
//! (never a panic) from a missing one.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::path::Path;
use trustmap_connector::ErrorKind;
use trustmap_model::Observation;
use trustmap_sweep::{build_connector, CONNECTOR_TYPES};

/// A working and a broken configuration for each type, in `dir`.
#[allow(clippy::too_many_lines)] // one fixture per connector type, read as one table
fn configs(kind: &str, dir: &Path) -> (toml::Table, toml::Table) {
    let working = dir.join("work");
    std::fs::create_dir_all(&working).unwrap();
    let token = format!(
        "ghp_{}{}",
        "Zq8rVb3kLm2NpT6wYx1cD4fGh7jK9s",
        trustmap_rules::base62_crc32(b"Zq8rVb3kLm2NpT6wYx1cD4fGh7jK9s")
    );
    std::fs::write(working.join("a.env"), format!("T={token}\n")).unwrap();
    let t = |s: &str| -> toml::Table { toml::from_str(s).unwrap() };
    match kind {
        "filesystem" => (t(r#"path = "work""#), t(r#"path = "missing""#)),
        "git" => {
            trustmap_testkit::git::init(&working);
            trustmap_testkit::git::commit(&working, &[], "init", "2026-01-01T00:00:00Z");
            (t(r#"path = "work""#), t(r#"path = "missing""#))
        }
        "exec" => (
            t(r#"command = "sh"
args = ["-c", "echo '{\"type\":\"identity\",\"id\":\"x:1\",\"kind\":\"service_account\",\"name\":\"svc\"}'"]"#),
            t(r#"command = "/nonexistent/program""#),
        ),
        "aws-iam" => {
            std::fs::write(
                working.join("gaad.json"),
                r#"{"UserDetailList": [{"UserName": "svc", "Arn": "arn:aws:iam::123456789012:user/svc"}]}"#,
            )
            .unwrap();
            (
                t(r#"authorization_details_file = "work/gaad.json""#),
                t(r#"authorization_details_file = "missing.json""#),
            )
        }
        "github" => {
            std::fs::write(
                working.join("inventory.json"),
                r#"{"org": "corp", "repositories": [{"name": "web", "deploy_keys": [{"id": 1, "title": "ci"}]}]}"#,
            )
            .unwrap();
            (
                t(r#"snapshot_file = "work/inventory.json""#),
                t(r#"snapshot_file = "missing.json""#),
            )
        }
        "entra" => {
            let export = working.join("entra");
            std::fs::create_dir_all(&export).unwrap();
            std::fs::write(
                export.join("servicePrincipals.json"),
                r#"[{"id": "sp-1", "appId": "a1000000-0000-4000-8000-000000000001", "appOwnerOrganizationId": "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f"}]"#,
            )
            .unwrap();
            for f in [
                "applications.json",
                "appRoleAssignments.json",
                "oauth2PermissionGrants.json",
            ] {
                std::fs::write(export.join(f), "[]").unwrap();
            }
            let tenant = r#"tenant_id = "0b1c2d3e-0000-4000-8000-00000000c0de""#;
            (
                t(&format!(
                    "{tenant}
export_dir = \"work/entra\""
                )),
                t(&format!(
                    "{tenant}
export_dir = \"missing\""
                )),
            )
        }
        "gcp" => {
            std::fs::write(
                working.join("iam-policies.json"),
                r#"[{"resource": "//cloudresourcemanager.googleapis.com/projects/corp-prod", "project": "projects/1", "policy": {"bindings": [{"role": "roles/viewer", "members": ["user:bob@acme.example"]}]}}]"#,
            )
            .unwrap();
            (
                t(r#"iam_policies_file = "work/iam-policies.json""#),
                t(r#"iam_policies_file = "missing.json""#),
            )
        }
        "kubernetes" => {
            std::fs::write(
                working.join("k8s.json"),
                r#"{"kind": "List", "items": [
                    {"kind": "ClusterRole", "metadata": {"name": "view"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
                    {"kind": "RoleBinding", "metadata": {"name": "b", "namespace": "apps"},
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                     "subjects": [{"kind": "User", "name": "bob@acme.example"}]}]}"#,
            )
            .unwrap();
            (
                t("cluster = \"c\"\nexport_file = \"work/k8s.json\""),
                t("cluster = \"c\"\nexport_file = \"missing.json\""),
            )
        }
        other => panic!("no conformance fixture for connector type {other:?}: add one"),
    }
}

async fn run(
    kind: &str,
    table: toml::Table,
    dir: &Path,
) -> (
    Vec<Observation>,
    Result<(), trustmap_connector::ConnectorError>,
) {
    let c = build_connector(kind, "t".into(), table).unwrap();
    let r = trustmap_testkit::run::run_connector(c.as_ref(), dir).await;
    (r.obs, r.result)
}

#[tokio::test]
async fn every_connector_type_conforms() {
    for kind in CONNECTOR_TYPES {
        let dir = tempfile::tempdir().unwrap();
        let (good, bad) = configs(kind, dir.path());

        let mut unknown = good.clone();
        unknown.insert("bogus_field".into(), toml::Value::Integer(1));
        let err = build_connector(kind, "t".into(), unknown)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("bogus_field"), "{kind}: {err}");

        let (obs, result) = run(kind, good.clone(), dir.path()).await;
        assert!(result.is_ok(), "{kind}: {result:?}");
        assert!(!obs.is_empty(), "{kind} emitted nothing");
        for o in &obs {
            let (id, connector) = match o {
                Observation::Identity(x) => (x.id.clone(), x.provenance.connector.clone()),
                Observation::Credential(x) => (x.id.clone(), x.provenance.connector.clone()),
                Observation::ExternalPrincipal(x) => (x.id.clone(), x.provenance.connector.clone()),
                Observation::Edge(x) => (x.from.clone(), x.provenance.connector.clone()),
                Observation::Secret(x) => {
                    assert!(!x.redacted.contains("Zq8rVb3k"), "{kind} leaks a secret"); // trustmap:allow
                    (x.digest.clone(), x.provenance.connector.clone())
                }
            };
            assert!(!id.is_empty(), "{kind}: empty id");
            assert_eq!(connector, "t", "{kind}: provenance not stamped");
        }

        // Ctrl-C before it starts: it stops with a `cancelled` error and emits nothing, even
        // from inside a blocking file or git scan.
        let c = build_connector(kind, "t".into(), good).unwrap();
        let r = trustmap_testkit::run::run_cancelled(c.as_ref(), dir.path()).await;
        assert!(r.obs.is_empty(), "{kind} emitted after cancellation");
        assert!(
            matches!(&r.result, Err(e) if e.kind == ErrorKind::Cancelled),
            "{kind}: {:?}",
            r.result
        );

        let (_, result) = run(kind, bad, dir.path()).await;
        let e = result
            .err()
            .unwrap_or_else(|| panic!("{kind}: a missing target must fail"));
        assert!(
            matches!(e.kind, ErrorKind::NotFound | ErrorKind::Config),
            "{kind}: {:?} {}",
            e.kind,
            e.message
        );
    }
}
