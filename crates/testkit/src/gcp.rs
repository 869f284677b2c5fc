//! A designed Google Cloud organisation and Workspace, and a stateful local server for the gcp
//! connector's tests: Resource Manager v3 `projects:search`, v1 `getIamPolicy`, Cloud Asset
//! `searchAllIamPolicies`, IAM v1 service accounts, keys (`keyTypes` honoured), workload
//! identity pools and providers, and the Admin SDK's customer, users and tokens. Bodies use
//! the APIs' documented field names; lists are paged with `nextPageToken` (one item per page
//! where paging is exercised), errors are Google's `{"error": {code, message, status}}`.
//!
//! The estate: a partner's analyst and service account with roles in our project (one beyond
//! what was approved), a revoked partner's contractor who can impersonate our owner-level
//! deployer, a subcontractor's group at organisation level, someone's gmail account, a bucket
//! open to `allUsers`, workload identity pools trusting a partner's GitHub organisation, any
//! GitLab project and a revoked partner's AWS account, our accounts with old and new keys (and
//! Google's own system-managed key), Google's service agents, and Workspace grants to a
//! partner's app, an unknown app and Google's own browser.
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::http::{Request, Response, Server};

pub const TOKEN: &str = "test-token-for-local-google";
pub const ORG: &str = "112233445566";
pub const PROD: &str = "corp-prod";
pub const PROD_NUMBER: &str = "100000000001";
pub const DATA: &str = "corp-data";
pub const DATA_NUMBER: &str = "100000000002";
pub const DOMAIN: &str = "corp.example";
pub const ACME_PROJECT: &str = "acme-analytics-prod";
pub const ACME_CLIENT: &str = "1234567890-abc.apps.googleusercontent.com";
pub const SHADY_CLIENT: &str = "555000111-shady.apps.googleusercontent.com";
pub const OLDCO_AWS: &str = "444455556666";
/// The deployer's old user-managed key (what a leaked key file's `private_key_id` names).
pub const DEPLOYER_KEY: &str = "0123456789abcdef0123456789abcdef01234567";
pub const DEPLOYER: &str = "deployer@corp-prod.iam.gserviceaccount.com";

/// The partners.toml that goes with the estate.
pub const PARTNERS: &str = r#"
[[partners]]
id = "acme"
name = "Acme Analytics Ltd"
sponsor = "cto@corp.example"
purpose = "BI exports"
status = "active"
expires = "2027-09-30"
allowed_scopes = ["gcp:roles/bigquery.dataViewer", "oauth:https://www.googleapis.com/auth/drive.readonly"]
allow_subcontractors = false
[partners.match]
email_domains = ["acme.example"]
gcp_projects = ["acme-analytics-prod"]
github_orgs = ["acme-analytics"]
oauth_clients = ["1234567890-abc.apps.googleusercontent.com"]

[[partners]]
id = "oldco"
name = "OldCo Consulting"
status = "revoked"
expires = "2026-06-30"
[partners.match]
email_domains = ["oldco.example"]
aws_accounts = ["444455556666"]

[[partners]]
id = "datapipe"
name = "DataPipe LLC"
via = "acme"
status = "active"
[partners.match]
email_domains = ["datapipe.example"]

[[owners]]
id = "platform"
contact = "platform@corp.example"
[owners.match]
name_patterns = ["deployer@*", "ci-*"]
"#;

/// What the server holds, in the APIs' shapes.
#[derive(Debug, Clone, Default)]
pub struct Estate {
    pub projects: Vec<Value>,
    /// Cloud Asset search results (each `{resource, assetType, project, policy}`).
    pub policies: Vec<Value>,
    /// By project id.
    pub accounts: BTreeMap<String, Vec<Value>>,
    /// By account email.
    pub keys: BTreeMap<String, Vec<Value>>,
    /// By project id: pools; by pool name: providers.
    pub pools: BTreeMap<String, Vec<Value>>,
    pub providers: BTreeMap<String, Vec<Value>>,
    pub domain: String,
    pub users: Vec<String>,
    /// By user email.
    pub tokens: BTreeMap<String, Vec<Value>>,
}

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Answer the second page of the asset search with one 429 `RESOURCE_EXHAUSTED`.
    pub throttle_once: bool,
    /// Refuse key listing in this project with 403 `PERMISSION_DENIED`.
    pub refuse_keys_in: Option<String>,
    /// `projects:search` hands out the same page token forever.
    pub loop_projects: bool,
    /// Pages as large as the client asks, up to Google's maxima (else one or two items a
    /// page, to exercise paging).
    pub full_pages: bool,
    /// Wait this long before each answer (the benchmark's network).
    pub latency: std::time::Duration,
}

fn binding(role: &str, members: &[&str]) -> Value {
    json!({"role": role, "members": members})
}

fn project_policy(project: &str, number: &str, bindings: Vec<Value>) -> Value {
    json!({
        "resource": format!("//cloudresourcemanager.googleapis.com/projects/{project}"),
        "assetType": "cloudresourcemanager.googleapis.com/Project",
        "project": format!("projects/{number}"),
        "organization": format!("organizations/{ORG}"),
        "folders": [],
        "policy": {"bindings": bindings}
    })
}

fn account(project: &str, name: &str, display: &str, disabled: bool) -> Value {
    let email = format!("{name}@{project}.iam.gserviceaccount.com");
    json!({
        "name": format!("projects/{project}/serviceAccounts/{email}"),
        "projectId": project, "uniqueId": format!("1{:0>20}", name.len()), "email": email,
        "displayName": display, "description": "", "oauth2ClientId": "1", "disabled": disabled,
        "etag": "MDEwMjE5MjA="
    })
}

fn key(project: &str, email: &str, id: &str, created: &str, kind: &str) -> Value {
    json!({
        "name": format!("projects/{project}/serviceAccounts/{email}/keys/{id}"),
        "validAfterTime": created, "validBeforeTime": "9999-12-31T23:59:59Z",
        "keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED", "keyType": kind,
        "disabled": false
    })
}

fn pool_name(pool: &str) -> String {
    format!("projects/{PROD_NUMBER}/locations/global/workloadIdentityPools/{pool}")
}

fn token(client: &str, name: &str, user: &str, scopes: &[&str]) -> Value {
    json!({"kind": "admin#directory#token", "etag": "x", "clientId": client,
        "displayText": name, "anonymous": false, "nativeApp": false, "userKey": user,
        "scopes": scopes})
}

/// The designed estate (see the module's documentation).
pub fn estate() -> Estate {
    let mut e = Estate {
        domain: DOMAIN.into(),
        ..Estate::default()
    };
    for (id, number) in [(PROD, PROD_NUMBER), (DATA, DATA_NUMBER)] {
        e.projects.push(json!({
            "name": format!("projects/{number}"), "projectId": id, "state": "ACTIVE",
            "displayName": id, "parent": format!("organizations/{ORG}")
        }));
    }
    policies(&mut e);
    accounts(&mut e);
    federation(&mut e);
    workspace(&mut e);
    e
}

/// A generated organisation for the benchmark: `projects` projects, `accounts` service
/// accounts spread over them, `keys` user-managed keys spread over the accounts (and one
/// system-managed key each, which the client asks the server to leave out), and `bindings`
/// role bindings spread over the projects' and the accounts' policies. One member in five is
/// outside the estate: partners' users, other organisations' service accounts, a public grant
/// now and then. Every tenth project has a workload identity pool trusting GitHub.
pub fn generated(projects: usize, accounts: usize, keys: usize, bindings: usize) -> Estate {
    let mut e = Estate {
        domain: DOMAIN.into(),
        ..Estate::default()
    };
    let projects = projects.max(1);
    let project = |i: usize| format!("proj-{i:04}");
    let number = |i: usize| format!("{}", 200_000_000_000u64 + i as u64);
    let email = |a: usize| {
        format!(
            "sa-{a:05}@{}.iam.gserviceaccount.com",
            project(a % projects)
        )
    };
    for i in 0..projects {
        e.projects.push(json!({
            "name": format!("projects/{}", number(i)), "projectId": project(i), "state": "ACTIVE",
            "displayName": project(i), "parent": format!("organizations/{ORG}")
        }));
    }
    for a in 0..accounts {
        let p = project(a % projects);
        e.accounts.entry(p.clone()).or_default().push(account(
            &p,
            &format!("sa-{a:05}"),
            "generated",
            false,
        ));
        e.keys.entry(email(a)).or_default().push(key(
            &p,
            &email(a),
            &format!("{a:040x}"),
            "2026-01-01T00:00:00Z",
            "SYSTEM_MANAGED",
        ));
    }
    for k in 0..keys.min(accounts * 10) {
        let a = k % accounts.max(1);
        let created = if k % 3 == 0 {
            "2024-02-01T00:00:00Z"
        } else {
            "2026-10-01T00:00:00Z"
        };
        e.keys.entry(email(a)).or_default().push(key(
            &project(a % projects),
            &email(a),
            &format!("{:040x}", (1u128 << 100) + k as u128),
            created,
            "USER_MANAGED",
        ));
    }
    generated_policies(&mut e, projects, accounts, bindings);
    for i in (0..projects).step_by(10) {
        let pool = format!(
            "projects/{}/locations/global/workloadIdentityPools/ci",
            number(i)
        );
        e.pools.insert(
            project(i),
            vec![json!({"name": pool, "state": "ACTIVE", "disabled": false})],
        );
        e.providers.insert(
            pool.clone(),
            vec![json!({
                "name": format!("{pool}/providers/github"), "state": "ACTIVE", "disabled": false,
                "attributeMapping": {"google.subject": "assertion.sub"},
                "attributeCondition": format!("assertion.repository_owner == 'partner{}'", i % 20),
                "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"}
            })],
        );
    }
    e
}

/// The generated organisation's policies: binding b goes to record b mod records (each
/// project's policy, then each account's), with one member.
fn generated_policies(e: &mut Estate, projects: usize, accounts: usize, bindings: usize) {
    let project = |i: usize| format!("proj-{i:04}");
    let number = |i: usize| format!("{}", 200_000_000_000u64 + i as u64);
    let email = |a: usize| {
        format!(
            "sa-{a:05}@{}.iam.gserviceaccount.com",
            project(a % projects)
        )
    };
    const ROLES: [&str; 8] = [
        "roles/viewer",
        "roles/bigquery.dataViewer",
        "roles/storage.objectViewer",
        "roles/logging.viewer",
        "roles/pubsub.subscriber",
        "roles/editor",
        "roles/iam.serviceAccountUser",
        "roles/cloudsql.client",
    ];
    let member = |b: usize| match b % 100 {
        0..=11 => format!("user:user{}@partner{}.example", b % 997, b % 20),
        12..=17 => format!(
            "serviceAccount:etl@vendor-{}.iam.gserviceaccount.com",
            b % 50
        ),
        18 => format!("group:ops@subco{}.example", b % 5),
        19 if b % 1000 == 19 => "allAuthenticatedUsers".to_string(),
        19..=49 => format!("group:team-{}@{DOMAIN}", b % 40),
        _ => format!("serviceAccount:{}", email(b % accounts.max(1))),
    };
    let records = projects + accounts;
    let mut grouped: Vec<Vec<Value>> = vec![Vec::new(); records];
    for b in 0..bindings {
        grouped[b % records].push(binding(ROLES[(b / records) % ROLES.len()], &[&member(b)]));
    }
    for (r, bs) in grouped.into_iter().enumerate() {
        if r < projects {
            e.policies.push(project_policy(&project(r), &number(r), bs));
        } else {
            let a = r - projects;
            let i = a % projects;
            e.policies.push(json!({
                "resource": format!("//iam.googleapis.com/projects/{}/serviceAccounts/{}", project(i), email(a)),
                "assetType": "iam.googleapis.com/ServiceAccount",
                "project": format!("projects/{}", number(i)),
                "policy": {"bindings": bs}
            }));
        }
    }
}

/// Bindings: the project's members, an impersonation grant, a public bucket, the
/// organisation's conditional grant, and the data project's.
fn policies(e: &mut Estate) {
    let github = format!(
        "principalSet://iam.googleapis.com/{}/attribute.repository/acme-analytics/pipelines",
        pool_name("github-pool")
    );
    let open = format!(
        "principalSet://iam.googleapis.com/{}/*",
        pool_name("open-pool")
    );
    let aws = format!(
        "principalSet://iam.googleapis.com/{}/*",
        pool_name("aws-pool")
    );
    e.policies.push(project_policy(
        PROD,
        PROD_NUMBER,
        vec![
            binding(
                "roles/owner",
                &[
                    "user:cto@corp.example",
                    &format!("serviceAccount:{DEPLOYER}"),
                ],
            ),
            binding("roles/bigquery.dataViewer", &["user:analyst@acme.example"]),
            binding(
                "roles/editor",
                &[
                    "serviceAccount:etl@acme-analytics-prod.iam.gserviceaccount.com",
                    "serviceAccount:100000000001-compute@developer.gserviceaccount.com",
                ],
            ),
            binding(
                "roles/viewer",
                &[
                    "user:contractor@oldco.example",
                    "deleted:user:gone@acme.example?uid=123",
                ],
            ),
            binding("roles/storage.objectViewer", &["user:someone@gmail.com"]),
            binding(
                "roles/pubsub.serviceAgent",
                &["serviceAccount:service-100000000001@gcp-sa-pubsub.iam.gserviceaccount.com"],
            ),
            binding("roles/storage.admin", &[&github]),
            binding("roles/viewer", &[&open]),
            binding("roles/logging.viewer", &[&aws]),
        ],
    ));
    e.policies.push(json!({
        "resource": format!("//iam.googleapis.com/projects/{PROD}/serviceAccounts/{DEPLOYER}"),
        "assetType": "iam.googleapis.com/ServiceAccount",
        "project": format!("projects/{PROD_NUMBER}"),
        "policy": {"bindings": [binding("roles/iam.serviceAccountTokenCreator", &["user:contractor@oldco.example"])]}
    }));
    e.policies.push(json!({
        "resource": "//storage.googleapis.com/projects/_/buckets/corp-public-assets",
        "assetType": "storage.googleapis.com/Bucket",
        "project": format!("projects/{PROD_NUMBER}"),
        "policy": {"bindings": [binding("roles/storage.objectViewer", &["allUsers"])]}
    }));
    e.policies.push(json!({
        "resource": format!("//cloudresourcemanager.googleapis.com/organizations/{ORG}"),
        "assetType": "cloudresourcemanager.googleapis.com/Organization",
        "organization": format!("organizations/{ORG}"),
        "policy": {"bindings": [{
            "role": "roles/resourcemanager.organizationViewer",
            "members": ["group:auditors@datapipe.example"],
            "condition": {"title": "until 2027", "expression": "request.time < timestamp(\"2027-01-01T00:00:00Z\")"}
        }]}
    }));
    e.policies.push(project_policy(
        DATA,
        DATA_NUMBER,
        vec![binding(
            "roles/bigquery.dataViewer",
            &["serviceAccount:acme-export@corp-prod.iam.gserviceaccount.com"],
        )],
    ));
}

/// Our service accounts and their keys (one system-managed: Google's own).
fn accounts(e: &mut Estate) {
    e.accounts.insert(
        PROD.into(),
        vec![
            account(PROD, "deployer", "Deployer", false),
            account(PROD, "acme-export", "Acme export", false),
        ],
    );
    e.accounts.insert(
        DATA.into(),
        vec![account(DATA, "legacy-loader", "Legacy loader", true)],
    );
    e.keys.insert(
        DEPLOYER.into(),
        vec![
            key(
                PROD,
                DEPLOYER,
                DEPLOYER_KEY,
                "2024-01-10T09:00:00Z",
                "USER_MANAGED",
            ),
            key(
                PROD,
                DEPLOYER,
                "feedfacefeedfacefeedfacefeedfacefeedface",
                "2026-11-20T00:00:00Z",
                "SYSTEM_MANAGED",
            ),
        ],
    );
    let export = "acme-export@corp-prod.iam.gserviceaccount.com";
    e.keys.insert(
        export.into(),
        vec![key(
            PROD,
            export,
            "1111222233334444555566667777888899990000",
            "2026-11-01T00:00:00Z",
            "USER_MANAGED",
        )],
    );
    let legacy = "legacy-loader@corp-data.iam.gserviceaccount.com";
    e.keys.insert(
        legacy.into(),
        vec![key(
            DATA,
            legacy,
            "aaaabbbbccccddddeeeeffff0000111122223333",
            "2023-05-05T00:00:00Z",
            "USER_MANAGED",
        )],
    );
}

/// Workload identity pools and their providers.
fn federation(e: &mut Estate) {
    e.pools.insert(
        PROD.into(),
        ["github-pool", "open-pool", "aws-pool"]
            .iter()
            .map(|p| json!({"name": pool_name(p), "state": "ACTIVE", "disabled": false}))
            .collect(),
    );
    e.providers.insert(pool_name("github-pool"), vec![json!({
        "name": format!("{}/providers/github", pool_name("github-pool")), "state": "ACTIVE", "disabled": false,
        "attributeMapping": {"google.subject": "assertion.sub", "attribute.repository": "assertion.repository"},
        "attributeCondition": "assertion.repository_owner == 'acme-analytics'",
        "oidc": {"issuerUri": "https://token.actions.githubusercontent.com", "allowedAudiences": []}
    })]);
    e.providers.insert(pool_name("open-pool"), vec![json!({
        "name": format!("{}/providers/gitlab", pool_name("open-pool")), "state": "ACTIVE", "disabled": false,
        "attributeMapping": {"google.subject": "assertion.sub"},
        "oidc": {"issuerUri": "https://gitlab.com", "allowedAudiences": []}
    })]);
    e.providers.insert(pool_name("aws-pool"), vec![json!({
        "name": format!("{}/providers/oldco-aws", pool_name("aws-pool")), "state": "ACTIVE", "disabled": false,
        "attributeMapping": {"google.subject": "assertion.arn"},
        "aws": {"accountId": OLDCO_AWS}
    })]);
}

/// The Workspace's users and their grants.
fn workspace(e: &mut Estate) {
    e.users = vec![
        "alice@corp.example".into(),
        "bob@corp.example".into(),
        "carol@corp.example".into(),
    ];
    let drive = "https://www.googleapis.com/auth/drive.readonly";
    e.tokens.insert(
        "alice@corp.example".into(),
        vec![
            token(
                ACME_CLIENT,
                "Acme BI Connector",
                "alice@corp.example",
                &[drive],
            ),
            token(
                "77185425430.apps.googleusercontent.com",
                "Google Chrome",
                "alice@corp.example",
                &["https://www.google.com/accounts/OAuthLogin"],
            ),
        ],
    );
    e.tokens.insert(
        "bob@corp.example".into(),
        vec![token(
            ACME_CLIENT,
            "Acme BI Connector",
            "bob@corp.example",
            &[drive],
        )],
    );
    e.tokens.insert(
        "carol@corp.example".into(),
        vec![token(
            SHADY_CLIENT,
            "Free PDF Tools",
            "carol@corp.example",
            &["https://mail.google.com/"],
        )],
    );
}

/// Write the estate as the offline files gcloud and the Admin SDK produce; returns the
/// sweep.toml lines naming them (relative to `dir`).
pub fn write_exports(e: &Estate, dir: &Path) -> std::io::Result<String> {
    std::fs::create_dir_all(dir)?;
    let put = |name: &str, v: &Value| {
        std::fs::write(
            dir.join(name),
            serde_json::to_string_pretty(v).unwrap_or_default(),
        )
    };
    put("iam-policies.json", &Value::Array(e.policies.clone()))?;
    put(
        "service-accounts.json",
        &Value::Array(e.accounts.values().flatten().cloned().collect()),
    )?;
    put(
        "sa-keys.json",
        &Value::Array(e.keys.values().flatten().cloned().collect()),
    )?;
    put(
        "wif-providers.json",
        &Value::Array(e.providers.values().flatten().cloned().collect()),
    )?;
    put(
        "workspace-tokens.json",
        &Value::Array(e.tokens.values().flatten().cloned().collect()),
    )?;
    Ok(format!(
        "iam_policies_file = \"{0}/iam-policies.json\"\nservice_accounts_file = \"{0}/service-accounts.json\"\nservice_account_keys_file = \"{0}/sa-keys.json\"\nworkload_identity_providers_file = \"{0}/wif-providers.json\"\noauth_tokens_file = \"{0}/workspace-tokens.json\"\n",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or(".")
    ))
}

struct State {
    estate: Estate,
    behaviour: Behaviour,
    throttled: AtomicBool,
}

fn error(code: u16, status: &str, message: &str) -> Response {
    Response::json(
        code,
        &json!({"error": {"code": code, "message": message, "status": status}}),
    )
}

/// One page of `items` under `field`: `pageSize` honoured (capped at `small`, or with
/// `full_pages` at Google's maximum `max`), the page token is the offset.
fn page(
    state: &State,
    req: &Request,
    field: &str,
    items: &[Value],
    small: usize,
    max: usize,
) -> Response {
    let cap = if state.behaviour.full_pages {
        max
    } else {
        small
    };
    let (_, query) = req.route();
    let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone());
    let size = get("pageSize")
        .or_else(|| get("maxResults"))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(cap)
        .clamp(1, cap);
    let skip = get("pageToken")
        .and_then(|t| t.strip_prefix("offset-").and_then(|n| n.parse().ok()))
        .unwrap_or(0usize);
    let mut body =
        json!({ field: items.iter().skip(skip).take(size).cloned().collect::<Vec<_>>() });
    if skip + size < items.len() {
        body["nextPageToken"] = json!(format!("offset-{}", skip + size));
    }
    Response::json(200, &body)
}

fn answer(state: &State, req: &Request) -> Response {
    if !state.behaviour.latency.is_zero() {
        std::thread::sleep(state.behaviour.latency);
    }
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    }
    if req.path.starts_with("/admin/") {
        return admin(state, req);
    }
    if req.path.contains("/serviceAccounts") || req.path.contains("/workloadIdentityPools") {
        return iam(state, req);
    }
    let e = &state.estate;
    let (path, query) = req.route();
    let path = path.to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["v3", "projects:search"]) => {
            if state.behaviour.loop_projects {
                return Response::json(
                    200,
                    &json!({"projects": e.projects, "nextPageToken": "again"}),
                );
            }
            page(state, req, "projects", &e.projects, 1, 500)
        }
        ("GET", ["v1", "organizations", search]) if search.ends_with(":searchAllIamPolicies") => {
            let second = query.iter().any(|(k, _)| k == "pageToken");
            if second
                && state.behaviour.throttle_once
                && !state.throttled.swap(true, Ordering::SeqCst)
            {
                return error(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Quota exceeded for quota metric 'Search requests'.",
                )
                .header("retry-after", "1");
            }
            page(state, req, "results", &e.policies, 2, 500)
        }
        ("POST", ["v1", "projects", call]) if call.ends_with(":getIamPolicy") => {
            let project = call.trim_end_matches(":getIamPolicy");
            let bindings: Vec<Value> = e
                .policies
                .iter()
                .filter(|p| {
                    p["resource"]
                        == format!("//cloudresourcemanager.googleapis.com/projects/{project}")
                })
                .flat_map(|p| {
                    p["policy"]["bindings"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .collect();
            Response::json(
                200,
                &json!({"version": 3, "etag": "BwX=", "bindings": bindings}),
            )
        }
        _ => error(
            404,
            "NOT_FOUND",
            &format!("{} {path} is not a method of this server", req.method),
        ),
    }
}

/// IAM: service accounts, their keys, workload identity pools and providers.
fn iam(state: &State, req: &Request) -> Response {
    let e = &state.estate;
    let (path, query) = req.route();
    let path = path.to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["v1", "projects", p, "serviceAccounts"]) => page(
            state,
            req,
            "accounts",
            e.accounts.get(*p).map_or(&[][..], Vec::as_slice),
            1,
            100,
        ),
        ("GET", ["v1", "projects", p, "serviceAccounts", email, "keys"]) => {
            if state.behaviour.refuse_keys_in.as_deref() == Some(*p) {
                return error(403, "PERMISSION_DENIED", &format!("Permission 'iam.serviceAccountKeys.list' denied on resource (or it may not exist): projects/{p}/serviceAccounts/{email}"));
            }
            let wanted = query
                .iter()
                .find(|(k, _)| k == "keyTypes")
                .map(|(_, v)| v.clone());
            let keys: Vec<Value> = e
                .keys
                .get(*email)
                .into_iter()
                .flatten()
                .filter(|k| wanted.as_deref().is_none_or(|w| k["keyType"] == w))
                .cloned()
                .collect();
            Response::json(200, &json!({"keys": keys}))
        }
        ("GET", ["v1", "projects", p, "locations", "global", "workloadIdentityPools"]) => page(
            state,
            req,
            "workloadIdentityPools",
            e.pools.get(*p).map_or(&[][..], Vec::as_slice),
            100,
            100,
        ),
        (
            "GET",
            ["v1", "projects", n, "locations", "global", "workloadIdentityPools", pool, "providers"],
        ) => {
            let name = format!("projects/{n}/locations/global/workloadIdentityPools/{pool}");
            page(
                state,
                req,
                "workloadIdentityPoolProviders",
                e.providers.get(&name).map_or(&[][..], Vec::as_slice),
                100,
                100,
            )
        }
        _ => error(
            404,
            "NOT_FOUND",
            &format!("{} {path} is not a method of this server", req.method),
        ),
    }
}

/// The Admin SDK Directory API: the customer, its users, their tokens.
fn admin(state: &State, req: &Request) -> Response {
    let e = &state.estate;
    let (path, _) = req.route();
    let path = path.to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["admin", "directory", "v1", "customers", _]) => Response::json(
            200,
            &json!({"kind": "admin#directory#customer", "id": "C0123abcd", "customerDomain": e.domain}),
        ),
        ("GET", ["admin", "directory", "v1", "users"]) => {
            let users: Vec<Value> = e
                .users
                .iter()
                .map(|u| json!({"kind": "admin#directory#user", "primaryEmail": u}))
                .collect();
            page(state, req, "users", &users, 2, 500)
        }
        ("GET", ["admin", "directory", "v1", "users", user, "tokens"]) => {
            let user = user.replace("%40", "@");
            Response::json(
                200,
                &json!({"kind": "admin#directory#tokenList", "items": e.tokens.get(&user).cloned().unwrap_or_default()}),
            )
        }
        _ => error(
            404,
            "NOT_FOUND",
            &format!("{} {path} is not a method of this server", req.method),
        ),
    }
}

/// Start the server; `{base}` is every `*_url` of the connector.
pub fn start(estate: Estate, behaviour: Behaviour) -> Server {
    let state = Arc::new(State {
        estate,
        behaviour,
        throttled: AtomicBool::new(false),
    });
    Server::start(move |req| answer(&state, req))
}

/// The sweep.toml table of a live connector against `server`.
pub fn live_table(server: &Server, token_env: &str) -> String {
    format!(
        "[[connectors]]\ntype = \"gcp\"\nname = \"gcp\"\norganization = \"{ORG}\"\nworkspace_customer = \"my_customer\"\ntoken_env = \"{token_env}\"\niam_url = \"{0}\"\nresource_manager_url = \"{0}\"\nasset_url = \"{0}\"\nadmin_url = \"{0}\"\n",
        server.base
    )
}
