//! rolecall's models of the SDKs no registry here offers (Java v2 and v1,
//! .NET v4 and v3, PHP), against what their source says (the versions each
//! model's module names): for each scenario a real process holds the
//! environment (and a JVM-style command line), rolecall reads it through
//! /proc with the loopback IMDS server attached, and every model must name
//! the source its SDK's code picks, where the SDKs part ways.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::imds_server::{Mode, Server};
use crate::util::*;

const ID: &str = "AKIA2OGYBAH6STMMNXNN";
const SECRET: &str = "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";
const ID2: &str = "AKIALALEMEL33243OLIB";
const SECRET2: &str = "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";
const SDKS: [&str; 5] = ["java-v2", "java-v1", "dot-net-v4", "dot-net-v3", "php"];

struct Case {
    name: &'static str,
    env: Vec<(&'static str, String)>,
    /// `-D` arguments on the command line of a process called `java`.
    props: Vec<String>,
    files: Vec<(&'static str, String)>,
    /// The source type (and key ID, for static keys) each of SDKS picks.
    expect: [&'static str; 5],
}

fn keys(id: &str, secret: &str) -> String {
    format!("aws_access_key_id = {id}\naws_secret_access_key = {secret}\n")
}

fn cases() -> Vec<Case> {
    let case = |name, expect| Case { name, env: Vec::new(), props: Vec::new(), files: Vec::new(), expect };
    let creds = "home/.aws/credentials";
    let config = "home/.aws/config";
    vec![
        // Java v2 reads its system properties first; v1 the environment first.
        Case {
            env: vec![("AWS_ACCESS_KEY_ID", ID.into()), ("AWS_SECRET_ACCESS_KEY", SECRET.into())],
            props: vec![format!("-Daws.accessKeyId={ID2}"), format!("-Daws.secretAccessKey={SECRET2}")],
            ..case(
                "environment keys and system properties",
                [
                    "system-properties AKIALALEMEL33243OLIB",
                    "environment AKIA2OGYBAH6STMMNXNN",
                    "environment AKIA2OGYBAH6STMMNXNN",
                    "environment AKIA2OGYBAH6STMMNXNN",
                    "environment AKIA2OGYBAH6STMMNXNN",
                ],
            )
        },
        // v1's own property name for the secret.
        Case {
            props: vec![format!("-Daws.accessKeyId={ID}"), format!("-Daws.secretKey={SECRET}")],
            ..case(
                "aws.secretKey, Java v1's property",
                [
                    "instance-role",
                    "system-properties AKIA2OGYBAH6STMMNXNN",
                    "instance-role",
                    "instance-role",
                    "instance-role",
                ],
            )
        },
        // Only Java v1 (of these) reads the older names.
        Case {
            env: vec![("AWS_ACCESS_KEY", ID.into()), ("AWS_SECRET_KEY", SECRET.into())],
            ..case(
                "AWS_ACCESS_KEY and AWS_SECRET_KEY",
                [
                    "instance-role",
                    "environment AKIA2OGYBAH6STMMNXNN",
                    "instance-role",
                    "instance-role",
                    "instance-role",
                ],
            )
        },
        // .NET v3 reads the profile before the environment; v4 reversed it.
        Case {
            env: vec![("AWS_ACCESS_KEY_ID", ID.into()), ("AWS_SECRET_ACCESS_KEY", SECRET.into())],
            files: vec![(creds, format!("[default]\n{}", keys(ID2, SECRET2)))],
            ..case(
                "environment keys and [default] keys",
                [
                    "environment AKIA2OGYBAH6STMMNXNN",
                    "environment AKIA2OGYBAH6STMMNXNN",
                    "environment AKIA2OGYBAH6STMMNXNN",
                    "shared-credentials-file AKIALALEMEL33243OLIB",
                    "environment AKIA2OGYBAH6STMMNXNN",
                ],
            )
        },
        // PHP and Java (v1 `ProfilesConfigFile.fromProfile`, v2 `ProfileCredentialsUtils`)
        // take credential_process before the same profile's keys.
        Case {
            files: vec![(creds, format!("[default]\ncredential_process = /opt/bin/creds\n{}", keys(ID, SECRET)))],
            ..case(
                "credential_process and keys in one profile",
                [
                    "credential-process",
                    "credential-process",
                    "credential-process",
                    "credential-process",
                    "credential-process",
                ],
            )
        },
        // Web identity from the environment comes before the profile in all
        // five (.NET v4: the environment's keys, then web identity, then the profile).
        Case {
            env: vec![
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token".into()),
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web".into()),
            ],
            files: vec![(creds, format!("[default]\n{}", keys(ID, SECRET)))],
            ..case(
                "web identity in the environment and [default] keys",
                ["web-identity", "web-identity", "web-identity", "web-identity", "web-identity"],
            )
        },
        // PHP reads the config file's [profile default] only; Java v1 no config file at all.
        Case {
            files: vec![(config, format!("[default]\n{}", keys(ID, SECRET)))],
            ..case(
                "config [default] keys",
                [
                    "config-file AKIA2OGYBAH6STMMNXNN",
                    "instance-role",
                    "config-file AKIA2OGYBAH6STMMNXNN",
                    "config-file AKIA2OGYBAH6STMMNXNN",
                    "instance-role",
                ],
            )
        },
        Case {
            files: vec![(config, format!("[profile default]\n{}", keys(ID, SECRET)))],
            ..case(
                "config [profile default] keys",
                [
                    "config-file AKIA2OGYBAH6STMMNXNN",
                    "instance-role",
                    "config-file AKIA2OGYBAH6STMMNXNN",
                    "config-file AKIA2OGYBAH6STMMNXNN",
                    "config-file AKIA2OGYBAH6STMMNXNN",
                ],
            )
        },
        // .NET v4 web identity wants an absolute token path; then the profile's keys.
        Case {
            env: vec![
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "token".into()),
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web".into()),
            ],
            files: vec![(creds, format!("[default]\n{}", keys(ID, SECRET)))],
            ..case(
                "a relative web identity token path and [default] keys",
                [
                    "web-identity",
                    "web-identity",
                    "shared-credentials-file AKIA2OGYBAH6STMMNXNN",
                    "web-identity",
                    "web-identity",
                ],
            )
        },
        // A profile AWS_PROFILE names that does not exist ends .NET v4's chain.
        Case {
            env: vec![("AWS_PROFILE", "nightly".into())],
            ..case(
                "AWS_PROFILE names no profile",
                ["instance-role", "instance-role", "error", "instance-role", "instance-role"],
            )
        },
        // A blank AWS_PROFILE is "default" to .NET v4.
        Case {
            env: vec![("AWS_PROFILE", " ".into())],
            files: vec![(creds, format!("[default]\n{}", keys(ID, SECRET)))],
            ..case(
                "a blank AWS_PROFILE and [default] keys",
                [
                    "instance-role",
                    "instance-role",
                    "shared-credentials-file AKIA2OGYBAH6STMMNXNN",
                    "instance-role",
                    "instance-role",
                ],
            )
        },
        // A full URI over http only to a loopback, ECS or EKS address: Java v2
        // goes on to IMDS past one it refuses, v1, .NET v4 and PHP stop (.NET
        // v3 as read never reads the full URI). PHP: `EcsCredentialProvider`
        // of 3.x with retries, its `isCompatibleUri`.
        Case {
            env: vec![("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials".into())],
            ..case(
                "a full container URI on the EKS Pod Identity agent's address",
                ["container", "container", "container", "instance-role", "container"],
            )
        },
        Case {
            env: vec![("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.1.2.3/creds".into())],
            ..case(
                "a full container URI on another address over http",
                ["instance-role", "error", "error", "instance-role", "error"],
            )
        },
        Case {
            env: vec![("AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://creds.example.com/v1".into())],
            ..case(
                "a full container URI over https",
                ["container", "container", "container", "instance-role", "container"],
            )
        },
        Case {
            env: vec![("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://localhost:9731/creds".into())],
            ..case(
                "a full container URI on loopback (a local credential server)",
                ["container", "container", "container", "instance-role", "container"],
            )
        },
        // Java v1 reads its own variable for the credentials file.
        Case {
            env: vec![("AWS_CREDENTIAL_PROFILES_FILE", "{T}/java-creds".into())],
            files: vec![("java-creds", format!("[default]\n{}", keys(ID, SECRET)))],
            ..case(
                "AWS_CREDENTIAL_PROFILES_FILE",
                [
                    "instance-role",
                    "shared-credentials-file AKIA2OGYBAH6STMMNXNN",
                    "instance-role",
                    "instance-role",
                    "instance-role",
                ],
            )
        },
    ]
}

/// A source as "type" or "type KEY_ID".
fn described(source: &Value) -> String {
    let kind = source["type"].as_str().unwrap();
    match source["key_id"].as_str() {
        Some(k) => format!("{kind} {k}"),
        None => kind.to_string(),
    }
}

fn model_of(chain: &Value, sdk: &str) -> String {
    let other = chain["other_sdks"].as_array().unwrap().iter().find(|r| r["sdk"] == sdk);
    described(&other.unwrap_or(&chain["resolution"])["source"])
}

#[test]
fn the_java_dotnet_and_php_models_follow_their_sdks_source() {
    let server = Server::start(Mode::TokenRequired);
    let url = server.url();
    let python = std::env::var_os("ROLECALL_TEST_PYTHON").unwrap_or_else(|| "python3".into());
    let mut running = Vec::new();
    for c in cases() {
        let t = Tree::new();
        let root = t.root().display().to_string();
        std::fs::create_dir_all(t.path("home")).unwrap();
        for (path, text) in &c.files {
            t.write(path, text.replace("{T}", &root));
        }
        // A process called `java` (python sleeping under that name), with the properties as its arguments.
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(&python);
        cmd.arg0("java").args(["-c", "import time\ntime.sleep(300)"]).args(&c.props).arg("-jar").arg("app.jar");
        cmd.env_clear().env("HOME", t.path("home")).env("PATH", "/usr/bin:/bin");
        cmd.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url);
        cmd.envs(c.env.iter().map(|(k, v)| (*k, v.replace("{T}", &root))));
        let child = Child(cmd.stdin(Stdio::null()).stdout(Stdio::null()).spawn().unwrap());
        let cmdline = format!("/proc/{}/cmdline", child.0.id());
        let start = std::time::Instant::now();
        while !std::fs::read(&cmdline).unwrap_or_default().ends_with(b"app.jar\0")
            && start.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        running.push((c, t, child));
    }
    let mut cmd = rolecall_with_imds(&url);
    cmd.args(["scan", "--format", "json", "--sources", "processes", "--imds-endpoint", &url]);
    let report = run_with_limit(cmd, Duration::from_secs(60)).json();
    let mut wrong = Vec::new();
    for (c, _tree, child) in &running {
        let chain = report["chains"].as_array().unwrap().iter().find(|x| x["subject"]["pid"] == child.0.id()).unwrap();
        for (sdk, expect) in SDKS.iter().zip(c.expect) {
            let ours = model_of(chain, sdk);
            if ours != expect {
                wrong.push(format!("{}: {sdk}: model {ours}, its source {expect}", c.name));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} answers differ:\n{}",
        wrong.len(),
        running.len() * SDKS.len(),
        wrong.join("\n")
    );
}
