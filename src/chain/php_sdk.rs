//! The AWS SDK for PHP v3 (`CredentialProvider::defaultProvider`,
//! aws-sdk-php 3.x read): the environment, web identity, then from the
//! shared files SSO, `credential_process` before the profile's static keys
//! or role, and `[profile default]` of `~/.aws/config` last; then the
//! container (either URI set; `EcsCredentialProvider` of the 3.x releases
//! with retries and `AccountId` read) or else IMDS. A provider that fails
//! lets the chain go on. No PHP SDK can be installed here: checked only by
//! rolecall's own tests.

use std::path::PathBuf;

use super::sdk_common::container_host_allowed;
use super::{Context, Sdk, Source, instance_role, key_of, keys_in_file};
use crate::awsconfig::{self, Options, Sections, section};
use crate::hostfs::FileText;

fn read(ctx: &Context, path: &Option<PathBuf>) -> Sections {
    match path.as_ref().map(|p| ctx.files.read(p)) {
        Some(FileText::Text(t)) => awsconfig::parse_rust(&t).unwrap_or_default(),
        _ => Vec::new(),
    }
}

pub(super) fn resolve(ctx: &Context) -> (Source, String) {
    let set = |n: &str| ctx.var(n).filter(|v| !v.is_empty());
    let profile = set("AWS_PROFILE").unwrap_or("default").to_string();
    if let (Some(id), Some(_)) = (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
        return (Source::Environment { key_id: key_of(Some(&id.to_string())) }, profile);
    }
    if let (Some(role_arn), Some(token_file)) = (set("AWS_ROLE_ARN"), set("AWS_WEB_IDENTITY_TOKEN_FILE")) {
        return (Source::WebIdentity { role_arn: role_arn.into(), token_file: token_file.into() }, profile);
    }
    // The home directory: HOME only (then the Windows variables).
    let home = set("HOME").map(PathBuf::from);
    let at = |p: &str| home.as_ref().map(|h| h.join(p));
    let creds_path = set("AWS_SHARED_CREDENTIALS_FILE").map(PathBuf::from).or_else(|| at(".aws/credentials"));
    let config_path = at(".aws/config");
    let (creds, config) = (read(ctx, &creds_path), read(ctx, &config_path));
    let config_default = section(&config, "profile default");
    if config_default.is_some_and(|p| p.contains_key("sso_account_id") && p.contains_key("sso_role_name")) {
        return (Source::Sso { profile: "default".into(), token_cached: false }, profile);
    }
    let in_creds = section(&creds, &profile);
    if let Some(command) = in_creds.and_then(|p| p.get("credential_process")) {
        return (Source::CredentialProcess { profile: profile.clone(), command: command.clone() }, profile);
    }
    if let Some(s) = in_creds.and_then(|p| ini(&creds, &creds_path, &profile, p, false)) {
        return (s, profile);
    }
    if let Some(command) = config_default.and_then(|p| p.get("credential_process")) {
        return (Source::CredentialProcess { profile: "default".into(), command: command.clone() }, profile);
    }
    if let Some(s) = config_default.and_then(|p| ini(&config, &config_path, "profile default", p, true)) {
        return (s, profile);
    }
    // Either container URI set: the container provider instead of IMDS
    // (`shouldUseEcs`). The relative URI first, else the full one, which
    // over http must name a loopback, ECS or EKS host; any other throws.
    if let Some(rel) = set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return (Source::container(format!("http://169.254.170.2{rel}")), profile);
    }
    if let Some(full) = set("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        let https = reqwest::Url::parse(full).is_ok_and(|u| u.scheme() == "https");
        if !https && !container_host_allowed(full) {
            let error = format!("CredentialsException: Uri '{full}' contains an unsupported host.");
            return (Source::Error { error }, profile);
        }
        return (Source::container(full.into()), profile);
    }
    (instance_role(ctx, Sdk::Php, false), profile)
}

/// `CredentialProvider::ini`: a role (from a source profile in the same
/// file, or `credential_source`), else static keys; None when it rejects.
fn ini(sections: &Sections, path: &Option<PathBuf>, name: &str, p: &Options, config: bool) -> Option<Source> {
    let keys = |name: &str, p: &Options| {
        let id = p.get("aws_access_key_id").filter(|v| !v.is_empty())?;
        p.get("aws_secret_access_key").filter(|v| !v.is_empty())?;
        Some(keys_in_file(path, !config, name, key_of(Some(id))))
    };
    if let Some(role_arn) = p.get("role_arn") {
        let sp = p.get("source_profile")?;
        let source = section(sections, sp).and_then(|s| keys(sp, s))?;
        return Some(Source::AssumeRole { profile: name.into(), role_arn: role_arn.clone(), source: Box::new(source) });
    }
    keys(name, p)
}
