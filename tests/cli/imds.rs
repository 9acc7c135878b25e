//! The IMDS probe against a real HTTP server on 127.0.0.1, one test per way
//! IMDS can answer, each bounded in time; and every verdict end to end.

use std::time::Duration;

use serde_json::Value;

use crate::imds_server::{self, Mode, Server};
use crate::util::*;

const SECRET: &str = "5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f";

fn clean_tree() -> Tree {
    let t = Tree::new();
    t.write("etc/app.conf", "region = us-east-1\n");
    t
}

/// Scans a clean tree against a server in `mode` and checks the time bound.
fn probe(mode: Mode, bound: Duration) -> (Run, Value, Server) {
    let server = Server::start(mode);
    let t = clean_tree();
    let run = scan_json_imds(&server.url(), [t.root()]);
    assert!(run.elapsed < bound, "{mode:?}: took {:?}, bound {bound:?}", run.elapsed);
    let report = run.json();
    (run, report, server)
}

fn no_role_secret_leaked(run: &Run) {
    for s in [imds_server::ROLE_SECRET, imds_server::ROLE_TOKEN] {
        assert!(!run.stdout.contains(&s[..16]) && !run.stderr.contains(&s[..16]), "role credential in output");
    }
}

#[test]
fn token_required_role_attached_passes() {
    let (run, r, server) = probe(Mode::TokenRequired, Duration::from_secs(5));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(r["imds"]["state"], "available");
    assert_eq!(r["imds"]["v1_allowed"], false);
    assert_eq!(r["role"]["status"], "attached");
    assert_eq!(r["role"]["role_name"], "app-role");
    assert_eq!(r["role"]["instance_profile_arn"], "arn:aws:iam::123456789012:instance-profile/app-profile");
    assert_eq!(r["role"]["session_key_id"], imds_server::ROLE_SESSION_KEY);
    assert_eq!(r["host"]["instance_id"], "i-0123456789abcdef0");
    assert_eq!(r["host"]["account_id"], "123456789012");
    assert_eq!(r["host"]["region"], "us-east-1");
    assert_eq!(r["verdict"]["verdict"], "pass");
    assert_eq!(r["hardening"], serde_json::json!([]));
    no_role_secret_leaked(&run);
    // The client spoke IMDSv2 as documented: a PUT with a TTL in range, then
    // GETs that all carry the token; nothing was refused.
    let reqs = server.requests();
    let put = reqs.iter().find(|q| q.method == "PUT").expect("a token PUT");
    let ttl: u64 = put.headers["x-aws-ec2-metadata-token-ttl-seconds"].parse().unwrap();
    assert!((1..=21600).contains(&ttl));
    assert!(reqs.iter().all(|q| q.status != 400), "{reqs:?}");
    let with_token: Vec<&str> = reqs
        .iter()
        .filter(|q| q.method == "GET" && q.headers.contains_key("x-aws-ec2-metadata-token"))
        .map(|q| q.path.as_str())
        .collect();
    for path in [
        "/latest/dynamic/instance-identity/document",
        "/latest/meta-data/iam/info",
        "/latest/meta-data/iam/security-credentials/",
        "/latest/meta-data/iam/security-credentials/app-role",
    ] {
        assert!(with_token.contains(&path), "{path} not asked with a token: {with_token:?}");
    }
}

#[test]
fn token_optional_reports_imdsv1_as_hardening() {
    let (run, r, _s) = probe(Mode::TokenOptional, Duration::from_secs(5));
    assert_eq!(run.code, 0);
    assert_eq!(r["imds"]["v1_allowed"], true);
    assert_eq!(r["hardening"][0]["id"], "imdsv1-allowed");
    // Failing on it is a choice.
    let server = Server::start(Mode::TokenOptional);
    let t = clean_tree();
    let run = scan_json_imds(&server.url(), [t.root().as_os_str(), "--fail-on".as_ref(), "imdsv1".as_ref()]);
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["verdict"]["failed_conditions"], serde_json::json!(["imdsv1"]));
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["scan", "--imds-endpoint", &server.url()]).arg(t.root());
    let text = run_with_limit(cmd, Duration::from_secs(30));
    assert!(text.stdout.contains("IMDSv1 is still allowed"), "{}", text.stdout);
}

#[test]
fn rejected_ttl_is_an_error_not_a_role() {
    let (run, r, _s) = probe(Mode::RejectTtl, Duration::from_secs(5));
    assert_eq!(r["imds"]["state"], "error");
    assert_eq!(r["role"]["status"], "unknown");
    assert!(r["role"]["reason"].as_str().unwrap().contains("answered 400"), "{}", run.stdout);
    assert_eq!(r["verdict"]["verdict"], "role-unknown");
    assert_eq!(run.code, 0, "role unknown with nothing found does not fail by default");
}

#[test]
fn expired_tokens_are_renewed_once_then_reported() {
    let (_run, r, server) = probe(Mode::ExpiredTokens, Duration::from_secs(5));
    assert_eq!(r["role"]["status"], "unknown");
    assert!(r["role"]["reason"].as_str().unwrap().contains("refused a fresh token"), "{r}");
    let puts = server.requests().iter().filter(|q| q.method == "PUT").count();
    assert_eq!(puts, 2, "one token, then one fresh token");
}

#[test]
fn no_role_and_empty_role_list() {
    for mode in [Mode::NoRole, Mode::EmptyRoleList] {
        let (run, r, _s) = probe(mode, Duration::from_secs(5));
        assert_eq!(r["role"]["status"], "none", "{mode:?}");
        assert_eq!(r["verdict"]["verdict"], "no-role");
        assert_eq!(run.code, 1, "no role fails by default");
    }
}

/// An instance SSM manages by Default Host Management: no instance profile,
/// the instance identity role answering. Its own verdict, which says the
/// identity role is for the SSM agent only; the identity role is never
/// taken for the attached role, and its credentials are never shown.
#[test]
fn a_dhmc_host_is_its_own_verdict_not_a_role() {
    let (run, r, _s) = probe(Mode::IdentityOnly, Duration::from_secs(5));
    assert_eq!(r["role"]["status"], "none", "{r}");
    assert_eq!(r["imds"]["identity_credentials"], true, "{r}");
    assert_eq!(r["verdict"]["verdict"], "no-role-managed-by-ssm", "{r}");
    assert!(r["verdict"]["summary"].as_str().unwrap().contains("SSM agent only"), "{r}");
    assert_eq!(run.code, 1, "the applications still have no role: no role fails by default");
    assert!(!run.stdout.contains("identity+secret") && !run.stderr.contains("identity+secret"));
    let (_, r, _s) = probe(Mode::NoRole, Duration::from_secs(5));
    assert_eq!(r["imds"]["identity_credentials"], false, "{r}");
    assert_eq!(r["verdict"]["verdict"], "no-role");
}

#[test]
fn disabled_imds_answers_403() {
    let (run, r, _s) = probe(Mode::Disabled, Duration::from_secs(5));
    assert_eq!(r["imds"]["state"], "off");
    assert_eq!(r["role"]["status"], "unknown");
    assert!(r["imds"]["detail"].as_str().unwrap().contains("turned off"));
    assert_eq!(run.code, 0);
}

#[test]
fn dropped_token_put_with_v1_open_is_the_hop_limit() {
    let (run, r, _s) = probe(Mode::DropPutV1Open, Duration::from_secs(6));
    assert_eq!(r["imds"]["state"], "hop-limit");
    assert_eq!(r["imds"]["v1_allowed"], true);
    assert_eq!(r["role"]["status"], "attached", "learned over IMDSv1");
    assert!(r["imds"]["detail"].as_str().unwrap().contains("hop limit"));
    no_role_secret_leaked(&run);
}

#[test]
fn dropped_token_put_with_v2_required_leaves_the_role_unknown() {
    let (_run, r, _s) = probe(Mode::DropPutV2Required, Duration::from_secs(6));
    assert_eq!(r["imds"]["state"], "hop-limit");
    assert_eq!(r["imds"]["v1_allowed"], false);
    assert_eq!(r["role"]["status"], "unknown");
}

#[test]
fn slow_imds_gives_up_within_its_bound() {
    let (_run, r, _s) = probe(Mode::Slow, Duration::from_secs(imds_server::SLOW.as_secs()));
    assert_eq!(r["imds"]["state"], "unreachable");
    assert!(r["imds"]["elapsed_ms"].as_u64().unwrap() < 6000, "{r}");
}

#[test]
fn oversized_garbage_and_truncated_answers_are_errors() {
    for (mode, says) in [
        (Mode::Oversized, "larger than 64 KiB"),
        (Mode::Garbage, "not valid JSON"),
        (Mode::TruncatedJson, "truncated JSON"),
    ] {
        let (run, r, _s) = probe(mode, Duration::from_secs(10));
        assert_eq!(r["imds"]["state"], "error", "{mode:?}");
        assert_eq!(r["role"]["status"], "unknown", "{mode:?}");
        let reason = r["role"]["reason"].as_str().unwrap();
        assert!(reason.contains(says) && reason.contains("/latest/meta-data/iam/info"), "{mode:?}: {reason}");
        assert!(!run.stderr.contains("panicked"));
    }
}

#[test]
fn redirects_are_never_followed() {
    let elsewhere = Server::start(Mode::TokenRequired);
    let server = Server::start_with_redirect(Mode::Redirect, format!("{}/latest/meta-data/iam/info", elsewhere.url()));
    let t = clean_tree();
    let r = scan_json_imds(&server.url(), [t.root()]).json();
    assert_eq!(r["imds"]["state"], "error");
    assert!(r["role"]["reason"].as_str().unwrap().contains("redirects are never followed"), "{r}");
    assert!(elsewhere.requests().is_empty(), "the redirect target was contacted");
}

#[test]
fn proxy_variables_are_ignored() {
    let server = Server::start(Mode::TokenRequired);
    let t = clean_tree();
    let mut cmd = rolecall_with_imds(&server.url());
    for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        cmd.env(var, "http://127.0.0.1:1");
    }
    cmd.args(["scan", "--format", "json", "--imds-endpoint", &server.url()]).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(10));
    assert_eq!(run.json()["role"]["status"], "attached", "{}", run.stdout);
}

#[test]
fn nothing_listening_is_unreachable_fast() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let t = clean_tree();
    let run = scan_json_imds(&format!("http://127.0.0.1:{port}"), [t.root()]);
    let r = run.json();
    assert_eq!(r["imds"]["state"], "unreachable");
    assert!(r["imds"]["detail"].as_str().unwrap().contains("not on EC2"));
    assert!(run.elapsed < Duration::from_secs(3));
}

#[test]
fn sdk_environment_variables_are_honoured() {
    let server = Server::start(Mode::TokenRequired);
    let t = clean_tree();
    // AWS_EC2_METADATA_SERVICE_ENDPOINT alone names the endpoint.
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["scan", "--format", "json"]).arg(t.root());
    let r = run_with_limit(cmd, Duration::from_secs(10)).json();
    assert_eq!(r["imds"]["endpoint"], server.url());
    assert_eq!(r["role"]["status"], "attached");
    // AWS_EC2_METADATA_DISABLED=true (any case) disables it, as botocore reads it.
    for value in ["true", "TRUE"] {
        let mut cmd = rolecall_with_imds(&server.url());
        cmd.env("AWS_EC2_METADATA_DISABLED", value).args(["scan", "--format", "json"]).arg(t.root());
        let r = run_with_limit(cmd, Duration::from_secs(10)).json();
        assert_eq!(r["imds"]["state"], "disabled", "{value}");
    }
    // --no-imds
    let r = scan_json_imds(&server.url(), [t.root().as_os_str(), "--no-imds".as_ref()]).json();
    assert_eq!(r["imds"]["state"], "disabled");
    assert!(r["role"]["reason"].as_str().unwrap().contains("--no-imds"));
    // A bad endpoint is a usage error.
    let run = scan_json_imds("ftp://example.com", [t.root()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("must be an http:// URL"), "{}", run.stderr);
}

/// The IPv6 endpoint ([fd00:ec2::254] on Nitro) is reached the same way:
/// an IMDSv2 server on the IPv6 loopback, named by URL and by the SDK
/// variables with the endpoint mode set to IPv6.
#[test]
fn imds_over_ipv6() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("SKIPPED: this machine has no IPv6 loopback");
        return;
    }
    let server = Server::start_ipv6(Mode::TokenRequired);
    assert!(server.url().starts_with("http://[::1]:"));
    let t = clean_tree();
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6").args(["scan", "--format", "json"]).arg(t.root());
    let r = run_with_limit(cmd, Duration::from_secs(10)).json();
    assert_eq!(r["imds"]["endpoint"], server.url());
    assert_eq!(r["imds"]["state"], "available", "{}", r["imds"]);
    assert_eq!(r["imds"]["v1_allowed"], false);
    assert_eq!(r["role"]["status"], "attached");
    assert_eq!(r["role"]["role_name"], imds_server::ROLE);
    assert_eq!(r["host"]["instance_id"], "i-0123456789abcdef0");
    // --imds-endpoint with an IPv6 literal, over a dead IPv4 endpoint in the environment.
    let mut cmd = rolecall_with_imds("http://127.0.0.1:1");
    cmd.args(["scan", "--format", "json", "--imds-endpoint", &server.url()]).arg(t.root());
    let r = run_with_limit(cmd, Duration::from_secs(10)).json();
    assert_eq!(r["role"]["status"], "attached", "{}", r["imds"]);
    assert!(server.requests().iter().any(|q| q.method == "PUT" && q.path == "/latest/api/token"));
}

// ---------------------------------------------------------------------------
// Every verdict, end to end, with its exit code.

#[test]
fn verdict_static_credentials_despite_role() {
    let server = Server::start(Mode::TokenRequired);
    let t = Tree::new();
    let same = key_id_for_account("AKIA", 123456789012, 7);
    let other = key_id_for_account("AKIA", 210987654321, 9);
    t.write(
        "home/app/.aws/credentials",
        format!("[default]\naws_access_key_id = {same}\naws_secret_access_key = {SECRET}\n"),
    );
    t.write(
        "opt/vendor/.env",
        format!("AWS_ACCESS_KEY_ID={other}\nAWS_SECRET_ACCESS_KEY=0qk+o7XctJMmG6ydO8537c9+TofLJU1K0PiVBXSg\n"),
    );
    let run = scan_json_imds(&server.url(), [t.root()]);
    assert_eq!(run.code, 1);
    let r = run.json();
    assert_eq!(r["verdict"]["verdict"], "static-credentials-despite-role");
    assert_eq!(r["verdict"]["live_credentials"], 2);
    assert_eq!(r["verdict"]["other_account_keys"], 1);
    let relation = |key: &str| {
        r["findings"].as_array().unwrap().iter().find(|f| f["key_id"] == key).unwrap()["account_relation"].clone()
    };
    assert_eq!(relation(&same), "same-account");
    assert_eq!(relation(&other), "other-account");
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["scan", "--imds-endpoint", &server.url()]).arg(t.root());
    let text = run_with_limit(cmd, Duration::from_secs(30));
    let first = text.stdout.lines().next().unwrap();
    assert_eq!(
        first,
        "rolecall: STATIC CREDENTIALS DESPITE ROLE: role app-role is attached; 2 live static credentials found"
    );
    assert!(text.stdout.contains("NOT this instance's account (123456789012)"), "{}", text.stdout);
    assert!(text.stdout.contains("i-0123456789abcdef0 in account 123456789012, us-east-1"), "{}", text.stdout);
}

#[test]
fn verdict_role_credentials_copied_to_disk() {
    let server = Server::start(Mode::TokenRequired);
    let t = Tree::new();
    t.write(
        "srv/app/creds.json",
        format!(
            "{{\"AccessKeyId\": \"{}\",\n \"SecretAccessKey\": \"0qk+o7XctJMmG6ydO8537c9+TofLJU1K0PiVBXSg\",\n \"Token\": \"IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDoG1aR3Kq8vN2mT5xW7yZ4bC6dF9hJ0kL3nP5qR8sU1vX4zA7cE2gI5jM8oQ0tW3y\"}}\n",
            imds_server::ROLE_SESSION_KEY
        ),
    );
    let run = scan_json_imds(&server.url(), [t.root()]);
    assert_eq!(run.code, 1);
    let r = run.json();
    assert_eq!(r["verdict"]["verdict"], "static-credentials-despite-role");
    assert_eq!(r["verdict"]["role_credential_copies"], 1);
    let f = &r["findings"][0];
    assert_eq!(f["kind"], "temporary");
    assert_eq!(f["role_credentials_copy"], true);
    assert_eq!(f["has_session_token"], true);
    assert_eq!(f["account_relation"], "same-account");
}

#[test]
fn verdict_no_role_static_credentials_and_no_role() {
    let server = Server::start(Mode::NoRole);
    let t = Tree::new();
    t.write("etc/environment", format!("AWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN\nAWS_SECRET_ACCESS_KEY={SECRET}\n"));
    let run = scan_json_imds(&server.url(), [t.root()]);
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["verdict"]["verdict"], "no-role-static-credentials");
    // An image pipeline with no role: only credentials fail it.
    let run = scan_json_imds(&server.url(), [t.root().as_os_str(), "--fail-on".as_ref(), "credentials".as_ref()]);
    assert_eq!(run.code, 1);
    let clean = clean_tree();
    let run = scan_json_imds(&server.url(), [clean.root().as_os_str(), "--fail-on".as_ref(), "credentials".as_ref()]);
    assert_eq!(run.code, 0);
    assert_eq!(run.json()["verdict"]["verdict"], "no-role");
    let run = scan_json_imds(&server.url(), [clean.root()]);
    assert_eq!(run.code, 1, "no role fails by default");
}

#[test]
fn verdict_role_unknown_fails_only_with_keys() {
    let t = Tree::new();
    t.write("etc/environment", format!("AWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN\nAWS_SECRET_ACCESS_KEY={SECRET}\n"));
    let run = scan_json([t.root()]);
    assert_eq!(run.json()["verdict"]["verdict"], "role-unknown");
    assert_eq!(run.code, 1);
    let run = scan_json([clean_tree().root()]);
    assert_eq!(run.json()["verdict"]["verdict"], "role-unknown");
    assert_eq!(run.code, 0);
    // Fleet report mode: never fail on findings.
    let run = scan_json([t.root().as_os_str(), "--fail-on".as_ref(), "never".as_ref()]);
    assert_eq!(run.code, 0);
}

#[test]
fn key_id_without_secret_is_reported_but_does_not_fail() {
    let server = Server::start(Mode::TokenRequired);
    let t = Tree::new();
    t.write("etc/notes.txt", "old key: AKIA2OGYBAH6STMMNXNN (rotated)\n");
    let run = scan_json_imds(&server.url(), [t.root()]);
    let r = run.json();
    assert_eq!(run.code, 0);
    assert_eq!(r["verdict"]["verdict"], "pass");
    assert_eq!(r["verdict"]["key_ids_without_secret"], 1);
    assert_eq!(r["findings"][0]["live"], false);
}

#[test]
fn platform_and_configured_credentials_are_expected() {
    let server = Server::start(Mode::TokenRequired);
    let t = Tree::new();
    let shared = t.write(
        "var/lib/amazon/ssm/runcommand/credentials",
        "[default]\naws_access_key_id = ASIAY34FZKBOKMUTVV7A\naws_secret_access_key = 0qk+o7XctJMmG6ydO8537c9+TofLJU1K0PiVBXSg\n",
    );
    t.write(
        "opt/vendor/fixtures/keys.txt",
        format!("AWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN\nAWS_SECRET_ACCESS_KEY={SECRET}\n"),
    );
    let config = t.write(
        "etc/rolecall/config.toml",
        format!(
            "[[expected]]\npath = \"{}\"\nreason = \"vendor test fixture, key deactivated\"\n",
            t.path("opt/vendor/fixtures").display()
        ),
    );
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.env("AWS_SHARED_CREDENTIALS_FILE", &shared).env("AWS_SSM_INSTANCE_ID", "i-0123456789abcdef0");
    cmd.args(["scan", "--format", "json", "--imds-endpoint", &server.url(), "--config"]).arg(&config).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(30));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = run.json();
    assert_eq!(r["verdict"]["verdict"], "pass");
    assert_eq!(r["verdict"]["expected_credentials"], 2);
    let reasons: Vec<&str> =
        r["findings"].as_array().unwrap().iter().map(|f| f["expected"].as_str().unwrap()).collect();
    assert!(reasons.iter().any(|x| x.contains("SSM agent")), "{reasons:?}");
    assert!(reasons.contains(&"vendor test fixture, key deactivated"));
    // Without the agent's markers, the same file is not trusted.
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.env("AWS_SHARED_CREDENTIALS_FILE", &shared);
    cmd.args(["scan", "--format", "json", "--imds-endpoint", &server.url(), "--config"]).arg(&config).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(30));
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["verdict"]["live_credentials"], 1);
}

#[test]
fn malformed_configuration_is_a_usage_error() {
    let t = Tree::new();
    let bad = t.write("config.toml", "[[expected]]\nreason = \"names nothing\"\n");
    let run = scan_json([t.root().as_os_str(), "--config".as_ref(), bad.as_os_str()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("names no key_id, fingerprint or path"), "{}", run.stderr);
    let bad = t.write("config2.toml", "expected = 3\n");
    let run = scan_json([t.root().as_os_str(), "--config".as_ref(), bad.as_os_str()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("parsing configuration"), "{}", run.stderr);
}

/// moto_server (from PyPI, installed by tests/run.sh) serves an IMDS stub:
/// tokens without the TTL echo, no iam/info (500), no identity document
/// (404). The probe still learns the role from the role list.
#[test]
fn against_moto_server() {
    let Some(python) = oracle_python() else { return };
    let (_moto, url) = start_moto(&python);
    let t = clean_tree();
    let run = scan_json_imds(&url, [t.root()]);
    let r = run.json();
    assert_eq!(r["imds"]["state"], "available", "{}", run.stdout);
    assert_eq!(r["role"]["status"], "attached");
    assert_eq!(r["role"]["role_name"], "default-role");
    assert_eq!(r["role"]["instance_profile_arn"], Value::Null);
    let notes = r["imds"]["notes"].to_string();
    assert!(notes.contains("iam/info: answered 500") && notes.contains("no instance identity document"), "{notes}");
    assert_eq!(r["verdict"]["verdict"], "pass");
    assert_eq!(run.code, 0);
}
