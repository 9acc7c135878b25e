//! The host's small parsers on arbitrary text: systemd units
//! (EnvironmentFile=), passwd, shell startup exports, /proc cgroup.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolecall::sources::{host, procenv, users};

fuzz_target!(|text: &str| {
    for p in host::parse_environment_files(text) {
        assert!(p.is_absolute());
    }
    for u in users::parse_passwd(text) {
        assert!(!u.name.is_empty());
    }
    for (k, _) in users::aws_exports(text) {
        assert!(k.starts_with("AWS_"));
    }
    let _ = procenv::parse_cgroup(text);
});
