//! What a finding is: key IDs, redacted secrets, locations, fingerprints,
//! the account decoded from a key ID, and how raw matches become findings.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::rules::{Capture, RuleSet, Severity};
use crate::scan::LocatedMatch;
use crate::sources::procenv::ProcessInfo;

/// A captured value that may be secret. Its `Debug` and `Display` show only
/// its fingerprint, it is not `Serialize`, and its bytes are zeroed on drop:
/// printing one by mistake leaks nothing.
pub struct Secret {
    bytes: Box<[u8]>,
    fingerprint: String,
}

impl Secret {
    pub fn new(bytes: &[u8]) -> Secret {
        Secret { bytes: bytes.into(), fingerprint: short_hash(&[b"rolecall/secret/1", bytes]) }
    }

    /// A short, one-way hash: equal secrets have equal fingerprints.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The secret itself, for the few places that must use it (pairing
    /// checks, `--verify`). Never format it.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(sha256:{})", self.fingerprint)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted sha256:{}>", self.fingerprint)
    }
}

/// Hex of the first 8 bytes of SHA-256 over `parts`, each followed by a NUL.
pub fn short_hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
        h.update([0]);
    }
    h.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// An access key ID: a credential prefix and 16 base32 characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct KeyId(String);

/// Whether a key ID is long-term or temporary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyIdKind {
    /// `AKIA`: an IAM user's or root's access key.
    LongTerm,
    /// `ASIA`: temporary credentials from STS.
    Temporary,
}

impl KeyId {
    /// Accepts exactly `AKIA` or `ASIA` followed by 16 of `A-Z2-7`.
    pub fn parse(s: &[u8]) -> Option<KeyId> {
        let ok = s.len() == 20
            && (s.starts_with(b"AKIA") || s.starts_with(b"ASIA"))
            && s[4..].iter().all(|&b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
        ok.then(|| KeyId(String::from_utf8_lossy(s).into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> KeyIdKind {
        if self.0.starts_with("AKIA") { KeyIdKind::LongTerm } else { KeyIdKind::Temporary }
    }

    /// The AWS account that owns the key, decoded offline from the key ID.
    ///
    /// Only "new-generation" key IDs (fifth character Q-Z or 2-7) encode it:
    /// base32-decode the 16 characters after the prefix, take the first six
    /// bytes big-endian, mask `0x7fff_ffff_ff80` and shift right by 7. The
    /// encoding is reverse-engineered, not an AWS contract: report it as inferred.
    pub fn account(&self) -> Option<AccountId> {
        let raw = data_encoding::BASE32_NOPAD.decode(&self.0.as_bytes()[4..]).ok()?;
        if raw[0] & 0x80 == 0 {
            return None;
        }
        let mut z: u64 = 0;
        for &b in &raw[..6] {
            z = (z << 8) | u64::from(b);
        }
        let account = (z & 0x7fff_ffff_ff80) >> 7;
        // Forty bits can hold 13 digits; only synthetic key IDs use them.
        (account < 1_000_000_000_000).then_some(AccountId(account))
    }

    /// The AWS documentation's example keys all contain `EXAMPLE`; SDK test
    /// suites also use variants of `AKIAIOSFODNN7EXAMPLE` (`…EXAMPLF`, `…SECRETS`).
    fn is_documentation_example(&self) -> bool {
        self.0.contains("EXAMPLE") || self.0[4..].starts_with("IOSFODNN7")
    }

    /// Fillers such as `AKIAXXXXXXXXXXXXXXXX`, `AKIATESTTESTTESTTEST` or
    /// `AKIAABCDEFGHIJKLMNOP`: a random body of 16 base32 characters has
    /// about 12 distinct ones and no long alphabetic runs.
    fn is_placeholder(&self) -> bool {
        let body = &self.0.as_bytes()[4..];
        distinct(body) < 6 || ascending_steps(body) >= 10
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 12-digit AWS account ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(pub u64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl Serialize for AccountId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn distinct(bytes: &[u8]) -> usize {
    let mut seen = [false; 256];
    bytes.iter().filter(|&&b| !std::mem::replace(&mut seen[b as usize], true)).count()
}

fn ascending_steps(bytes: &[u8]) -> usize {
    bytes.windows(2).filter(|w| w[1] == w[0].wrapping_add(1)).count()
}

/// A secret access key is 40 random characters of `[A-Za-z0-9/+]`: one
/// without both upper and lower case (a SHA-1 in hex, a filler) is not one.
fn is_plausible_secret(s: &[u8]) -> bool {
    s.iter().any(u8::is_ascii_uppercase) && s.iter().any(u8::is_ascii_lowercase) && distinct(s) >= 10
}

/// The AWS documentation's example secrets contain `EXAMPLE`; test suites
/// also use variants of `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`.
fn is_example_secret(s: &[u8]) -> bool {
    memchr::memmem::find(s, b"EXAMPLE").is_some() || s.starts_with(b"wJalrXUtnFEMI/K7MDENG")
}

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
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::LongTerm => "long-term access key",
            Kind::Temporary => "temporary access key",
            Kind::SecretOnly => "secret access key without its key ID",
        })
    }
}

/// Where a finding was seen.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    /// A file; line and column are 1-based, the column counted in bytes.
    File { path: PathBuf, line: u64, column: u64 },
    /// A running process's environment variable (the first process seen;
    /// `Finding::processes` lists them all).
    Process { process: ProcessInfo, variable: String },
}

impl Location {
    /// The part of the location that stays put across runs: the path, or
    /// for a process what survives a restart (unit or executable, user,
    /// container, variable), never a line number or a pid.
    fn identity(&self) -> Vec<u8> {
        match self {
            Location::File { path, .. } => path.as_os_str().as_encoded_bytes().to_vec(),
            Location::Process { process: p, variable } => {
                let who = p.unit.as_deref().or(p.exe.as_deref()).unwrap_or("");
                let container = p.container.as_deref().unwrap_or("");
                let user = p.user.clone().unwrap_or_else(|| p.uid.to_string());
                format!("process\0{who}\0{user}\0{container}\0{variable}").into_bytes()
            }
        }
    }

    /// The file this location is in, if it is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Location::File { path, .. } => Some(path),
            Location::Process { .. } => None,
        }
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
    /// The date its acknowledgement expired (then it counts again).
    pub acknowledgement_expired: Option<String>,
    /// Counts towards the verdict: a usable credential that is not expected.
    pub live: bool,
}

/// One credential found in one place.
#[derive(Debug)]
pub struct Finding {
    /// The rule that found the key ID, or the secret when there is no key ID.
    pub rule: String,
    /// Every rule whose match is part of this finding, `rule` first.
    pub rules: Vec<String>,
    pub kind: Kind,
    pub severity: Severity,
    pub key_id: Option<KeyId>,
    pub secret: Option<Secret>,
    pub session_token: Option<Secret>,
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

/// How far apart a key ID and its secret may be to count as a pair.
#[derive(Clone, Copy, Debug)]
pub enum Pairing {
    /// Within this many lines (records, for an environment) of each other.
    Lines(u64),
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

/// Values seen but not reported, and why.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Ignored {
    /// AWS documentation example keys and secrets.
    pub examples: u64,
    /// Fillers and values that cannot be real keys (`AKIAXXXXXXXXXXXXXXXX`, hex).
    pub placeholders: u64,
    /// Session tokens with no temporary key ID near them.
    pub unpaired_tokens: u64,
}

impl Ignored {
    pub fn add(&mut self, other: Ignored) {
        self.examples += other.examples;
        self.placeholders += other.placeholders;
        self.unpaired_tokens += other.unpaired_tokens;
    }
}

struct Part<'a> {
    m: &'a LocatedMatch,
    taken: bool,
}

/// Turns one input's matches into findings: drops examples and
/// placeholders, pairs each key ID with the nearest secret and session
/// token, and merges repeats of the same credential.
pub fn assemble(
    matches: &[LocatedMatch],
    rules: &RuleSet,
    pairing: Pairing,
    locate: impl Fn(&LocatedMatch) -> Location,
) -> (Vec<Finding>, Ignored) {
    let mut ignored = Ignored::default();
    let mut ids: Vec<(KeyId, Part)> = Vec::new();
    let mut secrets: Vec<Part> = Vec::new();
    let mut tokens: Vec<Part> = Vec::new();
    let mut seen: std::collections::HashSet<(Capture, u64)> = std::collections::HashSet::new();
    for m in matches {
        // Two rules may capture the same value at the same place.
        if !seen.insert((m.capture, m.offset)) {
            continue;
        }
        let v = m.value.expose();
        match m.capture {
            Capture::KeyId => match KeyId::parse(v) {
                Some(id) if id.is_documentation_example() => ignored.examples += 1,
                Some(id) if id.is_placeholder() => ignored.placeholders += 1,
                Some(id) => ids.push((id, Part { m, taken: false })),
                None => ignored.placeholders += 1,
            },
            Capture::Secret if is_example_secret(v) => ignored.examples += 1,
            Capture::Secret if !is_plausible_secret(v) => ignored.placeholders += 1,
            Capture::Secret => secrets.push(Part { m, taken: false }),
            Capture::SessionToken if distinct(v) < 10 => ignored.placeholders += 1,
            Capture::SessionToken => tokens.push(Part { m, taken: false }),
        }
    }

    let Pairing::Lines(max_lines) = pairing;
    // Nearest first; on a tie, prefer what follows the key ID (the usual order).
    let cost = |id: &LocatedMatch, other: &LocatedMatch| {
        let lines = id.line.abs_diff(other.line);
        (lines <= max_lines).then_some((lines, other.offset < id.offset, id.offset.abs_diff(other.offset)))
    };
    let secret_of = greedy_pairs(&ids, &mut secrets, |_, id, s| cost(id, s));
    // Session tokens belong to temporary keys only.
    let token_of = greedy_pairs(&ids, &mut tokens, |k, id, t| match k.kind() {
        KeyIdKind::Temporary => cost(id, t),
        KeyIdKind::LongTerm => None,
    });
    ignored.unpaired_tokens += tokens.iter().filter(|t| !t.taken).count() as u64;

    let mut findings: Vec<Finding> = Vec::new();
    // The fingerprint names kind, key ID, secret and place: repeats share it.
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut add = |f: Finding| match index.get(&f.fingerprint) {
        Some(&i) => findings[i].occurrences += 1,
        None => {
            index.insert(f.fingerprint.clone(), findings.len());
            findings.push(f);
        }
    };
    for (i, (id, part)) in ids.iter().enumerate() {
        let kind = match id.kind() {
            KeyIdKind::LongTerm => Kind::LongTerm,
            KeyIdKind::Temporary => Kind::Temporary,
        };
        let secret = secret_of[i].map(|s| Secret::new(secrets[s].m.value.expose()));
        let token = token_of[i].map(|t| Secret::new(tokens[t].m.value.expose()));
        let rule = &rules.rules[part.m.rule];
        let mut severity = rule.spec.severity;
        if secret.is_none() {
            severity = lower(severity);
        }
        let mut ids_of_rules = vec![rule.spec.id.clone()];
        for m in [secret_of[i].map(|s| secrets[s].m), token_of[i].map(|t| tokens[t].m)].into_iter().flatten() {
            let id = &rules.rules[m.rule].spec.id;
            if !ids_of_rules.contains(id) {
                ids_of_rules.push(id.clone());
            }
        }
        add(make_finding(ids_of_rules, kind, severity, Some(id.clone()), secret, token, locate(part.m)));
    }
    for s in secrets.iter().filter(|s| !s.taken) {
        let rule = &rules.rules[s.m.rule];
        let secret = Some(Secret::new(s.m.value.expose()));
        add(make_finding(
            vec![rule.spec.id.clone()],
            Kind::SecretOnly,
            rule.spec.severity,
            None,
            secret,
            None,
            locate(s.m),
        ));
    }
    (findings, ignored)
}

fn make_finding(
    rules: Vec<String>,
    kind: Kind,
    severity: Severity,
    key_id: Option<KeyId>,
    secret: Option<Secret>,
    session_token: Option<Secret>,
    location: Location,
) -> Finding {
    let fingerprint = short_hash(&[
        b"rolecall/finding/1",
        format!("{kind:?}").as_bytes(),
        key_id.as_ref().map_or("", |k| k.as_str()).as_bytes(),
        secret.as_ref().map_or("", |s| s.fingerprint()).as_bytes(),
        &location.identity(),
    ]);
    Finding {
        rule: rules[0].clone(),
        rules,
        kind,
        severity,
        key_id,
        secret,
        session_token,
        occurrences: 1,
        processes: match &location {
            Location::Process { process, .. } => vec![process.clone()],
            Location::File { .. } => Vec::new(),
        },
        used_by: Vec::new(),
        verification: None,
        sts_account_id: None,
        location,
        fingerprint,
        assessment: Assessment::default(),
    }
}

fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        Severity::Low | Severity::Info => Severity::Info,
    }
}

/// Assigns each key ID at most one partner and each partner at most one key
/// ID, cheapest pairs first. Returns, per key ID, the index of its partner.
///
/// Only the few partners nearest each key ID (by offset) are candidates,
/// so a file packed with matches costs linear, not quadratic, time.
fn greedy_pairs<C: Ord>(
    ids: &[(KeyId, Part)],
    partners: &mut [Part],
    cost: impl Fn(&KeyId, &LocatedMatch, &LocatedMatch) -> Option<C>,
) -> Vec<Option<usize>> {
    const NEAREST: usize = 4;
    let mut candidates: Vec<(C, usize, usize)> = Vec::new();
    for (i, (key, id)) in ids.iter().enumerate() {
        // Partners are in offset order, as the scanner produced them.
        let at = partners.partition_point(|p| p.m.offset < id.m.offset);
        let before = partners[..at].iter().enumerate().rev().take(NEAREST);
        let after = partners[at..].iter().enumerate().take(NEAREST).map(|(j, p)| (at + j, p));
        for (j, p) in before.chain(after) {
            if let Some(c) = cost(key, id.m, p.m) {
                candidates.push((c, i, j));
            }
        }
    }
    candidates.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut result = vec![None; ids.len()];
    for (_, i, j) in candidates {
        if result[i].is_none() && !partners[j].taken {
            result[i] = Some(j);
            partners[j].taken = true;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_decodes_new_generation_keys_only() {
        let acct = |k: &str| KeyId::parse(k.as_bytes()).unwrap().account().map(|a| a.to_string());
        assert_eq!(acct("AKIASP2TPHJSQH3FJRUX").as_deref(), Some("171436882533"));
        assert_eq!(acct("AKIAYVP4CIPPERUVIFXG").as_deref(), Some("595918472158"));
        assert_eq!(acct("AKIA6ODU5DHT7VPXGCE4").as_deref(), Some("992382622183"));
        assert_eq!(acct("ASIAY34FZKBOKMUTVV7A").as_deref(), Some("609629065308"));
        assert_eq!(acct("ASIAQNZGKIQY56JQ7WML").as_deref(), Some("029608264753"));
        assert_eq!(acct("ASIARZPUZDIKEWHJY2HX").as_deref(), Some("123456789012"));
        assert_eq!(acct("AKIAIOSFODNN7EXAMPLE"), None);
        // Synthetic (Kingfisher's rule example): decodes to 13 digits, which is no account.
        assert_eq!(acct("ASIAOZW6VBVAZFJHJLQA"), None);
    }

    #[test]
    fn key_id_parse_is_strict() {
        assert!(KeyId::parse(b"AKIA2OGYBAH6STMMNXNN").is_some());
        assert!(KeyId::parse(b"AKIAN95B87AWHT6U0699").is_none());
        assert!(KeyId::parse(b"AIDA2OGYBAH6STMMNXNN").is_none());
        assert!(KeyId::parse(b"AKIA2OGYBAH6STMMNXN").is_none());
    }

    #[test]
    fn documentation_examples_and_their_variants() {
        let ex = |k: &str| KeyId::parse(k.as_bytes()).unwrap().is_documentation_example();
        assert!(ex("AKIAIOSFODNN7EXAMPLE") && ex("ASIAIOSFODNN7EXAMPLE") && ex("AKIAIOSFODNN7EXAMPLF"));
        assert!(ex("AKIAEXAMPLEPBUMBC3GA"));
        assert!(!ex("AKIA2OGYBAH6STMMNXNN"));
        assert!(is_example_secret(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETSKEY"));
        assert!(!is_example_secret(b"5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f"));
    }

    #[test]
    fn placeholders() {
        let ph = |k: &str| KeyId::parse(k.as_bytes()).unwrap().is_placeholder();
        assert!(ph("AKIAXXXXXXXXXXXXXXXX"));
        assert!(ph("AKIATESTTESTTESTTEST"));
        assert!(ph("AKIADEADBEEFDEADBEEF"));
        assert!(ph("AKIAABCDEFGHIJKLMNOP"));
        assert!(!ph("AKIA2OGYBAH6STMMNXNN"));
        assert!(!ph("AKIALALEMEL33243OLIB"));
        assert!(!is_plausible_secret(b"ded7db27a4558eea9bbf0bf36e0e8521618f366c"));
        assert!(is_plausible_secret(b"5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f"));
    }

    #[test]
    fn secret_never_formats_its_bytes() {
        let s = Secret::new(b"5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f");
        for text in [format!("{s}"), format!("{s:?}"), format!("{:?}", Some(&s)), format!("{s:#?}")] {
            assert!(!text.contains("5dkLVuqp"), "{text}");
            assert!(text.contains(s.fingerprint()), "{text}");
        }
    }
}
