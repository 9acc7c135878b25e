//! The environment block parser on arbitrary bytes: no panic, and every
//! record the scanner counts has a name lookup.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolecall::environ::Environ;

fuzz_target!(|data: &[u8]| {
    let e = Environ::from_raw(data.to_vec());
    let names: Vec<String> = e.entries().map(|(k, _)| k.to_string()).collect();
    for n in &names {
        assert!(e.get(n).is_some());
    }
    let records = data.split(|&b| b == 0).count() as u64;
    for i in 1..=records.min(64) {
        let _ = e.name_of_record(i);
    }
    assert!(e.name_of_record(records + 1).is_none());
});
