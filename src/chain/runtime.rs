//! Which runtime a process runs, from its executable: the interpreter's
//! name, a JVM's library in its memory map, else the markers native
//! toolchains leave in the image, and for Go the build information section,
//! which names the AWS SDK modules (and versions) it was built with. Every
//! read is bounded.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde::Serialize;

/// The runtime of a process, as far as its executable tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    Python,
    Node,
    Ruby,
    Php,
    DotNet,
    Java,
    Go,
    Rust,
    Unknown,
}

/// An AWS SDK module a Go binary was built with, as its build information
/// names it (`github.com/aws/aws-sdk-go-v2/config v1.27.11`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SdkModule {
    pub module: String,
    pub version: String,
}

/// What the executable told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    pub runtime: Runtime,
    /// The AWS SDK modules in a Go binary's build information (empty when
    /// it has none or does not say: before Go 1.18, or built without
    /// modules), or on a JVM's class path.
    pub sdk_modules: Vec<SdkModule>,
}

impl Detected {
    fn of(runtime: Runtime) -> Detected {
        Detected { runtime, sdk_modules: Vec::new() }
    }

    /// Nothing known (the executable was not looked at).
    pub fn unknown() -> Detected {
        Detected::of(Runtime::Unknown)
    }
}

/// Bytes searched for toolchain markers at the start of an image.
const HEAD: u64 = 8 << 20;
/// Largest section header table, string table and build information read.
const MAX_TABLE: u64 = 1 << 20;
/// The module paths that decide how a Go program finds credentials.
const AWS_MODULES: [&str; 4] = [
    "github.com/aws/aws-sdk-go",
    "github.com/aws/aws-sdk-go-v2",
    "github.com/aws/aws-sdk-go-v2/config",
    "github.com/aws/aws-sdk-go-v2/credentials",
];

/// Whether a module version (`v1.25.3`, `2.21.30`, a Go pseudo-version)
/// is `first` or later, by its first three numbers; None when it has none.
pub(super) fn at_least(version: &str, first: (u64, u64, u64)) -> Option<bool> {
    let mut parts = version.strip_prefix('v').unwrap_or(version).split(['.', '-', '+']).map(|p| p.parse::<u64>().ok());
    let (Some(Some(a)), Some(Some(b)), Some(Some(c))) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    Some((a, b, c) >= first)
}

impl Runtime {
    /// Guesses from the executable's name, then (for native binaries) from
    /// `image`, the process's `/proc/<pid>/exe`: a Go build information
    /// section (found through the ELF section headers, wherever it is in the
    /// file), else markers the Go and Rust toolchains leave in its first 8 MiB.
    pub fn of_executable(exe: &Path, image: Option<&Path>) -> Detected {
        let name = exe.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        if name.starts_with("python") || name.starts_with("pypy") || name == "aws" {
            return Detected::of(Runtime::Python);
        }
        if name == "node" || name == "nodejs" || name == "bun" || name == "deno" {
            return Detected::of(Runtime::Node);
        }
        if name.starts_with("ruby") || name == "jruby" {
            return Detected::of(Runtime::Ruby);
        }
        if name.starts_with("php") {
            return Detected::of(Runtime::Php);
        }
        if name == "dotnet" {
            return Detected::of(Runtime::DotNet);
        }
        if name == "java" {
            return Detected::of(Runtime::Java);
        }
        let Some(image) = image else { return Detected::of(Runtime::Unknown) };
        if maps_libjvm(image) {
            return Detected::of(Runtime::Java);
        }
        let Ok(opened) = crate::hostfs::open_process_exe(image) else { return Detected::of(Runtime::Unknown) };
        // With section headers, Go's own section says it (a string in some
        // other binary's data does not); without them, the markers do.
        let section = elf_section(&opened.file, opened.size, b".go.buildinfo");
        if let Section::Found(info) = &section {
            return Detected { runtime: Runtime::Go, sdk_modules: go_sdk_modules(info) };
        }
        let mut head = vec![0u8; opened.size.min(HEAD) as usize];
        if read_exact_at(&opened.file, &mut head, 0).is_none() || !head.starts_with(b"\x7fELF") {
            return Detected::of(Runtime::Unknown);
        }
        if section == Section::NoTable && memchr::memmem::find(&head, b"\xff Go buildinf:").is_some() {
            Detected::of(Runtime::Go)
        } else if memchr::memmem::find(&head, b"/rustc/").is_some() {
            Detected::of(Runtime::Rust)
        } else {
            Detected::of(Runtime::Unknown)
        }
    }

    /// The SDK this runtime most likely uses, when it is one that is
    /// modelled. A Go binary uses v1 when its build information names only
    /// `github.com/aws/aws-sdk-go`, else (v2, or it does not say) v2.
    pub fn sdk(self, modules: &[SdkModule]) -> Option<super::Sdk> {
        match self {
            Runtime::Python => Some(super::Sdk::Botocore),
            Runtime::Node => Some(super::Sdk::JavaScriptV3),
            Runtime::Rust => Some(super::Sdk::Rust),
            Runtime::Ruby => Some(super::Sdk::Ruby),
            // v1 when the class path holds only v1 (it reached its end of
            // support in 2025); v2 otherwise, and when the class path does not say.
            Runtime::Java => {
                let v1 = modules.iter().any(|m| m.module.starts_with("com.amazonaws:"));
                let v2 = modules.iter().any(|m| m.module.starts_with("software.amazon.awssdk:"));
                Some(if v1 && !v2 { super::Sdk::JavaV1 } else { super::Sdk::JavaV2 })
            }
            Runtime::Php => Some(super::Sdk::Php),
            // The current major version; v3 reads the profile before the environment.
            Runtime::DotNet => Some(super::Sdk::DotNetV4),
            Runtime::Go => {
                let v1 = modules.iter().any(|m| m.module == "github.com/aws/aws-sdk-go");
                let v2 = modules.iter().any(|m| m.module.starts_with("github.com/aws/aws-sdk-go-v2"));
                Some(if v1 && !v2 { super::Sdk::GoV1 } else { super::Sdk::GoV2 })
            }
            _ => None,
        }
    }
}

/// Bytes of a process's memory map read for a JVM's library.
const MAX_MAPS: u64 = 1 << 20;

/// Whether the process whose `/proc/<pid>/exe` is `image` has `libjvm.so`
/// mapped: a JVM, whatever its launcher is called (at most 1 MiB of
/// `/proc/<pid>/maps` is read; a process that hides it past that is of
/// unknown runtime, and every SDK that differs is shown).
fn maps_libjvm(image: &Path) -> bool {
    use std::io::Read;
    if image.file_name().is_none_or(|n| n != "exe") {
        return false;
    }
    let Some(maps) = image.parent().map(|d| d.join("maps")) else { return false };
    let mut text = Vec::new();
    let read = File::open(&maps).and_then(|f| f.take(MAX_MAPS).read_to_end(&mut text));
    read.is_ok() && text.split(|&b| b == b'\n').any(|line| line.ends_with(b"/libjvm.so"))
}

fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> Option<()> {
    file.read_exact_at(buf, offset).ok()
}

fn u16_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?) as u64)
}
fn u32_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?) as u64)
}
fn u64_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

/// What an image's section headers say of one section.
#[derive(Debug, PartialEq, Eq)]
enum Section {
    /// Its contents (at most 1 MiB).
    Found(Vec<u8>),
    /// The section headers were read and it is not among them.
    Absent,
    /// Not a little-endian ELF64 image with a readable section header table.
    NoTable,
}

/// The section called `wanted` in a little-endian ELF64 image of `size`
/// bytes (x86_64, aarch64).
fn elf_section(file: &File, size: u64, wanted: &[u8]) -> Section {
    match find_section(file, size, wanted) {
        Some(Some(contents)) => Section::Found(contents),
        Some(None) => Section::Absent,
        None => Section::NoTable,
    }
}

/// None when the section headers cannot be read; Some(None) when they hold
/// no section called `wanted`.
fn find_section(file: &File, size: u64, wanted: &[u8]) -> Option<Option<Vec<u8>>> {
    let mut eh = [0u8; 64];
    read_exact_at(file, &mut eh, 0)?;
    if !eh.starts_with(b"\x7fELF") || eh[4] != 2 || eh[5] != 1 {
        return None;
    }
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(&eh, 0x28)?, u16_at(&eh, 0x3a)?, u16_at(&eh, 0x3c)?, u16_at(&eh, 0x3e)?);
    let table_len = shentsize.checked_mul(shnum)?;
    if shentsize < 64 || shnum == 0 || table_len > MAX_TABLE || shoff.checked_add(table_len)? > size {
        return None;
    }
    let mut table = vec![0u8; table_len as usize];
    read_exact_at(file, &mut table, shoff)?;
    // (offset, size) of section `i`, within the file and at most MAX_TABLE long.
    let section = |i: u64| -> Option<(u64, u64)> {
        let h = usize::try_from(i.checked_mul(shentsize)?).ok()?;
        let (offset, len) = (u64_at(&table, h + 24)?, u64_at(&table, h + 32)?);
        (offset.checked_add(len)? <= size).then_some((offset, len.min(MAX_TABLE)))
    };
    let (names_at, names_len) = section(shstrndx)?;
    let mut names = vec![0u8; names_len as usize];
    read_exact_at(file, &mut names, names_at)?;
    for i in 0..shnum {
        let name_at = usize::try_from(u32_at(&table, usize::try_from(i * shentsize).ok()?)?).ok()?;
        let name = names.get(name_at..)?.split(|&b| b == 0).next()?;
        if name == wanted {
            let (at, len) = section(i)?;
            let mut contents = vec![0u8; len as usize];
            read_exact_at(file, &mut contents, at)?;
            return Some(Some(contents));
        }
    }
    Some(None)
}

/// An unsigned LEB128 varint and what follows it.
fn uvarint(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, byte) in b.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &b[i + 1..]));
        }
    }
    None
}

/// A varint-length-prefixed string and what follows it.
fn prefixed(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = uvarint(b)?;
    let len = usize::try_from(len).ok()?;
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// The AWS SDK modules in Go build information (Go 1.18 and later keep
/// the version and module strings inline after a 32-byte header); a module
/// replaced (`=>`) is reported with its replacement's version.
fn go_sdk_modules(info: &[u8]) -> Vec<SdkModule> {
    let mut out: Vec<SdkModule> = Vec::new();
    // flags bit 2: strings inline (Go 1.18+); before, pointers into the image.
    if !info.starts_with(b"\xff Go buildinf:") || info.len() < 32 || info[15] & 2 == 0 {
        return out;
    }
    let Some((_go_version, rest)) = prefixed(&info[32..]) else { return out };
    let Some((modinfo, _)) = prefixed(rest) else { return out };
    let text = String::from_utf8_lossy(modinfo);
    // The entry the last `dep` line was, if an AWS module: one entry per
    // module (at most four), however many lines a binary repeats.
    let mut current: Option<usize> = None;
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["dep", path, version, ..] if AWS_MODULES.contains(path) => {
                let i = out.iter().position(|m| m.module == *path).unwrap_or_else(|| {
                    out.push(SdkModule { module: clean(path), version: String::new() });
                    out.len() - 1
                });
                out[i].version = clean(version);
                current = Some(i);
            }
            ["=>", _path, version, ..] => {
                if let Some(i) = current {
                    out[i].version = clean(version);
                }
            }
            _ => current = None,
        }
    }
    out
}

/// A field of the binary, as it may be shown: printable ASCII, at most 128 characters.
fn clean(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic()).take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go build information with inline strings, as Go 1.18+ writes it.
    fn buildinfo(modinfo: &str) -> Vec<u8> {
        let mut b = b"\xff Go buildinf:".to_vec();
        b.extend([8u8, 2]);
        b.resize(32, 0);
        for s in ["go1.22.5".as_bytes(), modinfo.as_bytes()] {
            let mut n = s.len();
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                b.push(if n > 0 { byte | 0x80 } else { byte });
                if n == 0 {
                    break;
                }
            }
            b.extend_from_slice(s);
        }
        b
    }

    /// A little-endian ELF64 image whose sections are `sections` (name,
    /// contents, at offset), `size` bytes long (sparse).
    fn elf(path: &Path, sections: &[(&str, Vec<u8>, u64)], size: u64) {
        let mut names = vec![0u8];
        let mut name_at = Vec::new();
        for (n, _, _) in sections.iter().chain([&(".shstrtab", Vec::new(), 0)]) {
            name_at.push(names.len() as u32);
            names.extend_from_slice(n.as_bytes());
            names.push(0);
        }
        let names_at = 4096u64;
        let table_at = 8192u64;
        let mut headers = vec![0u8; 64]; // the null section
        let mut put = |name: u32, offset: u64, len: u64| {
            let mut h = vec![0u8; 64];
            h[0..4].copy_from_slice(&name.to_le_bytes());
            h[24..32].copy_from_slice(&offset.to_le_bytes());
            h[32..40].copy_from_slice(&len.to_le_bytes());
            headers.extend(h);
        };
        for (i, (_, contents, at)) in sections.iter().enumerate() {
            put(name_at[i], *at, contents.len() as u64);
        }
        put(*name_at.last().unwrap(), names_at, names.len() as u64);
        let shnum = sections.len() as u16 + 2;
        let mut eh = vec![0u8; 64];
        eh[..6].copy_from_slice(b"\x7fELF\x02\x01");
        eh[0x28..0x30].copy_from_slice(&table_at.to_le_bytes());
        eh[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        eh[0x3c..0x3e].copy_from_slice(&shnum.to_le_bytes());
        eh[0x3e..0x40].copy_from_slice(&(shnum - 1).to_le_bytes());
        let f = File::create(path).unwrap();
        f.set_len(size).unwrap();
        f.write_all_at(&eh, 0).unwrap();
        f.write_all_at(&names, names_at).unwrap();
        f.write_all_at(&headers, table_at).unwrap();
        for (_, contents, at) in sections {
            f.write_all_at(contents, *at).unwrap();
        }
    }

    #[test]
    fn a_go_binary_names_its_aws_sdk_modules_wherever_its_build_information_is() {
        let dir = tempfile::tempdir().unwrap();
        let modinfo = "0w\u{af}\u{c}\u{92}t\u{8}\u{2}A\u{e1}\u{c1}\u{7}\u{e6}\u{d6}\u{18}\u{e6}path\texample.com/app\n\
            mod\texample.com/app\t(devel)\t\n\
            dep\tgithub.com/aws/aws-sdk-go-v2\tv1.30.3\th1:abc=\n\
            dep\tgithub.com/aws/aws-sdk-go-v2/config\tv1.27.27\th1:def=\n\
            dep\tgithub.com/aws/aws-sdk-go-v2/credentials\tv1.17.0\n=>\t../fork/credentials\tv1.17.1-fork\t\n\
            dep\tgithub.com/aws/aws-sdk-go-v2/service/s3\tv1.58.2\th1:ghi=\n\
            dep\tgithub.com/spf13/cobra\tv1.8.0\th1:jkl=\n\
            build\tGOOS=linux\n";
        // Past the first 8 MiB, as in any large Go binary.
        let at = 40 << 20;
        let image = dir.path().join("server");
        elf(&image, &[(".text", vec![0x90; 16], 1 << 20), (".go.buildinfo", buildinfo(modinfo), at)], at + 4096);
        let d = Runtime::of_executable(Path::new("/opt/app/server"), Some(&image));
        assert_eq!(d.runtime, Runtime::Go);
        let got: Vec<String> = d.sdk_modules.iter().map(|m| format!("{} {}", m.module, m.version)).collect();
        assert_eq!(
            got,
            [
                "github.com/aws/aws-sdk-go-v2 v1.30.3",
                "github.com/aws/aws-sdk-go-v2/config v1.27.27",
                "github.com/aws/aws-sdk-go-v2/credentials v1.17.1-fork",
            ]
        );
        // Go v1, and a binary built without modules (GOPATH mode): Go, no versions.
        let v1 = dir.path().join("v1");
        let modinfo = "path\tx\nmod\tx\t(devel)\t\ndep\tgithub.com/aws/aws-sdk-go\tv1.55.5\th1:x=\n";
        elf(&v1, &[(".go.buildinfo", buildinfo(modinfo), 1 << 20)], 2 << 20);
        assert_eq!(Runtime::of_executable(Path::new("v1"), Some(&v1)).sdk_modules[0].version, "v1.55.5");
        // A Rust binary whose data holds Go's marker (rolecall itself does):
        // its section headers say it is not Go.
        let rust = dir.path().join("rust");
        let data = b"\xff Go buildinf: /rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/std".to_vec();
        elf(&rust, &[(".rodata", data, 1 << 20)], 2 << 20);
        assert_eq!(Runtime::of_executable(Path::new("rust"), Some(&rust)).runtime, Runtime::Rust);
        let gopath = dir.path().join("gopath");
        elf(&gopath, &[(".go.buildinfo", buildinfo(""), 1 << 20)], 2 << 20);
        assert_eq!(Runtime::of_executable(Path::new("gopath"), Some(&gopath)), Detected::of(Runtime::Go));
    }

    #[test]
    fn hostile_section_tables_are_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("bad");
        elf(&image, &[(".go.buildinfo", buildinfo("dep\tgithub.com/aws/aws-sdk-go\tv1\n"), 1 << 20)], 2 << 20);
        let f = std::fs::OpenOptions::new().write(true).open(&image).unwrap();
        // A section that claims to run past the end of the file.
        let mut size = [0u8; 8];
        size.copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        f.write_all_at(&size, 8192 + 64 + 32).unwrap();
        let file = File::open(&image).unwrap();
        assert_eq!(elf_section(&file, 2 << 20, b".go.buildinfo"), Section::NoTable);
        // A varint that never ends, and a length past the data.
        assert_eq!(uvarint(&[0xff; 12]), None);
        assert_eq!(prefixed(&[5, b'a']), None);
        assert!(go_sdk_modules(b"\xff Go buildinf:\x08\x02").is_empty());
        // A module named again and again is one entry.
        let repeated = "dep\tgithub.com/aws/aws-sdk-go\tv1.0.0\n".repeat(10_000);
        assert_eq!(go_sdk_modules(&buildinfo(&repeated)).len(), 1);
    }

    #[test]
    fn runtime_from_the_name_then_the_image() {
        let dir = tempfile::tempdir().unwrap();
        let image = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let go = image("go", b"\x7fELF\0\0\0padding\xff Go buildinf:\x08\x02");
        let rust = image("rust", b"\x7fELF\0\0\0/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/std/src/rt.rs");
        let script = image("script", b"#!/bin/sh\n# /rustc/ and \xff Go buildinf: in a script\n");
        let of = |exe: &str, image: Option<&Path>| Runtime::of_executable(Path::new(exe), image).runtime;
        assert_eq!(of("/usr/bin/python3.11", None), Runtime::Python);
        assert_eq!(of("/usr/local/bin/node", None), Runtime::Node);
        assert_eq!(of("/opt/app/server", Some(&go)), Runtime::Go);
        assert_eq!(of("/opt/app/server", Some(&rust)), Runtime::Rust);
        assert_eq!(of("/opt/app/run", Some(&script)), Runtime::Unknown, "not ELF");
        assert_eq!(of("/opt/app/gone", Some(&dir.path().join("gone"))), Runtime::Unknown);
    }
}
