//! What the state store remembers of earlier runs, in the terms the checks and the exit plan
//! read: each identity's first and last sighting and the day each of its scopes first
//! appeared, and each partner's recorded lifecycle changes. The store fills it before the
//! checks run; a sweep without a state store has an empty one.
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::Revocation;

/// One remembered identity, credential or secret location.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RememberedNode {
    pub id: String,
    /// `identity`, `credential`, `secret_location`.
    pub kind: String,
    /// `aws_iam_user`, `entra_service_principal`, ...
    pub subtype: String,
    pub name: String,
    /// The account, organisation or tenant it lives in.
    pub account: Option<String>,
    /// The partner it was attributed to when last seen.
    pub partner: Option<String>,
    /// The connectors that described it.
    pub sources: Vec<String>,
    /// Run stamps (RFC 3339) of its first and latest sighting.
    pub first_seen: String,
    pub last_seen: String,
    /// Every scope it has held: scope → the run stamp it first appeared in.
    pub scopes: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke: Option<Revocation>,
}

impl RememberedNode {
    /// Scopes it did not hold when first seen (its baseline), with the day each appeared.
    pub fn gained_scopes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.scopes
            .iter()
            .filter(|(_, since)| **since > self.first_seen)
            .map(|(s, since)| (s.as_str(), since.as_str()))
    }
}

/// A change to a partner's registry entry between two runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartnerChange {
    pub partner: String,
    /// `status` or `expires`.
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The stamp of the first run that saw the new value.
    pub at: String,
}

/// A partner's registry entry as the latest run recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartnerState {
    pub status: String,
    pub expires: Option<String>,
    /// The stamp of the run that recorded it.
    pub recorded: String,
}

/// The state store's memory, as of the latest recorded run.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    pub nodes: HashMap<String, RememberedNode>,
    pub partners: HashMap<String, PartnerState>,
    /// Every recorded change, oldest first.
    pub changes: Vec<PartnerChange>,
    /// The stamp of the latest recorded run, and whether each of its connectors ran fine.
    pub latest_run: Option<(String, Vec<(String, bool)>)>,
}

impl Memory {
    /// When `partner` took its `status` (now `current`), as far as the store saw it happen:
    /// this run's `today` when the latest run still recorded another status, the recorded
    /// change when there is one, else unknown (the store never saw it change).
    pub fn status_since(&self, partner: &str, current: &str, today: &str) -> Option<String> {
        let recorded = self.partners.get(partner)?;
        if recorded.status != current {
            return Some(today.to_string());
        }
        self.changes
            .iter()
            .rev()
            .find(|c| {
                c.partner == partner && c.field == "status" && c.to.as_deref() == Some(current)
            })
            .map(|c| c.at.clone())
    }
}
