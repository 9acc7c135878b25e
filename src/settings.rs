//! Turns what the user typed, the SDKs' IMDS environment variables and
//! /etc/rolecall/config.toml into one resolved `Settings` value that the rest
//! of the program reads.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::baseline::Baseline;
use crate::canary::CanaryAccounts;
use crate::cli::{ColorChoice, EndpointMode, ScanArgs, SourceKind};
use crate::imds::{IPV4_ENDPOINT, IPV6_ENDPOINT, ImdsOptions};
use crate::report::Format;
use crate::rules::RuleSet;
use crate::scan::{DEFAULT_CHUNK_SIZE, ScanOptions};
use crate::sources::host::PlanOptions;
use crate::sources::walk::WalkOptions;
use crate::verdict::{self, DEFAULT_FAIL_ON, Expected, FailOn, PlatformFile};

/// Walker threads unless told otherwise: a production host keeps its cores.
pub const DEFAULT_THREADS: usize = 2;

/// Directories under the host root that are never entered.
pub const PSEUDO_DIRS: &[&str] = &["proc", "sys", "dev", "run"];

/// The configuration file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG: &str = "/etc/rolecall/config.toml";

/// `/etc/rolecall/config.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Credentials that are expected on this host and must not fail it.
    #[serde(default)]
    pub expected: Vec<Expected>,
    /// Path prefixes never scanned.
    #[serde(default)]
    pub exclude: Vec<PathBuf>,
    /// More directories or files to scan in a host scan.
    #[serde(default)]
    pub include: Vec<PathBuf>,
    /// Application directories walked whole, replacing the default
    /// (/opt, /srv, /var/www, /usr/local, /app).
    #[serde(default)]
    pub app_dirs: Option<Vec<PathBuf>>,
    /// The baseline of acknowledged findings.
    #[serde(default)]
    pub baseline: Option<PathBuf>,
    /// Default for `--fail-on`.
    #[serde(default)]
    pub fail_on: Option<Vec<String>>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile> {
        let meta = std::fs::metadata(path).with_context(|| format!("reading configuration {}", path.display()))?;
        if meta.len() > 1024 * 1024 {
            bail!("configuration {} is larger than 1 MiB", path.display());
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading configuration {}", path.display()))?;
        let config: ConfigFile =
            toml::from_str(&text).with_context(|| format!("parsing configuration {}", path.display()))?;
        if let Some(e) =
            config.expected.iter().find(|e| e.key_id.is_none() && e.fingerprint.is_none() && e.path.is_none())
        {
            bail!(
                "configuration {}: [[expected]] entry {:?} names no key_id, fingerprint or path",
                path.display(),
                e.reason
            );
        }
        Ok(config)
    }
}

/// The opt-in STS checks.
#[derive(Clone, Debug, Default)]
pub struct NetworkChecks {
    pub verify: bool,
    pub lookup_accounts: bool,
    /// Keys of these accounts are never sent to STS.
    pub canaries: CanaryAccounts,
    /// When not empty, only keys of these accounts are sent (`--verify-accounts`).
    pub verify_accounts: BTreeSet<u64>,
    /// Keys of these accounts are never sent (`--skip-accounts`).
    pub skip_accounts: BTreeSet<u64>,
    /// Overrides the regional endpoint.
    pub sts_endpoint: Option<String>,
}

/// Everything a scan needs to know, resolved.
#[derive(Debug)]
pub struct Settings {
    /// Paths the user named; empty for a host scan.
    pub paths: Vec<PathBuf>,
    /// What `/` means: the host's root (`--root`).
    pub host_root: PathBuf,
    /// What a host scan walks.
    pub plan: PlanOptions,
    /// Whether running processes are scanned (a host scan of the live host).
    pub processes: bool,
    /// Whether users' login shells' chains are resolved (host scans).
    pub users: bool,
    /// Whether files are walked.
    pub files: bool,
    pub format: Format,
    pub rules: RuleSet,
    pub walk: WalkOptions,
    pub scan: ScanOptions,
    pub imds: ImdsOptions,
    pub fail_on: Vec<FailOn>,
    pub expected: Vec<Expected>,
    pub platform_files: Vec<PlatformFile>,
    /// Acknowledged findings.
    pub baseline: Baseline,
    /// Extra copies of the report.
    pub outputs: Vec<(Format, PathBuf)>,
    /// Where to write SSM custom inventory, if asked.
    pub ssm_inventory: Option<PathBuf>,
    /// Opt-in STS checks.
    pub network: NetworkChecks,
    /// `--ssm-compliance`: report to Systems Manager Compliance, at this
    /// endpoint if given (else the instance region's).
    pub ssm_compliance: Option<Option<String>>,
    /// Colour in text output.
    pub color: bool,
    /// Normal priority (`--fast`).
    pub fast: bool,
    /// When the scan started (for elapsed time and the deadline).
    pub started: Instant,
    /// The same moment on the wall clock.
    pub started_at: std::time::SystemTime,
}

impl Settings {
    pub fn from_args(args: &ScanArgs) -> Result<Settings> {
        let started = Instant::now();
        let env: Vec<(String, String)> = std::env::vars().collect();
        let config = match &args.config {
            Some(p) => ConfigFile::load(p)?,
            None if Path::new(DEFAULT_CONFIG).exists() => ConfigFile::load(Path::new(DEFAULT_CONFIG))?,
            None => ConfigFile::default(),
        };
        let rules = load_rules(args.rules.as_deref())?;
        let host_root = match &args.root {
            Some(r) => {
                let r = std::fs::canonicalize(r).with_context(|| format!("--root {}", r.display()))?;
                if !r.is_dir() {
                    bail!("--root {}: not a directory", r.display());
                }
                r
            }
            None => PathBuf::from("/"),
        };
        // `--root //` (or any spelling of /) is this host, processes and all.
        let image = host_root != Path::new("/");
        // Paths the user or the configuration gives are as the host sees them.
        let in_root = |p: &Path| {
            let abs = if p.is_absolute() {
                p.to_path_buf()
            } else {
                std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
            };
            if image { host_root.join(abs.strip_prefix("/").unwrap_or(&abs)) } else { abs }
        };
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let exclude: Vec<PathBuf> = config.exclude.iter().chain(&args.exclude).map(|p| in_root(p)).collect();
        let fail_on = if !args.fail_on.is_empty() {
            args.fail_on.clone()
        } else if let Some(list) = &config.fail_on {
            list.iter()
                .map(|s| s.parse::<FailOn>().map_err(|e| anyhow::anyhow!("configuration fail_on: {e}")))
                .collect::<Result<_>>()?
        } else {
            DEFAULT_FAIL_ON.to_vec()
        };
        verdict::check_fail_on(&fail_on).map_err(|e| anyhow::anyhow!(e))?;
        // Named paths replace the default file locations; without --sources
        // they are all that is read, and a host scan reads everything.
        let wants = |k: SourceKind| match args.sources.is_empty() {
            true => args.paths.is_empty() || k == SourceKind::Files,
            false => args.sources.contains(&k),
        };
        let deadline = args.max_seconds.map(|s| started + Duration::from_secs(s));
        let mut include = config.include.clone();
        include.extend(args.include.iter().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())));
        Ok(Settings {
            paths: args.paths.iter().map(|p| in_root(p)).collect(),
            plan: PlanOptions { full: args.full, app_dirs: config.app_dirs.clone(), include },
            processes: !image && wants(SourceKind::Processes),
            users: wants(SourceKind::Users),
            files: wants(SourceKind::Files),
            format: if args.summary { Format::Summary } else { args.format },
            rules,
            walk: WalkOptions {
                prune: PSEUDO_DIRS.iter().chain(crate::sources::host::PRUNED_DIRS).map(|d| host_root.join(d)).collect(),
                exclude,
                one_file_system: !args.cross_filesystems,
                threads: match (args.threads, args.fast) {
                    (Some(n), _) => usize::from(n),
                    (None, true) => std::thread::available_parallelism().map_or(DEFAULT_THREADS, |n| n.get()),
                    (None, false) => DEFAULT_THREADS,
                },
                deadline,
            },
            scan: ScanOptions {
                host_root: host_root.clone(),
                chunk_size: args.chunk_size.map_or(DEFAULT_CHUNK_SIZE, |c| c as usize),
                deadline,
                progress: std::io::stderr().is_terminal().then(Default::default),
            },
            imds: {
                let mut o = imds_options(args, &env)?;
                o.keep_role_credentials = args.lookup_accounts || args.ssm_compliance;
                o.deadline = deadline;
                o
            },
            fail_on,
            baseline: match args.baseline.as_ref().or(config.baseline.as_ref()) {
                Some(p) => Baseline::load(p)?,
                None => Baseline::default(),
            },
            outputs: args.output.clone(),
            ssm_inventory: args.ssm_inventory.then(|| args.ssm_data_dir.clone()),
            network: NetworkChecks {
                verify: args.verify,
                lookup_accounts: args.lookup_accounts,
                canaries: match &args.canary_accounts {
                    Some(p) => CanaryAccounts::load(p)?,
                    None => CanaryAccounts::built_in(),
                },
                verify_accounts: accounts("--verify-accounts", &args.verify_accounts)?,
                skip_accounts: accounts("--skip-accounts", &args.skip_accounts)?,
                sts_endpoint: args.sts_endpoint.as_deref().map(|u| endpoint_url("--sts-endpoint", u)).transpose()?,
            },
            ssm_compliance: match &args.ssm_endpoint {
                Some(u) => Some(Some(endpoint_url("--ssm-endpoint", u)?)),
                None => args.ssm_compliance.then_some(None),
            },
            expected: config.expected,
            platform_files: verdict::platform_files(!image, &env),
            host_root,
            color,
            fast: args.fast,
            started,
            started_at: std::time::SystemTime::now(),
        })
    }
}

/// Resolves the IMDS endpoint the way the AWS SDKs do: an explicit endpoint
/// (flag, then `AWS_EC2_METADATA_SERVICE_ENDPOINT`) wins over the mode (flag,
/// then `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE`); `AWS_EC2_METADATA_DISABLED`
/// disables IMDS when it is `true` in any case, as botocore and the Rust SDK read it.
fn imds_options(args: &ScanArgs, env: &[(String, String)]) -> Result<ImdsOptions> {
    let var = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    let endpoint = match (&args.imds_endpoint, var("AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
        (Some(e), _) => check_endpoint(e, "--imds-endpoint")?,
        (None, Some(e)) => check_endpoint(e, "AWS_EC2_METADATA_SERVICE_ENDPOINT")?,
        (None, None) => {
            let mode = match (args.imds_endpoint_mode, var("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")) {
                (Some(m), _) => m,
                (None, Some(m)) if m.eq_ignore_ascii_case("ipv6") => EndpointMode::Ipv6,
                (None, Some(m)) if m.eq_ignore_ascii_case("ipv4") => EndpointMode::Ipv4,
                (None, Some(m)) => bail!("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE={m:?}: use IPv4 or IPv6"),
                (None, None) => EndpointMode::Ipv4,
            };
            match mode {
                EndpointMode::Ipv4 => IPV4_ENDPOINT.to_string(),
                EndpointMode::Ipv6 => IPV6_ENDPOINT.to_string(),
            }
        }
    };
    let disabled_by = if args.no_imds {
        Some("--no-imds".to_string())
    } else {
        var("AWS_EC2_METADATA_DISABLED")
            .filter(|v| v.eq_ignore_ascii_case("true"))
            .map(|v| format!("AWS_EC2_METADATA_DISABLED={v}"))
    };
    Ok(ImdsOptions::new(endpoint, disabled_by))
}

fn check_endpoint(url: &str, from: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{from}: {url:?} is not a URL"))?;
    if parsed.scheme() != "http" || parsed.host().is_none() {
        bail!("{from}: {url:?} must be an http:// URL with a host (IMDS is plain HTTP)");
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The built-in rules, or those in `dir`.
pub fn load_rules(dir: Option<&Path>) -> Result<RuleSet> {
    match dir {
        Some(d) => RuleSet::from_dir(d),
        None => RuleSet::embedded(),
    }
}

/// A list of 12-digit account IDs given on the command line.
fn accounts(flag: &str, given: &[String]) -> Result<BTreeSet<u64>> {
    given
        .iter()
        .map(|a| {
            crate::canary::parse_account(a.trim())
                .with_context(|| format!("{flag}: {a:?} is not a 12-digit account ID"))
        })
        .collect()
}

/// An endpoint flag's URL: http(s), with a host.
fn endpoint_url(flag: &str, url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{flag} {url:?}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        bail!("{flag} {url:?}: use an http(s) URL with a host");
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn imds(argv: &[&str], env: &[(&str, &str)]) -> Result<ImdsOptions> {
        let mut full = vec!["rolecall", "scan"];
        full.extend_from_slice(argv);
        full.push("/nonexistent");
        let Command::Scan(args) = Cli::try_parse_from(full).unwrap().command else { unreachable!() };
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        imds_options(&args, &env)
    }

    #[test]
    fn endpoint_precedence_follows_the_sdks() {
        assert_eq!(imds(&[], &[]).unwrap().endpoint, IPV4_ENDPOINT);
        assert_eq!(imds(&["--imds-endpoint-mode", "ipv6"], &[]).unwrap().endpoint, "http://[fd00:ec2::254]");
        let mode6 = [("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")];
        assert_eq!(imds(&[], &mode6).unwrap().endpoint, IPV6_ENDPOINT);
        assert_eq!(imds(&["--imds-endpoint-mode", "ipv4"], &mode6).unwrap().endpoint, IPV4_ENDPOINT);
        let ep = [("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:8080/"), mode6[0]];
        assert_eq!(imds(&[], &ep).unwrap().endpoint, "http://127.0.0.1:8080", "an endpoint beats a mode");
        assert_eq!(imds(&["--imds-endpoint", "http://[::1]:9"], &ep).unwrap().endpoint, "http://[::1]:9");
        assert!(imds(&[], &[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipx")]).is_err());
        assert!(imds(&["--imds-endpoint", "https://x"], &[]).is_err());
    }

    #[test]
    fn disabling_follows_botocore() {
        assert!(imds(&[], &[("AWS_EC2_METADATA_DISABLED", "true")]).unwrap().disabled_by.is_some());
        assert!(imds(&[], &[("AWS_EC2_METADATA_DISABLED", "True")]).unwrap().disabled_by.is_some());
        // botocore and the Rust SDK only disable on "true" (JS disables on anything but "false").
        assert!(imds(&[], &[("AWS_EC2_METADATA_DISABLED", "1")]).unwrap().disabled_by.is_none());
        assert!(imds(&["--no-imds"], &[]).unwrap().disabled_by.unwrap().contains("--no-imds"));
    }
}
