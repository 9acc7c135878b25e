//! Accounts from the host's `/etc/passwd` (never `$HOME`: SSM Run Command
//! runs with none), and the login environment a shell would give each one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::environ::Environ;

/// Largest passwd file read.
const MAX_PASSWD: u64 = crate::hostfs::MAX_CONFIG_BYTES;

/// One account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub uid: u32,
    /// The home directory as the host sees it (not re-rooted).
    pub home: PathBuf,
    pub shell: String,
}

impl User {
    /// Root and regular accounts (UID 1000 and up, or under /home) get their
    /// whole home scanned; system accounts only their dotfiles and ~/.aws.
    pub fn is_person(&self) -> bool {
        let nologin = self.shell.ends_with("nologin") || self.shell.ends_with("/false");
        self.uid == 0 || (self.uid >= 1000 && self.uid < 60000 && !nologin) || self.home.starts_with("/home")
    }
}

/// Parses passwd lines `name:x:uid:gid:gecos:home:shell`; malformed lines are skipped.
pub fn parse_passwd(text: &str) -> Vec<User> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('+') && !l.starts_with('-'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 || f[0].is_empty() {
                return None;
            }
            Some(User { name: f[0].into(), uid: f[2].parse().ok()?, home: PathBuf::from(f[5]), shell: f[6].into() })
        })
        .collect()
}

/// The accounts of the host under `root`, or an error saying why none could be read.
pub fn load(root: &Path) -> Result<Vec<User>, String> {
    let path = root.join("etc/passwd");
    let opened = crate::hostfs::open_untrusted(&path, MAX_PASSWD).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    use std::io::Read;
    opened.file.take(MAX_PASSWD).read_to_end(&mut bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(parse_passwd(&String::from_utf8_lossy(&bytes)))
}

/// Name of each UID (the first account with it).
pub fn names(users: &[User]) -> BTreeMap<u32, String> {
    let mut m = BTreeMap::new();
    for u in users {
        m.entry(u.uid).or_insert_with(|| u.name.clone());
    }
    m
}

/// `export NAME=value`, `NAME=value`, `set -x NAME value` (fish) and
/// `setenv NAME value` (csh) lines for AWS_* variables, with simple quotes
/// removed. An approximation of what a login shell would set: no
/// conditionals or command substitution are evaluated.
pub fn aws_exports(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        let l = l.strip_prefix("export ").or_else(|| l.strip_prefix("declare -x ")).unwrap_or(l).trim_start();
        let (name, value) = if let Some(rest) = l.strip_prefix("set -x ").or_else(|| l.strip_prefix("set -gx ")) {
            match rest.trim().split_once(char::is_whitespace) {
                Some((n, v)) => (n, v.trim()),
                None => continue,
            }
        } else if let Some(rest) = l.strip_prefix("setenv ") {
            match rest.trim().split_once(char::is_whitespace) {
                Some((n, v)) => (n, v.trim()),
                None => continue,
            }
        } else {
            match l.split_once('=') {
                Some((n, v)) => (n, v.trim()),
                None => continue,
            }
        };
        if !name.starts_with("AWS_") || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let value = value.split(" #").next().unwrap_or(value).trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        if value.contains('$') || value.contains('`') {
            continue;
        }
        out.push((name.to_string(), value.to_string()));
    }
    out
}

/// Every user startup file any shell reads, relative to the home.
pub const SHELL_STARTUP: &[&str] = &[
    ".profile",
    ".bash_profile",
    ".bash_login",
    ".bashrc",
    ".zshenv",
    ".zprofile",
    ".zshrc",
    ".config/fish/config.fish",
];

/// The files a login shell of this kind reads, in order: system files
/// relative to the root (`*` for the `/etc/profile.d/*.sh` scripts), then
/// the user's, relative to the home. PAM applies `/etc/environment` to every
/// login session first.
fn startup_files(shell: &str) -> (&'static [&'static str], &'static [&'static str]) {
    let name = shell.rsplit('/').next().unwrap_or(shell);
    match name {
        "bash" => (
            &["etc/environment", "etc/profile", "*", "etc/bash.bashrc", "etc/bashrc"],
            &[".bash_profile", ".bash_login", ".profile", ".bashrc"],
        ),
        "zsh" => (
            &["etc/environment", "etc/zshenv", "etc/zsh/zshenv", "etc/zprofile", "etc/zsh/zprofile"],
            &[".zshenv", ".zprofile", ".zshrc"],
        ),
        "fish" => (&["etc/environment", "etc/fish/config.fish"], &[".config/fish/config.fish"]),
        _ => (&["etc/environment", "etc/profile", "*"], &[".profile"]),
    }
}

/// A user's login environment: HOME, USER and LOGNAME, then the AWS_*
/// variables that the system's and the user's startup files export, for
/// the user's own shell.
pub fn login_environ(root: &Path, user: &User, read: &dyn Fn(&Path) -> Option<String>) -> Environ {
    let mut vars: Vec<(String, String)> = vec![
        ("HOME".into(), user.home.display().to_string()),
        ("USER".into(), user.name.clone()),
        ("LOGNAME".into(), user.name.clone()),
    ];
    let (system, own) = startup_files(&user.shell);
    let mut files: Vec<PathBuf> = Vec::new();
    for f in system {
        if *f != "*" {
            files.push(root.join(f));
        } else if let Ok(dir) = std::fs::read_dir(root.join("etc/profile.d")) {
            let mut more: Vec<PathBuf> = dir
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "sh"))
                .collect();
            more.sort();
            files.extend(more);
        }
    }
    let home = root.join(user.home.strip_prefix("/").unwrap_or(&user.home));
    files.extend(own.iter().map(|f| home.join(f)));
    for f in files {
        if let Some(text) = read(&f) {
            vars.extend(aws_exports(&text));
        }
    }
    Environ::from_pairs(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd() {
        let users = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\nbad line\n# c\napp:x:1001:1001::/srv/app:/bin/sh\nsvc:x:998:998::/var/lib/svc:/usr/sbin/nologin\n",
        );
        assert_eq!(users.len(), 3);
        assert!(users[0].is_person() && users[1].is_person() && !users[2].is_person());
        assert_eq!(users[1].home, PathBuf::from("/srv/app"));
    }

    #[test]
    fn exports() {
        let text = "export AWS_PROFILE=prod\nAWS_REGION='eu-west-1' # comment\nset -x AWS_DEFAULT_PROFILE dev\nsetenv AWS_CONFIG_FILE /etc/aws.cfg\nexport PATH=$PATH:/x\nexport AWS_X=$(cat f)\nexport NOT_AWS=1\n";
        assert_eq!(
            aws_exports(text),
            vec![
                ("AWS_PROFILE".to_string(), "prod".to_string()),
                ("AWS_REGION".into(), "eu-west-1".into()),
                ("AWS_DEFAULT_PROFILE".into(), "dev".into()),
                ("AWS_CONFIG_FILE".into(), "/etc/aws.cfg".into()),
            ]
        );
    }
}
