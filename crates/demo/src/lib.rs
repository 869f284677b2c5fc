//! The bundled demo estate of `trustmap demo`: a partner registry (active, revoked, expired
//! and subcontractor partners), an offline AWS export (authorization details JSON and
//! credential report CSV), an offline GitHub inventory (as `trustmap github export` writes
//! it), an Entra ID tenant export (as `trustmap entra export` writes it), a Google Cloud and
//! Workspace export (the files gcloud and the Admin SDK write), a Kubernetes cluster export, a
//! known-vendor list, and git
//! repositories with secrets in their history, created on the fly with the machine's
//! git. Dates are relative to `today`, so the demo tells the same
//! story whenever it runs.
//!
//! It only writes files; the sweep itself is the normal `sweep` path.
use anyhow::{bail, Context, Result};
use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const ACCOUNT: &str = "123456789012";

/// The demo's leaked secrets, so tests can check that none appears unredacted.
pub struct Secrets {
    pub acme_key_id: String,
    pub acme_secret_key: String,
    pub acme_bot_token: String,
    pub oldco_key_id: String,
    pub stripe_key: String,
    /// A client secret of OldCo's Entra app, pasted beside its client id.
    pub oldco_entra_secret: String,
    /// The private key of our deployer service account's key file, left on a shared drive.
    pub gcp_private_key: String,
}

/// A fabricated PEM body (random-looking base64, not a key), with JSON's `\n` escapes.
fn fabricated_private_key() -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u32 = 0x2545_f491;
    let body: Vec<u8> = (0..1216)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            B64[(x % 64) as usize]
        })
        .collect();
    let lines: Vec<&str> = body
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n",
        lines.join("\\n")
    )
}

pub fn secrets() -> Secrets {
    let body = "Dm0x7QbWc2Lr9TzN4vHk8YpJ1sFg6e";
    Secrets {
        acme_key_id: trustmap_rules::aws_key_id_for_account(111_122_223_333, 0x5eed_1234),
        acme_secret_key: "q7Hc2Vb9Lm4Tz8Rw1Xn6Pd3Ks5Fy0Gj2Ua8Ee4Ni".into(),
        acme_bot_token: format!(
            "ghp_{body}{}",
            trustmap_rules::base62_crc32(body.as_bytes())
        ),
        oldco_key_id: trustmap_rules::aws_key_id_for_account(777_788_889_999, 0x0bad_cafe),
        stripe_key: "sk_live_51Nd3mQx8VtKp2LwR7yHc4ZbFgJ".into(),
        oldco_entra_secret: "Hv38Q~pT4.wZq7Kd_2NrXe9LbYc0Mf5Js~Ga1UhR".into(),
        gcp_private_key: fabricated_private_key(),
    }
}

struct Days(NaiveDate);

impl Days {
    /// `n` days before today, as a date.
    fn ago(&self, n: i64) -> String {
        (self.0 - Duration::days(n)).to_string()
    }
    /// `n` days before today, as an RFC 3339 timestamp.
    fn ts(&self, n: i64) -> String {
        format!("{}T09:30:00Z", self.ago(n))
    }
    fn ahead(&self, n: i64) -> String {
        (self.0 + Duration::days(n)).to_string()
    }
}

#[allow(clippy::too_many_lines)] // one partners.toml, read as the file it writes
fn partners(d: &Days) -> String {
    format!(
        r#"# The demo's partner registry (partners.toml).
[[partners]]
id = "acme"
name = "Acme Analytics Ltd"
sponsor = "jane.doe@corp.example"
purpose = "Nightly sales export to Acme BI"
status = "active"
expires = "{acme_expires}"
review_every_days = 90
last_reviewed = "{acme_reviewed}"
allowed_scopes = ["aws:s3:GetObject", "github:contents:read", "github:metadata:read", "entra:Microsoft Graph:User.Read.All", "gcp:roles/bigquery.dataViewer", "oauth:https://www.googleapis.com/auth/drive.readonly"]
allow_subcontractors = false
[partners.match]
aws_accounts = ["111122223333"]
entra_tenants = ["{acme_tenant}"]
gcp_projects = ["{acme_project}"]
oauth_clients = ["{acme_google_client}"]
github_orgs = ["acme-analytics"]
github_users = ["acme-bot"]
email_domains = ["acme.example"]
name_patterns = ["acme-*"]

[[partners]]
id = "datapipe"
name = "DataPipe LLC"
via = "acme"
sponsor = "jane.doe@corp.example"
purpose = "ETL subcontractor of Acme"
status = "active"
expires = "{acme_expires}"
[partners.match]
aws_accounts = ["444455556666"]
email_domains = ["datapipe.example"]
name_patterns = ["datapipe-*"]

[[partners]]
id = "oldco"
name = "OldCo Consulting"
sponsor = "sam.roe@corp.example"
purpose = "Cloud migration project (finished)"
status = "revoked"
expires = "{oldco_expires}"
[partners.match]
aws_accounts = ["777788889999"]
entra_tenants = ["{oldco_tenant}"]
github_orgs = ["oldco"]
github_users = ["oldco-dev"]
email_domains = ["oldco.example"]
name_patterns = ["oldco-*"]

[[partners]]
id = "cloudhands"
name = "Cloudhands Contracting"
via = "oldco"
sponsor = "sam.roe@corp.example"
purpose = "Migration contractors hired by OldCo"
status = "active"
expires = "{oldco_expires}"
[partners.match]
name_patterns = ["cloudhands-*"]
github_users = ["cloudhands-ci"]

[[partners]]
id = "bluebird"
name = "Bluebird Payments"
sponsor = "li.wei@corp.example"
purpose = "Card reconciliation"
status = "active"
expires = "{bluebird_expires}"
review_every_days = 180
last_reviewed = "{bluebird_reviewed}"
allowed_scopes = ["aws:s3:GetObject"]
[partners.match]
aws_accounts = ["222233334444"]
name_patterns = ["bluebird-*"]

[[owners]]
id = "platform"
contact = "platform@corp.example"
[owners.match]
github_orgs = ["corp"]
name_patterns = ["ci-*", "deploy-bot", "lambda-*", "gha-*", "deployer@*"]
"#,
        acme_expires = d.ahead(130),
        acme_reviewed = d.ago(40),
        oldco_expires = d.ago(140),
        bluebird_expires = d.ago(20),
        bluebird_reviewed = d.ago(400),
        acme_tenant = ACME_TENANT,
        oldco_tenant = OLDCO_TENANT,
        acme_project = ACME_PROJECT,
        acme_google_client = ACME_GOOGLE_CLIENT,
    )
}

pub const TENANT: &str = "0b1c2d3e-0000-4000-8000-00000000c0de";
const ACME_TENANT: &str = "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f";
const OLDCO_TENANT: &str = "7e6d5c4b-3a29-4181-9f0e-0d1c2b3a4958";
const UNKNOWN_TENANT: &str = "c0ffee00-1234-4abc-8def-00000000beef";
const MICROSOFT_TENANT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
/// OldCo's multi-tenant app (what the leaked secret's `AZURE_CLIENT_ID` names).
pub const OLDCO_APP: &str = "5a0c0de0-7e6d-4c4b-9a29-01d0c0a11a55";

/// Microsoft Graph's app roles the demo uses: (id, value).
const GRAPH_ROLES: &[(&str, &str)] = &[
    ("df021288-bdef-4463-88db-98f22de89214", "User.Read.All"),
    ("810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Mail.Read"),
];

fn service_principal(id: &str, app_id: &str, name: &str, owner_tenant: &str) -> Value {
    json!({
        "id": id, "appId": app_id, "displayName": name, "appOwnerOrganizationId": owner_tenant,
        "accountEnabled": true, "servicePrincipalType": "Application", "appRoles": [],
        "passwordCredentials": [], "keyCredentials": [], "owners": [],
        "verifiedPublisher": {"displayName": null}
    })
}

fn app_permission(principal: &str, role: &str, d: &Days) -> Value {
    let role_id = GRAPH_ROLES
        .iter()
        .find(|(_, v)| *v == role)
        .map_or(role, |(id, _)| id);
    json!({"id": format!("ara-{principal}"), "appRoleId": role_id, "principalId": principal,
           "principalType": "ServicePrincipal", "resourceId": "sp-msgraph",
           "resourceDisplayName": "Microsoft Graph", "createdDateTime": d.ts(300)})
}

/// The Entra ID tenant, as `trustmap entra export` writes it: Acme's BI app (approved),
/// OldCo's migration tool still consented to everyone's files after OldCo was revoked, an app
/// of a tenant nobody registered reading mail, a deployer that trusts OldCo's repository
/// through a federated credential, and a CI app with a secret never rotated.
fn entra_export(root: &Path, d: &Days) -> Result<()> {
    let dir = root.join("entra");
    std::fs::create_dir_all(dir.join("federatedIdentityCredentials"))?;
    let (sps, apps) = entra_principals(d);
    let grants = json!({"value": [
        {"id": "g-oldco", "clientId": "sp-oldco", "consentType": "AllPrincipals", "principalId": null,
         "resourceId": "sp-msgraph", "scope": "Files.ReadWrite.All offline_access"}
    ]});
    let assignments = json!([
        app_permission("sp-acme", "User.Read.All", d),
        app_permission("sp-contoso", "Mail.Read", d),
        app_permission("sp-migration", "User.Read.All", d),
    ]);
    let fic = |name: &str, subject: &str| {
        json!([{"id": format!("fic-{name}"), "name": name, "issuer": "https://token.actions.githubusercontent.com",
                "subject": subject, "audiences": ["api://AzureADTokenExchange"]}])
    };
    std::fs::write(
        dir.join("servicePrincipals.json"),
        serde_json::to_string_pretty(&sps)?,
    )?;
    std::fs::write(
        dir.join("applications.json"),
        serde_json::to_string_pretty(&apps)?,
    )?;
    std::fs::write(
        dir.join("oauth2PermissionGrants.json"),
        serde_json::to_string_pretty(&grants)?,
    )?;
    std::fs::write(
        dir.join("appRoleAssignments.json"),
        serde_json::to_string_pretty(&assignments)?,
    )?;
    std::fs::write(
        dir.join("federatedIdentityCredentials/app-gha.json"),
        serde_json::to_string_pretty(&fic(
            "payments-main",
            "repo:corp/payments:ref:refs/heads/main",
        ))?,
    )?;
    std::fs::write(
        dir.join("federatedIdentityCredentials/app-migration.json"),
        serde_json::to_string_pretty(&fic(
            "oldco-migration",
            "repo:oldco/migration:environment:prod",
        ))?,
    )?;
    Ok(())
}

/// The tenant's service principals and app registrations.
fn entra_principals(d: &Days) -> (Value, Value) {
    let mut graph = service_principal(
        "sp-msgraph",
        "00000003-0000-0000-c000-000000000000",
        "Microsoft Graph",
        MICROSOFT_TENANT,
    );
    graph["appRoles"] = GRAPH_ROLES
        .iter()
        .map(|(id, v)| json!({"id": id, "value": v, "displayName": v, "allowedMemberTypes": ["Application"]}))
        .collect();
    let sps = json!([
        graph,
        service_principal(
            "sp-acme",
            "acbe0000-9f8e-4d7c-8b5a-00000000acbe",
            "Acme BI Connector",
            ACME_TENANT
        ),
        service_principal("sp-oldco", OLDCO_APP, "OldCo Migration Tool", OLDCO_TENANT),
        service_principal(
            "sp-contoso",
            "c0c0c0c0-1111-4222-8333-c0ffee00c0c0",
            "Contoso Mail Tools",
            UNKNOWN_TENANT
        ),
        service_principal(
            "sp-gha",
            "9a9a9a9a-0000-4000-8000-00000000d3b1",
            "gha-deploy",
            TENANT
        ),
        service_principal(
            "sp-migration",
            "8b8b8b8b-0000-4000-8000-00000000d3b2",
            "migration-deployer",
            TENANT
        ),
    ]);
    let secret = |key: &str, created: i64, expires: i64| {
        json!({"keyId": key, "displayName": "ci", "startDateTime": d.ts(created),
               "endDateTime": format!("{}T09:30:00Z", d.ahead(expires)), "hint": "Qx2"})
    };
    let apps = json!([
        {"id": "app-gha", "appId": "9a9a9a9a-0000-4000-8000-00000000d3b1", "displayName": "gha-deploy",
         "createdDateTime": d.ts(520), "signInAudience": "AzureADMyOrg",
         "passwordCredentials": [secret("k-gha-1", 500, 230)], "keyCredentials": [],
         "owners": [{"id": "u-1", "displayName": "Platform Team", "userPrincipalName": "platform@corp.example", "mail": "platform@corp.example"}]},
        {"id": "app-migration", "appId": "8b8b8b8b-0000-4000-8000-00000000d3b2", "displayName": "migration-deployer",
         "createdDateTime": d.ts(420), "signInAudience": "AzureADMyOrg",
         "passwordCredentials": [], "keyCredentials": [], "owners": []}
    ]);
    (sps, apps)
}

fn trust(principal: Value, condition: Option<Value>) -> Value {
    let mut st = json!({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"});
    if let Some(c) = condition {
        st["Condition"] = c;
    }
    json!({"Version": "2012-10-17", "Statement": [st]})
}

fn allow(actions: &[&str], resource: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]})
}

fn user(name: &str, created: &str, inline: Option<Value>, managed: &[&str]) -> Value {
    json!({
        "Path": "/", "UserName": name, "UserId": format!("AIDA{}", name.to_uppercase().replace('-', "")),
        "Arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"), "CreateDate": created,
        "UserPolicyList": inline.map_or(json!([]), |d| json!([{"PolicyName": format!("{name}-inline"), "PolicyDocument": d}])),
        "GroupList": [], "Tags": [],
        "AttachedManagedPolicies": managed.iter().map(|m| json!({"PolicyName": m, "PolicyArn": format!("arn:aws:iam::aws:policy/{m}")})).collect::<Vec<_>>()
    })
}

fn role(
    name: &str,
    created: &str,
    trust_doc: Value,
    inline: Option<Value>,
    managed: &[&str],
    last_used: Option<&str>,
) -> Value {
    json!({
        "Path": "/", "RoleName": name, "RoleId": format!("AROA{}", name.to_uppercase().replace('-', "")),
        "Arn": format!("arn:aws:iam::{ACCOUNT}:role/{name}"), "CreateDate": created,
        "AssumeRolePolicyDocument": trust_doc, "InstanceProfileList": [], "Tags": [],
        "RolePolicyList": inline.map_or(json!([]), |d| json!([{"PolicyName": format!("{name}-inline"), "PolicyDocument": d}])),
        "AttachedManagedPolicies": managed.iter().map(|m| json!({"PolicyName": m, "PolicyArn": format!("arn:aws:iam::aws:policy/{m}")})).collect::<Vec<_>>(),
        "RoleLastUsed": last_used.map_or(json!({}), |d| json!({"LastUsedDate": d, "Region": "eu-west-1"}))
    })
}

fn gaad(d: &Days) -> Value {
    let gha = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                      "StringLike": {"token.actions.githubusercontent.com:sub": "repo:corp/payments:ref:refs/heads/main"}}}]});
    json!({
        "UserDetailList": [
            user("acme-export", &d.ts(420), Some(allow(&["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::sales-exports/*")), &[]),
            user("oldco-sync", &d.ts(500), Some(allow(&["s3:*"], "*")), &[]),
            user("bluebird-recon", &d.ts(380), Some(allow(&["s3:GetObject"], "arn:aws:s3:::recon/*")), &[]),
            user("ci-builder", &d.ts(900), None, &["AmazonS3FullAccess"]),
            user("cloudhands-deployer", &d.ts(450), Some(allow(&["cloudformation:*", "s3:PutObject"], "*")), &[]),
            user("reports-sync", &d.ts(200), Some(allow(&["athena:StartQueryExecution"], "*")), &[]),
        ],
        "GroupDetailList": [],
        "RoleDetailList": [
            role("acme-reader", &d.ts(400), trust(json!({"AWS": "arn:aws:iam::111122223333:root"}), Some(json!({"StringEquals": {"sts:ExternalId": "acme-7f3a"}}))),
                 Some(allow(&["s3:GetObject"], "arn:aws:s3:::sales-exports/*")), &[], Some(&d.ts(2))),
            role("datapipe-etl", &d.ts(300), trust(json!({"AWS": "arn:aws:iam::444455556666:role/etl"}), None),
                 None, &["AdministratorAccess"], Some(&d.ts(5))),
            role("oldco-migration", &d.ts(600), trust(json!({"AWS": "777788889999"}), None),
                 None, &["PowerUserAccess"], Some(&d.ts(200))),
            role("observability-read", &d.ts(100), trust(json!({"AWS": "arn:aws:iam::464622532012:root"}), Some(json!({"StringEquals": {"sts:ExternalId": "dd-91c2"}}))),
                 None, &["ReadOnlyAccess"], Some(&d.ts(1))),
            role("gha-deploy", &d.ts(150), gha, Some(allow(&["ecs:UpdateService"], "*")), &[], Some(&d.ts(1))),
            role("lambda-orders", &d.ts(250), trust(json!({"Service": "lambda.amazonaws.com"}), None),
                 Some(allow(&["dynamodb:PutItem"], "arn:aws:dynamodb:eu-west-1:123456789012:table/orders")), &[], Some(&d.ts(0))),
        ],
        "Policies": []
    })
}

fn credential_report(d: &Days) -> String {
    let mut csv = String::from("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n");
    csv.push_str(&format!("<root_account>,arn:aws:iam::{ACCOUNT}:root,{},not_supported,{},not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n", d.ts(2000), d.ts(30)));
    let key = |active: bool, rotated: i64, used: Option<i64>| match used {
        Some(u) => format!("{active},{},{},eu-west-1,s3", d.ts(rotated), d.ts(u)),
        None => format!("{active},{},N/A,N/A,N/A", d.ts(rotated)),
    };
    let none = "false,N/A,N/A,N/A,N/A";
    for (name, created, k1, k2) in [
        (
            "acme-export",
            420,
            key(true, 410, Some(1)),
            none.to_string(),
        ),
        ("oldco-sync", 500, key(true, 490, Some(3)), none.to_string()),
        (
            "bluebird-recon",
            380,
            key(true, 370, Some(150)),
            none.to_string(),
        ),
        (
            "ci-builder",
            900,
            key(true, 880, Some(400)),
            key(false, 700, None),
        ),
        (
            "cloudhands-deployer",
            450,
            key(true, 440, Some(12)),
            none.to_string(),
        ),
        (
            "reports-sync",
            200,
            key(true, 190, Some(10)),
            none.to_string(),
        ),
    ] {
        csv.push_str(&format!(
            "{name},arn:aws:iam::{ACCOUNT}:user/{name},{},false,N/A,N/A,N/A,false,{k1},{k2},false,N/A,false,N/A\n",
            d.ts(created)
        ));
    }
    csv
}

const KNOWN_ACCOUNTS: &str = "# A few entries in the community \"known AWS accounts\" format.\n- name: Datadog\n  source:\n    - https://docs.datadoghq.com/integrations/amazon_web_services/\n  accounts:\n    - '464622532012'\n";

fn github_inventory(d: &Days, token_last8: &str) -> Value {
    let installation = |id: u64, slug: &str, perms: Value, created: i64| {
        json!({"id": id, "app_id": id + 1000, "app_slug": slug, "account": {"login": "corp", "type": "Organization"},
               "permissions": perms, "repository_selection": "all", "events": ["push"],
               "created_at": d.ts(created), "updated_at": d.ts(created / 2), "suspended_at": null})
    };
    let with_app = |mut inst: Value, name: &str, owner: &str, url: &str| {
        inst["app"] = json!({"slug": inst["app_slug"], "name": name, "owner": {"login": owner, "type": "Organization"}, "external_url": url});
        inst
    };
    let hook = |id: u64, url: &str, created: i64| {
        json!({"id": id, "name": "web", "active": true, "events": ["push", "pull_request"],
               "config": {"url": url, "content_type": "json"}, "created_at": d.ts(created), "updated_at": d.ts(created)})
    };
    let key = |id: u64, title: &str, read_only: bool, created: i64, used: i64| {
        json!({"id": id, "title": title, "read_only": read_only, "verified": true, "created_at": d.ts(created),
               "last_used": d.ts(used), "added_by": "jane-doe", "enabled": true})
    };
    json!({
        "org": "corp",
        "exported_at": d.ts(0),
        "installations": [
            with_app(installation(1, "acme-bi", json!({"contents": "read", "metadata": "read"}), 400), "Acme BI", "acme-analytics", "https://bi.acme.example"),
            with_app(installation(2, "oldco-deployer", json!({"deployments": "write", "contents": "write"}), 600), "OldCo Deployer", "oldco", "https://oldco.example"),
            with_app(installation(3, "shady-sync", json!({"contents": "write", "members": "read"}), 60), "Shady Sync", "unknown-dev-shop", "https://sync.shady.example.net"),
        ],
        "credential_authorizations": [
            {"login": "acme-bot", "credential_id": 161195, "credential_type": "personal access token",
             "token_last_eight": token_last8, "credential_authorized_at": d.ts(90), "credential_accessed_at": d.ts(2),
             "scopes": ["repo", "read:org"], "authorized_credential_note": "acme nightly sync"}
        ],
        "personal_access_tokens": [
            {"id": 25381, "owner": {"login": "acme-bot", "type": "User"}, "repository_selection": "subset",
             "permissions": {"organization": {}, "repository": {"contents": "write", "metadata": "read"}, "other": {}},
             "access_granted_at": d.ts(80), "token_id": 98716, "token_name": "acme-sync", "token_expired": false,
             "token_expires_at": d.ts(-200), "token_last_used_at": d.ts(1)}
        ],
        "hooks": [hook(21, "https://hooks.acme.example/github", 300)],
        "machine_users": [{"login": "acme-bot", "type": "User"}, {"login": "deploy-bot", "type": "User"}],
        "actions_secrets": [{"name": "ACME_EXPORT_KEY", "created_at": d.ts(300), "updated_at": d.ts(300), "visibility": "all"}],
        "oidc_subject": {"include_claim_keys": ["repo", "context"]},
        "repositories": [
            {"name": "payments", "full_name": "corp/payments", "private": true,
             "deploy_keys": [key(11, "datapipe-etl", false, 250, 4), key(12, "ci-release", true, 100, 1)],
             "hooks": [], "outside_collaborators": []},
            {"name": "infra", "full_name": "corp/infra", "private": true,
             "deploy_keys": [key(13, "oldco-migration", false, 600, 210), key(14, "cloudhands-ci", false, 420, 8)],
             "hooks": [],
             "outside_collaborators": [{"login": "oldco-dev", "type": "User", "role_name": "write",
                "permissions": {"admin": false, "maintain": false, "push": true, "triage": true, "pull": true}}]},
            {"name": "website", "full_name": "corp/website", "private": false,
             "deploy_keys": [], "hooks": [hook(22, "https://ingest.unknown-saas.example/events", 45)], "outside_collaborators": []}
        ],
        "gaps": []
    })
}

/// Our Google Cloud project and organisation, and the outsiders' projects and apps.
const GCP_PROJECT: &str = "corp-prod";
const GCP_PROJECT_NUMBER: &str = "400000000001";
const GCP_ORG: &str = "223344556677";
const ACME_PROJECT: &str = "acme-analytics-prod";
/// Acme BI's Google OAuth client, which Workspace users granted Drive access.
const ACME_GOOGLE_CLIENT: &str = "1234567890-acmebi.apps.googleusercontent.com";
/// Our deployer's user-managed key, the one whose file was left on the shared drive.
pub const GCP_DEPLOYER_KEY: &str = "3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a";
const GCP_DEPLOYER: &str = "deployer@corp-prod.iam.gserviceaccount.com";

fn gcp_binding(role: &str, members: &[&str]) -> Value {
    json!({"role": role, "members": members})
}

fn gcp_policy(resource: &str, asset_type: &str, bindings: Vec<Value>) -> Value {
    json!({
        "resource": resource, "assetType": asset_type,
        "project": format!("projects/{GCP_PROJECT_NUMBER}"),
        "organization": format!("organizations/{GCP_ORG}"),
        "policy": {"bindings": bindings}
    })
}

fn gcp_key(email: &str, id: &str, created: &str) -> Value {
    json!({
        "name": format!("projects/{GCP_PROJECT}/serviceAccounts/{email}/keys/{id}"),
        "validAfterTime": created, "validBeforeTime": "9999-12-31T23:59:59Z",
        "keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED", "keyType": "USER_MANAGED"
    })
}

/// The organisation's IAM policies, as Cloud Asset's search returns them.
fn gcp_policies(pool: &str) -> Value {
    let project = format!("//cloudresourcemanager.googleapis.com/projects/{GCP_PROJECT}");
    json!([
        gcp_policy(&project, "cloudresourcemanager.googleapis.com/Project", vec![
            gcp_binding("roles/owner", &["user:cto@corp.example", &format!("serviceAccount:{GCP_DEPLOYER}")]),
            gcp_binding("roles/bigquery.dataViewer", &["user:analyst@acme.example"]),
            gcp_binding("roles/editor", &[&format!("serviceAccount:etl@{ACME_PROJECT}.iam.gserviceaccount.com")]),
            gcp_binding("roles/viewer", &["user:contractor@oldco.example"]),
            gcp_binding("roles/storage.objectViewer", &["user:j.smith.consulting@gmail.com"]),
            gcp_binding("roles/storage.admin", &[&format!("principalSet://iam.googleapis.com/{pool}/*")]),
        ]),
        gcp_policy(
            &format!("//iam.googleapis.com/projects/{GCP_PROJECT}/serviceAccounts/{GCP_DEPLOYER}"),
            "iam.googleapis.com/ServiceAccount",
            vec![gcp_binding("roles/iam.serviceAccountTokenCreator", &["user:contractor@oldco.example"])],
        ),
        gcp_policy(
            "//storage.googleapis.com/projects/_/buckets/corp-press-kit",
            "storage.googleapis.com/Bucket",
            vec![gcp_binding("roles/storage.objectViewer", &["allUsers"])],
        ),
        {
            "resource": format!("//cloudresourcemanager.googleapis.com/organizations/{GCP_ORG}"),
            "assetType": "cloudresourcemanager.googleapis.com/Organization",
            "organization": format!("organizations/{GCP_ORG}"),
            "policy": {"bindings": [gcp_binding("roles/resourcemanager.organizationViewer", &["group:auditors@datapipe.example"])]}
        }
    ])
}

/// Google Cloud and Workspace, as `gcloud asset search-all-iam-policies`, `gcloud iam
/// service-accounts list` / `keys list`, `gcloud iam workload-identity-pools providers list`
/// and the Admin SDK's token list write them: Acme's analyst (approved) and Acme's ETL account
/// as editor (beyond what was approved); OldCo's contractor, who can still act as our
/// owner-level deployer, and a pool trusting OldCo's AWS account; DataPipe's auditors at
/// organisation level; a bucket open to anyone; a gmail account; an old unowned account's key;
/// Workspace grants to Acme BI and to an unknown app reading mail.
fn gcp_export(root: &Path, d: &Days) -> Result<()> {
    let dir = root.join("gcp");
    std::fs::create_dir_all(&dir)?;
    let pool =
        format!("projects/{GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/oldco-aws");
    let policies = gcp_policies(&pool);
    let account = |name: &str, display: &str| {
        let email = format!("{name}@{GCP_PROJECT}.iam.gserviceaccount.com");
        json!({"name": format!("projects/{GCP_PROJECT}/serviceAccounts/{email}"), "projectId": GCP_PROJECT,
               "email": email, "displayName": display, "disabled": false})
    };
    let accounts = json!([
        account("deployer", "Deployer"),
        account("legacy-export", "Legacy export")
    ]);
    let legacy = format!("legacy-export@{GCP_PROJECT}.iam.gserviceaccount.com");
    let keys = json!([
        gcp_key(GCP_DEPLOYER, GCP_DEPLOYER_KEY, &d.ts(75)),
        gcp_key(
            &legacy,
            "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b",
            &d.ts(610)
        ),
    ]);
    let providers = json!([{
        "name": format!("{pool}/providers/oldco"), "state": "ACTIVE", "disabled": false,
        "attributeMapping": {"google.subject": "assertion.arn"},
        "aws": {"accountId": "777788889999"}
    }]);
    let token = |client: &str, name: &str, user: &str, scope: &str| {
        json!({"kind": "admin#directory#token", "clientId": client, "displayText": name,
               "anonymous": false, "nativeApp": false, "userKey": user, "scopes": [scope]})
    };
    let drive = "https://www.googleapis.com/auth/drive.readonly";
    let tokens = json!([
        token(
            ACME_GOOGLE_CLIENT,
            "Acme BI Connector",
            "ana@corp.example",
            drive
        ),
        token(
            ACME_GOOGLE_CLIENT,
            "Acme BI Connector",
            "ben@corp.example",
            drive
        ),
        token(
            "555000111-mailmerge.apps.googleusercontent.com",
            "Mail Merge Pro",
            "li.wei@corp.example",
            "https://mail.google.com/"
        ),
    ]);
    for (name, v) in [
        ("iam-policies.json", policies),
        ("service-accounts.json", accounts),
        ("sa-keys.json", keys),
        ("wif-providers.json", providers),
        ("workspace-tokens.json", tokens),
    ] {
        std::fs::write(dir.join(name), serde_json::to_string_pretty(&v)?)?;
    }
    Ok(())
}

/// The deployer's key file, as `gcloud iam service-accounts keys create` writes it.
fn gcp_key_file(s: &Secrets) -> String {
    format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"{GCP_PROJECT}\",\n  \"private_key_id\": \"{GCP_DEPLOYER_KEY}\",\n  \"private_key\": \"{}\",\n  \"client_email\": \"{GCP_DEPLOYER}\",\n  \"token_uri\": \"https://oauth2.googleapis.com/token\"\n}}\n",
        s.gcp_private_key
    )
}

/// The production cluster, as `kubectl get serviceaccounts,secrets,roles,rolebindings,
/// clusterroles,clusterrolebindings -A -o json` prints it: OldCo's contractor still bound to
/// `cluster-admin`, Acme's own namespace's account bound into ours and annotated to act as our
/// deploy role in AWS (the cross-cloud chain), and a legacy token from the first rollout.
fn k8s_export(root: &Path, d: &Days) -> Result<()> {
    let meta = |ns: Option<&str>, name: &str, created: &str| {
        let mut m = json!({"name": name, "creationTimestamp": created});
        if let Some(ns) = ns {
            m["namespace"] = json!(ns);
        }
        m
    };
    let rbac = "rbac.authorization.k8s.io/v1";
    let mut token = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": meta(Some("payments"), "release-bot-token", &d.ts(700)), "data": {}});
    token["metadata"]["annotations"] = json!({"kubernetes.io/service-account.name": "release-bot"});
    let items = json!([
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
            "name": "etl-runner", "namespace": "acme-etl", "creationTimestamp": d.ts(200),
            "annotations": {"eks.amazonaws.com/role-arn": format!("arn:aws:iam::{ACCOUNT}:role/gha-deploy")}}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(Some("payments"), "release-bot", &d.ts(700))},
        token,
        {"apiVersion": rbac, "kind": "Role", "metadata": meta(Some("payments"), "deployer", &d.ts(700)),
         "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "update", "patch"]}]},
        {"apiVersion": rbac, "kind": "RoleBinding", "metadata": meta(Some("payments"), "acme-deploy", &d.ts(200)),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
         "subjects": [{"kind": "ServiceAccount", "name": "etl-runner", "namespace": "acme-etl"},
                      {"kind": "ServiceAccount", "name": "release-bot", "namespace": "payments"}]},
        {"apiVersion": rbac, "kind": "ClusterRole", "metadata": meta(None, "cluster-admin", &d.ts(900)),
         "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
        {"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": meta(None, "migration-admins", &d.ts(600)),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "contractor@oldco.example"}]}
    ]);
    std::fs::create_dir_all(root.join("k8s"))?;
    std::fs::write(
        root.join("k8s/cluster.json"),
        serde_json::to_string_pretty(&json!({"apiVersion": "v1", "kind": "List", "items": items}))?,
    )?;
    Ok(())
}

const SWEEP: &str = r#"# The demo sweep: offline AWS, GitHub, Entra ID, Google Cloud and Kubernetes exports, and git history.
[sweep]
partners = "partners.toml"
dormant_after_days = 90
max_credential_age_days = 365

[[connectors]]
type = "aws-iam"
name = "aws-prod"
authorization_details_file = "aws/authorization-details.json"
credential_report_file = "aws/credential-report.csv"
known_accounts_file = "aws/known-accounts.yaml"

[[connectors]]
type = "github"
name = "github-corp"
snapshot_file = "github/inventory.json"

[[connectors]]
type = "entra"
name = "entra-corp"
tenant_id = "0b1c2d3e-0000-4000-8000-00000000c0de"
export_dir = "entra"

[[connectors]]
type = "gcp"
name = "gcp-corp"
organization = "223344556677"
workspace_domain = "corp.example"
iam_policies_file = "gcp/iam-policies.json"
service_accounts_file = "gcp/service-accounts.json"
service_account_keys_file = "gcp/sa-keys.json"
workload_identity_providers_file = "gcp/wif-providers.json"
oauth_tokens_file = "gcp/workspace-tokens.json"

[[connectors]]
type = "kubernetes"
name = "k8s-prod"
cluster = "prod-eu"
export_file = "k8s/cluster.json"

[[connectors]]
type = "git"
name = "payments-repo"
path = "repos/payments"
history = true

[[connectors]]
type = "filesystem"
name = "shared-config"
path = "shared-config"
"#;

fn git(dir: &Path, args: &[&str], date: Option<&str>) -> Result<()> {
    let mut cmd = Command::new("git");
    cmd.args(args).current_dir(dir);
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Demo Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@corp.example")
        .env("GIT_COMMITTER_NAME", "Demo Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@corp.example");
    if let Some(d) = date {
        cmd.env("GIT_AUTHOR_DATE", d).env("GIT_COMMITTER_DATE", d);
    }
    let out = cmd
        .output()
        .context("the demo builds its repositories with git: is git installed?")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn commit(repo: &Path, files: &[(&str, Option<&str>)], message: &str, date: &str) -> Result<()> {
    for (path, content) in files {
        let p = repo.join(path);
        match content {
            Some(c) => {
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&p, c)?;
                git(repo, &["add", path], None)?;
            }
            None => git(repo, &["rm", "-q", path], None)?,
        }
    }
    git(repo, &["commit", "-q", "-m", message], Some(date))
}

fn payments_repo(root: &Path, d: &Days, s: &Secrets) -> Result<()> {
    let repo = root.join("repos/payments");
    std::fs::create_dir_all(&repo)?;
    git(&repo, &["init", "-q", "-b", "main"], None)?;
    commit(
        &repo,
        &[(
            "README.md",
            Some("# payments\n\nCard payments and the nightly export to Acme.\n"),
        )],
        "init",
        &d.ts(320),
    )?;
    let env = format!(
        "# nightly export to acme (TODO: move to the vault)\nAWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n",
        s.acme_key_id, s.acme_secret_key
    );
    commit(
        &repo,
        &[("deploy/export.env", Some(&env))],
        "add nightly export job",
        &d.ts(280),
    )?;
    commit(
        &repo,
        &[("deploy/export.env", None)],
        "remove credentials from the repo",
        &d.ts(250),
    )?;
    let workflow = format!(
        "name: sync\non:\n  schedule:\n    - cron: '0 2 * * *'\njobs:\n  sync:\n    runs-on: ubuntu-latest\n    env:\n      GITHUB_TOKEN: {}\n    steps:\n      - run: ./sync.sh\n",
        s.acme_bot_token
    );
    commit(
        &repo,
        &[(".github/workflows/sync.yml", Some(&workflow))],
        "nightly sync with acme",
        &d.ts(60),
    )?;
    let cfg = format!(
        "stripe:\n  secret_key: {}\n  webhook_path: /hooks/stripe\n",
        s.stripe_key
    );
    commit(
        &repo,
        &[("config/payments.yaml", Some(&cfg))],
        "payments config",
        &d.ts(30),
    )?;
    Ok(())
}

/// Write the demo estate under `root` (absent, empty, or an earlier demo, which is replaced)
/// and return the path of its sweep.toml.
pub fn build(root: &Path, today: NaiveDate) -> Result<PathBuf> {
    const MARKER: &str = ".trustmap-demo";
    if root.exists() && std::fs::read_dir(root)?.next().is_some() {
        // A previous demo is replaced; anything else is left alone.
        if !root.join(MARKER).exists() {
            bail!(
                "{} is not empty and holds no earlier demo: give `trustmap demo --dir` a new directory",
                root.display()
            );
        }
        std::fs::remove_dir_all(root)
            .with_context(|| format!("cannot replace the earlier demo in {}", root.display()))?;
    }
    std::fs::create_dir_all(root)?;
    std::fs::write(
        root.join(MARKER),
        "created by `trustmap demo`; the next demo run replaces this directory\n",
    )?;
    let d = Days(today);
    let s = secrets();
    std::fs::create_dir_all(root.join("aws"))?;
    std::fs::create_dir_all(root.join("github"))?;
    std::fs::create_dir_all(root.join("shared-config"))?;
    std::fs::write(root.join("partners.toml"), partners(&d))?;
    std::fs::write(root.join("sweep.toml"), SWEEP)?;
    std::fs::write(
        root.join("aws/authorization-details.json"),
        serde_json::to_string_pretty(&gaad(&d))?,
    )?;
    std::fs::write(
        root.join("aws/credential-report.csv"),
        credential_report(&d),
    )?;
    std::fs::write(root.join("aws/known-accounts.yaml"), KNOWN_ACCOUNTS)?;
    let last8 = &s.acme_bot_token[s.acme_bot_token.len() - 8..];
    std::fs::write(
        root.join("github/inventory.json"),
        serde_json::to_string_pretty(&github_inventory(&d, last8))?,
    )?;
    std::fs::write(
        root.join("shared-config/legacy-migration.ini"),
        format!("[oldco]\n; left over from the 2025 migration\naws_access_key_id = {}\nregion = eu-west-1\n", s.oldco_key_id),
    )?;
    std::fs::write(
        root.join("shared-config/entra-sync.env"),
        format!("# OldCo migration tool, Graph access\nAZURE_TENANT_ID={OLDCO_TENANT}\nAZURE_CLIENT_ID={OLDCO_APP}\nAZURE_CLIENT_SECRET={}\n", s.oldco_entra_secret),
    )?;
    std::fs::write(
        root.join("shared-config/gcp-deployer-key.json"),
        gcp_key_file(&s),
    )?;
    entra_export(root, &d)?;
    gcp_export(root, &d)?;
    k8s_export(root, &d)?;
    payments_repo(root, &d, &s)?;
    Ok(root.join("sweep.toml"))
}
