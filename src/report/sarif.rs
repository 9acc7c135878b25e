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
/// Results GitHub code scanning accepts in one run; the rest are left out
/// with a notification (the JSON report has them all).
pub const MAX_RESULTS: usize = 25_000;
/// Where the tool's documentation is on the host that wrote the log (the
/// packages install it there).
const INFORMATION_URI: &str = "file:///usr/share/doc/rolecall/README.md";

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
            json!([{
                "physicalLocation": {
                    "artifactLocation": { "uri": format!("file:///proc/{}/environ", process.pid) },
                    "region": { "startLine": 1 },
                },
                "logicalLocations": [{
                    "name": variable,
                    "fullyQualifiedName": format!("process://{}/{}/env/{variable}", process.pid, process.service()),
                    "kind": "variable",
                }],
            }]),
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
            json!([{
                "physicalLocation": {
                    "artifactLocation": { "uri": format!("file:///proc/{}/cmdline", process.pid) },
                    "region": { "startLine": 1 },
                },
                "logicalLocations": [{
                    "name": format!("argv[{argument}]"),
                    "fullyQualifiedName": format!("process://{}/{}/argv/{argument}", process.pid, process.service()),
                    "kind": "parameter",
                }],
            }]),
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
                "help": help(&r.name, &r.description),
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
        "help": {
            "text": "The instance metadata service still answers requests without a session token (IMDSv1), so a server-side request forgery in any workload can read the instance role's credentials. Require tokens: aws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID --http-tokens required.",
            "markdown": "The instance metadata service still answers requests without a session token (IMDSv1), so a server-side request forgery in any workload can read the instance role's credentials.\n\n**What to do:** require tokens:\n\n```sh\naws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID --http-tokens required\n```",
        },
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
            "locations": [{ "physicalLocation": {
                "artifactLocation": { "uri": format!("{}/latest/meta-data/", report.imds.endpoint.trim_end_matches('/')) },
                "region": { "startLine": 1 },
            }}],
        }));
    }
    let left_out = cap(&mut results);
    let mut notifications: Vec<Value> = report
        .coverage
        .gaps
        .iter()
        .map(|g| json!({ "level": "warning", "message": { "text": format!("{}: {}: {}", g.target, g.reason, g.detail) } }))
        .collect();
    if left_out > 0 {
        notifications.push(json!({ "level": "warning", "message": { "text": format!(
            "{left_out} results left out: GitHub code scanning accepts {MAX_RESULTS} per run; the unsuppressed and most severe were kept, and the JSON report has them all"
        ) } }));
    }
    let id = report.imds.identity.as_ref();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "rolecall",
                "informationUri": INFORMATION_URI,
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

/// A rule's help: what a finding of it means and what to do, as text and Markdown.
fn help(name: &str, description: &str) -> Value {
    const TODO: &str = "Remove the key from where it was found (the file, the unit's Environment=, the container spec or the command line). \
        Give the workload the instance role (every AWS SDK uses it once no static key is configured), then deactivate the key \
        (aws iam update-access-key --access-key-id KEY_ID --status Inactive) and delete it once nothing breaks. \
        A key ID without its secret cannot sign requests, but its secret may be stored elsewhere: check whether it is still used \
        (aws iam get-access-key-last-used --access-key-id KEY_ID).";
    json!({
        "text": format!("{name}: {description} What to do: {TODO}"),
        "markdown": format!("**{name}**: {description}\n\n**What to do:** {TODO}"),
    })
}

/// Keeps at most [`MAX_RESULTS`] results, unsuppressed and most severe
/// first (otherwise in their order); returns how many were left out.
fn cap(results: &mut Vec<Value>) -> usize {
    if results.len() <= MAX_RESULTS {
        return 0;
    }
    let rank = |r: &Value| {
        let suppressed = r.get("suppressions").is_some();
        let level = match r["level"].as_str() {
            Some("error") => 0,
            Some("warning") => 1,
            _ => 2,
        };
        (suppressed, level)
    };
    results.sort_by_key(rank);
    let left_out = results.len() - MAX_RESULTS;
    results.truncate(MAX_RESULTS);
    left_out
}

pub fn write(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(report))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_keeps_what_github_accepts_unsuppressed_and_most_severe_first() {
        let mut results: Vec<Value> = (0..MAX_RESULTS + 10)
            .map(|i| match i % 3 {
                0 => json!({ "n": i, "level": "note" }),
                1 => json!({ "n": i, "level": "error", "suppressions": [{}] }),
                _ => json!({ "n": i, "level": "error" }),
            })
            .collect();
        assert_eq!(cap(&mut results), 10);
        assert_eq!(results.len(), MAX_RESULTS);
        // Every unsuppressed error is kept, in its order; what went was suppressed.
        let errors: Vec<u64> = results
            .iter()
            .filter(|r| r["level"] == "error" && r.get("suppressions").is_none())
            .map(|r| r["n"].as_u64().unwrap())
            .collect();
        assert_eq!(errors.len(), (MAX_RESULTS + 10) / 3);
        assert!(errors.windows(2).all(|w| w[0] < w[1]));
        assert!(results.iter().filter(|r| r.get("suppressions").is_some()).count() < (MAX_RESULTS + 10) / 3);
        let mut few = vec![json!({ "level": "note" })];
        assert_eq!(cap(&mut few), 0);
    }
}
