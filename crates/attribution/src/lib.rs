//! Attribution: whose is each node of the identity graph?
//!
//! [`attribute`] takes the built graph, the partner registry and the [`Estate`] (the accounts,
//! organisations, tenants, projects and clusters the sweep covers, plus `[sweep] internal`)
//! and gives every node a partner, an internal owner, the estate itself or nobody, with the
//! chain that explains it and any ties. Precedence: the registry's own matchers (exact
//! identifiers > email domains > tags > name globs), then the estate; then what is still
//! unattributed inherits: identities through the principals they trust or can assume
//! (transitively, cycle-safe; only partners and owners are inherited, the estate is no
//! owner), credentials from their holder, leaks from the credential they reveal.
//!
//! It also adds the registry's partner and owner nodes (and `grants` edges from a partner to
//! its subcontractors) so the graph can be drawn with who-is-who. It knows nothing about
//! connectors, checks or output formats.

use std::collections::{BTreeMap, HashSet};
use trustmap_graph::{Graph, Node, NodeKind};
use trustmap_model::{Attributee, Attribution, EdgeKind, Identifier};
use trustmap_partners::{Attribution as Match, Identifiers, Registry};

/// The organisation's own estate: a trust or grant to any of it is not external access.
#[derive(Debug, Clone, Default)]
pub struct Estate {
    keys: HashSet<Identifier>,
}

impl Estate {
    pub fn new(ids: impl IntoIterator<Item = Identifier>) -> Self {
        let mut e = Estate::default();
        e.extend(ids);
        e
    }

    pub fn extend(&mut self, ids: impl IntoIterator<Item = Identifier>) {
        self.keys.extend(ids.into_iter().map(|i| i.match_key()));
    }

    /// Every identifier of the estate, sorted (for reports).
    pub fn identifiers(&self) -> Vec<&Identifier> {
        let mut v: Vec<&Identifier> = self.keys.iter().collect();
        v.sort();
        v
    }

    /// The estate identifier `id` falls under, if any: the same account, organisation,
    /// tenant, project or cluster; a repository of an own organisation; an email or host of
    /// an own domain. Key ids, token tails and names are no estate of their own.
    pub fn covers(&self, id: &Identifier) -> Option<Identifier> {
        let key = id.match_key();
        match &key {
            Identifier::Last8(_)
            | Identifier::Name(_)
            | Identifier::KnownVendor(_)
            | Identifier::AwsAccessKeyId(_) => None,
            Identifier::GithubRepo(_) => key
                .github_repo_org()
                .map(|org| Identifier::GithubOrg(org.to_string()))
                .filter(|org| self.keys.contains(org))
                .or_else(|| self.keys.get(&key).cloned()),
            Identifier::Email(e) => e
                .rsplit_once('@')
                .and_then(|(_, d)| self.domain(d))
                .or_else(|| self.keys.get(&key).cloned()),
            Identifier::Domain(host) => self.domain(host),
            _ => self.keys.get(&key).cloned(),
        }
    }

    /// `host` or any parent domain of it, when the estate lists it.
    fn domain(&self, host: &str) -> Option<Identifier> {
        let mut rest = host;
        loop {
            let d = Identifier::Domain(rest.to_string());
            if self.keys.contains(&d) {
                return Some(d);
            }
            match rest.split_once('.') {
                Some((_, parent)) if parent.contains('.') => rest = parent,
                _ => return None,
            }
        }
    }
}

/// Attribute every node of `graph` (and add the registry's partner and owner nodes).
pub fn attribute(graph: &mut Graph, registry: &Registry, estate: &Estate) {
    add_registry_nodes(graph, registry);
    let mut result: Vec<Option<Attribution>> = graph
        .nodes
        .iter()
        .map(|n| direct_match(n, registry, estate))
        .collect();
    // Identities inherit through trust from directly matched principals only, so the derived
    // attributions are computed first and applied after.
    let derived: Vec<(usize, Attribution)> = (0..graph.nodes.len())
        .filter(|&i| result[i].is_none() && graph.nodes[i].kind == NodeKind::Identity)
        .filter_map(|i| through_trust(graph, i, &result).map(|a| (i, a)))
        .collect();
    for (i, a) in derived {
        result[i] = Some(a);
    }
    // Credentials: their holder's owner.
    for i in 0..graph.nodes.len() {
        if graph.nodes[i].kind == NodeKind::Credential {
            let holder = graph
                .incoming(i)
                .find(|e| e.kind == EdgeKind::Holds)
                .map(|e| e.from);
            if let Some(mut a) = holder.and_then(|h| result[h].clone()) {
                a.chain.push(graph.nodes[i].id.clone());
                result[i] = Some(a);
            }
        }
    }
    // A leak belongs to whoever holds the credential it reveals; only when the inventory does
    // not know it does the leak's own evidence (a decoded account id) decide.
    for i in 0..graph.nodes.len() {
        if graph.nodes[i].kind == NodeKind::SecretLocation {
            let linked = graph
                .outgoing(i)
                .filter(|e| {
                    e.kind == EdgeKind::SameSecretAs
                        && matches!(
                            graph.nodes[e.to].kind,
                            NodeKind::Credential | NodeKind::Identity
                        )
                })
                .find_map(|e| result[e.to].clone());
            if let Some(mut a) = linked {
                a.chain.push(graph.nodes[i].id.clone());
                result[i] = Some(a);
            }
        }
    }
    for (i, a) in result.into_iter().enumerate() {
        graph.set_attribution(i, a);
    }
}

/// Partner and owner nodes, and `grants` from a partner to each subcontractor it brought in.
fn add_registry_nodes(graph: &mut Graph, registry: &Registry) {
    for p in &registry.partners {
        let mut n = Node::new(
            &format!("partner:{}", p.id),
            NodeKind::Partner,
            p.status.as_str(),
            &p.name,
        );
        n.scopes.clone_from(&p.allowed_scopes);
        graph.upsert(n);
    }
    for o in &registry.owners {
        graph.upsert(Node::new(
            &format!("owner:{}", o.id),
            NodeKind::Owner,
            "team",
            &o.id,
        ));
    }
    for p in &registry.partners {
        if let Some(v) = &p.via {
            let a = graph.ensure(&format!("partner:{v}"));
            let b = graph.ensure(&format!("partner:{}", p.id));
            graph.add_edge(a, b, EdgeKind::Grants, BTreeMap::new());
        }
    }
}

/// What a node offers the registry to be matched on.
fn identifiers_of(n: &Node) -> Identifiers<'_> {
    let mut idf = Identifiers {
        name: &n.name,
        ..Identifiers::default()
    };
    if let Some(bare) = n.tags.get(trustmap_model::BARE_NAME_TAG) {
        idf.other_names.push(bare);
    }
    for id in &n.identifiers {
        match id {
            Identifier::AwsAccount(v) => idf.aws_accounts.push(v),
            Identifier::GithubOrg(v) => idf.github_orgs.push(v),
            Identifier::GithubApp(v) => idf.github_apps.push(v),
            Identifier::GithubUser(v) => idf.github_users.push(v),
            Identifier::EntraTenant(v) => idf.entra_tenants.push(v),
            Identifier::EntraApp(v) | Identifier::OauthClient(v) => idf.oauth_clients.push(v),
            Identifier::GcpProject(v) => idf.gcp_projects.push(v),
            Identifier::Email(v) => idf.emails.push(v),
            // A host (webhook target, app URL) matches email_domains at any level:
            // hooks.acme.example counts as acme.example.
            Identifier::Domain(host) => {
                let mut host = host.as_str();
                while host.contains('.') {
                    idf.emails.push(host);
                    host = host.split_once('.').map_or("", |(_, rest)| rest);
                }
            }
            _ => {}
        }
    }
    idf.tags = n
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    idf
}

/// The registry's match for a node, else the estate's.
fn direct_match(n: &Node, registry: &Registry, estate: &Estate) -> Option<Attribution> {
    if matches!(n.kind, NodeKind::Partner | NodeKind::Owner) {
        return None;
    }
    let (found, ties) = registry.attribute(&identifiers_of(n));
    let (owner, matched, mut chain) = match found {
        Match::Partner { id, matched } => {
            let chain = registry
                .via_chain(&id)
                .into_iter()
                .map(|p| format!("partner:{p}"))
                .collect();
            (Attributee::Partner(id), matched, chain)
        }
        Match::Owner { id, matched } => {
            let chain = vec![format!("owner:{id}")];
            (Attributee::Owner(id), matched, chain)
        }
        Match::Nobody => {
            let own = n.identifiers.iter().find_map(|i| estate.covers(i))?;
            (Attributee::Internal, format!("estate: {own}"), Vec::new())
        }
    };
    chain.push(n.id.clone());
    Some(Attribution {
        owner,
        matched,
        chain,
        ties,
    })
}

/// Breadth-first over trusts / can_assume / installed_by edges to the first principal a
/// partner or owner accounts for. The estate is passed through, never inherited: trusting
/// our own account says nothing about who owns the role.
fn through_trust(
    graph: &Graph,
    start: usize,
    direct: &[Option<Attribution>],
) -> Option<Attribution> {
    let mut seen = HashSet::from([start]);
    let mut frontier = vec![(start, vec![graph.nodes[start].id.clone()])];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for (i, path) in frontier {
            for e in graph.outgoing(i).filter(|e| {
                matches!(
                    e.kind,
                    EdgeKind::Trusts | EdgeKind::CanAssume | EdgeKind::InstalledBy
                )
            }) {
                if !seen.insert(e.to) {
                    continue;
                }
                let mut p = path.clone();
                p.push(graph.nodes[e.to].id.clone());
                if let Some(a) = direct[e.to]
                    .as_ref()
                    .filter(|a| a.owner != Attributee::Internal)
                {
                    let mut chain = a.chain.clone();
                    // chain ends with the principal; continue down to the start identity.
                    chain.extend(p.iter().rev().skip(1).cloned());
                    return Some(Attribution {
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
