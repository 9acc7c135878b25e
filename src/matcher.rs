//! The hot loop: bytes in, [`RawMatch`]es out. Aho-Corasick finds the rules'
//! keywords; each rule's regex then runs only in a window around them.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input as Haystack, MatchKind, packed};
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
    keywords: Keywords,
    /// For each keyword, the rules that listed it.
    keyword_rules: Vec<Vec<usize>>,
    overlap: usize,
}

/// The keyword search. The keywords' distinct first bytes are searched
/// (few enough patterns for Teddy's fastest, 32-byte-wide form, where the
/// keywords themselves, in all their case forms, would need its half-speed
/// "fat" form), and each hit is checked against the keywords that start that
/// way: the same leftmost-first hits as searching the keywords. Text is
/// searched by [`TEXT_PREFIX`] bytes; binary data, where a shorter
/// fingerprint costs Teddy less and rarely hits, by [`BINARY_PREFIX`].
struct Keywords {
    text: PrefixSearch,
    binary: PrefixSearch,
    words: Vec<Vec<u8>>,
}

/// Bytes of each keyword searched for first in text (all of a shorter
/// keyword): fewer would hit common words ("sec", "tok") too often.
const TEXT_PREFIX: usize = 4;
/// The same in binary data. `cargo bench --bench matcher`: 4 bytes give
/// 4.8 GiB/s on text and 8.3 on binary, 3 bytes 3.3 and 12.5.
const BINARY_PREFIX: usize = 3;

/// A buffer with a NUL in its first bytes is searched as binary (speed
/// only: both searches find the same keywords).
const BINARY_SNIFF: usize = 4096;

/// The keywords' distinct first bytes, one length for all, and their searcher.
struct PrefixSearch {
    prefixes: Prefixes,
    /// For each prefix, the keywords that start with it, in keyword order.
    by_prefix: Vec<Vec<usize>>,
}

/// Teddy itself where the CPU has it (SSSE3 or AVX2, NEON), else an automaton.
enum Prefixes {
    Teddy(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Prefixes {
    /// The leftmost-first prefix in `buf[at..]`: (prefix, start).
    fn find(&self, buf: &[u8], at: usize) -> Option<(usize, usize)> {
        match self {
            Prefixes::Teddy(s) => {
                s.find_in(buf, aho_corasick::Span::from(at..buf.len())).map(|m| (m.pattern().as_usize(), m.start()))
            }
            Prefixes::Automaton(a) => {
                a.find(Haystack::new(buf).span(at..buf.len())).map(|m| (m.pattern().as_usize(), m.start()))
            }
        }
    }
}

impl PrefixSearch {
    fn new(words: &[String], prefix: usize) -> Result<PrefixSearch> {
        let len = words.iter().map(|w| w.len()).min().unwrap_or(prefix).min(prefix);
        let mut prefixes: Vec<&[u8]> = Vec::new();
        let mut by_prefix: Vec<Vec<usize>> = Vec::new();
        for (i, w) in words.iter().enumerate() {
            let p = &w.as_bytes()[..len];
            match prefixes.iter().position(|x| *x == p) {
                Some(at) => by_prefix[at].push(i),
                None => {
                    prefixes.push(p);
                    by_prefix.push(vec![i]);
                }
            }
        }
        let teddy =
            packed::Config::new().match_kind(packed::MatchKind::LeftmostFirst).builder().extend(&prefixes).build();
        let prefixes = match teddy {
            Some(t) => Prefixes::Teddy(t),
            None => Prefixes::Automaton(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&prefixes)
                    .context("building the keyword automaton")?,
            ),
        };
        Ok(PrefixSearch { prefixes, by_prefix })
    }
}

impl Keywords {
    fn new(words: Vec<String>) -> Result<Keywords> {
        let text = PrefixSearch::new(&words, TEXT_PREFIX)?;
        let binary = PrefixSearch::new(&words, BINARY_PREFIX)?;
        Ok(Keywords { text, binary, words: words.into_iter().map(String::into_bytes).collect() })
    }

    /// Each keyword hit in `buf` as (keyword, start, end), leftmost first,
    /// not overlapping.
    fn find_iter<'b>(&'b self, buf: &'b [u8]) -> impl Iterator<Item = (usize, usize, usize)> + 'b {
        let binary = memchr::memchr(0, &buf[..buf.len().min(BINARY_SNIFF)]).is_some();
        self.find_iter_with(if binary { &self.binary } else { &self.text }, buf)
    }

    fn find_iter_with<'b>(
        &'b self,
        search: &'b PrefixSearch,
        buf: &'b [u8],
    ) -> impl Iterator<Item = (usize, usize, usize)> + 'b {
        let mut at = 0;
        std::iter::from_fn(move || {
            while at < buf.len() {
                let (prefix, start) = search.prefixes.find(buf, at)?;
                let word = search.by_prefix[prefix].iter().find(|&&k| buf[start..].starts_with(&self.words[k]));
                match word {
                    Some(&k) => {
                        at = start + self.words[k].len();
                        return Some((k, start, at));
                    }
                    None => at = start + 1,
                }
            }
            None
        })
    }
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
                let forms = if rule.spec.exact_case { vec![k.clone()] } else { case_variants(k) };
                for k in forms {
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
        let keywords = Keywords::new(keywords)?;
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
        for (keyword, hit_start, hit_end) in self.keywords.find_iter(buf) {
            for &r in &self.keyword_rules[keyword] {
                let reach = self.rules[r].reach;
                let start = hit_start.saturating_sub(reach);
                let end = (hit_end + reach).min(buf.len());
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
    fn the_prefix_search_hits_what_searching_the_keywords_hits() {
        let words: Vec<String> =
            ["secret", "sess", "session_token", "aws_key", "aws_access_key", "AKIA", "\"token\"", "awsKey"]
                .iter()
                .map(|w| w.to_string())
                .collect();
        let keywords = Keywords::new(words.clone()).unwrap();
        for search in [&keywords.text, &keywords.binary] {
            assert!(matches!(search.prefixes, Prefixes::Teddy(_)) || !cfg!(target_arch = "x86_64"));
        }
        let whole = AhoCorasickBuilder::new().match_kind(MatchKind::LeftmostFirst).build(&words).unwrap();
        // Keywords, their prefixes and near misses, run together in every order a generator gives.
        let pieces = [
            "secre",
            "secret",
            "sess",
            "session_",
            "session_token",
            "aws_",
            "aws_key",
            "aws_access_key",
            "AKI",
            "AKIA",
            "\"tok",
            "\"token\"",
            "awsK",
            "awsKey",
            "x",
            " ",
            "aws_acc",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut buf = Vec::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                buf.extend_from_slice(pieces[(state % pieces.len() as u64) as usize].as_bytes());
            }
            let expected: Vec<(usize, usize, usize)> =
                whole.find_iter(&buf).map(|m| (m.pattern().as_usize(), m.start(), m.end())).collect();
            for search in [&keywords.text, &keywords.binary] {
                let got: Vec<_> = keywords.find_iter_with(search, &buf).collect();
                assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(&buf));
            }
        }
    }

    #[test]
    fn exact_case_keywords_are_searched_as_written_only() {
        // A time zone is no key ID's prefix: ASIA is searched in capitals only.
        assert!(matches("Asia/Tokyo asia2ogybah6stmmnxnn").is_empty());
        assert_eq!(matches("ASIAY34FZKBOKMUTVV7A").len(), 1);
        let set = RuleSet::embedded().unwrap();
        let m = Matcher::new(&set).unwrap();
        let asia = m.keywords.words.iter().filter(|w| w.eq_ignore_ascii_case(b"ASIA")).count();
        assert_eq!(asia, 1, "one form of ASIA");
        let secret = m.keywords.words.iter().filter(|w| w.eq_ignore_ascii_case(b"secret")).count();
        assert_eq!(secret, 3, "secret, SECRET, Secret");
        // Past 32 patterns Teddy takes its fat form at half the speed (benches/matcher.rs).
        for search in [&m.keywords.text, &m.keywords.binary] {
            assert!(search.by_prefix.len() <= 32, "{} keyword prefixes", search.by_prefix.len());
        }
    }

    #[test]
    fn binary_buffers_give_the_matches_text_buffers_give() {
        let set = RuleSet::embedded().unwrap();
        let m = Matcher::new(&set).unwrap();
        let text: &[u8] = b"aws_access_key_id = AKIA2OGYBAH6STMMNXNN\n\
            aws_secret_access_key = 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\n\
            AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDoG1aR3Kq8vN2mT5xW7yZ4bC6dF9hJ0kL3nP5qR8sU1v\n";
        let elf = b"\x7fELF\x02\x01\x01\0";
        let binary = [&elf[..], text].concat();
        let found = |buf: &[u8], shift: usize| {
            let mut out = Vec::new();
            m.find(buf, &mut m.scratch(), &mut out);
            out.iter().map(|r| (r.rule, r.start - shift, r.end - shift)).collect::<Vec<_>>()
        };
        assert!(found(text, 0).len() >= 2, "the key ID and the secret at least");
        assert_eq!(found(&binary, elf.len()), found(text, 0));
    }

    #[test]
    fn many_keywords_close_together_give_each_match_once() {
        let text = "AKIA2OGYBAH6STMMNXNN AKIALALEMEL33243OLIB AKIA2OGYBAH6STMMNXNN";
        let found = matches(text);
        assert_eq!(found.len(), 3, "{found:?}");
    }
}
