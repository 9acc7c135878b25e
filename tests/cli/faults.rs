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

#[test]
fn max_seconds_stops_inside_a_huge_file_with_partial_results() {
    let t = tree_with_a_key();
    // 10 GB sparse, a key at its start: found, then the deadline stops the read.
    let mut f = std::fs::File::create(t.path("big/sparse.img"))
        .or_else(|_| {
            std::fs::create_dir_all(t.path("big"))?;
            std::fs::File::create(t.path("big/sparse.img"))
        })
        .unwrap();
    writeln!(f, "AWS_ACCESS_KEY_ID=AKIALALEMEL33243OLIB").unwrap();
    f.set_len(10 << 30).unwrap();
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
