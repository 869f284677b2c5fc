//! Sign-in with a certificate (the `client-certificate` feature): a real PKCS#12 file made by
//! the openssl CLI is read and used; a file that is not one, or is missing, is an error naming
//! it; an unreachable authority is a clear error without the password.
#![cfg(feature = "client-certificate")]
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::process::Command;
use trustmap_connector::ErrorKind;
use trustmap_connector_entra::{EntraConfig, EntraConnector};
use trustmap_testkit::entra;
use trustmap_testkit::run::run_connector;

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let o = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl CLI");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn config(file: &str) -> EntraConnector {
    let cfg: EntraConfig = toml::from_str(&format!(
        "tenant_id = \"{}\"\nclient_id = \"11111111-0000-4000-8000-0000000000d1\"\ncertificate_file = \"{file}\"\ncertificate_password_env = \"TRUSTMAP_TEST_PFX_PASSWORD\"\nauthority_url = \"https://127.0.0.1:9\"\n",
        entra::TENANT
    ))
    .unwrap();
    EntraConnector::new("entra".into(), cfg).unwrap()
}

#[tokio::test]
async fn a_certificate_signs_in_or_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=trustmap-test",
        ],
    );
    openssl(
        dir.path(),
        &[
            "pkcs12",
            "-export",
            "-out",
            "sweep.pfx",
            "-inkey",
            "key.pem",
            "-in",
            "cert.pem",
            "-passout",
            "pass:pfx-password-4711",
        ],
    );
    std::env::set_var("TRUSTMAP_TEST_PFX_PASSWORD", "pfx-password-4711");

    // The certificate is read and the authority asked: it is not there.
    let run = run_connector(&config("sweep.pfx"), dir.path()).await;
    let e = run.result.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{}", e.message);
    assert!(
        e.message.contains("ClientCertificate token"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("pfx-password-4711"), "{}", e.message);

    // A PEM file is not PKCS#12.
    let e = run_connector(&config("cert.pem"), dir.path())
        .await
        .result
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config, "{}", e.message);
    assert!(
        e.message.contains("cert.pem: not a PKCS#12 certificate"),
        "{}",
        e.message
    );

    // A missing one is named.
    let e = run_connector(&config("missing.pfx"), dir.path())
        .await
        .result
        .unwrap_err();
    assert!(
        e.message.contains("certificate_file") && e.message.contains("missing.pfx"),
        "{}",
        e.message
    );
}
