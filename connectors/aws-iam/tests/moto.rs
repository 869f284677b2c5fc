//! The aws-iam connector against a real `moto_server`: the estate is created through the real
//! aws-sdk-iam client, swept live (one account and an Organization entered by AssumeRole), then
//! exported with the real AWS CLI and swept offline; both modes must agree.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::collections::BTreeMap;
use std::path::Path;
use trustmap_connector_aws_iam::{AwsIamConfig, AwsIamConnector};
use trustmap_model::Observation;
use trustmap_testkit::moto::{use_test_credentials, Moto};
use trustmap_testkit::run::{run_connector, Run};

const ACCOUNT: &str = "123456789012";

fn iam_for(conf: &aws_config::SdkConfig) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(conf)
}

async fn sdk(endpoint: &str) -> aws_config::SdkConfig {
    use_test_credentials();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .load()
        .await
}

fn trust(principal: serde_json::Value, condition: Option<serde_json::Value>) -> String {
    let mut st =
        serde_json::json!({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"});
    if let Some(c) = condition {
        st["Condition"] = c;
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": [st]}).to_string()
}

/// The designed estate of the main account.
async fn create_estate(iam: &aws_sdk_iam::Client) {
    iam.create_user()
        .user_name("acme-export")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("contact")
                .value("ops@acme.example")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let k1 = iam
        .create_access_key()
        .user_name("acme-export")
        .send()
        .await
        .unwrap();
    let k2 = iam
        .create_access_key()
        .user_name("acme-export")
        .send()
        .await
        .unwrap();
    iam.update_access_key()
        .user_name("acme-export")
        .access_key_id(k2.access_key().unwrap().access_key_id())
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let _ = k1;
    iam.put_user_policy()
        .user_name("acme-export")
        .policy_name("read-exports")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::exports/*"}]}"#)
        .send()
        .await
        .unwrap();
    iam.create_group()
        .group_name("describers")
        .send()
        .await
        .unwrap();
    iam.put_group_policy()
        .group_name("describers")
        .policy_name("describe")
        .policy_document(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["ec2:Describe*"],"Resource":"*"}}"#)
        .send()
        .await
        .unwrap();
    iam.add_user_to_group()
        .group_name("describers")
        .user_name("acme-export")
        .send()
        .await
        .unwrap();

    iam.create_user()
        .user_name("ci-deployer")
        .send()
        .await
        .unwrap();
    iam.create_access_key()
        .user_name("ci-deployer")
        .send()
        .await
        .unwrap();
    iam.attach_user_policy()
        .user_name("ci-deployer")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();

    iam.create_role()
        .role_name("acme-reader")
        .assume_role_policy_document(trust(
            serde_json::json!({"AWS": "arn:aws:iam::111122223333:root"}),
            Some(serde_json::json!({"StringEquals": {"sts:ExternalId": "acme-7f3a"}})),
        ))
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("datapipe-etl")
        .assume_role_policy_document(trust(
            serde_json::json!({"AWS": "arn:aws:iam::444455556666:role/etl"}),
            None,
        ))
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("datapipe-etl")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    iam.create_open_id_connect_provider()
        .url("https://token.actions.githubusercontent.com")
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("6938fd4d98bab03faadb97b34396831e3780aea1")
        .send()
        .await
        .unwrap();
    let gha = serde_json::json!({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com")},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme-analytics/etl:ref:refs/heads/main"}
    }}]});
    iam.create_role()
        .role_name("gha-deploy")
        .assume_role_policy_document(gha.to_string())
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("lambda-runner")
        .assume_role_policy_document(trust(
            serde_json::json!({"Service": "lambda.amazonaws.com"}),
            None,
        ))
        .send()
        .await
        .unwrap();
}

async fn sweep(config: toml::Table, dir: &Path) -> Run {
    let config: AwsIamConfig = trustmap_connector::parse_config(config).unwrap();
    let c = AwsIamConnector::new("aws".into(), config).unwrap();
    run_connector(&c, dir).await
}

fn identities(obs: &[Observation]) -> BTreeMap<String, &trustmap_model::IdentityObs> {
    obs.iter()
        .filter_map(|o| match o {
            Observation::Identity(i) => Some((i.id.clone(), i)),
            _ => None,
        })
        .collect()
}

fn edges(obs: &[Observation]) -> Vec<(String, String, BTreeMap<String, String>)> {
    let mut v: Vec<_> = obs
        .iter()
        .filter_map(|o| match o {
            Observation::Edge(e) => Some((e.from.clone(), e.to.clone(), e.conditions.clone())),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

fn credentials(obs: &[Observation]) -> Vec<&trustmap_model::CredentialObs> {
    obs.iter()
        .filter_map(|o| match o {
            Observation::Credential(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn table(s: &str) -> toml::Table {
    toml::from_str(s).unwrap()
}

fn aws_cli(endpoint: &str, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("aws")
        .args([
            "--endpoint-url",
            endpoint,
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .args(args)
        .output()
        .expect("the AWS CLI (pip install awscli) exports the estate for the offline test");
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_and_offline_sweeps_of_a_moto_estate_agree() {
    let moto = Moto::start().unwrap();
    let conf = sdk(&moto.endpoint).await;
    let iam = iam_for(&conf);
    create_estate(&iam).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("known.yaml"),
        "- name: DataPipe Cloud\n  source: ['https://datapipe.example/docs']\n  accounts: ['444455556666']\n",
    )
    .unwrap();

    let live = sweep(
        table(&format!(
            "endpoint_url = \"{}\"\nknown_accounts_file = \"known.yaml\"\n",
            moto.endpoint
        )),
        dir.path(),
    )
    .await;
    live.result.as_ref().unwrap();
    assert!(live.gaps.is_empty(), "{:?}", live.gaps);
    let ids = identities(&live.obs);

    // Users with their keys, one inactive; scopes from inline, group and managed policies.
    let acme = ids[&format!("aws:{ACCOUNT}:user/acme-export")];
    assert_eq!(acme.kind, "aws_iam_user");
    assert!(
        acme.scopes.iter().any(|i| i == "aws:s3:GetObject"),
        "{:?}",
        acme.scopes
    );
    assert!(
        acme.scopes.iter().any(|i| i == "aws:ec2:Describe*"),
        "{:?}",
        acme.scopes
    );
    assert!(acme
        .identifiers
        .iter()
        .any(|i| i == "email:ops@acme.example"));
    let creds = credentials(&live.obs);
    let acme_keys: Vec<_> = creds.iter().filter(|c| c.holder == acme.id).collect();
    assert_eq!(acme_keys.len(), 2);
    assert_eq!(acme_keys.iter().filter(|c| c.active).count(), 1);
    for k in &acme_keys {
        assert!(
            k.identifiers[0]
                .to_string()
                .starts_with("aws_access_key_id:AKIA"),
            "{:?}",
            k.identifiers
        );
        assert!(k.created.is_some());
        // Deactivated, then deleted, by the key id IAM returned.
        let key = k.identifiers[0].value();
        let commands = &k.revoke.as_ref().unwrap().commands;
        assert_eq!(commands[0][2], "update-access-key");
        assert!(commands[0].iter().any(|a| a == key), "{commands:?}");
        assert_eq!(commands[1][2], "delete-access-key");
    }
    let ci = ids[&format!("aws:{ACCOUNT}:user/ci-deployer")];
    assert!(ci.scopes.iter().any(|i| i == "aws:*"), "{:?}", ci.scopes);

    // Roles and their trust: ExternalId kept, a specific external role ARN, GitHub OIDC repos,
    // a service trust that is no outsider's door.
    let e = edges(&live.obs);
    let acme_reader = e
        .iter()
        .find(|(f, t, _)| f.ends_with("role/acme-reader") && t == "aws-account:111122223333")
        .unwrap();
    assert_eq!(acme_reader.2["sts:ExternalId"], "acme-7f3a");
    let etl = e
        .iter()
        .find(|(f, t, _)| f.ends_with("role/datapipe-etl") && t == "aws-account:444455556666")
        .unwrap();
    assert!(!etl.2.contains_key("sts:ExternalId"));
    assert_eq!(
        etl.2["aws:PrincipalArn"],
        "arn:aws:iam::444455556666:role/etl"
    );
    let gha = e
        .iter()
        .find(|(f, _, _)| f.ends_with("role/gha-deploy"))
        .unwrap();
    assert_eq!(gha.1, "github-repo:acme-analytics/etl");
    assert!(gha.2["token.actions.githubusercontent.com:sub"].contains("refs/heads/main"));
    assert!(!e.iter().any(|(f, _, _)| f.ends_with("role/lambda-runner")));
    let lambda = ids[&format!("aws:{ACCOUNT}:role/lambda-runner")];
    assert_eq!(lambda.tags["trusted_services"], "lambda.amazonaws.com");
    let datapipe = ids[&format!("aws:{ACCOUNT}:role/datapipe-etl")];
    assert_eq!(datapipe.tags.get("admin").map(String::as_str), Some("true"));
    // The known-vendor hint names the account, and says it is a hint.
    let vendor = live
        .obs
        .iter()
        .find_map(|o| match o {
            Observation::ExternalPrincipal(p) if p.id == "aws-account:444455556666" => Some(p),
            _ => None,
        })
        .unwrap();
    assert!(
        vendor.name.contains("probably DataPipe Cloud"),
        "{}",
        vendor.name
    );
    let gh_repo = live
        .obs
        .iter()
        .find_map(|o| match o {
            Observation::ExternalPrincipal(p) if p.id == "github-repo:acme-analytics/etl" => {
                Some(p)
            }
            _ => None,
        })
        .unwrap();
    assert!(gh_repo
        .identifiers
        .iter()
        .any(|i| i == "github_org:acme-analytics"));

    // Offline: the real AWS CLI's export of the same estate gives the same identities and trust.
    std::fs::write(
        dir.path().join("gaad.json"),
        aws_cli(
            &moto.endpoint,
            &["iam", "get-account-authorization-details"],
        ),
    )
    .unwrap();
    aws_cli(&moto.endpoint, &["iam", "generate-credential-report"]);
    let report: serde_json::Value =
        serde_json::from_slice(&aws_cli(&moto.endpoint, &["iam", "get-credential-report"]))
            .unwrap();
    use base64::Engine as _;
    let csv = base64::engine::general_purpose::STANDARD
        .decode(report["Content"].as_str().unwrap())
        .unwrap();
    std::fs::write(dir.path().join("report.csv"), csv).unwrap();
    let offline = sweep(
        table(
            "authorization_details_file = \"gaad.json\"\ncredential_report_file = \"report.csv\"\nknown_accounts_file = \"known.yaml\"\n",
        ),
        dir.path(),
    )
    .await;
    offline.result.as_ref().unwrap();
    assert!(offline.gaps.is_empty(), "{:?}", offline.gaps);
    let off_ids = identities(&offline.obs);
    assert_eq!(
        ids.keys().collect::<Vec<_>>(),
        off_ids.keys().collect::<Vec<_>>()
    );
    for (id, i) in &ids {
        assert_eq!(i.scopes, off_ids[id].scopes, "{id}");
        assert_eq!(
            i.tags.get("trusted_services"),
            off_ids[id].tags.get("trusted_services"),
            "{id}"
        );
    }
    assert_eq!(edges(&offline.obs), e);
    // Exports carry no key ids: the report's key slots stand in, with the same states.
    let off_creds = credentials(&offline.obs);
    let by_holder = |c: &[&trustmap_model::CredentialObs]| {
        let mut m: BTreeMap<String, Vec<bool>> = BTreeMap::new();
        for k in c {
            m.entry(k.holder.clone()).or_default().push(k.active);
        }
        m.values_mut().for_each(|v| v.sort());
        m
    };
    assert_eq!(by_holder(&creds), by_holder(&off_creds));
    drop(moto);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_is_swept_account_by_account() {
    let moto = Moto::start().unwrap();
    let conf = sdk(&moto.endpoint).await;
    let org = aws_sdk_organizations::Client::new(&conf);
    org.create_organization().send().await.unwrap();
    let mut members = Vec::new();
    for name in ["payments", "analytics"] {
        let created = org
            .create_account()
            .account_name(name)
            .email(format!("{name}@corp.example"))
            .send()
            .await
            .unwrap();
        members.push(
            created
                .create_account_status()
                .unwrap()
                .account_id()
                .unwrap()
                .to_string(),
        );
    }
    // Each member account gets a machine user of its own, created through an assumed role.
    let sts = aws_sdk_sts::Client::new(&conf);
    for (i, acct) in members.iter().enumerate() {
        let assumed = sts
            .assume_role()
            .role_arn(format!(
                "arn:aws:iam::{acct}:role/OrganizationAccountAccessRole"
            ))
            .role_session_name("setup")
            .send()
            .await
            .unwrap();
        let c = assumed.credentials().unwrap();
        let member_conf = conf
            .to_builder()
            .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
                aws_sdk_sts::config::Credentials::new(
                    c.access_key_id(),
                    c.secret_access_key(),
                    Some(c.session_token().to_string()),
                    None,
                    "test",
                ),
            ))
            .build();
        let iam = iam_for(&member_conf);
        iam.create_user()
            .user_name(format!("bot-{i}"))
            .send()
            .await
            .unwrap();
        iam.create_access_key()
            .user_name(format!("bot-{i}"))
            .send()
            .await
            .unwrap();
    }
    iam_for(&conf)
        .create_user()
        .user_name("root-bot")
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let run = sweep(
        table(&format!(
            "endpoint_url = \"{}\"\norganization = true\naccount_concurrency = 2\n",
            moto.endpoint
        )),
        dir.path(),
    )
    .await;
    run.result.as_ref().unwrap();
    assert!(run.gaps.is_empty(), "{:?}", run.gaps);
    let ids = identities(&run.obs);
    assert!(
        ids.contains_key(&format!("aws:{ACCOUNT}:user/root-bot")),
        "{:?}",
        ids.keys()
    );
    for (i, acct) in members.iter().enumerate() {
        let id = format!("aws:{acct}:user/bot-{i}");
        assert!(ids.contains_key(&id), "{id} missing from {:?}", ids.keys());
        assert_eq!(
            credentials(&run.obs)
                .iter()
                .filter(|c| c.holder == id)
                .count(),
            1
        );
    }

    // Sharded over 3: each account is entered by exactly one shard, every shard declares the
    // whole Organization its own, and together they saw what the whole sweep saw.
    let config: AwsIamConfig = trustmap_connector::parse_config(table(&format!(
        "endpoint_url = \"{}\"\norganization = true\n",
        moto.endpoint
    )))
    .unwrap();
    let c = AwsIamConnector::new("aws".into(), config).unwrap();
    assert!(trustmap_connector::Connector::splits_into_units(&c));
    let mut union = BTreeMap::new();
    let mut entered = 0;
    for index in 0..3 {
        let part = trustmap_testkit::run::run_sliced(&c, dir.path(), index, 3).await;
        part.result.as_ref().unwrap();
        assert_eq!(part.estate.len(), 3, "{:?}", part.estate);
        let accounts: std::collections::BTreeSet<String> = identities(&part.obs)
            .keys()
            .map(|id| id.split(':').nth(1).unwrap().to_string())
            .collect();
        for a in &accounts {
            let unit = trustmap_connector_aws_iam::account_unit(a);
            assert!(
                trustmap_connector::Slice { index, count: 3 }.takes(&unit),
                "{a} in shard {index}"
            );
        }
        entered += accounts.len();
        for (id, _) in identities(&part.obs) {
            assert!(
                union.insert(id.clone(), ()).is_none(),
                "{id} seen by two shards"
            );
        }
    }
    assert_eq!(entered, 3);
    assert_eq!(
        union.keys().collect::<Vec<_>>(),
        ids.keys().collect::<Vec<_>>()
    );

    // A malformed role ARN is a configuration error naming the field, before any call.
    let bad: AwsIamConfig = trustmap_connector::parse_config(table(
        "assume_roles = [\"arn:aws:iam::210987654321:role/Audit\", \"not-an-arn\"]",
    ))
    .unwrap();
    let err = AwsIamConnector::new("aws".into(), bad)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("assume_roles") && err.contains("not-an-arn"),
        "{err}"
    );
    drop(moto);
}
