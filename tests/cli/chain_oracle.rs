//! The credential chain resolver against botocore itself: for each scenario
//! (HOME, AWS_* variables, shared files, IMDS on the loopback test server),
//! a real process runs with that environment; rolecall reads it through
//! /proc and resolves its chain, botocore resolves the same environment in
//! a Python process, and the two must name the same source (or the same error).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::host::sleeper;
use crate::imds_server::{CONTAINER_PATH, Mode, Server};
use crate::util::*;

const ID: &str = "AKIA2OGYBAH6STMMNXNN";
const SECRET: &str = "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";
const ID2: &str = "AKIALALEMEL33243OLIB";
const SECRET2: &str = "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";

/// What botocore does for one scenario, in a clean Python process.
const ORACLE: &str = r#"
import json, botocore.session
try:
    c = botocore.session.get_session().get_credentials()
    print(json.dumps({"method": c.method if c else "none", "error": None}))
except Exception as e:
    print(json.dumps({"method": "error", "error": type(e).__name__}))
"#;

struct Scenario {
    name: &'static str,
    /// Variables beyond PATH, HOME and the IMDS endpoint; `{T}` is the scenario's directory.
    env: Vec<(&'static str, String)>,
    /// Files relative to the scenario's directory; `{T}` is replaced in contents too.
    files: Vec<(&'static str, String)>,
    /// Whether HOME is set (to `{T}/home`).
    home: bool,
    imds: Mode,
    /// The botocore method both must agree on ("error:Class" for an exception).
    expect: &'static str,
}

fn sc(name: &'static str, expect: &'static str) -> Scenario {
    Scenario { name, env: Vec::new(), files: Vec::new(), home: true, imds: Mode::TokenRequired, expect }
}

impl Scenario {
    fn env(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.env.push((k, v.into()));
        self
    }
    fn file(mut self, path: &'static str, text: impl Into<String>) -> Self {
        self.files.push((path, text.into()));
        self
    }
    fn imds(mut self, m: Mode) -> Self {
        self.imds = m;
        self
    }
    fn no_home(mut self) -> Self {
        self.home = false;
        self
    }
}

fn keys(id: &str, secret: &str) -> String {
    format!("aws_access_key_id = {id}\naws_secret_access_key = {secret}\n")
}

fn scenarios() -> Vec<Scenario> {
    let creds = "home/.aws/credentials";
    let config = "home/.aws/config";
    let process_script =
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESSKEYQQQQQQ\", \"SecretAccessKey\": \"x\"}'\n";
    vec![
        sc("no local credentials, role attached", "iam-role"),
        sc("no local credentials, no role", "none").imds(Mode::NoRole),
        sc("IMDS disabled by the environment", "none").env("AWS_EC2_METADATA_DISABLED", "true"),
        sc("IMDS disabled with a value that is not true", "iam-role").env("AWS_EC2_METADATA_DISABLED", "1"),
        sc("environment keys and a role", "env").env("AWS_ACCESS_KEY_ID", ID).env("AWS_SECRET_ACCESS_KEY", SECRET),
        sc("environment key ID without its secret", "error:PartialCredentialsError").env("AWS_ACCESS_KEY_ID", ID),
        sc("environment secret without its key ID", "iam-role").env("AWS_SECRET_ACCESS_KEY", SECRET),
        sc("credentials file [default]", "shared-credentials-file").file(creds, format!("[default]\n{}", keys(ID, SECRET))),
        sc("config file [default] keys", "config-file").file(config, format!("[default]\n{}", keys(ID, SECRET))),
        sc("both files [default]: the credentials file wins", "shared-credentials-file")
            .file(creds, format!("[default]\n{}", keys(ID, SECRET)))
            .file(config, format!("[default]\n{}", keys(ID2, SECRET2))),
        sc("config credential_process", "custom-process")
            .file("bin/creds", process_script)
            .file(config, "[default]\ncredential_process = {T}/bin/creds\n"),
        sc("role_arn with credential_source Ec2InstanceMetadata", "assume-role")
            .file(config, "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Ec2InstanceMetadata\n"),
        sc("role_arn with credential_source Ec2InstanceMetadata, no role", "error:CredentialRetrievalError")
            .imds(Mode::NoRole)
            .file(config, "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Ec2InstanceMetadata\n"),
        sc("AWS_PROFILE with role_arn and a static source_profile", "assume-role")
            .env("AWS_PROFILE", "x")
            .file(config, "[profile x]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = y\n")
            .file(creds, format!("[y]\n{}", keys(ID, SECRET))),
        sc("AWS_PROFILE and environment keys: the environment wins", "env")
            .env("AWS_PROFILE", "x")
            .env("AWS_ACCESS_KEY_ID", ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .file(creds, format!("[x]\n{}", keys(ID2, SECRET2))),
        sc("AWS_PROFILE names an undefined profile", "error:ProfileNotFound").env("AWS_PROFILE", "nope"),
        sc("undefined AWS_PROFILE even with environment keys", "error:ProfileNotFound")
            .env("AWS_PROFILE", "nope")
            .env("AWS_ACCESS_KEY_ID", ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET),
        sc("[profile x] in the credentials file is not profile x", "error:ProfileNotFound")
            .env("AWS_PROFILE", "x")
            .file(creds, format!("[profile x]\n{}", keys(ID, SECRET))),
        sc("[x] in the config file is not profile x", "error:ProfileNotFound")
            .env("AWS_PROFILE", "x")
            .file(config, format!("[x]\n{}", keys(ID, SECRET))),
        sc("config [profile default]", "config-file").file(config, format!("[profile default]\n{}", keys(ID, SECRET))),
        sc("AWS_SHARED_CREDENTIALS_FILE elsewhere", "shared-credentials-file")
            .env("AWS_SHARED_CREDENTIALS_FILE", "{T}/etc/creds")
            .file("etc/creds", format!("[default]\n{}", keys(ID, SECRET))),
        sc("AWS_CONFIG_FILE elsewhere, with $HOME expanded", "config-file")
            .env("AWS_CONFIG_FILE", "$HOME/../etc/aws.cfg")
            .file("etc/aws.cfg", format!("[default]\n{}", keys(ID, SECRET))),
        sc("web identity from the environment", "assume-role-with-web-identity")
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", "{T}/token")
            .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web")
            .file("token", "eyJhbGciOi.test.token"),
        sc("web identity file without a role ARN", "error:InvalidConfigError").env("AWS_WEB_IDENTITY_TOKEN_FILE", "{T}/token"),
        sc("web identity in the profile", "assume-role-with-web-identity")
            .file(config, "[default]\nweb_identity_token_file = {T}/token\nrole_arn = arn:aws:iam::123456789012:role/web\n"),
        sc("container credentials endpoint", "container-role").env("AWS_CONTAINER_CREDENTIALS_FULL_URI", "{IMDS}{CONTAINER}"),
        sc("legacy AWS_CREDENTIAL_FILE", "ec2-credentials-file")
            .env("AWS_CREDENTIAL_FILE", "{T}/legacy")
            .file("legacy", format!("AWSAccessKeyId={ID}\nAWSSecretKey={SECRET}\n")),
        sc("AWS_CREDENTIAL_FILE that does not exist", "error:ConfigNotFound").env("AWS_CREDENTIAL_FILE", "{T}/missing"),
        sc("~/.boto [Credentials]", "boto-config").file("home/.boto", format!("[Credentials]\n{}", keys(ID, SECRET))),
        sc("BOTO_CONFIG", "boto-config")
            .env("BOTO_CONFIG", "{T}/boto.cfg")
            .file("boto.cfg", format!("[Credentials]\n{}", keys(ID, SECRET))),
        sc("AWS_DEFAULT_PROFILE beats AWS_PROFILE", "shared-credentials-file")
            .env("AWS_DEFAULT_PROFILE", "a")
            .env("AWS_PROFILE", "b")
            .file("bin/creds", process_script)
            .file(creds, format!("[a]\n{}", keys(ID, SECRET)))
            .file(config, "[profile b]\ncredential_process = {T}/bin/creds\n"),
        sc("credentials-file keys beat config credential_process", "shared-credentials-file")
            .file("bin/creds", process_script)
            .file(creds, format!("[default]\n{}", keys(ID, SECRET)))
            .file(config, "[default]\ncredential_process = {T}/bin/creds\n"),
        sc("config credential_process beats config keys", "custom-process")
            .file("bin/creds", process_script)
            .file(config, format!("[default]\ncredential_process = {{T}}/bin/creds\n{}", keys(ID, SECRET))),
        sc("role_arn beats the profile's own keys", "assume-role").file(
            config,
            format!("[default]\n{}role_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Ec2InstanceMetadata\n", keys(ID, SECRET)),
        ),
        sc("HOME unset, no files", "iam-role").no_home(),
        sc("duplicate section in the credentials file", "error:ConfigParseError")
            .file(creds, format!("[default]\n{}[default]\nregion = x\n", keys(ID, SECRET))),
        sc("option before any section in the config file", "error:ConfigParseError").file(config, "region = x\n"),
        sc("both source_profile and credential_source", "error:InvalidConfigError").file(
            config,
            "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = default\ncredential_source = Environment\n",
        ),
        sc("role_arn with no source", "error:PartialCredentialsError")
            .file(config, "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\n"),
        sc("source_profile that does not exist", "error:InvalidConfigError")
            .file(config, "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = gone\n"),
        sc("key ID without its secret in the credentials file", "error:PartialCredentialsError")
            .file(creds, format!("[default]\naws_access_key_id = {ID}\n")),
        sc("[DEFAULT] is not the default profile", "iam-role").file(creds, format!("[DEFAULT]\n{}", keys(ID, SECRET))),
        sc("credential_source Environment: the environment provider comes first", "env")
            .env("AWS_ACCESS_KEY_ID", ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .file(config, "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Environment\n"),
        sc("SSO profile", "sso").file(
            config,
            "[default]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Admin\n",
        ),
        sc("SSO profile missing its region", "error:InvalidConfigError").file(
            config,
            "[default]\nsso_start_url = https://example.awsapps.com/start\nsso_account_id = 123456789012\nsso_role_name = Admin\n",
        ),
        sc("SSO through an sso-session", "sso").file(
            config,
            "[default]\nsso_session = s\nsso_account_id = 123456789012\nsso_role_name = Admin\n[sso-session s]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n",
        ),
        sc("token PUT dropped, IMDSv1 open: botocore falls back", "iam-role").imds(Mode::DropPutV1Open),
        sc("self-referencing source_profile with its own keys", "assume-role")
            .file(config, format!("[default]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = default\n{}", keys(ID, SECRET))),
        sc("source_profile chain through another role", "assume-role").env("AWS_PROFILE", "a").file(
            config,
            "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\ncredential_source = Ec2InstanceMetadata\n",
        ),
        sc("source_profile loop", "error:InfiniteLoopConfigError").env("AWS_PROFILE", "a").file(
            config,
            "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = a\n",
        ),
    ]
}

/// botocore's answer for `env`, as "method" or "error:Class".
fn botocore(python: &std::path::Path, env: &[(String, String)]) -> String {
    let out = Command::new(python)
        .args(["-c", ORACLE])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stderr(Stdio::null())
        .output()
        .expect("run python");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("oracle output {:?}: {e}", String::from_utf8_lossy(&out.stdout)));
    match v["error"].as_str() {
        Some(class) => format!("error:{class}"),
        None => v["method"].as_str().unwrap().to_string(),
    }
}

/// rolecall's botocore answer, in the same form.
fn ours(chain: &Value) -> String {
    let r = &chain["resolution"];
    assert_eq!(r["sdk"], "botocore", "botocore is the reference for a process of unknown runtime");
    match r["source"]["error"].as_str() {
        Some(e) => format!("error:{}", e.split(':').next().unwrap()),
        None => r["method"].as_str().unwrap().to_string(),
    }
}

#[test]
fn chain_agrees_with_botocore_on_every_scenario() {
    let Some(python) = oracle_python() else { return };
    let all = scenarios();
    assert!(all.len() >= 30, "at least 30 scenarios");
    let mut by_mode: BTreeMap<String, Vec<&Scenario>> = BTreeMap::new();
    for s in &all {
        by_mode.entry(format!("{:?}", s.imds)).or_default().push(s);
    }
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for group in by_mode.values() {
        let server = Server::start(group[0].imds);
        let url = server.url();
        // Set up every scenario of this IMDS mode, each in its own process.
        let mut running = Vec::new();
        for s in group {
            let t = Tree::new();
            let root = t.root().display().to_string();
            let fill = |v: &str| v.replace("{T}", &root).replace("{IMDS}", &url).replace("{CONTAINER}", CONTAINER_PATH);
            std::fs::create_dir_all(t.path("home")).unwrap();
            for (path, text) in &s.files {
                let p = t.write(path, fill(text));
                if path.starts_with("bin/") {
                    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
                }
            }
            let mut env: Vec<(String, String)> = vec![
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("AWS_EC2_METADATA_SERVICE_ENDPOINT".into(), url.clone()),
            ];
            if s.home {
                env.push(("HOME".into(), format!("{root}/home")));
            }
            env.extend(s.env.iter().map(|(k, v)| (k.to_string(), fill(v))));
            let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let child = sleeper(&pairs);
            running.push((s, t, env, child));
        }
        let mut cmd = rolecall_with_imds(&url);
        cmd.args(["scan", "--format", "json", "--sources", "processes", "--imds-endpoint", &url]);
        let run = run_with_limit(cmd, Duration::from_secs(60));
        let report = run.json();
        for (s, _t, env, child) in &running {
            let pid = child.0.id();
            let chain = report["chains"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["subject"]["pid"] == pid)
                .unwrap_or_else(|| panic!("{}: no chain for pid {pid}", s.name));
            let ours = ours(chain);
            let theirs = botocore(&python, env);
            checked += 1;
            if ours != theirs || theirs != s.expect {
                disagreements.push(format!("{}: rolecall {ours}, botocore {theirs}, expected {}", s.name, s.expect));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {checked} scenarios disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    eprintln!("{checked} scenarios: rolecall and botocore agree on every one");
}
