//! Which AWS SDK for Java a JVM's class path holds: jar names
//! (`aws-java-sdk-core-1.12.746.jar`, v2's `auth-2.21.30.jar`), the jars a
//! `dir/*` entry lists, and inside a fat jar the names its zip central
//! directory lists (nested jars, the SDKs' credential classes). Every read
//! is bounded; no jar is decompressed.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::SdkModule;
use crate::hostfs::Files;

/// Class path entries looked at, at most.
const MAX_ENTRIES: usize = 1024;
/// Jars a `dir/*` entry lists, at most.
const MAX_LISTED: usize = 4096;
/// Fat jars whose central directory is read, at most.
const MAX_OPENED: usize = 8;
/// Largest central directory read (a jar of ~50,000 entries).
const MAX_DIRECTORY: u64 = 4 << 20;
/// The end-of-central-directory record is in the last 22 bytes, after at
/// most a 64 KiB comment.
const TAIL: u64 = 22 + 65535;

/// The module a jar's file name is, with its version: v1's core (or its
/// bundle), v2's core modules (or its bundle).
fn module_of_name(name: &str) -> Option<SdkModule> {
    let stem = name.strip_suffix(".jar")?;
    let known = [
        ("aws-java-sdk-core-", "com.amazonaws:aws-java-sdk-core"),
        ("aws-java-sdk-bundle-", "com.amazonaws:aws-java-sdk-bundle"),
        ("auth-", "software.amazon.awssdk:auth"),
        ("sdk-core-", "software.amazon.awssdk:sdk-core"),
        ("aws-core-", "software.amazon.awssdk:aws-core"),
        ("bundle-", "software.amazon.awssdk:bundle"),
    ];
    known.iter().find_map(|(prefix, module)| {
        let version = stem.strip_prefix(prefix)?;
        // A version, not another artifact that starts so (`auth-crt-…`).
        let ok = version.starts_with(|c: char| c.is_ascii_digit())
            && version.len() <= 64
            && version.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        // v2's modules are 2.x, v1's 1.x.
        let major_ok =
            if module.starts_with("com.amazonaws") { version.starts_with("1.") } else { version.starts_with("2.") };
        (ok && major_ok).then(|| SdkModule { module: module.to_string(), version: version.to_string() })
    })
}

/// What a class file's name says: v1's or v2's default credentials chain,
/// with no version.
fn module_of_class(name: &str) -> Option<SdkModule> {
    let module = match name.trim_start_matches("BOOT-INF/classes/").trim_start_matches("WEB-INF/classes/") {
        "com/amazonaws/auth/DefaultAWSCredentialsProviderChain.class" => "com.amazonaws:aws-java-sdk-core",
        "software/amazon/awssdk/auth/credentials/DefaultCredentialsProvider.class" => "software.amazon.awssdk:auth",
        _ => return None,
    };
    Some(SdkModule { module: module.to_string(), version: String::new() })
}

/// The AWS SDK for Java modules a class path holds (`cwd` for relative
/// entries), each once; a version found beats none.
pub fn sdk_modules(class_path: &[PathBuf], cwd: Option<&Path>, files: &Files) -> Vec<SdkModule> {
    let mut out: Vec<SdkModule> = Vec::new();
    let mut add = |m: SdkModule| match out.iter_mut().find(|o| o.module == m.module) {
        Some(o) if o.version.is_empty() => o.version = m.version,
        Some(_) => {}
        None => out.push(m),
    };
    let mut opened = 0;
    for entry in class_path.iter().take(MAX_ENTRIES) {
        let path = match cwd {
            Some(cwd) if entry.is_relative() => cwd.join(entry),
            _ => entry.clone(),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name == "*" {
            for jar in listed_jars(files, path.parent().unwrap_or(Path::new("/"))) {
                if let Some(m) = module_of_name(&jar) {
                    add(m);
                }
            }
            continue;
        }
        if let Some(m) = module_of_name(&name) {
            add(m);
            continue;
        }
        if name.ends_with(".jar") && opened < MAX_OPENED {
            opened += 1;
            for n in central_directory_names(files, &path) {
                let base = n.rsplit('/').next().unwrap_or(&n);
                if let Some(m) = module_of_name(base).or_else(|| module_of_class(&n)) {
                    add(m);
                }
            }
        }
    }
    out
}

/// The `.jar` names in a directory (`dir/*` in a class path).
fn listed_jars(files: &Files, dir: &Path) -> Vec<String> {
    let Some(real) = files.resolve(dir) else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(real) else { return Vec::new() };
    entries
        .take(MAX_LISTED)
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jar"))
        .collect()
}

/// The entry names in a zip's central directory (none for a zip it cannot
/// read: ZIP64, a directory larger than [`MAX_DIRECTORY`], not a zip).
fn central_directory_names(files: &Files, path: &Path) -> Vec<String> {
    let Some(Ok(opened)) = files.open(path, u64::MAX) else { return Vec::new() };
    let (file, size) = (opened.file, opened.size);
    let tail_len = size.min(TAIL);
    let mut tail = vec![0u8; tail_len as usize];
    if file.read_exact_at(&mut tail, size - tail_len).is_err() {
        return Vec::new();
    }
    let Some(eocd) = memchr::memmem::rfind(&tail, b"PK\x05\x06") else { return Vec::new() };
    let rec = &tail[eocd..];
    if rec.len() < 22 {
        return Vec::new();
    }
    let le32 = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as u64;
    let le16 = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as usize;
    let (dir_size, dir_at) = (le32(rec, 12), le32(rec, 16));
    if dir_size > MAX_DIRECTORY || dir_at == 0xFFFF_FFFF || dir_at + dir_size > size {
        return Vec::new();
    }
    let mut dir = vec![0u8; dir_size as usize];
    if file.read_exact_at(&mut dir, dir_at).is_err() {
        return Vec::new();
    }
    let mut names = Vec::new();
    let mut at = 0;
    while at + 46 <= dir.len() && dir[at..at + 4] == *b"PK\x01\x02" {
        let (n, extra, comment) = (le16(&dir, at + 28), le16(&dir, at + 30), le16(&dir, at + 32));
        let Some(name) = dir.get(at + 46..at + 46 + n) else { break };
        names.push(String::from_utf8_lossy(name).into_owned());
        at += 46 + n + extra + comment;
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jar_names_say_the_sdk_and_its_version() {
        let m = |n: &str| module_of_name(n).map(|m| (m.module, m.version));
        assert_eq!(
            m("aws-java-sdk-core-1.12.746.jar"),
            Some(("com.amazonaws:aws-java-sdk-core".into(), "1.12.746".into()))
        );
        assert_eq!(m("auth-2.21.30.jar"), Some(("software.amazon.awssdk:auth".into(), "2.21.30".into())));
        assert_eq!(m("aws-java-sdk-bundle-1.12.367.jar").map(|x| x.1), Some("1.12.367".into()));
        assert_eq!(m("auth-crt-0.29.jar"), None, "another artifact");
        assert_eq!(m("auth-1.0.jar"), None, "not v2's");
        assert_eq!(m("aws-java-sdk-s3-1.12.746.jar"), None, "a service module does not decide");
        assert_eq!(m("sdk-core-2.25.0.jar\u{1b}[31m.jar"), None);
    }
}
