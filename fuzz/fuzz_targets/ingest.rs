//! Any bytes through the whole intake path (parse → limits → guard →
//! thread → rules → decide → store), then the read paths. A crash, a hang
//! (libFuzzer's -timeout) or a store error is a finding.
#![no_main]

use std::cell::RefCell;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use postdesk::fuzzing::Harness;

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    HARNESS.with(|cell| {
        let mut cell = cell.borrow_mut();
        let harness = cell.get_or_insert_with(|| {
            let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates");
            Harness::new(&templates).expect("the fuzzing desk opens")
        });
        if let Err(e) = harness.ingest(data) {
            panic!("the store failed on input: {e}");
        }
    });
});
