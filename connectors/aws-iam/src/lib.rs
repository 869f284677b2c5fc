//! The `aws-iam` connector: every AWS non-human identity and every door IAM opens to
//! outsiders. Live, through the official SDK (standard credential chain, `endpoint_url` for
//! any compatible server, an Organization's accounts entered with AssumeRole, concurrently);
//! or offline, from the `aws iam get-account-authorization-details` JSON and the credential
//! report CSV that M&A teams receive instead of access. Both modes fill the same inventory
//! types and share one path to observations.
//!
//! It knows nothing about partners, checks or output formats: a known-vendor list only names
//! who an external account probably is.

pub mod details;
pub mod known;
pub mod live;
pub mod observe;
pub mod policy;

use async_trait::async_trait;
use futures::StreamExt;
use serde::Deserialize;
use std::path::PathBuf;
use trustmap_connector::{
    ConfigTableError, Connector, ConnectorError, Emitter, ErrorKind, SweepContext,
};
use trustmap_model::Identifier;

use details::AccountInventory;
use known::KnownAccounts;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsIamConfig {
    #[serde(default = "default_region")]
    pub region: String,
    /// Any AWS-compatible endpoint (moto, LocalStack, a VPC endpoint).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// A profile of ~/.aws/config (SSO, role chaining); default: the standard chain.
    #[serde(default)]
    pub profile: Option<String>,
    /// Offline: the JSON `aws iam get-account-authorization-details` prints.
    #[serde(default)]
    pub authorization_details_file: Option<PathBuf>,
    /// Offline: the credential report CSV (`aws iam get-credential-report`, decoded).
    #[serde(default)]
    pub credential_report_file: Option<PathBuf>,
    /// Offline: the account id, when the export's ARNs do not say it.
    #[serde(default)]
    pub account_id: Option<String>,
    /// A YAML list of known vendor accounts (the community "known AWS accounts" format).
    #[serde(default)]
    pub known_accounts_file: Option<PathBuf>,
    /// Sweep every account of the AWS Organization through `role_name`.
    #[serde(default)]
    pub organization: bool,
    /// Or: these role ARNs, one per account to sweep.
    #[serde(default)]
    pub assume_roles: Vec<String>,
    #[serde(default = "default_role_name")]
    pub role_name: String,
    /// `sts:ExternalId` to present when assuming roles.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Concurrent API calls within one account.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Accounts swept at once.
    #[serde(default = "default_account_concurrency")]
    pub account_concurrency: usize,
    /// Live: fetch the credential report (console passwords, key slots).
    #[serde(default = "yes")]
    pub credential_report: bool,
    /// Attempts per call, throttling included (the SDK's standard retry with backoff).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
}

fn default_region() -> String {
    "us-east-1".into()
}
fn default_role_name() -> String {
    "OrganizationAccountAccessRole".into()
}
fn default_concurrency() -> usize {
    8
}
fn default_account_concurrency() -> usize {
    4
}
fn default_attempts() -> u32 {
    10
}
fn yes() -> bool {
    true
}

impl AwsIamConfig {
    /// Settings that contradict each other.
    pub fn validate(&self) -> Result<(), String> {
        let offline = self.authorization_details_file.is_some();
        if offline && (self.organization || !self.assume_roles.is_empty()) {
            return Err("authorization_details_file is one account's export: it cannot be combined with organization or assume_roles (configure one connector per export)".into());
        }
        if self.credential_report_file.is_some() && !offline {
            return Err(
                "credential_report_file needs authorization_details_file (offline mode)".into(),
            );
        }
        if self.organization && !self.assume_roles.is_empty() {
            return Err("set organization = true or assume_roles, not both".into());
        }
        if let Some(bad) = self
            .assume_roles
            .iter()
            .find(|a| !a.starts_with("arn:") || policy::arn_account(a).is_none())
        {
            return Err(format!(
                "assume_roles: {bad:?} is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
            ));
        }
        if self.concurrency == 0 || self.account_concurrency == 0 {
            return Err("concurrency and account_concurrency must be at least 1".into());
        }
        Ok(())
    }
}

pub struct AwsIamConnector {
    name: String,
    config: AwsIamConfig,
}

impl AwsIamConnector {
    pub fn new(name: String, config: AwsIamConfig) -> Result<Self, ConfigTableError> {
        config.validate().map_err(ConfigTableError::Invalid)?;
        Ok(AwsIamConnector { name, config })
    }

    fn read(
        ctx: &SweepContext,
        file: &std::path::Path,
    ) -> Result<(PathBuf, String), ConnectorError> {
        let path = ctx.resolve(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Config,
                format!("{}: cannot read: {e}", path.display()),
            )
        })?;
        Ok((path, text))
    }

    fn offline(
        &self,
        ctx: &SweepContext,
        file: &std::path::Path,
    ) -> Result<AccountInventory, ConnectorError> {
        let (path, text) = Self::read(ctx, file)?;
        let details = details::parse_details(&path, &text)
            .map_err(|e| ConnectorError::new(ErrorKind::Data, e.to_string()))?;
        let report = match &self.config.credential_report_file {
            Some(f) => {
                let (p, text) = Self::read(ctx, f)?;
                details::parse_report(&p, &text)
                    .map_err(|e| ConnectorError::new(ErrorKind::Data, e.to_string()))?
            }
            None => Vec::new(),
        };
        let from_arns = details
            .user_detail_list
            .iter()
            .map(|u| u.arn.as_str())
            .chain(details.role_detail_list.iter().map(|r| r.arn.as_str()))
            .find_map(policy::arn_account)
            .map(str::to_string);
        let account = self
            .config
            .account_id
            .clone()
            .or(from_arns)
            .ok_or_else(|| {
                ConnectorError::new(
                    ErrorKind::Config,
                    format!(
                        "{}: no ARN says which account this is; set account_id",
                        path.display()
                    ),
                )
            })?;
        Ok(AccountInventory {
            account,
            details,
            keys_listed: false,
            access_keys: Vec::new(),
            report,
            providers: Vec::new(),
        })
    }

    /// The accounts to sweep: (account id, how to reach it: None = the base credentials).
    async fn targets(
        &self,
        conf: &aws_config::SdkConfig,
    ) -> Result<(String, Vec<(String, Option<String>)>), ConnectorError> {
        let me = live::caller_account(conf).await?;
        let mut targets = vec![(me.clone(), None)];
        if self.config.organization {
            for (id, _) in live::organization_accounts(conf).await? {
                if id != me {
                    let arn = format!("arn:aws:iam::{id}:role/{}", self.config.role_name);
                    targets.push((id, Some(arn)));
                }
            }
        } else if !self.config.assume_roles.is_empty() {
            targets.clear();
            for arn in &self.config.assume_roles {
                let acct = policy::arn_account(arn).ok_or_else(|| {
                    ConnectorError::new(
                        ErrorKind::Config,
                        format!("assume_roles: {arn:?} is not a role ARN"),
                    )
                })?;
                targets.push((acct.to_string(), Some(arn.clone())));
            }
        }
        Ok((me, targets))
    }

    async fn emit(
        &self,
        out: &Emitter,
        inv: &AccountInventory,
        known: &KnownAccounts,
        source: &str,
    ) -> Result<(), ConnectorError> {
        out.own(Identifier::AwsAccount(inv.account.clone()));
        let built = observe::observations(inv, known, source);
        for g in built.gaps {
            out.gap(format!("account {}: {g}", inv.account));
        }
        out.emit_all(built.observations).await
    }
}

/// An account's name as a work unit of a sharded sweep.
pub fn account_unit(account: &str) -> String {
    format!("aws_account:{account}")
}

#[async_trait]
impl Connector for AwsIamConnector {
    fn kind(&self) -> &'static str {
        "aws-iam"
    }

    fn name(&self) -> &str {
        &self.name
    }

    /// Accounts are the work units of an Organization or of several roles to assume.
    fn splits_into_units(&self) -> bool {
        self.config.organization || self.config.assume_roles.len() > 1
    }

    async fn run(&self, ctx: &SweepContext, out: &Emitter) -> Result<(), ConnectorError> {
        let known = match &self.config.known_accounts_file {
            Some(f) => KnownAccounts::load(&ctx.resolve(f))
                .map_err(|e| ConnectorError::new(ErrorKind::Config, e.to_string()))?,
            None => KnownAccounts::default(),
        };
        if let Some(file) = &self.config.authorization_details_file {
            ctx.progress.message(&format!("reading {}", file.display()));
            let inv = self.offline(ctx, file)?;
            return self
                .emit(out, &inv, &known, &file.display().to_string())
                .await;
        }

        let base = live::sdk_config(&self.config).await;
        ctx.progress.message("aws: who am I");
        let (_, mut targets) = self.targets(&base).await?;
        // Every account of the Organization is ours, entered or not (in every shard).
        for (account, _) in &targets {
            out.own(Identifier::AwsAccount(account.clone()));
        }
        // A sharded sweep enters only this shard's accounts.
        targets.retain(|(account, _)| ctx.takes(&account_unit(account)));
        let total = targets.len();
        let mut swept = 0usize;
        let mut runs = futures::stream::iter(targets)
            .map(|(account, role)| {
                let base = base.clone();
                async move {
                    if ctx.is_cancelled() {
                        return (account, Err(ConnectorError::cancelled()));
                    }
                    let conf = match &role {
                        None => Ok(base),
                        Some(arn) => {
                            live::assume(&base, arn, self.config.external_id.as_deref()).await
                        }
                    };
                    let r = match conf {
                        Ok(conf) => {
                            ctx.progress.message(&format!("aws: account {account}"));
                            live::enumerate_account(
                                &conf,
                                &account,
                                &self.config,
                                ctx.progress.as_ref(),
                            )
                            .await
                        }
                        Err(e) => Err(e),
                    };
                    (account, r)
                }
            })
            .buffer_unordered(self.config.account_concurrency);
        let mut last_error = None;
        while let Some((account, r)) = runs.next().await {
            match r {
                Ok((inv, gaps)) => {
                    swept += 1;
                    for g in gaps {
                        out.gap(g);
                    }
                    let source = format!("aws account {account}");
                    self.emit(out, &inv, &known, &source).await?;
                }
                // One account that cannot be entered does not hide the others.
                Err(e) => {
                    out.gap(format!("account {account}: not swept: {e}"));
                    last_error = Some(e);
                }
            }
        }
        match last_error {
            Some(e) if swept == 0 => Err(ConnectorError::new(
                e.kind,
                format!(
                    "no account could be swept ({total} tried); last error: {}",
                    e.message
                ),
            )),
            _ => Ok(()),
        }
    }
}
