//! Runs each rule's and each pairing's `examples` and `negative_examples`
//! through the whole pipeline (matcher, placeholder filters, pairing), as a
//! user's file would be.

use crate::finding::{self, Finding};
use crate::location::Location;
use crate::matcher::Matcher;
use crate::rules::RuleSet;
use crate::scan::pair::{self, Context};
use crate::scan::{ChunkScanner, DEFAULT_CHUNK_SIZE, LocatedMatch, PAIR_LINES, PairedBy};

/// One example that did not behave.
#[derive(Debug)]
pub struct Failure {
    /// The rule's id, or `pairing ID`.
    pub rule: String,
    pub example: String,
    /// True for an example that gave nothing, false for a negative example that gave a finding.
    pub expected_finding: bool,
}

/// The findings the pipeline reports for `text`, scanned as one file.
pub fn findings_in(rules: &RuleSet, matcher: &Matcher, text: &[u8]) -> Vec<Finding> {
    let mut scanner = ChunkScanner::new(matcher, DEFAULT_CHUNK_SIZE);
    let mut matches = Vec::new();
    scanner.scan(text, b'\n', &mut matches);
    let locate = |m: &LocatedMatch| Location::File { path: "example".into(), line: m.line, column: m.column };
    let (sightings, _) = pair::pair(&matches, PAIR_LINES, Context::Bytes(text), &locate);
    finding::from_sightings(sightings, rules).0
}

/// Every rule example that gives no finding made (partly) by its rule, and
/// every negative example that gives one; every pairing example that gives
/// no key ID paired that way, and every negative one that gives one.
pub fn check(rules: &RuleSet, matcher: &Matcher) -> Vec<Failure> {
    let mut failures = Vec::new();
    for pairing in &rules.pairings {
        for (list, expected_finding) in [(&pairing.examples, true), (&pairing.negative_examples, false)] {
            for example in list {
                let found = if pairing.id == PairedBy::SdkModel.id() {
                    !crate::chain::loadable::in_credentials_text(example).is_empty()
                } else {
                    paired_by(rules, matcher, example.as_bytes()).iter().any(|id| *id == pairing.id)
                };
                if found != expected_finding {
                    let rule = format!("pairing {}", pairing.id);
                    failures.push(Failure { rule, example: example.clone(), expected_finding });
                }
            }
        }
    }
    for rule in &rules.rules {
        for (list, expected_finding) in [(&rule.spec.examples, true), (&rule.spec.negative_examples, false)] {
            for example in list {
                let found =
                    findings_in(rules, matcher, example.as_bytes()).iter().any(|f| f.rules.contains(&rule.spec.id));
                if found != expected_finding {
                    failures.push(Failure { rule: rule.spec.id.clone(), example: example.clone(), expected_finding });
                }
            }
        }
    }
    failures
}

/// How each key ID in `text` (scanned as one file) had its secret paired.
fn paired_by(rules: &RuleSet, matcher: &Matcher, text: &[u8]) -> Vec<&'static str> {
    findings_in(rules, matcher, text)
        .iter()
        .filter(|f| f.key_id.is_some())
        .filter_map(|f| f.paired_by.map(|p| p.id()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rule_examples_behave() {
        let rules = RuleSet::embedded().unwrap();
        let matcher = Matcher::new(&rules).unwrap();
        let failures = check(&rules, &matcher);
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
