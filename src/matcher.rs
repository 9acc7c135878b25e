//! The hot loop: bytes in, [`RawMatch`]es out. Aho-Corasick finds the rules'
//! keywords; each rule's regex then runs only in a window around them.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use anyhow::{Context, Result};
use regex_automata::meta::{Cache, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::{Input, Span};

use crate::rules::{self, Capture, RuleSet};

/// One confirmed match: the span of the rule's capture group in the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawMatch {
    /// Index of the rule in the [`RuleSet`].
    pub rule: usize,
    pub capture: Capture,
    pub start: usize,
    pub end: usize,
}

struct CompiledRule {
    regex: Regex,
    group: usize,
    capture: Capture,
    /// How far a match can reach from any keyword inside it: the window
    /// around a keyword hit spans this many bytes on each side.
    reach: usize,
}

/// Keywords → candidate windows → regex confirmation, for a whole rule set.
pub struct Matcher {
    rules: Vec<CompiledRule>,
    keywords: AhoCorasick,
    /// For each keyword pattern, the rules that listed it.
    keyword_rules: Vec<Vec<usize>>,
    overlap: usize,
}

/// Per-thread scratch space, reused across buffers so that the hot loop
/// does not allocate.
pub struct Scratch {
    windows: Vec<Vec<(usize, usize)>>,
    caches: Vec<Cache>,
    captures: Vec<Captures>,
}

impl Matcher {
    pub fn new(set: &RuleSet) -> Result<Matcher> {
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut rules = Vec::with_capacity(set.rules.len());
        for (i, rule) in set.rules.iter().enumerate() {
            for k in &rule.spec.keywords {
                for k in case_variants(k) {
                    match keywords.iter().position(|x| *x == k) {
                        Some(p) => keyword_rules[p].push(i),
                        None => {
                            keywords.push(k);
                            keyword_rules.push(vec![i]);
                        }
                    }
                }
            }
            let regex = rules::compile(&rule.spec.regex)?;
            rules.push(CompiledRule { regex, group: rule.group, capture: rule.capture, reach: rule.max_len + 1 });
        }
        let keywords = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&keywords)
            .context("building the keyword automaton")?;
        // Two bytes beyond the longest match: one of context on each side.
        let overlap = set.max_match_len() + 2;
        Ok(Matcher { rules, keywords, keyword_rules, overlap })
    }

    /// Bytes that consecutive chunks of one input must share so that no
    /// match, with a byte of context on each side, is cut in two.
    pub fn overlap(&self) -> usize {
        self.overlap
    }

    pub fn scratch(&self) -> Scratch {
        Scratch {
            windows: vec![Vec::new(); self.rules.len()],
            caches: self.rules.iter().map(|r| r.regex.create_cache()).collect(),
            captures: self.rules.iter().map(|r| r.regex.create_captures()).collect(),
        }
    }

    /// Appends every match in `buf` to `out`, ordered by rule, then position.
    ///
    /// Anchors and boundaries see all of `buf`, so a window's edges never
    /// create a false boundary; the buffer's own edges are the caller's
    /// business (see `scan`).
    pub fn find(&self, buf: &[u8], scratch: &mut Scratch, out: &mut Vec<RawMatch>) {
        for w in scratch.windows.iter_mut() {
            w.clear();
        }
        for hit in self.keywords.find_iter(buf) {
            for &r in &self.keyword_rules[hit.pattern().as_usize()] {
                let reach = self.rules[r].reach;
                let start = hit.start().saturating_sub(reach);
                let end = (hit.end() + reach).min(buf.len());
                let windows = &mut scratch.windows[r];
                match windows.last_mut() {
                    Some(last) if start <= last.1 => last.1 = last.1.max(end),
                    _ => windows.push((start, end)),
                }
            }
        }
        for (r, rule) in self.rules.iter().enumerate() {
            let cache = &mut scratch.caches[r];
            let caps = &mut scratch.captures[r];
            for &(start, end) in &scratch.windows[r] {
                let mut input = Input::new(buf).span(Span { start, end });
                // The DFA finds whether and where a match is; the slower
                // capture search then runs on that match alone.
                while let Some(found) = rule.regex.search_with(cache, &input) {
                    let exact = input.clone().span(found.range()).anchored(regex_automata::Anchored::Yes);
                    rule.regex.search_captures_with(cache, &exact, caps);
                    let Some(m) = caps.get_match() else { break };
                    // Resume at the end of the capture, not of the match: a
                    // trailing boundary byte may be the next match's leading one.
                    let mut next = m.start() + 1;
                    if let Some(span) = caps.get_group(rule.group) {
                        out.push(RawMatch { rule: r, capture: rule.capture, start: span.start, end: span.end });
                        next = next.max(span.end);
                    }
                    if next >= end {
                        break;
                    }
                    input.set_start(next);
                }
            }
        }
    }
}

/// A keyword as written, in lowercase, in UPPERCASE and Capitalized (first
/// letter upper, the rest lower). Searching these case-sensitively keeps the
/// keyword search on its fast SIMD path, where an ASCII case-insensitive
/// search runs ten times slower (see benches/matcher.rs).
fn case_variants(k: &str) -> Vec<String> {
    let mut cap = k.to_ascii_lowercase().into_bytes();
    if let Some(first) = cap.iter_mut().find(|b| b.is_ascii_alphabetic()) {
        first.make_ascii_uppercase();
    }
    let cap = String::from_utf8(cap).unwrap_or_default();
    let mut v = vec![k.to_string(), k.to_ascii_lowercase(), k.to_ascii_uppercase(), cap];
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(text: &str) -> Vec<(String, Capture)> {
        let set = RuleSet::embedded().unwrap();
        let m = Matcher::new(&set).unwrap();
        let mut scratch = m.scratch();
        let mut out = Vec::new();
        m.find(text.as_bytes(), &mut scratch, &mut out);
        out.iter().map(|x| (text[x.start..x.end].to_string(), x.capture)).collect()
    }

    #[test]
    fn finds_id_and_secret() {
        let found = matches(
            "[default]\naws_access_key_id = AKIA2OGYBAH6STMMNXNN\naws_secret_access_key = 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\n",
        );
        assert!(found.contains(&("AKIA2OGYBAH6STMMNXNN".into(), Capture::KeyId)));
        assert!(found.contains(&("5dkLVuqpZhD6V3Zym1hivdSHOzh6FGPjwplXD+5f".into(), Capture::Secret)));
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn boundaries_see_outside_the_window() {
        // The keyword window starts mid-run; the run's bytes before it still count.
        let run = "Zm9vYmFyYmF6".repeat(10);
        assert!(matches(&format!("{run}AKIA2OGYBAH6STMMNXNN")).is_empty());
        assert_eq!(matches(&format!("{run} AKIA2OGYBAH6STMMNXNN")).len(), 1);
    }

    #[test]
    fn non_utf8_bytes_are_boundaries() {
        let set = RuleSet::embedded().unwrap();
        let m = Matcher::new(&set).unwrap();
        let mut out = Vec::new();
        let text = b"\xe9AKIA2OGYBAH6STMMNXNN\xff";
        m.find(text, &mut m.scratch(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(&text[out[0].start..out[0].end], b"AKIA2OGYBAH6STMMNXNN");
    }

    #[test]
    fn keyword_case_variants_find_common_spellings() {
        assert_eq!(matches("AWS_SECRET_ACCESS_KEY=0qk+o7XctJMmG6ydO8537c9+TofLJU1K0PiVBXSg").len(), 1);
        assert_eq!(matches("SecretAccessKey: 0qk+o7XctJMmG6ydO8537c9+TofLJU1K0PiVBXSg").len(), 1);
        assert!(matches("akia2ogybah6stmmnxnn").is_empty());
    }

    #[test]
    fn keyword_variants() {
        assert_eq!(case_variants("\"token\""), ["\"TOKEN\"", "\"Token\"", "\"token\""]);
        assert_eq!(case_variants("awsKey"), ["AWSKEY", "Awskey", "awsKey", "awskey"]);
    }

    #[test]
    fn many_keywords_close_together_give_each_match_once() {
        let text = "AKIA2OGYBAH6STMMNXNN AKIALALEMEL33243OLIB AKIA2OGYBAH6STMMNXNN";
        let found = matches(text);
        assert_eq!(found.len(), 3, "{found:?}");
    }
}
