//! `--ssm-inventory`: one SSM custom inventory file
//! (`<data dir>/<instance id>/inventory/custom/rolecall.json`, type
//! `Custom:RolecallVerdict`) that the SSM agent uploads with its own
//! credentials, so a fleet can query verdicts through Inventory, Resource
//! Data Sync and Athena. Within the agent's limits: string values only, at
//! most 50 attributes, 64-character names, 4,096-character values, and
//! never the 21st file in the folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::Report;
use crate::imds::RoleStatus;

pub const TYPE_NAME: &str = "Custom:RolecallVerdict";
pub const FILE_NAME: &str = "rolecall.json";
/// Where the SSM agent keeps its data on Linux.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/amazon/ssm";
const MAX_VALUE: usize = 4096;
const MAX_FILES: usize = 20;

/// Cuts a value to the agent's limit, on a character boundary.
fn cap(s: String) -> String {
    crate::escape::cut(&s, MAX_VALUE).into_owned()
}

/// Inventory is not treated as sensitive by AWS: key IDs go in shortened
/// (`AKIA...WXYZ`); the full IDs are in the JSON report.
fn short_key(k: &str) -> String {
    format!("{}...{}", &k[..4], &k[k.len() - 4..])
}

/// `text` with every access key ID in it shortened as [`short_key`] does.
fn shorten_key_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['A']) {
        let candidate = rest.get(i..i + 20).filter(|c| crate::credential::KeyId::parse(c.as_bytes()).is_some());
        match candidate {
            Some(k) => {
                out.push_str(&rest[..i]);
                out.push_str(&short_key(k));
                rest = &rest[i + 20..];
            }
            None => {
                out.push_str(&rest[..=i]);
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The inventory entry's attributes, every value a string.
pub fn content(report: &Report) -> BTreeMap<&'static str, String> {
    let v = &report.verdict;
    let mut c = BTreeMap::new();
    let verdict = serde_json::to_value(v.verdict).ok().and_then(|x| x.as_str().map(str::to_string)).unwrap_or_default();
    c.insert("AgentVersion", env!("CARGO_PKG_VERSION").to_string());
    c.insert("ScanTime", report.scanned_at());
    c.insert("Verdict", verdict);
    c.insert("Summary", cap(shorten_key_ids(&v.summary)));
    let (role, profile) = match &report.imds.role {
        RoleStatus::Attached { role_name, instance_profile_arn, .. } => {
            (role_name.clone(), instance_profile_arn.clone().unwrap_or_default())
        }
        RoleStatus::None => ("none".into(), String::new()),
        RoleStatus::Unknown { .. } => ("unknown".into(), String::new()),
    };
    c.insert("RoleName", role);
    c.insert("InstanceProfileArn", profile);
    c.insert(
        "ImdsState",
        serde_json::to_value(report.imds.state).ok().and_then(|x| x.as_str().map(str::to_string)).unwrap_or_default(),
    );
    c.insert("Imdsv1Allowed", v.imdsv1_allowed.map_or("unknown".into(), |b| b.to_string()));
    c.insert("LiveCredentials", v.live_credentials.to_string());
    c.insert("KeyIdsWithoutSecret", v.key_ids_without_secret.to_string());
    c.insert("ExpectedCredentials", v.expected_credentials.to_string());
    c.insert("ProcessesUsingStaticKeys", v.processes_using_static_keys.to_string());
    c.insert("UsersUsingStaticKeys", v.users_using_static_keys.to_string());
    let live: Vec<_> = report.findings.iter().filter(|f| f.assessment.live).collect();
    let mut keys: Vec<String> = live.iter().filter_map(|f| f.key_id.as_ref().map(|k| short_key(k.as_str()))).collect();
    keys.sort();
    keys.dedup();
    c.insert("StaticKeyIds", cap(keys.join(";")));
    let mut places: Vec<String> = live.iter().map(|f| f.location.stable_place()).collect();
    places.sort();
    places.dedup();
    c.insert("Locations", cap(shorten_key_ids(&places.join(";"))));
    c.insert("CoverageComplete", report.coverage.complete.to_string());
    c.insert("CoverageGaps", report.coverage.gaps_total().to_string());
    c.insert("FilesScanned", report.coverage.files_scanned.to_string());
    c.insert("ExitCode", v.exit_code.to_string());
    c
}

pub fn document(report: &Report) -> serde_json::Value {
    json!({ "SchemaVersion": "1.0", "TypeName": TYPE_NAME, "Content": content(report) })
}

/// The node ID the agent files inventory under: the instance ID from IMDS,
/// else `AWS_SSM_INSTANCE_ID` (set by the agent for Run Command; `mi-…` on
/// hybrid nodes).
fn node_id(report: &Report) -> Result<String> {
    let from_imds = report.imds.identity.as_ref().and_then(|i| i.instance_id.clone());
    let id = from_imds.or_else(|| std::env::var("AWS_SSM_INSTANCE_ID").ok()).filter(|s| !s.is_empty());
    let Some(id) = id else {
        bail!("--ssm-inventory needs the instance ID (from IMDS, or AWS_SSM_INSTANCE_ID under Run Command)");
    };
    if !(id.starts_with("i-") || id.starts_with("mi-")) || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        bail!("--ssm-inventory: {id:?} is not an instance or managed node ID");
    }
    Ok(id)
}

/// Writes the inventory file (atomically) and returns its path.
pub fn write(report: &Report, data_dir: &Path) -> Result<PathBuf> {
    let dir = data_dir.join(node_id(report)?).join("inventory/custom");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(FILE_NAME);
    let others = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != FILE_NAME && e.path().extension().is_some_and(|x| x == "json"))
        .count();
    if others >= MAX_FILES {
        bail!(
            "{} already holds {others} inventory files; a 21st would make the SSM agent reject all custom inventory",
            dir.display()
        );
    }
    let text = serde_json::to_vec_pretty(&document(report))?;
    super::write_atomically(&path, &text)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_shortened_wherever_they_are() {
        assert_eq!(
            shorten_key_ids(
                "FAIL: 1 process of app.service uses static key AKIA2OGYBAH6STMMNXNN; AKIAx; ASIAY34FZKBOKMUTVV7A"
            ),
            "FAIL: 1 process of app.service uses static key AKIA...NXNN; AKIAx; ASIA...VV7A"
        );
        assert_eq!(shorten_key_ids("Älvsjö AKIA"), "Älvsjö AKIA");
    }
}
