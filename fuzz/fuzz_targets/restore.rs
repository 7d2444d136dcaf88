//! iptables-restore input: must never panic; a failed table leaves the
//! ruleset's other tables as committed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_rules::model::Ruleset;
use palisade_rules::restore::{restore, RestoreOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut rs = Ruleset::default();
    let _ = restore(&mut rs, &text, RestoreOptions::default());
    let _ = restore(&mut rs, &text, RestoreOptions { noflush: true, counters: true, ..Default::default() });
});
