//! An IMDS test server: a real HTTP/1.1 server on 127.0.0.1 (or [::1]) on a free port
//! that speaks IMDSv2 as AWS documents it (token PUT with a TTL of 1 to
//! 21600 seconds echoed in the response, 400 on a bad TTL, 401 on a missing
//! or expired token when tokens are required, 404 for what does not exist),
//! with modes for the ways a real one misbehaves.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The role's credentials as the server hands them out. Tests assert that
/// neither secret ever appears in rolecall's output.
pub const ROLE_SECRET: &str = "PtYgjmUhBel31iEl2hpChYgCfrL1spNxnyVmihA+";
pub const ROLE_TOKEN: &str = "2O76UMFxFkM+R5Kjp1vRt/1fjORS+6ilI8ihN5KXSc7Tvo+hBKqFYY+kv5ZJr3J1TWDtkwtDDb/xHKas1VOqg6YYZYn9ZhyiA4uoRgnatmUdjAWtGSU8po/7";
pub const ACCOUNT: &str = "123456789012";
pub const ROLE: &str = "app-role";
/// Decodes to account 123456789012 (moto's STS account).
pub const ROLE_SESSION_KEY: &str = "ASIARZPUZDIKEWHJY2HX";
/// Where the server also answers as a container credentials endpoint.
pub const CONTAINER_PATH: &str = "/container-credentials";
/// The key ID the container credentials endpoint hands out.
pub const CONTAINER_KEY: &str = "ASIARZPUZDIKCONTAINR";
/// The instance identity role's key ID, in [`Mode::IdentityOnly`].
pub const IDENTITY_KEY: &str = "ASIARZPUZDIKIDENTITY";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// IMDSv2 only (HttpTokens=required).
    TokenRequired,
    /// IMDSv1 still open (HttpTokens=optional).
    TokenOptional,
    /// Every token PUT is answered 400, as for a missing or out-of-range TTL.
    RejectTtl,
    /// Tokens expire as soon as they are issued: every GET with one gets 401.
    ExpiredTokens,
    /// No instance profile: iam/info and the role list are 404.
    NoRole,
    /// No instance profile, but the instance identity role's credentials
    /// answer (an instance SSM manages by Default Host Management).
    IdentityOnly,
    /// iam/info answers, but the role list is empty.
    EmptyRoleList,
    /// HttpEndpoint=disabled: 403 to everything.
    Disabled,
    /// The token PUT is never answered (hop limit), tokenless GETs are (v1 open).
    DropPutV1Open,
    /// The token PUT is never answered and tokens are required.
    DropPutV2Required,
    /// Every response comes after `SLOW`.
    Slow,
    /// iam/info answers 100 MB.
    Oversized,
    /// iam/info answers something that is not JSON.
    Garbage,
    /// iam/info answers JSON cut short.
    TruncatedJson,
    /// iam/info answers a 302 to another server.
    Redirect,
    /// iam/info's body comes a byte every 100 ms (each read succeeds, the whole never ends in time).
    Drip,
}

pub const SLOW: Duration = Duration::from_secs(8);

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub status: u16,
}

/// Where a redirect points unless a test says otherwise: nothing listens there.
const NOWHERE: &str = "http://127.0.0.1:1/elsewhere";

/// The role's credentials as the server hands them out by default.
fn default_role() -> (String, String, String) {
    (ROLE_SESSION_KEY.into(), ROLE_SECRET.into(), ROLE_TOKEN.into())
}

pub struct Server {
    /// Where it listens: 127.0.0.1, or [::1] for IPv6.
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Request>>>,
}

struct State {
    mode: Mode,
    /// The role's credentials: (key ID, secret, token).
    role: (String, String, String),
    tokens: Mutex<HashMap<String, Instant>>,
    counter: AtomicU64,
    requests: Arc<Mutex<Vec<Request>>>,
    redirect_to: String,
    /// What `/latest/user-data` answers (404 when None, as with no user data).
    user_data: Option<Vec<u8>>,
    /// The instance identity document, when a test forges one.
    identity: Option<String>,
}

impl Server {
    pub fn start(mode: Mode) -> Server {
        Server::start_with_redirect(mode, NOWHERE.to_string())
    }

    pub fn start_with_redirect(mode: Mode, redirect_to: String) -> Server {
        Server::start_full(mode, redirect_to, default_role(), "127.0.0.1:0")
    }

    /// A server on the IPv6 loopback, [::1].
    pub fn start_ipv6(mode: Mode) -> Server {
        Server::start_full(mode, NOWHERE.into(), default_role(), "[::1]:0")
    }

    /// A server whose role hands out these credentials (real ones from a
    /// test STS, for checks that sign with them).
    pub fn start_with_role(mode: Mode, key: &str, secret: &str, token: &str) -> Server {
        let role = (key.into(), secret.into(), token.into());
        Server::start_full(mode, NOWHERE.into(), role, "127.0.0.1:0")
    }

    /// A server whose `/latest/user-data` answers `user_data`.
    pub fn start_with_user_data(mode: Mode, user_data: Vec<u8>) -> Server {
        Server::start_full_with(mode, NOWHERE.into(), default_role(), "127.0.0.1:0", Some(user_data), None)
    }

    /// A server whose instance identity document is `identity` (a hostile one).
    pub fn start_with_identity(mode: Mode, identity: String) -> Server {
        Server::start_full_with(mode, NOWHERE.into(), default_role(), "127.0.0.1:0", None, Some(identity))
    }

    fn start_full(mode: Mode, redirect_to: String, role: (String, String, String), bind: &str) -> Server {
        Server::start_full_with(mode, redirect_to, role, bind, None, None)
    }

    fn start_full_with(
        mode: Mode,
        redirect_to: String,
        role: (String, String, String),
        bind: &str,
        user_data: Option<Vec<u8>>,
        identity: Option<String>,
    ) -> Server {
        let listener = TcpListener::bind(bind).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(State {
            mode,
            role,
            tokens: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(0),
            requests: Arc::clone(&requests),
            redirect_to,
            user_data,
            identity,
        });
        let stop2 = Arc::clone(&stop);
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let state = Arc::clone(&state);
                thread::spawn(move || serve(conn, &state));
            }
        });
        Server { addr, stop, requests }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(conn: TcpStream, state: &State) {
    conn.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let Some(HttpRequest { method, path, headers, .. }) = read_request(&mut reader) else { return };
        let response = respond(state, &method, &path, &headers);
        state.requests.lock().unwrap().push(Request { method, path, headers, status: response.status });
        match response.body {
            Body::Never => {
                // The response is dropped on its way: hold the connection, say nothing.
                thread::sleep(Duration::from_secs(60));
                return;
            }
            Body::Text(text) => {
                let text = text.into_bytes();
                if state.mode == Mode::Slow {
                    thread::sleep(SLOW);
                }
                let mut head = format!(
                    "HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nServer: EC2ws\r\nContent-Length: {}\r\n",
                    response.status,
                    reason(response.status),
                    text.len()
                );
                for (k, v) in &response.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(&text)).is_err() {
                    return;
                }
            }
            Body::Bytes(bytes) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
                    bytes.len()
                );
                if conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(&bytes)).is_err() {
                    return;
                }
            }
            Body::Drip(bytes) => {
                let head =
                    format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n", bytes.len());
                if conn.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for b in bytes {
                    thread::sleep(Duration::from_millis(100));
                    if conn.write_all(&[b]).and_then(|_| conn.flush()).is_err() {
                        return;
                    }
                }
            }
            Body::Huge(len) => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len}\r\n\r\n");
                let _ = conn.write_all(head.as_bytes());
                let block = vec![b'{'; 64 * 1024];
                let mut sent = 0;
                while sent < len {
                    if conn.write_all(&block).is_err() {
                        return;
                    }
                    sent += block.len();
                }
            }
        }
    }
}

enum Body {
    Text(String),
    Bytes(Vec<u8>),
    Drip(Vec<u8>),
    Huge(usize),
    Never,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

fn text(status: u16, body: impl Into<String>) -> Response {
    Response { status, headers: Vec::new(), body: Body::Text(body.into()) }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Whatever",
    }
}

fn respond(state: &State, method: &str, path: &str, headers: &HashMap<String, String>) -> Response {
    let mode = state.mode;
    // An ECS-style container credentials endpoint, for chain tests.
    if method == "GET" && path == CONTAINER_PATH {
        return text(
            200,
            format!(
                r#"{{"AccessKeyId":"{CONTAINER_KEY}","SecretAccessKey":"{ROLE_SECRET}","Token":"{ROLE_TOKEN}","Expiration":"2099-01-01T00:00:00Z"}}"#
            ),
        );
    }
    if mode == Mode::Disabled {
        return text(403, "Forbidden");
    }
    if method == "PUT" {
        if matches!(mode, Mode::DropPutV1Open | Mode::DropPutV2Required) {
            return Response { status: 0, headers: Vec::new(), body: Body::Never };
        }
        if path != "/latest/api/token" || headers.contains_key("x-forwarded-for") {
            return text(403, "Forbidden");
        }
        let ttl = headers.get("x-aws-ec2-metadata-token-ttl-seconds").and_then(|v| v.parse::<u64>().ok());
        let Some(ttl) = ttl.filter(|t| (1..=21600).contains(t)) else {
            return text(400, "Bad Request");
        };
        if mode == Mode::RejectTtl {
            return text(400, "Bad Request");
        }
        let token = format!("token-{}-{}", state.counter.fetch_add(1, Ordering::SeqCst), std::process::id());
        let expires =
            if mode == Mode::ExpiredTokens { Instant::now() } else { Instant::now() + Duration::from_secs(ttl) };
        state.tokens.lock().unwrap().insert(token.clone(), expires);
        return Response {
            status: 200,
            headers: vec![("X-aws-ec2-metadata-token-ttl-seconds".into(), ttl.to_string())],
            body: Body::Text(token),
        };
    }
    if method != "GET" {
        return text(405, "Method Not Allowed");
    }
    match headers.get("x-aws-ec2-metadata-token") {
        Some(t) => {
            let valid = state.tokens.lock().unwrap().get(t).is_some_and(|exp| *exp > Instant::now());
            if !valid {
                return text(401, "Unauthorized");
            }
        }
        None if matches!(mode, Mode::TokenOptional | Mode::DropPutV1Open) => {}
        None => return text(401, "Unauthorized"),
    }
    let role = !matches!(mode, Mode::NoRole | Mode::IdentityOnly);
    if path == "/latest/user-data" {
        return match &state.user_data {
            Some(data) => Response { status: 200, headers: Vec::new(), body: Body::Bytes(data.clone()) },
            None => text(404, "Not Found"),
        };
    }
    match path {
        "/latest/meta-data/" => text(200, "ami-id\nhostname\niam/\ninstance-id\nplacement/\n"),
        "/latest/meta-data/identity-credentials/ec2/security-credentials/ec2-instance"
            if mode == Mode::IdentityOnly =>
        {
            text(
                200,
                format!(
                    r#"{{"Code":"Success","LastUpdated":"2026-11-23T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"{IDENTITY_KEY}","SecretAccessKey":"identity+secret+never+shown+0000000000","Token":"identity-token","Expiration":"2026-11-23T06:00:00Z"}}"#
                ),
            )
        }
        "/latest/dynamic/instance-identity/document" if state.identity.is_some() => {
            text(200, state.identity.clone().unwrap_or_default())
        }
        "/latest/dynamic/instance-identity/document" => text(
            200,
            format!(
                r#"{{"accountId":"{ACCOUNT}","architecture":"x86_64","availabilityZone":"us-east-1a","billingProducts":null,"imageId":"ami-0abcdef1234567890","instanceId":"i-0123456789abcdef0","instanceType":"t3.micro","pendingTime":"2026-11-20T10:00:00Z","privateIp":"10.0.0.12","region":"us-east-1","version":"2017-09-30"}}"#
            ),
        ),
        "/latest/meta-data/iam/info" if role => match mode {
            Mode::Oversized => Response { status: 200, headers: Vec::new(), body: Body::Huge(100 << 20) },
            Mode::Garbage => text(200, "<html><body>Gateway says hello</body></html>"),
            Mode::TruncatedJson => text(200, r#"{"Code":"Success","InstanceProfileArn":"arn:aws:iam::1234"#),
            Mode::Drip => Response {
                status: 200,
                headers: Vec::new(),
                body: Body::Drip(format!("{{\"Code\":\"Success\",\"Pad\":\"{}\"}}", "x".repeat(600)).into_bytes()),
            },
            Mode::Redirect => Response {
                status: 302,
                headers: vec![("Location".into(), state.redirect_to.clone())],
                body: Body::Text(String::new()),
            },
            _ => text(
                200,
                format!(
                    r#"{{"Code":"Success","LastUpdated":"2026-11-23T00:00:00Z","InstanceProfileArn":"arn:aws:iam::{ACCOUNT}:instance-profile/app-profile","InstanceProfileId":"AIPA5BOGHHXZELSK34VU4"}}"#
                ),
            ),
        },
        "/latest/meta-data/iam/security-credentials/" if role => {
            text(200, if mode == Mode::EmptyRoleList { String::new() } else { ROLE.to_string() })
        }
        p if role
            && mode != Mode::EmptyRoleList
            && p == format!("/latest/meta-data/iam/security-credentials/{ROLE}") =>
        {
            let (key, secret, token) = &state.role;
            // Valid for six hours from now, as a real role session would be.
            let now = std::time::SystemTime::now();
            let updated = humantime::format_rfc3339_seconds(now);
            let expiration = humantime::format_rfc3339_seconds(now + Duration::from_secs(6 * 3600));
            text(
                200,
                format!(
                    r#"{{"Code":"Success","LastUpdated":"{updated}","Type":"AWS-HMAC","AccessKeyId":"{key}","SecretAccessKey":"{secret}","Token":"{token}","Expiration":"{expiration}"}}"#
                ),
            )
        }
        _ => text(404, "Not Found"),
    }
}

/// One HTTP/1.1 request off a connection: headers lowercased, the body
/// (up to 1 MiB) read by its Content-Length.
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// Reads the next request, or None when the connection ends.
pub fn read_request(reader: &mut impl BufRead) -> Option<HttpRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length = headers.get("content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some(HttpRequest { method, path, headers, body })
}

/// A container credentials endpoint as a local credential server runs one
/// (aws-vault's ECS server, Greengrass's token exchange service): any GET
/// answers the credentials JSON when its `Authorization` header is `auth`,
/// 401 otherwise. Keeps the `Authorization` values it was sent.
pub struct CredentialServer {
    addr: std::net::SocketAddr,
    authorizations: Arc<Mutex<Vec<String>>>,
}

impl CredentialServer {
    pub fn start(auth: &str, key_id: &str, secret: &str, token: &str) -> CredentialServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let body = format!(
            r#"{{"AccessKeyId": "{key_id}", "SecretAccessKey": "{secret}", "Token": "{token}", "Expiration": "2099-01-01T00:00:00Z"}}"#
        );
        let (auth, seen) = (auth.to_string(), Arc::clone(&authorizations));
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                while let Some(request) = read_request(&mut reader) {
                    let given = request.headers.get("authorization").cloned().unwrap_or_default();
                    seen.lock().unwrap().push(given.clone());
                    let (status, text) =
                        if given == auth { ("200 OK", body.as_str()) } else { ("401 Unauthorized", "{}") };
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
                        text.len()
                    );
                    if conn.write_all(response.as_bytes()).is_err() {
                        break;
                    }
                }
            }
        });
        CredentialServer { addr, authorizations }
    }

    /// The endpoint's URI, as `AWS_CONTAINER_CREDENTIALS_FULL_URI` names it.
    pub fn uri(&self) -> String {
        format!("http://{}/creds", self.addr)
    }

    pub fn authorizations(&self) -> Vec<String> {
        self.authorizations.lock().unwrap().clone()
    }
}
