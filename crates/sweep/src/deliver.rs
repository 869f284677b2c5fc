//! The run against the state store (one transaction), then the changes to every sink.
use std::collections::HashMap;
use std::time::Duration;
use trustmap_graph::NodeKind;
use trustmap_model::Memory;
use trustmap_model::{Finding, FindingStatus};
use trustmap_sinks::{Delivery, Event, EventKind, Sink};
use trustmap_store::{RunInput, SeenNode, SeenPartner, StateLocation, StateStore};

use crate::{SweepError, SweepRun};

/// How long a second sweep waits for the state file before refusing.
const STATE_BUSY_WAIT: Duration = Duration::from_secs(30);

/// What the state file remembers; nothing when it does not exist yet (it is created by the
/// first [`SweepRun::record`], not by reading).
pub(crate) fn memory(state: &StateLocation) -> Result<Memory, SweepError> {
    if !state.exists() {
        return Ok(Memory::default());
    }
    Ok(state.open(STATE_BUSY_WAIT)?.memory()?)
}

/// What one sink was sent.
#[derive(Debug, Clone)]
pub struct SinkReport {
    pub sink: String,
    pub delivery: Delivery,
}

impl SweepRun {
    /// Classify the findings against the state file and record the run, in one transaction.
    /// `as_of`: date the run as of this day (reproducible sweeps diff reproducibly).
    pub fn record(
        &mut self,
        plan: &crate::Plan,
        state: &StateLocation,
        as_of: Option<chrono::NaiveDate>,
    ) -> Result<(), SweepError> {
        let mut store = state.open(STATE_BUSY_WAIT)?;
        let connectors: Vec<(String, bool)> = self
            .connectors
            .iter()
            .map(|c| (c.name.clone(), c.complete()))
            .collect();
        let gaps: Vec<String> = self
            .connectors
            .iter()
            .flat_map(|c| {
                let failed = c
                    .error
                    .as_ref()
                    .map(|(k, m)| format!("{} [{k}]: {m}", c.name));
                failed
                    .into_iter()
                    .chain(c.gaps.iter().map(|g| format!("{} [gap]: {g}", c.name)))
            })
            .collect();
        let stamp = as_of.map_or_else(|| self.started.clone(), |d| format!("{d}T00:00:00Z"));
        let ended = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let nodes: Vec<SeenNode<'_>> = self
            .graph
            .nodes
            .iter()
            .filter(|n| {
                matches!(
                    n.kind,
                    NodeKind::Identity | NodeKind::Credential | NodeKind::SecretLocation
                )
            })
            .map(|n| SeenNode {
                id: &n.id,
                kind: n.kind.as_str(),
                subtype: &n.subtype,
                name: &n.name,
                account: n.account.as_deref(),
                partner: n.attribution.as_ref().and_then(|a| a.partner()),
                sources: &n.sources,
                scopes: &n.scopes,
                revoke: n.revoke.as_ref(),
            })
            .collect();
        let partners: Vec<SeenPartner<'_>> = plan
            .registry
            .partners
            .iter()
            .map(|p| SeenPartner {
                id: &p.id,
                status: p.status.as_str(),
                expires: p.expires.map(|d| d.to_string()),
            })
            .collect();
        let run = RunInput {
            started: &stamp,
            ended: &ended,
            connectors: &connectors,
            gaps: &gaps,
            nodes: &nodes,
            partners: &partners,
            name: self.run_name.as_deref(),
        };
        self.diff = Some(store.apply_run(&run, &mut self.findings)?);
        Ok(())
    }

    /// The events of the recorded diff: new findings `opened`, reopened ones `reopened`,
    /// resolved ones `resolved` with the ticket they were opened as.
    fn events(&self, store: &dyn StateStore) -> Result<Vec<Event>, SweepError> {
        let Some(diff) = &self.diff else {
            return Ok(Vec::new());
        };
        let by_id: HashMap<&str, &Finding> =
            self.findings.iter().map(|f| (f.id.as_str(), f)).collect();
        let tickets: HashMap<String, String> = store
            .findings(Some(FindingStatus::Resolved))?
            .into_iter()
            .filter_map(|f| f.ticket.map(|t| (f.id, t)))
            .collect();
        let mut events = Vec::new();
        for (ids, kind) in [
            (&diff.new, EventKind::Opened),
            (&diff.reopened, EventKind::Reopened),
        ] {
            events.extend(
                ids.iter()
                    .filter_map(|id| by_id.get(id.as_str()))
                    .map(|f| Event {
                        event: kind,
                        finding: (*f).clone(),
                        ticket: None,
                    }),
            );
        }
        events.extend(diff.resolved.iter().map(|f| Event {
            event: EventKind::Resolved,
            finding: f.clone(),
            ticket: tickets.get(&f.id).cloned(),
        }));
        Ok(events)
    }

    /// Send what changed to every sink and remember the tickets opened. Nothing changed,
    /// nothing sent.
    pub async fn deliver(
        &mut self,
        state: &StateLocation,
        sinks: &[Box<dyn Sink>],
    ) -> Result<(), SweepError> {
        let mut store = state.open(STATE_BUSY_WAIT)?;
        let events = self.events(store.as_ref())?;
        if events.is_empty() {
            return Ok(());
        }
        for sink in sinks {
            let delivery = trustmap_sinks::deliver(sink.as_ref(), &events).await?;
            for (id, ticket) in &delivery.tickets {
                store.set_ticket(id, ticket)?;
            }
            self.deliveries.push(SinkReport {
                sink: sink.name().to_string(),
                delivery,
            });
        }
        Ok(())
    }

    /// [`SweepRun::deliver`] on a runtime of its own.
    pub fn deliver_blocking(
        &mut self,
        state: &StateLocation,
        sinks: &[Box<dyn Sink>],
    ) -> Result<(), SweepError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(SweepError::Runtime)?
            .block_on(self.deliver(state, sinks))
    }
}
