//! `--format text`: for a person over SSH. The summary comes first, then each
//! finding with what it is, where it is, and what to do about it.

use std::io;

use super::{Report, Style};
use crate::chain::{Runtime, Shadowing, Source, SubjectChain};
use crate::coverage::Coverage;
use crate::escape;
use crate::finding::{AccountRelation, Finding, Kind};
use crate::imds::RoleStatus;
use crate::location::Location;
use crate::rules::Severity;
use crate::scan::PairedBy;

struct Paint<'a> {
    style: &'a Style,
}

impl Paint<'_> {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.style.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn severity(&self, s: Severity) -> String {
        let label = s.to_string().to_uppercase();
        match s {
            Severity::Critical | Severity::High => self.wrap("1;31", &label),
            Severity::Medium => self.wrap("33", &label),
            Severity::Low | Severity::Info => self.wrap("36", &label),
        }
    }
}

pub fn write(report: &Report, style: &Style, out: &mut dyn io::Write) -> io::Result<()> {
    let paint = Paint { style };
    let v = &report.verdict;
    // The summary names services and executables: host text.
    let headline = format!("rolecall: {}", escape::terminal(&v.summary));
    let headline = if v.failed_conditions.is_empty() { paint.bold(&headline) } else { paint.wrap("1;31", &headline) };
    writeln!(out, "{headline}")?;
    writeln!(out, "{}", instance_line(report))?;
    writeln!(out, "{}", findings_line(report))?;
    writeln!(out, "{}", scanned_line(&report.coverage))?;
    if report.imds.v1_allowed == Some(true) {
        let id = report.imds.identity.as_ref();
        writeln!(
            out,
            "{} IMDSv1 is still allowed: any SSRF in a workload can read the role's credentials. Require tokens \
             (this check itself counts once in CloudWatch MetadataNoToken):",
            paint.wrap("33", "hardening:"),
        )?;
        writeln!(
            out,
            "   aws ec2 modify-instance-metadata-options --instance-id {} --http-tokens required{}",
            id.and_then(|i| i.instance_id.as_deref()).unwrap_or("INSTANCE_ID"),
            id.and_then(|i| i.region.as_deref()).map(|r| format!(" --region {}", quoted(r))).unwrap_or_default(),
        )?;
    }
    for (i, f) in report.findings.iter().enumerate() {
        writeln!(out)?;
        write_finding(out, &paint, i + 1, f, report)?;
    }
    write_chains(out, &paint, report)?;
    write_coverage(out, &paint, &report.coverage)?;
    write_compliance(out, &paint, report.ssm_compliance.as_ref())
}

/// What `--ssm-compliance` did; a failure is shown, and changes nothing else.
fn write_compliance(
    out: &mut dyn io::Write,
    paint: &Paint,
    delivery: Option<&crate::report::compliance::Delivery>,
) -> io::Result<()> {
    use crate::report::compliance::{COMPLIANCE_TYPE, DeliveryStatus};
    let Some(d) = delivery else { return Ok(()) };
    let endpoint = escape::terminal(&d.endpoint);
    match (d.status, &d.error) {
        (DeliveryStatus::Sent, _) => {
            writeln!(out, "ssm compliance: {} items of {COMPLIANCE_TYPE} put to {endpoint}", d.items)
        }
        (DeliveryStatus::Failed, error) => writeln!(
            out,
            "{} {} (the verdict above stands)",
            paint.wrap("33", "ssm compliance: not reported:"),
            escape::terminal(error.as_deref().unwrap_or("unknown error")),
        ),
    }
}

/// Processes and users that do not simply use the instance role, and
/// those whose SDKs would not agree.
fn write_chains(out: &mut dyn io::Write, paint: &Paint, report: &Report) -> io::Result<()> {
    if report.chains.is_empty() {
        return Ok(());
    }
    let plain = |c: &&SubjectChain| {
        c.chain.other_sdks.is_empty()
            && c.chain.bedrock_api_key.is_none()
            && matches!(c.chain.resolution.shadowing, Shadowing::UsesRole | Shadowing::Nothing)
            && !matches!(c.chain.resolution.source, Source::Error { .. })
    };
    let notable: Vec<&SubjectChain> = report.chains.iter().filter(|c| !plain(c)).collect();
    writeln!(out)?;
    writeln!(
        out,
        "{} {} processes and users checked; {} resolve to something other than the instance role, or differ between SDKs",
        paint.bold("credential chains"),
        report.chains.len(),
        notable.len()
    )?;
    for c in notable.iter().take(50) {
        let r = &c.chain.resolution;
        let sdk = match c.chain.runtime {
            Runtime::Unknown => String::new(),
            // What the binary says of the SDK it was built with (or that it does not say).
            Runtime::Go => {
                let modules: Vec<String> =
                    c.chain.sdk_modules.iter().map(|m| format!("{} {}", m.module, m.version)).collect();
                let built = if modules.is_empty() {
                    "its build information names no AWS SDK version".to_string()
                } else {
                    format!("built with {}", modules.join(", "))
                };
                format!(" [{}; runtime Go, {}]", r.sdk, escape::terminal(&built))
            }
            // What the class path holds, when it names an SDK jar.
            Runtime::Java if !c.chain.sdk_modules.is_empty() => {
                let modules: Vec<String> = c
                    .chain
                    .sdk_modules
                    .iter()
                    .map(|m| format!("{} {}", m.module, m.version).trim_end().to_string())
                    .collect();
                format!(" [{}; runtime Java, class path holds {}]", r.sdk, escape::terminal(&modules.join(", ")))
            }
            _ => format!(" [{}]", r.sdk),
        };
        writeln!(
            out,
            "   {}{sdk}: {}",
            escape::terminal(&c.subject.to_string()),
            escape::terminal(&r.source.to_string())
        )?;
        if let Some(b) = &c.chain.bedrock_api_key {
            let user = b.user.as_ref().map(|u| format!(" ({})", escape::terminal(u))).unwrap_or_default();
            writeln!(
                out,
                "      Bedrock calls sign with the {} API key in AWS_BEARER_TOKEN_BEDROCK{user}, not these credentials",
                b.kind
            )?;
        }
        if let Some(note) = &c.chain.version_note {
            writeln!(out, "      note: {note}")?;
        }
        for o in &c.chain.other_sdks {
            writeln!(out, "      but the {} would use {}", o.sdk, escape::terminal(&o.source.to_string()))?;
        }
    }
    if notable.len() > 50 {
        writeln!(out, "   ... and {} more (see --format json)", notable.len() - 50)?;
    }
    Ok(())
}

fn instance_line(report: &Report) -> String {
    let imds = &report.imds;
    let mut parts = Vec::new();
    if let Some(id) = &imds.identity {
        let mut what = id.instance_id.clone().unwrap_or_else(|| "instance".into());
        if let Some(a) = &id.account_id {
            what.push_str(&format!(" in account {a}"));
        }
        if let Some(r) = &id.region {
            what.push_str(&format!(", {r}"));
        }
        parts.push(what);
    }
    match &imds.role {
        RoleStatus::Attached { instance_profile_arn: Some(arn), .. } => parts.push(format!("instance profile {arn}")),
        RoleStatus::Unknown { reason } => parts.push(escape::terminal(reason)),
        _ => {}
    }
    let v1 = match imds.v1_allowed {
        Some(true) => ", IMDSv1 allowed",
        Some(false) => ", IMDSv1 disabled",
        None => "",
    };
    if !matches!(imds.role, RoleStatus::Unknown { .. }) {
        parts.push(format!("{}{v1}", imds.state));
    }
    parts.join("; ")
}

fn findings_line(report: &Report) -> String {
    let n = report.findings.len();
    if n == 0 {
        return "no AWS credentials found".to_string();
    }
    let count = |k: Kind, secret: bool| {
        report
            .findings
            .iter()
            .filter(|f| f.kind == k && f.has_secret() == secret)
            .filter(|f| f.assessment.expected.is_none() && f.assessment.acknowledged.is_none())
            .count()
    };
    let mut parts = Vec::new();
    for (k, secret, what) in [
        (Kind::LongTerm, true, "long-term key with its secret"),
        (Kind::LongTerm, false, "long-term key ID alone"),
        (Kind::Temporary, true, "temporary key with its secret"),
        (Kind::Temporary, false, "temporary key ID alone"),
        (Kind::SecretOnly, true, "secret access key without its key ID"),
        (Kind::BedrockApiKey, true, "Bedrock long-term API key"),
        (Kind::PersonSession, true, "person's cached sign-in"),
        (Kind::PersonSession, false, "expired cached sign-in"),
    ] {
        let c = count(k, secret);
        if c > 0 {
            parts.push(format!("{c} {what}"));
        }
    }
    let expected = report.verdict.expected_credentials;
    if expected > 0 {
        parts.push(format!("{expected} expected (platform or configured)"));
    }
    let acknowledged = report.findings.iter().filter(|f| f.assessment.acknowledged.is_some()).count();
    if acknowledged > 0 {
        parts.push(format!("{acknowledged} acknowledged (baseline)"));
    }
    format!("{n} finding{}: {}", plural(n), parts.join(", "))
}

fn scanned_line(c: &Coverage) -> String {
    let procs = if c.processes_scanned > 0 {
        format!(" and {} process environments", c.processes_scanned)
    } else {
        String::new()
    };
    let mut s = format!(
        "scanned {} file{}{procs}, {}, in {:.2} s",
        c.files_scanned,
        plural(c.files_scanned as usize),
        human_bytes(c.bytes_scanned),
        c.elapsed_ms as f64 / 1000.0
    );
    let gaps = c.gaps_total();
    if gaps > 0 {
        s.push_str(&format!("; {gaps} could not be read (see coverage below)"));
    }
    if !c.complete {
        s.push_str("; INCOMPLETE");
    }
    s
}

fn write_finding(out: &mut dyn io::Write, paint: &Paint, n: usize, f: &Finding, report: &Report) -> io::Result<()> {
    let a = &f.assessment;
    let what = match (&f.key_id, f.kind) {
        (Some(id), _) => {
            let with = match (f.has_secret(), f.session_token.is_some()) {
                (true, true) => " with its secret and session token",
                (true, false) => " with its secret",
                (false, _) if f.secret_is_example => {
                    " (key ID only: the secret beside it is the AWS documentation example, which cannot sign)"
                }
                (false, _) => " (key ID only: no usable secret found with it)",
            };
            format!("{} {id}{with}", f.kind)
        }
        (None, kind) => kind.to_string(),
    };
    let label = if a.expected.is_some() {
        paint.wrap("2", "EXPECTED")
    } else if a.acknowledged.is_some() {
        paint.wrap("2", "ACKNOWLEDGED")
    } else {
        paint.severity(f.severity)
    };
    writeln!(out, "{n}. {label} {what}")?;
    let repeats = if f.processes.len() > 1 {
        let more = f.processes.len() - 1;
        format!(" (and {more} more process{})", if more == 1 { "" } else { "es" })
    } else if f.occurrences > 1 {
        format!(" ({} occurrences)", f.occurrences)
    } else {
        String::new()
    };
    let decoded = if f.decoding.is_plain() { String::new() } else { format!(" (in its {} content)", f.decoding) };
    writeln!(out, "   where  {}{decoded}{repeats}", where_text(&f.location))?;
    if let Some(layer) = &f.layer {
        writeln!(out, "   image  {}", escape::terminal(layer))?;
    }
    if let Some(how) = f.paired_by.filter(|p| *p != PairedBy::Label) {
        writeln!(out, "   paired {}", how.describe())?;
    }
    for by in &f.loaded_by {
        writeln!(out, "   loads  {}", escape::terminal(by))?;
    }
    if !f.used_by.is_empty() {
        let users: Vec<String> = f.used_by.iter().map(|u| escape::terminal(u)).collect();
        writeln!(out, "   used   by {}", users.join("; "))?;
    }
    if let Some(acct) = f.account() {
        let relation = match (a.account_relation, report.imds.identity.as_ref().and_then(|i| i.account_id.as_ref())) {
            (AccountRelation::SameAccount, _) => ", this instance's account".to_string(),
            (AccountRelation::OtherAccount, Some(own)) => format!(", NOT this instance's account ({own})"),
            _ => String::new(),
        };
        writeln!(out, "   owner  account {acct} (decoded from the key ID{relation})")?;
    }
    if let Some(v) = &f.verification {
        writeln!(out, "   sts    {}", escape::terminal(&verification_text(v)))?;
    }
    if a.role_credentials_copy {
        writeln!(out, "   note   these are this instance's own role credentials, copied out of IMDS")?;
    }
    if let Some(reason) = &a.expected {
        writeln!(out, "   why    expected: {}", escape::terminal(reason))?;
    }
    match (&a.acknowledged, &a.acknowledgement_expired, &a.acknowledged_until) {
        (Some(reason), _, Some(until)) => {
            writeln!(out, "   ack    acknowledged in the baseline until {until}: {}", escape::terminal(reason))?
        }
        (Some(reason), _, None) => {
            writeln!(out, "   ack    acknowledged in the baseline: {}", escape::terminal(reason))?
        }
        (None, Some(date), _) => writeln!(out, "   ack    its acknowledgement expired on {date}: it counts again")?,
        _ => {}
    }
    writeln!(out, "   rule   {}, fingerprint {}", f.rule, f.fingerprint)?;
    if a.expected.is_some() || a.acknowledged.is_some() {
        return Ok(());
    }
    let mut lines = advice(f, report).into_iter();
    if let Some(first) = lines.next() {
        writeln!(out, "   do     {first}")?;
    }
    for line in lines {
        writeln!(out, "          {line}")?;
    }
    Ok(())
}

fn verification_text(v: &crate::sts::Verification) -> String {
    use crate::sts::Verification;
    match v {
        Verification::Valid { arn, account } => {
            format!("STS GetCallerIdentity: the pair works, as {arn} (account {account})")
        }
        Verification::Invalid { code } => {
            format!("STS GetCallerIdentity refused the pair ({code}): it does not work, and is not counted")
        }
        Verification::Unknown { error } => format!("STS GetCallerIdentity gave no answer that settles it: {error}"),
        Verification::SkippedCanary { account, issuer } => format!(
            "not sent to STS: account {account} issues canary keys ({issuer}), and using one alerts whoever planted it"
        ),
        Verification::SkippedPolicy { reason } => format!("not sent to STS: {reason}"),
    }
}

fn where_text(loc: &Location) -> String {
    let (what, p) = match loc {
        Location::File { path, line, column } => {
            return format!("{}:{line}:{column}", escape::terminal(&escape::path(path)));
        }
        Location::Process { process, variable } => {
            (format!("{} in the environment", escape::terminal(variable)), process)
        }
        Location::CommandLine { process, argument } => (format!("argument {argument} of the command line"), process),
        Location::ImdsUserData { .. } => {
            return format!("{} (the instance's user data, readable by every local user through IMDS)", loc.place());
        }
    };
    let mut s = format!("{what} of pid {} ({})", p.pid, escape::terminal(&p.command));
    if let Some(u) = &p.user {
        s.push_str(&format!(", user {}", escape::terminal(u)));
    }
    if let Some(unit) = &p.unit {
        s.push_str(&format!(", unit {}", escape::terminal(unit)));
    }
    if let Some(c) = &p.container {
        s.push_str(&format!(", container {}", escape::terminal(escape::prefix(c, 12))));
    }
    s
}

/// A value for a shell command line: as it is when it is made of safe
/// characters, single-quoted otherwise.
fn quoted(s: &str) -> String {
    let safe = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@/:-".contains(&b));
    if safe { s.to_string() } else { format!("'{}'", s.replace('\'', "'\\''")) }
}

/// The IAM user a verified key belongs to, from its ARN (`…:user/path/NAME`).
fn user_of(f: &Finding) -> Option<&str> {
    match &f.verification {
        Some(crate::sts::Verification::Valid { arn, .. }) => {
            arn.split(":user/").nth(1).and_then(|p| p.rsplit('/').next())
        }
        _ => None,
    }
}

/// What an operator should do about a finding: sentences, then complete
/// commands for this key, this instance and this verdict.
fn advice(f: &Finding, report: &Report) -> Vec<String> {
    let in_account = f.account().map(|a| format!(" in account {a}")).unwrap_or_default();
    let here = match &f.location {
        Location::File { .. } => "remove it from this file".to_string(),
        Location::CommandLine { .. } => {
            "remove it from the command line the process is started with (its unit, script or container spec)"
                .to_string()
        }
        Location::ImdsUserData { .. } => "remove it from the instance's user data and its launch template \
             (every local user and process can read user data through IMDS)"
            .to_string(),
        Location::Process { process, .. } => match (&process.container, &process.unit) {
            (Some(_), _) => {
                "remove it from the container's environment (its image, compose file or task definition)".to_string()
            }
            (None, Some(unit)) if unit.ends_with(".service") => format!(
                "remove it from {} (Environment= or EnvironmentFile=; see systemctl cat {})",
                escape::terminal(unit),
                escape::terminal(unit)
            ),
            _ => "remove it from the environment the process is started with".to_string(),
        },
    };
    let id = report.imds.identity.as_ref();
    let instance = id.and_then(|i| i.instance_id.as_deref());
    let region = id.and_then(|i| i.region.as_deref()).map(|r| format!(" --region {}", quoted(r))).unwrap_or_default();
    // The user name comes from an STS answer: escaped before it is quoted for the shell.
    let user = user_of(f).map(|u| format!(" --user-name {}", quoted(&escape::terminal(u)))).unwrap_or_default();
    let move_to_role = match (&report.imds.role, instance) {
        (RoleStatus::Attached { role_name, .. }, _) => {
            vec![format!("Move the workload to the instance role {} (every AWS SDK uses it once the key is gone), then:", escape::terminal(role_name))]
        }
        (RoleStatus::None, Some(i)) => vec![
            "This instance has no role: attach one first (an instance profile with the permissions the workload needs):".to_string(),
            format!("aws ec2 associate-iam-instance-profile --instance-id {i} --iam-instance-profile Name=PROFILE_NAME{region}"),
        ],
        (RoleStatus::None, None) => vec!["This instance has no role: attach an instance profile to it first, then:".to_string()],
        (RoleStatus::Unknown { .. }, _) => {
            vec!["Give the workload an IAM role instead (an instance profile, or its platform's role), then:".to_string()]
        }
    };
    match (f.kind, &f.key_id, f.has_secret()) {
        (Kind::LongTerm, Some(k), true) => {
            let mut lines = vec![format!("Access key {k}{in_account} is usable: {here}.")];
            lines.extend(move_to_role);
            lines.push(format!("aws iam update-access-key --access-key-id {k} --status Inactive{user}"));
            lines.push("and once nothing breaks:".to_string());
            lines.push(format!("aws iam delete-access-key --access-key-id {k}{user}"));
            if user.is_empty() {
                lines.push("(add --user-name NAME when the key is not the caller's own)".to_string());
            }
            lines
        }
        (Kind::LongTerm, Some(k), false) => vec![
            format!(
                "The key ID alone cannot sign requests, but its secret may be stored elsewhere: {here}, and check \
                 whether {k}{in_account} is still in use:"
            ),
            format!("aws iam get-access-key-last-used --access-key-id {k}"),
        ],
        (Kind::Temporary, _, true) if f.assessment.role_credentials_copy => vec![format!(
            "{here}, and let the application fetch the role's credentials from IMDS itself (every AWS SDK does); \
             copies expire and leak."
        )],
        (Kind::Temporary, _, true) => {
            vec![format!("Temporary credentials work until they expire: {here}, and find what wrote them there.")]
        }
        (Kind::Temporary, _, false) => vec![format!("A temporary key ID alone cannot sign requests; {here}.")],
        (Kind::BedrockApiKey, ..) => {
            let who = f.secret.as_ref().and_then(|s| crate::credential::bedrock_identity(s.expose()));
            let whose = who.as_ref().map(|(user, account)| format!(" ({user}, account {account})")).unwrap_or_default();
            vec![
                format!("A Bedrock long-term API key{whose} works on its own until it is deactivated: {here}."),
                "Give the workload a role with bedrock:* permissions instead (or short-term Bedrock keys from it), \
                 then deactivate the key on its IAM user:"
                    .to_string(),
                "aws iam list-service-specific-credentials --service-name bedrock.amazonaws.com --user-name USER".to_string(),
                "aws iam update-service-specific-credential --service-specific-credential-id ID --status Inactive --user-name USER"
                    .to_string(),
            ]
        }
        (Kind::PersonSession, ..) => {
            let Some(s) = &f.session else { return vec![format!("A person's sign-in is cached here; {here}.")] };
            let user = escape::terminal(&s.user);
            let (what, logout) = match (&s.start_url, &s.session_arn) {
                (_, Some(arn)) => (format!("An aws login session ({})", escape::terminal(arn)), "aws logout"),
                (Some(url), _) => {
                    (format!("An IAM Identity Center sign-in ({})", escape::terminal(url)), "aws sso logout")
                }
                _ => ("A person's sign-in".to_string(), "aws sso logout"),
            };
            let until = match (&s.expires_at, s.refreshable) {
                (_, true) => " for as long as its refresh token lasts".to_string(),
                (Some(t), false) => format!(" until {}", escape::terminal(t)),
                (None, false) => String::new(),
            };
            if f.has_secret() {
                vec![
                    format!("{what} of user {user} is cached here: whoever can read it signs in as them{until}."),
                    format!("Sign it out on this host (as {user}: {logout}), and give the workload a role of its own."),
                ]
            } else {
                vec![format!("{what} of user {user} is cached here, expired; {here}.")]
            }
        }
        _ => vec![format!(
            "Find the access key this secret belongs to (its key ID may be in another file or variable), \
             deactivate it, and {here}."
        )],
    }
}

fn write_coverage(out: &mut dyn io::Write, paint: &Paint, c: &Coverage) -> io::Result<()> {
    let gaps = c.gaps_total();
    let skipped: u64 = c.skipped.values().sum();
    let ignored = c.ignored.examples + c.ignored.placeholders + c.ignored.identifiers;
    if gaps == 0 && skipped == 0 && ignored == 0 && c.vendor.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "{}", paint.bold("coverage"))?;
    if gaps > 0 {
        let by: Vec<String> = c.gap_counts.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        writeln!(out, "   not read: {gaps} ({})", by.join(", "))?;
        for g in &c.gaps {
            writeln!(out, "     {}: {}", escape::terminal(&g.target), escape::terminal(&g.detail))?;
        }
        if (c.gaps.len() as u64) < gaps {
            writeln!(out, "     ... and {} more", gaps - c.gaps.len() as u64)?;
        }
    }
    for (reason, n) in &c.skipped {
        writeln!(out, "   skipped: {n} {reason}")?;
    }
    if ignored > 0 {
        let mut parts = Vec::new();
        for (n, what) in [
            (c.ignored.examples, "AWS documentation example"),
            (c.ignored.placeholders, "placeholder"),
            (c.ignored.identifiers, "word with a key ID's shape"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}{}", plural(n as usize)));
            }
        }
        writeln!(out, "   ignored: {} (not credentials)", parts.join(", "))?;
    }
    if !c.vendor.is_empty() {
        let n: u64 = c.vendor.values().sum();
        let by: Vec<String> = c.vendor.iter().map(|(p, n)| format!("{}: {n}", escape::terminal(p))).collect();
        writeln!(
            out,
            "   vendor: {n} key ID{} alone in unmodified packaged files ({})",
            plural(n as usize),
            by.join(", ")
        )?;
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}
