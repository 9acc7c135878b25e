//! Joins what IMDS said about the role with what the scan found: assesses
//! each finding (whose account, expected or live) and decides one verdict,
//! which `--fail-on` turns into an exit code.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

use crate::baseline::Baseline;
use crate::chain::{Shadowing, Subject, SubjectChain};
use crate::coverage::{Coverage, GapReason};
use crate::exit::Outcome;
use crate::finding::{AccountRelation, Assessment, Finding, Kind};
use crate::imds::{ImdsReport, RoleStatus};

/// The answer to "does this instance rely on static AWS credentials despite
/// having an IAM role?".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    /// A role is attached and no live static credential was found.
    Pass,
    /// A role is attached and live static credentials were found.
    StaticCredentialsDespiteRole,
    /// No role is attached and live static credentials were found.
    NoRoleStaticCredentials,
    /// No role is attached and nothing was found.
    NoRole,
    /// No role is attached, nothing was found, and the instance identity
    /// role answers: what the SSM agent uses when Default Host Management
    /// Configuration manages an instance without an instance profile. The
    /// applications still have no role.
    NoRoleManagedBySsm,
    /// IMDS could not say whether a role is attached; findings still count.
    RoleUnknown,
    /// Nothing live was found, but part of the host was not read (a time
    /// limit, a cap, an unreadable file or process): the scan cannot pass.
    Incomplete,
}

impl fmt::Display for VerdictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerdictKind::Pass => "PASS",
            VerdictKind::StaticCredentialsDespiteRole => "STATIC CREDENTIALS DESPITE ROLE",
            VerdictKind::NoRoleStaticCredentials => "NO ROLE, STATIC CREDENTIALS",
            VerdictKind::NoRole => "NO ROLE",
            VerdictKind::NoRoleManagedBySsm => "NO ROLE (SSM DEFAULT HOST MANAGEMENT)",
            VerdictKind::RoleUnknown => "ROLE UNKNOWN",
            VerdictKind::Incomplete => "INCOMPLETE",
        })
    }
}

/// One condition that can fail the run (`--fail-on`). The verdicts' own
/// names, so that one vocabulary serves both; the older short spellings
/// are accepted as aliases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    /// Verdict: static credentials despite role.
    #[value(alias = "static-despite-role")]
    StaticCredentialsDespiteRole,
    /// Verdict: no role, static credentials.
    #[value(alias = "no-role-static")]
    NoRoleStaticCredentials,
    /// Verdict: no role (and nothing found).
    NoRole,
    /// Role unknown and live static credentials found.
    #[value(alias = "role-unknown-static")]
    RoleUnknownStaticCredentials,
    /// Role unknown, whatever was found.
    RoleUnknown,
    /// Verdict: incomplete (nothing live found, but not everything was read).
    Incomplete,
    /// Any live static credential, whatever the role, or a scan that did
    /// not read everything (an image gate).
    Credentials,
    /// IMDSv1 is still allowed.
    Imdsv1,
    /// Never fail on what was found (fleet report mode); errors still exit 2.
    /// Not combined with any other condition.
    Never,
}

/// A `--fail-on` list that says two things at once is refused.
pub fn check_fail_on(list: &[FailOn]) -> Result<(), String> {
    if list.contains(&FailOn::Never) && list.len() > 1 {
        return Err("--fail-on never cannot be combined with other conditions: it would silently win".into());
    }
    Ok(())
}

/// The documented default: every verdict but pass fails, except role
/// unknown with nothing found.
pub const DEFAULT_FAIL_ON: &[FailOn] = &[
    FailOn::StaticCredentialsDespiteRole,
    FailOn::NoRoleStaticCredentials,
    FailOn::NoRole,
    FailOn::RoleUnknownStaticCredentials,
    FailOn::Incomplete,
];

impl FromStr for FailOn {
    type Err = String;
    fn from_str(s: &str) -> Result<FailOn, String> {
        <FailOn as clap::ValueEnum>::from_str(s, false)
    }
}

/// A credential the operator declared expected (configuration `[[expected]]`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub key_id: Option<String>,
    pub fingerprint: Option<String>,
    /// Matches findings in this file, or under this directory.
    pub path: Option<PathBuf>,
    pub reason: String,
}

impl Expected {
    fn matches(&self, f: &Finding) -> bool {
        let key = self.key_id.as_deref().is_none_or(|k| f.key_id.as_ref().is_some_and(|id| id.as_str() == k));
        let fp = self.fingerprint.as_deref().is_none_or(|x| x == f.fingerprint);
        let path = self.path.as_deref().is_none_or(|p| f.location.path().is_some_and(|path| path.starts_with(p)));
        let constrained = self.key_id.is_some() || self.fingerprint.is_some() || self.path.is_some();
        constrained && key && fp && path
    }
}

/// Where the platform itself keeps temporary credentials, and why.
#[derive(Clone, Debug)]
pub struct PlatformFile {
    pub path: PathBuf,
    pub reason: String,
}

/// The SSM agent's own credential files, as the host sees them. Only
/// temporary (ASIA) keys in them are expected: the agent never writes a
/// long-term key. `live_host` is false for an image scanned with `--root`,
/// where rolecall's own environment says nothing about the image.
pub fn platform_files(live_host: bool, env: &[(String, String)]) -> Vec<PlatformFile> {
    let mut files = vec![PlatformFile {
        path: PathBuf::from("/var/lib/amazon/ssm/credentials"),
        reason: "the SSM agent's own temporary credentials (Default Host Management Configuration)".to_string(),
    }];
    let var = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    // Under Run Command the agent names its shared credentials file in
    // AWS_SHARED_CREDENTIALS_FILE; only trust it when the agent's own markers are set.
    if let (true, Some(file), Some(_)) = (live_host, var("AWS_SHARED_CREDENTIALS_FILE"), var("AWS_SSM_INSTANCE_ID")) {
        files.push(PlatformFile {
            path: PathBuf::from(file),
            reason: "the SSM agent's shared temporary credentials for Run Command (AWS_SHARED_CREDENTIALS_FILE)"
                .to_string(),
        });
    }
    files
}

/// Processes of one service (or users) whose chain resolves to one static key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StaticKeyUse {
    /// "3 processes of app.service", "user alice (login shell)".
    pub who: String,
    pub count: usize,
    pub key_id: Option<String>,
    /// Where the SDK finds the key.
    pub source: String,
}

/// Groups the subjects whose chain uses static keys.
fn static_key_uses(chains: &[SubjectChain]) -> Vec<StaticKeyUse> {
    let mut groups: Vec<StaticKeyUse> = Vec::new();
    for c in chains.iter().filter(|c| c.chain.resolution.shadowing == Shadowing::StaticKeys) {
        let source = &c.chain.resolution.source;
        let key_id = source.static_key_id().map(|k| k.to_string());
        let group = match &c.subject {
            Subject::Process(p) => p.unit.clone().or_else(|| p.exe.clone()).unwrap_or_else(|| format!("pid {}", p.pid)),
            Subject::User { name, .. } => format!("user {name}"),
        };
        let where_ = source.to_string();
        match groups.iter_mut().find(|g| g.who == group && g.key_id == key_id && g.source == where_) {
            Some(g) => g.count += 1,
            None => groups.push(StaticKeyUse { who: group, count: 1, key_id, source: where_ }),
        }
    }
    for g in &mut groups {
        if !g.who.starts_with("user ") {
            g.who = if g.count == 1 {
                format!("1 process of {}", g.who)
            } else {
                format!("{} processes of {}", g.count, g.who)
            };
        }
    }
    groups
}

/// The verdict and the numbers behind it.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Verdict {
    pub verdict: VerdictKind,
    /// One sentence: the verdict, the role, and how many live credentials.
    pub summary: String,
    /// Findings that count: usable credentials that are not expected.
    pub live_credentials: usize,
    /// Findings with a key ID but no secret next to it.
    pub key_ids_without_secret: usize,
    pub expected_credentials: usize,
    pub role_credential_copies: usize,
    pub other_account_keys: usize,
    pub imdsv1_allowed: Option<bool>,
    /// Running processes whose SDK chain resolves to static keys instead of the role.
    pub processes_using_static_keys: usize,
    /// Users whose login shell's SDK chain resolves to static keys instead of the role.
    pub users_using_static_keys: usize,
    /// Processes and users whose chain signs as a person (an IAM Identity
    /// Center or `aws login` session cached on the host): they fail the
    /// verdict as static keys do.
    #[serde(default)]
    pub person_session_users: Vec<String>,
    /// Who uses static keys, grouped by service (or executable) and key.
    pub static_key_users: Vec<StaticKeyUse>,
    /// The `--fail-on` conditions that hold.
    pub failed_conditions: Vec<FailOn>,
    pub exit_code: u8,
}

impl Verdict {
    /// How the run ends: the one place its exit code comes from, and what
    /// every format writes as `exit_code`.
    pub fn outcome(&self) -> Outcome {
        match self.exit_code {
            0 => Outcome::Clean,
            1 => Outcome::Findings,
            _ => Outcome::Error,
        }
    }
}

/// What the operator decided in advance: expected credentials, the
/// baseline, and which outcomes fail the run.
pub struct Policy<'a> {
    pub expected: &'a [Expected],
    pub platform: &'a [PlatformFile],
    pub baseline: &'a Baseline,
    /// Today as `YYYY-MM-DD`, for acknowledgements that expire.
    pub today: String,
    pub fail_on: &'a [FailOn],
}

impl Policy<'_> {
    /// Why `f` is expected (configured, or the platform's own credentials), if it is.
    pub fn expected_reason(&self, f: &Finding) -> Option<String> {
        self.expected.iter().find(|e| e.matches(f)).map(|e| e.reason.clone()).or_else(|| {
            let path = f.location.path()?;
            self.platform.iter().find(|p| f.kind == Kind::Temporary && path == p.path).map(|p| p.reason.clone())
        })
    }
}

/// Assesses every finding and decides the verdict. `coverage` says whether
/// everything was read: an incomplete scan never passes.
pub fn decide(
    imds: &ImdsReport,
    findings: &mut [Finding],
    chains: &[SubjectChain],
    coverage: &Coverage,
    policy: &Policy,
) -> Verdict {
    let Policy { baseline, today, fail_on, .. } = policy;
    let own_account = imds.identity.as_ref().and_then(|i| i.account_id.clone());
    let role_key = match &imds.role {
        RoleStatus::Attached { session_key_id, .. } => session_key_id.clone(),
        _ => None,
    };
    for f in findings.iter_mut() {
        let mut a = Assessment {
            // STS's answer, when asked, over the offline decode.
            account_relation: match (
                f.sts_account_id.clone().or_else(|| f.account().map(|a| a.to_string())),
                &own_account,
            ) {
                (Some(k), Some(own)) if k == *own => AccountRelation::SameAccount,
                (Some(_), Some(_)) => AccountRelation::OtherAccount,
                _ => AccountRelation::Unknown,
            },
            role_credentials_copy: f.kind == Kind::Temporary && role_key.is_some() && f.key_id == role_key,
            ..Assessment::default()
        };
        a.expected = policy.expected_reason(f);
        if let Some(ack) = baseline.find(&f.fingerprint) {
            match &ack.expires {
                Some(date) if date.as_str() <= today.as_str() => a.acknowledgement_expired = Some(date.clone()),
                until => {
                    a.acknowledged = Some(ack.reason.clone());
                    a.acknowledged_until = until.clone();
                }
            }
        }
        // STS saying the pair does not work settles it: not live.
        let refused = matches!(f.verification, Some(crate::sts::Verification::Invalid { .. }));
        a.live = f.has_secret() && a.expected.is_none() && a.acknowledged.is_none() && !refused;
        f.severity = if f.has_secret() { f.rule_severity } else { crate::finding::lower(f.rule_severity) };
        f.assessment = a;
    }
    // Link each key to the processes and users whose chain resolves to it.
    for c in chains {
        if let Some(key) = c.chain.resolution.source.static_key_id() {
            for f in findings.iter_mut().filter(|f| f.key_id.as_ref() == Some(key)) {
                let who = c.subject.to_string();
                if !f.used_by.contains(&who) {
                    f.used_by.push(who);
                }
            }
        }
    }
    let uses = static_key_uses(chains);
    let static_count = |users: bool| {
        chains
            .iter()
            .filter(|c| c.chain.resolution.shadowing == Shadowing::StaticKeys)
            .filter(|c| matches!(c.subject, Subject::User { .. }) == users)
            .count()
    };
    let live = findings.iter().filter(|f| f.assessment.live).count();
    let sessions: Vec<String> = chains
        .iter()
        .filter(|c| c.chain.resolution.shadowing == Shadowing::PersonSession)
        .map(|c| format!("{} ({})", c.subject, c.chain.resolution.source))
        .collect();
    // A person's session on the host counts as a static credential does.
    let static_found = live > 0 || !sessions.is_empty();
    let role_attached = matches!(imds.role, RoleStatus::Attached { .. });
    let verdict = match (&imds.role, static_found) {
        (_, false) if !coverage.complete => VerdictKind::Incomplete,
        (RoleStatus::Attached { .. }, false) => VerdictKind::Pass,
        (RoleStatus::Attached { .. }, true) => VerdictKind::StaticCredentialsDespiteRole,
        (RoleStatus::None, true) => VerdictKind::NoRoleStaticCredentials,
        (RoleStatus::None, false) if imds.identity_credentials == Some(true) => VerdictKind::NoRoleManagedBySsm,
        (RoleStatus::None, false) => VerdictKind::NoRole,
        (RoleStatus::Unknown { .. }, _) => VerdictKind::RoleUnknown,
    };
    let mut failed: Vec<FailOn> = fail_on
        .iter()
        .copied()
        .filter(|c| match c {
            FailOn::StaticCredentialsDespiteRole => verdict == VerdictKind::StaticCredentialsDespiteRole,
            FailOn::NoRoleStaticCredentials => verdict == VerdictKind::NoRoleStaticCredentials,
            FailOn::NoRole => matches!(verdict, VerdictKind::NoRole | VerdictKind::NoRoleManagedBySsm),
            FailOn::RoleUnknownStaticCredentials => verdict == VerdictKind::RoleUnknown && static_found,
            FailOn::RoleUnknown => verdict == VerdictKind::RoleUnknown,
            FailOn::Credentials => static_found || !coverage.complete,
            FailOn::Incomplete => verdict == VerdictKind::Incomplete,
            FailOn::Imdsv1 => imds.v1_allowed == Some(true),
            FailOn::Never => false,
        })
        .collect();
    failed.sort();
    failed.dedup();
    let role_text = match &imds.role {
        RoleStatus::Attached { role_name, .. } => format!("role {role_name} is attached"),
        RoleStatus::None if imds.identity_credentials == Some(true) => "no role is attached (the instance identity \
            role answers, as under SSM Default Host Management, for the SSM agent only: applications have no role)"
            .to_string(),
        RoleStatus::None => "no role is attached".to_string(),
        RoleStatus::Unknown { .. } => "whether a role is attached is unknown".to_string(),
    };
    let live_text = match live {
        0 => "no live static credential found".to_string(),
        1 => "1 live static credential found".to_string(),
        n => format!("{n} live static credentials found"),
    };
    let mut summary = format!("{verdict}: {role_text}; {live_text}");
    if !coverage.complete {
        summary.push_str(&format!("; not everything was read ({})", coverage.incompleteness()));
    }
    for u in uses.iter().take(3) {
        let key = u.key_id.as_deref().map(|k| format!(" {k}")).unwrap_or_default();
        let verb = if u.count == 1 || u.who.starts_with("user ") { "uses" } else { "use" };
        let instead = if role_attached { " instead of the role" } else { "" };
        summary.push_str(&format!("; {} {verb} static key{key}{instead}", u.who));
    }
    if uses.len() > 3 {
        summary.push_str(&format!("; and {} more", uses.len() - 3));
    }
    for who in sessions.iter().take(3) {
        summary.push_str(&format!("; {who} signs as a person"));
    }
    Verdict {
        verdict,
        summary,
        live_credentials: live,
        key_ids_without_secret: findings.iter().filter(|f| f.key_id.is_some() && !f.has_secret()).count(),
        expected_credentials: findings.iter().filter(|f| f.assessment.expected.is_some()).count(),
        role_credential_copies: findings.iter().filter(|f| f.assessment.role_credentials_copy).count(),
        other_account_keys: findings
            .iter()
            .filter(|f| f.assessment.account_relation == AccountRelation::OtherAccount)
            .count(),
        imdsv1_allowed: imds.v1_allowed,
        processes_using_static_keys: static_count(false),
        users_using_static_keys: static_count(true),
        person_session_users: sessions,
        static_key_users: uses,
        // A path that was asked for and is not there: the run could not do what it was told.
        exit_code: if coverage.gap_counts.contains_key(&GapReason::NotFound) {
            Outcome::Error.code()
        } else if failed.is_empty() {
            Outcome::Clean.code()
        } else {
            Outcome::Findings.code()
        },
        failed_conditions: failed,
    }
}
