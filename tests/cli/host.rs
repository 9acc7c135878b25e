//! The host scan: real child processes read through /proc, and a whole
//! fixture host built in a temporary directory and scanned with --root.

use std::collections::BTreeMap;
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

/// A key ID no other test puts in a process environment (tests run in
/// parallel, and a process scan sees every test's processes).
const PROCESS_ID: &str = "AKIAQ5PBXG7D3WNRT2KY";

#[test]
fn keys_in_running_processes_are_found_with_attribution() {
    const ID: &str = PROCESS_ID;
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
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key_id"] == ID2 && f["location"]["type"] == "file")
        .unwrap();
    assert_eq!(f["location"]["line"], 6);
    let used: Vec<&str> = f["used_by"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    assert!(used.iter().any(|u| u.starts_with(&format!("pid {}", p.0.id()))), "{used:?}");
    let default = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key_id"] == ID && f["location"]["type"] == "file")
        .unwrap();
    let mine = format!("pid {}", p.0.id());
    let used: Vec<&str> = default["used_by"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    assert!(!used.iter().any(|u| u.starts_with(&mine)), "the process does not select [default]: {used:?}");
}

#[test]
fn partial_environment_keys_are_reported_per_sdk() {
    // botocore fails on an ID without its secret; every other SDK goes on to IMDS.
    let p =
        sleeper(&[("AWS_ACCESS_KEY_ID", "AKIAJ7ZXQ4YTWB6NHSRE"), ("HOME", "/nonexistent"), ("PATH", "/usr/bin:/bin")]);
    let report = scan_processes(&[]);
    let c = chain_of(&report, p.0.id());
    assert_eq!(c["resolution"]["sdk"], "botocore", "sleep's runtime is unknown: botocore is the reference");
    assert!(c["resolution"]["source"]["error"].as_str().unwrap().starts_with("PartialCredentialsError"));
    let others: Vec<&str> = c["other_sdks"].as_array().unwrap().iter().map(|o| o["sdk"].as_str().unwrap()).collect();
    assert_eq!(others, EVERY_SDK_BUT_BOTOCORE);
}

/// The SDKs besides botocore, in the order reports list them.
const EVERY_SDK_BUT_BOTOCORE: [&str; 10] =
    ["rust", "java-script-v3", "go-v2", "go-v1", "ruby", "java-v2", "java-v1", "dot-net-v4", "dot-net-v3", "php"];

/// Not a test: a Rust process that idles, for the runtime test below.
#[test]
#[ignore]
fn idle_rust_process() {
    std::thread::sleep(Duration::from_secs(300));
}

/// Starts `program args` with exactly `env`, and waits until it has exec'ed.
pub fn spawn_with(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(program);
    cmd.args(args).env_clear().envs(env.iter().copied()).stdin(Stdio::null()).stdout(Stdio::null());
    let child = Child(cmd.spawn().unwrap_or_else(|e| panic!("start {program:?}: {e}")));
    let exe = format!("/proc/{}/exe", child.0.id());
    let start = std::time::Instant::now();
    while std::fs::read_link(&exe).map(|e| !e.starts_with(program.parent().unwrap())).unwrap_or(true)
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

/// Where the SDKs disagree, a process's runtime picks whose answer comes
/// first: botocore for Python, JS v3 for Node, aws-config for a Rust binary.
#[test]
fn the_runtime_picks_the_sdk() {
    let which = |name: &str| {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .map(|p| std::fs::canonicalize(p).unwrap())
    };
    // An ID without its secret: botocore fails, the Rust and JS SDKs go on (to no role).
    let env = [("AWS_ACCESS_KEY_ID", "AKIAJ7ZXQ4YTWB6NHSRE"), ("HOME", "/nonexistent"), ("PATH", "/usr/bin:/bin")];
    let mut running = Vec::new();
    if let Some(python) = which("python3") {
        running.push(("python", "botocore", spawn_with(&python, &["-c", "import time; time.sleep(300)"], &env)));
    }
    if let Some(node) = std::env::var_os("ROLECALL_TEST_NODE").map(std::path::PathBuf::from).or_else(|| which("node")) {
        running.push(("node", "java-script-v3", spawn_with(&node, &["-e", "setTimeout(() => {}, 300000)"], &env)));
    }
    let me = std::env::current_exe().unwrap();
    let rust = spawn_with(&me, &["--ignored", "--exact", "host::idle_rust_process", "--test-threads", "1"], &env);
    running.push(("rust", "rust", rust));
    let report = scan_processes(&[]);
    for (runtime, sdk, child) in &running {
        let c = chain_of(&report, child.0.id());
        assert_eq!(c["runtime"], *runtime, "{c}");
        assert_eq!(c["resolution"]["sdk"], *sdk, "{c}");
        let others: Vec<&str> =
            c["other_sdks"].as_array().unwrap().iter().map(|o| o["sdk"].as_str().unwrap()).collect();
        if *sdk == "botocore" {
            assert_eq!(others, EVERY_SDK_BUT_BOTOCORE);
        } else {
            assert_eq!(others, ["botocore"], "only botocore fails on the partial keys: {c}");
        }
    }
    assert!(running.len() >= 2, "at least Python or Node, and Rust");
}

/// A copy of /bin/sleep with a `.go.buildinfo` section appended (the
/// loader reads program headers only, so it still runs), holding Go 1.18+
/// build information with `modinfo`: what rolecall reads of a Go binary
/// built with the AWS SDK.
fn go_binary(dir: &Tree, modinfo: &str) -> std::path::PathBuf {
    let mut elf = std::fs::read("/bin/sleep").unwrap();
    let le16 = |b: &[u8], i: usize| u16::from_le_bytes(b[i..i + 2].try_into().unwrap()) as usize;
    let le64 = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap()) as usize;
    assert!(elf.starts_with(b"\x7fELF\x02\x01"), "/bin/sleep is a little-endian ELF64 here");
    let (shoff, shnum, shstrndx) = (le64(&elf, 0x28), le16(&elf, 0x3c), le16(&elf, 0x3e));
    let mut headers = elf[shoff..shoff + 64 * shnum].to_vec();
    let names_header = 64 * shstrndx;
    let (names_at, names_len) = (le64(&headers, names_header + 24), le64(&headers, names_header + 32));
    let mut names = elf[names_at..names_at + names_len].to_vec();
    let name_at = names.len() as u32;
    names.extend_from_slice(b".go.buildinfo\0");
    // The build information: magic, pointer size, flags (2: strings inline), then two varint-prefixed strings.
    let mut info = b"\xff Go buildinf:\x08\x02".to_vec();
    info.resize(32, 0);
    for text in ["go1.22.5", modinfo] {
        assert!(text.len() < 1 << 14);
        let n = text.len();
        info.extend(if n < 0x80 { vec![n as u8] } else { vec![(n & 0x7f) as u8 | 0x80, (n >> 7) as u8] });
        info.extend_from_slice(text.as_bytes());
    }
    let append = |bytes: &[u8], elf: &mut Vec<u8>| {
        elf.resize(elf.len().div_ceil(16) * 16, 0);
        let at = elf.len();
        elf.extend_from_slice(bytes);
        at
    };
    let info_at = append(&info, &mut elf);
    let new_names_at = append(&names, &mut elf);
    headers[names_header + 24..names_header + 32].copy_from_slice(&(new_names_at as u64).to_le_bytes());
    headers[names_header + 32..names_header + 40].copy_from_slice(&(names.len() as u64).to_le_bytes());
    let mut section = vec![0u8; 64];
    section[0..4].copy_from_slice(&name_at.to_le_bytes());
    section[4..8].copy_from_slice(&1u32.to_le_bytes()); // SHT_PROGBITS
    section[24..32].copy_from_slice(&(info_at as u64).to_le_bytes());
    section[32..40].copy_from_slice(&(info.len() as u64).to_le_bytes());
    headers.extend(section);
    let table_at = append(&headers, &mut elf);
    elf[0x28..0x30].copy_from_slice(&(table_at as u64).to_le_bytes());
    elf[0x3c..0x3e].copy_from_slice(&((shnum + 1) as u16).to_le_bytes());
    let path = dir.write("bin/go-server", elf);
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

/// A Go process whose SDKs disagree: its chain says it runs Go and names
/// the AWS SDK modules and versions it was built with, or says the binary
/// does not tell.
#[test]
fn a_go_process_names_the_aws_sdk_it_was_built_with() {
    let t = Tree::new();
    let modinfo = "path\texample.com/orders\nmod\texample.com/orders\t(devel)\t\n\
        dep\tgithub.com/aws/aws-sdk-go-v2\tv1.30.3\th1:x=\n\
        dep\tgithub.com/aws/aws-sdk-go-v2/config\tv1.27.27\th1:y=\n\
        dep\tgithub.com/aws/aws-sdk-go-v2/service/s3\tv1.58.2\th1:z=\n";
    let with_sdk = go_binary(&t, modinfo);
    let bare = Tree::new();
    let without = go_binary(&bare, "");
    // An ID without its secret: botocore fails, the Rust and JS SDKs go on.
    let env = [("AWS_ACCESS_KEY_ID", "AKIAJ7ZXQ4YTWB6NHSRE"), ("HOME", "/nonexistent")];
    let (a, b) = (spawn_with(&with_sdk, &["300"], &env), spawn_with(&without, &["300"], &env));
    let report = scan_processes(&[]);
    let c = chain_of(&report, a.0.id());
    assert_eq!(c["runtime"], "go", "{c}");
    assert_eq!(
        c["sdk_modules"],
        serde_json::json!([
            { "module": "github.com/aws/aws-sdk-go-v2", "version": "v1.30.3" },
            { "module": "github.com/aws/aws-sdk-go-v2/config", "version": "v1.27.27" },
        ])
    );
    let c = chain_of(&report, b.0.id());
    assert_eq!(c["runtime"], "go");
    assert!(c.get("sdk_modules").is_none(), "{c}");
    // Text says both.
    let mut cmd = rolecall();
    cmd.args(["scan", "--no-imds", "--sources", "processes"]);
    let text = run_with_limit(cmd, Duration::from_secs(60)).stdout;
    // The chain's own line (the findings' lines name the pid too).
    let line = |pid: u32| {
        text.lines().find(|l| l.trim_start().starts_with(&format!("pid {pid} ("))).unwrap_or_default().to_string()
    };
    assert!(
        line(a.0.id()).contains("[AWS SDK for Go v2; runtime Go, built with github.com/aws/aws-sdk-go-v2 v1.30.3, github.com/aws/aws-sdk-go-v2/config v1.27.27]"),
        "{text}"
    );
    assert!(
        line(b.0.id()).contains("[AWS SDK for Go v2; runtime Go, its build information names no AWS SDK version]"),
        "{text}"
    );
}

/// EKS Pod Identity's endpoint (a full container URI on 169.254.170.23)
/// works from a minimum release of each SDK: a Go binary is modelled at the
/// release its build information names (config v1.25.0 and v1 v1.47.11
/// fetch from it, older ones refuse it); one that names none is modelled
/// at the release read, and says so; other runtimes say which release
/// they need, since the process does not tell.
#[test]
fn eks_pod_identity_follows_the_sdk_release_a_go_binary_names() {
    let dep = |module: &str, version: &str| format!("path\texample.com/svc\ndep\t{module}\t{version}\th1:x=\n");
    let v2 = "github.com/aws/aws-sdk-go-v2/config";
    let binaries = [
        ("v2 v1.25.0", dep(v2, "v1.25.0"), "go-v2", "container"),
        ("v2 v1.24.1", dep(v2, "v1.24.1"), "go-v2", "error"),
        ("v1 v1.47.11", dep("github.com/aws/aws-sdk-go", "v1.47.11"), "go-v1", "container"),
        ("v1 v1.47.10", dep("github.com/aws/aws-sdk-go", "v1.47.10"), "go-v1", "error"),
        ("no module information", String::new(), "go-v2", "error"),
    ];
    let env =
        [("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials"), ("HOME", "/nonexistent")];
    let trees: Vec<Tree> = binaries.iter().map(|_| Tree::new()).collect();
    let running: Vec<Child> = binaries
        .iter()
        .zip(&trees)
        .map(|((_, modinfo, _, _), t)| spawn_with(&go_binary(t, modinfo), &["300"], &env))
        .collect();
    // An executable called `java` (a copy of sleep).
    let java = Tree::new();
    let java_exe = java.write("bin/java", std::fs::read("/bin/sleep").unwrap());
    std::fs::set_permissions(&java_exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let jvm = spawn_with(&java_exe, &["300"], &env);
    let report = scan_processes(&[]);
    for ((what, _, sdk, source), child) in binaries.iter().zip(&running) {
        let c = chain_of(&report, child.0.id());
        assert_eq!(c["runtime"], "go", "{what}: {c:#}");
        assert_eq!(c["resolution"]["sdk"], *sdk, "{what}: {c:#}");
        assert_eq!(c["resolution"]["source"]["type"], *source, "{what}: {c:#}");
        let note = c["version_note"].as_str();
        if what.starts_with("no module") {
            assert!(note.is_some_and(|n| n.contains("is not known") && n.contains("config v1.25.0")), "{c:#}");
        } else {
            assert!(note.is_none(), "{what}: the binary names its release: {c:#}");
        }
    }
    let c = chain_of(&report, jvm.0.id());
    assert_eq!((c["runtime"].as_str(), c["resolution"]["sdk"].as_str()), (Some("java"), Some("java-v2")), "{c:#}");
    assert_eq!(c["resolution"]["source"]["type"], "container", "{c:#}");
    assert!(c["version_note"].as_str().is_some_and(|n| n.contains("2.21.30")), "{c:#}");
    // Text gives the note under the chain's line.
    let mut cmd = rolecall();
    cmd.args(["scan", "--no-imds", "--sources", "processes"]);
    let text = run_with_limit(cmd, Duration::from_secs(60)).stdout;
    let pid = running[4].0.id();
    let at = text.lines().position(|l| l.trim_start().starts_with(&format!("pid {pid} ("))).expect("its chain line");
    let next = text.lines().nth(at + 1).unwrap_or_default();
    assert!(next.trim_start().starts_with("note: the AWS SDK for Go v2 release this binary was built with"), "{text}");
}

/// A JVM under a launcher of another name (the JDK's `rmiregistry`, which
/// runs until it is stopped) is known by the `libjvm.so` it maps.
#[test]
fn a_jvm_under_any_launcher_name_is_java() {
    let java = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("java"))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok());
    let Some(launcher) = java.map(|j| j.with_file_name("rmiregistry")).filter(|l| l.is_file()) else {
        eprintln!("SKIPPED: no JDK with rmiregistry on PATH");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let env = [("AWS_ACCESS_KEY_ID", "AKIAJ7ZXQ4YTWB6NHSRE"), ("HOME", "/nonexistent")];
    let jvm = spawn_with(&launcher, &[&port], &env);
    let maps = format!("/proc/{}/maps", jvm.0.id());
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(&maps).unwrap_or_default().contains("/libjvm.so") {
        assert!(start.elapsed() < Duration::from_secs(20), "the JVM did not load libjvm.so");
        std::thread::sleep(Duration::from_millis(50));
    }
    let c = chain_of(&scan_processes(&[]), jvm.0.id());
    assert_eq!(c["runtime"], "java", "{c}");
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

/// A key ID unique to one place in the fixture host.
fn key(n: u64) -> String {
    key_id_for_account("AKIA", 111122223333, n * 7 + 3)
}

/// Every location a host scan covers, in a fixture root, each holding its
/// own key (with a secret next to it), plus places it must not read.
fn fixture_host() -> (Tree, Vec<(String, String, u64)>) {
    let t = Tree::new();
    let mut expected: Vec<(String, String, u64)> = Vec::new();
    let mut put = |t: &Tree, path: &str, text: String, n: u64, line: u64| {
        t.write(path, text);
        expected.push((key(n), path.to_string(), line));
    };
    let pair = |n: u64| format!("aws_access_key_id = {}\naws_secret_access_key = {SECRET}\n", key(n));
    let env = |n: u64| format!("AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={SECRET}\n", key(n));
    t.write(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\n\
         app:x:1001:1001:App:/home/app:/bin/bash\n\
         svc:x:998:998::/var/lib/svc:/usr/sbin/nologin\n\
         web:x:1002:1002::/srv/web:/bin/sh\n\
         nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    );
    // Users: ~/.aws, shell startup files, histories, tool configs.
    put(&t, "root/.aws/credentials", format!("[default]\n{}", pair(1)), 1, 2);
    put(&t, "home/app/.aws/config", format!("[profile deploy]\nregion = us-east-1\n{}", pair(2)), 2, 3);
    put(
        &t,
        "home/app/.bashrc",
        format!("alias ll='ls -l'\nexport AWS_ACCESS_KEY_ID={}\nexport AWS_SECRET_ACCESS_KEY={SECRET}\n", key(3)),
        3,
        2,
    );
    put(
        &t,
        "home/app/.bash_history",
        format!("ls\naws configure set aws_access_key_id {}\naws_secret_access_key={SECRET} aws s3 ls\n", key(4)),
        4,
        2,
    );
    put(
        &t,
        "home/app/.zsh_history",
        format!(": 1700000000:0;export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={SECRET}\n", key(5)),
        5,
        1,
    );
    put(
        &t,
        "home/app/.config/fish/config.fish",
        format!("set -x AWS_ACCESS_KEY_ID {}\nset -x AWS_SECRET_ACCESS_KEY {SECRET}\n", key(6)),
        6,
        1,
    );
    put(&t, "home/app/.s3cfg", format!("[default]\naccess_key = {}\nsecret_key = {SECRET}\n", key(7)), 7, 2);
    put(&t, "home/app/.boto", format!("[Credentials]\n{}", pair(8)), 8, 2);
    put(&t, "home/app/.passwd-s3fs", format!("{}:{SECRET}\n", key(9)), 9, 1);
    put(
        &t,
        "home/app/.config/rclone/rclone.conf",
        format!("[s3]\ntype = s3\naccess_key_id = {}\nsecret_access_key = {SECRET}\n", key(10)),
        10,
        3,
    );
    put(&t, "home/app/.netrc", format!("machine s3.amazonaws.com\nlogin {}\npassword {SECRET}\n", key(11)), 11, 2);
    put(
        &t,
        "home/app/.docker/config.json",
        format!("{{\"env\": [\"AWS_ACCESS_KEY_ID={}\", \"AWS_SECRET_ACCESS_KEY={SECRET}\"]}}\n", key(12)),
        12,
        1,
    );
    put(
        &t,
        "home/app/.kube/config",
        format!(
            "users:\n- user:\n    exec:\n      env:\n      - name: AWS_ACCESS_KEY_ID\n        value: {}\n      - name: AWS_SECRET_ACCESS_KEY\n        value: {SECRET}\n",
            key(13)
        ),
        13,
        6,
    );
    put(&t, "var/lib/svc/.aws/credentials", format!("[default]\n{}", pair(14)), 14, 2);
    // System.
    put(&t, "etc/environment", env(15), 15, 1);
    put(
        &t,
        "etc/profile.d/aws.sh",
        format!("export {}", env(16).replace('\n', "\nexport ").trim_end_matches("export ")),
        16,
        1,
    );
    put(&t, "etc/default/app", env(17), 17, 1);
    put(&t, "etc/sysconfig/app", env(18), 18, 1);
    put(
        &t,
        "etc/systemd/system/app.service",
        format!(
            "[Unit]\nDescription=app\n[Service]\nEnvironment=AWS_ACCESS_KEY_ID={} \"AWS_SECRET_ACCESS_KEY={SECRET}\"\nEnvironmentFile=-/data/app.env\nExecStart=/opt/app/bin/app\n",
            key(19)
        ),
        19,
        4,
    );
    // A file named by EnvironmentFile= outside every default location.
    put(&t, "data/app.env", env(20), 20, 1);
    put(
        &t,
        "etc/crontab",
        format!("0 * * * * root AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={SECRET} /usr/local/bin/sync\n", key(21)),
        21,
        1,
    );
    put(
        &t,
        "etc/cron.d/backup",
        format!("SHELL=/bin/sh\nAWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={SECRET}\n", key(22)),
        22,
        2,
    );
    put(
        &t,
        "var/spool/cron/crontabs/app",
        format!("@daily AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={SECRET} backup.sh\n", key(23)),
        23,
        1,
    );
    put(
        &t,
        "var/lib/cloud/instance/user-data.txt",
        format!("#!/bin/bash\necho setup\ncat > /etc/app.env <<EOF\n{}EOF\n", env(24)),
        24,
        4,
    );
    put(
        &t,
        "var/lib/cloud/instance/scripts/part-001",
        format!("#!/bin/sh\nexport {}", env(25).replace('\n', "\nexport ").trim_end_matches("export ")),
        25,
        2,
    );
    put(&t, "etc/passwd-s3fs", format!("mybucket:{}:{SECRET}\n", key(26)), 26, 1);
    let cid = "c0ffee".repeat(10) + "abcd";
    put(
        &t,
        &format!("var/lib/docker/containers/{cid}/config.v2.json"),
        format!(
            "{{\"Config\":{{\"Env\":[\"PATH=/usr/bin\",\"AWS_ACCESS_KEY_ID={}\",\"AWS_SECRET_ACCESS_KEY={SECRET}\"]}}}}\n",
            key(27)
        ),
        27,
        1,
    );
    put(
        &t,
        &format!("var/lib/containers/storage/overlay-containers/{cid}/userdata/config.json"),
        format!("{{\"process\":{{\"env\":[\"AWS_ACCESS_KEY_ID={}\",\"AWS_SECRET_ACCESS_KEY={SECRET}\"]}}}}\n", key(28)),
        28,
        1,
    );
    put(
        &t,
        &format!("run/containerd/io.containerd.runtime.v2.task/k8s.io/{cid}/config.json"),
        format!("{{\"process\":{{\"env\":[\"AWS_ACCESS_KEY_ID={}\",\"AWS_SECRET_ACCESS_KEY={SECRET}\"]}}}}\n", key(29)),
        29,
        1,
    );
    // Application directories, compose files, the home of a service account under /srv.
    put(
        &t,
        "opt/app/docker-compose.yml",
        format!(
            "services:\n  app:\n    environment:\n      AWS_ACCESS_KEY_ID: {}\n      AWS_SECRET_ACCESS_KEY: {SECRET}\n",
            key(30)
        ),
        30,
        4,
    );
    put(&t, "srv/web/.env", env(31), 31, 1);
    put(
        &t,
        "var/www/html/wp-config.php",
        format!("define('AWS_ACCESS_KEY_ID', '{}');\ndefine('AWS_SECRET_ACCESS_KEY', '{SECRET}');\n", key(32)),
        32,
        1,
    );
    put(&t, "usr/local/etc/app.conf", pair(33), 33, 1);
    put(
        &t,
        "app/config/settings.yml",
        format!("aws:\n  aws_access_key_id: {}\n  aws_secret_access_key: {SECRET}\n", key(34)),
        34,
        2,
    );
    // Not read: pseudo filesystems inside the root, other directories.
    t.write("proc/1/environ", env(90).replace('\n', "\0"));
    t.write("sys/kernel/notes", env(91));
    t.write("run/user/1001/secret.env", env(92));
    t.write("data/other/notes.txt", env(93));
    // The SSM agent's own temporary credentials: expected, not a finding that counts.
    t.write(
        "var/lib/amazon/ssm/credentials",
        format!("[default]\naws_access_key_id = ASIAY34FZKBOKMUTVV7A\naws_secret_access_key = {SECRET2}\naws_session_token = IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDoG1aR3Kq8vN2mT5xW7yZ4bC6dF9hJ0kL3nP5qR8sU1vX4zA7cE2gI5jM8oQ0tW3y\n"),
    );
    (t, expected)
}

fn by_key(report: &Value) -> BTreeMap<String, (String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["key_id"].is_string())
        .map(|f| {
            (
                f["key_id"].as_str().unwrap().to_string(),
                (f["location"]["path"].as_str().unwrap().to_string(), f["location"]["line"].as_u64().unwrap()),
            )
        })
        .collect()
}

#[test]
fn fixture_root_every_location_is_found() {
    let (t, expected) = fixture_host();
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--root"]).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(60));
    let report = run.json();
    let found = by_key(&report);
    let mut missing = Vec::new();
    for (k, path, line) in &expected {
        match found.get(k) {
            // Paths are named as the host sees them, not where the image is mounted.
            Some((p, l)) if *p == format!("/{path}") && l == line => {}
            other => missing.push(format!("{path}:{line} ({k}): got {other:?}")),
        }
    }
    assert!(missing.is_empty(), "not found as expected:\n{}", missing.join("\n"));
    for n in [90, 91, 92, 93] {
        assert!(!found.contains_key(&key(n)), "key {n} was read from a place a host scan must not read");
    }
    // The SSM agent's credentials are expected, with the reason shown.
    let ssm = report["findings"].as_array().unwrap().iter().find(|f| f["key_id"] == "ASIAY34FZKBOKMUTVV7A").unwrap();
    assert!(ssm["expected"].as_str().unwrap().contains("SSM agent"));
    assert_eq!(report["verdict"]["expected_credentials"], 1);
    assert_eq!(report["verdict"]["live_credentials"].as_u64().unwrap(), expected.len() as u64);
    // No process was read: --root is an image, not this host.
    assert_eq!(report["coverage"]["processes_scanned"], 0);
    // Users' login shells, resolved inside the root.
    let user_chain = |name: &str| {
        report["chains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["subject"]["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no chain for {name}"))
    };
    let app = user_chain("app");
    assert_eq!(app["resolution"]["method"], "env", "app's .bashrc exports keys: {app}");
    assert_eq!(app["resolution"]["source"]["key_id"], key(3));
    // /etc/environment and /etc/profile.d/aws.sh export keys to every login
    // shell, so they win over root's ~/.aws/credentials.
    let r = user_chain("root");
    assert_eq!(r["resolution"]["method"], "env");
    assert_eq!(r["resolution"]["source"]["key_id"], key(16));
    assert_eq!(user_chain("web")["resolution"]["source"]["key_id"], key(16));
    assert_eq!(report["verdict"]["users_using_static_keys"].as_u64().unwrap(), 3);
    let root_creds = report["findings"].as_array().unwrap().iter().find(|f| f["key_id"] == key(1)).unwrap();
    assert_eq!(root_creds["used_by"], serde_json::json!([]), "shadowed by the environment");
    // --full also reads the rest of the root; --include adds one directory.
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--include", "/data/other", "--root"]).arg(t.root());
    assert!(by_key(&run_with_limit(cmd, Duration::from_secs(60)).json()).contains_key(&key(93)));
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--full", "--root"]).arg(t.root());
    let full = by_key(&run_with_limit(cmd, Duration::from_secs(60)).json());
    assert!(full.contains_key(&key(93)) && !full.contains_key(&key(90)) && !full.contains_key(&key(91)));
    // --exclude, as the host sees the path.
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--exclude", "/opt", "--root"]).arg(t.root());
    assert!(!by_key(&run_with_limit(cmd, Duration::from_secs(60)).json()).contains_key(&key(30)));
}

/// A cgroup directory in each hierarchy that names containers, removed
/// (after its processes are gone) when dropped.
struct ContainerCgroup {
    dirs: Vec<std::path::PathBuf>,
}

impl ContainerCgroup {
    /// `docker/<id>` under the systemd and unified hierarchies, as Docker's
    /// cgroupfs driver makes them; None where cgroups cannot be made.
    fn create(id: &str) -> Option<ContainerCgroup> {
        let mut dirs = Vec::new();
        for hierarchy in ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
            let dir = Path::new(hierarchy).join("docker").join(id);
            if Path::new(hierarchy).join("cgroup.procs").exists() && std::fs::create_dir_all(&dir).is_ok() {
                dirs.push(dir);
            }
        }
        (!dirs.is_empty()).then_some(ContainerCgroup { dirs })
    }

    fn add(&self, pid: u32) {
        for dir in &self.dirs {
            std::fs::write(dir.join("cgroup.procs"), pid.to_string()).expect("move the process into its cgroup");
        }
    }
}

impl Drop for ContainerCgroup {
    fn drop(&mut self) {
        for dir in &self.dirs {
            let _ = std::fs::remove_dir(dir);
            let _ = std::fs::remove_dir(dir.parent().unwrap());
        }
    }
}

/// Copies `/bin/sleep` and the libraries `ldd` names into `rootfs`.
fn install_sleep(rootfs: &Path) {
    let ldd = Command::new("ldd").arg("/bin/sleep").output().expect("run ldd");
    let libs = String::from_utf8_lossy(&ldd.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
        .map(str::to_string)
        .collect::<Vec<_>>();
    for file in libs.iter().map(String::as_str).chain(["/bin/sleep"]) {
        let to = rootfs.join(file.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(file, &to).unwrap_or_else(|e| panic!("copy {file}: {e}"));
    }
}

/// A containerised process (its own root filesystem and passwd, in a
/// Docker-style cgroup) resolves its chain inside its own root, through
/// /proc/<pid>/root: the key in the container's /root/.aws/credentials,
/// which the host does not have.
#[test]
fn containerised_process_resolves_inside_its_own_root() {
    if !is_root() {
        eprintln!("SKIPPED: making a container root and cgroup needs root");
        return;
    }
    let id = format!("{:064x}", u128::from(std::process::id()) * 0x9e37_79b9_7f4a_7c15);
    let Some(cgroup) = ContainerCgroup::create(&id) else {
        eprintln!("SKIPPED: this machine lets no cgroup be made");
        return;
    };
    let container_key = key_id_for_account("AKIA", 210987654321, 7);
    let t = Tree::new();
    let rootfs = t.path("rootfs");
    install_sleep(&rootfs);
    t.write("rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
    t.write(
        "rootfs/root/.aws/credentials",
        format!("[default]\naws_access_key_id = {container_key}\naws_secret_access_key = {SECRET}\n"),
    );
    // As Docker starts a process: chroot'ed, with HOME from the image's passwd.
    let chroot = ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"].into_iter().find(|c| Path::new(c).exists());
    let mut cmd = Command::new(chroot.expect("chroot (coreutils) is installed"));
    cmd.arg(&rootfs).args(["/bin/sleep", "300"]).env_clear().env("HOME", "/root").env("PATH", "/bin");
    let child = Child(cmd.stdin(Stdio::null()).stdout(Stdio::null()).spawn().expect("start chroot"));
    let pid = child.0.id();
    cgroup.add(pid);
    // Wait until chroot has exec'ed sleep inside the new root.
    let start = std::time::Instant::now();
    while std::fs::read_link(format!("/proc/{pid}/root")).map(|r| r == Path::new("/")).unwrap_or(true) {
        assert!(start.elapsed() < Duration::from_secs(5), "chroot did not start");
        std::thread::sleep(Duration::from_millis(10));
    }

    let report = scan_processes(&[]);
    let chain = chain_of(&report, pid);
    assert_eq!(chain["subject"]["container"], id.as_str(), "{chain}");
    let source = &chain["resolution"]["source"];
    assert_eq!(source["type"], "shared-credentials-file", "{chain}");
    assert_eq!(source["key_id"], container_key.as_str(), "{chain}");
    assert_eq!(source["path"], "/root/.aws/credentials", "{chain}");
    assert_eq!(chain["resolution"]["shadowing"], "static-keys");
    drop(child);
}
