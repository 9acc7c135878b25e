//! `--format asff`: AWS Security Finding Format, as import-ready batches for
//! Security Hub's BatchImportFindings (JSON Lines, one `{"Findings": [...]}`
//! of at most 100 per line): one finding per credential and one for the
//! instance's verdict, with Ids stable across scans so that a re-scan
//! updates rather than duplicates, every field within its documented limit.

use std::io;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::Report;
use crate::finding::Finding;
use crate::imds::RoleStatus;
use crate::verdict::VerdictKind;

/// ASFF's own version.
const SCHEMA_VERSION: &str = "2018-10-08";
/// Findings BatchImportFindings takes in one call.
pub const BATCH: usize = 100;
/// Documented limits, in characters.
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 1024;
const PRODUCT_FIELD_MAX: usize = 2048;

/// The instance's identity, which every ASFF finding needs.
struct Instance<'a> {
    account: &'a str,
    region: &'a str,
    id: &'a str,
    partition: &'static str,
}

impl Instance<'_> {
    fn arn(&self) -> String {
        format!("arn:{}:ec2:{}:{}:instance/{}", self.partition, self.region, self.account, self.id)
    }
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

pub fn findings(report: &Report) -> Result<Vec<Value>> {
    let id = report.imds.identity.as_ref();
    let (Some(account), Some(region), Some(instance_id)) = (
        id.and_then(|i| i.account_id.as_deref()),
        id.and_then(|i| i.region.as_deref()),
        id.and_then(|i| i.instance_id.as_deref()),
    ) else {
        bail!(
            "--format asff needs the instance's account, region and ID from IMDS, which are not known here ({}); \
             Security Hub findings must name the instance they are about",
            report.imds.detail
        );
    };
    let inst = Instance { account, region, id: instance_id, partition: partition(region) };
    let now = report.scanned_at();
    let product = format!("arn:{}:securityhub:{region}:{account}:product/{account}/default", inst.partition);
    let mut details = json!({});
    if let RoleStatus::Attached { instance_profile_arn: Some(arn), .. } = &report.imds.role {
        details["IamInstanceProfileArn"] = json!(arn);
    }
    if let Some(image) = id.and_then(|i| i.image_id.as_deref()) {
        details["ImageId"] = json!(image);
    }
    if let Some(t) = id.and_then(|i| i.instance_type.as_deref()) {
        details["Type"] = json!(t);
    }
    if let Some(v1) = report.imds.v1_allowed {
        details["MetadataOptions"] = json!({ "HttpTokens": if v1 { "optional" } else { "required" } });
    }
    let resource = json!({
        "Type": "AwsEc2Instance",
        "Id": inst.arn(),
        "Partition": inst.partition,
        "Region": region,
        "Details": { "AwsEc2Instance": details },
    });
    let base = |suffix: &str, generator: &str, title: String, description: String, severity: &str, status: &str| {
        let description = crate::escape::cut(&description, DESCRIPTION_MAX);
        let title = crate::escape::cut(&title, TITLE_MAX);
        json!({
            "SchemaVersion": SCHEMA_VERSION,
            "Id": format!("{}/rolecall/{suffix}", inst.arn()),
            "ProductArn": product,
            "GeneratorId": format!("rolecall/{generator}"),
            "AwsAccountId": account,
            "Types": ["Software and Configuration Checks/AWS Security Best Practices"],
            "CreatedAt": now,
            "UpdatedAt": now,
            "Severity": { "Label": severity },
            "Title": title,
            "Description": description,
            "Resources": [resource.clone()],
            "Compliance": { "Status": status },
            "RecordState": "ACTIVE",
            "CompanyName": "rolecall",
            "ProductName": "rolecall",
        })
    };

    let v = &report.verdict;
    let (status, severity) = match v.verdict {
        VerdictKind::Pass => ("PASSED", "INFORMATIONAL"),
        VerdictKind::StaticCredentialsDespiteRole | VerdictKind::NoRoleStaticCredentials => ("FAILED", "HIGH"),
        VerdictKind::NoRole | VerdictKind::NoRoleManagedBySsm => ("FAILED", "MEDIUM"),
        VerdictKind::RoleUnknown if v.live_credentials > 0 => ("FAILED", "HIGH"),
        VerdictKind::RoleUnknown => ("NOT_AVAILABLE", "INFORMATIONAL"),
        VerdictKind::Incomplete => ("WARNING", "MEDIUM"),
    };
    let mut out = vec![base(
        "verdict",
        "verdict",
        "Instance relies on static AWS credentials despite an IAM role (rolecall)".to_string(),
        v.summary.clone(),
        severity,
        status,
    )];
    out[0]["ProductFields"] = json!({
        "rolecall/Verdict": serde_json::to_value(v.verdict)?.as_str().unwrap_or_default(),
        "rolecall/LiveCredentials": v.live_credentials.to_string(),
        "rolecall/ProcessesUsingStaticKeys": v.processes_using_static_keys.to_string(),
        "rolecall/UsersUsingStaticKeys": v.users_using_static_keys.to_string(),
    });
    for f in &report.findings {
        out.push(finding(f, &base));
    }
    for f in &mut out {
        if let Some(fields) = f["ProductFields"].as_object_mut() {
            for v in fields.values_mut() {
                if let Some(s) = v.as_str() {
                    *v = json!(crate::escape::cut(s, PRODUCT_FIELD_MAX));
                }
            }
        }
    }
    Ok(out)
}

type Base<'a> = dyn Fn(&str, &str, String, String, &str, &str) -> Value + 'a;

fn finding(f: &Finding, base: &Base) -> Value {
    let a = &f.assessment;
    let status = if a.live {
        "FAILED"
    } else if f.has_secret() {
        "PASSED"
    } else {
        "WARNING"
    };
    let severity = if a.live { f.severity.aws_label() } else { "INFORMATIONAL" };
    let key = f.key_id.as_ref().map(|k| k.to_string()).unwrap_or_else(|| "secret access key".into());
    let place = f.location.place();
    let mut description = format!("{} {key} found at {place}.", f.kind);
    if let Some(why) = a.expected.as_ref().or(a.acknowledged.as_ref()) {
        description.push_str(&format!(" Not counted: {why}."));
    }
    if !f.used_by.is_empty() {
        description.push_str(&format!(" Used by {}.", f.used_by.join(", ")));
    }
    let mut v = base(
        &format!("finding/{}", f.fingerprint),
        &f.rule,
        format!("AWS {} on the instance: {key}", f.kind),
        description,
        severity,
        status,
    );
    let mut fields = json!({
        "rolecall/Kind": serde_json::to_value(f.kind).ok().and_then(|k| k.as_str().map(str::to_string)).unwrap_or_default(),
        "rolecall/Fingerprint": f.fingerprint,
        "rolecall/Location": place,
        "rolecall/HasSecret": f.has_secret().to_string(),
    });
    if let Some(k) = &f.key_id {
        fields["rolecall/KeyId"] = json!(k.as_str());
    }
    if let Some(acct) = f.account() {
        fields["rolecall/KeyAccountId"] = json!(acct.to_string());
    }
    if let Some(verification) = &f.verification {
        fields["rolecall/Verification"] = json!(verification.status());
    }
    v["ProductFields"] = fields;
    v["Types"] = json!([
        "Software and Configuration Checks/AWS Security Best Practices",
        "Sensitive Data Identifications/Security"
    ]);
    v
}

/// One line per batch of at most [`BATCH`] findings, each the input of one
/// `aws securityhub batch-import-findings --cli-input-json "$line"`.
pub fn write(report: &Report, out: &mut dyn io::Write) -> Result<()> {
    let all = findings(report)?;
    for batch in all.chunks(BATCH) {
        serde_json::to_writer(&mut *out, &json!({ "Findings": batch }))?;
        writeln!(out)?;
    }
    Ok(())
}
