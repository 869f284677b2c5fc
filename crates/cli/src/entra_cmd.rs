//! `trustmap entra export`: a tenant's inventory written as the export directory that the
//! entra connector's `export_dir` reads, for air-gapped and due-diligence sweeps.
use anyhow::Result;
use trustmap_connector_entra::{Credential, EntraConfig};

use crate::exit;

#[derive(Debug, clap::Subcommand)]
pub enum EntraCommand {
    /// Read a tenant through Microsoft Graph and write servicePrincipals.json,
    /// applications.json, oauth2PermissionGrants.json, appRoleAssignments.json and
    /// federatedIdentityCredentials/ into DIR.
    Export {
        #[arg(long)]
        tenant_id: String,
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long, default_value = "https://graph.microsoft.com")]
        api_url: String,
        /// Environment variable holding a Graph bearer token (else `--credential`).
        #[arg(long)]
        token_env: Option<String>,
        /// client_secret, client_certificate, workload_identity, managed_identity or azure_cli
        /// (the default).
        #[arg(long, value_parser = parse_credential)]
        credential: Option<Credential>,
        #[arg(long)]
        client_id: Option<String>,
        #[arg(long)]
        client_secret_env: Option<String>,
        #[arg(long)]
        authority_url: Option<String>,
        /// PKCS#12 certificate (`--credential client_certificate`).
        #[arg(long)]
        certificate_file: Option<std::path::PathBuf>,
        #[arg(long)]
        certificate_password_env: Option<String>,
    },
}

fn parse_credential(s: &str) -> Result<Credential, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        format!("{s:?}: expected client_secret, client_certificate, workload_identity, managed_identity or azure_cli")
    })
}

pub fn run(cmd: EntraCommand) -> Result<u8> {
    let EntraCommand::Export {
        tenant_id,
        out,
        api_url,
        token_env,
        credential,
        client_id,
        client_secret_env,
        authority_url,
        certificate_file,
        certificate_password_env,
    } = cmd;
    let cfg = EntraConfig {
        tenant_id,
        api_url,
        token_env,
        credential,
        client_id,
        client_secret_env,
        authority_url,
        certificate_file,
        certificate_password_env,
        export_dir: None,
        concurrency: 8,
        max_wait_seconds: 900,
    };
    let gaps = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(trustmap_connector_entra::export_tenant(cfg, &out))
        .map_err(|e| anyhow::anyhow!("entra export failed [{}]: {}", e.kind.as_str(), e.message))?;
    for g in &gaps {
        eprintln!("gap: {}", trustmap_model::text::for_terminal(g));
    }
    eprintln!("wrote {}", out.display());
    Ok(exit::OK)
}
