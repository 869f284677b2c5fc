//! An API server that refuses one kind (a 403 on Secrets, as RBAC answers an account without
//! `list secrets`), throttles once, and pages its service accounts: the refusal is a coverage
//! gap naming the permission, the rest is read, the 429 is waited out, every page is followed,
//! and a 401 stops the connector without showing the token.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use trustmap_connector_kubernetes::{KubernetesConfig, KubernetesConnector};
use trustmap_model::Observation;
use trustmap_testkit::http::{Response, Server};
use trustmap_testkit::run::run_connector;

fn list(kind: &str, items: Vec<serde_json::Value>, next: Option<&str>) -> Response {
    let mut meta = json!({"resourceVersion": "1"});
    if let Some(n) = next {
        meta["continue"] = json!(n);
    }
    Response::json(
        200,
        &json!({"apiVersion": "v1", "kind": kind, "metadata": meta, "items": items}),
    )
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    Response::json(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}),
    )
}

fn server(token: &'static str) -> Server {
    let throttled = Arc::new(AtomicBool::new(false));
    Server::start(move |req| {
        if req.header("authorization") != Some(&format!("Bearer {token}")) {
            return status(401, "Unauthorized", "Unauthorized");
        }
        let (path, query) = req.route();
        let cont = query
            .iter()
            .find(|(k, _)| k == "continue")
            .map(|(_, v)| v.clone());
        let sa = |name: &str| json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "apps"}});
        match path {
            "/api/v1/serviceaccounts" => match cont.as_deref() {
                None => list("ServiceAccountList", vec![sa("first")], Some("page-2")),
                Some("page-2") => list("ServiceAccountList", vec![sa("second")], None),
                Some(_) => status(410, "Expired", "continue token expired"),
            },
            "/api/v1/secrets" => status(403, "Forbidden", "secrets is forbidden: User \"system:serviceaccount:audit:trustmap\" cannot list resource \"secrets\" in API group \"\" at the cluster scope"),
            "/apis/rbac.authorization.k8s.io/v1/roles" if !throttled.swap(true, Ordering::SeqCst) => {
                status(429, "TooManyRequests", "too many requests").header("retry-after", "1")
            }
            "/apis/rbac.authorization.k8s.io/v1/clusterroles" => list(
                "ClusterRoleList",
                vec![json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "edit"},
                            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]})],
                None,
            ),
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings" => list(
                "ClusterRoleBindingList",
                vec![json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
                            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                            "subjects": [{"kind": "ServiceAccount", "name": "second", "namespace": "apps"}]})],
                None,
            ),
            _ => list("List", vec![], None),
        }
    })
}

fn config(base: &str, var: &str) -> KubernetesConfig {
    toml::from_str(&format!(
        "cluster = \"c\"\napi_url = \"{base}\"\ntoken_env = \"{var}\"\nmax_wait_seconds = 5\n"
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_kind_is_a_gap_and_the_rest_is_read() {
    let s = server("good-token");
    std::env::set_var("TRUSTMAP_TEST_K8S_REFUSALS", "good-token");
    let dir = tempfile::tempdir().unwrap();
    let run = run_connector(
        &KubernetesConnector::new("k8s".into(), config(&s.base, "TRUSTMAP_TEST_K8S_REFUSALS"))
            .unwrap(),
        dir.path(),
    )
    .await;
    run.result.as_ref().unwrap();
    assert_eq!(run.gaps.len(), 1, "{:?}", run.gaps);
    assert!(
        run.gaps[0].contains("list secrets: HTTP 403"),
        "{}",
        run.gaps[0]
    );
    assert!(
        run.gaps[0].contains("(needs list on secrets, cluster-wide)"),
        "{}",
        run.gaps[0]
    );
    // The second page's account is bound and seen; the throttled list was retried.
    let ids: Vec<String> = run
        .obs
        .iter()
        .filter_map(|o| match o {
            Observation::Identity(i) => Some(i.id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ids, ["k8s:c:sa/apps/second"]);
    let roles = s
        .requests()
        .iter()
        .filter(|r| {
            r.path
                .starts_with("/apis/rbac.authorization.k8s.io/v1/roles")
        })
        .count();
    assert_eq!(roles, 2, "the 429 was retried once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_stops_the_connector_without_showing_it() {
    let s = server("good-token");
    std::env::set_var("TRUSTMAP_TEST_K8S_BAD_TOKEN", "bad-token-value");
    let dir = tempfile::tempdir().unwrap();
    let run = run_connector(
        &KubernetesConnector::new("k8s".into(), config(&s.base, "TRUSTMAP_TEST_K8S_BAD_TOKEN"))
            .unwrap(),
        dir.path(),
    )
    .await;
    let e = run.result.unwrap_err();
    assert_eq!(e.kind, trustmap_connector::ErrorKind::Auth, "{}", e.message);
    assert!(e.message.contains("HTTP 401"), "{}", e.message);
    assert!(!e.message.contains("bad-token-value"));
}
