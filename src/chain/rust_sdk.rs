//! The AWS SDK for Rust's default credential chain (`aws-config` 1.13),
//! modelled from its source and checked against it by tests/cli/chain_oracle.rs.

use super::sdk_common::{SSO_OPTIONS, SdkFiles, env_keys, load_sdk_files, named_source, remote_sources};
use super::{Context, Sdk, Source};
use crate::awsconfig::Options;

/// The AWS SDK for Rust (`aws-config` `DefaultCredentialsChain`):
/// environment, profile, web identity, container, instance role. Only
/// `AWS_PROFILE` names the profile; HOME alone locates the files.
pub(super) fn resolve(ctx: &Context) -> (Source, String) {
    let profile = ctx.var("AWS_PROFILE").filter(|p| !p.is_empty()).unwrap_or("default").to_string();
    if let Some(key_id) = env_keys(ctx, Sdk::Rust) {
        return (Source::Environment { key_id }, profile);
    }
    if let Some(source) = rust_profile(ctx, &profile) {
        return (source, profile);
    }
    (remote_sources(ctx, Sdk::Rust, true), profile)
}

/// The profile provider alone (`ProfileFileCredentialsProvider`), as AWS's
/// profile-provider test data runs it.
pub(super) fn profile_provider(ctx: &Context) -> Source {
    let profile = ctx.var("AWS_PROFILE").filter(|p| !p.is_empty()).unwrap_or("default").to_string();
    rust_profile(ctx, &profile).unwrap_or(Source::NoCredentials)
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
        // A missing profile, selected or source: the provider is not loaded
        // and the chain goes on (as the SDK itself does; tests/cli/chain_oracle.rs).
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
    if SSO_OPTIONS.iter().any(|k| p.contains_key(*k)) {
        let (mut region, mut start_url) = (p.get("sso_region"), p.get("sso_start_url"));
        let session = p.get("sso_session");
        if let Some(session) = session {
            if start_url.is_some() || region.is_some() {
                return Err(invalid("sso_start_url and sso_region belong in the sso-session"));
            }
            let s = files.profiles.sso_sessions.get(session).ok_or_else(|| invalid("its sso-session is missing"))?;
            (region, start_url) = (s.get("sso_region"), s.get("sso_start_url"));
        }
        match (p.contains_key("sso_account_id"), p.contains_key("sso_role_name")) {
            // A token-only profile (for bearer-token services): no credentials here.
            (false, false) if session.is_some() => return Err(RustMiss::NotLoaded),
            (true, false) | (false, true) => return Err(invalid("sso_account_id and sso_role_name go together")),
            _ => {}
        }
        if region.is_none() || start_url.is_none() {
            return Err(RustMiss::NotLoaded);
        }
        return Ok(Source::Sso { profile: name.into(), token_cached: false });
    }
    if p.contains_key("login_session") {
        return Ok(Source::Login { profile: name.into(), token_cached: false });
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
