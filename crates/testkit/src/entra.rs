//! A stateful local Microsoft Graph v1.0 for the entra connector's tests and benchmark.
//! Bodies use Graph's documented field names; collections are paged with `@odata.nextLink`
//! (`$top` honoured, capped by the tenant's page size); `$select` projects fields and
//! `$expand=owners` adds owners, as Graph does, so a connector that forgets to ask for a field
//! does not get it. The designed tenant has partner apps (active, revoked, expired, a
//! subcontractor's), an unknown tenant's app, Microsoft's own apps, our app registrations with
//! secrets, certificates, owners and federated credentials, a managed identity, and one 429.
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::http::{Request, Response, Server};

pub const TOKEN: &str = "test-token-for-local-graph";
pub const TENANT: &str = "0b1c2d3e-0000-4000-8000-00000000c0de";
pub const MICROSOFT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
pub const ACME_TENANT: &str = "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f";
pub const OLDCO_TENANT: &str = "1e2d3c4b-0000-4000-8000-0000000001d0";
pub const LEGACY_TENANT: &str = "2f3e4d5c-0000-4000-8000-0000000001e9";
pub const DATAPIPE_TENANT: &str = "3a4b5c6d-0000-4000-8000-00000000da7a";
pub const SHADY_TENANT: &str = "4b5c6d7e-0000-4000-8000-00000005bad0";
pub const QUIET_TENANT: &str = "5c6d7e8f-0000-4000-8000-00000000a1e7";
/// The appId of Acme's multi-tenant app (what a leaked secret's `AZURE_CLIENT_ID` names).
pub const ACME_APP: &str = "a1a1a1a1-0000-4000-8000-00000000acbe";
pub const GRAPH_APP: &str = "00000003-0000-0000-c000-000000000000";

/// Microsoft Graph's app roles used here: (id, value).
pub const GRAPH_ROLES: &[(&str, &str)] = &[
    ("df021288-bdef-4463-88db-98f22de89214", "User.Read.All"),
    ("e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Mail.ReadWrite"),
    ("7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All"),
    (
        "75359482-378d-4052-8f01-80520e7db3cd",
        "Files.ReadWrite.All",
    ),
];

/// What the server holds.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    pub id: String,
    pub service_principals: Vec<Value>,
    pub applications: Vec<Value>,
    pub grants: Vec<Value>,
    /// By service principal object id.
    pub assignments: BTreeMap<String, Vec<Value>>,
    /// By application object id.
    pub federated: BTreeMap<String, Vec<Value>>,
    /// Owners by object id (service principal or application).
    pub owners: BTreeMap<String, Vec<Value>>,
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Largest page, whatever `$top` asks.
    pub page_size: usize,
    pub latency: Duration,
    /// Answer the second page of service principals with one 429 first.
    pub throttle_once: bool,
    /// Refuse `oauth2PermissionGrants` with 403.
    pub refuse_grants: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            page_size: 2,
            latency: Duration::ZERO,
            throttle_once: true,
            refuse_grants: false,
        }
    }
}

fn guid(prefix: &str, n: usize) -> String {
    format!("{prefix:0>8}-0000-4000-8000-{n:012}")
}

fn sp(id: &str, app_id: &str, name: &str, owner_tenant: Option<&str>, enabled: bool) -> Value {
    json!({
        "id": id, "appId": app_id, "displayName": name,
        "appOwnerOrganizationId": owner_tenant, "accountEnabled": enabled,
        "servicePrincipalType": "Application", "verifiedPublisher": {"displayName": name, "verifiedPublisherId": null, "addedDateTime": null},
        "appRoles": [], "passwordCredentials": [], "keyCredentials": [],
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"], "homepage": null
    })
}

fn grant(
    client: &str,
    resource: &str,
    consent: &str,
    principal: Option<&str>,
    scope: &str,
) -> Value {
    json!({
        "id": format!("grant-{client}-{}", principal.unwrap_or("all")),
        "clientId": client, "consentType": consent, "principalId": principal,
        "resourceId": resource, "scope": scope
    })
}

fn assignment(principal: &str, resource: &str, role: &str) -> Value {
    let role_id = GRAPH_ROLES
        .iter()
        .find(|(_, v)| *v == role)
        .map_or(role, |(id, _)| id);
    json!({
        "id": format!("ara-{principal}-{role}"), "appRoleId": role_id,
        "principalId": principal, "principalType": "ServicePrincipal",
        "principalDisplayName": "x", "resourceId": resource,
        "resourceDisplayName": "Microsoft Graph", "createdDateTime": "2025-03-01T00:00:00Z",
        "deletedDateTime": null
    })
}

fn secret(key: &str, name: &str, start: &str, end: &str) -> Value {
    json!({"keyId": key, "displayName": name, "startDateTime": start, "endDateTime": end,
           "hint": "abc", "customKeyIdentifier": null, "secretText": null})
}

fn user(upn: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.user", "id": format!("user-{upn}"),
           "displayName": upn, "userPrincipalName": upn, "mail": upn})
}

impl Tenant {
    /// The designed tenant of the scenario test.
    pub fn scenario() -> Tenant {
        let mut t = Tenant {
            id: TENANT.into(),
            ..Tenant::default()
        };
        let graph_sp = "sp-graph";
        let mut g = sp(
            graph_sp,
            GRAPH_APP,
            "Microsoft Graph",
            Some(MICROSOFT),
            true,
        );
        g["appRoles"] = Value::Array(
            GRAPH_ROLES
                .iter()
                .map(|(id, v)| json!({"id": id, "value": v, "displayName": v, "allowedMemberTypes": ["Application"], "isEnabled": true}))
                .collect(),
        );
        t.service_principals.push(g);
        // Microsoft's own tool with an admin consent: the platform, not a finding.
        t.service_principals.push(sp(
            "sp-mgcli",
            "14d82eec-204b-4c2f-b7e8-296a70dab67e",
            "Microsoft Graph Command Line Tools",
            Some(MICROSOFT),
            true,
        ));
        t.grants.push(grant(
            "sp-mgcli",
            graph_sp,
            "AllPrincipals",
            None,
            "Directory.ReadWrite.All",
        ));
        partner_apps(&mut t, graph_sp);
        own_apps(&mut t, graph_sp);
        t
    }

    /// A generated tenant for the benchmark: `sps` service principals (a quarter of them other
    /// tenants' apps), `apps` registrations, `grants` delegated grants and as many assignments.
    pub fn generated(sps: usize, apps: usize, grants: usize) -> Tenant {
        // Every service principal answers its assignments call (most with an empty list).
        let mut t = Tenant {
            id: TENANT.into(),
            ..Tenant::default()
        };
        let mut g = sp(
            "sp-graph",
            GRAPH_APP,
            "Microsoft Graph",
            Some(MICROSOFT),
            true,
        );
        g["appRoles"] = Value::Array(
            GRAPH_ROLES
                .iter()
                .map(|(id, v)| json!({"id": id, "value": v}))
                .collect(),
        );
        t.service_principals.push(g);
        for i in 0..sps.saturating_sub(1) {
            let id = format!("sp-{i:06}");
            let owner = if i % 4 == 0 {
                format!("{:0>8}-0000-4000-8000-{:012}", i % 97, i % 97)
            } else {
                TENANT.to_string()
            };
            t.service_principals.push(sp(
                &id,
                &guid("a", i),
                &format!("app-{i:06}"),
                Some(&owner),
                true,
            ));
            t.owners.insert(
                id.clone(),
                vec![user(&format!("owner{}@corp.example", i % 50))],
            );
            t.assignments.insert(id, Vec::new());
        }
        for i in 0..apps {
            let id = format!("app-{i:06}");
            t.applications.push(json!({
                "id": id, "appId": guid("a", i), "displayName": format!("app-{i:06}"),
                "createdDateTime": "2024-01-01T00:00:00Z", "signInAudience": "AzureADMyOrg",
                "passwordCredentials": [secret(&format!("k-{i}"), "s", "2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z")],
                "keyCredentials": []
            }));
            t.federated.insert(id, vec![]);
        }
        let n = t.service_principals.len().saturating_sub(1).max(1);
        for i in 0..grants {
            let client = format!("sp-{:06}", i % n);
            t.grants.push(json!({"id": format!("g-{i}"), "clientId": client, "consentType": "Principal",
                                 "principalId": format!("user-{i}"), "resourceId": "sp-graph", "scope": "User.Read"}));
            t.assignments.entry(client.clone()).or_default().push(json!({
                "id": format!("ara-{i}"), "appRoleId": GRAPH_ROLES[i % 3].0, "principalId": client,
                "resourceId": "sp-graph", "resourceDisplayName": "Microsoft Graph", "createdDateTime": "2025-01-01T00:00:00Z"
            }));
        }
        t
    }
}

struct State {
    tenant: Tenant,
    behaviour: Behaviour,
    throttled: AtomicBool,
}

fn not_found() -> Response {
    Response::json(
        404,
        &json!({"error": {"code": "Request_ResourceNotFound", "message": "Resource does not exist."}}),
    )
}

/// `$select=a,b` keeps those fields (and `@odata` annotations); `owners` when expanded.
fn project(item: &Value, select: Option<&str>, owners: Option<&Vec<Value>>) -> Value {
    let mut out = match (item, select) {
        (Value::Object(m), Some(sel)) => {
            let keep: Vec<&str> = sel.split(',').map(str::trim).collect();
            Value::Object(
                m.iter()
                    .filter(|(k, _)| keep.contains(&k.as_str()) || k.starts_with("@odata"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        }
        _ => item.clone(),
    };
    if let Some(o) = owners {
        out["owners"] = Value::Array(o.clone());
    }
    out
}

fn page(
    state: &State,
    req: &Request,
    items: &[Value],
    owners: Option<&BTreeMap<String, Vec<Value>>>,
) -> Response {
    let (path, query) = req.route();
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let top = q("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(100);
    let size = top.min(state.behaviour.page_size).max(1);
    let skip = q("$skiptoken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let select = q("$select");
    let expand_owners = q("$expand").is_some_and(|e| e.starts_with("owners"));
    let empty = Vec::new();
    let value: Vec<Value> = items
        .iter()
        .skip(skip)
        .take(size)
        .map(|it| {
            let id = it.get("id").and_then(Value::as_str).unwrap_or("");
            let o = owners
                .filter(|_| expand_owners)
                .map(|o| o.get(id).unwrap_or(&empty));
            project(it, select.as_deref(), o)
        })
        .collect();
    let mut body =
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata", "value": value});
    if skip + size < items.len() {
        let host = req.header("host").unwrap_or("127.0.0.1");
        let kept: Vec<String> = query
            .iter()
            .filter(|(k, _)| k != "$skiptoken")
            .map(|(k, v)| format!("{k}={}", v.replace(' ', "%20")))
            .collect();
        let mut link = format!("http://{host}{path}?");
        for k in &kept {
            link.push_str(k);
            link.push('&');
        }
        link.push_str(&format!("$skiptoken={}", skip + size));
        body["@odata.nextLink"] = json!(link);
    }
    Response::json(200, &body)
}

fn answer(state: &State, req: &Request) -> Response {
    if !state.behaviour.latency.is_zero() {
        std::thread::sleep(state.behaviour.latency);
    }
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return Response::json(
            401,
            &json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}}),
        );
    }
    let t = &state.tenant;
    let (path, query) = req.route();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["v1.0", "servicePrincipals"] => {
            let second_page = query.iter().any(|(k, v)| k == "$skiptoken" && v != "0");
            if second_page
                && state.behaviour.throttle_once
                && !state.throttled.swap(true, Ordering::SeqCst)
            {
                return Response::json(
                    429,
                    &json!({"error": {"code": "TooManyRequests", "message": "Too many requests."}}),
                )
                .header("retry-after", "1");
            }
            page(state, req, &t.service_principals, Some(&t.owners))
        }
        ["v1.0", "applications"] => page(state, req, &t.applications, Some(&t.owners)),
        ["v1.0", "oauth2PermissionGrants"] => {
            if state.behaviour.refuse_grants {
                return Response::json(
                    403,
                    &json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}),
                );
            }
            page(state, req, &t.grants, None)
        }
        ["v1.0", "servicePrincipals", id, "appRoleAssignments"] => {
            if !t.assignments.contains_key(*id)
                && !t.service_principals.iter().any(|s| s["id"] == *id)
            {
                return not_found();
            }
            page(
                state,
                req,
                t.assignments.get(*id).map_or(&[][..], Vec::as_slice),
                None,
            )
        }
        ["v1.0", "applications", id, "federatedIdentityCredentials"] => {
            if !t.federated.contains_key(*id) && !t.applications.iter().any(|a| a["id"] == *id) {
                return not_found();
            }
            page(
                state,
                req,
                t.federated.get(*id).map_or(&[][..], Vec::as_slice),
                None,
            )
        }
        _ => not_found(),
    }
}

/// Start the server; `{base}` is its `api_url`.
pub fn start(tenant: Tenant, behaviour: Behaviour) -> Server {
    let state = Arc::new(State {
        tenant,
        behaviour,
        throttled: AtomicBool::new(false),
    });
    Server::start(move |req| answer(&state, req))
}

/// Other tenants' apps: partners active, revoked, expired and a subcontractor's; unknown ones.
fn partner_apps(t: &mut Tenant, graph_sp: &str) {
    // Acme (active): app permissions beyond what was approved.
    t.service_principals
        .push(sp("sp-acme", ACME_APP, "Acme BI", Some(ACME_TENANT), true));
    t.assignments.insert(
        "sp-acme".into(),
        vec![
            assignment("sp-acme", graph_sp, "User.Read.All"),
            assignment("sp-acme", graph_sp, "Mail.ReadWrite"),
        ],
    );
    // OldCo (revoked): still consented for files; its second app is disabled.
    t.service_principals.push(sp(
        "sp-oldco",
        "b2b2b2b2-0000-4000-8000-0000000001dc",
        "OldCo Sync",
        Some(OLDCO_TENANT),
        true,
    ));
    t.grants.push(grant(
        "sp-oldco",
        graph_sp,
        "AllPrincipals",
        None,
        "Files.ReadWrite.All offline_access",
    ));
    t.service_principals.push(sp(
        "sp-oldco-2",
        "b3b3b3b3-0000-4000-8000-0000000001dc",
        "OldCo Archive",
        Some(OLDCO_TENANT),
        false,
    ));
    t.assignments.insert(
        "sp-oldco-2".into(),
        vec![assignment("sp-oldco-2", graph_sp, "Directory.Read.All")],
    );
    // LegacyHR (expired): one user's consent to read profiles.
    t.service_principals.push(sp(
        "sp-legacy",
        "c4c4c4c4-0000-4000-8000-00000000011e",
        "LegacyHR Connector",
        Some(LEGACY_TENANT),
        true,
    ));
    t.grants.push(grant(
        "sp-legacy",
        graph_sp,
        "Principal",
        Some("user-alice"),
        "User.Read",
    ));
    // DataPipe, Acme's subcontractor, reaching in with its own app.
    t.service_principals.push(sp(
        "sp-datapipe",
        "d5d5d5d5-0000-4000-8000-00000000da7a",
        "DataPipe Loader",
        Some(DATAPIPE_TENANT),
        true,
    ));
    t.grants.push(grant(
        "sp-datapipe",
        graph_sp,
        "AllPrincipals",
        None,
        "User.Read",
    ));
    // Nobody registered these tenants: one app holds a permission, one holds none.
    t.service_principals.push(sp(
        "sp-shady",
        "e6e6e6e6-0000-4000-8000-000000005bad",
        "Shady Analytics",
        Some(SHADY_TENANT),
        true,
    ));
    t.assignments.insert(
        "sp-shady".into(),
        vec![assignment("sp-shady", graph_sp, "Directory.Read.All")],
    );
    t.service_principals.push(sp(
        "sp-quiet",
        "f7f7f7f7-0000-4000-8000-00000000a1e7",
        "Quiet Calendar",
        Some(QUIET_TENANT),
        true,
    ));
}

/// Our own app registrations, their service principals, and a managed identity.
fn own_apps(t: &mut Tenant, graph_sp: &str) {
    // Our own app registrations and their service principals.
    t.applications.push(json!({
            "id": "app-deployer", "appId": "11111111-0000-4000-8000-0000000000d1", "displayName": "corp-ci-deployer",
            "createdDateTime": "2023-05-01T00:00:00Z", "signInAudience": "AzureADMyOrg",
            "passwordCredentials": [secret("k-deployer-1", "ci", "2023-05-01T00:00:00Z", "2027-05-01T00:00:00Z")],
            "keyCredentials": [], "web": {"redirectUris": []}
        }));
    t.service_principals.push(sp(
        "sp-deployer",
        "11111111-0000-4000-8000-0000000000d1",
        "corp-ci-deployer",
        Some(TENANT),
        true,
    ));
    t.assignments.insert(
        "sp-deployer".into(),
        vec![assignment("sp-deployer", graph_sp, "User.Read.All")],
    );
    t.owners.insert(
        "app-deployer".into(),
        vec![user("platform-lead@corp.example")],
    );
    t.federated.insert("app-deployer".into(), vec![
            json!({"id": "fic-1", "name": "acme-etl", "issuer": "https://token.actions.githubusercontent.com",
                   "subject": "repo:acme-analytics/etl:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"], "description": null}),
            json!({"id": "fic-2", "name": "corp-infra", "issuer": "https://token.actions.githubusercontent.com",
                   "subject": "repo:corp/infra:environment:prod", "audiences": ["api://AzureADTokenExchange"], "description": null}),
        ]);
    t.applications.push(json!({
            "id": "app-reporting", "appId": "22222222-0000-4000-8000-0000000000e2", "displayName": "orphan-reporting",
            "createdDateTime": "2025-09-01T00:00:00Z", "signInAudience": "AzureADMultipleOrgs",
            "passwordCredentials": [],
            "keyCredentials": [{"keyId": "k-report-cert", "displayName": "CN=reporting", "startDateTime": "2025-09-01T00:00:00Z",
                                "endDateTime": "2035-09-01T00:00:00Z", "type": "AsymmetricX509Cert", "usage": "Verify"}],
            "web": {"redirectUris": []}
        }));
    t.service_principals.push(sp(
        "sp-reporting",
        "22222222-0000-4000-8000-0000000000e2",
        "orphan-reporting",
        Some(TENANT),
        true,
    ));
    t.owners.insert("app-reporting".into(), vec![]);
    t.federated.insert("app-reporting".into(), vec![
            json!({"id": "fic-3", "name": "any-ci", "issuer": "https://ci.example.dev/oidc",
                   "subject": "*", "audiences": ["api://AzureADTokenExchange"], "description": null}),
        ]);
    let mut mi = sp(
        "sp-mi-backup",
        "33333333-0000-4000-8000-0000000000f3",
        "mi-backup",
        None,
        true,
    );
    mi["servicePrincipalType"] = json!("ManagedIdentity");
    t.service_principals.push(mi);
}
