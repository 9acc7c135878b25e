//! `--format jsonl`: JSON Lines for SIEMs and log shippers (Wazuh
//! `localfile`, Fluent Bit, CloudWatch agent): one finding per line, each
//! with its host, then one line with the verdict.

use std::io;

use serde::Serialize;

use super::Report;
use super::json::{FindingView, Host};
use crate::imds::{ImdsState, RoleStatus};
use crate::verdict::Verdict;

#[derive(Serialize)]
struct FindingLine<'a> {
    record: &'static str,
    scanned_at: &'a str,
    host: Host<'a>,
    #[serde(flatten)]
    finding: FindingView<'a>,
}

#[derive(Serialize)]
struct VerdictLine<'a> {
    record: &'static str,
    scanned_at: &'a str,
    host: Host<'a>,
    imds_state: ImdsState,
    imds_v1_allowed: Option<bool>,
    role: &'a RoleStatus,
    #[serde(flatten)]
    verdict: &'a Verdict,
    findings: usize,
    coverage_complete: bool,
    coverage_gaps: u64,
}

pub fn write(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let at = report.scanned_at();
    for f in &report.findings {
        let line = FindingLine {
            record: "finding",
            scanned_at: &at,
            host: super::json::host(report),
            finding: FindingView::new(f),
        };
        serde_json::to_writer(&mut *out, &line)?;
        writeln!(out)?;
    }
    let line = VerdictLine {
        record: "verdict",
        scanned_at: &at,
        host: super::json::host(report),
        imds_state: report.imds.state,
        imds_v1_allowed: report.imds.v1_allowed,
        role: &report.imds.role,
        verdict: &report.verdict,
        findings: report.findings.len(),
        coverage_complete: report.coverage.complete,
        coverage_gaps: report.coverage.gaps_total(),
    };
    serde_json::to_writer(&mut *out, &line)?;
    writeln!(out)
}
