//! State-file fidelity: every rule an `OK` line of an implemented
//! extension's .t file gives, and rules that plain iptables-save text
//! cannot carry, must come back the same from palisade's state file
//! (state text → restore): the same iptables-save text, `-S -v` and `-L`
//! listings (numeric and with names), and the state text a fixed point.

mod common;

use palisade_rules::argv::{self, ListFlags};
use palisade_rules::ext;
use palisade_rules::listing;
use palisade_rules::model::{Ruleset, TableId};
use palisade_rules::ops;
use palisade_rules::restore::tokenize;
use palisade_rules::save;
use palisade_rules::state_file;

/// Everything a user can see of a ruleset.
fn observable(rs: &Ruleset) -> String {
    let mut out = save::save(rs, None, true, None);
    for t in rs.tables() {
        listing::list_rules_table(&mut out, t, true);
        for numeric in [true, false] {
            let flags = ListFlags {
                numeric,
                verbose: true,
                exact: true,
                line_numbers: false,
            };
            listing::list_table(&mut out, t, flags);
        }
    }
    out
}

fn state_text(rs: &Ruleset) -> String {
    state_file::save(rs)
}

fn reload(text: &str) -> Result<Ruleset, String> {
    state_file::load(text).map_err(|e| e.message("iptables-restore"))
}

/// Checks one ruleset; `Err` says how it came back.
fn round_trip(rs: &Ruleset) -> Result<(), String> {
    let first = state_text(rs);
    let back = reload(&first).map_err(|e| format!("reload failed: {e}\n{first}"))?;
    if observable(&back) != observable(rs) || state_text(&back) != first {
        return Err(format!(
            "differs after reload:\n{}\n---\n{}",
            observable(rs),
            observable(&back)
        ));
    }
    Ok(())
}

fn implemented(file: &str) -> bool {
    let Some(stem) = file.strip_suffix(".t") else {
        return false;
    };
    if stem == "iptables" || stem == "libxt_standard" {
        return true;
    }
    let Some(name) = stem
        .strip_prefix("libxt_")
        .or_else(|| stem.strip_prefix("libipt_"))
    else {
        return false;
    };
    ext::find_target(name).is_some() || ext::find_match(name).is_some()
}

/// The rule of a .t line added to an empty ruleset, if palisade takes it.
fn ruleset_of(table: &str, chain: &str, rule: &str) -> Option<Ruleset> {
    let mut words = vec!["-t".to_string(), table.to_string()];
    if TableId::from_name(table)?
        .builtin_hooks()
        .iter()
        .all(|h| h.chain_name() != chain)
    {
        return None;
    }
    words.extend(["-A".to_string(), chain.to_string()]);
    words.extend(tokenize(rule).ok()?);
    let inv = argv::parse(&words, "filter", false).ok()?;
    let mut rs = Ruleset::default();
    ops::execute(&mut rs, &inv).ok()?;
    Some(rs)
}

#[test]
fn t_file_rules_survive_the_state_file() {
    let dir = common::corpus_dir().join("iptables-t");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("read iptables-t")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| implemented(n))
        .collect();
    files.sort();
    let (mut checked, mut failed) = (0, Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(dir.join(f)).expect("read .t");
        for line in common::t_lines(&text) {
            if line.result != "OK" {
                continue;
            }
            for chain in &line.chains {
                let Some(rs) = ruleset_of(&line.table, chain, line.rule) else {
                    continue;
                };
                checked += 1;
                if let Err(e) = round_trip(&rs) {
                    failed.push(format!("{f} [{chain}] {}: {e}", line.rule));
                }
            }
        }
    }
    for f in &failed {
        eprintln!("FAILED: {f}");
    }
    println!(
        "state-file round trip: {checked} rules checked, {} differ",
        failed.len()
    );
    assert!(failed.is_empty(), "{} rules differ", failed.len());
}

/// Runs `iptables` command lines (already split into words) in order.
fn commands(lines: &[&[&str]]) -> Ruleset {
    let mut rs = Ruleset::default();
    for words in lines {
        let inv = argv::parse(words, "filter", false).expect("parse");
        ops::execute(&mut rs, &inv).expect("execute");
    }
    rs
}

#[test]
fn what_iptables_save_loses_or_cannot_say_survives() {
    let long_rule: Vec<&str> = ["-A", "INPUT"]
        .into_iter()
        .chain(std::iter::repeat_n(["-m", "comment", "--comment", "x"], 90).flatten())
        .collect();
    let cases: Vec<Vec<&[&str]>> = vec![
        // iptables-save prints the lower code only; the kernel keeps both.
        vec![&["-A", "INPUT", "-p", "icmp", "--icmp-type", "8/0:3"]],
        vec![&["-A", "INPUT", "-p", "icmp", "!", "--icmp-type", "3/5:255"]],
        vec![&["-A", "INPUT", "-p", "icmp", "--icmp-type", "255/4"]],
        vec![&["-A", "INPUT", "-p", "icmp", "--icmp-type", "any"]],
        // The IPv4 NAT struct keeps only the flag of a /BASE: saved /0.
        vec![&[
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-p",
            "tcp",
            "-j",
            "SNAT",
            "--to-source",
            "1.2.3.4:1000-2000/1500",
        ]],
        vec![&[
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-p",
            "udp",
            "-j",
            "MASQUERADE",
            "--to-ports",
            "1000-2000/1500",
            "--random",
        ]],
        vec![&[
            "-t",
            "nat",
            "-A",
            "PREROUTING",
            "-p",
            "tcp",
            "-j",
            "DNAT",
            "--to-destination",
            "1.2.3.4:1000-2000/1500",
        ]],
        // Names iptables-save prints bare though they hold blanks or quotes.
        vec![&["-A", "INPUT", "-i", "a b", "-j", "ACCEPT"]],
        vec![
            &["-N", "a\"b"],
            &["-A", "a\"b", "!", "-o", "q\"r\\", "-j", "ACCEPT"],
            &["-A", "INPUT", "-j", "a\"b"],
            &["-A", "FORWARD", "-g", "a\"b"],
        ],
        // Strings with a newline, quotes, backslashes, a literal "\n".
        vec![&[
            "-A",
            "INPUT",
            "-m",
            "comment",
            "--comment",
            "x\ny \"q\" 'a' \\n \\",
            "-j",
            "LOG",
            "--log-prefix",
            "p \"q\\",
        ]],
        // More words than iptables-restore reads in a line.
        vec![&long_rule],
    ];
    let mut failed = Vec::new();
    let mut lossy_in_plain_save = 0;
    for case in &cases {
        let rs = commands(case);
        let plain = save::save(&rs, None, true, None);
        if reload(&plain).map_or(true, |back| observable(&back) != observable(&rs)) {
            lossy_in_plain_save += 1;
        }
        if let Err(e) = round_trip(&rs) {
            failed.push(format!("{case:?}: {e}"));
        }
    }
    for f in &failed {
        eprintln!("FAILED: {f}");
    }
    assert!(failed.is_empty(), "{} cases differ", failed.len());
    // Plain iptables-save text, even read as a state file, would lose or
    // fail to read all of them but `any` and DNAT's /BASE (which
    // iptables-save keeps) and the long rule (the reader's business).
    assert_eq!(lossy_in_plain_save, cases.len() - 3);
}
