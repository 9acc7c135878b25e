//! Parses the AWS shared `credentials` and `config` files the way botocore
//! does (Python's `RawConfigParser`, then `build_profile_map`), errors
//! included, and the way the Rust and JavaScript v3 SDKs' own parsers do.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

/// Options of one section, names lowercased, values stripped.
pub type Options = BTreeMap<String, String>;

/// A section's options while parsing: names in file order, each value's lines.
type RawOptions = Vec<(String, Vec<String>)>;

/// Why botocore would refuse a file (it raises `ConfigParseError`, and the
/// SDK call that needed credentials fails).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// An INI file as `RawConfigParser` reads it: sections in file order, each
/// with the `[DEFAULT]` section's options merged under its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ini {
    pub sections: Vec<(String, Options)>,
}

impl Ini {
    pub fn section(&self, name: &str) -> Option<&Options> {
        self.sections.iter().find(|(n, _)| n == name).map(|(_, o)| o)
    }

    /// Parses `text` (already decoded) like Python 3's `RawConfigParser`
    /// with its defaults: `=` or `:` delimiters, full-line `#`/`;`
    /// comments, no inline comments, indented continuation lines, strict
    /// (a duplicate section or option is an error), lowercased option names.
    pub fn parse(text: &str) -> Result<Ini, ParseError> {
        let mut sections: Vec<RawSection> = Vec::new();
        let mut defaults = RawSection::default();
        let mut seen_sections: HashSet<String> = HashSet::new();
        // The section being read (None before the first header; DEFAULT
        // for [DEFAULT]) and the index of the option being read in it.
        let mut current: Option<usize> = None;
        let mut option: Option<usize> = None;
        let mut indent_level = 0usize;
        let mut first_error: Option<ParseError> = None;
        let mut properties = 0usize;
        const DEFAULT: usize = usize::MAX;

        for (i, line) in python_lines(text).enumerate() {
            let lineno = i + 1;
            if properties > MAX_PROPERTIES {
                return Err(too_many(lineno));
            }
            let stripped = line.trim();
            let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
            let value = if is_comment { "" } else { stripped };
            let section = match current {
                Some(DEFAULT) => Some(&mut defaults),
                Some(c) => Some(&mut sections[c]),
                None => None,
            };
            let value_of_option = section.and_then(|s| Some(&mut s.options[option?].1));
            if value.is_empty() {
                // An empty line inside a value is kept (and trimmed at the end); a comment line is not.
                if let (false, Some(v)) = (is_comment, value_of_option) {
                    v.push(String::new());
                }
                continue;
            }
            let cur_indent = line.len() - line.trim_start().len();
            if let Some(v) = value_of_option.filter(|_| cur_indent > indent_level) {
                v.push(value.to_string());
                continue;
            }
            indent_level = cur_indent;
            if let Some(header) = section_header(value) {
                if header == "DEFAULT" {
                    current = Some(DEFAULT);
                } else if !seen_sections.insert(header.to_string()) {
                    return Err(ParseError { line: lineno, message: format!("section {header:?} already exists") });
                } else {
                    sections.push(RawSection { name: header.to_string(), ..RawSection::default() });
                    current = Some(sections.len() - 1);
                    properties += 1;
                }
                option = None;
                continue;
            }
            let Some(cur) = current else {
                return Err(ParseError { line: lineno, message: "no section header before the first option".into() });
            };
            match split_option(value) {
                Some((name, val)) => {
                    let name = name.trim_end().to_lowercase();
                    let section = if cur == DEFAULT { &mut defaults } else { &mut sections[cur] };
                    if !section.names.insert(name.clone()) {
                        return Err(ParseError { line: lineno, message: format!("option {name:?} already exists") });
                    }
                    section.options.push((name, vec![val.trim().to_string()]));
                    option = Some(section.options.len() - 1);
                    properties += 1;
                }
                None => {
                    // ParsingError is raised after the whole file is read.
                    first_error.get_or_insert(ParseError { line: lineno, message: "not an option (no = or :)".into() });
                    option = None;
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        // Every section inherits [DEFAULT]: refuse what would take more
        // than a few million copies (no real file comes near).
        if defaults.options.len().saturating_mul(sections.len()) > MAX_INHERITED {
            return Err(ParseError { line: 1, message: "too many [DEFAULT] options times sections to read".into() });
        }
        let join = |opts: RawOptions| -> Options {
            opts.into_iter().map(|(k, v)| (k, v.join("\n").trim_end().to_string())).collect()
        };
        let defaults = join(defaults.options);
        let sections = sections
            .into_iter()
            .map(|s| {
                let mut merged = defaults.clone();
                merged.extend(join(s.options));
                (s.name, merged)
            })
            .collect();
        Ok(Ini { sections })
    }
}

/// Options inherited from `[DEFAULT]` at most, summed over sections.
const MAX_INHERITED: usize = 4_000_000;

/// Sections and options a file may have for rolecall to model it: real
/// shared config files have hundreds of profiles; a file with more is read
/// by the matcher (its pairs are still found) but not modelled, so that one
/// user's huge file cannot cost the root scan its memory.
pub const MAX_PROPERTIES: usize = 100_000;

fn too_many(line: usize) -> ParseError {
    ParseError { line, message: format!("more than {MAX_PROPERTIES} sections and options: not modelled") }
}

/// A section while parsing: its options in file order, each value's lines,
/// and the set of their names.
#[derive(Default)]
struct RawSection {
    name: String,
    options: RawOptions,
    names: HashSet<String>,
}

/// Lines as Python's text mode splits them: on `\n`, `\r\n` and `\r`.
fn python_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\n', '\r']) {
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
        }
    })
}

/// `\[(?P<header>.+)\]` matched at the start: everything up to the last `]`.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

/// `(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$`: the first `=` or `:`
/// splits; an empty option name is an error.
fn split_option(value: &str) -> Option<(&str, &str)> {
    let i = value.find(['=', ':'])?;
    let name = value[..i].trim_end();
    (!name.is_empty()).then(|| (name, &value[i + 1..]))
}

/// `shlex.split` of a section name, as botocore's `_parse_section` does:
/// whitespace separates words, quotes group, a backslash escapes outside
/// single quotes. None when the quoting is unbalanced.
fn shlex_split(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => cur.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => cur.push(c),
                            '\n' => {}
                            c => {
                                cur.push('\\');
                                cur.push(c);
                            }
                        },
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next()?);
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

/// A config file's profiles and SSO sessions, by botocore's `build_profile_map`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigProfiles {
    pub profiles: BTreeMap<String, Options>,
    pub sso_sessions: BTreeMap<String, Options>,
}

impl ConfigProfiles {
    /// `[default]` and `[profile NAME]` are profiles (a later section with
    /// the same name replaces an earlier one); `[sso-session NAME]` are SSO
    /// sessions; everything else is ignored.
    pub fn from_config(ini: &Ini) -> ConfigProfiles {
        let mut out = ConfigProfiles::default();
        for (key, values) in &ini.sections {
            let target = if key.starts_with("profile") {
                &mut out.profiles
            } else if key.starts_with("sso-session") {
                &mut out.sso_sessions
            } else if key == "default" {
                out.profiles.insert(key.clone(), values.clone());
                continue;
            } else {
                continue;
            };
            if let Some([_, name]) = shlex_split(key).as_deref() {
                target.insert(name.clone(), values.clone());
            }
        }
        out
    }
}

/// One file's sections in file order, as an SDK's own parser reads them
/// (a section named twice is merged, a later option replaces an earlier).
pub type Sections = Vec<(String, Options)>;

/// The options of the section called `name` (the first, if several).
pub fn section<'a>(sections: &'a Sections, name: &str) -> Option<&'a Options> {
    sections.iter().find(|(n, _)| n == name).map(|(_, o)| o)
}

/// The index of section `name` in `sections`, added if it is new; `index`
/// maps names to indices, so that a file of many sections parses in linear time.
fn merge_section(sections: &mut Sections, index: &mut HashMap<String, usize>, name: &str) -> usize {
    if let Some(&i) = index.get(name) {
        return i;
    }
    sections.push((name.to_string(), Options::new()));
    index.insert(name.to_string(), sections.len() - 1);
    sections.len() - 1
}

/// aws-runtime's `prepare_line`: trims spaces and tabs, and cuts a comment
/// (`#` or `;`, after whitespace when `comments_need_whitespace`).
fn rust_prepare_line(line: &str, comments_need_whitespace: bool) -> &str {
    let line = line.trim_matches([' ', '\t']);
    let mut prev_whitespace = false;
    for (i, c) in line.char_indices() {
        if (c == '#' || c == ';') && (prev_whitespace || !comments_need_whitespace) {
            return line[..i].trim_matches([' ', '\t']);
        }
        prev_whitespace = c.is_whitespace();
    }
    line
}

/// Parses `text` as the AWS SDK for Rust does (aws-runtime `env_config`):
/// `name = value` lines (names lowercased), indented continuation lines,
/// comment lines starting with `#` or `;`, and an error for a property
/// before any section or a line without `=`.
pub fn parse_rust(text: &str) -> Result<Sections, ParseError> {
    let mut sections = Sections::new();
    let mut index = HashMap::new();
    let mut current: Option<usize> = None;
    let mut property: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        if i > MAX_PROPERTIES {
            return Err(too_many(i + 1));
        }
        let err = |message: &str| ParseError { line: i + 1, message: message.into() };
        if line.trim_matches([' ', '\t']).is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if line.starts_with('[') {
            let name = rust_prepare_line(line, false)
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .ok_or_else(|| err("a profile definition must end with ']'"))?;
            current = Some(merge_section(&mut sections, &mut index, name));
            property = None;
        } else if line.starts_with([' ', '\t']) {
            let (Some(c), Some(p)) = (current, property.as_ref()) else {
                return Err(err("a continuation line outside a property"));
            };
            let value = sections[c].1.get_mut(p).expect("the property exists");
            let line = line.trim_matches([' ', '\t']);
            // Under a property defined empty, each line is a sub-property: `name = value`.
            if value.is_empty() || value.starts_with('\n') {
                match line.split_once('=') {
                    None => return Err(err("expected an '=' sign defining a sub-property")),
                    Some((name, _)) if name.trim_matches([' ', '\t']).is_empty() => {
                        return Err(err("a sub-property without a name"));
                    }
                    Some(_) => {}
                }
            }
            value.push('\n');
            value.push_str(line);
        } else {
            let Some(c) = current else { return Err(err("a property before any profile definition")) };
            let (k, v) = rust_prepare_line(line, true).split_once('=').ok_or_else(|| err("expected an '=' sign"))?;
            let k = k.trim_matches([' ', '\t']).to_ascii_lowercase();
            if k.is_empty() {
                return Err(err("a property without a name"));
            }
            sections[c].1.insert(k.clone(), v.trim_matches([' ', '\t']).to_string());
            property = Some(k);
        }
    }
    Ok(sections)
}

/// Parses `text` as the AWS SDKs for Go do (their internal `ini`
/// packages), which refuse little: comment lines start with `#` or `;`, and
/// a comment after a value follows whitespace; `name = value` or
/// `name: value`; `[name]` trimmed. v2 (`lowercase_merge`) lowercases option
/// names and merges a section named twice; v1 keeps names as written and
/// the last section of a name replaces the earlier ones. Options before any
/// section and lines it cannot read are ignored.
pub fn parse_go(text: &str, lowercase_merge: bool) -> Result<Sections, ParseError> {
    let mut sections = Sections::new();
    let mut index = HashMap::new();
    let mut current: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        if i > MAX_PROPERTIES {
            return Err(too_many(i + 1));
        }
        let line = rust_prepare_line(line, true);
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(end) = rest.find(']') else { continue };
            let name = rest[..end].trim_matches([' ', '\t']);
            let at = merge_section(&mut sections, &mut index, name);
            if !lowercase_merge {
                sections[at].1.clear();
            }
            current = Some(at);
            continue;
        }
        let Some(at) = current else { continue };
        let Some(split) = line.find(['=', ':']) else { continue };
        let key = line[..split].trim_matches([' ', '\t']);
        if key.is_empty() {
            continue;
        }
        let key = if lowercase_merge { key.to_ascii_lowercase() } else { key.to_string() };
        sections[at].1.insert(key, line[split + 1..].trim_matches([' ', '\t']).to_string());
    }
    Ok(sections)
}

/// Parses `text` as the AWS SDK for Ruby does (`Aws::IniParser`), which
/// never fails: a comment starts at whitespace before `;`; `[name]` (with
/// at most a `#` comment after it) starts a section, `[profile name]`
/// names it `name`, in either file; `name = value` (names as written,
/// both trimmed) adds to it, and a section exists only once it holds one;
/// an indented `name = value` belongs to a nested property and is not kept.
pub fn parse_ruby(text: &str) -> Result<Sections, ParseError> {
    let mut sections = Sections::new();
    let mut index = HashMap::new();
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        if i > MAX_PROPERTIES {
            return Err(too_many(i + 1));
        }
        let line =
            match line.char_indices().find(|&(j, c)| c.is_whitespace() && line[j + c.len_utf8()..].starts_with(';')) {
                Some((j, _)) => &line[..j],
                None => line,
            };
        if let Some(name) = ruby_section(line) {
            let name = match name.strip_prefix("profile").filter(|r| r.starts_with(char::is_whitespace)) {
                Some(rest) if !rest.trim_start().is_empty() => rest.trim_start(),
                _ => name,
            };
            current = Some(name.to_string());
            continue;
        }
        let Some(profile) = &current else { continue };
        let Some((key, value)) = line.split_once('=') else { continue };
        let (key_trimmed, value) = (key.trim_end(), value.trim());
        if key_trimmed.is_empty() || value.is_empty() || key.starts_with(char::is_whitespace) {
            continue;
        }
        let at = merge_section(&mut sections, &mut index, profile);
        sections[at].1.insert(key_trimmed.to_string(), value.to_string());
    }
    Ok(sections)
}

/// `^\[([^\[\]]+)\]\s*(#.+)?$`: the section name, if `line` is a header.
fn ruby_section(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('[')?;
    let end = rest.find(']')?;
    let name = &rest[..end];
    if name.is_empty() || name.contains('[') {
        return None;
    }
    let after = rest[end + 1..].trim_start();
    (after.is_empty() || (after.starts_with('#') && after.len() > 1)).then_some(name)
}

/// Parses `text` as the AWS SDK for JavaScript v3 does (smithy's
/// `parseIni`), which never fails (rolecall only refuses to model a file of
/// more than [`MAX_PROPERTIES`] lines): comments cut at `#` or `;` at the start
/// or after whitespace, `name=value` split at the first `=` (names kept as
/// written), `[type name]` sections only for the known types, a section
/// only when it holds a property, and anything it cannot read ignored.
pub fn parse_js(text: &str) -> Result<Sections, ParseError> {
    let mut sections = Sections::new();
    let mut index = HashMap::new();
    let mut current: Option<String> = None;
    let mut sub: Option<String> = None;
    for (i, raw) in text.split('\n').enumerate() {
        // The SDK never refuses a file; rolecall does not model one this large.
        if i > MAX_PROPERTIES {
            return Err(too_many(i + 1));
        }
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let mut cut = raw.len();
        let bytes = raw.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            if (*b == b'#' || *b == b';') && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
                cut = i;
                break;
            }
        }
        let line = raw[..cut].trim();
        if line.len() >= 2 && line.starts_with('[') && line.ends_with(']') {
            sub = None;
            let name = &line[1..line.len() - 1];
            current = match name.split_once(|c: char| c.is_whitespace()) {
                Some((prefix, rest)) if js_prefixed(prefix, rest) => {
                    let rest = rest.trim_matches(|c| c == '"' || c == '\'');
                    ["profile", "sso-session", "services"].contains(&prefix).then(|| format!("{prefix}.{rest}"))
                }
                _ => Some(name.to_string()),
            };
        } else if let Some(section) = &current {
            let Some(eq) = line.find('=').filter(|&i| i > 0) else { continue };
            let (name, value) = (line[..eq].trim(), line[eq + 1..].trim());
            if value.is_empty() {
                sub = Some(name.to_string());
                continue;
            }
            if sub.is_some() && raw.trim_start().len() == raw.len() {
                sub = None;
            }
            let key = match &sub {
                Some(s) => format!("{s}.{name}"),
                None => name.to_string(),
            };
            let i = merge_section(&mut sections, &mut index, section);
            sections[i].1.insert(key, value.to_string());
        }
    }
    Ok(sections)
}

/// Whether `[prefix rest]` matches smithy's `^([\w-]+)\s(["'])?([\w-@+.%:/]+)\2$`.
fn js_prefixed(prefix: &str, rest: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let name_char = |c: char| word(c) || "-@+.%:/".contains(c);
    let inner = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..].strip_suffix(q),
        _ => Some(rest),
    };
    !prefix.is_empty()
        && prefix.chars().all(|c| word(c) || c == '-')
        && inner.is_some_and(|n| !n.is_empty() && n.chars().all(name_char))
}

/// The profiles an SDK other than botocore sees once it has read both files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SdkProfiles {
    pub profiles: BTreeMap<String, Options>,
    pub sso_sessions: BTreeMap<String, Options>,
    /// Profiles whose access key comes from the credentials file.
    pub keys_from_credentials: BTreeSet<String>,
}

impl SdkProfiles {
    /// aws-runtime's `merge_in`: in the config file `[default]` and
    /// `[profile NAME]` (which wins over `[default]` for the default
    /// profile) and `[sso-session NAME]`; in the credentials file only
    /// `[NAME]`; the credentials file's properties over the config file's.
    pub fn rust(config: &Sections, credentials: &Sections) -> SdkProfiles {
        let mut out = SdkProfiles::default();
        let split = |name: &str| -> (Option<String>, String) {
            let name = name.trim_matches([' ', '\t']);
            match name.split_once([' ', '\t']) {
                Some((p, s)) => (Some(p.trim().to_string()), s.trim().to_string()),
                None => (None, name.trim().to_string()),
            }
        };
        let prefixed_default = config.iter().any(|(n, _)| split(n) == (Some("profile".into()), "default".into()));
        for (name, opts) in config {
            let target = match split(name) {
                (None, s) if s == "default" && !prefixed_default => out.profiles.entry(s).or_default(),
                (Some(p), s) if p == "profile" && rust_identifier(&s) => out.profiles.entry(s).or_default(),
                (Some(p), s) if p == "sso-session" && rust_identifier(&s) => out.sso_sessions.entry(s).or_default(),
                _ => continue,
            };
            target.extend(valid_properties(opts));
        }
        for (name, opts) in credentials {
            let (None, s) = split(name) else { continue };
            if !rust_identifier(&s) {
                continue;
            }
            if opts.contains_key("aws_access_key_id") {
                out.keys_from_credentials.insert(s.clone());
            }
            out.profiles.entry(s).or_default().extend(valid_properties(opts));
        }
        out
    }

    /// smithy's `getConfigData` and `mergeConfigFiles`: in the config file
    /// `default` and `profile.NAME` (which wins), `sso-session.NAME`; the
    /// credentials file's sections by their literal names, over the config's.
    pub fn js(config: &Sections, credentials: &Sections) -> SdkProfiles {
        let mut out = SdkProfiles::default();
        let mut config_profiles: BTreeMap<String, Options> = BTreeMap::new();
        if let Some((_, d)) = config.iter().find(|(n, _)| n == "default") {
            config_profiles.insert("default".into(), d.clone());
        }
        for (name, opts) in config {
            if let Some(p) = name.strip_prefix("profile.") {
                config_profiles.insert(p.to_string(), opts.clone());
            } else if let Some(s) = name.strip_prefix("sso-session.") {
                out.sso_sessions.insert(s.to_string(), opts.clone());
            }
        }
        out.profiles = config_profiles;
        for (name, opts) in credentials {
            if opts.contains_key("aws_access_key_id") {
                out.keys_from_credentials.insert(name.clone());
            }
            out.profiles.entry(name.clone()).or_default().extend(opts.clone());
        }
        out
    }
}

/// The properties aws-runtime keeps: those whose names are identifiers.
fn valid_properties(opts: &Options) -> impl Iterator<Item = (String, String)> + '_ {
    opts.iter().filter(|(k, _)| rust_identifier(k)).map(|(k, v)| (k.clone(), v.clone()))
}

/// aws-runtime's `validate_identifier`: letters, digits and `-/_.%@:+`.
fn rust_identifier(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric() || "-/_.%@:+".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Section = (String, Vec<(String, String)>);

    fn parse(s: &str) -> Result<Vec<Section>, ParseError> {
        Ini::parse(s).map(|i| i.sections.into_iter().map(|(n, o)| (n, o.into_iter().collect())).collect())
    }

    fn sec(name: &str, opts: &[(&str, &str)]) -> Section {
        (name.into(), opts.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    // Each expectation below is what Python 3.11's RawConfigParser gives.
    #[test]
    fn like_raw_config_parser() {
        assert_eq!(
            parse("[a]\nKey = v # c\n  cont\n\n  more\nb: x\n;c\n #d\n[ b ]\nx=1\n").unwrap(),
            vec![sec("a", &[("b", "x"), ("key", "v # c\ncont\n\nmore")]), sec(" b ", &[("x", "1")])]
        );
        assert_eq!(parse("[a]\n  x = 1\n").unwrap(), vec![sec("a", &[("x", "1")])]);
        assert_eq!(parse("[a] trailing\nx=1\n").unwrap(), vec![sec("a", &[("x", "1")])]);
        assert_eq!(parse("[a]\nx = \n").unwrap(), vec![sec("a", &[("x", "")])]);
        assert_eq!(parse("[a]\nx = 'q'\n").unwrap(), vec![sec("a", &[("x", "'q'")])]);
        assert_eq!(parse("[a]\nx=1\r\ny = 2 \r\n").unwrap(), vec![sec("a", &[("x", "1"), ("y", "2")])]);
        assert_eq!(parse("  [a]\nx=1\n").unwrap(), vec![sec("a", &[("x", "1")])]);
        assert_eq!(parse("[a]\nx:y = z\n").unwrap(), vec![sec("a", &[("x", "y = z")])]);
    }

    #[test]
    fn errors_like_raw_config_parser() {
        assert!(parse("x=1\n[a]\n").unwrap_err().message.contains("no section header"));
        assert!(parse("[a]\nx=1\n[a]\ny=2\n").unwrap_err().message.contains("already exists"));
        assert!(parse("[a]\nx=1\nX=2\n").unwrap_err().message.contains("already exists"));
        assert_eq!(parse("[a]\nx\n").unwrap_err().line, 2);
        assert!(parse("[a]\n=1\n").is_err());
        assert!(parse("\u{feff}[a]\nx=1\n").is_err(), "a BOM is not stripped");
    }

    #[test]
    fn default_section_is_inherited() {
        let ini = Ini::parse("[DEFAULT]\naws_access_key_id = A\n[x]\nregion = r\n").unwrap();
        assert_eq!(ini.sections.len(), 1);
        assert_eq!(ini.section("x").unwrap()["aws_access_key_id"], "A");
    }

    #[test]
    fn profile_map_like_botocore() {
        let ini = Ini::parse(
            "[default]\na=1\n[profile x]\nb=2\n[profile 'my p']\nc=3\n[profilez y]\nd=4\n[profile]\ne=5\n[y]\nf=6\n[sso-session s]\ng=7\n[profile a b]\nh=8\n",
        )
        .unwrap();
        let p = ConfigProfiles::from_config(&ini);
        assert_eq!(p.profiles.keys().collect::<Vec<_>>(), ["default", "my p", "x", "y"]);
        assert_eq!(p.profiles["y"]["d"], "4", "[profilez y] is profile y, as botocore's startswith check has it");
        assert_eq!(p.sso_sessions["s"]["g"], "7");
    }

    fn opts(pairs: &[(&str, &str)]) -> Options {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    // Expectations from aws-runtime's parser and its tests.
    #[test]
    fn like_the_rust_sdk() {
        let s = parse_rust("[a] # c\nKey = v # c\n  more\n[a]\nx = 1;2\n# c\n").unwrap();
        assert_eq!(s, vec![("a".to_string(), opts(&[("key", "v\nmore"), ("x", "1;2")]))]);
        assert!(parse_rust("x = 1\n[a]\n").unwrap_err().message.contains("before any profile"));
        assert_eq!(parse_rust("[a]\nx: 1\n").unwrap_err().line, 2);
        let config =
            parse_rust("[default]\na = 1\n[profile default]\nb = 2\n[x]\nc = 3\n[profilez y]\nd = 4\n").unwrap();
        let creds = parse_rust("[profile z]\ne = 5\n[ default ]\nf = 6\n").unwrap();
        let p = SdkProfiles::rust(&config, &creds);
        assert_eq!(p.profiles.keys().collect::<Vec<_>>(), ["default"]);
        assert_eq!(p.profiles["default"], opts(&[("b", "2"), ("f", "6")]), "[profile default] wins over [default]");
    }

    // Expectations from smithy's parseIni, getConfigData and mergeConfigFiles.
    #[test]
    fn like_the_javascript_sdk() {
        let s = parse_js("x = 0\n[a] ;c\nKey = v #c\ny: 2\n[a]\nz=1\n[empty]\n[profile  two]\nw = 1\n").unwrap();
        assert_eq!(
            s,
            vec![("a".to_string(), opts(&[("Key", "v"), ("z", "1")])), ("profile  two".into(), opts(&[("w", "1")]))]
        );
        let config =
            parse_js("[default]\na = 1\n[profile default]\nb = 2\n[x]\nc = 3\n[sso-session s]\nd = 4\n").unwrap();
        let creds = parse_js("[profile z]\naws_access_key_id = A\n[ default ]\nf = 6\n").unwrap();
        let p = SdkProfiles::js(&config, &creds);
        assert_eq!(p.profiles.keys().collect::<Vec<_>>(), [" default ", "default", "profile.z"]);
        assert_eq!(p.profiles["default"], opts(&[("b", "2")]), "[profile default] replaces [default]");
        assert_eq!(p.sso_sessions["s"], opts(&[("d", "4")]));
        assert!(p.keys_from_credentials.contains("profile.z"), "[profile z] in the credentials file is not profile z");
    }

    #[test]
    fn shlex() {
        assert_eq!(shlex_split("profile  x").unwrap(), ["profile", "x"]);
        assert_eq!(shlex_split(r#"profile "a \"b\"""#).unwrap(), ["profile", "a \"b\""]);
        assert_eq!(shlex_split("profile 'unbalanced"), None);
    }
}
