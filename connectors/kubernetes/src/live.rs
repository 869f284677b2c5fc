//! Reading a cluster through the Kubernetes API with `kube`: each kind listed cluster-wide in
//! pages (`limit`/`continue`, a repeated token stops with a gap), the kinds side by side
//! (`concurrency` at once); a 403 on one kind is a coverage gap naming the permission, 429 and
//! 5xx are retried under the shared policy, a 401 or an unreachable API server stops the
//! connector.
use futures::stream::{self, StreamExt};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, ListParams};
use kube::Client;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use trustmap_connector::{ConnectorError, Decision, ErrorKind, RetryPolicy};

use crate::inventory::Inventory;

pub struct Cluster {
    pub client: Client,
    pub policy: RetryPolicy,
    pub concurrency: usize,
    /// Read only token Secrets (a field selector) unless Secret data is scanned.
    pub all_secrets: bool,
    pub page_size: u32,
    requests: AtomicU64,
}

/// A kube error as the shared error kinds.
fn classify(what: &str, e: &kube::Error) -> ConnectorError {
    match e {
        kube::Error::Api(s) => {
            let code = s.code;
            let kind = match code {
                401 => ErrorKind::Auth,
                403 => ErrorKind::PermissionDenied,
                404 => ErrorKind::NotFound,
                429 => ErrorKind::RateLimited { retry_after: None },
                500..=599 => ErrorKind::Transient,
                _ => ErrorKind::Data,
            };
            ConnectorError::new(
                kind,
                format!(
                    "{what}: HTTP {code}: {}",
                    trustmap_connector::text::excerpt(&s.message)
                ),
            )
        }
        kube::Error::SerdeError(e) => {
            ConnectorError::new(ErrorKind::Data, format!("{what}: not the API's JSON: {e}"))
        }
        other => ConnectorError::new(
            ErrorKind::Transient,
            trustmap_connector::text::with_causes(
                &format!("{what}: cannot reach the API server"),
                other,
            ),
        ),
    }
}

/// The items of one kind, and the gaps of reading them.
type Listed<T> = (Vec<T>, Vec<String>);

/// What one of the side-by-side lists read.
enum Kind {
    Secrets(Listed<Secret>),
    Roles(Listed<Role>),
    ClusterRoles(Listed<ClusterRole>),
    RoleBindings(Listed<RoleBinding>),
    ClusterRoleBindings(Listed<ClusterRoleBinding>),
}

type Job<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Kind, ConnectorError>> + Send + 'a>>;

impl Cluster {
    pub fn new(client: Client) -> Self {
        Cluster {
            client,
            policy: RetryPolicy::default(),
            concurrency: 4,
            all_secrets: false,
            page_size: 500,
            requests: AtomicU64::new(0),
        }
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    async fn page<K>(
        &self,
        what: &str,
        api: &Api<K>,
        params: &ListParams,
    ) -> Result<kube::core::ObjectList<K>, ConnectorError>
    where
        K: Clone + DeserializeOwned + Debug,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.requests.fetch_add(1, Ordering::Relaxed);
            match api.list(params).await {
                Ok(page) => return Ok(page),
                Err(e) => {
                    let e = classify(what, &e);
                    match self.policy.decide(e.kind, attempt) {
                        Decision::Retry(wait) => tokio::time::sleep(wait).await,
                        Decision::Gap | Decision::Stop => return Err(e),
                    }
                }
            }
        }
    }

    /// Every object of one kind, cluster-wide.
    async fn list<K>(
        &self,
        plural: &str,
        selector: Option<&str>,
    ) -> Result<Listed<K>, ConnectorError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        self.list_in(Api::<K>::all(self.client.clone()), plural, selector)
            .await
    }

    async fn list_cluster<K>(&self, plural: &str) -> Result<Listed<K>, ConnectorError>
    where
        K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        self.list_in(Api::<K>::all(self.client.clone()), plural, None)
            .await
    }

    async fn list_in<K>(
        &self,
        api: Api<K>,
        plural: &str,
        selector: Option<&str>,
    ) -> Result<Listed<K>, ConnectorError>
    where
        K: Clone + DeserializeOwned + Debug,
    {
        let what = format!("list {plural}");
        let mut items = Vec::new();
        let mut gaps = Vec::new();
        let mut seen = HashSet::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = ListParams::default().limit(self.page_size);
            if let Some(s) = selector {
                params = params.fields(s);
            }
            if let Some(t) = &token {
                params = params.continue_token(t);
            }
            let page = match self.page(&what, &api, &params).await {
                Ok(p) => p,
                Err(e)
                    if matches!(
                        e.kind,
                        ErrorKind::PermissionDenied
                            | ErrorKind::NotFound
                            | ErrorKind::Data
                            | ErrorKind::RateLimited { .. }
                    ) =>
                {
                    let hint = if e.kind == ErrorKind::PermissionDenied {
                        format!(" (needs list on {plural}, cluster-wide)")
                    } else {
                        String::new()
                    };
                    gaps.push(format!("{}{hint}", e.message));
                    return Ok((items, gaps));
                }
                Err(e) => return Err(e),
            };
            items.extend(page.items);
            match page.metadata.continue_.filter(|t| !t.is_empty()) {
                Some(t) if !seen.insert(t.clone()) => {
                    gaps.push(format!(
                        "{what}: stopped paging: the server repeated a continue token"
                    ));
                    break;
                }
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok((items, gaps))
    }

    /// The six kinds the connector reads, `concurrency` lists at a time.
    pub async fn inventory(&self) -> Result<Inventory, ConnectorError> {
        let mut inv = Inventory {
            accounts_complete: true,
            ..Inventory::default()
        };
        let selector = (!self.all_secrets).then_some("type=kubernetes.io/service-account-token");
        // Service accounts first: an API server that cannot be reached fails here, once.
        let (sas, gaps) = self.list::<ServiceAccount>("serviceaccounts", None).await?;
        inv.accounts_complete = gaps.is_empty();
        inv.service_accounts = sas;
        inv.gaps.extend(gaps);
        let jobs: Vec<Job<'_>> = vec![
            Box::pin(async move {
                self.list::<Secret>("secrets", selector)
                    .await
                    .map(Kind::Secrets)
            }),
            Box::pin(async move { self.list::<Role>("roles", None).await.map(Kind::Roles) }),
            Box::pin(async move {
                self.list_cluster::<ClusterRole>("clusterroles")
                    .await
                    .map(Kind::ClusterRoles)
            }),
            Box::pin(async move {
                self.list::<RoleBinding>("rolebindings", None)
                    .await
                    .map(Kind::RoleBindings)
            }),
            Box::pin(async move {
                self.list_cluster::<ClusterRoleBinding>("clusterrolebindings")
                    .await
                    .map(Kind::ClusterRoleBindings)
            }),
        ];
        let done: Vec<Result<Kind, ConnectorError>> = stream::iter(jobs)
            .buffered(self.concurrency.max(1))
            .collect()
            .await;
        for k in done {
            match k? {
                Kind::Secrets((v, g)) => {
                    inv.secrets = v;
                    inv.gaps.extend(g);
                }
                Kind::Roles((v, g)) => {
                    inv.roles = v;
                    inv.gaps.extend(g);
                }
                Kind::ClusterRoles((v, g)) => {
                    inv.cluster_roles = v;
                    inv.gaps.extend(g);
                }
                Kind::RoleBindings((v, g)) => {
                    inv.role_bindings = v;
                    inv.gaps.extend(g);
                }
                Kind::ClusterRoleBindings((v, g)) => {
                    inv.cluster_role_bindings = v;
                    inv.gaps.extend(g);
                }
            }
        }
        // A server that ignored the field selector still hands only tokens to the observer.
        if !self.all_secrets {
            inv.secrets
                .retain(|s| s.type_.as_deref() == Some(crate::observe::TOKEN_TYPE));
        }
        Ok(inv)
    }
}
