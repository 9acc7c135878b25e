//! `--ssm-compliance` against a loopback Systems Manager endpoint
//! (tests/oracles/ssm_server.py) that recomputes each SigV4 signature with
//! botocore's signer and validates the body against botocore's `ssm` model:
//! the verdict and every live key arrive, signed with the instance role's
//! session; a refused call (403) leaves the verdict and the exit code as they were.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::imds_server::{Mode, ROLE_SECRET, ROLE_SESSION_KEY, ROLE_TOKEN, Server};
use crate::util::*;

/// The loopback SSM endpoint: its URL, and the log of what it was sent.
struct Ssm {
    _child: Child,
    url: String,
    log: std::path::PathBuf,
    _dir: Tree,
}

impl Ssm {
    fn start(python: &Path, mode: &str) -> Ssm {
        let dir = Tree::new();
        let log = dir.path("requests.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracles/ssm_server.py");
        let mut child = Command::new(python)
            .arg(script)
            .args([mode, log.to_str().unwrap()])
            .env("SSM_KEY", ROLE_SESSION_KEY)
            .env("SSM_SECRET", ROLE_SECRET)
            .env("SSM_TOKEN", ROLE_TOKEN)
            .env("SSM_REGION", "us-east-1")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tests/oracles/ssm_server.py");
        let mut port = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut port).unwrap();
        let url = format!("http://127.0.0.1:{}", port.trim());
        Ssm { _child: Child(child), url, log, _dir: dir }
    }

    /// Every request the server received, as it logged them.
    fn requests(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

fn scan(imds: &Server, ssm: &Ssm, root: &Path, format: &str) -> Run {
    let mut cmd = rolecall_with_imds(&imds.url());
    cmd.args(["scan", "--format", format, "--ssm-compliance", "--ssm-endpoint", &ssm.url, "--imds-endpoint"])
        .arg(imds.url())
        .arg(root);
    let run = run_with_limit(cmd, Duration::from_secs(60));
    for secret in [ROLE_SECRET, &ROLE_TOKEN[..24], "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "a secret reached the output");
    }
    run
}

#[test]
fn the_verdict_and_every_live_key_reach_ssm_compliance_signed_with_the_role() {
    let Some(python) = oracle_python() else { return };
    let imds = Server::start_with_role(Mode::TokenRequired, ROLE_SESSION_KEY, ROLE_SECRET, ROLE_TOKEN);
    let ssm = Ssm::start(&python, "accept");
    let (a, b) = (key_id_for_account("AKIA", 210987654321, 1), key_id_for_account("AKIA", 210987654321, 2));
    let t = Tree::new();
    t.write(
        "home/app/.aws/credentials",
        format!(
            "[default]\naws_access_key_id = {a}\naws_secret_access_key = Qk9wZ2R0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\n"
        ),
    );
    t.write(
        "opt/app/.env",
        format!("AWS_ACCESS_KEY_ID={b}\nAWS_SECRET_ACCESS_KEY=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy\n"),
    );

    let run = scan(&imds, &ssm, t.root(), "json");
    assert_eq!(run.code, 1, "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["verdict"]["verdict"], "static-credentials-despite-role");
    assert_eq!(r["ssm_compliance"], serde_json::json!({ "status": "sent", "endpoint": ssm.url, "items": 3 }));
    let schema = crate::reports::validator(&Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"));
    crate::reports::assert_valid(&schema, &r, "a report with ssm_compliance sent");

    let requests = ssm.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let req = &requests[0];
    assert_eq!(req["target"], "AmazonSSM.PutComplianceItems");
    assert_eq!(req["signature_ok"], true, "{req:#}");
    assert_eq!(req["errors"], serde_json::json!([]), "botocore's model refused the body: {req:#}");
    let body = &req["body"];
    assert_eq!(body["ResourceId"], "i-0123456789abcdef0");
    assert_eq!(body["ResourceType"], "ManagedInstance");
    assert_eq!(body["ComplianceType"], "Custom:Rolecall");
    assert_eq!(body["UploadType"], "COMPLETE");
    assert_eq!(body["ExecutionSummary"]["ExecutionType"], "Command");
    let items = body["Items"].as_array().unwrap();
    assert_eq!(items[0]["Id"], "verdict");
    assert_eq!(items[0]["Status"], "NON_COMPLIANT");
    assert_eq!(items[0]["Details"]["Verdict"], "static-credentials-despite-role");
    assert_eq!(items[0]["Details"]["ExitCode"], "1");
    let mut keys: Vec<&str> = items[1..].iter().map(|i| i["Id"].as_str().unwrap()).collect();
    keys.sort();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort();
    assert_eq!(keys, want);
    for item in &items[1..] {
        assert_eq!(item["Status"], "NON_COMPLIANT");
        assert!(["CRITICAL", "HIGH"].contains(&item["Severity"].as_str().unwrap()), "{item}");
    }
    let env_item = items.iter().find(|i| i["Id"] == b.as_str()).unwrap();
    assert!(env_item["Details"]["Locations"].as_str().unwrap().ends_with("opt/app/.env"), "{env_item}");
    // The role's session signed it; neither found key was ever used to sign.
    let sent = std::fs::read_to_string(&ssm.log).unwrap();
    assert!(!sent.contains("Qk9wZ2R0c2VjcmV0") && !sent.contains("Zm9vYmFyYmF6cXV4"), "a found secret was sent");

    // A clean host: the verdict item is compliant, and a scan that passes exits 0.
    let clean = Tree::new();
    clean.write("etc/hostname", "web-1\n");
    let run = scan(&imds, &ssm, clean.root(), "text");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!("ssm compliance: 1 items of Custom:Rolecall put to {}", ssm.url)),
        "{}",
        run.stdout
    );
    let last = ssm.requests().pop().unwrap();
    assert_eq!(last["signature_ok"], true);
    assert_eq!(last["body"]["Items"].as_array().unwrap().len(), 1);
    assert_eq!(last["body"]["Items"][0]["Status"], "COMPLIANT");
    assert_eq!(last["body"]["Items"][0]["Severity"], "INFORMATIONAL");
}

#[test]
fn a_refused_compliance_call_changes_neither_the_verdict_nor_the_exit_code() {
    let Some(python) = oracle_python() else { return };
    let imds = Server::start_with_role(Mode::TokenRequired, ROLE_SESSION_KEY, ROLE_SECRET, ROLE_TOKEN);
    let ssm = Ssm::start(&python, "refuse");
    let dirty = Tree::new();
    let key = key_id_for_account("AKIA", 210987654321, 3);
    dirty.write(
        "opt/app/.env",
        format!("AWS_ACCESS_KEY_ID={key}\nAWS_SECRET_ACCESS_KEY=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy\n"),
    );
    let clean = Tree::new();
    clean.write("etc/hostname", "web-1\n");

    for (tree, code, verdict) in [(&dirty, 1, "static-credentials-despite-role"), (&clean, 0, "pass")] {
        let without = {
            let mut cmd = rolecall_with_imds(&imds.url());
            cmd.args(["scan", "--format", "json", "--imds-endpoint"]).arg(imds.url()).arg(tree.root());
            run_with_limit(cmd, Duration::from_secs(60))
        };
        let run = scan(&imds, &ssm, tree.root(), "json");
        assert_eq!((run.code, without.code), (code, code), "{}", run.stderr);
        let (r, w) = (run.json(), without.json());
        assert_eq!(r["verdict"], w["verdict"], "the compliance call changed the verdict");
        assert_eq!(r["verdict"]["verdict"], verdict);
        assert_eq!(r["ssm_compliance"]["status"], "failed");
        assert_eq!(r["ssm_compliance"]["error"], "PutComplianceItems answered 403 AccessDeniedException");
        let schema = crate::reports::validator(&Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"));
        crate::reports::assert_valid(&schema, &r, "a report with ssm_compliance failed");
        assert!(run.stderr.contains("SSM compliance not reported"), "{}", run.stderr);
        // Text says so, after the verdict, and exits the same way.
        let text = scan(&imds, &ssm, tree.root(), "text");
        assert_eq!(text.code, code);
        assert!(
            text.stdout.contains(
                "ssm compliance: not reported: PutComplianceItems answered 403 AccessDeniedException (the verdict above stands)"
            ),
            "{}",
            text.stdout
        );
    }
    // Every call was still well formed and signed: the refusal was the service's.
    let requests = ssm.requests();
    assert_eq!(requests.len(), 4);
    assert!(
        requests.iter().all(|r| r["signature_ok"] == true && r["errors"] == serde_json::json!([])),
        "{requests:#?}"
    );
}

#[test]
fn without_role_credentials_nothing_is_sent_and_the_report_says_why() {
    let Some(python) = oracle_python() else { return };
    let ssm = Ssm::start(&python, "accept");
    let t = Tree::new();
    t.write("etc/hostname", "web-1\n");
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--ssm-compliance", "--ssm-endpoint", &ssm.url]).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(60));
    let r = run.json();
    assert_eq!(r["ssm_compliance"]["status"], "failed");
    assert_eq!(r["ssm_compliance"]["error"], "the instance's region is not known (IMDS did not tell it)");
    assert_eq!(run.code, r["verdict"]["exit_code"].as_i64().unwrap() as i32);
    assert!(ssm.requests().is_empty());
    // --ssm-endpoint alone is refused: it means nothing without --ssm-compliance.
    let mut cmd = rolecall();
    cmd.args(["scan", "--no-imds", "--ssm-endpoint", &ssm.url]).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(60));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--ssm-compliance"), "{}", run.stderr);
}

#[test]
fn more_live_keys_than_one_request_carries_are_counted_on_the_verdict_item() {
    let Some(python) = oracle_python() else { return };
    let imds = Server::start_with_role(Mode::TokenRequired, ROLE_SESSION_KEY, ROLE_SECRET, ROLE_TOKEN);
    let ssm = Ssm::start(&python, "accept");
    let t = Tree::new();
    let mut env = String::new();
    for i in 0..1005u64 {
        let secret: String = format!("{i:0>8}Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4");
        env.push_str(&format!(
            "[p{i}]\naws_access_key_id = {}\naws_secret_access_key = {secret}\n",
            key_id_for_account("AKIA", 210987654321, i + 10)
        ));
    }
    t.write("srv/app/credentials", env);
    let run = scan(&imds, &ssm, t.root(), "json");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json()["ssm_compliance"]["status"], "sent", "{}", run.stderr);
    let req = ssm.requests().pop().unwrap();
    assert_eq!((&req["signature_ok"], &req["errors"]), (&Value::Bool(true), &serde_json::json!([])));
    let items = req["body"]["Items"].as_array().unwrap();
    assert_eq!(items.len(), 1001, "the verdict and the first 1,000 keys");
    assert_eq!(items[0]["Details"]["ItemsOmitted"], "5");
}

#[test]
fn a_compliance_call_that_hangs_ends_with_the_runs_deadline() {
    let Some(python) = oracle_python() else { return };
    let imds = Server::start_with_role(Mode::TokenRequired, ROLE_SESSION_KEY, ROLE_SECRET, ROLE_TOKEN);
    let ssm = Ssm::start(&python, "hang");
    let t = Tree::new();
    t.write("etc/hostname", "web-1\n");
    let mut cmd = rolecall_with_imds(&imds.url());
    cmd.args(["scan", "--format", "json", "--max-seconds", "2", "--ssm-compliance", "--ssm-endpoint", &ssm.url])
        .arg("--imds-endpoint")
        .arg(imds.url())
        .arg(t.root());
    // The server holds the request for a minute; the run's deadline (2 s),
    // not the call's own 5-second cap, ends it.
    let run = run_with_limit(cmd, Duration::from_secs(30));
    assert!(run.elapsed < Duration::from_millis(4500), "{:?}", run.elapsed);
    let r = run.json();
    assert_eq!(r["ssm_compliance"]["status"], "failed", "{}", run.stderr);
    assert_eq!(run.code, 0, "a clean tree still passes: {}", run.stderr);
    assert_eq!(ssm.requests().len(), 1, "the request was sent and never answered");
}
