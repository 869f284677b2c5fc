//! The connector registry: `type = "..."` in sweep.toml → a connector. Adding a connector is
//! its crate plus one arm here (and a cargo feature when it brings an SDK).
use trustmap_connector::{parse_config, ConfigTableError, Connector};

/// The connector types this build knows.
pub const CONNECTOR_TYPES: &[&str] = &[
    "filesystem",
    "git",
    "exec",
    #[cfg(feature = "aws-iam")]
    "aws-iam",
    #[cfg(feature = "github")]
    "github",
    #[cfg(feature = "entra")]
    "entra",
    #[cfg(feature = "gcp")]
    "gcp",
    #[cfg(feature = "kubernetes")]
    "kubernetes",
];

/// Types that exist but that this build may leave out: (type, cargo feature).
const OPTIONAL_TYPES: &[(&str, &str)] = &[
    ("aws-iam", "aws-iam"),
    ("github", "github"),
    ("entra", "entra"),
    ("gcp", "gcp"),
    ("kubernetes", "kubernetes"),
];

/// Why a `[[connectors]]` table built no connector.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("unknown connector type {kind:?} (expected one of: {})", CONNECTOR_TYPES.join(", "))]
    UnknownType { kind: String },
    #[error("connector type {kind:?} is not in this build (built without the cargo feature `{feature}`)")]
    NotInBuild { kind: String, feature: &'static str },
    #[error(transparent)]
    Table(#[from] ConfigTableError),
}

/// Build the connector for one `[[connectors]]` table (without `type` and `name`).
pub fn build_connector(
    kind: &str,
    name: String,
    table: toml::Table,
) -> Result<Box<dyn Connector>, BuildError> {
    Ok(match kind {
        "filesystem" => Box::new(trustmap_connector_filesystem::FilesystemConnector::new(
            name,
            parse_config(table)?,
        )),
        "git" => Box::new(trustmap_connector_git::GitConnector::new(
            name,
            parse_config(table)?,
        )),
        "exec" => Box::new(trustmap_connector_exec::ExecConnector::new(
            name,
            parse_config(table)?,
        )),
        #[cfg(feature = "aws-iam")]
        "aws-iam" => Box::new(trustmap_connector_aws_iam::AwsIamConnector::new(
            name,
            parse_config(table)?,
        )?),
        #[cfg(feature = "github")]
        "github" => Box::new(trustmap_connector_github::GithubConnector::new(
            name,
            parse_config(table)?,
        )?),
        #[cfg(feature = "entra")]
        "entra" => Box::new(trustmap_connector_entra::EntraConnector::new(
            name,
            parse_config(table)?,
        )?),
        #[cfg(feature = "gcp")]
        "gcp" => Box::new(trustmap_connector_gcp::GcpConnector::new(
            name,
            parse_config(table)?,
        )?),
        #[cfg(feature = "kubernetes")]
        "kubernetes" => Box::new(trustmap_connector_kubernetes::KubernetesConnector::new(
            name,
            parse_config(table)?,
        )?),
        other => {
            return Err(match OPTIONAL_TYPES.iter().find(|(t, _)| *t == other) {
                Some(&(_, feature)) => BuildError::NotInBuild {
                    kind: other.to_string(),
                    feature,
                },
                None => BuildError::UnknownType {
                    kind: other.to_string(),
                },
            })
        }
    })
}
