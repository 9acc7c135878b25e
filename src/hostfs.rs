//! Reading the host without being steered by it: every file is opened as a
//! descriptor that is checked (no symlink anywhere on its path, a regular
//! file, not on a pseudo filesystem) before a byte is read, and the files an
//! SDK would read are found the way the process would find them, inside the
//! host root.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

/// The largest file read whole as configuration: shared config and
/// credentials files, unit files, passwd (what an SDK or a login reads).
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// Pseudo filesystems that hold no files worth scanning and can block or
/// explode a reader (statfs magic numbers, linux/magic.h).
const PSEUDO_FS: &[u64] = &[
    0x9fa0,      // proc
    0x6265_6572, // sysfs
    0x1373,      // devfs
    0x1cd1,      // devpts
    0x2762_8e55, // cgroup
    0x6367_7270, // cgroup2
    0x6462_6720, // debugfs
    0x7472_6163, // tracefs
    0x7363_6673, // securityfs
    0xcafe_4a11, // bpf
    0x6165_676c, // pstore
    0x6265_6570, // configfs
    0x6573_5546, // fusectl
    0x1980_0202, // mqueue
    0x9584_58f6, // hugetlbfs
    0x4249_4e4d, // binfmt_misc
    0xde5e_81e4, // efivarfs
    0xf97c_ff8c, // selinuxfs
    0x6e73_6673, // nsfs
    0x0187,      // autofs
];

/// Whether `path` is on a pseudo filesystem (by `statfs`).
pub fn is_pseudo_filesystem(path: &Path) -> bool {
    nix::sys::statfs::statfs(path).is_ok_and(|s| PSEUDO_FS.contains(&(s.filesystem_type().0 as u64)))
}

fn is_pseudo_fd(fd: impl AsFd) -> bool {
    nix::sys::statfs::fstatfs(fd).is_ok_and(|s| PSEUDO_FS.contains(&(s.filesystem_type().0 as u64)))
}

/// Why a path was not opened for reading.
#[derive(Debug)]
pub enum OpenError {
    /// Not a regular file when opened (a FIFO, socket, device or directory).
    NotRegular,
    /// A symbolic link on the path, where none may be (swapped in after it was listed).
    Symlink,
    /// On a pseudo filesystem (`/proc`, `/sys`, ...).
    PseudoFilesystem,
    /// Larger than the cap for this kind of file.
    TooLarge {
        size: u64,
        cap: u64,
    },
    Io(io::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::NotRegular => f.write_str("not a regular file"),
            OpenError::Symlink => f.write_str("a symbolic link on its path"),
            OpenError::PseudoFilesystem => f.write_str("on a pseudo filesystem"),
            OpenError::TooLarge { size, cap } => write!(f, "{size} bytes, larger than the {cap}-byte cap"),
            OpenError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// A regular file opened for reading, and what its descriptor said.
#[derive(Debug)]
pub struct Opened {
    pub file: File,
    /// Size when opened.
    pub size: u64,
}

/// Opens a regular file for reading without being steered or causing side
/// effects. The path is resolved with no symlink in any component
/// (`openat2` with `RESOLVE_NO_SYMLINKS`; on older kernels `O_PATH` and the
/// kernel's own name for the descriptor must match the path), to an
/// `O_PATH` descriptor that opens nothing; only once `fstat` on it says
/// "regular file" is it reopened for reading (through `/proc/self/fd`, the
/// same inode, with `O_NONBLOCK`, `O_NOCTTY` and `O_NOATIME` where allowed).
/// A FIFO, socket or device is never opened.
pub fn open_regular(path: &Path) -> Result<Opened, OpenError> {
    let fd = open_path_descriptor(path)?;
    let opened = reopen_checked(fd, path)?;
    Ok(opened)
}

/// [`open_regular`], then refuses files on a pseudo filesystem or larger
/// than `cap`: for files that an unprivileged user can name (a process's
/// `AWS_CONFIG_FILE`, a user's symlink, a unit's `EnvironmentFile=`).
pub fn open_untrusted(path: &Path, cap: u64) -> Result<Opened, OpenError> {
    let opened = open_regular(path)?;
    if is_pseudo_fd(&opened.file) {
        return Err(OpenError::PseudoFilesystem);
    }
    if opened.size > cap {
        return Err(OpenError::TooLarge { size: opened.size, cap });
    }
    Ok(opened)
}

/// [`open_untrusted`] for `rel`, resolved beneath the directory `root` with
/// no symlink on the way (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`): how a
/// container's files are read through its `/proc/<pid>/root`, a magic link
/// that `root` was opened through on purpose.
pub fn open_untrusted_beneath(root: &OwnedFd, rel: &Path, cap: u64) -> Result<Opened, OpenError> {
    let flags = OFlag::O_PATH | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW;
    let how = OpenHow::new().flags(flags).resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_BENEATH);
    let fd = match nix::fcntl::openat2(root, rel, how) {
        Ok(fd) => fd,
        // Without openat2 only the last component is checked.
        Err(Errno::ENOSYS | Errno::EPERM) => {
            nix::fcntl::openat(root, rel, flags, nix::sys::stat::Mode::empty()).map_err(|e| OpenError::Io(e.into()))?
        }
        Err(Errno::ELOOP | Errno::EXDEV) => return Err(OpenError::Symlink),
        Err(e) => return Err(OpenError::Io(e.into())),
    };
    let opened = reopen_checked(fd, rel)?;
    if is_pseudo_fd(&opened.file) {
        return Err(OpenError::PseudoFilesystem);
    }
    if opened.size > cap {
        return Err(OpenError::TooLarge { size: opened.size, cap });
    }
    Ok(opened)
}

/// [`open_regular`] through the kernel's link `/proc/<pid>/exe` to a
/// process's executable (which may be deleted, or in another mount
/// namespace, and is reachable only through that link): the one magic link
/// rolecall follows.
pub fn open_process_exe(path: &Path) -> Result<Opened, OpenError> {
    let fd = nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .map_err(|e| OpenError::Io(e.into()))?;
    reopen_checked(fd, path)
}

fn open_path_descriptor(path: &Path) -> Result<OwnedFd, OpenError> {
    let flags = OFlag::O_PATH | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW;
    let how = OpenHow::new().flags(flags).resolve(ResolveFlag::RESOLVE_NO_SYMLINKS);
    match nix::fcntl::openat2(AT_FDCWD, path, how) {
        Ok(fd) => Ok(fd),
        // No openat2 (before Linux 5.6), or a seccomp filter refusing it.
        Err(Errno::ENOSYS | Errno::EPERM) => open_path_descriptor_by_name(path),
        Err(Errno::ELOOP) => Err(OpenError::Symlink),
        Err(e) => Err(OpenError::Io(e.into())),
    }
}

/// Without `openat2`: an `O_PATH | O_NOFOLLOW` descriptor whose name, as
/// the kernel tells it, must be `path` itself: a symlink in any directory
/// component would have led somewhere else.
pub(crate) fn open_path_descriptor_by_name(path: &Path) -> Result<OwnedFd, OpenError> {
    let flags = OFlag::O_PATH | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW;
    let fd = nix::fcntl::open(path, flags, nix::sys::stat::Mode::empty()).map_err(|e| match e {
        Errno::ELOOP => OpenError::Symlink,
        e => OpenError::Io(e.into()),
    })?;
    let expected = normalize(&std::path::absolute(path).map_err(OpenError::Io)?);
    match std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) {
        Ok(actual) if actual == expected => Ok(fd),
        Ok(_) => Err(OpenError::Symlink),
        // No /proc to ask: only the last component was checked.
        Err(_) => Ok(fd),
    }
}

/// `path` with `.` and `..` components resolved lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// Checks that the `O_PATH` descriptor is a regular file, then opens the same
/// inode for reading.
fn reopen_checked(fd: OwnedFd, path: &Path) -> Result<Opened, OpenError> {
    let st = nix::sys::stat::fstat(&fd).map_err(|e| OpenError::Io(e.into()))?;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => {}
        // O_PATH | O_NOFOLLOW on a final symlink gives the link itself.
        libc::S_IFLNK => return Err(OpenError::Symlink),
        _ => return Err(OpenError::NotRegular),
    }
    let base = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    // O_NOATIME is refused (EPERM) on files we do not own unless we hold CAP_FOWNER.
    let noatime = |open: &dyn Fn(OFlag) -> nix::Result<OwnedFd>, flags: OFlag| match open(flags | OFlag::O_NOATIME) {
        Err(Errno::EPERM) => open(flags),
        other => other,
    };
    let number = fd.as_raw_fd().to_string();
    // Through a descriptor of /proc/self/fd kept open: one name to look up
    // where the path /proc/self/fd/N costs four, for every file of the walk.
    let reopened = match own_fd_directory() {
        Some(dir) => noatime(&|f| nix::fcntl::openat(dir, number.as_str(), f, Mode::empty()), base),
        None => Err(Errno::ENOENT),
    };
    match reopened {
        // The magic link is the descriptor's own inode: what fstat said holds.
        Ok(fd) => Ok(Opened { file: File::from(fd), size: st.st_size as u64 }),
        // No /proc: open the name again (never following a final symlink)
        // and check that it is still the same inode.
        Err(Errno::ENOENT) => {
            let by_name = |f: OFlag| nix::fcntl::open(path, f, Mode::empty());
            let file = File::from(noatime(&by_name, base | OFlag::O_NOFOLLOW).map_err(|e| OpenError::Io(e.into()))?);
            let meta = file.metadata().map_err(OpenError::Io)?;
            if meta.dev() != st.st_dev as u64 || meta.ino() != st.st_ino as u64 || !meta.is_file() {
                return Err(OpenError::NotRegular);
            }
            Ok(Opened { file, size: meta.size() })
        }
        Err(e) => Err(OpenError::Io(e.into())),
    }
}

/// This process's `/proc/self/fd`, opened once (`O_PATH`), if there is a /proc.
fn own_fd_directory() -> Option<&'static OwnedFd> {
    static DIR: std::sync::OnceLock<Option<OwnedFd>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        nix::fcntl::open("/proc/self/fd", flags, Mode::empty()).ok()
    })
    .as_ref()
}

/// `path` (inside `root`) as the host sees it: `/etc/x` for `ROOT/etc/x`.
pub fn host_view(root: &Path, path: &Path) -> PathBuf {
    match path.strip_prefix(root) {
        Ok(rest) if root != Path::new("/") => Path::new("/").join(rest),
        _ => path.to_path_buf(),
    }
}

/// A file as an SDK would find it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileText {
    /// Absent, or not a regular file (`os.path.isfile` is false).
    Missing,
    /// Not readable, not UTF-8, too large or on a pseudo filesystem; the reason says which.
    Unreadable(String),
    /// Shared: every reader of the same file gets the one copy.
    Text(std::sync::Arc<str>),
}

/// Reads the files an SDK would read, as the process sees them: inside the
/// host root, following symlinks the way `open` would (re-rooted), then
/// opened with [`open_untrusted`] (regular files only, at most
/// [`MAX_CONFIG_BYTES`], not on a pseudo filesystem). Results are cached per path.
pub struct Files {
    root: PathBuf,
    /// The root, opened (through a magic link such as `/proc/<pid>/root` on
    /// purpose) when it is not `/`: files are opened beneath it.
    root_fd: Option<OwnedFd>,
    cache: Mutex<HashMap<PathBuf, FileText>>,
}

impl Files {
    pub fn new(root: &Path) -> Files {
        let root_fd = (root != Path::new("/"))
            .then(|| {
                let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
                nix::fcntl::open(root, flags, nix::sys::stat::Mode::empty()).ok()
            })
            .flatten();
        Files { root: root.to_path_buf(), root_fd, cache: Mutex::new(HashMap::new()) }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` as the process sees it, mapped into the host root with every
    /// symlink resolved inside the root. None for a loop or a dangling link.
    pub fn resolve(&self, path: &Path) -> Option<PathBuf> {
        let mut pending: Vec<std::ffi::OsString> = path
            .components()
            .rev()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect();
        let mut cur = self.root.clone();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                if cur != self.root {
                    cur.pop();
                }
                continue;
            }
            let next = cur.join(&part);
            match std::fs::symlink_metadata(&next) {
                Ok(m) if m.file_type().is_symlink() => {
                    hops += 1;
                    if hops > 40 {
                        return None;
                    }
                    let target = std::fs::read_link(&next).ok()?;
                    if target.is_absolute() {
                        cur = self.root.clone();
                    }
                    for c in target.components().rev() {
                        match c {
                            Component::Normal(n) => pending.push(n.to_os_string()),
                            Component::ParentDir => pending.push("..".into()),
                            _ => {}
                        }
                    }
                }
                _ => cur = next,
            }
        }
        Some(cur)
    }

    /// The text of `path` (as the process sees it).
    pub fn read(&self, path: &Path) -> FileText {
        if let Some(hit) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(path) {
            return hit.clone();
        }
        let text = self.read_uncached(path);
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(path.to_path_buf(), text.clone());
        text
    }

    /// Opens `path` as [`Files::read`] does, for a bounded read of part of
    /// it (at most `cap` bytes long). None when it resolves nowhere.
    pub fn open(&self, path: &Path, cap: u64) -> Option<Result<Opened, OpenError>> {
        let real = self.resolve(path)?;
        Some(match (&self.root_fd, real.strip_prefix(&self.root)) {
            (Some(fd), Ok(rel)) => open_untrusted_beneath(fd, rel, cap),
            (None, _) if self.root != Path::new("/") => return None,
            _ => open_untrusted(&real, cap),
        })
    }

    fn read_uncached(&self, path: &Path) -> FileText {
        let Some(opened) = self.open(path, MAX_CONFIG_BYTES) else { return FileText::Missing };
        let opened = match opened {
            Ok(o) => o,
            Err(OpenError::NotRegular) => return FileText::Missing,
            Err(OpenError::Io(e)) if e.kind() == io::ErrorKind::NotFound => return FileText::Missing,
            Err(e) => return FileText::Unreadable(e.to_string()),
        };
        let mut bytes = Vec::new();
        if let Err(e) = opened.file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes) {
            return FileText::Unreadable(e.to_string());
        }
        match String::from_utf8(bytes) {
            Ok(t) => FileText::Text(t.into()),
            Err(_) => FileText::Unreadable("not UTF-8".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_regular_files_only_and_never_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join("f"), b"data").unwrap();
        std::fs::create_dir(root.join("d")).unwrap();
        std::fs::write(root.join("d/g"), b"x").unwrap();
        std::os::unix::fs::symlink(root.join("d"), root.join("link")).unwrap();
        std::os::unix::fs::symlink(root.join("f"), root.join("flink")).unwrap();
        nix::unistd::mkfifo(&root.join("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let ok = open_regular(&root.join("f")).unwrap();
        assert_eq!(ok.size, 4);
        assert!(matches!(open_regular(&root.join("d")), Err(OpenError::NotRegular)));
        assert!(matches!(open_regular(&root.join("fifo")), Err(OpenError::NotRegular)), "never opened");
        assert!(matches!(open_regular(&root.join("flink")), Err(OpenError::Symlink)));
        assert!(matches!(open_regular(&root.join("link/g")), Err(OpenError::Symlink)), "a directory link");
        assert!(open_regular(&root.join("d/g")).is_ok());
        // The same checks without openat2.
        let by_name = |p: &Path| open_path_descriptor_by_name(p).and_then(|fd| reopen_checked(fd, p));
        assert!(by_name(&root.join("d/g")).is_ok());
        assert!(matches!(by_name(&root.join("link/g")), Err(OpenError::Symlink)));
        assert!(matches!(by_name(&root.join("flink")), Err(OpenError::Symlink)));
        assert!(matches!(by_name(&root.join("fifo")), Err(OpenError::NotRegular)));
        assert!(matches!(open_untrusted(&root.join("f"), 3), Err(OpenError::TooLarge { size: 4, cap: 3 })));
        let status = PathBuf::from(format!("/proc/{}/status", std::process::id()));
        assert!(matches!(open_untrusted(&status, 1 << 20), Err(OpenError::PseudoFilesystem)));
    }

    #[test]
    fn files_follow_symlinks_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("home/u/.aws")).unwrap();
        std::fs::create_dir_all(root.join("var/tmp")).unwrap();
        std::fs::write(root.join("var/tmp/x"), "[default]\n").unwrap();
        std::os::unix::fs::symlink("/var/tmp/x", root.join("home/u/.aws/credentials")).unwrap();
        let files = Files::new(&root);
        assert_eq!(files.resolve(Path::new("/home/u/.aws/credentials")), Some(root.join("var/tmp/x")));
        assert_eq!(files.read(Path::new("/home/u/.aws/credentials")), FileText::Text("[default]\n".into()));
        assert_eq!(files.read(Path::new("/home/u/.aws/config")), FileText::Missing);
    }
}
