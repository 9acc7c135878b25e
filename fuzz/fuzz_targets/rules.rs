//! The rule-file loader on arbitrary TOML: errors, never a panic, and a
//! rule set that loads always builds a matcher.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolecall::matcher::Matcher;
use rolecall::rules::RuleSet;

fuzz_target!(|text: &str| {
    if let Ok(set) = RuleSet::from_toml("fuzz.toml", text) {
        let m = Matcher::new(&set).expect("a validated rule set compiles");
        let mut out = Vec::new();
        m.find(text.as_bytes(), &mut m.scratch(), &mut out);
    }
});
