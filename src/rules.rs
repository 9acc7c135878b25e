//! Rules as data: loads `patterns/*.toml` (embedded at build time, or a
//! directory given with `--rules`) and validates each rule before the matcher is built.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use regex_automata::meta::Regex;
use serde::Deserialize;

/// The rule files compiled into the binary, as `(file name, contents)`.
const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// Longest match a rule may have, in bytes. The chunk overlap is derived
/// from the longest rule, so this also bounds the memory each thread uses.
pub const MAX_MATCH_LEN: usize = 8 * 1024;

/// Largest compiled regex accepted, in bytes (the `regex` crate's size limit).
const MAX_COMPILED_SIZE: usize = 4 * 1024 * 1024;

/// What a rule's single capture group holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capture {
    /// An access key ID (`AKIA…`, `ASIA…`).
    KeyId,
    /// A secret access key.
    Secret,
    /// A session token.
    SessionToken,
}

impl Capture {
    const GROUPS: [(&'static str, Capture); 3] =
        [("key_id", Capture::KeyId), ("secret", Capture::Secret), ("token", Capture::SessionToken)];
}

/// How serious a finding made by this rule is, before the verdict weighs it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The label AWS services use (Security Hub's `Severity.Label`, SSM
    /// Compliance's `Severity`): `CRITICAL` … `INFORMATIONAL`.
    pub fn aws_label(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Info => "INFORMATIONAL",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        };
        f.write_str(s)
    }
}

/// One rule as written in a rule file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub name: String,
    pub description: String,
    pub severity: Severity,
    /// Literals of which at least one occurs in every match (the prefilter).
    pub keywords: Vec<String>,
    /// The regex matches the keywords only as written (a key ID's prefix),
    /// so they are searched in that case alone, not in their other forms.
    #[serde(default)]
    pub exact_case: bool,
    pub regex: String,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

/// One way of pairing a secret with its key ID, as documented in a rule
/// file. The ways are built in (`scan::pair`, and the SDK models); the file
/// says how each works and gives examples that `rolecall rules check` runs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairingSpec {
    /// One of [`PAIRINGS`].
    pub id: String,
    pub description: String,
    /// Each must give a key ID with its secret paired this way.
    pub examples: Vec<String>,
    /// None may give a key ID with a secret paired this way.
    pub negative_examples: Vec<String>,
}

/// The ways of pairing rolecall has, by id.
pub const PAIRINGS: &[&str] = &["label", "ini-section", "csv-columns", "json-object", "neighbour", "sdk-model"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleSpec>,
    #[serde(default)]
    pairing: Vec<PairingSpec>,
}

/// A validated rule: its spec plus what was learned compiling it.
#[derive(Clone, Debug)]
pub struct Rule {
    pub spec: RuleSpec,
    /// What the capture group holds.
    pub capture: Capture,
    /// Index of the capture group in the regex.
    pub group: usize,
    /// Longest possible match of the whole regex, in bytes.
    pub max_len: usize,
    /// The file the rule came from (for messages).
    pub origin: String,
}

/// All rules in use, in a stable order, and the pairings their files document.
#[derive(Clone, Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub pairings: Vec<PairingSpec>,
}

impl RuleSet {
    /// The rules compiled into the binary.
    pub fn embedded() -> Result<RuleSet> {
        let files = EMBEDDED.iter().map(|(name, text)| (format!("embedded {name}"), text.to_string()));
        RuleSet::from_files(files)
    }

    /// Every `*.toml` file in `dir`, in name order.
    pub fn from_dir(dir: &Path) -> Result<RuleSet> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading rules directory {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            bail!("rules directory {} holds no *.toml files", dir.display());
        }
        let mut files = Vec::new();
        for p in paths {
            let meta = std::fs::metadata(&p).with_context(|| format!("reading rule file {}", p.display()))?;
            if meta.len() > 1024 * 1024 {
                bail!("rule file {} is larger than 1 MiB", p.display());
            }
            let text = std::fs::read_to_string(&p).with_context(|| format!("reading rule file {}", p.display()))?;
            files.push((p.display().to_string(), text));
        }
        RuleSet::from_files(files.into_iter())
    }

    /// One rule file's text, named `origin` in messages.
    pub fn from_toml(origin: &str, text: &str) -> Result<RuleSet> {
        RuleSet::from_files(std::iter::once((origin.to_string(), text.to_string())))
    }

    fn from_files(files: impl Iterator<Item = (String, String)>) -> Result<RuleSet> {
        let mut rules: Vec<Rule> = Vec::new();
        let mut pairings: Vec<PairingSpec> = Vec::new();
        for (origin, text) in files {
            let file: RuleFile = toml::from_str(&text).with_context(|| format!("parsing rule file {origin}"))?;
            for p in file.pairing {
                if !PAIRINGS.contains(&p.id.as_str()) {
                    bail!("pairing {:?} in {origin} is not one rolecall has ({})", p.id, PAIRINGS.join(", "));
                }
                if pairings.iter().any(|q| q.id == p.id) {
                    bail!("pairing {} in {origin} is described twice", p.id);
                }
                if p.examples.is_empty() {
                    bail!("pairing {} in {origin} has no examples", p.id);
                }
                pairings.push(p);
            }
            for spec in file.rule {
                if let Some(dup) = rules.iter().find(|r| r.spec.id == spec.id) {
                    bail!("rule {} in {origin} has the same id as a rule in {}", spec.id, dup.origin);
                }
                let rule = Rule::validate(spec, &origin)?;
                rules.push(rule);
            }
        }
        if rules.is_empty() {
            bail!("no rules loaded");
        }
        Ok(RuleSet { rules, pairings })
    }

    /// The longest match of any rule.
    pub fn max_match_len(&self) -> usize {
        self.rules.iter().map(|r| r.max_len).max().unwrap_or(0)
    }
}

impl Rule {
    fn validate(spec: RuleSpec, origin: &str) -> Result<Rule> {
        let id = &spec.id;
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !id_ok {
            bail!("rule id {id:?} in {origin}: use 1 to 64 characters of a-z, 0-9, '.', '_', '-'");
        }
        if spec.keywords.is_empty() {
            bail!("rule {id} in {origin} has no keywords: the matcher needs a literal to search for");
        }
        if let Some(k) = spec.keywords.iter().find(|k| k.len() < 3 || k.len() > 64) {
            bail!("rule {id} in {origin}: keyword {k:?} must be 3 to 64 bytes long");
        }
        if spec.regex.len() > 4096 {
            bail!("rule {id} in {origin}: the regex is longer than 4096 characters");
        }
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(&spec.regex)
            .map_err(|e| anyhow::anyhow!("rule {id} in {origin}: invalid regex: {e}"))?;
        let max_len = match hir.properties().maximum_len() {
            Some(n) if n <= MAX_MATCH_LEN => n,
            Some(n) => {
                bail!("rule {id} in {origin}: the regex can match {n} bytes; at most {MAX_MATCH_LEN} are allowed")
            }
            None => bail!(
                "rule {id} in {origin}: the regex has no upper bound on its length (use {{m,n}} instead of * or +)"
            ),
        };
        // Compile once here so that a regex too large for the engine is
        // reported with the rule's name rather than later in the matcher.
        let regex = compile(&spec.regex).map_err(|e| anyhow::anyhow!("rule {id} in {origin}: {e}"))?;
        let mut found = None;
        for (i, name) in regex.group_info().pattern_names(regex_automata::PatternID::ZERO).enumerate() {
            let Some(name) = name else { continue };
            match Capture::GROUPS.iter().find(|(n, _)| *n == name) {
                Some((_, cap)) if found.is_none() => found = Some((i, *cap)),
                Some(_) => bail!("rule {id} in {origin}: more than one capture group of key_id, secret, token"),
                None => bail!("rule {id} in {origin}: unknown capture group {name:?} (use key_id, secret or token)"),
            }
        }
        let Some((group, capture)) = found else {
            bail!("rule {id} in {origin}: the regex needs one named capture group: key_id, secret or token");
        };
        if spec.exact_case {
            // The examples show it: with a keyword in another case, none may match.
            for example in &spec.examples {
                for k in &spec.keywords {
                    for other in [k.to_ascii_lowercase(), k.to_ascii_uppercase()] {
                        let changed = example.replace(k.as_str(), &other);
                        if other != *k && changed != *example && regex.is_match(changed.as_bytes()) {
                            bail!(
                                "rule {id} in {origin}: exact_case, but the regex matches {changed:?}, \
                                 an example with keyword {k:?} written {other:?}"
                            );
                        }
                    }
                }
            }
        }
        Ok(Rule { spec, capture, group, max_len, origin: origin.to_string() })
    }
}

/// Compiles a rule regex the way the matcher runs it: on bytes, without
/// Unicode (so invalid UTF-8 is ordinary bytes), with a bounded compiled size.
pub fn compile(pattern: &str) -> Result<Regex> {
    Regex::builder()
        .syntax(regex_automata::util::syntax::Config::new().unicode(false).utf8(false))
        .configure(
            Regex::config()
                .utf8_empty(false)
                .nfa_size_limit(Some(MAX_COMPILED_SIZE))
                .dfa_size_limit(Some(MAX_COMPILED_SIZE)),
        )
        .build(pattern)
        .map_err(|e| match e.size_limit() {
            Some(_) => anyhow::anyhow!("the regex compiles to more than {MAX_COMPILED_SIZE} bytes; simplify it"),
            None => anyhow::anyhow!("invalid regex: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(toml_text: &str) -> Result<RuleSet> {
        RuleSet::from_files(std::iter::once(("test.toml".to_string(), toml_text.to_string())))
    }

    const GOOD: &str = r#"
[[rule]]
id = "t.key"
name = "n"
description = "d"
severity = "high"
keywords = ["AKIA"]
regex = '(?P<key_id>AKIA[A-Z2-7]{16})'
"#;

    #[test]
    fn embedded_rules_load() {
        let set = RuleSet::embedded().unwrap();
        assert!(set.rules.iter().any(|r| r.spec.id == "aws.access-key-id"));
        assert!(set.max_match_len() < MAX_MATCH_LEN);
        let documented: Vec<&str> = set.pairings.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(documented, PAIRINGS, "every way of pairing is documented, in order");
    }

    #[test]
    fn unknown_pairings_are_rejected() {
        let p = "[[pairing]]\nid = \"telepathy\"\ndescription = \"d\"\nexamples = [\"x\"]\nnegative_examples = []\n";
        let err = one(&format!("{GOOD}{p}")).unwrap_err().to_string();
        assert!(err.contains("telepathy"), "{err}");
    }

    #[test]
    fn good_rule_loads() {
        let set = one(GOOD).unwrap();
        assert_eq!(set.rules[0].capture, Capture::KeyId);
        assert_eq!(set.rules[0].max_len, 20);
    }

    #[test]
    fn unbounded_regex_is_rejected() {
        let err = one(&GOOD.replace("{16}", "+")).unwrap_err().to_string();
        assert!(err.contains("no upper bound"), "{err}");
    }

    #[test]
    fn huge_regex_is_rejected() {
        let err = one(&GOOD.replace("{16}", "{16}(?:[a-z]{1,9000})")).unwrap_err().to_string();
        assert!(err.contains("can match"), "{err}");
        // Short enough to pass the length bound, too big once compiled.
        let blowup = "(?:ab|cd|ef|gh|ij|kl|mn|op|qr|st|uv|wx|yz|ba|dc|fe|hg|ji|lk|nm|po|rq|ts|vu|xw|zy){1,4000}";
        let err = one(&GOOD.replace("{16}", &format!("{{16}}{blowup}"))).unwrap_err().to_string();
        assert!(err.contains("t.key") && err.contains("compiles to more than"), "{err}");
    }

    #[test]
    fn missing_or_unknown_group_is_rejected() {
        let err = one(&GOOD.replace("?P<key_id>", "")).unwrap_err().to_string();
        assert!(err.contains("named capture group"), "{err}");
        let err = one(&GOOD.replace("key_id", "password")).unwrap_err().to_string();
        assert!(err.contains("unknown capture group"), "{err}");
    }

    #[test]
    fn exact_case_is_refused_when_another_case_would_match() {
        let exact = GOOD.replace("keywords = [\"AKIA\"]", "keywords = [\"AKIA\"]\nexact_case = true");
        assert!(one(&format!("{exact}examples = [\"AKIA2OGYBAH6STMMNXNN\"]\n")).is_ok());
        let loose = exact.replace("(?P<key_id>AKIA", "(?P<key_id>(?i:AKIA)");
        let err = one(&format!("{loose}examples = [\"AKIA2OGYBAH6STMMNXNN\"]\n")).unwrap_err().to_string();
        assert!(err.contains("exact_case") && err.contains("akia2OGYBAH6STMMNXNN"), "{err}");
    }

    #[test]
    fn bad_fields_are_rejected() {
        assert!(one(&GOOD.replace("keywords = [\"AKIA\"]", "keywords = []")).is_err());
        assert!(one(&GOOD.replace("t.key", "Bad Id")).is_err());
        assert!(one(&GOOD.replace("severity = \"high\"", "severity = \"dire\"")).is_err());
        assert!(one(&format!("{GOOD}\nunknown = 1\n")).is_err());
        assert!(one(&format!("{GOOD}{GOOD}")).unwrap_err().to_string().contains("same id"));
        assert!(one("this is not toml").is_err());
    }
}
