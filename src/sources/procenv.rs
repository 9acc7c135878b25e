//! Running processes from `/proc`: each one's environment and what
//! attributes it (pid, command, executable, user, systemd unit, container, start time).

use std::io::Read;
use std::os::unix::ffi::OsStrExt;
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
    /// What this process does, when it is IAM Roles Anywhere's
    /// `aws_signing_helper` serving or refreshing credentials.
    pub signing_helper: Option<SigningHelper>,
    /// For a `java` process: its class path (`-cp`, `-classpath`,
    /// `--class-path`, or the `-jar` file), at most [`MAX_CLASS_PATH`] entries.
    pub java_class_path: Vec<PathBuf>,
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
                kept += p.environ.raw().len()
                    + p.argv.raw().len()
                    + p.java_class_path.iter().map(|e| e.as_os_str().len()).sum::<usize>();
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
        signing_helper: signing_helper(argv.raw(), exe_path.as_deref()),
        java_class_path: java_class_path(argv.raw(), exe_path.as_deref()),
        argv,
        cut,
        exe_path: Some(dir.join("exe")),
        cwd: std::fs::read_link(dir.join("cwd")).ok(),
    };
    Ok(Some((process, environ)))
}

/// A running IAM Roles Anywhere `aws_signing_helper`, by its subcommand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigningHelper {
    /// `serve`: IMDS emulated on loopback at this port (`--port`, else 9911).
    Serve { port: u16 },
    /// `update`: temporary credentials kept fresh in this profile
    /// (`--profile`, else `default`) of its shared credentials file.
    Update { profile: String },
}

/// Class path entries kept per process, at most.
pub const MAX_CLASS_PATH: usize = 1024;

/// The class path a `java` launcher's command line sets (named so in
/// argv[0] or its executable): `-cp`/`-classpath`/`--class-path` (the last
/// one given), or the `-jar` file, which replaces it. Options end at the
/// main class or `-jar`; options that take a separate value skip it.
pub fn java_class_path(cmdline: &[u8], exe: Option<&Path>) -> Vec<PathBuf> {
    let mut args = cmdline.split(|&b| b == 0);
    let Some(program) = args.next() else { return Vec::new() };
    let named = |name: &[u8]| name.rsplit(|&b| b == b'/').next() == Some(b"java".as_slice());
    if !named(program) && !exe.is_some_and(|e| named(e.as_os_str().as_encoded_bytes())) {
        return Vec::new();
    }
    const WITH_VALUE: [&[u8]; 11] = [
        b"-p",
        b"--module-path",
        b"--upgrade-module-path",
        b"--add-modules",
        b"--enable-native-access",
        b"--add-reads",
        b"--add-exports",
        b"--add-opens",
        b"--limit-modules",
        b"--patch-module",
        b"--source",
    ];
    let split = |v: &[u8]| -> Vec<PathBuf> {
        v.split(|&b| b == b':')
            .filter(|e| !e.is_empty())
            .take(MAX_CLASS_PATH)
            .map(|e| PathBuf::from(std::ffi::OsStr::from_bytes(e)))
            .collect()
    };
    let mut class_path = Vec::new();
    while let Some(arg) = args.next() {
        match arg {
            b"-cp" | b"-classpath" | b"--class-path" => class_path = args.next().map(split).unwrap_or_default(),
            b"-jar" => {
                return args.next().map(|j| vec![PathBuf::from(std::ffi::OsStr::from_bytes(j))]).unwrap_or_default();
            }
            a if a.starts_with(b"--class-path=") => class_path = split(&a[b"--class-path=".len()..]),
            a if WITH_VALUE.contains(&a) => {
                args.next();
            }
            b"-m" | b"--module" => break,
            a if !a.starts_with(b"-") => break,
            _ => {}
        }
    }
    class_path
}

/// What `cmdline` (NUL separated) runs, when it is the signing helper: the
/// program (by its name or its executable's) is `aws_signing_helper` and its
/// subcommand `serve` or `update`, with flags as `--flag value` or `--flag=value`.
pub fn signing_helper(cmdline: &[u8], exe: Option<&Path>) -> Option<SigningHelper> {
    let mut args = cmdline.split(|&b| b == 0);
    let program = args.next()?;
    let named = |name: &[u8]| name.rsplit(|&b| b == b'/').next() == Some(b"aws_signing_helper".as_slice());
    if !named(program) && !exe.is_some_and(|e| named(e.as_os_str().as_encoded_bytes())) {
        return None;
    }
    let subcommand = args.next()?;
    let args: Vec<&[u8]> = args.collect();
    // The last value given wins; a flag without its value makes the line unreadable.
    let flag = |name: &[u8]| -> Option<Option<&[u8]>> {
        let mut value = None;
        for (i, arg) in args.iter().enumerate() {
            match arg.strip_prefix(name) {
                Some(b"") => value = Some(*args.get(i + 1)?),
                Some(rest) if rest.starts_with(b"=") => value = Some(&rest[1..]),
                _ => {}
            }
        }
        Some(value)
    };
    let text = |v: &[u8]| std::str::from_utf8(v).ok().map(str::to_string);
    match subcommand {
        b"serve" => match flag(b"--port")? {
            Some(v) => Some(SigningHelper::Serve { port: text(v)?.parse().ok()? }),
            None => Some(SigningHelper::Serve { port: SIGNING_HELPER_PORT }),
        },
        b"update" => {
            let profile = flag(b"--profile")?.map_or(Some("default".to_string()), text)?;
            Some(SigningHelper::Update { profile })
        }
        _ => None,
    }
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
    fn a_java_command_line_gives_its_class_path() {
        let cp = |line: &str, exe: Option<&str>| {
            java_class_path(line.replace(' ', "\0").as_bytes(), exe.map(Path::new))
                .into_iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(cp("/usr/bin/java -Xmx1g -cp a.jar:lib/* Main -cp x.jar", None), ["a.jar", "lib/*"]);
        assert_eq!(cp("java --add-opens java.base/x=ALL -classpath b.jar Main", None), ["b.jar"]);
        assert_eq!(cp("java --class-path=c.jar -jar app.jar -cp y.jar", None), ["app.jar"], "-jar replaces it");
        assert_eq!(cp("java -p mods -m app/Main -cp z.jar", None), Vec::<String>::new());
        assert_eq!(cp("launcher -cp d.jar Main", Some("/opt/jdk/bin/java")), ["d.jar"], "named by its executable");
        assert_eq!(cp("python3 -cp e.jar", Some("/usr/bin/python3")), Vec::<String>::new());
        assert_eq!(cp("java -cp", None), Vec::<String>::new());
    }

    #[test]
    fn the_signing_helpers_work_is_read_from_its_command_line() {
        let helper = |cmdline: &str| signing_helper(cmdline.replace(' ', "\0").as_bytes(), None);
        let serve = |port| Some(SigningHelper::Serve { port });
        assert_eq!(helper("aws_signing_helper serve --certificate c.pem"), serve(9911));
        assert_eq!(helper("/usr/local/bin/aws_signing_helper serve --port 9443"), serve(9443));
        assert_eq!(helper("aws_signing_helper serve --port=8080 --debug"), serve(8080));
        assert_eq!(helper("aws_signing_helper credential-process --port 9443"), None);
        assert_eq!(helper("not_the_helper serve --port 9443"), None);
        assert_eq!(helper("aws_signing_helper serve --port 99999"), None, "no such port");
        assert_eq!(helper("aws_signing_helper serve --port"), None, "no value");
        let update = |profile: &str| Some(SigningHelper::Update { profile: profile.into() });
        assert_eq!(helper("aws_signing_helper update --certificate c.pem"), update("default"));
        assert_eq!(helper("aws_signing_helper update --profile ra --region eu-west-1"), update("ra"));
        assert_eq!(helper("aws_signing_helper update --profile=x --profile=y"), update("y"));
        let exe = Path::new("/opt/rolesanywhere/aws_signing_helper");
        assert_eq!(signing_helper(b"helper\0serve", Some(exe)), serve(9911), "known by its executable");
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
