//! Running processes from `/proc`: each one's environment and what
//! attributes it (pid, command, executable, user, systemd unit, container, start time).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::coverage::{Coverage, GapReason};
use crate::credential;
use crate::environ::{Environ, MAX_ENVIRON};
use crate::escape;
use crate::location::ProcessInfo;

/// A command line is cut to this many characters in reports.
const MAX_COMMAND: usize = 300;

/// A process, and what the SDK models need of its environment and command line.
#[derive(Debug)]
pub struct Process {
    pub info: ProcessInfo,
    /// Only the variables an SDK reads ([`Environ::sdk_view`]).
    pub environ: Environ,
    /// The command line's arguments, NUL-separated as in `/proc/<pid>/cmdline`;
    /// kept only when it sets `-Daws.` system properties.
    pub argv: Environ,
    /// What was longer than [`MAX_ENVIRON`] and read only that far.
    pub cut: Vec<&'static str>,
    /// The port this process serves IMDS on, when it is IAM Roles Anywhere's
    /// `aws_signing_helper serve` (see [`signing_helper_port`]).
    pub signing_helper_port: Option<u16>,
    /// The executable's path, readable through `/proc/<pid>/exe`.
    pub exe_path: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
}

/// Bounds on reading processes.
#[derive(Clone, Copy, Debug)]
pub struct ProcessLimits {
    /// Stop reading processes when this instant passes.
    pub deadline: Option<std::time::Instant>,
    /// Bytes of environments and command lines kept for the chains, all
    /// processes together (what a visitor needs whole it sees whole).
    pub max_kept: usize,
}

impl Default for ProcessLimits {
    fn default() -> ProcessLimits {
        ProcessLimits { deadline: None, max_kept: 64 << 20 }
    }
}

/// Reads every process under `proc_root` except `skip` (rolecall itself),
/// one at a time: `visit` sees each one with its whole environment and
/// command line, and what is returned keeps only what the SDK models need
/// (the SDKs' variables; a command line only if it sets `-Daws.` system
/// properties), so memory stays bounded whatever the processes hold.
/// Unreadable environments are coverage gaps; processes that exit while
/// being read are skipped.
pub fn list(
    proc_root: &Path,
    skip: u32,
    users: &dyn Fn(u32) -> Option<String>,
    limits: ProcessLimits,
    coverage: &mut Coverage,
    visit: &mut dyn FnMut(&ProcessInfo, &Environ, &Environ),
) -> Vec<Process> {
    let entries = match std::fs::read_dir(proc_root) {
        Ok(e) => e,
        Err(e) => {
            coverage.gap(escape::path(proc_root), GapReason::of(&e), e);
            return Vec::new();
        }
    };
    let boot = boot_time(proc_root);
    let mut pids: Vec<u32> = entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    pids.sort_unstable();
    let mut out = Vec::new();
    let mut kept = 0usize;
    let pids: Vec<u32> = pids.into_iter().filter(|p| *p != skip).collect();
    for (i, &pid) in pids.iter().enumerate() {
        if limits.deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            let detail = format!("{} processes not read: --max-seconds reached", pids.len() - i);
            coverage.gap("processes".into(), GapReason::TimeLimit, detail);
            break;
        }
        let dir = proc_root.join(pid.to_string());
        match read_process(&dir, pid, boot, users) {
            Ok(Some((mut p, environ))) => {
                for what in &p.cut {
                    let detail = format!("{what} longer than {} MiB: the rest was not read", MAX_ENVIRON >> 20);
                    coverage.gap(format!("pid {pid}"), GapReason::TooLarge, detail);
                }
                visit(&p.info, &environ, &p.argv);
                p.environ = environ.sdk_view();
                if memchr::memmem::find(p.argv.raw(), b"-Daws.").is_none() {
                    p.argv = Environ::default();
                }
                kept += p.environ.raw().len() + p.argv.raw().len();
                if kept > limits.max_kept {
                    let detail = format!("more than {} MiB of SDK settings in environments", limits.max_kept >> 20);
                    coverage.gap(format!("pid {pid}"), GapReason::TooLarge, detail);
                    continue;
                }
                out.push(p);
            }
            Ok(None) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH) => {}
            Err(e) => coverage.gap(format!("pid {pid}"), GapReason::of(&e), format!("environment not readable: {e}")),
        }
    }
    out
}

/// None for a process without an environment (a kernel thread, a zombie);
/// the process and its whole environment otherwise.
fn read_process(
    dir: &Path,
    pid: u32,
    boot: Option<u64>,
    users: &dyn Fn(u32) -> Option<String>,
) -> std::io::Result<Option<(Process, Environ)>> {
    let status = std::fs::read_to_string(dir.join("status"))?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(u32::MAX);
    let mut raw = Vec::new();
    std::fs::File::open(dir.join("environ"))?.take(MAX_ENVIRON as u64 + 1).read_to_end(&mut raw)?;
    let mut cut = Vec::new();
    if raw.len() > MAX_ENVIRON {
        cut.push("environment");
    }
    let environ = Environ::from_raw(raw);
    if environ.is_empty() {
        return Ok(None);
    }
    let exe_path = std::fs::read_link(dir.join("exe")).ok();
    let mut cmdline = Vec::new();
    if let Ok(f) = std::fs::File::open(dir.join("cmdline")) {
        f.take(MAX_ENVIRON as u64 + 1).read_to_end(&mut cmdline)?;
    }
    if cmdline.len() > MAX_ENVIRON {
        cut.push("command line");
    }
    let argv = Environ::from_raw(cmdline);
    // Only the program and its arguments with every secret replaced by its fingerprint.
    let joined = zeroize::Zeroizing::new(
        argv.raw().split(|&b| b == 0).filter(|a| !a.is_empty()).collect::<Vec<_>>().join(&b' '),
    );
    let mut command = credential::redact(&escape::bytes(&joined));
    if command.is_empty() {
        command = std::fs::read_to_string(dir.join("comm")).map(|c| format!("[{}]", c.trim())).unwrap_or_default();
    }
    if command.chars().count() > MAX_COMMAND {
        command = command.chars().take(MAX_COMMAND).collect::<String>() + "...";
    }
    let cgroup = std::fs::read_to_string(dir.join("cgroup")).unwrap_or_default();
    let (unit, container) = parse_cgroup(&cgroup);
    let start_time = boot.and_then(|b| start_time(dir, b));
    let process = Process {
        info: ProcessInfo {
            pid,
            command,
            exe: exe_path.as_deref().map(|p| credential::redact(&escape::path(p))),
            uid,
            user: users(uid),
            unit,
            container,
            start_time,
        },
        environ: Environ::default(),
        signing_helper_port: signing_helper_port(argv.raw(), exe_path.as_deref()),
        argv,
        cut,
        exe_path: Some(dir.join("exe")),
        cwd: std::fs::read_link(dir.join("cwd")).ok(),
    };
    Ok(Some((process, environ)))
}

/// The port of IAM Roles Anywhere's IMDS emulator, when `cmdline` (NUL
/// separated) runs it: the program (by its name or its executable's) is
/// `aws_signing_helper`, its subcommand `serve`, and the port that of
/// `--port N` or `--port=N`, else the helper's default, 9911.
pub fn signing_helper_port(cmdline: &[u8], exe: Option<&Path>) -> Option<u16> {
    let mut args = cmdline.split(|&b| b == 0);
    let program = args.next()?;
    let named = |name: &[u8]| name.rsplit(|&b| b == b'/').next() == Some(b"aws_signing_helper".as_slice());
    if !named(program) && !exe.is_some_and(|e| named(e.as_os_str().as_encoded_bytes())) {
        return None;
    }
    if args.next()? != b"serve" {
        return None;
    }
    let mut port = SIGNING_HELPER_PORT;
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix(b"--port") {
            Some(b"") => args.next(),
            Some(rest) => rest.strip_prefix(b"="),
            None => continue,
        };
        port = std::str::from_utf8(value?).ok()?.parse().ok()?;
    }
    Some(port)
}

/// The port `aws_signing_helper serve` listens on unless told otherwise.
pub const SIGNING_HELPER_PORT: u16 = 9911;

fn boot_time(proc_root: &Path) -> Option<u64> {
    let stat = std::fs::read_to_string(proc_root.join("stat")).ok()?;
    stat.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// Field 22 of `/proc/<pid>/stat` (start time in clock ticks after boot).
fn start_time(dir: &Path, boot: u64) -> Option<String> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = after_comm.split_whitespace().nth(19)?.parse().ok()?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??.max(1) as u64;
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(boot + ticks / hz);
    Some(humantime::format_rfc3339_seconds(at).to_string())
}

/// The systemd unit and container ID in `/proc/<pid>/cgroup`: the unified
/// (`0::`) or systemd (`name=systemd`) hierarchy's path.
pub fn parse_cgroup(text: &str) -> (Option<String>, Option<String>) {
    let path = text
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, ctrl, path) = (parts.next()?, parts.next()?, parts.next()?);
            (ctrl.is_empty() || ctrl == "name=systemd").then_some(path)
        })
        .next()
        .unwrap_or("");
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mut container = None;
    for (i, part) in parts.iter().enumerate() {
        let id = part
            .strip_suffix(".scope")
            .and_then(|p| ["docker-", "cri-containerd-", "crio-", "libpod-"].iter().find_map(|pre| p.strip_prefix(pre)))
            .or_else(|| (i > 0 && ["docker", "libpod_parent"].contains(&parts[i - 1])).then_some(*part))
            .filter(|id| id.len() >= 12 && id.bytes().all(|b| b.is_ascii_hexdigit()));
        if let Some(id) = id {
            container = Some(id.to_string());
        }
    }
    let unit = parts
        .iter()
        .rev()
        .find(|p| p.ends_with(".service"))
        .or_else(|| parts.iter().rev().find(|p| p.ends_with(".scope")))
        .map(|p| p.to_string());
    (unit, container)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_helpers_serve_port_is_read_from_its_command_line() {
        let port = |cmdline: &str| signing_helper_port(cmdline.replace(' ', "\0").as_bytes(), None);
        assert_eq!(port("aws_signing_helper serve --certificate c.pem"), Some(9911));
        assert_eq!(port("/usr/local/bin/aws_signing_helper serve --port 9443"), Some(9443));
        assert_eq!(port("aws_signing_helper serve --port=8080 --debug"), Some(8080));
        assert_eq!(port("aws_signing_helper credential-process --port 9443"), None);
        assert_eq!(port("not_the_helper serve --port 9443"), None);
        assert_eq!(port("aws_signing_helper serve --port 99999"), None, "no such port");
        let exe = Path::new("/opt/rolesanywhere/aws_signing_helper");
        assert_eq!(signing_helper_port(b"helper\0serve", Some(exe)), Some(9911), "known by its executable");
    }

    #[test]
    fn cgroup_units_and_containers() {
        assert_eq!(parse_cgroup("0::/system.slice/app.service\n"), (Some("app.service".into()), None));
        assert_eq!(
            parse_cgroup("12:pids:/x\n1:name=systemd:/system.slice/nginx.service\n"),
            (Some("nginx.service".into()), None)
        );
        let id = "a".repeat(64);
        assert_eq!(
            parse_cgroup(&format!("0::/system.slice/docker-{id}.scope\n")),
            (Some(format!("docker-{id}.scope")), Some(id.clone()))
        );
        assert_eq!(parse_cgroup(&format!("4:memory:/docker/{id}\n0::/docker/{id}\n")).1, Some(id.clone()));
        let k8s = format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-{id}.scope"
        );
        assert_eq!(parse_cgroup(&k8s).1, Some(id));
        assert_eq!(
            parse_cgroup("0::/user.slice/user-1000.slice/session-3.scope\n"),
            (Some("session-3.scope".into()), None)
        );
        assert_eq!(parse_cgroup("garbage"), (None, None));
    }

    #[test]
    fn reads_this_process() {
        let mut cov = Coverage::default();
        let me = std::process::id();
        let procs = list(Path::new("/proc"), 0, &|_| None, ProcessLimits::default(), &mut cov, &mut |_, _, _| {});
        let p = procs.iter().find(|p| p.info.pid == me).expect("this test process");
        assert!(p.info.start_time.is_some());
        assert!(p.info.exe.is_some());
    }
}
