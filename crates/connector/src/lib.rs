//! The connector seam of trustmap.
//!
//! A connector knows one source (a git repository, a directory, AWS IAM, GitHub, an external
//! program) and emits [`Observation`]s through an [`Emitter`]. It receives a [`SweepContext`]
//! with cancellation, progress reporting, a concurrency budget and the secret engine. Errors
//! carry an [`ErrorKind`] so that one policy ([`RetryPolicy`]) decides retry, skip or abort.
//!
//! A connector knows nothing about partners, policies or output formats; the graph never
//! knows which connector made a node.

pub mod build;
mod policy;
pub mod text;

pub use policy::{Decision, RetryPolicy};

use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};
use trustmap_model::{Identifier, Observation, Progress, Provenance};
use trustmap_rules::Engine;

/// What went wrong, for the policy that decides retry, skip or abort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Credentials missing or rejected.
    Auth,
    PermissionDenied,
    /// Throttled; `retry_after` seconds if the source said.
    RateLimited {
        retry_after: Option<u64>,
    },
    NotFound,
    /// Network trouble, a dying process: worth a retry.
    Transient,
    /// The connector's configuration is wrong.
    Config,
    /// The source answered with something unusable (a corrupt repository, bad JSON).
    Data,
    /// Asked to stop (Ctrl-C): what was emitted before is kept, coverage is incomplete.
    Cancelled,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::RateLimited { .. } => "rate_limited",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Transient => "transient",
            ErrorKind::Config => "config",
            ErrorKind::Data => "data",
            ErrorKind::Cancelled => "cancelled",
        }
    }
}

/// A connector failure, classified and naming what failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConnectorError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ConnectorError {
    /// Stopped because the sweep was asked to stop.
    pub fn cancelled() -> Self {
        ConnectorError::new(ErrorKind::Cancelled, "interrupted before it finished")
    }

    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ConnectorError {
            kind,
            message: message.into(),
        }
    }
}

/// Where connectors send observations. Cloneable, so a connector may emit from many tasks.
#[derive(Clone)]
pub struct Emitter {
    tx: mpsc::Sender<Observation>,
    provenance: Provenance,
    gaps: Arc<std::sync::Mutex<Vec<String>>>,
    notes: Arc<std::sync::Mutex<Vec<String>>>,
    estate: Arc<std::sync::Mutex<Vec<Identifier>>>,
    cancelled: Arc<AtomicBool>,
    verifier: Option<Arc<dyn SecretVerifier>>,
}

/// Asks found secrets' issuers whether they are live (`verify = true`). It gets a connector's
/// matches together, while the values are still in hand (observations carry only digests), so
/// that it can pair what belongs together: an AWS key id and the secret beside it.
#[async_trait]
pub trait SecretVerifier: Send + Sync {
    /// Fill `verification` of each match it has a verifier for; leave the others `None`.
    async fn verify(&self, matches: &mut [trustmap_model::SecretMatch]);
}

impl Emitter {
    pub fn new(tx: mpsc::Sender<Observation>, connector: &str) -> Self {
        Emitter {
            tx,
            provenance: Provenance {
                connector: connector.to_string(),
                source: String::new(),
            },
            gaps: Arc::default(),
            notes: Arc::default(),
            estate: Arc::default(),
            cancelled: Arc::default(),
            verifier: None,
        }
    }

    /// The same emitter, verifying secrets with `verifier` before it emits them.
    pub fn verifying(mut self, verifier: Option<Arc<dyn SecretVerifier>>) -> Self {
        self.verifier = verifier;
        self
    }

    /// The same emitter, refusing observations once `cancelled` is set: every connector then
    /// stops at its next emit, whatever it is doing.
    pub fn cancellable(mut self, cancelled: Arc<AtomicBool>) -> Self {
        self.cancelled = cancelled;
        self
    }

    /// Declare part of the estate this connector sweeps (the AWS account it entered, the
    /// GitHub organisation it listed): the organisation's own, so trust in it is internal.
    pub fn own(&self, id: Identifier) {
        if let Ok(mut e) = self.estate.lock() {
            if !e.contains(&id) {
                e.push(id);
            }
        }
    }

    /// The estate declared so far, by this emitter and its clones.
    pub fn estate(&self) -> Vec<Identifier> {
        self.estate.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Record a coverage gap: something this connector could not see (an account it could not
    /// enter, a repository it may not read). The run goes on; the sweep reports the gap and
    /// treats the connector's coverage as incomplete.
    pub fn gap(&self, message: impl Into<String>) {
        if let Ok(mut g) = self.gaps.lock() {
            g.push(message.into());
        }
    }

    /// The gaps recorded so far, by this emitter and its clones.
    pub fn gaps(&self) -> Vec<String> {
        self.gaps.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Say something about the run that is not a gap (how long rate limits made it wait, how
    /// many requests it made): shown under the connector, coverage unaffected.
    pub fn note(&self, message: impl Into<String>) {
        if let Ok(mut n) = self.notes.lock() {
            n.push(message.into());
        }
    }

    /// The notes recorded so far, by this emitter and its clones.
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    /// Send one observation, stamping the connector's name into its provenance.
    pub async fn emit(&self, mut obs: Observation) -> Result<(), ConnectorError> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(ConnectorError::cancelled());
        }
        let p = match &mut obs {
            Observation::Identity(o) => &mut o.provenance,
            Observation::Credential(o) => &mut o.provenance,
            Observation::ExternalPrincipal(o) => &mut o.provenance,
            Observation::Edge(o) => &mut o.provenance,
            Observation::Secret(o) => &mut o.provenance,
        };
        p.connector = self.provenance.connector.clone();
        self.tx.send(obs).await.map_err(|_| {
            ConnectorError::new(
                ErrorKind::Transient,
                "the sweep stopped receiving observations",
            )
        })
    }
}

impl Emitter {
    /// Emit every observation of `observations`, in order.
    pub async fn emit_all(
        &self,
        observations: impl IntoIterator<Item = Observation>,
    ) -> Result<(), ConnectorError> {
        for o in observations {
            self.emit(o).await?;
        }
        Ok(())
    }

    /// Emit each secret match as a `secret` observation (digest and redacted form only),
    /// verified first when the sweep verifies.
    pub async fn emit_secrets(
        &self,
        matches: &[trustmap_model::SecretMatch],
    ) -> Result<(), ConnectorError> {
        let mut verified;
        let matches = match &self.verifier {
            Some(v) => {
                verified = matches.to_vec();
                v.verify(&mut verified).await;
                &verified[..]
            }
            None => matches,
        };
        for m in matches {
            self.emit(Observation::Secret(trustmap_model::SecretObs::from(m)))
                .await?;
        }
        Ok(())
    }
}

/// What every connector gets: cancellation, progress, a concurrency budget, the secret engine
/// and the directory that relative paths in sweep.toml are relative to.
#[derive(Clone)]
pub struct SweepContext {
    pub cancelled: Arc<AtomicBool>,
    pub progress: Arc<dyn Progress>,
    /// Shared by all connectors: hold a permit while doing heavy work or calling an API.
    pub budget: Arc<Semaphore>,
    pub engine: Arc<Engine>,
    pub base_dir: PathBuf,
    /// The slice of the estate this process sweeps (`--shard I/N`); `None`: all of it.
    pub slice: Option<Slice>,
}

/// Slice `index` of `count` (0-based) of every connector's work units: a unit belongs to the
/// slice its stable hash falls in, the same on every machine and in every version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub index: u32,
    pub count: u32,
}

impl Slice {
    /// The slice `unit` (a connector's name, an account id, a repository) belongs to.
    pub fn of(unit: &str, count: u32) -> u32 {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(unit.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let count = u64::from(count.max(1));
        u32::try_from(u64::from_be_bytes(first) % count).unwrap_or_default()
    }

    pub fn takes(&self, unit: &str) -> bool {
        Slice::of(unit, self.count) == self.index
    }
}

impl std::fmt::Display for Slice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Slice {
    type Err = String;

    /// `I/N` with `0 <= I < N`.
    fn from_str(s: &str) -> Result<Slice, String> {
        let bad = || {
            format!("{s:?}: expected I/N with 0 <= I < N (a 0-based shard index, as Kubernetes' JOB_COMPLETION_INDEX)")
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Slice { index, count })
    }
}

impl SweepContext {
    /// Whether this process sweeps `unit` of a connector that [`Connector::splits_into_units`]
    /// (every unit when the sweep is not sharded).
    pub fn takes(&self, unit: &str) -> bool {
        self.slice.is_none_or(|s| s.takes(unit))
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Resolves once the sweep was asked to stop: `select!` it against a wait that may be long
    /// (a program that prints nothing, a slow API), so a stop never waits for it.
    pub async fn cancelled(&self) {
        while !self.is_cancelled() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// `Err(cancelled)` once the sweep was asked to stop: call between steps of long work.
    pub fn check_cancelled(&self) -> Result<(), ConnectorError> {
        if self.is_cancelled() {
            Err(ConnectorError::cancelled())
        } else {
            Ok(())
        }
    }

    /// Run blocking work (a scan, a git walk) on the blocking pool while holding one permit of
    /// the shared budget. The closure gets the engine and the progress reporter.
    pub async fn blocking<T, F>(&self, work: F) -> Result<T, ConnectorError>
    where
        T: Send + 'static,
        F: FnOnce(&Engine, &dyn Progress) -> Result<T, ConnectorError> + Send + 'static,
    {
        let _permit = self
            .budget
            .acquire()
            .await
            .map_err(|e| ConnectorError::new(ErrorKind::Transient, e.to_string()))?;
        let engine = self.engine.clone();
        let progress = self.progress.clone();
        tokio::task::spawn_blocking(move || work(&engine, progress.as_ref()))
            .await
            .map_err(|e| {
                ConnectorError::new(ErrorKind::Transient, format!("worker stopped: {e}"))
            })?
    }

    /// A path from sweep.toml, made absolute against the config file's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

/// One configured source.
#[async_trait]
pub trait Connector: Send + Sync {
    /// `type` in sweep.toml (`git`, `filesystem`, `exec`, ...).
    fn kind(&self) -> &'static str;
    /// `name` in sweep.toml, or a default derived from the target.
    fn name(&self) -> &str;
    /// Enumerate the source and emit observations. Partial results already emitted stay valid
    /// when this returns an error.
    async fn run(&self, ctx: &SweepContext, out: &Emitter) -> Result<(), ConnectorError>;
    /// Whether a sharded sweep runs this connector in every shard, each taking the work units
    /// (accounts, projects, repositories) that [`SweepContext::takes`]; otherwise the
    /// connector is one unit, run whole by the shard its name falls in.
    fn splits_into_units(&self) -> bool {
        false
    }
}

/// A connector's `[[connectors]]` table that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigTableError {
    /// Not the connector's shape (an unknown field, a wrong type): toml's own error.
    #[error("{}", .0.message())]
    Shape(#[from] toml::de::Error),
    /// The fields parse but do not make sense together (the connector's own check).
    #[error("{0}")]
    Invalid(String),
}

/// Deserialize a connector's own table from sweep.toml strictly (unknown fields are errors).
pub fn parse_config<T: serde::de::DeserializeOwned>(
    table: toml::Table,
) -> Result<T, ConfigTableError> {
    Ok(T::deserialize(toml::Value::Table(table))?)
}
