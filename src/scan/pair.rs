//! Pairing: which secret (and session token) belongs to which key ID in
//! one input. A labelled secret near the key ID first; then, for a key ID
//! still alone, the structure around it (its INI section, its CSV row, its
//! JSON object) and finally an unlabelled secret-shaped neighbour. Each way
//! is described, with examples, in patterns/aws.toml's `[[pairing]]` tables.

use std::fs::File;
use std::os::unix::fs::FileExt;

use zeroize::Zeroizing;

use crate::credential::{self, KeyId, KeyIdKind, Secret};
use crate::location::Location;
use crate::rules::Capture;
use crate::scan::LocatedMatch;
use crate::scan::decode::Decoding;

/// How a secret was found to belong to its key ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PairedBy {
    /// A labelled secret (`aws_secret_access_key = …`) within a few lines of the key ID.
    Label,
    /// The same INI section (`[default]` … `secret_key = …`), at any distance.
    IniSection,
    /// The same CSV row, by the header's column names.
    CsvColumns,
    /// A sibling field of the JSON object holding the key ID (`"id"` next to `"secret"`).
    JsonObject,
    /// A secret-shaped token with no label on the key ID's line or the next few.
    Neighbour,
    /// An AWS SDK would load the pair (a profile, environment variables, system properties).
    SdkModel,
}

impl PairedBy {
    /// How the secret was found, for people.
    pub fn describe(self) -> &'static str {
        match self {
            PairedBy::Label => "by the secret's label, a few lines away",
            PairedBy::IniSection => "by INI section: the secret is in the same section",
            PairedBy::CsvColumns => "by CSV columns: the secret is in the same row, under its header",
            PairedBy::JsonObject => "by JSON object: the secret is a sibling field",
            PairedBy::Neighbour => "by shape: an unlabelled secret-shaped value next to the key ID",
            PairedBy::SdkModel => "by an AWS SDK model, which would load the pair",
        }
    }

    /// The id of the `[[pairing]]` table that documents this way.
    pub fn id(self) -> &'static str {
        match self {
            PairedBy::Label => "label",
            PairedBy::IniSection => "ini-section",
            PairedBy::CsvColumns => "csv-columns",
            PairedBy::JsonObject => "json-object",
            PairedBy::Neighbour => "neighbour",
            PairedBy::SdkModel => "sdk-model",
        }
    }
}

/// One credential seen in one input: a key ID with what was paired with
/// it, or a secret with no key ID.
#[derive(Clone, Debug)]
pub struct Sighting {
    pub location: Location,
    /// Indices (in the rule set) of the rules whose matches make it up; the
    /// key ID's (or the lone secret's) first. Empty when an SDK model found it.
    pub rules: Vec<usize>,
    pub key_id: Option<KeyId>,
    pub secret: Option<Secret>,
    pub token: Option<Secret>,
    pub paired_by: Option<PairedBy>,
    /// How the input was decoded before it was matched (plain for most).
    pub decoding: Decoding,
    /// A key ID without a secret, beside which the AWS documentation's
    /// example secret stands (as in a config copied from the docs).
    pub example_secret: bool,
}

impl Sighting {
    /// The same sighting in another process with the same environment and
    /// command line (a forked worker).
    pub fn for_process(&self, process: &crate::location::ProcessInfo) -> Sighting {
        let mut s = self.clone();
        match &mut s.location {
            Location::Process { process: p, .. } | Location::CommandLine { process: p, .. } => *p = process.clone(),
            Location::File { .. } | Location::ImdsUserData { .. } => {}
        }
        s
    }
}

/// What pairing may read again around a key ID.
pub enum Context<'a> {
    /// Nothing (a stream that cannot be read twice).
    None,
    /// The whole input, in memory (an environment, a command line).
    Bytes(&'a [u8]),
    /// A file that can be read again at any offset.
    File { file: &'a File, size: u64 },
    /// A decoded stream that can be decoded again, whole, if it is small
    /// enough (None when it is not): only done when a key ID needs it.
    Decoded(&'a dyn Fn() -> Option<Zeroizing<Vec<u8>>>),
}

/// Files up to this size are read again whole for structure; larger ones
/// in windows of [`WINDOW`] bytes on each side of a key ID.
const WHOLE_FILE: u64 = 1024 * 1024;
const WINDOW: u64 = 8 * 1024;
/// A CSV header is looked for in the first bytes of the input.
const HEADER: u64 = 4 * 1024;

struct Part<'a> {
    m: &'a LocatedMatch,
    taken: bool,
}

/// Pairs one input's matches (in offset order) into sightings. `lines` is
/// how many lines apart a labelled secret may be from its key ID; the
/// number returned counts session tokens with no temporary key ID near them.
pub fn pair(
    matches: &[LocatedMatch],
    lines: u64,
    context: Context,
    locate: &dyn Fn(&LocatedMatch) -> Location,
) -> (Vec<Sighting>, u64) {
    let mut ids: Vec<(KeyId, Part)> = Vec::new();
    let mut secrets: Vec<Part> = Vec::new();
    let mut tokens: Vec<Part> = Vec::new();
    let mut examples: Vec<&LocatedMatch> = Vec::new();
    // Bedrock API keys stand alone: nothing pairs with them.
    let mut standalone: Vec<&LocatedMatch> = Vec::new();
    for m in matches {
        match m.capture {
            Capture::Secret if m.example => examples.push(m),
            Capture::Secret if credential::is_bedrock_key(m.value.expose()) => standalone.push(m),
            Capture::KeyId => {
                if let Some(id) = KeyId::parse(m.value.expose()) {
                    ids.push((id, Part { m, taken: false }));
                }
            }
            Capture::Secret => secrets.push(Part { m, taken: false }),
            Capture::SessionToken => tokens.push(Part { m, taken: false }),
        }
    }
    // Nearest first; on a tie, prefer what follows the key ID (the usual order).
    let cost = |id: &LocatedMatch, other: &LocatedMatch| {
        let apart = id.line.abs_diff(other.line);
        (apart <= lines).then_some((apart, other.offset < id.offset, id.offset.abs_diff(other.offset)))
    };
    let secret_of = greedy_pairs(&ids, &mut secrets, |_, id, s| cost(id, s));
    // Session tokens belong to temporary keys only.
    let token_of = greedy_pairs(&ids, &mut tokens, |k, id, t| match k.kind() {
        KeyIdKind::Temporary => cost(id, t),
        KeyIdKind::LongTerm => None,
    });
    let unpaired_tokens = tokens.iter().filter(|t| !t.taken).count() as u64;

    let mut reader = Reader::new(context);
    // Labelled secrets already paired, and secrets structure gave a key ID:
    // each secret belongs to one key ID.
    let mut claimed: std::collections::HashSet<u64> = secrets.iter().filter(|s| s.taken).map(|s| s.m.offset).collect();
    let mut out = Vec::with_capacity(ids.len());
    for (i, (id, part)) in ids.iter().enumerate() {
        let mut rules = vec![part.m.rule];
        let (secret, paired_by) = match secret_of[i] {
            Some(s) => {
                rules.push(secrets[s].m.rule);
                (Some(Secret::new(secrets[s].m.value.expose())), Some(PairedBy::Label))
            }
            None => match reader.structure(part.m.offset, id).filter(|(_, at, _)| !claimed.contains(at)) {
                Some((found, at, how)) => {
                    claimed.insert(at);
                    // A labelled secret that structure paired is not also a lone secret.
                    if let Ok(j) = secrets.binary_search_by_key(&at, |s| s.m.offset) {
                        secrets[j].taken = true;
                        rules.push(secrets[j].m.rule);
                    }
                    (Some(Secret::new(&found)), Some(how))
                }
                None => (None, None),
            },
        };
        let token = token_of[i].map(|t| {
            rules.push(tokens[t].m.rule);
            Secret::new(tokens[t].m.value.expose())
        });
        rules.dedup();
        let location = locate(part.m);
        let example_secret = secret.is_none() && examples.iter().any(|e| e.line.abs_diff(part.m.line) <= lines);
        out.push(Sighting {
            location,
            rules,
            key_id: Some(id.clone()),
            secret,
            token,
            paired_by,
            decoding: Decoding::default(),
            example_secret,
        });
    }
    for m in secrets.iter().filter(|s| !s.taken).map(|s| s.m).chain(standalone) {
        out.push(Sighting {
            location: locate(m),
            rules: vec![m.rule],
            key_id: None,
            secret: Some(Secret::new(m.value.expose())),
            token: None,
            paired_by: None,
            decoding: Decoding::default(),
            example_secret: false,
        });
    }
    (out, unpaired_tokens)
}

/// Assigns each key ID at most one partner and each partner at most one key
/// ID, cheapest pairs first. Returns, per key ID, the index of its partner.
///
/// Only the few partners nearest each key ID (by offset) are candidates,
/// so an input packed with matches costs linear, not quadratic, time.
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

/// Reads the input again around key IDs that are still alone, and looks
/// for their secret in the structure there.
struct Reader<'a> {
    context: Context<'a>,
    /// A file (or decoded stream) small enough to be read again whole, once;
    /// `Some(None)` when a decoded stream turned out too large.
    whole: Option<Option<Zeroizing<Vec<u8>>>>,
    header: Option<Zeroizing<Vec<u8>>>,
}

impl<'a> Reader<'a> {
    fn new(context: Context<'a>) -> Reader<'a> {
        Reader { context, whole: None, header: None }
    }

    /// `(bytes, offset of bytes[0])` around `offset`, or None.
    fn window(&mut self, offset: u64) -> Option<(std::borrow::Cow<'_, [u8]>, u64)> {
        match &self.context {
            Context::None => None,
            Context::Bytes(b) => Some((std::borrow::Cow::Borrowed(*b), 0)),
            Context::File { file, size } if *size <= WHOLE_FILE => {
                let (file, size) = (*file, *size);
                let whole = self.whole.get_or_insert_with(|| Some(Zeroizing::new(read_at(file, 0, size))));
                whole.as_deref().map(|w| (std::borrow::Cow::Borrowed(&w[..]), 0))
            }
            Context::File { file, size } => {
                let start = offset.saturating_sub(WINDOW);
                let end = (offset + WINDOW).min(*size);
                Some((std::borrow::Cow::Owned(read_at(file, start, end - start)), start))
            }
            Context::Decoded(again) => {
                let again = *again;
                let whole = self.whole.get_or_insert_with(again);
                whole.as_deref().map(|w| (std::borrow::Cow::Borrowed(&w[..]), 0))
            }
        }
    }

    fn header(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        if self.header.is_none() {
            let head = match &self.context {
                Context::None => return None,
                Context::Bytes(b) => b[..b.len().min(HEADER as usize)].to_vec(),
                Context::File { file, size } => read_at(file, 0, (*size).min(HEADER)),
                Context::Decoded(_) => {
                    let (bytes, _) = self.window(0)?;
                    bytes[..bytes.len().min(HEADER as usize)].to_vec()
                }
            };
            self.header = Some(Zeroizing::new(head));
        }
        self.header.clone()
    }

    /// The secret that the structure around the key ID at `offset` pairs
    /// with it: its bytes, its absolute offset, and how.
    fn structure(&mut self, offset: u64, id: &KeyId) -> Option<(Vec<u8>, u64, PairedBy)> {
        let header = self.header()?;
        let (bytes, base) = self.window(offset)?;
        let pos = usize::try_from(offset.checked_sub(base)?).ok()?;
        // The key ID must still be where the scan saw it (the file may have changed).
        if bytes.get(pos..pos + 20) != Some(id.as_str().as_bytes()) {
            return None;
        }
        let found = ini_section(&bytes, pos)
            .map(|s| (s, PairedBy::IniSection))
            .or_else(|| csv_row(&header, &bytes, pos).map(|s| (s, PairedBy::CsvColumns)))
            .or_else(|| json_object(&bytes, pos).map(|s| (s, PairedBy::JsonObject)))
            .or_else(|| neighbour(&bytes, pos).map(|s| (s, PairedBy::Neighbour)))?;
        let (at, how) = found;
        Some((bytes[at..at + 40].to_vec(), base + at as u64, how))
    }
}

/// Up to `len` bytes of `file` from `offset` (fewer at its end or on an error).
pub fn read_at(file: &File, offset: u64, len: u64) -> Vec<u8> {
    let mut buf = vec![0; len as usize];
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    buf.truncate(got);
    buf
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// A name reduced to lower-case letters and digits: `AWS_Secret_Access_Key`,
/// `aws-secret-access-key` and `SecretAccessKey` are all `awssecretaccesskey`.
fn squash(name: &[u8]) -> Vec<u8> {
    name.iter().filter(|b| b.is_ascii_alphanumeric()).map(u8::to_ascii_lowercase).collect()
}

/// Option and field names that hold a secret access key.
const SECRET_NAMES: &[&[u8]] =
    &[b"awssecretaccesskey", b"secretaccesskey", b"awssecretkey", b"secretkey", b"awssecret", b"secret"];

/// Column and field names that hold an access key ID.
const KEY_ID_NAMES: &[&[u8]] =
    &[b"id", b"accesskeyid", b"awsaccesskeyid", b"accesskey", b"awsaccesskey", b"keyid", b"awskeyid"];

/// `value` (quotes and spaces around it removed) if it is exactly a
/// plausible 40-character secret: the offset of its first byte in `value`.
fn secret_value(value: &[u8]) -> Option<usize> {
    let lead = value.iter().take_while(|b| matches!(b, b' ' | b'\t' | b'"' | b'\'')).count();
    let rest = &value[lead..];
    let len = rest.iter().take_while(|b| is_b64(**b)).count();
    let tail = &rest[len..];
    let clean_end = tail.iter().all(|b| matches!(b, b' ' | b'\t' | b'"' | b'\'' | b'\r' | b','));
    (len == 40 && clean_end && credential::screen_secret(&rest[..40]) == credential::Screen::Keep).then_some(lead)
}

/// Line bounds `[start, end)` of the line holding `pos` (`\n`-separated).
fn line_at(bytes: &[u8], pos: usize) -> (usize, usize) {
    let start = memchr::memrchr(b'\n', &bytes[..pos]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
    (start, end)
}

fn is_section_header(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    t.len() >= 2 && t[0] == b'[' && t[t.len() - 1] == b']'
}

/// `name = value` or `name: value`: the name and where the value starts.
fn option(line: &[u8]) -> Option<(&[u8], usize)> {
    let sep = line.iter().position(|b| *b == b'=' || *b == b':')?;
    let name = line[..sep].trim_ascii();
    let ok = !name.is_empty() && name.iter().all(|b| b.is_ascii_alphanumeric() || b"_-. \t".contains(b));
    ok.then_some((name, sep + 1))
}

/// How far from a key ID the structure around it is looked for: an INI
/// section's header and options, a JSON object's braces.
const SECTION_REACH: usize = 64 * 1024;

/// INI: the key ID is an option's value in a section (a `[name]` header
/// above it), and an option of the same section named like a secret
/// (case and separators ignored) holds a 40-character secret.
fn ini_section(bytes: &[u8], pos: usize) -> Option<usize> {
    let (start, end) = line_at(bytes, pos);
    let (_, value_at) = option(&bytes[start..end])?;
    if start + value_at > pos || bytes[start + value_at..pos].iter().any(|b| !matches!(b, b' ' | b'\t' | b'"' | b'\''))
    {
        return None;
    }
    // The section: back to its header (there must be one), on to the next,
    // within [`SECTION_REACH`] of the key ID either way.
    let floor = pos.saturating_sub(SECTION_REACH);
    let ceiling = (pos + SECTION_REACH).min(bytes.len());
    let mut section_start = None;
    let mut line_start = start;
    while line_start > floor {
        let e = line_start - 1;
        let s = memchr::memrchr(b'\n', &bytes[..e]).map_or(0, |i| i + 1);
        if is_section_header(&bytes[s..e]) {
            section_start = Some(e + 1);
            break;
        }
        line_start = s;
    }
    let section_start = section_start?;
    let mut at = section_start;
    for line in bytes[section_start..ceiling].split(|b| *b == b'\n') {
        if at > pos && is_section_header(line) {
            break;
        }
        if let Some((name, value_at)) = option(line) {
            let squashed = squash(name);
            if SECRET_NAMES.contains(&squashed.as_slice())
                && let Some(lead) = secret_value(&line[value_at..])
            {
                return Some(at + value_at + lead);
            }
        }
        at += line.len() + 1;
        if at > bytes.len() {
            break;
        }
    }
    None
}

/// Splits a CSV line on `delim`, with double-quoted fields: each field's
/// bounds in the line, quotes excluded.
fn csv_fields(line: &[u8], delim: u8) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let (start, end);
        if line.get(i) == Some(&b'"') {
            start = i + 1;
            let close = line[start..].iter().position(|b| *b == b'"').map_or(line.len(), |p| start + p);
            end = close;
            i = line[close..].iter().position(|b| *b == delim).map_or(line.len(), |p| close + p);
        } else {
            start = i;
            i = line[i..].iter().position(|b| *b == delim).map_or(line.len(), |p| i + p);
            end = i;
        }
        out.push((start, end));
        if i >= line.len() {
            return out;
        }
        i += 1;
    }
}

/// CSV: the input's first line names a key ID column and a secret column
/// (`Access key ID,Secret access key`, as the IAM console writes them), and
/// the key ID's row has a 40-character secret in the secret column.
fn csv_row(header: &[u8], bytes: &[u8], pos: usize) -> Option<usize> {
    let first = &header[..memchr::memchr(b'\n', header)?];
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let delim = [b',', b';', b'\t'].into_iter().find(|d| first.contains(d))?;
    let columns: Vec<Vec<u8>> = csv_fields(first, delim).into_iter().map(|(s, e)| squash(&first[s..e])).collect();
    let key_col = columns.iter().position(|c| KEY_ID_NAMES.contains(&c.as_slice()))?;
    let secret_col = columns.iter().position(|c| SECRET_NAMES.contains(&c.as_slice()))?;
    let (start, end) = line_at(bytes, pos);
    let row = &bytes[start..end];
    let row = row.strip_suffix(b"\r").unwrap_or(row);
    let fields = csv_fields(row, delim);
    let (ks, ke) = *fields.get(key_col)?;
    if start + ks > pos || start + ke < pos + 20 {
        return None;
    }
    let (ss, se) = *fields.get(secret_col)?;
    let lead = secret_value(&row[ss..se])?;
    Some(start + ss + lead)
}

/// A JSON string ending just before `at` (at is the index after the
/// closing quote's position + 1): its contents' bounds. Escapes are not
/// decoded; names and secrets have none.
fn string_before(bytes: &[u8], close: usize) -> Option<(usize, usize)> {
    if bytes.get(close) != Some(&b'"') {
        return None;
    }
    let open = memchr::memrchr(b'"', &bytes[..close])?;
    Some((open + 1, close))
}

/// JSON: the key ID is the string value of a field named like a key ID
/// (`"id"`, `"AccessKeyId"`, `"aws_access_key_id"`), and a sibling field of
/// the same object named like a secret (`"secret"`, `"SecretAccessKey"`)
/// holds a 40-character secret: Terraform state, `aws iam
/// create-access-key` output, credential dumps.
fn json_object(bytes: &[u8], pos: usize) -> Option<usize> {
    if pos == 0 || bytes[pos - 1] != b'"' || bytes.get(pos + 20) != Some(&b'"') {
        return None;
    }
    // `"name" : "AKIA…"`
    let mut i = pos - 1;
    while i > 0 && bytes[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    if i == 0 || bytes[i - 1] != b':' {
        return None;
    }
    i -= 1;
    while i > 0 && bytes[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    let (ns, ne) = string_before(bytes, i.checked_sub(1)?)?;
    if !KEY_ID_NAMES.contains(&squash(&bytes[ns..ne]).as_slice()) {
        return None;
    }
    // The enclosing object: back to the `{` that opens it, on to its `}`,
    // counting braces outside strings.
    let open = enclosing_open(bytes, ns.saturating_sub(1))?;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut field_name: Option<(usize, usize)> = None;
    let mut last_string: Option<(usize, usize)> = None;
    let mut string_start = 0;
    for (j, &b) in bytes.iter().enumerate().take(open + 2 * SECTION_REACH).skip(open) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    let s = (string_start, j);
                    // A string right after a name and a colon is that field's value.
                    if depth == 1 && field_name.is_some() {
                        let name = field_name.take().unwrap();
                        if SECRET_NAMES.contains(&squash(&bytes[name.0..name.1]).as_slice())
                            && let Some(lead) = secret_value(&bytes[s.0..s.1])
                        {
                            return Some(s.0 + lead);
                        }
                    } else {
                        last_string = Some(s);
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                string_start = j + 1;
            }
            b'{' | b'[' => {
                depth += 1;
                field_name = None;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return None;
                }
            }
            b':' if depth == 1 => field_name = last_string.take(),
            b',' => {
                field_name = None;
                last_string = None;
            }
            _ => {}
        }
    }
    None
}

/// The `{` that opens the object around `pos`, scanning back and counting
/// braces (strings are assumed to hold no braces, as key objects' fields do not).
fn enclosing_open(bytes: &[u8], pos: usize) -> Option<usize> {
    let mut depth = 0usize;
    for j in (pos.saturating_sub(SECTION_REACH)..pos).rev() {
        match bytes[j] {
            b'}' | b']' => depth += 1,
            b'[' if depth > 0 => depth -= 1,
            b'{' if depth == 0 => return Some(j),
            b'{' => depth -= 1,
            b'[' => return None,
            _ => {}
        }
    }
    None
}

/// How many lines (`\n`, `\r` or NUL separated; empty ones not counted)
/// after and before the key ID's line an unlabelled secret may be.
const NEIGHBOUR_AFTER: usize = 3;
const NEIGHBOUR_BEFORE: usize = 2;

/// No label: a 40-character token with a secret's shape
/// ([`credential::is_secret_shaped`]), bounded by characters that cannot be
/// part of one, on the key ID's own line (after it, then before it), on the
/// next few lines, or on the line or two before: an export of a console CSV
/// without its header, a binary's adjacent strings, a hand-written note.
fn neighbour(bytes: &[u8], pos: usize) -> Option<usize> {
    let is_sep = |b: &u8| matches!(b, b'\n' | b'\r' | 0);
    let start = bytes[..pos].iter().rposition(is_sep).map_or(0, |i| i + 1);
    let end = bytes[pos..].iter().position(is_sep).map_or(bytes.len(), |i| pos + i);
    let own_after = token_in(bytes, pos + 20, end);
    let own_before = || token_in(bytes, start, pos);
    let next_lines = || {
        let mut out = Vec::new();
        let mut at = end;
        while out.len() < NEIGHBOUR_AFTER && at < bytes.len() {
            let s = at + 1;
            let e = bytes.get(s..).and_then(|r| r.iter().position(is_sep)).map_or(bytes.len(), |i| s + i);
            if e > s {
                out.push((s, e));
            }
            at = e;
        }
        out
    };
    let prev_lines = || {
        let mut out = Vec::new();
        let mut at = start;
        while out.len() < NEIGHBOUR_BEFORE && at > 0 {
            let e = at - 1;
            let s = bytes[..e].iter().rposition(is_sep).map_or(0, |i| i + 1);
            if e > s {
                out.push((s, e));
            }
            at = s;
        }
        out
    };
    own_after
        .or_else(own_before)
        .or_else(|| next_lines().into_iter().find_map(|(s, e)| token_in(bytes, s, e)))
        .or_else(|| prev_lines().into_iter().find_map(|(s, e)| token_in(bytes, s, e)))
}

/// The first secret-shaped, bounded 40-character token in `bytes[from..to]`.
fn token_in(bytes: &[u8], from: usize, to: usize) -> Option<usize> {
    let mut i = from;
    while i < to {
        if !is_b64(bytes[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < bytes.len() && is_b64(bytes[i]) {
            i += 1;
        }
        let bounded_before = s == 0 || !is_b64(bytes[s - 1]);
        let padded = bytes.get(i) == Some(&b'=');
        if bounded_before && !padded && i - s == 40 && i <= to && credential::is_secret_shaped(&bytes[s..i]) {
            return Some(s);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AKIA2OGYBAH6STMMNXNN";
    const SECRET: &str = "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";

    fn at(text: &str, what: &str) -> usize {
        text.find(what).unwrap()
    }

    fn found(f: fn(&[u8], usize) -> Option<usize>, text: &str) -> Option<String> {
        let pos = at(text, ID);
        f(text.as_bytes(), pos).map(|s| text[s..s + 40].to_string())
    }

    #[test]
    fn ini_sections_pair_at_any_distance_within_the_section() {
        let filler: String = (0..40).map(|i| format!("option_{i} = value {i}\n")).collect();
        let text = format!("[default]\naccess_key = {ID}\n{filler}secret_key = {SECRET}\n[other]\nx = 1\n");
        assert_eq!(found(ini_section, &text).as_deref(), Some(SECRET));
        let other = format!("[a]\naws_access_key_id = {ID}\n[b]\nAWS_Secret_Access_Key      = {SECRET}\n");
        assert_eq!(found(ini_section, &other), None, "another section's secret");
        let no_header = format!("access_key = {ID}\nsecret_key = {SECRET}\n");
        assert_eq!(found(ini_section, &no_header), None, "not INI without a section");
    }

    #[test]
    fn csv_rows_pair_by_the_header() {
        let text = format!(
            "User name,Password,Access key ID,Secret access key,Console login link\nbob,,{ID},{SECRET},https://x\n"
        );
        let pos = at(&text, ID);
        let s = csv_row(text.as_bytes(), text.as_bytes(), pos).unwrap();
        assert_eq!(&text[s..s + 40], SECRET);
        let quoted = format!("\"Access key ID\";\"Secret access key\"\r\n\"{ID}\";\"{SECRET}\"\r\n");
        let s = csv_row(quoted.as_bytes(), quoted.as_bytes(), at(&quoted, ID)).unwrap();
        assert_eq!(&quoted[s..s + 40], SECRET);
        let wrong = format!("Secret access key,Access key ID\n{ID},{SECRET}\n");
        assert_eq!(csv_row(wrong.as_bytes(), wrong.as_bytes(), at(&wrong, ID)), None, "columns swapped");
    }

    #[test]
    fn json_objects_pair_sibling_fields() {
        let tf = format!(
            "{{\"attributes\": {{\n  \"create_date\": \"2024\",\n  \"id\": \"{ID}\",\n  \"pgp_key\": null,\n  \"ses\": {{\"x\": \"y\"}},\n  \"secret\": \"{SECRET}\",\n  \"user\": \"u\"\n}}}}"
        );
        assert_eq!(found(json_object, &tf).as_deref(), Some(SECRET));
        let cli = format!(
            "{{\"AccessKey\": {{\"UserName\": \"u\", \"AccessKeyId\": \"{ID}\", \"Status\": \"Active\", \"SecretAccessKey\": \"{SECRET}\"}}}}"
        );
        assert_eq!(found(json_object, &cli).as_deref(), Some(SECRET));
        let nested = format!("{{\"id\": \"{ID}\", \"inner\": {{\"secret\": \"{SECRET}\"}}}}");
        assert_eq!(found(json_object, &nested), None, "not a sibling");
        let other = format!("{{\"a\": {{\"id\": \"{ID}\"}}, \"b\": {{\"secret\": \"{SECRET}\"}}}}");
        assert_eq!(found(json_object, &other), None, "another object");
    }

    #[test]
    fn unlabelled_neighbours() {
        assert_eq!(found(neighbour, &format!("{ID} {SECRET}\n")).as_deref(), Some(SECRET));
        assert_eq!(found(neighbour, &format!("{ID}\n\n{SECRET}\n")).as_deref(), Some(SECRET));
        assert_eq!(found(neighbour, &format!("{ID}\0\0\0\u{8}\0{SECRET}\0")).as_deref(), Some(SECRET));
        assert_eq!(found(neighbour, &format!("{ID}\na\nb\nc\n{SECRET}\n")), None, "too far");
        assert_eq!(found(neighbour, &format!("{ID} {SECRET}x\n")), None, "not bounded");
        assert_eq!(found(neighbour, &format!("{ID} {SECRET}==\n")), None, "longer base64");
        let hex = "ded7db27a4558eea9bbf0bf36e0e8521618f366c";
        assert_eq!(found(neighbour, &format!("{ID} {hex}\n")), None, "a SHA-1");
    }
}
