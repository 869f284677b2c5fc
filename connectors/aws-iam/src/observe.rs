//! One account's inventory → observations: users and roles as identities (scopes summarised
//! from inline, attached and group policies), access keys as credentials, trust policies as
//! `trusts` edges to external principals with their conditions.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use trustmap_model::{
    CredentialObs, EdgeKind, EdgeObs, ExternalPrincipalObs, Identifier, IdentityObs, Observation,
    Provenance, Revocation,
};

use crate::details::{report_date, AccountInventory, AttachedPolicy, InlinePolicy, Tag};
use crate::known::KnownAccounts;
use crate::policy::{self, Permissions, Principal};

const GITHUB_OIDC: &str = "token.actions.githubusercontent.com";

/// `2026-01-02T03:04:05Z` and `2026-01-02 03:04:05+00:00` alike → RFC 3339 as given, trimmed.
fn date(v: &Option<String>) -> Option<String> {
    v.as_ref().filter(|s| !s.is_empty()).cloned()
}

fn later(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let day = |s: &String| s.get(..10).unwrap_or(s).to_string();
            Some(if day(&a) >= day(&b) { a } else { b })
        }
        (a, b) => a.or(b),
    }
}

fn tags_of(tags: &[Tag]) -> (BTreeMap<String, String>, Vec<Identifier>) {
    let mut map = BTreeMap::new();
    let mut identifiers = Vec::new();
    for t in tags {
        if t.value.contains('@') && !t.value.contains(char::is_whitespace) {
            identifiers.push(Identifier::Email(t.value.clone()));
        }
        map.insert(t.key.clone(), t.value.clone());
    }
    (map, identifiers)
}

/// What to say about one account, and the problems met on the way (kept as coverage gaps).
pub struct Built {
    pub observations: Vec<Observation>,
    pub gaps: Vec<String>,
}

struct Builder<'a> {
    account: &'a str,
    known: &'a KnownAccounts,
    /// Managed policy ARN → what its default version allows.
    managed: HashMap<&'a str, Permissions>,
    out: Vec<Observation>,
    principals: BTreeSet<String>,
    gaps: Vec<String>,
    source: &'a str,
}

impl<'a> Builder<'a> {
    fn provenance(&self) -> Provenance {
        Provenance {
            connector: String::new(),
            source: self.source.to_string(),
        }
    }

    fn permissions(
        &mut self,
        owner: &str,
        inline: &[InlinePolicy],
        attached: &[AttachedPolicy],
    ) -> Permissions {
        let mut p = Permissions::default();
        for ip in inline {
            match policy::decode_document(&ip.policy_document) {
                Ok(doc) => p.add_document(&doc),
                Err(e) => self
                    .gaps
                    .push(format!("{owner}: inline policy {}: {e}", ip.policy_name)),
            }
        }
        for ap in attached {
            if let Some(m) = self.managed.get(ap.policy_arn.as_str()) {
                p.merge(m);
            } else if let Some(m) = policy::known_managed_policy(&ap.policy_name) {
                p.merge(&m);
            } else {
                // Not in the export and not a well-known AWS policy: name it, so a review sees it.
                p.scopes.insert(format!("aws:policy/{}", ap.policy_name));
            }
        }
        p
    }

    fn external(&mut self, id: String, kind: &str, name: String, identifiers: Vec<Identifier>) {
        if self.principals.insert(id.clone()) {
            self.out
                .push(Observation::ExternalPrincipal(ExternalPrincipalObs {
                    id,
                    kind: kind.to_string(),
                    name,
                    identifiers,
                    provenance: self.provenance(),
                }));
        }
    }

    fn account_principal(&mut self, account: &str) -> String {
        let id = format!("aws-account:{account}");
        let (name, mut identifiers) = (
            account.to_string(),
            vec![Identifier::AwsAccount(account.to_string())],
        );
        let name = match self.known.vendor(account) {
            Some(vendor) => {
                identifiers.push(Identifier::KnownVendor(vendor.to_string()));
                format!("{name} (probably {vendor}, per known accounts list)")
            }
            None => name,
        };
        self.external(id.clone(), "aws_account", name, identifiers);
        id
    }

    /// The principals a GitHub Actions OIDC trust lets in: each repository its `sub`
    /// conditions name, or, with no subject condition, every repository on GitHub.
    fn github_oidc_targets(&mut self, conditions: &BTreeMap<String, String>) -> Vec<String> {
        let subs: Vec<String> = conditions
            .iter()
            .filter(|(k, _)| k.ends_with(":sub"))
            .flat_map(|(_, v)| {
                let v = v.split_once(": ").map_or(v.as_str(), |(_, v)| v);
                v.split(", ").map(str::to_string).collect::<Vec<_>>()
            })
            .collect();
        let repos: BTreeSet<String> = subs
            .iter()
            .filter_map(|s| s.strip_prefix("repo:"))
            .map(|s| s.split(':').next().unwrap_or(s).to_string())
            .collect();
        if repos.is_empty() {
            self.external(
                format!("oidc:{GITHUB_OIDC}"),
                "oidc_issuer",
                "GitHub Actions (any repository)".into(),
                vec![],
            );
            return vec![format!("oidc:{GITHUB_OIDC}")];
        }
        let mut targets = Vec::new();
        for repo in repos {
            let org = repo.split('/').next().unwrap_or(&repo).to_string();
            let id = format!("github-repo:{repo}");
            let mut ids = vec![Identifier::GithubOrg(org.clone())];
            if !org.contains('*') {
                ids.push(Identifier::GithubRepo(repo.clone()));
            }
            self.external(id.clone(), "github_repository", repo, ids);
            targets.push(id);
        }
        targets
    }

    /// The trust edges of one role, one per trusted principal: when several statements trust
    /// the same principal, the one with the fewest conditions is what the principal can use.
    fn trust_edges(
        &mut self,
        role_id: &str,
        role_name: &str,
        doc: &serde_json::Value,
    ) -> Vec<String> {
        let doc = match policy::decode_document(doc) {
            Ok(d) => d,
            Err(e) => {
                self.gaps
                    .push(format!("role {role_name}: trust policy: {e}"));
                return Vec::new();
            }
        };
        let mut services = Vec::new();
        let mut targets: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut add = |target: String, conditions: BTreeMap<String, String>| {
            let keep = targets
                .get(&target)
                .is_none_or(|c| c.len() > conditions.len());
            if keep {
                targets.insert(target, conditions);
            }
        };
        for t in policy::trusts(&doc) {
            match &t.principal {
                Principal::Service(s) => services.push(s.clone()),
                Principal::Anyone => {
                    self.external(
                        "aws-principal:*".into(),
                        "anyone",
                        "anyone (Principal \"*\")".into(),
                        vec![],
                    );
                    add("aws-principal:*".into(), t.conditions.clone());
                }
                Principal::Account(a) if a == self.account => {}
                Principal::Account(a) => add(self.account_principal(a), t.conditions.clone()),
                Principal::Arn { account, arn } if account == self.account => {
                    let resource = arn.rsplit_once(':').map_or("", |(_, r)| r);
                    let (kind, rest) = resource.split_once('/').unwrap_or(("", resource));
                    let name = rest.rsplit('/').next().unwrap_or(rest);
                    add(format!("aws:{account}:{kind}/{name}"), t.conditions.clone());
                }
                Principal::Arn { account, arn } if account.is_empty() => {
                    let id = format!("aws-principal:{arn}");
                    self.external(
                        id.clone(),
                        "aws_deleted_principal",
                        format!("deleted principal {arn}"),
                        vec![],
                    );
                    add(id, t.conditions.clone());
                }
                Principal::Arn { account, arn } => {
                    let mut c = t.conditions.clone();
                    c.insert("aws:PrincipalArn".into(), arn.clone());
                    add(self.account_principal(account), c);
                }
                Principal::Federated(issuer) if issuer == GITHUB_OIDC => {
                    for target in self.github_oidc_targets(&t.conditions) {
                        add(target, t.conditions.clone());
                    }
                }
                Principal::Federated(provider) => {
                    let kind = if provider.contains(":saml-provider/") {
                        "saml_provider"
                    } else {
                        "oidc_issuer"
                    };
                    let id = format!("oidc:{provider}");
                    self.external(id.clone(), kind, provider.clone(), vec![]);
                    add(id, t.conditions.clone());
                }
            }
        }
        for (to, conditions) in targets {
            self.out.push(Observation::Edge(EdgeObs {
                from: role_id.to_string(),
                to,
                kind: EdgeKind::Trusts,
                conditions,
                provenance: self.provenance(),
            }));
        }
        services
    }
}

/// What each managed policy of the export allows, by ARN, and the problems met reading them.
fn managed_policies(
    d: &crate::details::AuthorizationDetails,
) -> (HashMap<&str, Permissions>, Vec<String>) {
    let mut managed = HashMap::new();
    let mut gaps = Vec::new();
    for p in &d.policies {
        let version = p
            .policy_version_list
            .iter()
            .find(|v| v.is_default_version || v.version_id == p.default_version_id);
        let mut perms = Permissions::default();
        match version.map(|v| policy::decode_document(&v.document)) {
            Some(Ok(doc)) => perms.add_document(&doc),
            Some(Err(e)) => gaps.push(format!("managed policy {}: {e}", p.policy_name)),
            None => match policy::known_managed_policy(&p.policy_name) {
                Some(k) => perms = k,
                None => gaps.push(format!(
                    "managed policy {}: no default version in the export",
                    p.policy_name
                )),
            },
        }
        managed.insert(p.arn.as_str(), perms);
    }
    (managed, gaps)
}

/// Who an account's users are by name, for the per-user steps.
struct UserFacts<'a> {
    groups: HashMap<&'a str, Permissions>,
    report: HashMap<&'a str, &'a crate::details::ReportRow>,
    keys_by_user: HashMap<&'a str, Vec<&'a crate::details::AccessKey>>,
    /// Keys were listed live (with ids); else the report's key slots stand in for them.
    live_keys: bool,
}

impl<'a> Builder<'a> {
    /// A user's access keys: listed live (with ids), or the credential report's two key
    /// slots standing in for them in an export.
    fn access_keys(
        &self,
        u: &crate::details::UserDetail,
        id: &str,
        facts: &UserFacts<'_>,
        row: Option<&crate::details::ReportRow>,
    ) -> Vec<CredentialObs> {
        let mut creds = Vec::new();
        if facts.live_keys {
            for k in facts
                .keys_by_user
                .get(u.user_name.as_str())
                .into_iter()
                .flatten()
            {
                creds.push(CredentialObs {
                    id: format!("aws:{}:access-key/{}", self.account, k.access_key_id),
                    kind: "aws_access_key".into(),
                    holder: id.to_string(),
                    name: Some(format!("{} access key {}", u.user_name, k.access_key_id)),
                    created: k.created.clone(),
                    last_used: k.last_used.clone(),
                    last_rotated: k.created.clone(),
                    expires: None,
                    active: k.active,
                    identifiers: vec![Identifier::AwsAccessKeyId(k.access_key_id.clone())],
                    scopes: vec![],
                    revoke: Some(Self::key_revocation(&u.user_name, &k.access_key_id)),
                    provenance: self.provenance(),
                });
            }
        } else if let Some(r) = row {
            // Exports carry no key ids: the report's key slots stand in for them.
            let slots = [
                (
                    1,
                    &r.access_key_1_active,
                    &r.access_key_1_last_rotated,
                    &r.access_key_1_last_used_date,
                ),
                (
                    2,
                    &r.access_key_2_active,
                    &r.access_key_2_last_rotated,
                    &r.access_key_2_last_used_date,
                ),
            ];
            for (n, active, rotated, used) in slots {
                let Some(rotated) = report_date(rotated) else {
                    continue;
                };
                creds.push(CredentialObs {
                    id: format!("aws:{}:user/{}/access-key-{n}", self.account, u.user_name),
                    kind: "aws_access_key".into(),
                    holder: id.to_string(),
                    name: Some(format!("{} access key {n}", u.user_name)),
                    created: Some(rotated.clone()),
                    last_used: report_date(used),
                    last_rotated: Some(rotated),
                    expires: None,
                    active: active == "true",
                    identifiers: vec![],
                    scopes: vec![],
                    // An export names no key id: list the user's keys to find it.
                    revoke: Some(Revocation::commands(&[&[
                        "aws",
                        "iam",
                        "list-access-keys",
                        "--user-name",
                        &u.user_name,
                    ]])),
                    provenance: self.provenance(),
                });
            }
        }
        creds
    }

    /// A user with its permissions (own, attached, through groups) and its access keys.
    fn user(&mut self, u: &crate::details::UserDetail, facts: &UserFacts<'_>) {
        let (groups, report) = (&facts.groups, &facts.report);
        let id = format!("aws:{}:user/{}", self.account, u.user_name);
        let mut perms = self.permissions(
            &format!("user {}", u.user_name),
            &u.user_policy_list,
            &u.attached_managed_policies,
        );
        for g in &u.group_list {
            if let Some(gp) = groups.get(g.as_str()) {
                perms.merge(gp);
            }
        }
        let (mut tags, identifiers) = tags_of(&u.tags);
        let row = report.get(u.user_name.as_str());
        let password = row.is_some_and(|r| r.password_enabled == "true");
        if password {
            // A console password suggests a person; kept visible rather than guessed away.
            tags.insert("console_password".into(), "true".into());
        }
        let creds = self.access_keys(u, &id, facts, row.copied());
        let key_used = creds
            .iter()
            .fold(None, |acc, c| later(acc, c.last_used.clone()));
        let last_used = later(
            key_used,
            row.and_then(|r| report_date(&r.password_last_used)),
        );
        // A user with neither an active key nor a password cannot act; no report = unknown.
        let active =
            creds.iter().any(|c| c.active) || password || (creds.is_empty() && row.is_none());
        self.out.push(Observation::Identity(IdentityObs {
            id: id.clone(),
            kind: "aws_iam_user".into(),
            name: u.user_name.clone(),
            provider: "aws".into(),
            account: Some(self.account.to_string()),
            created: date(&u.create_date),
            last_used,
            active,
            scopes: perms.scopes.into_iter().collect(),
            tags,
            identifiers,
            // After its keys (their own steps): the console password, then the user. IAM refuses
            // while policies or groups remain, and says which.
            revoke: Some(Revocation::commands(&[
                &[
                    "aws",
                    "iam",
                    "delete-login-profile",
                    "--user-name",
                    &u.user_name,
                ],
                &["aws", "iam", "delete-user", "--user-name", &u.user_name],
            ])),
            provenance: self.provenance(),
        }));
        self.out
            .extend(creds.into_iter().map(Observation::Credential));
    }

    /// Deactivated first, so a consumer that breaks can be found before the key is gone for good.
    fn key_revocation(user: &str, key: &str) -> Revocation {
        Revocation::commands(&[
            &[
                "aws",
                "iam",
                "update-access-key",
                "--user-name",
                user,
                "--access-key-id",
                key,
                "--status",
                "Inactive",
            ],
            &[
                "aws",
                "iam",
                "delete-access-key",
                "--user-name",
                user,
                "--access-key-id",
                key,
            ],
        ])
    }

    /// A role (service-linked roles skipped), its permissions and its trust edges.
    fn role(&mut self, r: &crate::details::RoleDetail) {
        if r.path.starts_with("/aws-service-role/") {
            return; // created and managed by AWS services, not by anyone who could leave
        }
        let id = format!("aws:{}:role/{}", self.account, r.role_name);
        let perms = self.permissions(
            &format!("role {}", r.role_name),
            &r.role_policy_list,
            &r.attached_managed_policies,
        );
        let (mut tags, identifiers) = tags_of(&r.tags);
        let services = self.trust_edges(&id, &r.role_name, &r.assume_role_policy_document);
        if !services.is_empty() {
            tags.insert("trusted_services".into(), services.join(", "));
        }
        if perms.admin {
            tags.insert("admin".into(), "true".into());
        }
        self.out.push(Observation::Identity(IdentityObs {
            id,
            kind: "aws_iam_role".into(),
            name: r.role_name.clone(),
            provider: "aws".into(),
            account: Some(self.account.to_string()),
            created: date(&r.create_date),
            last_used: r
                .role_last_used
                .as_ref()
                .and_then(|l| date(&l.last_used_date)),
            active: true,
            scopes: perms.scopes.into_iter().collect(),
            tags,
            identifiers,
            // The trust policy is edited, not the role deleted: read it, drop the partner's
            // principal, write it back.
            revoke: Some(Revocation::commands(&[
                &[
                    "aws",
                    "iam",
                    "get-role",
                    "--role-name",
                    &r.role_name,
                    "--query",
                    "Role.AssumeRolePolicyDocument",
                ],
                &[
                    "aws",
                    "iam",
                    "update-assume-role-policy",
                    "--role-name",
                    &r.role_name,
                    "--policy-document",
                    &format!("file://{}-trust.json", r.role_name),
                ],
            ])),
            provenance: self.provenance(),
        }));
    }

    /// Identity providers the account trusts, whether or not a role uses them yet.
    fn providers(&mut self, providers: &[String]) {
        for arn in providers {
            match arn.split_once(":oidc-provider/") {
                Some((_, host)) => self.external(
                    format!("oidc:{host}"),
                    "oidc_issuer",
                    host.to_string(),
                    vec![],
                ),
                None => self.external(format!("oidc:{arn}"), "saml_provider", arn.clone(), vec![]),
            }
        }
    }
}

/// Build the observations of one account.
pub fn observations(inv: &AccountInventory, known: &KnownAccounts, source: &str) -> Built {
    let d = &inv.details;
    let (managed, gaps) = managed_policies(d);
    let mut b = Builder {
        account: inv.account.as_str(),
        known,
        managed,
        out: Vec::new(),
        principals: BTreeSet::new(),
        gaps,
        source,
    };
    let mut facts = UserFacts {
        groups: HashMap::new(),
        report: inv.report.iter().map(|r| (r.user.as_str(), r)).collect(),
        keys_by_user: HashMap::new(),
        live_keys: inv.keys_listed,
    };
    for g in &d.group_detail_list {
        let p = b.permissions(
            &format!("group {}", g.group_name),
            &g.group_policy_list,
            &g.attached_managed_policies,
        );
        facts.groups.insert(g.group_name.as_str(), p);
    }
    for k in &inv.access_keys {
        facts
            .keys_by_user
            .entry(k.user_name.as_str())
            .or_default()
            .push(k);
    }
    for u in &d.user_detail_list {
        b.user(u, &facts);
    }
    for r in &d.role_detail_list {
        b.role(r);
    }
    b.providers(&inv.providers);
    Built {
        observations: b.out,
        gaps: b.gaps,
    }
}
