//! `trustmap sweep` over an Entra ID tenant (the local Graph of testkit::entra) and a
//! directory holding a leaked client secret of a partner's app: the exact findings, the same
//! findings from the tenant's export, and no secret in any output.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use trustmap_testkit::entra::{self, Behaviour, Tenant};
use trustmap_testkit::findings::summary;

const LEAKED: &str = "Xy78Q~kT3vN.q9Lr_2YcKe0uHs7bMdZf4Ag~j1Rk";

fn partners() -> String {
    format!(
        r#"
[[partners]]
id = "acme"
name = "Acme Analytics Ltd"
sponsor = "jane.doe@corp.example"
purpose = "Nightly BI export"
status = "active"
expires = "2027-12-31"
review_every_days = 365
last_reviewed = "2026-10-01"
allowed_scopes = ["entra:Microsoft Graph:User.Read.All"]
allow_subcontractors = false
[partners.match]
entra_tenants = ["{acme}"]
github_orgs = ["acme-analytics"]

[[partners]]
id = "oldco"
name = "OldCo Ltd"
sponsor = "bob@corp.example"
purpose = "File sync (ended)"
status = "revoked"
expires = "2026-03-31"
review_every_days = 365
last_reviewed = "2026-03-01"
[partners.match]
entra_tenants = ["{oldco}"]

[[partners]]
id = "legacyhr"
name = "LegacyHR"
sponsor = "carol@corp.example"
purpose = "HR sync"
status = "active"
expires = "2026-06-30"
review_every_days = 365
last_reviewed = "2026-01-10"
[partners.match]
entra_tenants = ["{legacy}"]

[[partners]]
id = "datapipe"
name = "DataPipe LLC"
via = "acme"
sponsor = "jane.doe@corp.example"
purpose = "Acme's loader"
status = "active"
expires = "2027-12-31"
review_every_days = 365
last_reviewed = "2026-10-01"
[partners.match]
entra_tenants = ["{datapipe}"]

[[owners]]
id = "platform"
contact = "platform@corp.example"
[owners.match]
name_patterns = ["corp-*", "mi-*"]
"#,
        acme = entra::ACME_TENANT,
        oldco = entra::OLDCO_TENANT,
        legacy = entra::LEGACY_TENANT,
        datapipe = entra::DATAPIPE_TENANT,
    )
}

fn write_estate(dir: &Path, entra_table: &str) {
    std::fs::write(dir.join("partners.toml"), partners()).unwrap();
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join(".env"),
        format!("# Acme BI sync\nAZURE_TENANT_ID={}\nAZURE_CLIENT_ID={}\nAZURE_CLIENT_SECRET={LEAKED}\n", entra::ACME_TENANT, entra::ACME_APP),
    )
    .unwrap();
    std::fs::write(
        dir.join("sweep.toml"),
        format!(
            "[sweep]\npartners = \"partners.toml\"\ninternal = [\"github_org:corp\"]\n\n[[connectors]]\ntype = \"entra\"\nname = \"entra\"\n{entra_table}\n[[connectors]]\ntype = \"filesystem\"\nname = \"repo\"\npath = \"repo\"\n"
        ),
    )
    .unwrap();
}

fn sweep(dir: &Path, out: &str) -> (std::process::Output, Vec<Value>) {
    let o = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .current_dir(dir)
        .env("TRUSTMAP_TEST_GRAPH_TOKEN", entra::TOKEN)
        .args([
            "sweep",
            "--config",
            "sweep.toml",
            "--out",
            out,
            "--format",
            "jsonl,json,csv,md,sarif,html",
            "--now",
            "2026-11-22",
            "-q",
        ])
        .output()
        .unwrap();
    let findings = std::fs::read_to_string(dir.join(out).join("findings.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (o, findings)
}

#[test]
fn an_entra_tenant_swept_live_and_from_its_export() {
    let server = entra::start(Tenant::scenario(), Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    write_estate(
        dir.path(),
        &format!(
            "tenant_id = \"{}\"\napi_url = \"{}\"\ntoken_env = \"TRUSTMAP_TEST_GRAPH_TOKEN\"\n",
            entra::TENANT,
            server.base
        ),
    );
    let (o, findings) = sweep(dir.path(), "out");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{stderr}");
    let t = entra::TENANT;
    let app = |id: &str| format!("entra:{t}:app/{id}");
    let sp = |id: &str| format!("entra:{t}:sp/{id}");
    let got = summary(&findings);
    let mut want = vec![
        // Acme (active) holds Mail.ReadWrite beyond its approved User.Read.All: admin-grade.
        format!("over_scoped critical {} acme", sp(entra::ACME_APP)),
        // OldCo was revoked and its app still reads and writes files (admin-grade, too).
        format!(
            "lingering_access critical {} oldco",
            sp("b2b2b2b2-0000-4000-8000-0000000001dc")
        ),
        format!(
            "over_scoped critical {} oldco",
            sp("b2b2b2b2-0000-4000-8000-0000000001dc")
        ),
        // The registry itself: LegacyHR is past its expiry yet still `active`; DataPipe came
        // in through a partner that may not bring subcontractors.
        "missing_governance high partner:legacyhr legacyhr".to_string(),
        "missing_governance low partner:datapipe datapipe".to_string(),
        // LegacyHR's contract expired; a user's consent to read profiles remains.
        format!(
            "lingering_access high {} legacyhr",
            sp("c4c4c4c4-0000-4000-8000-00000000011e")
        ),
        // Acme's subcontractor reaching in with its own app, though Acme may not bring one.
        format!(
            "nested_access high {} datapipe",
            sp("d5d5d5d5-0000-4000-8000-00000000da7a")
        ),
        // A tenant nobody registered, with a directory permission.
        format!(
            "unknown_external_access high {} -",
            sp("e6e6e6e6-0000-4000-8000-000000005bad")
        ),
        format!(
            "unowned_identity medium {} -",
            sp("e6e6e6e6-0000-4000-8000-000000005bad")
        ),
        format!(
            "unowned_identity low {} -",
            sp("f7f7f7f7-0000-4000-8000-00000000a1e7")
        ),
        // Our app trusting any subject of an OIDC issuer.
        format!(
            "unknown_external_access critical {} -",
            app("22222222-0000-4000-8000-0000000000e2")
        ),
        format!(
            "unowned_identity low {} -",
            app("22222222-0000-4000-8000-0000000000e2")
        ),
        // Its certificate is valid until 2035.
        format!(
            "stale_credential high {}/certificate/k-report-cert -",
            app("22222222-0000-4000-8000-0000000000e2")
        ),
        // The deployer's secret was made in 2023 and never rotated.
        format!(
            "stale_credential high {}/secret/k-deployer-1 -",
            app("11111111-0000-4000-8000-0000000000d1")
        ),
        // The leaked secret of Acme's app.
        "leaked_secret critical secret:LEAK acme".to_string(),
    ];
    want.sort();
    let normalise = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|s| {
                if s.starts_with("leaked_secret") {
                    "leaked_secret critical secret:LEAK acme".to_string()
                } else {
                    s.clone()
                }
            })
            .collect::<Vec<_>>()
    };
    let mut got_n = normalise(&got);
    got_n.sort();
    assert_eq!(got_n, want, "{got:#?}\n{stderr}");

    // The leak is tied to Acme's app, and through it to Acme.
    let leak = findings
        .iter()
        .find(|f| f["kind"] == "leaked_secret")
        .unwrap();
    assert!(
        leak["subject"]["id"]
            .as_str()
            .unwrap()
            .starts_with("secret:"),
        "{leak}"
    );
    let chain: Vec<&str> = leak["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(chain.contains(&sp(entra::ACME_APP).as_str()), "{chain:?}");
    // No secret in any output.
    for f in std::fs::read_dir(dir.path().join("out")).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        assert!(!text.contains(LEAKED), "a secret in an output");
        assert!(
            !text.contains(&LEAKED[5..20]),
            "part of a secret in an output"
        );
    }

    // The same tenant, exported with `trustmap entra export`, swept offline: the same findings.
    let o = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .current_dir(dir.path())
        .env("TRUSTMAP_TEST_GRAPH_TOKEN", entra::TOKEN)
        .args([
            "entra",
            "export",
            "--tenant-id",
            t,
            "--api-url",
            &server.base,
            "--token-env",
            "TRUSTMAP_TEST_GRAPH_TOKEN",
            "--out",
            "export",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in [
        "servicePrincipals.json",
        "applications.json",
        "oauth2PermissionGrants.json",
        "appRoleAssignments.json",
        "federatedIdentityCredentials/app-deployer.json",
    ] {
        assert!(dir.path().join("export").join(f).is_file(), "{f}");
    }
    write_estate(
        dir.path(),
        &format!("tenant_id = \"{t}\"\nexport_dir = \"export\"\n"),
    );
    let (o, offline) = sweep(dir.path(), "out-offline");
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let ids = |f: &[Value]| -> Vec<String> {
        let mut v: Vec<String> = f
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(summary(&offline), got);
    assert_eq!(
        ids(&offline),
        ids(&findings),
        "the same finding ids, live or offline"
    );
}

#[test]
fn an_unreachable_graph_leaves_the_other_connectors_results() {
    let dir = tempfile::tempdir().unwrap();
    write_estate(
        dir.path(),
        &format!("tenant_id = \"{}\"\napi_url = \"http://127.0.0.1:9\"\ntoken_env = \"TRUSTMAP_TEST_GRAPH_TOKEN\"\nmax_wait_seconds = 1\n", entra::TENANT),
    );
    let (o, findings) = sweep(dir.path(), "out");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "a failed connector: {stderr}");
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/findings.json")).unwrap(),
    )
    .unwrap();
    let entra = json["stats"]["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "entra")
        .unwrap();
    let message = entra["error"]["message"].as_str().unwrap();
    assert_eq!(entra["error"]["kind"], "transient", "{entra}");
    assert!(
        message.starts_with("GET http://127.0.0.1:9/v1.0/servicePrincipals: "),
        "{message}"
    );
    assert!(
        message.to_ascii_lowercase().contains("connect"),
        "the cause is named: {message}"
    );
    assert!(
        findings.iter().any(|f| f["kind"] == "leaked_secret"),
        "the filesystem connector's leak is kept"
    );
}
