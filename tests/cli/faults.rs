//! The fault suite: hostile and broken inputs, each of which must end with
//! a clear status, within a bound, without a panic, and with the rest of
//! the scan intact.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::imds_server::{Mode, Server};
use crate::util::*;

const ID: &str = "AKIA2OGYBAH6STMMNXNN";
const SECRET: &str = "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";

/// A tree with one key that every case must still find.
fn tree_with_a_key() -> Tree {
    let t = Tree::new();
    t.write("ok/.env", format!("AWS_ACCESS_KEY_ID={ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n"));
    t
}

fn still_finds_the_key(run: &Run) {
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let r = run.json();
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["key_id"] == ID && f["location"]["path"].as_str().unwrap().ends_with("ok/.env")),
        "the rest of the scan is intact: {}",
        run.stdout
    );
}

/// (nice, I/O class, I/O level) of a running process's main thread.
fn priority_of(pid: u32) -> (i64, i32, i32) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let nice: i64 = stat[stat.rfind(')').unwrap() + 1..].split_whitespace().nth(16).unwrap().parse().unwrap();
    // SAFETY: ioprio_get reads another process's I/O priority; plain integers.
    let v = unsafe { libc::syscall(libc::SYS_ioprio_get, 1, pid as i64) } as i32;
    (nice, v >> 13, v & 0xff)
}

#[test]
fn a_scan_runs_gently_unless_fast() {
    // A slow IMDS keeps the process alive long enough to look at it.
    let server = Server::start(Mode::Slow);
    let t = tree_with_a_key();
    for (fast, expect_nice) in [(false, 10), (true, 0)] {
        let mut cmd = rolecall_with_imds(&server.url());
        cmd.args(["scan", "--format", "json", "--imds-endpoint", &server.url()]).arg(t.root());
        if fast {
            cmd.arg("--fast");
        }
        let mut child = cmd.stdout(std::process::Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(700));
        let (nice, class, level) = priority_of(child.id());
        child.kill().ok();
        child.wait().ok();
        assert_eq!(nice, expect_nice, "fast={fast}");
        if !fast {
            assert_eq!((class, level), (2, 7), "best-effort, lowest level");
        }
    }
}

/// Makes `f` `len` bytes long with no hole a scan would skip: a byte every
/// 512 KiB, NULs between (read as they are, like a disk image's zeros).
fn dense(f: &std::fs::File, len: u64) {
    f.set_len(len).unwrap();
    for at in (512 << 10..len).step_by(512 << 10) {
        std::os::unix::fs::FileExt::write_all_at(f, b"x", at).unwrap();
    }
}

#[test]
fn max_seconds_stops_inside_a_huge_file_with_partial_results() {
    let t = tree_with_a_key();
    // 10 GB with a key at its start: found, then the deadline stops the read.
    std::fs::create_dir_all(t.path("big")).unwrap();
    let mut f = std::fs::File::create(t.path("big/sparse.img")).unwrap();
    writeln!(f, "AWS_ACCESS_KEY_ID=AKIALALEMEL33243OLIB").unwrap();
    dense(&f, 10 << 30);
    let start = Instant::now();
    let run = scan_json([t.root().as_os_str(), "--max-seconds".as_ref(), "1".as_ref(), "-j".as_ref(), "1".as_ref()]);
    assert!(start.elapsed() < Duration::from_secs(6), "took {:?}", start.elapsed());
    let r = run.json();
    assert_eq!(r["coverage"]["complete"], false);
    assert_eq!(r["coverage"]["gap_counts"]["time-limit"], 1, "{}", run.stdout);
    let gap = &r["coverage"]["gaps"][0];
    assert!(gap["target"].as_str().unwrap().ends_with("big/sparse.img"));
    assert!(r["findings"].as_array().unwrap().iter().any(|f| f["key_id"] == "AKIALALEMEL33243OLIB"));
    let mut cmd = rolecall();
    cmd.args(["scan", "--max-seconds", "1", "-j", "1", "--no-imds"]).arg(t.path("big"));
    let text = run_with_limit(cmd, Duration::from_secs(20));
    assert!(text.stdout.contains("INCOMPLETE"), "{}", text.stdout);
}

#[test]
fn a_slow_imds_does_not_hold_the_scan() {
    let server = Server::start(Mode::Slow);
    let t = tree_with_a_key();
    let run = scan_json_imds(&server.url(), [t.root()]);
    assert!(run.elapsed < Duration::from_secs(8));
    still_finds_the_key(&run);
}

/// Runs a scan under `/usr/bin/time -f %M` when it exists: the run and its peak RSS in KiB.
fn scan_measured(args: &[&std::ffi::OsStr]) -> (Run, Option<u64>) {
    let time = std::path::Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = std::process::Command::new(time);
        c.args(["-f", "peak-rss-kib %M", "--"]).arg(env!("CARGO_BIN_EXE_rolecall"));
        c.env("AWS_EC2_METADATA_DISABLED", "true");
        c
    } else {
        rolecall()
    };
    cmd.args(["scan", "--format", "json"]).args(args);
    let run = run_with_limit(cmd, Duration::from_secs(120));
    let rss = run.stderr.lines().find_map(|l| l.strip_prefix("peak-rss-kib ")).and_then(|v| v.trim().parse().ok());
    (run, rss)
}

#[test]
fn ten_gigabyte_sparse_file_streams_in_bounded_memory() {
    let t = tree_with_a_key();
    std::fs::create_dir_all(t.path("big")).unwrap();
    let f = std::fs::File::create(t.path("big/disk.img")).unwrap();
    dense(&f, 10 << 30);
    let line = b"\nAWS_ACCESS_KEY_ID=AKIALALEMEL33243OLIB\n";
    std::os::unix::fs::FileExt::write_all_at(&f, line, (10 << 30) - 100).unwrap();
    let (run, rss) = scan_measured(&[t.root().as_os_str()]);
    still_finds_the_key(&run);
    let r = run.json();
    let far = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key_id"] == "AKIALALEMEL33243OLIB")
        .expect("the key 10 GB in");
    assert_eq!(far["location"]["line"], 2);
    assert!(r["coverage"]["bytes_scanned"].as_u64().unwrap() >= 10 << 30);
    match rss {
        // Two threads of 256 KiB chunks plus the program: far below the file.
        Some(kib) => assert!(kib < 64 * 1024, "peak RSS {kib} KiB"),
        None => eprintln!("SKIPPED the memory bound: /usr/bin/time not installed"),
    }
}

#[test]
fn fifty_megabyte_single_line() {
    let t = tree_with_a_key();
    let mut data = vec![b'x'; 25 << 20];
    data.extend_from_slice(b" AKIALALEMEL33243OLIB ");
    data.extend(std::iter::repeat_n(b'y', 25 << 20));
    t.write("logs/one-line.txt", &data);
    let run = scan_json([t.root()]);
    still_finds_the_key(&run);
    let r = run.json();
    let f = r["findings"].as_array().unwrap().iter().find(|f| f["key_id"] == "AKIALALEMEL33243OLIB").unwrap();
    assert_eq!(f["location"]["line"], 1);
    assert_eq!(f["location"]["column"], (25u64 << 20) + 2);
}

#[test]
fn thousand_levels_deep() {
    let t = tree_with_a_key();
    let mut deep = t.path("deep");
    for _ in 0..1000 {
        deep.push("d");
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join(".env"), "AWS_ACCESS_KEY_ID=AKIALALEMEL33243OLIB\n").unwrap();
    let run = scan_json([t.root()]);
    still_finds_the_key(&run);
    assert!(run.json()["findings"].as_array().unwrap().iter().any(|f| f["key_id"] == "AKIALALEMEL33243OLIB"));
}

#[test]
fn hundred_thousand_files_in_one_directory() {
    let t = tree_with_a_key();
    let dir = t.path("many");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..100_000 {
        std::fs::write(dir.join(format!("f{i}")), "x").unwrap();
    }
    std::fs::write(dir.join("f54321"), "AWS_ACCESS_KEY_ID=AKIALALEMEL33243OLIB\n").unwrap();
    let run = scan_json([t.root()]);
    still_finds_the_key(&run);
    let r = run.json();
    assert_eq!(r["coverage"]["files_scanned"], 100_001);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["location"]["path"].as_str().unwrap().ends_with("many/f54321"))
    );
}

#[test]
fn character_and_block_devices_are_never_opened() {
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};
    let t = tree_with_a_key();
    // /dev/zero's and /dev/loop0's numbers: reading either would never end, or hurt.
    let made = mknod(&t.path("zero"), SFlag::S_IFCHR, Mode::from_bits_truncate(0o666), makedev(1, 5)).is_ok()
        && mknod(&t.path("loop"), SFlag::S_IFBLK, Mode::from_bits_truncate(0o600), makedev(7, 0)).is_ok();
    if !made {
        eprintln!("SKIPPED the device nodes: mknod is not permitted here; the /dev/zero symlink case still runs");
    }
    std::os::unix::fs::symlink("/dev/zero", t.path("zero-link")).unwrap();
    let run = scan_json([t.root()]);
    assert!(run.elapsed < Duration::from_secs(20));
    still_finds_the_key(&run);
    let r = run.json();
    if made {
        assert_eq!(r["coverage"]["skipped"]["special-file"], 2);
    }
    assert_eq!(r["coverage"]["skipped"]["symlink"], 1);
    // Named explicitly, a device is still not read.
    if made {
        let run = scan_json([t.path("zero")]);
        assert_eq!(run.code, 0);
        assert_eq!(run.json()["coverage"]["skipped"]["special-file"], 1);
    }
}

#[test]
fn files_deleted_and_truncated_while_scanning() {
    // Writers keep replacing, truncating and deleting files while scans run:
    // whatever the timing, each scan finishes, says nothing panicked, and
    // still finds the key that stays put.
    let t = tree_with_a_key();
    let churn = t.path("churn");
    std::fs::create_dir_all(&churn).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (churn, stop) = (churn.clone(), stop.clone());
        std::thread::spawn(move || {
            let big = vec![b'a'; 4 << 20];
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let p = churn.join(format!("f{}", i % 50));
                let _ = std::fs::write(&p, &big);
                if let Ok(f) = std::fs::OpenOptions::new().write(true).open(churn.join(format!("f{}", (i + 7) % 50))) {
                    let _ = f.set_len(10);
                }
                let _ = std::fs::remove_file(churn.join(format!("f{}", (i + 13) % 50)));
                i += 1;
            }
        })
    };
    for _ in 0..10 {
        let run = scan_json([t.root().as_os_str(), "--chunk-size".as_ref(), "4096".as_ref()]);
        still_finds_the_key(&run);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
}

#[test]
fn processes_exiting_while_their_environments_are_read() {
    let mut churn = std::process::Command::new("sh")
        .args(["-c", "while :; do AWS_ACCESS_KEY_ID=AKIALALEMEL33243OLIB /bin/true; done"])
        .spawn()
        .unwrap();
    for _ in 0..10 {
        let mut cmd = rolecall();
        cmd.args(["scan", "--format", "json", "--sources", "processes"]);
        let run = run_with_limit(cmd, Duration::from_secs(30));
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"));
        run.json();
    }
    churn.kill().ok();
    churn.wait().ok();
}

#[test]
fn hostile_rule_files_are_rejected_with_a_message() {
    let t = tree_with_a_key();
    let rules = Tree::new();
    let cases = [
        ("unbounded", "(?P<key_id>AKIA[A-Z2-7]+)", "no upper bound"),
        ("too long", "(?P<key_id>AKIA[A-Z2-7]{16}[a-z]{1,9000})", "can match"),
        (
            "too big once compiled",
            "(?P<key_id>AKIA[A-Z2-7]{16})(?:ab|cd|ef|gh|ij|kl|mn|op|qr|st|uv|wx|yz|ba|dc|fe|hg|ji|lk|nm|po|rq|ts|vu|xw|zy){1,4000}",
            "compiles to more than",
        ),
        ("invalid", "(?P<key_id>AKIA[", "invalid regex"),
    ];
    for (what, regex, says) in cases {
        std::fs::write(
            rules.path("r.toml"),
            format!("[[rule]]\nid = \"x.bad\"\nname = \"n\"\ndescription = \"d\"\nseverity = \"high\"\nkeywords = [\"AKIA\"]\nregex = '''{regex}'''\n"),
        )
        .unwrap();
        let started = Instant::now();
        let run = scan_json([t.root().as_os_str(), "--rules".as_ref(), rules.root().as_os_str()]);
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        assert_eq!(run.code, 2, "{what}");
        assert!(run.stderr.contains("x.bad") && run.stderr.contains(says), "{what}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"));
    }
    std::fs::write(rules.path("r.toml"), vec![b'['; 2 << 20]).unwrap();
    let run = scan_json([t.root().as_os_str(), "--rules".as_ref(), rules.root().as_os_str()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("larger than 1 MiB"), "{}", run.stderr);
}

#[test]
fn a_scan_changes_nothing_it_reads() {
    use std::os::unix::fs::MetadataExt;
    let t = tree_with_a_key();
    t.write(
        "etc/app.conf",
        "aws_access_key_id = AKIALALEMEL33243OLIB\naws_secret_access_key = 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\n",
    );
    t.write("bin/tool", vec![7u8; 1 << 20]);
    // Access times well before the modification times: a plain read under
    // relatime would move them.
    let old = nix::sys::time::TimeSpec::new(1_000_000_000, 0);
    let mut before = Vec::new();
    for p in ["ok/.env", "etc/app.conf", "bin/tool"] {
        let path = t.path(p);
        // Read first: this read itself moves the access time.
        let content = std::fs::read(&path).unwrap();
        nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            &path,
            &old,
            &nix::sys::time::TimeSpec::UTIME_OMIT,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();
        let m = std::fs::metadata(&path).unwrap();
        before.push((
            path.clone(),
            content,
            m.mtime(),
            m.mtime_nsec(),
            m.atime(),
            m.atime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        ));
    }
    for format in ["json", "text", "sarif"] {
        let mut cmd = rolecall();
        cmd.args(["scan", "--format", format]).arg(t.root());
        assert_eq!(run_with_limit(cmd, Duration::from_secs(30)).code, 1);
    }
    for (path, content, mtime, mtime_ns, atime, atime_ns, ctime, ctime_ns) in before {
        let m = std::fs::metadata(&path).unwrap();
        assert_eq!((m.mtime(), m.mtime_nsec()), (mtime, mtime_ns), "mtime of {}", path.display());
        assert_eq!((m.ctime(), m.ctime_nsec()), (ctime, ctime_ns), "ctime of {}", path.display());
        assert_eq!((m.atime(), m.atime_nsec()), (atime, atime_ns), "atime of {} (O_NOATIME)", path.display());
        assert_eq!(std::fs::read(&path).unwrap(), content, "{}", path.display());
    }
}
