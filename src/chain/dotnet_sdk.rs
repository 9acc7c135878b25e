//! The AWS SDK for .NET: v3 (`FallbackCredentialsFactory`, AWSSDK.Core at
//! 13bd83e read: web identity from the environment, the profile, the
//! environment, then the container or IMDS) and v4
//! (`DefaultAWSCredentialsIdentityResolver`, aws-sdk-net at 0934adc read:
//! the environment, web identity from the environment, the profile, then
//! the container or IMDS; a profile named by `AWS_PROFILE` that does not
//! exist, or a container URI it refuses, ends the chain). Both go on past a
//! provider that throws. No .NET SDK can be installed here: checked only by
//! rolecall's own tests.

use super::sdk_common::{SdkFiles, container_host_allowed, load_sdk_files};
use super::{Context, Sdk, Source, instance_role, key_of};
use crate::awsconfig::Options;

/// Which .NET SDK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Major {
    V3,
    V4,
}

pub(super) fn resolve(ctx: &Context, major: Major) -> (Source, String) {
    match major {
        Major::V3 => resolve_v3(ctx),
        Major::V4 => resolve_v4(ctx),
    }
}

fn resolve_v3(ctx: &Context) -> (Source, String) {
    let sdk = Sdk::DotNetV3;
    // `AWS_PROFILE ?? "default"`: an empty value names the profile "".
    let profile = ctx.var("AWS_PROFILE").unwrap_or("default").to_string();
    let set = |n: &str| ctx.var(n).map(str::trim).filter(|v| !v.is_empty());
    let web_identity = || {
        let (token_file, role_arn) = (set("AWS_WEB_IDENTITY_TOKEN_FILE")?, set("AWS_ROLE_ARN")?);
        Some(Source::WebIdentity { role_arn: role_arn.into(), token_file: token_file.into() })
    };
    let env = || {
        let id = set("AWS_ACCESS_KEY_ID")?;
        set("AWS_SECRET_ACCESS_KEY").or_else(|| set("AWS_SECRET_KEY"))?;
        Some(Source::Environment { key_id: key_of(Some(&id.to_string())) })
    };
    let from_profile = || match profile_source(ctx, sdk, &profile) {
        Some(Source::Error { .. }) | None => None,
        s => s,
    };
    if let Some(s) = web_identity().or_else(from_profile).or_else(env) {
        return (s, profile);
    }
    if let Some(rel) = set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return (Source::container(format!("http://169.254.170.2{rel}")), profile);
    }
    (instance_role(ctx, sdk, false), profile)
}

/// v4: each provider reads its variables as they are (`IsNullOrEmpty`, no trimming).
fn resolve_v4(ctx: &Context) -> (Source, String) {
    let sdk = Sdk::DotNetV4;
    let set = |n: &str| ctx.var(n).filter(|v| !v.is_empty());
    // `AWS_PROFILE`, unless it is blank: then "default".
    let profile = ctx.var("AWS_PROFILE").filter(|p| !p.trim().is_empty()).unwrap_or("default").to_string();
    let env = || {
        let id = set("AWS_ACCESS_KEY_ID")?;
        set("AWS_SECRET_ACCESS_KEY").or_else(|| set("AWS_SECRET_KEY"))?;
        Some(Source::Environment { key_id: key_of(Some(&id.to_string())) })
    };
    // `AssumeRoleWithWebIdentityCredentials.FromEnvironmentVariables`: an
    // absolute token path, a role, and a session name (if any) STS accepts.
    let web_identity = || {
        let (token_file, role_arn) = (set("AWS_WEB_IDENTITY_TOKEN_FILE")?, set("AWS_ROLE_ARN")?);
        let session_ok = set("AWS_ROLE_SESSION_NAME").is_none_or(|s| {
            (2..=64).contains(&s.chars().count())
                && s.chars().all(|c| c.is_alphanumeric() || c == '_' || "+=,.@-".contains(c))
        });
        (token_file.starts_with('/') && session_ok)
            .then(|| Source::WebIdentity { role_arn: role_arn.into(), token_file: token_file.into() })
    };
    if let Some(s) = env().or_else(web_identity) {
        return (s, profile);
    }
    let files = load_sdk_files(ctx, sdk).ok();
    match files.as_ref().and_then(|f| f.profile(&profile).map(|_| f)) {
        Some(files) => match of_profile(ctx, sdk, files, &profile, 0) {
            Some(Source::Error { .. }) | None => {}
            Some(s) => return (s, profile),
        },
        // `ProfileNotFoundException` ends the chain, for a profile other than "default".
        None if !profile.eq_ignore_ascii_case("default") => {
            let error = format!("ProfileNotFoundException: Unable to find the \"{profile}\" profile.");
            return (Source::Error { error }, profile);
        }
        None => {}
    }
    // `ContainerEC2CredentialsWrapper`: the relative URI, else the full one
    // (https to any host, http to a loopback, ECS or EKS address); a URI it
    // refuses throws, and nothing comes after it.
    if let Some(rel) = set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return (Source::container(format!("http://169.254.170.2{rel}")), profile);
    }
    if let Some(full) = set("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        let https = reqwest::Url::parse(full).is_ok_and(|u| u.scheme() == "https");
        if !https && !container_host_allowed(full) {
            let error =
                format!("Cannot fetch credentials from container - the full URI contains an invalid host: {full}");
            return (Source::Error { error }, profile);
        }
        return (Source::container(full.into()), profile);
    }
    (instance_role(ctx, sdk, false), profile)
}

/// The profile's credentials (`CredentialProfile.GetAWSCredentials`), by
/// its type: an assumed role, web identity, SSO, `credential_process`, keys.
fn profile_source(ctx: &Context, sdk: Sdk, name: &str) -> Option<Source> {
    let files = load_sdk_files(ctx, sdk).ok()?;
    of_profile(ctx, sdk, &files, name, 0)
}

/// One profile's credentials; `depth` bounds a source-profile chain.
fn of_profile(ctx: &Context, sdk: Sdk, files: &SdkFiles, name: &str, depth: usize) -> Option<Source> {
    let p: &Options = files.profile(name)?;
    if let Some(role_arn) = p.get("role_arn").filter(|_| !p.contains_key("web_identity_token_file")) {
        let source = match (p.get("source_profile"), p.get("credential_source")) {
            (Some(sp), None) if depth < 8 => of_profile(ctx, sdk, files, sp, depth + 1)?,
            (None, Some(cs)) if cs == "Ec2InstanceMetadata" => instance_role(ctx, sdk, false),
            (None, Some(cs)) if cs == "Environment" => {
                ctx.var("AWS_ACCESS_KEY_ID").map(|id| Source::Environment { key_id: key_of(Some(&id.to_string())) })?
            }
            _ => return Some(Source::Error { error: format!("profile {name}: no usable role source") }),
        };
        return Some(Source::AssumeRole { profile: name.into(), role_arn: role_arn.clone(), source: Box::new(source) });
    }
    if let (Some(role_arn), Some(token_file)) = (p.get("role_arn"), p.get("web_identity_token_file")) {
        return Some(Source::WebIdentity { role_arn: role_arn.clone(), token_file: token_file.clone() });
    }
    if p.contains_key("sso_account_id") && p.contains_key("sso_role_name") {
        return Some(Source::Sso { profile: name.into(), token_cached: false });
    }
    if let Some(command) = p.get("credential_process") {
        return Some(Source::CredentialProcess { profile: name.into(), command: command.clone() });
    }
    (p.contains_key("aws_access_key_id") && p.contains_key("aws_secret_access_key"))
        .then(|| files.static_source(name, p))
}
