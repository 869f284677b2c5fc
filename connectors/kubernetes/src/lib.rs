//! The `kubernetes` connector: where partner access and cloud access meet in a cluster —
//! identity-provider users and groups and other namespaces' service accounts bound through
//! RBAC, anything bound to `cluster-admin`, legacy long-lived token Secrets, secrets pasted into
//! Secret data, and service accounts annotated to act as an AWS role, a Google service account
//! or an Entra application (edges the graph joins with what those connectors see). Live through
//! the Kubernetes API with `kube`, or offline from `kubectl get ... -o json`, through the same
//! observation code.
//!
//! It knows nothing about partners or checks: it reports subjects' names, emails and domains,
//! and lets the registry attribute them.

pub mod inventory;
pub mod live;
pub mod observe;

use async_trait::async_trait;
use serde::Deserialize;
use std::path::PathBuf;
use trustmap_connector::{
    ConfigTableError, Connector, ConnectorError, Emitter, ErrorKind, RetryPolicy, SweepContext,
};
use trustmap_model::{Identifier, Observation, SecretObs};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    /// The cluster's name in ids (`k8s:<cluster>:sa/<namespace>/<name>`).
    pub cluster: String,
    /// A kubeconfig file (else KUBECONFIG, ~/.kube/config, then the in-cluster account).
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (else its current one).
    #[serde(default)]
    pub context: Option<String>,
    /// The API server, with `token_env`, instead of a kubeconfig.
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub token_env: Option<String>,
    /// Offline: `kubectl get serviceaccounts,secrets,roles,rolebindings,clusterroles,
    /// clusterrolebindings -A -o json`.
    #[serde(default)]
    pub export_file: Option<PathBuf>,
    /// Run the secret rules over Secret data (decoded).
    #[serde(default)]
    pub scan_secrets: bool,
    /// The cluster's OIDC issuer URL (an AWS role trusting it is reachable from the cluster).
    #[serde(default)]
    pub oidc_issuer: Option<String>,
    /// The Entra tenant of `azure.workload.identity/client-id` annotations that name none.
    #[serde(default)]
    pub azure_tenant_id: Option<String>,
    /// Kinds listed at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Longest wait for a throttled call before it is given up (seconds).
    #[serde(default = "default_max_wait")]
    pub max_wait_seconds: u64,
}

fn default_concurrency() -> usize {
    4
}
fn default_max_wait() -> u64 {
    300
}

impl KubernetesConfig {
    fn validate(&self) -> Result<(), String> {
        if self.cluster.is_empty() || self.cluster.contains(['/', ':', ' ']) {
            return Err(format!(
                "cluster {:?} must be a name without '/', ':' or spaces (it is part of every id)",
                self.cluster
            ));
        }
        if self.concurrency == 0 {
            return Err("concurrency must be at least 1".into());
        }
        if self.export_file.is_some()
            && (self.api_url.is_some() || self.kubeconfig.is_some() || self.token_env.is_some())
        {
            return Err("export_file is offline: drop api_url, token_env and kubeconfig".into());
        }
        if self.api_url.is_some() != self.token_env.is_some() {
            return Err("api_url and token_env go together".into());
        }
        if let Some(u) = &self.api_url {
            if !u.starts_with("https://") && !u.starts_with("http://") {
                return Err(format!("api_url {u:?} is not an http(s) URL"));
            }
        }
        Ok(())
    }
}

pub struct KubernetesConnector {
    name: String,
    cfg: KubernetesConfig,
}

impl KubernetesConnector {
    pub fn new(name: String, cfg: KubernetesConfig) -> Result<Self, ConfigTableError> {
        cfg.validate().map_err(ConfigTableError::Invalid)?;
        Ok(KubernetesConnector { name, cfg })
    }

    /// The kube client this configuration names.
    pub async fn client(&self, base_dir: &std::path::Path) -> Result<kube::Client, ConnectorError> {
        // kube's rustls needs one process-wide provider: aws-lc-rs, as the AWS SDK's. An
        // error only says one is installed already.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let config_err = |what: &str, e: &dyn std::error::Error| {
            ConnectorError::new(
                ErrorKind::Config,
                trustmap_connector::text::with_causes(what, e),
            )
        };
        let config = if let (Some(url), Some(var)) = (&self.cfg.api_url, &self.cfg.token_env) {
            let token = trustmap_model::env::named(var).ok_or_else(|| {
                ConnectorError::new(
                    ErrorKind::Auth,
                    format!("environment variable {var} (token_env) is not set"),
                )
            })?;
            let mut c = kube::Config::new(
                url.parse()
                    .map_err(|e| config_err(&format!("api_url {url:?}"), &e))?,
            );
            c.auth_info.token = Some(token.into());
            c
        } else if let Some(path) = &self.cfg.kubeconfig {
            let path = base_dir.join(path);
            let kc = kube::config::Kubeconfig::read_from(&path)
                .map_err(|e| config_err(&format!("kubeconfig {}", path.display()), &e))?;
            let opts = kube::config::KubeConfigOptions {
                context: self.cfg.context.clone(),
                ..Default::default()
            };
            kube::Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| config_err(&format!("kubeconfig {}", path.display()), &e))?
        } else {
            kube::Config::infer().await.map_err(|e| {
                config_err(
                    "no kubeconfig (KUBECONFIG, ~/.kube/config) and not in a cluster",
                    &e,
                )
            })?
        };
        kube::Client::try_from(config).map_err(|e| config_err("Kubernetes client", &e))
    }

    /// Read the cluster, live or from the export.
    pub async fn inventory(
        &self,
        ctx: &SweepContext,
        out: &Emitter,
    ) -> Result<inventory::Inventory, ConnectorError> {
        if let Some(file) = &self.cfg.export_file {
            let path = ctx.resolve(file);
            return ctx.blocking(move |_, _| inventory::load(&path)).await;
        }
        let mut cluster = live::Cluster::new(self.client(&ctx.base_dir).await?);
        cluster.concurrency = self.cfg.concurrency;
        cluster.all_secrets = self.cfg.scan_secrets;
        cluster.policy = RetryPolicy {
            max_wait: std::time::Duration::from_secs(self.cfg.max_wait_seconds),
            ..RetryPolicy::default()
        };
        ctx.progress
            .message("kubernetes: listing service accounts, RBAC and Secrets");
        let inv = cluster.inventory().await;
        out.note(format!("{} requests", cluster.requests()));
        inv
    }

    /// Secrets in Secret data: every value but the cluster's own account tokens (those are
    /// credentials, reported as such).
    fn leaks(&self, ctx: &SweepContext, inv: &inventory::Inventory) -> Vec<Observation> {
        let mut out = Vec::new();
        for s in &inv.secrets {
            if s.type_.as_deref() == Some(observe::TOKEN_TYPE) {
                continue;
            }
            let (ns, name) = (
                s.metadata.namespace.as_deref().unwrap_or_default(),
                s.metadata.name.as_deref().unwrap_or_default(),
            );
            for (key, value) in s.data.iter().flatten() {
                let path = format!("k8s:{}/{ns}/secrets/{name}/{key}", self.cfg.cluster);
                for m in ctx.engine.secret_matches(&value.0, &path) {
                    out.push(Observation::Secret(SecretObs::from(&m)));
                }
            }
        }
        out
    }
}

#[async_trait]
impl Connector for KubernetesConnector {
    fn kind(&self) -> &'static str {
        "kubernetes"
    }
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, ctx: &SweepContext, out: &Emitter) -> Result<(), ConnectorError> {
        out.own(Identifier::K8sCluster(self.cfg.cluster.clone()));
        let inv = self.inventory(ctx, out).await?;
        for g in &inv.gaps {
            out.gap(g.clone());
        }
        ctx.check_cancelled()?;
        let (mut obs, gaps) = observe::observe(
            &inv,
            &observe::Options {
                cluster: self.cfg.cluster.clone(),
                azure_tenant: self.cfg.azure_tenant_id.clone(),
            },
        );
        for g in gaps {
            out.gap(g);
        }
        if self.cfg.scan_secrets {
            obs.extend(self.leaks(ctx, &inv));
        }
        if let Some(issuer) = &self.cfg.oidc_issuer {
            // AWS names an OIDC principal by the issuer's host and path: this cluster's is ours.
            let host = issuer.trim_start_matches("https://").trim_end_matches('/');
            obs.push(Observation::ExternalPrincipal(
                trustmap_model::ExternalPrincipalObs {
                    id: format!("oidc:{host}"),
                    kind: "oidc_issuer".into(),
                    name: host.to_string(),
                    identifiers: vec![Identifier::K8sCluster(self.cfg.cluster.clone())],
                    provenance: trustmap_connector::build::provenance("config"),
                },
            ));
        }
        out.emit_all(obs).await
    }
}
