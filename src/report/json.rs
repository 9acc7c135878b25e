//! `--format json`: one object, the contract in docs/report.md. Every type
//! here is a serialize-only view; none can hold a secret.

use std::io;

use serde::Serialize;

use super::Report;
use crate::chain::SubjectChain;
use crate::coverage::Coverage;
use crate::escape;
use crate::finding::{Assessment, Finding, Kind, Location};
use crate::imds::{Identity, ImdsState, RoleStatus};
use crate::rules::Severity;
use crate::sources::procenv::ProcessInfo;
use crate::verdict::Verdict;

/// Bumped when a field changes meaning or disappears; adding fields does not bump it.
pub const SCHEMA_VERSION: &str = "1";

#[derive(Serialize)]
struct Doc<'a> {
    schema_version: &'static str,
    tool: Tool,
    host: Host<'a>,
    imds: ImdsView<'a>,
    role: &'a RoleStatus,
    verdict: &'a Verdict,
    hardening: Vec<Hardening>,
    findings: Vec<FindingView<'a>>,
    /// What each process and user's SDK credential chain resolves to.
    chains: &'a [SubjectChain],
    coverage: &'a Coverage,
}

#[derive(Serialize)]
struct ImdsView<'a> {
    endpoint: &'a str,
    state: ImdsState,
    detail: &'a str,
    v1_allowed: Option<bool>,
    notes: &'a [String],
    elapsed_ms: u64,
}

/// A weakness of the instance's configuration, apart from credentials.
#[derive(Serialize)]
struct Hardening {
    id: &'static str,
    severity: Severity,
    message: &'static str,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Host<'a> {
    hostname: &'a str,
    instance_id: Option<&'a str>,
    account_id: Option<&'a str>,
    region: Option<&'a str>,
    availability_zone: Option<&'a str>,
    image_id: Option<&'a str>,
    instance_type: Option<&'a str>,
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
    location: LocationView<'a>,
    occurrences: u64,
    /// Every process holding the credential (process environments only).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    processes: &'a [ProcessInfo],
    /// Processes and users whose SDK credential chain resolves to this key.
    used_by: &'a [String],
    fingerprint: &'a str,
    #[serde(flatten)]
    assessment: &'a Assessment,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum LocationView<'a> {
    File {
        path: String,
        line: u64,
        column: u64,
    },
    Process {
        #[serde(flatten)]
        process: &'a ProcessInfo,
        variable: &'a str,
    },
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
                Location::Process { process, variable } => LocationView::Process { process, variable },
            },
            processes: &f.processes,
            used_by: &f.used_by,
            occurrences: f.occurrences,
            fingerprint: &f.fingerprint,
            assessment: &f.assessment,
        }
    }
}

pub fn write(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let id = report.imds.identity.as_ref();
    let field = |f: fn(&Identity) -> &Option<String>| id.and_then(|i| f(i).as_deref());
    let mut hardening = Vec::new();
    if report.imds.v1_allowed == Some(true) {
        hardening.push(Hardening {
            id: "imdsv1-allowed",
            severity: Severity::Medium,
            message: "IMDSv1 is still allowed: a tokenless request was answered, the SSRF route to the role's \
                      credentials. Require tokens (HttpTokens=required). This check counted once in CloudWatch \
                      MetadataNoToken.",
        });
    }
    let imds = &report.imds;
    let doc = Doc {
        schema_version: SCHEMA_VERSION,
        tool: Tool { name: "rolecall", version: env!("CARGO_PKG_VERSION") },
        host: Host {
            hostname: &report.hostname,
            instance_id: field(|i| &i.instance_id),
            account_id: field(|i| &i.account_id),
            region: field(|i| &i.region),
            availability_zone: field(|i| &i.availability_zone),
            image_id: field(|i| &i.image_id),
            instance_type: field(|i| &i.instance_type),
        },
        imds: ImdsView {
            endpoint: &imds.endpoint,
            state: imds.state,
            detail: &imds.detail,
            v1_allowed: imds.v1_allowed,
            notes: &imds.notes,
            elapsed_ms: imds.elapsed_ms,
        },
        role: &imds.role,
        verdict: &report.verdict,
        hardening,
        findings: report.findings.iter().map(FindingView::new).collect(),
        chains: &report.chains,
        coverage: &report.coverage,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
