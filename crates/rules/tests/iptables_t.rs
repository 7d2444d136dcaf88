//! iptables 1.8.9's own extension tests (`../shared/corpus/iptables-t`):
//! every `OK` line of an implemented extension must be accepted and saved
//! as expected, every `FAIL` line refused. Lines of extensions palisade does
//! not implement are counted as skipped. Where iptables' test disagrees
//! with what iptables 1.8.9 does on Linux, the line is listed in
//! `LINUX_DISAGREES` with what Linux does.

mod common;

use palisade_rules::argv;
use palisade_rules::ext;
use palisade_rules::model::Ruleset;
use palisade_rules::ops;
use palisade_rules::restore::tokenize;
use palisade_rules::save;

/// (file, rule) pairs whose expectation in the .t file is not what Linux
/// with iptables 1.8.9 does; the second field says what Linux does
/// (checked with iptables 1.8.9 on Linux 6.18 in a network namespace).
const LINUX_DISAGREES: &[(&str, &str, Outcome)] = &[
    // The kernel keeps NFLOG's long prefix whole.
    // iptables-nft stores it in a native nft log expression (up to 127
    // bytes), not the 64-byte xt struct: saved back with all 65 x's.
    (
        "libxt_NFLOG.t",
        "-j NFLOG --nflog-prefix xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        Outcome::Accepted,
    ),
    // recent: the kernel accepts --hitcount 999 (ip_pkt_list_tot is 255
    // only as a module default; the nft compat path does not check it).
    (
        "libxt_recent.t",
        "-m recent --rcheck --hitcount 999 --name foo --mask 255.255.255.255 --rsource",
        Outcome::Accepted,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Accepted,
}

/// Which extension a .t file tests, when it is an IPv4 one.
fn extension_of(file: &str) -> Option<(&str, bool)> {
    let stem = file.strip_suffix(".t")?;
    let name = stem
        .strip_prefix("libxt_")
        .or_else(|| stem.strip_prefix("libipt_"))?;
    let is_target = name.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    Some((name, is_target))
}

fn implemented(file: &str) -> bool {
    match file {
        "iptables.t" | "libxt_standard.t" => true,
        _ => match extension_of(file) {
            Some((name, true)) => ext::find_target(name).is_some(),
            Some((name, false)) => ext::find_match(name).is_some(),
            None => false,
        },
    }
}

struct Tally {
    passed: usize,
    failed: Vec<String>,
    skipped: usize,
}

/// Runs `-t TABLE -A CHAIN RULE` on an empty ruleset; returns the saved
/// rule line or the error.
fn run_rule(table: &str, chain: &str, rule: &str) -> Result<String, String> {
    let mut words = vec![
        "-t".to_string(),
        table.to_string(),
        "-A".to_string(),
        chain.to_string(),
    ];
    words.extend(tokenize(rule).map_err(|e| e.to_string())?);
    let inv = argv::parse(&words, "filter", false).map_err(|e| e.to_string())?;
    let mut rs = Ruleset::default();
    ops::execute(&mut rs, &inv).map_err(|e| e.to_string())?;
    let text = save::save(&rs, None, false, None);
    let prefix = format!("-A {chain} ");
    Ok(text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or("")
        .to_string())
}

fn run_file(name: &str, text: &str, tally: &mut Tally) {
    for line in common::t_lines(text) {
        let (table, chains) = (&line.table, &line.chains);
        let (rule, expected, result) = (line.rule, line.expected, line.result);
        if line.variants.contains(&"LEGACY") {
            continue;
        }
        let override_ = LINUX_DISAGREES
            .iter()
            .find(|(f, r, _)| *f == name && *r == rule);
        for chain in chains {
            let got = run_rule(table, chain, rule);
            let want_line = if expected == "=" {
                format!("-A {chain} {rule}")
            } else {
                format!("-A {chain} {expected}")
            };
            let ok = match (result, &got, override_) {
                (_, Ok(_), Some((_, _, Outcome::Accepted))) => true,
                ("OK", Ok(line), None) => *line == want_line,
                ("NOMATCH", Ok(_), None) => true,
                ("FAIL", Err(_), None) => true,
                _ => false,
            };
            if ok {
                tally.passed += 1;
            } else {
                tally.failed.push(format!(
                    "{name} [{table}:{chain}] {rule} ({result}): want `{want_line}', got {got:?}"
                ));
            }
        }
    }
}

#[test]
fn iptables_extension_tests() {
    let dir = common::corpus_dir().join("iptables-t");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read iptables-t")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.ends_with(".t")
                && !n.starts_with("libip6t_")
                && !n.starts_with("libebt_")
                && !n.starts_with("libarpt_")
        })
        .collect();
    files.sort();
    let mut tally = Tally {
        passed: 0,
        failed: vec![],
        skipped: 0,
    };
    let mut skipped_files = vec![];
    for f in &files {
        let text = std::fs::read_to_string(dir.join(f)).expect("read .t");
        if !implemented(f) {
            let lines = text
                .lines()
                .filter(|l| l.contains(';') && !l.starts_with('#'))
                .count();
            tally.skipped += lines;
            skipped_files.push(f.clone());
            continue;
        }
        run_file(f, &text, &mut tally);
    }
    for f in &tally.failed {
        eprintln!("FAILED: {f}");
    }
    eprintln!(
        "iptables-t: skipped extensions: {}",
        skipped_files.join(" ")
    );
    println!(
        "iptables-t conformance: {} passed, {} failed, {} skipped",
        tally.passed,
        tally.failed.len(),
        tally.skipped
    );
    assert!(
        tally.failed.is_empty(),
        "{} .t lines disagree",
        tally.failed.len()
    );
}
