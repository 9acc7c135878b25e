//! Vendor content is not a finding: a key ID alone in a file that a package
//! installed and nobody changed since (dpkg's md5sums, the rpm database's
//! digests) is counted by package; the same file changed is reported.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

/// A key ID that looks real, alone (no secret), as SDK docs and tests have them.
const DOC_KEY: &str = "AKIAQ5PBXG7D3WNRT2KY";
const SECRET: &str = "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";

fn full_scan(root: &Path) -> Value {
    let mut cmd = rolecall();
    cmd.args(["scan", "--format", "json", "--no-imds", "--full", "--root"]).arg(root);
    let run = run_with_limit(cmd, Duration::from_secs(120));
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    run.json()
}

fn findings_of<'a>(report: &'a Value, key: &str) -> Vec<&'a Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["key_id"] == key).collect()
}

fn md5_hex(bytes: &[u8]) -> String {
    let out = Command::new("md5sum").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn();
    let mut child = out.expect("md5sum (coreutils)");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string()
}

#[test]
fn unmodified_dpkg_files_are_vendor_content_and_modified_ones_are_findings() {
    let t = Tree::new();
    t.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    let doc = format!("To list keys: aws iam list-access-keys\nAccessKeyId: {DOC_KEY}\n");
    t.write("usr/lib/python3/dist-packages/libfoo/docs/keys.txt", &doc);
    // A pair with its secret is a finding even in a packaged file.
    let paired = format!("aws_access_key_id = AKIALALEMEL33243OLIB\naws_secret_access_key = {SECRET}\n");
    t.write("usr/lib/python3/dist-packages/libfoo/tests/creds.ini", &paired);
    t.write(
        "var/lib/dpkg/info/python3-libfoo:amd64.md5sums",
        format!(
            "{}  usr/lib/python3/dist-packages/libfoo/docs/keys.txt\n{}  usr/lib/python3/dist-packages/libfoo/tests/creds.ini\n",
            md5_hex(doc.as_bytes()),
            md5_hex(paired.as_bytes())
        ),
    );
    let report = full_scan(t.root());
    assert!(findings_of(&report, DOC_KEY).is_empty(), "{:#}", report["findings"]);
    assert_eq!(report["coverage"]["vendor"]["python3-libfoo"], 1, "{:#}", report["coverage"]);
    assert_eq!(findings_of(&report, "AKIALALEMEL33243OLIB").len(), 1);

    // Changed since it was installed: the package's word no longer holds.
    t.write("usr/lib/python3/dist-packages/libfoo/docs/keys.txt", format!("{doc}# edited\n"));
    let report = full_scan(t.root());
    let f = findings_of(&report, DOC_KEY);
    assert_eq!(f.len(), 1, "{:#}", report["findings"]);
    assert_eq!(f[0]["has_secret"], false);
    assert_eq!(report["coverage"]["vendor"], serde_json::json!({}));
}

#[test]
fn the_aws_clis_example_tree_is_vendor_content_without_a_package_database() {
    let t = Tree::new();
    t.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    t.write(
        "usr/local/lib/python3.11/site-packages/awscli/examples/iam/get-access-key-last-used.rst",
        format!("**To retrieve information**\n\n    aws iam get-access-key-last-used \\\n        --access-key-id {DOC_KEY}\n"),
    );
    let report = full_scan(t.root());
    assert!(findings_of(&report, DOC_KEY).is_empty(), "{:#}", report["findings"]);
    assert_eq!(report["coverage"]["vendor"]["awscli (its examples)"], 1);
}

#[test]
fn unmodified_rpm_files_are_vendor_content() {
    let (Some(rpm), Some(rpmbuild)) = (which("rpm"), which("rpmbuild")) else {
        assert!(std::env::var_os("ROLECALL_REQUIRE_ORACLES").is_none(), "rpm and rpmbuild are required");
        eprintln!("SKIPPED: rpm or rpmbuild not installed (bash tests/run.sh installs them)");
        return;
    };
    let t = Tree::new();
    let spec = t.write(
        "build/vendorfixture.spec",
        format!(
            "Name: vendorfixture\nVersion: 1\nRelease: 1\nSummary: fixture\nLicense: MIT\nBuildArch: noarch\n\
             %description\nfixture\n%install\nmkdir -p %{{buildroot}}/usr/lib/vendorfixture\n\
             printf 'aws iam list-access-keys shows {DOC_KEY}\\n' > %{{buildroot}}/usr/lib/vendorfixture/data.txt\n\
             %files\n/usr/lib/vendorfixture/data.txt\n"
        ),
    );
    let top = t.path("build/top");
    let ok = Command::new(&rpmbuild)
        .args(["-bb", "--nodeps", "--quiet", "--define"])
        .arg(format!("_topdir {}", top.display()))
        .arg(&spec)
        .output()
        .unwrap();
    assert!(ok.status.success(), "rpmbuild: {}", String::from_utf8_lossy(&ok.stderr));
    let root = t.path("image");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    let rpm_in = |args: &[&str]| {
        let out =
            Command::new(&rpm).arg("--root").arg(&root).args(["--dbpath", "/var/lib/rpm"]).args(args).output().unwrap();
        assert!(out.status.success(), "rpm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    rpm_in(&["--initdb"]);
    let package = top.join("RPMS/noarch/vendorfixture-1-1.noarch.rpm");
    rpm_in(&["-i", "--nodeps", "--noscripts", package.to_str().unwrap()]);
    let report = full_scan(&root);
    assert!(findings_of(&report, DOC_KEY).is_empty(), "{:#}", report["findings"]);
    assert_eq!(report["coverage"]["vendor"]["vendorfixture"], 1, "{:#}", report["coverage"]);
    std::fs::write(root.join("usr/lib/vendorfixture/data.txt"), format!("changed: {DOC_KEY}\n")).unwrap();
    let report = full_scan(&root);
    assert_eq!(findings_of(&report, DOC_KEY).len(), 1, "a changed file is reported");
}

#[test]
fn java_enum_constants_shaped_like_key_ids_are_not_findings() {
    let t = Tree::new();
    let mut class = b"\xca\xfe\xba\xbe\0\0\0\x34".to_vec();
    for word in ["ASIAPACIFICSOUTHEAST", "ASIAPACIFICNORTHEAST", "AKIAXXXXXXXXXXXXXXXX"] {
        class.extend_from_slice(b"\x01\0\x14");
        class.extend_from_slice(word.as_bytes());
    }
    t.write("opt/app/lib/Regions.class", class);
    let report = scan_json([t.root()]).json();
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(report["coverage"]["ignored"]["identifiers"], 2, "{:#}", report["coverage"]);
    assert_eq!(report["coverage"]["ignored"]["placeholders"], 1);
}
