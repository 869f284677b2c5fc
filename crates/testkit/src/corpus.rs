//! A realistic corpus with planted secrets and hard negatives, and its ground truth.
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use trustmap_rules::base62_crc32;

/// One secret written into the corpus, where a scanner should report it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Planted {
    /// Path relative to the corpus root, `/`-separated.
    pub path: String,
    /// 1-based line where the secret (or its encoded form, or its block) starts.
    pub line: u64,
    pub kind: String,
}

/// The ground truth of a corpus.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Truth {
    pub planted: Vec<Planted>,
    /// Files that hold only hard negatives (nothing in them should be reported).
    pub negative_files: Vec<String>,
    pub files: Vec<String>,
}

struct Gen {
    rng: fastrand::Rng,
}

const AN: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Gen {
    fn pick(&mut self, set: &[u8], n: usize) -> String {
        loop {
            let s: String = (0..n)
                .map(|_| set[self.rng.usize(..set.len())] as char)
                .collect();
            // Where the alphabet mixes classes, insist the value does too (as real tokens do).
            let has = |f: fn(&u8) -> bool| !set.iter().any(f) || s.as_bytes().iter().any(f);
            let mixed = has(u8::is_ascii_uppercase)
                && has(u8::is_ascii_lowercase)
                && has(u8::is_ascii_digit);
            if n < 12 || mixed {
                return s;
            }
        }
    }
    fn checksummed(&mut self, prefix: &str) -> String {
        let random = self.pick(AN, 30);
        format!("{prefix}{random}{}", base62_crc32(random.as_bytes()))
    }
    fn aws_key_id(&mut self) -> String {
        format!("AKIA{}", self.pick(B32, 16))
    }
    fn aws_secret(&mut self) -> String {
        self.pick(B64, 40)
    }
    fn password(&mut self) -> String {
        format!(
            "{}-{}!{}",
            self.pick(AN, 6),
            self.pick(AN, 6),
            self.rng.u32(10..99)
        )
    }
    fn pem_lines(&mut self, n: usize) -> Vec<String> {
        (0..n).map(|_| self.pick(B64, 64)).collect()
    }
}

struct Writer<'a> {
    root: &'a Path,
    truth: &'a mut Truth,
}

impl Writer<'_> {
    /// Write a file; `{{SECRET:kind}}` markers at the start of a line's secret are removed and
    /// recorded as planted at that line.
    fn file(&mut self, path: &str, content: &str) -> std::io::Result<()> {
        let mut out = String::with_capacity(content.len());
        for (i, line) in content.split_inclusive('\n').enumerate() {
            let mut rest = line;
            while let Some(pos) = rest.find("{{SECRET:") {
                out.push_str(&rest[..pos]);
                let end = rest[pos..]
                    .find("}}")
                    .map(|e| pos + e)
                    .unwrap_or(rest.len());
                let kind = &rest[pos + 9..end];
                self.truth.planted.push(Planted {
                    path: path.to_string(),
                    line: i as u64 + 1,
                    kind: kind.to_string(),
                });
                rest = &rest[(end + 2).min(rest.len())..];
            }
            out.push_str(rest);
        }
        let p = self.root.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(p, out)?;
        self.truth.files.push(path.to_string());
        Ok(())
    }

    fn negative(&mut self, path: &str, content: &str) -> std::io::Result<()> {
        self.truth.negative_files.push(path.to_string());
        self.file(path, content)
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Write `copies` variants of every template under `root`, each with fresh secrets.
pub fn build(root: &Path, seed: u64, copies: usize) -> std::io::Result<Truth> {
    let mut truth = Truth::default();
    let mut g = Gen {
        rng: fastrand::Rng::with_seed(seed),
    };
    let mut w = Writer {
        root,
        truth: &mut truth,
    };
    for c in 0..copies {
        let d = format!("svc{c}");
        positives(&mut w, &mut g, &d)?;
        negatives(&mut w, &mut g, &d)?;
    }
    Ok(truth)
}

#[allow(clippy::too_many_lines)] // one planted secret per statement: a data table
fn positives(w: &mut Writer<'_>, g: &mut Gen, d: &str) -> std::io::Result<()> {
    let (kid, ks) = (g.aws_key_id(), g.aws_secret());
    w.file(
        &format!("{d}/config/app.yaml"),
        &format!(
            "service: orders\nregion: eu-west-1\naws:\n  access_key_id: {{{{SECRET:aws-key}}}}{kid}\n  secret_access_key: {{{{SECRET:aws-secret}}}}{ks}\nlogging:\n  level: info\n"
        ),
    )?;
    w.file(
        &format!("{d}/.env"),
        &format!(
            "# local settings\nAPP_ENV=production\nDB_PASSWORD={{{{SECRET:password}}}}{}\nSTRIPE_SECRET_KEY={{{{SECRET:stripe}}}}sk_live_{}\nLOG_LEVEL=debug\n",
            g.password(),
            g.pick(AN, 32)
        ),
    )?;
    w.file(
        &format!("{d}/src/client.py"),
        &format!(
            "import os\nimport requests\n\nGITHUB_TOKEN = \"{{{{SECRET:github}}}}{}\"\nHF = '{{{{SECRET:hf}}}}hf_{}'\n\ndef fetch(url):\n    token = os.environ[\"GITHUB_TOKEN\"]\n    return requests.get(url, headers={{\"Authorization\": f\"token {{token}}\"}})\n",
            g.checksummed("ghp_"),
            g.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 34)
        ),
    )?;
    w.file(
        &format!("{d}/src/server.js"),
        &format!(
            "const express = require('express');\nconst SLACK = '{{{{SECRET:slack-webhook}}}}https://hooks.slack.com/services/T{}/B{}/{}';\nconst sendgrid = \"{{{{SECRET:sendgrid}}}}SG.{}.{}\";\nconst apiKey = process.env.API_KEY;\nmodule.exports = {{ SLACK, sendgrid, apiKey }};\n",
            g.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
            g.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
            g.pick(AN, 24),
            g.pick(URL, 22),
            g.pick(URL, 43)
        ),
    )?;
    w.file(
        &format!("{d}/src/main/java/Db.java"),
        &format!(
            "package corp;\n\npublic class Db {{\n    static final String URL = \"{{{{SECRET:jdbc}}}}jdbc:sqlserver://db.corp.internal:1433;databaseName=orders;user=app;password=K{}\";\n    static final String USER = \"app\";\n}}\n",
            g.pick(AN, 15)
        ),
    )?;
    let key = g.pem_lines(12).join("\n");
    w.file(
        &format!("{d}/src/keys.go"),
        &format!(
            "package keys\n\n// deployKey is used by the release job.\nconst deployKey = `{{{{SECRET:rsa}}}}-----BEGIN RSA PRIVATE KEY-----\n{key}\n-----END RSA PRIVATE KEY-----`\n\nfunc Key() string {{ return deployKey }}\n"
        ),
    )?;
    let nb_key = g.pem_lines(10).join("\\n");
    w.file(
        &format!("{d}/notebooks/analysis.ipynb"),
        &format!(
            "{{\n \"cells\": [\n  {{\n   \"cell_type\": \"code\",\n   \"source\": [\n    \"import openai\\n\",\n    \"openai.api_key = \\\"{{{{SECRET:openai}}}}sk-proj-{}T3BlbkFJ{}\\\"\\n\"\n   ]\n  }},\n  {{\n   \"cell_type\": \"code\",\n   \"source\": [\"KEY = \\\"{{{{SECRET:pkcs8}}}}-----BEGIN PRIVATE KEY-----\\\\n{nb_key}\\\\n-----END PRIVATE KEY-----\\\\n\\\"\"]\n  }}\n ],\n \"metadata\": {{\"kernelspec\": {{\"name\": \"python3\"}}}},\n \"nbformat\": 4\n}}\n",
            g.pick(URL, 40),
            g.pick(URL, 40)
        ),
    )?;
    let gl = format!("glpat-{}", g.pick(URL, 20));
    let db_pass = format!("S3cure-{}-Pw", g.pick(AN, 10));
    w.file(
        &format!("{d}/k8s/secret.yaml"),
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci-credentials\ntype: Opaque\ndata:\n  gitlab-token: {{{{SECRET:gitlab-b64}}}}{}\n  password: {{{{SECRET:password-b64}}}}{}\n  username: {}\n",
            b64(&gl),
            b64(&db_pass),
            b64("deployer")
        ),
    )?;
    let docker_auth = b64(&format!("robot$deploy:{}", g.pick(AN, 24)));
    w.file(
        &format!("{d}/docker/config.json"),
        &format!("{{\n  \"auths\": {{\n    \"registry.corp.example\": {{\n      {{{{SECRET:docker}}}}\"auth\": \"{docker_auth}\"\n    }}\n  }}\n}}\n"),
    )?;
    w.file(
        &format!("{d}/docs/urls.txt"),
        &format!(
            "Primary DB: {{{{SECRET:postgres}}}}postgresql://app:p%40ss-{}%21@db.corp.internal:5432/app\nDocs: https://docs.corp.example/db\n",
            g.pick(AN, 12)
        ),
    )?;
    w.file(
        &format!("{d}/data/export.csv"),
        &format!(
            "id,name,config\n1,orders,\"{{{{SECRET:stripe-csv}}}}{{\"\"api_key\"\": \"\"sk_live_{}\"\"}}\"\n2,billing,\"{{\"\"region\"\": \"\"eu\"\"}}\"\n",
            g.pick(AN, 28)
        ),
    )?;
    // A minified bundle: one long line with a token in the middle.
    let mut js = String::from("!function(e){");
    for i in 0..400 {
        let _ = write!(
            js,
            "var a{i}=function(t,n){{return t+n*{i}}};e.k{i}=\"{}\";",
            g.pick(HEX, 8)
        );
    }
    let npm = g.checksummed("npm_");
    js.push_str(&format!("e.registryToken=\"{{{{SECRET:npm}}}}{npm}\";"));
    for i in 0..400 {
        let _ = write!(js, "e.m{i}=e.k{i}.split(\"\").reverse().join(\"\");");
    }
    js.push_str("}(window);\n");
    w.file(&format!("{d}/dist/app.min.js"), &js)?;
    w.file(
        &format!("{d}/windows/service.ini"),
        &format!(
            "[service]\r\nname=exporter\r\nsmtp_password={{{{SECRET:password-crlf}}}}{}\r\ntimeout=30\r\n",
            g.password()
        ),
    )?;
    w.file(
        &format!("{d}/deploy/kubeconfig"),
        &format!(
            "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    client-certificate-data: {}\n    {{{{SECRET:kube-key}}}}client-key-data: {}==\n",
            g.pick(B64, 64),
            g.pick(B64, 120)
        ),
    )?;
    w.file(
        &format!("{d}/ops/terraform.tfvars"),
        &format!(
            "azure_client_secret = \"{{{{SECRET:azure}}}}{}8Q~{}\"\nslack_bot = \"{{{{SECRET:slack-bot}}}}xoxb-{}-{}-{}\"\n",
            g.pick(AN, 3),
            g.pick(URL, 34),
            g.rng.u64(1_000_000_000_000..9_999_999_999_999),
            g.rng.u64(1_000_000_000_000..9_999_999_999_999),
            g.pick(AN, 24)
        ),
    )?;
    w.file(
        &format!("{d}/src/settings.rb"),
        &format!(
            "Rails.application.configure do\n  config.secret_key_base = \"{{{{SECRET:generic-secret}}}}{}\"\n  config.api_key = ENV.fetch(\"API_KEY\")\nend\n",
            g.pick(HEX, 64)
        ),
    )?;
    Ok(())
}

fn negatives(w: &mut Writer<'_>, g: &mut Gen, d: &str) -> std::io::Result<()> {
    w.negative(
        &format!("{d}/docs/aws-setup.md"),
        "# Configure AWS\n\n```ini\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n```\n\nSet `password = \"your_password_here\"` and `api_key: <your-key>`.\nexport GITHUB_TOKEN=${GITHUB_TOKEN}\n",
    )?;
    w.negative(
        &format!("{d}/.github/workflows/ci.yml"),
        "name: ci\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    env:\n      TOKEN: ${{ secrets.DEPLOY_TOKEN }}\n      NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n",
    )?;
    let mut lock = String::from("{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n");
    for i in 0..40 {
        let _ = writeln!(
            lock,
            "    \"node_modules/pkg{i}\": {{\"version\": \"1.{i}.0\", \"resolved\": \"https://registry.npmjs.org/pkg{i}/-/pkg{i}-1.{i}.0.tgz\", \"integrity\": \"sha512-{}==\"}},",
            g.pick(B64, 86)
        );
    }
    lock.push_str("  }\n}\n");
    w.negative(&format!("{d}/package-lock.json"), &lock)?;
    let mut src = String::from("use std::collections::HashMap;\n\n");
    for i in 0..30 {
        let _ = writeln!(src, "const COMMIT_{i}: &str = \"{}\";", g.pick(HEX, 40));
        let _ = writeln!(
            src,
            "const UUID_{i}: &str = \"{}-{}-4{}-a{}-{}\";",
            g.pick(HEX, 8),
            g.pick(HEX, 4),
            g.pick(HEX, 3),
            g.pick(HEX, 3),
            g.pick(HEX, 12)
        );
    }
    src.push_str("fn password_field() -> &'static str { \"password_confirmation\" }\nlet token = get_token();\nlet secret_name = \"prod-db-credentials\";\nlet password = \"password\";\nlet api_key = config.api_key;\n");
    src.push_str(&format!(
        "let bad = \"ghp_{}\"; // fails its checksum\n",
        g.pick(AN, 36)
    ));
    src.push_str("let png = \"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\";\n");
    w.negative(&format!("{d}/src/constants.rs"), &src)?;
    w.negative(
        &format!("{d}/config/settings.py"),
        "import os\nSECRET_KEY = os.environ.get(\"DJANGO_SECRET_KEY\")\nDATABASES = {\"default\": {\"PASSWORD\": os.getenv(\"DB_PASSWORD\", \"\")}}\nSTRIPE_KEY = \"sk_test_xxxxxxxxxxxxxxxxxxxxxxxx\"\nAUTH_TOKEN_HEADER = \"X-Auth-Token\"\nPASSWORD_MIN_LENGTH = 12\n",
    )?;
    w.negative(
        &format!("{d}/helm/values.yaml"),
        "image:\n  repository: corp/orders\n  tag: 1.4.2\nsecrets:\n  password: \"{{ .Values.db.password }}\"\n  token: !vault |\n    $ANSIBLE_VAULT;1.1;AES256\ndatabase:\n  url: postgresql://app:${DB_PASSWORD}@db:5432/app\n  example: postgres://user:password@localhost/db\n",
    )?;
    w.negative(
        &format!("{d}/docs/TROUBLESHOOTING.md"),
        "If the token is expired, run `gh auth refresh`. The password reset URL is /account/reset.\nThe secret manager path is secret/data/orders. Token type: Bearer.\nSee the key rotation guide at https://docs.corp.example/keys.\n",
    )?;
    Ok(())
}
