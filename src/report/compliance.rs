//! `--ssm-compliance`: the verdict and each live credential as Systems
//! Manager Compliance items of type `Custom:Rolecall`, put with
//! PutComplianceItems and signed with the instance role's own credentials
//! (never a found key). Reporting is best effort: a failure is logged and
//! recorded in the report, and never changes the verdict or the exit code.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

use super::Report;
use crate::awsapi::{Client, SigningKey};
use crate::escape;
use crate::finding::Finding;
use crate::imds::RoleStatus;
use crate::rules::Severity;

/// The compliance type every item is filed under.
pub const COMPLIANCE_TYPE: &str = "Custom:Rolecall";
/// Items sent per scan besides the verdict's (the API takes 10,000; a
/// host with more live keys than this has one message: the verdict).
pub const MAX_ITEMS: usize = 1000;
/// The API's limits (botocore's `ssm` model).
const MAX_TITLE: usize = 500;
const MAX_DETAIL: usize = 4096;
const MAX_ERROR: usize = 300;

/// What became of the compliance report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Delivery {
    /// `sent` (SSM accepted the items) or `failed` (see `error`).
    pub status: DeliveryStatus,
    /// Where the items were sent.
    pub endpoint: String,
    /// Items in the request: one per live credential, plus the verdict's.
    pub items: usize,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryStatus {
    Sent,
    Failed,
}

fn cut(s: &str, max: usize) -> String {
    escape::cut(s, max).into_owned()
}

/// The item that says whether the host passed: COMPLIANT exactly when the
/// scan exits 0, so the fleet view and the gate agree.
fn verdict_item(report: &Report, omitted: usize) -> Value {
    let v = &report.verdict;
    let verdict = serde_json::to_value(v.verdict).ok().and_then(|x| x.as_str().map(str::to_string)).unwrap_or_default();
    let compliant = v.exit_code == 0;
    let severity = if compliant {
        "INFORMATIONAL"
    } else {
        report
            .findings
            .iter()
            .filter(|f| f.assessment.live)
            .map(|f| f.severity)
            .max()
            .map_or("HIGH", Severity::aws_label)
    };
    let role = match &report.imds.role {
        RoleStatus::Attached { role_name, .. } => role_name.clone(),
        RoleStatus::None => "none".into(),
        RoleStatus::Unknown { .. } => "unknown".into(),
    };
    let mut details = BTreeMap::new();
    details.insert("Verdict", verdict.clone());
    details.insert("ExitCode", v.exit_code.to_string());
    details.insert("Summary", cut(&v.summary, MAX_DETAIL));
    details.insert("RoleName", cut(&role, MAX_DETAIL));
    details.insert("LiveCredentials", v.live_credentials.to_string());
    details.insert("CoverageComplete", report.coverage.complete.to_string());
    details.insert("ScanTime", report.scanned_at());
    details.insert("AgentVersion", env!("CARGO_PKG_VERSION").to_string());
    if omitted > 0 {
        details.insert("ItemsOmitted", omitted.to_string());
    }
    json!({
        "Id": "verdict",
        "Title": cut(&format!("rolecall verdict: {verdict}"), MAX_TITLE),
        "Severity": severity,
        "Status": if compliant { "COMPLIANT" } else { "NON_COMPLIANT" },
        "Details": details,
    })
}

/// One item per live credential (by key ID, else by fingerprint), naming
/// where it was found. Key IDs are shown: they are what an operator deactivates.
fn credential_items(report: &Report) -> Vec<Value> {
    let mut by_key: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| f.assessment.live) {
        let id = f.key_id.as_ref().map_or_else(|| format!("fingerprint-{}", f.fingerprint), |k| k.to_string());
        by_key.entry(cut(&id, 100)).or_default().push(f);
    }
    by_key
        .into_iter()
        .map(|(id, found)| {
            let first = found[0];
            let mut places: Vec<String> = found.iter().map(|f| f.location.stable_place()).collect();
            places.sort();
            places.dedup();
            let more = if places.len() > 1 { format!(" (and {} more)", places.len() - 1) } else { String::new() };
            let severity = found.iter().map(|f| f.severity).max().unwrap_or(first.severity);
            let mut details = BTreeMap::new();
            details.insert("Rule", cut(&first.rule, MAX_DETAIL));
            details.insert("Locations", cut(&places.join("; "), MAX_DETAIL));
            details.insert("Occurrences", found.iter().map(|f| f.occurrences).sum::<u64>().to_string());
            if let Some(v) = found.iter().find_map(|f| f.verification.as_ref()) {
                details.insert("Verification", v.status().to_string());
            }
            json!({
                "Id": id,
                "Title": cut(&format!("Static AWS credential {id} in {}{more}", places[0]), MAX_TITLE),
                "Severity": severity.aws_label(),
                "Status": "NON_COMPLIANT",
                "Details": details,
            })
        })
        .collect()
}

/// The PutComplianceItems request for `instance_id`: a COMPLETE upload, so
/// keys that are gone drop out of the fleet view at the next scan.
pub fn request(report: &Report, instance_id: &str, execution_id: &str) -> Value {
    let mut items = credential_items(report);
    let omitted = items.len().saturating_sub(MAX_ITEMS);
    items.truncate(MAX_ITEMS);
    items.insert(0, verdict_item(report, omitted));
    let hash = {
        use sha2::Digest;
        let bytes = serde_json::to_vec(&items).expect("items serialize");
        data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(bytes))
    };
    let time = report.started_at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    json!({
        "ResourceId": instance_id,
        "ResourceType": "ManagedInstance",
        "ComplianceType": COMPLIANCE_TYPE,
        "ExecutionSummary": { "ExecutionTime": time, "ExecutionId": execution_id, "ExecutionType": "Command" },
        "Items": items,
        "ItemContentHash": hash,
        "UploadType": "COMPLETE",
    })
}

fn is_instance_id(id: &str) -> bool {
    id.strip_prefix("i-").is_some_and(|hex| (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Sends the report's compliance items to SSM in the instance's region (or
/// to `endpoint`), signed with the role's credentials from IMDS, within the
/// run's `deadline` (`--max-seconds`) and at most 5 seconds.
pub fn put(report: &Report, endpoint: Option<&str>, deadline: Option<std::time::Instant>) -> Delivery {
    let identity = report.imds.identity.as_ref();
    // The region was checked against its documented shape: the host name
    // built from it can only be an SSM endpoint.
    let region = identity.and_then(|i| i.region.clone()).filter(|r| crate::imds::is_region(r));
    let default_endpoint = region.as_ref().map(|r| {
        let domain = if r.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
        format!("https://ssm.{r}.{domain}")
    });
    let endpoint = endpoint.map(str::to_string).or(default_endpoint);
    let failed = |endpoint: &str, items: usize, error: String| {
        tracing::warn!(endpoint, error = %error, "SSM compliance not reported (the verdict stands)");
        Delivery { status: DeliveryStatus::Failed, endpoint: endpoint.to_string(), items, error: Some(error) }
    };
    let (Some(endpoint), Some(region)) = (endpoint, region) else {
        return failed("", 0, "the instance's region is not known (IMDS did not tell it)".into());
    };
    let Some(instance_id) = identity.and_then(|i| i.instance_id.clone()).filter(|i| is_instance_id(i)) else {
        return failed(&endpoint, 0, "the instance ID is not known (IMDS did not tell it)".into());
    };
    let Some(role) = &report.imds.role_credentials else {
        return failed(&endpoint, 0, "no instance role credentials from IMDS to sign with".into());
    };
    let started = report.started_at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let execution_id = format!("rolecall-{started}-{}", std::process::id());
    let body = request(report, &instance_id, &execution_id);
    let items = body["Items"].as_array().map_or(0, Vec::len);
    let bytes = serde_json::to_vec(&body).expect("the request serializes");
    let budget = std::time::Duration::from_secs(5);
    let timeout = deadline.map_or(budget, |d| d.saturating_duration_since(std::time::Instant::now()).min(budget));
    if timeout.is_zero() {
        return failed(&endpoint, items, "--max-seconds was reached before the items were sent".into());
    }
    let client = match Client::with_timeout(&endpoint, &region, "ssm", timeout) {
        Ok(c) => c,
        Err(e) => return failed(&endpoint, items, format!("{e:#}")),
    };
    let key = SigningKey { key_id: &role.key_id, secret: &role.secret, session_token: role.token.as_ref() };
    let headers = [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", "AmazonSSM.PutComplianceItems")];
    match client.post(&key, &headers, &bytes) {
        Ok((200, _)) => {
            tracing::info!(endpoint = %endpoint, items, "SSM compliance reported ({COMPLIANCE_TYPE})");
            Delivery { status: DeliveryStatus::Sent, endpoint, items, error: None }
        }
        Ok((status, answer)) => {
            let code = serde_json::from_str::<Value>(&answer)
                .ok()
                .and_then(|v| {
                    v.get("__type").and_then(Value::as_str).map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
                })
                .unwrap_or_default();
            let error = cut(format!("PutComplianceItems answered {status} {code}").trim_end(), MAX_ERROR);
            failed(&endpoint, items, escape::terminal(&error))
        }
        Err(e) => failed(&endpoint, items, cut(&format!("{e:#}"), MAX_ERROR)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids() {
        assert!(is_instance_id("i-0123456789abcdef0"));
        assert!(is_instance_id("i-12345678"));
        assert!(!is_instance_id("i-../../x"));
        assert!(!is_instance_id("mi-0123456789abcdef0"));
        assert!(!is_instance_id("i-0123456789abcdef01"));
    }
}
