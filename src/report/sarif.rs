//! `--format sarif`: SARIF 2.1.0 for code-scanning dashboards. One result
//! per finding (expected and acknowledged ones carry a suppression), one for
//! IMDSv1 when it is open; the verdict goes in the run's properties.

use std::io;

use serde_json::{Value, json};

use super::Report;
use crate::finding::Finding;
use crate::location::Location;
use crate::rules::Severity;

const IMDSV1_RULE: &str = "rolecall.imdsv1-allowed";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning reads a CVSS-like score from this property.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

fn location(f: &Finding) -> (Value, &'static str) {
    match &f.location {
        Location::File { path, line, column } => {
            let uri =
                reqwest::Url::from_file_path(path).map(|u| u.to_string()).unwrap_or_else(|_| crate::escape::path(path));
            (
                json!([{ "physicalLocation": {
                    "artifactLocation": { "uri": uri },
                    "region": { "startLine": line, "startColumn": column },
                }}]),
                "file",
            )
        }
        Location::Process { process, variable } => (
            json!([{ "logicalLocations": [{
                "name": variable,
                "fullyQualifiedName": format!("process://{}/{}/env/{variable}", process.pid, process.service()),
                "kind": "variable",
            }]}]),
            "process",
        ),
        Location::ImdsUserData { part, line, column } => (
            json!([{
                "physicalLocation": {
                    "artifactLocation": { "uri": "http://169.254.169.254/latest/user-data" },
                    "region": { "startLine": line, "startColumn": column },
                },
                "logicalLocations": [{ "name": format!("user-data part {part}"), "kind": "resource" }],
            }]),
            "imds",
        ),
        Location::CommandLine { process, argument } => (
            json!([{ "logicalLocations": [{
                "name": format!("argv[{argument}]"),
                "fullyQualifiedName": format!("process://{}/{}/argv/{argument}", process.pid, process.service()),
                "kind": "parameter",
            }]}]),
            "process",
        ),
    }
}

fn message(f: &Finding) -> String {
    let what = match (&f.key_id, f.has_secret()) {
        (Some(id), true) => format!("{} {id} with its secret", f.kind),
        (Some(id), false) => format!("{} {id} (key ID only)", f.kind),
        (None, _) => f.kind.to_string(),
    };
    let used = if f.used_by.is_empty() { String::new() } else { format!("; used by {}", f.used_by.join(", ")) };
    format!("{what}{used}")
}

fn result(f: &Finding, rule_index: Option<usize>) -> Value {
    let (locations, location_kind) = location(f);
    let a = &f.assessment;
    let mut r = json!({
        "ruleId": f.rule,
        "kind": "fail",
        "level": if a.live { level(f.severity) } else { "note" },
        "message": { "text": message(f) },
        "locations": locations,
        "partialFingerprints": { "rolecall/v1": f.fingerprint },
        "properties": {
            "kind": f.kind,
            "keyId": f.key_id.as_ref().map(|k| k.as_str()),
            "hasSecret": f.has_secret(),
            "secretFingerprint": f.secret.as_ref().map(|s| s.fingerprint()),
            "accountId": f.account().map(|x| x.to_string()),
            "accountRelation": a.account_relation,
            "roleCredentialsCopy": a.role_credentials_copy,
            "live": a.live,
            "verification": f.verification.as_ref().map(|v| v.status()),
            "locationKind": location_kind,
            "usedBy": f.used_by,
        },
    });
    if let Some(i) = rule_index {
        r["ruleIndex"] = json!(i);
    }
    let justification = a.expected.as_ref().or(a.acknowledged.as_ref());
    if let Some(why) = justification {
        r["suppressions"] = json!([{ "kind": "external", "status": "accepted", "justification": why }]);
    }
    r
}

pub fn document(report: &Report) -> Value {
    let mut rules: Vec<Value> = report
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": { "text": r.name },
                "fullDescription": { "text": r.description },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": { "tags": ["security", "secrets", "aws"], "security-severity": security_severity(r.severity) },
            })
        })
        .collect();
    rules.push(json!({
        "id": IMDSV1_RULE,
        "name": "IMDSv1 allowed",
        "shortDescription": { "text": "The instance metadata service still answers requests without a token" },
        "fullDescription": { "text": "IMDSv1 is the SSRF route to the role's credentials. Require tokens (HttpTokens=required)." },
        "defaultConfiguration": { "level": "warning" },
        "properties": { "tags": ["security", "aws", "hardening"], "security-severity": security_severity(Severity::Medium) },
    }));
    let index = |id: &str| report.rules.iter().position(|r| r.id == id);
    let mut results: Vec<Value> = report.findings.iter().map(|f| result(f, index(&f.rule))).collect();
    if report.imds.v1_allowed == Some(true) {
        results.push(json!({
            "ruleId": IMDSV1_RULE,
            "ruleIndex": rules.len() - 1,
            "kind": "fail",
            "level": "warning",
            "message": { "text": format!("IMDSv1 is still allowed at {}", report.imds.endpoint) },
        }));
    }
    let notifications: Vec<Value> = report
        .coverage
        .gaps
        .iter()
        .map(|g| json!({ "level": "warning", "message": { "text": format!("{}: {}: {}", g.target, g.reason, g.detail) } }))
        .collect();
    let id = report.imds.identity.as_ref();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "rolecall",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": report.coverage.complete,
                "startTimeUtc": report.scanned_at(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {
                "verdict": report.verdict.verdict,
                "summary": report.verdict.summary,
                "hostname": report.hostname,
                "instanceId": id.and_then(|i| i.instance_id.clone()),
                "accountId": id.and_then(|i| i.account_id.clone()),
                "region": id.and_then(|i| i.region.clone()),
            },
        }],
    })
}

pub fn write(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(report))?;
    writeln!(out)
}
