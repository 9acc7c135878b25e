//! Where a credential was seen, and who a process is: the attribution every
//! layer from the sources to the reports shares.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// One process, as reports name it. Every string in it came from the host
/// and has been escaped and redacted (no secret can pass) when it was read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
pub struct ProcessInfo {
    pub pid: u32,
    /// The command line: the program, then its arguments with every
    /// secret-shaped value replaced by `<secret sha256:…>`, escaped and cut
    /// to 300 characters.
    pub command: String,
    /// The executable, escaped; " (deleted)" when replaced since it started.
    pub exe: Option<String>,
    pub uid: u32,
    pub user: Option<String>,
    /// The systemd unit (service or scope) the process belongs to.
    pub unit: Option<String>,
    /// The container ID (Docker, containerd, CRI-O, Podman), when containerised.
    pub container: Option<String>,
    /// When the process started (RFC 3339, UTC).
    pub start_time: Option<String>,
}

impl ProcessInfo {
    /// The systemd unit, else the executable, else `pid N`.
    pub fn service(&self) -> String {
        self.unit.clone().or_else(|| self.exe.clone()).unwrap_or_else(|| format!("pid {}", self.pid))
    }
}

/// Where a finding was seen.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    /// A file; line and column are 1-based, the column counted in bytes.
    File { path: PathBuf, line: u64, column: u64 },
    /// A running process's environment variable (the first process seen;
    /// `Finding::processes` lists them all). The name is escaped and redacted.
    Process { process: ProcessInfo, variable: String },
    /// An argument of a running process's command line (0 is the program).
    CommandLine { process: ProcessInfo, argument: u32 },
    /// The instance's user data, as IMDS serves it to every local process:
    /// `part` 0 is the whole, N the Nth part of a MIME multipart document;
    /// line and column count in the decoded part.
    ImdsUserData { part: u32, line: u64, column: u64 },
}

impl Location {
    /// The part of the location that stays put across runs: the path, or
    /// for a process what survives a restart (unit or executable, user,
    /// container, variable or argument), never a line number or a pid.
    pub fn identity(&self) -> Vec<u8> {
        match self {
            Location::File { path, .. } => path.as_os_str().as_encoded_bytes().to_vec(),
            Location::Process { process, variable } => process_identity(process, variable),
            Location::CommandLine { process, argument } => process_identity(process, &format!("argv[{argument}]")),
            Location::ImdsUserData { part, .. } => format!("imds:user-data\0{part}").into_bytes(),
        }
    }

    /// The file this location is in, if it is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Location::File { path, .. } => Some(path),
            Location::Process { .. } | Location::CommandLine { .. } | Location::ImdsUserData { .. } => None,
        }
    }

    /// One line for people: `path:line`, `VAR of pid N (command)` or
    /// `argument N of pid P (command)`.
    pub fn place(&self) -> String {
        match self {
            Location::File { path, line, .. } => format!("{}:{line}", crate::escape::path(path)),
            Location::Process { process, variable } => {
                format!("{variable} of pid {} ({})", process.pid, process.command)
            }
            Location::CommandLine { process, argument } => {
                format!("argument {argument} of pid {} ({})", process.pid, process.command)
            }
            Location::ImdsUserData { part: 0, line, .. } => format!("imds:user-data:{line}"),
            Location::ImdsUserData { part, line, .. } => format!("imds:user-data (part {part}):{line}"),
        }
    }

    /// What stays put across restarts, for people: the path, or the
    /// service (or executable) and the variable or argument.
    pub fn stable_place(&self) -> String {
        match self {
            Location::File { path, .. } => crate::escape::path(path),
            Location::Process { process, variable } => format!("{} {variable}", process.service()),
            Location::CommandLine { process, argument } => format!("{} argv[{argument}]", process.service()),
            Location::ImdsUserData { .. } => "imds:user-data".to_string(),
        }
    }

    /// The process this location is in, if it is one.
    pub fn process(&self) -> Option<&ProcessInfo> {
        match self {
            Location::File { .. } | Location::ImdsUserData { .. } => None,
            Location::Process { process, .. } | Location::CommandLine { process, .. } => Some(process),
        }
    }
}

fn process_identity(p: &ProcessInfo, what: &str) -> Vec<u8> {
    let who = p.unit.as_deref().or(p.exe.as_deref()).unwrap_or("");
    let container = p.container.as_deref().unwrap_or("");
    let user = p.user.clone().unwrap_or_else(|| p.uid.to_string());
    // Kept as it was before command lines were a source, so that baselines stay valid.
    format!("process\0{who}\0{user}\0{container}\0{what}").into_bytes()
}
