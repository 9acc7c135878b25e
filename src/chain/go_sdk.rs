//! The AWS SDKs for Go: v2 (`config.LoadDefaultConfig`; config module
//! 1.17.10 read) and v1 (`session.NewSession`; 1.44.133 read), modelled
//! from Debian's source packages and checked against both by
//! tests/cli/chain_oracle.rs; and where a binary's build information says
//! it is newer, the container endpoint as config v1.25.0 and v1 v1.47.11
//! (EKS Pod Identity) and later check it (read at aws-sdk-go 8d203cc).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::sdk_common::container_host_allowed;
use super::{Context, Sdk, SdkModule, Source, container_uri, instance_role, key_of, keys_in_file};
use crate::awsconfig::{self, Options};
use crate::hostfs::FileText;

/// Which Go SDK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Major {
    V1,
    V2,
}

/// Which releases' rules the container endpoint follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Release {
    /// As read (config 1.17.10, v1 1.44.133): a full URI only to a loopback host.
    Read,
    /// config v1.25.0 and v1 v1.47.11 (2023-11-14) and later: a full URI
    /// over http to a loopback, ECS or EKS Pod Identity address, any other
    /// scheme to any host.
    PodIdentity,
}

impl Release {
    /// The release a binary was built with, from its build information's
    /// module versions: None when it does not name the module that decides
    /// (v2's `config`, or v1's `aws-sdk-go`) with a version.
    pub(super) fn of(major: Major, modules: &[SdkModule]) -> Option<Release> {
        let (module, first) = match major {
            Major::V2 => ("github.com/aws/aws-sdk-go-v2/config", (1, 25, 0)),
            Major::V1 => ("github.com/aws/aws-sdk-go", (1, 47, 11)),
        };
        let version = modules.iter().find(|m| m.module == module)?.version.as_str();
        let newer = super::runtime::at_least(version.strip_prefix('v')?, first)?;
        Some(if newer { Release::PodIdentity } else { Release::Read })
    }
}

impl Major {
    fn sdk(self) -> Sdk {
        match self {
            Major::V1 => Sdk::GoV1,
            Major::V2 => Sdk::GoV2,
        }
    }
}

/// One profile as the SDK's `SharedConfig` holds it once its source
/// profiles are linked.
#[derive(Clone, Debug, Default)]
struct Linked {
    name: String,
    role_arn: String,
    source_profile: String,
    credential_source: String,
    credential_process: String,
    web_identity_token_file: String,
    /// sso_account_id, sso_region, sso_role_name, sso_start_url.
    sso: [String; 4],
    sso_session: String,
    /// Static keys, as the source naming the file they came from.
    keys: Option<Source>,
    source: Option<Box<Linked>>,
}

impl Linked {
    fn has_sso(&self) -> bool {
        self.sso.iter().any(|s| !s.is_empty())
    }

    fn has_credentials(&self) -> bool {
        [&self.source_profile, &self.credential_source, &self.credential_process, &self.web_identity_token_file]
            .iter()
            .any(|s| !s.is_empty())
            || self.has_sso()
            || self.keys.is_some()
    }

    fn clear_assume_role(&mut self) {
        self.role_arn.clear();
        self.source_profile.clear();
    }

    fn clear_credentials(&mut self) {
        self.credential_source.clear();
        self.credential_process.clear();
        self.web_identity_token_file.clear();
        self.keys = None;
        self.sso = Default::default();
    }

    /// `updateString` of every option the model needs, from one section;
    /// v1 reads the role and SSO options only with the shared config enabled.
    fn update(&mut self, options: &Options, all: bool) {
        let set = |dst: &mut String, key: &str| {
            if let Some(v) = options.get(key) {
                *dst = v.clone();
            }
        };
        if all {
            set(&mut self.role_arn, "role_arn");
            set(&mut self.source_profile, "source_profile");
            set(&mut self.credential_source, "credential_source");
            set(&mut self.sso_session, "sso_session");
            for (dst, key) in
                self.sso.iter_mut().zip(["sso_account_id", "sso_region", "sso_role_name", "sso_start_url"])
            {
                set(dst, key);
            }
        }
        set(&mut self.credential_process, "credential_process");
        set(&mut self.web_identity_token_file, "web_identity_token_file");
    }
}

/// The shared files as one SDK reads them.
struct Files {
    config_path: Option<PathBuf>,
    creds_path: Option<PathBuf>,
    /// v2: the merged sections (config profiles renamed, credentials merged
    /// over them), with whether a section's keys came from the credentials
    /// file and whether it holds a partial key pair.
    merged: BTreeMap<String, (Options, bool, bool)>,
    /// v1: each file read, in order (later ones win), with whether it is the credentials file.
    files: Vec<(awsconfig::Sections, bool)>,
    /// v1 with the shared config enabled (`AWS_SDK_LOAD_CONFIG`).
    ex_opts: bool,
}

/// Why a profile could not be linked.
enum LinkError {
    /// The profile is in no file (`SharedConfigProfileNotExistError`).
    NotExist,
    /// Invalid configuration: the SDK fails.
    Invalid(String),
}

fn read(ctx: &Context, path: &Option<PathBuf>, major: Major) -> Result<awsconfig::Sections, String> {
    let Some(path) = path else { return Ok(Vec::new()) };
    match ctx.files.read(path) {
        FileText::Text(text) => awsconfig::parse_go(&text, major == Major::V2)
            .map_err(|e| format!("SharedConfigLoadError: {}: {e}", path.display())),
        _ => Ok(Vec::new()),
    }
}

fn path(ctx: &Context, var: &str, default: &str) -> Option<PathBuf> {
    match ctx.var(var).filter(|v| !v.is_empty()) {
        Some(p) => ctx.expand(p, Sdk::GoV2),
        None => ctx.expand(default, Sdk::GoV2),
    }
}

impl Files {
    fn load(ctx: &Context, major: Major, ex_opts: bool) -> Result<Files, String> {
        let config_path = path(ctx, "AWS_CONFIG_FILE", "~/.aws/config");
        let creds_path = path(ctx, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials");
        let mut files = Files { config_path, creds_path, merged: BTreeMap::new(), files: Vec::new(), ex_opts };
        match major {
            Major::V1 => {
                if ex_opts {
                    files.files.push((read(ctx, &files.config_path, major)?, false));
                }
                files.files.push((read(ctx, &files.creds_path, major)?, true));
            }
            Major::V2 => {
                let (config, creds) = (read(ctx, &files.config_path, major)?, read(ctx, &files.creds_path, major)?);
                // processConfigSections: `profile x` becomes x (replacing a bare
                // one), `sso-session x` stays, `default` stays, the rest is dropped.
                let mut renamed: BTreeMap<String, Options> = BTreeMap::new();
                for (name, options) in &config {
                    if let Some(rest) = name.strip_prefix("profile ") {
                        renamed.insert(rest.to_string(), options.clone());
                    } else if name.starts_with("sso-session ") || name.eq_ignore_ascii_case("default") {
                        renamed.entry(name.clone()).or_insert_with(|| options.clone());
                    }
                }
                for (name, options) in renamed {
                    let partial =
                        options.contains_key("aws_access_key_id") != options.contains_key("aws_secret_access_key");
                    files.merged.insert(name, (options, false, partial));
                }
                for (name, options) in creds.iter().filter(|(n, _)| !n.starts_with("profile ")) {
                    let partial =
                        options.contains_key("aws_access_key_id") != options.contains_key("aws_secret_access_key");
                    let entry = files.merged.entry(name.clone()).or_insert_with(|| (Options::new(), false, false));
                    entry.2 = partial;
                    let both =
                        options.contains_key("aws_access_key_id") && options.contains_key("aws_secret_access_key");
                    for (k, v) in options {
                        if (k == "aws_access_key_id" || k == "aws_secret_access_key") && !both {
                            continue;
                        }
                        entry.0.insert(k.clone(), v.clone());
                    }
                    if both {
                        entry.1 = true;
                    }
                }
            }
        }
        Ok(files)
    }

    fn keys_source(&self, name: &str, options: &Options, from_creds: bool) -> Option<Source> {
        let id = options.get("aws_access_key_id").filter(|v| !v.is_empty())?;
        options.get("aws_secret_access_key").filter(|v| !v.is_empty())?;
        let path = if from_creds { &self.creds_path } else { &self.config_path };
        Some(keys_in_file(path, from_creds, name, key_of(Some(id))))
    }

    /// `setFromIniSection(s)` of one profile, before linking.
    fn lookup(&self, name: &str) -> Result<Linked, LinkError> {
        let mut c = Linked { name: name.into(), ..Linked::default() };
        if self.files.is_empty() {
            let Some((options, from_creds, partial)) = self.merged.get(name) else { return Err(LinkError::NotExist) };
            if *partial {
                return Err(LinkError::Invalid(format!("partial credentials found for profile {name}")));
            }
            c.update(options, true);
            c.keys = self.keys_source(name, options, *from_creds);
            return Ok(c);
        }
        let mut found = false;
        for (sections, from_creds) in &self.files {
            let section = |n: &str| sections.iter().find(|(s, _)| s == n).map(|(_, o)| o);
            let Some(options) = section(name).or_else(|| section(&format!("profile {name}"))) else { continue };
            found = true;
            c.update(options, self.ex_opts);
            if let Some(keys) = self.keys_source(name, options, *from_creds) {
                c.keys = Some(keys);
            }
        }
        if found { Ok(c) } else { Err(LinkError::NotExist) }
    }

    /// `setFromIniSections`: the profile with its source profiles linked.
    fn link(&self, major: Major, visited: &mut Vec<String>, name: &str) -> Result<Linked, LinkError> {
        let mut c = self.lookup(name)?;
        if visited.iter().any(|v| v == name) {
            c.clear_assume_role();
        } else if c.role_arn.is_empty() {
            let needs_arn = [("source_profile", &c.source_profile), ("credential_source", &c.credential_source)]
                .into_iter()
                .chain((major == Major::V2).then_some(("web_identity_token_file", &c.web_identity_token_file)))
                .find(|(_, v)| !v.is_empty());
            if let Some((what, _)) = needs_arn {
                return Err(LinkError::Invalid(format!(
                    "CredentialRequiresARNError: profile {name} has {what} but no role_arn"
                )));
            }
        }
        if major == Major::V2 && !visited.is_empty() && c.keys.is_some() {
            return Ok(c);
        }
        visited.push(name.to_string());
        let kinds = [&c.source_profile, &c.credential_source, &c.credential_process, &c.web_identity_token_file];
        if kinds.iter().filter(|k| !k.is_empty()).count() > 1 {
            return Err(LinkError::Invalid(format!("only one credential type may be specified per profile ({name})")));
        }
        if !c.source_profile.is_empty() {
            c.clear_credentials();
            let sp = c.source_profile.clone();
            let src = match self.link(major, visited, &sp) {
                Ok(s) => s,
                Err(LinkError::NotExist) => {
                    return Err(LinkError::Invalid(format!(
                        "SharedConfigAssumeRoleError: source profile {sp} does not exist"
                    )));
                }
                Err(e) => return Err(e),
            };
            if !src.has_credentials() {
                return Err(LinkError::Invalid(format!(
                    "SharedConfigAssumeRoleError: source profile {sp} has no credentials"
                )));
            }
            c.source = Some(Box::new(src));
        }
        if major == Major::V2 && !c.sso_session.is_empty() {
            let session = format!("sso-session {}", c.sso_session.trim());
            if !self.merged.contains_key(&session) {
                return Err(LinkError::Invalid(format!("failed to find SSO session section, {}", c.sso_session)));
            }
        }
        Ok(c)
    }
}

/// Both environment keys, each the first non-empty of its two names.
fn env_keys(ctx: &Context) -> Option<Source> {
    let first = |names: [&str; 2]| names.into_iter().find_map(|n| ctx.var(n).filter(|v| !v.is_empty()));
    let id = first(["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"])?;
    first(["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"])?;
    Some(Source::Environment { key_id: key_of(Some(&id.to_string())) })
}

/// Go's `strconv.ParseBool` being true.
fn parse_bool(v: Option<&str>) -> bool {
    matches!(v, Some("1" | "t" | "T" | "TRUE" | "true" | "True"))
}

/// The Go SDK's chain: environment keys, web identity from the environment,
/// then the profile (whose last resort is the container endpoint or IMDS).
pub(super) fn resolve(ctx: &Context, major: Major, release: Release) -> (Source, String) {
    let nonempty = |n: &str| ctx.var(n).filter(|v| !v.is_empty());
    // v1 reads the config file and AWS_DEFAULT_PROFILE only with AWS_SDK_LOAD_CONFIG.
    let ex_opts = major == Major::V2 || parse_bool(ctx.var("AWS_SDK_LOAD_CONFIG"));
    let named = nonempty("AWS_PROFILE").or_else(|| nonempty("AWS_DEFAULT_PROFILE").filter(|_| ex_opts));
    let profile = named.unwrap_or("default").to_string();
    let env = env_keys(ctx);
    let linked =
        Files::load(ctx, major, ex_opts).and_then(|files| match files.link(major, &mut Vec::new(), &profile) {
            Ok(c) => Ok(Some((files, c))),
            Err(LinkError::NotExist) => Ok(None),
            Err(LinkError::Invalid(e)) => Err(e),
        });
    let linked = match linked {
        Ok(l) => l,
        // v1 tolerates a shared file it cannot use when the environment has
        // keys and nothing named a profile (aws-sdk-go#2455).
        Err(_) if major == Major::V1 && named.is_none() && !ex_opts && env.is_some() => None,
        Err(error) => return (Source::Error { error }, profile),
    };
    if let Some(env) = env {
        return (env, profile);
    }
    if let Some(token_file) = nonempty("AWS_WEB_IDENTITY_TOKEN_FILE") {
        return (web_identity(nonempty("AWS_ROLE_ARN").unwrap_or(""), token_file), profile);
    }
    let c = linked.map(|(_, c)| c).unwrap_or_else(|| Linked { name: profile.clone(), ..Linked::default() });
    (from_profile(ctx, major, release, &c), profile)
}

fn web_identity(role_arn: &str, token_file: &str) -> Source {
    if role_arn.is_empty() {
        return Source::Error { error: "web identity: role ARN is not set".into() };
    }
    Source::WebIdentity { role_arn: role_arn.into(), token_file: token_file.into() }
}

/// `resolveCredsFromProfile`.
fn from_profile(ctx: &Context, major: Major, release: Release, c: &Linked) -> Source {
    let base = if let Some(src) = &c.source {
        from_profile(ctx, major, release, src)
    } else if let Some(keys) = &c.keys {
        keys.clone()
    } else if !c.credential_source.is_empty() {
        match c.credential_source.as_str() {
            "Ec2InstanceMetadata" => instance_role(ctx, major.sdk(), false),
            "Environment" => env_keys(ctx).unwrap_or_else(|| Source::Error {
                error: "credential_source Environment: no keys in the environment".into(),
            }),
            "EcsContainer" => match ctx.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").filter(|v| !v.is_empty()) {
                Some(rel) => Source::container(format!("http://169.254.170.2{rel}")),
                None => Source::Error {
                    error: "EcsContainer credential_source without AWS_CONTAINER_CREDENTIALS_RELATIVE_URI".into(),
                },
            },
            other => Source::Error {
                error: format!("credential_source {other} is not EcsContainer, Ec2InstanceMetadata or Environment"),
            },
        }
    } else if !c.web_identity_token_file.is_empty() {
        return web_identity(&c.role_arn, &c.web_identity_token_file);
    } else if c.has_sso() {
        // v2 needs the region and start URL; v1 all four.
        let needed: &[usize] = if major == Major::V2 { &[1, 3] } else { &[0, 1, 2, 3] };
        if needed.iter().any(|&i| c.sso[i].is_empty()) {
            return Source::Error {
                error: format!("profile {} is configured to use SSO but is missing required configuration", c.name),
            };
        }
        Source::Sso { profile: c.name.clone(), token_cached: false }
    } else if !c.credential_process.is_empty() {
        Source::CredentialProcess { profile: c.name.clone(), command: c.credential_process.clone() }
    } else {
        remote(ctx, major, release)
    };
    if c.role_arn.is_empty() {
        return base;
    }
    match base {
        Source::Error { .. } => base,
        Source::NoCredentials => {
            Source::Error { error: format!("profile {}: no source credentials to assume {}", c.name, c.role_arn) }
        }
        base => Source::AssumeRole { profile: c.name.clone(), role_arn: c.role_arn.clone(), source: Box::new(base) },
    }
}

/// The container endpoint (a full URI first, on a host its release
/// accepts), else IMDS.
fn remote(ctx: &Context, major: Major, release: Release) -> Source {
    let full = ctx.var("AWS_CONTAINER_CREDENTIALS_FULL_URI").filter(|v| !v.is_empty());
    if let Some(uri) = full {
        let parsed = reqwest::Url::parse(uri).ok();
        let host = parsed.as_ref().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let accepted = match release {
            Release::Read => match host.parse::<std::net::IpAddr>() {
                Ok(ip) => ip.is_loopback(),
                Err(_) => host == "localhost",
            },
            Release::PodIdentity => {
                !host.is_empty()
                    && (parsed.as_ref().is_some_and(|u| u.scheme() != "http") || container_host_allowed(uri))
            }
        };
        if !accepted {
            let allowed = if release == Release::Read { "only loopback hosts" } else { "only loopback/ecs/eks hosts" };
            return Source::Error {
                error: format!("invalid container credentials endpoint host {host:?}: {allowed} are allowed"),
            };
        }
        return Source::container(uri.into());
    }
    if let Some(uri) = container_uri(ctx) {
        return Source::container(uri);
    }
    instance_role(ctx, major.sdk(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_comes_from_the_deciding_modules_version() {
        let of = |major, module: &str, version: &str| {
            Release::of(major, &[SdkModule { module: module.into(), version: version.into() }])
        };
        let config = "github.com/aws/aws-sdk-go-v2/config";
        assert_eq!(of(Major::V2, config, "v1.25.0"), Some(Release::PodIdentity));
        assert_eq!(of(Major::V2, config, "v1.29.14"), Some(Release::PodIdentity));
        assert_eq!(of(Major::V2, config, "v1.24.9"), Some(Release::Read));
        // A pseudo-version counts by its base release; a local replacement says nothing.
        assert_eq!(of(Major::V2, config, "v1.25.1-0.20231114180000-abcdef123456"), Some(Release::PodIdentity));
        assert_eq!(of(Major::V2, config, "(devel)"), None);
        assert_eq!(of(Major::V2, "github.com/aws/aws-sdk-go-v2", "v1.30.3"), None, "core is not config");
        assert_eq!(of(Major::V1, "github.com/aws/aws-sdk-go", "v1.47.11"), Some(Release::PodIdentity));
        assert_eq!(of(Major::V1, "github.com/aws/aws-sdk-go", "v1.44.133"), Some(Release::Read));
        assert_eq!(of(Major::V1, config, "v1.25.0"), None);
    }
}
