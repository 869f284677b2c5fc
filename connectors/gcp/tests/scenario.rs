//! The gcp connector against a stateful local Google (testkit::gcp): the designed organisation
//! and Workspace through reqwest, with paging, one quota error and refusals; the gcloud
//! export of the same estate gives the same observations; broken files and bad credentials
//! end the way they should.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
#![allow(clippy::too_many_lines)] // a scenario test reads as one story
use trustmap_connector::ErrorKind;
use trustmap_connector_gcp::{GcpConfig, GcpConnector};
use trustmap_model::{EdgeKind, Identifier, IdentityObs, Observation};
use trustmap_testkit::gcp::{self, Behaviour};
use trustmap_testkit::run::{run_connector, Run};

fn connector(config: &str) -> GcpConnector {
    let cfg: GcpConfig = toml::from_str(config).unwrap();
    GcpConnector::new("gcp".into(), cfg).unwrap()
}

fn live_config(base: &str) -> String {
    format!(
        "organization = \"{}\"\nworkspace_customer = \"my_customer\"\ntoken_env = \"TRUSTMAP_TEST_GOOGLE_TOKEN\"\niam_url = \"{base}\"\nresource_manager_url = \"{base}\"\nasset_url = \"{base}\"\nadmin_url = \"{base}\"\nmax_wait_seconds = 5\n",
        gcp::ORG
    )
}

async fn sweep(config: &str, dir: &std::path::Path) -> Run {
    std::env::set_var("TRUSTMAP_TEST_GOOGLE_TOKEN", gcp::TOKEN);
    run_connector(&connector(config), dir).await
}

fn identity<'a>(obs: &'a [Observation], id: &str) -> &'a IdentityObs {
    obs.iter()
        .find_map(|o| match o {
            Observation::Identity(i) if i.id == id => Some(i),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no identity {id} in {:#?}", ids(obs)))
}

fn ids(obs: &[Observation]) -> Vec<String> {
    let mut v: Vec<String> = obs
        .iter()
        .map(|o| match o {
            Observation::Identity(i) => format!("identity {}", i.id),
            Observation::Credential(c) => format!("credential {}", c.id),
            Observation::ExternalPrincipal(e) => format!("external {}", e.id),
            Observation::Edge(e) => format!("edge {} -{}-> {}", e.from, e.kind.as_str(), e.to),
            Observation::Secret(s) => format!("secret {}", s.path),
        })
        .collect();
    v.sort();
    v
}

const DEPLOYER_NODE: &str = "gcp:corp-prod:sa/deployer@corp-prod.iam.gserviceaccount.com";
const CONTRACTOR: &str = "gcp:member/user:contractor@oldco.example";

/// What the designed estate must give, in the sorted `ids` form.
fn expected() -> Vec<String> {
    let mut v: Vec<String> = [
        "credential gcp:corp-data:sa/legacy-loader@corp-data.iam.gserviceaccount.com/key/aaaabbbbccccddddeeeeffff0000111122223333",
        "credential gcp:corp-prod:sa/acme-export@corp-prod.iam.gserviceaccount.com/key/1111222233334444555566667777888899990000",
        "credential gcp:corp-prod:sa/deployer@corp-prod.iam.gserviceaccount.com/key/0123456789abcdef0123456789abcdef01234567",
        "edge gcp:corp-prod:pool/aws-pool -trusts-> aws-account:444455556666",
        "edge gcp:corp-prod:pool/github-pool -trusts-> github-repo:acme-analytics/pipelines",
        "edge gcp:corp-prod:pool/open-pool -trusts-> oidc:gitlab.com",
        "edge gcp:member/allUsers -trusts-> gcp:allUsers",
        "edge gcp:member/group:auditors@datapipe.example -trusts-> domain:datapipe.example",
        "edge gcp:member/serviceAccount:etl@acme-analytics-prod.iam.gserviceaccount.com -trusts-> gcp-project:acme-analytics-prod",
        "edge gcp:member/user:analyst@acme.example -trusts-> domain:acme.example",
        "edge gcp:member/user:contractor@oldco.example -can_assume-> gcp:corp-prod:sa/deployer@corp-prod.iam.gserviceaccount.com",
        "edge gcp:member/user:contractor@oldco.example -trusts-> domain:oldco.example",
        "edge gcp:member/user:someone@gmail.com -trusts-> domain:gmail.com",
        "edge workspace:corp.example:oauth/1234567890-abc.apps.googleusercontent.com -installed_by-> oauth-client:1234567890-abc.apps.googleusercontent.com",
        "edge workspace:corp.example:oauth/555000111-shady.apps.googleusercontent.com -installed_by-> oauth-client:555000111-shady.apps.googleusercontent.com",
        "external aws-account:444455556666",
        "external domain:acme.example",
        "external domain:datapipe.example",
        "external domain:gmail.com",
        "external domain:oldco.example",
        "external gcp-project:acme-analytics-prod",
        "external gcp:allUsers",
        "external github-repo:acme-analytics/pipelines",
        "external oauth-client:1234567890-abc.apps.googleusercontent.com",
        "external oauth-client:555000111-shady.apps.googleusercontent.com",
        "external oidc:gitlab.com",
        "identity gcp:corp-prod:pool/aws-pool",
        "identity gcp:corp-prod:pool/github-pool",
        "identity gcp:corp-prod:pool/open-pool",
        "identity gcp:corp-data:sa/legacy-loader@corp-data.iam.gserviceaccount.com",
        "identity gcp:corp-prod:sa/acme-export@corp-prod.iam.gserviceaccount.com",
        "identity gcp:corp-prod:sa/deployer@corp-prod.iam.gserviceaccount.com",
        "identity gcp:member/allUsers",
        "identity gcp:member/group:auditors@datapipe.example",
        "identity gcp:member/serviceAccount:etl@acme-analytics-prod.iam.gserviceaccount.com",
        "identity gcp:member/user:analyst@acme.example",
        "identity gcp:member/user:contractor@oldco.example",
        "identity gcp:member/user:someone@gmail.com",
        "identity workspace:corp.example:oauth/1234567890-abc.apps.googleusercontent.com",
        "identity workspace:corp.example:oauth/555000111-shady.apps.googleusercontent.com",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    v.sort();
    v
}

#[tokio::test]
async fn the_designed_organisation_through_googles_apis() {
    let server = gcp::start(
        gcp::estate(),
        Behaviour {
            throttle_once: true,
            ..Behaviour::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let run = sweep(&live_config(&server.base), dir.path()).await;
    run.result.as_ref().unwrap();
    assert!(run.gaps.is_empty(), "{:?}", run.gaps);
    // Staff, Google's agents and default accounts, deleted members, the system-managed key
    // and Google's own OAuth client are not there.
    assert_eq!(ids(&run.obs), expected());

    // Paging: two projects one per page, the asset search two per page with one quota error
    // waited out; the throttle is counted in the note.
    let reqs = server.requests();
    let searches = reqs
        .iter()
        .filter(|r| r.path.starts_with("/v3/projects:search"))
        .count();
    assert_eq!(searches, 2, "one page per project");
    let limited = reqs.iter().filter(|r| r.answered == 429).count();
    assert_eq!(limited, 1);
    assert!(
        run.notes.iter().any(|n| n.ends_with("1 throttled")),
        "{:?}",
        run.notes
    );
    // Keys are asked for user-managed only, with the token, and nothing is written.
    assert!(reqs
        .iter()
        .filter(|r| r.path.contains("/keys"))
        .all(|r| r.path.contains("keyTypes=USER_MANAGED")));
    assert!(reqs
        .iter()
        .all(|r| r.method == "GET" || r.path.ends_with(":getIamPolicy")));
    // Organisation mode reads policies once through Cloud Asset, not project by project.
    assert!(!reqs.iter().any(|r| r.path.ends_with(":getIamPolicy")));

    // Impersonation: the revoked partner's contractor can act as the owner-level deployer, so
    // it holds owner through it.
    let c = identity(&run.obs, CONTRACTOR);
    assert!(
        c.scopes.contains(&"gcp:roles/owner".to_string()),
        "{:?}",
        c.scopes
    );
    assert_eq!(c.tags["acts_as"], gcp::DEPLOYER);
    assert_eq!(
        c.identifiers,
        vec![Identifier::Email("contractor@oldco.example".into())]
    );
    let revoke = c.revoke.as_ref().unwrap();
    assert!(revoke.commands.iter().any(|cmd| cmd.join(" ")
        == "gcloud iam service-accounts remove-iam-policy-binding deployer@corp-prod.iam.gserviceaccount.com --member=user:contractor@oldco.example --role=roles/iam.serviceAccountTokenCreator"));
    assert!(revoke.commands.iter().any(|cmd| cmd.join(" ")
        == "gcloud projects remove-iam-policy-binding corp-prod --member=user:contractor@oldco.example --role=roles/viewer"));

    // Another project's account carries that project; the conditional org binding keeps its
    // condition and its removal takes `--all`.
    let etl = identity(
        &run.obs,
        "gcp:member/serviceAccount:etl@acme-analytics-prod.iam.gserviceaccount.com",
    );
    assert!(etl
        .identifiers
        .contains(&Identifier::GcpProject(gcp::ACME_PROJECT.into())));
    assert_eq!(etl.kind, "gcp_external_service_account");
    let auditors = identity(&run.obs, "gcp:member/group:auditors@datapipe.example");
    assert!(auditors.tags["conditions"].contains("request.time <"));
    assert!(auditors.revoke.as_ref().unwrap().commands[0].ends_with(&["--all".to_string()]));
    assert_eq!(
        auditors.account.as_deref(),
        Some("organizations/112233445566")
    );

    // Keys: the old one with no expiry, disabled with its disabled account.
    let key = run
        .obs
        .iter()
        .find_map(|o| match o {
            Observation::Credential(c) if c.id.ends_with(gcp::DEPLOYER_KEY) => Some(c),
            _ => None,
        })
        .unwrap();
    assert_eq!(key.holder, DEPLOYER_NODE);
    assert_eq!(key.expires, None, "9999-12-31 is no expiry");
    assert_eq!(key.created.as_deref(), Some("2024-01-10T09:00:00Z"));
    assert_eq!(
        key.identifiers,
        vec![Identifier::GcpKey(gcp::DEPLOYER_KEY.into())]
    );
    assert!(key.active);
    let legacy = run
        .obs
        .iter()
        .find_map(|o| match o {
            Observation::Credential(c) if c.holder.contains("legacy-loader") => Some(c),
            _ => None,
        })
        .unwrap();
    assert!(!legacy.active, "a key of a disabled account grants nothing");

    // Federation: the GitHub pool narrowed to one repository; the GitLab pool open (no
    // condition, every identity of the pool); the AWS pool trusts the account.
    let edge = |from: &str, to: &str| {
        run.obs
            .iter()
            .find_map(|o| match o {
                Observation::Edge(e)
                    if e.from == from && e.to == to && e.kind == EdgeKind::Trusts =>
                {
                    Some(e.conditions.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no edge {from} -> {to}"))
    };
    let gh = edge(
        "gcp:corp-prod:pool/github-pool",
        "github-repo:acme-analytics/pipelines",
    );
    assert_eq!(gh["attribute.repository"], "acme-analytics/pipelines");
    assert_eq!(
        gh["attribute_condition"],
        "assertion.repository_owner == 'acme-analytics'"
    );
    let open = edge("gcp:corp-prod:pool/open-pool", "oidc:gitlab.com");
    assert!(
        !open
            .keys()
            .any(|k| k.ends_with(":sub") || k.starts_with("attribute")),
        "{open:?}"
    );
    edge("gcp:corp-prod:pool/aws-pool", "aws-account:444455556666");

    // Workspace: one app per client id, users counted.
    let acme = identity(
        &run.obs,
        &format!("workspace:corp.example:oauth/{}", gcp::ACME_CLIENT),
    );
    assert_eq!(acme.tags["users"], "2");
    assert_eq!(
        acme.identifiers,
        vec![Identifier::OauthClient(gcp::ACME_CLIENT.into())]
    );
    assert_eq!(acme.name, "Acme BI Connector");
}

#[tokio::test]
async fn the_gcloud_export_gives_what_the_apis_give() {
    let server = gcp::start(gcp::estate(), Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let live = sweep(&live_config(&server.base), dir.path()).await;
    live.result.as_ref().unwrap();
    let files = gcp::write_exports(&gcp::estate(), &dir.path().join("export")).unwrap();
    let offline = sweep(
        &format!(
            "organization = \"{}\"\nworkspace_domain = \"corp.example\"\n{files}",
            gcp::ORG
        ),
        dir.path(),
    )
    .await;
    offline.result.as_ref().unwrap();
    assert!(offline.gaps.is_empty(), "{:?}", offline.gaps);
    assert_eq!(ids(&offline.obs), ids(&live.obs));
    // Offline, projects are known by id from the accounts and by number from the policies;
    // both name the same pools and members.
    let strip = |obs: &[Observation]| -> Vec<(String, Vec<String>)> {
        let mut v: Vec<_> = obs
            .iter()
            .filter_map(|o| match o {
                Observation::Identity(i) => Some((i.id.clone(), i.scopes.clone())),
                _ => None,
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(strip(&offline.obs), strip(&live.obs));
}

#[tokio::test]
async fn refusals_are_gaps_that_name_the_permission_and_the_rest_is_read() {
    let server = gcp::start(
        gcp::estate(),
        Behaviour {
            refuse_keys_in: Some(gcp::DATA.into()),
            ..Behaviour::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let run = sweep(&live_config(&server.base), dir.path()).await;
    run.result.as_ref().unwrap();
    assert_eq!(run.gaps.len(), 1, "{:?}", run.gaps);
    let gap = &run.gaps[0];
    assert!(
        gap.contains("legacy-loader@corp-data.iam.gserviceaccount.com: keys"),
        "{gap}"
    );
    assert!(gap.contains("HTTP 403: PERMISSION_DENIED"), "{gap}");
    assert!(gap.contains("(needs iam.serviceAccountKeys.list)"), "{gap}");
    assert!(!gap.contains(gcp::TOKEN));
    // Everything else is still there.
    let mut want = expected();
    want.retain(|i| !i.contains("legacy-loader@corp-data.iam.gserviceaccount.com/key/"));
    assert_eq!(ids(&run.obs), want);
}

#[tokio::test]
async fn a_server_that_repeats_its_page_token_stops_with_a_gap() {
    let server = gcp::start(
        gcp::estate(),
        Behaviour {
            loop_projects: true,
            ..Behaviour::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let run = sweep(&live_config(&server.base), dir.path()).await;
    run.result.as_ref().unwrap();
    assert!(
        run.gaps
            .iter()
            .any(|g| g
                .contains("/v3/projects:search: stopped paging: the server repeated a page token")),
        "{:?}",
        run.gaps
    );
    let searches = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v3/projects:search"))
        .count();
    assert_eq!(searches, 2);
}

#[tokio::test]
async fn a_wrong_token_stops_the_connector_without_showing_it() {
    let server = gcp::start(gcp::estate(), Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("TRUSTMAP_TEST_GOOGLE_WRONG", "ya29.not-the-right-token");
    let config = live_config(&server.base)
        .replace("TRUSTMAP_TEST_GOOGLE_TOKEN", "TRUSTMAP_TEST_GOOGLE_WRONG");
    let run = run_connector(&connector(&config), dir.path()).await;
    let err = run.result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{}", err.message);
    assert!(
        err.message.contains("HTTP 401: UNAUTHENTICATED"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("ya29"));
    // One refused call, not a retry storm.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_unreachable_google_fails_the_connector() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let run = sweep(
        &live_config(&base).replace("max_wait_seconds = 5", "max_wait_seconds = 1"),
        dir.path(),
    )
    .await;
    let err = run.result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{}", err.message);
    assert!(err.message.contains("cannot connect"), "{}", err.message);
}

#[tokio::test]
async fn a_broken_export_names_the_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let files = gcp::write_exports(&gcp::estate(), &dir.path().join("export")).unwrap();
    std::fs::write(
        dir.path().join("export/sa-keys.json"),
        "[\n  {\"name\": \"projects/p/serviceAccounts/a@p.iam.gserviceaccount.com/keys/k\",\n   \"disabled\": \"no\"}\n]\n",
    )
    .unwrap();
    let run = sweep(
        &format!("organization = \"{}\"\n{files}", gcp::ORG),
        dir.path(),
    )
    .await;
    let err = run.result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Data);
    assert!(
        err.message.contains("export/sa-keys.json:3:"),
        "{}",
        err.message
    );
    assert!(
        err.message
            .contains("invalid type: string \"no\", expected a boolean"),
        "{}",
        err.message
    );

    // A truncated export is an error naming where it ends.
    let full = std::fs::read_to_string(dir.path().join("export/iam-policies.json")).unwrap();
    gcp::write_exports(&gcp::estate(), &dir.path().join("export")).unwrap();
    std::fs::write(
        dir.path().join("export/iam-policies.json"),
        &full[..full.len() / 2],
    )
    .unwrap();
    let run = sweep(
        &format!("organization = \"{}\"\n{files}", gcp::ORG),
        dir.path(),
    )
    .await;
    let err = run.result.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Data);
    assert!(
        err.message.contains("export/iam-policies.json:"),
        "{}",
        err.message
    );
    assert!(err.message.contains("EOF while parsing"), "{}", err.message);

    // A member kind this version does not know is a gap, and the rest of the binding is read.
    let odd = full.replacen(
        "\"user:analyst@acme.example\"",
        "\"user:analyst@acme.example\", \"futureKind:x@y\"",
        1,
    );
    assert_ne!(odd, full);
    std::fs::write(dir.path().join("export/iam-policies.json"), odd).unwrap();
    let run = sweep(
        &format!("organization = \"{}\"\n{files}", gcp::ORG),
        dir.path(),
    )
    .await;
    run.result.as_ref().unwrap();
    assert_eq!(
        run.gaps,
        ["IAM policies: 1 binding member(s) of unknown kind `futureKind:` not read"]
    );
    identity(&run.obs, "gcp:member/user:analyst@acme.example");

    // Without the providers file, pools are seen but whom they trust is a gap.
    let partial = files
        .lines()
        .filter(|l| !l.starts_with("workload_identity_providers_file"))
        .collect::<Vec<_>>()
        .join("\n");
    gcp::write_exports(&gcp::estate(), &dir.path().join("export")).unwrap();
    let run = sweep(
        &format!("organization = \"{}\"\n{partial}\n", gcp::ORG),
        dir.path(),
    )
    .await;
    run.result.as_ref().unwrap();
    assert!(
        run.gaps
            .iter()
            .any(|g| g.contains("workload_identity_providers_file")),
        "{:?}",
        run.gaps
    );
    assert!(!ids(&run.obs)
        .iter()
        .any(|i| i.contains("pool/") && i.starts_with("edge")));
}

#[test]
fn bad_configurations_are_refused_with_the_reason() {
    let bad = |t: &str| {
        let cfg: GcpConfig = toml::from_str(t).unwrap();
        GcpConnector::new("g".into(), cfg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(bad("organization = \"acme\"\ntoken_env = \"T\"").contains("is not an organisation id"));
    assert!(bad("token_env = \"T\"").contains("name an organization or projects"));
    assert!(
        bad("projects = [\"p\"]\ntoken_env = \"T\"\niam_url = \"ftp://x\"").contains("iam_url")
    );
    assert!(
        bad("projects = [\"p\"]\nworkspace_admin = \"admin@corp.example\"")
            .contains("needs credentials_file")
    );
    assert!(
        bad("projects = [\"p\"]\ntoken_env = \"T\"\niam_policies_file = \"x.json\"")
            .contains("offline")
    );
    let unknown: Result<GcpConfig, _> = toml::from_str("projects = [\"p\"]\nregion = \"eu\"");
    assert!(unknown
        .unwrap_err()
        .to_string()
        .contains("unknown field `region`"));
}
