//! Property tests: arbitrary and mutated input to the restore parser and
//! the argv parser never panics, and a refused command or table leaves
//! the ruleset exactly as it was.

use palisade_rules::argv;
use palisade_rules::model::Ruleset;
use palisade_rules::ops;
use palisade_rules::restore::{restore, RestoreOptions};
use palisade_rules::save::save;
use proptest::prelude::*;

/// Rule lines in the shapes real rulesets use, to mutate.
const SEEDS: &[&str] = &[
    "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT",
    "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT",
    "-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j DROP",
    "-A INPUT ! -s 1.2.3.4/255.0.255.0 -f -g x",
    "-I INPUT 1 -p udp -j RETURN",
    "-N x",
    "-A x -j x",
    "-X x",
    "-D INPUT 1",
    "-P INPUT DROP",
    "-E x y",
    "-R INPUT 1 -j ACCEPT",
    "-F",
    "-Z INPUT",
    "[1:2] -A INPUT -m comment --comment \"a \\\" b\" -j ACCEPT",
];

const WORDS: &[&str] = &[
    "-A",
    "-I",
    "-D",
    "-R",
    "-N",
    "-X",
    "-E",
    "-P",
    "-F",
    "-Z",
    "-L",
    "-S",
    "-C",
    "-s",
    "-d",
    "-p",
    "-i",
    "-o",
    "-j",
    "-g",
    "-m",
    "-f",
    "!",
    "-n",
    "-v",
    "-x",
    "-c",
    "-t",
    "--line-numbers",
    "-w",
    "INPUT",
    "FORWARD",
    "OUTPUT",
    "PREROUTING",
    "x",
    "y",
    "tcp",
    "udp",
    "all",
    "ACCEPT",
    "DROP",
    "RETURN",
    "1",
    "0",
    "65536",
    "--dport",
    "--sport",
    "--syn",
    "--tcp-flags",
    "SYN",
    "ALL",
    "10.0.0.1/8",
    "1.2.3.4/255.255.0.255",
    "eth+",
    "nat",
    "filter",
    "raw",
    "mangle",
    "security",
    "",
    "--",
    "-",
    "=",
    "--dport=80",
    "-nvL",
    "-AINPUT",
];

fn mutate(line: &str, ops: &[(u8, usize, char)]) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    for &(kind, pos, c) in ops {
        let at = if chars.is_empty() {
            0
        } else {
            pos % (chars.len() + 1)
        };
        match kind % 3 {
            0 => chars.insert(at, c),
            1 if at < chars.len() => {
                chars.remove(at);
            }
            _ if at < chars.len() => chars[at] = c,
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn base_ruleset() -> Ruleset {
    let mut rs = Ruleset::default();
    let base = "*filter\n:x - [0:0]\n-A INPUT -p tcp -m tcp --dport 80 -j x\n-A x -j RETURN\nCOMMIT\n*nat\n-A POSTROUTING -s 10.0.0.0/8\nCOMMIT\n";
    restore(&mut rs, base, RestoreOptions::default()).expect("base ruleset");
    rs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn argv_never_panics_and_refusals_change_nothing(
        words in proptest::collection::vec(proptest::sample::select(WORDS), 0..12)
    ) {
        let words: Vec<String> = words.into_iter().map(str::to_string).collect();
        let mut rs = base_ruleset();
        let before = save(&rs, None, true, None);
        if let Ok(inv) = argv::parse(&words, "filter", false) {
            if ops::execute(&mut rs, &inv).is_err() {
                prop_assert_eq!(save(&rs, None, true, None), before);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in ".{0,400}") {
        let mut rs = base_ruleset();
        let _ = restore(&mut rs, &input, RestoreOptions::default());
        let words: Vec<String> = input.split(' ').map(str::to_string).collect();
        let _ = argv::parse(&words, "filter", false);
    }

    #[test]
    fn mutated_restore_commits_whole_tables_or_nothing(
        picks in proptest::collection::vec(0..SEEDS.len(), 1..6),
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), proptest::char::range(' ', '~')), 0..4),
        noflush in any::<bool>(),
    ) {
        let mut body = String::new();
        for (i, p) in picks.iter().enumerate() {
            let line = if i == 0 { mutate(SEEDS[*p], &edits) } else { SEEDS[*p].to_string() };
            body.push_str(&line);
            body.push('\n');
        }
        // A good filter table first, then the mutated nat table.
        let input = format!("*filter\n-A INPUT -j DROP\nCOMMIT\n*nat\n:x - [0:0]\n{body}COMMIT\n");
        let mut rs = base_ruleset();
        let nat_before = save(&rs, Some(palisade_rules::TableId::Nat), true, None);
        let opts = RestoreOptions { noflush, ..Default::default() };
        let result = restore(&mut rs, &input, opts);
        // The filter table always committed (it comes first and is valid).
        let filter = save(&rs, Some(palisade_rules::TableId::Filter), true, None);
        prop_assert!(filter.contains("-A INPUT -j DROP"));
        if result.is_err() {
            prop_assert_eq!(save(&rs, Some(palisade_rules::TableId::Nat), true, None), nat_before);
        }
    }
}
