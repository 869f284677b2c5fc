//! The inventory as observations, the same code live and offline:
//! - each (Cluster)RoleBinding's subjects hold the rules of the role it names, flattened to
//!   `k8s:<verb>:<resource>` (`<group>/<resource>` outside the core group; `*` stays `*`), and
//!   `k8s:cluster-admin` when that is the role;
//! - service accounts that are bound, hold a legacy token, or carry a workload identity
//!   annotation are `k8s_service_account` identities (`<namespace>/<name>`); the annotations
//!   are `can_assume` edges to the AWS role, Google service account or Entra application,
//!   joined by id with what those connectors see;
//! - users and groups from an identity provider are `k8s_user`/`k8s_group` identities; an email
//!   name trusts its domain, which attributes it (`email_domains`);
//! - legacy `kubernetes.io/service-account-token` Secrets are credentials of their account.
//!
//! System subjects (`system:` users and groups, `eks:`/`gke:` ones, the accounts of
//! kube-system, kube-public and kube-node-lease) are the cluster's own and not emitted.
use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use trustmap_connector::build::{provenance, Observations};
use trustmap_model::{CredentialObs, EdgeKind, Identifier, IdentityObs, Observation, Revocation};

use crate::inventory::{display_name, Inventory};

/// What the observations need besides the inventory.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub cluster: String,
    /// The tenant of `azure.workload.identity/client-id` annotations that do not name one.
    pub azure_tenant: Option<String>,
}

pub const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

/// The cluster's own users and groups, never partners'.
pub fn is_system_subject(name: &str) -> bool {
    ["system:", "eks:", "gke:", "kubeadm:"]
        .iter()
        .any(|p| name.starts_with(p))
}

pub const TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
const AWS_ROLE: &str = "eks.amazonaws.com/role-arn";
const GKE_ACCOUNT: &str = "iam.gke.io/gcp-service-account";
const AZURE_CLIENT: &str = "azure.workload.identity/client-id";
const AZURE_TENANT: &str = "azure.workload.identity/tenant-id";

/// A rule's permissions as scopes.
pub fn scopes_of(rules: &[PolicyRule]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in rules {
        let groups: Vec<&str> = match &r.api_groups {
            Some(g) if !g.is_empty() => g.iter().map(String::as_str).collect(),
            _ => vec![""],
        };
        for verb in &r.verbs {
            for res in r.resources.iter().flatten() {
                for g in &groups {
                    let resource = match (*g, res.as_str()) {
                        ("" | "*", "*") => "*".to_string(),
                        ("", r) => r.to_string(),
                        (g, r) => format!("{g}/{r}"),
                    };
                    out.insert(format!("k8s:{verb}:{resource}"));
                }
            }
            for url in r.non_resource_urls.iter().flatten() {
                out.insert(format!("k8s:{verb}:{url}"));
            }
        }
    }
    out
}

/// One binding that grants a subject something.
#[derive(Debug, Clone)]
struct Grant {
    /// `RoleBinding`/`ClusterRoleBinding`.
    kind: &'static str,
    namespace: Option<String>,
    name: String,
    role: String,
    /// The subject's position in the binding (what a precise removal patches out).
    index: usize,
    /// The subject's name, tested before the removal so a binding edited since (its subjects
    /// shifted) refuses the patch rather than losing someone else.
    subject: String,
}

#[derive(Debug, Default)]
struct Held {
    scopes: BTreeSet<String>,
    grants: Vec<Grant>,
}

struct Ctx<'a> {
    opts: &'a Options,
    inv: &'a Inventory,
    roles: HashMap<(String, String), BTreeSet<String>>,
    cluster_roles: HashMap<String, BTreeSet<String>>,
    held: BTreeMap<String, Held>,
    /// Subject node id → (kind, name) for users and groups.
    people: BTreeMap<String, (&'static str, String)>,
    obs: Observations,
    gaps: Vec<String>,
}

/// A timestamp as the API writes it (RFC 3339).
fn timestamp(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> Option<String> {
    serde_json::to_value(t).ok()?.as_str().map(str::to_string)
}

fn name_of(meta: &ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

impl Ctx<'_> {
    fn sa_id(&self, namespace: &str, name: &str) -> String {
        format!("k8s:{}:sa/{namespace}/{name}", self.opts.cluster)
    }

    /// The scopes of a binding's role, or a gap when the role does not exist.
    fn role_scopes(
        &mut self,
        binding: &str,
        namespace: Option<&str>,
        role: &RoleRef,
    ) -> Option<BTreeSet<String>> {
        let found = match (role.kind.as_str(), namespace) {
            ("Role", Some(ns)) => self
                .roles
                .get(&(ns.to_string(), role.name.clone()))
                .cloned(),
            ("ClusterRole", _) => self.cluster_roles.get(&role.name).cloned(),
            _ => None,
        };
        let mut scopes = match found {
            Some(s) => s,
            None if role.kind == "ClusterRole" && role.name == "cluster-admin" => BTreeSet::new(),
            None => {
                self.gaps.push(format!(
                    "{binding}: refers to {} {}, which does not exist: what its subjects may do is unknown (they get it the moment someone creates it)",
                    role.kind, role.name
                ));
                return None;
            }
        };
        if role.kind == "ClusterRole" && role.name == "cluster-admin" {
            scopes.insert("k8s:cluster-admin".into());
        }
        Some(scopes)
    }

    fn bind(
        &mut self,
        binding_kind: &'static str,
        meta: &ObjectMeta,
        role: &RoleRef,
        subjects: &[Subject],
    ) {
        let namespace = meta.namespace.clone();
        let label = format!("{binding_kind} {}", display_name(meta));
        let Some(scopes) = self.role_scopes(&label, namespace.as_deref(), role) else {
            return;
        };
        for (index, s) in subjects.iter().enumerate() {
            let holder = match s.kind.as_str() {
                "ServiceAccount" => {
                    let ns = s
                        .namespace
                        .clone()
                        .or_else(|| namespace.clone())
                        .unwrap_or_default();
                    if SYSTEM_NAMESPACES.contains(&ns.as_str()) {
                        continue;
                    }
                    self.sa_id(&ns, &s.name)
                }
                "User" | "Group" if is_system_subject(&s.name) => continue,
                "User" | "Group" => {
                    let (kind, word) = if s.kind == "User" {
                        ("k8s_user", "user")
                    } else {
                        ("k8s_group", "group")
                    };
                    let id = format!("k8s:{}:{word}/{}", self.opts.cluster, s.name);
                    self.people.insert(id.clone(), (kind, s.name.clone()));
                    id
                }
                other => {
                    self.gaps
                        .push(format!("{label}: subject kind {other:?} is not read"));
                    continue;
                }
            };
            let h = self.held.entry(holder).or_default();
            h.scopes.extend(scopes.iter().cloned());
            h.grants.push(Grant {
                kind: binding_kind,
                namespace: namespace.clone(),
                name: name_of(meta),
                role: format!("{}/{}", role.kind, role.name),
                index,
                subject: s.name.clone(),
            });
        }
    }
}

/// `kubectl` commands removing each grant: the subject patched out of its binding, after a
/// JSON-patch `test` that it is still the subject at that position.
fn removals(cluster: &str, grants: &[Grant]) -> Vec<Vec<String>> {
    grants
        .iter()
        .map(|g| {
            let mut c = vec!["kubectl".to_string(), format!("--context={cluster}")];
            if let Some(ns) = &g.namespace {
                c.push(format!("--namespace={ns}"));
            }
            c.extend([
                "patch".to_string(),
                g.kind.to_ascii_lowercase(),
                g.name.clone(),
                "--type=json".to_string(),
                format!(
                    "--patch={}",
                    serde_json::json!([
                        {"op": "test", "path": format!("/subjects/{}/name", g.index), "value": g.subject},
                        {"op": "remove", "path": format!("/subjects/{}", g.index)}
                    ])
                ),
            ]);
            c
        })
        .collect()
}

fn grant_tags(grants: &[Grant]) -> String {
    grants
        .iter()
        .map(|g| match &g.namespace {
            Some(ns) => format!("{} {ns}/{} → {}", g.kind, g.name, g.role),
            None => format!("{} {} → {}", g.kind, g.name, g.role),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where a workload identity annotation leads: the node id another connector gives that
/// identity, and what it is.
fn annotation_target(
    key: &str,
    value: &str,
    annotations: &BTreeMap<String, String>,
    opts: &Options,
) -> Result<(String, &'static str), String> {
    let value = value.trim();
    match key {
        AWS_ROLE => {
            // arn:aws:iam::ACCOUNT:role/[path/]NAME: the aws-iam connector names roles by name.
            let rest = value
                .strip_prefix("arn:aws:iam::")
                .or_else(|| value.strip_prefix("arn:aws-us-gov:iam::"))
                .or_else(|| value.strip_prefix("arn:aws-cn:iam::"));
            let Some((account, role)) = rest.and_then(|r| r.split_once(":role/")) else {
                return Err(format!("{AWS_ROLE} {value:?} is not a role ARN"));
            };
            let name = role.rsplit('/').next().unwrap_or(role);
            Ok((format!("aws:{account}:role/{name}"), "AWS role"))
        }
        GKE_ACCOUNT => {
            let project = value
                .rsplit_once('@')
                .and_then(|(_, d)| d.strip_suffix(".iam.gserviceaccount.com"))
                .ok_or_else(|| format!("{GKE_ACCOUNT} {value:?} is not a service account email"))?;
            Ok((
                format!("gcp:{project}:sa/{}", value.to_ascii_lowercase()),
                "Google service account",
            ))
        }
        _ => {
            let tenant = annotations
                .get(AZURE_TENANT)
                .cloned()
                .or_else(|| opts.azure_tenant.clone())
                .ok_or_else(|| format!("{AZURE_CLIENT} {value:?}: no tenant (annotate {AZURE_TENANT} or set azure_tenant_id)"))?;
            Ok((format!("entra:{tenant}:sp/{value}"), "Entra application"))
        }
    }
}

/// The observations of `inv`, and what could not be read.
pub fn observe(inv: &Inventory, opts: &Options) -> (Vec<Observation>, Vec<String>) {
    let mut cx = Ctx {
        opts,
        inv,
        roles: HashMap::new(),
        cluster_roles: HashMap::new(),
        held: BTreeMap::new(),
        people: BTreeMap::new(),
        obs: Observations::default(),
        gaps: Vec::new(),
    };
    for r in &inv.roles {
        let key = (
            r.metadata.namespace.clone().unwrap_or_default(),
            name_of(&r.metadata),
        );
        cx.roles
            .insert(key, scopes_of(r.rules.as_deref().unwrap_or_default()));
    }
    for r in &inv.cluster_roles {
        cx.cluster_roles.insert(
            name_of(&r.metadata),
            scopes_of(r.rules.as_deref().unwrap_or_default()),
        );
    }
    for b in &inv.role_bindings {
        cx.bind(
            "RoleBinding",
            &b.metadata,
            &b.role_ref,
            b.subjects.as_deref().unwrap_or_default(),
        );
    }
    for b in &inv.cluster_role_bindings {
        cx.bind(
            "ClusterRoleBinding",
            &b.metadata,
            &b.role_ref,
            b.subjects.as_deref().unwrap_or_default(),
        );
    }
    service_accounts(&mut cx);
    people(&mut cx);
    tokens(&mut cx);
    (cx.obs.into_vec(), cx.gaps)
}

fn service_accounts(cx: &mut Ctx<'_>) {
    let cluster = cx.opts.cluster.clone();
    let mut seen = BTreeSet::new();
    let token_holders = token_holders(cx);
    for sa in &cx.inv.service_accounts {
        let ns = sa.metadata.namespace.clone().unwrap_or_default();
        let name = name_of(&sa.metadata);
        if SYSTEM_NAMESPACES.contains(&ns.as_str()) {
            continue;
        }
        let id = cx.sa_id(&ns, &name);
        let annotations = sa.metadata.annotations.clone().unwrap_or_default();
        let federated: Vec<(&str, &String)> = [AWS_ROLE, GKE_ACCOUNT, AZURE_CLIENT]
            .iter()
            .filter_map(|k| annotations.get(*k).map(|v| (*k, v)))
            .collect();
        let held = cx.held.remove(&id);
        if held.is_none() && federated.is_empty() && !token_holders.contains(&id) {
            // An unbound account with nothing to reach is every namespace's `default`.
            continue;
        }
        seen.insert(id.clone());
        let held = held.unwrap_or_default();
        let mut tags = account_tags(&ns, &name, &held);
        for (key, value) in &federated {
            match annotation_target(key, value, &annotations, cx.opts) {
                Ok((target, what)) => {
                    tags.insert(format!("workload_identity.{what}"), (*value).clone());
                    cx.obs.edge(
                        &id,
                        &target,
                        EdgeKind::CanAssume,
                        BTreeMap::from([(
                            trustmap_model::WORKLOAD_IDENTITY_CONDITION.to_string(),
                            (*key).to_string(),
                        )]),
                        "serviceaccounts",
                    );
                }
                Err(e) => cx.gaps.push(format!("service account {ns}/{name}: {e}")),
            }
        }
        let mut commands = removals(&cluster, &held.grants);
        commands.push(vec![
            "kubectl".into(),
            format!("--context={cluster}"),
            format!("--namespace={ns}"),
            "delete".into(),
            "serviceaccount".into(),
            name.clone(),
        ]);
        cx.obs.push(Observation::Identity(IdentityObs {
            id,
            kind: "k8s_service_account".into(),
            name: format!("{ns}/{name}"),
            provider: "kubernetes".into(),
            account: Some(cluster.clone()),
            created: sa.metadata.creation_timestamp.as_ref().and_then(timestamp),
            last_used: None,
            active: true,
            scopes: held.scopes.into_iter().collect(),
            tags,
            identifiers: vec![],
            revoke: Some(Revocation {
                commands,
                page: None,
            }),
            provenance: provenance("serviceaccounts"),
        }));
    }
    unlisted_accounts(cx, &seen);
}

/// The accounts a legacy token Secret names.
fn token_holders(cx: &Ctx<'_>) -> BTreeSet<String> {
    cx.inv
        .secrets
        .iter()
        .filter(|s| s.type_.as_deref() == Some(TOKEN_TYPE))
        .filter_map(|s| {
            let ns = s.metadata.namespace.as_deref()?;
            let sa = s
                .metadata
                .annotations
                .as_ref()?
                .get("kubernetes.io/service-account.name")?;
            Some(cx.sa_id(ns, sa))
        })
        .collect()
}

/// An account's namespace, bare name (which `name_patterns` also match), bindings, and the
/// other namespaces that bind it.
fn account_tags(ns: &str, name: &str, held: &Held) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::from([
        ("namespace".to_string(), ns.to_string()),
        (trustmap_model::BARE_NAME_TAG.to_string(), name.to_string()),
        // The API records no use of an account or a binding (audit logs would).
        ("usage".to_string(), "untracked".to_string()),
    ]);
    if !held.grants.is_empty() {
        tags.insert("bindings".into(), grant_tags(&held.grants));
        let foreign: BTreeSet<&str> = held
            .grants
            .iter()
            .filter_map(|g| g.namespace.as_deref())
            .filter(|g| *g != ns)
            .collect();
        if !foreign.is_empty() {
            tags.insert(
                "bound_in_other_namespaces".into(),
                foreign.into_iter().collect::<Vec<_>>().join(", "),
            );
        }
    }
    tags
}

/// Bound accounts that were not listed: a binding waiting for an account of that name.
fn unlisted_accounts(cx: &mut Ctx<'_>, seen: &BTreeSet<String>) {
    type Holders = Vec<(String, Held)>;
    let cluster = cx.opts.cluster.clone();
    let (missing, rest): (Holders, Holders) = std::mem::take(&mut cx.held)
        .into_iter()
        .partition(|(id, _)| id.contains(":sa/") && !seen.contains(id));
    cx.held = rest.into_iter().collect();
    for (id, held) in missing {
        let (ns, name) = id
            .rsplit_once(":sa/")
            .map(|(_, r)| r.split_once('/').unwrap_or((r, "")))
            .unwrap_or(("", ""));
        let mut tags = account_tags(ns, name, &held);
        if cx.inv.accounts_complete {
            tags.insert(
                "missing".into(),
                "no such service account: whoever creates it gets these bindings".into(),
            );
        }
        cx.obs.push(Observation::Identity(IdentityObs {
            id: id.clone(),
            kind: "k8s_service_account".into(),
            name: format!("{ns}/{name}"),
            provider: "kubernetes".into(),
            account: Some(cluster.clone()),
            created: None,
            last_used: None,
            // A binding to an account that does not exist grants nothing yet.
            active: !cx.inv.accounts_complete,
            scopes: held.scopes.into_iter().collect(),
            tags,
            identifiers: vec![],
            revoke: Some(Revocation {
                commands: removals(&cluster, &held.grants),
                page: None,
            }),
            provenance: provenance("rolebindings"),
        }));
    }
}

/// Identity-provider users and groups; an email name trusts its domain.
fn people(cx: &mut Ctx<'_>) {
    let cluster = cx.opts.cluster.clone();
    for (id, (kind, name)) in std::mem::take(&mut cx.people) {
        let held = cx.held.remove(&id).unwrap_or_default();
        let domain = name
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .filter(|d| d.contains('.'));
        let mut identifiers = Vec::new();
        if let Some(d) = &domain {
            if kind == "k8s_user" {
                identifiers.push(Identifier::Email(name.to_ascii_lowercase()));
            }
            identifiers.push(Identifier::Domain(d.clone()));
        }
        cx.obs.push(Observation::Identity(IdentityObs {
            id: id.clone(),
            kind: kind.into(),
            name: name.clone(),
            provider: "kubernetes".into(),
            account: Some(cluster.clone()),
            created: None,
            last_used: None,
            active: true,
            scopes: held.scopes.into_iter().collect(),
            tags: BTreeMap::from([
                ("bindings".to_string(), grant_tags(&held.grants)),
                ("usage".to_string(), "untracked".to_string()),
            ]),
            identifiers: identifiers.clone(),
            revoke: Some(Revocation {
                commands: removals(&cluster, &held.grants),
                page: None,
            }),
            provenance: provenance("rolebindings"),
        }));
        if let Some(d) = domain {
            let target = format!("domain:{d}");
            cx.obs.external(
                &target,
                "email_domain",
                &d,
                vec![Identifier::Domain(d.clone())],
                "rolebindings",
            );
            cx.obs.edge(
                &id,
                &target,
                EdgeKind::Trusts,
                BTreeMap::new(),
                "rolebindings",
            );
        }
    }
}

/// Legacy long-lived token Secrets, as credentials of their service account.
fn tokens(cx: &mut Ctx<'_>) {
    let cluster = cx.opts.cluster.clone();
    for s in cx
        .inv
        .secrets
        .iter()
        .filter(|s| s.type_.as_deref() == Some(TOKEN_TYPE))
    {
        let (Some(ns), Some(name)) = (s.metadata.namespace.as_deref(), s.metadata.name.as_deref())
        else {
            continue;
        };
        if SYSTEM_NAMESPACES.contains(&ns) {
            continue;
        }
        let Some(sa) = s
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("kubernetes.io/service-account.name"))
        else {
            cx.gaps.push(format!("token Secret {ns}/{name}: no kubernetes.io/service-account.name annotation: its holder is unknown"));
            continue;
        };
        let last_used = s
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/legacy-token-last-used"))
            .cloned();
        cx.obs.push(Observation::Credential(CredentialObs {
            id: format!("k8s:{cluster}:secret/{ns}/{name}"),
            kind: "k8s_service_account_token".into(),
            holder: cx.sa_id(ns, sa),
            name: Some(format!("{ns}/{name}")),
            created: s.metadata.creation_timestamp.as_ref().and_then(timestamp),
            last_used,
            last_rotated: None,
            expires: None,
            active: true,
            identifiers: vec![],
            scopes: vec![],
            revoke: Some(Revocation::commands(&[&[
                "kubectl",
                &format!("--context={cluster}"),
                &format!("--namespace={ns}"),
                "delete",
                "secret",
                name,
            ]])),
            provenance: provenance("secrets"),
        }));
    }
}
