//! The gcp connector against gcplocal (PyPI), a real stateful IAM and Resource Manager
//! populated through its API: projects mode reads each project's IAM policy, its service
//! accounts and their user-managed keys; gcplocal has no workload identity API, which is a
//! coverage gap, not a failure. Sign-in with a service-account key file goes through
//! gcp_auth's JWT exchange at the key's `token_uri` (gcplocal's token endpoint).
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use serde_json::json;
use trustmap_connector_gcp::{GcpConfig, GcpConnector};
use trustmap_model::{Identifier, Observation};
use trustmap_testkit::gcplocal::GcpLocal;
use trustmap_testkit::run::run_connector;

fn populate(g: &GcpLocal) -> (String, String) {
    let deployer = g
        .service_account("corp-prod", "deployer", "Deployer")
        .unwrap();
    let key = g.key("corp-prod", &deployer).unwrap();
    g.set_policy(
        "corp-prod",
        &json!([
            {"role": "roles/owner", "members": [format!("serviceAccount:{deployer}")]},
            {"role": "roles/bigquery.dataViewer", "members": ["user:analyst@acme.example"]},
            {"role": "roles/editor", "members": ["serviceAccount:etl@acme-analytics-prod.iam.gserviceaccount.com"]},
            {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:contractor@oldco.example"]}
        ]),
    )
    .unwrap();
    (deployer, key)
}

fn config(g: &GcpLocal, auth: &str) -> GcpConfig {
    toml::from_str(&format!(
        "projects = [\"corp-prod\"]\n{auth}\niam_url = \"{0}\"\nresource_manager_url = \"{0}\"\nmax_wait_seconds = 2\n",
        g.endpoint
    ))
    .unwrap()
}

fn check(obs: &[Observation], deployer: &str, key: &str) {
    let ids: Vec<String> = obs
        .iter()
        .filter_map(|o| match o {
            Observation::Identity(i) => Some(i.id.clone()),
            _ => None,
        })
        .collect();
    let sa = format!("gcp:corp-prod:sa/{deployer}");
    assert!(ids.contains(&sa), "{ids:?}");
    assert!(ids.contains(&"gcp:member/user:analyst@acme.example".to_string()));
    let key_obs = obs
        .iter()
        .find_map(|o| match o {
            Observation::Credential(c) if c.holder == sa => Some(c),
            _ => None,
        })
        .expect("the deployer's key");
    assert_eq!(
        key_obs.identifiers,
        vec![Identifier::GcpKey(key.to_string())]
    );
    // A project-level token creator can act as every account of the project.
    let contractor = obs
        .iter()
        .find_map(|o| match o {
            Observation::Identity(i) if i.id == "gcp:member/user:contractor@oldco.example" => {
                Some(i)
            }
            _ => None,
        })
        .unwrap();
    assert!(
        contractor.scopes.contains(&"gcp:roles/owner".to_string()),
        "{:?}",
        contractor.scopes
    );
}

#[tokio::test]
async fn projects_read_from_gcplocal_with_a_token() {
    let g = GcpLocal::start().unwrap();
    let (deployer, key) = populate(&g);
    std::env::set_var("TRUSTMAP_TEST_GCPLOCAL_TOKEN", "ya29.local");
    let c = GcpConnector::new(
        "gcp".into(),
        config(&g, "token_env = \"TRUSTMAP_TEST_GCPLOCAL_TOKEN\""),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = run_connector(&c, dir.path()).await;
    run.result.as_ref().unwrap();
    check(&run.obs, &deployer, &key);
    // gcplocal implements no workload identity pools: a gap naming the call, and nothing else.
    assert_eq!(run.gaps.len(), 1, "{:?}", run.gaps);
    assert!(
        run.gaps[0].starts_with("project corp-prod: workload identity pools: GET"),
        "{}",
        run.gaps[0]
    );
    assert!(
        run.gaps[0].contains("HTTP 404: NOT_FOUND"),
        "{}",
        run.gaps[0]
    );
}

#[tokio::test]
async fn a_service_account_key_file_signs_in_at_its_token_uri() {
    let g = GcpLocal::start().unwrap();
    let (deployer, key) = populate(&g);
    let dir = tempfile::tempdir().unwrap();
    let pem = trustmap_testkit::tokens::rsa_private_key_pem().unwrap();
    let key_file = json!({
        "type": "service_account",
        "project_id": "corp-prod",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": "trustmap-reader@corp-prod.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": format!("{}/oauth2/v4/token", g.endpoint),
    });
    std::fs::write(dir.path().join("reader.json"), key_file.to_string()).unwrap();
    let c = GcpConnector::new(
        "gcp".into(),
        config(&g, "credentials_file = \"reader.json\""),
    )
    .unwrap();
    let run = run_connector(&c, dir.path()).await;
    run.result.as_ref().unwrap();
    check(&run.obs, &deployer, &key);

    // A key file whose token endpoint refuses is a sign-in error naming the file.
    let mut bad = key_file.clone();
    bad["token_uri"] = json!(format!("{}/no-such-token-endpoint", g.endpoint));
    std::fs::write(dir.path().join("bad.json"), bad.to_string()).unwrap();
    let c = GcpConnector::new("gcp".into(), config(&g, "credentials_file = \"bad.json\"")).unwrap();
    let run = run_connector(&c, dir.path()).await;
    let err = run.result.unwrap_err();
    assert_eq!(
        err.kind,
        trustmap_connector::ErrorKind::Auth,
        "{}",
        err.message
    );
    assert!(
        err.message.contains("bad.json (credentials_file)"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("BEGIN PRIVATE KEY"));
}
