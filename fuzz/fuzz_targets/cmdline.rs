//! A process's environment and command line, as any bytes a user can put
//! there, through the process scanner: no panic, and no secret-shaped run
//! of 40 or more characters survives in what a report would show of them
//! (the redacted command, a variable's name).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use rolecall::credential;
use rolecall::environ::Environ;
use rolecall::escape;
use rolecall::location::{Location, ProcessInfo};
use rolecall::matcher::Matcher;
use rolecall::rules::RuleSet;
use rolecall::scan::process::ProcessScanner;

static RULES: LazyLock<RuleSet> = LazyLock::new(|| RuleSet::embedded().unwrap());
static MATCHER: LazyLock<Matcher> = LazyLock::new(|| Matcher::new(&RULES).unwrap());

/// A run of 40 or more base64 characters that mixes cases or letters and digits.
fn has_secret_shaped_run(s: &str) -> bool {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '+')).any(|run| {
        run.len() >= 40
            && ((run.bytes().any(|b| b.is_ascii_uppercase()) && run.bytes().any(|b| b.is_ascii_lowercase()))
                || (run.bytes().any(|b| b.is_ascii_digit()) && run.bytes().any(|b| b.is_ascii_alphabetic())))
    })
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0xff).unwrap_or(data.len());
    let (env, argv) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let environ = Environ::from_raw(env.to_vec());
    let argv = Environ::from_raw(argv.to_vec());
    // What procenv shows of a command line.
    let joined: Vec<u8> = argv.raw().split(|&b| b == 0).filter(|a| !a.is_empty()).collect::<Vec<_>>().join(&b' ');
    let command = credential::redact(&escape::bytes(&joined));
    assert!(!has_secret_shaped_run(&command), "{command}");
    let info = ProcessInfo {
        pid: 1,
        command,
        exe: None,
        uid: 0,
        user: None,
        unit: None,
        container: None,
        start_time: None,
    };
    let mut scanner = ProcessScanner::new(&MATCHER, 4096);
    for s in scanner.scan(&info, &environ, &argv) {
        if let Location::Process { variable, .. } = &s.location {
            assert!(!has_secret_shaped_run(variable), "{variable}");
        }
    }
    let _ = environ.sdk_view();
});
