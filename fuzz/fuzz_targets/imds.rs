//! IMDS response parsing on arbitrary bytes: errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rolecall::imds::parse_any_response(data);
});
