//! `iptables -L` / `-S` output against goldens recorded from the real
//! iptables 1.8.9 (`tools/gen-listing-goldens.sh`): each
//! `tests/listing/NAME.rules` is restored with counters, and every
//! `### ARGS` section of `NAME.golden` is what `iptables ARGS` printed.

use palisade_rules::argv;
use palisade_rules::model::Ruleset;
use palisade_rules::ops;
use palisade_rules::restore::{restore, RestoreOptions};

fn sections(golden: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in golden.split_inclusive('\n') {
        if let Some(args) = line.strip_prefix("### ") {
            out.push((args.trim_end().to_string(), String::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push_str(line);
        }
    }
    out
}

#[test]
fn listings_match_real_iptables() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/listing");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .expect("listing dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rules"))
        .collect();
    inputs.sort();
    let mut failures = Vec::new();
    let mut checked = 0;
    for input in &inputs {
        let rules = std::fs::read_to_string(input).expect("read rules");
        let golden = std::fs::read_to_string(input.with_extension("golden")).expect("read golden");
        let mut rs = Ruleset::default();
        let opts = RestoreOptions {
            counters: true,
            ..Default::default()
        };
        restore(&mut rs, &rules, opts).expect("restore listing input");
        for (args, want) in sections(&golden) {
            let words: Vec<String> = args.split_whitespace().map(str::to_string).collect();
            let inv = argv::parse(&words, "filter", false).expect("parse listing args");
            let got = ops::execute(&mut rs.clone(), &inv).expect("list").output;
            checked += 1;
            if got != want {
                failures.push(format!(
                    "{}: iptables {args}\n--- want\n{want}--- got\n{got}",
                    input.display()
                ));
            }
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    assert!(checked > 0, "no listing goldens found");
    assert!(
        failures.is_empty(),
        "{} of {checked} listings differ",
        failures.len()
    );
}
