//! The cheap half of intake alone (limits, then parsing), thousands of
//! times faster than `ingest`, so the fuzzer reaches deep MIME shapes
//! sooner. Every input must come out as a message or a reason.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postdesk::mail::{limits, parse, Limits};

fuzz_target!(|data: &[u8]| {
    // Small limits, so short inputs reach every cut.
    let small = Limits {
        message_bytes: 100_000,
        header_bytes: 4096,
        line_bytes: 256,
        depth: 4,
        parts: 16,
        recipients: 8,
    };
    if let Ok(fitted) = limits::fit(data, &small) {
        // What was let through is within the limits when measured again.
        let again = limits::fit(&fitted.bytes, &small);
        assert!(again.is_ok(), "fitted bytes over a limit: {again:?}");
    }
    let _ = postdesk::mail::parse_with(data, &small);
    let _ = parse(data);
});
