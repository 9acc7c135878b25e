//! A stand-in for STS on 127.0.0.1 that tells whose credentials an SDK
//! assumed a role with: AssumeRole answers with session credentials whose
//! key ID names the key that signed the request (`FROM-<key ID>`), and
//! AssumeRoleWithWebIdentity (unsigned) with `FROM-WEB-IDENTITY`.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use crate::imds_server::read_request;

pub struct StsStub {
    port: u16,
}

impl StsStub {
    pub fn start() -> StsStub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // The listener lives as long as the test process: each test run is short.
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                thread::spawn(move || serve(conn));
            }
        });
        StsStub { port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The key that signed an assumed role's session, from that session's key
/// ID: `Some("WEB-IDENTITY")` for a web identity, None when `key` is not a
/// session this stub issued.
pub fn assumed_from(key: &str) -> Option<&str> {
    key.strip_prefix("FROM-")
}

fn serve(conn: TcpStream) {
    conn.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    while let Some(request) = read_request(&mut reader) {
        // AWS4-HMAC-SHA256 Credential=AKID/date/region/sts/aws4_request, ...
        let signer = request
            .headers
            .get("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').next());
        let body = String::from_utf8_lossy(&request.body);
        let action = body.split('&').find_map(|kv| kv.strip_prefix("Action=")).unwrap_or("");
        let (status, xml) = match (action, signer) {
            ("AssumeRole", Some(signer)) => (200, assumed("AssumeRole", &format!("FROM-{signer}"))),
            ("AssumeRoleWithWebIdentity", _) => (200, assumed("AssumeRoleWithWebIdentity", "FROM-WEB-IDENTITY")),
            _ => (400, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>".to_string()),
        };
        let head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
            if status == 200 { "OK" } else { "Bad Request" },
            xml.len()
        );
        if conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(xml.as_bytes())).is_err() {
            return;
        }
    }
}

fn assumed(action: &str, key: &str) -> String {
    let expiration = humantime::format_rfc3339_seconds(std::time::SystemTime::now() + Duration::from_secs(3600));
    format!(
        r#"<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{action}Result><Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>stub-secret</SecretAccessKey><SessionToken>stub-token</SessionToken><Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA3XFRBF535PLBIFPI4:s</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser></{action}Result><ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata></{action}Response>"#
    )
}
