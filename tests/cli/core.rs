//! The scanner core on real files: chunk boundaries, big and binary files,
//! encodings, awkward names, special files, and what must never be reported.

use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use crate::util::*;

const ID: &str = "AKIA2OGYBAH6STMMNXNN";
const SECRET: &str = "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";
const ID2: &str = "AKIALALEMEL33243OLIB";

fn credentials(id: &str, secret: &str) -> String {
    format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n")
}

#[test]
fn credentials_file_gives_one_paired_finding() {
    let t = Tree::new();
    t.write("home/app/.aws/credentials", credentials(ID, SECRET));
    let run = scan_json([t.root()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(seen(&report, t.root()), vec![f("long-term", Some(ID), true, "home/app/.aws/credentials", 2)]);
    let finding = &report["findings"][0];
    assert_eq!(finding["location"]["column"], 21);
    assert_eq!(finding["account_id"], "717712589309");
    assert_eq!(finding["secret_fingerprint"].as_str().unwrap().len(), 16);
}

#[test]
fn clean_tree_exits_zero() {
    let t = Tree::new();
    t.write("etc/app.conf", "region = us-east-1\nrole = arn:aws:iam::123456789012:role/app\n");
    let run = scan_json([t.root()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["findings"], serde_json::json!([]));
    assert_eq!(run.json()["coverage"]["files_scanned"], 1);
}

#[test]
fn key_across_chunk_boundaries_is_found_once_at_every_chunk_size() {
    let t = Tree::new();
    // Lines of varying length so that the key lands on a different side of
    // a chunk edge for each chunk size.
    let mut text = String::new();
    for i in 0..400 {
        text.push_str(&"x".repeat(i % 37));
        text.push('\n');
    }
    text.push_str(&credentials(ID, SECRET));
    for i in 0..300 {
        text.push_str(&"y".repeat(i % 53));
        text.push('\n');
    }
    text.push_str(&format!("export AWS_ACCESS_KEY_ID={ID2}\n"));
    t.write("big.log", &text);
    let expected =
        vec![f("long-term", Some(ID), true, "big.log", 402), f("long-term", Some(ID2), false, "big.log", 704)];
    let default = seen(&scan_json([t.root()]).json(), t.root());
    assert_eq!(default, expected);
    for chunk in [1, 2, 3, 17, 64, 100, 511, 1000, 4096, 4099, 8192, 9001, 20000, 65536] {
        let run = scan_json([t.root().as_os_str(), "--chunk-size".as_ref(), chunk.to_string().as_ref()]);
        assert_eq!(seen(&run.json(), t.root()), expected, "chunk size {chunk}");
    }
}

#[test]
fn hundred_megabyte_file_with_the_key_near_the_end() {
    let t = Tree::new();
    let line = "2026-11-23T01:02:03Z INFO request handled in 12ms path=/api/v1/items status=200\n";
    let lines = 100 * 1024 * 1024 / line.len() + 1;
    let mut text = line.repeat(lines);
    text.push_str(&format!("AWS_ACCESS_KEY_ID={ID} AWS_SECRET_ACCESS_KEY={SECRET}\n"));
    text.push_str(&line.repeat(3));
    t.write("var/log/app.log", &text);
    let run = scan_json([t.root()]);
    assert_eq!(seen(&run.json(), t.root()), vec![f("long-term", Some(ID), true, "var/log/app.log", lines as u64 + 1)]);
    assert_eq!(run.json()["coverage"]["bytes_scanned"], text.len() as u64);
}

#[test]
fn key_compiled_into_a_binary_is_found() {
    let t = Tree::new();
    let mut bin = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    bin.extend((0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8));
    bin.push(0);
    bin.extend_from_slice(ID.as_bytes());
    bin.push(0);
    bin.extend_from_slice(b"aws_secret_access_key\0");
    bin.extend((0..300u32).map(|i| (i.wrapping_mul(40503) >> 8) as u8 | 0x80));
    t.write("opt/app/bin/server", &bin);
    let found = seen(&scan_json([t.root()]).json(), t.root());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].key_id.as_deref(), Some(ID));
    assert_eq!(found[0].path, "opt/app/bin/server");
}

#[test]
fn crlf_bom_and_latin1_change_nothing() {
    let t = Tree::new();
    t.write("crlf.ini", credentials(ID, SECRET).replace('\n', "\r\n"));
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(format!("AWS_ACCESS_KEY_ID={ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n").as_bytes());
    t.write("bom.env", &bom);
    let mut latin1 = b"caf\xe9 \xe0 la cr\xe8me\n\xe9".to_vec();
    latin1.extend_from_slice(ID.as_bytes());
    latin1.extend_from_slice(b"\xe9\naws_secret_access_key=");
    latin1.extend_from_slice(SECRET.as_bytes());
    latin1.extend_from_slice(b"\xff\xfe\n");
    t.write("latin1.txt", &latin1);
    let report = scan_json([t.root()]).json();
    assert_eq!(
        seen(&report, t.root()),
        vec![
            f("long-term", Some(ID), true, "bom.env", 1),
            f("long-term", Some(ID), true, "crlf.ini", 2),
            f("long-term", Some(ID), true, "latin1.txt", 2),
        ]
    );
    let col = |name: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["location"]["path"].as_str().unwrap().ends_with(name))
            .unwrap()["location"]["column"]
            .clone()
    };
    assert_eq!(col("bom.env"), 19, "the BOM is not a column");
    assert_eq!(col("crlf.ini"), 21);
    assert_eq!(col("latin1.txt"), 2);
}

#[test]
fn awkward_file_names() {
    let t = Tree::new();
    t.write("dir with spaces/my creds.txt", credentials(ID, SECRET));
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9-\x1b[31m.env");
    t.write(std::path::Path::new("bad").join(name), format!("AWS_ACCESS_KEY_ID={ID2}\n"));
    let run = scan_json([t.root()]);
    let found = seen(&run.json(), t.root());
    assert_eq!(
        found,
        vec![
            f("long-term", Some(ID), true, "dir with spaces/my creds.txt", 2),
            f("long-term", Some(ID2), false, "bad/caf\\xE9-\u{1b}[31m.env", 1),
        ]
    );
    // In text, the escape character is shown, not sent to the terminal.
    let mut cmd = rolecall();
    cmd.arg("scan").arg(t.root());
    let text = run_with_limit(cmd, Duration::from_secs(60));
    assert!(text.stdout.contains("bad/caf\\xE9-\\u{1b}[31m.env:1:19"), "{}", text.stdout);
    assert!(!text.stdout.contains('\u{1b}'));
}

#[test]
fn fifo_socket_and_symlink_loop_neither_block_nor_loop() {
    let t = Tree::new();
    t.write("real/.env", format!("AWS_ACCESS_KEY_ID={ID}\n"));
    nix::unistd::mkfifo(&t.path("real/pipe"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(t.path("real/sock")).unwrap();
    std::os::unix::fs::symlink(t.path("real"), t.path("real/loop")).unwrap();
    std::os::unix::fs::symlink("a", t.path("b")).unwrap();
    std::os::unix::fs::symlink("b", t.path("a")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", t.path("real/zero")).unwrap();
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json"]).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(20));
    let report = run.json();
    assert_eq!(seen(&report, t.root()), vec![f("long-term", Some(ID), false, "real/.env", 1)]);
    assert_eq!(report["coverage"]["skipped"]["special-file"], 2, "the FIFO and the socket");
    assert_eq!(report["coverage"]["skipped"]["symlink"], 4);
    // Named on the command line, a FIFO is still never opened.
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json"]).arg(t.path("real/pipe"));
    let run = run_with_limit(cmd, Duration::from_secs(20));
    assert_eq!(run.code, 0);
    assert!(run.elapsed < Duration::from_secs(10), "a FIFO must not block the scan");
    assert_eq!(run.json()["coverage"]["skipped"]["special-file"], 1);
}

#[test]
fn unreadable_file_and_directory_are_coverage_gaps() {
    use std::os::unix::fs::PermissionsExt;
    let t = Tree::new();
    t.write("ok/.env", format!("AWS_ACCESS_KEY_ID={ID}\n"));
    let secret_file = t.write("locked/file.env", credentials(ID2, SECRET));
    let locked_dir =
        t.write("private/inner/creds", credentials(ID2, SECRET)).parent().unwrap().parent().unwrap().to_path_buf();
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut cmd = if is_root() {
        // Root reads everything, so run the scan as nobody instead of
        // skipping: permissions then mean what they mean in production.
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(env!("CARGO_BIN_EXE_rolecall"));
        c.env("AWS_EC2_METADATA_DISABLED", "true");
        c
    } else {
        rolecall()
    };
    cmd.args(["scan", "--format", "json"]).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(30));
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let report = run.json();
    assert_eq!(seen(&report, t.root()), vec![f("long-term", Some(ID), false, "ok/.env", 1)]);
    assert_eq!(report["coverage"]["gap_counts"]["permission-denied"], 2, "{}", run.stdout);
    let gaps: Vec<&str> =
        report["coverage"]["gaps"].as_array().unwrap().iter().map(|g| g["target"].as_str().unwrap()).collect();
    assert!(gaps.iter().any(|g| g.ends_with("locked/file.env")), "{gaps:?}");
    assert!(gaps.iter().any(|g| g.ends_with("/private")), "{gaps:?}");
}

#[test]
fn gitignored_env_file_is_scanned() {
    let t = Tree::new();
    t.write("srv/app/.git/HEAD", "ref: refs/heads/main\n");
    t.write("srv/app/.gitignore", ".env\n*.secret\n");
    t.write("srv/app/.ignore", ".env\n");
    t.write("srv/app/.env", format!("AWS_ACCESS_KEY_ID={ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n"));
    let report = scan_json([t.root()]).json();
    assert_eq!(seen(&report, t.root()), vec![f("long-term", Some(ID), true, "srv/app/.env", 1)]);
}

#[test]
fn documentation_examples_and_placeholders_are_never_reported() {
    let t = Tree::new();
    t.write(
        "docs/README.md",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n\
         aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\
         AccessKeyId: ASIAIOSFODNN7EXAMPLE\n\
         key = AKIAXXXXXXXXXXXXXXXX\n\
         aws_access_key_id = <YOUR_ACCESS_KEY_ID>\n\
         aws_access_key_id = ${AWS_ACCESS_KEY_ID}\n\
         aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}\n\
         aws_access_key_id =\n\
         aws_secret_access_key = \"\"\n",
    );
    let run = scan_json([t.root()]);
    assert_eq!(run.code, 0);
    let report = run.json();
    assert_eq!(seen(&report, t.root()), vec![]);
    assert_eq!(report["coverage"]["ignored"]["examples"], 3);
    assert_eq!(report["coverage"]["ignored"]["placeholders"], 1);
}

#[test]
fn identifier_prefixes_are_not_credentials() {
    let t = Tree::new();
    let mut text = String::new();
    for prefix in ["AIDA", "AROA", "AIPA", "ANPA", "ANVA", "AGPA", "APKA", "ASCA"] {
        text.push_str(&format!("{prefix}2OGYBAH6STMMNXNNQ\n{prefix}2OGYBAH6STMMNXNN\n"));
    }
    text.push_str("\"InstanceProfileId\": \"AIPA5BOGHHXZELSK34VU4\"\n");
    t.write("ids.json", text);
    let run = scan_json([t.root()]);
    assert_eq!(run.code, 0);
    assert_eq!(seen(&run.json(), t.root()), vec![]);
}

#[test]
fn key_id_inside_longer_runs_is_not_a_key() {
    let t = Tree::new();
    t.write(
        "blob.txt",
        format!(
            "data:application/octet-stream;base64,Zm9vYmFy{ID}YmF6cXV4\n\
             x{ID}\n{ID}Q\n{ID}=\n+{ID}\n/{ID}\n_{ID}_\n\
             integrity=sha512-aGVsbG8{ID}+d29ybGQ=\n\
             TODAYINASIAASACKOFRICEFELLOVER\n\
             ok: \"{ID2}\"\n"
        ),
    );
    let report = scan_json([t.root()]).json();
    assert_eq!(seen(&report, t.root()), vec![f("long-term", Some(ID2), false, "blob.txt", 10)]);
}

#[test]
fn missing_path_is_an_error_and_reported() {
    let t = Tree::new();
    t.write(".env", format!("AWS_ACCESS_KEY_ID={ID}\n"));
    let run = scan_json([t.root().to_path_buf(), t.path("does-not-exist")]);
    assert_eq!(run.code, 2);
    let report = run.json();
    assert_eq!(report["coverage"]["complete"], false);
    assert_eq!(report["coverage"]["gap_counts"]["not-found"], 1);
    assert_eq!(seen(&report, t.root()).len(), 1, "the rest of the scan still ran");
}

#[test]
fn usage_errors_exit_two_with_a_message() {
    let mut cmd = rolecall();
    cmd.args(["scan", "--threads", "0", "/tmp"]);
    let run = run_with_limit(cmd, Duration::from_secs(10));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--threads"), "{}", run.stderr);
    let t = Tree::new();
    t.write("rules/bad.toml", "[[rule]]\nid = \"x.y\"\n");
    let mut cmd = rolecall();
    cmd.args(["scan", "--rules"]).arg(t.path("rules")).arg(t.root());
    let run = run_with_limit(cmd, Duration::from_secs(10));
    assert_eq!(run.code, 2);
    assert!(run.stderr.starts_with("rolecall: parsing rule file"), "{}", run.stderr);
}

/// A 10 GB sparse file with one key near its end: read by its data extents
/// (a hole holds only NULs), so the key is found at its exact line and
/// column without reading ten gigabytes of zeros, and a key on the same line
/// as a hole gets the column the file gives it.
#[test]
fn sparse_files_are_read_by_their_data_extents() {
    let t = Tree::new();
    let size: u64 = 10 << 30;
    let tail =
        "\nAWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN\nAWS_SECRET_ACCESS_KEY=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\n";
    let huge = t.write("var/log/huge.log", "one\ntwo\nthree\n");
    let file = std::fs::OpenOptions::new().write(true).open(&huge).unwrap();
    file.set_len(size).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, tail.as_bytes(), size - tail.len() as u64).unwrap();
    let same = t.write("srv/same-line.txt", "x");
    let g = std::fs::OpenOptions::new().write(true).open(&same).unwrap();
    g.set_len(8 << 20).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&g, b" AKIALALEMEL33243OLIB\n", 8 << 20).unwrap();

    let run = scan_json([t.root().as_os_str(), "--max-seconds".as_ref(), "50".as_ref()]);
    let r = run.json();
    let found = seen(&r, t.root());
    assert!(found.contains(&f("long-term", Some("AKIA2OGYBAH6STMMNXNN"), true, "var/log/huge.log", 5)), "{found:?}");
    let at =
        |key: &str| r["findings"].as_array().unwrap().iter().find(|x| x["key_id"] == key).unwrap()["location"].clone();
    assert_eq!(at("AKIA2OGYBAH6STMMNXNN")["column"], 19);
    // "x", 8 MiB − 1 NULs and a space before it, on line 1.
    assert_eq!(at("AKIALALEMEL33243OLIB")["line"], 1);
    assert_eq!(at("AKIALALEMEL33243OLIB")["column"], (8u64 << 20) + 2);
    assert_eq!(r["coverage"]["complete"], true, "{}", r["coverage"]);
    // Only the data was read: kilobytes, not gigabytes.
    let bytes = r["coverage"]["bytes_scanned"].as_u64().unwrap();
    assert!(bytes < 1 << 20, "{bytes} bytes read of a 10 GB file that holds 120");
}
