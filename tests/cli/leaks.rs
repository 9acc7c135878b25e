//! Secrets never leave the process: plant secrets and session tokens, run
//! every output format at the highest verbosity, and look for them anywhere
//! in stdout and stderr.

use std::time::Duration;

use crate::imds_server::{self, Mode, Server};
use crate::util::*;

const SECRET: &str = "5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f";
const SECRET2: &str = "0qk+o7XctJMmG6ydO8537c9+TofLJU1K0PiVBXSg";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDoG1aR3Kq8vN2mT5xW7yZ4bC6dF9hJ0kL3nP5qR8sU1vX4zA7cE2gI5jM8oQ0tW3y";

/// The values of `--format` that `rolecall scan -h` lists, so that a new
/// format is covered without editing this test.
pub fn formats() -> Vec<String> {
    let mut cmd = rolecall();
    cmd.args(["scan", "-h"]);
    let help = run_with_limit(cmd, Duration::from_secs(10)).stdout;
    let line = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("--format"))
        .find(|l| l.contains("possible values"))
        .expect("--format lists its values");
    let values = line.split("possible values:").nth(1).unwrap().trim().trim_end_matches(']');
    values.split(',').map(|v| v.trim().to_string()).collect()
}

/// Fails if any secret, or any 12-character piece of one, is in `text`:
/// the planted ones and the role credentials the IMDS test server hands out.
pub fn assert_no_secret(text: &str, what: &str) {
    for s in [SECRET, SECRET2, TOKEN, imds_server::ROLE_SECRET, imds_server::ROLE_TOKEN] {
        for piece in s.as_bytes().windows(12) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(!text.contains(piece), "{what} contains part of a secret ({piece}):\n{text}");
        }
    }
}

pub fn planted_tree() -> Tree {
    let t = Tree::new();
    t.write(
        "home/app/.aws/credentials",
        format!("[default]\naws_access_key_id = AKIA2OGYBAH6STMMNXNN\naws_secret_access_key = {SECRET}\n"),
    );
    t.write(
        "etc/app.env",
        format!("AWS_ACCESS_KEY_ID=ASIAY34FZKBOKMUTVV7A\nAWS_SECRET_ACCESS_KEY={SECRET2}\nAWS_SESSION_TOKEN={TOKEN}\n"),
    );
    t.write("opt/lonely.conf", format!("secret_key = {SECRET}\n"));
    t
}

#[test]
fn no_format_at_any_verbosity_prints_a_secret() {
    let t = planted_tree();
    let formats = formats();
    assert!(formats.contains(&"json".to_string()) && formats.contains(&"text".to_string()), "{formats:?}");
    // A role is attached, so the probe reads (and must drop) role credentials.
    let server = Server::start(Mode::TokenOptional);
    for format in &formats {
        for verbosity in ["-q", "-v", "-vvv"] {
            let mut cmd = rolecall_with_imds(&server.url());
            cmd.args(["scan", verbosity, "--format", format]).arg(t.root()).env("RUST_LOG", "trace");
            let run = run_with_limit(cmd, Duration::from_secs(60));
            assert_eq!(run.code, 1, "{format} {verbosity}: {}", run.stderr);
            assert!(run.stdout.contains("AKIA2OGYBAH6STMMNXNN"), "{format}: key IDs are shown");
            assert_no_secret(&run.stdout, &format!("stdout of --format {format} {verbosity}"));
            assert_no_secret(&run.stderr, &format!("stderr of --format {format} {verbosity}"));
        }
    }
}

#[test]
fn no_file_rolecall_writes_holds_a_secret() {
    let t = planted_tree();
    let out = Tree::new();
    let server = Server::start(Mode::TokenRequired);
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["scan", "-vvv", "--summary", "--ssm-inventory", "--imds-endpoint", &server.url(), "--ssm-data-dir"])
        .arg(out.path("ssm"));
    let mut written = Vec::new();
    for format in formats().iter().filter(|f| *f != "summary") {
        let file = out.path(format!("report.{format}"));
        cmd.arg("--output").arg(format!("{format}={}", file.display()));
        written.push(file);
    }
    cmd.arg(t.root()).env("RUST_LOG", "trace");
    let run = run_with_limit(cmd, Duration::from_secs(60));
    assert_eq!(run.code, 1, "{}", run.stderr);
    written.push(out.path("ssm/i-0123456789abcdef0/inventory/custom/rolecall.json"));
    for file in &written {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(text.contains("AKIA2OGYBAH6STMMNXNN") || text.contains("AKIA...NXNN"), "{}", file.display());
        assert_no_secret(&text, &file.display().to_string());
    }
    assert_no_secret(&run.stdout, "stdout");
    assert_no_secret(&run.stderr, "stderr");
}
