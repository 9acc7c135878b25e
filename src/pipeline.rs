//! Runs one scan end to end: IMDS in parallel with the sources (processes,
//! users, files), then each process's and user's credential chain, then the verdict.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::chain::{
    self, Context, Detected, InstanceRole, MetadataEndpoints, Runtime, Source, Subject, SubjectChain, loadable,
};
use crate::coverage::{Coverage, GapReason};
use crate::credential::{self, KeyId, KeyIdKind, Secret};
use crate::environ::Environ;
use crate::escape;
use crate::finding::{self, Finding, Kind};
use crate::hostfs::{FileText, Files, host_view};
use crate::imds::{self, ImdsReport, Served};
use crate::location::Location;
use crate::matcher::Matcher;
use crate::report::Report;
use crate::scan;
use crate::scan::{PairedBy, Sighting};
use crate::settings::{NetworkChecks, Settings};
use crate::sources::procenv::{self, Process, SIGNING_HELPER_PORT, SigningHelper};
use crate::sources::users::{self, User};
use crate::sources::walk::{Root, RootKind};
use crate::sources::{images, packages};
use crate::sts::{SigningKey, Sts, Verification};
use crate::verdict;

pub fn run(settings: &Settings, matcher: &Matcher) -> Report {
    let files = Files::new(&settings.host_root);
    let host_scan = settings.paths.is_empty();
    let progress = settings.scan.progress.clone().map(|c| (crate::progress::show(c.clone()), c));
    let mut report = std::thread::scope(|s| {
        // IMDS answers in milliseconds on EC2 and gives up within seconds
        // elsewhere: ask it while the sources are read.
        let imds = s.spawn(|| imds::probe(&settings.imds));
        let mut coverage = Coverage::default();
        let users = if host_scan || settings.processes || settings.users {
            users::load(&settings.host_root).unwrap_or_else(|e| {
                coverage.gap(escape::path(&settings.host_root.join("etc/passwd")), GapReason::IoError, e);
                Vec::new()
            })
        } else {
            Vec::new()
        };
        let names = users::names(&users);
        // Each process is matched as it is read; only what the SDK models need is kept.
        let mut process_scanner = scan::process::ProcessScanner::new(matcher, settings.scan.chunk_size);
        let mut sightings = Vec::new();
        let processes = if settings.processes {
            let limits = procenv::ProcessLimits { deadline: settings.scan.deadline, ..Default::default() };
            let name = |uid| names.get(&uid).cloned();
            procenv::list(Path::new("/proc"), std::process::id(), &name, limits, &mut coverage, &mut |p, env, argv| {
                sightings.extend(process_scanner.scan(p, env, argv))
            })
        } else {
            Vec::new()
        };
        coverage.merge(std::mem::take(&mut process_scanner.coverage));
        tracing::debug!(
            processes = processes.len(),
            elapsed_ms = settings.started.elapsed().as_millis() as u64,
            "processes read"
        );
        let roots = if !settings.files {
            Vec::new()
        } else if host_scan {
            let mut roots = crate::sources::host::plan(&settings.host_root, &users, &settings.plan, &files);
            let named = sdk_files(&processes, &users, &files);
            roots.extend(named.into_iter().map(|path| Root { path, kind: RootKind::NamedByHost }));
            roots
        } else {
            settings.paths.iter().map(|p| Root { path: p.clone(), kind: RootKind::Named }).collect()
        };
        tracing::debug!(roots = roots.len(), "walking");
        let scanned = scan::files::scan(&roots, &settings.walk, &settings.scan, matcher);
        tracing::debug!(
            files = scanned.coverage.files_scanned,
            bytes = scanned.coverage.bytes_scanned,
            elapsed_ms = settings.started.elapsed().as_millis() as u64,
            "walk done"
        );
        coverage.merge(scanned.coverage);
        if host_scan {
            coverage.roots = vec![format!("host {}", escape::path(&settings.host_root))];
        }
        sightings.extend(scanned.sightings);
        coverage.processes_scanned = processes.len() as u64;
        let imds = imds.join().expect("the IMDS probe does not panic");
        // The live host's user data: every local process can read it.
        if host_scan && settings.host_root == Path::new("/") {
            if let Some(data) = &imds.user_data {
                sightings.extend(scan::userdata::scan(data, matcher, settings.scan.chunk_size, &mut coverage));
            }
            if let Some(e) = &imds.user_data_error {
                coverage.gap("imds:user-data".into(), GapReason::IoError, e);
            }
        }
        let (mut findings, ignored) = finding::from_sightings(sightings, &settings.rules);
        coverage.ignored.add(ignored);
        // People's sign-ins cached in the homes the scan reads, named by a profile or not.
        if host_scan && settings.files {
            let sessions = crate::sources::sessions::find(&users, &files, &mut coverage);
            findings.extend(sessions.into_iter().map(Finding::of_session));
        }
        let mut platform = settings.platform_files.clone();
        platform.extend(ssm_agent_file(&files));
        if settings.host_root == Path::new("/") {
            platform.extend(signing_helper_files(&processes, &users, &files));
        }
        let policy = verdict::Policy {
            expected: &settings.expected,
            platform: &platform,
            baseline: &settings.baseline,
            today: crate::baseline::today(),
            fail_on: &settings.fail_on,
        };
        drop_vendor_content(&mut findings, &settings.host_root, &mut coverage);
        attribute_layers(&mut findings, &files);
        let sdk =
            sdk_view(&processes, &users, settings.users, &files, &imds, &settings.host_root, settings.scan.deadline);
        if sdk.unresolved > 0 {
            let detail = format!("{} processes' and users' chains not resolved: --max-seconds reached", sdk.unresolved);
            coverage.gap("chains".into(), GapReason::TimeLimit, detail);
        }
        for (endpoint, (why, users)) in &sdk.unverified {
            let shown: Vec<&str> = users.iter().take(3).map(String::as_str).collect();
            let more = if users.len() > 3 { format!(" and {} more", users.len() - 3) } else { String::new() };
            let detail =
                format!("the credentials endpoint of {}{more}; {why}: what it serves is not known", shown.join(", "));
            // A URL a process chose: no secret in it is shown, nor more than a line of it.
            let target = escape::cut(&credential::redact(endpoint), 200).into_owned();
            coverage.gap(target, GapReason::Unverified, credential::redact(&detail));
        }
        finding::merge_loaded(&mut findings, sdk.loaded);
        let chains = sdk.chains;
        tracing::debug!(
            chains = chains.len(),
            findings = findings.len(),
            "chains resolved and SDK-loaded pairs joined"
        );
        if settings.network.verify || settings.network.lookup_accounts {
            check_with_sts(&mut findings, &imds, &settings.network, &policy, &mut coverage);
        }
        coverage.complete = !scanned.timed_out && !coverage.has_unread();
        Report {
            hostname: hostname(),
            verdict: verdict::decide(&imds, &mut findings, &chains, &coverage, &policy),
            started_at: settings.started_at,
            rules: settings
                .rules
                .rules
                .iter()
                .map(|r| crate::report::RuleInfo {
                    id: r.spec.id.clone(),
                    name: r.spec.name.clone(),
                    description: r.spec.description.clone(),
                    severity: r.spec.severity,
                })
                .chain(findings.iter().any(|f| f.kind == Kind::PersonSession).then(session_rule))
                .collect(),
            imds,
            findings,
            chains,
            coverage,
            ssm_compliance: None,
        }
    });
    if let Some((handle, counters)) = progress {
        counters.finish();
        let _ = handle.join();
    }
    report.coverage.elapsed_ms = settings.started.elapsed().as_millis() as u64;
    report.sort();
    report
}

/// The shared credentials files that running IAM Roles Anywhere helpers
/// (`aws_signing_helper update`) keep temporary credentials in, as the host
/// sees them: the helper's `AWS_SHARED_CREDENTIALS_FILE`, else
/// `~/.aws/credentials` of its `HOME` (else its user's home). Only temporary
/// keys there are expected; a helper in a container writes its own files.
/// A helper counts only for a file its own user owns (or run by root): a
/// user's process, named so, cannot make another user's keys expected.
fn signing_helper_files(processes: &[Process], users: &[User], files: &Files) -> Vec<verdict::PlatformFile> {
    let mut out = Vec::new();
    for p in processes.iter().filter(|p| p.info.container.is_none()) {
        let Some(SigningHelper::Update { profile }) = &p.signing_helper else { continue };
        let passwd_home = || users.iter().find(|u| u.uid == p.info.uid).map(|u| u.home.clone());
        let path = match p.environ.get("AWS_SHARED_CREDENTIALS_FILE").filter(|f| !f.is_empty()) {
            Some(file) => p.cwd.as_deref().map_or_else(|| PathBuf::from(file), |cwd| cwd.join(file)),
            None => match p.environ.get("HOME").filter(|h| !h.is_empty()).map(PathBuf::from).or_else(passwd_home) {
                Some(home) => home.join(".aws/credentials"),
                None => continue,
            },
        };
        let Some(real) = files.resolve(&path) else { continue };
        let owner = std::fs::symlink_metadata(&real).map(|m| std::os::unix::fs::MetadataExt::uid(&m));
        if p.info.uid != 0 && owner.ok() != Some(p.info.uid) {
            continue;
        }
        let reason = format!(
            "IAM Roles Anywhere's aws_signing_helper update (pid {}) refreshes temporary credentials here (profile {})",
            p.info.pid,
            escape::cut(&escape::terminal(profile), 64)
        );
        out.push(verdict::PlatformFile { path: real, reason });
    }
    out
}

/// The rule cached sign-ins are reported under, for the reports that list rules.
fn session_rule() -> crate::report::RuleInfo {
    crate::report::RuleInfo {
        id: finding::SESSION_RULE.to_string(),
        name: "Person's cached sign-in".to_string(),
        description: "An IAM Identity Center token or an aws login session cached in a home directory: whoever \
                      reads it signs in as that person until it expires (longer with its refresh token)."
            .to_string(),
        severity: crate::rules::Severity::High,
    }
}

/// The shared credentials file the SSM agent's identity runtime config
/// names (a hybrid-activated node's, or Default Host Management's): only
/// temporary keys there are expected, as in the agent's other files.
fn ssm_agent_file(files: &Files) -> Option<verdict::PlatformFile> {
    let shared = crate::sources::ssm_agent::shared_credentials(files)?;
    let node = match shared.identity_type.as_str() {
        "OnPrem" => "this hybrid-activated node".to_string(),
        "EC2" => "Default Host Management".to_string(),
        other => format!("its {} identity", escape::cut(&escape::terminal(other), 32)),
    };
    let reason = format!(
        "the SSM agent's shared temporary credentials for {node} ({}), as its identity runtime config names them (profile {})",
        escape::cut(&escape::terminal(&shared.instance_id), 32),
        escape::cut(&escape::terminal(&shared.profile), 64)
    );
    Some(verdict::PlatformFile { path: shared.path, reason })
}

/// A process's chain: its environment and working directory, its user's home.
fn process_context<'a>(
    p: &'a Process,
    passwd_home: Option<&'a Path>,
    homes: &'a BTreeMap<String, PathBuf>,
    files: &'a Files,
    instance: InstanceRole,
    argv: Option<&'a Environ>,
    local: Local<'a>,
) -> Context<'a> {
    let cwd = p.cwd.as_deref();
    let Local { signing_helper_ports, metadata } = local;
    let metadata_endpoint = Default::default();
    Context {
        env: &p.environ,
        passwd_home,
        homes,
        cwd,
        files,
        instance,
        argv,
        signing_helper_ports,
        metadata,
        metadata_endpoint,
        container_endpoint: Default::default(),
    }
}

/// What serves credentials locally, on the network a process is on.
#[derive(Clone, Copy)]
struct Local<'a> {
    /// The ports `aws_signing_helper serve` listens on.
    signing_helper_ports: &'a [u16],
    /// The metadata endpoints that are the instance's, and what others served.
    metadata: &'a MetadataEndpoints,
}

/// A user's chain: their home is where `~` goes and the working directory.
fn user_context<'a>(
    env: &'a Environ,
    home: &'a Path,
    homes: &'a BTreeMap<String, PathBuf>,
    files: &'a Files,
    instance: InstanceRole,
    local: Local<'a>,
) -> Context<'a> {
    let home = Some(home);
    let Local { signing_helper_ports, metadata } = local;
    let metadata_endpoint = Default::default();
    Context {
        env,
        passwd_home: home,
        homes,
        cwd: home,
        files,
        instance,
        argv: None,
        signing_helper_ports,
        metadata,
        metadata_endpoint,
        container_endpoint: Default::default(),
    }
}

/// The files an SDK would read for any process or user on the host, as the
/// host sees them (symlinks resolved inside the host root): walked with
/// everything else, held to the size cap of files the host names.
/// Containerised processes' files are read by the SDK models only.
fn sdk_files(processes: &[Process], users: &[User], files: &Files) -> Vec<PathBuf> {
    let homes: BTreeMap<String, PathBuf> = users.iter().map(|u| (u.name.clone(), u.home.clone())).collect();
    let instance = InstanceRole { attached: false, v1_only: false };
    let none = MetadataEndpoints::default();
    let unchecked = Local { signing_helper_ports: &[], metadata: &none };
    let mut out = Vec::new();
    let mut add =
        |ctx: &Context| out.extend(loadable::files_read(ctx).into_iter().filter_map(|(p, _)| files.resolve(&p)));
    let mut seen = std::collections::HashSet::new();
    for p in processes.iter().filter(|p| p.info.container.is_none()) {
        let passwd_home = users.iter().find(|u| u.uid == p.info.uid).map(|u| u.home.as_path());
        if !seen.insert((p.environ.raw(), passwd_home, p.cwd.as_deref())) {
            continue;
        }
        add(&process_context(p, passwd_home, &homes, files, instance, None, unchecked));
    }
    for u in users {
        let env = Environ::from_pairs([("HOME", u.home.display().to_string())]);
        add(&user_context(&env, &u.home, &homes, files, instance, unchecked));
    }
    out.sort();
    out.dedup();
    out
}

/// Key IDs alone in files a package installed and nobody changed since, or
/// in pip's AWS CLI and botocore data, are vendor content: counted by
/// package, not findings. A pair with its secret always stays a finding.
fn drop_vendor_content(findings: &mut Vec<Finding>, root: &Path, coverage: &mut Coverage) {
    let alone = |f: &Finding| f.key_id.is_some() && f.secret.is_none();
    let candidates: BTreeSet<PathBuf> =
        findings.iter().filter(|f| alone(f)).filter_map(|f| f.location.path().map(Path::to_path_buf)).collect();
    if candidates.is_empty() {
        return;
    }
    let owners = packages::unmodified_packaged(root, &candidates);
    findings.retain(|f| {
        let Some(path) = f.location.path().filter(|_| alone(f)) else { return true };
        match owners.get(path).map(String::as_str).or_else(|| packages::vendor_tree(path)) {
            Some(package) => {
                *coverage.vendor.entry(package.to_string()).or_default() += f.occurrences;
                false
            }
            None => true,
        }
    });
}

/// Names the image or container of every finding in an image layer (the
/// engines' metadata is read only when there is one).
fn attribute_layers(findings: &mut [Finding], files: &Files) {
    let in_layer = |f: &Finding| f.location.path().is_some_and(|p| images::roots().iter().any(|r| p.starts_with(r)));
    if !findings.iter().any(in_layer) {
        return;
    }
    let layers = images::Layers::load(files);
    for f in findings.iter_mut() {
        f.layer = f.location.path().and_then(|p| layers.attribute(p));
    }
}

/// Keys checked per scan with `--verify`; the rest are marked skipped.
const MAX_VERIFY: usize = 100;

/// The opt-in STS checks: `--verify` signs GetCallerIdentity with each found
/// pair; `--lookup-accounts` asks GetAccessKeyInfo with the role's own credentials.
fn check_with_sts(
    findings: &mut [Finding],
    imds: &ImdsReport,
    net: &NetworkChecks,
    policy: &verdict::Policy,
    coverage: &mut Coverage,
) {
    // The region IMDS gave was checked against its documented shape: the
    // host name built from it can only be an STS endpoint.
    let region = imds
        .identity
        .as_ref()
        .and_then(|i| i.region.clone())
        .filter(|r| imds::is_region(r))
        .unwrap_or_else(|| "us-east-1".into());
    let domain = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    let endpoint = net.sts_endpoint.clone().unwrap_or_else(|| format!("https://sts.{region}.{domain}"));
    let sts = match Sts::new(&endpoint, &region, std::time::Duration::from_millis(250)) {
        Ok(s) => s,
        Err(e) => return coverage.gap(endpoint, GapReason::IoError, format!("STS checks not run: {e:#}")),
    };
    if net.verify {
        let mut checked = 0;
        // Expected credentials (the SSM agent's own) are not checked.
        for f in findings.iter_mut().filter(|f| policy.expected_reason(f).is_none()) {
            let (Some(id), Some(secret)) = (&f.key_id, &f.secret) else { continue };
            // The account is decoded from the key ID before anything is sent.
            if let Some(skip) = not_sent(id, net, checked) {
                tracing::info!(key_id = %id, result = ?skip, "not sent to STS");
                f.verification = Some(skip);
                continue;
            }
            checked += 1;
            let key = SigningKey { key_id: id.as_str(), secret, session_token: f.session_token.as_ref() };
            let v = sts.verify(&key);
            tracing::info!(key_id = %id, result = ?v, "verified with STS GetCallerIdentity");
            f.verification = Some(v);
        }
    }
    if net.lookup_accounts {
        let Some(role) = &imds.role_credentials else {
            return coverage.gap(
                endpoint,
                GapReason::IoError,
                "--lookup-accounts needs the instance role's credentials from IMDS, which are not available",
            );
        };
        let caller = SigningKey { key_id: &role.key_id, secret: &role.secret, session_token: role.token.as_ref() };
        let mut known: BTreeMap<String, Option<String>> = BTreeMap::new();
        for f in findings.iter_mut() {
            let Some(id) = &f.key_id else { continue };
            let account =
                known.entry(id.to_string()).or_insert_with(|| match sts.access_key_account(&caller, id.as_str()) {
                    Ok(a) => Some(a),
                    Err(e) => {
                        coverage.gap(endpoint.clone(), GapReason::IoError, format!("{e:#}"));
                        None
                    }
                });
            f.sts_account_id = account.clone();
        }
    }
}

/// Why `--verify` must not send `id`, if it must not: a canary account's
/// key, the account lists, or the per-scan cap.
fn not_sent(id: &KeyId, net: &NetworkChecks, checked: usize) -> Option<Verification> {
    let account = id.account();
    let policy = |reason: String| Some(Verification::SkippedPolicy { reason });
    if let Some((a, issuer)) = account.and_then(|a| net.canaries.issuer(a).map(|i| (a, i))) {
        return Some(Verification::SkippedCanary { account: a.to_string(), issuer: issuer.to_string() });
    }
    match account {
        Some(a) if net.skip_accounts.contains(&a.0) => return policy(format!("account {a} is in --skip-accounts")),
        Some(a) if !net.verify_accounts.is_empty() && !net.verify_accounts.contains(&a.0) => {
            return policy(format!("account {a} is not in --verify-accounts"));
        }
        None if !net.verify_accounts.is_empty() => {
            return policy("its account cannot be decoded from the key ID, and --verify-accounts is set".into());
        }
        _ => {}
    }
    (checked == MAX_VERIFY).then(|| Verification::SkippedPolicy {
        reason: format!("more than {MAX_VERIFY} keys: the rest are not checked in one scan"),
    })
}

/// What the SDK models say about every process and user.
struct SdkView {
    /// Each process's and each login shell's chain.
    chains: Vec<SubjectChain>,
    /// Every static pair an SDK would load from what a process or user reads,
    /// as sightings, with who loads it.
    loaded: Vec<(Sighting, String)>,
    /// Processes and users left when the deadline passed.
    unresolved: usize,
    /// Metadata endpoints chains end at whose answer is not known: why, and who uses each.
    unverified: BTreeMap<String, (String, Vec<String>)>,
}

/// The credential chain of every process and every user's login shell, and
/// what any SDK would load from the files, environments and command lines
/// of every process and every user (login shells or not).
fn sdk_view(
    processes: &[Process],
    users: &[User],
    // Whether users' login shells' chains are resolved too.
    login_shells: bool,
    files: &Files,
    imds: &ImdsReport,
    root: &Path,
    deadline: Option<std::time::Instant>,
) -> SdkView {
    let late = || deadline.is_some_and(|d| std::time::Instant::now() >= d);
    let instance = InstanceRole::from_probe(&imds.role, imds.state);
    // IAM Roles Anywhere's IMDS emulators, by the network they serve (the host's, or a container's).
    let helper_ports = |container: Option<&str>| -> Vec<u16> {
        let same_network = processes.iter().filter(|q| q.info.container.as_deref() == container);
        same_network
            .filter_map(|q| match q.signing_helper {
                Some(SigningHelper::Serve { port }) => Some(port),
                _ => None,
            })
            .collect()
    };
    let image = root != Path::new("/");
    // In an image nothing runs: a helper at its default port is the one the image starts.
    let mut host_helper_ports = helper_ports(None);
    if image {
        host_helper_ports.push(SIGNING_HELPER_PORT);
    }
    let homes: BTreeMap<String, PathBuf> = users.iter().map(|u| (u.name.clone(), u.home.clone())).collect();
    let home_of = |uid: u32| users.iter().find(|u| u.uid == uid).map(|u| u.home.as_path());
    let read = |path: &Path| match files.read(&host_view(root, path)) {
        FileText::Text(t) => Some(t.to_string()),
        _ => None,
    };
    // Each user's login shell's environment, or just HOME.
    let user_envs: Vec<Option<Environ>> =
        users.iter().map(|u| (login_shells && u.is_person()).then(|| users::login_environ(root, u, &read))).collect();
    let own = [imds.endpoint.as_str(), imds::IPV4_ENDPOINT, imds::IPV6_ENDPOINT].map(chain::endpoint_key).to_vec();
    // Where each host-network process's and login shell's SDKs look for IMDS
    // (its environment, or its profile): asked on a live host only.
    let none = MetadataEndpoints::default();
    let unchecked = Local { signing_helper_ports: &host_helper_ports, metadata: &none };
    // Likewise the local container credentials endpoints they name.
    let mut seen = std::collections::HashSet::new();
    let mut asked: Vec<String> = Vec::new();
    let mut containers: Vec<chain::ContainerEndpoint> = Vec::new();
    if !image {
        let mut ask = |ctx: &chain::Context| {
            asked.extend(chain::metadata_endpoint(ctx));
            containers.extend(chain::container_endpoint(ctx).filter(|e| e.is_local()).cloned());
        };
        let host_network = processes
            .iter()
            .filter(|p| p.info.container.is_none() && seen.insert((p.environ.raw(), p.info.uid, p.cwd.as_deref())));
        for p in host_network {
            ask(&process_context(p, home_of(p.info.uid), &homes, files, instance, None, unchecked));
        }
        for (u, env) in users.iter().zip(&user_envs) {
            let Some(env) = env else { continue };
            ask(&user_context(env, &u.home, &homes, files, instance, unchecked));
        }
    }
    let sessions = query_metadata_emulators(&asked, &own, &host_helper_ports, deadline);
    let container_answers = query_container_endpoints(&containers, deadline);
    let served_key = |s: &Served| match s {
        Served::Credentials(c) => KeyId::parse(c.key_id.as_bytes()),
        _ => None,
    };
    let served = sessions.iter().map(|(e, s)| (e.clone(), served_key(s))).collect();
    let served_containers = container_answers.iter().map(|(k, s)| (k.clone(), served_key(s))).collect();
    let metadata = MetadataEndpoints { own: own.clone(), served, containers: served_containers };
    // A container's loopback is its own: nothing asked on the host's answers for it.
    let container_metadata = MetadataEndpoints { own, ..Default::default() };
    let mut runtimes: BTreeMap<String, Detected> = BTreeMap::new();
    let mut view = SdkView { chains: Vec::new(), loaded: Vec::new(), unresolved: 0, unverified: BTreeMap::new() };
    // Processes that read the same files the same way (a service's workers,
    // forks) get one resolution: keyed by what the chain depends on.
    type Key = (Vec<u8>, Vec<u8>, Vec<PathBuf>, Option<PathBuf>, Option<PathBuf>, Option<String>, Option<String>);
    // Its chain, what it loads, and the credentials endpoint it signs from unverified (and why).
    type Resolved = (chain::ChainReport, Vec<(Sighting, String)>, Vec<(String, String)>);
    let mut resolved: HashMap<Key, Resolved> = HashMap::new();
    for (i, p) in processes.iter().enumerate() {
        if late() {
            view.unresolved = processes.len() - i + users.len();
            return view;
        }
        let passwd_home = home_of(p.info.uid);
        let key: Key = (
            p.environ.raw().to_vec(),
            p.argv.raw().to_vec(),
            p.java_class_path.clone(),
            passwd_home.map(Path::to_path_buf),
            p.cwd.clone(),
            p.info.container.clone(),
            p.info.exe.clone(),
        );
        if let Some((report, loaded, unverified)) = resolved.get(&key) {
            let subject = Subject::Process(p.info.clone());
            for (endpoint, why) in unverified {
                note_unverified(&mut view.unverified, endpoint, why, &subject);
            }
            view.chains.push(SubjectChain { subject, chain: report.clone() });
            // Files are the same files; the environment's and command line's pairs are this process's too.
            let own = loaded.iter().filter(|(s, _)| s.location.process().is_some());
            view.loaded.extend(own.map(|(s, by)| (s.for_process(&p.info), by.clone())));
            continue;
        }
        // A containerised process sees its own filesystem and passwd: read
        // its files through /proc/<pid>/root, as the process would.
        let container = p.info.container.as_ref().map(|_| {
            let root = PathBuf::from(format!("/proc/{}/root", p.info.pid));
            let users = users::load(&root).unwrap_or_default();
            (Files::new(&root), users)
        });
        let (files, passwd_home) = match &container {
            Some((f, users)) => (f, users.iter().find(|u| u.uid == p.info.uid).map(|u| u.home.as_path())),
            None => (files, passwd_home),
        };
        let ports = helper_ports(p.info.container.as_deref());
        let metadata = if p.info.container.is_some() { &container_metadata } else { &metadata };
        let local = Local { signing_helper_ports: &ports, metadata };
        let ctx = process_context(p, passwd_home, &homes, files, instance, Some(&p.argv), local);
        let runtime = || {
            let exe = p.info.exe.clone().unwrap_or_default();
            let mut detected = runtimes
                .entry(exe.clone())
                .or_insert_with(|| Runtime::of_executable(Path::new(&exe), p.exe_path.as_deref()))
                .clone();
            // A JVM's SDK is on its class path, not in its executable.
            if detected.runtime == Runtime::Java && !p.java_class_path.is_empty() {
                detected.sdk_modules = chain::jar::sdk_modules(&p.java_class_path, p.cwd.as_deref(), files);
            }
            detected
        };
        let report = chain::report(&ctx, runtime);
        let mut loaded = Vec::new();
        // A long-term key a local metadata emulator serves as a role's: the process signs with it.
        if let Source::MetadataEmulator { endpoint, key_id: Some(key_id) } = root_source(&report.resolution.source) {
            let session = match sessions.get(&chain::endpoint_key(endpoint)) {
                Some(Served::Credentials(c)) if p.info.container.is_none() => Some(c),
                _ => None,
            };
            if let Some(session) = session.filter(|_| key_id.kind() == KeyIdKind::LongTerm) {
                // Where the process is pointed there: its environment, or its profile's config file.
                let location = match chain::metadata_endpoint_from(&ctx).and_then(|(_, file)| file) {
                    Some(file) => {
                        let real = files.resolve(&file).unwrap_or(file);
                        let path = if container.is_some() { real } else { host_view(root, &real) };
                        Location::File { path, line: 1, column: 1 }
                    }
                    None => Location::Process {
                        process: p.info.clone(),
                        variable: "AWS_EC2_METADATA_SERVICE_ENDPOINT".into(),
                    },
                };
                let by = format!(
                    "{}: the metadata endpoint {} serves it as a role's credentials",
                    report.resolution.sdk,
                    escape::terminal(endpoint)
                );
                loaded
                    .push((sdk_sighting(location, key_id.clone(), session.secret.clone(), session.token.clone()), by));
            }
        }
        // A long-term key a local container credentials endpoint serves: the process signs with it.
        if let Source::Container { key_id: Some(key_id), .. } = root_source(&report.resolution.source) {
            let named = chain::container_endpoint(&ctx).filter(|_| container.is_none());
            let session = match named.and_then(|e| container_answers.get(&e.key())) {
                Some(Served::Credentials(c)) if key_id.kind() == KeyIdKind::LongTerm => Some(c),
                _ => None,
            };
            if let Some(session) = session {
                let location = Location::Process {
                    process: p.info.clone(),
                    variable: "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
                };
                let by = format!("{}: the container credentials endpoint it names serves it", report.resolution.sdk);
                loaded
                    .push((sdk_sighting(location, key_id.clone(), session.secret.clone(), session.token.clone()), by));
            }
        }
        let answers = (&sessions, &container_answers);
        let unverified = unverified_sources(&ctx, &report, answers, image, container.is_some());
        for (endpoint, why) in &unverified {
            note_unverified(&mut view.unverified, endpoint, why, &Subject::Process(p.info.clone()));
        }
        // Paths in a container are shown as the host reaches them (/proc/<pid>/root/...).
        loaded_from_files(&ctx, if container.is_some() { None } else { Some(root) }, &mut loaded);
        let in_process = loadable::from_environment(&p.environ).into_iter().chain(loadable::from_command_line(&p.argv));
        for l in in_process {
            let location = match (l.variable, l.argument) {
                (Some(variable), _) => Location::Process { process: p.info.clone(), variable },
                (None, argument) => Location::CommandLine { process: p.info.clone(), argument: argument.unwrap_or(0) },
            };
            loaded.push((sdk_sighting(location, l.key_id, l.secret, l.token), l.by));
        }
        view.chains.push(SubjectChain { subject: Subject::Process(p.info.clone()), chain: report.clone() });
        view.loaded.extend(loaded.iter().map(|(s, by)| (s.clone(), by.clone())));
        resolved.insert(key, (report, loaded, unverified));
    }
    for (i, (u, login_env)) in users.iter().zip(&user_envs).enumerate() {
        if late() {
            view.unresolved = users.len() - i;
            return view;
        }
        let home_only;
        let env = match login_env {
            Some(env) => env,
            None => {
                home_only = Environ::from_pairs([("HOME", u.home.display().to_string())]);
                &home_only
            }
        };
        let local = Local { signing_helper_ports: &host_helper_ports, metadata: &metadata };
        let ctx = user_context(env, &u.home, &homes, files, instance, local);
        if login_env.is_some() {
            let subject = Subject::User { name: u.name.clone(), uid: u.uid, home: escape::path(&u.home) };
            let report = chain::report(&ctx, Detected::unknown);
            for (endpoint, why) in unverified_sources(&ctx, &report, (&sessions, &container_answers), image, false) {
                note_unverified(&mut view.unverified, &endpoint, &why, &subject);
            }
            view.chains.push(SubjectChain { subject, chain: report });
        }
        loaded_from_files(&ctx, Some(root), &mut view.loaded);
    }
    view
}

/// Adds `subject` to those who sign from `endpoint`, unverified for `why`.
fn note_unverified(map: &mut BTreeMap<String, (String, Vec<String>)>, endpoint: &str, why: &str, subject: &Subject) {
    map.entry(endpoint.to_string()).or_insert_with(|| (why.to_string(), Vec::new())).1.push(subject.to_string());
}

/// The local credential endpoints a subject's chain (in any model) ends at
/// whose answer is not known: a metadata endpoint other than the
/// instance's, a container credentials endpoint other than AWS's own
/// agents. Each as compared ([`chain::endpoint_key`]), and why. A static
/// key could be served there unseen.
fn unverified_sources(
    ctx: &chain::Context,
    report: &chain::ChainReport,
    answers: (&BTreeMap<String, Served>, &BTreeMap<String, Served>),
    image: bool,
    in_container: bool,
) -> Vec<(String, String)> {
    let ends_at = |at: &dyn Fn(&Source) -> bool| {
        std::iter::once(&report.resolution).chain(&report.other_sdks).any(|r| at(root_source(&r.source)))
    };
    let why = |answer: Option<&Served>, local: bool| -> Option<String> {
        Some(match answer {
            _ if image => "in an image: what will serve there is not known".into(),
            _ if in_container => "on a container's network: not asked".into(),
            _ if !local => "not on a loopback address over http: not asked".into(),
            Some(Served::Nothing(_)) => return None,
            Some(Served::Credentials(s)) if KeyId::parse(s.key_id.as_bytes()).is_some() => return None,
            Some(Served::Credentials(_)) => "served an access key ID of no known shape".into(),
            Some(Served::Unknown(why)) => why.clone(),
            None => "not asked".into(),
        })
    };
    let (emulators, containers) = answers;
    let mut out = Vec::new();
    // Worked out again from the process's own settings: the chain's copy is redacted.
    let emulator = chain::metadata_endpoint(ctx).filter(|_| ends_at(&|s| matches!(s, Source::MetadataEmulator { .. })));
    if let Some(endpoint) = emulator {
        let key = chain::endpoint_key(&endpoint);
        out.extend(why(emulators.get(&key), chain::is_local_http(&endpoint)).map(|why| (key, why)));
    }
    let foreign = |s: &Source| matches!(s, Source::Container { uri, .. } if !chain::is_aws_container_agent(uri));
    if let Some(endpoint) = ends_at(&foreign).then(|| chain::container_endpoint(ctx)).flatten() {
        let answer = containers.get(&endpoint.key());
        out.extend(why(answer, endpoint.is_local()).map(|why| (chain::endpoint_key(&endpoint.uri), why)));
    }
    out
}

/// The source an assumed role's credentials come from, at the end of the chain.
fn root_source(s: &Source) -> &Source {
    match s {
        Source::AssumeRole { source, .. } => root_source(source),
        s => s,
    }
}

/// Local credential endpoints asked, at most, of each kind, and each one's budget.
const MAX_EMULATORS: usize = 8;
const EMULATOR_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);

/// Asks the metadata endpoints host processes are pointed at (`asked`) that are not
/// the instance's (`own`) nor an `aws_signing_helper serve` port, on a
/// loopback address over http only, what they serve as a role's
/// credentials: IMDSv2 as the SDKs speak it, bounded by the probe's limits
/// and a few seconds each. None for one that did not answer with a role.
fn query_metadata_emulators(
    asked: &[String],
    own: &[String],
    helper_ports: &[u16],
    deadline: Option<std::time::Instant>,
) -> BTreeMap<String, Served> {
    let mut endpoints = BTreeMap::new();
    for endpoint in asked {
        let key = chain::endpoint_key(endpoint);
        let Ok(url) = reqwest::Url::parse(&key) else { continue };
        let helper = url.port().is_some_and(|port| helper_ports.contains(&port));
        if chain::is_local_http(&key) && !helper && !own.contains(&key) {
            endpoints.insert(key.clone(), key);
        }
    }
    ask_each(endpoints, deadline, "metadata emulator", |mut opts, _| {
        opts.request_timeout = std::time::Duration::from_secs(1);
        imds::served_credentials(&opts)
    })
}

/// Asks each distinct local container credentials endpoint (with the
/// authorization its caller sends) what it serves, as an SDK would, within
/// [`EMULATOR_BUDGET`] each: by [`chain::ContainerEndpoint::key`].
fn query_container_endpoints(
    endpoints: &[chain::ContainerEndpoint],
    deadline: Option<std::time::Instant>,
) -> BTreeMap<String, Served> {
    let mut distinct: BTreeMap<String, &chain::ContainerEndpoint> = BTreeMap::new();
    for e in endpoints {
        distinct.entry(e.key()).or_insert(e);
    }
    let uris = distinct.iter().map(|(key, e)| (key.clone(), e.uri.clone())).collect();
    ask_each(uris, deadline, "container credentials endpoint", |opts, key| {
        let authorization = distinct[key].authorization.as_deref().map(String::as_str);
        imds::container_credentials(&opts, authorization)
    })
}

/// The answer of each endpoint (`key` to URI), in key order: the first
/// [`MAX_EMULATORS`] asked through `ask` while the run's deadline allows,
/// with one attempt and [`EMULATOR_BUDGET`] each; the rest not asked.
fn ask_each(
    endpoints: BTreeMap<String, String>,
    deadline: Option<std::time::Instant>,
    what: &str,
    ask: impl Fn(imds::ImdsOptions, &String) -> Served,
) -> BTreeMap<String, Served> {
    let mut answers = BTreeMap::new();
    for (i, (key, uri)) in endpoints.into_iter().enumerate() {
        let late = deadline.is_some_and(|d| std::time::Instant::now() >= d);
        let answer = if i >= MAX_EMULATORS {
            Served::Unknown(format!("not asked: at most {MAX_EMULATORS} endpoints are"))
        } else if late {
            Served::Unknown("not asked: --max-seconds reached".into())
        } else {
            let mut opts = imds::ImdsOptions::new(uri.clone(), None);
            opts.connect_timeout = std::time::Duration::from_millis(500);
            opts.request_timeout = EMULATOR_BUDGET;
            opts.attempts = 1;
            opts.total_timeout = EMULATOR_BUDGET;
            opts.deadline = deadline;
            ask(opts, &key)
        };
        let outcome = match &answer {
            Served::Credentials(_) => "credentials",
            Served::Nothing(_) => "nothing",
            Served::Unknown(_) => "unknown",
        };
        tracing::debug!(endpoint = %escape::terminal(&credential::redact(&uri)), outcome, "{what} asked");
        answers.insert(key, answer);
    }
    answers
}

/// The static pairs an SDK would load from the files `ctx` reads, located
/// in them; paths as the host sees them when `host_root` is given.
fn loaded_from_files(ctx: &Context, host_root: Option<&Path>, out: &mut Vec<(Sighting, String)>) {
    for l in loadable::from_files(ctx) {
        let Some(real) = ctx.files.resolve(&l.path) else { continue };
        let (line, column) = match ctx.files.read(&l.path) {
            FileText::Text(t) => line_and_column(&t, l.key_id.as_str()),
            _ => (1, 1),
        };
        let path = host_root.map_or_else(|| real.clone(), |r| host_view(r, &real));
        let by = l.by();
        out.push((sdk_sighting(Location::File { path, line, column }, l.key_id, l.secret, l.token), by));
    }
}

fn sdk_sighting(location: Location, key_id: KeyId, secret: Secret, token: Option<Secret>) -> Sighting {
    Sighting {
        location,
        rules: Vec::new(),
        key_id: Some(key_id),
        secret: Some(secret),
        token,
        paired_by: Some(PairedBy::SdkModel),
        decoding: Default::default(),
        example_secret: false,
    }
}

/// 1-based line and byte column of the first `needle` in `text`.
fn line_and_column(text: &str, needle: &str) -> (u64, u64) {
    let at = text.find(needle).unwrap_or(0);
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (text[..at].matches('\n').count() as u64 + 1, (at - line_start) as u64 + 1)
}

fn hostname() -> String {
    nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loopback endpoints nothing listens on (ports bound, then let go).
    fn closed_endpoints(n: usize) -> Vec<String> {
        let listeners: Vec<_> = (0..n).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
        listeners.iter().map(|l| format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())).collect()
    }

    #[test]
    fn endpoints_past_the_bound_are_not_asked_and_say_so() {
        let asked = closed_endpoints(MAX_EMULATORS + 1);
        let answers = query_metadata_emulators(&asked, &[], &[], None);
        assert_eq!(answers.len(), MAX_EMULATORS + 1);
        let refused = answers.values().filter(|a| matches!(a, Served::Nothing(_))).count();
        let unasked: Vec<&String> = answers
            .iter()
            .filter(|(_, a)| matches!(a, Served::Unknown(why) if why.contains("not asked")))
            .map(|(e, _)| e)
            .collect();
        assert_eq!((refused, unasked.len()), (MAX_EMULATORS, 1), "{answers:?}");
        // The last in name order is the one left.
        assert_eq!(Some(unasked[0]), answers.keys().last());
    }

    #[test]
    fn the_instances_own_endpoint_and_a_helpers_port_are_not_asked() {
        let asked = closed_endpoints(2);
        let helper_port: u16 = asked[1].rsplit(':').next().unwrap().parse().unwrap();
        let answers = query_metadata_emulators(&asked, &[asked[0].clone()], &[helper_port], None);
        assert!(answers.is_empty(), "{answers:?}");
    }

    #[test]
    fn a_passed_deadline_leaves_every_endpoint_unknown() {
        let asked = closed_endpoints(2);
        let answers = query_metadata_emulators(&asked, &[], &[], Some(std::time::Instant::now()));
        assert!(answers.values().all(|a| matches!(a, Served::Unknown(why) if why.contains("--max-seconds"))));
    }
}
