//! Every report format on one fixture host: golden files, the JSON report
//! against its schema, SARIF against the official 2.1.0 schema, ASFF's
//! required fields, SSM inventory within the agent's limits, --output,
//! --summary, baselines, and the fleet summary over many reports.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::imds_server::{self, Mode, Server};
use crate::util::*;

const SECRET: &str = "5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f";

/// A small host: a live key pair, a secret alone, a key ID alone, the SSM
/// agent's expected credentials, a user whose shell exports a key, and the
/// same user's IAM Identity Center sign-in cached in their home.
fn golden_host() -> Tree {
    let t = Tree::new();
    t.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\napp:x:1001:1001::/home/app:/bin/bash\n");
    t.write(
        "home/app/.aws/credentials",
        format!("[default]\naws_access_key_id = AKIA2OGYBAH6STMMNXNN\naws_secret_access_key = {SECRET}\n"),
    );
    t.write("home/app/.bashrc", "export AWS_PROFILE=default\n");
    t.write(
        "home/app/.aws/sso/cache/3c1a7e0f4b2d9e8a6c5f1b0d7e2a9c4f8b6d3e1a.json",
        r#"{"startUrl": "https://acme.awsapps.com/start", "region": "eu-west-1", "accessToken": "aoaAAAAAGdRq3kP9vXw2Lm8ZtY6cB1nH5jF0sD4gK7eQ2rU9iO3pA6zX8vC1bN4mM7lK0jH3gF6dS9aQ2wE5rT8yU1iO4pL7kJ0", "expiresAt": "2020-01-01T00:00:00Z", "refreshToken": "Atzr|IwEBIAq7vN3mK9pL2xR5tW8yZ1cF4hJ6bD0gS3eQ7uI9oA2kM5nP8rT1vX4zC6wY3fH7jL0sG2dB5aE8iU1oK4mN7pR0tV3xZ"}"#,
    );
    t.write("etc/app/app.env", "AWS_SECRET_ACCESS_KEY=0qk+o7XctJMmG6ydO8537c9+TofLJU1K0PiVBXSg\n");
    t.write("opt/app/NOTES", "old key AKIALALEMEL33243OLIB was rotated\n");
    t.write(
        "var/lib/amazon/ssm/credentials",
        "[default]\naws_access_key_id = ASIAY34FZKBOKMUTVV7A\naws_secret_access_key = hS1bBq/a7FKdI5M+2pQkVZ6yUo3cXrT9wLnEgHjD\n",
    );
    t
}

/// Runs a scan of `t` as a fixed host with the IMDS test server.
fn scan_host(t: &Tree, server: &Server, args: &[&str]) -> Run {
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["scan", "--imds-endpoint", &server.url(), "--root"]).arg(t.root()).args(args);
    run_with_limit(cmd, Duration::from_secs(60))
}

/// Replaces what changes from run to run with placeholders.
fn normalize(text: &str, t: &Tree, server: &Server) -> String {
    let mut s = text.replace(&t.root().display().to_string(), "<ROOT>");
    s = s.replace(&server.url(), "http://<IMDS>");
    let host = nix::unistd::gethostname().unwrap().to_string_lossy().into_owned();
    s = s.replace(&format!("\"{host}\""), "\"<HOST>\"");
    for (re, with) in [
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<TIME>"),
        (r#""elapsed_ms": \d+"#, r#""elapsed_ms": 0"#),
        (r#""elapsed_ms":\d+"#, r#""elapsed_ms":0"#),
        (r"in \d+\.\d\d s", "in <SECONDS> s"),
        (r"(?m)^(\s*)\d+ processes and users checked", "${1}N processes and users checked"),
    ] {
        s = regex::Regex::new(re).unwrap().replace_all(&s, with).into_owned();
    }
    s.replace(env!("CARGO_PKG_VERSION"), "<VERSION>")
}

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

/// Compares with tests/golden/NAME; `ROLECALL_BLESS=1` rewrites the file.
fn assert_golden(name: &str, got: &str) {
    let path = golden_path(name);
    if std::env::var_os("ROLECALL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (ROLECALL_BLESS=1 writes it)", path.display()));
    if want != got {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(5)
            .map(|(i, (a, b))| format!("line {}:\n  want {a}\n  got  {b}", i + 1))
            .collect();
        panic!(
            "{} differs (ROLECALL_BLESS=1 rewrites it):\n{}\n(want {} lines, got {})",
            name,
            diff.join("\n"),
            want.lines().count(),
            got.lines().count()
        );
    }
}

#[test]
fn golden_output_of_every_format() {
    let server = Server::start(Mode::TokenOptional);
    let t = golden_host();
    let formats = crate::leaks::formats();
    assert_eq!(formats, ["text", "json", "jsonl", "sarif", "asff", "summary"], "a new format needs a golden file");
    for format in &formats {
        let run = scan_host(&t, &server, &["--sources", "users,files", "--format", format]);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        let ext = match format.as_str() {
            "text" | "summary" => "txt",
            "jsonl" | "asff" => "jsonl",
            _ => "json",
        };
        assert_golden(&format!("host.{format}.{ext}"), &normalize(&run.stdout, &t, &server));
    }
    let data = Tree::new();
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["scan", "--sources", "users,files", "--ssm-inventory", "--imds-endpoint", &server.url(), "--root"])
        .arg(t.root())
        .arg("--ssm-data-dir")
        .arg(data.root());
    run_with_limit(cmd, Duration::from_secs(60));
    let inventory = std::fs::read_to_string(data.path("i-0123456789abcdef0/inventory/custom/rolecall.json")).unwrap();
    assert_golden("host.inventory.json", &normalize(&inventory, &t, &server));
}

pub fn validator(schema_path: &Path) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("a valid schema")
}

pub fn assert_valid(v: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).take(10).collect();
    assert!(errors.is_empty(), "{what} does not validate:\n{}", errors.join("\n"));
}

#[test]
fn json_schema_file_is_the_one_generated_from_the_types() {
    let mut cmd = rolecall();
    cmd.arg("schema");
    let generated: Value = serde_json::from_str(&run_with_limit(cmd, Duration::from_secs(10)).stdout).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(generated, committed, "docs/report.schema.json is stale: rolecall schema > docs/report.schema.json");
    assert_eq!(committed["properties"]["schema_version"]["const"], Value::Null);
    assert!(committed["required"].as_array().unwrap().contains(&Value::from("schema_version")));
}

#[test]
fn json_reports_validate_against_the_schema() {
    let v = validator(&Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"));
    let t = golden_host();
    // A host scan with a role, IMDSv1 open, chains and expected credentials.
    let server = Server::start(Mode::TokenOptional);
    let run = scan_host(&t, &server, &["--format", "json", "--sources", "users,files"]);
    assert_valid(&v, &run.json(), "host scan report");
    // No role; a role that cannot be learned; a process scan.
    for mode in [Mode::NoRole, Mode::Garbage, Mode::DropPutV2Required] {
        let server = Server::start(mode);
        assert_valid(&v, &scan_host(&t, &server, &["--format", "json"]).json(), &format!("{mode:?} report"));
    }
    let p = crate::host::sleeper(&[("AWS_ACCESS_KEY_ID", "AKIAM3VJ6XZ2QDKTPW7B"), ("AWS_SECRET_ACCESS_KEY", SECRET)]);
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--sources", "processes"]);
    let report = run_with_limit(cmd, Duration::from_secs(60)).json();
    assert!(report["findings"].as_array().unwrap().iter().any(|f| f["location"]["pid"] == p.0.id()));
    assert_valid(&v, &report, "process scan report");
    // And a report whose schema_version is wrong does not validate.
    let mut bad = report.clone();
    bad["findings"][0]["kind"] = Value::from("nonsense");
    assert!(!v.is_valid(&bad));
}

/// The official SARIF 2.1.0 schema, with its one known erratum fixed: the
/// `language` patterns have a stray `]`, which strict validators reject as
/// an invalid regex. Everything else is used as published.
fn sarif_validator() -> jsonschema::Validator {
    const ERRATUM: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    fn fix(v: &mut Value, n: &mut usize) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "pattern" && x == ERRATUM {
                        *x = Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
                        *n += 1;
                    } else {
                        fix(x, n);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| fix(x, n)),
            _ => {}
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut fixed = 0;
    fix(&mut schema, &mut fixed);
    assert!(fixed > 0, "the erratum this works around is gone");
    jsonschema::validator_for(&schema).expect("a valid schema")
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let v = sarif_validator();
    let t = golden_host();
    let server = Server::start(Mode::TokenOptional);
    let doc = scan_host(&t, &server, &["--format", "sarif", "--sources", "users,files"]).json();
    assert_valid(&v, &doc, "SARIF");
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "rolecall.imdsv1-allowed"));
    let expected = results.iter().find(|r| r["properties"]["keyId"] == "ASIAY34FZKBOKMUTVV7A").unwrap();
    assert_eq!(expected["suppressions"][0]["kind"], "external");
    // An unscannable path is a tool notification, and the run is not successful.
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "sarif"]).arg(t.path("missing"));
    let doc: Value = serde_json::from_str(&run_with_limit(cmd, Duration::from_secs(30)).stdout).unwrap();
    assert_valid(&v, &doc, "SARIF of a failed run");
    assert_eq!(doc["runs"][0]["invocations"][0]["executionSuccessful"], false);
}

#[test]
fn asff_has_every_required_field_and_stable_ids() {
    let t = golden_host();
    let server = Server::start(Mode::TokenRequired);
    let asff = |run: Run| -> Value {
        let all: Vec<Value> = run
            .stdout
            .lines()
            .flat_map(|l| serde_json::from_str::<Value>(l).unwrap()["Findings"].as_array().unwrap().clone())
            .collect();
        Value::from(all)
    };
    let first = asff(scan_host(&t, &server, &["--format", "asff"]));
    let second = asff(scan_host(&t, &server, &["--format", "asff"]));
    let findings = first.as_array().unwrap();
    assert_eq!(findings.len(), 1 + 5, "one for the verdict, one per credential (and the cached sign-in)");
    for f in findings {
        for field in [
            "AwsAccountId",
            "CreatedAt",
            "Description",
            "GeneratorId",
            "Id",
            "ProductArn",
            "Resources",
            "SchemaVersion",
            "Severity",
            "Title",
            "Types",
            "UpdatedAt",
        ] {
            assert!(!f[field].is_null(), "{field} missing in {f}");
        }
        assert_eq!(f["SchemaVersion"], "2018-10-08");
        assert_eq!(f["AwsAccountId"], imds_server::ACCOUNT);
        assert_eq!(f["ProductArn"], "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default");
        assert!(
            ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"].contains(&f["Severity"]["Label"].as_str().unwrap())
        );
        assert!(
            ["PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"].contains(&f["Compliance"]["Status"].as_str().unwrap())
        );
        assert!(f["Types"].as_array().unwrap().iter().all(|t| t.as_str().unwrap().split('/').count() <= 3));
        let r = &f["Resources"][0];
        assert_eq!(r["Type"], "AwsEc2Instance");
        assert_eq!(r["Id"], "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0");
        assert_eq!(r["Details"]["AwsEc2Instance"]["MetadataOptions"]["HttpTokens"], "required");
        assert!(f["Description"].as_str().unwrap().len() <= 1024);
        assert!(serde_json::to_vec(f).unwrap().len() < 240 * 1024);
    }
    let ids =
        |v: &Value| v.as_array().unwrap().iter().map(|f| f["Id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let (a, b) = (ids(&first), ids(&second));
    assert_eq!(a, b, "a re-scan updates the same findings");
    let mut unique = a.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), a.len());
    assert_eq!(findings[0]["Compliance"]["Status"], "FAILED");
    // Without an instance identity there is nothing to attach findings to.
    let run = scan_host(&t, &server, &["--format", "asff", "--no-imds"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("needs the instance's account, region and ID"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn ssm_inventory_stays_within_the_agent_limits() {
    let t = golden_host();
    let server = Server::start(Mode::TokenRequired);
    let data = Tree::new();
    let dir = data.path("i-0123456789abcdef0/inventory/custom");
    let run = scan_host(
        &t,
        &server,
        &["--ssm-inventory", "--ssm-data-dir", data.root().to_str().unwrap(), "--format", "summary"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("rolecall.json")).unwrap()).unwrap();
    assert_eq!(doc["SchemaVersion"], "1.0");
    assert!(doc["TypeName"].as_str().unwrap().starts_with("Custom:") && doc["TypeName"].as_str().unwrap().len() <= 100);
    let content = doc["Content"].as_object().unwrap();
    assert!(content.len() <= 50);
    for (k, v) in content {
        assert!(k.len() <= 64, "{k}");
        assert!(v.is_string(), "{k} is not a string: {v}");
        assert!(v.as_str().unwrap().len() <= 4096);
    }
    assert_eq!(content["Verdict"], "static-credentials-despite-role");
    assert_eq!(content["StaticKeyIds"], "AKIA...NXNN");
    // What the agent sends for it: PutInventory with this item, checked with botocore's ssm model.
    if let Some(python) = oracle_python() {
        let check = r#"
import json, sys, botocore.session
from botocore.validate import validate_parameters
doc = json.load(open(sys.argv[1]))
item = {"TypeName": doc["TypeName"], "SchemaVersion": doc["SchemaVersion"], "CaptureTime": "2026-12-02T00:00:00Z",
        "Content": [doc["Content"]] if isinstance(doc["Content"], dict) else doc["Content"]}
shape = botocore.session.get_session().get_service_model("ssm").operation_model("PutInventory").input_shape
validate_parameters({"InstanceId": "i-0123456789abcdef0", "Items": [item]}, shape)
print("ok")
"#;
        let out = Command::new(python).arg("-c").arg(check).arg(dir.join("rolecall.json")).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "ok",
            "PutInventory: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Never the 21st file: with 20 others already there, it refuses.
    for i in 0..20 {
        std::fs::write(dir.join(format!("other{i}.json")), "{}").unwrap();
    }
    std::fs::remove_file(dir.join("rolecall.json")).unwrap();
    let run = scan_host(
        &t,
        &server,
        &["--ssm-inventory", "--ssm-data-dir", data.root().to_str().unwrap(), "--format", "summary"],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("21st"), "{}", run.stderr);
    assert!(!dir.join("rolecall.json").exists());
}

#[test]
fn summary_and_outputs() {
    let t = golden_host();
    let server = Server::start(Mode::TokenRequired);
    let out = Tree::new();
    let json = out.path("last.json");
    let sarif = out.path("last.sarif");
    let run = scan_host(
        &t,
        &server,
        &[
            "--summary",
            "--output",
            &format!("json={}", json.display()),
            "--output",
            &format!("sarif={}", sarif.display()),
        ],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout.lines().count(), 1);
    assert!(run.stdout.len() < 2500);
    assert!(
        run.stdout
            .starts_with("rolecall static-credentials-despite-role instance=i-0123456789abcdef0 role=app-role live=3 "),
        "{}",
        run.stdout
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["verdict"]["verdict"], "static-credentials-despite-role");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&json).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert!(std::fs::read_to_string(&sarif).unwrap().contains("\"version\": \"2.1.0\""));
    let mut cmd = rolecall();
    cmd.args(["scan", "--output", "xml=/tmp/x", "/tmp"]);
    assert_eq!(run_with_limit(cmd, Duration::from_secs(10)).code, 2);
}

#[test]
fn baseline_acknowledges_and_expires() {
    let t = golden_host();
    let server = Server::start(Mode::TokenRequired);
    let out = Tree::new();
    let file = out.path("baseline.toml");
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["baseline", "--reason", "migration ticket OPS-123", "--imds-endpoint", &server.url(), "--write"])
        .arg(&file)
        .arg("--root")
        .arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(60));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("migration ticket OPS-123") && text.contains("AKIA2OGYBAH6STMMNXNN"));
    crate::leaks::assert_no_secret(&text, "the baseline file");
    let run = scan_host(&t, &server, &["--format", "json", "--baseline", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "acknowledged findings do not fail");
    let r = run.json();
    assert_eq!(r["verdict"]["verdict"], "pass");
    let acked: Vec<&Value> =
        r["findings"].as_array().unwrap().iter().filter(|f| f["acknowledged"].is_string()).collect();
    assert_eq!(acked.len(), 5, "still listed, marked acknowledged");
    // An expired acknowledgement counts again.
    let expired = text.replace(
        "reason = \"migration ticket OPS-123\"",
        "reason = \"migration ticket OPS-123\"\nexpires = \"2020-01-01\"",
    );
    std::fs::write(&file, expired).unwrap();
    let run = scan_host(&t, &server, &["--format", "json", "--baseline", file.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let r = run.json();
    assert_eq!(r["verdict"]["verdict"], "static-credentials-despite-role");
    assert!(r["findings"].as_array().unwrap().iter().any(|f| f["acknowledgement_expired"] == "2020-01-01"));
    std::fs::write(&file, "[[acknowledged]]\nfingerprint = \"x\"\nreason = \"r\"\nexpires = \"soon\"\n").unwrap();
    let run = scan_host(&t, &server, &["--baseline", file.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not a YYYY-MM-DD date"), "{}", run.stderr);
}

/// A report as a host would write it, for the fleet summary.
fn fleet_report(i: usize, verdict: &str, role: &str, keys: &[&str], v1: bool) -> String {
    let findings: Vec<Value> = keys.iter().map(|k| serde_json::json!({ "key_id": k, "has_secret": true })).collect();
    serde_json::json!({
        "schema_version": "1",
        "tool": { "name": "rolecall", "version": "0.1.0" },
        "scanned_at": format!("2026-11-2{}T10:00:00Z", i % 3),
        "host": { "hostname": format!("ip-10-0-0-{i}"), "instance_id": format!("i-{i:017x}"), "account_id": "123456789012", "region": "us-east-1" },
        "imds": { "v1_allowed": v1 },
        "role": { "status": role },
        "verdict": { "verdict": verdict, "live_credentials": keys.len() },
        "findings": findings,
        "coverage": { "complete": !i.is_multiple_of(17) },
    })
    .to_string()
}

#[test]
fn fleet_summary_over_many_reports() {
    let t = Tree::new();
    let baked = key_id_for_account("AKIA", 123456789012, 1);
    let mut expected_baked = 0;
    for i in 0..60 {
        // As SSM writes them: <prefix>/<command id>/<instance id>/awsrunShellScript/<step>/stdout.
        let (verdict, role, keys): (&str, &str, Vec<String>) = match i % 6 {
            0 => ("no-role", "none", vec![]),
            1 | 2 => ("static-credentials-despite-role", "attached", vec![baked.clone()]),
            3 => (
                "static-credentials-despite-role",
                "attached",
                vec![key_id_for_account("AKIA", 210987654321, i as u64 + 100)],
            ),
            _ => ("pass", "attached", vec![]),
        };
        expected_baked += keys.contains(&baked) as usize;
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let text = fleet_report(i, verdict, role, &key_refs, i.is_multiple_of(10));
        // Some outputs start with the one-line summary.
        let text = if i.is_multiple_of(4) { format!("rolecall {verdict} instance=...\n{text}") } else { text };
        t.write(format!("cmd-1/i-{i:017x}/awsrunShellScript/0.awsrunShellScript/stdout"), text);
    }
    // A re-run of instance 1, older than its first report: the newer one wins.
    t.write(
        "cmd-0/i-00000000000000001/stdout",
        fleet_report(1, "pass", "attached", &[], false).replace("2026-11-21", "2026-11-20"),
    );
    t.write("cmd-1/garbage/stdout", "Failed to run commands: exit status 127");
    let mut cmd = rolecall();
    cmd.args(["fleet", "summarize", "--format", "json"]).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(30));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(s["reports_read"], 61);
    assert_eq!(s["instances"], 60);
    assert_eq!(s["unreadable"].as_array().unwrap().len(), 1);
    assert_eq!(s["by_verdict"]["no-role"], 10);
    assert_eq!(s["by_verdict"]["static-credentials-despite-role"], 30);
    assert_eq!(s["by_verdict"]["pass"], 20);
    assert_eq!(s["without_role"].as_array().unwrap().len(), 10);
    assert_eq!(s["imdsv1_allowed"].as_array().unwrap().len(), 6);
    let shared = s["shared_keys"].as_array().unwrap();
    assert_eq!(shared.len(), 1, "only the baked-in key is on more than one instance");
    assert_eq!(shared[0]["key_id"], baked.as_str());
    assert_eq!(shared[0]["instances"].as_array().unwrap().len(), expected_baked);
    let mut cmd = rolecall();
    cmd.args(["fleet", "summarize"]).arg(t.root());
    let text = run_with_limit(cmd, Duration::from_secs(30)).stdout;
    assert!(text.starts_with("rolecall fleet summary: 60 instances from 61 reports (1 files unreadable)"), "{text}");
    assert!(text.contains(&format!("{baked} on {expected_baked} instances")), "{text}");
}

/// Checks `schema` and each report with `jsonschema.Draft202012Validator`,
/// formats checked; returns the errors found.
const PYTHON_JSONSCHEMA: &str = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
for path in sys.argv[2:]:
    for e in v.iter_errors(json.load(open(path))):
        print(f"{path}: {e.message} at {list(e.absolute_path)}")
"#;

/// The report schema and real reports (the golden host, a process scan
/// with chains, a report with every finding kind) through the two
/// validators users reach for: ajv in strict mode (npm `ajv-cli`) and
/// Python's `jsonschema`. A misspelt field must fail both.
#[test]
fn schema_and_reports_pass_ajv_strict_and_python_jsonschema() {
    let (Some(ajv), Some(python)) = (npm_validator("ajv"), oracle_python()) else { return };
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let out = Tree::new();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/host.json.json");
    let mut reports = vec![golden.clone()];
    let server = Server::start(Mode::TokenOptional);
    let t = Tree::new();
    t.write(
        "opt/app/.env",
        "AWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN\nAWS_SECRET_ACCESS_KEY=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\n",
    );
    t.write("opt/app/NOTES", "AKIALALEMEL33243OLIB\n");
    t.write("home/u/.aws/credentials", "[x]\naws_access_key_id = ASIAY34FZKBOKMUTVV7A\naws_secret_access_key = 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\n");
    for (name, args) in [
        ("processes.json", vec!["--sources".to_string(), "processes".to_string()]),
        ("files.json", vec![t.root().display().to_string()]),
    ] {
        let run = scan_json_imds(&server.url(), &args);
        let path = out.write(name, &run.stdout);
        reports.push(path);
    }
    let mut broken: Value = serde_json::from_str(&std::fs::read_to_string(&golden).unwrap()).unwrap();
    broken["findings"][0]["kay_id"] = Value::from("AKIA…");
    let misspelt = out.write("misspelt.json", serde_json::to_string(&broken).unwrap());

    let ajv_run = |data: &Path| {
        Command::new(&ajv)
            .args(["validate", "--spec=draft2020", "--strict=true", "--all-errors", "-c", "ajv-formats", "-s"])
            .arg(&schema)
            .arg("-d")
            .arg(data)
            .output()
            .unwrap()
    };
    for r in &reports {
        let o = ajv_run(r);
        assert!(
            o.status.success(),
            "ajv (strict): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let o = ajv_run(&misspelt);
    assert!(!o.status.success(), "ajv accepts a misspelt field");
    assert!(String::from_utf8_lossy(&o.stderr).contains("additional"), "{}", String::from_utf8_lossy(&o.stderr));

    let py = |paths: &[PathBuf]| {
        let o = Command::new(&python).arg("-c").arg(PYTHON_JSONSCHEMA).arg(&schema).args(paths).output().unwrap();
        assert!(o.status.success(), "jsonschema: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(py(&reports), "", "Python jsonschema finds errors");
    assert!(py(&[misspelt]).contains("'kay_id' was unexpected"));
}

/// What sarif-multitool (`validate --rule-kind "Sarif;Gh"`: the SARIF
/// specification's rules and GitHub code scanning's) says of `log`: each
/// error and warning, one per line. The tool accepts a file it cannot
/// parse without a word, so the log is checked to be one first.
fn sarif_multitool_findings(tool: &Path, log: &Path) -> Vec<String> {
    let _: Value = serde_json::from_str(&std::fs::read_to_string(log).unwrap()).expect("a SARIF log is JSON");
    // Invariant globalization: the .NET tool then needs no ICU library on the machine.
    let out = Command::new(tool)
        .args(["validate", "--rule-kind", "Sarif;Gh"])
        .arg(log)
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("Analysis completed successfully"),
        "sarif-multitool did not run: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines().filter(|l| l.contains(": error ") || l.contains(": warning ")).map(str::to_string).collect()
}

#[test]
fn sarif_passes_sarif_multitool_with_githubs_rules() {
    let Some(_) = npm_validator("sarif-multitool") else { return };
    // The platform binary itself: the npm wrapper passes arguments through a shell, splitting "Sarif;Gh".
    let tool = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/validators/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool");
    let out = Tree::new();
    // It can fail: a log without help, locations or informationUri is refused.
    let bare = out.write(
        "bare.sarif",
        r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","version":"1","rules":[{"id":"r"}]}},"results":[{"ruleId":"r","message":{"text":"m"}}]}]}"#,
    );
    let refused = sarif_multitool_findings(&tool, &bare);
    for rule in ["GH1015", "GH2012", "SARIF2005"] {
        assert!(refused.iter().any(|l| l.contains(rule)), "{rule} not reported: {refused:#?}");
    }

    // Every kind of result: files, a process environment, a command line,
    // a suppressed (acknowledged) one and IMDSv1.
    let t = Tree::new();
    t.write(
        "opt/app/.env",
        "AWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN\nAWS_SECRET_ACCESS_KEY=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\n",
    );
    t.write("opt/app/NOTES", "AKIALALEMEL33243OLIB\n");
    let key = key_id_for_account("AKIA", 444_455_556_666, 5);
    let _env = crate::host::sleeper(&[
        ("AWS_ACCESS_KEY_ID", &key),
        ("AWS_SECRET_ACCESS_KEY", "q8Rt2LmVx9Kp4sWnZ7cYhB3fJd6GtE1uNaXo5iQe"),
    ]);
    let server = Server::start(Mode::TokenOptional);
    let baseline = out.path("baseline.json");
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["baseline", "--reason", "known", "--write"]).arg(&baseline).arg(t.path("opt/app/NOTES"));
    assert_eq!(run_with_limit(cmd, Duration::from_secs(60)).code, 0);
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["scan", "--format", "sarif", "--sources", "processes,files"])
        .arg(t.root())
        .arg("--baseline")
        .arg(&baseline);
    let run = run_with_limit(cmd, Duration::from_secs(120));
    let log = out.write("host.sarif", &run.stdout);
    let sarif: Value = serde_json::from_str(&run.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let kinds: Vec<&str> = results.iter().filter_map(|r| r["properties"]["locationKind"].as_str()).collect();
    assert!(kinds.contains(&"file") && kinds.contains(&"process"), "{kinds:?}");
    assert!(results.iter().any(|r| r["ruleId"] == "rolecall.imdsv1-allowed"));
    assert!(results.iter().any(|r| r.get("suppressions").is_some()));
    for r in results {
        assert!(r["locations"].as_array().is_some_and(|l| !l.is_empty()), "a result without a location: {r}");
    }
    let findings = sarif_multitool_findings(&tool, &log);
    assert!(findings.is_empty(), "sarif-multitool:\n{}", findings.join("\n"));
}

/// `n` distinct long-term key pairs, each with its secret on the next line.
fn pairs(n: usize) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = String::new();
    for i in 0..n {
        let secret: String = (0..40)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                alphabet[(state % 64) as usize] as char
            })
            .collect();
        let key = key_id_for_account("AKIA", 444_455_556_666, i as u64 + 1);
        out.push_str(&format!("AWS_ACCESS_KEY_ID={key}\nAWS_SECRET_ACCESS_KEY={secret}\n\n\n\n\n\n\n"));
    }
    out
}

/// ASFF as Security Hub takes it, checked with botocore's own
/// BatchImportFindings model at 0, 1, 100, 101 and 1,000 credentials:
/// batches of at most 100, every field within its limit (a 3,000-character
/// path included).
#[test]
fn asff_batches_pass_botocores_batch_import_findings_model() {
    let Some(python) = oracle_python() else { return };
    let server = Server::start(Mode::TokenRequired);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracles/asff_batches.py");
    for n in [0usize, 1, 100, 101, 1000] {
        let t = Tree::new();
        t.write("srv/app/README", "nothing here\n");
        if n > 0 {
            t.write("srv/app/keys.env", pairs(n));
        }
        let mut cmd = rolecall_with_imds(&server.url());
        cmd.args(["scan", "--format", "asff", "--fail-on", "never"]).arg(t.root());
        let run = run_with_limit(cmd, Duration::from_secs(120));
        assert_eq!(run.code, 0, "{}", run.stderr);
        let mut check = Command::new(&python);
        check.arg(script).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        let mut child = check.spawn().unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), run.stdout.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let verdict: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)));
        assert_eq!(verdict["errors"], serde_json::json!([]), "{n} credentials: {verdict}");
        assert_eq!(verdict["findings"], n as u64 + 1, "one per credential and the verdict's");
        assert_eq!(verdict["batches"], (n as u64 + 1).div_ceil(100), "{n} credentials");
    }
    // A path longer than a product field may be is cut, on a character boundary.
    let t = Tree::new();
    let deep: String = (0..30).map(|i| format!("dïr{i:02}{}/", "x".repeat(95))).collect();
    t.write(
        format!("{deep}.env"),
        "AWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN\nAWS_SECRET_ACCESS_KEY=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\n",
    );
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["scan", "--format", "asff", "--fail-on", "never"]).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(60));
    let batch: Value = serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
    let location = batch["Findings"][1]["ProductFields"]["rolecall/Location"].as_str().unwrap();
    assert!(location.chars().count() <= 2048 && location.ends_with("..."), "{}", location.len());
}
