//! The host's package databases, asked one question: was this file
//! installed by a package and is it unmodified? dpkg's `md5sums` lists are
//! read directly; the rpm database is asked through `rpm` itself (its
//! formats vary), when the host has a root-owned one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::hostfs::{self, MAX_CONFIG_BYTES};

/// Files larger than this are not hashed (packaged text files are small).
const MAX_HASHED: u64 = 64 * 1024 * 1024;
/// rpm is asked about at most this many files per scan, each within this time.
const MAX_RPM_QUERIES: usize = 200;
const RPM_TIMEOUT: Duration = Duration::from_secs(10);

/// Where `rpm` may be run from: root-owned, not writable by others.
const RPM: &[&str] = &["/usr/bin/rpm", "/bin/rpm"];

/// For each of `paths` (as the host sees them) that a package installed
/// and that is unmodified since: the package's name.
pub fn unmodified_packaged(root: &Path, paths: &BTreeSet<PathBuf>) -> BTreeMap<PathBuf, String> {
    let mut out = dpkg(root, paths);
    let rest: BTreeSet<PathBuf> = paths.iter().filter(|p| !out.contains_key(*p)).cloned().collect();
    out.extend(rpm(root, &rest));
    out
}

/// The file's digest with `D`, read safely (at most [`MAX_HASHED`] bytes).
fn digest<D: Digest>(root: &Path, path: &Path) -> Option<Vec<u8>> {
    let real = root.join(path.strip_prefix("/").unwrap_or(path));
    let opened = hostfs::open_untrusted(&real, MAX_HASHED).ok()?;
    let mut hasher = D::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut file = opened.file;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(_) => return None,
        }
    }
    Some(hasher.finalize().to_vec())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// dpkg: `/var/lib/dpkg/info/PACKAGE.md5sums` lists `MD5  path` (no
/// leading `/`) for every file the package installed.
fn dpkg(root: &Path, paths: &BTreeSet<PathBuf>) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    if paths.is_empty() {
        return out;
    }
    let wanted: HashMap<String, &PathBuf> =
        paths.iter().map(|p| (p.to_string_lossy().trim_start_matches('/').to_string(), p)).collect();
    let info = root.join("var/lib/dpkg/info");
    let Ok(entries) = std::fs::read_dir(&info) else { return out };
    let mut lists: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "md5sums")).collect();
    lists.sort();
    for list in lists {
        let Ok(opened) = hostfs::open_untrusted(&list, MAX_CONFIG_BYTES) else { continue };
        let package = list.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        for line in std::io::BufReader::new(opened.file).lines().map_while(Result::ok) {
            let Some((md5, file)) = line.split_once("  ") else { continue };
            let Some(path) = wanted.get(file) else { continue };
            if digest::<Md5>(root, path).is_some_and(|d| hex(&d) == md5.trim()) {
                out.insert((*path).clone(), package.split(':').next().unwrap_or(&package).to_string());
            }
        }
    }
    out
}

/// rpm: `rpm -qf` names the owning package and lists its files' digests
/// (MD5 or SHA-256, by their length).
fn rpm(root: &Path, paths: &BTreeSet<PathBuf>) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    if paths.is_empty() || !root.join("var/lib/rpm").is_dir() {
        return out;
    }
    let Some(rpm) = RPM.iter().map(Path::new).find(|p| trusted_binary(p)) else { return out };
    for path in paths.iter().take(MAX_RPM_QUERIES) {
        let mut cmd = std::process::Command::new(rpm);
        cmd.env_clear().env("PATH", "/usr/bin:/bin").env("LC_ALL", "C");
        if root != Path::new("/") {
            cmd.arg("--root").arg(root);
        }
        // Where RPM-based systems keep it (Debian's rpm would look in ~/.rpmdb).
        cmd.args(["--dbpath", "/var/lib/rpm"]);
        cmd.args(["-qf", "--qf", "%{NAME}\\n[%{FILENAMES}\\t%{FILEDIGESTS}\\n]"]).arg(path);
        let Some(text) = run_bounded(cmd) else { continue };
        let mut lines = text.lines();
        let Some(package) = lines.next().filter(|n| !n.contains(' ')) else { continue };
        let wanted = path.to_string_lossy();
        let Some(expected) = lines.filter_map(|l| l.split_once('\t')).find(|(f, _)| *f == wanted).map(|(_, d)| d)
        else {
            continue;
        };
        let actual = match expected.len() {
            32 => digest::<Md5>(root, path),
            64 => digest::<Sha256>(root, path),
            _ => None,
        };
        if actual.is_some_and(|d| hex(&d) == expected) {
            out.insert(path.clone(), package.to_string());
        }
    }
    out
}

/// A program rolecall may run as root: a regular file owned by root that
/// no one else may write.
fn trusted_binary(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.uid() == 0 && m.mode() & 0o022 == 0)
}

/// Runs `cmd` with no input, killing it after [`RPM_TIMEOUT`]; its stdout
/// when it succeeded.
fn run_bounded(mut cmd: std::process::Command) -> Option<String> {
    use std::process::Stdio;
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = (&mut stdout).take(16 << 20).read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().ok()? {
            break s;
        }
        if start.elapsed() > RPM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = reader.join().ok()?;
    status.success().then_some(text)
}

/// pip installs the AWS CLI v1 and botocore with their example and test
/// data, which no package database knows: key IDs alone there are theirs.
pub fn vendor_tree(path: &Path) -> Option<&'static str> {
    let p = path.to_string_lossy();
    if p.contains("/awscli/examples/") || p.contains("/awscli/topics/") {
        Some("awscli (its examples)")
    } else if p.contains("/botocore/data/") || p.contains("/botocore/docs/") {
        Some("botocore (its service data)")
    } else {
        None
    }
}
