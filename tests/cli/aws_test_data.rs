//! AWS's own published test data for the Rust SDK's credential chain
//! (smithy-rs `aws-config/test-data`, copied unchanged into tests/data/; see
//! tests/data/AWS-TEST-DATA.md) run through rolecall's model of that SDK.
//! Each case is an environment, a filesystem and the HTTP traffic the SDK
//! made; the provider AWS's answer came from is read off the traffic (which
//! endpoint gave the credentials, which roles were assumed) and off where the
//! expected key sits, and rolecall's model must select the same provider. It
//! never talks to the network, nor reads token caches: where AWS's answer
//! needed a request, or a provider failed reading its own cache or token
//! file (as AWS's error names it), the provider selected is what is
//! compared, as tests/cli/chain_oracle.rs grades the real SDK.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rolecall::chain::{self, Context, InstanceRole, MetadataEndpoints, Sdk, Source};
use rolecall::environ::Environ;
use rolecall::hostfs::Files;
use serde_json::Value;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One request of a recorded exchange, with its body and the status it got.
struct Exchange {
    uri: String,
    body: String,
    status: Option<u64>,
}

fn traffic(case: &Path) -> Vec<Exchange> {
    let path = case.join("http-traffic.json");
    if !path.exists() {
        return Vec::new();
    }
    let mut by_connection: BTreeMap<u64, usize> = BTreeMap::new();
    let mut out: Vec<Exchange> = Vec::new();
    for event in read_json(&path)["events"].as_array().unwrap() {
        let id = event["connection_id"].as_u64().unwrap_or(0);
        let action = &event["action"];
        if let Some(req) = action.get("Request") {
            by_connection.insert(id, out.len());
            let uri = req["request"]["uri"].as_str().unwrap().to_string();
            out.push(Exchange { uri, body: String::new(), status: None });
        } else if let Some(resp) = action.get("Response") {
            if let Some(&i) = by_connection.get(&id) {
                out[i].status = resp["response"]["Ok"]["status"].as_u64();
            }
        } else if let Some(d) = action.get("Data").filter(|d| d["direction"] == "Request")
            && let (Some(&i), Some(text)) = (by_connection.get(&id), d["data"]["Utf8"].as_str())
        {
            out[i].body.push_str(text);
        }
    }
    out
}

/// Whether IMDS, in this recording, hands out a role's credentials.
fn role_attached(exchanges: &[Exchange]) -> bool {
    exchanges.iter().any(|e| e.uri.ends_with("/meta-data/iam/security-credentials/") && e.status == Some(200))
}

/// The provider AWS's answer came from: `assume-role(BASE)` for each role
/// assumed, BASE `*` when it made no request (static keys or a process).
fn expected(case: &Path, env: &BTreeMap<String, String>) -> String {
    let result = read_json(&case.join("test-case.json"))["result"].clone();
    let exchanges = traffic(case);
    let mut base: Option<&str> = None;
    let mut roles: Vec<&str> = Vec::new();
    for e in &exchanges {
        let kind = if e.body.contains("Action=AssumeRoleWithWebIdentity") {
            "web-identity"
        } else if e.body.contains("Action=AssumeRole&") {
            // A retry sends the same request again: one role.
            if !roles.contains(&e.body.as_str()) {
                roles.push(&e.body);
            }
            continue;
        } else if e.uri.contains("/federation/credentials") {
            "sso"
        } else if e.uri.starts_with("http://169.254.169.254/") {
            if !role_attached(&exchanges) {
                continue;
            }
            "instance-role"
        } else if e.uri.starts_with("http://169.254.170.") {
            "container"
        } else {
            continue;
        };
        base.get_or_insert(kind);
    }
    let wrap = |base: String| (0..roles.len()).fold(base, |inner, _| format!("assume-role({inner})"));
    if let Some(ok) = result.get("Ok") {
        let key = ok["access_key_id"].as_str().unwrap();
        let base = match base {
            Some(b) => b.to_string(),
            None if !roles.is_empty() => "*".to_string(),
            None if env.get("AWS_ACCESS_KEY_ID").map(|v| v.trim()) == Some(key) => "environment".to_string(),
            None if files_contain(&case.join("fs"), key) => "profile".to_string(),
            None => "credential-process".to_string(),
        };
        return wrap(base);
    }
    let error = result.get("ErrorContains").and_then(Value::as_str).unwrap_or_default();
    match base {
        // The provider was selected and its request failed: roles it was
        // to be the source of were never asked for (`~` in `agrees`).
        Some(b) => format!("~{}", wrap(b.to_string())),
        None if !roles.is_empty() => wrap("*".into()),
        // The provider was selected and failed before any request: its error
        // names what it could not read.
        None if error.contains("external process") => "credential-process".into(),
        None if error.contains("/.aws/sso/cache/") => "sso".into(),
        None if error.contains("No such file") && env.contains_key("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") => {
            "container".into()
        }
        None => "fails".into(),
    }
}

fn files_contain(dir: &Path, needle: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            files_contain(&p, needle)
        } else {
            std::fs::read_to_string(&p).is_ok_and(|t| t.contains(needle))
        }
    })
}

/// rolecall's answer in the same words.
fn ours(source: &Source) -> String {
    match source {
        Source::Environment { .. } => "environment".into(),
        Source::SharedCredentialsFile { .. } | Source::ConfigFile { .. } => "profile".into(),
        Source::CredentialProcess { .. } => "credential-process".into(),
        Source::AssumeRole { source, .. } => format!("assume-role({})", ours(source)),
        Source::WebIdentity { .. } => "web-identity".into(),
        Source::Sso { .. } => "sso".into(),
        Source::Login { .. } => "login".into(),
        Source::Container { .. } => "container".into(),
        Source::InstanceRole => "instance-role".into(),
        Source::NoCredentials | Source::Error { .. } => "fails".into(),
        other => format!("{other:?}"),
    }
}

fn agrees(expected: &str, ours: &str) -> bool {
    if let Some(failed) = expected.strip_prefix('~') {
        let mut inner = ours;
        loop {
            if agrees(failed, inner) {
                return true;
            }
            match inner.strip_prefix("assume-role(").and_then(|r| r.strip_suffix(')')) {
                Some(i) => inner = i,
                None => return false,
            }
        }
    }
    match expected.split_once('*') {
        Some((pre, post)) => ours
            .strip_prefix(pre)
            .and_then(|r| r.strip_suffix(post))
            .is_some_and(|base| ["environment", "profile", "credential-process"].contains(&base)),
        None => expected == ours,
    }
}

/// Fails with every disagreement, or says how many cases agreed.
fn all_agree(what: &str, cases: usize, disagreements: &[String]) {
    assert!(
        disagreements.is_empty(),
        "{what}: {} of {cases} cases disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    eprintln!("{what}: {cases} of {cases} cases agree");
}

/// Runs every case under `dir` through `resolve`; returns the number of
/// cases and the disagreements.
fn run_cases(dir: &str, resolve: impl Fn(&Context) -> Source) -> (usize, Vec<String>) {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(data(dir)).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    let mut disagreements = Vec::new();
    for case in &cases {
        let env: BTreeMap<String, String> = serde_json::from_value(read_json(&case.join("env.json"))).unwrap();
        let environ = Environ::from_pairs(env.iter());
        // The case's fs/ is the host's /: HOME=/home reads fs/home/.aws/config.
        let files = Files::new(&case.join("fs"));
        let homes = BTreeMap::new();
        let ctx = Context {
            env: &environ,
            passwd_home: None,
            homes: &homes,
            cwd: None,
            files: &files,
            instance: InstanceRole { attached: role_attached(&traffic(case)), v1_only: false },
            argv: None,
            signing_helper_ports: &[],
            metadata: &MetadataEndpoints::default(),
            metadata_endpoint: Default::default(),
            container_endpoint: Default::default(),
        };
        let (want, got) = (expected(case, &env), ours(&resolve(&ctx)));
        if !agrees(&want, &got) {
            let name = case.file_name().unwrap().to_string_lossy();
            disagreements.push(format!("{dir}/{name}: AWS's answer came from {want}, rolecall's model says {got}"));
        }
    }
    (cases.len(), disagreements)
}

#[test]
fn the_rust_sdk_model_passes_aws_default_chain_test_data() {
    let (n, bad) =
        run_cases("aws-config/default-credential-provider-chain", |ctx| chain::resolve(ctx, Sdk::Rust).source);
    assert!(n >= 29, "{n} cases");
    all_agree("aws-config default chain", n, &bad);
}

#[test]
fn the_rust_sdk_model_passes_aws_profile_provider_test_data() {
    let (n, bad) = run_cases("aws-config/profile-provider", chain::rust_profile_provider);
    assert!(n >= 18, "{n} cases");
    all_agree("aws-config profile provider", n, &bad);
}

/// A host with only these environment variables and `files` (relative to
/// its root, which is also HOME), with or without an instance role.
fn resolve_on(
    env: &[(String, String)],
    files: &[(String, String)],
    attached: bool,
    resolve: impl Fn(&Context) -> Source,
) -> Source {
    let t = crate::util::Tree::new();
    for (path, text) in files {
        t.write(path, text);
    }
    let mut env = env.to_vec();
    if !env.iter().any(|(k, _)| k == "HOME") {
        env.push(("HOME".into(), "/".into()));
    }
    let environ = Environ::from_pairs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let homes = BTreeMap::new();
    let files = Files::new(t.root());
    let ctx = Context {
        env: &environ,
        passwd_home: None,
        homes: &homes,
        cwd: None,
        files: &files,
        instance: InstanceRole { attached, v1_only: false },
        argv: None,
        signing_helper_ports: &[],
        metadata: &MetadataEndpoints::default(),
        metadata_endpoint: Default::default(),
        container_endpoint: Default::default(),
    };
    resolve(&ctx)
}

#[test]
fn the_rust_sdk_model_passes_aws_container_endpoint_test_data() {
    let tests = read_json(&data("aws-config/ecs-tests.json"))["tests"].as_array().unwrap().clone();
    let mut bad = Vec::new();
    for t in &tests {
        let env: Vec<(String, String)> =
            serde_json::from_value::<BTreeMap<String, String>>(t["env"].clone()).unwrap().into_iter().collect();
        let got = resolve_on(&env, &[], false, |ctx| chain::resolve(ctx, Sdk::Rust).source);
        let ok = match (t["result"].get("Ok").and_then(Value::as_str), &got) {
            (Some(uri), Source::Container { uri: ours, .. }) => uri == ours,
            (None, Source::Error { .. } | Source::NoCredentials) => true,
            _ => false,
        };
        if !ok {
            bad.push(format!("{}: AWS {}, rolecall's model {got:?}", t["docs"], t["result"]));
        }
    }
    all_agree("aws-config container endpoints", tests.len(), &bad);
}

#[test]
fn the_rust_sdk_model_passes_aws_assume_role_test_data() {
    let tests = read_json(&data("aws-config/assume-role-tests.json")).as_array().unwrap().clone();
    let mut bad = Vec::new();
    for t in &tests {
        let input = &t["input"];
        let mut config = String::new();
        let mut files = Vec::new();
        let section = |header: String, options: &Value, config: &mut String| {
            config.push_str(&format!("[{header}]\n"));
            for (k, v) in options.as_object().unwrap() {
                config.push_str(&format!("{k} = {}\n", v.as_str().unwrap()));
            }
        };
        for (name, options) in input["profiles"].as_object().unwrap() {
            let header = if name == "default" { name.clone() } else { format!("profile {name}") };
            section(header, options, &mut config);
        }
        for (name, options) in input.get("sso_sessions").and_then(Value::as_object).into_iter().flatten() {
            section(format!("sso-session {name}"), options, &mut config);
        }
        files.push((".aws/config".into(), config));
        let env = vec![("AWS_PROFILE".to_string(), input["selected_profile"].as_str().unwrap().to_string())];
        // The profile chain alone, as these cases test it (the instance has a
        // role, for `credential_source = Ec2InstanceMetadata`).
        let got = ours(&resolve_on(&env, &files, true, chain::rust_profile_provider));
        let want = match t["output"].get("ProfileChain").and_then(Value::as_array) {
            Some(links) => {
                let base = match links[0].as_object().unwrap().iter().next().unwrap() {
                    (k, _) if k == "AccessKey" => "profile".to_string(),
                    (k, _) if k == "WebIdentityToken" => "web-identity".to_string(),
                    // A token-only SSO profile gives no credentials (the provider refuses it).
                    (k, v) if k == "Sso" && v.get("sso_account_id").is_none() => "fails".to_string(),
                    (k, _) if k == "Sso" => "sso".to_string(),
                    (k, v) if k == "NamedSource" => match v.as_str().unwrap() {
                        "Ec2InstanceMetadata" => "instance-role".to_string(),
                        "EcsContainer" => "container".to_string(),
                        other => other.to_lowercase(),
                    },
                    (k, _) => k.clone(),
                };
                let roles = links[1..].iter().filter(|l| l.get("AssumeRole").is_some()).count();
                (0..roles).fold(base, |inner, _| format!("assume-role({inner})"))
            }
            None => "fails".to_string(),
        };
        if want != got {
            bad.push(format!("{}: AWS {want}, rolecall's model {got}", t["docs"]));
        }
    }
    all_agree("aws-config assume-role chains", tests.len(), &bad);
}

/// The shared config file parser against AWS's `profile-parser-tests.json`
/// (the cases every AWS SDK's parser is held to): the same profiles, the
/// same properties and values (sub-properties as AWS keeps them), or an
/// error where AWS has one.
#[test]
fn the_rust_sdk_parser_passes_aws_profile_parser_test_data() {
    use rolecall::awsconfig::{SdkProfiles, parse_rust};
    let tests = read_json(&data("aws-runtime/profile-parser-tests.json"))["tests"].as_array().unwrap().clone();
    let mut bad = Vec::new();
    for t in &tests {
        let parse = |key: &str| parse_rust(t["input"].get(key).and_then(Value::as_str).unwrap_or(""));
        let got = match (parse("configFile"), parse("credentialsFile")) {
            (Ok(config), Ok(creds)) => {
                let p = SdkProfiles::rust(&config, &creds);
                Ok(serde_json::json!({ "profiles": p.profiles, "sso_sessions": p.sso_sessions }))
            }
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        };
        let ok = match (&t["output"].get("config"), &got) {
            (Some(want), Ok(got)) => {
                let mut want = (*want).clone();
                for part in ["profiles", "sso_sessions"] {
                    if want.get(part).is_none() {
                        want[part] = serde_json::json!({});
                    }
                }
                &want == got
            }
            (None, Err(_)) => true,
            _ => false,
        };
        if !ok {
            bad.push(format!("{}: AWS {}, rolecall {got:?}", t["name"], t["output"]));
        }
    }
    all_agree("aws-runtime profile parser", tests.len(), &bad);
}

/// `aws login` sessions (`login_session` profiles) against AWS's
/// `login-provider-test-cases.json`: the login provider is selected in every
/// case; whether its cache entry is complete, or its refresh (a network
/// call) works, decides only whether it then succeeds, graded as above by
/// the provider selected.
#[test]
fn the_rust_sdk_model_passes_aws_login_provider_test_data() {
    let tests = read_json(&data("aws-config/login-provider-test-cases.json")).as_array().unwrap().clone();
    let mut bad = Vec::new();
    for t in &tests {
        let mut files = vec![(".aws/config".to_string(), t["configContents"].as_str().unwrap().to_string())];
        for (name, contents) in t["cacheContents"].as_object().unwrap() {
            files.push((format!(".aws/login/cache/{name}"), contents.to_string()));
        }
        let profile = t["configContents"].as_str().unwrap().lines().next().unwrap();
        let profile = profile.trim_start_matches("[profile ").trim_end_matches(']').to_string();
        let env = vec![("AWS_PROFILE".to_string(), profile)];
        let got = ours(&resolve_on(&env, &files, false, chain::rust_profile_provider));
        let want = "login";
        if want != got {
            bad.push(format!("{}: AWS {want}, rolecall's model {got}", t["documentation"]));
        }
    }
    all_agree("aws-config login provider", tests.len(), &bad);
}

/// Where the shared files are (`file-location-tests.json`): each Linux
/// case's expected files get a profile with keys, and the model must load
/// them from there. (Windows cases do not apply: rolecall models Linux hosts.)
#[test]
fn the_rust_sdk_model_passes_aws_file_location_test_data() {
    let tests = read_json(&data("aws-runtime/file-location-tests.json"))["tests"].as_array().unwrap().clone();
    let mut checked = 0;
    let mut bad = Vec::new();
    for t in tests.iter().filter(|t| t["platform"] == "linux") {
        checked += 1;
        let env: Vec<(String, String)> =
            serde_json::from_value::<BTreeMap<String, String>>(t["environment"].clone()).unwrap().into_iter().collect();
        let profile = t.get("profile").and_then(Value::as_str).unwrap_or("default");
        for (file, header) in
            [("configLocation", format!("profile {profile}")), ("credentialsLocation", profile.into())]
        {
            let path = t[file].as_str().unwrap();
            let keys = format!("[{header}]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n");
            let files = vec![(path.trim_start_matches('/').to_string(), keys)];
            let got = resolve_on(&env, &files, false, chain::rust_profile_provider);
            let loaded = match &got {
                Source::SharedCredentialsFile { path: p, .. } | Source::ConfigFile { path: p, .. } => p == path,
                _ => false,
            };
            if !loaded {
                bad.push(format!("{}: {file} {path}, rolecall's model {got:?}", t["name"]));
            }
        }
    }
    assert!(checked >= 4, "{checked} Linux cases");
    all_agree("aws-runtime file locations (Linux)", checked, &bad);
}
