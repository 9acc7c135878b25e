//! People's sign-in sessions cached in home directories: IAM Identity
//! Center tokens (`~/.aws/sso/cache/*.json`) and `aws login` sessions
//! (`~/.aws/login/cache/*.json`), whether or not any profile names them.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use crate::coverage::{Coverage, GapReason};
use crate::credential::Secret;
use crate::escape;
use crate::hostfs::{Files, OpenError};
use crate::sources::users::User;

/// Cache files read per directory, at most; more is a coverage gap.
const MAX_ENTRIES: usize = 64;
/// Directory entries looked at per directory, at most.
const MAX_LISTED: usize = MAX_ENTRIES * 4;
/// A cache file larger than this is not one the AWS CLI or SDKs wrote.
const MAX_CACHE_FILE: u64 = 64 * 1024;

/// Which kind of sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// An IAM Identity Center (SSO) token: its start URL and region.
    IdentityCenter { start_url: Option<String>, region: Option<String> },
    /// An `aws login` session: the role session it signs in as
    /// (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/NAME`, from its ID token).
    Login { session_arn: Option<String> },
}

/// One cached session.
#[derive(Clone, Debug)]
pub struct CachedSession {
    /// The cache file, as the host sees it.
    pub path: PathBuf,
    /// The user whose home holds it.
    pub user: String,
    pub kind: SessionKind,
    /// When its access token expires (as written, RFC 3339).
    pub expires_at: Option<String>,
    /// Whether it holds a refresh token: it can mint new access tokens
    /// after the current one expires (for as long as the sign-in lasts).
    pub refreshable: bool,
    /// What keeps it usable: the refresh token, else an access token that
    /// has not expired; None when it no longer works.
    pub secret: Option<Secret>,
}

/// An SSO token cache file (botocore's and the CLI's `SSOTokenLoader` format).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SsoToken {
    access_token: Option<String>,
    expires_at: Option<String>,
    refresh_token: Option<String>,
    start_url: Option<String>,
    region: Option<String>,
}

/// An `aws login` cache file (as AWS's login-provider test data writes it).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginToken {
    access_token: LoginAccessToken,
    refresh_token: Option<String>,
    id_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginAccessToken {
    secret_access_key: Option<String>,
    expires_at: Option<String>,
}

/// The sessions cached in the users' homes (each home once). What could
/// hold one and was not read (too many files, too large, unreadable) is a
/// gap in `coverage`.
pub fn find(users: &[User], files: &Files, coverage: &mut Coverage) -> Vec<CachedSession> {
    let now = SystemTime::now();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for u in users {
        if !seen.insert(u.home.clone()) {
            continue;
        }
        for (dir, login) in [(".aws/sso/cache", false), (".aws/login/cache", true)] {
            for path in cache_files(files, &u.home.join(dir), coverage) {
                let text = match read_small(files, &path) {
                    Ok(Some(text)) => text,
                    Ok(None) => continue,
                    Err((reason, detail)) => {
                        coverage.gap(escape::path(&path), reason, format!("a cached sign-in: {detail}"));
                        continue;
                    }
                };
                let session = if login { login_session(&text, now) } else { sso_session(&text, now) };
                if let Some((kind, expires_at, refreshable, secret)) = session {
                    out.push(CachedSession { path, user: u.name.clone(), kind, expires_at, refreshable, secret });
                }
            }
        }
    }
    out
}

/// The `.json` files of a cache directory (as the host names them), in
/// name order, at most [`MAX_ENTRIES`] of at most [`MAX_CACHE_FILE`] bytes
/// each; the rest are gaps.
fn cache_files(files: &Files, dir: &Path, coverage: &mut Coverage) -> Vec<PathBuf> {
    let Some(real) = files.resolve(dir) else { return Vec::new() };
    let entries = match std::fs::read_dir(&real) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        // A file, not a directory: no SDK caches there.
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Vec::new(),
        Err(e) => {
            coverage.gap(escape::path(dir), GapReason::of(&e), format!("a sign-in cache directory: {e}"));
            return Vec::new();
        }
    };
    let mut listed = 0;
    let mut names = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        listed += 1;
        if listed > MAX_LISTED {
            let detail = format!("a sign-in cache directory of more than {MAX_LISTED} entries: not all looked at");
            coverage.gap(escape::path(dir), GapReason::Unverified, detail);
            break;
        }
        let name = entry.file_name();
        // A link is followed as the SDKs follow it (inside the host root).
        let file_or_link = entry.file_type().is_ok_and(|t| t.is_file() || t.is_symlink());
        if name.as_encoded_bytes().ends_with(b".json") && file_or_link {
            names.push(name);
        }
    }
    names.sort();
    if names.len() > MAX_ENTRIES {
        let detail = format!("{} cached sign-ins: only the first {MAX_ENTRIES} by name read", names.len());
        coverage.gap(escape::path(dir), GapReason::Unverified, detail);
        names.truncate(MAX_ENTRIES);
    }
    names.into_iter().map(|n| dir.join(n)).collect()
}

/// A cache file's text, read through a checked descriptor and not kept
/// (unlike [`Files::read`], which caches): at most [`MAX_CACHE_FILE`]
/// bytes. None when it is gone, not a file, or not text.
fn read_small(files: &Files, path: &Path) -> Result<Option<zeroize::Zeroizing<String>>, (GapReason, String)> {
    let opened = match files.open(path, MAX_CACHE_FILE) {
        None | Some(Err(OpenError::NotRegular)) => return Ok(None),
        Some(Err(OpenError::Io(e))) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Some(Err(e @ OpenError::TooLarge { .. })) => return Err((GapReason::TooLarge, e.to_string())),
        Some(Err(OpenError::Io(e))) => return Err((GapReason::of(&e), e.to_string())),
        Some(Err(e)) => return Err((GapReason::IoError, e.to_string())),
        Some(Ok(opened)) => opened,
    };
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    opened.file.take(MAX_CACHE_FILE).read_to_end(&mut bytes).map_err(|e| (GapReason::of(&e), e.to_string()))?;
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(Some(zeroize::Zeroizing::new(text))),
        Err(e) => {
            zeroize::Zeroize::zeroize(&mut e.into_bytes());
            Ok(None)
        }
    }
}

type Parsed = (SessionKind, Option<String>, bool, Option<Secret>);

/// An SSO token file; None for what is not one (a client registration,
/// `botocore-client-id-*.json`, holds no access token).
fn sso_session(text: &str, now: SystemTime) -> Option<Parsed> {
    let t: SsoToken = serde_json::from_str(text).ok()?;
    let access = t.access_token.filter(|a| !a.is_empty())?;
    let refresh = t.refresh_token.filter(|r| !r.is_empty());
    let secret = usable(refresh.as_deref(), &access, t.expires_at.as_deref(), now);
    let kind = SessionKind::IdentityCenter { start_url: t.start_url, region: t.region };
    Some((kind, t.expires_at, refresh.is_some(), secret))
}

/// An `aws login` cache file.
fn login_session(text: &str, now: SystemTime) -> Option<Parsed> {
    let t: LoginToken = serde_json::from_str(text).ok()?;
    let access = t.access_token.secret_access_key.filter(|s| !s.is_empty())?;
    let refresh = t.refresh_token.filter(|r| !r.is_empty());
    let expires_at = t.access_token.expires_at;
    let secret = usable(refresh.as_deref(), &access, expires_at.as_deref(), now);
    let kind = SessionKind::Login { session_arn: t.id_token.as_deref().and_then(id_token_subject) };
    Some((kind, expires_at, refresh.is_some(), secret))
}

/// The refresh token, else the access token while it has not expired (an
/// expiry that does not parse counts as not expired).
fn usable(refresh: Option<&str>, access: &str, expires_at: Option<&str>, now: SystemTime) -> Option<Secret> {
    if let Some(r) = refresh {
        return Some(Secret::new(r.as_bytes()));
    }
    let expired = expires_at.and_then(parse_time).is_some_and(|t| t <= now);
    (!expired).then(|| Secret::new(access.as_bytes()))
}

/// `2026-12-02T20:00:00Z`, or the CLI v1's `2026-12-02T20:00:00UTC`.
fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.strip_suffix("UTC").map_or_else(|| s.to_string(), |t| format!("{t}Z"));
    humantime::parse_rfc3339_weak(&s).ok()
}

/// The `sub` claim of a JWT (its payload is not secret: it names the
/// session), when it is an STS assumed-role ARN.
fn id_token_subject(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = data_encoding::BASE64URL_NOPAD.decode(payload.trim_end_matches('=').as_bytes()).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let sub = claims.get("sub")?.as_str()?;
    let arn_like = sub.starts_with("arn:aws") && sub.len() <= 256 && sub.bytes().all(|b| b.is_ascii_graphic());
    arn_like.then(|| sub.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SystemTime {
        parse_time(s).unwrap()
    }

    #[test]
    fn an_sso_token_is_usable_while_refreshable_or_unexpired() {
        let now = at("2026-12-02T12:00:00Z");
        let token = |expires: &str, refresh: &str| {
            format!(
                r#"{{"startUrl":"https://acme.awsapps.com/start","region":"us-east-1","accessToken":"aoaAAAAA-access",
                    "expiresAt":"{expires}"{refresh}}}"#
            )
        };
        let (kind, _, refreshable, secret) = sso_session(&token("2026-12-02T13:00:00Z", ""), now).unwrap();
        assert_eq!(
            kind,
            SessionKind::IdentityCenter {
                start_url: Some("https://acme.awsapps.com/start".into()),
                region: Some("us-east-1".into())
            }
        );
        assert!(!refreshable && secret.is_some(), "unexpired");
        let (_, _, _, secret) = sso_session(&token("2026-12-02T11:00:00Z", ""), now).unwrap();
        assert!(secret.is_none(), "expired, nothing to refresh it with");
        let (_, _, refreshable, secret) =
            sso_session(&token("2026-12-02T11:00:00UTC", r#","refreshToken":"Atzr-refresh""#), now).unwrap();
        assert!(refreshable);
        assert_eq!(secret.unwrap().expose(), b"Atzr-refresh");
        // A client registration is not a session.
        assert!(
            sso_session(r#"{"clientId":"x","clientSecret":"y","expiresAt":"2027-01-01T00:00:00Z"}"#, now).is_none()
        );
        assert!(sso_session("not json", now).is_none());
    }

    #[test]
    fn a_login_session_names_its_role_session_from_the_id_token() {
        let claims = r#"{"sub":"arn:aws:sts::012345678901:assumed-role/Admin/alice","exp":1}"#;
        let jwt = format!("eyJhbGciOiJFUzM4NCJ9.{}.c2ln", data_encoding::BASE64URL_NOPAD.encode(claims.as_bytes()));
        let text = format!(
            r#"{{"accessToken":{{"accessKeyId":"ASIAQNZGKNWXHOBBHJ7G","secretAccessKey":"s","sessionToken":"t",
                "accountId":"012345678901","expiresAt":"2026-12-02T11:00:00Z"}},"refreshToken":"r","idToken":"{jwt}"}}"#
        );
        let (kind, expires, refreshable, secret) = login_session(&text, at("2026-12-02T12:00:00Z")).unwrap();
        assert_eq!(
            kind,
            SessionKind::Login { session_arn: Some("arn:aws:sts::012345678901:assumed-role/Admin/alice".into()) }
        );
        assert_eq!(expires.as_deref(), Some("2026-12-02T11:00:00Z"));
        assert!(refreshable && secret.is_some());
        assert_eq!(id_token_subject("a.!!!.c"), None);
    }
}
