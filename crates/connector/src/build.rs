//! Collecting a connector's observations: external principals once each, edges, and the
//! provenance every observation carries (the emitter stamps the connector's name).
use std::collections::{BTreeMap, HashSet};
use trustmap_model::{
    EdgeKind, EdgeObs, ExternalPrincipalObs, Identifier, Observation, Provenance,
};

/// Where in the source an observation came from (`bindings`, `secrets`).
pub fn provenance(source: &str) -> Provenance {
    Provenance {
        connector: String::new(),
        source: source.to_string(),
    }
}

#[derive(Default)]
pub struct Observations {
    out: Vec<Observation>,
    externals: HashSet<String>,
}

impl Observations {
    pub fn push(&mut self, o: Observation) {
        self.out.push(o);
    }

    /// An external principal, described once however many edges name it.
    pub fn external(
        &mut self,
        id: &str,
        kind: &str,
        name: &str,
        identifiers: Vec<Identifier>,
        source: &str,
    ) {
        if self.externals.insert(id.to_string()) {
            self.out
                .push(Observation::ExternalPrincipal(ExternalPrincipalObs {
                    id: id.to_string(),
                    kind: kind.to_string(),
                    name: name.to_string(),
                    identifiers,
                    provenance: provenance(source),
                }));
        }
    }

    pub fn edge(
        &mut self,
        from: &str,
        to: &str,
        kind: EdgeKind,
        conditions: BTreeMap<String, String>,
        source: &str,
    ) {
        self.out.push(Observation::Edge(EdgeObs {
            from: from.to_string(),
            to: to.to_string(),
            kind,
            conditions,
            provenance: provenance(source),
        }));
    }

    /// What was collected so far, to amend (scopes known only once every binding is read).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Observation> {
        self.out.iter_mut()
    }

    pub fn into_vec(self) -> Vec<Observation> {
        self.out
    }
}
