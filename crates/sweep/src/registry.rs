//! The connector registry: `type = "..."` in sweep.toml → a connector. Adding a connector is
//! its crate plus one line here.
use trustmap_connector::{parse_config, Connector};

/// The connector types this build knows.
pub const CONNECTOR_TYPES: &[&str] = &["filesystem", "git", "exec", "aws-iam"];

/// Build the connector for one `[[connectors]]` table (without `type` and `name`).
pub fn build_connector(
    kind: &str,
    name: String,
    table: toml::Table,
) -> Result<Box<dyn Connector>, String> {
    Ok(match kind {
        "filesystem" => Box::new(trustmap_connector_filesystem::FilesystemConnector::new(name, parse_config(table)?)),
        "git" => Box::new(trustmap_connector_git::GitConnector::new(name, parse_config(table)?)),
        "exec" => Box::new(trustmap_connector_exec::ExecConnector::new(name, parse_config(table)?)),
        "aws-iam" => Box::new(trustmap_connector_aws_iam::AwsIamConnector::new(name, parse_config(table)?)?),
        "github" => {
            return Err(format!(
                "connector type {kind:?} is not in this build yet; until it is, feed its inventory through an `exec` connector (docs/observations.md)"
            ))
        }
        other => {
            return Err(format!(
                "unknown connector type {other:?} (expected one of: {})",
                CONNECTOR_TYPES.join(", ")
            ))
        }
    })
}
