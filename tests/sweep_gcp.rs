//! `trustmap sweep` over a Google Cloud organisation and Workspace (the local Google of
//! testkit::gcp) and a directory holding a leaked service-account key file: the exact
//! findings, the same findings from the gcloud export, the exit plan's gcloud commands, and
//! no secret in any output.
#![allow(clippy::too_many_lines)] // a scenario test reads as one story, set-up to assertions
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use base64::Engine as _;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use trustmap_testkit::findings::comparable;
use trustmap_testkit::gcp::{self, Behaviour};

/// A fabricated PEM body (random-looking, not a key).
fn private_key() -> String {
    let bytes: Vec<u8> = (0u32..900)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n",
        lines.join("\\n")
    )
}

fn write_estate(dir: &Path, gcp_table: &str) -> String {
    std::fs::write(dir.join("partners.toml"), gcp::PARTNERS).unwrap();
    let repo = dir.join("repo/deploy");
    std::fs::create_dir_all(&repo).unwrap();
    let key = private_key();
    std::fs::write(
        repo.join("deployer-key.json"),
        format!(
            "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"corp-prod\",\n  \"private_key_id\": \"{}\",\n  \"private_key\": \"{key}\",\n  \"client_email\": \"{}\",\n  \"token_uri\": \"https://oauth2.googleapis.com/token\"\n}}\n",
            gcp::DEPLOYER_KEY,
            gcp::DEPLOYER
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("sweep.toml"),
        format!(
            "[sweep]\npartners = \"partners.toml\"\ninternal = [\"github_org:corp\", \"domain:corp.example\"]\n\n{gcp_table}\n[[connectors]]\ntype = \"filesystem\"\nname = \"repo\"\npath = \"repo\"\n"
        ),
    )
    .unwrap();
    key
}

fn sweep(dir: &Path, out: &str) -> (std::process::Output, Vec<Value>) {
    let o = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .current_dir(dir)
        .env("TRUSTMAP_TEST_GOOGLE_TOKEN", gcp::TOKEN)
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

const CONTRACTOR: &str = "gcp:member/user:contractor@oldco.example";

fn expected() -> Vec<String> {
    let mut v: Vec<String> = [
        // The leaked key file, tied to the deployer's key it names, and so to its owner.
        "leaked_secret critical secret:@repo/deploy/deployer-key.json -",
        // OldCo is revoked: its contractor (who can act as the owner-level deployer) and the
        // pool trusting its AWS account.
        "lingering_access critical gcp:corp-prod:pool/aws-pool oldco",
        "lingering_access critical gcp:member/user:contractor@oldco.example oldco",
        "missing_governance low partner:acme acme",
        "missing_governance low partner:datapipe datapipe",
        "missing_governance low partner:datapipe datapipe",
        "missing_governance low partner:datapipe datapipe",
        "missing_governance low partner:datapipe datapipe",
        "missing_governance low partner:datapipe datapipe",
        "missing_governance low partner:oldco oldco",
        "missing_governance low partner:oldco oldco",
        // Acme's subcontractor's group at organisation level, though Acme allows none.
        "nested_access high gcp:member/group:auditors@datapipe.example datapipe",
        // Beyond what Acme was approved for (storage.admin through its repository's pool,
        // editor for its service account), owner through impersonation for OldCo.
        "over_scoped critical gcp:corp-prod:pool/github-pool acme",
        "over_scoped critical gcp:member/serviceAccount:etl@acme-analytics-prod.iam.gserviceaccount.com acme",
        "over_scoped critical gcp:member/user:contractor@oldco.example oldco",
        "over_scoped high gcp:corp-prod:sa/deployer@corp-prod.iam.gserviceaccount.com -",
        "over_scoped high workspace:corp.example:oauth/555000111-shady.apps.googleusercontent.com -",
        "stale_credential high gcp:corp-prod:sa/deployer@corp-prod.iam.gserviceaccount.com/key/0123456789abcdef0123456789abcdef01234567 -",
        "unknown_external_access critical gcp:corp-prod:pool/open-pool -",
        "unknown_external_access critical gcp:member/allUsers -",
        "unknown_external_access high gcp:member/user:someone@gmail.com -",
        "unknown_external_access high workspace:corp.example:oauth/555000111-shady.apps.googleusercontent.com -",
        "unowned_identity medium gcp:corp-prod:pool/open-pool -",
        "unowned_identity medium gcp:corp-prod:sa/acme-export@corp-prod.iam.gserviceaccount.com -",
        "unowned_identity medium gcp:member/allUsers -",
        "unowned_identity medium gcp:member/user:someone@gmail.com -",
        "unowned_identity medium workspace:corp.example:oauth/555000111-shady.apps.googleusercontent.com -",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    v.sort();
    v
}

#[test]
fn a_google_estate_swept_live_and_from_its_export() {
    let server = gcp::start(
        gcp::estate(),
        Behaviour {
            throttle_once: true,
            ..Behaviour::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let key = write_estate(
        dir.path(),
        &gcp::live_table(&server, "TRUSTMAP_TEST_GOOGLE_TOKEN"),
    );
    let (o, findings) = sweep(dir.path(), "out");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert_eq!(comparable(&findings), expected());

    // The leak names the key and the account it unlocks; the chain runs from the owner
    // through the account and its key.
    let leak = findings
        .iter()
        .find(|f| f["kind"] == "leaked_secret")
        .unwrap();
    let chain: Vec<&str> = leak["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(chain[..3], [
        "owner:platform",
        "gcp:corp-prod:sa/deployer@corp-prod.iam.gserviceaccount.com",
        "gcp:corp-prod:sa/deployer@corp-prod.iam.gserviceaccount.com/key/0123456789abcdef0123456789abcdef01234567",
    ]);
    // Impersonation is spelled out: owner through the deployer.
    let contractor = findings
        .iter()
        .find(|f| f["kind"] == "over_scoped" && f["subject"]["id"] == CONTRACTOR)
        .unwrap();
    let scopes = contractor["evidence"]["scopes"].to_string();
    assert!(scopes.contains("gcp:roles/owner"), "{scopes}");
    let public = findings
        .iter()
        .find(|f| {
            f["kind"] == "unknown_external_access" && f["subject"]["id"] == "gcp:member/allUsers"
        })
        .unwrap();
    assert_eq!(
        public["title"],
        "gcp:roles/storage.objectViewer granted to allUsers: anyone on the internet"
    );

    // No secret in any output.
    let pem_line = key.split("\\n").nth(2).unwrap().to_string();
    assert!(pem_line.len() > 40);
    for entry in std::fs::read_dir(dir.path().join("out")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        assert!(!text.contains(&pem_line), "the private key in an output");
        assert!(!text.contains(gcp::TOKEN), "the token in an output");
    }
    assert!(!stderr.contains(&pem_line) && !stderr.contains(gcp::TOKEN));

    // The same estate from gcloud's files: the same findings (the Workspace's domain comes
    // from `[sweep] internal`, which already names it).
    let files = gcp::write_exports(&gcp::estate(), &dir.path().join("export")).unwrap();
    let offline_table = format!(
        "[[connectors]]\ntype = \"gcp\"\nname = \"gcp\"\norganization = \"{}\"\n{files}",
        gcp::ORG
    );
    write_estate(dir.path(), &offline_table);
    let (o, offline) = sweep(dir.path(), "out-offline");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(comparable(&offline), expected());
    let ids = |f: &[Value]| {
        let mut v: Vec<String> = f
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        ids(&offline),
        ids(&findings),
        "the same finding ids offline"
    );

    // OldCo's exit plan removes the contractor's bindings and the pool's, as gcloud commands.
    let plan = Command::new(env!("CARGO_BIN_EXE_trustmap"))
        .current_dir(dir.path())
        .args([
            "exit-plan",
            "oldco",
            "--config",
            "sweep.toml",
            "--out",
            "plans",
            "--format",
            "sh",
        ])
        .output()
        .unwrap();
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let sh = std::fs::read_to_string(dir.path().join("plans/exit-plan-oldco.sh")).unwrap();
    for command in [
        "# gcloud iam service-accounts remove-iam-policy-binding deployer@corp-prod.iam.gserviceaccount.com --member=user:contractor@oldco.example --role=roles/iam.serviceAccountTokenCreator",
        "# gcloud projects remove-iam-policy-binding corp-prod --member=user:contractor@oldco.example --role=roles/viewer",
        "# gcloud projects remove-iam-policy-binding corp-prod '--member=principalSet://iam.googleapis.com/projects/100000000001/locations/global/workloadIdentityPools/aws-pool/*' --role=roles/logging.viewer",
    ] {
        assert!(sh.contains(command), "{command} missing:\n{sh}");
    }
    assert!(
        !sh.contains("acme"),
        "another partner in oldco's plan:\n{sh}"
    );
}
