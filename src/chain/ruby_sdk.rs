//! The AWS SDK for Ruby's default credential chain
//! (`Aws::CredentialProviderChain`, aws-sdk-core 3.168.1 read), for a client
//! built without explicit credentials or profile; modelled from Debian's
//! ruby-aws-sdk-core and checked against it by tests/cli/chain_oracle.rs.

use std::path::PathBuf;

use super::{Context, Sdk, Source, instance_role, key_of, keys_in_file, sso_token_cached};
use crate::awsconfig::{self, Options, Sections, section};
use crate::hostfs::FileText;

/// `Aws.shared_config`: both files parsed by `Aws::IniParser`.
struct Shared {
    creds_path: Option<PathBuf>,
    config_path: Option<PathBuf>,
    creds: Sections,
    /// None when `AWS_SDK_CONFIG_OPT_OUT` is set or the file is not there.
    config: Option<Sections>,
}

impl Shared {
    fn load(ctx: &Context) -> Shared {
        let path = |var: &str, file: &str| match ctx.var(var) {
            Some(p) => ctx.expand(p, Sdk::Ruby),
            None => ctx.expand(&format!("~/.aws/{file}"), Sdk::Ruby),
        };
        let read = |p: &Option<PathBuf>| match p.as_ref().map(|p| ctx.files.read(p)) {
            Some(FileText::Text(t)) => awsconfig::parse_ruby(&t).ok(),
            _ => None,
        };
        let creds_path = path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let enabled = ctx.var("AWS_SDK_CONFIG_OPT_OUT").is_none();
        let config_path = if enabled { path("AWS_CONFIG_FILE", "config") } else { None };
        Shared { creds: read(&creds_path).unwrap_or_default(), config: read(&config_path), creds_path, config_path }
    }

    fn in_creds(&self, profile: &str) -> Option<&Options> {
        section(&self.creds, profile)
    }

    fn in_config(&self, profile: &str) -> Option<&Options> {
        self.config.as_ref().and_then(|c| section(c, profile))
    }

    fn exists(&self, profile: &str) -> bool {
        self.in_creds(profile).is_some() || self.in_config(profile).is_some()
    }

    /// `credentials(profile:)`: static keys, the credentials file first.
    /// Err when the profile does not exist (`NoSuchProfileError`).
    fn static_keys(&self, profile: &str) -> Result<Option<Source>, String> {
        if !self.exists(profile) {
            return Err(format!("NoSuchProfileError: profile {profile} not found"));
        }
        let set = |o: &Options| {
            ["aws_access_key_id", "aws_secret_access_key"].iter().all(|k| o.get(*k).is_some_and(|v| !v.is_empty()))
        };
        if let Some(o) = self.in_creds(profile).filter(|o| set(o)) {
            return Ok(Some(keys_in_file(&self.creds_path, true, profile, key_of(o.get("aws_access_key_id")))));
        }
        let in_config = self.in_config(profile).filter(|o| set(o));
        Ok(in_config.map(|o| keys_in_file(&self.config_path, false, profile, key_of(o.get("aws_access_key_id")))))
    }

    /// A value from the credentials file, else the config file.
    fn value(&self, profile: &str, key: &str) -> Option<&String> {
        self.in_creds(profile).and_then(|o| o.get(key)).or_else(|| self.in_config(profile).and_then(|o| o.get(key)))
    }

    fn web_identity(&self, profile: &str) -> Option<Source> {
        let p = self.in_config(profile)?;
        let (token_file, role_arn) = (p.get("web_identity_token_file")?, p.get("role_arn")?);
        Some(Source::WebIdentity { role_arn: role_arn.clone(), token_file: token_file.clone() })
    }

    /// `sso_credentials_from_config`: a profile with `sso_account_id` or
    /// `sso_role_name` (only when the config file was read), which must
    /// name its account, role and region (and its start URL, or an
    /// sso-session that holds the region).
    fn sso(&self, profile: &str) -> Option<Result<Source, String>> {
        let config = self.config.as_ref()?;
        let p = [self.in_creds(profile), self.in_config(profile)]
            .into_iter()
            .flatten()
            .find(|p| p.contains_key("sso_account_id") || p.contains_key("sso_role_name"))?;
        let (region, required): (Option<&String>, &[&str]) = match p.get("sso_session") {
            Some(session) => match section(config, &format!("sso-session {session}")) {
                Some(s) => (s.get("sso_region"), &["sso_account_id", "sso_role_name"]),
                None => {
                    return Some(Err(format!(
                        "ArgumentError: sso-session {session} must be defined in the config file"
                    )));
                }
            },
            None => (p.get("sso_region"), &["sso_account_id", "sso_role_name", "sso_start_url"]),
        };
        if region.is_none() || required.iter().any(|k| !p.contains_key(*k)) {
            return Some(Err(format!("ArgumentError: profile {profile}: missing required SSO keys")));
        }
        Some(Ok(Source::Sso { profile: profile.into(), token_cached: false }))
    }

    /// `TokenProviderChain`, which every client resolves when it is built:
    /// a profile with an `sso_session` needs that session defined, with its
    /// region, and its token cached (`~/.aws/sso/cache/<sha1 of the name>.json`),
    /// or no client can be built at all.
    fn sso_token_error(&self, ctx: &Context, profile: &str) -> Option<Source> {
        self.config.as_ref()?;
        let (sections, p) = [(&self.creds, self.in_creds(profile)), (self.config.as_ref()?, self.in_config(profile))]
            .into_iter()
            .find_map(|(sections, p)| p.filter(|p| p.contains_key("sso_session")).map(|p| (sections, p)))?;
        let name = &p["sso_session"];
        let error = |why: &str| Some(Source::Error { error: format!("InvalidSSOToken: sso-session {name}: {why}") });
        if section(sections, &format!("sso-session {name}")).and_then(|s| s.get("sso_region")).is_none() {
            return error("not defined, or without its sso_region");
        }
        if sso_token_cached(ctx, name) { None } else { error("no cached token") }
    }

    /// `assume_role_credentials_from_config`: the credentials file's profile, then the config file's.
    fn assume_role(&self, ctx: &Context, profile: &str, visited: &mut Vec<String>) -> Option<Result<Source, String>> {
        [self.in_creds(profile), self.in_config(profile)]
            .into_iter()
            .flatten()
            .find_map(|p| self.assume_role_from(ctx, profile, p, visited))
    }

    /// `assume_role_from_profile`.
    fn assume_role_from(
        &self,
        ctx: &Context,
        profile: &str,
        p: &Options,
        visited: &mut Vec<String>,
    ) -> Option<Result<Source, String>> {
        let role_arn = p.get("role_arn").cloned().unwrap_or_default();
        let wrap = |source: Source| Source::AssumeRole {
            profile: profile.into(),
            role_arn: role_arn.clone(),
            source: Box::new(source),
        };
        Some(match (p.get("source_profile"), p.get("credential_source")) {
            (Some(_), Some(_)) => Err(format!("CredentialSourceConflictError: profile {profile}")),
            (Some(sp), None) => match self.source_profile(ctx, sp, visited) {
                Ok(Some(s)) => Ok(wrap(s)),
                Ok(None) => Err(format!("NoSourceProfileError: source profile {sp} of {profile} has no credentials")),
                Err(e) => Err(e),
            },
            (None, Some(cs)) => match cs.as_str() {
                "Ec2InstanceMetadata" => match instance_role(ctx, Sdk::Ruby, false) {
                    Source::InstanceRole => Ok(wrap(Source::InstanceRole)),
                    _ => Err(format!("no instance role for credential_source {cs} of {profile}")),
                },
                "EcsContainer" => match ctx.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
                    Some(rel) => Ok(wrap(Source::container(format!("http://169.254.170.2{rel}")))),
                    None => Err(format!("no container credentials for credential_source {cs} of {profile}")),
                },
                _ => Err(format!("InvalidCredentialSourceError: Unsupported credential_source: {cs}")),
            },
            (None, None) if p.contains_key("role_arn") => {
                Err(format!("NoSourceProfileError: profile {profile} has a role_arn, but no source_profile"))
            }
            (None, None) => return None,
        })
    }

    /// `resolve_source_profile`.
    fn source_profile(&self, ctx: &Context, sp: &str, visited: &mut Vec<String>) -> Result<Option<Source>, String> {
        if visited.iter().any(|v| v == sp) {
            return Err("SourceProfileCircularReferenceError".into());
        }
        visited.push(sp.to_string());
        if let Some(keys) = self.static_keys(sp)? {
            return Ok(Some(keys));
        }
        let config = self.in_creds(sp).or_else(|| self.in_config(sp));
        if config.is_some_and(|c| c.contains_key("source_profile")) {
            return self.assume_role(ctx, sp, visited).transpose();
        }
        if let Some(s) = self.web_identity(sp) {
            return Ok(Some(s));
        }
        if let Some(command) = self.value(sp, "credential_process") {
            return Ok(Some(Source::CredentialProcess { profile: sp.into(), command: command.clone() }));
        }
        self.sso(sp).transpose()
    }
}

/// The first of `names` that is set (even empty), as Ruby's `envar` takes it.
fn first_set<'a>(ctx: &'a Context, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| ctx.var(n))
}

pub(super) fn resolve(ctx: &Context) -> (Source, String) {
    // The chain's profile: AWS_PROFILE, AWS_DEFAULT_PROFILE, default (an
    // empty value is a name in Ruby); the shared config's own default
    // (for web identity from the profile) reads only AWS_PROFILE.
    let profile = first_set(ctx, &["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]).unwrap_or("default").to_string();
    let own_profile = ctx.var("AWS_PROFILE").unwrap_or("default");
    let shared = Shared::load(ctx);
    if let Some(error) = shared.sso_token_error(ctx, &profile) {
        return (error, profile);
    }
    let id = first_set(ctx, &["AWS_ACCESS_KEY_ID", "AMAZON_ACCESS_KEY_ID", "AWS_ACCESS_KEY"]).filter(|v| !v.is_empty());
    let secret = first_set(ctx, &["AWS_SECRET_ACCESS_KEY", "AMAZON_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"]);
    if let (Some(id), Some(_)) = (id, secret.filter(|v| !v.is_empty())) {
        return (Source::Environment { key_id: key_of(Some(&id.to_string())) }, profile);
    }
    let done = |r: Result<Source, String>| r.unwrap_or_else(|error| Source::Error { error });
    if let (Some(role_arn), Some(token_file)) = (ctx.var("AWS_ROLE_ARN"), ctx.var("AWS_WEB_IDENTITY_TOKEN_FILE")) {
        return (Source::WebIdentity { role_arn: role_arn.into(), token_file: token_file.into() }, profile);
    }
    if let Some(s) = shared.web_identity(own_profile) {
        return (s, profile);
    }
    if let Some(r) = shared.sso(&profile) {
        return (done(r), profile);
    }
    let config_enabled = ctx.var("AWS_SDK_CONFIG_OPT_OUT").is_none();
    if let Some(r) = shared.assume_role(ctx, &profile, &mut Vec::new()).filter(|_| config_enabled) {
        return (done(r), profile);
    }
    if let Ok(Some(keys)) = shared.static_keys(&profile) {
        return (keys, profile);
    }
    let process = shared.value(&profile, "credential_process").filter(|_| config_enabled && shared.exists(&profile));
    if let Some(command) = process {
        return (Source::CredentialProcess { profile: profile.clone(), command: command.clone() }, profile);
    }
    if let Some(rel) = ctx.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return (Source::container(format!("http://169.254.170.2{rel}")), profile);
    }
    (instance_role(ctx, Sdk::Ruby, false), profile)
}
