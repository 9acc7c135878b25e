//! The host's default scan: where static AWS keys hide on an instance
//! (system configuration, every user's dotfiles and ~/.aws, systemd units
//! and the files they load, crontabs, cloud-init, container configs and
//! image layers, application directories), resolved inside the host root.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::hostfs::{Files, host_view};
use crate::sources::users::{SHELL_STARTUP, User};
use crate::sources::walk::{Root, RootKind};

/// Directories walked whole on every host.
pub const SYSTEM_DIRS: &[&str] = &[
    "etc",
    "var/spool/cron",
    "var/lib/cloud",
    // The SSM agent: its own credentials (expected) and Run Command scripts.
    "var/lib/amazon/ssm",
    "var/lib/docker/containers",
    "var/lib/containers/storage/overlay-containers",
    "var/lib/rancher/k3s/agent/etc",
    "usr/lib/systemd/system",
    "lib/systemd/system",
    // Container specs of running containers (their environment), and
    // transient units: the only places under /run that are read.
    "run/containerd/io.containerd.runtime.v2.task",
    "run/systemd/system",
    "run/systemd/transient",
    // Logs, rotated (gzip) ones too; not the binary journal.
    "var/log",
];

/// Directories under the ones above that are never entered: systemd's
/// binary journal (its own compression, gigabytes on a busy host).
pub const PRUNED_DIRS: &[&str] = &["var/log/journal"];

/// Application directories walked whole (configurable).
pub const APP_DIRS: &[&str] = &["opt", "srv", "var/www", "usr/local", "app"];

/// Files and directories looked at in every account's home, even a
/// system account's whose home is not walked whole.
pub const HOME_FILES: &[&str] = &[
    ".aws",
    ".bash_history",
    ".zsh_history",
    ".local/share/fish/fish_history",
    ".s3cfg",
    ".boto",
    ".passwd-s3fs",
    ".config/rclone/rclone.conf",
    ".netrc",
    ".docker/config.json",
    ".kube/config",
    ".env",
    ".pam_environment",
];

/// Where unit files live, for `EnvironmentFile=`.
const UNIT_DIRS: &[&str] = &[
    "etc/systemd/system",
    "usr/lib/systemd/system",
    "lib/systemd/system",
    "run/systemd/system",
    "run/systemd/transient",
];

/// What to walk for a host scan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// The whole root filesystem instead of the default locations.
    pub full: bool,
    /// Replaces [`APP_DIRS`] when set (configuration `app_dirs`).
    pub app_dirs: Option<Vec<PathBuf>>,
    /// More directories or files to walk (`--include`, configuration `include`).
    pub include: Vec<PathBuf>,
}

/// `path` as the host sees it (absolute), inside `root`, symlinks resolved
/// inside the root. A path that does not resolve is kept as written, so
/// that the walk reports it absent.
pub fn in_root(files: &Files, root: &Path, path: &Path) -> PathBuf {
    files.resolve(path).unwrap_or_else(|| root.join(path.strip_prefix("/").unwrap_or(path)))
}

/// Every root a host scan walks.
pub fn plan(root: &Path, users: &[User], opts: &PlanOptions, files: &Files) -> Vec<Root> {
    let default = |p: &Path| Root { path: in_root(files, root, p), kind: RootKind::Default };
    let mut roots: BTreeSet<Root> = BTreeSet::new();
    if opts.full {
        roots.insert(Root { path: root.to_path_buf(), kind: RootKind::Default });
    }
    for d in SYSTEM_DIRS.iter().chain(crate::sources::images::LAYER_DIRS) {
        roots.insert(default(&Path::new("/").join(d)));
    }
    match &opts.app_dirs {
        Some(dirs) => roots.extend(dirs.iter().map(|d| default(d))),
        None => roots.extend(APP_DIRS.iter().map(|d| default(&Path::new("/").join(d)))),
    }
    roots.extend(opts.include.iter().map(|d| default(d)));
    for u in users {
        if u.home.as_os_str().is_empty() || u.home == Path::new("/") {
            continue;
        }
        let walk_whole = u.is_person() && (u.home == Path::new("/root") || u.home.components().count() >= 3);
        if walk_whole {
            roots.insert(default(&u.home));
        } else {
            for f in HOME_FILES.iter().chain(SHELL_STARTUP) {
                roots.insert(default(&u.home.join(f)));
            }
        }
    }
    for f in environment_files(root, files) {
        roots.insert(default(&f));
    }
    roots.into_iter().collect()
}

/// The files named by `EnvironmentFile=` in every unit and drop-in, as
/// the host sees them (a leading `-` only says the file may be missing).
pub fn environment_files(root: &Path, files: &Files) -> Vec<PathBuf> {
    let mut out = BTreeSet::new();
    for dir in UNIT_DIRS {
        let Some(dir) = files.resolve(&Path::new("/").join(dir)) else { continue };
        for unit in unit_files(&dir) {
            if let crate::hostfs::FileText::Text(text) = files.read(&host_view(root, &unit)) {
                out.extend(parse_environment_files(&text));
            }
        }
    }
    out.into_iter().collect()
}

/// Unit files and drop-ins (`*.d/*.conf`) in one unit directory.
fn unit_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        let name = e.file_name().to_string_lossy().into_owned();
        if ft.is_dir() && name.ends_with(".d") {
            if let Ok(inner) = std::fs::read_dir(&p) {
                out.extend(inner.flatten().map(|i| i.path()).filter(|i| i.extension().is_some_and(|x| x == "conf")));
            }
        } else if ft.is_file() && name.contains('.') {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// `EnvironmentFile=` values of a unit file (several per line allowed,
/// separated by spaces; `-` prefix stripped; specifiers left alone).
pub fn parse_environment_files(unit: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut in_service = false;
    for line in unit.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_service = l == "[Service]";
            continue;
        }
        if !in_service {
            continue;
        }
        let Some(v) = l.strip_prefix("EnvironmentFile") else { continue };
        let Some(v) = v.trim_start().strip_prefix('=') else { continue };
        for item in v.split_whitespace() {
            let item = item.trim_matches('"').trim_start_matches('-');
            if item.starts_with('/') && !item.contains('%') {
                out.push(PathBuf::from(item));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_file_lines() {
        let unit = "[Unit]\nEnvironmentFile=/not/service\n[Service]\nEnvironmentFile=-/etc/app/env\nEnvironmentFile = /opt/a /opt/b\nEnvironmentFile=%h/x\nEnvironment=A=1\n";
        assert_eq!(parse_environment_files(unit), [PathBuf::from("/etc/app/env"), "/opt/a".into(), "/opt/b".into()]);
    }
}
