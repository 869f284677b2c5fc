//! The kubernetes connector over the designed cluster (testkit::k8s) from its `kubectl get -o
//! json` export: the exact identities, credentials, edges and gaps; Secret data scanned; bad
//! input (an unknown kind, a truncated file, an object the API would not write, bad configs).
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::collections::BTreeMap;
use trustmap_connector_kubernetes::{KubernetesConfig, KubernetesConnector};
use trustmap_model::{EdgeKind, Identifier, Observation};
use trustmap_testkit::k8s;
use trustmap_testkit::run::{run_connector, Run};

async fn sweep_export(export: &serde_json::Value, extra: &str) -> (Run, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("k8s.json"),
        serde_json::to_vec_pretty(export).unwrap(),
    )
    .unwrap();
    let cfg: KubernetesConfig = toml::from_str(&format!(
        "cluster = \"{}\"\nexport_file = \"k8s.json\"\n{extra}",
        k8s::CLUSTER
    ))
    .unwrap();
    let c = KubernetesConnector::new("k8s".into(), cfg).unwrap();
    (run_connector(&c, dir.path()).await, dir)
}

fn identities(run: &Run) -> BTreeMap<String, (String, Vec<String>, bool)> {
    run.obs
        .iter()
        .filter_map(|o| match o {
            Observation::Identity(i) => {
                Some((i.id.clone(), (i.kind.clone(), i.scopes.clone(), i.active)))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_designed_cluster_from_its_export() {
    let (run, _dir) = sweep_export(&k8s::export(), "").await;
    run.result.as_ref().unwrap();
    let ids = identities(&run);
    let sa = |s: &str| format!("k8s:prod-eu:sa/{s}");
    let user = |s: &str| format!("k8s:prod-eu:user/{s}");
    let want: Vec<String> = vec![
        sa("acme-etl/etl-runner"),
        sa("payments/ghost"),
        sa("payments/gke-sync"),
        sa("payments/legacy-ci"),
        user("analyst@acme.example"),
        user("contractor@oldco.example"),
        user("dev@corp.example"),
        user("ops@datapipe.example"),
    ];
    assert_eq!(
        ids.keys().cloned().collect::<Vec<_>>(),
        want,
        "no default, kube-system or system: subjects"
    );
    assert_eq!(
        ids[&sa("acme-etl/etl-runner")].1,
        [
            "k8s:get:apps/deployments",
            "k8s:patch:apps/deployments",
            "k8s:update:apps/deployments"
        ]
    );
    assert_eq!(
        ids[&user("contractor@oldco.example")].1,
        ["k8s:*:*", "k8s:cluster-admin"]
    );
    assert_eq!(
        ids[&user("ops@datapipe.example")].1,
        ["k8s:get:secrets", "k8s:list:secrets"]
    );
    assert_eq!(
        ids[&user("analyst@acme.example")].1,
        [
            "k8s:get:pods",
            "k8s:get:services",
            "k8s:list:pods",
            "k8s:list:services",
            "k8s:watch:pods",
            "k8s:watch:services"
        ]
    );
    assert!(
        !ids[&sa("payments/ghost")].2,
        "a binding to an account that does not exist grants nothing yet"
    );
    assert!(ids[&sa("payments/gke-sync")].1.is_empty());

    // The partner's account may act as the AWS role, the sync account as a Google account.
    let assumes: Vec<(String, String)> = run
        .obs
        .iter()
        .filter_map(|o| match o {
            Observation::Edge(e) if e.kind == EdgeKind::CanAssume => {
                Some((e.from.clone(), e.to.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        assumes,
        [
            (
                sa("payments/gke-sync"),
                "gcp:corp-prod:sa/sync@corp-prod.iam.gserviceaccount.com".into()
            ),
            (
                sa("acme-etl/etl-runner"),
                format!("aws:{}:role/etl-s3", k8s::AWS_ACCOUNT)
            ),
        ]
    );
    // Users trust their domain; the revoked partner's contractor attributes through it.
    let contractor = run
        .obs
        .iter()
        .find_map(|o| match o {
            Observation::Identity(i) if i.id == user("contractor@oldco.example") => Some(i),
            _ => None,
        })
        .unwrap();
    assert!(contractor
        .identifiers
        .contains(&Identifier::Domain("oldco.example".into())));
    let revoke = &contractor.revoke.as_ref().unwrap().commands[0];
    assert_eq!(
        revoke.join(" "),
        r#"kubectl --context=prod-eu patch clusterrolebinding oldco-admin --type=json --patch=[{"op":"test","path":"/subjects/0/name","value":"contractor@oldco.example"},{"op":"remove","path":"/subjects/0"}]"#
    );
    // The legacy token is a credential of its account, with its age and last use.
    let token = run
        .obs
        .iter()
        .find_map(|o| match o {
            Observation::Credential(c) => Some(c),
            _ => None,
        })
        .unwrap();
    assert_eq!(token.id, "k8s:prod-eu:secret/payments/legacy-ci-token");
    assert_eq!(token.holder, sa("payments/legacy-ci"));
    assert_eq!(token.created.as_deref(), Some("2023-03-01T00:00:00Z"));
    assert_eq!(token.last_used.as_deref(), Some("2023-04-02"));
    // Secret data is not scanned unless asked.
    assert!(!run.obs.iter().any(|o| matches!(o, Observation::Secret(_))));
    assert_eq!(run.gaps.len(), 1, "{:?}", run.gaps);
    assert!(
        run.gaps[0].contains(
            "RoleBinding payments/broken: refers to Role missing-role, which does not exist"
        ),
        "{}",
        run.gaps[0]
    );
}

#[tokio::test]
async fn secret_data_is_scanned_when_asked_and_the_leak_names_where_it_is() {
    let (run, _dir) = sweep_export(&k8s::export(), "scan_secrets = true\n").await;
    run.result.as_ref().unwrap();
    let leaks: Vec<_> = run
        .obs
        .iter()
        .filter_map(|o| match o {
            Observation::Secret(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(
        leaks.len(),
        1,
        "the Stripe key, not the account token: {leaks:?}"
    );
    assert_eq!(
        leaks[0].path,
        "k8s:prod-eu/payments/secrets/stripe/config.yaml"
    );
    assert!(leaks[0].rule.contains("stripe"), "{}", leaks[0].rule);
    assert!(!leaks[0].redacted.contains(k8s::STRIPE_KEY));
}

#[tokio::test]
async fn bad_exports_are_gaps_or_errors_that_say_where() {
    // An unknown kind is skipped with a gap; the rest is read.
    let mut export = k8s::export();
    export["items"].as_array_mut().unwrap().push(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "payments"}
    }));
    let (run, _dir) = sweep_export(&export, "").await;
    run.result.as_ref().unwrap();
    assert!(
        run.gaps
            .iter()
            .any(|g| g.contains("1 item(s) of kind ConfigMap skipped")),
        "{:?}",
        run.gaps
    );
    assert!(identities(&run).contains_key("k8s:prod-eu:user/contractor@oldco.example"));

    // An object the API would not write names its place in the file.
    let mut export = k8s::export();
    export["items"][9]["subjects"] = serde_json::json!("everyone");
    let (run, _dir) = sweep_export(&export, "").await;
    let e = run.result.unwrap_err();
    assert!(
        e.message
            .contains("items[9] (RoleBinding payments/acme-read)"),
        "{}",
        e.message
    );

    // A truncated file says so, with its line.
    let dir = tempfile::tempdir().unwrap();
    let text = serde_json::to_string_pretty(&k8s::export()).unwrap();
    std::fs::write(dir.path().join("k8s.json"), &text[..text.len() / 2]).unwrap();
    let cfg: KubernetesConfig =
        toml::from_str("cluster = \"prod-eu\"\nexport_file = \"k8s.json\"\n").unwrap();
    let run = run_connector(
        &KubernetesConnector::new("k8s".into(), cfg).unwrap(),
        dir.path(),
    )
    .await;
    let e = run.result.unwrap_err();
    assert!(
        e.message.contains("k8s.json: line ") && e.message.contains("truncated"),
        "{}",
        e.message
    );
}

#[test]
fn bad_configurations_say_what_is_wrong() {
    for (table, says) in [
        ("cluster = \"a/b\"\n", "must be a name"),
        ("cluster = \"c\"\napi_url = \"https://x\"\n", "api_url and token_env go together"),
        ("cluster = \"c\"\nexport_file = \"k.json\"\napi_url = \"https://x\"\ntoken_env = \"T\"\n", "export_file is offline"),
        ("cluster = \"c\"\nconcurrency = 0\n", "at least 1"),
        ("cluster = \"c\"\napi_url = \"ftp://x\"\ntoken_env = \"T\"\n", "not an http(s) URL"),
    ] {
        let cfg: KubernetesConfig = toml::from_str(table).unwrap();
        let e = KubernetesConnector::new("k8s".into(), cfg).err().unwrap();
        assert!(e.to_string().contains(says), "{table}: {e}");
    }
}
