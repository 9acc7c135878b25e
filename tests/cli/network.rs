//! The opt-in STS checks against moto's STS on 127.0.0.1 with request
//! authentication on, so that signatures are really checked: `--verify`
//! tells a live pair from a wrong secret and an unknown key, and
//! `--lookup-accounts` names accounts with the instance role's credentials.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::imds_server::{Mode, Server};
use crate::util::*;

/// Sets up moto: a user with a key pair, and an assumed-role session to
/// play the instance role. Returns (user key, user secret, role key, role secret, role token).
const SETUP: &str = r#"
import botocore.session, json, sys
url = sys.argv[1]
s = botocore.session.get_session()
def client(svc, key, secret, token=None):
    return s.create_client(svc, region_name='us-east-1', endpoint_url=url, aws_access_key_id=key,
                           aws_secret_access_key=secret, aws_session_token=token)
allow_all = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
# The first three actions need no authentication (INITIAL_NO_AUTH_ACTION_COUNT=3).
iam = client('iam', 'AKIAJ7ZXQ4YTWB6NHSRE', 'x' * 40)
iam.create_user(UserName='alice')
k = iam.create_access_key(UserName='alice')['AccessKey']
iam.put_user_policy(UserName='alice', PolicyName='all', PolicyDocument=allow_all)
iam = client('iam', k['AccessKeyId'], k['SecretAccessKey'])
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
iam.create_role(RoleName='instance', AssumeRolePolicyDocument=trust)
iam.put_role_policy(RoleName='instance', PolicyName='all', PolicyDocument=allow_all)
c = client('sts', k['AccessKeyId'], k['SecretAccessKey']).assume_role(
    RoleArn='arn:aws:iam::123456789012:role/instance', RoleSessionName='i-0123456789abcdef0')['Credentials']
print(json.dumps([k['AccessKeyId'], k['SecretAccessKey'], c['AccessKeyId'], c['SecretAccessKey'], c['SessionToken']]))
"#;

#[test]
fn verify_and_lookup_accounts_against_moto_sts() {
    let Some(python) = oracle_python() else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let moto = Child(
        Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "moto did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = Command::new(&python).args(["-c", SETUP, &url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let keys: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    let (user_key, user_secret, role_key, role_secret, role_token) = (&keys[0], &keys[1], &keys[2], &keys[3], &keys[4]);
    let imds = Server::start_with_role(Mode::TokenRequired, role_key, role_secret, role_token);

    let t = Tree::new();
    t.write(
        "home/app/.aws/credentials",
        format!("[default]\naws_access_key_id = {user_key}\naws_secret_access_key = {user_secret}\n"),
    );
    let wrong = "Wr0ngSecretAbcdefghijKLMNOPqrstuvwxyz012";
    t.write("opt/old/.env", format!("AWS_ACCESS_KEY_ID={user_key}\nAWS_SECRET_ACCESS_KEY={wrong}\n"));
    t.write(
        "srv/x/settings.ini",
        "aws_access_key_id = AKIA2OGYBAH6STMMNXNN\naws_secret_access_key = 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\n",
    );
    let mut cmd = rolecall_with_imds(&imds.url());
    cmd.args([
        "scan",
        "-vvv",
        "--format",
        "json",
        "--verify",
        "--lookup-accounts",
        "--imds-endpoint",
        &imds.url(),
        "--sts-endpoint",
        &url,
    ])
    .arg(t.root())
    .env("RUST_LOG", "trace");
    let started = Instant::now();
    let run = run_with_limit(cmd, Duration::from_secs(60));
    let took = started.elapsed();
    let r = run.json();
    let by_path = |p: &str| -> Value {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["location"]["path"].as_str().unwrap().ends_with(p))
            .unwrap()
            .clone()
    };
    let live = by_path("home/app/.aws/credentials");
    assert_eq!(live["verification"]["status"], "valid", "{}", run.stdout);
    assert_eq!(live["verification"]["arn"], "arn:aws:iam::123456789012:user/alice");
    assert_eq!(live["live"], true);
    let stale = by_path("opt/old/.env");
    assert_eq!(stale["verification"], serde_json::json!({ "status": "invalid", "code": "SignatureDoesNotMatch" }));
    assert_eq!(stale["live"], false, "a pair STS refuses is not live");
    // Its key ID decodes to a canarytokens.org account: never sent.
    let canary = by_path("srv/x/settings.ini");
    assert_eq!(canary["verification"]["status"], "skipped-canary");
    // GetAccessKeyInfo, signed with the role's session: every key gets an account.
    for f in [&live, &stale, &canary] {
        assert_eq!(f["sts_account_id"], "123456789012");
    }
    assert_eq!(live["account_relation"], "same-account");
    // The canary key was not refused by STS (it was never asked): it counts.
    assert_eq!(r["verdict"]["live_credentials"], 2);
    // Rate-limited: four signed calls at least 250 ms apart (two checks, one lookup per key).
    assert!(took >= Duration::from_millis(750), "{took:?}");
    for s in [user_secret.as_str(), wrong, role_secret.as_str(), &role_token[..24]] {
        assert!(!run.stdout.contains(s) && !run.stderr.contains(s), "a secret reached the output");
    }
    // Text says what STS said, and the advice names the user the ARN names.
    let mut cmd = rolecall_with_imds(&imds.url());
    cmd.args(["scan", "--verify", "--imds-endpoint", &imds.url(), "--sts-endpoint", &url]).arg(t.root());
    let text = run_with_limit(cmd, Duration::from_secs(60)).stdout;
    assert!(
        text.contains("sts    STS GetCallerIdentity: the pair works, as arn:aws:iam::123456789012:user/alice"),
        "{text}"
    );
    assert!(text.contains("refused the pair (SignatureDoesNotMatch)"), "{text}");
    assert!(
        text.contains(&format!(
            "aws iam update-access-key --access-key-id {user_key} --status Inactive --user-name alice"
        )),
        "{text}"
    );
    drop(moto);
}

#[test]
fn network_checks_are_off_by_default_and_fail_softly() {
    let t = Tree::new();
    // A key of an ordinary account (not a canary one, which is never sent).
    let key = key_id_for_account("AKIA", 444_455_556_666, 3);
    t.write(
        ".env",
        format!("AWS_ACCESS_KEY_ID={key}\nAWS_SECRET_ACCESS_KEY=5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f\n"),
    );
    let r = scan_json([t.root()]).json();
    assert_eq!(r["findings"][0]["verification"], Value::Null);
    // An STS endpoint that does not answer: the scan still reports, with a gap.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let run = scan_json([
        t.root().as_os_str(),
        "--verify".as_ref(),
        "--sts-endpoint".as_ref(),
        format!("http://127.0.0.1:{port}").as_ref(),
    ]);
    let r = run.json();
    assert_eq!(r["findings"][0]["verification"]["status"], "unknown");
    assert_eq!(r["findings"][0]["live"], true, "unknown is not a reason to stop counting it");
    // Lookups need the role: without IMDS there is none, and it says so.
    let r = scan_json([t.root().as_os_str(), "--lookup-accounts".as_ref()]).json();
    let gaps = r["coverage"]["gaps"].to_string();
    assert!(gaps.contains("needs the instance role's credentials"), "{gaps}");
}

/// An STS stand-in on 127.0.0.1 that records the key that signed each
/// request and refuses it (403 InvalidClientTokenId).
fn recording_sts() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut conn = conn;
            while let Some(r) = crate::imds_server::read_request(&mut reader) {
                let signer = r
                    .headers
                    .get("authorization")
                    .and_then(|a| a.split("Credential=").nth(1))
                    .and_then(|c| c.split('/').next())
                    .unwrap_or("unsigned")
                    .to_string();
                log.lock().unwrap().push(signer);
                let body = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code></Error></ErrorResponse>";
                let head = format!(
                    "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(body.as_bytes())).is_err() {
                    break;
                }
            }
        }
    });
    (url, seen)
}

#[test]
fn verify_never_sends_a_canary_key_nor_one_the_account_lists_exclude() {
    // AKIA2OGYBAH6STMMNXNN decodes to 717712589309, one of canarytokens.org's accounts.
    let canary = "AKIA2OGYBAH6STMMNXNN";
    let skipped = key_id_for_account("AKIA", 111_122_223_333, 7);
    let sent = key_id_for_account("AKIA", 444_455_556_666, 9);
    let t = Tree::new();
    for (dir, key, secret) in [
        ("a", canary, "5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f"),
        ("b", skipped.as_str(), "q8Rt2LmVx9Kp4sWnZ7cYhB3fJd6GtE1uNaXo5iQe"),
        ("c", sent.as_str(), "Zm3Nq7Rk2Pw9Lx4Vt6Hs8Jb1Cd5Fg0Ay3Ue7Io2W"),
    ] {
        t.write(format!("{dir}/.env"), format!("AWS_ACCESS_KEY_ID={key}\nAWS_SECRET_ACCESS_KEY={secret}\n"));
    }
    let scan = |extra: &[&str]| {
        let (url, seen) = recording_sts();
        let mut cmd = rolecall();
        cmd.args(["scan", "--format", "json", "--no-imds", "--verify", "--sts-endpoint", &url])
            .args(extra)
            .arg(t.root());
        let r = run_with_limit(cmd, Duration::from_secs(60)).json();
        let status = |key: &str| -> Value {
            r["findings"].as_array().unwrap().iter().find(|f| f["key_id"] == key).unwrap()["verification"].clone()
        };
        let statuses = [status(canary), status(&skipped), status(&sent)];
        let signers = seen.lock().unwrap().clone();
        (statuses, signers)
    };
    let ([c, s, v], signers) = scan(&["--skip-accounts", "111122223333"]);
    assert_eq!(
        c,
        serde_json::json!({ "status": "skipped-canary", "account": "717712589309", "issuer": "Thinkst Canarytokens (canarytokens.org)" })
    );
    assert_eq!(
        s,
        serde_json::json!({ "status": "skipped-policy", "reason": "account 111122223333 is in --skip-accounts" })
    );
    assert_eq!(v, serde_json::json!({ "status": "invalid", "code": "InvalidClientTokenId" }));
    assert_eq!(signers, vec![sent.clone()], "only the key no rule excludes reached STS");

    // An allow list: nothing outside it is sent.
    let ([c, s, v], signers) = scan(&["--verify-accounts", "999988887777"]);
    assert_eq!(c["status"], "skipped-canary", "the canary list wins over any allow list");
    assert_eq!(s["status"], "skipped-policy");
    assert_eq!(v["reason"], "account 444455556666 is not in --verify-accounts");
    assert!(signers.is_empty(), "{signers:?}");

    // A list of one's own replaces the built-in one.
    let own = Tree::new();
    own.write("canaries.toml", "[[issuer]]\nname = \"our honeytokens\"\naccounts = [\"444455556666\"]\n");
    let ([c, _, v], signers) = scan(&["--canary-accounts", own.path("canaries.toml").to_str().unwrap()]);
    assert_eq!(v["status"], "skipped-canary");
    assert_eq!(v["issuer"], "our honeytokens");
    assert_eq!(c["status"], "invalid", "the built-in list was replaced");
    assert_eq!(signers.len(), 2, "{signers:?}");
    assert!(!signers.contains(&sent));

    // Text says why a key was not sent.
    let (url, _) = recording_sts();
    let mut cmd = rolecall();
    cmd.args(["scan", "--no-imds", "--verify", "--sts-endpoint", &url]).arg(t.path("a"));
    let text = run_with_limit(cmd, Duration::from_secs(60)).stdout;
    assert!(text.contains("sts    not sent to STS: account 717712589309 issues canary keys"), "{text}");
}
