//! What the SSM agent records of the credentials it shares on this host:
//! its identity runtime config names the shared credentials file it keeps
//! a hybrid-activated node's (or Default Host Management's) temporary keys in.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::hostfs::{FileText, Files, host_view};

/// Where the agent (3.2 and later) writes its identity runtime config
/// (`appconfig.RuntimeConfigFolderPath` + `identity_config.json`).
pub const IDENTITY_CONFIG: &str = "/var/lib/amazon/ssm/runtimeconfig/identity_config.json";

/// The agent's shared credentials file, as its runtime config names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedCredentials {
    /// The file, as the host sees it (its links resolved inside the scanned
    /// root, named as findings name it: from the root, without the mount point).
    pub path: PathBuf,
    /// `OnPrem` (a hybrid activation), `EC2` (Default Host Management), ...
    pub identity_type: String,
    /// The node: `mi-…` or `i-…`.
    pub instance_id: String,
    /// The profile the agent writes (`default` when it names none).
    pub profile: String,
}

/// `runtimeconfig.IdentityRuntimeConfig`, as the agent writes it (Go field names).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdentityRuntimeConfig {
    #[serde(default)]
    instance_id: String,
    #[serde(default)]
    identity_type: String,
    #[serde(default)]
    share_file: String,
    #[serde(default)]
    share_profile: String,
}

/// The shared credentials file the agent's runtime config names, if the
/// config is the agent's own: a file owned by root in a directory owned by
/// root, neither writable by group or others (else anyone could name a
/// file of theirs). None when there is no such config or it names no file.
pub fn shared_credentials(files: &Files) -> Option<SharedCredentials> {
    let config = files.resolve(Path::new(IDENTITY_CONFIG))?;
    if !root_only(&config) || !config.parent().is_some_and(root_only) {
        return None;
    }
    let FileText::Text(text) = files.read(Path::new(IDENTITY_CONFIG)) else { return None };
    let c: IdentityRuntimeConfig = serde_json::from_str(&text).ok()?;
    if !c.share_file.starts_with('/') {
        return None;
    }
    let path = host_view(files.root(), &files.resolve(Path::new(&c.share_file))?);
    let profile = if c.share_profile.is_empty() { "default".to_string() } else { c.share_profile };
    Some(SharedCredentials { path, identity_type: c.identity_type, instance_id: c.instance_id, profile })
}

/// Owned by root and not writable by group or others.
fn root_only(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o022 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(config: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let at = root.join(IDENTITY_CONFIG.trim_start_matches('/'));
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(&at, config).unwrap();
        (dir, root)
    }

    #[test]
    fn the_agents_runtime_config_names_its_shared_file_and_profile() {
        let (_dir, root) = host(
            r#"{"SchemaVersion":"1.1","InstanceId":"mi-0123456789abcdef0","IdentityType":"OnPrem",
                "ShareFile":"/root/.aws/credentials","ShareProfile":"","CredentialSource":"SSM"}"#,
        );
        std::fs::create_dir_all(root.join("root/.aws")).unwrap();
        std::fs::write(root.join("root/.aws/credentials"), "[default]\n").unwrap();
        let files = Files::new(&root);
        let shared = shared_credentials(&files).expect("the agent's file");
        assert_eq!(shared.path, Path::new("/root/.aws/credentials"));
        assert_eq!((shared.identity_type.as_str(), shared.instance_id.as_str()), ("OnPrem", "mi-0123456789abcdef0"));
        assert_eq!(shared.profile, "default");
    }

    #[test]
    fn a_config_others_can_write_or_that_names_no_file_counts_for_nothing() {
        use std::os::unix::fs::PermissionsExt;
        let config = r#"{"IdentityType":"OnPrem","ShareFile":"/home/u/.aws/credentials"}"#;
        let (_dir, root) = host(config);
        let at = root.join(IDENTITY_CONFIG.trim_start_matches('/'));
        std::fs::set_permissions(&at, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(shared_credentials(&Files::new(&root)), None, "world-writable");
        std::fs::set_permissions(&at, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(at.parent().unwrap(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(shared_credentials(&Files::new(&root)), None, "its directory is world-writable");
        std::fs::set_permissions(at.parent().unwrap(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (_d2, root2) = host(r#"{"IdentityType":"EC2","ShareFile":""}"#);
        assert_eq!(shared_credentials(&Files::new(&root2)), None, "no file named");
        let (_d3, root3) = host("not json");
        assert_eq!(shared_credentials(&Files::new(&root3)), None);
    }
}
