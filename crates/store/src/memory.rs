//! Reading the store's memory of earlier runs back (the tables `record_nodes` and
//! `record_partners` write).
use rusqlite::Connection;
use std::collections::HashMap;
use trustmap_model::{Memory, PartnerChange, PartnerState, RememberedNode};

pub(crate) fn read(conn: &Connection) -> rusqlite::Result<Memory> {
    let (partners, changes) = read_partners(conn)?;
    Ok(Memory {
        nodes: read_nodes(conn)?,
        partners,
        changes,
        latest_run: latest_run(conn)?,
    })
}

/// Nodes with every scope they held and when it first appeared.
fn read_nodes(conn: &Connection) -> rusqlite::Result<HashMap<String, RememberedNode>> {
    let mut nodes: HashMap<String, RememberedNode> = HashMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT id, kind, subtype, name, partner, sources, first_seen, last_seen, revoke, account FROM nodes",
        )?;
        let rows = stmt.query_map([], |r| {
            let sources: String = r.get(5)?;
            let revoke: Option<String> = r.get(8)?;
            Ok(RememberedNode {
                id: r.get(0)?,
                kind: r.get(1)?,
                subtype: r.get(2)?,
                name: r.get(3)?,
                partner: r.get(4)?,
                sources: serde_json::from_str(&sources).unwrap_or_default(),
                first_seen: r.get(6)?,
                last_seen: r.get(7)?,
                scopes: Default::default(),
                revoke: revoke.and_then(|r| serde_json::from_str(&r).ok()),
                account: r.get(9)?,
            })
        })?;
        for row in rows {
            let n = row?;
            nodes.insert(n.id.clone(), n);
        }
    }
    {
        let mut stmt = conn.prepare("SELECT node, scope, first_seen FROM node_scopes")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let node: String = r.get(0)?;
            if let Some(n) = nodes.get_mut(&node) {
                n.scopes.insert(r.get(1)?, r.get(2)?);
            }
        }
    }
    Ok(nodes)
}

type Partners = (HashMap<String, PartnerState>, Vec<PartnerChange>);

/// Each partner's last recorded entry, and every change, oldest first.
fn read_partners(conn: &Connection) -> rusqlite::Result<Partners> {
    let mut partners = HashMap::new();
    {
        let mut stmt = conn.prepare("SELECT id, status, expires, recorded FROM partners")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                PartnerState {
                    status: r.get(1)?,
                    expires: r.get(2)?,
                    recorded: r.get(3)?,
                },
            ))
        })?;
        for row in rows {
            let (id, state) = row?;
            partners.insert(id, state);
        }
    }
    let changes = {
        let mut stmt =
            conn.prepare("SELECT partner, field, old, new, at FROM partner_changes ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok(PartnerChange {
                partner: r.get(0)?,
                field: r.get(1)?,
                from: r.get(2)?,
                to: r.get(3)?,
                at: r.get(4)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    Ok((partners, changes))
}

/// A run's stamp and whether each of its connectors ran fine.
type LatestRun = Option<(String, Vec<(String, bool)>)>;

/// The latest run's stamp and whether each of its connectors ran fine.
fn latest_run(conn: &Connection) -> rusqlite::Result<LatestRun> {
    let mut stmt = conn.prepare("SELECT started, connectors FROM runs ORDER BY id DESC LIMIT 1")?;
    let mut rows = stmt.query([])?;
    match rows.next()? {
        Some(r) => {
            let connectors: String = r.get(1)?;
            Ok(Some((r.get(0)?, connectors_of(&connectors))))
        }
        None => Ok(None),
    }
}

/// A run's connectors and whether each ran fine, from the `runs.connectors` JSON.
pub(crate) fn connectors_of(json: &str) -> Vec<(String, bool)> {
    let parsed: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    parsed
        .iter()
        .filter_map(|c| Some((c["name"].as_str()?.to_string(), c["ok"].as_bool()?)))
        .collect()
}
