//! One SigV4-signed POST to an AWS API endpoint, with timeouts, no
//! redirects and a bounded answer: what STS (`--verify`) and SSM
//! (`--ssm-compliance`) calls share. Never formats a secret.

use std::io::Read;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

use crate::credential::Secret;

/// Largest answer read.
const MAX_BODY: u64 = 64 * 1024;

/// Credentials to sign with. Never formatted: the secret and token are [`Secret`]s.
pub struct SigningKey<'a> {
    pub key_id: &'a str,
    pub secret: &'a Secret,
    pub session_token: Option<&'a Secret>,
}

/// A client for one service's endpoint in one region.
pub struct Client {
    http: reqwest::blocking::Client,
    endpoint: String,
    region: String,
    service: &'static str,
}

impl Client {
    /// `endpoint` is a URL (`https://sts.us-east-1.amazonaws.com`, or a test
    /// server); `region` and `service` are what requests are signed for.
    pub fn new(endpoint: &str, region: &str, service: &'static str) -> Result<Client> {
        Client::with_timeout(endpoint, region, service, Duration::from_secs(5))
    }

    /// The same, with at most `timeout` for each request, connecting included.
    pub fn with_timeout(endpoint: &str, region: &str, service: &'static str, timeout: Duration) -> Result<Client> {
        // In case this runs outside `rolecall::run`: a second install is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rolecall/", env!("CARGO_PKG_VERSION")))
            .build()
            .with_context(|| format!("building the {service} client"))?;
        Ok(Client { http, endpoint: endpoint.trim_end_matches('/').to_string(), region: region.to_string(), service })
    }

    /// The URL requests go to.
    pub fn url(&self) -> String {
        format!("{}/", self.endpoint)
    }

    /// POSTs `body` with `headers` (content type first), signed with `key`;
    /// the answer's status and at most 64 KiB of its body.
    pub fn post(&self, key: &SigningKey, headers: &[(&str, &str)], body: &[u8]) -> Result<(u16, String)> {
        let url = self.url();
        let secret = std::str::from_utf8(key.secret.expose()).context("the secret is not text")?;
        let token = key.session_token.map(|t| String::from_utf8_lossy(t.expose()).into_owned());
        let identity = aws_credential_types::Credentials::new(key.key_id, secret, token, None, "rolecall").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .context("signing parameters")?
            .into();
        let signable = SignableRequest::new("POST", &url, headers.iter().copied(), SignableBody::Bytes(body))
            .context("a signable request")?;
        let (instructions, _) = sign(signable, &params).map_err(|e| anyhow::anyhow!("signing: {e}"))?.into_parts();
        let mut req = self.http.post(&url).body(body.to_vec());
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            req = req.header(name, value);
        }
        let resp = req.send().map_err(|e| anyhow::anyhow!("POST {url}: {}", crate::imds::root_cause(&e)))?;
        let status = resp.status().as_u16();
        let mut text = String::new();
        resp.take(MAX_BODY).read_to_string(&mut text).with_context(|| format!("reading the answer of {url}"))?;
        Ok((status, text))
    }
}
