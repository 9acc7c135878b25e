//! The shared config/credentials parsers (botocore's, the Rust SDK's and the
//! JavaScript SDK's readings) on arbitrary text: no panic, and every profile
//! comes from a section.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolecall::awsconfig::{self, ConfigProfiles, Ini, SdkProfiles};

fuzz_target!(|text: &str| {
    if let Ok(ini) = Ini::parse(text) {
        let p = ConfigProfiles::from_config(&ini);
        assert!(p.profiles.len() + p.sso_sessions.len() <= ini.sections.len());
    }
    if let Ok(sections) = awsconfig::parse_rust(text) {
        let p = SdkProfiles::rust(&sections, &sections);
        assert!(p.profiles.len() + p.sso_sessions.len() <= 2 * sections.len());
    }
    let sections = awsconfig::parse_js(text).unwrap_or_default();
    let p = SdkProfiles::js(&sections, &sections);
    assert!(p.profiles.len() + p.sso_sessions.len() <= 2 * sections.len());
});
