//! Restore-then-save over the corpus, compared byte for byte (minus `#`
//! lines) with what Linux + iptables 1.8.9 printed for the same input:
//! - `iptables-dumps/NAME` → `NAME.golden-kernel` (IPv4 files),
//! - `moby/*__iptables.golden` → itself,
//! - `realworld/NAME.rules` → `NAME.golden` (save) and
//!   `NAME.golden-counters` (save -c).
//!
//! A file that uses an extension palisade does not implement yet is
//! counted as skipped (with the extension's name); any other difference
//! fails the test.

mod common;

use std::path::Path;

use palisade_rules::model::Ruleset;
use palisade_rules::restore::{restore, RestoreError, RestoreOptions};
use palisade_rules::save::save;

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
    skipped: Vec<String>,
}

/// The missing extension a refusal names, if that is why it failed.
fn missing_extension(err: &RestoreError) -> Option<String> {
    let RestoreError::Param { error, .. } = err else {
        return None;
    };
    let text = error.to_string();
    let rest = text.strip_prefix("Couldn't load match `").or_else(|| {
        text.strip_prefix("Chain '").filter(|r| {
            // `-j NAME` of an unimplemented target reads as a missing chain;
            // target names are upper case.
            r.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        })
    })?;
    let end = rest.find(['\'', '`'])?;
    Some(rest[..end].to_string())
}

fn check(name: &str, input: &Path, goldens: &[(&Path, bool)], tally: &mut Tally) {
    let text = std::fs::read_to_string(input).expect("read input");
    let mut rs = Ruleset::default();
    if let Err(e) = restore(&mut rs, &text, RestoreOptions::default()) {
        match missing_extension(&e) {
            Some(ext) => tally.skipped.push(format!("{name} (needs {ext})")),
            None => tally.failed.push(format!(
                "{name}: restore failed: {}",
                e.message("iptables-restore")
            )),
        }
        return;
    }
    for (golden, counters) in goldens {
        let want = common::strip_comments(&std::fs::read_to_string(golden).expect("read golden"));
        let got = save(&rs, None, *counters, None);
        if got == want {
            tally.passed += 1;
        } else {
            let diff: Vec<String> = want
                .lines()
                .zip(got.lines().chain(std::iter::repeat("<missing>")))
                .filter(|(w, g)| w != g)
                .take(3)
                .map(|(w, g)| format!("\n    want: {w}\n    got:  {g}"))
                .collect();
            tally
                .failed
                .push(format!("{} differs:{}", golden.display(), diff.join("")));
        }
    }
}

#[test]
fn corpus_restore_save_matches_linux() {
    let corpus = common::corpus_dir();
    let mut tally = Tally::default();

    let dumps = corpus.join("iptables-dumps");
    let mut names: Vec<_> = std::fs::read_dir(&dumps)
        .expect("read dumps")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".golden-kernel") && !n.contains("ip6tables"))
        .collect();
    names.sort();
    for n in &names {
        let golden = dumps.join(format!("{n}.golden-kernel"));
        check(n, &dumps.join(n), &[(&golden, false)], &mut tally);
    }

    let moby = corpus.join("moby");
    let mut names: Vec<_> = std::fs::read_dir(&moby)
        .expect("read moby")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("__iptables.golden"))
        .collect();
    names.sort();
    for n in &names {
        let path = moby.join(n);
        check(n, &path, &[(&path, false)], &mut tally);
    }

    let real = corpus.join("realworld");
    let mut names: Vec<_> = std::fs::read_dir(&real)
        .expect("read realworld")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".rules").map(str::to_string))
        .collect();
    names.sort();
    for n in &names {
        let g = real.join(format!("{n}.golden"));
        let gc = real.join(format!("{n}.golden-counters"));
        check(
            n,
            &real.join(format!("{n}.rules")),
            &[(&g, false), (&gc, true)],
            &mut tally,
        );
    }

    for f in &tally.failed {
        eprintln!("FAILED: {f}");
    }
    for s in &tally.skipped {
        eprintln!("skipped: {s}");
    }
    println!(
        "corpus restore/save conformance: {} passed, {} failed, {} skipped",
        tally.passed,
        tally.failed.len(),
        tally.skipped.len()
    );
    assert!(
        tally.failed.is_empty(),
        "{} corpus files differ from Linux",
        tally.failed.len()
    );
}
