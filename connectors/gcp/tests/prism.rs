//! Contract test: the live client calls every Google endpoint it uses on Prism mocking Google's
//! own description of those methods — the discovery documents `google-api-python-client`
//! ships (IAM v1, Resource Manager v1 and v3, Cloud Asset v1, Admin SDK Directory v1),
//! converted to OpenAPI by testkit::discovery. Prism checks each request (path, query values
//! such as `keyTypes=USER_MANAGED` and `projection=basic`, the `getIamPolicy` body, the bearer
//! token) and answers from the response schemas; the client must read every answer. Prism's
//! answers carry a constant placeholder `nextPageToken`, which the client must notice as a
//! loop instead of paging for ever.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use serde_json::{json, Value};
use trustmap_connector_gcp::live::{Endpoints, Google, Scope};
use trustmap_testkit::discovery::{document, to_openapi};
use trustmap_testkit::prism::{self, Prism};

fn serve(
    dir: &std::path::Path,
    name: &str,
    mut spec: Value,
    examples: &[(&str, &str, Value)],
) -> Prism {
    // Discovery documents carry no examples; where the client builds a URL from a value it
    // read (a pool's resource name), Prism's placeholder "string" would not be one, so the
    // schema gets an example in the documented form.
    for (schema, field, example) in examples {
        let prop = &mut spec["components"]["schemas"][*schema]["properties"][*field];
        assert!(
            prop.is_object(),
            "{schema}.{field} is not in the description"
        );
        prop["example"] = example.clone();
    }
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec(&spec).unwrap()).unwrap();
    prism::start(&path)
}

struct Mocks {
    iam: Prism,
    resource_manager: Prism,
    asset: Prism,
    admin: Prism,
}

fn mocks(dir: &std::path::Path) -> Mocks {
    let iam = document("iam.v1");
    let iam = to_openapi(&[(
        &iam,
        &[
            "iam.projects.serviceAccounts.list",
            "iam.projects.serviceAccounts.keys.list",
            "iam.projects.locations.workloadIdentityPools.list",
            "iam.projects.locations.workloadIdentityPools.providers.list",
        ],
    )]);
    let crm1 = document("cloudresourcemanager.v1");
    let crm3 = document("cloudresourcemanager.v3");
    let crm = to_openapi(&[
        (&crm1, &["cloudresourcemanager.projects.getIamPolicy"]),
        (&crm3, &["cloudresourcemanager.projects.search"]),
    ]);
    let asset = document("cloudasset.v1");
    let asset = to_openapi(&[(&asset, &["cloudasset.searchAllIamPolicies"])]);
    let admin = document("admin.directory_v1");
    let admin = to_openapi(&[(
        &admin,
        &[
            "directory.customers.get",
            "directory.users.list",
            "directory.tokens.list",
        ],
    )]);
    Mocks {
        iam: serve(
            dir,
            "iam",
            iam,
            &[
                (
                    "v1_WorkloadIdentityPool",
                    "name",
                    json!("projects/alpha-prod/locations/global/workloadIdentityPools/partner-ci"),
                ),
                (
                    "v1_ServiceAccount",
                    "email",
                    json!("deployer@alpha-prod.iam.gserviceaccount.com"),
                ),
            ],
        ),
        resource_manager: serve(dir, "resource-manager", crm, &[]),
        asset: serve(dir, "asset", asset, &[]),
        admin: serve(
            dir,
            "admin",
            admin,
            &[(
                "directory_v1_User",
                "primaryEmail",
                json!("ana@acme.example"),
            )],
        ),
    }
}

fn client(m: &Mocks) -> Google {
    let mut g = Google::new(
        Endpoints {
            iam: m.iam.base.clone(),
            resource_manager: m.resource_manager.base.clone(),
            asset: m.asset.base.clone(),
            admin: m.admin.base.clone(),
        },
        "prism-token".into(),
    )
    .unwrap();
    g.concurrency = 4;
    g
}

/// Every gap is Prism's looping page token; anything else is a request Prism refused (401,
/// 404, 422) or an answer the client could not read.
fn only_loops(gaps: &[String]) {
    for g in gaps {
        assert!(
            g.contains("stopped paging: the server repeated a page token"),
            "a request Prism rejected or an answer we could not read: {g}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_matches_googles_discovery_documents() {
    let dir = tempfile::tempdir().unwrap();
    let m = mocks(dir.path());

    // Organisation mode: projects:search, Cloud Asset's organisation-wide policies, each
    // project's accounts, keys and pools, and the Workspace's users and their tokens.
    let inv = client(&m)
        .inventory(&Scope {
            organization: Some("123456789012".into()),
            projects: vec!["alpha-prod".into()],
            workspace_customer: Some("my_customer".into()),
        })
        .await
        .unwrap();
    only_loops(&inv.gaps);
    for listed in [
        "projects:search",
        "searchAllIamPolicies",
        "/users: ",
        "/serviceAccounts: ",
    ] {
        assert!(
            inv.gaps.iter().any(|g| g.contains(listed)),
            "Prism's placeholder page token was not noticed on {listed}: {:?}",
            inv.gaps
        );
    }
    assert!(!inv.policies.is_empty(), "Cloud Asset's answer was read");
    assert!(!inv.service_accounts.is_empty(), "the accounts were read");
    assert!(!inv.keys.is_empty(), "the keys were read");
    assert!(!inv.providers.is_empty(), "the pool's providers were read");
    assert!(!inv.tokens.is_empty(), "the users' tokens were read");
    assert!(inv.workspace_domain.is_some(), "the customer was read");

    // Projects mode: each project's own policy through Resource Manager's getIamPolicy, whose
    // request body Prism checks.
    let inv = client(&m)
        .inventory(&Scope {
            projects: vec!["alpha-prod".into()],
            ..Scope::default()
        })
        .await
        .unwrap();
    only_loops(&inv.gaps);
    assert_eq!(inv.policies.len(), 1, "the project's policy was read");
    assert!(!inv.policies[0].policy.bindings.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_the_token_is_refused_by_the_description() {
    // The description's security requirement is live: without it the test above could pass
    // with the token never sent.
    let dir = tempfile::tempdir().unwrap();
    let m = mocks(dir.path());
    let out = reqwest::get(format!(
        "{}/v1/projects/alpha-prod/serviceAccounts",
        m.iam.base
    ))
    .await
    .unwrap();
    assert_eq!(out.status().as_u16(), 401);
    let bad_query = reqwest::Client::new()
        .get(format!(
            "{}/v1/projects/alpha-prod/serviceAccounts/x/keys?keyTypes=NOT_A_TYPE",
            m.iam.base
        ))
        .bearer_auth("prism-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        bad_query.status().as_u16(),
        422,
        "Prism checks query values"
    );
}
