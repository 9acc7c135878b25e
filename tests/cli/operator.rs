//! The operator's view: the exit code every format states is the one the
//! process exits with, `--fail-on` speaks the verdicts' names, text shows
//! every state a finding can be in, and every `aws …` command rolecall
//! prints is one the AWS API accepts (checked against botocore's models).

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::imds_server::{Mode, Server};
use crate::util::*;

const KEY: &str = "AKIA2OGYBAH6STMMNXNN";
const SECRET: &str = "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";
const LONE_KEY: &str = "AKIALALEMEL33243OLIB";

fn paired(t: &Tree) {
    t.write("opt/app/.env", format!("AWS_ACCESS_KEY_ID={KEY}\nAWS_SECRET_ACCESS_KEY={SECRET}\n"));
}

/// Runs `scan ARGS` once per format and returns (process exit code, what
/// each format says the exit code is).
fn stated_exit_codes(imds: Option<&Server>, args: &[&str]) -> (i32, Vec<(String, i64)>) {
    let out = Tree::new();
    let base = |format: &str| {
        let mut cmd = match imds {
            Some(s) => rolecall_with_imds(&s.url()),
            None => rolecall(),
        };
        cmd.args(["scan", "--format", format]);
        if imds.is_none() {
            // As under Run Command, which names the node when IMDS cannot.
            cmd.arg("--no-imds").env("AWS_SSM_INSTANCE_ID", "i-0fedcba9876543210");
        }
        cmd.args(args);
        cmd
    };
    let mut stated = Vec::new();
    let mut codes = Vec::new();

    let mut cmd = base("json");
    cmd.arg("--output").arg(format!("jsonl={}", out.path("report.jsonl").display()));
    cmd.arg("--ssm-inventory").arg("--ssm-data-dir").arg(out.path("ssm"));
    let run = run_with_limit(cmd, Duration::from_secs(60));
    codes.push(run.code);
    stated.push(("json".to_string(), run.json()["verdict"]["exit_code"].as_i64().unwrap()));
    let jsonl = std::fs::read_to_string(out.path("report.jsonl")).unwrap();
    let verdict: Value =
        jsonl.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|r| r["record"] == "verdict").unwrap();
    stated.push(("jsonl".to_string(), verdict["exit_code"].as_i64().unwrap()));
    if let Some(inv) = glob_one(&out.path("ssm"), "rolecall.json") {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(inv).unwrap()).unwrap();
        let content = if doc["Content"].is_array() { doc["Content"][0].clone() } else { doc["Content"].clone() };
        stated.push(("inventory".to_string(), content["ExitCode"].as_str().unwrap().parse().unwrap()));
    }

    let run = run_with_limit(base("summary"), Duration::from_secs(60));
    codes.push(run.code);
    let exit = run.stdout.split_whitespace().find_map(|w| w.strip_prefix("exit=")).unwrap();
    stated.push(("summary".to_string(), exit.parse().unwrap()));

    let run = run_with_limit(base("text"), Duration::from_secs(60));
    codes.push(run.code);
    codes.dedup();
    assert_eq!(codes.len(), 1, "the same scan exits alike in every format: {codes:?}");
    (codes[0], stated)
}

fn glob_one(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == name) {
                return Some(p);
            }
        }
    }
    None
}

#[test]
fn every_format_states_the_exit_code_the_process_exits_with() {
    let role = Server::start(Mode::TokenRequired);
    let no_role = Server::start(Mode::NoRole);
    let clean = Tree::new();
    clean.write("etc/app.conf", "region = us-east-1\n");
    let dirty = Tree::new();
    paired(&dirty);
    // One key ID, 10,001 times: more matches than are kept, so not everything was read.
    let flooded = Tree::new();
    flooded.write("var/log/app.log", format!("seen {LONE_KEY}\n").repeat(10_001));
    let missing = clean.path("does/not/exist").display().to_string();
    let (c, d, f) =
        (clean.root().display().to_string(), dirty.root().display().to_string(), flooded.root().display().to_string());
    let cases: Vec<(&str, Option<&Server>, Vec<&str>, i32)> = vec![
        ("pass", Some(&role), vec![&c], 0),
        ("static-credentials-despite-role", Some(&role), vec![&d], 1),
        ("no-role-static-credentials", Some(&no_role), vec![&d], 1),
        ("no-role", Some(&no_role), vec![&c], 1),
        ("role-unknown, nothing found", None, vec![&c], 0),
        ("role-unknown with a live key", None, vec![&d], 1),
        ("incomplete", Some(&role), vec![&f], 1),
        ("a path that does not exist", Some(&role), vec![&c, &missing], 2),
        ("fail-on never, static keys", Some(&role), vec!["--fail-on", "never", &d], 0),
        ("fail-on never, missing path", Some(&role), vec!["--fail-on", "never", &missing], 2),
    ];
    for (what, imds, args, expected) in cases {
        let (code, stated) = stated_exit_codes(imds, &args);
        assert_eq!(code, expected, "{what}: exit code");
        for (format, said) in stated {
            assert_eq!(said, code as i64, "{what}: {format} says exit {said}, the process exited {code}");
        }
    }
    // And stderr says why a scan exits 2.
    let mut cmd = rolecall_with_imds(&role.url());
    cmd.args(["scan", "--format", "summary", &missing]);
    let run = run_with_limit(cmd, Duration::from_secs(60));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains(&missing) && run.stderr.contains("exit 2"), "{}", run.stderr);
}

#[test]
fn fail_on_speaks_the_verdicts_names() {
    let t = Tree::new();
    paired(&t);
    let role = Server::start(Mode::TokenRequired);
    let scan = |fail_on: &str| {
        let mut cmd = rolecall_with_imds(&role.url());
        cmd.args(["scan", "--format", "summary", "--fail-on", fail_on]).arg(t.root());
        run_with_limit(cmd, Duration::from_secs(60))
    };
    // The verdict's own name, and the older spelling as an alias.
    assert_eq!(scan("static-credentials-despite-role").code, 1);
    assert_eq!(scan("static-despite-role").code, 1);
    assert_eq!(scan("no-role-static-credentials").code, 0, "another verdict's condition");
    // `never` with anything else would silently win: refused, with why.
    let run = scan("static-credentials-despite-role,never");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("never cannot be combined"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "no report for a refused command line");
    let run = scan("static-creds");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("static-credentials-despite-role"), "the valid names are listed: {}", run.stderr);
    // The JSON's failed conditions use the same words as --fail-on.
    let mut cmd = rolecall_with_imds(&role.url());
    cmd.args(["scan", "--format", "json"]).arg(t.root());
    let r = run_with_limit(cmd, Duration::from_secs(60)).json();
    assert_eq!(r["verdict"]["failed_conditions"], serde_json::json!(["static-credentials-despite-role"]));
    assert_eq!(r["verdict"]["verdict"], "static-credentials-despite-role");
}

#[test]
fn text_shows_acknowledged_and_example_states() {
    let t = Tree::new();
    let kept = Tree::new();
    paired(&t);
    t.write(
        "home/dev/.aws/credentials",
        format!("[default]\naws_access_key_id = {LONE_KEY}\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
    );
    let role = Server::start(Mode::TokenRequired);
    let baseline = kept.path("baseline.json");
    let mut cmd = rolecall_with_imds(&role.url());
    cmd.args(["baseline", "--reason", "rotating in CHG-1234", "--expires", "2999-01-01", "--write"])
        .arg(&baseline)
        .arg(t.path("opt"));
    let run = run_with_limit(cmd, Duration::from_secs(60));
    assert_eq!(run.code, 0, "{}", run.stderr);

    let mut cmd = rolecall_with_imds(&role.url());
    cmd.args(["scan", "--baseline"]).arg(&baseline).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(60));
    assert_eq!(run.code, 0, "an acknowledged key does not fail the run:\n{}", run.stdout);
    let block = |needle: &str| -> String {
        run.stdout
            .split("\n\n")
            .find(|b| b.contains(needle) && b.contains("   where"))
            .unwrap_or_else(|| panic!("no finding with {needle}:\n{}", run.stdout))
            .to_string()
    };
    let acked = block(KEY);
    assert!(acked.contains("ACKNOWLEDGED"), "{acked}");
    assert!(acked.contains("rotating in CHG-1234") && acked.contains("2999-01-01"), "reason and expiry: {acked}");
    assert!(!acked.contains("update-access-key"), "no deactivation advice for an acknowledged key: {acked}");
    let example = block(LONE_KEY);
    assert!(example.contains("the secret beside it is the AWS documentation example"), "{example}");
    assert!(!example.contains("no usable secret found"), "{example}");
    let r = scan_json_imds(&role.url(), [t.root()]).json();
    let lone = r["findings"].as_array().unwrap().iter().find(|f| f["key_id"] == LONE_KEY).unwrap();
    assert_eq!(lone["secret_is_example"], true);
    assert_eq!(lone["live"], false);
}

/// The lines of text output that are AWS CLI commands.
fn aws_commands(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| l.starts_with("aws ")).map(str::to_string).collect()
}

/// botocore's verdict on each command: (command, error) for those it refuses.
fn refused_by_botocore(python: &std::path::Path, commands: &[String]) -> Vec<(String, String)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracles/aws_commands.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), commands.join("\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let checked: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(checked.len(), commands.len(), "botocore checked every command");
    checked
        .into_iter()
        .filter(|c| c["ok"] != true)
        .map(|c| (c["command"].as_str().unwrap().to_string(), c["error"].to_string()))
        .collect()
}

#[test]
fn every_printed_aws_command_is_one_the_api_accepts() {
    let Some(python) = oracle_python() else { return };
    let t = Tree::new();
    paired(&t);
    t.write("opt/app/NOTES", format!("old key {LONE_KEY}\n"));
    let mut commands = Vec::new();
    for (mode, must) in [
        (
            Mode::TokenOptional,
            &["modify-instance-metadata-options", "update-access-key", "delete-access-key", "get-access-key-last-used"]
                [..],
        ),
        (Mode::NoRole, &["associate-iam-instance-profile", "update-access-key"][..]),
    ] {
        let imds = Server::start(mode);
        let mut cmd = rolecall_with_imds(&imds.url());
        cmd.arg("scan").arg(t.root());
        let run = run_with_limit(cmd, Duration::from_secs(60));
        assert_eq!(run.code, 1, "{}", run.stdout);
        let found = aws_commands(&run.stdout);
        for op in must {
            assert!(found.iter().any(|c| c.contains(op)), "no {op} command in:\n{}", run.stdout);
        }
        for c in &found {
            assert!(c.contains("--access-key-id") || !c.contains("access-key"), "{c}");
        }
        if matches!(mode, Mode::NoRole) {
            assert!(!run.stdout.contains("instance role"), "no role to move to on this instance:\n{}", run.stdout);
        }
        commands.extend(found);
    }
    assert!(commands.len() >= 6, "{commands:?}");
    let refused = refused_by_botocore(&python, &commands);
    assert!(refused.is_empty(), "botocore's models refuse: {refused:#?}");
    // The checker itself refuses what the API would.
    let wrong = ["aws iam update-access-key --status Inactive".to_string(), "aws iam no-such-op".to_string()];
    assert_eq!(refused_by_botocore(&python, &wrong).len(), 2);
}

/// Each `rolecall …` command line in the README's `sh` blocks, as written
/// there (after `sudo` and `&&`, before a comment or a `| jq`).
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh" && !in_sh;
            continue;
        }
        if !in_sh {
            continue;
        }
        let line = line.split(" #").next().unwrap().trim();
        let line = line.rsplit("&& ").next().unwrap();
        let line = line.strip_prefix("sudo ").unwrap_or(line);
        if let Some(rest) = line.strip_prefix("rolecall ") {
            out.push(format!("rolecall {}", rest.trim()));
        }
    }
    out
}

/// Every README command line that can run offline runs, against a fixture
/// host with a loopback IMDS: the host-wide scans with `--root FIXTURE`
/// (the machine running the tests is not the fixture), the paths they name
/// inside the fixture. Its exit status and first line are what the README
/// says. A README command this table does not know fails the test.
#[test]
fn every_readme_command_runs_as_documented() {
    let host = Tree::new();
    paired(&host);
    host.write("srv/www/config.php", "<?php $region = 'us-east-1';\n");
    host.write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
    let imds = Server::start(Mode::TokenRequired);
    let fix = host.root().display().to_string();
    let reports = Tree::new();
    let r = scan_json_imds(&imds.url(), [host.path("opt")]);
    reports.write("reports/rolecall/cmd/i-0123456789abcdef0/awsrunShellScript/rolecall/stdout", &r.stdout);
    let despite = "rolecall: STATIC CREDENTIALS DESPITE ROLE: role app-role is attached";
    // README line → (arguments run, exit status, first line's start).
    let table: Vec<(&str, Vec<String>, i32, &str)> = vec![
        ("rolecall scan", vec!["scan".into(), "--root".into(), fix.clone()], 1, despite),
        (
            "rolecall scan --format json",
            vec!["scan".into(), "--format".into(), "json".into(), "--root".into(), fix.clone()],
            1,
            "{",
        ),
        (
            "rolecall scan --format json | jq '.verdict'",
            vec!["scan".into(), "--format".into(), "json".into(), "--root".into(), fix.clone()],
            1,
            "{",
        ),
        (
            "rolecall scan --root /mnt/image --no-imds --fail-on credentials",
            vec![
                "scan".into(),
                "--root".into(),
                fix.clone(),
                "--no-imds".into(),
                "--fail-on".into(),
                "credentials".into(),
            ],
            1,
            "rolecall: ROLE UNKNOWN",
        ),
        (
            "rolecall scan /srv /opt/app",
            vec!["scan".into(), format!("{fix}/srv"), format!("{fix}/opt/app")],
            1,
            despite,
        ),
        (
            "rolecall scan --sources processes",
            vec!["scan".into(), "--sources".into(), "processes".into()],
            -1,
            "rolecall: ",
        ),
        ("rolecall rules list", vec!["rules".into(), "list".into()], 0, "aws.access-key-id "),
        ("rolecall rules check", vec!["rules".into(), "check".into()], 0, ""),
        (
            "rolecall fleet summarize reports/",
            vec!["fleet".into(), "summarize".into(), reports.path("reports").display().to_string()],
            0,
            "rolecall fleet summary: 1 instances from 1 reports (0 files unreadable)",
        ),
    ];
    let commands = readme_commands();
    assert!(commands.len() >= 10, "{commands:?}");
    for c in &commands {
        let Some((_, args, code, first)) = table.iter().find(|(line, ..)| line == c) else {
            panic!("the README shows `{c}`, which this test does not run: add it to the table")
        };
        let mut cmd = rolecall_with_imds(&imds.url());
        cmd.args(args);
        let run = run_with_limit(cmd, Duration::from_secs(120));
        let head = run.stdout.lines().next().unwrap_or("");
        if *code >= 0 {
            assert_eq!(run.code, *code, "`{c}` exits {code}:\n{}{}", run.stdout, run.stderr);
        } else {
            // This machine's own processes: whatever they hold, a verdict and no error.
            assert!(run.code == 0 || run.code == 1, "`{c}`: {}", run.stderr);
        }
        assert!(head.starts_with(first), "`{c}` begins {first:?}, not {head:?}");
        if c.contains("rules check") {
            assert!(run.stdout.trim_end().ends_with(" 0 failures"), "{}", run.stdout);
        }
        if c.contains("jq '.verdict'") {
            assert_eq!(run.json()["verdict"]["verdict"], "static-credentials-despite-role");
        }
    }
}

#[test]
fn each_verbosity_level_adds_what_the_readme_says() {
    let t = Tree::new();
    paired(&t);
    let log = |flag: &str| {
        let mut cmd = rolecall();
        cmd.args(["scan", "--format", "summary", "--no-imds", flag]).arg(t.root());
        run_with_limit(cmd, Duration::from_secs(60)).stderr
    };
    let (v, vv, vvv) = (log("-v"), log("-vv"), log("-vvv"));
    // -v: each phase's start and outcome; -vv: counts and timings; -vvv: every file.
    assert!(v.contains("INFO") && !v.contains("DEBUG"), "{v}");
    assert!(vv.contains("DEBUG") && vv.contains("elapsed_ms"), "{vv}");
    assert!(!vv.contains(".env"), "-vv does not list files: {vv}");
    assert!(vvv.contains("opt/app/.env"), "-vvv lists each file scanned: {vvv}");
    assert!(v.lines().count() < vv.lines().count() && vv.lines().count() < vvv.lines().count());
    assert!(!vvv.contains(SECRET));
}
