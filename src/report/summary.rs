//! `--format summary`: one line with the verdict and its counts, for SSM
//! Run Command, whose console shows the first 2,500 characters of output.

use std::io;

use super::Report;
use crate::imds::RoleStatus;

/// The line never exceeds this many characters.
pub const MAX_LEN: usize = 2000;

pub fn line(report: &Report) -> String {
    let v = &report.verdict;
    let id = report.imds.identity.as_ref();
    let role = match &report.imds.role {
        RoleStatus::Attached { role_name, .. } => role_name.clone(),
        RoleStatus::None => "none".into(),
        RoleStatus::Unknown { .. } => "unknown".into(),
    };
    let yes_no = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    };
    let verdict = serde_json::to_value(v.verdict).ok().and_then(|x| x.as_str().map(str::to_string)).unwrap_or_default();
    let mut s = format!(
        "rolecall {verdict} instance={} role={role} live={} key_ids_only={} expected={} processes_static={} users_static={} imdsv1={} gaps={} complete={} exit={}",
        id.and_then(|i| i.instance_id.as_deref()).unwrap_or("unknown"),
        v.live_credentials,
        v.key_ids_without_secret,
        v.expected_credentials,
        v.processes_using_static_keys,
        v.users_using_static_keys,
        yes_no(v.imdsv1_allowed),
        report.coverage.gaps_total(),
        report.coverage.complete,
        v.exit_code,
    );
    let mut keys: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.assessment.live)
        .filter_map(|f| f.key_id.as_ref().map(|k| k.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    if !keys.is_empty() {
        s.push_str(" keys=");
        let mut shown = 0;
        for k in &keys {
            if s.len() + k.len() + 32 > MAX_LEN {
                break;
            }
            if shown > 0 {
                s.push(',');
            }
            s.push_str(k);
            shown += 1;
        }
        if shown < keys.len() {
            s.push_str(&format!(",+{}", keys.len() - shown));
        }
    }
    s
}

pub fn write(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(out, "{}", line(report))
}
