//! Contract test: the connector, through the real octocrab client, calls every endpoint it
//! uses on Prism mocking GitHub's own OpenAPI description (npm `@octokit/openapi`), and must
//! deserialise the documented example bodies. Prism validates each request against the
//! description; a request it rejects, or a body we cannot read, is a gap and fails the test.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::path::PathBuf;
use trustmap_connector_github::GithubConfig;
use trustmap_testkit::prism::start;

fn description(name: &str) -> PathBuf {
    trustmap_testkit::prism::npm_description(
        &format!("@octokit/openapi/generated/{name}"),
        "@octokit/openapi",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_matches_githubs_description() {
    let prism = start(&description("api.github.com.json"));
    std::env::set_var("TRUSTMAP_PRISM_TOKEN", "ghp_prism");
    let config: GithubConfig = trustmap_connector::parse_config(
        toml::from_str(&format!(
            "org = \"octo-org\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_PRISM_TOKEN\"\nmachine_users = [\"*\"]\nconcurrency = 4\n",
            prism.base
        ))
        .unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inv = trustmap_connector_github::export(&config, dir.path())
        .await
        .unwrap();
    // SAML SSO credential authorizations exist only in the Enterprise Cloud description.
    let unexpected: Vec<&String> = inv
        .gaps
        .iter()
        .filter(|g| !g.starts_with("SAML SSO credential authorizations"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "rejected or unreadable: {unexpected:#?}"
    );
    // The documented examples came through every endpoint.
    assert!(!inv.installations.is_empty());
    assert!(
        inv.installations.iter().all(|i| i.app.is_some()),
        "app lookups"
    );
    assert!(!inv.personal_access_tokens.is_empty());
    assert!(!inv.personal_access_token_requests.is_empty());
    assert!(!inv.hooks.is_empty());
    assert!(!inv.machine_users.is_empty());
    assert!(!inv.actions_secrets.is_empty());
    assert!(!inv.actions_variables.is_empty());
    assert!(inv.oidc_subject.is_some());
    let repo = inv.repositories.first().expect("the example repository");
    assert!(!repo.deploy_keys.is_empty());
    assert!(!repo.hooks.is_empty());
    assert!(!repo.outside_collaborators.is_empty());
    assert!(!repo.actions_secrets.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_authorizations_match_the_enterprise_cloud_description() {
    // ghec.json references YAML files the package does not ship; a copy with those replaced
    // by an open schema lets Prism load it.
    let text = std::fs::read_to_string(description("ghec.json")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    fn open_external_refs(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                let external = map
                    .get("$ref")
                    .and_then(|r| r.as_str())
                    .is_some_and(|r| !r.starts_with('#'));
                if external {
                    *v = serde_json::json!({"type": "object"});
                    return;
                }
                map.values_mut().for_each(open_external_refs);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(open_external_refs),
            _ => {}
        }
    }
    open_external_refs(&mut doc);
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("ghec.json");
    std::fs::write(&spec, doc.to_string()).unwrap();
    let prism = start(&spec);
    std::env::set_var("TRUSTMAP_PRISM_TOKEN", "ghp_prism");
    let config: GithubConfig = trustmap_connector::parse_config(
        toml::from_str(&format!(
            "org = \"octo-org\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_PRISM_TOKEN\"\n",
            prism.base
        ))
        .unwrap(),
    )
    .unwrap();
    let inv = trustmap_connector_github::export(&config, dir.path())
        .await
        .unwrap();
    assert!(inv.gaps.is_empty(), "{:#?}", inv.gaps);
    let c = inv
        .credential_authorizations
        .first()
        .expect("the documented example");
    assert!(!c.login.is_empty() && !c.credential_type.is_empty());
}
