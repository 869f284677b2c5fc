//! Offline mode on bad input: every error names the file, the line and what is wrong, and
//! nothing panics.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use trustmap_connector::{ConnectorError, ErrorKind};
use trustmap_connector_aws_iam::{AwsIamConfig, AwsIamConnector};
use trustmap_testkit::run::run_connector;

async fn run(
    dir: &std::path::Path,
    config: &str,
) -> (usize, Vec<String>, Result<(), ConnectorError>) {
    let config: AwsIamConfig =
        trustmap_connector::parse_config(toml::from_str(config).unwrap()).unwrap();
    let c = AwsIamConnector::new("aws".into(), config).unwrap();
    let r = run_connector(&c, dir).await;
    (r.obs.len(), r.gaps, r.result)
}

#[tokio::test]
async fn malformed_exports_are_named_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("truncated.json"),
        "{\n  \"UserDetailList\": [\n    {\"UserName\": \"a\",\n",
    )
    .unwrap();
    let (_, _, r) = run(p, "authorization_details_file = \"truncated.json\"").await;
    let e = r.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Data);
    assert!(e.message.contains("truncated.json:4:"), "{}", e.message);

    std::fs::write(
        p.join("no-arn.json"),
        "{\"UserDetailList\": [{\"UserName\": \"a\"}]}",
    )
    .unwrap();
    let (_, _, r) = run(p, "authorization_details_file = \"no-arn.json\"").await;
    let e = r.unwrap_err();
    assert!(e.message.contains("missing field `Arn`"), "{}", e.message);

    std::fs::write(p.join("ok.json"), "{\"RoleDetailList\": [{\"RoleName\": \"r\", \"Arn\": \"arn:aws:iam::123456789012:role/r\", \"AssumeRolePolicyDocument\": \"%7Bnope\"}]}").unwrap();
    std::fs::write(p.join("report.csv"), "name,arn\nx,y\n").unwrap();
    let (_, _, r) = run(
        p,
        "authorization_details_file = \"ok.json\"\ncredential_report_file = \"report.csv\"",
    )
    .await;
    let e = r.unwrap_err();
    assert!(
        e.message.contains("report.csv:1: not a credential report"),
        "{}",
        e.message
    );

    // A broken trust policy is that role's gap; the role itself is still reported.
    let (n, gaps, r) = run(p, "authorization_details_file = \"ok.json\"").await;
    r.unwrap();
    assert_eq!(n, 1);
    assert!(
        gaps[0].contains("role r: trust policy: policy document is not JSON"),
        "{gaps:?}"
    );

    // No ARN to take the account from, and no account_id: say so.
    std::fs::write(p.join("empty.json"), "{}").unwrap();
    let (_, _, r) = run(p, "authorization_details_file = \"empty.json\"").await;
    assert!(r.unwrap_err().message.contains("set account_id"));
    let (_, _, r) = run(p, "authorization_details_file = \"missing.json\"").await;
    let e = r.unwrap_err();
    assert!(
        e.kind == ErrorKind::Config && e.message.contains("missing.json: cannot read"),
        "{}",
        e.message
    );
}

#[test]
fn contradictory_settings_are_refused() {
    for (config, says) in [
        (
            "authorization_details_file = \"a.json\"\norganization = true",
            "cannot be combined",
        ),
        (
            "credential_report_file = \"r.csv\"",
            "needs authorization_details_file",
        ),
        (
            "organization = true\nassume_roles = [\"arn:aws:iam::1:role/x\"]",
            "not both",
        ),
        ("concurrency = 0", "at least 1"),
    ] {
        let c: AwsIamConfig =
            trustmap_connector::parse_config(toml::from_str(config).unwrap()).unwrap();
        let err = AwsIamConnector::new("aws".into(), c)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(says), "{config}: {err}");
    }
}
