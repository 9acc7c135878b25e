//! The AWS SDK for JavaScript v3's default credential chain
//! (`@aws-sdk/credential-provider-node` 3.972), modelled from its source and
//! checked against it by tests/cli/chain_oracle.rs.

use super::sdk_common::{SSO_OPTIONS, SdkFiles, env_keys, load_sdk_files, named_source, remote_sources};
use super::{Context, Sdk, Source, v1_disabled};
use crate::awsconfig::Options;

/// The AWS SDK for JavaScript v3 (`defaultProvider`): environment (not
/// when AWS_PROFILE is set), the profile (`fromIni`), `fromProcess`, web
/// identity from the environment, then the container or the instance role.
pub(super) fn resolve(ctx: &Context) -> (Source, String) {
    let named = ctx.var("AWS_PROFILE").filter(|p| !p.is_empty());
    let profile = named.unwrap_or("default").to_string();
    if let Some(key_id) = env_keys(ctx, Sdk::JavaScriptV3).filter(|_| named.is_none()) {
        return (Source::Environment { key_id }, profile);
    }
    let files = match load_sdk_files(ctx, Sdk::JavaScriptV3) {
        Ok(f) => f,
        Err(error) => return (Source::Error { error }, profile),
    };
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
    if SSO_OPTIONS.iter().any(|k| p.contains_key(*k)) {
        return Some(Source::Sso { profile: name.into(), token_cached: false });
    }
    if p.contains_key("login_session") {
        return Some(Source::Login { profile: name.into(), token_cached: false });
    }
    None
}
