//! iptables command lines (NUL-separated words): must never panic, and a
//! refused command must leave the ruleset unchanged.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_rules::model::Ruleset;
use palisade_rules::{argv, ops, save};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let words: Vec<String> = text.split('\0').map(str::to_string).collect();
    let mut rs = Ruleset::default();
    let before = save::save(&rs, None, true, None);
    if let Ok(inv) = argv::parse(&words, "filter", false) {
        if ops::execute(&mut rs, &inv).is_err() {
            assert_eq!(save::save(&rs, None, true, None), before);
        }
    }
});
