//! A sound verdict: every static pair that software on a host would load is
//! found with its secret, counted live, and fails the image gate
//! (`--fail-on credentials`). Each test builds the host the way real ones
//! are built and runs the binary on it, or starts the real process.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

const SECRET: &str = "5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f";

/// A key ID no other test uses (process scans see every test's processes).
fn key(n: u64) -> String {
    key_id_for_account("AKIA", 444455556666, n * 11 + 5)
}

/// A fixture host: root, a person (app) and a service account (svc).
fn host() -> Tree {
    let t = Tree::new();
    t.write(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\n\
         app:x:1000:1000:App:/home/app:/bin/bash\n\
         svc:x:998:998::/var/lib/svc:/usr/sbin/nologin\n",
    );
    t
}

/// The AMI gate on a mounted image: `scan --root IMAGE --no-imds --fail-on credentials`.
fn gate(t: &Tree) -> (Run, Value) {
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--fail-on", "credentials", "--root"]).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(120));
    let report = run.json();
    (run, report)
}

/// The finding of `key` at `path` (as the host sees it), which must be live with its secret.
fn live<'a>(report: &'a Value, key: &str, path: &str) -> &'a Value {
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key_id"] == key && f["location"]["path"] == path)
        .unwrap_or_else(|| panic!("no finding of {key} in {path}: {:#}", report["findings"]));
    assert_eq!(f["has_secret"], true, "{f:#}");
    assert_eq!(f["live"], true, "{f:#}");
    f
}

/// The gate fails the image, as it must with a live key in it.
fn assert_gate_fails(run: &Run, report: &Value) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    let failed = report["verdict"]["failed_conditions"].as_array().unwrap();
    assert!(failed.contains(&Value::from("credentials")), "{:#}", report["verdict"]);
    assert!(report["verdict"]["live_credentials"].as_u64().unwrap() >= 1);
}

#[test]
fn column_aligned_and_mixed_case_credentials_are_live() {
    let t = host();
    let (a, b) = (key(1), key(2));
    t.write(
        "root/.aws/credentials",
        format!(
            "[default]\naws_access_key_id          = {a}\naws_secret_access_key      = {SECRET}\n\n\
             [ci]\nAWS_Access_Key_ID = {b}\nAWS_Secret_Access_Key = {SECRET}\n"
        ),
    );
    let (run, report) = gate(&t);
    assert_eq!(live(&report, &a, "/root/.aws/credentials")["location"]["line"], 2);
    let mixed = live(&report, &b, "/root/.aws/credentials");
    assert!(mixed["loaded_by"][0].as_str().unwrap().contains("botocore"), "{mixed:#}");
    assert_gate_fails(&run, &report);
}

#[test]
fn pam_environment_files_are_live() {
    let t = host();
    let (user, system) = (key(3), key(4));
    t.write(
        "home/app/.pam_environment",
        format!("AWS_ACCESS_KEY_ID DEFAULT={user}\nAWS_SECRET_ACCESS_KEY DEFAULT={SECRET}\n"),
    );
    t.write(
        "etc/security/pam_env.conf",
        format!("# pam_env\nAWS_ACCESS_KEY_ID\tOVERRIDE={system}\nAWS_SECRET_ACCESS_KEY\tOVERRIDE=\"{SECRET}\"\n"),
    );
    let (run, report) = gate(&t);
    live(&report, &user, "/home/app/.pam_environment");
    live(&report, &system, "/etc/security/pam_env.conf");
    assert_gate_fails(&run, &report);
}

#[test]
fn terraform_state_of_an_access_key_is_live() {
    let t = host();
    let k = key(5);
    t.write(
        "opt/infra/terraform.tfstate",
        format!(
            "{{\n  \"version\": 4,\n  \"resources\": [\n    {{\n      \"type\": \"aws_iam_access_key\",\n      \"name\": \"ci\",\n      \
             \"instances\": [\n        {{\n          \"attributes\": {{\n            \"create_date\": \"2025-01-01T00:00:00Z\",\n            \
             \"encrypted_secret\": null,\n            \"id\": \"{k}\",\n            \"key_fingerprint\": null,\n            \
             \"pgp_key\": null,\n            \"secret\": \"{SECRET}\",\n            \"ses_smtp_password_v4\": \"BDa6vU8pbJ0dVWYt+xiwx9z6UZmcvAD4QV1dw9rQTP9h\",\n            \
             \"status\": \"Active\",\n            \"user\": \"ci\"\n          }}\n        }}\n      ]\n    }}\n  ]\n}}\n"
        ),
    );
    let (run, report) = gate(&t);
    assert_eq!(live(&report, &k, "/opt/infra/terraform.tfstate")["paired_by"], "json-object");
    assert_gate_fails(&run, &report);
}

#[test]
fn the_consoles_access_key_csv_is_live() {
    let t = host();
    let k = key(6);
    t.write("home/app/Downloads/accessKeys.csv", format!("Access key ID,Secret access key\r\n{k},{SECRET}\r\n"));
    let (run, report) = gate(&t);
    assert_eq!(live(&report, &k, "/home/app/Downloads/accessKeys.csv")["paired_by"], "csv-columns");
    assert_gate_fails(&run, &report);
}

#[test]
fn an_s3cfg_with_its_secret_far_below_is_live() {
    let t = host();
    let k = key(7);
    let middle: String = (0..40).map(|i| format!("option_{i} = value\n")).collect();
    // A service account: only its dotfiles are read.
    t.write("var/lib/svc/.s3cfg", format!("[default]\naccess_key = {k}\n{middle}secret_key = {SECRET}\n"));
    let (run, report) = gate(&t);
    assert_eq!(live(&report, &k, "/var/lib/svc/.s3cfg")["paired_by"], "ini-section");
    assert_gate_fails(&run, &report);
}

#[test]
fn a_latin1_config_file_is_live() {
    let t = host();
    let k = key(8);
    let mut text = b"# Cl\xe9s d'acc\xe8s (ne pas diffuser)\ncl\xe9_acc\xe8s=".to_vec();
    text.extend_from_slice(k.as_bytes());
    text.extend_from_slice(b"\ncl\xe9_secr\xe8te=");
    text.extend_from_slice(SECRET.as_bytes());
    text.extend_from_slice(b"\n");
    t.write("srv/app/config.properties", text);
    let (run, report) = gate(&t);
    assert_eq!(live(&report, &k, "/srv/app/config.properties")["paired_by"], "neighbour");
    assert_gate_fails(&run, &report);
}

#[test]
fn a_binary_with_the_pair_as_adjacent_strings_is_live() {
    let t = host();
    let k = key(9);
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    elf.extend((0..20_000u32).map(|i| (i * 7 % 251) as u8));
    elf.extend_from_slice(b"\0\0\0");
    elf.extend_from_slice(k.as_bytes());
    elf.extend_from_slice(b"\0\0\0\0\0\0\0\0");
    elf.extend_from_slice(SECRET.as_bytes());
    elf.extend_from_slice(b"\0\0");
    elf.extend((0..20_000u32).map(|i| (i * 13 % 251) as u8));
    t.write("usr/local/bin/uploader", elf);
    let (run, report) = gate(&t);
    assert_eq!(live(&report, &k, "/usr/local/bin/uploader")["paired_by"], "neighbour");
    assert_gate_fails(&run, &report);
}

#[test]
fn a_symlinked_credentials_file_is_read_at_its_target() {
    let t = host();
    let k = key(10);
    // /var/tmp is no default location: only the SDK's way there reaches it.
    t.write("var/tmp/x", format!("[default]\naws_access_key_id = {k}\naws_secret_access_key = {SECRET}\n"));
    std::fs::create_dir_all(t.path("var/lib/svc/.aws")).unwrap();
    std::os::unix::fs::symlink("/var/tmp/x", t.path("var/lib/svc/.aws/credentials")).unwrap();
    let (run, report) = gate(&t);
    live(&report, &k, "/var/tmp/x");
    assert_gate_fails(&run, &report);
}

#[test]
fn ten_thousand_example_keys_do_not_hide_a_real_one() {
    let t = host();
    let k = key(11);
    let mut text = "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n".repeat(10_000);
    text.push_str(&format!("AWS_ACCESS_KEY_ID={k}\nAWS_SECRET_ACCESS_KEY={SECRET}\n"));
    t.write("opt/app/.env", text);
    let (run, report) = gate(&t);
    live(&report, &k, "/opt/app/.env");
    assert!(report["coverage"]["ignored"]["examples"].as_u64().unwrap() >= 10_000);
    assert_eq!(report["coverage"]["gap_counts"]["too-many-matches"], Value::Null, "{:#}", report["coverage"]);
    assert_gate_fails(&run, &report);
}

/// A process whose command line is exactly `argv` and whose environment
/// is exactly `env`, idling (Python, started under the name `argv[0]`, with
/// `-c` and its program as arguments 1 and 2); killed when dropped.
fn process(argv: &[&str], env: &[(&str, &str)]) -> Child {
    use std::os::unix::process::CommandExt;
    let python = std::env::var_os("ROLECALL_TEST_PYTHON").unwrap_or_else(|| "python3".into());
    let mut cmd = Command::new(python);
    cmd.arg0(argv[0]).args(["-c", "import time\ntime.sleep(300)"]).args(&argv[1..]);
    cmd.env_clear().envs(env.iter().copied()).stdin(Stdio::null()).stdout(Stdio::null());
    let child = Child(cmd.spawn().expect("start python3"));
    let cmdline = format!("/proc/{}/cmdline", child.0.id());
    let start = std::time::Instant::now();
    while !std::fs::read(&cmdline).unwrap_or_default().ends_with(format!("{}\0", argv[argv.len() - 1]).as_bytes())
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn scan_processes() -> (Run, Value) {
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--sources", "processes", "--fail-on", "credentials"]);
    let run = run_with_limit(cmd, Duration::from_secs(120));
    let report = run.json();
    (run, report)
}

/// The finding of `key` in process `pid`, which must be live with its secret.
fn live_in_process<'a>(report: &'a Value, key: &str, pid: u32) -> &'a Value {
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key_id"] == key && f["processes"].as_array().unwrap().iter().any(|p| p["pid"] == pid))
        .unwrap_or_else(|| panic!("no finding of {key} in pid {pid}: {:#}", report["findings"]));
    assert_eq!(f["has_secret"], true, "{f:#}");
    assert_eq!(f["live"], true, "{f:#}");
    f
}

#[test]
fn jvm_system_properties_on_a_command_line_are_live_and_never_shown() {
    let k = key(12);
    let p = process(
        &["java", &format!("-Daws.accessKeyId={k}"), &format!("-Daws.secretAccessKey={SECRET}"), "-jar", "app.jar"],
        &[("PATH", "/usr/bin:/bin")],
    );
    let (run, report) = scan_processes();
    let f = live_in_process(&report, &k, p.0.id());
    assert_eq!(f["location"]["type"], "command-line");
    assert_eq!(f["location"]["argument"], 3, "java -c PROGRAM -Daws.accessKeyId=…");
    assert!(f["loaded_by"][0].as_str().unwrap().starts_with("Java SDK"), "{f:#}");
    let command = f["location"]["command"].as_str().unwrap();
    assert!(command.starts_with("java -c ") && command.contains("<secret sha256:"), "{command}");
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
    assert_gate_fails(&run, &report);
}

/// A tool the test needs from tests/run.sh, or None (and the test skips) when it is not there.
fn required(var: &str) -> Option<std::path::PathBuf> {
    match std::env::var_os(var).map(std::path::PathBuf::from).filter(|p| p.exists()) {
        Some(p) => Some(p),
        None if std::env::var_os("ROLECALL_REQUIRE_ORACLES").is_some() => {
            panic!("{var} is required: run bash tests/run.sh")
        }
        None => {
            eprintln!("SKIPPED: {var} is not set (bash tests/run.sh sets it)");
            None
        }
    }
}

/// The chain of `pid`, which must resolve, by `sdk`, to static environment keys `key`.
fn static_env_chain<'a>(report: &'a Value, pid: u32, runtime: &str, sdk: &str, key: &str) -> &'a Value {
    let c = report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == pid).unwrap();
    assert_eq!(c["runtime"], runtime, "{c:#}");
    assert_eq!(c["resolution"]["sdk"], sdk, "{c:#}");
    assert_eq!(c["resolution"]["source"]["type"], "environment", "{c:#}");
    assert_eq!(c["resolution"]["source"]["key_id"], key, "{c:#}");
    assert_eq!(c["resolution"]["shadowing"], "static-keys", "{c:#}");
    // botocore reads neither name: it differs, and says so.
    let botocore =
        c["other_sdks"].as_array().unwrap().iter().find(|o| o["sdk"] == "botocore").expect("botocore differs");
    assert_ne!(botocore["shadowing"], "static-keys", "{c:#}");
    c
}

/// A Go program built with the AWS SDK for Go v2 (Debian's), holding a key in
/// `AWS_ACCESS_KEY`/`AWS_SECRET_KEY`, names botocore ignores: its chain is
/// the Go SDK's, static keys, and the gate fails.
#[test]
fn a_go_binary_with_the_older_variable_names_uses_static_keys() {
    let Some(go) = required("ROLECALL_TEST_GO_V2_ORACLE") else { return };
    let k = key(14);
    let env = [
        ("AWS_ACCESS_KEY", k.as_str()),
        ("AWS_SECRET_KEY", SECRET),
        ("HOME", "/nonexistent"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let p = crate::host::spawn_with(&go, &["wait"], &env);
    let (run, report) = scan_processes();
    static_env_chain(&report, p.0.id(), "go", "go-v2", &k);
    let f = live_in_process(&report, &k, p.0.id());
    assert!(f["loaded_by"][0].as_str().unwrap().contains("Go"), "{f:#}");
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
    assert_gate_fails(&run, &report);
}

/// A Ruby process with `AMAZON_ACCESS_KEY_ID`/`AMAZON_SECRET_ACCESS_KEY`,
/// names only the Ruby SDK reads: its chain is Ruby's, static keys, and the gate fails.
#[test]
fn a_ruby_process_with_amazon_variables_uses_static_keys() {
    let Some(ruby) = required("ROLECALL_TEST_RUBY") else { return };
    let k = key(15);
    let env = [("AMAZON_ACCESS_KEY_ID", k.as_str()), ("AMAZON_SECRET_ACCESS_KEY", SECRET), ("HOME", "/nonexistent")];
    let p = crate::host::spawn_with(&ruby.canonicalize().unwrap(), &["-e", "sleep 300"], &env);
    let (run, report) = scan_processes();
    static_env_chain(&report, p.0.id(), "ruby", "ruby", &k);
    live_in_process(&report, &k, p.0.id());
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
    assert_gate_fails(&run, &report);
}

#[test]
fn aws_configure_set_on_a_command_line_is_live() {
    let k = key(13);
    let p = process(
        &[
            "aws",
            "configure",
            "set",
            "aws_access_key_id",
            &k,
            "&&",
            "aws",
            "configure",
            "set",
            "aws_secret_access_key",
            SECRET,
        ],
        &[("PATH", "/usr/bin:/bin")],
    );
    let (run, report) = scan_processes();
    let f = live_in_process(&report, &k, p.0.id());
    assert_eq!(f["location"]["argument"], 6, "aws -c PROGRAM configure set aws_access_key_id KEY");
    assert!(!run.stdout.contains(SECRET));
    assert_gate_fails(&run, &report);
}

#[test]
fn ten_thousand_example_keys_in_an_environment_do_not_hide_a_real_one() {
    let k = key(14);
    let mut env: Vec<(String, String)> =
        (0..10_000).map(|i| (format!("EXAMPLE_{i}"), "AKIAIOSFODNN7EXAMPLE".to_string())).collect();
    env.push(("AWS_ACCESS_KEY_ID".into(), k.clone()));
    env.push(("AWS_SECRET_ACCESS_KEY".into(), SECRET.into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let p = process(&["app"], &env);
    let (run, report) = scan_processes();
    let f = live_in_process(&report, &k, p.0.id());
    assert_eq!(f["location"]["variable"], "AWS_ACCESS_KEY_ID");
    assert!(report["coverage"]["ignored"]["examples"].as_u64().unwrap() >= 10_000);
    assert_gate_fails(&run, &report);
}

#[test]
fn a_java_processs_credential_profiles_file_is_followed() {
    let t = Tree::new();
    let k = key(15);
    // Outside every default location, reached through a symlink.
    t.write("elsewhere/creds.ini", format!("[default]\naws_access_key_id = {k}\naws_secret_access_key = {SECRET}\n"));
    std::os::unix::fs::symlink(t.path("elsewhere/creds.ini"), t.path("link.ini")).unwrap();
    let link = t.path("link.ini");
    let p = process(
        &["java", "-jar", "app.jar"],
        &[("AWS_CREDENTIAL_PROFILES_FILE", link.to_str().unwrap()), ("HOME", "/nonexistent"), ("PATH", "/bin")],
    );
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--sources", "processes,files", "--fail-on", "credentials"]);
    // The host's own big trees are not what this is about.
    for big in ["/root", "/usr", "/var", "/opt", "/home", "/srv"] {
        cmd.args(["--exclude", big]);
    }
    let run = run_with_limit(cmd, Duration::from_secs(300));
    let report = run.json();
    let real = std::fs::canonicalize(t.path("elsewhere/creds.ini")).unwrap();
    let f = live(&report, &k, real.to_str().unwrap());
    assert!(f["loaded_by"].as_array().is_some_and(|l| !l.is_empty()), "{f:#}");
    assert_gate_fails(&run, &report);
    drop(p);
}

#[test]
fn a_key_baked_into_an_image_layer_is_live_and_named_by_its_image() {
    let t = host();
    let k = key(16);
    let diff = format!("sha256:{}", "3".repeat(64));
    let image = "b".repeat(64);
    let base = "var/lib/docker/image/overlay2";
    t.write(format!("{base}/layerdb/sha256/{}/cache-id", &diff[7..]), "f00dfeed");
    t.write(format!("{base}/imagedb/content/sha256/{image}"), format!("{{\"rootfs\":{{\"diff_ids\":[\"{diff}\"]}}}}"));
    t.write(
        format!("{base}/repositories.json"),
        format!("{{\"Repositories\":{{\"shop\":{{\"shop:2.1\":\"sha256:{image}\"}}}}}}"),
    );
    t.write(
        "var/lib/docker/overlay2/f00dfeed/diff/app/.env",
        format!("AWS_ACCESS_KEY_ID={k}\nAWS_SECRET_ACCESS_KEY={SECRET}\n"),
    );
    let (run, report) = gate(&t);
    let f = live(&report, &k, "/var/lib/docker/overlay2/f00dfeed/diff/app/.env");
    assert_eq!(f["image_layer"], "docker image shop:2.1 (layer 1 of 1)");
    assert_gate_fails(&run, &report);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn a_key_in_a_rotated_gzip_log_is_live_with_its_decoded_line() {
    let t = host();
    let k = key(17);
    let mut log: String = (0..500).map(|i| format!("2026-11-30T10:00:{:02} GET /health 200\n", i % 60)).collect();
    log.push_str(&format!("2026-11-30T10:01:00 starting with AWS_ACCESS_KEY_ID={k} AWS_SECRET_ACCESS_KEY={SECRET}\n"));
    t.write("var/log/app/app.log.2.gz", gzip(log.as_bytes()));
    let (run, report) = gate(&t);
    let f = live(&report, &k, "/var/log/app/app.log.2.gz");
    assert_eq!(f["decoded"], "gzip");
    assert_eq!(f["location"]["line"], 501);
    assert_gate_fails(&run, &report);
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

#[test]
fn utf16_text_with_or_without_a_byte_order_mark_is_live() {
    let t = host();
    let (a, b) = (key(18), key(19));
    let mut with_bom = vec![0xff, 0xfe];
    with_bom
        .extend(utf16le(&format!("$env:AWS_ACCESS_KEY_ID = \"{a}\"\r\n$env:AWS_SECRET_ACCESS_KEY = \"{SECRET}\"\r\n")));
    t.write("root/deploy.ps1", with_bom);
    t.write("home/app/export.txt", utf16le(&format!("AccessKeyId : {b}\r\nSecretAccessKey : {SECRET}\r\n")));
    let (run, report) = gate(&t);
    assert_eq!(live(&report, &a, "/root/deploy.ps1")["decoded"], "utf-16le");
    assert_eq!(live(&report, &b, "/home/app/export.txt")["location"]["line"], 1);
    assert_gate_fails(&run, &report);
}

/// `scan --sources processes` (no files) on a host whose IMDS serves `user_data`.
fn scan_with_user_data(user_data: Vec<u8>) -> (Run, Value) {
    let server = crate::imds_server::Server::start_with_user_data(crate::imds_server::Mode::TokenRequired, user_data);
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["scan", "--format", "json", "--sources", "processes", "--fail-on", "credentials"]);
    cmd.args(["--imds-endpoint", &server.url()]);
    let run = run_with_limit(cmd, Duration::from_secs(120));
    let report = run.json();
    (run, report)
}

fn live_in_user_data<'a>(report: &'a Value, key: &str) -> &'a Value {
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key_id"] == key && f["location"]["type"] == "imds-user-data")
        .unwrap_or_else(|| panic!("no user-data finding of {key}: {:#}", report["findings"]));
    assert_eq!(f["has_secret"], true, "{f:#}");
    assert_eq!(f["live"], true, "{f:#}");
    f
}

#[test]
fn keys_in_the_instances_user_data_are_live_plain_gzip_or_mime() {
    let k = key(20);
    let script = format!(
        "#!/bin/bash\nyum -y install app\ncat >/etc/app.env <<EOF\nAWS_ACCESS_KEY_ID={k}\nAWS_SECRET_ACCESS_KEY={SECRET}\nEOF\n"
    );
    let (run, report) = scan_with_user_data(script.clone().into_bytes());
    assert_eq!(live_in_user_data(&report, &k)["location"]["line"], 4);
    assert_gate_fails(&run, &report);

    let (run, report) = scan_with_user_data(gzip(script.as_bytes()));
    live_in_user_data(&report, &k);
    assert_gate_fails(&run, &report);

    let b64 = data_encoding::BASE64.encode(&gzip(script.as_bytes()));
    let mime = format!(
        "Content-Type: multipart/mixed; boundary=\"//\"\nMIME-Version: 1.0\n\n--//\nContent-Type: text/cloud-config\n\n\
         #cloud-config\npackages: [jq]\n--//\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: base64\n\n{b64}\n--//--\n"
    );
    let (run, report) = scan_with_user_data(mime.into_bytes());
    assert_eq!(live_in_user_data(&report, &k)["location"]["part"], 2);
    assert_gate_fails(&run, &report);
}

/// A real JVM started with the Java SDK's system properties uses them before
/// anything else: its chain says so, and the pair is live.
#[test]
fn a_jvms_system_properties_are_its_sdks_first_source() {
    let Some(java) = ["/usr/bin/java", "/usr/local/bin/java"].into_iter().map(Path::new).find(|p| p.exists()) else {
        assert!(std::env::var_os("ROLECALL_REQUIRE_ORACLES").is_none(), "java is required");
        eprintln!("SKIPPED: no java on this machine");
        return;
    };
    let t = Tree::new();
    let idle = t.write(
        "Idle.java",
        "public class Idle { public static void main(String[] a) throws Exception { Thread.sleep(300000); } }\n",
    );
    let k = key(21);
    let mut cmd = Command::new(java);
    cmd.arg(format!("-Daws.accessKeyId={k}")).arg(format!("-Daws.secretAccessKey={SECRET}")).arg(&idle);
    cmd.env_clear().env("HOME", "/nonexistent").env("PATH", "/usr/bin:/bin").stdin(Stdio::null()).stdout(Stdio::null());
    let jvm = Child(cmd.spawn().expect("start java"));
    // Wait until the JVM has mapped libjvm.so (it is running).
    let maps = format!("/proc/{}/maps", jvm.0.id());
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(&maps).unwrap_or_default().contains("libjvm.so") {
        assert!(start.elapsed() < Duration::from_secs(30), "the JVM did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (run, report) = scan_processes();
    let chain = report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == jvm.0.id()).unwrap();
    assert_eq!(chain["runtime"], "java", "{chain}");
    assert_eq!(chain["resolution"]["sdk"], "java-v2", "{chain}");
    assert_eq!(chain["resolution"]["method"], "system-properties", "{chain}");
    assert_eq!(chain["resolution"]["source"]["key_id"], k.as_str());
    assert_eq!(chain["resolution"]["shadowing"], "static-keys");
    let f = live_in_process(&report, &k, jvm.0.id());
    assert!(
        f["used_by"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().starts_with(&format!("pid {}", jvm.0.id())))
    );
    assert_gate_fails(&run, &report);
}

/// A made-up Bedrock long-term API key: ABSK and base64 of
/// `BedrockAPIKey-q7x2-at-123456789012:` and a random secret.
const BEDROCK_KEY: &str =
    "ABSKQmVkcm9ja0FQSUtleS1xN3gyLWF0LTEyMzQ1Njc4OTAxMjpqcWtCeXpjNmFyOVUvWlV0TGIyMWRwamduTGJDbW1LaE1oR0gzZllocndLdA==";

/// A Bedrock long-term API key in `AWS_BEARER_TOKEN_BEDROCK` of a process,
/// and in a file, is a static credential of its own kind: live, the gate
/// fails, and the key is never shown (its service user and account are).
#[test]
fn a_bedrock_long_term_api_key_is_static_and_never_shown() {
    let p = process(&["python3", "serve.py"], &[("AWS_BEARER_TOKEN_BEDROCK", BEDROCK_KEY), ("PATH", "/usr/bin:/bin")]);
    let (run, report) = scan_processes();
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["kind"] == "bedrock-api-key" && f["processes"].as_array().unwrap().iter().any(|q| q["pid"] == p.0.id())
        })
        .unwrap_or_else(|| panic!("no Bedrock key in pid {}: {:#}", p.0.id(), report["findings"]));
    assert_eq!(f["live"], true, "{f:#}");
    assert_eq!(f["location"]["variable"], "AWS_BEARER_TOKEN_BEDROCK", "{f:#}");
    // Its chain says Bedrock calls sign with the key, not the chain's credentials.
    let c = report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == p.0.id()).unwrap();
    assert_eq!(
        c["bedrock_api_key"],
        serde_json::json!({ "kind": "long-term", "user": "BedrockAPIKey-q7x2-at-123456789012" }),
        "{c:#}"
    );
    assert_gate_fails(&run, &report);
    let secret_part = &BEDROCK_KEY[4..60];
    let mut cmd = rolecall();
    cmd.args(["scan", "--no-imds", "--sources", "processes"]);
    let text = run_with_limit(cmd, Duration::from_secs(60)).stdout;
    assert!(
        text.contains(
            "Bedrock calls sign with the long-term API key in AWS_BEARER_TOKEN_BEDROCK (BedrockAPIKey-q7x2-at-123456789012), not these credentials"
        ),
        "{text}"
    );
    assert!(!text.contains(secret_part));
    assert!(!run.stdout.contains(secret_part) && !run.stderr.contains(secret_part));

    let t = host();
    t.write("etc/app/bedrock.env", format!("BEDROCK_API_KEY={BEDROCK_KEY}\n"));
    let (run, report) = gate(&t);
    let f =
        report["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "bedrock-api-key").expect("the file's key");
    assert_eq!(f["live"], true, "{f:#}");
    assert_gate_fails(&run, &report);
    let mut cmd = rolecall();
    cmd.args(["scan", "--no-imds", "--root"]).arg(t.root());
    let text = run_with_limit(cmd, Duration::from_secs(60)).stdout;
    assert!(
        text.contains("Bedrock long-term API key (BedrockAPIKey-q7x2-at-123456789012, account 123456789012)"),
        "{text}"
    );
    assert!(!text.contains(secret_part) && !run.stdout.contains(secret_part), "{text}");
}

/// A short-term Bedrock key (`bedrock-api-key-…`, a presigned request made
/// with the role's own credentials) expires within hours: not a finding.
#[test]
fn a_short_term_bedrock_key_is_not_a_static_credential() {
    let t = host();
    let short = "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbFdpdGhCZWFyZXJUb2tlbiZYLUFtei1BbGdvcml0aG09QVdTNC1ITUFDLVNIQTI1Ng==";
    t.write("etc/app/bedrock.env", format!("AWS_BEARER_TOKEN_BEDROCK={short}\n"));
    let (_, report) = gate(&t);
    assert!(report["findings"].as_array().unwrap().is_empty(), "{:#}", report["findings"]);
    // In a process, its chain names it as what Bedrock calls sign with; no finding.
    let p = process(&["python3", "agent.py"], &[("AWS_BEARER_TOKEN_BEDROCK", short), ("PATH", "/usr/bin:/bin")]);
    let (_, report) = scan_processes();
    let c = report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == p.0.id()).unwrap();
    assert_eq!(c["bedrock_api_key"], serde_json::json!({ "kind": "short-term" }), "{c:#}");
    let pid = p.0.id();
    let in_process = |f: &&Value| f["processes"].as_array().is_some_and(|ps| ps.iter().any(|q| q["pid"] == pid));
    assert!(!report["findings"].as_array().unwrap().iter().any(|f| in_process(&f)), "{:#}", report["findings"]);
}

/// IAM Roles Anywhere's signing helper as a profile's `credential_process`
/// gives managed temporary credentials: named as such, not static keys,
/// and never run.
#[test]
fn a_roles_anywhere_credential_process_is_expected_not_static() {
    let t = Tree::new();
    let marker = t.path("ran");
    let helper = t.write("bin/aws_signing_helper", format!("#!/bin/sh\ntouch {}\n", marker.display()));
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    t.write(
        "home/svc/.aws/config",
        format!(
            "[profile default]\ncredential_process = {} credential-process --certificate /etc/pki/svc.pem --private-key /etc/pki/svc.key \
             --trust-anchor-arn arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0f3e2a1b \
             --profile-arn arn:aws:rolesanywhere:us-east-1:123456789012:profile/9c8d7e6f \
             --role-arn arn:aws:iam::123456789012:role/svc\n",
            helper.display()
        ),
    );
    let p = crate::host::sleeper(&[("HOME", t.path("home/svc").to_str().unwrap()), ("PATH", "/usr/bin:/bin")]);
    let (run, report) = scan_processes();
    let c = report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == p.0.id()).unwrap();
    assert_eq!(c["resolution"]["source"]["type"], "roles-anywhere", "{c:#}");
    assert_eq!(c["resolution"]["shadowing"], "other-credentials", "{c:#}");
    // Every SDK runs it, but those that read no config file: Go v1 (without
    // AWS_SDK_LOAD_CONFIG) and Java v1.
    for o in c["other_sdks"].as_array().unwrap() {
        let expect = if o["sdk"] == "go-v1" || o["sdk"] == "java-v1" { "no-credentials" } else { "roles-anywhere" };
        assert_eq!(o["source"]["type"], expect, "{o:#}");
    }
    let pid = p.0.id();
    let in_process = |f: &&Value| f["processes"].as_array().unwrap().iter().any(|q| q["pid"] == pid);
    assert!(!report["findings"].as_array().unwrap().iter().any(|f| in_process(&f)), "no finding in pid {pid}");
    assert!(!marker.exists(), "the helper was run");
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
}

const LOGIN_ARN: &str = "arn:aws:sts::123456789012:assumed-role/Admin/alice";

/// A process whose profile is IAM Identity Center (or `aws login`) and whose HOME holds that
/// person's cached token signs as the person: its own kind, and it fails
/// the gate as static keys do. The same profile without a cached token is
/// only named.
#[test]
fn a_persons_sso_session_left_on_the_host_fails_the_gate() {
    let t = Tree::new();
    let config = "[default]\nsso_start_url = https://d-abc123.awsapps.com/start\nsso_region = us-east-1\n\
                  sso_account_id = 123456789012\nsso_role_name = Admin\n";
    t.write("signed-in/.aws/config", config);
    // botocore's cache name: the SHA-1 of the start URL.
    t.write(
        "signed-in/.aws/sso/cache/40a89917e3175433e361b710a9d43528d7f1890a.json",
        r#"{"startUrl": "https://d-abc123.awsapps.com/start", "region": "us-east-1", "accessToken": "aoa-made-up-token", "expiresAt": "2099-01-01T00:00:00Z"}"#,
    );
    t.write("not-signed-in/.aws/config", config);
    // `aws login`: the cache name is the SHA-256 of the login_session.
    t.write("logged-in/.aws/config", "[default]\nlogin_session = ARN\n".replace("ARN", LOGIN_ARN));
    t.write(
        "logged-in/.aws/login/cache/68afef069a49e0c940bc8515a36649850d686bdd2e3c07927360d151553fc4d3.json",
        r#"{"accessToken": {"accessKeyId": "ASIA-made-up"}}"#,
    );
    let home = |h: &str| t.path(h).display().to_string();
    let (a, b) = (home("signed-in"), home("not-signed-in"));
    let signed_in = crate::host::sleeper(&[("HOME", a.as_str()), ("PATH", "/usr/bin:/bin")]);
    let not_signed_in = crate::host::sleeper(&[("HOME", b.as_str()), ("PATH", "/usr/bin:/bin")]);
    let logged_in_home = home("logged-in");
    let logged_in = crate::host::sleeper(&[("HOME", logged_in_home.as_str()), ("PATH", "/usr/bin:/bin")]);
    let (run, report) = scan_processes();
    let chain =
        |pid: u32| report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == pid).unwrap().clone();
    let c = chain(signed_in.0.id());
    assert_eq!(c["resolution"]["source"]["type"], "sso", "{c:#}");
    assert_eq!(c["resolution"]["source"]["token_cached"], true, "{c:#}");
    assert_eq!(c["resolution"]["shadowing"], "person-session", "{c:#}");
    let c = chain(logged_in.0.id());
    assert_eq!(c["resolution"]["source"]["type"], "login", "{c:#}");
    assert_eq!(c["resolution"]["shadowing"], "person-session", "{c:#}");
    let c = chain(not_signed_in.0.id());
    assert_eq!(c["resolution"]["source"]["token_cached"], false, "{c:#}");
    assert_eq!(c["resolution"]["shadowing"], "other-credentials", "{c:#}");
    let users: Vec<&str> =
        report["verdict"]["person_session_users"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    assert!(users.iter().any(|u| u.starts_with(&format!("pid {} ", signed_in.0.id()))), "{users:?}");
    assert!(!users.iter().any(|u| u.starts_with(&format!("pid {} ", not_signed_in.0.id()))), "{users:?}");
    // The gate fails on the session itself, without a static key.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(report["verdict"]["failed_conditions"].as_array().unwrap().contains(&Value::from("credentials")));
    assert!(report["verdict"]["summary"].as_str().unwrap().contains("signs as a person"), "{:#}", report["verdict"]);
    assert!(!run.stdout.contains("aoa-made-up-token"));
}

/// `aws_signing_helper serve --port N` (here a Go binary run under that
/// name and command line) moves the emulator off 9911: a process pointed at
/// 127.0.0.1:N gets the Roles Anywhere role; at another port it does not.
#[test]
fn the_roles_anywhere_emulator_is_known_by_the_port_its_command_line_names() {
    let Some(go) = required("ROLECALL_TEST_GO_V2_ORACLE") else { return };
    let _helper = signing_helper(&go, &["serve", "--port", "9443", "--certificate", "c.pem"], &[]);
    let at = |endpoint: &str| {
        crate::host::sleeper(&[
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint),
            ("HOME", "/nonexistent"),
            ("PATH", "/usr/bin:/bin"),
        ])
    };
    let (served, elsewhere) = (at("http://127.0.0.1:9443/"), at("http://127.0.0.1:9444/"));
    let (_, report) = scan_processes();
    let chain =
        |p: &Child| report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == p.0.id()).unwrap();
    let c = chain(&served);
    assert_eq!(c["resolution"]["source"]["type"], "roles-anywhere-serve", "{c:#}");
    assert_eq!(c["resolution"]["source"]["endpoint"], "http://127.0.0.1:9443/", "{c:#}");
    let c = chain(&elsewhere);
    assert_ne!(c["resolution"]["source"]["type"], "roles-anywhere-serve", "{c:#}");
}

/// A stand-in for IAM Roles Anywhere's signing helper: a Go binary built
/// with the SDK, run as `aws_signing_helper ARGS... wait` (it sleeps).
fn signing_helper(go: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    signing_helper_as(go, args, env, None)
}

/// [`signing_helper`], run as user `uid` when given.
fn signing_helper_as(go: &Path, args: &[&str], env: &[(&str, &str)], uid: Option<u32>) -> Child {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(go);
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    cmd.arg0("aws_signing_helper").args(args).arg("wait");
    cmd.env_clear().envs([("AWS_EC2_METADATA_DISABLED", "true"), ("HOME", "/nonexistent")]).envs(env.iter().copied());
    let helper = Child(cmd.stdin(Stdio::null()).stdout(Stdio::null()).spawn().expect("start the Go binary"));
    let cmdline = format!("/proc/{}/cmdline", helper.0.id());
    let start = std::time::Instant::now();
    while !std::fs::read(&cmdline)
        .unwrap_or_default()
        .starts_with(format!("aws_signing_helper\0{}", args[0]).as_bytes())
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    helper
}

/// IAM Roles Anywhere's `aws_signing_helper update` (here a Go binary run
/// under that name and command line) keeps temporary keys fresh in a
/// credentials file: while it runs, those keys are expected, named for it;
/// without it the same file holds a live key.
#[test]
fn temporary_keys_kept_fresh_by_the_roles_anywhere_helper_are_expected() {
    let Some(go) = required("ROLECALL_TEST_GO_V2_ORACLE") else { return };
    let t = Tree::new();
    let creds = t.write(
        "srv/rolesanywhere/credentials",
        "[nightly]\naws_access_key_id = ASIAY34FZKBOKMUTVV7A\naws_secret_access_key = 0qk+o7XctJMmG6ydO8537c9+TofLJU1K0PiVBXSg\n",
    );
    let scan = || {
        let mut cmd = rolecall();
        cmd.args(["scan", "--format", "json", "--no-imds", "--sources", "processes,files", "--fail-on", "never"]);
        cmd.arg(t.root());
        let report = run_with_limit(cmd, Duration::from_secs(120)).json();
        let finding = report["findings"].as_array().unwrap().iter().find(|f| f["key_id"] == "ASIAY34FZKBOKMUTVV7A");
        finding.cloned().unwrap_or_else(|| panic!("the temporary key is found: {report:#}"))
    };
    let without = scan();
    assert_eq!(without["live"], true, "{without:#}");
    let file = creds.to_str().unwrap();
    let helper = signing_helper(
        &go,
        &["update", "--profile", "nightly", "--certificate", "c.pem"],
        &[("AWS_SHARED_CREDENTIALS_FILE", file)],
    );
    let with = scan();
    assert_eq!(with["live"], false, "{with:#}");
    let reason = with["expected"].as_str().unwrap_or_default();
    let named = format!("aws_signing_helper update (pid {})", helper.0.id());
    assert!(reason.contains(&named) && reason.contains("profile nightly"), "{with:#}");
    drop(helper);
    // The same helper run by another user cannot bless root's file.
    let file = creds.to_str().unwrap();
    let args = ["update", "--profile", "nightly", "--certificate", "c.pem"];
    let _nobody = signing_helper_as(&go, &args, &[("AWS_SHARED_CREDENTIALS_FILE", file)], Some(65534));
    let by_nobody = scan();
    assert_eq!(by_nobody["live"], true, "{by_nobody:#}");
}

/// A process pointed at `aws_signing_helper serve` (IAM Roles Anywhere's
/// IMDS emulator, on 127.0.0.1:9911 when no `--port` is given; here a Go
/// binary run under that name) gets the Roles Anywhere role, not the
/// instance's: named as such, in every model. With no helper running, port
/// 9911 is anyone's: what listens there is asked like any other emulator
/// (here nothing does, so it serves nothing).
#[test]
fn a_process_on_the_roles_anywhere_imds_emulator_is_expected() {
    let Some(go) = required("ROLECALL_TEST_GO_V2_ORACLE") else { return };
    let p = crate::host::sleeper(&[
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9911/"),
        ("HOME", "/nonexistent"),
        ("PATH", "/usr/bin:/bin"),
    ]);
    let chain = |report: &Value| {
        report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == p.0.id()).unwrap().clone()
    };
    let (_, report) = scan_processes();
    let c = chain(&report);
    assert_eq!(c["resolution"]["source"]["type"], "metadata-emulator", "no helper runs: {c:#}");
    let gaps = report["coverage"]["gaps"].as_array().unwrap();
    assert!(!gaps.iter().any(|g| g["target"] == "http://127.0.0.1:9911"), "refused: nothing to sign with {gaps:#?}");

    let _helper = signing_helper(&go, &["serve", "--certificate", "c.pem"], &[]);
    let (_, report) = scan_processes();
    let c = chain(&report);
    assert_eq!(c["resolution"]["source"]["type"], "roles-anywhere-serve", "{c:#}");
    assert_eq!(c["resolution"]["shadowing"], "other-credentials", "{c:#}");
    assert!(c["other_sdks"].as_array().unwrap().is_empty(), "every model agrees: {c:#}");
}

/// A process signs from a metadata endpoint that is not the instance's, and
/// rolecall cannot learn what it serves: it stalls past the time allowed
/// (or, a user could arrange, is one of more endpoints than are asked). A
/// static key could be served there unseen, so the scan is incomplete and
/// the gate fails; the endpoint and who uses it are named. One that refuses
/// the connection serves nothing an SDK could sign with: no gap.
#[test]
fn a_metadata_endpoint_that_does_not_answer_leaves_the_scan_incomplete() {
    use crate::imds_server::{Mode, Server};
    let slow = Server::start(Mode::Slow);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
    };
    let env = |e: &str| [("AWS_EC2_METADATA_SERVICE_ENDPOINT", e.to_string()), ("PATH", "/usr/bin:/bin".into())];
    // A secret in the URL a process chose is never shown, in the gap either.
    let stalled_env = env(&format!("{}/{SECRET}", slow.url()));
    let stalled = process(&["python3", "stalled.py"], &stalled_env.each_ref().map(|(k, v)| (*k, v.as_str())));
    let refused_env = env(&closed);
    let refused = process(&["python3", "refused.py"], &refused_env.each_ref().map(|(k, v)| (*k, v.as_str())));
    let (run, report) = scan_processes();
    let gaps = report["coverage"]["gaps"].as_array().unwrap();
    let signs_there = |g: &&Value| g["detail"].as_str().unwrap().contains(&format!("pid {} ", stalled.0.id()));
    let gap = gaps.iter().find(signs_there).unwrap_or_else(|| panic!("no gap: {gaps:#?}"));
    // The port goes with the secret-shaped path: one run of [A-Za-z0-9/+].
    assert!(gap["target"].as_str().unwrap().starts_with("http://127.0.0.1:<secret sha256:"), "{gap:#}");
    assert_eq!(gap["reason"], "unverified", "{gap:#}");
    let detail = gap["detail"].as_str().unwrap();
    assert!(detail.contains("no answer within"), "why: {detail}");
    assert!(!gaps.iter().any(|g| g["target"] == closed.as_str()), "{gaps:#?}");
    let c = report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == refused.0.id()).unwrap();
    assert_eq!(c["resolution"]["source"]["type"], "metadata-emulator", "{c:#}");
    assert_eq!(report["coverage"]["complete"], false);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(report["verdict"]["failed_conditions"].as_array().unwrap().contains(&Value::from("credentials")));
    // Shown to a person: the endpoint, and why it counts.
    let mut cmd = rolecall();
    cmd.args(["scan", "--no-imds", "--sources", "processes", "--fail-on", "credentials"]);
    let text = run_with_limit(cmd, Duration::from_secs(120));
    let line = format!(": the credentials endpoint of pid {} ", stalled.0.id());
    assert!(
        text.stdout.lines().any(|l| l.trim_start().starts_with("http://127.0.0.1:") && l.contains(&line)),
        "{}",
        text.stdout
    );
    assert_eq!(text.code, 1);
    for out in [&run.stdout, &run.stderr, &text.stdout, &text.stderr] {
        assert!(!out.contains(SECRET) && !out.contains(&SECRET.to_lowercase()), "the URL's secret was shown");
    }
}

/// A hybrid-activated node (`mi-…`): the SSM agent keeps its temporary keys
/// in the shared credentials file its identity runtime config names. Those
/// are expected, with the agent named; without the agent's own config, or
/// with a config others could have written, they are live as any; a
/// long-term key in the same file is live whatever the agent says.
#[test]
fn a_hybrid_nodes_ssm_agent_credentials_are_expected_only_where_the_agent_says() {
    use std::os::unix::fs::PermissionsExt;
    let temporary = "ASIAQNZGKNWXHOBBHJ7G";
    let creds = |id: &str| {
        format!(
            "[default]\naws_access_key_id = {id}\naws_secret_access_key = {SECRET}\n\
             aws_session_token = IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDoG1aR3Kq8vN2mT5xW7yZ4bC6dF9hJ0kL3nP5qR8sU1v\n"
        )
    };
    let config = "var/lib/amazon/ssm/runtimeconfig/identity_config.json";
    let agent = r#"{"SchemaVersion":"1.1","InstanceId":"mi-0123456789abcdef0","IdentityType":"OnPrem","ShareFile":"/root/.aws/credentials","ShareProfile":"","CredentialSource":"SSM"}"#;

    // The agent's config names the file: its temporary key is expected, and the gate passes.
    let t = host();
    t.write("root/.aws/credentials", creds(temporary));
    t.write(config, agent);
    let (run, report) = gate(&t);
    let f = report["findings"].as_array().unwrap().iter().find(|f| f["key_id"] == temporary).expect("the agent's key");
    let why = f["expected"].as_str().unwrap_or_default();
    assert!(why.contains("SSM agent") && why.contains("hybrid-activated node (mi-0123456789abcdef0)"), "{f:#}");
    assert_eq!(f["live"], false, "{f:#}");
    assert_eq!(run.code, 0, "{:#}", report["verdict"]);

    // A config anyone could have written names nothing.
    std::fs::set_permissions(t.path(config), std::fs::Permissions::from_mode(0o666)).unwrap();
    let (run, report) = gate(&t);
    live(&report, temporary, "/root/.aws/credentials");
    assert_gate_fails(&run, &report);

    // No config: the same key is live.
    let t = host();
    t.write("root/.aws/credentials", creds(temporary));
    let (run, report) = gate(&t);
    live(&report, temporary, "/root/.aws/credentials");
    assert_gate_fails(&run, &report);

    // A long-term key in the agent's file: the agent never writes one.
    let t = host();
    let k = key(16);
    t.write("root/.aws/credentials", creds(&k));
    t.write(config, agent);
    let (run, report) = gate(&t);
    live(&report, &k, "/root/.aws/credentials");
    assert_gate_fails(&run, &report);
}

/// A process pointed at a local container credentials server
/// (`AWS_CONTAINER_CREDENTIALS_FULL_URI` on loopback: aws-vault's ECS
/// server, a hand-rolled one) gets whatever it serves. rolecall asks it as
/// the SDKs do, with the `Authorization` value the process sends (from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN`, or the file
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` names): a long-term key served
/// so is a live static credential of that process, and the gate fails; a
/// temporary one is other credentials; a server that refuses rolecall's
/// authorization, or does not answer, leaves the scan incomplete. botocore
/// itself loads the long-term key from it.
#[test]
fn a_local_container_credentials_server_serving_a_long_term_key_is_static() {
    use crate::imds_server::CredentialServer;
    let k = key(24);
    let auth = "made-up-container-authorization-4f1d";
    let statik = CredentialServer::start(auth, &k, SECRET, "");
    let temporary = CredentialServer::start(auth, "ASIAQNZGKNWXHOBBHJ7G", SECRET, "IQoJb3JpZ2luX2VjEJr");
    // Accepts connections (the kernel's backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_uri = format!("http://{}/creds", silent.local_addr().unwrap());
    let t = Tree::new();
    let token_file = t.write("run/container-token", format!("{auth}\n"));
    fn at(uri: &str, auth: (&'static str, &str)) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.into()),
            (auth.0, auth.1.into()),
            ("PATH", "/usr/bin:/bin".into()),
        ]
    }
    let cases = [
        ("static.py", at(&statik.uri(), ("AWS_CONTAINER_AUTHORIZATION_TOKEN", auth))),
        ("by_file.py", at(&statik.uri(), ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file.to_str().unwrap()))),
        ("wrong.py", at(&statik.uri(), ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "someone-elses"))),
        ("temporary.py", at(&temporary.uri(), ("AWS_CONTAINER_AUTHORIZATION_TOKEN", auth))),
        ("stalled.py", at(&silent_uri, ("AWS_CONTAINER_AUTHORIZATION_TOKEN", auth))),
    ];
    let running: Vec<Child> = cases
        .iter()
        .map(|(name, env)| {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            process(&["python3", name], &env)
        })
        .collect();
    let (run, report) = scan_processes();
    let chain = |i: usize| {
        report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == running[i].0.id()).unwrap().clone()
    };
    for i in [0, 1] {
        let c = chain(i);
        assert_eq!(c["resolution"]["source"]["type"], "container", "{c:#}");
        assert_eq!(c["resolution"]["source"]["key_id"], k.as_str(), "{c:#}");
        assert_eq!(c["resolution"]["shadowing"], "static-keys", "{c:#}");
        let f = live_in_process(&report, &k, running[i].0.id());
        assert_eq!(f["location"]["variable"], "AWS_CONTAINER_CREDENTIALS_FULL_URI", "{f:#}");
    }
    let c = chain(3);
    assert_eq!(c["resolution"]["source"]["key_id"], "ASIAQNZGKNWXHOBBHJ7G", "{c:#}");
    assert_eq!(c["resolution"]["shadowing"], "other-credentials", "{c:#}");
    let gaps = report["coverage"]["gaps"].as_array().unwrap();
    let gap = |uri: &str, pid: u32| {
        let target = uri.trim_end_matches('/');
        let g = gaps
            .iter()
            .find(|g| g["target"] == target && g["detail"].as_str().unwrap().contains(&format!("pid {pid} ")));
        g.unwrap_or_else(|| panic!("no gap for {target} (pid {pid}): {gaps:#?}")).clone()
    };
    let refused = gap(&statik.uri(), running[2].0.id());
    assert!(refused["detail"].as_str().unwrap().contains("answered 401"), "{refused:#}");
    assert_eq!(gap(&silent_uri, running[4].0.id())["reason"], "unverified");
    assert_eq!(report["coverage"]["complete"], false);
    assert_gate_fails(&run, &report);
    // Asked with each process's own authorization, the file's trimmed.
    let sent = statik.authorizations();
    assert!(sent.iter().any(|a| a == auth) && sent.iter().any(|a| a == "someone-elses"), "{sent:?}");
    for secret in [SECRET, auth, "IQoJb3JpZ2luX2VjEJr"] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "shown: {secret}");
    }
    // botocore, asked through the same endpoint, signs with the long-term key and no session token.
    if let Some(python) = std::env::var_os("ROLECALL_TEST_PYTHON") {
        let loaded = Command::new(python)
            .args(["-c", "import botocore.session\nc = botocore.session.Session().get_credentials()\nprint(c.access_key, repr(c.token))"])
            .env_clear()
            .envs([("AWS_CONTAINER_CREDENTIALS_FULL_URI", statik.uri()), ("AWS_CONTAINER_AUTHORIZATION_TOKEN", auth.into())])
            .envs([("AWS_CONFIG_FILE", "/nonexistent"), ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")])
            .output()
            .expect("run botocore");
        let out = String::from_utf8_lossy(&loaded.stdout);
        assert_eq!(out.trim(), format!("{k} ''"), "{}", String::from_utf8_lossy(&loaded.stderr));
    }
}

/// A person's sign-in cached on a server (an IAM Identity Center token, an
/// `aws login` session) is its own kind of finding, with no profile or
/// process naming it: live while it can still sign (a refresh token, or an
/// access token not yet expired), so the gate fails; its tokens are never
/// shown, what it is and whose it is are. An expired one is reported, not live;
/// a client registration in the same directory is not a sign-in.
#[test]
fn a_persons_cached_sign_in_is_a_finding_of_its_own() {
    let access = "aoaAAAAAGdRq3kP9vXw2Lm8ZtY6cB1nH5jF0sD4gK7eQ2rU9iO3pA6zX8vC1bN4mM7lK0jH3gF6dS9aQ2wE5rT8yU1iO4pL7kJ0";
    let refresh =
        "Atzr|IwEBIAq7vN3mK9pL2xR5tW8yZ1cF4hJ6bD0gS3eQ7uI9oA2kM5nP8rT1vX4zC6wY3fH7jL0sG2dB5aE8iU1oK4mN7pR0tV3xZ";
    let sso_cache = "home/app/.aws/sso/cache";
    let t = host();
    t.write(
        format!("{sso_cache}/9a1bd2f1c1a0e8f77a6c4f0d35b7f0f5a1e2c3d4.json"),
        format!(
            r#"{{"startUrl": "https://acme.awsapps.com/start", "region": "eu-west-1", "accessToken": "{access}",
               "expiresAt": "2020-01-01T00:00:00Z", "clientId": "cid", "clientSecret": "csecret", "refreshToken": "{refresh}"}}"#
        ),
    );
    t.write(
        format!("{sso_cache}/botocore-client-id-eu-west-1.json"),
        r#"{"clientId": "cid", "clientSecret": "csecret", "expiresAt": "2099-01-01T00:00:00Z"}"#,
    );
    let claims = r#"{"sub":"arn:aws:sts::012345678901:assumed-role/Admin/alice","exp":1}"#;
    let id_token = format!("eyJhbGciOiJFUzM4NCJ9.{}.c2ln", base64url(claims));
    t.write(
        "root/.aws/login/cache/4b0ba8f99f075c0633e122fd73346ce203a3faf18ea0310eb2d29df1bab2e255.json",
        format!(
            r#"{{"accessToken": {{"accessKeyId": "ASIAQNZGKNWXHOBBHJ7G", "secretAccessKey": "{SECRET}",
               "sessionToken": "IQoJb3JpZ2luX2VjEJr", "accountId": "012345678901", "expiresAt": "2099-01-01T00:00:00Z"}},
               "tokenType": "aws_sigv4", "clientId": "arn:aws:signin:::devtools/same-device", "refreshToken": "{refresh}",
               "idToken": "{id_token}"}}"#
        ),
    );
    let (run, report) = gate(&t);
    let sessions: Vec<&Value> =
        report["findings"].as_array().unwrap().iter().filter(|f| f["kind"] == "person-session").collect();
    assert_eq!(sessions.len(), 2, "{:#}", report["findings"]);
    let sso = sessions.iter().find(|f| f["session"]["kind"] == "iam-identity-center").expect("the SSO sign-in");
    assert_eq!(sso["location"]["path"], format!("/{sso_cache}/9a1bd2f1c1a0e8f77a6c4f0d35b7f0f5a1e2c3d4.json"));
    assert_eq!(sso["session"]["user"], "app");
    assert_eq!(sso["session"]["start_url"], "https://acme.awsapps.com/start");
    assert_eq!((&sso["session"]["refreshable"], &sso["live"]), (&Value::from(true), &Value::from(true)), "{sso:#}");
    let login = sessions.iter().find(|f| f["session"]["kind"] == "aws-login").expect("the aws login session");
    assert_eq!(login["session"]["session_arn"], "arn:aws:sts::012345678901:assumed-role/Admin/alice");
    assert_eq!(login["session"]["user"], "root");
    assert_gate_fails(&run, &report);
    for secret in [access, refresh, SECRET] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "a token was shown");
    }
    // The text says what and whose, and what to do.
    let mut cmd = rolecall();
    cmd.args(["scan", "--no-imds", "--root"]).arg(t.root());
    let text = run_with_limit(cmd, Duration::from_secs(60)).stdout;
    assert!(
        text.contains("An IAM Identity Center sign-in (https://acme.awsapps.com/start) of user app is cached here"),
        "{text}"
    );
    assert!(text.contains("as app: aws sso logout"), "{text}");
    assert!(!text.contains(refresh) && !text.contains(access));

    // Expired, with nothing to refresh it: reported, not live, and the gate passes.
    let t = host();
    t.write(
        format!("{sso_cache}/0b2c.json"),
        format!(r#"{{"startUrl": "https://acme.awsapps.com/start", "accessToken": "{access}", "expiresAt": "2020-01-01T00:00:00Z"}}"#),
    );
    let (run, report) = gate(&t);
    let f = report["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "person-session").expect("reported");
    assert_eq!((&f["live"], &f["has_secret"]), (&Value::from(false), &Value::from(false)), "{f:#}");
    assert_eq!(run.code, 0, "{:#}", report["verdict"]);
}

/// A user fills their sign-in cache with expired tokens, named to sort
/// before the live one: rolecall reads a bounded number of cache files, and
/// the ones past that are a gap, so the image never passes unread. At the
/// bound, the live sign-in is read and fails the gate itself.
#[test]
fn a_sign_in_cache_too_full_to_read_never_passes() {
    let access = "aoaAAAAAGdRq3kP9vXw2Lm8ZtY6cB1nH5jF0sD4gK7eQ2rU9iO3pA6zX8vC1bN4mM7lK0jH3gF6dS9aQ2wE5rT8yU1iO4pL7kJ0";
    let cache = "home/app/.aws/sso/cache";
    let with_decoys = |decoys: usize| {
        let t = host();
        for i in 0..decoys {
            t.write(
                format!("{cache}/{i:040x}.json"),
                format!(r#"{{"startUrl": "https://decoy.awsapps.com/start", "accessToken": "{access}", "expiresAt": "2020-01-01T00:00:00Z"}}"#),
            );
        }
        t.write(
            format!("{cache}/ffffffffffffffffffffffffffffffffffffffff.json"),
            format!(r#"{{"startUrl": "https://acme.awsapps.com/start", "accessToken": "{access}", "expiresAt": "2099-01-01T00:00:00Z"}}"#),
        );
        t
    };
    let live_sign_in = |report: &Value| {
        report["findings"].as_array().unwrap().iter().any(|f| {
            f["kind"] == "person-session"
                && f["session"]["start_url"] == "https://acme.awsapps.com/start"
                && f["live"] == true
        })
    };

    // 63 decoys and the live one: all 64 read, the live one fails the gate.
    let t = with_decoys(63);
    let (run, report) = gate(&t);
    assert!(live_sign_in(&report), "{:#}", report["findings"]);
    assert_eq!(report["coverage"]["complete"], true, "{:#}", report["coverage"]);
    assert_eq!(run.code, 1, "{:#}", report["verdict"]);

    // 64 decoys: the live one is past the bound, and the scan is incomplete.
    let t = with_decoys(64);
    let (run, report) = gate(&t);
    assert!(!live_sign_in(&report), "read past the bound? {:#}", report["findings"]);
    let gaps = report["coverage"]["gaps"].as_array().unwrap();
    let dir = format!("/{cache}");
    let gap = gaps.iter().find(|g| g["target"] == dir.as_str()).unwrap_or_else(|| panic!("no gap: {gaps:#?}"));
    assert_eq!(gap["reason"], "unverified", "{gap:#}");
    assert!(gap["detail"].as_str().unwrap().contains("65 cached sign-ins"), "{gap:#}");
    assert_eq!(report["coverage"]["complete"], false);
    assert_eq!(run.code, 1, "an incomplete image never passes: {:#}", report["verdict"]);
    assert!(!run.stdout.contains(access) && !run.stderr.contains(access));
}

fn base64url(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..=c.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A zip (a jar) holding `names` as empty stored entries.
fn jar(names: &[&str]) -> Vec<u8> {
    let (mut local, mut central) = (Vec::new(), Vec::new());
    for name in names {
        let at = local.len() as u32;
        let n = name.len() as u16;
        local.extend(b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0");
        local.extend([0u8; 12]); // CRC-32, sizes: an empty entry
        local.extend(n.to_le_bytes());
        local.extend([0u8; 2]);
        local.extend(name.as_bytes());
        central.extend(b"PK\x01\x02\x14\0\x14\0\0\0\0\0\0\0\0\0");
        central.extend([0u8; 12]);
        central.extend(n.to_le_bytes());
        central.extend([0u8; 12]); // extra, comment, disk, attributes
        central.extend(at.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let (dir_at, dir_len, count) = (local.len() as u32, central.len() as u32, names.len() as u16);
    let mut zip = local;
    zip.extend(central);
    zip.extend(b"PK\x05\x06\0\0\0\0");
    zip.extend(count.to_le_bytes());
    zip.extend(count.to_le_bytes());
    zip.extend(dir_len.to_le_bytes());
    zip.extend(dir_at.to_le_bytes());
    zip.extend([0u8; 2]);
    zip
}

/// Which AWS SDK for Java a JVM runs is on its class path: a jar's name
/// (and version), a `dir/*` entry's jars, or the entries of a fat jar's zip
/// directory. A v1-only class path gets v1's model (which reads
/// `AWS_ACCESS_KEY`, v2 does not), a v2 one v2's, and the version decides
/// EKS Pod Identity: v2 before 2.21.30 refuses the agent's address.
#[test]
fn a_jvms_class_path_says_which_java_sdk_it_runs() {
    let Some(go) = required("ROLECALL_TEST_GO_V2_ORACLE") else { return };
    let t = Tree::new();
    // A real executable named `java` that ignores its options and sleeps (the Go oracle, with `wait` last).
    let java = t.write("jdk/bin/java", std::fs::read(&go).unwrap());
    std::fs::set_permissions(&java, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let lib = t.path("lib");
    t.write("lib/aws-java-sdk-core-1.12.500.jar", jar(&["com/amazonaws/SDKGlobalConfiguration.class"]));
    t.write("lib/app.jar", jar(&["com/example/Main.class"]));
    t.write("old/service.jar", jar(&["BOOT-INF/lib/auth-2.20.0.jar", "BOOT-INF/lib/sdk-core-2.20.0.jar"]));
    t.write("new/service.jar", jar(&["BOOT-INF/lib/auth-2.25.0.jar", "BOOT-INF/lib/sdk-core-2.25.0.jar"]));
    t.write("v1fat/service.jar", jar(&["com/amazonaws/auth/DefaultAWSCredentialsProviderChain.class"]));
    t.write("hadoop/lib/aws-java-sdk-bundle-1.12.767.jar", "");
    let k = key(22);
    let old_names = [("AWS_ACCESS_KEY", k.as_str()), ("AWS_SECRET_KEY", SECRET), ("AWS_EC2_METADATA_DISABLED", "true")];
    let eks = [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let class_path = format!("{}/aws-java-sdk-core-1.12.500.jar:{}/app.jar", lib.display(), lib.display());
    let (old_jar, new_jar, v1_fat) =
        (t.path("old/service.jar"), t.path("new/service.jar"), t.path("v1fat/service.jar"));
    let hadoop = format!("{}/*", t.path("hadoop/lib").display());
    // What, the command line after `java`, its environment, the SDK and source expected.
    type Case<'a> = (&'a str, Vec<&'a str>, &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            "v1 jar by name",
            vec!["-Xmx64m", "-cp", &class_path, "com.example.Main", "wait"],
            &old_names,
            "java-v1",
            "environment",
        ),
        ("v1 in a fat jar", vec!["-jar", v1_fat.to_str().unwrap(), "wait"], &old_names, "java-v1", "environment"),
        (
            "v1 bundle in dir/*",
            vec!["--class-path", &hadoop, "org.apache.hadoop.Main", "wait"],
            &old_names,
            "java-v1",
            "environment",
        ),
        ("v2 2.20.0 in a fat jar", vec!["-jar", old_jar.to_str().unwrap(), "wait"], &eks, "java-v2", "no-credentials"),
        ("v2 2.25.0 in a fat jar", vec!["-jar", new_jar.to_str().unwrap(), "wait"], &eks, "java-v2", "container"),
    ];
    let running: Vec<Child> =
        cases.iter().map(|(_, args, env, ..)| crate::host::spawn_with(&java, args, env)).collect();
    let (run, report) = scan_processes();
    for ((what, _, _, sdk, source), child) in cases.iter().zip(&running) {
        let c = report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == child.0.id()).unwrap();
        assert_eq!(c["runtime"], "java", "{what}: {c:#}");
        assert_eq!(c["resolution"]["sdk"], *sdk, "{what}: {c:#}");
        assert_eq!(c["resolution"]["source"]["type"], *source, "{what}: {c:#}");
        assert!(c.get("version_note").is_none(), "{what}: the class path names its release: {c:#}");
    }
    let modules = |i: usize| {
        let c = report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == running[i].0.id()).unwrap();
        c["sdk_modules"].clone()
    };
    assert_eq!(modules(0), serde_json::json!([{ "module": "com.amazonaws:aws-java-sdk-core", "version": "1.12.500" }]));
    assert_eq!(modules(1), serde_json::json!([{ "module": "com.amazonaws:aws-java-sdk-core", "version": "" }]));
    assert_eq!(modules(3)[0], serde_json::json!({ "module": "software.amazon.awssdk:auth", "version": "2.20.0" }));
    live_in_process(&report, &k, running[0].0.id());
    assert_gate_fails(&run, &report);
    // Text names the SDK and what the class path holds.
    let mut cmd = rolecall();
    cmd.args(["scan", "--no-imds", "--sources", "processes"]);
    let text = run_with_limit(cmd, Duration::from_secs(60)).stdout;
    let pid = running[0].0.id();
    assert!(
        text.lines().any(|l| l.trim_start().starts_with(&format!("pid {pid} "))
            && l.contains(
                "[AWS SDK for Java v1; runtime Java, class path holds com.amazonaws:aws-java-sdk-core 1.12.500]"
            )),
        "{text}"
    );
}

/// A process pointed at a metadata endpoint that is not the instance's
/// (`AWS_EC2_METADATA_SERVICE_ENDPOINT` on loopback: an emulator, a proxy)
/// gets whatever that endpoint serves as "the role". rolecall asks it as the
/// SDKs would: a long-term key served so is a live static credential of that
/// process (the gate fails, the secret is never shown); a temporary key is
/// other credentials; an endpoint that does not answer in time, or at all,
/// is named as such, never as the instance role.
#[test]
fn a_local_metadata_emulator_serving_a_long_term_key_is_static() {
    use crate::imds_server::{Mode, Server};
    let k = key(23);
    let statik = Server::start_with_role(Mode::TokenRequired, &k, SECRET, "emulator-token");
    let temporary = Server::start(Mode::TokenRequired);
    let slow = Server::start(Mode::Slow);
    let endpoints = [statik.url(), temporary.url(), slow.url(), "http://127.0.0.1:1".to_string()];
    let running: Vec<_> = endpoints
        .iter()
        .map(|e| {
            process(
                &["python3", "app.py"],
                &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", e.as_str()), ("PATH", "/usr/bin:/bin")],
            )
        })
        .collect();
    // The same emulator named in the profile instead of the environment.
    let t = Tree::new();
    let config =
        t.write("home/u/.aws/config", format!("[default]\nec2_metadata_service_endpoint = {}\n", statik.url()));
    let home = t.path("home/u");
    let by_profile = process(&["python3", "job.py"], &[("HOME", home.to_str().unwrap()), ("PATH", "/usr/bin:/bin")]);
    let (run, report) = scan_processes();
    let chain = |i: usize| {
        report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == running[i].0.id()).unwrap().clone()
    };
    let c = report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == by_profile.0.id()).unwrap();
    assert_eq!(c["resolution"]["source"]["type"], "metadata-emulator", "{c:#}");
    assert_eq!(c["resolution"]["source"]["key_id"], k.as_str(), "{c:#}");
    let in_config = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key_id"] == k.as_str() && f["location"]["path"] == config.to_str().unwrap());
    assert_eq!(in_config.map(|f| &f["live"]), Some(&Value::from(true)), "{:#}", report["findings"]);
    let c = chain(0);
    assert_eq!(c["resolution"]["source"]["type"], "metadata-emulator", "{c:#}");
    assert_eq!(c["resolution"]["source"]["key_id"], k.as_str(), "{c:#}");
    assert_eq!(c["resolution"]["shadowing"], "static-keys", "{c:#}");
    let f = live_in_process(&report, &k, running[0].0.id());
    assert_eq!(f["location"]["variable"], "AWS_EC2_METADATA_SERVICE_ENDPOINT", "{f:#}");
    assert!(f["loaded_by"][0].as_str().unwrap().contains("serves it as a role's credentials"), "{f:#}");
    let c = chain(1);
    assert_eq!(c["resolution"]["source"]["key_id"], crate::imds_server::ROLE_SESSION_KEY, "{c:#}");
    assert_eq!(c["resolution"]["shadowing"], "other-credentials", "{c:#}");
    for i in [2, 3] {
        let c = chain(i);
        assert_eq!(c["resolution"]["source"]["type"], "metadata-emulator", "{c:#}");
        assert!(c["resolution"]["source"]["key_id"].is_null(), "{c:#}");
    }
    assert_gate_fails(&run, &report);
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
    assert!(!run.stdout.contains("emulator-token") && !run.stderr.contains("emulator-token"));
}
