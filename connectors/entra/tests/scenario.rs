//! The entra connector against a stateful local Microsoft Graph (testkit::entra): the designed
//! tenant through reqwest, paging at two per page with one 429, `$select` honoured; the export
//! of the same tenant gives the same observations; refusals, bad credentials, hostile paging
//! and broken export files each end the way they should.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
#![allow(clippy::too_many_lines)] // a scenario test reads as one story
use serde_json::json;
use trustmap_connector::ErrorKind;
use trustmap_connector_entra::{EntraConfig, EntraConnector};
use trustmap_model::{Identifier, IdentityObs, Observation};
use trustmap_testkit::entra::{self, Behaviour, Tenant};
use trustmap_testkit::http::{Response, Server};
use trustmap_testkit::run::{run_connector, Run};

fn connector(config: &str) -> EntraConnector {
    let cfg: EntraConfig = toml::from_str(config).unwrap();
    EntraConnector::new("entra".into(), cfg).unwrap()
}

fn live_config(api: &str) -> String {
    format!(
        "tenant_id = \"{}\"\napi_url = \"{api}\"\ntoken_env = \"TRUSTMAP_TEST_GRAPH_TOKEN\"\nmax_wait_seconds = 5\n",
        entra::TENANT
    )
}

async fn sweep(config: &str, dir: &std::path::Path) -> Run {
    std::env::set_var("TRUSTMAP_TEST_GRAPH_TOKEN", entra::TOKEN);
    run_connector(&connector(config), dir).await
}

fn identity<'a>(obs: &'a [Observation], id: &str) -> &'a IdentityObs {
    obs.iter()
        .find_map(|o| match o {
            Observation::Identity(i) if i.id == id => Some(i),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no identity {id}"))
}

fn ids(obs: &[Observation]) -> Vec<String> {
    obs.iter()
        .map(|o| match o {
            Observation::Identity(i) => format!("identity {}", i.id),
            Observation::Credential(c) => format!("credential {}", c.id),
            Observation::ExternalPrincipal(e) => format!("external {}", e.id),
            Observation::Edge(e) => format!("edge {} -{}-> {}", e.from, e.kind.as_str(), e.to),
            Observation::Secret(s) => format!("secret {}", s.path),
        })
        .collect()
}

const T: &str = entra::TENANT;

#[tokio::test]
async fn the_designed_tenant_through_graph() {
    let server = entra::start(Tenant::scenario(), Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let run = sweep(&live_config(&server.base), dir.path()).await;
    run.result.as_ref().unwrap();
    assert!(run.gaps.is_empty(), "{:?}", run.gaps);

    let mut got = ids(&run.obs);
    got.sort();
    let mut want: Vec<String> = [
        format!("identity entra:{T}:sp/{}", entra::ACME_APP),
        format!("external entra_tenant:{}", entra::ACME_TENANT),
        format!("edge entra:{T}:sp/{} -installed_by-> entra_tenant:{}", entra::ACME_APP, entra::ACME_TENANT),
        format!("identity entra:{T}:sp/b2b2b2b2-0000-4000-8000-0000000001dc"),
        format!("external entra_tenant:{}", entra::OLDCO_TENANT),
        format!("edge entra:{T}:sp/b2b2b2b2-0000-4000-8000-0000000001dc -installed_by-> entra_tenant:{}", entra::OLDCO_TENANT),
        format!("identity entra:{T}:sp/b3b3b3b3-0000-4000-8000-0000000001dc"),
        format!("edge entra:{T}:sp/b3b3b3b3-0000-4000-8000-0000000001dc -installed_by-> entra_tenant:{}", entra::OLDCO_TENANT),
        format!("identity entra:{T}:sp/c4c4c4c4-0000-4000-8000-00000000011e"),
        format!("external entra_tenant:{}", entra::LEGACY_TENANT),
        format!("edge entra:{T}:sp/c4c4c4c4-0000-4000-8000-00000000011e -installed_by-> entra_tenant:{}", entra::LEGACY_TENANT),
        format!("identity entra:{T}:sp/d5d5d5d5-0000-4000-8000-00000000da7a"),
        format!("external entra_tenant:{}", entra::DATAPIPE_TENANT),
        format!("edge entra:{T}:sp/d5d5d5d5-0000-4000-8000-00000000da7a -installed_by-> entra_tenant:{}", entra::DATAPIPE_TENANT),
        format!("identity entra:{T}:sp/e6e6e6e6-0000-4000-8000-000000005bad"),
        format!("external entra_tenant:{}", entra::SHADY_TENANT),
        format!("edge entra:{T}:sp/e6e6e6e6-0000-4000-8000-000000005bad -installed_by-> entra_tenant:{}", entra::SHADY_TENANT),
        // An unknown tenant's app holding nothing is an identity, not a door.
        format!("identity entra:{T}:sp/f7f7f7f7-0000-4000-8000-00000000a1e7"),
        format!("identity entra:{T}:sp/33333333-0000-4000-8000-0000000000f3"),
        format!("identity entra:{T}:app/11111111-0000-4000-8000-0000000000d1"),
        format!("credential entra:{T}:app/11111111-0000-4000-8000-0000000000d1/secret/k-deployer-1"),
        "external github-repo:acme-analytics/etl".into(),
        format!("edge entra:{T}:app/11111111-0000-4000-8000-0000000000d1 -trusts-> github-repo:acme-analytics/etl"),
        "external github-repo:corp/infra".into(),
        format!("edge entra:{T}:app/11111111-0000-4000-8000-0000000000d1 -trusts-> github-repo:corp/infra"),
        format!("identity entra:{T}:app/22222222-0000-4000-8000-0000000000e2"),
        format!("credential entra:{T}:app/22222222-0000-4000-8000-0000000000e2/certificate/k-report-cert"),
        "external oidc:ci.example.dev".into(),
        format!("edge entra:{T}:app/22222222-0000-4000-8000-0000000000e2 -trusts-> oidc:ci.example.dev"),
    ]
    .into_iter()
    .collect();
    want.sort();
    assert_eq!(
        got, want,
        "Microsoft's own apps are not emitted; one identity per own app"
    );

    let acme = identity(&run.obs, &format!("entra:{T}:sp/{}", entra::ACME_APP));
    assert_eq!(acme.kind, "entra_service_principal");
    assert_eq!(
        acme.scopes,
        vec![
            "entra:Microsoft Graph:Mail.ReadWrite",
            "entra:Microsoft Graph:User.Read.All"
        ],
        "app role ids resolved to names through Microsoft Graph's appRoles"
    );
    assert!(acme
        .identifiers
        .contains(&Identifier::EntraTenant(entra::ACME_TENANT.into())));
    assert!(acme
        .identifiers
        .contains(&Identifier::EntraApp(entra::ACME_APP.into())));
    assert_eq!(
        acme.tags["app_permissions"],
        "Microsoft Graph:Mail.ReadWrite, Microsoft Graph:User.Read.All"
    );

    let oldco = identity(
        &run.obs,
        &format!("entra:{T}:sp/b2b2b2b2-0000-4000-8000-0000000001dc"),
    );
    assert_eq!(
        oldco.scopes,
        vec![
            "entra:Microsoft Graph:Files.ReadWrite.All",
            "entra:Microsoft Graph:offline_access"
        ]
    );
    assert_eq!(
        oldco.tags["admin_consent"],
        "Microsoft Graph:Files.ReadWrite.All, Microsoft Graph:offline_access"
    );
    let archive = identity(
        &run.obs,
        &format!("entra:{T}:sp/b3b3b3b3-0000-4000-8000-0000000001dc"),
    );
    assert!(
        !archive.active,
        "a disabled service principal is not active access"
    );
    let legacy = identity(
        &run.obs,
        &format!("entra:{T}:sp/c4c4c4c4-0000-4000-8000-00000000011e"),
    );
    assert_eq!(legacy.tags["user_consents"], "1");
    assert!(!legacy.tags.contains_key("admin_consent"));

    let deployer = identity(
        &run.obs,
        &format!("entra:{T}:app/11111111-0000-4000-8000-0000000000d1"),
    );
    assert_eq!(deployer.kind, "entra_application");
    assert_eq!(
        deployer.scopes,
        vec!["entra:Microsoft Graph:User.Read.All"],
        "its service principal's permissions"
    );
    assert!(deployer
        .identifiers
        .contains(&Identifier::Email("platform-lead@corp.example".into())));
    assert_eq!(deployer.created.as_deref(), Some("2023-05-01T00:00:00Z"));
    let mi = identity(
        &run.obs,
        &format!("entra:{T}:sp/33333333-0000-4000-8000-0000000000f3"),
    );
    assert_eq!(mi.kind, "entra_managed_identity");

    let open = run
        .obs
        .iter()
        .find_map(|o| match o {
            Observation::Edge(e) if e.to == "oidc:ci.example.dev" => Some(e),
            _ => None,
        })
        .unwrap();
    assert_eq!(open.conditions["ci.example.dev:sub"], "*");

    // Paging at two per page, the 429 waited out, $select asked for every collection.
    let reqs = server.requests();
    assert_eq!(reqs.iter().filter(|r| r.answered == 429).count(), 1);
    let sp_pages = reqs
        .iter()
        .filter(|r| r.route().0 == "/v1.0/servicePrincipals" && r.answered == 200)
        .count();
    assert_eq!(
        sp_pages,
        Tenant::scenario().service_principals.len().div_ceil(2)
    );
    for r in reqs
        .iter()
        .filter(|r| !r.path.contains("oauth2PermissionGrants"))
    {
        assert!(
            r.path.contains("%24select=") || r.path.contains("$select="),
            "{} without $select",
            r.path
        );
    }
    assert!(
        !reqs.iter().any(|r| r.path.contains("sp-graph/appRoleAssignments") || r.path.contains("sp-mgcli/")),
        "Microsoft's own apps cost no per-object calls"
    );
}

#[tokio::test]
async fn the_export_of_the_same_tenant_gives_the_same_observations() {
    let server = entra::start(
        Tenant::scenario(),
        Behaviour {
            throttle_once: false,
            ..Behaviour::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let live = sweep(&live_config(&server.base), dir.path()).await;
    live.result.as_ref().unwrap();

    // What `az` would print, from the same tenant: write it through the connector's own reader.
    let c = connector(&live_config(&server.base));
    let inv = c
        .inventory(&trustmap_testkit::run::context(dir.path()))
        .await
        .unwrap();
    trustmap_connector_entra::export::write(&dir.path().join("export"), &inv).unwrap();
    let offline = sweep(
        &format!("tenant_id = \"{T}\"\nexport_dir = \"export\"\n"),
        dir.path(),
    )
    .await;
    offline.result.as_ref().unwrap();
    assert!(offline.gaps.is_empty(), "{:?}", offline.gaps);
    let strip = |obs: &[Observation]| -> Vec<String> {
        obs.iter()
            .map(|o| serde_json::to_string(o).unwrap())
            .collect()
    };
    assert_eq!(strip(&live.obs), strip(&offline.obs));

    // The Azure CLI's own shapes: an array from `az ad sp list`, a page from `az rest`,
    // extra fields it prints, no owners (a gap, not an error), no federated credentials.
    let cli = dir.path().join("cli");
    std::fs::create_dir_all(&cli).unwrap();
    let mut sps = serde_json::to_value(&inv.service_principals).unwrap();
    for sp in sps.as_array_mut().unwrap() {
        sp.as_object_mut().unwrap().remove("owners");
        sp["alternativeNames"] = json!([]);
        sp["notificationEmailAddresses"] = json!([]);
    }
    std::fs::write(
        cli.join("servicePrincipals.json"),
        serde_json::to_string_pretty(&sps).unwrap(),
    )
    .unwrap();
    std::fs::write(cli.join("applications.json"), "[]").unwrap();
    std::fs::write(
        cli.join("oauth2PermissionGrants.json"),
        json!({"@odata.context": "x", "value": inv.grants}).to_string(),
    )
    .unwrap();
    std::fs::write(
        cli.join("appRoleAssignments.json"),
        serde_json::to_string(&inv.assignments).unwrap(),
    )
    .unwrap();
    let run = sweep(
        &format!("tenant_id = \"{T}\"\nexport_dir = \"cli\"\n"),
        dir.path(),
    )
    .await;
    run.result.as_ref().unwrap();
    assert_eq!(run.gaps.len(), 1, "{:?}", run.gaps);
    assert!(
        run.gaps[0].contains("owners not in the export"),
        "{:?}",
        run.gaps
    );
    let acme = identity(&run.obs, &format!("entra:{T}:sp/{}", entra::ACME_APP));
    assert_eq!(acme.tags["owners"], "unknown");
}

#[tokio::test]
async fn a_refused_collection_is_a_gap_naming_the_permission() {
    let server = entra::start(
        Tenant::scenario(),
        Behaviour {
            refuse_grants: true,
            throttle_once: false,
            ..Behaviour::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let run = sweep(&live_config(&server.base), dir.path()).await;
    run.result.as_ref().unwrap();
    assert_eq!(run.gaps.len(), 1, "{:?}", run.gaps);
    let g = &run.gaps[0];
    assert!(g.starts_with("delegated permission grants: GET "), "{g}");
    assert!(g.contains("HTTP 403: Authorization_RequestDenied"), "{g}");
    assert!(g.contains("DelegatedPermissionGrant.Read.All"), "{g}");
    // The rest is still seen: app permissions come from another collection.
    let acme = identity(&run.obs, &format!("entra:{T}:sp/{}", entra::ACME_APP));
    assert_eq!(acme.scopes.len(), 2);
}

#[tokio::test]
async fn a_rejected_token_stops_the_connector() {
    let server = entra::start(Tenant::scenario(), Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("TRUSTMAP_TEST_WRONG_GRAPH_TOKEN", "not-the-token");
    let cfg = live_config(&server.base).replace(
        "TRUSTMAP_TEST_GRAPH_TOKEN",
        "TRUSTMAP_TEST_WRONG_GRAPH_TOKEN",
    );
    let run = run_connector(&connector(&cfg), dir.path()).await;
    let e = run.result.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(
        e.message.contains("HTTP 401: InvalidAuthenticationToken"),
        "{}",
        e.message
    );
    assert!(
        !e.message.contains("not-the-token"),
        "the token never appears in errors"
    );
    // The three collections start together; nothing follows their 401s.
    let reqs = server.requests();
    assert!(
        reqs.len() <= 3 && reqs.iter().all(|r| r.answered == 401),
        "{} calls",
        reqs.len()
    );
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_a_clear_error() {
    // Nothing listens on port 9 of 127.0.0.1.
    let cfg = format!(
        "tenant_id = \"{T}\"\nclient_id = \"11111111-0000-4000-8000-0000000000d1\"\nclient_secret_env = \"TRUSTMAP_TEST_ENTRA_SECRET\"\nauthority_url = \"https://127.0.0.1:9\"\n"
    );
    std::env::set_var(
        "TRUSTMAP_TEST_ENTRA_SECRET",
        "zkt8Q~8BGhu8NsO-S5s0GbFnbhb5FmY1R_Onl8sj",
    );
    let dir = tempfile::tempdir().unwrap();
    let run = run_connector(&connector(&cfg), dir.path()).await;
    let e = run.result.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{}", e.message);
    assert!(e.message.contains("ClientSecret token"), "{}", e.message);
    assert!(
        !e.message.contains("8BGhu8NsO"),
        "the secret never appears: {}",
        e.message
    );
    assert!(run.obs.is_empty());
}

#[tokio::test]
async fn paging_never_follows_a_foreign_or_repeated_link() {
    // Every page points at another host, or back at itself (as Prism's placeholders do).
    let foreign = Server::start(|req| {
        let (path, _) = req.route();
        let value = if path.ends_with("/servicePrincipals") {
            json!([{"id": "sp-x", "appId": "a1000000-0000-4000-8000-000000000001", "appOwnerOrganizationId": entra::SHADY_TENANT}])
        } else {
            json!([])
        };
        let next = if path.ends_with("/servicePrincipals") {
            "https://evil.example/v1.0/servicePrincipals?$skiptoken=1".to_string()
        } else {
            format!("http://{}{}", req.header("host").unwrap_or(""), req.path)
        };
        Response::json(200, &json!({"value": value, "@odata.nextLink": next}))
    });
    let dir = tempfile::tempdir().unwrap();
    let run = sweep(&live_config(&foreign.base), dir.path()).await;
    run.result.as_ref().unwrap();
    assert!(
        run.gaps
            .iter()
            .any(|g| g.contains("another host (https://evil.example)")),
        "{:?}",
        run.gaps
    );
    assert!(
        run.gaps.iter().any(|g| g.contains("repeated a page link")),
        "{:?}",
        run.gaps
    );
    assert!(foreign
        .requests()
        .iter()
        .all(|r| r.header("host").is_some_and(|h| h.starts_with("127.0.0.1"))));
    identity(
        &run.obs,
        &format!("entra:{T}:sp/a1000000-0000-4000-8000-000000000001"),
    );
}

#[tokio::test]
async fn broken_export_files_name_the_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    std::fs::create_dir_all(&export).unwrap();
    for f in ["applications.json", "appRoleAssignments.json"] {
        std::fs::write(export.join(f), "[]").unwrap();
    }
    std::fs::write(
        export.join("oauth2PermissionGrants.json"),
        "{\"value\": []}",
    )
    .unwrap();
    let cfg = format!("tenant_id = \"{T}\"\nexport_dir = \"export\"\n");

    // Truncated mid-object.
    std::fs::write(
        export.join("servicePrincipals.json"),
        "[\n  {\n    \"id\": \"sp-1\",\n    \"appId\": \"a",
    )
    .unwrap();
    let e = sweep(&cfg, dir.path()).await.result.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Data);
    assert!(
        e.message.contains("servicePrincipals.json:4:"),
        "{}",
        e.message
    );

    // A service principal without appId.
    std::fs::write(
        export.join("servicePrincipals.json"),
        "[\n  {\"id\": \"sp-1\", \"displayName\": \"x\"}\n]",
    )
    .unwrap();
    let e = sweep(&cfg, dir.path()).await.result.unwrap_err();
    assert!(
        e.message.contains("servicePrincipals.json:2:"),
        "{}",
        e.message
    );
    assert!(e.message.contains("missing field `appId`"), "{}", e.message);

    // A missing required file.
    std::fs::remove_file(export.join("applications.json")).unwrap();
    std::fs::write(export.join("servicePrincipals.json"), "[]").unwrap();
    let e = sweep(&cfg, dir.path()).await.result.unwrap_err();
    assert!(
        e.message.contains("applications.json: cannot read"),
        "{}",
        e.message
    );
}

#[test]
fn configuration_mistakes_are_named() {
    let bad = |toml_text: &str| -> String {
        let cfg: EntraConfig = toml::from_str(toml_text).unwrap();
        match EntraConnector::new("e".into(), cfg) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted: {toml_text}"),
        }
    };
    assert!(
        bad("tenant_id = \"corp.onmicrosoft.com\"\ntoken_env = \"X\"")
            .contains("is not a tenant id")
    );
    assert!(bad(&format!("tenant_id = \"{T}\"\nclient_id = \"x\""))
        .contains("needs client_id and client_secret_env"));
    assert!(bad(&format!(
        "tenant_id = \"{T}\"\nexport_dir = \"e\"\ntoken_env = \"X\""
    ))
    .contains("export_dir is offline"));
    assert!(bad(&format!(
        "tenant_id = \"{T}\"\ntoken_env = \"X\"\nconcurrency = 0"
    ))
    .contains("concurrency"));
    assert!(
        toml::from_str::<EntraConfig>(&format!("tenant_id = \"{T}\"\ncredential = \"magic\""))
            .is_err()
    );
}

#[tokio::test]
async fn ctrl_c_stops_a_long_read_at_the_next_request() {
    // A collection that never ends; Ctrl-C arrives while it is being read.
    let ctx = trustmap_testkit::run::context(std::path::Path::new("."));
    let cancelled = ctx.cancelled.clone();
    let server = Server::start(move |req| {
        let (path, query) = req.route();
        if path != "/v1.0/servicePrincipals" {
            return Response::json(200, &json!({"value": []}));
        }
        let page: u64 = query
            .iter()
            .find(|(k, _)| k == "$skiptoken")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        if page == 3 {
            cancelled.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let next = format!(
            "http://{}/v1.0/servicePrincipals?$skiptoken={}",
            req.header("host").unwrap_or(""),
            page + 1
        );
        Response::json(200, &json!({"value": [], "@odata.nextLink": next}))
    });
    std::env::set_var("TRUSTMAP_TEST_GRAPH_TOKEN", entra::TOKEN);
    let c = connector(&live_config(&server.base));
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let out = trustmap_connector::Emitter::new(tx, "entra").cancellable(ctx.cancelled.clone());
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let e = trustmap_connector::Connector::run(&c, &ctx, &out)
        .await
        .unwrap_err();
    drop(out);
    drain.await.unwrap();
    assert_eq!(e.kind, ErrorKind::Cancelled, "{}", e.message);
    let sp_pages = server
        .requests()
        .iter()
        .filter(|r| r.route().0 == "/v1.0/servicePrincipals")
        .count();
    assert!(sp_pages <= 5, "{sp_pages} pages read after the stop");
}
