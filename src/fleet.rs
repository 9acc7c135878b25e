//! `rolecall fleet summarize`: reads many hosts' JSON reports (as SSM Run
//! Command writes them to S3, downloaded to a folder) and gives the fleet
//! view: instances per verdict, instances without a role, and key IDs found
//! on more than one instance (one key on many hosts was baked into an image
//! or user data).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::credential::KeyId;

/// Report files larger than this are not read.
const MAX_REPORT: u64 = 64 * 1024 * 1024;
/// Instances listed by name per line of the text view.
const LISTED: usize = 10;

/// One instance's latest report.
#[derive(Clone, Debug, Serialize)]
pub struct Instance {
    pub id: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub verdict: String,
    pub role: String,
    pub imdsv1_allowed: Option<bool>,
    pub live_credentials: u64,
    pub scanned_at: String,
    pub complete: bool,
    pub key_ids: BTreeSet<String>,
    pub report: String,
}

/// A key ID seen on several instances.
#[derive(Clone, Debug, Serialize)]
pub struct SharedKey {
    pub key_id: String,
    pub instances: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct FleetSummary {
    pub reports_read: usize,
    /// Files that are not rolecall JSON reports, with why.
    pub unreadable: Vec<String>,
    pub instances: usize,
    pub by_verdict: BTreeMap<String, usize>,
    pub without_role: Vec<String>,
    pub role_unknown: Vec<String>,
    pub imdsv1_allowed: Vec<String>,
    pub incomplete_scans: Vec<String>,
    /// Key IDs on more than one instance, most widespread first.
    pub shared_keys: Vec<SharedKey>,
    /// Reports whose own instance ID is not the one SSM filed them under
    /// (the path wins: a host cannot speak for another).
    pub conflicts: Vec<String>,
}

/// The files under `paths`, in order. In a directory, the SSM agent's
/// `stderr` beside each `stdout` is not a report and is passed over.
fn files_under(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            for e in walkdir(p) {
                if e.file_name().is_some_and(|n| n == "stderr") {
                    continue;
                }
                out.push(e);
            }
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let walk = ignore::WalkBuilder::new(dir).standard_filters(false).follow_links(false).build();
    for e in walk.flatten() {
        if e.file_type().is_some_and(|t| t.is_file()) {
            out.push(e.into_path());
        }
    }
    out
}

/// The report in a file: the whole file for `--format json` output, or
/// the first line that opens a JSON object (after the summary line, whose
/// host-supplied fields may hold a brace of their own).
fn parse(path: &Path) -> Result<Value, String> {
    // The operator chose these paths: links in them are followed, the file itself must be regular.
    let real = std::fs::canonicalize(path).map_err(|e| e.to_string())?;
    let opened = crate::hostfs::open_untrusted(&real, MAX_REPORT).map_err(|e| e.to_string())?;
    let mut text = String::new();
    opened.file.take(MAX_REPORT).read_to_string(&mut text).map_err(|e| e.to_string())?;
    let start = if text.trim_start().starts_with('{') {
        text.len() - text.trim_start().len()
    } else {
        text.find("\n{").map(|i| i + 1).ok_or("no JSON object")?
    };
    let mut values = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    let v = values.next().ok_or("no JSON object")?.map_err(|e| format!("not JSON: {e}"))?;
    if v["tool"]["name"] != "rolecall" || !v["schema_version"].is_string() {
        return Err("not a rolecall report".into());
    }
    Ok(v)
}

/// `i-` (or `mi-`, a managed node) and 8 to 17 lower-case hex digits.
fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").or_else(|| s.strip_prefix("mi-")).is_some_and(|h| {
        (8..=17).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The instance an SSM Run Command output belongs to, from where the agent
/// wrote it in S3 (`<prefix>/<command-id>/<instance-id>/awsrunShellScript/<step>/stdout`):
/// the instance is the component before the plugin's folder, or any
/// component shaped like an instance ID.
pub fn instance_of_path(path: &Path) -> Option<String> {
    let parts: Vec<String> = path.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let by_plugin = parts.windows(2).find(|w| w[1].starts_with("aws") && is_instance_id(&w[0])).map(|w| w[0].clone());
    by_plugin.or_else(|| parts.iter().rev().find(|p| is_instance_id(p)).cloned())
}

fn instance(v: &Value, path: &Path, conflicts: &mut Vec<String>) -> Instance {
    let s = |x: &Value| x.as_str().map(str::to_string);
    // What the report says of itself is the host's word; where SSM put it is the agent's.
    let declared = s(&v["host"]["instance_id"]).filter(|i| is_instance_id(i));
    let placed = instance_of_path(path);
    if let (Some(d), Some(p)) = (&declared, &placed)
        && d != p
    {
        conflicts.push(format!("{}: the report says {d}, SSM put it under {p}", crate::escape::path(path)));
    }
    let id = placed.or(declared).or_else(|| s(&v["host"]["hostname"])).unwrap_or_else(|| path.display().to_string());
    let key_ids = v["findings"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| s(&f["key_id"])).filter(|k| KeyId::parse(k.as_bytes()).is_some()).collect())
        .unwrap_or_default();
    Instance {
        id,
        account_id: s(&v["host"]["account_id"]),
        region: s(&v["host"]["region"]),
        verdict: s(&v["verdict"]["verdict"]).unwrap_or_else(|| "unknown".into()),
        role: s(&v["role"]["status"]).unwrap_or_else(|| "unknown".into()),
        imdsv1_allowed: v["imds"]["v1_allowed"].as_bool(),
        live_credentials: v["verdict"]["live_credentials"].as_u64().unwrap_or(0),
        scanned_at: s(&v["scanned_at"]).unwrap_or_default(),
        complete: v["coverage"]["complete"].as_bool().unwrap_or(false),
        key_ids,
        report: path.display().to_string(),
    }
}

pub fn summarize(paths: &[PathBuf]) -> FleetSummary {
    let mut summary = FleetSummary::default();
    // The latest report of each instance.
    let mut latest: BTreeMap<String, Instance> = BTreeMap::new();
    for path in files_under(paths) {
        match parse(&path) {
            Ok(v) => {
                summary.reports_read += 1;
                let i = instance(&v, &path, &mut summary.conflicts);
                match latest.get(&i.id) {
                    Some(prev) if prev.scanned_at >= i.scanned_at => {}
                    _ => {
                        latest.insert(i.id.clone(), i);
                    }
                }
            }
            Err(why) => summary.unreadable.push(format!("{}: {why}", crate::escape::path(&path))),
        }
    }
    let mut by_key: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for i in latest.values() {
        *summary.by_verdict.entry(i.verdict.clone()).or_default() += 1;
        match i.role.as_str() {
            "none" => summary.without_role.push(i.id.clone()),
            "attached" => {}
            _ => summary.role_unknown.push(i.id.clone()),
        }
        if i.imdsv1_allowed == Some(true) {
            summary.imdsv1_allowed.push(i.id.clone());
        }
        if !i.complete {
            summary.incomplete_scans.push(i.id.clone());
        }
        for k in &i.key_ids {
            by_key.entry(k).or_default().push(i.id.clone());
        }
    }
    summary.instances = latest.len();
    summary.shared_keys = by_key
        .into_iter()
        .filter(|(_, inst)| inst.len() > 1)
        .map(|(k, instances)| SharedKey { key_id: k.to_string(), instances })
        .collect();
    summary.shared_keys.sort_by(|a, b| b.instances.len().cmp(&a.instances.len()).then(a.key_id.cmp(&b.key_id)));
    summary
}

fn list(ids: &[String]) -> String {
    let mut s = ids.iter().take(LISTED).cloned().collect::<Vec<_>>().join(", ");
    if ids.len() > LISTED {
        s.push_str(&format!(" and {} more", ids.len() - LISTED));
    }
    crate::escape::terminal(&s)
}

pub fn write_text(s: &FleetSummary, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(
        out,
        "rolecall fleet summary: {} instances from {} reports ({} files unreadable)",
        s.instances,
        s.reports_read,
        s.unreadable.len()
    )?;
    let verdicts: Vec<String> =
        s.by_verdict.iter().map(|(v, n)| format!("{} {n}", crate::escape::terminal(v))).collect();
    writeln!(out, "verdicts: {}", verdicts.join(", "))?;
    for (what, ids) in [
        ("without a role", &s.without_role),
        ("role unknown", &s.role_unknown),
        ("IMDSv1 still allowed", &s.imdsv1_allowed),
        ("incomplete scans", &s.incomplete_scans),
    ] {
        if !ids.is_empty() {
            writeln!(out, "{what}: {} ({})", ids.len(), list(ids))?;
        }
    }
    if s.shared_keys.is_empty() {
        writeln!(out, "no key ID is on more than one instance")?;
    } else {
        writeln!(out, "key IDs on more than one instance (baked into an image or user data?):")?;
        for k in &s.shared_keys {
            writeln!(out, "  {} on {} instances: {}", k.key_id, k.instances.len(), list(&k.instances))?;
        }
    }
    for u in s.unreadable.iter().take(LISTED) {
        writeln!(out, "unreadable: {}", crate::escape::terminal(u))?;
    }
    for c in &s.conflicts {
        writeln!(out, "conflict: {}", crate::escape::terminal(c))?;
    }
    Ok(())
}
