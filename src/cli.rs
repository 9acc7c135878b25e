//! Command-line definitions (clap), nothing else: what the user typed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;
use crate::verdict::FailOn;

/// Does this EC2 instance rely on static AWS credentials despite having an IAM role?
#[derive(Debug, Parser)]
#[command(name = "rolecall", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan this host (or the given paths) for static AWS credentials and give the verdict.
    Scan(Box<ScanArgs>),
    /// Scan like `scan`, then write every finding to a baseline as acknowledged.
    Baseline(Box<BaselineArgs>),
    /// Views across many hosts' JSON reports.
    Fleet(FleetArgs),
    /// List the rules in use, or check that each one's examples behave.
    Rules(RulesArgs),
    /// Print the JSON Schema of `--format json` reports.
    Schema,
    /// Write the manual pages (rolecall.1, rolecall-scan.1, …) into DIR,
    /// generated from these definitions; the packages ship them.
    #[command(hide = true)]
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    /// Why these findings are acknowledged (kept with each entry).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,

    /// From this day (YYYY-MM-DD) the acknowledgements count again.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,

    /// Where to write the baseline; entries already in it are kept [default: stdout].
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FleetArgs {
    #[command(subcommand)]
    pub action: FleetAction,
}

#[derive(Debug, Subcommand)]
pub enum FleetAction {
    /// Summarise JSON reports from many instances (e.g. SSM Run Command output downloaded from S3).
    Summarize {
        /// Report files, or directories searched for them.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<PathBuf>,
        /// Output format: text or json.
        #[arg(long, value_enum, default_value_t = FleetFormat::Text)]
        format: FleetFormat,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FleetFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan instead of the host [default: the host:
    /// processes, users, system configuration, application directories].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Scan a mounted image or chroot as if it were /: every default
    /// location is looked up inside DIR, and running processes are not scanned.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Scan the whole root filesystem (one filesystem; pseudo filesystems never).
    #[arg(long)]
    pub full: bool,

    /// Also scan this directory or file in a host scan (repeatable).
    #[arg(long, value_name = "PATH")]
    pub include: Vec<PathBuf>,

    /// What to read, comma-separated [default: processes,users,files; only
    /// files when PATHs are given, which then replace the default file locations].
    #[arg(long, value_enum, value_delimiter = ',', value_name = "SOURCES")]
    pub sources: Vec<SourceKind>,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Print only the one-line summary on stdout (same as --format summary).
    #[arg(long)]
    pub summary: bool,

    /// Also write the report in FORMAT to FILE (repeatable), e.g. json=/var/lib/rolecall/last.json.
    #[arg(long, value_name = "FORMAT=FILE", value_parser = parse_output)]
    pub output: Vec<(Format, PathBuf)>,

    /// Write the verdict as SSM custom inventory (Custom:RolecallVerdict) for the agent to upload.
    #[arg(long)]
    pub ssm_inventory: bool,

    /// Report the verdict and each live credential to Systems Manager
    /// Compliance (type Custom:Rolecall) with PutComplianceItems, signed with
    /// the instance role's credentials from IMDS (network; off by default).
    /// A failure to report is logged and never changes the verdict.
    #[arg(long)]
    pub ssm_compliance: bool,

    /// SSM endpoint for --ssm-compliance [default: https://ssm.REGION.amazonaws.com].
    #[arg(long, value_name = "URL", requires = "ssm_compliance")]
    pub ssm_endpoint: Option<String>,

    /// The SSM agent's data directory.
    #[arg(long, value_name = "DIR", hide = true, default_value = crate::report::inventory::DEFAULT_DATA_DIR)]
    pub ssm_data_dir: PathBuf,

    /// Acknowledged findings (see `rolecall baseline`) [default: the configuration's `baseline`].
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Load rules from the *.toml files in DIR instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,

    /// Use every core at normal priority (pipelines); by default a scan runs
    /// with 2 threads at nice 10 and the lowest best-effort I/O priority.
    #[arg(long)]
    pub fast: bool,

    /// Walker threads (default 2, to stay gentle on a production host; all cores with --fast).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,

    /// Bytes read per chunk of a file.
    #[arg(long, value_name = "BYTES", hide = true, value_parser = clap::value_parser!(u32).range(1..=(64 << 20)))]
    pub chunk_size: Option<u32>,

    /// Descend into directories on other filesystems (pseudo filesystems stay excluded).
    #[arg(long)]
    pub cross_filesystems: bool,

    /// Skip paths under this prefix (repeatable).
    #[arg(long, value_name = "PATH")]
    pub exclude: Vec<PathBuf>,

    /// Stop after this many seconds and report what was found, marked incomplete.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_seconds: Option<u64>,

    /// Colour in text output: auto (a terminal without NO_COLOR), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Which outcomes fail the run (exit 1), comma-separated [default:
    /// static-credentials-despite-role,no-role-static-credentials,no-role,
    /// role-unknown-static-credentials,incomplete]; `never` stands alone.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "CONDITIONS")]
    pub fail_on: Vec<FailOn>,

    /// Do not query the instance metadata service (e.g. scanning a mounted image).
    #[arg(long)]
    pub no_imds: bool,

    /// IMDS base URL [default: AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254].
    #[arg(long, value_name = "URL")]
    pub imds_endpoint: Option<String>,

    /// IMDS address family when no endpoint is given [default: AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE, else ipv4].
    #[arg(long, value_enum, value_name = "MODE")]
    pub imds_endpoint_mode: Option<EndpointMode>,

    /// Check each found key pair with STS GetCallerIdentity (network; off by
    /// default). Keys of known canary (honeytoken) accounts are never sent:
    /// using one alerts its owner.
    #[arg(long)]
    pub verify: bool,

    /// Name each key's account with STS GetAccessKeyInfo, signed with the
    /// instance role's own credentials, never the found secret (network; off by default).
    #[arg(long)]
    pub lookup_accounts: bool,

    /// With --verify, check only keys of these accounts (decoded from the key
    /// ID; comma-separated 12-digit IDs): a key of another account, or one
    /// whose account cannot be decoded, is never sent.
    #[arg(long, value_name = "ACCOUNTS", value_delimiter = ',')]
    pub verify_accounts: Vec<String>,

    /// With --verify, never send keys of these accounts (comma-separated).
    #[arg(long, value_name = "ACCOUNTS", value_delimiter = ',')]
    pub skip_accounts: Vec<String>,

    /// The canary (honeytoken) accounts whose keys --verify never sends
    /// [default: the built-in list, patterns/canary/accounts.toml].
    #[arg(long, value_name = "FILE")]
    pub canary_accounts: Option<PathBuf>,

    /// STS endpoint for --verify and --lookup-accounts [default: https://sts.REGION.amazonaws.com].
    #[arg(long, value_name = "URL")]
    pub sts_endpoint: Option<String>,

    /// Configuration file [default: /etc/rolecall/config.toml, if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// What a host scan reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// Running processes' environments and their credential chains.
    Processes,
    /// Each user's login shell's credential chain.
    Users,
    /// Files: system configuration, homes, application directories.
    Files,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EndpointMode {
    Ipv4,
    Ipv6,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub action: RulesAction,

    /// Load rules from the *.toml files in DIR instead of the built-in ones.
    #[arg(long, value_name = "DIR", global = true)]
    pub rules: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// List the rules.
    List,
    /// Run each rule's examples and negative examples through the matcher.
    Check,
}

fn parse_output(s: &str) -> Result<(Format, PathBuf), String> {
    let (format, file) = s.split_once('=').ok_or("use FORMAT=FILE, e.g. json=/var/lib/rolecall/last.json")?;
    let format: Format = format.parse()?;
    if file.is_empty() {
        return Err("the FILE after = is empty".into());
    }
    Ok((format, PathBuf::from(file)))
}
