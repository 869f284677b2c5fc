//! The graph and registry as the HTML report draws them (`trustmap_report::html::View`).
use trustmap_graph::{Graph, NodeKind};
use trustmap_partners::Registry;
use trustmap_report::html::{PartnerCard, View, ViewNode};

/// Build the report's view of an attributed graph, as of `today`; `coverage` is what the
/// sweep could not see, as (connector, problem).
pub fn report_view(
    graph: &Graph,
    registry: &Registry,
    coverage: Vec<(String, String)>,
    today: chrono::NaiveDate,
    title: &str,
) -> View {
    View {
        title: title.to_string(),
        generated: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        partners: partner_cards(registry, today),
        nodes: view_nodes(graph, registry),
        edges: view_edges(graph, registry),
        coverage,
    }
}

fn partner_cards(registry: &Registry, today: chrono::NaiveDate) -> Vec<PartnerCard> {
    registry
        .partners
        .iter()
        .map(|p| PartnerCard {
            id: p.id.clone(),
            name: p.name.clone(),
            sponsor: p.sponsor.clone(),
            purpose: p.purpose.clone(),
            status: p.status.as_str().to_string(),
            expires: p.expires.map(|d| d.to_string()),
            days_left: p.expires.map(|d| (d - today).num_days()),
            via: p.via.clone(),
            subcontractors: registry
                .partners
                .iter()
                .filter(|s| s.via.as_deref() == Some(p.id.as_str()))
                .map(|s| s.name.clone())
                .collect(),
            allowed_scopes: p.allowed_scopes.clone(),
        })
        .collect()
}

fn view_nodes(graph: &Graph, registry: &Registry) -> Vec<ViewNode> {
    graph
        .nodes
        .iter()
        .map(|n| {
            let attribution = n.attribution.as_ref();
            // Every partner on the chain (a subcontractor's nodes belong to its partner too).
            let mut partners: Vec<String> = attribution
                .map(|a| {
                    a.chain
                        .iter()
                        .filter_map(|c| graph.node(c))
                        .filter(|c| c.kind == NodeKind::Partner)
                        .map(|c| c.id.trim_start_matches("partner:").to_string())
                        .chain(a.partner().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if n.kind == NodeKind::Partner {
                partners.push(n.id.trim_start_matches("partner:").to_string());
                partners.extend(registry.via_chain(n.id.trim_start_matches("partner:")));
            }
            partners.sort();
            partners.dedup();
            ViewNode {
                id: n.id.clone(),
                kind: n.kind.as_str().to_string(),
                subtype: n.subtype.clone(),
                name: n.name.clone(),
                active: n.active,
                last_used: n.last_used.clone(),
                owner: attribution.map(|a| a.owner.to_string()),
                partners,
            }
        })
        .collect()
}

/// The graph's edges, plus the attribution path (partner → subcontractor → principal →
/// identity), so the picture says who each door belongs to, not only how the doors connect.
fn view_edges(graph: &Graph, registry: &Registry) -> Vec<(usize, usize, String)> {
    let mut edges: Vec<(usize, usize, String)> = graph
        .edges
        .iter()
        .map(|e| (e.from, e.to, e.kind.as_str().to_string()))
        .collect();
    let mut seen: std::collections::HashSet<(usize, usize)> = edges
        .iter()
        .flat_map(|&(a, b, _)| [(a, b), (b, a)])
        .collect();
    for p in &registry.partners {
        if let (Some(v), Some(me)) = (
            p.via.as_deref(),
            graph.index_of(&format!("partner:{}", p.id)),
        ) {
            if let Some(parent) = graph.index_of(&format!("partner:{v}")) {
                if seen.insert((parent, me)) {
                    edges.push((parent, me, "brought_in".into()));
                }
            }
        }
    }
    for (i, n) in graph.nodes.iter().enumerate() {
        let Some(a) = &n.attribution else { continue };
        let parent = a
            .chain
            .iter()
            .rev()
            .skip_while(|c| **c != n.id)
            .nth(1)
            .and_then(|c| graph.index_of(c));
        if let Some(parent) = parent {
            if seen.insert((parent, i)) {
                seen.insert((i, parent));
                edges.push((parent, i, "attributed".into()));
            }
        }
    }
    edges
}
