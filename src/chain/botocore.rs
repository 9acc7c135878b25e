//! botocore's default credential chain (boto3, the AWS CLI): the reference,
//! errors included, checked against botocore itself by tests/cli/chain_oracle.rs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::sdk_common::container_host_allowed;
use super::{Context, Sdk, Source, container_uri, display, instance_role, key_of, v1_disabled};
use crate::awsconfig::{ConfigProfiles, Ini, Options};
use crate::credential::KeyId;
use crate::hostfs::FileText;

/// Loaded shared files for one resolution.
struct Shared {
    config_path: Option<PathBuf>,
    creds_path: Option<PathBuf>,
    config: ConfigProfiles,
    /// Credentials file sections, by their literal names.
    creds: BTreeMap<String, Options>,
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

/// The static keys in `options`, if it names a key ID: the source `make`
/// builds, or the PartialCredentialsError botocore raises without the secret.
fn static_keys(
    options: Option<&Options>,
    provider: &str,
    make: impl FnOnce(Option<KeyId>) -> Source,
) -> Option<Source> {
    let c = options.filter(|c| c.contains_key("aws_access_key_id"))?;
    if !c.contains_key("aws_secret_access_key") {
        return Some(partial(provider, "aws_secret_access_key"));
    }
    Some(make(key_of(c.get("aws_access_key_id"))))
}

fn partial(provider: &str, var: &str) -> Source {
    Source::Error { error: format!("PartialCredentialsError: {provider} is missing {var}") }
}

pub(super) fn resolve(ctx: &Context) -> (Source, String) {
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
    // 11. Container credentials, from a loopback or container address only
    // (`ContainerMetadataFetcher._validate_allowed_url` raises ValueError).
    if let Some(uri) = container_uri(ctx) {
        if !container_host_allowed(&uri) {
            let error = format!("ValueError: unsupported host in the container credentials URI {uri}");
            return (Source::Error { error }, profile);
        }
        return (Source::container(uri), profile);
    }
    // 12. The instance role.
    (instance_role(ctx, Sdk::Botocore, v1_disabled(ctx, Sdk::Botocore, Some(p))), profile)
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
        return Some(Source::Sso { profile: profile.to_string(), token_cached: false });
    }
    // Static keys in the credentials file.
    let in_creds = static_keys(shared.creds.get(profile), "shared-credentials-file", |key_id| {
        Source::SharedCredentialsFile { path: display(&shared.creds_path), profile: profile.to_string(), key_id }
    });
    if in_creds.is_some() {
        return in_creds;
    }
    if p.contains_key("login_session") {
        return Some(Source::Login { profile: profile.to_string(), token_cached: false });
    }
    if let Some(cmd) = p.get("credential_process") {
        return Some(Source::CredentialProcess { profile: profile.to_string(), command: cmd.clone() });
    }
    static_keys(shared.config.profiles.get(profile), "config-file", |key_id| Source::ConfigFile {
        path: display(&shared.config_path),
        profile: profile.to_string(),
        key_id,
    })
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
                Some(uri) => Source::container(uri),
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
