//! Works out which credential the AWS SDK default chain would use for one
//! process or user: botocore's chain as the reference, with the Rust and
//! JavaScript v3 SDKs' measured differences. Never runs `credential_process`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::awsconfig::{self, ConfigProfiles, Ini, Options, SdkProfiles};
use crate::environ::Environ;
use crate::finding::KeyId;
use crate::imds::{ImdsState, RoleStatus};

/// The largest shared config file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Where the SDK gets its credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Source {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` in the environment.
    Environment { key_id: Option<KeyId> },
    /// `role_arn` in the profile: STS AssumeRole with source credentials.
    AssumeRole { profile: String, role_arn: String, source: Box<Source> },
    /// A web identity token file and a role (EKS, GitHub OIDC, ...).
    WebIdentity { role_arn: String, token_file: String },
    /// IAM Identity Center.
    Sso { profile: String },
    /// Static keys in the shared credentials file.
    SharedCredentialsFile { path: String, profile: String, key_id: Option<KeyId> },
    /// `login_session` in the profile.
    Login { profile: String },
    /// `credential_process`: named, never run.
    CredentialProcess { profile: String, command: String },
    /// Static keys in the shared config file.
    ConfigFile { path: String, profile: String, key_id: Option<KeyId> },
    /// The legacy `AWS_CREDENTIAL_FILE` (botocore only).
    Ec2CredentialsFile { path: String, key_id: Option<KeyId> },
    /// A boto2 config file's `[Credentials]` (botocore only).
    BotoConfig { path: String, key_id: Option<KeyId> },
    /// The ECS/EKS container credentials endpoint.
    Container { uri: String },
    /// The instance role, from IMDS.
    InstanceRole,
    /// Nothing: the SDK finds no credentials.
    NoCredentials,
    /// The SDK raises an error instead of returning credentials.
    Error { error: String },
}

/// Whether a resolution uses something else than the instance role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Shadowing {
    /// Static keys (environment, files) are used instead of the role.
    StaticKeys,
    /// Some other credential (SSO, web identity, container, an external
    /// process) is used instead of the role.
    OtherCredentials,
    /// The instance role is used (directly, or as the source of a role chain).
    UsesRole,
    /// No credentials, or an error: nothing is used.
    Nothing,
}

impl Source {
    /// botocore's `Credentials.method` for this source.
    pub fn method(&self) -> &'static str {
        match self {
            Source::Environment { .. } => "env",
            Source::AssumeRole { .. } => "assume-role",
            Source::WebIdentity { .. } => "assume-role-with-web-identity",
            Source::Sso { .. } => "sso",
            Source::SharedCredentialsFile { .. } => "shared-credentials-file",
            Source::Login { .. } => "login",
            Source::CredentialProcess { .. } => "custom-process",
            Source::ConfigFile { .. } => "config-file",
            Source::Ec2CredentialsFile { .. } => "ec2-credentials-file",
            Source::BotoConfig { .. } => "boto-config",
            Source::Container { .. } => "container-role",
            Source::InstanceRole => "iam-role",
            Source::NoCredentials => "none",
            Source::Error { .. } => "error",
        }
    }

    /// The static access key this source signs with, directly or as the
    /// source credentials of an assumed role.
    pub fn static_key_id(&self) -> Option<&KeyId> {
        match self {
            Source::Environment { key_id }
            | Source::SharedCredentialsFile { key_id, .. }
            | Source::ConfigFile { key_id, .. }
            | Source::Ec2CredentialsFile { key_id, .. }
            | Source::BotoConfig { key_id, .. } => key_id.as_ref(),
            Source::AssumeRole { source, .. } => source.static_key_id(),
            _ => None,
        }
    }

    pub fn shadowing(&self) -> Shadowing {
        match self {
            Source::Environment { .. }
            | Source::SharedCredentialsFile { .. }
            | Source::ConfigFile { .. }
            | Source::Ec2CredentialsFile { .. }
            | Source::BotoConfig { .. } => Shadowing::StaticKeys,
            Source::AssumeRole { source, .. } => match source.shadowing() {
                Shadowing::Nothing => Shadowing::Nothing,
                s => s,
            },
            Source::WebIdentity { .. }
            | Source::Sso { .. }
            | Source::Login { .. }
            | Source::CredentialProcess { .. }
            | Source::Container { .. } => Shadowing::OtherCredentials,
            Source::InstanceRole => Shadowing::UsesRole,
            Source::NoCredentials | Source::Error { .. } => Shadowing::Nothing,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = |k: &Option<KeyId>| k.as_ref().map(|k| format!(" {k}")).unwrap_or_default();
        match self {
            Source::Environment { key_id } => write!(f, "environment variables{}", key(key_id)),
            Source::AssumeRole { profile, role_arn, source } => {
                write!(f, "role {role_arn} assumed by profile {profile}, from {source}")
            }
            Source::WebIdentity { role_arn, .. } => write!(f, "web identity token for role {role_arn}"),
            Source::Sso { profile } => write!(f, "IAM Identity Center (SSO) profile {profile}"),
            Source::SharedCredentialsFile { path, profile, key_id } => {
                write!(f, "static key{} in {path} [{profile}]", key(key_id))
            }
            Source::Login { profile } => write!(f, "login session of profile {profile}"),
            Source::CredentialProcess { profile, command } => {
                write!(f, "credential_process of profile {profile} ({command}), not run by rolecall")
            }
            Source::ConfigFile { path, profile, key_id } => {
                write!(f, "static key{} in {path} (profile {profile})", key(key_id))
            }
            Source::Ec2CredentialsFile { path, key_id } => {
                write!(f, "static key{} in AWS_CREDENTIAL_FILE {path}", key(key_id))
            }
            Source::BotoConfig { path, key_id } => write!(f, "static key{} in boto config {path}", key(key_id)),
            Source::Container { uri } => write!(f, "container credentials endpoint {uri}"),
            Source::InstanceRole => f.write_str("the instance role (IMDS)"),
            Source::NoCredentials => f.write_str("no credentials"),
            Source::Error { error } => write!(f, "an error ({error})"),
        }
    }
}

/// An AWS SDK whose default chain is modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Sdk {
    /// botocore (boto3, the AWS CLI): the reference.
    Botocore,
    /// The AWS SDK for Rust (`aws-config`).
    Rust,
    /// The AWS SDK for JavaScript v3.
    JavaScriptV3,
}

impl fmt::Display for Sdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sdk::Botocore => "botocore (Python, AWS CLI)",
            Sdk::Rust => "AWS SDK for Rust",
            Sdk::JavaScriptV3 => "AWS SDK for JavaScript v3",
        })
    }
}

/// What the instance offers as the last link of every chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceRole {
    /// A role is attached (as far as IMDS said).
    pub attached: bool,
    /// Only IMDSv1 answers (the token PUT is dropped or not supported):
    /// SDKs without a v1 fallback get nothing.
    pub v1_only: bool,
}

impl InstanceRole {
    pub fn from_probe(role: &RoleStatus, state: ImdsState) -> InstanceRole {
        InstanceRole {
            attached: matches!(role, RoleStatus::Attached { .. }),
            v1_only: matches!(state, ImdsState::HopLimit | ImdsState::V1Only),
        }
    }
}

/// Reads the files an SDK would read, as the process sees them: inside the
/// host root, following symlinks the way `open` would (re-rooted), only
/// regular files, at most 1 MiB. Results are cached per path.
pub struct Files {
    root: PathBuf,
    cache: Mutex<HashMap<PathBuf, FileText>>,
}

/// A file as an SDK would find it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileText {
    /// Absent, or not a regular file (`os.path.isfile` is false).
    Missing,
    /// Not readable, not UTF-8, or larger than 1 MiB; the reason says which.
    Unreadable(String),
    Text(String),
}

impl Files {
    pub fn new(root: &Path) -> Files {
        Files { root: root.to_path_buf(), cache: Mutex::new(HashMap::new()) }
    }

    /// `path` as the process sees it, mapped into the host root with every
    /// symlink resolved inside the root. None for a loop or a dangling link.
    pub fn resolve(&self, path: &Path) -> Option<PathBuf> {
        let mut pending: Vec<std::ffi::OsString> = path
            .components()
            .rev()
            .filter_map(|c| match c {
                std::path::Component::Normal(n) => Some(n.to_os_string()),
                std::path::Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect();
        let mut cur = self.root.clone();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                if cur != self.root {
                    cur.pop();
                }
                continue;
            }
            let next = cur.join(&part);
            match std::fs::symlink_metadata(&next) {
                Ok(m) if m.file_type().is_symlink() => {
                    hops += 1;
                    if hops > 40 {
                        return None;
                    }
                    let target = std::fs::read_link(&next).ok()?;
                    if target.is_absolute() {
                        cur = self.root.clone();
                    }
                    for c in target.components().rev() {
                        match c {
                            std::path::Component::Normal(n) => pending.push(n.to_os_string()),
                            std::path::Component::ParentDir => pending.push("..".into()),
                            _ => {}
                        }
                    }
                }
                _ => cur = next,
            }
        }
        Some(cur)
    }

    pub fn read(&self, path: &Path) -> FileText {
        if let Some(hit) = self.cache.lock().unwrap().get(path) {
            return hit.clone();
        }
        let text = self.read_uncached(path);
        self.cache.lock().unwrap().insert(path.to_path_buf(), text.clone());
        text
    }

    fn read_uncached(&self, path: &Path) -> FileText {
        let Some(real) = self.resolve(path) else { return FileText::Missing };
        match std::fs::metadata(&real) {
            Ok(m) if m.is_file() => {}
            _ => return FileText::Missing,
        }
        let (file, size) = match crate::scan::open_regular(&real) {
            Ok(f) => f,
            Err(crate::scan::OpenError::NotRegular) => return FileText::Missing,
            Err(crate::scan::OpenError::Io(e)) => return FileText::Unreadable(e.to_string()),
        };
        if size > MAX_CONFIG_BYTES {
            return FileText::Unreadable(format!("larger than {} KiB", MAX_CONFIG_BYTES / 1024));
        }
        let mut bytes = Vec::new();
        use std::io::Read;
        if let Err(e) = file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes) {
            return FileText::Unreadable(e.to_string());
        }
        match String::from_utf8(bytes) {
            Ok(t) => FileText::Text(t),
            Err(_) => FileText::Unreadable("not UTF-8".into()),
        }
    }
}

/// Everything a resolution depends on.
pub struct Context<'a> {
    /// The process's (or login shell's) environment.
    pub env: &'a Environ,
    /// The home directory of the process's user, from the passwd database:
    /// where `~` goes when `HOME` is unset.
    pub passwd_home: Option<&'a Path>,
    /// Other users' homes, for `~user/` paths.
    pub homes: &'a BTreeMap<String, PathBuf>,
    /// The working directory, for relative paths.
    pub cwd: Option<&'a Path>,
    pub files: &'a Files,
    pub instance: InstanceRole,
}

impl Context<'_> {
    fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name)
    }

    /// botocore: `os.path.expandvars` then `os.path.expanduser`; the other
    /// SDKs expand only `~`. Then relative to the cwd.
    fn expand(&self, path: &str, sdk: Sdk) -> Option<PathBuf> {
        let expanded = match sdk {
            Sdk::Botocore => expand_vars(path, |name| self.var(name).map(str::to_string)),
            _ => path.to_string(),
        };
        let p = if let Some(rest) = expanded.strip_prefix('~') {
            let (user, tail) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let home: PathBuf = if user.is_empty() {
                match (self.var("HOME"), sdk) {
                    (Some(h), _) => PathBuf::from(h),
                    // The Rust SDK reads no default files without HOME.
                    (None, Sdk::Rust) => return None,
                    (None, _) => self.passwd_home?.to_path_buf(),
                }
            } else {
                self.homes.get(user)?.clone()
            };
            let joined = format!("{}{tail}", home.display().to_string().trim_end_matches('/'));
            PathBuf::from(if joined.is_empty() { "/".to_string() } else { joined })
        } else {
            PathBuf::from(expanded)
        };
        if p.is_absolute() { Some(p) } else { self.cwd.map(|c| c.join(&p)) }
    }
}

/// `$NAME` and `${NAME}` replaced when set, left as they are when not.
fn expand_vars(s: &str, get: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(j) => (&inner[..j], j + 2),
                None => ("", 0),
            }
        } else {
            let n = after.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
            (&after[..n], n)
        };
        match (name.is_empty(), get(name)) {
            (false, Some(v)) => out.push_str(&v),
            _ => out.push_str(&rest[i..i + 1 + len]),
        }
        rest = &rest[i + 1 + len..];
    }
    out.push_str(rest);
    out
}

/// One SDK's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Resolution {
    pub sdk: Sdk,
    pub source: Source,
    pub method: &'static str,
    pub shadowing: Shadowing,
    /// The profile the SDK selected.
    pub profile: String,
}

/// Loaded shared files for one resolution.
struct Shared {
    config_path: Option<PathBuf>,
    creds_path: Option<PathBuf>,
    config: ConfigProfiles,
    /// Credentials file sections, by their literal names.
    creds: BTreeMap<String, Options>,
}

fn display(p: &Option<PathBuf>) -> String {
    p.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
}

fn load_ini(ctx: &Context, path: &Option<PathBuf>) -> Result<Option<Ini>, String> {
    let Some(path) = path else { return Ok(None) };
    match ctx.files.read(path) {
        FileText::Missing => Ok(None),
        FileText::Unreadable(why) => Err(format!("ConfigParseError: {}: {why}", path.display())),
        FileText::Text(t) => Ini::parse(&t).map(Some).map_err(|e| format!("ConfigParseError: {}: {e}", path.display())),
    }
}

fn load_shared(ctx: &Context, sdk: Sdk) -> Result<Shared, String> {
    let config_path = match ctx.var("AWS_CONFIG_FILE") {
        Some(p) => ctx.expand(p, sdk),
        None => ctx.expand("~/.aws/config", sdk),
    };
    let creds_path = match ctx.var("AWS_SHARED_CREDENTIALS_FILE") {
        Some(p) => ctx.expand(p, sdk),
        None => ctx.expand("~/.aws/credentials", sdk),
    };
    let config = load_ini(ctx, &config_path)?.map(|i| ConfigProfiles::from_config(&i)).unwrap_or_default();
    let creds = load_ini(ctx, &creds_path)?.map(|i| i.sections.into_iter().collect()).unwrap_or_default();
    Ok(Shared { config_path, creds_path, config, creds })
}

fn key_of(v: Option<&String>) -> Option<KeyId> {
    v.and_then(|k| KeyId::parse(k.trim().as_bytes()))
}

fn partial(provider: &str, var: &str) -> Source {
    Source::Error { error: format!("PartialCredentialsError: {provider} is missing {var}") }
}

/// Resolves the chain as `sdk` would.
pub fn resolve(ctx: &Context, sdk: Sdk) -> Resolution {
    let (source, profile) = match sdk {
        Sdk::Botocore => botocore(ctx),
        Sdk::Rust => rust_sdk(ctx),
        Sdk::JavaScriptV3 => js_sdk(ctx),
    };
    Resolution { sdk, method: source.method(), shadowing: source.shadowing(), source, profile }
}

fn imds_disabled(ctx: &Context, sdk: Sdk) -> bool {
    match ctx.var("AWS_EC2_METADATA_DISABLED") {
        Some(v) if sdk == Sdk::JavaScriptV3 => v != "false",
        Some(v) => v.eq_ignore_ascii_case("true"),
        None => false,
    }
}

/// Whether the SDK may not fall back to IMDSv1: `AWS_EC2_METADATA_V1_DISABLED`,
/// else `ec2_metadata_v1_disabled` in the selected profile (the Rust SDK
/// never falls back).
fn v1_disabled(ctx: &Context, sdk: Sdk, profile: Option<&Options>) -> bool {
    let value = ctx
        .var("AWS_EC2_METADATA_V1_DISABLED")
        .or_else(|| profile?.get("ec2_metadata_v1_disabled").map(String::as_str));
    match sdk {
        Sdk::Botocore => value.is_some_and(|v| v.eq_ignore_ascii_case("true")),
        Sdk::JavaScriptV3 => value == Some("true"),
        Sdk::Rust => true,
    }
}

/// The instance role as the SDK reaches it. `v1_disabled`: see [`v1_disabled`].
fn instance_role(ctx: &Context, sdk: Sdk, v1_disabled: bool) -> Source {
    if imds_disabled(ctx, sdk) || !ctx.instance.attached {
        return Source::NoCredentials;
    }
    if ctx.instance.v1_only && v1_disabled {
        let error = match sdk {
            Sdk::Botocore => "MetadataRetrievalError: IMDSv2 token request unanswered and IMDSv1 disabled",
            Sdk::Rust => "IMDSv2 token request unanswered; the Rust SDK has no IMDSv1 fallback",
            Sdk::JavaScriptV3 => "IMDSv2 token request unanswered and IMDSv1 disabled",
        };
        return Source::Error { error: error.into() };
    }
    Source::InstanceRole
}

fn botocore(ctx: &Context) -> (Source, String) {
    // Session variable `profile`: AWS_DEFAULT_PROFILE, then AWS_PROFILE (first set wins, even empty).
    let explicit = ctx.var("AWS_DEFAULT_PROFILE").or_else(|| ctx.var("AWS_PROFILE"));
    let profile = explicit.filter(|p| !p.is_empty()).unwrap_or("default").to_string();
    let shared = match load_shared(ctx, Sdk::Botocore) {
        Ok(s) => s,
        Err(e) => return (Source::Error { error: e }, profile),
    };
    // session.full_config: config profiles with the credentials file's sections merged over them.
    let mut full = shared.config.profiles.clone();
    for (name, opts) in &shared.creds {
        full.entry(name.clone()).or_default().extend(opts.clone());
    }
    // get_scoped_config (consulted before any provider runs) raises for a
    // profile that was named but exists in neither file.
    if let Some(name) = explicit.filter(|n| !full.contains_key(*n)) {
        let error = format!("ProfileNotFound: the config profile ({name}) could not be found");
        return (Source::Error { error }, profile);
    }
    let empty = Options::new();
    let p = full.get(&profile).unwrap_or(&empty);

    // 1. Environment.
    if let Some(id) = ctx.var("AWS_ACCESS_KEY_ID").filter(|v| !v.is_empty()) {
        if ctx.var("AWS_SECRET_ACCESS_KEY").is_none_or(str::is_empty) {
            return (partial("env", "AWS_SECRET_ACCESS_KEY"), profile);
        }
        return (Source::Environment { key_id: KeyId::parse(id.as_bytes()) }, profile);
    }
    // 2. Assume role.
    if p.contains_key("role_arn") && !p.contains_key("web_identity_token_file") {
        let mut visited = vec![profile.clone()];
        let v1_disabled = v1_disabled(ctx, Sdk::Botocore, Some(p));
        return (botocore_assume_role(ctx, &shared, &full, &profile, &mut visited, v1_disabled), profile);
    }
    // 3-8. The profile providers.
    let from_profile = botocore_profile_providers(ctx, &shared, &full, &profile, false);
    if let Some(s) = from_profile {
        return (s, profile);
    }
    // 9. AWS_CREDENTIAL_FILE.
    if let Some(path) = ctx.var("AWS_CREDENTIAL_FILE") {
        let full_path = ctx.expand(path, Sdk::Botocore);
        let text = match full_path.as_ref().map(|p| ctx.files.read(p)) {
            Some(FileText::Text(t)) => t,
            _ => return (Source::Error { error: format!("ConfigNotFound: AWS_CREDENTIAL_FILE {path}") }, profile),
        };
        let kv: BTreeMap<&str, &str> =
            text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim(), v.trim())).collect();
        if let Some(id) = kv.get("AWSAccessKeyId") {
            if !kv.contains_key("AWSSecretKey") {
                return (Source::Error { error: "KeyError: AWSSecretKey in AWS_CREDENTIAL_FILE".into() }, profile);
            }
            let key_id = KeyId::parse(id.as_bytes());
            return (Source::Ec2CredentialsFile { path: display(&full_path), key_id }, profile);
        }
    }
    // 10. boto2 config.
    let boto_paths: Vec<String> = match ctx.var("BOTO_CONFIG") {
        Some(p) => vec![p.to_string()],
        None => vec!["/etc/boto.cfg".into(), "~/.boto".into()],
    };
    for path in boto_paths {
        let full_path = ctx.expand(&path, Sdk::Botocore);
        match load_ini(ctx, &full_path) {
            Err(e) => return (Source::Error { error: e }, profile),
            Ok(None) => continue,
            Ok(Some(ini)) => {
                if let Some(c) = ini.section("Credentials").filter(|c| c.contains_key("aws_access_key_id")) {
                    if !c.contains_key("aws_secret_access_key") {
                        return (partial("boto-config", "aws_secret_access_key"), profile);
                    }
                    let key_id = key_of(c.get("aws_access_key_id"));
                    return (Source::BotoConfig { path: display(&full_path), key_id }, profile);
                }
            }
        }
    }
    // 11. Container credentials.
    if let Some(uri) = container_uri(ctx) {
        return (Source::Container { uri }, profile);
    }
    // 12. The instance role.
    (instance_role(ctx, Sdk::Botocore, v1_disabled(ctx, Sdk::Botocore, Some(p))), profile)
}

fn container_uri(ctx: &Context) -> Option<String> {
    if let Some(rel) = ctx.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return Some(format!("http://169.254.170.2{rel}"));
    }
    ctx.var("AWS_CONTAINER_CREDENTIALS_FULL_URI").map(str::to_string)
}

/// botocore's profile providers, in order: web identity, SSO, shared
/// credentials file, login, process, config file.
fn botocore_profile_providers(
    ctx: &Context,
    shared: &Shared,
    full: &BTreeMap<String, Options>,
    profile: &str,
    disable_env: bool,
) -> Option<Source> {
    let empty = Options::new();
    let p = full.get(profile).unwrap_or(&empty);
    // Web identity: the environment first (unless disabled), then the profile.
    let env_or = |env: &str, key: &str| -> Option<String> {
        let from_env = if disable_env { None } else { ctx.var(env).map(str::to_string) };
        from_env.or_else(|| p.get(key).cloned())
    };
    if let Some(token_file) = env_or("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file").filter(|t| !t.is_empty())
    {
        return Some(match env_or("AWS_ROLE_ARN", "role_arn").filter(|r| !r.is_empty()) {
            Some(role_arn) => Source::WebIdentity { role_arn, token_file },
            None => Source::Error { error: "InvalidConfigError: web identity without a role ARN".into() },
        });
    }
    // SSO.
    if p.contains_key("sso_role_name") || p.contains_key("sso_account_id") {
        let mut resolved = p.clone();
        if let Some(session) = p.get("sso_session") {
            match shared.config.sso_sessions.get(session) {
                Some(s) => resolved.extend(s.clone()),
                None => {
                    return Some(Source::Error {
                        error: format!("InvalidConfigError: the sso-session {session:?} does not exist"),
                    });
                }
            }
        }
        let missing: Vec<&str> = ["sso_role_name", "sso_account_id", "sso_start_url", "sso_region"]
            .into_iter()
            .filter(|k| !resolved.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            return Some(Source::Error {
                error: format!("InvalidConfigError: profile {profile} uses SSO but lacks {}", missing.join(", ")),
            });
        }
        return Some(Source::Sso { profile: profile.to_string() });
    }
    // Static keys in the credentials file.
    if let Some(c) = shared.creds.get(profile).filter(|c| c.contains_key("aws_access_key_id")) {
        if !c.contains_key("aws_secret_access_key") {
            return Some(partial("shared-credentials-file", "aws_secret_access_key"));
        }
        return Some(Source::SharedCredentialsFile {
            path: display(&shared.creds_path),
            profile: profile.to_string(),
            key_id: key_of(c.get("aws_access_key_id")),
        });
    }
    if p.contains_key("login_session") {
        return Some(Source::Login { profile: profile.to_string() });
    }
    if let Some(cmd) = p.get("credential_process") {
        return Some(Source::CredentialProcess { profile: profile.to_string(), command: cmd.clone() });
    }
    if let Some(c) = shared.config.profiles.get(profile).filter(|c| c.contains_key("aws_access_key_id")) {
        if !c.contains_key("aws_secret_access_key") {
            return Some(partial("config-file", "aws_secret_access_key"));
        }
        return Some(Source::ConfigFile {
            path: display(&shared.config_path),
            profile: profile.to_string(),
            key_id: key_of(c.get("aws_access_key_id")),
        });
    }
    None
}

fn botocore_assume_role(
    ctx: &Context,
    shared: &Shared,
    full: &BTreeMap<String, Options>,
    profile: &str,
    visited: &mut Vec<String>,
    v1_disabled: bool,
) -> Source {
    let p = &full[profile];
    let role_arn = p["role_arn"].clone();
    let has_static = |o: &Options| o.contains_key("aws_access_key_id") || o.contains_key("aws_secret_access_key");
    let has_role = |o: &Options| o.contains_key("role_arn") && !o.contains_key("web_identity_token_file");
    let source = match (p.get("credential_source"), p.get("source_profile")) {
        (Some(_), Some(_)) => {
            return Source::Error {
                error: format!("InvalidConfigError: profile {profile} has both source_profile and credential_source"),
            };
        }
        (None, None) => return partial("assume-role", "source_profile or credential_source"),
        // botocore's CanonicalNameCredentialSourcer: exact names only.
        (Some(cs), None) => match cs.as_str() {
            "Environment" => match ctx.var("AWS_ACCESS_KEY_ID").filter(|v| !v.is_empty()) {
                Some(id) if ctx.var("AWS_SECRET_ACCESS_KEY").is_some_and(|s| !s.is_empty()) => {
                    Source::Environment { key_id: KeyId::parse(id.as_bytes()) }
                }
                Some(_) => return partial("env", "AWS_SECRET_ACCESS_KEY"),
                None => return no_source_credentials(cs, profile),
            },
            "Ec2InstanceMetadata" => match instance_role(ctx, Sdk::Botocore, v1_disabled) {
                Source::InstanceRole => Source::InstanceRole,
                _ => return no_source_credentials(cs, profile),
            },
            "EcsContainer" => match container_uri(ctx) {
                Some(uri) => Source::Container { uri },
                None => return no_source_credentials(cs, profile),
            },
            _ => {
                return Source::Error {
                    error: format!("InvalidConfigError: credential source {cs:?} in profile {profile} is not valid"),
                };
            }
        },
        (None, Some(sp)) => {
            let Some(src) = full.get(sp) else {
                return Source::Error {
                    error: format!("InvalidConfigError: source_profile {sp:?} of profile {profile} does not exist"),
                };
            };
            if visited.iter().any(|v| v == sp) && (sp != profile || !has_static(src)) {
                return Source::Error { error: format!("InfiniteLoopConfigError: source_profile {sp:?}") };
            }
            visited.push(sp.clone());
            if has_static(src) || !has_role(src) {
                match botocore_profile_providers(ctx, shared, full, sp, true) {
                    Some(s @ Source::Error { .. }) => return s,
                    Some(s) => s,
                    None => {
                        return Source::Error {
                            error: format!("InvalidConfigError: the source profile {sp:?} must have credentials"),
                        };
                    }
                }
            } else {
                botocore_assume_role(ctx, shared, full, sp, visited, v1_disabled)
            }
        }
    };
    if let Source::Error { .. } = source {
        return source;
    }
    Source::AssumeRole { profile: profile.to_string(), role_arn, source: Box::new(source) }
}

fn no_source_credentials(cs: &str, profile: &str) -> Source {
    Source::Error {
        error: format!("CredentialRetrievalError: no credentials from credential_source {cs} of profile {profile}"),
    }
}

/// The shared files as the Rust or JavaScript SDK reads them.
struct SdkFiles {
    config_path: Option<PathBuf>,
    creds_path: Option<PathBuf>,
    profiles: SdkProfiles,
}

impl SdkFiles {
    fn profile(&self, name: &str) -> Option<&Options> {
        self.profiles.profiles.get(name)
    }

    /// The static keys of a profile, named by the file they come from.
    fn static_source(&self, profile: &str, p: &Options) -> Source {
        let key_id = key_of(p.get("aws_access_key_id"));
        if self.profiles.keys_from_credentials.contains(profile) {
            Source::SharedCredentialsFile { path: display(&self.creds_path), profile: profile.into(), key_id }
        } else {
            Source::ConfigFile { path: display(&self.config_path), profile: profile.into(), key_id }
        }
    }
}

/// Reads both files with the SDK's own parser. A file that is missing or
/// unreadable is empty; only the Rust SDK refuses a file it cannot parse.
fn load_sdk_files(ctx: &Context, sdk: Sdk) -> Result<SdkFiles, String> {
    let config_path = ctx.expand(ctx.var("AWS_CONFIG_FILE").unwrap_or("~/.aws/config"), sdk);
    let creds_path = ctx.expand(ctx.var("AWS_SHARED_CREDENTIALS_FILE").unwrap_or("~/.aws/credentials"), sdk);
    let read = |path: &Option<PathBuf>| -> Result<awsconfig::Sections, String> {
        let Some(path) = path else { return Ok(Vec::new()) };
        let FileText::Text(text) = ctx.files.read(path) else { return Ok(Vec::new()) };
        match sdk {
            Sdk::Rust => awsconfig::parse_rust(&text)
                .map_err(|e| format!("ProfileFile provider could not be built: {}: {e}", path.display())),
            _ => Ok(awsconfig::parse_js(&text)),
        }
    };
    let (config, creds) = (read(&config_path)?, read(&creds_path)?);
    let profiles = match sdk {
        Sdk::Rust => SdkProfiles::rust(&config, &creds),
        _ => SdkProfiles::js(&config, &creds),
    };
    Ok(SdkFiles { config_path, creds_path, profiles })
}

/// Both environment keys, set and not empty (the Rust and JS SDKs skip
/// partial ones).
fn env_keys(ctx: &Context) -> Option<Option<KeyId>> {
    match (ctx.var("AWS_ACCESS_KEY_ID"), ctx.var("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(s)) if !id.is_empty() && !s.is_empty() => Some(KeyId::parse(id.as_bytes())),
        _ => None,
    }
}

/// The chain's last links in the Rust and JS SDKs: web identity from the
/// environment, the container endpoint, the instance role.
fn remote_sources(ctx: &Context, sdk: Sdk, v1_disabled: bool) -> Source {
    let set = |v: &str| ctx.var(v).filter(|s| !s.is_empty());
    if let (Some(token_file), Some(role_arn)) = (set("AWS_WEB_IDENTITY_TOKEN_FILE"), set("AWS_ROLE_ARN")) {
        return Source::WebIdentity { role_arn: role_arn.into(), token_file: token_file.into() };
    }
    if let Some(uri) = container_uri(ctx) {
        return Source::Container { uri };
    }
    instance_role(ctx, sdk, v1_disabled)
}

/// A `credential_source` as the Rust SDK (any case) and the JS SDK (exact
/// names) fetch it. None for a name they do not know.
fn named_source(ctx: &Context, sdk: Sdk, name: &str, v1_disabled: bool) -> Option<Source> {
    let unavailable = || Source::Error { error: format!("credential_source {name} has no credentials") };
    let canonical = ["Environment", "Ec2InstanceMetadata", "EcsContainer"]
        .into_iter()
        .find(|c| *c == name || (sdk == Sdk::Rust && c.eq_ignore_ascii_case(name)))?;
    Some(match canonical {
        "Environment" => env_keys(ctx).map_or_else(unavailable, |key_id| Source::Environment { key_id }),
        "Ec2InstanceMetadata" => match instance_role(ctx, sdk, v1_disabled) {
            Source::InstanceRole => Source::InstanceRole,
            _ => unavailable(),
        },
        "EcsContainer" => container_uri(ctx).map_or_else(unavailable, |uri| Source::Container { uri }),
        _ => return None,
    })
}

/// The AWS SDK for Rust (`aws-config` `DefaultCredentialsChain`):
/// environment, profile, web identity, container, instance role. Only
/// `AWS_PROFILE` names the profile; HOME alone locates the files.
fn rust_sdk(ctx: &Context) -> (Source, String) {
    let profile = ctx.var("AWS_PROFILE").filter(|p| !p.is_empty()).unwrap_or("default").to_string();
    if let Some(key_id) = env_keys(ctx) {
        return (Source::Environment { key_id }, profile);
    }
    if let Some(source) = rust_profile(ctx, &profile) {
        return (source, profile);
    }
    (remote_sources(ctx, Sdk::Rust, true), profile)
}

/// Why the Rust SDK's profile provider yields nothing.
enum RustMiss {
    /// The profile has no credentials of any kind (`ProfileDidNotContainCredentials`).
    NoCredentials,
    /// A profile or field is missing: the chain moves on to the next provider.
    NotLoaded,
    /// Invalid configuration: the chain stops with an error.
    Invalid(String),
}

/// aws-config's `resolve_chain` and `base_provider`: None when the chain
/// moves past the profile provider, a source (or an error that stops the
/// chain) otherwise.
fn rust_profile(ctx: &Context, selected: &str) -> Option<Source> {
    let files = match load_sdk_files(ctx, Sdk::Rust) {
        Ok(f) => f,
        Err(error) => return Some(Source::Error { error }),
    };
    let set = &files.profiles.profiles;
    if set.is_empty() || (selected == "default" && !set.contains_key("default")) {
        return None;
    }
    let stop = |e: RustMiss| match e {
        RustMiss::NoCredentials | RustMiss::NotLoaded => None,
        RustMiss::Invalid(error) => Some(Source::Error { error }),
    };
    let mut name = selected.to_string();
    let mut visited: Vec<String> = Vec::new();
    let mut roles: Vec<(String, String)> = Vec::new();
    let base = loop {
        let p = set.get(&name)?;
        if visited.contains(&name) {
            return Some(Source::Error { error: format!("CredentialLoop: profile {name} is visited twice") });
        }
        visited.push(name.clone());
        // After the first profile, static keys win over anything else.
        if visited.len() > 1 && p.contains_key("aws_access_key_id") && p.contains_key("aws_secret_access_key") {
            break files.static_source(&name, p);
        }
        match p.get("role_arn").filter(|_| !p.contains_key("web_identity_token_file")) {
            Some(role_arn) => {
                roles.push((name.clone(), role_arn.clone()));
                match (p.get("source_profile"), p.get("credential_source")) {
                    (Some(_), Some(_)) | (None, None) => {
                        let error = format!(
                            "InvalidCredentialSource: profile {name} needs one of source_profile and credential_source"
                        );
                        return Some(Source::Error { error });
                    }
                    (Some(sp), None) if *sp != name => name = sp.clone(),
                    // Itself, or a credential source: this profile is the base.
                    _ => match rust_base(ctx, &files, &name, p) {
                        Ok(s) => break s,
                        Err(e) => return stop(e),
                    },
                }
            }
            None => match rust_base(ctx, &files, &name, p) {
                Ok(s) => break s,
                Err(RustMiss::NoCredentials) if visited.len() > 1 => {
                    let error = format!("InvalidCredentialSource: source profile {name} has no credentials");
                    return Some(Source::Error { error });
                }
                Err(e) => return stop(e),
            },
        }
    };
    if let Source::Error { .. } = base {
        return Some(base);
    }
    Some(roles.into_iter().rev().fold(base, |source, (profile, role_arn)| Source::AssumeRole {
        profile,
        role_arn,
        source: Box::new(source),
    }))
}

/// aws-config's `base_provider`: credential_source, web identity, SSO,
/// login, credential_process, then static keys.
fn rust_base(ctx: &Context, files: &SdkFiles, name: &str, p: &Options) -> Result<Source, RustMiss> {
    let invalid = |what: &str| RustMiss::Invalid(format!("InvalidConfiguration: profile {name}: {what}"));
    if let Some(cs) = p.get("credential_source") {
        return named_source(ctx, Sdk::Rust, cs, true)
            .ok_or_else(|| invalid(&format!("unknown credential_source {cs}")));
    }
    match (p.get("role_arn"), p.get("web_identity_token_file")) {
        (Some(role_arn), Some(token_file)) => {
            return Ok(Source::WebIdentity { role_arn: role_arn.clone(), token_file: token_file.clone() });
        }
        (None, Some(_)) => return Err(invalid("web_identity_token_file without role_arn")),
        _ => {}
    }
    const SSO: [&str; 5] = ["sso_account_id", "sso_region", "sso_role_name", "sso_start_url", "sso_session"];
    if SSO.iter().any(|k| p.contains_key(*k)) {
        let (mut region, mut start_url) = (p.get("sso_region"), p.get("sso_start_url"));
        if let Some(session) = p.get("sso_session") {
            if start_url.is_some() || region.is_some() {
                return Err(invalid("sso_start_url and sso_region belong in the sso-session"));
            }
            let s = files.profiles.sso_sessions.get(session).ok_or_else(|| invalid("its sso-session is missing"))?;
            (region, start_url) = (s.get("sso_region"), s.get("sso_start_url"));
        }
        if p.contains_key("sso_account_id") != p.contains_key("sso_role_name") {
            return Err(invalid("sso_account_id and sso_role_name go together"));
        }
        if region.is_none() || start_url.is_none() {
            return Err(RustMiss::NotLoaded);
        }
        return Ok(Source::Sso { profile: name.into() });
    }
    if p.contains_key("login_session") {
        return Ok(Source::Login { profile: name.into() });
    }
    if let Some(command) = p.get("credential_process") {
        return Ok(Source::CredentialProcess { profile: name.into(), command: command.clone() });
    }
    match ["aws_access_key_id", "aws_secret_access_key", "aws_session_token"].map(|k| p.contains_key(k)) {
        [false, false, false] => Err(RustMiss::NoCredentials),
        [true, true, _] => Ok(files.static_source(name, p)),
        _ => Err(invalid("incomplete static keys")),
    }
}

/// The AWS SDK for JavaScript v3 (`defaultProvider`): environment (not
/// when AWS_PROFILE is set), the profile (`fromIni`), `fromProcess`, web
/// identity from the environment, then the container or the instance role.
fn js_sdk(ctx: &Context) -> (Source, String) {
    let named = ctx.var("AWS_PROFILE").filter(|p| !p.is_empty());
    let profile = named.unwrap_or("default").to_string();
    if let Some(key_id) = env_keys(ctx).filter(|_| named.is_none()) {
        return (Source::Environment { key_id }, profile);
    }
    let files = load_sdk_files(ctx, Sdk::JavaScriptV3).expect("the JavaScript parser never fails");
    let v1_disabled = v1_disabled(ctx, Sdk::JavaScriptV3, files.profile(&profile));
    if let Some(source) = js_profile(ctx, &files, &profile, &[], false, v1_disabled) {
        return (source, profile);
    }
    if let Some(command) = files.profile(&profile).and_then(|p| p.get("credential_process")) {
        return (Source::CredentialProcess { profile: profile.clone(), command: command.clone() }, profile);
    }
    (remote_sources(ctx, Sdk::JavaScriptV3, v1_disabled), profile)
}

/// credential-provider-ini's `resolveProfileData`: None when it throws an
/// error that lets the chain go on.
fn js_profile(
    ctx: &Context,
    files: &SdkFiles,
    name: &str,
    visited: &[&str],
    recursive: bool,
    v1_disabled: bool,
) -> Option<Source> {
    let empty = Options::new();
    let p = files.profile(name).unwrap_or(&empty);
    let is_static = p.contains_key("aws_access_key_id") && p.contains_key("aws_secret_access_key");
    if !visited.is_empty() && is_static {
        return Some(files.static_source(name, p));
    }
    let (sp, cs) = (p.get("source_profile"), p.get("credential_source"));
    let is_role = p.contains_key("role_arn") && (sp.is_some() != cs.is_some());
    if recursive || is_role {
        let source = match sp {
            // A cycle throws an error that lets the chain go on.
            Some(sp) if visited.contains(&sp.as_str()) => return None,
            Some(sp) => {
                let next = files.profile(sp);
                let rec = next.is_some_and(|n| !n.contains_key("role_arn") && n.contains_key("credential_source"));
                let mut visited = visited.to_vec();
                visited.push(sp);
                js_profile(ctx, files, sp, &visited, rec, v1_disabled)?
            }
            None => match cs.map(|cs| named_source(ctx, Sdk::JavaScriptV3, cs, v1_disabled)) {
                // fromEnv without keys lets the chain go on.
                Some(Some(Source::Error { .. })) if cs.is_some_and(|c| c == "Environment") => return None,
                Some(Some(s)) => s,
                _ => return None,
            },
        };
        if matches!(source, Source::Error { .. }) || (!p.contains_key("role_arn") && cs.is_some()) {
            return Some(source);
        }
        let role_arn = p.get("role_arn").cloned().unwrap_or_default();
        return Some(Source::AssumeRole { profile: name.into(), role_arn, source: Box::new(source) });
    }
    if is_static {
        return Some(files.static_source(name, p));
    }
    if let (Some(token_file), Some(role_arn)) = (p.get("web_identity_token_file"), p.get("role_arn")) {
        return Some(Source::WebIdentity { role_arn: role_arn.clone(), token_file: token_file.clone() });
    }
    if let Some(command) = p.get("credential_process") {
        return Some(Source::CredentialProcess { profile: name.into(), command: command.clone() });
    }
    if ["sso_start_url", "sso_account_id", "sso_session", "sso_region", "sso_role_name"]
        .iter()
        .any(|k| p.contains_key(*k))
    {
        return Some(Source::Sso { profile: name.into() });
    }
    if p.contains_key("login_session") {
        return Some(Source::Login { profile: name.into() });
    }
    None
}

/// The runtime of a process, as far as its executable tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    Python,
    Node,
    Java,
    Go,
    Rust,
    Unknown,
}

impl Runtime {
    /// The SDK this runtime most likely uses, when it is one that is modelled.
    pub fn sdk(self) -> Option<Sdk> {
        match self {
            Runtime::Python => Some(Sdk::Botocore),
            Runtime::Node => Some(Sdk::JavaScriptV3),
            Runtime::Rust => Some(Sdk::Rust),
            _ => None,
        }
    }

    /// Guesses from the executable's name, then (for native binaries) from
    /// markers the Go and Rust toolchains leave in the first 8 MiB of
    /// `image`, the process's `/proc/<pid>/exe`.
    pub fn of_executable(exe: &Path, image: Option<&Path>) -> Runtime {
        let name = exe.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        if name.starts_with("python") || name.starts_with("pypy") || name == "aws" {
            return Runtime::Python;
        }
        if name == "node" || name == "nodejs" || name == "bun" || name == "deno" {
            return Runtime::Node;
        }
        if name == "java" {
            return Runtime::Java;
        }
        let Some(image) = image else { return Runtime::Unknown };
        let Ok((file, _)) = crate::scan::open_process_exe(image) else { return Runtime::Unknown };
        let mut head = Vec::new();
        use std::io::Read;
        if file.take(8 << 20).read_to_end(&mut head).is_err() || !head.starts_with(b"\x7fELF") {
            return Runtime::Unknown;
        }
        if memchr::memmem::find(&head, b"\xff Go buildinf:").is_some()
            || memchr::memmem::find(&head, b".go.buildinfo").is_some()
        {
            Runtime::Go
        } else if memchr::memmem::find(&head, b"/rustc/").is_some() {
            Runtime::Rust
        } else {
            Runtime::Unknown
        }
    }
}

/// A subject's resolution: the answer of its runtime's SDK (botocore when
/// the runtime is unknown or not modelled), and every other modelled SDK
/// that would answer differently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ChainReport {
    pub runtime: Runtime,
    pub resolution: Resolution,
    pub other_sdks: Vec<Resolution>,
}

/// Resolves the chain for every modelled SDK. The runtime is only worked
/// out (which may read the executable) when the SDKs disagree.
pub fn report(ctx: &Context, runtime: impl FnOnce() -> Runtime) -> ChainReport {
    let all: Vec<Resolution> =
        [Sdk::Botocore, Sdk::Rust, Sdk::JavaScriptV3].into_iter().map(|s| resolve(ctx, s)).collect();
    let agree = all.iter().all(|r| r.source == all[0].source);
    let runtime = if agree { Runtime::Unknown } else { runtime() };
    let primary = runtime.sdk().unwrap_or(Sdk::Botocore);
    let (mine, others): (Vec<Resolution>, Vec<Resolution>) = all.into_iter().partition(|r| r.sdk == primary);
    let resolution = mine.into_iter().next().expect("every SDK is resolved");
    let other_sdks = others.into_iter().filter(|r| r.source != resolution.source).collect();
    ChainReport { runtime, resolution, other_sdks }
}

/// Whose chain it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Subject {
    /// A running process, with its own environment.
    Process(crate::sources::procenv::ProcessInfo),
    /// A user's login shell: HOME and the AWS_* variables its startup files export.
    User { name: String, uid: u32, home: String },
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Process(p) => {
                write!(f, "pid {}", p.pid)?;
                match (&p.unit, &p.exe) {
                    (Some(u), _) => write!(f, " ({u})"),
                    (None, Some(e)) => write!(f, " ({e})"),
                    _ => Ok(()),
                }
            }
            Subject::User { name, .. } => write!(f, "user {name} (login shell)"),
        }
    }
}

/// One subject's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SubjectChain {
    pub subject: Subject,
    #[serde(flatten)]
    pub chain: ChainReport,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(Runtime::of_executable(Path::new("/usr/bin/python3.11"), None), Runtime::Python);
        assert_eq!(Runtime::of_executable(Path::new("/usr/local/bin/node"), None), Runtime::Node);
        assert_eq!(Runtime::of_executable(Path::new("/opt/app/server"), Some(&go)), Runtime::Go);
        assert_eq!(Runtime::of_executable(Path::new("/opt/app/server"), Some(&rust)), Runtime::Rust);
        assert_eq!(Runtime::of_executable(Path::new("/opt/app/run"), Some(&script)), Runtime::Unknown, "not ELF");
        assert_eq!(
            Runtime::of_executable(Path::new("/opt/app/gone"), Some(&dir.path().join("gone"))),
            Runtime::Unknown
        );
    }

    #[test]
    fn expand_vars_like_python() {
        let get = |n: &str| (n == "HOME").then(|| "/home/u".to_string());
        assert_eq!(expand_vars("$HOME/.aws/x", get), "/home/u/.aws/x");
        assert_eq!(expand_vars("${HOME}/x", get), "/home/u/x");
        assert_eq!(expand_vars("$NOPE/x", get), "$NOPE/x");
        assert_eq!(expand_vars("a$", get), "a$");
        assert_eq!(expand_vars("${unclosed", get), "${unclosed");
    }
}
