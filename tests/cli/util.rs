//! The test harness: temporary trees, running the binary hermetically, and
//! reading its JSON report.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A temporary directory tree that any user may read (so that a scan run
/// as `nobody` sees it), removed when dropped.
pub struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    pub fn new() -> Tree {
        let dir = tempfile::Builder::new().prefix("rolecall-test-").tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Tree { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file, creating its parent directories.
    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }
}

/// The binary under test, with nothing from the caller's environment that
/// could change what it does, and IMDS disabled so that no test ever talks
/// to 169.254.169.254.
pub fn rolecall() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rolecall"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("AWS_")
            || k.starts_with("ROLECALL")
            || k == "RUST_LOG"
            || k == "HTTP_PROXY"
            || k == "HTTPS_PROXY"
        {
            cmd.env_remove(k.as_ref());
        }
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true");
    cmd.env("NO_COLOR", "1");
    cmd.stdin(Stdio::null());
    cmd
}

/// The outcome of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

/// Runs `cmd` and kills it if it takes longer than `limit`.
pub fn run_with_limit(mut cmd: Command, limit: Duration) -> Run {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start rolecall");
    // Read both pipes on threads so that a large report cannot fill a pipe and stall.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut s).ok();
        s
    });
    let t2 = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut s).ok();
        s
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("rolecall did not finish within {limit:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    let out = Output { status, stdout: t1.join().unwrap(), stderr: t2.join().unwrap() };
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
    }
}

/// `rolecall scan --format json ARGS...`, bounded to a minute.
pub fn scan_json<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json"]).args(args);
    run_with_limit(cmd, Duration::from_secs(60))
}

/// A finding reduced to what tests compare: kind, key ID, has_secret, path
/// relative to `root`, line.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
pub struct Seen {
    pub kind: String,
    pub key_id: Option<String>,
    pub has_secret: bool,
    pub path: String,
    pub line: u64,
}

pub fn seen(report: &Value, root: &Path) -> Vec<Seen> {
    let root = format!("{}/", root.display());
    let mut v: Vec<Seen> = report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| Seen {
            kind: f["kind"].as_str().unwrap().to_string(),
            key_id: f["key_id"].as_str().map(str::to_string),
            has_secret: f["has_secret"].as_bool().unwrap(),
            path: f["location"]["path"].as_str().unwrap_or("").trim_start_matches(&root).to_string(),
            line: f["location"]["line"].as_u64().unwrap_or(0),
        })
        .collect();
    v.sort();
    v
}

/// Shorthand for an expected finding.
pub fn f(kind: &str, key_id: Option<&str>, has_secret: bool, path: &str, line: u64) -> Seen {
    Seen { kind: kind.into(), key_id: key_id.map(str::to_string), has_secret, path: path.into(), line }
}

pub fn is_root() -> bool {
    nix::unistd::getuid().is_root()
}

/// The binary under test, pointed at an IMDS test server: through the
/// SDKs' endpoint variable as well as the flag, so that nothing reaches
/// 169.254.169.254 even if one of them were ignored.
pub fn rolecall_with_imds(url: &str) -> Command {
    let mut cmd = rolecall();
    cmd.env_remove("AWS_EC2_METADATA_DISABLED");
    cmd.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", url);
    cmd
}

/// `rolecall scan --format json --imds-endpoint URL ARGS...`, bounded to a minute.
pub fn scan_json_imds<I, S>(url: &str, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = rolecall_with_imds(url);
    cmd.args(["scan", "--format", "json", "--imds-endpoint", url]).args(args);
    run_with_limit(cmd, Duration::from_secs(60))
}

/// A long-term key ID that decodes to `account` (the inverse of the offline
/// decode: generation bit, 40 bits of account, then filler bits).
pub fn key_id_for_account(prefix: &str, account: u64, salt: u64) -> String {
    let z: u64 = (1 << 47) | (account << 7) | (salt & 0x7f);
    let mut raw = z.to_be_bytes()[2..].to_vec();
    raw.extend_from_slice(&(salt as u32 ^ 0x5a5a_1234).to_be_bytes());
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u128 = 0;
    for b in &raw {
        bits = (bits << 8) | u128::from(*b);
    }
    let body: String = (0..16).rev().map(|i| alphabet[((bits >> (i * 5)) & 31) as usize] as char).collect();
    format!("{prefix}{body}")
}

/// The Python that has botocore and moto (set up by tests/run.sh), or None
/// when they are missing and the run does not require them.
pub fn oracle_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("ROLECALL_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import botocore, moto"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(candidate);
    }
    if std::env::var_os("ROLECALL_REQUIRE_ORACLES").is_some() {
        panic!("botocore and moto are required: run bash tests/run.sh, which installs them");
    }
    eprintln!("SKIPPED: botocore/moto not installed (bash tests/run.sh installs them)");
    None
}

/// A child process killed when dropped.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts moto's server on a free loopback port and waits until it answers.
pub fn start_moto(python: &Path) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(python)
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let child = Child(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, format!("http://127.0.0.1:{port}"))
}

/// A validator installed by tests/run.sh under tests/validators/node_modules/.bin
/// (`ajv`, `sarif-multitool`), or None when it is missing and the run does
/// not require it.
pub fn npm_validator(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validators/node_modules/.bin").join(name);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("ROLECALL_REQUIRE_ORACLES").is_some() {
        panic!("{name} is required: run bash tests/run.sh, which installs it");
    }
    eprintln!("SKIPPED: {name} not installed (bash tests/run.sh installs it)");
    None
}

/// `name` on PATH, if it is there.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
