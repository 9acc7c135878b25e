//! `--format json`: one object, the contract in docs/report.md. Every type
//! here is a serialize-only view; none can hold a secret.

use std::io;

use serde::Serialize;

use super::Report;
use crate::coverage::Coverage;
use crate::escape;
use crate::finding::{Finding, Kind, Location};
use crate::rules::Severity;

/// Bumped when a field changes meaning or disappears; adding fields does not bump it.
pub const SCHEMA_VERSION: &str = "1";

#[derive(Serialize)]
struct Doc<'a> {
    schema_version: &'static str,
    tool: Tool,
    host: Host<'a>,
    findings: Vec<FindingView<'a>>,
    coverage: &'a Coverage,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Host<'a> {
    hostname: &'a str,
}

#[derive(Serialize)]
struct FindingView<'a> {
    rule: &'a str,
    /// Every rule whose match is part of the finding.
    rules: &'a [String],
    kind: Kind,
    severity: Severity,
    key_id: Option<&'a str>,
    has_secret: bool,
    secret_fingerprint: Option<&'a str>,
    has_session_token: bool,
    /// Decoded offline from the key ID (new-generation keys only): inferred, not authoritative.
    account_id: Option<String>,
    location: LocationView,
    occurrences: u64,
    fingerprint: &'a str,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum LocationView {
    File { path: String, line: u64, column: u64 },
}

impl<'a> FindingView<'a> {
    fn new(f: &'a Finding) -> FindingView<'a> {
        FindingView {
            rule: &f.rule,
            rules: &f.rules,
            kind: f.kind,
            severity: f.severity,
            key_id: f.key_id.as_ref().map(|k| k.as_str()),
            has_secret: f.has_secret(),
            secret_fingerprint: f.secret.as_ref().map(|s| s.fingerprint()),
            has_session_token: f.session_token.is_some(),
            account_id: f.account().map(|a| a.to_string()),
            location: match &f.location {
                Location::File { path, line, column } => {
                    LocationView::File { path: escape::path(path), line: *line, column: *column }
                }
            },
            occurrences: f.occurrences,
            fingerprint: &f.fingerprint,
        }
    }
}

pub fn write(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let doc = Doc {
        schema_version: SCHEMA_VERSION,
        tool: Tool { name: "rolecall", version: env!("CARGO_PKG_VERSION") },
        host: Host { hostname: &report.hostname },
        findings: report.findings.iter().map(FindingView::new).collect(),
        coverage: &report.coverage,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
