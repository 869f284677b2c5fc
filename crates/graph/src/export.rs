//! Graph exports: json, dot (Graphviz), graphml, cypher (statements that load it into Neo4j).
use serde_json::json;
use std::fmt::Write as _;

use crate::Graph;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Dot,
    Graphml,
    Cypher,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(ExportFormat::Json),
            "dot" => Ok(ExportFormat::Dot),
            "graphml" => Ok(ExportFormat::Graphml),
            "cypher" => Ok(ExportFormat::Cypher),
            _ => Err(format!(
                "unknown graph format {s:?} (expected json, dot, graphml or cypher)"
            )),
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn quote(s: &str) -> String {
    // Valid for both DOT and Cypher string literals.
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Render the graph. Secret locations carry only redacted values and digests.
pub fn export(g: &Graph, format: ExportFormat) -> String {
    match format {
        ExportFormat::Json => json_export(g),
        ExportFormat::Dot => dot(g),
        ExportFormat::Graphml => graphml(g),
        ExportFormat::Cypher => cypher(g),
    }
}

/// Who node `i` belongs to, in its text form (empty: nobody).
fn owner(g: &Graph, i: usize) -> String {
    g.nodes[i]
        .attribution
        .as_ref()
        .map(|a| a.owner.to_string())
        .unwrap_or_default()
}

fn json_export(g: &Graph) -> String {
    let nodes: Vec<_> = g.nodes.iter().collect();
    let edges: Vec<_> = g
        .edges
        .iter()
        .map(|e| json!({"from": g.nodes[e.from].id, "to": g.nodes[e.to].id, "kind": e.kind, "conditions": e.conditions}))
        .collect();
    serde_json::to_string_pretty(&json!({"nodes": nodes, "edges": edges})).unwrap_or_default()
}

fn dot(g: &Graph) -> String {
    let mut s = String::from(
        "digraph trustmap {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    for (i, n) in g.nodes.iter().enumerate() {
        let shape = match n.kind {
            crate::NodeKind::Partner => "house",
            crate::NodeKind::Owner => "folder",
            crate::NodeKind::ExternalPrincipal => "ellipse",
            crate::NodeKind::Credential => "note",
            crate::NodeKind::SecretLocation => "octagon",
            crate::NodeKind::Identity => "box",
        };
        let label = format!("{}\\n{}", n.name, n.subtype);
        let _ = writeln!(
            s,
            "  n{i} [label={}, shape={shape}, tooltip={}];",
            quote(&label),
            quote(&format!("{} {}", n.id, owner(g, i)))
        );
    }
    for e in &g.edges {
        let _ = writeln!(
            s,
            "  n{} -> n{} [label={}];",
            e.from,
            e.to,
            quote(e.kind.as_str())
        );
    }
    s.push_str("}\n");
    s
}

fn graphml(g: &Graph) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n  <key id=\"kind\" for=\"node\" attr.name=\"kind\" attr.type=\"string\"/>\n  <key id=\"subtype\" for=\"node\" attr.name=\"subtype\" attr.type=\"string\"/>\n  <key id=\"name\" for=\"node\" attr.name=\"name\" attr.type=\"string\"/>\n  <key id=\"owner\" for=\"node\" attr.name=\"owner\" attr.type=\"string\"/>\n  <key id=\"active\" for=\"node\" attr.name=\"active\" attr.type=\"boolean\"/>\n  <key id=\"rel\" for=\"edge\" attr.name=\"kind\" attr.type=\"string\"/>\n  <graph id=\"trustmap\" edgedefault=\"directed\">\n",
    );
    for (i, n) in g.nodes.iter().enumerate() {
        let _ = writeln!(
            s,
            "    <node id=\"{}\"><data key=\"kind\">{}</data><data key=\"subtype\">{}</data><data key=\"name\">{}</data><data key=\"owner\">{}</data><data key=\"active\">{}</data></node>",
            xml_escape(&n.id),
            n.kind.as_str(),
            xml_escape(&n.subtype),
            xml_escape(&n.name),
            xml_escape(&owner(g, i)),
            n.active
        );
    }
    for (k, e) in g.edges.iter().enumerate() {
        let _ = writeln!(
            s,
            "    <edge id=\"e{k}\" source=\"{}\" target=\"{}\"><data key=\"rel\">{}</data></edge>",
            xml_escape(&g.nodes[e.from].id),
            xml_escape(&g.nodes[e.to].id),
            e.kind.as_str()
        );
    }
    s.push_str("  </graph>\n</graphml>\n");
    s
}

fn cypher(g: &Graph) -> String {
    let mut s = String::from("// Load with: cypher-shell < graph.cypher\nCREATE CONSTRAINT trustmap_id IF NOT EXISTS FOR (n:Trustmap) REQUIRE n.id IS UNIQUE;\n");
    for (i, n) in g.nodes.iter().enumerate() {
        let label = match n.kind {
            crate::NodeKind::Identity => "Identity",
            crate::NodeKind::Credential => "Credential",
            crate::NodeKind::ExternalPrincipal => "ExternalPrincipal",
            crate::NodeKind::Partner => "Partner",
            crate::NodeKind::Owner => "Owner",
            crate::NodeKind::SecretLocation => "SecretLocation",
        };
        let _ = writeln!(
            s,
            "MERGE (n:Trustmap:{label} {{id: {}}}) SET n.subtype = {}, n.name = {}, n.active = {}, n.owner = {};",
            quote(&n.id),
            quote(&n.subtype),
            quote(&n.name),
            n.active,
            quote(&owner(g, i))
        );
    }
    for e in &g.edges {
        let _ = writeln!(
            s,
            "MATCH (a:Trustmap {{id: {}}}), (b:Trustmap {{id: {}}}) MERGE (a)-[:{}]->(b);",
            quote(&g.nodes[e.from].id),
            quote(&g.nodes[e.to].id),
            e.kind.as_str().to_uppercase()
        );
    }
    s
}
