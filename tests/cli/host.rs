//! The host scan: real child processes read through /proc, and a whole
//! fixture host built in a temporary directory and scanned with --root.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

const ID: &str = "AKIA2OGYBAH6STMMNXNN";
const SECRET: &str = "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";
const ID2: &str = "AKIALALEMEL33243OLIB";
const SECRET2: &str = "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";

/// `/bin/sleep` with exactly `env`, killed when dropped.
pub fn sleeper(env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new("/bin/sleep");
    cmd.arg("300").env_clear().envs(env.iter().copied()).stdin(Stdio::null()).stdout(Stdio::null());
    let child = Child(cmd.spawn().expect("start /bin/sleep"));
    // Wait until the kernel shows the new program's environment.
    let environ = format!("/proc/{}/environ", child.0.id());
    let start = std::time::Instant::now();
    while std::fs::read(&environ).map(|e| e.is_empty()).unwrap_or(true) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn scan_processes(extra: &[&str]) -> Value {
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--sources", "processes"]).args(extra);
    let run = run_with_limit(cmd, Duration::from_secs(60));
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    run.json()
}

fn chain_of(report: &Value, pid: u32) -> Value {
    report["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"]["type"] == "process" && c["subject"]["pid"] == pid)
        .unwrap_or_else(|| panic!("no chain for pid {pid}"))
        .clone()
}

#[test]
fn keys_in_running_processes_are_found_with_attribution() {
    let env = [("AWS_ACCESS_KEY_ID", ID), ("AWS_SECRET_ACCESS_KEY", SECRET), ("PATH", "/usr/bin:/bin")];
    let a = sleeper(&env);
    let b = sleeper(&env);
    let report = scan_processes(&[]);
    let findings: Vec<&Value> = report["findings"].as_array().unwrap().iter().filter(|f| f["key_id"] == ID).collect();
    assert_eq!(findings.len(), 1, "two processes of one program share one finding: {findings:#?}");
    let f = findings[0];
    assert_eq!(f["kind"], "long-term");
    assert_eq!(f["has_secret"], true);
    let loc = &f["location"];
    assert_eq!(loc["type"], "process");
    assert_eq!(loc["variable"], "AWS_ACCESS_KEY_ID");
    assert_eq!(loc["exe"], std::fs::canonicalize("/bin/sleep").unwrap().display().to_string());
    assert!(loc["command"].as_str().unwrap().contains("sleep 300"));
    let me = nix::unistd::User::from_uid(nix::unistd::getuid()).unwrap().map(|u| u.name);
    assert_eq!(loc["user"].as_str(), me.as_deref());
    assert!(loc["start_time"].as_str().unwrap().ends_with('Z'));
    let cgroup = std::fs::read_to_string(format!("/proc/{}/cgroup", a.0.id())).unwrap();
    let (unit, container) = rolecall::sources::procenv::parse_cgroup(&cgroup);
    assert_eq!(loc["unit"].as_str(), unit.as_deref());
    assert_eq!(loc["container"].as_str(), container.as_deref());
    let pids: Vec<u64> = f["processes"].as_array().unwrap().iter().map(|p| p["pid"].as_u64().unwrap()).collect();
    assert!(pids.contains(&u64::from(a.0.id())) && pids.contains(&u64::from(b.0.id())), "{pids:?}");
    // The chain: both processes use the environment's key.
    let c = chain_of(&report, a.0.id());
    assert_eq!(c["resolution"]["method"], "env");
    assert_eq!(c["resolution"]["source"]["key_id"], ID);
    assert_eq!(c["resolution"]["shadowing"], "static-keys");
    assert_eq!(chain_of(&report, b.0.id())["resolution"]["method"], "env");
    assert!(f["used_by"].as_array().unwrap().len() >= 2);
    // (Other tests' processes may run alongside: count at least ours.)
    assert!(report["verdict"]["processes_using_static_keys"].as_u64().unwrap() >= 2);
}

#[test]
fn aws_profile_pointing_at_a_static_profile_resolves_to_its_key() {
    let t = Tree::new();
    t.write(
        "home/app/.aws/credentials",
        format!("[default]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n\n[static-prof]\naws_access_key_id = {ID2}\naws_secret_access_key = {SECRET2}\n"),
    );
    t.write("home/app/.aws/config", "[profile static-prof]\nregion = eu-west-1\n");
    let home = t.path("home/app");
    let home = home.to_str().unwrap();
    let p = sleeper(&[("HOME", home), ("AWS_PROFILE", "static-prof"), ("PATH", "/usr/bin:/bin")]);
    // Scan the processes and the home they point at.
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--sources", "processes,files"]).arg(t.path("home"));
    let report = run_with_limit(cmd, Duration::from_secs(60)).json();
    let c = chain_of(&report, p.0.id());
    let r = &c["resolution"];
    assert_eq!(r["method"], "shared-credentials-file");
    assert_eq!(r["profile"], "static-prof");
    assert_eq!(r["source"]["key_id"], ID2, "the profile's key, not the default's");
    assert_eq!(r["source"]["path"], t.path("home/app/.aws/credentials").display().to_string());
    let f = report["findings"].as_array().unwrap().iter().find(|f| f["key_id"] == ID2).unwrap();
    assert_eq!(f["location"]["line"], 6);
    let used: Vec<&str> = f["used_by"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    assert!(used.iter().any(|u| u.starts_with(&format!("pid {}", p.0.id()))), "{used:?}");
    let default = report["findings"].as_array().unwrap().iter().find(|f| f["key_id"] == ID).unwrap();
    assert_eq!(default["used_by"], serde_json::json!([]), "nothing selects [default]");
}

#[test]
fn partial_environment_keys_are_reported_per_sdk() {
    // botocore fails on an ID without its secret; the Rust and JS SDKs go on to IMDS.
    let p =
        sleeper(&[("AWS_ACCESS_KEY_ID", "AKIAJ7ZXQ4YTWB6NHSRE"), ("HOME", "/nonexistent"), ("PATH", "/usr/bin:/bin")]);
    let report = scan_processes(&[]);
    let c = chain_of(&report, p.0.id());
    assert_eq!(c["resolution"]["sdk"], "botocore", "sleep's runtime is unknown: botocore is the reference");
    assert!(c["resolution"]["source"]["error"].as_str().unwrap().starts_with("PartialCredentialsError"));
    let others: Vec<&str> = c["other_sdks"].as_array().unwrap().iter().map(|o| o["sdk"].as_str().unwrap()).collect();
    assert_eq!(others, ["rust", "java-script-v3"]);
}

#[test]
fn credential_process_is_named_never_run() {
    let t = Tree::new();
    let marker = t.path("ran");
    let script = t.write("bin/creds.sh", format!("#!/bin/sh\ntouch {}\necho '{{\"Version\": 1}}'\n", marker.display()));
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    t.write("home/u/.aws/config", format!("[default]\ncredential_process = {}\n", script.display()));
    let p = sleeper(&[("HOME", t.path("home/u").to_str().unwrap()), ("PATH", "/usr/bin:/bin")]);
    let report = scan_processes(&[]);
    let c = chain_of(&report, p.0.id());
    assert_eq!(c["resolution"]["method"], "custom-process");
    assert_eq!(c["resolution"]["source"]["command"], script.display().to_string());
    assert!(!Path::new(&marker).exists(), "rolecall ran the credential_process");
}
