//! Opt-in network checks against AWS STS, signed with SigV4: `--verify`
//! asks GetCallerIdentity with a found key pair (is it live, whose is it?),
//! and `--lookup-accounts` asks GetAccessKeyInfo with the instance role's
//! own credentials, which names a key's account without using the leaked
//! secret. Rate-limited, with timeouts; never on by default.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde::Serialize;

use crate::credential::Secret;

/// Largest STS response read.
const MAX_BODY: u64 = 64 * 1024;

/// Credentials to sign with. Never formatted: the secret and token are [`Secret`]s.
pub struct SigningKey<'a> {
    pub key_id: &'a str,
    pub secret: &'a Secret,
    pub session_token: Option<&'a Secret>,
}

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
    http: reqwest::blocking::Client,
    endpoint: String,
    region: String,
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
        // In case this runs outside `rolecall::run`: a second install is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rolecall/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the STS client")?;
        Ok(Sts {
            http,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.to_string(),
            min_interval,
            last: Cell::new(None),
        })
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
        let url = format!("{}/", self.endpoint);
        let body = format!("{params}&Version=2011-06-15");
        let secret = std::str::from_utf8(key.secret.expose()).context("the secret is not text")?;
        let token = key.session_token.map(|t| String::from_utf8_lossy(t.expose()).into_owned());
        let identity = aws_credential_types::Credentials::new(key.key_id, secret, token, None, "rolecall").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("sts")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .context("signing parameters")?
            .into();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let signable = SignableRequest::new(
            "POST",
            &url,
            [("content-type", content_type)].into_iter(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .context("a signable request")?;
        let (instructions, _) = sign(signable, &params).map_err(|e| anyhow::anyhow!("signing: {e}"))?.into_parts();
        let mut req = self.http.post(&url).header("content-type", content_type).body(body.clone());
        for (name, value) in instructions.headers() {
            req = req.header(name, value);
        }
        let resp = req.send().map_err(|e| anyhow::anyhow!("POST {url}: {}", crate::imds::root_cause(&e)))?;
        let status = resp.status().as_u16();
        let mut text = String::new();
        use std::io::Read;
        resp.take(MAX_BODY).read_to_string(&mut text).with_context(|| format!("reading the answer of {url}"))?;
        Ok((status, text))
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
