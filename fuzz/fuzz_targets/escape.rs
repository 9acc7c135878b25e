//! Output escaping on any bytes: what reaches a terminal or a log line has
//! no control character (C0, C1, DEL) and no bidirectional override, cuts
//! never split a character, and redaction leaves no secret-shaped run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolecall::{credential, escape};

fuzz_target!(|data: &[u8]| {
    let text = escape::bytes(data);
    let shown = escape::terminal(&text);
    for c in shown.chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
        assert!(!c.is_control() && !bidi, "{c:?} in {shown:?}");
    }
    let redacted = credential::redact(&text);
    let _ = escape::terminal(&redacted);
    for max in [0, 1, 3, 4, 5, 17, 1024] {
        let cut = escape::cut(&text, max);
        assert!(cut.len() <= max.max(3) || cut.len() == text.len());
        let _ = escape::prefix(&text, max);
    }
});
