//! The documents in packaging/ parsed and checked for the structure their
//! consumers need, the SSM document's command lines and the units' and
//! pipelines' command lines run against fixture roots, and the .deb and .rpm
//! (built by tests/run.sh) listed and checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::imds_server::{Mode, Server};
use crate::util::*;

fn packaging(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging").join(rel)
}

fn yaml(rel: &str) -> Value {
    let text = std::fs::read_to_string(packaging(rel)).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A small root with a live key (or without), as an instance or image.
fn host(with_key: bool) -> Tree {
    let t = Tree::new();
    t.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    t.write("etc/hostname", "web-1\n");
    if with_key {
        t.write(
            "opt/app/.env",
            "AWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN\nAWS_SECRET_ACCESS_KEY=5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f\n",
        );
    }
    t
}

/// `{{ Name }}` replaced by the values given (as SSM does before the agent runs the script).
fn fill(line: &str, params: &BTreeMap<&str, String>) -> String {
    let mut out = line.to_string();
    for (k, v) in params {
        out = out.replace(&format!("{{{{ {k} }}}}"), v);
    }
    assert!(!out.contains("{{"), "an undeclared parameter in {line}");
    out
}

#[test]
fn ssm_document_structure() {
    let doc = yaml("ssm/rolecall-scan.yaml");
    assert_eq!(doc["schemaVersion"], "2.2");
    let params = doc["parameters"].as_object().unwrap();
    assert_eq!(params["Mode"]["default"], "report");
    assert_eq!(params["Mode"]["allowedValues"], serde_json::json!(["report", "enforce"]));
    for (name, p) in params {
        assert_eq!(p["type"], "String", "{name}");
        assert!(p["description"].is_string(), "{name} is documented");
        assert!(p["allowedValues"].is_array() || p["allowedPattern"].is_string(), "{name} is constrained");
        let default = p["default"].as_str().unwrap();
        if let Some(re) = p["allowedPattern"].as_str() {
            assert!(regex::Regex::new(re).unwrap().is_match(default), "{name}'s default matches its pattern");
        }
    }
    let steps = doc["mainSteps"].as_array().unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0]["action"], "aws:runShellScript");
    assert_eq!(steps[0]["precondition"]["StringEquals"], serde_json::json!(["platformType", "Linux"]));
    let lines = steps[0]["inputs"]["runCommand"].as_array().unwrap();
    let used: Vec<String> = lines
        .iter()
        .flat_map(|l| {
            regex::Regex::new(r"\{\{ (\w+) \}\}")
                .unwrap()
                .captures_iter(l.as_str().unwrap())
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    for u in &used {
        assert!(params.contains_key(u), "{u} is used but not declared");
    }
    let script = lines.iter().map(|l| l.as_str().unwrap()).collect::<Vec<_>>().join("\n");
    assert!(
        script.contains("\"$BIN\" scan") && script.ends_with("exit \"$CODE\""),
        "the binary's exit code is the step's"
    );
    // What SSM lets a sender put in: only the packaged binaries, reports in
    // /var/lib/rolecall, roots without . or .. components.
    assert_eq!(params["Binary"]["allowedValues"], serde_json::json!(["/usr/bin/rolecall", "/usr/local/bin/rolecall"]));
    let allowed = |name: &str, value: &str| {
        regex::Regex::new(params[name]["allowedPattern"].as_str().unwrap()).unwrap().is_match(value)
    };
    assert!(allowed("Output", "/var/lib/rolecall/weekly.json"));
    for bad in ["/var/lib/rolecall/../../etc/cron.d/x", "/etc/passwd", "/var/lib/rolecall/", "/var/lib/rolecall/a/b"] {
        assert!(!allowed("Output", bad), "Output {bad}");
    }
    assert!(allowed("Root", "/") && allowed("Root", "/mnt/image"));
    for bad in ["//", "/./", "/mnt/../", "/.", "/mnt//image"] {
        assert!(!allowed("Root", bad), "Root {bad}");
    }
    assert!(allowed("UploadTo", "") && allowed("UploadTo", "s3://my-bucket/rolecall/reports"));
    for bad in
        ["s3://b", "s3://my-bucket/../x", "s3://my-bucket/a b", "s3://my-bucket/$(id)", "/tmp/x", "s3://my-bucket/"]
    {
        assert!(!allowed("UploadTo", bad), "UploadTo {bad}");
    }
    for code in ["168", "169", "194"] {
        assert!(!script.contains(&format!("exit {code}")), "exit {code} means something to SSM");
    }
}

/// Runs the SSM document's command lines with `sh`, as the agent does.
fn run_ssm_document(params: &BTreeMap<&str, String>, imds: &str) -> Run {
    run_ssm_document_as(params, imds, &[])
}

/// The same, with the variables the agent adds (`AWS_SSM_INSTANCE_ID`, …)
/// or a PATH of the test's own.
fn run_ssm_document_as(params: &BTreeMap<&str, String>, imds: &str, env: &[(&str, String)]) -> Run {
    let doc = yaml("ssm/rolecall-scan.yaml");
    let lines: Vec<String> = doc["mainSteps"][0]["inputs"]["runCommand"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| fill(l.as_str().unwrap(), params))
        .collect();
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(lines.join("\n")).current_dir("/");
    // As under Run Command: no HOME, a minimal PATH; IMDS is the test server.
    cmd.env_clear().env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/bin");
    cmd.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_with_limit(cmd, Duration::from_secs(60))
}

#[test]
fn ssm_document_runs_against_a_fixture_root() {
    let server = Server::start(Mode::TokenRequired);
    let out = Tree::new();
    let report = out.path("var/lib/rolecall/last.json");
    let mut params: BTreeMap<&str, String> = BTreeMap::new();
    params.insert("Binary", env!("CARGO_BIN_EXE_rolecall").to_string());
    params.insert("Inventory", "false".into());
    params.insert("Compliance", "false".into());
    params.insert("MaxSeconds", "60".into());
    params.insert("Output", report.display().to_string());
    params.insert("UploadTo", String::new());
    let dirty = host(true);
    params.insert("Root", dirty.root().display().to_string());
    params.insert("Mode", "report".into());
    let run = run_ssm_document(&params, &server.url());
    assert_eq!(run.code, 0, "report mode never fails a fleet sweep: {}", run.stderr);
    assert!(run.stdout.starts_with("rolecall static-credentials-despite-role "), "{}", run.stdout);
    // The report follows the summary line on stdout: what reaches S3 is what fleet summarize reads.
    let printed: Value = serde_json::from_str(run.stdout.split_once('\n').unwrap().1).unwrap();
    assert_eq!(printed["verdict"]["verdict"], "static-credentials-despite-role");
    let full: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(full["verdict"]["live_credentials"], 1);
    params.insert("Mode", "enforce".into());
    assert_eq!(run_ssm_document(&params, &server.url()).code, 1, "enforce mode fails on the verdict");
    let clean = host(false);
    params.insert("Root", clean.root().display().to_string());
    let run = run_ssm_document(&params, &server.url());
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.starts_with("rolecall pass "));
    params.insert("Binary", "/nonexistent/rolecall".into());
    let run = run_ssm_document(&params, &server.url());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not installed"));
}

/// `Compliance=true` adds `--ssm-compliance` to the scan's command line,
/// and nothing else changes (a stand-in binary records its arguments: the
/// real one would call SSM's regional endpoint).
#[test]
fn ssm_document_compliance_parameter_turns_on_ssm_compliance() {
    let t = Tree::new();
    let args = t.path("args");
    let stand_in = t.write("rolecall", format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > {}\nexit 0\n", args.display()));
    std::fs::set_permissions(&stand_in, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut params: BTreeMap<&str, String> = BTreeMap::new();
    for (k, v) in
        [("Binary", stand_in.display().to_string()), ("Inventory", "false".into()), ("MaxSeconds", "60".into())]
    {
        params.insert(k, v);
    }
    params.insert("Output", t.path("var/lib/rolecall/last.json").display().to_string());
    params.insert("UploadTo", String::new());
    params.insert("Root", "/".into());
    params.insert("Mode", "report".into());
    let mut seen = Vec::new();
    for on in ["true", "false"] {
        params.insert("Compliance", on.into());
        let run = run_ssm_document(&params, "http://127.0.0.1:9");
        assert_eq!(run.code, 0, "{}", run.stderr);
        seen.push(std::fs::read_to_string(&args).unwrap());
    }
    assert!(seen[0].lines().any(|a| a == "--ssm-compliance"), "{}", seen[0]);
    assert_eq!(seen[0].replace("--ssm-compliance\n", ""), seen[1], "only the flag differs");
}

/// The instance identity document of a fixture instance.
fn identity(instance: &str) -> String {
    format!(
        r#"{{"accountId":"123456789012","availabilityZone":"us-east-1a","imageId":"ami-0abcdef1234567890","instanceId":"{instance}","instanceType":"t3.micro","region":"us-east-1","version":"2017-09-30"}}"#
    )
}

/// `rolecall fleet summarize --format json PATH`.
fn fleet_summary(path: &Path) -> (i32, Value) {
    let mut cmd = rolecall();
    cmd.args(["fleet", "summarize", "--format", "json"]).arg(path);
    let run = run_with_limit(cmd, Duration::from_secs(60));
    (run.code, run.json())
}

/// The fleet flow the README documents: the Command document runs on three
/// instances (two carry the same baked-in key), the agent's S3 layout is
/// laid out as it writes it, and `fleet summarize` over the downloaded tree
/// counts every instance and finds the shared key; then the same with the
/// report copied by the AWS CLI (`UploadTo`).
#[test]
fn ssm_fleet_flow_end_to_end() {
    let instances = [("i-0aaaaaaaaaaaaaaa1", true), ("i-0bbbbbbbbbbbbbbb2", true), ("i-0ccccccccccccccc3", false)];
    let roots: Vec<Tree> = instances.iter().map(|(_, dirty)| host(*dirty)).collect();
    let out = Tree::new();
    let s3 = out.path("s3/my-bucket");
    let command_id = "0b9b8a4e-5f1c-4a3e-9d62-7e1f2c3d4b5a";
    let params_for = |root: &Tree, output: &Path, upload: &str| {
        let mut p: BTreeMap<&str, String> = BTreeMap::new();
        p.insert("Binary", env!("CARGO_BIN_EXE_rolecall").to_string());
        p.insert("Inventory", "false".into());
        p.insert("Compliance", "false".into());
        p.insert("MaxSeconds", "60".into());
        p.insert("Mode", "report".into());
        p.insert("Output", output.display().to_string());
        p.insert("Root", root.root().display().to_string());
        p.insert("UploadTo", upload.to_string());
        p
    };
    for ((id, _), root) in instances.iter().zip(&roots) {
        let server = Server::start_with_identity(Mode::TokenRequired, identity(id));
        let params = params_for(root, &out.path(format!("{id}/last.json")), "");
        let env = [("AWS_SSM_INSTANCE_ID", id.to_string()), ("SSM_COMMAND_ID", command_id.to_string())];
        let run = run_ssm_document_as(&params, &server.url(), &env);
        assert_eq!(run.code, 0, "{id}: {}", run.stderr);
        // What the agent uploads: <prefix>/<command-id>/<instance-id>/awsrunShellScript/<step>/stdout|stderr.
        let step = s3.join(format!("rolecall/{command_id}/{id}/awsrunShellScript/rolecall"));
        std::fs::create_dir_all(&step).unwrap();
        std::fs::write(step.join("stdout"), &run.stdout).unwrap();
        std::fs::write(step.join("stderr"), &run.stderr).unwrap();
        // The console's 2,500 characters begin with the verdict.
        assert!(run.stdout[..run.stdout.len().min(2500)].starts_with("rolecall "), "{}", run.stdout);
    }
    let (code, fleet) = fleet_summary(&s3.join("rolecall"));
    assert_eq!(code, 0, "{fleet}");
    assert_eq!(fleet["instances"], 3, "{fleet}");
    assert_eq!(fleet["reports_read"], 3);
    assert_eq!(fleet["unreadable"], serde_json::json!([]), "the agent's stderr files are not reports");
    assert_eq!(fleet["conflicts"], serde_json::json!([]));
    assert_eq!(fleet["by_verdict"], serde_json::json!({ "pass": 1, "static-credentials-despite-role": 2 }));
    assert_eq!(
        fleet["shared_keys"],
        serde_json::json!([{ "key_id": "AKIA2OGYBAH6STMMNXNN", "instances": ["i-0aaaaaaaaaaaaaaa1", "i-0bbbbbbbbbbbbbbb2"] }])
    );
    let mut cmd = rolecall();
    cmd.args(["fleet", "summarize"]).arg(&s3);
    let text = run_with_limit(cmd, Duration::from_secs(60)).stdout;
    assert!(text.starts_with("rolecall fleet summary: 3 instances from 3 reports (0 files unreadable)"), "{text}");
    assert!(text.contains("AKIA2OGYBAH6STMMNXNN on 2 instances: i-0aaaaaaaaaaaaaaa1, i-0bbbbbbbbbbbbbbb2"), "{text}");

    // UploadTo: the AWS CLI copies the report (a stand-in `aws` on PATH
    // records its command line and copies into a local "bucket").
    let bin = out.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = out.path("aws.log");
    let bucket_root = out.path("uploaded");
    let fake = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$*\" >> {log}\n[ \"$1 $2 $3\" = 's3 cp --only-show-errors' ] || exit 252\n\
         dest={bucket_root}/${{5#s3://}}\nmkdir -p \"$(dirname \"$dest\")\" && cp \"$4\" \"$dest\"\n",
        log = log.display(),
        bucket_root = bucket_root.display()
    );
    let aws = bin.join("aws");
    std::fs::write(&aws, fake).unwrap();
    std::fs::set_permissions(&aws, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/bin", bin.display());
    for ((id, _), root) in instances.iter().zip(&roots) {
        let server = Server::start_with_identity(Mode::TokenRequired, identity(id));
        let output = out.path(format!("{id}/upload.json"));
        let params = params_for(root, &output, "s3://my-bucket/rolecall/reports");
        let env = [("AWS_SSM_INSTANCE_ID", id.to_string()), ("PATH", path.clone())];
        let run = run_ssm_document_as(&params, &server.url(), &env);
        assert_eq!(run.code, 0, "{id}: {}", run.stderr);
        assert_eq!(run.stdout.lines().count(), 1, "only the summary line on stdout: {}", run.stdout);
        let logged = std::fs::read_to_string(&log).unwrap();
        let expected =
            format!("s3 cp --only-show-errors {} s3://my-bucket/rolecall/reports/{id}/rolecall.json", output.display());
        assert!(logged.lines().any(|l| l == expected), "{logged}");
    }
    let (code, fleet) = fleet_summary(&bucket_root);
    assert_eq!(code, 0, "{fleet}");
    assert_eq!(fleet["instances"], 3, "{fleet}");
    assert_eq!(fleet["shared_keys"][0]["instances"].as_array().unwrap().len(), 2);
    // Without the agent's instance ID nothing is uploaded under a guessed name.
    let server = Server::start_with_identity(Mode::TokenRequired, identity(instances[0].0));
    let params = params_for(&roots[0], &out.path("x.json"), "s3://my-bucket/rolecall/reports");
    let run = run_ssm_document_as(
        &params,
        &server.url(),
        &[("PATH", path.clone()), ("AWS_SSM_INSTANCE_ID", "../i-0".into())],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no instance ID from the SSM agent"), "{}", run.stderr);
}

#[test]
fn state_manager_association_matches_the_document() {
    let assoc: Value =
        serde_json::from_str(&std::fs::read_to_string(packaging("ssm/association.json")).unwrap()).unwrap();
    let doc = yaml("ssm/rolecall-scan.yaml");
    assert_eq!(assoc["Name"], "RolecallScan");
    assert_eq!(assoc["MaxErrors"], "100%");
    assert!(assoc["ScheduleExpression"].as_str().unwrap().starts_with("rate("));
    for (k, v) in assoc["Parameters"].as_object().unwrap() {
        let p = &doc["parameters"][k];
        assert!(p.is_object(), "{k} is not a document parameter");
        assert!(v.is_array(), "association parameters are lists");
    }
}

#[test]
fn image_builder_component_fails_on_baked_keys() {
    let c = yaml("imagebuilder/rolecall-gate.yaml");
    assert_eq!(c["schemaVersion"], 1.0);
    let phases = c["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 1);
    assert_eq!(phases[0]["name"], "validate", "before the snapshot");
    let steps = phases[0]["steps"].as_array().unwrap();
    let actions: Vec<&str> = steps.iter().map(|s| s["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["S3Download", "SetFilePermissions", "ExecuteBinary", "DeleteFile"]);
    let gate = &steps[2];
    assert_eq!(gate["onFailure"], "Abort");
    assert_eq!(gate["inputs"]["path"], "/usr/local/bin/rolecall", "a root-owned place, not /tmp");
    assert_eq!(steps[0]["inputs"][0]["destination"], "/usr/local/bin/rolecall");
    let declared: Vec<&str> = c["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p.as_object().unwrap().keys().map(String::as_str))
        .collect();
    assert!(declared.contains(&"BinaryS3Uri"));
    let args: Vec<String> =
        gate["inputs"]["arguments"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
    // The gate's own arguments, on an image with a key and on a clean one.
    for (with_key, code) in [(true, 1), (false, 0)] {
        let image = host(with_key);
        let mut cmd = rolecall();
        cmd.args(&args).arg("--root").arg(image.root()).arg("--no-imds");
        let run = run_with_limit(cmd, Duration::from_secs(60));
        assert_eq!(run.code, code, "with_key={with_key}: {}{}", run.stdout, run.stderr);
    }
}

#[test]
fn packer_example_gates_the_build() {
    let text = std::fs::read_to_string(packaging("packer/rolecall.pkr.hcl")).unwrap();
    let body: hcl::Body = hcl::from_str(&text).unwrap();
    let build = body.blocks().find(|b| b.identifier() == "build").expect("a build block");
    let provisioners: Vec<&hcl::Block> = build.body().blocks().filter(|b| b.identifier() == "provisioner").collect();
    let kinds: Vec<String> = provisioners.iter().map(|p| p.labels()[0].as_str().to_string()).collect();
    assert_eq!(kinds, ["file", "shell", "file", "shell"]);
    let gate = provisioners[1];
    let attr = |name: &str| gate.body().attributes().find(|a| a.key() == name).map(|a| a.expr().to_string());
    assert_eq!(attr("valid_exit_codes").unwrap().split_whitespace().collect::<String>(), "[0]");
    let inline = attr("inline").unwrap();
    assert!(inline.contains("--fail-on credentials"), "{inline}");
    // Root runs it from a directory only root can write, never from /tmp.
    assert!(inline.contains("sudo install -o root -g root -m 0755 /tmp/rolecall /usr/local/bin/rolecall"), "{inline}");
    assert!(inline.contains("sudo /usr/local/bin/rolecall scan") && !inline.contains("sudo /tmp/rolecall"), "{inline}");
    assert!(body.blocks().any(|b| b.identifier() == "variable"));
    // The report root wrote is handed to the SSH user, who downloads it.
    let download = provisioners[2];
    let source = download.body().attributes().find(|a| a.key() == "source").unwrap().expr().to_string();
    assert!(source.contains("/tmp/rolecall-report.json"), "{source}");
    assert!(
        inline
            .contains(r#"-o \"$(id -u)\" -g \"$(id -g)\" /var/lib/rolecall/image-gate.json /tmp/rolecall-report.json"#),
        "{inline}"
    );
    let packer = body.blocks().find(|b| b.identifier() == "packer").expect("a packer block");
    assert!(packer.body().attributes().any(|a| a.key() == "required_version"));

    // The gate's lines, run as Packer runs them (sh -e), as root on a fixture
    // image with a key: they fail the build, say why, and hand over the report.
    let lines: Vec<String> = match gate.body().attributes().find(|a| a.key() == "inline").unwrap().expr() {
        hcl::Expression::Array(items) => items
            .iter()
            .map(|e| match e {
                hcl::Expression::String(s) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect(),
        other => panic!("{other:?}"),
    };
    let scratch = Tree::new();
    let image = host(true);
    let bin = scratch.path("usr-local-bin/rolecall");
    let state = scratch.path("var-lib-rolecall");
    let report = scratch.path("tmp/rolecall-report.json");
    std::fs::create_dir_all(scratch.path("tmp")).unwrap();
    std::fs::create_dir_all(scratch.path("usr-local-bin")).unwrap();
    let script: Vec<String> = lines
        .iter()
        .map(|l| {
            l.replace("sudo ", "")
                .replace("/tmp/rolecall-report.json", &report.display().to_string())
                .replace("/tmp/rolecall ", &format!("{} ", env!("CARGO_BIN_EXE_rolecall")))
                .replace("/usr/local/bin/rolecall", &bin.display().to_string())
                .replace("/var/lib/rolecall", &state.display().to_string())
                .replace(
                    "--sources users,files",
                    &format!("--sources users,files --no-imds --root {}", image.root().display()),
                )
        })
        .collect();
    let mut cmd = Command::new("sh");
    cmd.arg("-e").arg("-c").arg(script.join("\n"));
    let run = run_with_limit(cmd, Duration::from_secs(120));
    assert_eq!(run.code, 1, "a baked-in key fails the build: {}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("AWS credentials are baked into this image"), "{}{}", run.stdout, run.stderr);
    let handed: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(handed["verdict"]["live_credentials"], 1);

    // Packer itself, when Debian's is installed (tests/run.sh installs it where apt-get can).
    let Some(packer) = which("packer") else {
        eprintln!("SKIPPED: packer is not installed (Debian's package: apt-get install packer)");
        return;
    };
    let dir = Tree::new();
    dir.write("rolecall.pkr.hcl", &text);
    dir.write(
        "source.pkr.hcl",
        "source \"amazon-ebs\" \"base\" {\n  region = \"us-east-1\"\n  source_ami = \"ami-0abcdef1234567890\"\n  instance_type = \"t3.micro\"\n  ssh_username = \"ec2-user\"\n  ami_name = \"rolecall-validate\"\n  skip_credential_validation = true\n}\n",
    );
    let out = Command::new(packer)
        .arg("validate")
        .arg(format!("-var=rolecall_binary={}", env!("CARGO_BIN_EXE_rolecall")))
        .arg(".")
        .current_dir(dir.root())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Nothing may leave the machine: any request goes to a closed loopback port.
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "packer validate: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `[Section]` → key → values, as systemd reads a unit file.
fn unit(rel: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut section = String::new();
    for line in std::fs::read_to_string(packaging(rel)).unwrap().lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(s) = l.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = s.to_string();
            continue;
        }
        let (k, v) = l.split_once('=').unwrap_or_else(|| panic!("{rel}: {l}"));
        out.entry(section.clone()).or_default().entry(k.trim().to_string()).or_default().push(v.trim().to_string());
    }
    out
}

/// Directives the units may use, with the systemd version that brought each:
/// all must be known to Amazon Linux 2's systemd 219 (RandomizedDelaySec
/// came in 229 upstream and is in RHEL 7's and Amazon Linux 2's 219).
const KNOWN_TO_219: &[&str] = &[
    "Description",
    "Documentation",
    "After",
    "Wants",
    "Type",
    "ExecStartPre",
    "ExecStart",
    "Nice",
    "IOSchedulingClass",
    "TimeoutStartSec",
    "MemoryLimit",
    "OnCalendar",
    "RandomizedDelaySec",
    "AccuracySec",
    "Persistent",
    "WantedBy",
];

#[test]
fn systemd_units_are_a_gentle_daily_oneshot() {
    let service = unit("systemd/rolecall.service");
    let timer = unit("systemd/rolecall.timer");
    for (name, u) in [("service", &service), ("timer", &timer)] {
        for directives in u.values() {
            for d in directives.keys() {
                assert!(KNOWN_TO_219.contains(&d.as_str()), "{name}: {d} is not known to systemd 219");
            }
        }
    }
    assert!(!service.contains_key("Install"), "the timer starts the service");
    let s = &service["Service"];
    assert_eq!(s["Type"], ["oneshot"]);
    assert_eq!(s["Nice"], ["19"]);
    assert_eq!(s["IOSchedulingClass"], ["idle"]);
    let exec = &s["ExecStart"][0];
    assert!(
        exec.starts_with("/usr/bin/rolecall scan ")
            && exec.contains("--fail-on never")
            && exec.contains("--ssm-inventory")
    );
    // Bounded: the scan stops (and writes its report) before systemd kills it, in bounded memory.
    let max: u64 = exec.split_whitespace().skip_while(|a| *a != "--max-seconds").nth(1).unwrap().parse().unwrap();
    assert!(max < 3600 && s["TimeoutStartSec"] == ["1h"], "{exec}");
    assert_eq!(s["MemoryLimit"], ["1G"]);
    let t = &timer["Timer"];
    assert_eq!(t["OnCalendar"], ["daily"]);
    assert_eq!(t["Persistent"], ["true"]);
    assert!(t["RandomizedDelaySec"][0].parse::<u32>().unwrap() >= 600);
    assert_eq!(timer["Install"]["WantedBy"], ["timers.target"]);
    // The service's command line, against a fixture root: it parses, writes
    // its report and inventory, and never fails on what it finds.
    let image = host(true);
    let out = Tree::new();
    let server = Server::start(Mode::TokenRequired);
    let args: Vec<String> = exec
        .split_whitespace()
        .skip(1)
        .map(|a| a.replace("/var/lib/rolecall/last.json", &out.path("last.json").display().to_string()))
        .collect();
    let mut cmd = rolecall_with_imds(&server.url());
    cmd.args(&args).arg("--root").arg(image.root()).arg("--ssm-data-dir").arg(out.path("ssm"));
    let run = run_with_limit(cmd, Duration::from_secs(60));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(out.path("last.json").exists());
    assert!(out.path("ssm/i-0123456789abcdef0/inventory/custom/rolecall.json").exists());
}

fn package(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("ROLECALL_REQUIRE_ORACLES").is_some() => {
            panic!("{var} is not set: tests/run.sh builds the packages")
        }
        None => {
            eprintln!("SKIPPED: {var} not set (bash tests/run.sh builds the packages)");
            None
        }
    }
}

const PACKAGED: &[&str] = &[
    "/usr/bin/rolecall",
    "/etc/rolecall/config.toml",
    "/usr/share/rolecall/ssm/rolecall-scan.yaml",
    "/usr/share/rolecall/ssm/association.json",
    "/usr/share/rolecall/imagebuilder/rolecall-gate.yaml",
    "/usr/share/rolecall/packer/rolecall.pkr.hcl",
    "/usr/share/doc/rolecall/README.md",
    "/usr/share/doc/rolecall/report.schema.json",
];

#[test]
fn deb_holds_the_binary_units_and_documents() {
    let Some(deb) = package("ROLECALL_DEB") else { return };
    let list = Command::new("dpkg-deb").arg("-c").arg(&deb).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for f in PACKAGED.iter().chain(&["/lib/systemd/system/rolecall.service", "/lib/systemd/system/rolecall.timer"]) {
        assert!(list.lines().any(|l| l.ends_with(&format!(".{f}"))), "{f} missing from the .deb:\n{list}");
    }
    assert!(list.lines().any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with("./usr/bin/rolecall")));
    let info =
        String::from_utf8_lossy(&Command::new("dpkg-deb").arg("-I").arg(&deb).output().unwrap().stdout).into_owned();
    assert!(info.contains("Package: rolecall") && info.contains("Section: admin"), "{info}");
    // The packaged binary runs.
    let x = Tree::new();
    assert!(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(x.root()).status().unwrap().success());
    // The static binary needs no libc (it runs on Amazon Linux 2's glibc
    // 2.26 and on any other), and the maintainer is a real address.
    let static_binary = String::from_utf8_lossy(
        &Command::new("file").arg("-b").arg(x.path("usr/bin/rolecall")).output().unwrap().stdout,
    )
    .contains("static");
    assert!(static_binary, "the .deb carries the static musl binary (tests/run.sh builds it)");
    assert!(!info.contains("libc6"), "a static binary depends on no libc:\n{info}");
    assert!(info.contains("Depends: ca-certificates\n"), "HTTPS needs the CA certificates:\n{info}");
    assert!(!info.contains("@invalid"), "{info}");
    assert!(list.contains("./usr/share/man/man1/rolecall-scan.1.gz"), "{list}");
    assert!(list.contains("./usr/share/doc/rolecall/changelog.Debian.gz"), "{list}");
    let control = Tree::new();
    assert!(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(control.root()).status().unwrap().success());
    assert_eq!(std::fs::read_to_string(control.path("conffiles")).unwrap().trim(), "/etc/rolecall/config.toml");
    let version = Command::new(x.path("usr/bin/rolecall")).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("rolecall {}", env!("CARGO_PKG_VERSION")));

    // Installed by dpkg into an empty root (the package has no maintainer
    // scripts): dpkg -V finds no file missing, the installed binary runs.
    if !is_root() {
        eprintln!("SKIPPED: installing the .deb into a scratch root needs root");
        return;
    }
    let root = Tree::new();
    root.write("var/lib/dpkg/status", "");
    std::fs::create_dir_all(root.path("var/lib/dpkg/info")).unwrap();
    std::fs::create_dir_all(root.path("var/lib/dpkg/updates")).unwrap();
    std::fs::create_dir_all(root.path("var/log")).unwrap();
    let host_log = std::fs::metadata("/var/log/dpkg.log").map(|m| m.len()).ok();
    // Its database and its log in the scratch root too: nothing of the host's is written.
    let dpkg = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("dpkg")
            .arg("--root")
            .arg(root.root())
            .arg("--admindir")
            .arg(root.path("var/lib/dpkg"))
            .arg("--log")
            .arg(root.path("var/log/dpkg.log"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "dpkg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The scratch root holds no libc6 package: its Depends is checked above, not here.
    dpkg(&["--force-depends".as_ref(), "-i".as_ref(), deb.as_os_str()]);
    assert!(dpkg(&["-s".as_ref(), "rolecall".as_ref()]).contains("Status: install ok installed"));
    assert_eq!(dpkg(&["-V".as_ref(), "rolecall".as_ref()]), "", "no installed file is missing");
    assert_eq!(
        std::fs::metadata("/var/log/dpkg.log").map(|m| m.len()).ok(),
        host_log,
        "the host's dpkg log is untouched"
    );
    assert!(std::fs::read_to_string(root.path("var/log/dpkg.log")).unwrap().contains("install rolecall"));
    let version = Command::new(root.path("usr/bin/rolecall")).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("rolecall {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn rpm_holds_the_binary_units_and_documents() {
    let Some(rpm) = package("ROLECALL_RPM") else { return };
    let q = |args: &[&str]| {
        let out = Command::new("rpm").args(args).arg(&rpm).output().unwrap();
        assert!(out.status.success(), "rpm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list = q(&["-qlp"]);
    for f in
        PACKAGED.iter().chain(&["/usr/lib/systemd/system/rolecall.service", "/usr/lib/systemd/system/rolecall.timer"])
    {
        assert!(list.lines().any(|l| l == *f), "{f} missing from the .rpm:\n{list}");
    }
    assert_eq!(q(&["-qp", "--qf", "%{NAME} %{VERSION}"]), format!("rolecall {}", env!("CARGO_PKG_VERSION")));
    let config = q(&["-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]"]);
    assert!(config.lines().any(|l| l.starts_with("/etc/rolecall/config.toml c")), "a config file:\n{config}");
    let requires = q(&["-qpR"]);
    assert!(!requires.contains("PayloadIsZstd"), "Amazon Linux 2's rpm cannot read zstd payloads:\n{requires}");
    // The static (musl) binary needs no libc.
    let rpm2 = q(&["-qpl"]);
    assert!(rpm2.contains("/usr/bin/rolecall"));
    let static_binary = {
        let x = Tree::new();
        let cpio = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "cd {} && rpm2cpio {} | cpio -idm --quiet ./usr/bin/rolecall && file -b usr/bin/rolecall",
                x.root().display(),
                rpm.display()
            ))
            .output()
            .unwrap();
        String::from_utf8_lossy(&cpio.stdout).contains("static")
    };
    assert!(static_binary, "the .rpm carries the static musl binary (tests/run.sh builds it)");
    assert!(!requires.contains("libc.so") && !requires.contains("rtld("), "a static binary needs no libc:\n{requires}");
    assert!(requires.lines().any(|l| l == "ca-certificates"), "HTTPS needs the CA certificates:\n{requires}");
    // It owns its directories (they go with rpm -e) and ships its manual pages and changelog.
    for d in ["/etc/rolecall", "/usr/share/rolecall", "/usr/share/rolecall/ssm", "/usr/share/doc/rolecall"] {
        assert!(list.lines().any(|l| l == d), "{d} is not owned by the .rpm:\n{list}");
    }
    assert!(list.lines().any(|l| l == "/usr/share/man/man1/rolecall-scan.1.gz"), "{list}");
    assert!(q(&["-qp", "--changelog"]).contains("First packaged release"));

    // Installed by rpm itself into an empty root: every file lands with its
    // digest and mode (rpm -V), and the installed binary runs.
    if !is_root() {
        eprintln!("SKIPPED: installing the .rpm into a scratch root needs root");
        return;
    }
    let root = Tree::new();
    let rpm_in = |args: &[&str]| {
        let out = Command::new("rpm").arg("--root").arg(root.root()).args(args).output().unwrap();
        assert!(out.status.success(), "rpm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    rpm_in(&["--initdb"]);
    rpm_in(&["-i", "--nodeps", "--noscripts", "--notriggers", rpm.to_str().unwrap()]);
    assert_eq!(
        rpm_in(&["-q", "rolecall"]).trim(),
        format!("rolecall-{}-1.{}", env!("CARGO_PKG_VERSION"), std::env::consts::ARCH)
    );
    assert_eq!(rpm_in(&["-V", "--nodeps", "rolecall"]), "", "every installed file matches the package");
    let version = Command::new(root.path("usr/bin/rolecall")).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("rolecall {}", env!("CARGO_PKG_VERSION")));
}

/// Lines of a linter's output that are errors (`E:`).
fn errors_of(out: &std::process::Output) -> Vec<String> {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    text.lines().filter(|l| l.starts_with("E:") || l.contains(": E: ")).map(str::to_string).collect()
}

/// The packages as the distributions' own linters see them: lintian for
/// the .deb, rpmlint for the .rpm (signed first with a throwaway key, as a
/// release signs with the project's, and checked against it in a scratch
/// rpm database). Any error fails.
#[test]
fn packages_pass_lintian_and_rpmlint() {
    let (Some(deb), Some(rpm)) = (package("ROLECALL_DEB"), package("ROLECALL_RPM")) else { return };
    let (Some(lintian), Some(rpmlint), Some(gpg)) = (which("lintian"), which("rpmlint"), which("gpg")) else {
        assert!(std::env::var_os("ROLECALL_REQUIRE_ORACLES").is_none(), "lintian, rpmlint and gpg are required");
        eprintln!("SKIPPED: lintian, rpmlint or gpg not installed (bash tests/run.sh installs them)");
        return;
    };
    let out = Command::new(&lintian).args(["--tag-display-limit", "0"]).arg(&deb).output().unwrap();
    let errors = errors_of(&out);
    assert!(errors.is_empty(), "lintian:\n{}", errors.join("\n"));
    // The checks that the issue named, each gone.
    let all = String::from_utf8_lossy(&out.stdout).into_owned();
    for tag in [
        "bogus-mail-host",
        "no-changelog",
        "copyright-without-copyright-notice",
        "no-manual-page",
        "empty-field Depends",
    ] {
        assert!(!all.contains(tag), "lintian still says {tag}:\n{all}");
    }

    let scratch = Tree::new();
    let home = scratch.path("home");
    let keys = scratch.path("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::set_permissions(&keys, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let gpg_run = |args: &[&str]| {
        let o = Command::new(&gpg)
            .env("GNUPGHOME", &keys)
            .args(["--batch", "--passphrase", ""])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    gpg_run(&["--quick-gen-key", "rolecall test signing <signing@rolecall.test>", "rsa2048", "sign", "never"]);
    let public = scratch.write("key.asc", gpg_run(&["--armor", "--export", "rolecall test signing"]));
    let signed = scratch.path(rpm.file_name().unwrap());
    std::fs::copy(&rpm, &signed).unwrap();
    let sign = Command::new("rpmsign")
        .arg("--addsign")
        .args(["--define", &format!("__gpg {}", gpg.display())])
        .args(["--define", "_gpg_name rolecall test signing"])
        .args(["--define", &format!("_gpg_path {}", keys.display())])
        .args(["--define", "_gpg_sign_cmd_extra_args --batch --pinentry-mode loopback --passphrase="])
        .arg(&signed)
        .output()
        .unwrap();
    assert!(sign.status.success(), "rpmsign: {}", String::from_utf8_lossy(&sign.stderr));
    let db = scratch.path("rpmdb");
    std::fs::create_dir_all(&db).unwrap();
    for args in [vec!["--initdb".to_string()], vec!["--import".to_string(), public.display().to_string()]] {
        let o = Command::new("rpm").arg("--dbpath").arg(&db).args(&args).output().unwrap();
        assert!(o.status.success(), "rpm {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    }
    std::fs::write(home.join(".rpmmacros"), format!("%_dbpath {}\n", db.display())).unwrap();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/rpm/rpmlint.toml");
    let out = Command::new(&rpmlint).env("HOME", &home).arg("-c").arg(&config).arg(&signed).output().unwrap();
    let errors = errors_of(&out);
    assert!(errors.is_empty(), "rpmlint:\n{}", errors.join("\n"));
    let all = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(all.contains("0 errors"), "{all}");
    // And unsigned, the only error is the missing signature.
    let out = Command::new(&rpmlint).env("HOME", &home).arg("-c").arg(&config).arg(&rpm).output().unwrap();
    let errors = errors_of(&out);
    assert!(errors.iter().all(|e| e.contains("no-signature")), "rpmlint, unsigned:\n{}", errors.join("\n"));
}
