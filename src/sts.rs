//! Opt-in network checks against AWS STS, signed with SigV4: `--verify`
//! asks GetCallerIdentity with a found key pair (is it live, whose is it?),
//! and `--lookup-accounts` asks GetAccessKeyInfo with the instance role's
//! own credentials, which names a key's account without using the leaked
//! secret. Rate-limited, with timeouts; never on by default.

use std::cell::Cell;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

pub use crate::awsapi::SigningKey;

/// What `--verify` learnt of a found key pair: what GetCallerIdentity said,
/// or why the key was not sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Verification {
    /// The key works: STS answered with its identity.
    Valid { arn: String, account: String },
    /// STS refused it (deleted, deactivated, wrong secret, expired token).
    Invalid { code: String },
    /// Not sent: its account (decoded from the key ID) issues canary keys,
    /// and using one alerts whoever planted it.
    SkippedCanary { account: String, issuer: String },
    /// Not sent, by policy: `--verify-accounts`, `--skip-accounts`, or more
    /// keys than one scan checks.
    SkippedPolicy { reason: String },
    /// No answer that settles it (network, throttling, an unexpected reply).
    Unknown { error: String },
}

/// A rate-limited STS client.
pub struct Sts {
    client: crate::awsapi::Client,
    min_interval: Duration,
    last: Cell<Option<Instant>>,
}

impl Verification {
    /// The status word every format uses (`valid`, `skipped-canary`, …).
    pub fn status(&self) -> &'static str {
        match self {
            Verification::Valid { .. } => "valid",
            Verification::Invalid { .. } => "invalid",
            Verification::SkippedCanary { .. } => "skipped-canary",
            Verification::SkippedPolicy { .. } => "skipped-policy",
            Verification::Unknown { .. } => "unknown",
        }
    }
}

impl Sts {
    /// `endpoint` is a URL (`https://sts.us-east-1.amazonaws.com`, or a test
    /// server); `region` is the one requests are signed for.
    pub fn new(endpoint: &str, region: &str, min_interval: Duration) -> Result<Sts> {
        Ok(Sts { client: crate::awsapi::Client::new(endpoint, region, "sts")?, min_interval, last: Cell::new(None) })
    }

    fn pace(&self) {
        if let Some(last) = self.last.get() {
            let since = last.elapsed();
            if since < self.min_interval {
                std::thread::sleep(self.min_interval - since);
            }
        }
        self.last.set(Some(Instant::now()));
    }

    /// One signed STS Query API call; the body of the answer and its status.
    fn call(&self, key: &SigningKey, params: &str) -> Result<(u16, String)> {
        self.pace();
        let body = format!("{params}&Version=2011-06-15");
        let content_type = ("content-type", "application/x-www-form-urlencoded; charset=utf-8");
        self.client.post(key, &[content_type], body.as_bytes())
    }

    /// GetCallerIdentity with a found key pair.
    pub fn verify(&self, key: &SigningKey) -> Verification {
        match self.call(key, "Action=GetCallerIdentity") {
            Ok((200, body)) => match (tag(&body, "Arn"), tag(&body, "Account")) {
                (Some(arn), Some(account)) => Verification::Valid { arn, account },
                _ => Verification::Unknown { error: "GetCallerIdentity answered 200 without an identity".into() },
            },
            Ok((status, body)) => match tag(&body, "Code") {
                Some(code) if INVALID.contains(&code.as_str()) => Verification::Invalid { code },
                Some(code) => Verification::Unknown { error: format!("STS answered {status} {code}") },
                None => Verification::Unknown { error: format!("STS answered {status}") },
            },
            Err(e) => Verification::Unknown { error: e.to_string() },
        }
    }

    /// GetAccessKeyInfo for `key_id`, signed with `caller` (the instance role).
    pub fn access_key_account(&self, caller: &SigningKey, key_id: &str) -> Result<String> {
        let (status, body) = self.call(caller, &format!("Action=GetAccessKeyInfo&AccessKeyId={key_id}"))?;
        match (status, tag(&body, "Account")) {
            (200, Some(account)) => Ok(account),
            _ => anyhow::bail!(
                "GetAccessKeyInfo for {key_id} answered {status} {}",
                tag(&body, "Code").unwrap_or_default()
            ),
        }
    }
}

/// STS error codes that mean the key pair does not work.
const INVALID: &[&str] =
    &["InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "AccessDenied", "InvalidAccessKeyId"];

/// The text of the first `<name>…</name>` element.
fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_word_is_the_jsons_own() {
        for v in [
            Verification::Valid { arn: "a".into(), account: "1".into() },
            Verification::Invalid { code: "c".into() },
            Verification::SkippedCanary { account: "1".into(), issuer: "i".into() },
            Verification::SkippedPolicy { reason: "r".into() },
            Verification::Unknown { error: "e".into() },
        ] {
            assert_eq!(serde_json::to_value(&v).unwrap()["status"], v.status());
        }
    }

    #[test]
    fn tags() {
        let ok = "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::1:user/a</Arn><Account>1</Account></GetCallerIdentityResult></GetCallerIdentityResponse>";
        assert_eq!(tag(ok, "Arn").as_deref(), Some("arn:aws:iam::1:user/a"));
        assert_eq!(tag(ok, "Code"), None);
        assert_eq!(tag("<Code>unterminated", "Code"), None);
    }
}
