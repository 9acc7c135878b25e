//! `--format json`: one object, the contract in docs/report.md, whose JSON
//! Schema (docs/report.schema.json) is generated from these types. Every
//! type here is a serialize-only view; none can hold a secret.

use std::io;

use schemars::JsonSchema;
use serde::Serialize;

use super::Report;
use crate::chain::SubjectChain;
use crate::coverage::Coverage;
use crate::escape;
use crate::finding::{Assessment, Finding, Kind};
use crate::imds::{Identity, ImdsState, RoleStatus};
use crate::location::{Location, ProcessInfo};
use crate::rules::Severity;

use crate::verdict::Verdict;

/// Bumped when a field changes meaning or disappears; adding fields does not bump it.
pub const SCHEMA_VERSION: &str = "1";

/// A rolecall report: one host's answer to "does this instance rely on
/// static AWS credentials despite having an IAM role?".
#[derive(Serialize, JsonSchema)]
#[schemars(title = "rolecall report")]
pub struct Doc<'a> {
    /// "1" for this schema.
    schema_version: &'static str,
    tool: Tool,
    /// When the scan started (RFC 3339, UTC).
    scanned_at: String,
    host: Host<'a>,
    imds: ImdsView<'a>,
    role: &'a RoleStatus,
    verdict: &'a Verdict,
    hardening: Vec<Hardening>,
    findings: Vec<FindingView<'a>>,
    /// What each process's and user's SDK credential chain resolves to (host scans).
    chains: &'a [SubjectChain],
    coverage: &'a Coverage,
    /// What `--ssm-compliance` did (only when it was asked): a failure is
    /// recorded here and never changes the verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    ssm_compliance: Option<&'a super::compliance::Delivery>,
}

#[derive(Serialize, JsonSchema)]
pub(crate) struct ImdsView<'a> {
    endpoint: &'a str,
    state: ImdsState,
    /// What happened, with the URL and status where they matter.
    detail: &'a str,
    /// Whether a tokenless request was answered (IMDSv1 open); null when unknown.
    v1_allowed: Option<bool>,
    /// With no role attached: whether the instance identity role answers
    /// (for the SSM agent under Default Host Management; never the attached
    /// role). Absent when not asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_credentials: Option<bool>,
    notes: &'a [String],
    elapsed_ms: u64,
}

/// A weakness of the instance's configuration, apart from credentials.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Hardening {
    pub id: &'static str,
    pub severity: Severity,
    pub message: &'static str,
}

#[derive(Serialize, JsonSchema)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

/// The instance, as far as IMDS told.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Host<'a> {
    pub hostname: &'a str,
    pub instance_id: Option<&'a str>,
    pub account_id: Option<&'a str>,
    pub region: Option<&'a str>,
    pub availability_zone: Option<&'a str>,
    pub image_id: Option<&'a str>,
    pub instance_type: Option<&'a str>,
}

/// One credential found in one place.
#[derive(Serialize, JsonSchema)]
pub(crate) struct FindingView<'a> {
    rule: &'a str,
    /// Every rule whose match is part of the finding.
    rules: &'a [String],
    kind: Kind,
    severity: Severity,
    /// The access key ID, in full: it is what an operator deactivates.
    key_id: Option<&'a str>,
    has_secret: bool,
    /// 16 hex digits of SHA-256 of the secret; never the secret.
    secret_fingerprint: Option<&'a str>,
    has_session_token: bool,
    /// How the secret was found to belong to the key ID (null without a secret).
    paired_by: Option<crate::scan::PairedBy>,
    /// No secret, but the AWS documentation's example secret stands beside
    /// the key ID (it cannot sign; the key ID may still be real).
    secret_is_example: bool,
    /// Each AWS SDK model that would load the credential, and from where.
    loaded_by: &'a [String],
    /// How the file was decoded before matching (`gzip`, `utf-16le`,
    /// `gzip+utf-16le`; line and column count in the decoded text); null when plain.
    decoded: Option<String>,
    /// The container image (and layer) or container whose files hold it, for
    /// a file in an image layer on the host's disk.
    image_layer: Option<&'a str>,
    /// Decoded offline from the key ID (new-generation keys only): inferred, not authoritative.
    account_id: Option<String>,
    location: LocationView<'a>,
    occurrences: u64,
    /// Every process holding the credential (process environments; empty for files).
    processes: &'a [ProcessInfo],
    /// Processes and users whose SDK credential chain resolves to this key.
    used_by: &'a [String],
    /// Stable across runs (kind, key, secret fingerprint, place): for baselines.
    fingerprint: &'a str,
    /// STS GetCallerIdentity's answer for the pair (`--verify`), else null.
    verification: Option<&'a crate::sts::Verification>,
    /// The key's account according to STS GetAccessKeyInfo (`--lookup-accounts`), else null.
    sts_account_id: Option<&'a str>,
    /// For a person's cached sign-in (kind `person-session`): what it is, never its tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a crate::finding::SessionInfo>,
    #[serde(flatten)]
    assessment: &'a Assessment,
}

/// Where a finding is: a file and position, or a process's environment variable.
#[derive(Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub(crate) enum LocationView<'a> {
    File {
        /// The path; bytes that are not UTF-8 are written `\xNN`.
        path: String,
        /// 1-based.
        line: u64,
        /// 1-based, in bytes.
        column: u64,
    },
    Process {
        #[serde(flatten)]
        process: &'a ProcessInfo,
        /// The variable's name (escaped; an entry without `=` is shown redacted).
        variable: &'a str,
    },
    /// The instance's user data, which IMDS serves to every local process.
    ImdsUserData {
        /// 0 for the whole user data, N for the Nth part of a MIME multipart document.
        part: u32,
        /// 1-based, in the decoded part.
        line: u64,
        /// 1-based, in bytes.
        column: u64,
    },
    /// An argument of a process's command line.
    CommandLine {
        #[serde(flatten)]
        process: &'a ProcessInfo,
        /// The argument's index (0 is the program).
        argument: u32,
    },
}

impl<'a> FindingView<'a> {
    pub(crate) fn new(f: &'a Finding) -> FindingView<'a> {
        FindingView {
            rule: &f.rule,
            rules: &f.rules,
            kind: f.kind,
            severity: f.severity,
            key_id: f.key_id.as_ref().map(|k| k.as_str()),
            has_secret: f.has_secret(),
            secret_fingerprint: f.secret.as_ref().map(|s| s.fingerprint()),
            has_session_token: f.session_token.is_some(),
            paired_by: f.paired_by,
            secret_is_example: f.secret_is_example,
            loaded_by: &f.loaded_by,
            decoded: (!f.decoding.is_plain()).then(|| f.decoding.to_string()),
            image_layer: f.layer.as_deref(),
            account_id: f.account().map(|a| a.to_string()),
            location: match &f.location {
                Location::File { path, line, column } => {
                    LocationView::File { path: escape::path(path), line: *line, column: *column }
                }
                Location::Process { process, variable } => LocationView::Process { process, variable },
                Location::CommandLine { process, argument } => {
                    LocationView::CommandLine { process, argument: *argument }
                }
                Location::ImdsUserData { part, line, column } => {
                    LocationView::ImdsUserData { part: *part, line: *line, column: *column }
                }
            },
            processes: &f.processes,
            used_by: &f.used_by,
            occurrences: f.occurrences,
            fingerprint: &f.fingerprint,
            verification: f.verification.as_ref(),
            sts_account_id: f.sts_account_id.as_deref(),
            session: f.session.as_ref(),
            assessment: &f.assessment,
        }
    }
}

pub(crate) fn host(report: &Report) -> Host<'_> {
    let id = report.imds.identity.as_ref();
    let field = |f: fn(&Identity) -> &Option<String>| id.and_then(|i| f(i).as_deref());
    Host {
        hostname: &report.hostname,
        instance_id: field(|i| &i.instance_id),
        account_id: field(|i| &i.account_id),
        region: field(|i| &i.region),
        availability_zone: field(|i| &i.availability_zone),
        image_id: field(|i| &i.image_id),
        instance_type: field(|i| &i.instance_type),
    }
}

pub(crate) fn imds(report: &Report) -> ImdsView<'_> {
    let imds = &report.imds;
    ImdsView {
        endpoint: &imds.endpoint,
        state: imds.state,
        detail: &imds.detail,
        v1_allowed: imds.v1_allowed,
        identity_credentials: imds.identity_credentials,
        notes: &imds.notes,
        elapsed_ms: imds.elapsed_ms,
    }
}

pub(crate) fn hardening(report: &Report) -> Vec<Hardening> {
    let mut out = Vec::new();
    if report.imds.v1_allowed == Some(true) {
        out.push(Hardening {
            id: "imdsv1-allowed",
            severity: Severity::Medium,
            message: "IMDSv1 is still allowed: a tokenless request was answered, the SSRF route to the role's \
                      credentials. Require tokens (HttpTokens=required). This check counted once in CloudWatch \
                      MetadataNoToken.",
        });
    }
    out
}

pub fn write(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let doc = Doc {
        schema_version: SCHEMA_VERSION,
        tool: Tool { name: "rolecall", version: env!("CARGO_PKG_VERSION") },
        scanned_at: report.scanned_at(),
        host: host(report),
        imds: imds(report),
        role: &report.imds.role,
        verdict: &report.verdict,
        hardening: hardening(report),
        findings: report.findings.iter().map(FindingView::new).collect(),
        chains: &report.chains,
        coverage: &report.coverage,
        ssm_compliance: report.ssm_compliance.as_ref(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// The JSON Schema of the report, generated from the types above.
pub fn schema() -> serde_json::Value {
    let mut s = serde_json::to_value(schemars::schema_for!(Doc<'static>)).expect("a schema serializes");
    s["$id"] = serde_json::json!(format!("https://rolecall.invalid/report.schema.v{SCHEMA_VERSION}.json"));
    strict(&mut s);
    s
}

/// Formats that JSON Schema 2020-12 defines; schemars also writes Rust's
/// own (`uint32`, …), which validators reject in strict mode.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Every object the report defines admits only its own fields (a misspelt
/// field fails), and only standard formats are named (an unsigned integer
/// keeps its `minimum: 0`). An object that adds fields to a `$ref`'d one
/// (an internally tagged variant) is closed with `unevaluatedProperties`,
/// which sees the referenced fields, and that definition is left open.
fn strict(schema: &mut serde_json::Value) {
    let mut extended = std::collections::BTreeSet::new();
    find_extended(schema, &mut extended);
    close(schema, &extended, None);
}

/// `$defs` names that a schema with `properties` of its own also `$ref`s.
fn find_extended(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(o) => {
            if o.contains_key("properties")
                && let Some(r) = o.get("$ref").and_then(|r| r.as_str())
            {
                out.insert(r.trim_start_matches("#/$defs/").to_string());
            }
            o.values().for_each(|x| find_extended(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| find_extended(x, out)),
        _ => {}
    }
}

fn close(v: &mut serde_json::Value, extended: &std::collections::BTreeSet<String>, def: Option<&str>) {
    match v {
        serde_json::Value::Object(o) => {
            if o.get("format").and_then(|f| f.as_str()).is_some_and(|f| !STANDARD_FORMATS.contains(&f)) {
                o.remove("format");
            }
            let open = def.is_some_and(|d| extended.contains(d));
            if o.contains_key("properties") && !o.contains_key("additionalProperties") && !open {
                let key = if o.contains_key("$ref") { "unevaluatedProperties" } else { "additionalProperties" };
                o.insert(key.into(), false.into());
            }
            for (k, x) in o.iter_mut() {
                match (k.as_str(), x) {
                    ("$defs", serde_json::Value::Object(defs)) => {
                        for (name, d) in defs.iter_mut() {
                            close(d, extended, Some(name));
                        }
                    }
                    (_, x) => close(x, extended, None),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| close(x, extended, None)),
        _ => {}
    }
}
