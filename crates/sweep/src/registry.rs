//! The connector registry: `type = "..."` in sweep.toml → a connector. Adding a connector is
//! its crate plus one line here.
use trustmap_connector::{parse_config, Connector};

/// The connector types this build knows.
pub const CONNECTOR_TYPES: &[&str] = &["filesystem", "git", "exec", "aws-iam", "github"];

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
        "aws-iam" => Box::new(trustmap_connector_aws_iam::AwsIamConnector::new(
            name,
            parse_config(table)?,
        )?),
        "github" => Box::new(trustmap_connector_github::GithubConnector::new(
            name,
            parse_config(table)?,
        )?),
        other => {
            return Err(format!(
                "unknown connector type {other:?} (expected one of: {})",
                CONNECTOR_TYPES.join(", ")
            ))
        }
    })
}
