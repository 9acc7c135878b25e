//! ../shared/peer-cases/aws-cases.jsonl: 133 samples from other scanners'
//! test suites. The peers disagree among themselves, so tests/data/peer-cases.toml
//! records our own verdict for every case, with a reason wherever it differs
//! from the peer's, and this test holds the pipeline to it.

use std::collections::BTreeMap;
use std::path::Path;

use rolecall::matcher::Matcher;
use rolecall::rulecheck::findings_in;
use rolecall::rules::RuleSet;
use serde::Deserialize;

#[derive(Deserialize)]
struct PeerCase {
    source: String,
    text: String,
    expect: String,
}

#[derive(Deserialize)]
struct Ours {
    case: Vec<Verdict>,
}

#[derive(Deserialize)]
struct Verdict {
    line: usize,
    /// First 8 bytes of SHA-256 of the text, so that a changed peer file is noticed.
    text_sha: String,
    expect: String,
    reason: Option<String>,
}

fn sha(text: &str) -> String {
    rolecall::credential::short_hash(&[text.as_bytes()])
}

fn peer_cases() -> Vec<PeerCase> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/peer-cases/aws-cases.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn every_peer_case_gets_our_recorded_verdict() {
    let cases = peer_cases();
    let ours: Ours = toml::from_str(include_str!("../data/peer-cases.toml")).unwrap();
    let ours: BTreeMap<usize, Verdict> = ours.case.into_iter().map(|v| (v.line, v)).collect();
    assert_eq!(cases.len(), 133);
    assert_eq!(ours.len(), cases.len(), "one recorded verdict per case");
    let rules = RuleSet::embedded().unwrap();
    let matcher = Matcher::new(&rules).unwrap();
    let mut wrong = Vec::new();
    let mut differ = 0;
    for (i, case) in cases.iter().enumerate() {
        let line = i + 1;
        let v = &ours[&line];
        assert_eq!(v.text_sha, sha(&case.text), "case {line} ({}) changed in the peer file", case.source);
        assert!(v.expect == "match" || v.expect == "no-match");
        if v.expect != case.expect {
            differ += 1;
            assert!(
                v.reason.as_deref().is_some_and(|r| !r.is_empty()),
                "case {line}: differs from the peer without a reason"
            );
        }
        let got = if findings_in(&rules, &matcher, case.text.as_bytes()).is_empty() { "no-match" } else { "match" };
        if got != v.expect {
            wrong.push(format!(
                "case {line}: expected {}, got {got}: {:?}",
                v.expect,
                &case.text[..case.text.len().min(120)]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    eprintln!("{} cases, {differ} where our verdict differs from the peer's", cases.len());
}

/// Prints the current verdicts as TOML (for a person writing peer-cases.toml).
#[test]
#[ignore]
fn print_current_verdicts() {
    let rules = RuleSet::embedded().unwrap();
    let matcher = Matcher::new(&rules).unwrap();
    for (i, case) in peer_cases().iter().enumerate() {
        let got = if findings_in(&rules, &matcher, case.text.as_bytes()).is_empty() { "no-match" } else { "match" };
        println!(
            "[[case]]\nline = {}\ntext_sha = \"{}\"\nexpect = \"{got}\"\n# peer: {} ({})\n",
            i + 1,
            sha(&case.text),
            case.expect,
            case.source
        );
    }
}
