//! Asks the instance metadata service (IMDSv2) which role is attached, in
//! which account and region, and whether IMDSv1 is still open. Keeps no role
//! credential: only the current session's access key ID.

use std::fmt;
use std::io::Read;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::credential::KeyId;

/// The IPv4 endpoint every instance has.
pub const IPV4_ENDPOINT: &str = "http://169.254.169.254";
/// The IPv6 endpoint (Nitro instances in IPv6 subnets, when enabled).
pub const IPV6_ENDPOINT: &str = "http://[fd00:ec2::254]";

/// Token lifetime asked for: the probe needs seconds, not the SDKs' six hours.
const TOKEN_TTL_SECONDS: u32 = 300;
/// Largest response body read; anything longer is an error, not a memory hog.
pub const MAX_BODY: usize = 64 * 1024;

/// How to reach IMDS, resolved from flags and the SDKs' environment variables.
#[derive(Clone, Debug)]
pub struct ImdsOptions {
    /// Base URL, e.g. `http://169.254.169.254`.
    pub endpoint: String,
    /// Set when IMDS must not be queried, saying why.
    pub disabled_by: Option<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Tries per request when the connection fails or the server errs (5xx).
    pub attempts: u32,
    /// The whole probe's budget, every request and body included.
    pub total_timeout: Duration,
    /// The run's deadline (`--max-seconds`), if sooner.
    pub deadline: Option<Instant>,
    /// Keep the role's credentials (for `--lookup-accounts`); otherwise only
    /// their access key ID is kept.
    pub keep_role_credentials: bool,
}

impl ImdsOptions {
    pub fn new(endpoint: String, disabled_by: Option<String>) -> ImdsOptions {
        ImdsOptions {
            endpoint,
            disabled_by,
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(2),
            attempts: 2,
            total_timeout: Duration::from_secs(15),
            deadline: None,
            keep_role_credentials: false,
        }
    }
}

/// How IMDS answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ImdsState {
    /// IMDSv2 answered: a token was issued and used.
    Available,
    /// The token request went unanswered while a tokenless request was
    /// answered: the PUT response hop limit is too low for this network
    /// namespace (typical inside a container).
    HopLimit,
    /// IMDS answered, but not with IMDSv2 tokens (an old or emulated service).
    V1Only,
    /// Not queried: `--no-imds` or `AWS_EC2_METADATA_DISABLED`.
    Disabled,
    /// IMDS answered 403: the endpoint is turned off on this instance.
    Off,
    /// No answer: not an EC2 instance, or IMDS is unreachable from here.
    Unreachable,
    /// IMDS answered with something unusable (garbage, too large, a redirect).
    Error,
}

impl fmt::Display for ImdsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImdsState::Available => "IMDSv2 available",
            ImdsState::HopLimit => "IMDSv2 token request unanswered (hop limit)",
            ImdsState::V1Only => "IMDS without tokens",
            ImdsState::Disabled => "IMDS not queried",
            ImdsState::Off => "IMDS turned off",
            ImdsState::Unreachable => "IMDS unreachable",
            ImdsState::Error => "IMDS error",
        })
    }
}

/// The instance identity document's fields that reports use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub image_id: Option<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
}

impl Identity {
    /// The document with every field that does not have its documented
    /// shape dropped (and a note saying so): what IMDS answers is printed
    /// on terminals and builds the STS host name, so it must be what it claims.
    fn validated(mut self, notes: &mut Vec<String>) -> Identity {
        keep_if(&mut self.account_id, is_account_id, "accountId", notes);
        keep_if(&mut self.region, is_region, "region", notes);
        keep_if(&mut self.instance_id, |v| is_hex_id(v, "i-"), "instanceId", notes);
        keep_if(&mut self.image_id, |v| is_hex_id(v, "ami-"), "imageId", notes);
        keep_if(&mut self.instance_type, is_instance_type, "instanceType", notes);
        let region = self.region.clone().unwrap_or_default();
        keep_if(&mut self.availability_zone, |z| is_zone(z, &region), "availabilityZone", notes);
        self
    }
}

/// Drops `field` (with a note) unless `ok` says it has its shape.
fn keep_if(field: &mut Option<String>, ok: impl Fn(&str) -> bool, name: &str, notes: &mut Vec<String>) {
    if field.as_deref().is_some_and(|v| !ok(v)) {
        *field = None;
        notes.push(format!("{name} in the instance metadata does not have its documented shape; ignored"));
    }
}

/// 12 digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `us-east-1`, `ap-southeast-2`, `us-gov-west-1`, `cn-north-1`: a two-letter
/// prefix, words, and a number, lower case.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    s.len() <= 32
        && parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// `PREFIX` and 8 to 17 lower-case hex digits (`i-0123456789abcdef0`, `ami-…`).
fn is_hex_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|h| {
        (8..=17).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

/// `t3.micro`, `m7g.metal-48xl`.
fn is_instance_type(s: &str) -> bool {
    let ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    s.len() <= 32 && s.split_once('.').is_some_and(|(a, b)| ok(a) && ok(b))
}

/// The region's name and a zone suffix (`us-east-1a`, `us-west-2-lax-1a`).
fn is_zone(s: &str, region: &str) -> bool {
    !region.is_empty()
        && s.len() <= 40
        && s.strip_prefix(region).is_some_and(|z| {
            !z.is_empty() && z.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn is_instance_profile_arn(s: &str) -> bool {
    let mut parts = s.splitn(6, ':');
    let ok_name = |n: &str| n.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_/-".contains(&b));
    parts.next() == Some("arn")
        && parts.next().is_some_and(|p| p.starts_with("aws") && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        && parts.next() == Some("iam")
        && parts.next() == Some("")
        && parts.next().is_some_and(is_account_id)
        && parts
            .next()
            .and_then(|r| r.strip_prefix("instance-profile/"))
            .is_some_and(|n| !n.is_empty() && n.len() <= 512 && ok_name(n))
}

fn is_instance_profile_id(s: &str) -> bool {
    s.starts_with("AIPA")
        && (16..=128).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Which role is attached, if any, as far as IMDS could tell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum RoleStatus {
    Attached {
        role_name: String,
        instance_profile_arn: Option<String>,
        instance_profile_id: Option<String>,
        /// The access key ID of the role's current credentials: an ASIA key
        /// with this ID on disk is the role's own credentials copied out.
        session_key_id: Option<KeyId>,
    },
    /// IMDS answered and no role is attached.
    None,
    /// Whether a role is attached could not be learned.
    Unknown { reason: String },
}

/// Everything the probe learned.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ImdsReport {
    pub endpoint: String,
    pub state: ImdsState,
    /// What happened, in a sentence, with the URL and status where it matters.
    pub detail: String,
    /// Whether a request without a token was answered (IMDSv1 open), if known.
    pub v1_allowed: Option<bool>,
    pub identity: Option<Identity>,
    pub role: RoleStatus,
    /// With no role attached: whether the instance identity role's
    /// credentials answer (`identity-credentials/ec2/security-credentials/ec2-instance`),
    /// which the SSM agent uses under Default Host Management Configuration
    /// (DHMC). They are never the attached role and no application's SDK
    /// uses them. None when not asked or not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_credentials: Option<bool>,
    /// Things that went wrong without deciding the outcome (a missing identity document, ...).
    pub notes: Vec<String>,
    pub elapsed_ms: u64,
    /// The role's current credentials, only when asked for (never serialized).
    #[serde(skip)]
    pub role_credentials: Option<std::sync::Arc<RoleSession>>,
    /// The instance's user data, which every local process can read (it may
    /// hold secrets: never serialized, zeroed when dropped).
    #[serde(skip)]
    pub user_data: Option<std::sync::Arc<Zeroizing<Vec<u8>>>>,
    /// Why the user data could not be read, when IMDS answered otherwise.
    #[serde(skip)]
    pub user_data_error: Option<String>,
}

/// The attached role's current credentials.
#[derive(Debug)]
pub struct RoleSession {
    pub key_id: String,
    pub secret: crate::credential::Secret,
    /// Always there for the instance's role; an emulator may serve a long-term key without one.
    pub token: Option<crate::credential::Secret>,
}

/// What a metadata endpoint other than the instance's serves as a role's
/// credentials, as an SDK would find out.
#[derive(Debug)]
pub enum Served {
    Credentials(std::sync::Arc<RoleSession>),
    /// Nothing an SDK could sign with: the connection was refused, or no role is listed.
    Nothing(String),
    /// Not known: no complete answer in time, or one of a shape no SDK reads as "none".
    Unknown(String),
}

/// Why one request failed.
#[derive(Debug)]
enum Failure {
    /// No connection (no route, connect timeout, ...).
    Connect(String),
    /// No connection: nothing listens there (the connection was refused).
    Refused(String),
    /// Connected, but no complete answer in time.
    Timeout(String),
    /// Answered with a status we do not act on as success.
    Status(u16, String),
    /// A 3xx: never followed.
    Redirect(String),
    /// Body over [`MAX_BODY`].
    TooLarge(String),
    /// Anything else (a broken connection, an unusable client).
    Other(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Connect(m)
            | Failure::Refused(m)
            | Failure::Timeout(m)
            | Failure::TooLarge(m)
            | Failure::Other(m) => f.write_str(m),
            Failure::Status(_, m) | Failure::Redirect(m) => f.write_str(m),
        }
    }
}

struct Client {
    http: reqwest::blocking::Client,
    base: String,
    request_timeout: Duration,
    attempts: u32,
    /// When the whole probe must be done.
    deadline: Instant,
}

type Body = Zeroizing<Vec<u8>>;

impl Client {
    /// A client for `opts.endpoint` whose requests all end by the probe's
    /// budget (counted from `start`) or the run's deadline.
    fn new(opts: &ImdsOptions, start: Instant) -> Result<Client, String> {
        // reqwest builds a TLS configuration even for plain HTTP: in case this
        // runs outside `rolecall::run`, give rustls its provider (a second install is a no-op).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            .pool_max_idle_per_host(1)
            .user_agent(concat!("rolecall/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {}", root_cause(&e)))?;
        let budget = start + opts.total_timeout;
        Ok(Client {
            http,
            base: opts.endpoint.trim_end_matches('/').to_string(),
            request_timeout: opts.request_timeout,
            attempts: opts.attempts,
            deadline: opts.deadline.map_or(budget, |d| d.min(budget)),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One request, retried once on a connection failure or a 5xx; a read
    /// timeout is not retried (a dropped response stays dropped).
    fn send(&self, method: reqwest::Method, path: &str, header: Option<(&str, &str)>) -> Result<Body, Failure> {
        let url = self.url(path);
        let mut last = Failure::Other(format!("{method} {url}: not attempted"));
        for attempt in 0..self.attempts.max(1) {
            // One deadline for the whole response, body included, and never
            // past the probe's own.
            let now = Instant::now();
            let left = self.deadline.saturating_duration_since(now);
            if left.is_zero() {
                return Err(Failure::Timeout(format!("{method} {url}: the IMDS probe's time is up")));
            }
            let timeout = self.request_timeout.min(left);
            let mut req = self.http.request(method.clone(), &url).timeout(timeout);
            if method == reqwest::Method::PUT {
                req = req.header("X-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS.to_string());
            }
            if let Some((name, value)) = header {
                req = req.header(name, value);
            }
            let result = req.send();
            let outcome = match result {
                Err(e) if e.is_connect() => {
                    let message = format!("{method} {url}: cannot connect ({})", root_cause(&e));
                    if refused(&e) { Failure::Refused(message) } else { Failure::Connect(message) }
                }
                Err(e) if e.is_timeout() => {
                    return Err(Failure::Timeout(format!(
                        "{method} {url}: no answer within {} s",
                        self.request_timeout.as_secs_f32()
                    )));
                }
                Err(e) => Failure::Other(format!("{method} {url}: {}", root_cause(&e))),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if resp.status().is_redirection() {
                        let to = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("?");
                        return Err(Failure::Redirect(format!(
                            "{method} {url}: answered {status} redirecting to {to}; redirects are never followed"
                        )));
                    }
                    if !resp.status().is_success() {
                        let failure = Failure::Status(status, format!("{method} {url}: answered {status}"));
                        if status >= 500 && attempt + 1 < self.attempts {
                            last = failure;
                            continue;
                        }
                        return Err(failure);
                    }
                    return read_capped(resp, &method, &url, now + timeout);
                }
            };
            last = outcome;
        }
        Err(last)
    }

    /// A GET with the IMDSv2 session `token`, when there is one.
    fn get(&self, path: &str, token: Option<&str>) -> Result<Body, Failure> {
        self.send(reqwest::Method::GET, path, token.map(|t| ("X-aws-ec2-metadata-token", t)))
    }

    fn token(&self) -> Result<String, Failure> {
        let body = self.send(reqwest::Method::PUT, "/latest/api/token", None)?;
        let token = String::from_utf8(body.to_vec())
            .map_err(|_| Failure::Other(format!("PUT {}: the token is not text", self.url("/latest/api/token"))))?;
        if token.trim().is_empty() {
            return Err(Failure::Other(format!("PUT {}: empty token", self.url("/latest/api/token"))));
        }
        Ok(token.trim().to_string())
    }
}

/// Whether a connection failed because nothing listens there.
fn refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused) {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The innermost cause of an error: what actually failed.
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Reads a response body of at most [`MAX_BODY`] bytes, all of it by
/// `deadline`: a server that drips its answer a byte at a time cannot hold
/// the probe past it (each read is itself bounded by the client's timeout).
fn read_capped(
    mut resp: reqwest::blocking::Response,
    method: &reqwest::Method,
    url: &str,
    deadline: Instant,
) -> Result<Body, Failure> {
    let mut body = Zeroizing::new(Vec::new());
    let mut buf = [0u8; 8192];
    loop {
        if Instant::now() >= deadline {
            return Err(Failure::Timeout(format!("{method} {url}: response body not received in time")));
        }
        match resp.read(&mut buf) {
            Ok(0) => return Ok(body),
            Ok(n) => {
                body.extend_from_slice(&buf[..n]);
                if body.len() > MAX_BODY {
                    return Err(Failure::TooLarge(format!(
                        "{method} {url}: response larger than {} KiB",
                        MAX_BODY / 1024
                    )));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                return Err(Failure::Timeout(format!("{method} {url}: response body not received in time")));
            }
            Err(e) => return Err(Failure::Other(format!("{method} {url}: reading the response: {e}"))),
        }
    }
}

/// Whether a body read failed because its time was up (reqwest wraps its
/// own timeout in the I/O error).
fn is_timeout(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut
        || e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>()).is_some_and(reqwest::Error::is_timeout)
}

/// Parses a JSON body, or says what was wrong with it (never quoting it).
fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8], url: &str) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Eof => "truncated JSON",
            serde_json::error::Category::Syntax => "not valid JSON",
            _ => "JSON of an unexpected shape",
        };
        format!("GET {url}: {what} (line {}, column {})", e.line(), e.column())
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IamInfo {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    instance_profile_arn: Option<String>,
    #[serde(default)]
    instance_profile_id: Option<String>,
}

/// Only the key ID of the role's credentials is kept unless asked: serde
/// skips the secret and token fields without storing them, and the body
/// holding them is zeroed when dropped.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleCredentials {
    #[serde(default)]
    access_key_id: Option<String>,
}

/// What an emulator serves: a long-term key may come without a token.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ServedRoleCredentials {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    #[serde(default)]
    token: Option<Zeroizing<String>>,
}

/// The same, keeping the secret and token (`--lookup-accounts`), in buffers
/// zeroed on drop.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FullRoleCredentials {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    token: Zeroizing<String>,
}

/// Asks IMDS everything the verdict needs. Never fails: what went wrong is
/// in the report's state, detail and notes.
pub fn probe(opts: &ImdsOptions) -> ImdsReport {
    let start = Instant::now();
    let mut report = ImdsReport {
        endpoint: opts.endpoint.clone(),
        state: ImdsState::Unreachable,
        detail: String::new(),
        v1_allowed: None,
        identity: None,
        role: RoleStatus::Unknown { reason: String::new() },
        identity_credentials: None,
        notes: Vec::new(),
        elapsed_ms: 0,
        role_credentials: None,
        user_data: None,
        user_data_error: None,
    };
    if let Some(why) = &opts.disabled_by {
        report.state = ImdsState::Disabled;
        report.detail = format!("IMDS was not queried: {why}");
        report.role = RoleStatus::Unknown { reason: report.detail.clone() };
        return report;
    }
    let client = match Client::new(opts, start) {
        Ok(c) => c,
        Err(e) => {
            report.state = ImdsState::Error;
            report.detail = e;
            report.role = RoleStatus::Unknown { reason: report.detail.clone() };
            return report;
        }
    };
    run_probe(&client, &mut report, opts.keep_role_credentials);
    report.elapsed_ms = start.elapsed().as_millis() as u64;
    tracing::info!(state = ?report.state, detail = %report.detail, "IMDS probe done");
    report
}

/// Asks `opts.endpoint`, a metadata endpoint a process is pointed at, for
/// a role's credentials the way an SDK's IMDS client does and nothing more:
/// a token (none when tokens are not issued), the role list, the first
/// role's credentials. Only a refused connection, an empty or missing role
/// list or a missing role is [`Served::Nothing`]; everything short of an
/// answer is [`Served::Unknown`].
pub fn served_credentials(opts: &ImdsOptions) -> Served {
    let client = match Client::new(opts, Instant::now()) {
        Ok(c) => c,
        Err(e) => return Served::Unknown(e),
    };
    let token = match client.token() {
        Ok(t) => Some(t),
        Err(Failure::Refused(m)) => return Served::Nothing(m),
        // Not issuing tokens: the SDKs that fall back to IMDSv1 go on without one.
        Err(Failure::Status(403..=405, _)) => None,
        Err(e) => return Served::Unknown(e.to_string()),
    };
    let list_path = "/latest/meta-data/iam/security-credentials/";
    let role_name = match client.get(list_path, token.as_deref()) {
        Ok(body) => String::from_utf8_lossy(&body).lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string),
        Err(Failure::Status(404, m)) => return Served::Nothing(m),
        Err(e) => return Served::Unknown(e.to_string()),
    };
    let Some(role_name) = role_name else {
        return Served::Nothing(format!("GET {}: no role listed", client.url(list_path)));
    };
    if role_name.len() > 128 || !role_name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)) {
        return Served::Unknown(format!("GET {}: not a role name", client.url(list_path)));
    }
    let creds_path = format!("{list_path}{role_name}");
    match client.get(&creds_path, token.as_deref()) {
        Ok(body) => match parse_json::<ServedRoleCredentials>(&body, &client.url(&creds_path)) {
            Ok(c) => Served::Credentials(std::sync::Arc::new(RoleSession {
                key_id: c.access_key_id,
                secret: crate::credential::Secret::new(c.secret_access_key.as_bytes()),
                token: c.token.filter(|t| !t.is_empty()).map(|t| crate::credential::Secret::new(t.as_bytes())),
            })),
            Err(m) => Served::Unknown(m),
        },
        Err(Failure::Status(404, m)) => Served::Nothing(m),
        Err(e) => Served::Unknown(e.to_string()),
    }
}

/// Asks a container credentials endpoint a process is pointed at
/// (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, `opts.endpoint`) for credentials
/// the way the SDKs do: one GET of the URI, with the process's
/// `Authorization` value when it has one. Only a refused connection or a
/// 404 is [`Served::Nothing`]; everything short of an answer is
/// [`Served::Unknown`].
pub fn container_credentials(opts: &ImdsOptions, authorization: Option<&str>) -> Served {
    let client = match Client::new(opts, Instant::now()) {
        Ok(c) => c,
        Err(e) => return Served::Unknown(e),
    };
    match client.send(reqwest::Method::GET, "", authorization.map(|a| ("Authorization", a))) {
        Ok(body) => match parse_json::<ServedRoleCredentials>(&body, &client.url("")) {
            Ok(c) => Served::Credentials(std::sync::Arc::new(RoleSession {
                key_id: c.access_key_id,
                secret: crate::credential::Secret::new(c.secret_access_key.as_bytes()),
                token: c.token.filter(|t| !t.is_empty()).map(|t| crate::credential::Secret::new(t.as_bytes())),
            })),
            Err(m) => Served::Unknown(m),
        },
        Err(Failure::Refused(m) | Failure::Status(404, m)) => Served::Nothing(m),
        Err(e) => Served::Unknown(e.to_string()),
    }
}

fn run_probe(client: &Client, report: &mut ImdsReport, keep_credentials: bool) {
    let unknown = |report: &mut ImdsReport, state, detail: String| {
        report.state = state;
        report.role = RoleStatus::Unknown { reason: detail.clone() };
        report.detail = detail;
    };
    let token = match client.token() {
        Ok(t) => {
            report.state = ImdsState::Available;
            report.detail = "IMDSv2 issued a session token".to_string();
            Some(t)
        }
        Err(Failure::Connect(m) | Failure::Refused(m)) => {
            return unknown(report, ImdsState::Unreachable, format!("not on EC2, or IMDS unreachable: {m}"));
        }
        Err(Failure::Status(403, m)) => {
            return unknown(report, ImdsState::Off, format!("IMDS is turned off on this instance ({m})"));
        }
        Err(Failure::Status(400, m)) => {
            return unknown(report, ImdsState::Error, format!("IMDS rejected the token request as invalid ({m})"));
        }
        Err(Failure::Timeout(m)) => {
            // Connected but no answer to the PUT. If a tokenless GET is
            // answered, the PUT response was dropped on its way here: the hop limit.
            match client.get("/latest/meta-data/", None) {
                Ok(_) => {
                    report.state = ImdsState::HopLimit;
                    report.v1_allowed = Some(true);
                    report.detail = format!(
                        "the IMDSv2 token request went unanswered ({m}) while a tokenless request was answered: \
                         the PUT response hop limit is too low for this network namespace; continuing with IMDSv1"
                    );
                    None
                }
                Err(Failure::Status(401, _)) => {
                    report.v1_allowed = Some(false);
                    return unknown(
                        report,
                        ImdsState::HopLimit,
                        format!(
                            "the IMDSv2 token request went unanswered ({m}) and IMDSv1 is disabled: the PUT response \
                             hop limit is too low for this network namespace"
                        ),
                    );
                }
                Err(e) => {
                    return unknown(report, ImdsState::Unreachable, format!("IMDS did not answer: {m}; then {e}"));
                }
            }
        }
        Err(Failure::Status(404 | 405, m)) => match client.get("/latest/meta-data/", None) {
            Ok(_) => {
                report.state = ImdsState::V1Only;
                report.v1_allowed = Some(true);
                report.detail = format!("IMDS does not issue tokens ({m}); continuing without one");
                None
            }
            Err(e) => return unknown(report, ImdsState::Error, format!("{m}; then {e}")),
        },
        Err(e) => return unknown(report, ImdsState::Error, e.to_string()),
    };
    let mut token = token;

    // A GET that retries once with a fresh token if the token is refused.
    let mut get = |path: &str| -> Result<Body, Failure> {
        match client.get(path, token.as_deref()) {
            Err(Failure::Status(401, _)) if token.is_some() => {
                token = Some(client.token()?);
                client.get(path, token.as_deref())
            }
            other => other,
        }
    };

    // Identity: account, region, instance.
    let doc_path = "/latest/dynamic/instance-identity/document";
    match get(doc_path) {
        Ok(body) => match parse_json::<Identity>(&body, &client.url(doc_path)) {
            Ok(id) => report.identity = Some(id.validated(&mut report.notes)),
            Err(m) => report.notes.push(m),
        },
        Err(Failure::Status(401, m)) => {
            return unknown(report, ImdsState::Error, format!("IMDS refused a fresh token ({m})"));
        }
        Err(e @ (Failure::Redirect(_) | Failure::TooLarge(_))) => {
            return unknown(report, ImdsState::Error, e.to_string());
        }
        Err(e) => report.notes.push(format!("no instance identity document: {e}")),
    }

    // User data: every local process can read it here, so a key in it is on the host.
    let user_data_path = "/latest/user-data";
    match get(user_data_path) {
        Ok(body) => report.user_data = Some(std::sync::Arc::new(body)),
        Err(Failure::Status(404, _)) => {}
        Err(e) => {
            report.notes.push(format!("user data not read: {e}"));
            report.user_data_error = Some(e.to_string());
        }
    }

    // The role: iam/info names the instance profile, security-credentials/ the role.
    let info_path = "/latest/meta-data/iam/info";
    let mut info: Option<IamInfo> = None;
    match get(info_path) {
        Ok(body) => match parse_json::<IamInfo>(&body, &client.url(info_path)) {
            Ok(mut i) if i.code.as_deref().is_none_or(|c| c == "Success") => {
                keep_if(&mut i.instance_profile_arn, is_instance_profile_arn, "InstanceProfileArn", &mut report.notes);
                keep_if(&mut i.instance_profile_id, is_instance_profile_id, "InstanceProfileId", &mut report.notes);
                info = Some(i)
            }
            Ok(i) => report.notes.push(format!("{}: Code {}", client.url(info_path), i.code.unwrap_or_default())),
            Err(m) => return unknown(report, ImdsState::Error, m),
        },
        Err(Failure::Status(404, _)) => {
            report.role = RoleStatus::None;
            report.detail.push_str("; no IAM role is attached (iam/info: 404)");
            report.identity_credentials = identity_role(&mut get, report);
            return check_v1(client, report);
        }
        Err(Failure::Status(401, m)) => {
            return unknown(report, ImdsState::Error, format!("IMDS refused a fresh token ({m})"));
        }
        Err(e @ (Failure::Redirect(_) | Failure::TooLarge(_) | Failure::Timeout(_))) => {
            return unknown(report, ImdsState::Error, e.to_string());
        }
        Err(e) => report.notes.push(e.to_string()),
    }
    let list_path = "/latest/meta-data/iam/security-credentials/";
    let role_name = match get(list_path) {
        Ok(body) => String::from_utf8_lossy(&body).lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string),
        Err(Failure::Status(404, _)) => None,
        Err(e) => return unknown(report, ImdsState::Error, e.to_string()),
    };
    let Some(role_name) = role_name else {
        report.role = RoleStatus::None;
        report.detail.push_str("; no IAM role is attached (empty role list)");
        report.identity_credentials = identity_role(&mut get, report);
        return check_v1(client, report);
    };
    if role_name.len() > 128 || !role_name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)) {
        return unknown(report, ImdsState::Error, format!("GET {}: not a role name", client.url(list_path)));
    }
    let creds_path = format!("{list_path}{role_name}");
    let session_key_id = match get(&creds_path) {
        Ok(body) => {
            if keep_credentials {
                match parse_json::<FullRoleCredentials>(&body, &client.url(&creds_path)) {
                    Ok(c) => {
                        report.role_credentials = Some(std::sync::Arc::new(RoleSession {
                            key_id: c.access_key_id,
                            secret: crate::credential::Secret::new(c.secret_access_key.as_bytes()),
                            token: Some(crate::credential::Secret::new(c.token.as_bytes())),
                        }))
                    }
                    Err(m) => report.notes.push(format!("role credentials not kept: {m}")),
                }
            }
            match parse_json::<RoleCredentials>(&body, &client.url(&creds_path)) {
                Ok(c) => c.access_key_id.and_then(|k| KeyId::parse(k.as_bytes())),
                Err(m) => {
                    report.notes.push(m);
                    None
                }
            }
        }
        Err(e) => {
            report.notes.push(format!("role credentials not readable: {e}"));
            None
        }
    };
    report.detail.push_str(&format!("; role {role_name} is attached"));
    report.role = RoleStatus::Attached {
        role_name,
        instance_profile_arn: info.as_ref().and_then(|i| i.instance_profile_arn.clone()),
        instance_profile_id: info.and_then(|i| i.instance_profile_id),
        session_key_id,
    };
    check_v1(client, report)
}

/// Whether the instance identity role's credentials answer (only their key
/// ID is parsed; nothing of them is kept).
fn identity_role(get: &mut dyn FnMut(&str) -> Result<Body, Failure>, report: &mut ImdsReport) -> Option<bool> {
    let path = "/latest/meta-data/identity-credentials/ec2/security-credentials/ec2-instance";
    match get(path) {
        Ok(body) => Some(parse_json::<RoleCredentials>(&body, path).ok().and_then(|c| c.access_key_id).is_some()),
        Err(Failure::Status(404, _)) => Some(false),
        Err(e) => {
            report.notes.push(format!("identity credentials not checked: {e}"));
            None
        }
    }
}

/// IMDSv1 is open if a request without a token is answered. On such an
/// instance this probe itself counts once in CloudWatch `MetadataNoToken`.
fn check_v1(client: &Client, report: &mut ImdsReport) {
    if report.v1_allowed.is_some() {
        return;
    }
    report.v1_allowed = match client.get("/latest/meta-data/", None) {
        Ok(_) => Some(true),
        Err(Failure::Status(401, _)) => Some(false),
        Err(e) => {
            report.notes.push(format!("IMDSv1 check inconclusive: {e}"));
            None
        }
    };
}

/// Runs every IMDS response parser on `body`, for the fuzzer: none may
/// panic, and none may quote the body in its error.
#[doc(hidden)]
pub fn parse_any_response(body: &[u8]) -> usize {
    let url = "http://169.254.169.254/fuzz";
    let mut ok = 0;
    ok += parse_json::<Identity>(body, url).is_ok() as usize;
    ok += parse_json::<IamInfo>(body, url).is_ok() as usize;
    ok += parse_json::<RoleCredentials>(body, url).is_ok() as usize;
    ok += parse_json::<FullRoleCredentials>(body, url).is_ok() as usize;
    ok += parse_json::<ServedRoleCredentials>(body, url).is_ok() as usize;
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_fields_must_have_their_shape() {
        let hostile = Identity {
            account_id: Some("123456789012".into()),
            region: Some("us-east-1@127.0.0.1:8443/#".into()),
            instance_id: Some("i-0123456789abcdef0\n rolecall: PASS".into()),
            image_id: Some("ami-0abcdef1234567890".into()),
            instance_type: Some("t3.micro".into()),
            availability_zone: Some("us-east-1a".into()),
        };
        let mut notes = Vec::new();
        let id = hostile.validated(&mut notes);
        assert_eq!(id.region, None);
        assert_eq!(id.instance_id, None);
        assert_eq!(id.availability_zone, None, "no valid region to be a zone of");
        assert_eq!(id.account_id.as_deref(), Some("123456789012"));
        assert_eq!(notes.len(), 3);
        for r in ["us-east-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "il-central-1"] {
            assert!(is_region(r), "{r}");
        }
        for r in ["us-east-1.evil.com", "US-EAST-1", "us-east-", "e-1", "us-east-1/x"] {
            assert!(!is_region(r), "{r}");
        }
        assert!(is_zone("us-west-2-lax-1a", "us-west-2") && !is_zone("eu-west-1a", "us-west-2"));
        assert!(is_instance_profile_arn("arn:aws:iam::123456789012:instance-profile/app-profile"));
        assert!(!is_instance_profile_arn("arn:aws:iam::123456789012:instance-profile/a\u{1b}[8m"));
    }
}
