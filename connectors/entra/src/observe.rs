//! Inventory → observations.
//!
//! - Another tenant's application (its service principal's `appOwnerOrganizationId` is not
//!   ours) is an `entra_service_principal` identity carrying `entra_tenant:<owner>` and
//!   `entra_app:<appId>`: the registry's `entra_tenants` and `oauth_clients` attribute it. When
//!   it holds permissions, it is trusted by (`installed_by`) that tenant, an external principal,
//!   so an unregistered tenant's app with access is unknown external access.
//! - The tenant's own application is one `entra_application` identity (the registration's
//!   secrets, certificates, owners and federated credentials, and its service principal's
//!   permissions and `accountEnabled`).
//! - Managed identities and other service principals without an owning tenant are ours.
//! - Our own apps carry no `entra_tenant:` of our tenant: like an IAM role, what they are is
//!   decided by who they trust (a federated credential to a partner's repository makes the
//!   app the partner's) or by the registry's owners, not by where they live.
//! - Microsoft's first-party applications are the platform: never a partner, never unknown,
//!   not emitted (their app roles still name the permissions others hold).
//!
//! Permissions are scopes `entra:<resource>:<permission>`: admin and user consent
//! (`oauth2PermissionGrants`) and application permissions (`appRoleAssignments`, resolved to
//! the resource's app role `value`).
use std::collections::{BTreeMap, BTreeSet, HashMap};
use trustmap_connector::build::{provenance, Observations};
use trustmap_model::{CredentialObs, EdgeKind, Identifier, IdentityObs, Observation, Revocation};

use crate::inventory::{
    Application, FederatedCredential, Inventory, KeyCredential, Owner, PasswordCredential,
    ServicePrincipal,
};

/// Tenants Microsoft registers its own applications in (Microsoft Services and Microsoft's
/// corporate tenant).
pub const MICROSOFT_TENANTS: &[&str] = &[
    "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
    "72f988bf-86f1-41af-91ab-2d7cd011db47",
];

const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

pub fn is_microsoft(tenant: &str) -> bool {
    MICROSOFT_TENANTS
        .iter()
        .any(|t| t.eq_ignore_ascii_case(tenant))
}

/// Who holds a secret or certificate: its node id, display name and appId.
struct Holder<'a> {
    id: &'a str,
    name: &'a str,
    app_id: &'a str,
}

/// A secret's or certificate's id, name and validity, whichever kind it is.
struct Validity<'a> {
    key: Option<&'a str>,
    name: Option<&'a str>,
    start: Option<&'a str>,
    end: Option<&'a str>,
}

/// What a service principal holds: scopes, and how it came by them.
#[derive(Default)]
struct Held {
    scopes: BTreeSet<String>,
    admin_consented: BTreeSet<String>,
    consenting_users: BTreeSet<String>,
    app_permissions: BTreeSet<String>,
}

struct Observer<'a> {
    inv: &'a Inventory,
    tenant: String,
    by_object: HashMap<&'a str, &'a ServicePrincipal>,
    obs: Observations,
}

/// Every observation an inventory gives, in a stable order.
pub fn observations(inv: &Inventory) -> Vec<Observation> {
    let mut o = Observer {
        inv,
        tenant: inv.tenant_id.to_ascii_lowercase(),
        by_object: inv
            .service_principals
            .iter()
            .map(|sp| (sp.id.as_str(), sp))
            .collect(),
        obs: Observations::default(),
    };
    let held = o.held();
    let apps: HashMap<&str, &Application> = inv
        .applications
        .iter()
        .map(|a| (a.app_id.as_str(), a))
        .collect();
    let mut own_sp: HashMap<&str, &ServicePrincipal> = HashMap::new();
    for sp in &inv.service_principals {
        let owner = sp
            .app_owner_organization_id
            .as_deref()
            .map(str::to_ascii_lowercase);
        match owner.as_deref() {
            Some(t) if is_microsoft(t) => {}
            Some(t) if t != o.tenant => o.third_party(sp, t, held.get(sp.id.as_str())),
            _ if apps.contains_key(sp.app_id.as_str()) => {
                own_sp.insert(sp.app_id.as_str(), sp);
            }
            _ => o.own_principal(sp, held.get(sp.id.as_str())),
        }
    }
    for app in &inv.applications {
        let sp = own_sp.get(app.app_id.as_str()).copied();
        let h = sp.and_then(|sp| held.get(sp.id.as_str()));
        o.application(app, sp, h);
    }
    o.obs.into_vec()
}

impl<'a> Observer<'a> {
    fn resource_name(&self, object_id: &str, fallback: Option<&str>) -> String {
        self.by_object
            .get(object_id)
            .and_then(|sp| sp.display_name.clone())
            .or_else(|| fallback.map(str::to_string))
            .unwrap_or_else(|| object_id.to_string())
    }

    /// Delegated and application permissions per client service principal (object id).
    fn held(&self) -> HashMap<&'a str, Held> {
        let inv: &'a Inventory = self.inv;
        let mut held: HashMap<&'a str, Held> = HashMap::new();
        for g in &inv.grants {
            let resource = self.resource_name(&g.resource_id, None);
            let h = held.entry(g.client_id.as_str()).or_default();
            let admin = g
                .consent_type
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case("AllPrincipals"));
            for s in g.scope.as_deref().unwrap_or("").split_whitespace() {
                let scope = format!("entra:{resource}:{s}");
                if admin {
                    h.admin_consented.insert(scope.clone());
                }
                h.scopes.insert(scope);
            }
            if !admin {
                if let Some(p) = &g.principal_id {
                    h.consenting_users.insert(p.clone());
                }
            }
        }
        for a in &inv.assignments {
            let resource = self.resource_name(&a.resource_id, a.resource_display_name.as_deref());
            let role = self
                .by_object
                .get(a.resource_id.as_str())
                .and_then(|r| r.app_roles.iter().find(|role| role.id == a.app_role_id))
                .and_then(|role| role.value.clone())
                // The default role (all zeros) or one the resource no longer lists: keep its id.
                .unwrap_or_else(|| a.app_role_id.clone());
            let scope = format!("entra:{resource}:{role}");
            let h = held.entry(a.principal_id.as_str()).or_default();
            h.app_permissions.insert(scope.clone());
            h.scopes.insert(scope);
        }
        held
    }

    /// Graph v1.0 records no sign-ins of applications (that report is beta-only), so use is
    /// `untracked`: silence is not dormancy.
    fn identity(&self, id: String, kind: &str, name: &str, source: &str) -> IdentityObs {
        IdentityObs {
            id,
            kind: kind.to_string(),
            name: name.to_string(),
            provider: "entra".into(),
            account: Some(self.inv.tenant_id.clone()),
            created: None,
            last_used: None,
            active: true,
            scopes: Vec::new(),
            tags: BTreeMap::from([("usage".to_string(), "untracked".to_string())]),
            identifiers: Vec::new(),
            revoke: None,
            provenance: provenance(source),
        }
    }

    fn apply_held(i: &mut IdentityObs, h: Option<&Held>) {
        let Some(h) = h else { return };
        i.scopes = h.scopes.iter().cloned().collect();
        if !h.admin_consented.is_empty() {
            i.tags.insert(
                "admin_consent".into(),
                join(h.admin_consented.iter().map(|s| short(s))),
            );
        }
        if !h.consenting_users.is_empty() {
            i.tags
                .insert("user_consents".into(), h.consenting_users.len().to_string());
        }
        if !h.app_permissions.is_empty() {
            i.tags.insert(
                "app_permissions".into(),
                join(h.app_permissions.iter().map(|s| short(s))),
            );
        }
    }

    fn owners(i: &mut IdentityObs, owners: Option<&Vec<Owner>>) {
        let Some(owners) = owners else {
            i.tags.insert("owners".into(), "unknown".into());
            return;
        };
        let mut names = Vec::new();
        for o in owners {
            for e in [&o.mail, &o.user_principal_name].into_iter().flatten() {
                let id = Identifier::Email(e.clone());
                if e.contains('@') && !i.identifiers.contains(&id) {
                    i.identifiers.push(id);
                }
            }
            if let Some(n) = o
                .user_principal_name
                .clone()
                .or_else(|| o.display_name.clone())
            {
                names.push(n);
            }
        }
        i.tags.insert(
            "owners".into(),
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            },
        );
    }

    /// A service principal's identity: id, name, state, appId, permissions and owners.
    fn principal_identity(
        &self,
        sp: &ServicePrincipal,
        kind: &str,
        held: Option<&Held>,
    ) -> IdentityObs {
        let id = format!("entra:{}:sp/{}", self.tenant, sp.app_id);
        let name = sp.display_name.clone().unwrap_or_else(|| sp.app_id.clone());
        let mut i = self.identity(id, kind, &name, "servicePrincipals");
        i.active = sp.account_enabled;
        i.identifiers.push(Identifier::EntraApp(sp.app_id.clone()));
        Self::apply_held(&mut i, held);
        Self::owners(&mut i, sp.owners.as_ref());
        i
    }

    /// Emit a service principal's identity and the secrets and certificates it holds.
    fn push_principal(&mut self, i: IdentityObs, sp: &ServicePrincipal) {
        let (id, name) = (i.id.clone(), i.name.clone());
        self.obs.push(Observation::Identity(i));
        let holder = Holder {
            id: &id,
            name: &name,
            app_id: &sp.app_id,
        };
        self.credentials(
            &holder,
            &sp.password_credentials,
            &sp.key_credentials,
            "servicePrincipals",
        );
    }

    /// Another organisation's multi-tenant app, consented into ours.
    fn third_party(&mut self, sp: &ServicePrincipal, owner_tenant: &str, held: Option<&Held>) {
        let mut i = self.principal_identity(sp, "entra_service_principal", held);
        let id = i.id.clone();
        i.identifiers
            .push(Identifier::EntraTenant(owner_tenant.to_string()));
        i.tags
            .insert("app_owner_tenant".into(), owner_tenant.into());
        let publisher = sp
            .verified_publisher
            .as_ref()
            .and_then(|p| p.display_name.clone());
        if let Some(p) = &publisher {
            i.tags.insert("publisher".into(), p.clone());
        }
        // Deleting the service principal removes its consents and app role assignments too.
        i.revoke = Some(Revocation::commands(&[&[
            "az", "ad", "sp", "delete", "--id", &sp.app_id,
        ]]));
        let has_access = !i.scopes.is_empty();
        self.push_principal(i, sp);
        if has_access {
            let tenant = format!("entra_tenant:{owner_tenant}");
            let label = publisher.unwrap_or_else(|| owner_tenant.to_string());
            self.external(
                tenant.clone(),
                "entra_tenant",
                label,
                vec![Identifier::EntraTenant(owner_tenant.to_string())],
                "servicePrincipals",
            );
            self.edge(
                &id,
                &tenant,
                EdgeKind::InstalledBy,
                BTreeMap::new(),
                "servicePrincipals",
            );
        }
    }

    /// A managed identity or another principal of our own without an app registration.
    fn own_principal(&mut self, sp: &ServicePrincipal, held: Option<&Held>) {
        let managed = sp
            .service_principal_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("ManagedIdentity"));
        let kind = if managed {
            "entra_managed_identity"
        } else {
            "entra_service_principal"
        };
        let mut i = self.principal_identity(sp, kind, held);
        if !managed {
            i.revoke = Some(Revocation::commands(&[&[
                "az", "ad", "sp", "delete", "--id", &sp.app_id,
            ]]));
        }
        self.push_principal(i, sp);
    }

    /// One of our app registrations, with its service principal's permissions.
    fn application(
        &mut self,
        app: &Application,
        sp: Option<&ServicePrincipal>,
        held: Option<&Held>,
    ) {
        let id = format!("entra:{}:app/{}", self.tenant, app.app_id);
        let name = app
            .display_name
            .clone()
            .unwrap_or_else(|| app.app_id.clone());
        let mut i = self.identity(id.clone(), "entra_application", &name, "applications");
        i.created.clone_from(&app.created_date_time);
        i.active = sp.is_none_or(|sp| sp.account_enabled);
        i.identifiers.push(Identifier::EntraApp(app.app_id.clone()));
        if let Some(a) = &app.sign_in_audience {
            i.tags.insert("sign_in_audience".into(), a.clone());
        }
        Self::apply_held(&mut i, held);
        Self::owners(&mut i, app.owners.as_ref());
        i.revoke = Some(Self::app_revocation(app, self.inv.federated.get(&app.id)));
        self.obs.push(Observation::Identity(i));
        self.credentials(
            &Holder {
                id: &id,
                name: &name,
                app_id: &app.app_id,
            },
            &app.password_credentials,
            &app.key_credentials,
            "applications",
        );
        if let Some(sp) = sp {
            self.credentials(
                &Holder {
                    id: &id,
                    name: &name,
                    app_id: &app.app_id,
                },
                &sp.password_credentials,
                &sp.key_credentials,
                "servicePrincipals",
            );
        }
        for f in self.inv.federated.get(&app.id).into_iter().flatten() {
            self.federated(&id, f);
        }
    }

    /// An app trusted through federated credentials loses them one by one (the trust is what
    /// outsiders use); otherwise the registration goes.
    fn app_revocation(app: &Application, fics: Option<&Vec<FederatedCredential>>) -> Revocation {
        let named: Vec<&str> = fics
            .into_iter()
            .flatten()
            .filter_map(|f| f.name.as_deref().or(f.id.as_deref()))
            .collect();
        if named.is_empty() {
            return Revocation::commands(&[&["az", "ad", "app", "delete", "--id", &app.app_id]]);
        }
        let commands: Vec<Vec<&str>> = named
            .iter()
            .map(|f| {
                vec![
                    "az",
                    "ad",
                    "app",
                    "federated-credential",
                    "delete",
                    "--id",
                    &app.app_id,
                    "--federated-credential-id",
                    f,
                ]
            })
            .collect();
        let refs: Vec<&[&str]> = commands.iter().map(Vec::as_slice).collect();
        Revocation::commands(&refs)
    }

    fn credentials(
        &mut self,
        holder: &Holder<'_>,
        secrets: &[PasswordCredential],
        certificates: &[KeyCredential],
        source: &str,
    ) {
        let secrets = secrets.iter().map(|s| {
            let v = Validity {
                key: s.key_id.as_deref(),
                name: s.display_name.as_deref(),
                start: s.start_date_time.as_deref(),
                end: s.end_date_time.as_deref(),
            };
            ("entra_client_secret", "secret", "client secret", v)
        });
        let certificates = certificates.iter().map(|c| {
            let v = Validity {
                key: c.key_id.as_deref(),
                name: c.display_name.as_deref(),
                start: c.start_date_time.as_deref(),
                end: c.end_date_time.as_deref(),
            };
            ("entra_certificate", "certificate", "certificate", v)
        });
        // Secrets of the registration or of the service principal: `az ad app` or `az ad sp`.
        let on = if source == "applications" {
            "app"
        } else {
            "sp"
        };
        for (n, (kind, segment, label, v)) in secrets.chain(certificates).enumerate() {
            let key = v.key.map_or_else(|| format!("#{n}"), str::to_string);
            let revoke = v.key.map(|k| {
                let mut argv = vec![
                    "az",
                    "ad",
                    on,
                    "credential",
                    "delete",
                    "--id",
                    holder.app_id,
                    "--key-id",
                    k,
                ];
                if kind == "entra_certificate" {
                    argv.push("--cert");
                }
                Revocation::commands(&[&argv])
            });
            self.obs.push(Observation::Credential(CredentialObs {
                id: format!("{}/{segment}/{key}", holder.id),
                kind: kind.into(),
                holder: holder.id.to_string(),
                // `gha-deploy: client secret ci`: the app first, since secrets' own names are
                // rarely more than a word.
                name: Some(format!(
                    "{}: {label} {}",
                    holder.name,
                    v.name.filter(|n| !n.is_empty()).unwrap_or(&key)
                )),
                created: v.start.map(str::to_string),
                last_used: None,
                last_rotated: None,
                expires: v.end.map(str::to_string),
                active: true,
                // What a leaked client secret found beside this client id links to.
                identifiers: vec![Identifier::EntraApp(holder.app_id.to_string())],
                scopes: Vec::new(),
                revoke,
                provenance: provenance(source),
            }));
        }
    }

    /// A federated credential is trust in whoever the issuer vouches for as `subject`: a GitHub
    /// Actions subject names a repository; a missing or wildcard subject is anyone.
    fn federated(&mut self, app: &str, f: &FederatedCredential) {
        let issuer = f.issuer.trim_end_matches('/');
        let subject = f
            .subject
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let host = issuer
            .split_once("://")
            .map_or(issuer, |(_, r)| r)
            .split('/')
            .next()
            .unwrap_or(issuer)
            .to_ascii_lowercase();
        let mut conditions = BTreeMap::from([("issuer".to_string(), issuer.to_string())]);
        if let Some(s) = subject {
            conditions.insert(format!("{host}:sub"), s.to_string());
        }
        if let Some(name) = &f.name {
            conditions.insert("name".into(), name.clone());
        }
        let repo = subject
            .filter(|_| issuer.eq_ignore_ascii_case(GITHUB_ISSUER))
            .and_then(|s| s.strip_prefix("repo:"))
            .map(|s| s.split(':').next().unwrap_or(s).to_string())
            .filter(|r| r.contains('/') && !r.contains('*'));
        let target = match repo {
            Some(repo) => {
                let org = repo.split('/').next().unwrap_or(&repo).to_string();
                let id = format!("github-repo:{repo}");
                self.external(
                    id.clone(),
                    "github_repository",
                    repo.clone(),
                    vec![Identifier::GithubOrg(org), Identifier::GithubRepo(repo)],
                    "federatedIdentityCredentials",
                );
                id
            }
            None => {
                let id = format!("oidc:{host}");
                self.external(
                    id.clone(),
                    "oidc_issuer",
                    issuer.to_string(),
                    vec![],
                    "federatedIdentityCredentials",
                );
                id
            }
        };
        self.edge(
            app,
            &target,
            EdgeKind::Trusts,
            conditions,
            "federatedIdentityCredentials",
        );
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

/// `entra:Microsoft Graph:Mail.Read` → `Microsoft Graph:Mail.Read`, for tags.
fn short(scope: &str) -> &str {
    scope.strip_prefix("entra:").unwrap_or(scope)
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}
