//! Hostile local users and servers: what an unprivileged user's processes,
//! files and names (and a hostile IMDS or STS) can do to the root scan. Each
//! test mounts the attack for real and checks the bound: the scan stays on
//! its plan, finishes within its deadline in bounded memory, still finds the
//! planted key or says it is incomplete, prints nothing raw, sends no secret
//! anywhere, and writes or removes nothing it should not.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::imds_server::{Mode, Server};
use crate::util::*;

const SECRET: &str = "5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f";

fn key(n: u64) -> String {
    key_id_for_account("AKIA", 777788889999, n * 13 + 1)
}

/// `/bin/sleep 300` with exactly `env`, killed when dropped.
fn sleeper(env: &[(&str, &str)]) -> Child {
    crate::host::sleeper(env)
}

/// A process scan plus the files SDKs would read, with the host's own big
/// trees left out (they are not what these tests are about).
fn scan_host(extra: &[&str]) -> (Run, Value) {
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--sources", "processes,files"]).args(extra);
    for big in ["/root", "/usr", "/var", "/opt", "/home", "/srv", "/etc"] {
        cmd.args(["--exclude", big]);
    }
    let run = run_with_limit(cmd, Duration::from_secs(120));
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let report = run.json();
    (run, report)
}

fn skipped_paths(report: &Value) -> Vec<String> {
    report["coverage"]["skipped_paths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect()
}

#[test]
fn a_processs_file_variables_cannot_steer_the_walk() {
    let _a = sleeper(&[("AWS_CONFIG_FILE", "/"), ("PATH", "/bin")]);
    let _b = sleeper(&[("AWS_CONFIG_FILE", "/proc"), ("AWS_SHARED_CREDENTIALS_FILE", "/proc/self/environ")]);
    let _c = sleeper(&[("BOTO_CONFIG", "/proc/kcore"), ("AWS_CREDENTIAL_FILE", "/sys/kernel/notes")]);
    let (_run, report) = scan_host(&[]);
    let skipped = skipped_paths(&report);
    assert!(skipped.iter().any(|p| p == "/") && skipped.iter().any(|p| p == "/proc"), "{skipped:?}");
    assert!(report["coverage"]["skipped"]["not-a-file"].as_u64().unwrap() >= 2);
    // Nothing under /proc or /sys was read: no finding, no gap, no file there.
    for f in report["findings"].as_array().unwrap() {
        let p = f["location"]["path"].as_str().unwrap_or("");
        assert!(!p.starts_with("/proc") && !p.starts_with("/sys"), "{p}");
    }
    for g in report["coverage"]["gaps"].as_array().unwrap() {
        let t = g["target"].as_str().unwrap();
        assert!(!t.starts_with("/proc/") && !t.starts_with("/sys/"), "{g}");
    }
}

#[test]
fn a_huge_sparse_file_named_by_a_process_cannot_blind_the_scan() {
    let _alone = one_at_a_time();
    let t = Tree::new();
    let huge = t.path("huge.cfg");
    std::fs::File::create(&huge).unwrap().set_len(1 << 40).unwrap();
    let k = key(1);
    let _p = sleeper(&[("BOTO_CONFIG", huge.to_str().unwrap()), ("PATH", "/bin")]);
    let _q = sleeper(&[("AWS_ACCESS_KEY_ID", &k), ("AWS_SECRET_ACCESS_KEY", SECRET)]);
    let start = Instant::now();
    let (run, report) = scan_host(&["--max-seconds", "30", "--fail-on", "credentials"]);
    assert!(start.elapsed() < Duration::from_secs(45), "the deadline holds");
    assert_eq!(run.code, 1);
    let gap =
        report["coverage"]["gaps"].as_array().unwrap().iter().find(|g| g["target"] == huge.to_str().unwrap()).cloned();
    assert_eq!(gap.expect("the sparse file is a gap")["reason"], "too-large");
    assert_eq!(report["coverage"]["complete"], false);
    let found = report["findings"].as_array().unwrap().iter().any(|f| f["key_id"] == k.as_str() && f["live"] == true);
    assert!(found, "the planted key is still found");
    assert_ne!(report["verdict"]["verdict"], "pass");
}

/// Runs `cmd` to its end (killed past `limit`) and returns it with its peak
/// resident memory in KiB, as the kernel accounts it (`wait4`, which also
/// reaps it: hence no `Child::wait`).
#[allow(clippy::zombie_processes)]
fn run_measured(mut cmd: Command, limit: Duration) -> (i32, String, u64) {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start rolecall");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let start = Instant::now();
            while !done.load(Ordering::SeqCst) {
                if start.elapsed() > limit {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            false
        })
    };
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    done.store(true, Ordering::SeqCst);
    assert!(!watchdog.join().unwrap(), "rolecall did not finish within {limit:?}");
    (libc::WEXITSTATUS(status), reader.join().unwrap(), usage.ru_maxrss as u64)
}

/// A process with a 4 MiB environment (holding `key` and its secret) that
/// forks `children` copies of itself; all killed when dropped.
fn forking_family(children: usize, key: &str) -> Child {
    let python = std::env::var_os("ROLECALL_TEST_PYTHON").unwrap_or_else(|| "python3".into());
    let mut cmd = Command::new(python);
    let program = format!(
        "import os, time\nfor _ in range({children}):\n    if os.fork() == 0:\n        time.sleep(300)\n        os._exit(0)\ntime.sleep(300)\n"
    );
    cmd.args(["-c", &program]).env_clear();
    for i in 0..32 {
        cmd.env(format!("PAD_{i}"), "p".repeat(128 * 1024 - 16));
    }
    cmd.env("AWS_ACCESS_KEY_ID", key).env("AWS_SECRET_ACCESS_KEY", SECRET).env("PATH", "/bin");
    cmd.process_group(0).stdin(Stdio::null()).stdout(Stdio::null());
    // A 4 MiB environment needs a stack limit of at least four times that.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit { rlim_cur: 64 << 20, rlim_max: 64 << 20 };
            libc::setrlimit(libc::RLIMIT_STACK, &lim);
            Ok(())
        });
    }
    let child = Child(cmd.spawn().expect("start python3"));
    let pgid = child.0.id() as i32;
    let start = Instant::now();
    let count = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
                stat.rsplit(')').next().and_then(|r| r.split_whitespace().nth(2)).and_then(|g| g.parse::<i32>().ok())
                    == Some(pgid)
            })
            .count()
    };
    while count() < children + 1 {
        assert!(start.elapsed() < Duration::from_secs(30), "the children did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

/// The tests that measure a host-wide process scan, or plant processes that
/// make one costly, run one at a time: each one's processes would count in
/// the other's figures.
static HOST_WIDE: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    HOST_WIDE.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn three_hundred_forks_of_a_4_mib_environment_cost_bounded_memory_and_time() {
    let _alone = one_at_a_time();
    let k = key(2);
    let family = forking_family(300, &k);
    let pgid = family.0.id() as i32;
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--sources", "processes", "--max-seconds", "30"]);
    let (code, stdout, rss_kib) = run_measured(cmd, Duration::from_secs(60));
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    assert_eq!(code, 1);
    // 301 environments of 4 MiB are 1.2 GiB: none of them is kept.
    assert!(rss_kib < 256 * 1024, "peak RSS {rss_kib} KiB");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let f =
        report["findings"].as_array().unwrap().iter().find(|f| f["key_id"] == k.as_str()).expect("the key is found");
    assert_eq!(f["live"], true);
    // Every fork is listed, or the deadline stopped the reading and the scan says so.
    let listed = f["processes"].as_array().unwrap().len();
    let stopped = report["coverage"]["gaps"].as_array().unwrap().iter().any(|g| g["target"] == "processes");
    assert!(listed >= 301 || (stopped && report["coverage"]["complete"] == false), "{listed} listed");
}

#[test]
fn a_users_megabyte_config_file_costs_linear_time() {
    let _alone = one_at_a_time();
    let t = Tree::new();
    let mut config = String::new();
    let mut i = 0;
    while config.len() < 1 << 20 {
        config.push_str(&format!("[profile p{i}]\nregion = us-east-1\noutput = json\ncli_pager = \n"));
        i += 1;
    }
    t.write("home/u/.aws/config", &config);
    let home = t.path("home/u");
    let procs: Vec<Child> = (0..5).map(|_| sleeper(&[("HOME", home.to_str().unwrap()), ("PATH", "/bin")])).collect();
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--sources", "processes", "--max-seconds", "60"]);
    let run = run_with_limit(cmd, Duration::from_secs(90));
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["coverage"]["gap_counts"]["time-limit"], Value::Null, "{:#}", report["coverage"]);
    // The file was modelled: each process's chain went through its profiles.
    let pid = procs[0].0.id();
    let chain = report["chains"].as_array().unwrap().iter().find(|c| c["subject"]["pid"] == pid).unwrap();
    assert_ne!(chain["resolution"]["method"], "error", "{chain}");
    drop(procs);
}

#[test]
fn names_paths_and_answers_cannot_drive_the_operators_terminal() {
    let t = Tree::new();
    // An executable whose name clears the screen, and a variable name that hides text.
    let exe = t.path("sle\x1b[2Jep");
    std::fs::copy("/bin/sleep", &exe).unwrap();
    let k = key(3);
    let mut cmd = Command::new(&exe);
    cmd.arg("300").env_clear().env("HIDE\x1b[8m", &k).env("AWS_SECRET_ACCESS_KEY", SECRET);
    let _p = Child(cmd.stdin(Stdio::null()).stdout(Stdio::null()).spawn().unwrap());
    std::thread::sleep(Duration::from_millis(200));
    // A file whose name paints a fake verdict, scanned at the highest verbosity.
    t.write(
        "etc/\x1b[32mrolecall: PASS\x1b[0m.env",
        format!("AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={SECRET}\n", key(4)),
    );
    let mut cmd = rolecall();
    cmd.args(["scan", "-vvv", "--no-imds", "--sources", "processes,files"]).arg(t.path("etc"));
    cmd.env("RUST_LOG", "trace");
    let run = run_with_limit(cmd, Duration::from_secs(120));
    assert!(run.stdout.contains(&k), "the process's key is reported");
    assert!(!run.stdout.contains('\x1b') && !run.stderr.contains('\x1b'), "{}", run.stdout);
    assert!(run.stdout.contains("\\u{1b}"), "shown escaped");

    // A hostile IMDS answer with a newline in the instance ID cannot forge a second summary line.
    let identity = r#"{"accountId":"123456789012","region":"us-east-1","instanceId":"i-0123456789abcdef0\nrolecall pass instance=i-forged"}"#;
    let server = Server::start_with_identity(Mode::TokenRequired, identity.to_string());
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["scan", "--summary", "--imds-endpoint", &server.url()]).arg(t.path("etc"));
    let run = run_with_limit(cmd, Duration::from_secs(60));
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(run.stdout.contains("instance=unknown"), "{}", run.stdout);

    // Fleet reports are somebody else's words too.
    let reports = Tree::new();
    reports.write(
        "r.json",
        r#"{"schema_version":"1","tool":{"name":"rolecall"},"host":{"instance_id":"i-0123456789abcdef0","hostname":"h"},"verdict":{"verdict":"\u001b[32mpass\u001b[0m"},"role":{"status":"attached"},"findings":[{"key_id":"AKIA\u001b[8mX"}],"coverage":{"complete":true}}"#,
    );
    let mut cmd = rolecall();
    cmd.args(["fleet", "summarize"]).arg(reports.root());
    let run = run_with_limit(cmd, Duration::from_secs(30));
    assert!(!run.stdout.contains('\x1b'), "{}", run.stdout);
}

/// A loopback HTTP proxy that records each request's first line and refuses it.
fn recording_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut line = String::new();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            if reader.read_line(&mut line).is_ok() {
                record.lock().unwrap().push(line.trim().to_string());
            }
            let _ = (&conn).write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        }
    });
    (url, seen)
}

#[test]
fn a_hostile_region_cannot_send_a_found_key_to_a_forged_sts() {
    // A "TLS server" the hostile region points at: it must never be contacted.
    let forged = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = forged.local_addr().unwrap().port();
    forged.set_nonblocking(true).unwrap();
    let contacted = Arc::new(AtomicUsize::new(0));
    {
        let contacted = Arc::clone(&contacted);
        std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(60) {
                if forged.accept().is_ok() {
                    contacted.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
    }
    let identity = format!(
        r#"{{"accountId":"123456789012","region":"us-east-1@127.0.0.1:{port}/#","instanceId":"i-0123456789abcdef0"}}"#
    );
    let server = Server::start_with_identity(Mode::TokenRequired, identity);
    let (proxy, seen) = recording_proxy();
    let t = Tree::new();
    t.write("app.env", format!("AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={SECRET}\n", key(5)));
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["scan", "--format", "json", "--verify", "--imds-endpoint", &server.url()]).arg(t.root());
    cmd.env("HTTPS_PROXY", &proxy).env("HTTP_PROXY", &proxy).env_remove("NO_PROXY");
    let run = run_with_limit(cmd, Duration::from_secs(60));
    let report = run.json();
    assert_eq!(contacted.load(Ordering::SeqCst), 0, "the forged server was contacted");
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|l| l == "CONNECT sts.us-east-1.amazonaws.com:443 HTTP/1.1"), "{seen:?}");
    let f = &report["findings"][0];
    assert_eq!(f["verification"]["status"], "unknown", "a refused connection proves nothing: {f:#}");
    assert_eq!(f["live"], true, "and the key stays live");
    assert!(report["imds"]["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().starts_with("region")));
}

#[test]
fn a_drip_fed_imds_answer_cannot_hold_the_probe() {
    let server = Server::start(Mode::Drip);
    let start = Instant::now();
    let t = Tree::new();
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(["scan", "--format", "json", "--imds-endpoint", &server.url()]).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(60));
    assert!(start.elapsed() < Duration::from_secs(20), "held {:?}", start.elapsed());
    let report = run.json();
    assert_eq!(report["imds"]["state"], "error", "{:#}", report["imds"]);
    assert!(report["imds"]["detail"].as_str().unwrap().contains("not received in time"), "{:#}", report["imds"]);
}

#[test]
fn a_fifo_swapped_in_during_the_walk_is_never_opened() {
    let t = Tree::new();
    let dir = t.path("d");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("f");
    std::fs::write(&target, "plain\n").unwrap();
    let fifo = t.path("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
    // A writer blocks opening the FIFO until someone opens it to read.
    let opened = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let plain = t.path("plain");
    std::fs::write(&plain, "plain\n").unwrap();
    let swapper = {
        let (stop, target, fifo, plain) = (Arc::clone(&stop), target.clone(), fifo.clone(), plain.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                // Hard links keep both inodes alive while the name flips between them.
                let from = if n.is_multiple_of(2) { &fifo } else { &plain };
                let tmp = target.with_extension("swap");
                let _ = std::fs::hard_link(from, &tmp);
                let _ = std::fs::rename(&tmp, &target);
                n += 1;
            }
        })
    };
    let writer = {
        let (opened, fifo) = (Arc::clone(&opened), fifo.clone());
        std::thread::spawn(move || {
            if std::fs::OpenOptions::new().write(true).open(&fifo).is_ok() {
                opened.store(true, Ordering::SeqCst);
            }
        })
    };
    for _ in 0..30 {
        let run = scan_json([dir.as_os_str()]);
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    }
    stop.store(true, Ordering::SeqCst);
    swapper.join().unwrap();
    assert!(!opened.load(Ordering::SeqCst), "root opened the FIFO");
    // Let the writer go.
    let _ = std::fs::OpenOptions::new().read(true).custom_flags_nonblocking().open(&fifo);
    drop(writer);
}

trait Nonblocking {
    fn custom_flags_nonblocking(&mut self) -> &mut Self;
}

impl Nonblocking for std::fs::OpenOptions {
    fn custom_flags_nonblocking(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::custom_flags(self, libc::O_NONBLOCK)
    }
}

#[test]
fn a_directory_swapped_for_a_symlink_during_the_walk_leads_nowhere() {
    let t = Tree::new();
    let outside = Tree::new();
    let k = key(6);
    outside.write("sub/creds.env", format!("AWS_ACCESS_KEY_ID={k}\nAWS_SECRET_ACCESS_KEY={SECRET}\n"));
    let root = t.path("scan");
    let sub = root.join("sub");
    for i in 0..200 {
        t.write(format!("scan/sub/file{i}.txt"), "nothing\n");
    }
    // `sub` flips between the real directory and a symlink to one outside the tree.
    let (real, link) = (t.path("real"), t.path("link"));
    std::fs::rename(&sub, &real).unwrap();
    std::os::unix::fs::symlink(outside.path("sub"), &link).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, sub) = (Arc::clone(&stop), sub.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let _ = std::fs::rename(&real, &sub);
                let _ = std::fs::rename(&sub, &real);
                let _ = std::fs::rename(&link, &sub);
                let _ = std::fs::rename(&sub, &link);
            }
        })
    };
    for _ in 0..30 {
        let run = scan_json([root.as_os_str()]);
        let report = run.json();
        assert!(
            !report["findings"].as_array().unwrap().iter().any(|f| f["key_id"] == k.as_str()),
            "a file outside the scanned tree was read through a swapped-in symlink"
        );
    }
    stop.store(true, Ordering::SeqCst);
    swapper.join().unwrap();
}

#[test]
fn outputs_in_a_shared_directory_write_and_remove_only_rolecalls_own_files() {
    let shared = Tree::new();
    let t = Tree::new();
    t.write("app.env", format!("AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={SECRET}\n", key(7)));
    // Decoys where a guessable temporary name would be, and a link where the report goes.
    let decoys: Vec<_> =
        (0..64).map(|i| shared.write(format!(".report.json.tmp.{}", 1000 + i), "someone else's")).collect();
    let victim = shared.write("victim", "keep me");
    std::os::unix::fs::symlink(&victim, shared.path("report.json")).unwrap();
    let mut cmd = rolecall();
    cmd.args(["scan", "--no-imds", "--summary", "--output"])
        .arg(format!("json={}", shared.path("report.json").display()));
    cmd.arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(60));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me", "the link's target is untouched");
    let report = shared.path("report.json");
    assert!(!std::fs::symlink_metadata(&report).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&report).unwrap().contains("\"schema_version\""));
    for d in &decoys {
        assert_eq!(std::fs::read_to_string(d).unwrap(), "someone else's");
    }
    let left: Vec<_> = std::fs::read_dir(shared.root()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left.len(), decoys.len() + 2, "no temporary file left behind: {left:?}");
}

/// A minimal rolecall report as an instance would write it.
fn report_of(instance: &str, verdict: &str, key_id: &str) -> String {
    format!(
        r#"{{"schema_version":"1","tool":{{"name":"rolecall"}},"scanned_at":"2026-12-01T10:00:00Z","host":{{"instance_id":"{instance}","hostname":"h"}},"verdict":{{"verdict":"{verdict}","live_credentials":1}},"role":{{"status":"attached"}},"findings":[{{"key_id":"{key_id}"}}],"coverage":{{"complete":true}}}}"#
    )
}

#[test]
fn a_forged_report_cannot_speak_for_another_instance() {
    let (a, b) = ("i-0aaaaaaaaaaaaaaa1", "i-0bbbbbbbbbbbbbbb2");
    let s3 = Tree::new();
    // B's own output says it fails; A's output claims to be B and to pass.
    s3.write(
        format!("rolecall/cmd-1/{b}/awsrunShellScript/rolecall/stdout"),
        format!(
            "rolecall static-credentials-despite-role\n{}",
            report_of(b, "static-credentials-despite-role", &key(8))
        ),
    );
    s3.write(
        format!("rolecall/cmd-1/{a}/awsrunShellScript/rolecall/stdout"),
        format!("rolecall pass\n{}", report_of(b, "pass", &key(8))),
    );
    let mut cmd = rolecall();
    cmd.args(["fleet", "summarize", "--format", "json"]).arg(s3.root());
    let run = run_with_limit(cmd, Duration::from_secs(30));
    let summary: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(summary["instances"], 2, "{summary:#}");
    assert_eq!(summary["by_verdict"]["static-credentials-despite-role"], 1);
    assert_eq!(summary["by_verdict"]["pass"], 1, "A's own verdict, counted as A's");
    let conflicts = summary["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert!(conflicts[0].as_str().unwrap().contains(&format!("the report says {b}, SSM put it under {a}")));
}

#[test]
fn no_output_panics_on_non_ascii_names() {
    let t = Tree::new();
    // Paths of every length around the cuts reports make (ASFF's 1,024-byte
    // description, 2,048-byte fields, inventory's 4,096), in two-byte characters.
    for extra in 0..8u64 {
        let mut path = String::new();
        for _ in 0..4 {
            path.push_str(&"é".repeat(110));
            path.push('/');
        }
        path.push_str(&"ü".repeat(60 + extra as usize));
        path.push_str("ß.env");
        t.write(&path, format!("AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={SECRET}\n", key(9 + extra)));
    }
    let server = Server::start(Mode::TokenRequired);
    for format in crate::leaks::formats() {
        let mut cmd = rolecall_with_imds(&server.url());
        cmd.args(["scan", "--format", &format, "--imds-endpoint", &server.url()]).arg(t.root());
        let run = run_with_limit(cmd, Duration::from_secs(60));
        assert_eq!(run.code, 1, "--format {format}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "--format {format}: {}", run.stderr);
    }
}

#[test]
fn a_root_that_is_slash_in_disguise_is_the_live_host() {
    let _p = sleeper(&[("AWS_ACCESS_KEY_ID", &key(30)), ("AWS_SECRET_ACCESS_KEY", SECRET)]);
    for root in ["//", "/.", "/tmp/.."] {
        let mut cmd = rolecall();
        cmd.args(["scan", "--format", "json", "--no-imds", "--sources", "processes", "--root", root]);
        let report = run_with_limit(cmd, Duration::from_secs(60)).json();
        assert!(report["coverage"]["processes_scanned"].as_u64().unwrap() > 0, "--root {root} turned processes off");
    }
}
