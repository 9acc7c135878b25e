//! Works out which credential the AWS SDK default chain would use for one
//! process or user: botocore's chain as the reference, and each other
//! modelled SDK's own (Rust, JavaScript v3, Go, Ruby, Java, .NET, PHP).
//! Never runs `credential_process`.

mod botocore;
mod dotnet_sdk;
mod go_sdk;
pub mod jar;
mod java_sdk;
mod js_sdk;
pub mod loadable;
mod php_sdk;
mod ruby_sdk;
mod runtime;
mod rust_sdk;
mod sdk_common;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::awsconfig::Options;
use crate::credential::{self, KeyId, KeyIdKind};
use crate::environ::Environ;
use crate::hostfs::Files;
use crate::imds::{ImdsState, RoleStatus};
pub use runtime::{Detected, Runtime, SdkModule};

/// Where the SDK gets its credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Source {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` in the environment.
    Environment { key_id: Option<KeyId> },
    /// A JVM's `-Daws.accessKeyId` and `-Daws.secretAccessKey` (or v1's
    /// `-Daws.secretKey`): the Java SDK v2's first source, v1's second.
    SystemProperties { key_id: Option<KeyId> },
    /// `role_arn` in the profile: STS AssumeRole with source credentials.
    AssumeRole { profile: String, role_arn: String, source: Box<Source> },
    /// A web identity token file and a role (EKS, GitHub OIDC, ...).
    WebIdentity { role_arn: String, token_file: String },
    /// IAM Identity Center. `token_cached`: a person's sign-in token is
    /// cached on the host (`~/.aws/sso/cache/`), so the SDK signs as them.
    Sso {
        profile: String,
        #[serde(default)]
        token_cached: bool,
    },
    /// Static keys in the shared credentials file.
    SharedCredentialsFile { path: String, profile: String, key_id: Option<KeyId> },
    /// `login_session` in the profile (`aws login`). `token_cached`: the
    /// person's session is cached on the host (`~/.aws/login/cache/`).
    Login {
        profile: String,
        #[serde(default)]
        token_cached: bool,
    },
    /// `credential_process`: named, never run.
    CredentialProcess { profile: String, command: String },
    /// IAM Roles Anywhere's `aws_signing_helper credential-process`: managed
    /// temporary credentials from an X.509 certificate, expected, not static.
    RolesAnywhere { profile: String, command: String },
    /// IMDS as IAM Roles Anywhere's `aws_signing_helper serve` emulates it
    /// (on loopback at the port a running helper serves; in an image, its
    /// default 9911): managed temporary credentials, expected.
    RolesAnywhereServe { endpoint: String },
    /// An instance metadata endpoint the process is pointed at
    /// (`AWS_EC2_METADATA_SERVICE_ENDPOINT`) that is not this instance's: a
    /// local emulator or proxy, whose "role" credentials are whatever it
    /// serves. `key_id`: what it served when rolecall asked it (loopback
    /// endpoints on the host's network only); a long-term key is static, and
    /// one not asked or not answering is a coverage gap.
    MetadataEmulator { endpoint: String, key_id: Option<KeyId> },
    /// Static keys in the shared config file.
    ConfigFile { path: String, profile: String, key_id: Option<KeyId> },
    /// The legacy `AWS_CREDENTIAL_FILE` (botocore only).
    Ec2CredentialsFile { path: String, key_id: Option<KeyId> },
    /// A boto2 config file's `[Credentials]` (botocore only).
    BotoConfig { path: String, key_id: Option<KeyId> },
    /// A container credentials endpoint: ECS's or EKS Pod Identity's agent,
    /// or one a process names (`AWS_CONTAINER_CREDENTIALS_FULL_URI`: a local
    /// credential server). `key_id`: what a local one served when rolecall
    /// asked it (loopback endpoints on the host's network only); a long-term
    /// key is static, and one not asked or not answering is a coverage gap.
    Container {
        uri: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_id: Option<KeyId>,
    },
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
    /// A person's session (IAM Identity Center or `aws login`, its token
    /// cached on the host) is used instead of the role: someone's identity
    /// left on a server.
    PersonSession,
    /// Some other credential (SSO, web identity, container, an external
    /// process) is used instead of the role.
    OtherCredentials,
    /// The instance role is used (directly, or as the source of a role chain).
    UsesRole,
    /// No credentials, or an error: nothing is used.
    Nothing,
}

impl Source {
    /// A container credentials endpoint, before anyone asked it anything.
    pub fn container(uri: String) -> Source {
        Source::Container { uri, key_id: None }
    }

    /// botocore's `Credentials.method` for this source.
    pub fn method(&self) -> &'static str {
        match self {
            Source::Environment { .. } => "env",
            Source::SystemProperties { .. } => "system-properties",
            Source::AssumeRole { .. } => "assume-role",
            Source::WebIdentity { .. } => "assume-role-with-web-identity",
            Source::Sso { .. } => "sso",
            Source::SharedCredentialsFile { .. } => "shared-credentials-file",
            Source::Login { .. } => "login",
            Source::CredentialProcess { .. } => "custom-process",
            Source::RolesAnywhere { .. } => "roles-anywhere",
            Source::RolesAnywhereServe { .. } => "roles-anywhere-serve",
            Source::MetadataEmulator { .. } => "metadata-emulator",
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
            | Source::SystemProperties { key_id }
            | Source::SharedCredentialsFile { key_id, .. }
            | Source::ConfigFile { key_id, .. }
            | Source::Ec2CredentialsFile { key_id, .. }
            | Source::BotoConfig { key_id, .. } => key_id.as_ref(),
            Source::MetadataEmulator { key_id, .. } | Source::Container { key_id, .. } => {
                key_id.as_ref().filter(|k| k.kind() == KeyIdKind::LongTerm)
            }
            Source::AssumeRole { source, .. } => source.static_key_id(),
            _ => None,
        }
    }

    /// The same source with every host-controlled string passed through
    /// [`credential::redact`]: a `credential_process` command line, a
    /// profile name or a URL cannot carry a secret into a report.
    fn redacted(self) -> Source {
        let r = |s: String| credential::redact(&s);
        match self {
            Source::AssumeRole { profile, role_arn, source } => {
                Source::AssumeRole { profile: r(profile), role_arn: r(role_arn), source: Box::new(source.redacted()) }
            }
            Source::WebIdentity { role_arn, token_file } => {
                Source::WebIdentity { role_arn: r(role_arn), token_file: r(token_file) }
            }
            Source::Sso { profile, token_cached } => Source::Sso { profile: r(profile), token_cached },
            Source::SharedCredentialsFile { path, profile, key_id } => {
                Source::SharedCredentialsFile { path: r(path), profile: r(profile), key_id }
            }
            Source::Login { profile, token_cached } => Source::Login { profile: r(profile), token_cached },
            Source::CredentialProcess { profile, command } => {
                Source::CredentialProcess { profile: r(profile), command: r(command) }
            }
            Source::RolesAnywhere { profile, command } => {
                Source::RolesAnywhere { profile: r(profile), command: r(command) }
            }
            Source::ConfigFile { path, profile, key_id } => {
                Source::ConfigFile { path: r(path), profile: r(profile), key_id }
            }
            Source::Ec2CredentialsFile { path, key_id } => Source::Ec2CredentialsFile { path: r(path), key_id },
            Source::BotoConfig { path, key_id } => Source::BotoConfig { path: r(path), key_id },
            Source::Container { uri, key_id } => Source::Container { uri: r(uri), key_id },
            Source::MetadataEmulator { endpoint, key_id } => Source::MetadataEmulator { endpoint: r(endpoint), key_id },
            Source::RolesAnywhereServe { endpoint } => Source::RolesAnywhereServe { endpoint: r(endpoint) },
            Source::Error { error } => Source::Error { error: r(error) },
            s @ (Source::Environment { .. }
            | Source::SystemProperties { .. }
            | Source::InstanceRole
            | Source::NoCredentials) => s,
        }
    }

    pub fn shadowing(&self) -> Shadowing {
        match self {
            Source::Environment { .. }
            | Source::SystemProperties { .. }
            | Source::SharedCredentialsFile { .. }
            | Source::ConfigFile { .. }
            | Source::Ec2CredentialsFile { .. }
            | Source::BotoConfig { .. } => Shadowing::StaticKeys,
            Source::AssumeRole { source, .. } => match source.shadowing() {
                Shadowing::Nothing => Shadowing::Nothing,
                s => s,
            },
            Source::Sso { token_cached: true, .. } | Source::Login { token_cached: true, .. } => {
                Shadowing::PersonSession
            }
            Source::WebIdentity { .. }
            | Source::Sso { .. }
            | Source::Login { .. }
            | Source::CredentialProcess { .. }
            | Source::RolesAnywhere { .. }
            | Source::RolesAnywhereServe { .. } => Shadowing::OtherCredentials,
            Source::MetadataEmulator { key_id, .. } | Source::Container { key_id, .. } => {
                match key_id.as_ref().map(KeyId::kind) {
                    Some(KeyIdKind::LongTerm) => Shadowing::StaticKeys,
                    _ => Shadowing::OtherCredentials,
                }
            }
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
            Source::SystemProperties { key_id } => write!(f, "JVM system properties{}", key(key_id)),
            Source::AssumeRole { profile, role_arn, source } => {
                write!(f, "role {role_arn} assumed by profile {profile}, from {source}")
            }
            Source::WebIdentity { role_arn, .. } => write!(f, "web identity token for role {role_arn}"),
            Source::Sso { profile, token_cached: true } => {
                write!(f, "a person's IAM Identity Center (SSO) session, cached on this host, of profile {profile}")
            }
            Source::Sso { profile, .. } => write!(f, "IAM Identity Center (SSO) profile {profile}, no token cached"),
            Source::SharedCredentialsFile { path, profile, key_id } => {
                write!(f, "static key{} in {path} [{profile}]", key(key_id))
            }
            Source::Login { profile, token_cached: true } => {
                write!(f, "a person's aws login session, cached on this host, of profile {profile}")
            }
            Source::Login { profile, .. } => write!(f, "login session of profile {profile}, none cached"),
            Source::CredentialProcess { profile, command } => {
                write!(f, "credential_process of profile {profile} ({command}), not run by rolecall")
            }
            Source::RolesAnywhere { profile, .. } => write!(
                f,
                "IAM Roles Anywhere (aws_signing_helper credential-process) of profile {profile}: managed temporary credentials"
            ),
            Source::ConfigFile { path, profile, key_id } => {
                write!(f, "static key{} in {path} (profile {profile})", key(key_id))
            }
            Source::Ec2CredentialsFile { path, key_id } => {
                write!(f, "static key{} in AWS_CREDENTIAL_FILE {path}", key(key_id))
            }
            Source::BotoConfig { path, key_id } => write!(f, "static key{} in boto config {path}", key(key_id)),
            Source::Container { uri, key_id: None } => write!(f, "container credentials endpoint {uri}"),
            Source::Container { uri, key_id: Some(k) } => write!(
                f,
                "the container credentials endpoint {uri} (AWS_CONTAINER_CREDENTIALS_FULL_URI), serving {} {k}",
                if k.kind() == KeyIdKind::LongTerm { "long-term key" } else { "temporary key" }
            ),
            Source::RolesAnywhereServe { endpoint } => write!(
                f,
                "IAM Roles Anywhere (aws_signing_helper serve at {endpoint}): managed temporary credentials, not the instance role"
            ),
            Source::MetadataEmulator { endpoint, key_id: Some(k) } => write!(
                f,
                "the metadata endpoint {endpoint} (AWS_EC2_METADATA_SERVICE_ENDPOINT), not this instance's, serving {} {k} as a role's",
                if k.kind() == KeyIdKind::LongTerm { "long-term key" } else { "temporary key" }
            ),
            Source::MetadataEmulator { endpoint, key_id: None } => write!(
                f,
                "the metadata endpoint {endpoint} (AWS_EC2_METADATA_SERVICE_ENDPOINT), not this instance's: what it serves is not known"
            ),
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
    /// The AWS SDK for Go v2 (`config.LoadDefaultConfig`).
    GoV2,
    /// The AWS SDK for Go v1 (`session.NewSession`).
    GoV1,
    /// The AWS SDK for Ruby v3 (`aws-sdk-core`).
    Ruby,
    /// The AWS SDK for Java v2 (`DefaultCredentialsProvider`).
    JavaV2,
    /// The AWS SDK for Java v1 (`DefaultAWSCredentialsProviderChain`).
    JavaV1,
    /// The AWS SDK for .NET v4.
    DotNetV4,
    /// The AWS SDK for .NET v3 (`FallbackCredentialsFactory`).
    DotNetV3,
    /// The AWS SDK for PHP v3 (`CredentialProvider::defaultProvider`).
    Php,
}

impl fmt::Display for Sdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sdk::Botocore => "botocore (Python, AWS CLI)",
            Sdk::Rust => "AWS SDK for Rust",
            Sdk::JavaScriptV3 => "AWS SDK for JavaScript v3",
            Sdk::GoV2 => "AWS SDK for Go v2",
            Sdk::GoV1 => "AWS SDK for Go v1",
            Sdk::Ruby => "AWS SDK for Ruby",
            Sdk::JavaV2 => "AWS SDK for Java v2",
            Sdk::JavaV1 => "AWS SDK for Java v1",
            Sdk::DotNetV4 => "AWS SDK for .NET v4",
            Sdk::DotNetV3 => "AWS SDK for .NET v3",
            Sdk::Php => "AWS SDK for PHP",
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
    /// The process's command line, where it sets `-Daws.` system properties.
    pub argv: Option<&'a Environ>,
    /// The ports running `aws_signing_helper serve` processes listen on (in an image, its default).
    pub signing_helper_ports: &'a [u16],
    /// Which metadata endpoints are the instance's, and what others served.
    pub metadata: &'a MetadataEndpoints,
    /// [`metadata_endpoint_from`]'s answer, worked out once (every model asks).
    pub metadata_endpoint: std::cell::OnceCell<Option<(String, Option<PathBuf>)>>,
    /// [`container_endpoint`]'s answer, worked out once (it may read a token file).
    pub container_endpoint: std::cell::OnceCell<Option<ContainerEndpoint>>,
}

/// The instance metadata endpoints processes are pointed at, as far as
/// rolecall checked them.
#[derive(Clone, Debug, Default)]
pub struct MetadataEndpoints {
    /// The instance's own endpoints ([`endpoint_key`]); empty: every
    /// endpoint counts as the instance's (nothing was checked).
    pub own: Vec<String>,
    /// What each other endpoint served as a role's access key ID (None: it
    /// did not answer, or was not asked).
    pub served: BTreeMap<String, Option<KeyId>>,
    /// What each local container credentials endpoint served, by
    /// [`ContainerEndpoint::key`] (None: it did not answer, or was not asked).
    pub containers: BTreeMap<String, Option<KeyId>>,
}

impl MetadataEndpoints {
    fn is_own(&self, endpoint: &str) -> bool {
        self.own.is_empty() || self.own.contains(&endpoint_key(endpoint))
    }
}

/// An endpoint as compared: trimmed, lower case, no trailing `/`.
pub fn endpoint_key(endpoint: &str) -> String {
    endpoint.trim().trim_end_matches('/').to_ascii_lowercase()
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

fn display(p: &Option<PathBuf>) -> String {
    p.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
}

/// Static keys of `profile` in a shared file: the credentials file's or the config file's.
fn keys_in_file(path: &Option<PathBuf>, in_credentials: bool, profile: &str, key_id: Option<KeyId>) -> Source {
    let (path, profile) = (display(path), profile.to_string());
    if in_credentials {
        Source::SharedCredentialsFile { path, profile, key_id }
    } else {
        Source::ConfigFile { path, profile, key_id }
    }
}

/// Whether an IAM Identity Center token for `key` (an sso-session name, or
/// a legacy profile's start URL) is cached where the SDKs look:
/// `~/.aws/sso/cache/<SHA-1 of key>.json`.
fn sso_token_cached(ctx: &Context, key: &str) -> bool {
    use sha1::Digest as _;
    cached_file(ctx, &format!("~/.aws/sso/cache/{}.json", data_encoding::HEXLOWER.encode(&sha1::Sha1::digest(key))))
}

/// Whether `file` (with `~`) is a readable regular file for this context;
/// `~` is HOME, else the passwd entry's home (as every SDK but Rust's has it).
fn cached_file(ctx: &Context, file: &str) -> bool {
    ctx.expand(file, Sdk::Ruby).is_some_and(|p| matches!(ctx.files.read(&p), crate::hostfs::FileText::Text(_)))
}

fn key_of(v: Option<&String>) -> Option<KeyId> {
    v.and_then(|k| KeyId::parse(k.trim().as_bytes()))
}

/// Resolves the chain as `sdk` would, at the release rolecall read.
pub fn resolve(ctx: &Context, sdk: Sdk) -> Resolution {
    resolve_built(ctx, sdk, &[])
}

/// Whether the Java SDK release on a class path fetches from EKS Pod
/// Identity's address (v2 2.21.30, v1 1.12.746 and later): None when no
/// jar of that major version names its version.
fn java_pod_identity(major: java_sdk::Major, modules: &[SdkModule]) -> Option<bool> {
    let (group, first) = match major {
        java_sdk::Major::V2 => ("software.amazon.awssdk:", (2, 21, 30)),
        java_sdk::Major::V1 => ("com.amazonaws:", (1, 12, 746)),
    };
    modules.iter().filter(|m| m.module.starts_with(group)).find_map(|m| runtime::at_least(&m.version, first))
}

/// Resolves the chain as `sdk` would in a binary built with `modules` (a
/// Go binary's build information, a JVM's class path): where the release decides and the
/// modules say it, that release's rules; else the release read.
fn resolve_built(ctx: &Context, sdk: Sdk, modules: &[SdkModule]) -> Resolution {
    let go = |major| go_sdk::resolve(ctx, major, go_sdk::Release::of(major, modules).unwrap_or(go_sdk::Release::Read));
    let java = |major| java_sdk::resolve(ctx, major, java_pod_identity(major, modules).unwrap_or(true));
    let (source, profile) = match sdk {
        Sdk::Botocore => botocore::resolve(ctx),
        Sdk::Rust => rust_sdk::resolve(ctx),
        Sdk::JavaScriptV3 => js_sdk::resolve(ctx),
        Sdk::GoV2 => go(go_sdk::Major::V2),
        Sdk::GoV1 => go(go_sdk::Major::V1),
        Sdk::Ruby => ruby_sdk::resolve(ctx),
        Sdk::JavaV2 => java(java_sdk::Major::V2),
        Sdk::JavaV1 => java(java_sdk::Major::V1),
        Sdk::DotNetV4 => dotnet_sdk::resolve(ctx, dotnet_sdk::Major::V4),
        Sdk::DotNetV3 => dotnet_sdk::resolve(ctx, dotnet_sdk::Major::V3),
        Sdk::Php => php_sdk::resolve(ctx),
    };
    // Every string here came from the host's files and environments.
    let source = container_served(ctx, person_session(ctx, roles_anywhere(source)));
    let (source, profile) = (source.redacted(), credential::redact(&profile));
    Resolution { sdk, method: source.method(), shadowing: source.shadowing(), source, profile }
}

/// An SSO or `aws login` source marked with whether its person's token is
/// cached where the SDK looks (`~/.aws/sso/cache/<sha1 of the sso-session
/// name, or of the start URL>.json`, `~/.aws/login/cache/<sha256 of the
/// login_session>.json`), also as an assumed role's source.
fn person_session(ctx: &Context, source: Source) -> Source {
    let option = |profile: &str, names: &[&str]| {
        let files = sdk_common::load_sdk_files(ctx, Sdk::Rust).ok()?;
        let p = files.profile(profile)?;
        names.iter().find_map(|n| p.get(*n)).cloned()
    };
    match source {
        Source::Sso { profile, .. } => {
            let token_cached =
                option(&profile, &["sso_session", "sso_start_url"]).is_some_and(|k| sso_token_cached(ctx, &k));
            Source::Sso { profile, token_cached }
        }
        Source::Login { profile, .. } => {
            use sha2::Digest as _;
            let token_cached = option(&profile, &["login_session"]).is_some_and(|k| {
                let name = data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(k.as_bytes()));
                cached_file(ctx, &format!("~/.aws/login/cache/{name}.json"))
            });
            Source::Login { profile, token_cached }
        }
        Source::AssumeRole { profile, role_arn, source } => {
            Source::AssumeRole { profile, role_arn, source: Box::new(person_session(ctx, *source)) }
        }
        s => s,
    }
}

/// A `credential_process` that runs IAM Roles Anywhere's signing helper
/// (`aws_signing_helper credential-process …`) for what it is; wherever it
/// is in a chain (the source of an assumed role too).
fn roles_anywhere(source: Source) -> Source {
    match source {
        Source::CredentialProcess { profile, command } if is_signing_helper(&command) => {
            Source::RolesAnywhere { profile, command }
        }
        Source::AssumeRole { profile, role_arn, source } => {
            Source::AssumeRole { profile, role_arn, source: Box::new(roles_anywhere(*source)) }
        }
        s => s,
    }
}

/// The program is `aws_signing_helper` and its first argument `credential-process`.
fn is_signing_helper(command: &str) -> bool {
    let mut words = command.split_whitespace().map(|w| w.trim_matches(['"', '\'']));
    let program = words.next().and_then(|p| p.rsplit('/').next()).unwrap_or_default();
    program == "aws_signing_helper" && words.next() == Some("credential-process")
}

/// The Rust SDK's profile provider on its own, without the rest of the
/// chain: what AWS's published profile-provider tests exercise.
pub fn rust_profile_provider(ctx: &Context) -> Source {
    rust_sdk::profile_provider(ctx).redacted()
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
        Sdk::Botocore | Sdk::JavaV2 | Sdk::JavaV1 => value.is_some_and(|v| v.eq_ignore_ascii_case("true")),
        Sdk::JavaScriptV3 => value == Some("true"),
        Sdk::Rust => true,
        // Not read by the Go and Ruby SDK versions modelled: they fall back.
        Sdk::GoV2 | Sdk::GoV1 | Sdk::Ruby | Sdk::DotNetV4 | Sdk::DotNetV3 | Sdk::Php => false,
    }
}

/// The instance role as the SDK reaches it. `v1_disabled`: see [`v1_disabled`].
fn instance_role(ctx: &Context, sdk: Sdk, v1_disabled: bool) -> Source {
    if let Some(endpoint) = roles_anywhere_serve(ctx).filter(|_| !imds_disabled(ctx, sdk)) {
        return Source::RolesAnywhereServe { endpoint };
    }
    if imds_disabled(ctx, sdk) {
        return Source::NoCredentials;
    }
    if let Some(endpoint) = metadata_endpoint(ctx).filter(|e| !ctx.metadata.is_own(e)) {
        let key_id = ctx.metadata.served.get(&endpoint_key(&endpoint)).cloned().flatten();
        return Source::MetadataEmulator { endpoint, key_id };
    }
    if !ctx.instance.attached {
        return Source::NoCredentials;
    }
    if ctx.instance.v1_only && v1_disabled {
        let error = match sdk {
            Sdk::Botocore => "MetadataRetrievalError: IMDSv2 token request unanswered and IMDSv1 disabled",
            Sdk::Rust => "IMDSv2 token request unanswered; the Rust SDK has no IMDSv1 fallback",
            _ => "IMDSv2 token request unanswered and IMDSv1 disabled",
        };
        return Source::Error { error: error.into() };
    }
    Source::InstanceRole
}

/// The process's IMDS endpoint when it is IAM Roles Anywhere's local IMDS
/// emulator (`aws_signing_helper serve`, on a loopback address at a port
/// `ctx.signing_helper_ports` names: a running helper's, or in an image its default 9911):
/// the "instance role" it gets is the Roles Anywhere role, whatever the
/// instance has.
fn roles_anywhere_serve(ctx: &Context) -> Option<String> {
    let endpoint = metadata_endpoint(ctx)?;
    let endpoint = endpoint.as_str();
    let url = reqwest::Url::parse(endpoint).ok()?;
    let loopback = url.host_str()?.trim_matches(['[', ']']).parse::<std::net::IpAddr>().ok()?.is_loopback();
    let port = url.port()?;
    let served = ctx.signing_helper_ports.contains(&port);
    (loopback && served).then(|| endpoint.to_string())
}

/// The instance metadata endpoint the SDKs use for this context:
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else `ec2_metadata_service_endpoint`
/// of the config file's profile `AWS_PROFILE` names (or `default`), as the
/// lenient parser reads it. None: the default endpoint.
pub fn metadata_endpoint(ctx: &Context) -> Option<String> {
    metadata_endpoint_from(ctx).map(|(url, _)| url)
}

/// [`metadata_endpoint`], and the config file that sets it (None: the environment).
pub fn metadata_endpoint_from(ctx: &Context) -> Option<(String, Option<PathBuf>)> {
    ctx.metadata_endpoint.get_or_init(|| find_metadata_endpoint(ctx)).clone()
}

fn find_metadata_endpoint(ctx: &Context) -> Option<(String, Option<PathBuf>)> {
    if let Some(e) = ctx.var("AWS_EC2_METADATA_SERVICE_ENDPOINT").filter(|e| !e.trim().is_empty()) {
        return Some((e.to_string(), None));
    }
    let profile = ctx.var("AWS_PROFILE").filter(|p| !p.is_empty()).unwrap_or("default");
    let files = sdk_common::load_sdk_files(ctx, Sdk::JavaScriptV3).ok()?;
    let e = files.profile(profile)?.get("ec2_metadata_service_endpoint")?;
    (!e.trim().is_empty()).then(|| (e.to_string(), files.config_path().map(Path::to_path_buf)))
}

/// A container credentials endpoint a process names itself
/// (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, when no relative URI comes first),
/// and the `Authorization` value its SDK sends there.
#[derive(Clone)]
pub struct ContainerEndpoint {
    pub uri: String,
    /// The token file's text (`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, read
    /// as the process would), else `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    pub authorization: Option<zeroize::Zeroizing<String>>,
}

impl ContainerEndpoint {
    /// How its answer is filed: the endpoint, and a digest of the
    /// authorization (a server may answer each caller differently).
    pub fn key(&self) -> String {
        use sha2::Digest as _;
        let digest = self.authorization.as_ref().map(|a| sha2::Sha256::digest(a.as_bytes()));
        let auth = digest.map_or_else(|| "-".to_string(), |d| data_encoding::HEXLOWER.encode(&d));
        format!("{} {auth}", endpoint_key(&self.uri))
    }

    /// On a loopback address over http, where a local credential server
    /// (aws-vault's, Greengrass's) listens and the SDKs accept plain http.
    pub fn is_local(&self) -> bool {
        is_local_http(&self.uri)
    }
}

/// Whether `uri` is http to a loopback address (or `localhost`): a local
/// server rolecall may ask as the process's SDK would.
pub fn is_local_http(uri: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(uri) else { return false };
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    let loopback = host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) || host == "localhost";
    url.scheme() == "http" && loopback
}

/// The container credentials endpoint the process names, if any.
pub fn container_endpoint<'c>(ctx: &'c Context) -> Option<&'c ContainerEndpoint> {
    ctx.container_endpoint.get_or_init(|| find_container_endpoint(ctx)).as_ref()
}

fn find_container_endpoint(ctx: &Context) -> Option<ContainerEndpoint> {
    if ctx.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some() {
        return None;
    }
    let uri = ctx.var("AWS_CONTAINER_CREDENTIALS_FULL_URI")?.to_string();
    let from_file = ctx.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").map(|path| {
        let text = ctx.expand(path, Sdk::GoV2).and_then(|p| ctx.files.open(&p, 16 * 1024)?.ok()).and_then(|o| {
            let mut bytes = zeroize::Zeroizing::new(Vec::new());
            std::io::Read::read_to_end(&mut std::io::Read::take(o.file, 16 * 1024), &mut bytes).ok()?;
            std::str::from_utf8(&bytes).ok().map(|t| zeroize::Zeroizing::new(t.trim().to_string()))
        });
        text.unwrap_or_default()
    });
    let authorization =
        from_file.or_else(|| ctx.var("AWS_CONTAINER_AUTHORIZATION_TOKEN").map(|t| zeroize::Zeroizing::new(t.into())));
    Some(ContainerEndpoint { uri, authorization })
}

/// Whether `uri` is one of AWS's own container credentials agents (ECS's,
/// EKS Pod Identity's), which serve temporary credentials: never asked.
pub fn is_aws_container_agent(uri: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(uri) else { return false };
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_ascii_lowercase();
    matches!(host.as_str(), "169.254.170.2" | "169.254.170.23" | "fd00:ec2::23")
}

/// A container source marked with what a local endpoint served the
/// process, when rolecall asked it (also as an assumed role's source).
fn container_served(ctx: &Context, source: Source) -> Source {
    if ctx.metadata.containers.is_empty() {
        return source;
    }
    match source {
        Source::Container { uri, key_id: None } => {
            let named = container_endpoint(ctx).filter(|e| endpoint_key(&e.uri) == endpoint_key(&uri));
            let key_id = named.and_then(|e| ctx.metadata.containers.get(&e.key()).cloned().flatten());
            Source::Container { uri, key_id }
        }
        Source::AssumeRole { profile, role_arn, source } => {
            Source::AssumeRole { profile, role_arn, source: Box::new(container_served(ctx, *source)) }
        }
        s => s,
    }
}

fn container_uri(ctx: &Context) -> Option<String> {
    if let Some(rel) = ctx.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return Some(format!("http://169.254.170.2{rel}"));
    }
    ctx.var("AWS_CONTAINER_CREDENTIALS_FULL_URI").map(str::to_string)
}

/// A subject's resolution: the answer of its runtime's SDK (botocore when
/// the runtime is unknown or not modelled), and every other modelled SDK
/// that would answer differently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ChainReport {
    pub runtime: Runtime,
    /// For a Go binary: the AWS SDK modules its build information names,
    /// with their versions; for a JVM: the AWS SDK for Java modules its
    /// class path holds (a version when a jar's name gives it). Empty when
    /// nothing says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sdk_modules: Vec<SdkModule>,
    pub resolution: Resolution,
    pub other_sdks: Vec<Resolution>,
    /// What the answer assumes about the SDK's release, when it depends on
    /// one the process does not reveal (EKS Pod Identity's minimum releases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_note: Option<String>,
    /// Amazon Bedrock calls sign with an API key instead of the chain's
    /// credentials (`AWS_BEARER_TOKEN_BEDROCK`, in the SDKs that read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bedrock_api_key: Option<BedrockApiKey>,
}

/// The Bedrock API key a process's Bedrock clients use (never the key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct BedrockApiKey {
    /// `long-term` (an IAM user's `ABSK…` key: static), `short-term` (a
    /// presigned `bedrock-api-key-…` made from other credentials, expiring
    /// within hours) or `unrecognised`.
    pub kind: &'static str,
    /// A long-term key's service user (`BedrockAPIKey-…-at-ACCOUNT`), when it decodes so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// What `AWS_BEARER_TOKEN_BEDROCK` holds, if set.
fn bedrock_api_key(ctx: &Context) -> Option<BedrockApiKey> {
    let key = ctx.var("AWS_BEARER_TOKEN_BEDROCK")?.trim();
    if key.is_empty() {
        return None;
    }
    Some(if credential::is_bedrock_key(key.as_bytes()) {
        BedrockApiKey { kind: "long-term", user: credential::bedrock_identity(key.as_bytes()).map(|(user, _)| user) }
    } else if key.starts_with("bedrock-api-key-") {
        BedrockApiKey { kind: "short-term", user: None }
    } else {
        BedrockApiKey { kind: "unrecognised", user: None }
    })
}

/// The SDKs whose chains are modelled, the reference first.
const MODELLED: [Sdk; 11] = [
    Sdk::Botocore,
    Sdk::Rust,
    Sdk::JavaScriptV3,
    Sdk::GoV2,
    Sdk::GoV1,
    Sdk::Ruby,
    Sdk::JavaV2,
    Sdk::JavaV1,
    Sdk::DotNetV4,
    Sdk::DotNetV3,
    Sdk::Php,
];

/// Resolves the chain for every modelled SDK. The runtime is only worked
/// out (which may read the executable) when the SDKs disagree; a Go
/// binary's models then follow the module versions it names.
pub fn report(ctx: &Context, runtime: impl FnOnce() -> Detected) -> ChainReport {
    let mut all: Vec<Resolution> = MODELLED.into_iter().map(|s| resolve(ctx, s)).collect();
    let agree = all.iter().all(|r| r.source == all[0].source);
    let Detected { runtime, sdk_modules } = if agree { Detected::unknown() } else { runtime() };
    let versioned: &[Sdk] = match runtime {
        Runtime::Go => &[Sdk::GoV2, Sdk::GoV1],
        Runtime::Java => &[Sdk::JavaV2, Sdk::JavaV1],
        _ => &[],
    };
    if !sdk_modules.is_empty() {
        for r in all.iter_mut().filter(|r| versioned.contains(&r.sdk)) {
            *r = resolve_built(ctx, r.sdk, &sdk_modules);
        }
    }
    let primary = runtime.sdk(&sdk_modules).unwrap_or(Sdk::Botocore);
    let (mine, others): (Vec<Resolution>, Vec<Resolution>) = all.into_iter().partition(|r| r.sdk == primary);
    let resolution = mine.into_iter().next().expect("every SDK is resolved");
    let version_note = pod_identity_note(ctx, &resolution, runtime, &sdk_modules);
    let other_sdks = others.into_iter().filter(|r| r.source != resolution.source).collect();
    ChainReport { runtime, sdk_modules, resolution, other_sdks, version_note, bedrock_api_key: bedrock_api_key(ctx) }
}

/// The first release of each SDK that fetches credentials from the EKS Pod
/// Identity agent (the EKS user guide's table); before it, the SDK refuses
/// the address and goes on down its chain or stops.
fn pod_identity_minimum(sdk: Sdk) -> Option<&'static str> {
    Some(match sdk {
        Sdk::Botocore => "botocore 1.34.41",
        Sdk::Rust => "release-2024-03-13",
        Sdk::JavaScriptV3 => "v3.458.0",
        Sdk::GoV2 => "release-2023-11-14 (config v1.25.0)",
        Sdk::GoV1 => "v1.47.11",
        Sdk::Ruby => "3.188.0",
        Sdk::JavaV2 => "2.21.30",
        Sdk::JavaV1 => "1.12.746",
        Sdk::DotNetV3 => "3.7.734.0",
        Sdk::Php => "3.287.1",
        Sdk::DotNetV4 => return None,
    })
}

/// Whether a container URI is the EKS Pod Identity agent's.
pub(super) fn is_pod_identity(uri: &str) -> bool {
    reqwest::Url::parse(uri).is_ok_and(|u| {
        u.host_str().is_some_and(|h| matches!(h.trim_matches(['[', ']']), "169.254.170.23" | "fd00:ec2::23"))
    })
}

/// What the answer assumes when it depends on the SDK's release and the
/// process does not tell it: EKS Pod Identity's endpoint works only from a
/// minimum release of each SDK.
fn pod_identity_note(ctx: &Context, r: &Resolution, runtime: Runtime, modules: &[SdkModule]) -> Option<String> {
    let minimum = pod_identity_minimum(r.sdk)?;
    let sdk = r.sdk;
    // A class path that names its release is modelled at it.
    let java_major = match sdk {
        Sdk::JavaV2 => Some(java_sdk::Major::V2),
        Sdk::JavaV1 => Some(java_sdk::Major::V1),
        _ => None,
    };
    if java_major.is_some_and(|m| runtime == Runtime::Java && java_pod_identity(m, modules).is_some()) {
        return None;
    }
    let go_major = match sdk {
        Sdk::GoV2 => Some(go_sdk::Major::V2),
        Sdk::GoV1 => Some(go_sdk::Major::V1),
        _ => None,
    };
    if let Some(major) = go_major {
        // A Go binary that names its release is modelled at it.
        if runtime == Runtime::Go && go_sdk::Release::of(major, modules).is_some() {
            return None;
        }
        let newer = go_sdk::resolve(ctx, major, go_sdk::Release::PodIdentity).0.redacted();
        return (newer != r.source && matches!(&newer, Source::Container { uri, .. } if is_pod_identity(uri))).then(
            || {
                format!(
                    "the {sdk} release this binary was built with is not known: modelled as the release read, which \
                 refuses EKS Pod Identity's endpoint; {minimum} and later fetch credentials from it"
                )
            },
        );
    }
    matches!(&r.source, Source::Container { uri, .. } if is_pod_identity(uri)).then(|| {
        format!(
            "EKS Pod Identity's endpoint: {sdk} fetches credentials from it from {minimum}; the process does not \
             say which release it runs, and an older one refuses the endpoint and goes on down its chain"
        )
    })
}

/// Whose chain it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Subject {
    /// A running process, with its own environment.
    Process(crate::location::ProcessInfo),
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
    fn expand_vars_like_python() {
        let get = |n: &str| (n == "HOME").then(|| "/home/u".to_string());
        assert_eq!(expand_vars("$HOME/.aws/x", get), "/home/u/.aws/x");
        assert_eq!(expand_vars("${HOME}/x", get), "/home/u/x");
        assert_eq!(expand_vars("$NOPE/x", get), "$NOPE/x");
        assert_eq!(expand_vars("a$", get), "a$");
        assert_eq!(expand_vars("${unclosed", get), "${unclosed");
    }
}
