//! The identity graph.
//!
//! [`Graph::build`] turns observations into typed nodes (identity, credential, external
//! principal, partner, owner, secret location) and edges (owns, holds, trusts, can_assume,
//! installed_by, found_in, same_secret_as, grants), links leaked secrets to the inventory
//! credentials they reveal, and [`Graph::attribute`] matches every node to a partner, an
//! internal owner or nobody, following chains: a subcontractor (`via`) reaches in through its
//! partner; a role that trusts a role that trusts an external account; a credential belongs
//! to whoever holds it.
//!
//! The graph never knows which connector made a node, and knows nothing about findings or
//! output formats beyond its own exports.

mod export;

use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use trustmap_model::{EdgeKind, Observation, Secret};
use trustmap_partners::{Attribution, Identifiers, Registry};

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

/// Who a node belongs to and the path that shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeAttribution {
    /// `partner:acme`, `owner:platform`.
    pub owner: String,
    /// What matched (`aws_accounts: 111122223333`).
    pub matched: String,
    /// From the top partner to this node: `["partner:acme", "partner:datapipe", "aws-account:444455556666", "aws:1:role/x"]`.
    pub chain: Vec<String>,
    /// Other owners that matched equally well.
    pub ties: Vec<String>,
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
    pub identifiers: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// Secret locations: rule, path, line, commit, severity, hints.
    pub details: BTreeMap<String, String>,
    pub sources: Vec<String>,
    pub attribution: Option<NodeAttribution>,
}

impl Node {
    fn new(id: &str, kind: NodeKind, subtype: &str, name: &str) -> Self {
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
            details: BTreeMap::new(),
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

    fn upsert(&mut self, node: Node) -> usize {
        if let Some(&i) = self.index.get(&node.id) {
            let existing = &mut self.nodes[i];
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
            if existing.subtype == "external" {
                existing.subtype = node.subtype;
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

    fn ensure(&mut self, id: &str) -> usize {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        // An edge to something no connector described: an external principal by its id.
        let sub = principal_subtype(id).to_string();
        let name = id.split_once(':').map_or(id, |(_, n)| n).to_string();
        self.upsert(Node::new(id, NodeKind::ExternalPrincipal, &sub, &name))
    }

    fn add_edge(
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

    /// Normalise observations into the graph and link leaks to inventory credentials.
    pub fn build(observations: Vec<Observation>, registry: &Registry) -> Graph {
        let mut g = Graph::default();
        let mut pending_edges = Vec::new();
        // Observations are consumed: their strings move into nodes instead of being copied.
        for obs in observations {
            match obs {
                Observation::Identity(o) => {
                    let mut n = Node::new(&o.id, NodeKind::Identity, &o.kind, &o.name);
                    n.active = o.active;
                    n.account = o.account;
                    n.created = o.created;
                    n.last_used = o.last_used;
                    n.scopes = o.scopes;
                    n.tags = o.tags;
                    n.identifiers = o.identifiers;
                    if !o.provenance.connector.is_empty() {
                        n.sources.push(o.provenance.connector);
                    }
                    g.upsert(n);
                }
                Observation::Credential(o) => {
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
                    if !o.provenance.connector.is_empty() {
                        n.sources.push(o.provenance.connector);
                    }
                    let c = g.upsert(n);
                    pending_edges.push((o.holder, c, EdgeKind::Holds, BTreeMap::new()));
                }
                Observation::ExternalPrincipal(o) => {
                    let mut n = Node::new(&o.id, NodeKind::ExternalPrincipal, &o.kind, &o.name);
                    n.identifiers = o.identifiers;
                    if !o.provenance.connector.is_empty() {
                        n.sources.push(o.provenance.connector);
                    }
                    g.upsert(n);
                }
                Observation::Edge(o) => {
                    let to = g.ensure(&o.to);
                    pending_edges.push((o.from, to, o.kind, o.conditions));
                }
                Observation::Secret(o) => {
                    let id = format!("secret:{}@{}", o.digest, o.path);
                    let mut n =
                        Node::new(&id, NodeKind::SecretLocation, "leaked_secret", &o.rule_name);
                    if let Some(acct) = o.hints.get("aws_account_id") {
                        n.identifiers.push(format!("aws_account:{acct}"));
                    }
                    if let Some(user) = o.hints.get("user") {
                        n.identifiers.push(format!("name:{user}"));
                    }
                    for (k, v) in o.hints {
                        n.details.insert(format!("hint.{k}"), v);
                    }
                    n.details.insert("rule".into(), o.rule);
                    n.details.insert("digest".into(), o.digest);
                    n.details.insert("redacted".into(), o.redacted);
                    n.details.insert("path".into(), o.path);
                    n.details.insert("line".into(), o.line.to_string());
                    n.details.insert("column".into(), o.column.to_string());
                    n.details
                        .insert("severity".into(), o.severity.as_str().into());
                    if let Some(c) = o.commit {
                        n.details.insert("commit".into(), c);
                    }
                    if let Some(d) = o.commit_date {
                        n.created = Some(d.clone());
                        n.details.insert("commit_date".into(), d);
                    }
                    if !o.provenance.connector.is_empty() {
                        n.sources.push(o.provenance.connector);
                    }
                    g.upsert(n);
                }
            }
        }
        for (from, to, kind, cond) in pending_edges {
            let f = g.ensure(&from);
            g.add_edge(f, to, kind, cond);
        }
        g.link_leaks();
        g.add_registry_nodes(registry);
        g
    }

    /// `same_secret_as` between leaks and the inventory credentials they reveal (by digest of
    /// an identifier, or a GitHub token's last eight characters), and between leaks of one
    /// secret in several places.
    fn link_leaks(&mut self) {
        let mut by_digest: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_last8: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if n.kind == NodeKind::Credential {
                for ident in &n.identifiers {
                    match ident.strip_prefix("last8:") {
                        Some(l8) => by_last8.entry(l8.to_string()).or_default().push(i),
                        None => by_digest
                            .entry(
                                Secret::new(
                                    ident.split_once(':').map_or(ident.as_str(), |(_, v)| v),
                                )
                                .digest(),
                            )
                            .or_default()
                            .push(i),
                    }
                }
            }
        }
        let leaks: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].kind == NodeKind::SecretLocation)
            .collect();
        let mut links = Vec::new();
        let mut same_digest: HashMap<String, Vec<usize>> = HashMap::new();
        for &l in &leaks {
            let n = &self.nodes[l];
            let digest = n.details.get("digest").cloned().unwrap_or_default();
            same_digest.entry(digest.clone()).or_default().push(l);
            for &c in by_digest.get(&digest).into_iter().flatten() {
                links.push((l, c));
            }
            if let Some(l8) = n.details.get("hint.token_last_eight") {
                for &c in by_last8.get(l8).into_iter().flatten() {
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

    fn add_registry_nodes(&mut self, registry: &Registry) {
        for p in &registry.partners {
            let mut n = Node::new(
                &format!("partner:{}", p.id),
                NodeKind::Partner,
                p.status.as_str(),
                &p.name,
            );
            n.scopes = p.allowed_scopes.clone();
            self.upsert(n);
        }
        for o in &registry.owners {
            self.upsert(Node::new(
                &format!("owner:{}", o.id),
                NodeKind::Owner,
                "team",
                &o.id,
            ));
        }
        for p in &registry.partners {
            if let Some(v) = &p.via {
                let (a, b) = (
                    self.ensure(&format!("partner:{v}")),
                    self.ensure(&format!("partner:{}", p.id)),
                );
                self.add_edge(a, b, EdgeKind::Grants, BTreeMap::new());
            }
        }
    }

    fn identifiers_of(&self, i: usize) -> (Vec<String>, Vec<(String, String)>) {
        let n = &self.nodes[i];
        let mut ids: Vec<String> = n.identifiers.clone();
        if n.kind == NodeKind::ExternalPrincipal {
            ids.push(n.id.replace('-', "_"));
        }
        let tags = n.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        (ids, tags)
    }

    fn direct_match(&self, i: usize, registry: &Registry) -> Option<NodeAttribution> {
        let n = &self.nodes[i];
        if matches!(n.kind, NodeKind::Partner | NodeKind::Owner) {
            return None;
        }
        let (ids, tags) = self.identifiers_of(i);
        let mut idf = Identifiers {
            name: &n.name,
            ..Identifiers::default()
        };
        for id in &ids {
            let (kind, value) = id.split_once(':').unwrap_or(("", id.as_str()));
            match kind {
                "aws_account" => idf.aws_accounts.push(value),
                "github_org" => idf.github_orgs.push(value),
                "github_app" => idf.github_apps.push(value),
                "github_user" => idf.github_users.push(value),
                "email" => idf.emails.push(value),
                // A host (webhook target, app URL) matches email_domains at any level:
                // hooks.acme.example counts as acme.example.
                "domain" => {
                    let mut host = value;
                    while host.contains('.') {
                        idf.emails.push(host);
                        host = host.split_once('.').map_or("", |(_, rest)| rest);
                    }
                }
                _ => {}
            }
        }
        idf.tags = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (a, ties) = registry.attribute(&idf);
        let (owner, matched, mut chain) = match a {
            Attribution::Partner { id, matched } => {
                let chain: Vec<String> = registry
                    .via_chain(&id)
                    .into_iter()
                    .map(|p| format!("partner:{p}"))
                    .collect();
                (format!("partner:{id}"), matched, chain)
            }
            Attribution::Owner { id, matched } => (
                format!("owner:{id}"),
                matched.clone(),
                vec![format!("owner:{id}")],
            ),
            Attribution::Nobody => return None,
        };
        chain.push(n.id.clone());
        Some(NodeAttribution {
            owner,
            matched,
            chain,
            ties,
        })
    }

    /// Attribute every node; identities inherit from the principals they trust (transitively,
    /// cycle-safe), credentials from their holder, leaks from the credential they reveal.
    pub fn attribute(&mut self, registry: &Registry) {
        let mut result: Vec<Option<NodeAttribution>> = (0..self.nodes.len())
            .map(|i| self.direct_match(i, registry))
            .collect();
        // Identities inherit through trust from directly matched principals only, so the
        // derived attributions are computed first and applied after.
        let derived: Vec<(usize, NodeAttribution)> = (0..self.nodes.len())
            .filter(|&i| result[i].is_none() && self.nodes[i].kind == NodeKind::Identity)
            .filter_map(|i| self.through_trust(i, &result).map(|a| (i, a)))
            .collect();
        for (i, a) in derived {
            result[i] = Some(a);
        }
        // Credentials: their holder's owner; leaks: the credential's (or holder's) owner.
        for i in 0..self.nodes.len() {
            if self.nodes[i].kind == NodeKind::Credential {
                let holder = self
                    .incoming(i)
                    .find(|e| e.kind == EdgeKind::Holds)
                    .map(|e| e.from);
                if let Some(mut a) = holder.and_then(|h| result[h].clone()) {
                    a.chain.push(self.nodes[i].id.clone());
                    result[i] = Some(a);
                }
            }
        }
        // A leak belongs to whoever holds the credential it reveals; only when the inventory
        // does not know it does the leak's own evidence (a decoded account id) decide.
        for i in 0..self.nodes.len() {
            if self.nodes[i].kind == NodeKind::SecretLocation {
                let linked = self
                    .outgoing(i)
                    .filter(|e| {
                        e.kind == EdgeKind::SameSecretAs
                            && self.nodes[e.to].kind == NodeKind::Credential
                    })
                    .find_map(|e| result[e.to].clone());
                if let Some(mut a) = linked {
                    a.chain.push(self.nodes[i].id.clone());
                    result[i] = Some(a);
                }
            }
        }
        for (n, a) in self.nodes.iter_mut().zip(result) {
            n.attribution = a;
        }
    }

    /// Breadth-first over trusts/can_assume edges to the first attributed principal.
    fn through_trust(
        &self,
        start: usize,
        direct: &[Option<NodeAttribution>],
    ) -> Option<NodeAttribution> {
        let mut seen = HashSet::from([start]);
        let mut frontier = vec![(start, vec![self.nodes[start].id.clone()])];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for (i, path) in frontier {
                for e in self.outgoing(i).filter(|e| {
                    matches!(
                        e.kind,
                        EdgeKind::Trusts | EdgeKind::CanAssume | EdgeKind::InstalledBy
                    )
                }) {
                    if !seen.insert(e.to) {
                        continue;
                    }
                    let mut p = path.clone();
                    p.push(self.nodes[e.to].id.clone());
                    if let Some(a) = &direct[e.to] {
                        let mut chain = a.chain.clone();
                        // chain ends with the principal; continue down to the start identity.
                        chain.extend(p.iter().rev().skip(1).cloned());
                        return Some(NodeAttribution {
                            owner: a.owner.clone(),
                            matched: a.matched.clone(),
                            chain,
                            ties: a.ties.clone(),
                        });
                    }
                    next.push((e.to, p));
                }
            }
            frontier = next;
        }
        None
    }
}
