//! The connector registry: `type = "..."` in sweep.toml → a connector. Adding a connector is
//! its crate plus one arm here (and a cargo feature when it brings an SDK).
use trustmap_connector::{parse_config, Connector};

/// The connector types this build knows.
pub const CONNECTOR_TYPES: &[&str] = &[
    "filesystem",
    "git",
    "exec",
    #[cfg(feature = "aws-iam")]
    "aws-iam",
    #[cfg(feature = "github")]
    "github",
];

/// Types that exist but that this build left out (their cargo feature is off).
const OPTIONAL_TYPES: &[(&str, &str)] = &[("aws-iam", "aws-iam"), ("github", "github")];

/// Build the connector for one `[[connectors]]` table (without `type` and `name`).
pub fn build_connector(
    kind: &str,
    name: String,
    table: toml::Table,
) -> Result<Box<dyn Connector>, String> {
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
        other => {
            if let Some((_, feature)) = OPTIONAL_TYPES.iter().find(|(t, _)| *t == other) {
                return Err(format!(
                    "connector type {other:?} is not in this build (built without the cargo feature `{feature}`)"
                ));
            }
            return Err(format!(
                "unknown connector type {other:?} (expected one of: {})",
                CONNECTOR_TYPES.join(", ")
            ));
        }
    })
}
