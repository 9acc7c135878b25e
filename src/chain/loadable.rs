//! What an SDK would load, whichever profile it selects: every profile with
//! static keys in every shared file a chain reads (each SDK's own parser),
//! every environment pair an SDK reads, and a JVM's system properties. This
//! is the SDK half of "live": a pair here is live even if no rule paired it.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use super::sdk_common::load_sdk_files;
use super::{Context, Sdk};
use crate::awsconfig::{self, ConfigProfiles, Ini, Options};
use crate::credential::{self, KeyId, Screen, Secret};
use crate::environ::Environ;
use crate::hostfs::FileText;

/// What a shared file is to the SDKs that read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileRole {
    /// `~/.aws/credentials`, `AWS_SHARED_CREDENTIALS_FILE`, Java's `AWS_CREDENTIAL_PROFILES_FILE`.
    Credentials,
    /// `~/.aws/config`, `AWS_CONFIG_FILE`.
    Config,
    /// botocore's legacy `AWS_CREDENTIAL_FILE` (`AWSAccessKeyId=`, `AWSSecretKey=`).
    Ec2CredentialFile,
    /// A boto2 config (`BOTO_CONFIG`, `/etc/boto.cfg`, `~/.boto`): its `[Credentials]`.
    BotoConfig,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`: read, never parsed for keys.
    WebIdentityToken,
}

/// A static key pair an SDK would load from a file (`line` is the key ID's).
#[derive(Debug)]
pub struct LoadedFromFile {
    /// The file as the process sees it.
    pub path: PathBuf,
    pub key_id: KeyId,
    pub secret: Secret,
    pub token: Option<Secret>,
    /// The SDK models that load it, in the order they were asked.
    pub sdks: Vec<&'static str>,
    /// The profile (or section) it is in.
    pub profile: String,
}

impl LoadedFromFile {
    /// `botocore, Rust SDK: profile ci`.
    pub fn by(&self) -> String {
        format!("{}: profile {}", self.sdks.join(", "), self.profile)
    }
}

/// A static key pair an SDK would load from a process's environment or
/// command line: the variable (or argument index) holding the key ID.
#[derive(Debug)]
pub struct LoadedFromProcess {
    pub variable: Option<String>,
    pub argument: Option<u32>,
    pub key_id: KeyId,
    pub secret: Secret,
    pub token: Option<Secret>,
    pub by: String,
}

/// Every file an SDK model reads for this context, as the process sees it.
pub fn files_read(ctx: &Context) -> Vec<(PathBuf, FileRole)> {
    let mut out: BTreeSet<(PathBuf, FileRole)> = BTreeSet::new();
    for sdk in [Sdk::Botocore, Sdk::Rust, Sdk::JavaScriptV3] {
        let config = ctx.expand(ctx.var("AWS_CONFIG_FILE").unwrap_or("~/.aws/config"), sdk);
        let creds = ctx.expand(ctx.var("AWS_SHARED_CREDENTIALS_FILE").unwrap_or("~/.aws/credentials"), sdk);
        out.extend(config.map(|p| (p, FileRole::Config)));
        out.extend(creds.map(|p| (p, FileRole::Credentials)));
    }
    // The Java SDKs (v1: AWS_CREDENTIAL_PROFILES_FILE; v2 also reads AWS_SHARED_CREDENTIALS_FILE).
    if let Some(p) = ctx.var("AWS_CREDENTIAL_PROFILES_FILE").filter(|v| !v.is_empty()) {
        out.extend(ctx.expand(p, Sdk::Rust).map(|p| (p, FileRole::Credentials)));
    }
    if let Some(p) = ctx.var("AWS_CREDENTIAL_FILE").filter(|v| !v.is_empty()) {
        out.extend(ctx.expand(p, Sdk::Botocore).map(|p| (p, FileRole::Ec2CredentialFile)));
    }
    let boto = match ctx.var("BOTO_CONFIG") {
        Some(p) => vec![p.to_string()],
        None => vec!["/etc/boto.cfg".into(), "~/.boto".into()],
    };
    for p in boto {
        out.extend(ctx.expand(&p, Sdk::Botocore).map(|p| (p, FileRole::BotoConfig)));
    }
    if let Some(p) = ctx.var("AWS_WEB_IDENTITY_TOKEN_FILE").filter(|v| !v.is_empty()) {
        out.extend(ctx.expand(p, Sdk::Rust).map(|p| (p, FileRole::WebIdentityToken)));
    }
    out.into_iter().collect()
}

/// A pair worth calling live: a key ID of a real shape and a secret that
/// is not an example or a placeholder.
fn pair_of(id: Option<&String>, secret: Option<&String>) -> Option<(KeyId, Secret)> {
    let id = id?.trim();
    let secret = secret?.trim();
    let real = credential::screen_key_id(id.as_bytes()) == Screen::Keep
        && credential::screen_secret(secret.as_bytes()) == Screen::Keep;
    real.then(|| (KeyId::parse(id.as_bytes()).expect("screened"), Secret::new(secret.as_bytes())))
}

fn token_of(options: &Options, name: &str) -> Option<Secret> {
    options.get(name).map(|t| t.trim()).filter(|t| !t.is_empty()).map(|t| Secret::new(t.as_bytes()))
}

/// Every static pair an SDK model would load from the shared files of
/// `ctx`, any profile: botocore file by file, the Rust and JavaScript SDKs
/// with both files merged as each merges them (a key ID in one file and its
/// secret in the other is loaded by them).
pub fn from_files(ctx: &Context) -> Vec<LoadedFromFile> {
    let mut out: Vec<LoadedFromFile> = Vec::new();
    // (path, key ID, secret fingerprint, profile) → index in `out`.
    let mut index: HashMap<(PathBuf, KeyId, String, String), usize> = HashMap::new();
    let mut add = |path: PathBuf, sdk: &'static str, profile: &str, options: &Options, names: [&str; 3]| {
        let Some((key_id, secret)) = pair_of(options.get(names[0]), options.get(names[1])) else { return };
        let key = (path.clone(), key_id.clone(), secret.fingerprint().to_string(), profile.to_string());
        match index.get(&key) {
            Some(&i) if !out[i].sdks.contains(&sdk) => out[i].sdks.push(sdk),
            Some(_) => {}
            None => {
                index.insert(key, out.len());
                let token = token_of(options, names[2]);
                out.push(LoadedFromFile { path, key_id, secret, token, sdks: vec![sdk], profile: profile.into() });
            }
        }
    };
    let keys = ["aws_access_key_id", "aws_secret_access_key", "aws_session_token"];
    for (path, role) in files_read(ctx) {
        let FileText::Text(text) = ctx.files.read(&path) else { continue };
        match role {
            FileRole::Credentials | FileRole::Config => {
                let Ok(ini) = Ini::parse(&text) else { continue };
                let sections: Vec<(String, Options)> = if role == FileRole::Config {
                    ConfigProfiles::from_config(&ini).profiles.into_iter().collect()
                } else {
                    ini.sections
                };
                for (profile, options) in &sections {
                    add(path.clone(), "botocore", profile, options, keys);
                }
            }
            FileRole::BotoConfig => {
                if let Some(c) = Ini::parse(&text).ok().and_then(|i| i.section("Credentials").cloned()) {
                    add(path.clone(), "botocore", "Credentials (boto)", &c, keys);
                }
            }
            FileRole::Ec2CredentialFile => {
                let kv: Options = text
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .collect();
                add(path.clone(), "botocore", "AWS_CREDENTIAL_FILE", &kv, ["AWSAccessKeyId", "AWSSecretKey", "-"]);
            }
            FileRole::WebIdentityToken => {}
        }
    }
    for (sdk, name) in [(Sdk::Rust, "Rust SDK"), (Sdk::JavaScriptV3, "JavaScript v3")] {
        let Ok(files) = load_sdk_files(ctx, sdk) else { continue };
        for (profile, options) in &files.profiles.profiles {
            let Some(path) = files.path_of_keys(profile) else { continue };
            add(path, name, profile, options, keys);
        }
    }
    out
}

/// Environment variables that SDKs read a static key pair from:
/// (key ID, secret, session token, who reads them).
const ENV_PAIRS: &[(&str, &str, &str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "every AWS SDK"),
    // Go v1 and v2, Java v1 and Ruby accept the older names too.
    ("AWS_ACCESS_KEY_ID", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "Go, Java v1, Ruby SDKs"),
    ("AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "Go, Java v1, Ruby SDKs"),
    ("AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "Go, Java v1, Ruby SDKs"),
    ("AMAZON_ACCESS_KEY_ID", "AMAZON_SECRET_ACCESS_KEY", "AMAZON_SESSION_TOKEN", "Ruby SDK"),
    // aws-config falls back to SECRET_ACCESS_KEY (AWS's published chain tests).
    ("AWS_ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "Rust SDK"),
];

/// Every static pair an SDK would load from an environment.
pub fn from_environment(env: &Environ) -> Vec<LoadedFromProcess> {
    let mut out: Vec<LoadedFromProcess> = Vec::new();
    for (id_var, secret_var, token_var, who) in ENV_PAIRS {
        let id = env.get(id_var).map(str::to_string);
        let secret = env.get(secret_var).map(str::to_string);
        let Some((key_id, secret)) = pair_of(id.as_ref(), secret.as_ref()) else { continue };
        let token = env.get(token_var).filter(|t| !t.is_empty()).map(|t| Secret::new(t.as_bytes()));
        let by = format!("{who}: {id_var} and {secret_var}");
        if !out.iter().any(|l| l.key_id == key_id && l.variable.as_deref() == Some(*id_var)) {
            out.push(LoadedFromProcess {
                variable: Some(id_var.to_string()),
                argument: None,
                key_id,
                secret,
                token,
                by,
            });
        }
    }
    out
}

/// The Java SDKs' system properties on a JVM's command line (v1:
/// `aws.accessKeyId`, `aws.secretKey`; v2 also `aws.secretAccessKey`,
/// `aws.sessionToken`): the first source of their default chains.
pub fn from_command_line(argv: &Environ) -> Vec<LoadedFromProcess> {
    let mut id: Option<(u32, String)> = None;
    let (mut secret, mut token) = (None, None);
    for (i, arg) in argv.raw().split(|&b| b == 0).enumerate() {
        let Ok(arg) = std::str::from_utf8(arg) else { continue };
        let Some((name, value)) = arg.strip_prefix("-D").and_then(|a| a.split_once('=')) else { continue };
        match name {
            "aws.accessKeyId" => id = Some((i as u32, value.to_string())),
            "aws.secretKey" | "aws.secretAccessKey" => secret = Some(value.to_string()),
            "aws.sessionToken" => token = Some(Secret::new(value.as_bytes())),
            _ => {}
        }
    }
    let Some((argument, id)) = id else { return Vec::new() };
    let Some((key_id, secret)) = pair_of(Some(&id), secret.as_ref()) else { return Vec::new() };
    let by = "Java SDK: system properties aws.accessKeyId and aws.secretKey/aws.secretAccessKey".to_string();
    vec![LoadedFromProcess { variable: None, argument: Some(argument), key_id, secret, token, by }]
}

/// Every static pair in one shared credentials file's text that an SDK
/// model would load (for the `sdk-model` pairing's examples).
pub fn in_credentials_text(text: &str) -> Vec<KeyId> {
    let mut out = Vec::new();
    let keys = |o: &Options, names: [&str; 2]| pair_of(o.get(names[0]), o.get(names[1])).map(|(k, _)| k);
    if let Ok(ini) = Ini::parse(text) {
        out.extend(ini.sections.iter().filter_map(|(_, o)| keys(o, ["aws_access_key_id", "aws_secret_access_key"])));
    }
    if let Ok(sections) = awsconfig::parse_rust(text) {
        out.extend(sections.iter().filter_map(|(_, o)| keys(o, ["aws_access_key_id", "aws_secret_access_key"])));
    }
    out.extend(
        awsconfig::parse_js(text)
            .unwrap_or_default()
            .iter()
            .filter_map(|(_, o)| keys(o, ["aws_access_key_id", "aws_secret_access_key"])),
    );
    out.sort();
    out.dedup();
    out
}
