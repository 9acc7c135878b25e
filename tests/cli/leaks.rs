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

/// Starts `/bin/sleep 300` with a raw environment block: entries as given,
/// without `=` where so written (execve through ctypes: no shell or
/// `Command` can make one). Killed when dropped.
fn raw_environment_process(entries: &[&str]) -> Child {
    let python = std::env::var_os("ROLECALL_TEST_PYTHON").unwrap_or_else(|| "python3".into());
    let program = "import ctypes, sys\n\
                   libc = ctypes.CDLL(None)\n\
                   def arr(xs):\n    a = (ctypes.c_char_p * (len(xs) + 1))(*[x.encode() for x in xs]); a[len(xs)] = None; return a\n\
                   libc.execve(b'/bin/sleep', arr(['sleep', '300']), arr(sys.argv[1:]))\n";
    let mut cmd = std::process::Command::new(python);
    cmd.args(["-c", program]).args(entries).env_clear();
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null());
    let child = Child(cmd.spawn().expect("start python3"));
    let exe = format!("/proc/{}/exe", child.0.id());
    let start = std::time::Instant::now();
    while std::fs::read_link(&exe).map(|e| !e.ends_with("sleep")).unwrap_or(true)
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

/// Secrets on command lines, in environment entries without `=`, in a
/// `credential_process` command and in the instance's user data: none
/// reaches stdout or stderr, in any format, at any verbosity.
#[test]
fn no_secret_from_a_process_a_chain_or_user_data_is_printed() {
    use std::os::unix::process::CommandExt;
    let t = Tree::new();
    t.write(
        "home/cp/.aws/config",
        format!(
            "[default]\ncredential_process = /usr/local/bin/get-creds --id AKIA2OGYBAH6STMMNXNN --secret {SECRET}\n"
        ),
    );
    let python = std::env::var_os("ROLECALL_TEST_PYTHON").unwrap_or_else(|| "python3".into());
    let mut java = std::process::Command::new(&python);
    java.arg0("java")
        .args(["-c", "import time\ntime.sleep(300)"])
        .arg("-Daws.accessKeyId=AKIALALEMEL33243OLIB")
        .arg(format!("-Daws.secretAccessKey={SECRET2}"))
        .arg(format!("--token={TOKEN}"))
        .env_clear()
        .env("HOME", t.path("home/cp"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    let _java = Child(java.spawn().expect("start python3"));
    let _bare = raw_environment_process(&[
        "PATH=/bin",
        &format!("AWS_SECRET_ACCESS_KEY {SECRET}"),
        &format!("AWS_SESSION_TOKEN{TOKEN}"),
    ]);
    let user_data = format!(
        "#!/bin/sh\nexport AWS_ACCESS_KEY_ID=ASIAY34FZKBOKMUTVV7A\nexport AWS_SECRET_ACCESS_KEY={SECRET2}\nexport AWS_SESSION_TOKEN={TOKEN}\n"
    );
    let server = Server::start_with_user_data(Mode::TokenOptional, user_data.into_bytes());
    std::thread::sleep(Duration::from_millis(300));
    for format in formats() {
        for verbosity in ["-q", "-v", "-vvv"] {
            let mut cmd = rolecall_with_imds(&server.url());
            cmd.args([
                "scan",
                verbosity,
                "--format",
                &format,
                "--sources",
                "processes",
                "--imds-endpoint",
                &server.url(),
            ]);
            cmd.env("RUST_LOG", "trace");
            let run = run_with_limit(cmd, Duration::from_secs(120));
            assert_eq!(run.code, 1, "{format} {verbosity}: {}", run.stderr);
            assert_no_secret(&run.stdout, &format!("stdout of --format {format} {verbosity}"));
            assert_no_secret(&run.stderr, &format!("stderr of --format {format} {verbosity}"));
            if format == "json" {
                let report = run.json();
                let kinds: Vec<&str> = report["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|f| f["location"]["type"].as_str())
                    .collect();
                assert!(kinds.contains(&"command-line") && kinds.contains(&"imds-user-data"), "{kinds:?}");
                let text = run.stdout.as_str();
                assert!(
                    text.contains("(no name) AWS_SECRET_ACCESS_KEY <secret sha256:"),
                    "the bare entry is shown redacted"
                );
                assert!(
                    text.contains("get-creds --id AKIA2OGYBAH6STMMNXNN --secret <secret sha256:"),
                    "credential_process"
                );
            }
        }
    }
}
