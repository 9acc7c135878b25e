//! The shared config/credentials parser on arbitrary text: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolecall::awsconfig::{ConfigProfiles, Ini};

fuzz_target!(|text: &str| {
    if let Ok(ini) = Ini::parse(text) {
        let p = ConfigProfiles::from_config(&ini);
        // Every profile comes from a section.
        assert!(p.profiles.len() + p.sso_sessions.len() <= ini.sections.len());
    }
});
