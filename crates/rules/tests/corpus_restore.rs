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

use palisade_rules::ext;
use palisade_rules::model::Ruleset;
use palisade_rules::restore::{restore, RestoreError, RestoreOptions};
use palisade_rules::save::save;

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
    skipped: Vec<String>,
}

/// The unimplemented extension the failing line uses, if any: a
/// `-m NAME` palisade has no match for, or a `-j NAME` in upper case that
/// is neither a verdict nor a target palisade has (iptables would take it
/// for a chain name only if no such target existed).
fn missing_extension(input: &str, err: &RestoreError) -> Option<String> {
    let line = match err {
        RestoreError::Param { line, error } => {
            // A jump to an unknown target is reported at COMMIT as a
            // missing chain.
            let msg = error.to_string();
            if let Some(name) = msg
                .strip_prefix("Chain '")
                .and_then(|r| r.strip_suffix("' does not exist"))
            {
                if name.chars().all(|c| c.is_ascii_uppercase()) && ext::find_target(name).is_none()
                {
                    return Some(name.to_string());
                }
            }
            *line
        }
        RestoreError::LineFailed { line, .. } => *line,
        _ => return None,
    };
    let text = input.lines().nth(line.checked_sub(1)?)?;
    let words: Vec<&str> = text.split_whitespace().collect();
    for pair in words.windows(2) {
        match pair[0] {
            "-m" | "--match" if ext::find_match(pair[1]).is_none() => {
                return Some(pair[1].to_string())
            }
            "-j" | "--jump"
                if pair[1].chars().all(|c| c.is_ascii_uppercase())
                    && !matches!(pair[1], "ACCEPT" | "DROP" | "RETURN")
                    && ext::find_target(pair[1]).is_none() =>
            {
                return Some(pair[1].to_string())
            }
            _ => {}
        }
    }
    None
}

fn check(name: &str, input: &Path, goldens: &[(&Path, bool)], tally: &mut Tally) {
    let text = std::fs::read_to_string(input).expect("read input");
    let mut rs = Ruleset::default();
    if let Err(e) = restore(&mut rs, &text, RestoreOptions::default()) {
        match missing_extension(&text, &e) {
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
