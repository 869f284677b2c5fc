//! The kubernetes connector against kmock (PyPI), a real stateful Kubernetes API emulator: the
//! designed cluster (testkit::k8s) is created object by object through the API with the kube
//! client, then swept live with `api_url` and `token_env`; what the sweep sees is exactly what
//! the same cluster's `kubectl get -o json` export gives.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, PostParams};
use serde_json::Value;
use trustmap_connector_kubernetes::{KubernetesConfig, KubernetesConnector};
use trustmap_model::Observation;
use trustmap_testkit::k8s;
use trustmap_testkit::kmock::Kmock;
use trustmap_testkit::run::run_connector;

async fn create(client: &kube::Client, o: &Value) {
    let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
    let pp = PostParams::default();
    macro_rules! namespaced {
        ($t:ty) => {{
            let api: Api<$t> = Api::namespaced(client.clone(), ns);
            api.create(&pp, &serde_json::from_value(o.clone()).unwrap())
                .await
                .map(drop)
        }};
    }
    macro_rules! cluster {
        ($t:ty) => {{
            let api: Api<$t> = Api::all(client.clone());
            api.create(&pp, &serde_json::from_value(o.clone()).unwrap())
                .await
                .map(drop)
        }};
    }
    let r = match o["kind"].as_str().unwrap() {
        "ServiceAccount" => namespaced!(ServiceAccount),
        "Secret" => namespaced!(Secret),
        "Role" => namespaced!(Role),
        "RoleBinding" => namespaced!(RoleBinding),
        "ClusterRole" => cluster!(ClusterRole),
        "ClusterRoleBinding" => cluster!(ClusterRoleBinding),
        other => panic!("no {other} in the designed cluster"),
    };
    r.unwrap_or_else(|e| panic!("creating {}: {e}", o["metadata"]["name"]));
}

/// Observations as comparable text, in a stable order.
fn normalised(obs: &[Observation]) -> Vec<String> {
    let mut v: Vec<String> = obs
        .iter()
        .map(|o| serde_json::to_string(o).unwrap())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_designed_cluster_live_is_what_its_export_gives() {
    let server = Kmock::start().unwrap();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = kube::Client::try_from(kube::Config::new(server.url.parse().unwrap())).unwrap();
    for o in k8s::objects() {
        create(&client, &o).await;
    }

    std::env::set_var("TRUSTMAP_TEST_K8S_TOKEN", "kmock-token");
    let dir = tempfile::tempdir().unwrap();
    let live: KubernetesConfig = toml::from_str(&format!(
        "cluster = \"{}\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_TEST_K8S_TOKEN\"\nscan_secrets = true\n",
        k8s::CLUSTER,
        server.url
    ))
    .unwrap();
    let run = run_connector(
        &KubernetesConnector::new("k8s".into(), live).unwrap(),
        dir.path(),
    )
    .await;
    run.result.as_ref().unwrap();

    std::fs::write(
        dir.path().join("k8s.json"),
        serde_json::to_vec(&k8s::export()).unwrap(),
    )
    .unwrap();
    let offline: KubernetesConfig = toml::from_str(&format!(
        "cluster = \"{}\"\nexport_file = \"k8s.json\"\nscan_secrets = true\n",
        k8s::CLUSTER
    ))
    .unwrap();
    let export = run_connector(
        &KubernetesConnector::new("k8s".into(), offline).unwrap(),
        dir.path(),
    )
    .await;
    export.result.as_ref().unwrap();

    assert!(run.obs.len() > 10, "{:?}", run.obs);
    assert_eq!(normalised(&run.obs), normalised(&export.obs));
    assert_eq!(run.gaps, export.gaps);
    assert!(
        run.notes.iter().any(|n| n.ends_with("requests")),
        "{:?}",
        run.notes
    );
}

#[tokio::test]
async fn an_api_server_that_cannot_be_reached_fails_the_connector() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::env::set_var("TRUSTMAP_TEST_K8S_TOKEN_2", "t");
    let cfg: KubernetesConfig = toml::from_str(&format!(
        "cluster = \"c\"\napi_url = \"http://127.0.0.1:{port}\"\ntoken_env = \"TRUSTMAP_TEST_K8S_TOKEN_2\"\nmax_wait_seconds = 1\n"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = run_connector(
        &KubernetesConnector::new("k8s".into(), cfg).unwrap(),
        dir.path(),
    )
    .await;
    let e = run.result.unwrap_err();
    assert!(
        e.message
            .contains("list serviceaccounts: cannot reach the API server"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("TRUSTMAP_TEST_K8S_TOKEN_2"));
}
