//! The identity graph.
//!
//! [`Graph::build`] turns observations into typed nodes (identity, credential, external
//! principal, secret location) and edges (owns, holds, trusts, can_assume, installed_by,
//! found_in, same_secret_as, grants), and links leaked secrets to the inventory credentials
//! they reveal. Each node has a slot for its [`Attribution`], which the attribution stage
//! (`trustmap-attribution`) fills; that stage also adds the registry's partner and owner
//! nodes through [`Graph::upsert`] and [`Graph::add_edge`].
//!
//! The graph never knows which connector made a node (only the names it was told, as
//! `sources`), nor who the partners are, and knows nothing about findings or output formats
//! beyond its own exports.

mod export;

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use trustmap_model::{Attribution, EdgeKind, Identifier, Observation, Secret, Severity};

pub use export::{export, ExportFormat};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Identity,
    Credential,
    ExternalPrincipal,
    Partner,
    Owner,
    SecretLocation,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Identity => "identity",
            NodeKind::Credential => "credential",
            NodeKind::ExternalPrincipal => "external_principal",
            NodeKind::Partner => "partner",
            NodeKind::Owner => "owner",
            NodeKind::SecretLocation => "secret_location",
        }
    }
}

/// A leaked secret's place, as the graph keeps it: the secret itself never, only its digest
/// and redacted form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecretLocation {
    pub rule: String,
    pub digest: String,
    pub redacted: String,
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub commit: Option<String>,
    pub commit_date: Option<String>,
    pub severity: Severity,
    /// What the secret reveals (provider, account id, a token's last eight, ...).
    pub hints: BTreeMap<String, String>,
    pub remediation: Option<String>,
    /// What the issuer said, when the sweep verified it.
    pub verification: Option<trustmap_model::Verification>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    /// `aws_iam_role`, `github_app_installation`, `aws_account`, `leaked_secret`, ...
    pub subtype: String,
    pub name: String,
    pub active: bool,
    pub account: Option<String>,
    pub created: Option<String>,
    pub last_used: Option<String>,
    pub last_rotated: Option<String>,
    pub expires: Option<String>,
    pub scopes: Vec<String>,
    pub identifiers: Vec<Identifier>,
    pub tags: BTreeMap<String, String>,
    /// Set on secret locations only.
    #[serde(rename = "details", skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretLocation>,
    /// How to remove it at its source, when its connector says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke: Option<trustmap_model::Revocation>,
    pub sources: Vec<String>,
    pub attribution: Option<Attribution>,
}

impl Node {
    /// Remember the connector that described it (none for a bare `exec` line).
    fn add_source(&mut self, connector: String) {
        if !connector.is_empty() {
            self.sources.push(connector);
        }
    }

    pub fn new(id: &str, kind: NodeKind, subtype: &str, name: &str) -> Self {
        Node {
            id: id.to_string(),
            kind,
            subtype: subtype.to_string(),
            name: name.to_string(),
            active: true,
            account: None,
            created: None,
            last_used: None,
            last_rotated: None,
            expires: None,
            scopes: Vec::new(),
            identifiers: Vec::new(),
            tags: BTreeMap::new(),
            secret: None,
            revoke: None,
            sources: Vec::new(),
            attribution: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
    pub conditions: BTreeMap<String, String>,
}

#[derive(Debug, Default, Clone)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    index: HashMap<String, usize>,
    out_edges: Vec<Vec<usize>>,
    in_edges: Vec<Vec<usize>>,
}

/// Infer an external principal's subtype from its id prefix (`aws-account:`, `github-org:`).
fn principal_subtype(id: &str) -> &str {
    id.split_once(':').map_or("external", |(p, _)| p)
}

/// The identifier an external principal's id spells (`aws-account:1111` is
/// `aws_account:1111`), read once when the node is made, so a principal known only by an
/// edge still attributes.
fn principal_identifier(id: &str) -> Option<Identifier> {
    id.replacen('-', "_", 1).parse().ok()
}

fn identity_node(o: trustmap_model::IdentityObs) -> Node {
    let mut n = Node::new(&o.id, NodeKind::Identity, &o.kind, &o.name);
    n.active = o.active;
    n.account = o.account;
    n.created = o.created;
    n.last_used = o.last_used;
    n.scopes = o.scopes;
    n.tags = o.tags;
    n.identifiers = o.identifiers;
    n.revoke = o.revoke;
    n.add_source(o.provenance.connector);
    n
}

fn credential_node(o: trustmap_model::CredentialObs) -> Node {
    let mut n = Node::new(
        &o.id,
        NodeKind::Credential,
        &o.kind,
        o.name.as_deref().unwrap_or(&o.id),
    );
    n.active = o.active;
    n.created = o.created;
    n.last_used = o.last_used;
    n.last_rotated = o.last_rotated;
    n.expires = o.expires;
    n.scopes = o.scopes;
    n.identifiers = o.identifiers;
    n.revoke = o.revoke;
    n.add_source(o.provenance.connector);
    n
}

/// The hint a rule sets to the client id found next to a client secret.
pub const ENTRA_CLIENT_ID_HINT: &str = "client_id";

/// The hint the service-account key rule sets to the key file's `private_key_id`.
pub const GCP_KEY_ID_HINT: &str = "private_key_id";
/// The hint it sets to the key file's `client_email` (the account the key signs in as).
pub const GCP_ACCOUNT_HINT: &str = "client_email";

/// A leak's place: `secret:<digest>@<path>`, one node per secret and path.
fn secret_node(o: trustmap_model::SecretObs) -> Node {
    let id = format!("secret:{}@{}", o.digest, o.path);
    let mut n = Node::new(&id, NodeKind::SecretLocation, "leaked_secret", &o.rule_name);
    if let Some(acct) = o.hints.get("aws_account_id") {
        n.identifiers.push(Identifier::AwsAccount(acct.clone()));
    }
    if let Some(user) = o.hints.get("user") {
        n.identifiers.push(Identifier::Name(user.clone()));
    }
    // An Entra client secret found beside its application's client id.
    if let Some(app) = o.hints.get(ENTRA_CLIENT_ID_HINT) {
        n.identifiers.push(Identifier::EntraApp(app.clone()));
    }
    n.created.clone_from(&o.commit_date);
    n.add_source(o.provenance.connector);
    n.secret = Some(SecretLocation {
        rule: o.rule,
        digest: o.digest,
        redacted: o.redacted,
        path: o.path,
        line: o.line,
        column: o.column,
        commit: o.commit,
        commit_date: o.commit_date,
        severity: o.severity,
        hints: o.hints,
        remediation: o.remediation,
        verification: o.verification,
    });
    n
}

impl Graph {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.index.get(id).map(|&i| &self.nodes[i])
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn outgoing(&self, i: usize) -> impl Iterator<Item = &Edge> {
        self.out_edges[i].iter().map(|&e| &self.edges[e])
    }

    pub fn incoming(&self, i: usize) -> impl Iterator<Item = &Edge> {
        self.in_edges[i].iter().map(|&e| &self.edges[e])
    }

    /// Add a node, or merge it into the node of the same id (what the first lacked is added).
    pub fn upsert(&mut self, node: Node) -> usize {
        if let Some(&i) = self.index.get(&node.id) {
            let existing = &mut self.nodes[i];
            // A node first made from an edge's target (no source described it yet) becomes
            // what the connector that sees it says it is: connectors run side by side, so
            // the edge of one may arrive before the identity of another.
            let placeholder = existing.sources.is_empty()
                && existing.kind == NodeKind::ExternalPrincipal
                && node.kind != NodeKind::ExternalPrincipal;
            // A later observation of the same node adds what the first lacked.
            existing.identifiers.extend(node.identifiers);
            existing.identifiers.sort();
            existing.identifiers.dedup();
            existing.scopes.extend(node.scopes);
            existing.scopes.sort();
            existing.scopes.dedup();
            for src in node.sources {
                if !existing.sources.contains(&src) {
                    existing.sources.push(src);
                }
            }
            existing.tags.extend(node.tags);
            if placeholder {
                existing.kind = node.kind;
                existing.subtype = node.subtype;
                existing.name = node.name;
                existing.active = node.active;
            } else if existing.subtype == "external" {
                existing.subtype = node.subtype;
            }
            if existing.revoke.is_none() {
                existing.revoke = node.revoke;
            }
            for (slot, new) in [
                (&mut existing.created, node.created),
                (&mut existing.last_used, node.last_used),
                (&mut existing.last_rotated, node.last_rotated),
                (&mut existing.expires, node.expires),
                (&mut existing.account, node.account),
            ] {
                if slot.is_none() {
                    *slot = new;
                }
            }
            return i;
        }
        let i = self.nodes.len();
        self.index.insert(node.id.clone(), i);
        self.nodes.push(node);
        self.out_edges.push(Vec::new());
        self.in_edges.push(Vec::new());
        i
    }

    /// The node of `id`, created as an external principal if no observation described it.
    pub fn ensure(&mut self, id: &str) -> usize {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        // An edge to something no connector described: an external principal by its id.
        let sub = principal_subtype(id).to_string();
        let name = id.split_once(':').map_or(id, |(_, n)| n).to_string();
        let mut node = Node::new(id, NodeKind::ExternalPrincipal, &sub, &name);
        node.identifiers.extend(principal_identifier(id));
        self.upsert(node)
    }

    /// Add an edge unless one of the same kind already joins the two nodes.
    pub fn add_edge(
        &mut self,
        from: usize,
        to: usize,
        kind: EdgeKind,
        conditions: BTreeMap<String, String>,
    ) {
        if self.out_edges[from]
            .iter()
            .any(|&e| self.edges[e].to == to && self.edges[e].kind == kind)
        {
            return;
        }
        let e = self.edges.len();
        self.edges.push(Edge {
            from,
            to,
            kind,
            conditions,
        });
        self.out_edges[from].push(e);
        self.in_edges[to].push(e);
    }

    /// Record who node `i` belongs to (the attribution stage's answer).
    pub fn set_attribution(&mut self, i: usize, attribution: Option<Attribution>) {
        self.nodes[i].attribution = attribution;
    }

    /// Normalise observations into the graph and link leaks to inventory credentials.
    pub fn build(observations: Vec<Observation>) -> Graph {
        let mut g = Graph::default();
        let mut pending_edges = Vec::new();
        // Observations are consumed: their strings move into nodes instead of being copied.
        for obs in observations {
            match obs {
                Observation::Identity(o) => {
                    g.upsert(identity_node(o));
                }
                Observation::Credential(o) => {
                    let holder = o.holder.clone();
                    let c = g.upsert(credential_node(o));
                    pending_edges.push((holder, c, EdgeKind::Holds, BTreeMap::new()));
                }
                Observation::ExternalPrincipal(o) => {
                    let mut n = Node::new(&o.id, NodeKind::ExternalPrincipal, &o.kind, &o.name);
                    n.identifiers = o.identifiers;
                    n.identifiers.extend(principal_identifier(&o.id));
                    n.add_source(o.provenance.connector);
                    g.upsert(n);
                }
                Observation::Edge(o) => {
                    let to = g.ensure(&o.to);
                    pending_edges.push((o.from, to, o.kind, o.conditions));
                }
                Observation::Secret(o) => {
                    g.upsert(secret_node(o));
                }
            }
        }
        for (from, to, kind, cond) in pending_edges {
            let f = g.ensure(&from);
            g.add_edge(f, to, kind, cond);
        }
        g.inherit_through_workload_identity();
        g.link_leaks();
        g
    }

    /// A workload that may act as a cloud identity (a Kubernetes service account annotated
    /// with an AWS role, a Google service account, an Entra application: a `can_assume` edge
    /// with a `workload_identity` condition) holds what that identity holds, so a partner's
    /// account reaching an `s3:*` role is one node with `s3:*`, and `tags.acts_as` names the
    /// role. Targets no connector described stay as they are and are listed by
    /// [`Self::unseen_workload_targets`].
    fn inherit_through_workload_identity(&mut self) {
        let pairs: Vec<(usize, usize)> = self
            .edges
            .iter()
            .filter(|e| {
                e.kind == EdgeKind::CanAssume
                    && e.conditions
                        .contains_key(trustmap_model::WORKLOAD_IDENTITY_CONDITION)
            })
            .map(|e| (e.from, e.to))
            .collect();
        for (from, to) in pairs {
            if self.nodes[to].sources.is_empty() {
                continue;
            }
            let (scopes, target) = (self.nodes[to].scopes.clone(), self.nodes[to].id.clone());
            let n = &mut self.nodes[from];
            n.scopes.extend(scopes);
            n.scopes.sort();
            n.scopes.dedup();
            let acts = n
                .tags
                .entry(trustmap_model::ACTS_AS_TAG.into())
                .or_default();
            if !acts.split(", ").any(|a| a == target) {
                if !acts.is_empty() {
                    acts.push_str(", ");
                }
                acts.push_str(&target);
            }
        }
    }

    /// Workload identity targets that no connector described: (the connector that named it,
    /// a note saying what is not known).
    pub fn unseen_workload_targets(&self) -> Vec<(String, String)> {
        self.edges
            .iter()
            .filter(|e| e.kind == EdgeKind::CanAssume && self.nodes[e.to].sources.is_empty())
            .filter_map(|e| {
                let annotation = e.conditions.get(trustmap_model::WORKLOAD_IDENTITY_CONDITION)?;
                let from = &self.nodes[e.from];
                let connector = from.sources.first()?.clone();
                Some((
                    connector,
                    format!(
                        "{} may act as {} ({annotation}), which no connector of this sweep sees: what it can do there is unknown",
                        from.name, self.nodes[e.to].id
                    ),
                ))
            })
            .collect()
    }

    /// What leaks can be tied to, indexed: credentials by identifier digest, token tail and
    /// Google key id; Entra client secrets and applications by appId.
    fn leak_targets(&self) -> LeakTargets {
        let mut t = LeakTargets::default();
        let LeakTargets {
            by_digest,
            by_last8,
            by_gcp_key,
            gcp_accounts,
            app_secrets,
            apps,
        } = &mut t;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.kind == NodeKind::Identity && n.subtype == "gcp_service_account" {
                gcp_accounts
                    .entry(n.name.to_ascii_lowercase())
                    .or_default()
                    .push(i);
            }
            for ident in &n.identifiers {
                if let Identifier::EntraApp(app) = ident {
                    let key = app.to_ascii_lowercase();
                    match n.kind {
                        NodeKind::Credential if n.subtype == "entra_client_secret" => {
                            app_secrets.entry(key).or_default().push(i);
                        }
                        NodeKind::Identity => apps.entry(key).or_default().push(i),
                        _ => {}
                    }
                }
            }
            if n.kind == NodeKind::Credential {
                for ident in &n.identifiers {
                    match ident {
                        Identifier::Last8(l8) => by_last8.entry(l8.clone()).or_default().push(i),
                        Identifier::GcpKey(k) => {
                            by_gcp_key
                                .entry(k.to_ascii_lowercase())
                                .or_default()
                                .push(i);
                        }
                        other => by_digest
                            .entry(Secret::new(other.value()).digest())
                            .or_default()
                            .push(i),
                    }
                }
            }
        }
        t
    }

    /// `same_secret_as` between leaks and the inventory credentials they reveal (by digest of
    /// an identifier, a GitHub token's last eight characters, or an Entra client secret's
    /// application: its client secrets, else the application itself), and between leaks of
    /// one secret in several places.
    fn link_leaks(&mut self) {
        let LeakTargets {
            by_digest,
            by_last8,
            by_gcp_key,
            gcp_accounts,
            app_secrets,
            apps,
        } = self.leak_targets();
        let leaks: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].kind == NodeKind::SecretLocation)
            .collect();
        let mut links = Vec::new();
        let mut same_digest: HashMap<String, Vec<usize>> = HashMap::new();
        for &l in &leaks {
            let Some(secret) = &self.nodes[l].secret else {
                continue;
            };
            same_digest
                .entry(secret.digest.clone())
                .or_default()
                .push(l);
            for &c in by_digest.get(&secret.digest).into_iter().flatten() {
                links.push((l, c));
            }
            // A Google service-account key file names its key (`private_key_id`); a key the
            // inventory does not list (deleted, or never swept) still ties it to its account.
            let key = secret
                .hints
                .get(GCP_KEY_ID_HINT)
                .and_then(|k| by_gcp_key.get(&k.to_ascii_lowercase()));
            let account = secret
                .hints
                .get(GCP_ACCOUNT_HINT)
                .and_then(|e| gcp_accounts.get(&e.to_ascii_lowercase()));
            for &c in key.or(account).into_iter().flatten() {
                links.push((l, c));
            }
            if let Some(l8) = secret.hints.get("token_last_eight") {
                for &c in by_last8.get(l8).into_iter().flatten() {
                    links.push((l, c));
                }
            }
            let is_client_secret =
                secret.hints.get("credential").map(String::as_str) == Some("entra_client_secret");
            if let Some(app) = secret
                .hints
                .get(ENTRA_CLIENT_ID_HINT)
                .filter(|_| is_client_secret)
            {
                let key = app.to_ascii_lowercase();
                let targets = app_secrets.get(&key).or_else(|| apps.get(&key));
                for &c in targets.into_iter().flatten() {
                    links.push((l, c));
                }
            }
        }
        for (l, c) in links {
            self.add_edge(l, c, EdgeKind::SameSecretAs, BTreeMap::new());
        }
        for group in same_digest.values().filter(|g| g.len() > 1) {
            for w in group.windows(2) {
                self.add_edge(w[0], w[1], EdgeKind::SameSecretAs, BTreeMap::new());
            }
        }
    }
}

/// See [`Graph::leak_targets`].
#[derive(Default)]
struct LeakTargets {
    by_digest: HashMap<String, Vec<usize>>,
    by_last8: HashMap<String, Vec<usize>>,
    by_gcp_key: HashMap<String, Vec<usize>>,
    /// Our Google service accounts by email.
    gcp_accounts: HashMap<String, Vec<usize>>,
    app_secrets: HashMap<String, Vec<usize>>,
    apps: HashMap<String, Vec<usize>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustmap_model::{CredentialObs, IdentityObs, SecretObs};

    const ACCOUNT: &str = "gcp:corp-prod:sa/deployer@corp-prod.iam.gserviceaccount.com";
    const KEY: &str = "0123456789abcdef0123456789abcdef01234567";

    fn leak(path: &str, hints: &[(&str, &str)]) -> Observation {
        Observation::Secret(SecretObs {
            rule: "gcp-service-account-key".into(),
            rule_name: "Google Cloud service account key (JSON)".into(),
            severity: Severity::Critical,
            digest: format!("d-{path}"),
            redacted: "-----BEGIN…".into(),
            path: path.into(),
            line: 1,
            column: 1,
            commit: None,
            commit_date: None,
            hints: hints
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            remediation: None,
            verification: None,
            provenance: Default::default(),
        })
    }

    #[test]
    fn a_google_key_file_is_tied_to_its_key_else_to_its_account() {
        let account = IdentityObs {
            id: ACCOUNT.into(),
            kind: "gcp_service_account".into(),
            name: "deployer@corp-prod.iam.gserviceaccount.com".into(),
            provider: "gcp".into(),
            account: Some("corp-prod".into()),
            created: None,
            last_used: None,
            active: true,
            scopes: vec![],
            tags: BTreeMap::new(),
            identifiers: vec![],
            revoke: None,
            provenance: Default::default(),
        };
        let key = CredentialObs {
            id: format!("{ACCOUNT}/key/{KEY}"),
            kind: "gcp_service_account_key".into(),
            holder: ACCOUNT.into(),
            name: None,
            created: None,
            last_used: None,
            last_rotated: None,
            expires: None,
            active: true,
            identifiers: vec![Identifier::GcpKey(KEY.into())],
            scopes: vec![],
            revoke: None,
            provenance: Default::default(),
        };
        let email = "deployer@corp-prod.iam.gserviceaccount.com";
        let g = Graph::build(vec![
            Observation::Identity(account),
            Observation::Credential(key),
            leak(
                "a.json",
                &[(GCP_KEY_ID_HINT, KEY), (GCP_ACCOUNT_HINT, email)],
            ),
            leak(
                "b.json",
                &[
                    (GCP_KEY_ID_HINT, "ffffffffffffffffffffffffffffffffffffffff"),
                    (GCP_ACCOUNT_HINT, email),
                ],
            ),
            leak(
                "c.json",
                &[(GCP_ACCOUNT_HINT, "other@elsewhere.iam.gserviceaccount.com")],
            ),
        ]);
        let linked = |path: &str| -> Vec<String> {
            let i = g
                .nodes
                .iter()
                .position(|n| n.secret.as_ref().is_some_and(|s| s.path == path))
                .unwrap();
            g.outgoing(i)
                .filter(|e| e.kind == EdgeKind::SameSecretAs)
                .map(|e| g.nodes[e.to].id.clone())
                .collect()
        };
        assert_eq!(
            linked("a.json"),
            [format!("{ACCOUNT}/key/{KEY}")],
            "the key it names"
        );
        assert_eq!(
            linked("b.json"),
            [ACCOUNT.to_string()],
            "a key nobody listed: its account"
        );
        assert!(
            linked("c.json").is_empty(),
            "an account of no estate links nothing"
        );
    }

    fn identity(id: &str, kind: &str, scopes: &[&str], connector: &str) -> Observation {
        Observation::Identity(IdentityObs {
            id: id.into(),
            kind: kind.into(),
            name: id.rsplit('/').next().unwrap_or(id).into(),
            provider: String::new(),
            account: None,
            created: None,
            last_used: None,
            active: true,
            scopes: scopes.iter().map(|s| (*s).to_string()).collect(),
            tags: BTreeMap::new(),
            identifiers: vec![],
            revoke: None,
            provenance: trustmap_model::Provenance {
                connector: connector.into(),
                source: String::new(),
            },
        })
    }

    #[test]
    fn a_workload_identity_joins_its_target_whichever_came_first_and_holds_its_scopes() {
        let role = "aws:123456789012:role/etl-s3";
        let edge = |to: &str| {
            Observation::Edge(trustmap_model::EdgeObs {
                from: "k8s:c:sa/acme/etl".into(),
                to: to.into(),
                kind: EdgeKind::CanAssume,
                conditions: BTreeMap::from([(
                    "workload_identity".to_string(),
                    "eks.amazonaws.com/role-arn".to_string(),
                )]),
                provenance: Default::default(),
            })
        };
        let sa = identity(
            "k8s:c:sa/acme/etl",
            "k8s_service_account",
            &["k8s:get:pods"],
            "k8s",
        );
        let target = identity(role, "aws_iam_role", &["aws:s3:*"], "aws");
        for order in [
            vec![sa.clone(), edge(role), target.clone()],
            vec![target.clone(), sa.clone(), edge(role)],
        ] {
            let g = Graph::build(order);
            let r = g.node(role).unwrap();
            assert_eq!(
                (r.kind, r.subtype.as_str(), r.name.as_str()),
                (NodeKind::Identity, "aws_iam_role", "etl-s3")
            );
            let s = g.node("k8s:c:sa/acme/etl").unwrap();
            assert_eq!(s.scopes, ["aws:s3:*", "k8s:get:pods"]);
            assert_eq!(s.tags["acts_as"], role);
            assert!(g.unseen_workload_targets().is_empty());
        }
        // A target no connector describes stays a bare node, and is noted.
        let g = Graph::build(vec![sa, edge("gcp:p:sa/x@p.iam.gserviceaccount.com")]);
        assert_eq!(
            g.node("k8s:c:sa/acme/etl").unwrap().scopes,
            ["k8s:get:pods"]
        );
        let unseen = g.unseen_workload_targets();
        assert_eq!(unseen.len(), 1);
        assert_eq!(unseen[0].0, "k8s");
        assert!(
            unseen[0].1.contains("gcp:p:sa/x@p.iam.gserviceaccount.com"),
            "{}",
            unseen[0].1
        );
    }
}
