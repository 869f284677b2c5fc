//! Credentials that pass trustmap's validators, for tests that plant them.
use trustmap_rules::base62_crc32;

/// A classic GitHub token (`ghp_`) with a valid checksum, distinct per `seed`.
pub fn github_token(seed: &str) -> String {
    let random: String = format!("{seed}Qz7Lp2Vx9Kb4Nm6Rt8Wy3Hc5Jd1Fg0")
        .chars()
        .take(30)
        .collect();
    format!("ghp_{random}{}", base62_crc32(random.as_bytes()))
}

/// A fresh 2048-bit RSA private key in PKCS#8 PEM, from the openssl CLI (what a Google
/// service-account key file holds).
pub fn rsa_private_key_pem() -> anyhow::Result<String> {
    let out = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run openssl (apt-get install openssl): {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "openssl genpkey: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}
