//! What the models share: the shared files read with each SDK's own parser
//! (Rust, JavaScript v3, and the Java and .NET models by the Rust rules),
//! for the Rust and JavaScript models environment keys, named credential
//! sources and the remote end of their chains, and which container hosts
//! the SDKs that check one accept.

use std::path::PathBuf;

use super::{Context, Sdk, Source, container_uri, instance_role, key_of, keys_in_file};
use crate::awsconfig::{self, Options, SdkProfiles};
use crate::credential::KeyId;
use crate::hostfs::FileText;

/// The profile options that make a profile an IAM Identity Center (SSO) one.
pub(super) const SSO_OPTIONS: [&str; 5] =
    ["sso_account_id", "sso_region", "sso_role_name", "sso_start_url", "sso_session"];

/// The shared files as the Rust or JavaScript SDK reads them.
pub(super) struct SdkFiles {
    config_path: Option<PathBuf>,
    creds_path: Option<PathBuf>,
    pub(super) profiles: SdkProfiles,
}

impl SdkFiles {
    pub(super) fn profile(&self, name: &str) -> Option<&Options> {
        self.profiles.profiles.get(name)
    }

    /// The config file, where it is looked for.
    pub(super) fn config_path(&self) -> Option<&std::path::Path> {
        self.config_path.as_deref()
    }

    /// The file a profile's access key ID comes from.
    pub(super) fn path_of_keys(&self, profile: &str) -> Option<PathBuf> {
        if self.profiles.keys_from_credentials.contains(profile) {
            self.creds_path.clone()
        } else {
            self.config_path.clone()
        }
    }

    /// The static keys of a profile, named by the file they come from.
    pub(super) fn static_source(&self, profile: &str, p: &Options) -> Source {
        let key_id = key_of(p.get("aws_access_key_id"));
        if self.profiles.keys_from_credentials.contains(profile) {
            keys_in_file(&self.creds_path, true, profile, key_id)
        } else {
            keys_in_file(&self.config_path, false, profile, key_id)
        }
    }
}

/// Reads both files with the SDK's own parser (the Java SDK v2 by the
/// shared rules the Rust SDK follows; v1 only the credentials file, at
/// `AWS_CREDENTIAL_PROFILES_FILE`). A file that is missing or unreadable is
/// empty; only the Rust-rules parser refuses a file it cannot parse.
pub(super) fn load_sdk_files(ctx: &Context, sdk: Sdk) -> Result<SdkFiles, String> {
    let config_path = match sdk {
        Sdk::JavaV1 => None,
        _ => ctx.expand(ctx.var("AWS_CONFIG_FILE").unwrap_or("~/.aws/config"), sdk),
    };
    let creds_var = if sdk == Sdk::JavaV1 { "AWS_CREDENTIAL_PROFILES_FILE" } else { "AWS_SHARED_CREDENTIALS_FILE" };
    let creds_path = ctx.expand(ctx.var(creds_var).unwrap_or("~/.aws/credentials"), sdk);
    let rust_rules = matches!(sdk, Sdk::Rust | Sdk::JavaV2 | Sdk::JavaV1);
    let read = |path: &Option<PathBuf>| -> Result<awsconfig::Sections, String> {
        let Some(path) = path else { return Ok(Vec::new()) };
        let FileText::Text(text) = ctx.files.read(path) else { return Ok(Vec::new()) };
        if rust_rules {
            awsconfig::parse_rust(&text)
                .map_err(|e| format!("ProfileFile provider could not be built: {}: {e}", path.display()))
        } else {
            awsconfig::parse_js(&text).map_err(|e| format!("{}: {e}", path.display()))
        }
    };
    let (config, creds) = (read(&config_path)?, read(&creds_path)?);
    let profiles = if rust_rules { SdkProfiles::rust(&config, &creds) } else { SdkProfiles::js(&config, &creds) };
    Ok(SdkFiles { config_path, creds_path, profiles })
}

/// Both environment keys, set and not empty (the Rust and JS SDKs skip
/// partial ones). The Rust SDK trims each value (a blank one is unset) and
/// takes `SECRET_ACCESS_KEY` when `AWS_SECRET_ACCESS_KEY` is unset or blank;
/// the JS SDK takes any non-empty value as it is.
pub(super) fn env_keys(ctx: &Context, sdk: Sdk) -> Option<Option<KeyId>> {
    let get = |name: &str| {
        let v = ctx.var(name)?;
        Some(if sdk == Sdk::Rust { v.trim() } else { v }).filter(|v| !v.is_empty())
    };
    let id = get("AWS_ACCESS_KEY_ID")?;
    get("AWS_SECRET_ACCESS_KEY").or_else(|| get("SECRET_ACCESS_KEY").filter(|_| sdk == Sdk::Rust))?;
    Some(KeyId::parse(id.as_bytes()))
}

/// The chain's last links in the Rust and JS SDKs: web identity from the
/// environment, the container endpoint, the instance role.
pub(super) fn remote_sources(ctx: &Context, sdk: Sdk, v1_disabled: bool) -> Source {
    let set = |v: &str| ctx.var(v).filter(|s| !s.is_empty());
    if let (Some(token_file), Some(role_arn)) = (set("AWS_WEB_IDENTITY_TOKEN_FILE"), set("AWS_ROLE_ARN")) {
        return Source::WebIdentity { role_arn: role_arn.into(), token_file: token_file.into() };
    }
    if let Some(uri) = container_uri(ctx) {
        // Both SDKs refuse a full URI without a host, and the chain stops there.
        if reqwest::Url::parse(&uri).ok().and_then(|u| u.host_str().map(str::len)).unwrap_or(0) == 0 {
            return Source::Error { error: format!("the container credentials URI {uri} names no host") };
        }
        return Source::container(uri);
    }
    instance_role(ctx, sdk, v1_disabled)
}

/// A `credential_source` as the Rust SDK (any case) and the JS SDK (exact
/// names) fetch it. None for a name they do not know.
pub(super) fn named_source(ctx: &Context, sdk: Sdk, name: &str, v1_disabled: bool) -> Option<Source> {
    let unavailable = || Source::Error { error: format!("credential_source {name} has no credentials") };
    let canonical = ["Environment", "Ec2InstanceMetadata", "EcsContainer"]
        .into_iter()
        .find(|c| *c == name || (sdk == Sdk::Rust && c.eq_ignore_ascii_case(name)))?;
    Some(match canonical {
        "Environment" => env_keys(ctx, sdk).map_or_else(unavailable, |key_id| Source::Environment { key_id }),
        "Ec2InstanceMetadata" => match instance_role(ctx, sdk, v1_disabled) {
            Source::InstanceRole => Source::InstanceRole,
            _ => unavailable(),
        },
        "EcsContainer" => container_uri(ctx).map_or_else(unavailable, Source::container),
        _ => return None,
    })
}

/// The hosts the SDKs that check one (botocore, .NET v4, the newer Go
/// SDKs) fetch container credentials from over plain http: a loopback
/// address, or one the ECS and EKS agents listen on.
pub(super) fn container_host_allowed(uri: &str) -> bool {
    let Some(host) = reqwest::Url::parse(uri).ok().and_then(|u| u.host_str().map(str::to_string)) else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => {
            ip.is_loopback() || ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"].contains(&ip.to_string().as_str())
        }
        Err(_) => matches!(host, "localhost" | "localhost.localdomain"),
    }
}
