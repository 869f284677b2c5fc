//! A small partner estate for sweep tests and the demo: partners.toml, an offline inventory
//! (fed through the `exec` connector), git repositories with secrets in history.
use std::path::Path;

use crate::git;

pub use trustmap_rules::aws_key_id_for_account;

pub const PARTNERS: &str = r#"
[[partners]]
id = "acme"
name = "Acme Analytics Ltd"
sponsor = "jane.doe@corp.example"
purpose = "Nightly sales export to Acme BI"
status = "active"
expires = "2027-03-31"
review_every_days = 90
last_reviewed = "2026-10-01"
allowed_scopes = ["aws:s3:GetObject", "github:contents:read"]
allow_subcontractors = false
[partners.match]
aws_accounts = ["111122223333"]
github_orgs = ["acme-analytics"]
name_patterns = ["acme-*"]

[[partners]]
id = "datapipe"
name = "DataPipe LLC"
sponsor = "jane.doe@corp.example"
purpose = "ETL for Acme"
via = "acme"
status = "active"
expires = "2027-03-31"
review_every_days = 90
last_reviewed = "2026-10-01"
[partners.match]
aws_accounts = ["444455556666"]

[[partners]]
id = "oldco"
name = "OldCo Consulting"
sponsor = "sam.roe@corp.example"
purpose = "2025 migration project"
status = "revoked"
expires = "2026-06-30"
[partners.match]
aws_accounts = ["777788889999"]
name_patterns = ["oldco-*"]

[[owners]]
id = "platform"
contact = "platform@corp.example"
[owners.match]
name_patterns = ["ci-*"]
"#;

/// The inventory an AWS export would yield, as observation JSON lines.
pub fn inventory(acme_key: &str, oldco_key: &str) -> String {
    let lines = [
        r#"{"type":"identity","id":"aws:123456789012:user/acme-export","kind":"aws_iam_user","name":"acme-export","provider":"aws","account":"123456789012","created":"2025-01-10","last_used":"2026-11-01","scopes":["aws:s3:GetObject","aws:s3:PutObject"]}"#.to_string(),
        format!(r#"{{"type":"credential","id":"aws:123456789012:access-key/{acme_key}","kind":"aws_access_key","holder":"aws:123456789012:user/acme-export","name":"acme-export key","created":"2025-01-10","last_used":"2026-11-01","identifiers":["aws_access_key_id:{acme_key}"]}}"#),
        r#"{"type":"identity","id":"aws:123456789012:user/oldco-sync","kind":"aws_iam_user","name":"oldco-sync","provider":"aws","account":"123456789012","created":"2025-02-01","last_used":"2026-11-20"}"#.to_string(),
        format!(r#"{{"type":"credential","id":"aws:123456789012:access-key/{oldco_key}","kind":"aws_access_key","holder":"aws:123456789012:user/oldco-sync","created":"2026-02-01","last_used":"2026-11-20","identifiers":["aws_access_key_id:{oldco_key}"]}}"#),
        r#"{"type":"identity","id":"aws:123456789012:role/etl-reader","kind":"aws_iam_role","name":"etl-reader","provider":"aws","account":"123456789012","created":"2026-03-01","last_used":"2026-11-15","scopes":["aws:s3:GetObject"]}"#.to_string(),
        r#"{"type":"edge","from":"aws:123456789012:role/etl-reader","to":"aws-account:444455556666","kind":"trusts"}"#.to_string(),
        r#"{"type":"identity","id":"aws:123456789012:role/mystery","kind":"aws_iam_role","name":"mystery","provider":"aws","account":"123456789012","created":"2026-05-01","last_used":"2026-11-10"}"#.to_string(),
        r#"{"type":"edge","from":"aws:123456789012:role/mystery","to":"aws-account:999900001111","kind":"trusts","conditions":{"sts:ExternalId":"x-1"}}"#.to_string(),
        r#"{"type":"identity","id":"aws:123456789012:role/gha-deploy","kind":"aws_iam_role","name":"ci-gha-deploy","provider":"aws","account":"123456789012","created":"2026-04-01","last_used":"2026-11-21"}"#.to_string(),
        r#"{"type":"edge","from":"aws:123456789012:role/gha-deploy","to":"oidc:token.actions.githubusercontent.com","kind":"trusts","conditions":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}"#.to_string(),
        r#"{"type":"identity","id":"aws:123456789012:user/ci-builder","kind":"aws_iam_user","name":"ci-builder","provider":"aws","account":"123456789012","created":"2024-01-01","last_used":"2026-01-05"}"#.to_string(),
    ];
    lines.join("\n") + "\n"
}

/// The Stripe key leaked in both repositories' history.
pub const STRIPE_KEY: &str = "sk_live_51Hq8ZtKp3LmW9vXc2RnT7yBd";

/// Keys used by the estate: acme's (leaked in history), oldco's (in the inventory only).
pub fn keys() -> (String, String) {
    (
        aws_key_id_for_account(111_122_223_333, 0x5eed_1234),
        aws_key_id_for_account(777_788_889_999, 0x0bad_cafe),
    )
}

/// Write the whole estate under `root` and return the sweep.toml path.
pub fn build(root: &Path) -> std::io::Result<std::path::PathBuf> {
    let (acme_key, oldco_key) = keys();
    std::fs::create_dir_all(root)?;
    std::fs::write(root.join("partners.toml"), PARTNERS)?;
    std::fs::write(
        root.join("inventory.jsonl"),
        inventory(&acme_key, &oldco_key),
    )?;
    let stripe = STRIPE_KEY;
    let payments = root.join("repos/payments");
    git::init(&payments);
    git::commit(
        &payments,
        &[("README.md", "# payments\n")],
        "init",
        "2026-01-05T09:00:00Z",
    );
    git::commit(
        &payments,
        &[(
            "deploy/export.env",
            &format!("# acme nightly export\nAWS_ACCESS_KEY_ID={acme_key}\nSTRIPE_KEY={stripe}\n"),
        )],
        "add export job",
        "2026-02-10T10:00:00Z",
    );
    git::commit(
        &payments,
        &[(
            "deploy/export.env",
            "# acme nightly export\n# keys moved to the vault\n",
        )],
        "remove keys",
        "2026-03-01T10:00:00Z",
    );
    let web = root.join("repos/web");
    git::init(&web);
    git::commit(
        &web,
        &[("config/prod.env", &format!("STRIPE_KEY={stripe}\n"))],
        "prod config",
        "2026-04-01T10:00:00Z",
    );
    let sweep = root.join("sweep.toml");
    std::fs::write(
        &sweep,
        r#"[sweep]
partners = "partners.toml"
dormant_after_days = 90
max_credential_age_days = 365

[[connectors]]
type = "exec"
name = "aws-export"
command = "cat"
args = ["inventory.jsonl"]

[[connectors]]
type = "git"
name = "payments"
path = "repos/payments"

[[connectors]]
type = "git"
name = "web"
path = "repos/web"
history = true
"#,
    )?;
    Ok(sweep)
}

/// An estate of `repos` git repositories with history (each leaked a partner's AWS key and a
/// GitHub token in one commit and removed them in the next), an offline AWS IAM export with
/// roles trusting the partners' accounts, and the inventory above: the shape of an estate a
/// sharded sweep spreads over machines. `extra` is appended to sweep.toml (sinks, a slow
/// connector). Returns the sweep.toml path.
pub fn many_repositories(
    root: &Path,
    repos: usize,
    extra: &str,
) -> std::io::Result<std::path::PathBuf> {
    let (acme_key, oldco_key) = keys();
    std::fs::create_dir_all(root)?;
    std::fs::write(root.join("partners.toml"), PARTNERS)?;
    std::fs::write(
        root.join("inventory.jsonl"),
        inventory(&acme_key, &oldco_key),
    )?;
    std::fs::write(root.join("gaad.json"), authorization_details())?;
    let mut config = String::from(
        "[sweep]\npartners = \"partners.toml\"\ndormant_after_days = 90\nmax_credential_age_days = 365\n\n\
         [[connectors]]\ntype = \"exec\"\nname = \"aws-export\"\ncommand = \"cat\"\nargs = [\"inventory.jsonl\"]\n\n\
         [[connectors]]\ntype = \"aws-iam\"\nname = \"aws-iam-export\"\nauthorization_details_file = \"gaad.json\"\n",
    );
    for i in 0..repos {
        let name = format!("repo-{i:04}");
        let dir = root.join("repos").join(&name);
        git::init(&dir);
        git::commit(
            &dir,
            &[("README.md", &format!("# {name}\n"))],
            "init",
            "2026-01-05T09:00:00Z",
        );
        let account = if i % 3 == 0 {
            777_788_889_999
        } else {
            111_122_223_333
        };
        let key = aws_key_id_for_account(account, 0x1000 + u32::try_from(i).unwrap_or(u32::MAX));
        let token = crate::tokens::github_token(&format!("r{i:04}"));
        git::commit(
            &dir,
            &[(
                "deploy/ci.env",
                &format!("AWS_ACCESS_KEY_ID={key}\nGITHUB_TOKEN={token}\n"),
            )],
            "ci credentials",
            "2026-02-10T10:00:00Z",
        );
        git::commit(
            &dir,
            &[("deploy/ci.env", "# moved to the vault\n")],
            "remove credentials",
            "2026-03-01T10:00:00Z",
        );
        config.push_str(&format!(
            "\n[[connectors]]\ntype = \"git\"\nname = \"{name}\"\npath = \"repos/{name}\"\n"
        ));
    }
    config.push_str(extra);
    let sweep = root.join("sweep.toml");
    std::fs::write(&sweep, config)?;
    Ok(sweep)
}

/// `aws iam get-account-authorization-details` of account 123456789012: roles trusting Acme's
/// and OldCo's accounts (OldCo's contract ended), one unused for a year.
fn authorization_details() -> String {
    let trust = |account: &str| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "sts:AssumeRole"}]})
    };
    let role = |name: &str, account: &str, last_used: &str| {
        serde_json::json!({
            "Path": "/", "RoleName": name, "RoleId": format!("AROA{}", name.len()),
            "Arn": format!("arn:aws:iam::123456789012:role/{name}"), "CreateDate": "2025-01-05T00:00:00Z",
            "AssumeRolePolicyDocument": trust(account), "InstanceProfileList": [], "Tags": [],
            "RolePolicyList": [], "AttachedManagedPolicies": [
                {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}],
            "RoleLastUsed": {"LastUsedDate": last_used, "Region": "eu-west-1"}
        })
    };
    serde_json::json!({
        "UserDetailList": [], "GroupDetailList": [], "Policies": [],
        "RoleDetailList": [
            role("acme-bi-reader", "111122223333", "2026-11-18T00:00:00Z"),
            role("oldco-migration", "777788889999", "2025-10-01T00:00:00Z"),
        ],
    })
    .to_string()
}
