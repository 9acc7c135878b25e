//! The words every layer shares about AWS credentials: access key IDs and
//! the accounts they encode, secrets that never print themselves, the shape
//! tests that tell a credential from an example, a placeholder or a word, and
//! redaction of host text that may hold one.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

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

impl Clone for Secret {
    fn clone(&self) -> Secret {
        Secret { bytes: self.bytes.clone(), fingerprint: self.fingerprint.clone() }
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
        write!(f, "<secret sha256:{}>", self.fingerprint)
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
    pub fn is_documentation_example(&self) -> bool {
        self.0.contains("EXAMPLE") || self.0[4..].starts_with("IOSFODNN7")
    }

    /// Fillers such as `AKIAXXXXXXXXXXXXXXXX`, `AKIATESTTESTTESTTEST`,
    /// `AKIAABCDEFGHIJKLMNOP` or `AKIAQWERTYUIQWERTYUI`: a random body of 16
    /// base32 characters has about 12 distinct ones, no long alphabetic
    /// runs, and does not repeat itself.
    pub fn is_placeholder(&self) -> bool {
        let body = &self.0.as_bytes()[4..];
        distinct(body) < 6 || ascending_steps(body) >= 10 || (1..=8).any(|p| repeats_with_period(body, p))
    }

    /// An identifier that happens to have a key ID's shape, such as the Java
    /// enum constant `ASIAPACIFICSOUTHEAST`: a body of letters only (no
    /// digit 2-7) in which at least 6 of the 16 are vowels. English words
    /// are about 40 % vowels; a random key body has no digit in 3.6 % of
    /// keys and then 6 vowels or more in 7 % of those (0.25 % of real keys),
    /// so the test is applied only to a key ID found without its secret.
    pub fn looks_like_a_word(&self) -> bool {
        let body = &self.0.as_bytes()[4..];
        let vowels = body.iter().filter(|b| b"AEIOU".contains(b)).count();
        body.iter().all(u8::is_ascii_uppercase) && vowels >= 6
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

fn repeats_with_period(bytes: &[u8], period: usize) -> bool {
    period < bytes.len() && bytes.iter().zip(&bytes[period..]).all(|(a, b)| a == b)
}

/// Shannon entropy of `bytes` in bits per byte.
pub fn entropy(bytes: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| f64::from(c) / n).map(|p| -p * p.log2()).sum()
}

/// What the scanner makes of a captured value before pairing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Could be a real credential: keep it.
    Keep,
    /// An AWS documentation example.
    Example,
    /// A filler or a value that cannot be a real one.
    Placeholder,
}

/// A key ID as captured: a real shape, an example or a placeholder.
pub fn screen_key_id(s: &[u8]) -> Screen {
    match KeyId::parse(s) {
        Some(id) if id.is_documentation_example() => Screen::Example,
        Some(id) if id.is_placeholder() => Screen::Placeholder,
        Some(_) => Screen::Keep,
        None => Screen::Placeholder,
    }
}

/// A labelled secret access key as captured: 40 characters of
/// `[A-Za-z0-9/+]`; one without both upper and lower case (a SHA-1 in hex,
/// a filler) is not one.
pub fn screen_secret(s: &[u8]) -> Screen {
    if is_example_secret(s) {
        Screen::Example
    } else if s.iter().any(u8::is_ascii_uppercase) && s.iter().any(u8::is_ascii_lowercase) && distinct(s) >= 10 {
        Screen::Keep
    } else {
        Screen::Placeholder
    }
}

/// Whether a captured secret is an Amazon Bedrock long-term API key
/// (`ABSK` and at least 60 base64 characters, as rule aws.bedrock-api-key
/// matches it), which is a credential on its own; a 40-character secret
/// access key that happens to start with `ABSK` is not one.
pub fn is_bedrock_key(s: &[u8]) -> bool {
    s.len() >= 64 && s.starts_with(b"ABSK")
}

/// The service user and account a Bedrock long-term API key names
/// (`BedrockAPIKey-<id>-at-<account>`, before the `:` and its secret): what
/// an operator looks the credential up by. None when it does not decode so.
pub fn bedrock_identity(key: &[u8]) -> Option<(String, String)> {
    let encoded = key.strip_prefix(b"ABSK")?;
    let decoded = zeroize::Zeroizing::new(data_encoding::BASE64.decode(encoded).ok()?);
    let colon = memchr::memchr(b':', &decoded)?;
    let user = std::str::from_utf8(&decoded[..colon]).ok()?;
    let account = user.strip_prefix("BedrockAPIKey-")?.rsplit_once("-at-")?.1;
    // What decodes is anyone's bytes: only a name of the documented shape is shown.
    let plausible = account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && user.len() <= 128
        && user.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    plausible.then(|| (user.to_string(), account.to_string()))
}

/// A session token as captured.
pub fn screen_token(s: &[u8]) -> Screen {
    if distinct(s) < 10 { Screen::Placeholder } else { Screen::Keep }
}

/// The AWS documentation's example secrets contain `EXAMPLE`; test suites
/// also use variants of `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`.
pub fn is_example_secret(s: &[u8]) -> bool {
    memchr::memmem::find(s, b"EXAMPLE").is_some() || s.starts_with(b"wJalrXUtnFEMI/K7MDENG")
}

/// Entropy, in bits per character, below which a 40-character token with no
/// label is not taken for a secret. Of 100,000 random secrets, 0.1 % fall
/// below 4.35 and 1 % below 4.47 (median 4.78); prose, paths and fillers run
/// from 2 to about 4.2.
pub const UNLABELLED_ENTROPY_FLOOR: f64 = 4.3;

/// Whether a 40-character token with no label next to it has a secret
/// access key's shape: only `[A-Za-z0-9/+]`, upper case, lower case and
/// digits all present, not hexadecimal, not a path (at most three `/`),
/// not an example, and entropy above [`UNLABELLED_ENTROPY_FLOOR`].
pub fn is_secret_shaped(s: &[u8]) -> bool {
    s.len() == 40
        && s.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'/' || *b == b'+')
        && s.iter().any(u8::is_ascii_uppercase)
        && s.iter().any(u8::is_ascii_lowercase)
        && s.iter().any(u8::is_ascii_digit)
        && !s.iter().all(u8::is_ascii_hexdigit)
        && s.iter().filter(|b| **b == b'/').count() <= 3
        && !is_example_secret(s)
        && entropy(s) >= UNLABELLED_ENTROPY_FLOOR
}

/// Runs of this many base64 characters or more are redacted from host text.
const REDACT_MIN_RUN: usize = 40;

/// Host text (a command line, an environment entry, a `credential_process`
/// value) with every run of 40 or more characters of `[A-Za-z0-9/+]` (and
/// its `=` padding) that mixes cases, or letters and digits, replaced by
/// `<secret sha256:…>`: a secret access key, a session token or a Bedrock
/// key cannot pass through. Key IDs (20 characters) stay readable.
pub fn redact(text: &str) -> String {
    let b = text.as_bytes();
    let is_run = |c: u8| c.is_ascii_alphanumeric() || c == b'/' || c == b'+';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        if !is_run(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_run(b[i]) {
            i += 1;
        }
        let mut end = i;
        while end < b.len() && end - i < 2 && b[end] == b'=' {
            end += 1;
        }
        let run = &b[start..i];
        let mixed = (run.iter().any(u8::is_ascii_uppercase) && run.iter().any(u8::is_ascii_lowercase))
            || (run.iter().any(u8::is_ascii_digit) && run.iter().any(u8::is_ascii_alphabetic));
        if run.len() >= REDACT_MIN_RUN && mixed {
            out.push_str(&text[copied..start]);
            out.push_str(&Secret::new(run).to_string());
            copied = end;
            i = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bedrock_key_names_its_user_only_when_the_name_has_its_shape() {
        let key = |user: &str| format!("ABSK{}", data_encoding::BASE64.encode(format!("{user}:secretpart").as_bytes()));
        let ok = key("BedrockAPIKey-q7x2-at-123456789012");
        assert_eq!(bedrock_identity(ok.as_bytes()).map(|(_, a)| a), Some("123456789012".to_string()));
        assert_eq!(bedrock_identity(key("BedrockAPIKey-\x1b[31m-at-123456789012").as_bytes()), None);
        assert!(!is_bedrock_key(b"ABSKshortfortysecretaccesskeyABCDEFGHIJK"));
    }

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
        assert!(ph("AKIAQWERTYUIQWERTYUI"));
        assert!(!ph("AKIA2OGYBAH6STMMNXNN"));
        assert!(!ph("AKIALALEMEL33243OLIB"));
        assert_eq!(screen_secret(b"ded7db27a4558eea9bbf0bf36e0e8521618f366c"), Screen::Placeholder);
        assert_eq!(screen_secret(b"5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f"), Screen::Keep);
    }

    #[test]
    fn words_with_a_key_shape() {
        let word = |k: &str| KeyId::parse(k.as_bytes()).unwrap().looks_like_a_word();
        assert!(word("ASIAPACIFICSOUTHEAST") && word("ASIAPACIFICNORTHEAST"));
        assert!(!word("AKIA2OGYBAH6STMMNXNN") && !word("AKIALALEMEL33243OLIB") && !word("ASIAY34FZKBOKMUTVV7A"));
        // All letters but consonant-heavy, as random bodies are.
        assert!(!word("AKIAQJXWMKTRBNZHGDCA"));
    }

    #[test]
    fn unlabelled_secrets_have_a_shape() {
        assert!(is_secret_shaped(b"5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f"));
        assert!(!is_secret_shaped(b"ded7db27a4558eea9bbf0bf36e0e8521618f366c"), "hex");
        assert!(!is_secret_shaped(b"com/amazonaws/services/s3/AmazonS3Client"), "a path");
        assert!(!is_secret_shaped(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), "the example");
        assert!(!is_secret_shaped(b"AAAAAAAAAAbbbbbbbbbb1111111111CCCCCCCCCC"), "low entropy");
        assert!(!is_secret_shaped(b"Lorem1psumDolorSitAmetConsecteturAdipisc"), "prose");
        assert!(!is_secret_shaped(b"getAwsCredentialsProviderForS3Client2023"), "an identifier");
        assert!(!is_secret_shaped(b"5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5"), "39 characters");
    }

    #[test]
    fn redaction_keeps_key_ids_and_drops_secrets() {
        let secret = "5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f";
        let fp = Secret::new(secret.as_bytes()).fingerprint().to_string();
        let cmd = format!("java -Daws.accessKeyId=AKIA2OGYBAH6STMMNXNN -Daws.secretAccessKey={secret} -jar app.jar");
        let shown = redact(&cmd);
        assert_eq!(
            shown,
            format!(
                "java -Daws.accessKeyId=AKIA2OGYBAH6STMMNXNN -Daws.secretAccessKey=<secret sha256:{fp}> -jar app.jar"
            )
        );
        let token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDoG1aR3Kq8vN2mT5xW7yZ4bC6dF9hJ0kL3nP5qR8sU1vX4zA7cE2gI5jM8oQ0tW3y==";
        assert!(!redact(&format!("AWS_SESSION_TOKEN={token}")).contains("IQoJb3Jp"));
        assert_eq!(
            redact("/usr/lib/jvm/java-17-openjdk-amd64/bin/java -Xmx2g"),
            "/usr/lib/jvm/java-17-openjdk-amd64/bin/java -Xmx2g"
        );
        assert_eq!(redact("unicode é ünïcode"), "unicode é ünïcode");
        assert_eq!(redact(""), "");
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
