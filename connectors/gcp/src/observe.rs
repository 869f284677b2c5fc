//! Inventory → observations.
//!
//! - Our service accounts (in the estate's projects) are `gcp_service_account` identities
//!   holding the roles bound to them anywhere, with their user-managed keys as credentials.
//! - A binding member outside the estate (a user, group or domain of another domain, another
//!   project's service account, `allUsers`) is an identity of its own holding what it was
//!   granted, with a `trusts` edge to the outside it comes from (`domain:acme.example`,
//!   `gcp-project:acme-prod`), so an unregistered outsider with access is unknown external
//!   access and a registered one is the partner's.
//! - A workload identity pool that bindings name (`principal://`, `principalSet://`) is a
//!   `gcp_workload_identity_pool` identity trusting what its providers trust: a GitHub
//!   repository or organisation, an OIDC issuer (open to anyone it serves without an
//!   `attributeCondition` or a narrower principal), an AWS account.
//! - Impersonation (`roles/iam.serviceAccountTokenCreator`, `serviceAccountUser`,
//!   `workloadIdentityUser`) is a `can_assume` edge from the member to each service account
//!   it reaches, and the member's scopes include that account's roles: who can act as an
//!   owner-level account holds owner.
//! - Workspace OAuth grants are one `workspace_oauth_app` per client id, with the scopes users
//!   granted and how many users did.
//! - Google's own service agents and default accounts, `deleted:` members, the bucket
//!   convenience members and the Workspace's own users are the platform or staff: not emitted.
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;
use trustmap_connector::build::{provenance, Observations};
use trustmap_model::{CredentialObs, EdgeKind, Identifier, IdentityObs, Observation, Revocation};

use crate::inventory::{project_of_email, Binding, Inventory, PolicyRecord, Provider};

const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Roles that let their holder act as a service account.
const IMPERSONATION_ROLES: &[&str] = &[
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.serviceAccountUser",
    "roles/iam.workloadIdentityUser",
    "roles/iam.serviceAccountOpenIdTokenCreator",
];

/// Google's own OAuth clients (its CLI and browser), which Workspace lists among users' grants.
const GOOGLE_OAUTH_CLIENTS: &[&str] = &[
    "32555940559.apps.googleusercontent.com",
    "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com",
    "77185425430.apps.googleusercontent.com",
];

/// A binding member, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Member {
    /// Google's, a deleted principal, a convenience member or staff.
    Skip,
    /// A member prefix this version does not know.
    Unknown(String),
    OwnServiceAccount(String),
    /// `user:`, `group:`, `domain:` of another domain, or another project's service account.
    Outsider {
        kind: &'static str,
        value: String,
    },
    /// `allUsers`, `allAuthenticatedUsers`.
    Public(String),
    /// A workload identity pool and which of its identities (`*`, `subject/X`,
    /// `attribute.repository/org/repo`).
    Pool {
        pool: String,
        selector: String,
    },
}

/// What a node was granted: scopes, and where each came from.
#[derive(Default)]
struct Held {
    scopes: BTreeSet<String>,
    conditions: BTreeSet<String>,
    /// (resource, role, conditional) of each binding, for the revocation commands.
    bindings: BTreeSet<(String, String, bool)>,
    /// The project (id) or `organizations/N` of its first binding: where the access is.
    account: Option<String>,
}

/// A Google-managed account: service agents (`service-N@gcp-sa-*`, `*@cloudservices`), the
/// default Compute Engine and App Engine accounts, and anything else Google hosts outside
/// `*.iam.gserviceaccount.com`.
pub fn is_google_managed(email: &str) -> bool {
    let Some((local, domain)) = email
        .to_ascii_lowercase()
        .rsplit_once('@')
        .map(|(l, d)| (l.to_string(), d.to_string()))
    else {
        return false;
    };
    if domain.ends_with(".gserviceaccount.com") && !domain.ends_with(".iam.gserviceaccount.com") {
        return true;
    }
    let project = domain
        .strip_suffix(".iam.gserviceaccount.com")
        .unwrap_or("");
    project.starts_with("gcp-sa-")
        || project == "container-engine-robot"
        || local
            .strip_prefix("service-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `//cloudresourcemanager.googleapis.com/projects/p` → `projects/p`; other services keep
/// their host (`storage.googleapis.com/projects/_/buckets/b`).
pub fn short_resource(resource: &str) -> &str {
    let r = resource.trim_start_matches("//");
    r.strip_prefix("cloudresourcemanager.googleapis.com/")
        .unwrap_or(r)
}

fn domain_of(addr: &str) -> &str {
    addr.rsplit_once('@').map_or(addr, |(_, d)| d)
}

/// `https://token.actions.githubusercontent.com/` → `token.actions.githubusercontent.com`.
fn host_of(url: &str) -> String {
    url.split_once("://")
        .map_or(url, |(_, r)| r)
        .split('/')
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase()
}

static REPO_IN_CONDITION: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a literal pattern
    Regex::new(r#"assertion\.repository\s*==\s*['"]([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)['"]"#).unwrap()
});
static OWNER_IN_CONDITION: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a literal pattern
    Regex::new(r#"assertion\.repository_owner\s*==\s*['"]([A-Za-z0-9_.-]+)['"]"#).unwrap()
});

struct Observer<'a> {
    inv: &'a Inventory,
    internal_projects: BTreeSet<String>,
    /// Our service accounts by lowercased email, and emails by unique id.
    accounts: BTreeMap<String, &'a crate::inventory::ServiceAccount>,
    by_unique_id: HashMap<String, String>,
    /// Node id → what it holds; and the identity stubs of members (kind, name, identifiers).
    held: BTreeMap<String, Held>,
    members: BTreeMap<String, IdentityObs>,
    /// (member node, our account's email) pairs of impersonation.
    assumes: BTreeSet<(String, String)>,
    /// Pool resource name → the selectors bindings name.
    pools: BTreeMap<String, BTreeSet<String>>,
    /// Member prefixes this version does not know, with a count: coverage gaps.
    unknown: BTreeMap<String, usize>,
    obs: Observations,
}

/// Every observation an inventory gives, in a stable order.
pub fn observations(inv: &Inventory) -> Vec<Observation> {
    observe(inv).0
}

/// The observations, and the coverage gaps met reading them (binding members of a kind this
/// version does not know).
pub fn observe(inv: &Inventory) -> (Vec<Observation>, Vec<String>) {
    let (mut obs, gaps) = observe_with(inv, std::borrow::Cow::Borrowed(&inv.policies));
    obs.extend(key_observations(inv));
    (obs, gaps)
}

/// [`observe`] without the keys (which [`key_observations`] makes as they are sent), freeing
/// the IAM policies (an organisation's hundreds of thousands of bindings) once they are read.
pub fn observe_taking_policies(inv: &mut Inventory) -> (Vec<Observation>, Vec<String>) {
    let policies = std::mem::take(&mut inv.policies);
    observe_with(inv, std::borrow::Cow::Owned(policies))
}

fn observe_with(
    inv: &Inventory,
    policies: std::borrow::Cow<'_, [crate::inventory::PolicyRecord]>,
) -> (Vec<Observation>, Vec<String>) {
    let mut internal_projects = BTreeSet::new();
    for p in &inv.projects {
        internal_projects.insert(p.project_id.to_ascii_lowercase());
        if let Some(n) = p.number() {
            internal_projects.insert(n.to_string());
        }
    }
    for sa in &inv.service_accounts {
        internal_projects.insert(sa.project().to_ascii_lowercase());
    }
    let accounts: BTreeMap<String, &crate::inventory::ServiceAccount> = inv
        .service_accounts
        .iter()
        .map(|sa| (sa.email.to_ascii_lowercase(), sa))
        .collect();
    let by_unique_id = inv
        .service_accounts
        .iter()
        .filter_map(|sa| Some((sa.unique_id.clone()?, sa.email.to_ascii_lowercase())))
        .collect();
    let mut o = Observer {
        inv,
        internal_projects,
        accounts,
        by_unique_id,
        held: BTreeMap::new(),
        members: BTreeMap::new(),
        assumes: BTreeSet::new(),
        pools: BTreeMap::new(),
        unknown: BTreeMap::new(),
        obs: Observations::default(),
    };
    for record in policies.iter() {
        for b in &record.policy.bindings {
            o.binding(record, b);
        }
    }
    drop(policies);
    o.service_accounts();
    o.outsiders();
    o.pools();
    o.impersonation();
    o.tokens();
    let gaps = o
        .unknown
        .iter()
        .map(|(prefix, n)| {
            format!("IAM policies: {n} binding member(s) of unknown kind `{prefix}:` not read")
        })
        .collect();
    (o.obs.into_vec(), gaps)
}

impl<'a> Observer<'a> {
    fn own_project(&self, p: &str) -> bool {
        self.internal_projects.contains(&p.to_ascii_lowercase())
    }

    /// A project's id from its number, where the inventory knows it.
    fn project_id(&self, number_or_id: &str) -> String {
        self.inv
            .projects
            .iter()
            .find(|p| p.number() == Some(number_or_id))
            .map_or_else(|| number_or_id.to_string(), |p| p.project_id.clone())
    }

    /// `projects/N/locations/global/workloadIdentityPools/POOL` → `gcp:<project id>:pool/POOL`.
    fn pool_node(&self, pool: &str) -> String {
        let number = pool.split('/').nth(1).unwrap_or("");
        let name = pool.rsplit('/').next().unwrap_or(pool);
        format!("gcp:{}:pool/{name}", self.project_id(number))
    }

    /// Where a binding's access is: its project's id, else its organisation.
    fn account_of(&self, record: &PolicyRecord, resource: &str) -> String {
        if let Some(p) = resource.strip_prefix("projects/") {
            return self.project_id(p.split('/').next().unwrap_or(p));
        }
        if let Some(n) = record
            .project
            .as_deref()
            .and_then(|p| p.strip_prefix("projects/"))
        {
            return self.project_id(n);
        }
        if let Some(o) = &record.organization {
            return o.clone();
        }
        resource.split('/').take(2).collect::<Vec<_>>().join("/")
    }

    fn sa_node(&self, email: &str) -> String {
        let project = self
            .accounts
            .get(&email.to_ascii_lowercase())
            .map(|sa| sa.project())
            .or_else(|| project_of_email(email).map(str::to_string))
            .unwrap_or_default();
        format!("gcp:{project}:sa/{}", email.to_ascii_lowercase())
    }

    fn classify(&self, member: &str) -> Member {
        let (prefix, value) = member.split_once(':').unwrap_or((member, ""));
        match prefix {
            "allUsers" | "allAuthenticatedUsers" => Member::Public(prefix.to_string()),
            "user" | "group" | "domain" => {
                let d = domain_of(value).to_ascii_lowercase();
                let staff = self
                    .inv
                    .workspace_domain
                    .as_deref()
                    .is_some_and(|w| d == w || d.ends_with(&format!(".{w}")));
                if value.is_empty() || staff {
                    return Member::Skip;
                }
                let kind = match prefix {
                    "user" => "gcp_user",
                    "group" => "gcp_group",
                    _ => "gcp_domain",
                };
                Member::Outsider {
                    kind,
                    value: value.to_ascii_lowercase(),
                }
            }
            "serviceAccount" => {
                let email = value.to_ascii_lowercase();
                if is_google_managed(&email) {
                    Member::Skip
                } else if self.accounts.contains_key(&email)
                    || project_of_email(&email).is_some_and(|p| self.own_project(p))
                {
                    Member::OwnServiceAccount(email)
                } else {
                    Member::Outsider {
                        kind: "gcp_external_service_account",
                        value: email,
                    }
                }
            }
            _ if member.starts_with("principal://") || member.starts_with("principalSet://") => {
                let path = member
                    .split_once("iam.googleapis.com/")
                    .map_or("", |(_, p)| p);
                // projects/N/locations/global/workloadIdentityPools/POOL/<selector>
                let parts: Vec<&str> = path.splitn(7, '/').collect();
                if parts.len() >= 6 && parts[4] == "workloadIdentityPools" {
                    Member::Pool {
                        pool: parts[..6].join("/"),
                        selector: parts.get(6).copied().unwrap_or("*").to_string(),
                    }
                } else {
                    // Workforce pools (`locations/global/workforcePools/...`): people, from
                    // another identity provider.
                    Member::Outsider {
                        kind: "gcp_workforce_identity",
                        value: member.to_string(),
                    }
                }
            }
            // Gone, or the bucket convenience members (the project's own roles).
            "deleted" | "projectOwner" | "projectEditor" | "projectViewer" => Member::Skip,
            _ => Member::Unknown(prefix.to_string()),
        }
    }

    fn binding(&mut self, record: &PolicyRecord, b: &Binding) {
        let resource = short_resource(&record.resource).to_string();
        let condition = b
            .condition
            .as_ref()
            .and_then(|c| c.expression.clone().or_else(|| c.title.clone()));
        for m in &b.members {
            let node = match self.classify(m) {
                Member::Skip => continue,
                Member::Unknown(prefix) => {
                    *self.unknown.entry(prefix).or_default() += 1;
                    continue;
                }
                Member::OwnServiceAccount(email) => self.sa_node(&email),
                Member::Outsider { kind, value } => {
                    let prefix = m.split_once(':').map_or("", |(p, _)| p);
                    let id = if kind == "gcp_workforce_identity" {
                        format!("gcp:member/{m}")
                    } else {
                        format!("gcp:member/{prefix}:{value}")
                    };
                    self.member_stub(&id, kind, &value);
                    id
                }
                Member::Public(p) => {
                    let id = format!("gcp:member/{p}");
                    self.member_stub(&id, "gcp_public", &p);
                    id
                }
                Member::Pool { pool, selector } => {
                    let id = self.pool_node(&pool);
                    self.pools.entry(pool).or_default().insert(selector);
                    id
                }
            };
            let account = self.account_of(record, &resource);
            let h = self.held.entry(node.clone()).or_default();
            h.account.get_or_insert(account);
            h.scopes.insert(format!("gcp:{}", b.role));
            if let Some(c) = &condition {
                h.conditions.insert(format!("{}: {c}", b.role));
            }
            h.bindings
                .insert((resource.clone(), b.role.clone(), condition.is_some()));
            if IMPERSONATION_ROLES.contains(&b.role.as_str()) {
                for email in self.impersonable(&resource) {
                    self.assumes.insert((node.clone(), email));
                }
            }
        }
    }

    /// The service accounts a binding on `resource` lets its members act as: that account, or
    /// every account of the project, folder or organisation.
    fn impersonable(&self, resource: &str) -> Vec<String> {
        if let Some(rest) = resource
            .strip_prefix("iam.googleapis.com/projects/")
            .and_then(|r| r.split_once("/serviceAccounts/"))
        {
            let account = rest.1.to_ascii_lowercase();
            let email = self.by_unique_id.get(&account).cloned().unwrap_or(account);
            return vec![email];
        }
        if let Some(project) = resource.strip_prefix("projects/") {
            let project = project.split('/').next().unwrap_or(project);
            let numbers: BTreeMap<&str, &str> = self
                .inv
                .projects
                .iter()
                .filter_map(|p| Some((p.number()?, p.project_id.as_str())))
                .collect();
            let id = numbers.get(project).copied().unwrap_or(project);
            return self
                .accounts
                .iter()
                .filter(|(_, sa)| sa.project().eq_ignore_ascii_case(id))
                .map(|(e, _)| e.clone())
                .collect();
        }
        if resource.starts_with("organizations/") || resource.starts_with("folders/") {
            return self.accounts.keys().cloned().collect();
        }
        Vec::new()
    }

    fn member_stub(&mut self, id: &str, kind: &'static str, value: &str) {
        if self.members.contains_key(id) {
            return;
        }
        let mut identifiers = Vec::new();
        let mut account = None;
        match kind {
            "gcp_user" | "gcp_group" => identifiers.push(Identifier::Email(value.to_string())),
            "gcp_domain" => identifiers.push(Identifier::Domain(value.to_string())),
            "gcp_external_service_account" => {
                identifiers.push(Identifier::Email(value.to_string()));
                if let Some(p) = project_of_email(value) {
                    identifiers.push(Identifier::GcpProject(p.to_string()));
                    account = Some(p.to_string());
                }
            }
            _ => {}
        }
        self.members.insert(
            id.to_string(),
            IdentityObs {
                id: id.to_string(),
                kind: kind.to_string(),
                name: value.to_string(),
                provider: "gcp".into(),
                account,
                created: None,
                last_used: None,
                active: true,
                scopes: Vec::new(),
                tags: BTreeMap::from([("usage".to_string(), "untracked".to_string())]),
                identifiers,
                revoke: None,
                provenance: provenance("iamPolicies"),
            },
        );
    }

    /// Scopes, grants and conditions onto an identity.
    fn apply_held(i: &mut IdentityObs, h: Option<&Held>) {
        let Some(h) = h else { return };
        i.scopes = h.scopes.iter().cloned().collect();
        let grants: BTreeSet<String> = h
            .bindings
            .iter()
            .map(|(resource, role, _)| format!("{role} on {resource}"))
            .collect();
        i.tags.insert("grants".into(), join(&grants));
        if !h.conditions.is_empty() {
            i.tags.insert("conditions".into(), join(&h.conditions));
        }
    }

    fn service_accounts(&mut self) {
        for sa in &self.inv.service_accounts {
            let email = sa.email.to_ascii_lowercase();
            if is_google_managed(&email) {
                continue;
            }
            let project = sa.project();
            let id = self.sa_node(&email);
            let mut i = IdentityObs {
                id: id.clone(),
                kind: "gcp_service_account".into(),
                name: email.clone(),
                provider: "gcp".into(),
                account: Some(project.clone()),
                created: None,
                last_used: None,
                active: !sa.disabled,
                scopes: Vec::new(),
                tags: BTreeMap::from([("usage".to_string(), "untracked".to_string())]),
                identifiers: Vec::new(),
                revoke: Some(Revocation::commands(&[
                    &[
                        "gcloud",
                        "iam",
                        "service-accounts",
                        "disable",
                        &email,
                        "--project",
                        &project,
                    ],
                    &[
                        "gcloud",
                        "iam",
                        "service-accounts",
                        "delete",
                        &email,
                        "--project",
                        &project,
                    ],
                ])),
                provenance: provenance("serviceAccounts"),
            };
            for (k, v) in [
                ("display_name", &sa.display_name),
                ("description", &sa.description),
            ] {
                if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                    i.tags.insert(k.into(), v.clone());
                }
            }
            Self::apply_held(&mut i, self.held.get(&id));
            self.obs.push(Observation::Identity(i));
        }
        self.unlisted_accounts();
    }

    /// Accounts bound somewhere but not listed (an export without that project's list).
    fn unlisted_accounts(&mut self) {
        let listed: BTreeSet<String> = self.accounts.keys().map(|e| self.sa_node(e)).collect();
        let unlisted: Vec<String> = self
            .held
            .keys()
            .filter(|id| id.contains(":sa/") && !listed.contains(*id))
            .cloned()
            .collect();
        for id in unlisted {
            let email = id.rsplit_once(":sa/").map_or("", |(_, e)| e).to_string();
            let project = project_of_email(&email).unwrap_or_default().to_string();
            let mut i = IdentityObs {
                id: id.clone(),
                kind: "gcp_service_account".into(),
                name: email,
                provider: "gcp".into(),
                account: Some(project),
                created: None,
                last_used: None,
                active: true,
                scopes: Vec::new(),
                tags: BTreeMap::from([("usage".to_string(), "untracked".to_string())]),
                identifiers: Vec::new(),
                revoke: None,
                provenance: provenance("iamPolicies"),
            };
            Self::apply_held(&mut i, self.held.get(&id));
            self.obs.push(Observation::Identity(i));
        }
    }

    /// Outsiders (users, groups, domains, other projects' accounts, the public).
    fn outsiders(&mut self) {
        let members = std::mem::take(&mut self.members);
        for (id, mut i) in members {
            let h = self.held.get(&id);
            Self::apply_held(&mut i, h);
            if let Some(h) = h {
                i.revoke = Some(remove_bindings(&member_of(&id), h));
            }
            // Where the member's access is, as the exit plan groups it.
            let own_account = i.account.take();
            i.account = h.and_then(|h| h.account.clone());
            let their_project = own_account.unwrap_or_default();
            let (target, kind, name, identifiers) = match i.kind.as_str() {
                "gcp_external_service_account" => {
                    let p = their_project.clone();
                    (
                        format!("gcp-project:{p}"),
                        "gcp_project",
                        p.clone(),
                        vec![Identifier::GcpProject(p)],
                    )
                }
                "gcp_public" => (format!("gcp:{}", i.name), "public", i.name.clone(), vec![]),
                "gcp_workforce_identity" => (
                    format!(
                        "gcp-workforce:{}",
                        i.name.split('/').nth(5).unwrap_or("pool")
                    ),
                    "workforce_pool",
                    i.name.clone(),
                    vec![],
                ),
                _ => {
                    let d = domain_of(&i.name).to_string();
                    (
                        format!("domain:{d}"),
                        "email_domain",
                        d.clone(),
                        vec![Identifier::Domain(d)],
                    )
                }
            };
            self.obs.push(Observation::Identity(i));
            self.external(target.clone(), kind, name, identifiers, "iamPolicies");
            self.edge(
                &id,
                &target,
                EdgeKind::Trusts,
                BTreeMap::new(),
                "iamPolicies",
            );
        }
    }

    /// Workload identity pools, trusting what their providers trust.
    fn pools(&mut self) {
        let pools = std::mem::take(&mut self.pools);
        for (pool, selectors) in pools {
            let id = self.pool_node(&pool);
            let number = pool.split('/').nth(1).unwrap_or("");
            let project = self.project_id(number);
            let short = pool.rsplit('/').next().unwrap_or(&pool).to_string();
            let mut i = IdentityObs {
                id: id.clone(),
                kind: "gcp_workload_identity_pool".into(),
                name: short.clone(),
                provider: "gcp".into(),
                account: Some(project.clone()),
                created: None,
                last_used: None,
                active: true,
                scopes: Vec::new(),
                tags: BTreeMap::from([
                    ("usage".to_string(), "untracked".to_string()),
                    ("principals".to_string(), join(&selectors)),
                ]),
                identifiers: Vec::new(),
                revoke: None,
                provenance: provenance("iamPolicies"),
            };
            let h = self.held.get(&id);
            Self::apply_held(&mut i, h);
            if let Some(h) = h {
                i.revoke = Some(remove_bindings(
                    &format!("principalSet://iam.googleapis.com/{pool}/*"),
                    h,
                ));
            }
            let providers: Vec<&Provider> = self
                .inv
                .providers
                .iter()
                .filter(|p| p.pool().eq_ignore_ascii_case(&pool) && p.active())
                .collect();
            i.active = !providers.is_empty() || !self.inv.providers_read;
            self.obs.push(Observation::Identity(i));
            // Offline without the providers file, whom the pool trusts is a coverage gap
            // (the export loader names it).
            if !self.inv.providers_read {
                continue;
            }
            for p in providers {
                self.provider_trust(&id, p, &selectors);
            }
        }
    }

    fn provider_trust(&mut self, pool_id: &str, p: &Provider, selectors: &BTreeSet<String>) {
        let mut conditions = BTreeMap::from([(
            "provider".to_string(),
            p.name.rsplit('/').next().unwrap_or(&p.name).to_string(),
        )]);
        if let Some(c) = p
            .attribute_condition
            .as_ref()
            .filter(|c| !c.trim().is_empty())
        {
            conditions.insert("attribute_condition".into(), c.clone());
        }
        // `*` (every identity of the pool) restricts nothing; a subject or attribute does.
        let narrow: Vec<&String> = selectors.iter().filter(|s| s.as_str() != "*").collect();
        let everyone = narrow.len() < selectors.len();
        if p.oidc.is_none() {
            self.non_oidc_trust(pool_id, p, conditions, (everyone, &narrow));
            return;
        }
        let Some(oidc) = &p.oidc else { return };
        let issuer = oidc.issuer_uri.trim_end_matches('/').to_string();
        let host = host_of(&issuer);
        for s in &narrow {
            if let Some(sub) = s.strip_prefix("subject/") {
                conditions.insert(format!("{host}:sub"), sub.to_string());
            } else if let Some((attr, value)) = s.split_once('/') {
                conditions.insert(attr.to_string(), value.to_string());
            }
        }
        // Every identity of the pool may come in: the narrower selectors do not restrict it.
        if everyone {
            conditions.retain(|k, _| !k.ends_with(":sub") && !k.starts_with("attribute."));
        }
        let target = self.oidc_target(&issuer, &host, &conditions, p);
        conditions.insert("issuer".into(), issuer);
        self.edge(
            pool_id,
            &target,
            EdgeKind::Trusts,
            conditions,
            "workloadIdentityProviders",
        );
    }

    /// An AWS provider trusts the account; a SAML provider its identity provider.
    fn non_oidc_trust(
        &mut self,
        pool_id: &str,
        p: &Provider,
        mut conditions: BTreeMap<String, String>,
        (everyone, narrow): (bool, &[&String]),
    ) {
        if let Some(aws) = &p.aws {
            let target = format!("aws-account:{}", aws.account_id);
            self.external(
                target.clone(),
                "aws_account",
                aws.account_id.clone(),
                vec![Identifier::AwsAccount(aws.account_id.clone())],
                "workloadIdentityProviders",
            );
            if !everyone {
                conditions.insert("principal".into(), join_refs(narrow));
            }
            self.edge(
                pool_id,
                &target,
                EdgeKind::Trusts,
                conditions,
                "workloadIdentityProviders",
            );
            return;
        }
        let target = format!("saml:{}", p.name.rsplit('/').next().unwrap_or(&p.name));
        let label = p.display_name.clone().unwrap_or_else(|| target.clone());
        self.external(
            target.clone(),
            "saml_idp",
            label,
            vec![],
            "workloadIdentityProviders",
        );
        self.edge(
            pool_id,
            &target,
            EdgeKind::Trusts,
            conditions,
            "workloadIdentityProviders",
        );
    }

    /// Whom an OIDC provider lets in: a GitHub repository or organisation its selector or
    /// attribute condition names, else the issuer itself (anyone it serves).
    fn oidc_target(
        &mut self,
        issuer: &str,
        host: &str,
        conditions: &BTreeMap<String, String>,
        p: &Provider,
    ) -> String {
        let github = issuer.eq_ignore_ascii_case(GITHUB_ISSUER);
        let condition = p.attribute_condition.clone().unwrap_or_default();
        let repo = conditions
            .get("attribute.repository")
            .cloned()
            .or_else(|| {
                REPO_IN_CONDITION
                    .captures(&condition)
                    .map(|c| c[1].to_string())
            })
            .filter(|r| github && r.contains('/') && !r.contains('*'));
        let owner = conditions
            .get("attribute.repository_owner")
            .cloned()
            .or_else(|| {
                OWNER_IN_CONDITION
                    .captures(&condition)
                    .map(|c| c[1].to_string())
            })
            .filter(|_| github);
        if let Some(repo) = repo {
            let org = repo.split('/').next().unwrap_or(&repo).to_string();
            let id = format!("github-repo:{repo}");
            self.external(
                id.clone(),
                "github_repository",
                repo.clone(),
                vec![Identifier::GithubOrg(org), Identifier::GithubRepo(repo)],
                "workloadIdentityProviders",
            );
            id
        } else if let Some(org) = owner {
            let id = format!("github-org:{org}");
            self.external(
                id.clone(),
                "github_org",
                org.clone(),
                vec![Identifier::GithubOrg(org)],
                "workloadIdentityProviders",
            );
            id
        } else {
            let id = format!("oidc:{host}");
            self.external(
                id.clone(),
                "oidc_issuer",
                issuer.to_string(),
                vec![],
                "workloadIdentityProviders",
            );
            id
        }
    }

    /// `can_assume` edges, and the accounts' roles added to whoever can act as them.
    fn impersonation(&mut self) {
        let roles: HashMap<String, Vec<String>> = self
            .held
            .iter()
            .filter(|(id, _)| id.contains(":sa/"))
            .map(|(id, h)| (id.clone(), h.scopes.iter().cloned().collect()))
            .collect();
        let assumes = std::mem::take(&mut self.assumes);
        let mut acts_as: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, email) in &assumes {
            let to = self.sa_node(email);
            if *from == to {
                continue;
            }
            self.edge(
                from,
                &to,
                EdgeKind::CanAssume,
                BTreeMap::new(),
                "iamPolicies",
            );
            acts_as
                .entry(from.clone())
                .or_default()
                .insert(email.clone());
        }
        // Each account's roles, by email (held by whoever can act as it).
        let roles_of: HashMap<&String, &Vec<String>> = acts_as
            .values()
            .flatten()
            .filter_map(|e| Some((e, roles.get(&self.sa_node(e))?)))
            .collect();
        for obs in self.obs.iter_mut() {
            let Observation::Identity(i) = obs else {
                continue;
            };
            let Some(emails) = acts_as.get(&i.id) else {
                continue;
            };
            let mut scopes: BTreeSet<String> = i.scopes.drain(..).collect();
            for e in emails {
                scopes.extend(roles_of.get(e).into_iter().copied().flatten().cloned());
            }
            i.scopes = scopes.into_iter().collect();
            i.tags
                .insert(trustmap_model::ACTS_AS_TAG.into(), join(emails));
        }
    }

    /// Workspace OAuth grants, one app per client id.
    fn tokens(&mut self) {
        struct App {
            name: String,
            scopes: BTreeSet<String>,
            users: BTreeSet<String>,
            native: bool,
        }
        let mut apps: BTreeMap<String, App> = BTreeMap::new();
        for t in &self.inv.tokens {
            if GOOGLE_OAUTH_CLIENTS.contains(&t.client_id.as_str()) {
                continue;
            }
            let a = apps.entry(t.client_id.clone()).or_insert_with(|| App {
                name: t
                    .display_text
                    .clone()
                    .unwrap_or_else(|| t.client_id.clone()),
                scopes: BTreeSet::new(),
                users: BTreeSet::new(),
                native: t.native_app,
            });
            a.scopes
                .extend(t.scopes.iter().map(|s| format!("oauth:{s}")));
            if let Some(u) = &t.user_key {
                a.users.insert(u.to_ascii_lowercase());
            }
        }
        let workspace = self
            .inv
            .workspace_domain
            .clone()
            .unwrap_or_else(|| "workspace".into());
        for (client, a) in apps {
            let id = format!("workspace:{workspace}:oauth/{client}");
            let mut tags = BTreeMap::from([
                ("usage".to_string(), "untracked".to_string()),
                ("users".to_string(), a.users.len().to_string()),
            ]);
            if a.native {
                tags.insert("native_app".into(), "true".into());
            }
            self.obs.push(Observation::Identity(IdentityObs {
                id: id.clone(),
                kind: "workspace_oauth_app".into(),
                name: a.name.clone(),
                provider: "google_workspace".into(),
                account: Some(workspace.clone()),
                created: None,
                last_used: None,
                active: true,
                scopes: a.scopes.into_iter().collect(),
                tags,
                identifiers: vec![Identifier::OauthClient(client.clone())],
                // The Admin console's app access control revokes an app for every user at once.
                revoke: Some(Revocation::page(
                    "https://admin.google.com/ac/owl/list?tab=configuredApps",
                )),
                provenance: provenance("tokens"),
            }));
            let target = format!("oauth-client:{client}");
            self.external(
                target.clone(),
                "oauth_client",
                a.name,
                vec![Identifier::OauthClient(client)],
                "tokens",
            );
            self.edge(
                &id,
                &target,
                EdgeKind::InstalledBy,
                BTreeMap::new(),
                "tokens",
            );
        }
    }

    fn external(
        &mut self,
        id: String,
        kind: &str,
        name: String,
        identifiers: Vec<Identifier>,
        source: &str,
    ) {
        self.obs.external(&id, kind, &name, identifiers, source);
    }

    fn edge(
        &mut self,
        from: &str,
        to: &str,
        kind: EdgeKind,
        conditions: BTreeMap<String, String>,
        source: &str,
    ) {
        self.obs.edge(from, to, kind, conditions, source);
    }
}

/// The user-managed keys of our accounts, made one at a time as they are consumed: an
/// organisation's tens of thousands of keys need not all be in memory at once.
pub fn key_observations(inv: &Inventory) -> impl Iterator<Item = Observation> + Send + '_ {
    let accounts: HashMap<String, (String, bool)> = inv
        .service_accounts
        .iter()
        .map(|sa| (sa.email.to_ascii_lowercase(), (sa.project(), sa.disabled)))
        .collect();
    inv.keys
        .iter()
        .filter_map(move |k| key_observation(k, &accounts))
}

fn key_observation(
    k: &crate::inventory::ServiceAccountKey,
    accounts: &HashMap<String, (String, bool)>,
) -> Option<Observation> {
    let (email, key_id) = k.parts()?;
    let email = email.to_ascii_lowercase();
    if !k.user_managed() || is_google_managed(&email) {
        return None;
    }
    let (project, account_disabled) = match accounts.get(&email) {
        Some((p, d)) => (p.clone(), *d),
        None => (
            project_of_email(&email).unwrap_or_default().to_string(),
            false,
        ),
    };
    let holder = format!("gcp:{project}:sa/{email}");
    let expires = k
        .valid_before_time
        .clone()
        // 9999-12-31: a key that never expires.
        .filter(|t| !t.starts_with("9999"));
    Some(Observation::Credential(CredentialObs {
        id: format!("{holder}/key/{key_id}"),
        kind: "gcp_service_account_key".into(),
        holder,
        name: Some(format!("{email}: key {}", short_key(key_id))),
        created: k.valid_after_time.clone(),
        last_used: None,
        last_rotated: None,
        expires,
        active: !k.disabled && !account_disabled,
        // What a leaked key file's `private_key_id` links to.
        identifiers: vec![Identifier::GcpKey(key_id.to_ascii_lowercase())],
        scopes: Vec::new(),
        revoke: Some(Revocation::commands(&[
            &[
                "gcloud",
                "iam",
                "service-accounts",
                "keys",
                "disable",
                key_id,
                "--iam-account",
                &email,
            ],
            &[
                "gcloud",
                "iam",
                "service-accounts",
                "keys",
                "delete",
                key_id,
                "--iam-account",
                &email,
                "--quiet",
            ],
        ])),
        provenance: provenance("serviceAccountKeys"),
    }))
}

/// The member string of a member node id (`gcp:member/user:x` → `user:x`).
fn member_of(id: &str) -> String {
    id.strip_prefix("gcp:member/").unwrap_or(id).to_string()
}

/// The gcloud command that removes each of a member's bindings, by the resource's kind.
fn remove_bindings(member: &str, h: &Held) -> Revocation {
    let mut commands: Vec<Vec<String>> = Vec::new();
    let mut page = None;
    for (resource, role, conditional) in &h.bindings {
        let (group, target): (&[&str], String) = if let Some(p) = resource.strip_prefix("projects/")
        {
            (&["projects"], p.to_string())
        } else if let Some(o) = resource.strip_prefix("organizations/") {
            (&["organizations"], o.to_string())
        } else if let Some(f) = resource.strip_prefix("folders/") {
            (&["resource-manager", "folders"], f.to_string())
        } else if let Some((_, sa)) = resource
            .strip_prefix("iam.googleapis.com/")
            .and_then(|r| r.split_once("/serviceAccounts/"))
        {
            (&["iam", "service-accounts"], sa.to_string())
        } else if let Some(b) = resource.strip_prefix("storage.googleapis.com/projects/_/buckets/")
        {
            (&["storage", "buckets"], format!("gs://{b}"))
        } else {
            page = Some(format!(
                "https://console.cloud.google.com/iam-admin/iam (resource {resource})"
            ));
            continue;
        };
        let mut argv: Vec<String> = std::iter::once("gcloud")
            .chain(group.iter().copied())
            .map(str::to_string)
            .collect();
        argv.extend([
            "remove-iam-policy-binding".to_string(),
            target,
            format!("--member={member}"),
            format!("--role={role}"),
        ]);
        if *conditional {
            argv.push("--all".into());
        }
        commands.push(argv);
    }
    Revocation { commands, page }
}

/// A key id's first twelve characters: enough to tell keys apart in a title.
fn short_key(key: &str) -> &str {
    key.get(..12).unwrap_or(key)
}

fn join(items: &BTreeSet<String>) -> String {
    items
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn join_refs(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_managed_accounts_are_recognised() {
        for e in [
            "service-123456@gcp-sa-pubsub.iam.gserviceaccount.com",
            "123456@cloudservices.gserviceaccount.com",
            "123456-compute@developer.gserviceaccount.com",
            "corp-prod@appspot.gserviceaccount.com",
            "service-42@container-engine-robot.iam.gserviceaccount.com",
        ] {
            assert!(is_google_managed(e), "{e}");
        }
        for e in [
            "deployer@corp-prod.iam.gserviceaccount.com",
            "etl@acme-analytics-prod.iam.gserviceaccount.com",
            "bob@acme.example",
        ] {
            assert!(!is_google_managed(e), "{e}");
        }
    }

    #[test]
    fn resources_are_shortened_for_people() {
        assert_eq!(
            short_resource("//cloudresourcemanager.googleapis.com/projects/corp-prod"),
            "projects/corp-prod"
        );
        assert_eq!(
            short_resource("//storage.googleapis.com/projects/_/buckets/exports"),
            "storage.googleapis.com/projects/_/buckets/exports"
        );
    }
}
