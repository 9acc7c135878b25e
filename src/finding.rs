//! What a finding is: one credential in one place, with its kind, its
//! fingerprint and what the verdict made of it, built from the scan's
//! sightings (repeats merged) and from what the SDK models would load.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::coverage::Ignored;
use crate::credential::{AccountId, KeyId, KeyIdKind, Secret, short_hash};
use crate::location::{Location, ProcessInfo};
use crate::rules::{RuleSet, Severity};
use crate::scan::decode::Decoding;
use crate::scan::{PairedBy, Sighting};
use crate::sources::sessions::{CachedSession, SessionKind};

/// What a finding holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An `AKIA` key ID, with or without its secret.
    LongTerm,
    /// An `ASIA` key ID, with or without its secret and session token.
    Temporary,
    /// A secret access key with no key ID near it.
    SecretOnly,
    /// An Amazon Bedrock long-term API key (`ABSK…`): an IAM user's
    /// service-specific credential, usable on its own.
    BedrockApiKey,
    /// A person's sign-in cached on the host (IAM Identity Center, `aws
    /// login`): whoever reads it signs as them.
    PersonSession,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::LongTerm => "long-term access key",
            Kind::Temporary => "temporary access key",
            Kind::SecretOnly => "secret access key without its key ID",
            Kind::BedrockApiKey => "Bedrock long-term API key",
            Kind::PersonSession => "person's cached sign-in",
        })
    }
}

/// How a finding's key relates to the instance's own account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AccountRelation {
    SameAccount,
    OtherAccount,
    /// The key encodes no account, or the instance's account is not known.
    #[default]
    Unknown,
}

/// What the verdict made of one finding (filled in by `verdict::decide`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Assessment {
    pub account_relation: AccountRelation,
    /// An ASIA key equal to the attached role's current session key: the
    /// role's own credentials, copied out of IMDS.
    pub role_credentials_copy: bool,
    /// Why this finding is expected and does not count (platform credentials, configuration).
    pub expected: Option<String>,
    /// The reason it was acknowledged in the baseline (then it does not count).
    pub acknowledged: Option<String>,
    /// The day its acknowledgement expires (`YYYY-MM-DD`), if it does.
    pub acknowledged_until: Option<String>,
    /// The date its acknowledgement expired (then it counts again).
    pub acknowledgement_expired: Option<String>,
    /// Counts towards the verdict: a key with its secret (paired by the scan
    /// or loaded by an SDK model), or a secret alone, that is not expected,
    /// not acknowledged and not refused by STS.
    pub live: bool,
}

/// What a cached sign-in says of itself (never its tokens).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SessionInfo {
    /// `iam-identity-center` or `aws-login`.
    pub kind: &'static str,
    /// The user whose home holds it.
    pub user: String,
    /// IAM Identity Center: the start URL it signed in at.
    pub start_url: Option<String>,
    pub region: Option<String>,
    /// `aws login`: the role session it signs in as.
    pub session_arn: Option<String>,
    /// When its access token expires, as the cache writes it.
    pub expires_at: Option<String>,
    /// It holds a refresh token: it outlives its access token.
    pub refreshable: bool,
}

/// One credential found in one place.
#[derive(Debug)]
pub struct Finding {
    /// The rule that found the key ID, or the secret when there is no key ID.
    pub rule: String,
    /// Every rule whose match is part of this finding, `rule` first.
    pub rules: Vec<String>,
    pub kind: Kind,
    /// The severity of the rule that found it.
    pub rule_severity: Severity,
    /// What reports show: the rule's, one step lower for a key ID alone (set by the verdict).
    pub severity: Severity,
    pub key_id: Option<KeyId>,
    pub secret: Option<Secret>,
    pub session_token: Option<Secret>,
    /// How the secret was found to belong to the key ID.
    pub paired_by: Option<PairedBy>,
    /// No secret, but the AWS documentation's example secret beside the key ID.
    pub secret_is_example: bool,
    /// The container image or container whose layer the file is in.
    pub layer: Option<String>,
    /// How the file's content was decoded before it was matched (lines
    /// and columns count in the decoded text).
    pub decoding: Decoding,
    /// Each AWS SDK model that would load this credential, and from where
    /// ("botocore: profile default of /root/.aws/credentials").
    pub loaded_by: Vec<String>,
    /// The first place it was seen.
    pub location: Location,
    /// How many times the same credential occurs in the same place.
    pub occurrences: u64,
    /// For a process environment: every process that holds it.
    pub processes: Vec<ProcessInfo>,
    /// Processes and users whose SDK credential chain resolves to this key
    /// (filled in by `verdict::decide`).
    pub used_by: Vec<String>,
    /// What STS GetCallerIdentity said of the pair (`--verify`).
    pub verification: Option<crate::sts::Verification>,
    /// The key's account according to STS GetAccessKeyInfo (`--lookup-accounts`).
    pub sts_account_id: Option<String>,
    /// Stable across runs: kind, key ID, secret fingerprint and where.
    pub fingerprint: String,
    /// For a person's cached sign-in: what it is.
    pub session: Option<SessionInfo>,
    pub assessment: Assessment,
}

impl Finding {
    pub fn account(&self) -> Option<AccountId> {
        self.key_id.as_ref().and_then(KeyId::account)
    }

    /// True if and only if the finding includes a usable secret.
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }
}

/// Merges findings with the same fingerprint (the same credential in the
/// same service's processes): occurrences add up, processes are listed once each.
pub fn merge_by_fingerprint(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for f in findings {
        match index.get(&f.fingerprint) {
            Some(&i) => {
                let into = &mut out[i];
                into.occurrences += f.occurrences;
                for p in f.processes {
                    if !into.processes.iter().any(|q| q.pid == p.pid) {
                        into.processes.push(p);
                    }
                }
            }
            None => {
                index.insert(f.fingerprint.clone(), out.len());
                out.push(f);
            }
        }
    }
    for f in &mut out {
        f.processes.sort();
    }
    out
}

/// Rule severities one step down: a key ID without its secret.
pub fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        Severity::Low | Severity::Info => Severity::Info,
    }
}

/// The finding id of credentials that only an SDK model found (a profile the
/// rules did not match): reports describe it like a rule.
pub const SDK_RULE: &str = "aws.sdk-loadable";

/// Turns the scan's sightings into findings: key IDs alone that are words
/// (`ASIAPACIFICSOUTHEAST`) are dropped and counted, and repeats of the
/// same credential in the same place are merged.
pub fn from_sightings(sightings: Vec<Sighting>, rules: &RuleSet) -> (Vec<Finding>, Ignored) {
    let mut ignored = Ignored::default();
    let mut findings: Vec<Finding> = Vec::new();
    for s in sightings {
        if s.secret.is_none() && s.key_id.as_ref().is_some_and(KeyId::looks_like_a_word) {
            ignored.identifiers += 1;
            continue;
        }
        let ids: Vec<String> = s.rules.iter().map(|&r| rules.rules[r].spec.id.clone()).collect();
        let severity = s.rules.first().map_or(Severity::High, |&r| rules.rules[r].spec.severity);
        findings.push(Finding::new(ids, severity, s));
    }
    (merge_by_fingerprint(findings), ignored)
}

/// Joins what the SDK models would load with what the scan found: a
/// finding of the same key ID in the same place gets the secret (when the
/// scan did not pair one) and says who loads it; a pair the scan did not
/// see at all becomes a finding of its own.
pub fn merge_loaded(findings: &mut Vec<Finding>, loaded: Vec<(Sighting, String)>) {
    let mut index: HashMap<(Option<KeyId>, Vec<u8>), usize> =
        findings.iter().enumerate().map(|(i, f)| ((f.key_id.clone(), f.location.identity()), i)).collect();
    for (sighting, by) in loaded {
        let key = (sighting.key_id.clone(), sighting.location.identity());
        let i = match index.get(&key) {
            Some(&i) => {
                let f = &mut findings[i];
                if f.secret.is_none() {
                    f.secret = sighting.secret;
                    f.session_token = f.session_token.take().or(sighting.token);
                    f.paired_by = Some(PairedBy::SdkModel);
                    f.secret_is_example = false;
                    f.fingerprint = fingerprint(f.kind, f.key_id.as_ref(), f.secret.as_ref(), &f.location);
                }
                if let Some(p) = sighting.location.process().filter(|p| !f.processes.iter().any(|q| q.pid == p.pid)) {
                    f.processes.push(p.clone());
                    f.processes.sort();
                }
                i
            }
            None => {
                let severity = match sighting.key_id.as_ref().map(KeyId::kind) {
                    Some(KeyIdKind::LongTerm) => Severity::High,
                    _ => Severity::Medium,
                };
                findings.push(Finding::new(Vec::new(), severity, sighting));
                index.insert(key, findings.len() - 1);
                findings.len() - 1
            }
        };
        if !findings[i].loaded_by.contains(&by) {
            findings[i].loaded_by.push(by);
        }
    }
}

/// Stable across runs: kind, key ID, secret fingerprint and where.
fn fingerprint(kind: Kind, key_id: Option<&KeyId>, secret: Option<&Secret>, location: &Location) -> String {
    short_hash(&[
        b"rolecall/finding/1",
        format!("{kind:?}").as_bytes(),
        key_id.map_or("", |k| k.as_str()).as_bytes(),
        secret.map_or("", |s| s.fingerprint()).as_bytes(),
        &location.identity(),
    ])
}

impl Finding {
    /// A finding of `sighting`, found by the rules `rules` (the first is its
    /// rule; none means an SDK model found it).
    pub fn new(rules: Vec<String>, severity: Severity, sighting: Sighting) -> Finding {
        let Sighting { location, key_id, secret, token, paired_by, decoding, example_secret, .. } = sighting;
        let kind = match key_id.as_ref().map(KeyId::kind) {
            Some(KeyIdKind::LongTerm) => Kind::LongTerm,
            Some(KeyIdKind::Temporary) => Kind::Temporary,
            None if secret.as_ref().is_some_and(|s| crate::credential::is_bedrock_key(s.expose())) => {
                Kind::BedrockApiKey
            }
            None => Kind::SecretOnly,
        };
        let fingerprint = fingerprint(kind, key_id.as_ref(), secret.as_ref(), &location);
        let secret_is_example = example_secret && secret.is_none();
        let rules = if rules.is_empty() { vec![SDK_RULE.to_string()] } else { rules };
        Finding {
            rule: rules[0].clone(),
            rules,
            kind,
            rule_severity: severity,
            severity,
            key_id,
            secret,
            session_token: token,
            secret_is_example,
            paired_by,
            decoding,
            layer: None,
            loaded_by: Vec::new(),
            occurrences: 1,
            processes: location.process().cloned().into_iter().collect(),
            used_by: Vec::new(),
            verification: None,
            sts_account_id: None,
            location,
            fingerprint,
            session: None,
            assessment: Assessment::default(),
        }
    }

    /// A person's sign-in cached in a home directory: live while it can
    /// still sign (its refresh token, or an access token not yet expired).
    pub fn of_session(s: CachedSession) -> Finding {
        let CachedSession { path, user, kind, expires_at, refreshable, secret } = s;
        // Host text: nothing secret-shaped passes, and none of it is long.
        let clean = |v: Option<String>| v.map(|v| crate::escape::cut(&crate::credential::redact(&v), 256).into_owned());
        let (kind_name, start_url, region, session_arn) = match kind {
            SessionKind::IdentityCenter { start_url, region } => ("iam-identity-center", start_url, region, None),
            SessionKind::Login { session_arn } => ("aws-login", None, None, session_arn),
        };
        let info = SessionInfo {
            kind: kind_name,
            user,
            start_url: clean(start_url),
            region: clean(region),
            session_arn: clean(session_arn),
            expires_at: clean(expires_at),
            refreshable,
        };
        let sighting = Sighting {
            location: Location::File { path, line: 1, column: 1 },
            rules: Vec::new(),
            key_id: None,
            secret,
            token: None,
            paired_by: None,
            decoding: Decoding::default(),
            example_secret: false,
        };
        let mut f = Finding::new(vec![SESSION_RULE.to_string()], Severity::High, sighting);
        f.kind = Kind::PersonSession;
        f.fingerprint = fingerprint(f.kind, None, f.secret.as_ref(), &f.location);
        f.session = Some(info);
        f
    }
}

/// The rule a person's cached sign-in is reported under (not a pattern:
/// the cache files are parsed).
pub const SESSION_RULE: &str = "aws.person-session";
