//! The AWS SDKs for Java: v2 (`DefaultCredentialsProvider`,
//! `ProfileCredentialsUtils`; aws-sdk-java-v2 at 09c61e2 read) and v1
//! (`DefaultAWSCredentialsProviderChain`, 1.12 read). No JVM SDK can be
//! installed here, so this model is checked only by rolecall's own tests.
//! Both chains go on past a provider that throws.

use super::sdk_common::container_host_allowed;
use super::sdk_common::{SdkFiles, load_sdk_files};
use super::{Context, Sdk, Source, container_uri, instance_role, is_pod_identity, key_of, v1_disabled};
use crate::awsconfig::Options;

/// Which Java SDK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Major {
    V1,
    V2,
}

/// A `-Dname=value` system property on the JVM's command line (the last wins).
pub(super) fn property<'a>(ctx: &'a Context, name: &str) -> Option<&'a str> {
    let argv = ctx.argv?;
    argv.raw()
        .split(|&b| b == 0)
        .filter_map(|a| std::str::from_utf8(a).ok())
        .filter_map(|a| a.strip_prefix("-D")?.split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .next_back()
}

/// The system properties' key pair (v1: `aws.secretKey`; v2: `aws.secretAccessKey`).
fn property_keys(ctx: &Context, major: Major) -> Option<Source> {
    let set = |n: &str| property(ctx, n).map(str::trim).filter(|v| !v.is_empty());
    let id = set("aws.accessKeyId")?;
    match major {
        Major::V1 => set("aws.secretKey")?,
        Major::V2 => set("aws.secretAccessKey")?,
    };
    Some(Source::SystemProperties { key_id: key_of(Some(&id.to_string())) })
}

/// The environment's key pair (v1 also reads `AWS_ACCESS_KEY` and `AWS_SECRET_KEY`).
fn env_keys(ctx: &Context, major: Major) -> Option<Source> {
    let first = |names: &[&str]| names.iter().find_map(|n| ctx.var(n).map(str::trim).filter(|v| !v.is_empty()));
    let (ids, secrets): (&[&str], &[&str]) = match major {
        Major::V1 => (&["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"], &["AWS_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"]),
        Major::V2 => (&["AWS_ACCESS_KEY_ID"], &["AWS_SECRET_ACCESS_KEY"]),
    };
    let id = first(ids)?;
    first(secrets)?;
    Some(Source::Environment { key_id: key_of(Some(&id.to_string())) })
}

fn web_identity(ctx: &Context) -> Option<Source> {
    let get =
        |env: &str, prop: &str| property(ctx, prop).or_else(|| ctx.var(env)).map(str::trim).filter(|v| !v.is_empty());
    let token_file = get("AWS_WEB_IDENTITY_TOKEN_FILE", "aws.webIdentityTokenFile")?;
    let role_arn = get("AWS_ROLE_ARN", "aws.roleArn")?;
    Some(Source::WebIdentity { role_arn: role_arn.into(), token_file: token_file.into() })
}

/// `pod_identity`: the release fetches from EKS Pod Identity's address
/// (v2 2.21.30, v1 1.12.746 and later; assumed when the class path does not say).
pub(super) fn resolve(ctx: &Context, major: Major, pod_identity: bool) -> (Source, String) {
    let sdk = if major == Major::V1 { Sdk::JavaV1 } else { Sdk::JavaV2 };
    let profile = property(ctx, "aws.profile")
        .or_else(|| ctx.var("AWS_PROFILE"))
        .filter(|p| !p.is_empty())
        .unwrap_or("default")
        .to_string();
    let first = match major {
        Major::V1 => env_keys(ctx, major).or_else(|| property_keys(ctx, major)),
        Major::V2 => property_keys(ctx, major).or_else(|| env_keys(ctx, major)),
    };
    if let Some(s) = first.or_else(|| web_identity(ctx)) {
        return (s, profile);
    }
    let files = load_profiles(ctx, major);
    if let Some(s) = files.as_ref().and_then(|f| profile_provider(ctx, f, &profile, &mut Vec::new())) {
        // A profile provider that throws lets the chain go on.
        if !matches!(s, Source::Error { .. }) {
            return (s, profile);
        }
    }
    // `ContainerCredentialsProvider`: a full URI (without a relative one) must
    // be https, or http to a loopback, ECS or EKS address, else it throws. v2's
    // chain goes on to IMDS; v1's wrapper picked the container instead of
    // IMDS from the variables alone, so nothing is left.
    if let Some(uri) = container_uri(ctx) {
        let relative = ctx.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some();
        let https = reqwest::Url::parse(&uri).is_ok_and(|u| u.scheme() == "https");
        if relative || https || (container_host_allowed(&uri) && (pod_identity || !is_pod_identity(&uri))) {
            return (Source::container(uri), profile);
        }
        if major == Major::V1 {
            let error = format!("the full URI ({uri}) in AWS_CONTAINER_CREDENTIALS_FULL_URI has an invalid host");
            return (Source::Error { error }, profile);
        }
    }
    let v1_disabled = v1_disabled(ctx, sdk, files.as_ref().and_then(|f| f.profile(&profile)));
    (instance_role(ctx, sdk, v1_disabled), profile)
}

/// v2 reads both shared files by the shared parsing rules (those AWS's
/// profile-parser test data states, which the Rust SDK follows too); v1
/// only the credentials file (`AWS_CREDENTIAL_PROFILES_FILE`).
fn load_profiles(ctx: &Context, major: Major) -> Option<SdkFiles> {
    match major {
        Major::V2 => load_sdk_files(ctx, Sdk::JavaV2).ok(),
        Major::V1 => load_sdk_files(ctx, Sdk::JavaV1).ok(),
    }
}

/// `ProfileCredentialsUtils.credentialsProvider`: web identity, SSO, an
/// assumed role, `credential_process`, then static keys. None when the
/// profile holds none of them; an Error when its provider throws.
fn profile_provider(ctx: &Context, files: &SdkFiles, name: &str, children: &mut Vec<String>) -> Option<Source> {
    let empty = Options::new();
    let p = files.profile(name).unwrap_or(&empty);
    let error = |why: String| Some(Source::Error { error: format!("profile {name}: {why}") });
    if let (Some(role_arn), Some(token_file)) = (p.get("role_arn"), p.get("web_identity_token_file")) {
        return Some(Source::WebIdentity { role_arn: role_arn.clone(), token_file: token_file.clone() });
    }
    if ["sso_role_name", "sso_account_id", "sso_region", "sso_start_url", "sso_session"]
        .iter()
        .any(|k| p.contains_key(*k))
    {
        let mut required = vec!["sso_account_id", "sso_role_name"];
        if !p.contains_key("sso_session") {
            required.extend(["sso_region", "sso_start_url"]);
        }
        if let Some(k) = required.iter().find(|k| !p.contains_key(**k)) {
            return error(format!("SSO without {k}"));
        }
        return Some(Source::Sso { profile: name.into(), token_cached: false });
    }
    if let Some(role_arn) = p.get("role_arn") {
        let source = match (p.get("source_profile"), p.get("credential_source")) {
            (Some(_), Some(_)) => return error("both source_profile and credential_source".into()),
            (Some(sp), None) => {
                if children.iter().any(|c| c == name) {
                    return error(format!("circular relationship with {children:?}"));
                }
                children.push(name.into());
                match files.profile(sp).and_then(|_| profile_provider(ctx, files, sp, children)) {
                    Some(s @ Source::Error { .. }) => return Some(s),
                    Some(s) => s,
                    None => return error(format!("source profile {sp} has no credentials")),
                }
            }
            (None, Some(cs)) => match cs.to_ascii_lowercase().as_str() {
                "ec2instancemetadata" => match instance_role(ctx, Sdk::JavaV2, false) {
                    Source::InstanceRole => Source::InstanceRole,
                    _ => return error("no instance role for credential_source".into()),
                },
                "environment" => match env_keys(ctx, Major::V2).or_else(|| property_keys(ctx, Major::V2)) {
                    Some(s) => s,
                    None => return error("no keys for credential_source Environment".into()),
                },
                "ecscontainer" => match container_uri(ctx) {
                    Some(uri) => Source::container(uri),
                    None => return error("no container endpoint for credential_source EcsContainer".into()),
                },
                _ => return error(format!("unsupported credential_source {cs}")),
            },
            (None, None) => return rest(files, name, p),
        };
        return Some(Source::AssumeRole { profile: name.into(), role_arn: role_arn.clone(), source: Box::new(source) });
    }
    rest(files, name, p)
}

/// The end of `credentialsProvider`: `credential_process`, then static keys
/// (a key ID without its secret, or a token without both, throws).
fn rest(files: &SdkFiles, name: &str, p: &Options) -> Option<Source> {
    if let Some(command) = p.get("credential_process") {
        return Some(Source::CredentialProcess { profile: name.into(), command: command.clone() });
    }
    if p.contains_key("aws_session_token") || p.contains_key("aws_access_key_id") {
        if !(p.contains_key("aws_access_key_id") && p.contains_key("aws_secret_access_key")) {
            return Some(Source::Error { error: format!("profile {name}: incomplete static keys") });
        }
        return Some(files.static_source(name, p));
    }
    None
}
