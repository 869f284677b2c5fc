//! What moto cannot show: pagination (moto answers GetAccountAuthorizationDetails in one page
//! and ignores MaxItems on ListAccessKeys), throttling, URL-encoded trust policies, a call the
//! credentials may not make, a trust policy that is not JSON and an account that cannot be
//! entered. A local server replays documented IAM/STS query-protocol responses page by page.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use trustmap_connector_aws_iam::{AwsIamConfig, AwsIamConnector};
use trustmap_model::Observation;
use trustmap_testkit::http::{Request, Response, Server};
use trustmap_testkit::run::{run_connector, Run};

const ME: &str = "210987654321";

fn ok(action: &str, result: &str) -> Response {
    let ns = if matches!(action, "GetCallerIdentity" | "AssumeRole") {
        "https://sts.amazonaws.com/doc/2011-06-15/"
    } else {
        "https://iam.amazonaws.com/doc/2010-05-08/"
    };
    Response::new(
        200,
        "text/xml",
        format!(
            "<{action}Response xmlns=\"{ns}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></{action}Response>"
        ),
    )
}

fn error(status: u16, code: &str, message: &str) -> Response {
    Response::new(
        status,
        "text/xml",
        format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-2</RequestId></ErrorResponse>"),
    )
}

fn user(name: &str) -> String {
    format!("<member><Path>/</Path><UserName>{name}</UserName><UserId>AIDA{name}</UserId><Arn>arn:aws:iam::{ME}:user/{name}</Arn><CreateDate>2024-01-02T03:04:05Z</CreateDate><UserPolicyList/><GroupList/><AttachedManagedPolicies/><Tags/></member>")
}

fn role(name: &str, trust: &str) -> String {
    format!("<member><Path>/</Path><RoleName>{name}</RoleName><RoleId>AROA{name}</RoleId><Arn>arn:aws:iam::{ME}:role/{name}</Arn><CreateDate>2024-01-02T03:04:05Z</CreateDate><AssumeRolePolicyDocument>{trust}</AssumeRolePolicyDocument><InstanceProfileList/><RolePolicyList/><AttachedManagedPolicies/><Tags/><RoleLastUsed><LastUsedDate>2026-10-01T00:00:00Z</LastUsedDate><Region>eu-west-1</Region></RoleLastUsed></member>")
}

/// AWS returns policy documents URL-encoded.
fn encoded(doc: &str) -> String {
    doc.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn gaad_page(marker: Option<&str>) -> Response {
    let (users, roles, next) = match marker {
        None => (
            user("svc-a") + &user("svc-b"),
            String::new(),
            Some("page-2"),
        ),
        Some("page-2") => (
            user("svc-c") + &user("svc-locked"),
            role(
                "partner-reader",
                &encoded(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}"#,
                ),
            ),
            Some("page-3"),
        ),
        Some("page-3") => (String::new(), role("broken-trust", "%7Bnot%20json"), None),
        Some(other) => panic!("unexpected marker {other}"),
    };
    let paging = match next {
        Some(m) => format!("<IsTruncated>true</IsTruncated><Marker>{m}</Marker>"),
        None => "<IsTruncated>false</IsTruncated>".into(),
    };
    ok(
        "GetAccountAuthorizationDetails",
        &format!("<UserDetailList>{users}</UserDetailList><GroupDetailList/><RoleDetailList>{roles}</RoleDetailList><Policies/>{paging}"),
    )
}

/// svc-a has three keys, one per page; svc-locked's keys may not be listed.
fn access_keys(user: &str, marker: Option<&str>) -> Response {
    if user == "svc-locked" {
        return error(
            403,
            "AccessDenied",
            "not authorized to perform iam:ListAccessKeys",
        );
    }
    let count = if user == "svc-a" { 3 } else { 1 };
    let page: usize = marker.map_or(0, |m| m.parse().unwrap());
    let key = format!("AKIAREPLAY{page}{}", user.to_uppercase().replace('-', ""));
    let more = if page + 1 < count {
        format!(
            "<IsTruncated>true</IsTruncated><Marker>{}</Marker>",
            page + 1
        )
    } else {
        "<IsTruncated>false</IsTruncated>".into()
    };
    ok(
        "ListAccessKeys",
        &format!("<AccessKeyMetadata><member><UserName>{user}</UserName><AccessKeyId>{key}</AccessKeyId><Status>Active</Status><CreateDate>2025-01-01T00:00:00Z</CreateDate></member></AccessKeyMetadata>{more}"),
    )
}

struct Estate {
    gaad_calls: AtomicUsize,
    throttled_once: AtomicBool,
}

fn answer(estate: &Estate, req: &Request) -> Response {
    let action = req.form_field("Action").unwrap_or_default();
    let marker = req.form_field("Marker");
    match action.as_str() {
        "GetCallerIdentity" => ok(
            "GetCallerIdentity",
            &format!("<Arn>arn:aws:iam::{ME}:user/auditor</Arn><UserId>AIDAAUDITOR</UserId><Account>{ME}</Account>"),
        ),
        "AssumeRole" => {
            let arn = req.form_field("RoleArn").unwrap_or_default();
            if arn.contains("333333333333") {
                return error(403, "AccessDenied", "not authorized to perform sts:AssumeRole");
            }
            ok("AssumeRole", "<Credentials><AccessKeyId>ASIAREPLAY</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/x/trustmap</Arn><AssumedRoleId>AROAX:trustmap</AssumedRoleId></AssumedRoleUser>")
        }
        "GetAccountAuthorizationDetails" => {
            estate.gaad_calls.fetch_add(1, Ordering::SeqCst);
            // The first call is throttled: the SDK's retry must absorb it.
            if marker.is_none() && !estate.throttled_once.swap(true, Ordering::SeqCst) {
                return error(400, "Throttling", "Rate exceeded");
            }
            gaad_page(marker.as_deref())
        }
        "ListAccessKeys" => access_keys(&req.form_field("UserName").unwrap_or_default(), marker.as_deref()),
        "GetAccessKeyLastUsed" => ok(
            "GetAccessKeyLastUsed",
            "<UserName>x</UserName><AccessKeyLastUsed><LastUsedDate>2026-09-30T12:00:00Z</LastUsedDate><ServiceName>s3</ServiceName><Region>us-east-1</Region></AccessKeyLastUsed>",
        ),
        "ListOpenIDConnectProviders" => ok(
            "ListOpenIDConnectProviders",
            "<OpenIDConnectProviderList/>",
        ),
        "ListSAMLProviders" => ok("ListSAMLProviders", "<SAMLProviderList/>"),
        "GenerateCredentialReport" | "GetCredentialReport" => {
            error(403, "AccessDenied", "not authorized to read the credential report")
        }
        other => error(400, "InvalidAction", &format!("unexpected action {other}")),
    }
}

async fn sweep(config: &str) -> Run {
    let config: AwsIamConfig =
        trustmap_connector::parse_config(toml::from_str(config).unwrap()).unwrap();
    let c = AwsIamConnector::new("aws".into(), config).unwrap();
    run_connector(&c, &std::env::temp_dir()).await
}

fn start() -> (Server, Arc<Estate>) {
    trustmap_testkit::moto::use_test_credentials();
    let estate = Arc::new(Estate {
        gaad_calls: AtomicUsize::new(0),
        throttled_once: AtomicBool::new(false),
    });
    let e = estate.clone();
    (Server::start(move |req| answer(&e, req)), estate)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_throttling_refusals_and_bad_documents() {
    let (server, estate) = start();
    let Run {
        obs, gaps, result, ..
    } = sweep(&format!(
        "endpoint_url = \"{}\"\nmax_attempts = 4\nconcurrency = 3\n",
        server.base
    ))
    .await;
    result.unwrap();
    // Three GAAD pages plus the throttled first attempt.
    assert_eq!(estate.gaad_calls.load(Ordering::SeqCst), 4);
    let users: Vec<&str> = obs
        .iter()
        .filter_map(|o| match o {
            Observation::Identity(i) if i.kind == "aws_iam_user" => Some(i.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(users.len(), 4, "{users:?}");
    // svc-a's three keys came one per page, each with its last use.
    let keys: Vec<_> = obs
        .iter()
        .filter_map(|o| match o {
            Observation::Credential(c) if c.holder.ends_with("user/svc-a") => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(keys
        .iter()
        .all(|k| k.last_used.as_deref() == Some("2026-09-30T12:00:00Z")));
    // The URL-encoded trust policy was decoded into an edge; RoleLastUsed kept.
    let trust = obs.iter().find_map(|o| match o {
        Observation::Edge(e) if e.from.ends_with("role/partner-reader") => Some(e),
        _ => None,
    });
    assert_eq!(trust.unwrap().to, "aws-account:111122223333");
    let reader = obs
        .iter()
        .find_map(|o| match o {
            Observation::Identity(i) if i.name == "partner-reader" => Some(i),
            _ => None,
        })
        .unwrap();
    assert_eq!(reader.last_used.as_deref(), Some("2026-10-01T00:00:00Z"));
    // Refusals and the broken document are gaps that name what was not seen.
    let joined = gaps.join("\n");
    assert!(
        joined.contains("iam:ListAccessKeys svc-locked: AccessDenied"),
        "{joined}"
    );
    assert!(
        joined.contains("role broken-trust: trust policy: policy document is not JSON"),
        "{joined}"
    );
    assert!(
        joined.contains("iam:GenerateCredentialReport: AccessDenied"),
        "{joined}"
    );
    assert!(obs
        .iter()
        .any(|o| matches!(o, Observation::Identity(i) if i.name == "broken-trust")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_that_cannot_be_entered_does_not_hide_the_others() {
    let (server, _) = start();
    let Run {
        obs, gaps, result, ..
    } = sweep(&format!(
        "endpoint_url = \"{}\"\ncredential_report = false\nassume_roles = [\"arn:aws:iam::222222222222:role/Audit\", \"arn:aws:iam::333333333333:role/Audit\"]\n",
        server.base
    ))
    .await;
    result.unwrap();
    assert!(obs.iter().any(
        |o| matches!(o, Observation::Identity(i) if i.id.starts_with("aws:222222222222:user/"))
    ));
    assert!(!obs
        .iter()
        .any(|o| matches!(o, Observation::Identity(i) if i.id.starts_with("aws:333333333333:"))));
    let joined = gaps.join("\n");
    assert!(joined.contains("account 333333333333: not swept: sts:AssumeRole arn:aws:iam::333333333333:role/Audit: AccessDenied"), "{joined}");

    // When no account at all can be entered, the connector fails with the reason.
    let Run { result, .. } = sweep(&format!(
        "endpoint_url = \"{}\"\nassume_roles = [\"arn:aws:iam::333333333333:role/Audit\"]\n",
        server.base
    ))
    .await;
    let err = result.unwrap_err();
    assert!(
        err.message.contains("no account could be swept"),
        "{}",
        err.message
    );
}
