//! Property tests: arbitrary and mutated input to the restore parser and
//! the argv parser never panics, and a refused command or table leaves
//! the ruleset exactly as it was.

mod common;

use std::sync::OnceLock;

use palisade_rules::argv;
use palisade_rules::ext::{self, MATCHES, TARGETS};
use palisade_rules::model::Ruleset;
use palisade_rules::ops;
use palisade_rules::restore::{restore, tokenize, RestoreOptions};
use palisade_rules::save::save;
use proptest::prelude::*;
use proptest::sample::select;

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

/// Every registered extension's name and its options as `--NAME`, so the
/// generated command lines reach each extension's parser.
fn extension_words() -> Vec<String> {
    let mut words = Vec::new();
    for (name, factory) in MATCHES.iter().chain(TARGETS) {
        words.push(name.to_string());
        words.extend(factory().options().iter().map(|o| format!("--{}", o.name)));
    }
    words.extend(["-m", "-j", "-t"].map(String::from));
    words
}

/// Characters that upset byte-indexed parsing: multi-byte ones of every
/// width, C blanks that are not spaces, NUL, and the separators address
/// and port syntax cut at.
fn odd_char() -> impl Strategy<Value = char> {
    prop_oneof![
        select(vec![
            '\u{e4}',
            '\u{20ac}',
            '\u{1d11e}',
            '\u{a0}',
            '\u{0}',
            '\u{b}',
            '\t',
            ' ',
            '/',
            ',',
            '-',
            ':',
            '.',
            '!',
            '"',
            '\\',
            '+',
            '[',
            ']',
            '%',
        ]),
        any::<char>(),
    ]
}

/// Inserts each `(position, char)` at a character boundary of `word`.
fn insert_chars(word: &str, inserts: &[(usize, char)]) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    for &(pos, c) in inserts {
        chars.insert(pos % (chars.len() + 1), c);
    }
    chars.into_iter().collect()
}

/// Address-shaped words (addresses, masks, ranges, lists, NAT ranges)
/// with odd characters put in anywhere, including around the 19-byte cut
/// of iptables' numeric address buffer.
fn address_word() -> impl Strategy<Value = String> {
    let shapes = select(vec![
        "10.0.0.1/8",
        "1.2.3.4/255.255.0.255",
        "1.2.3.4-1.2.3.9",
        "1.2.3.4-1.2.3.9:80-90/100",
        ":1024-65535",
        "1.1.1.1,2.2.2.2/24,3.3.3.3",
        "0x7f.0.0.01",
        "1.2.3.4xxxxxxxxxxxx",
        "123.123.123.123/32",
        "localhost/0",
        "",
    ]);
    let inserts = proptest::collection::vec((any::<usize>(), odd_char()), 0..4);
    (shapes, inserts).prop_map(|(w, ins)| insert_chars(w, &ins))
}

/// Words that look like options: `--x`, `--x=y`, a bare `!`, short
/// clusters, and a dash or two alone.
fn option_word() -> impl Strategy<Value = String> {
    prop_oneof![
        "--[a-z-]{0,12}",
        "--[a-z-]{1,12}=[a-z0-9!]{0,4}",
        "-[a-zA-Z0-9!]{0,4}",
        select(vec!["!", "!!", "! ", "-", "--", "---", "=", "!-j"]).prop_map(String::from),
    ]
}

/// Very long words: one character repeated (multi-byte ones too), or an
/// address with a long tail, past every fixed buffer iptables has.
fn long_word() -> impl Strategy<Value = String> {
    prop_oneof![
        (odd_char(), 20..3000usize).prop_map(|(c, n)| c.to_string().repeat(n)),
        ("[a-z0-9.]{1,8}", 250..300usize).prop_map(|(w, n)| w.repeat(n)),
        (0..2000usize).prop_map(|n| format!("1.2.3.4{}", "\u{e4}".repeat(n))),
    ]
}

/// One word of a generated command line.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(WORDS).prop_map(String::from),
        3 => select(extension_words()),
        2 => address_word(),
        2 => option_word(),
        1 => long_word(),
        1 => ".{0,12}",
    ]
}

/// A word as a restore line writes it: bare, or in double quotes with
/// inner quotes and backslashes escaped, or with stray quotes and
/// backslashes the tokenizer must cope with.
fn restore_word() -> impl Strategy<Value = String> {
    (word(), 0..4u8).prop_map(|(w, how)| match how {
        0 => w,
        1 => format!("\"{}\"", w.replace('\\', "\\\\").replace('"', "\\\"")),
        2 => format!("\"{w}"),
        _ => format!("{w}\\\""),
    })
}

/// A restore line: a command and some words.
fn restore_line() -> impl Strategy<Value = String> {
    (
        select(vec![
            "-A INPUT",
            "-I INPUT 1",
            "-A x",
            "-N y",
            "-E x y",
            "-R INPUT 1",
            "-D INPUT",
            "[1:2] -A INPUT",
            "-A",
        ]),
        proptest::collection::vec(restore_word(), 0..8),
    )
        .prop_map(|(cmd, words)| format!("{cmd} {}", words.join(" ")))
}

/// A rule of iptables' own extension tests: table, chain, rule text.
type CorpusRule = (String, String, String);

/// Every rule line of iptables 1.8.9's IPv4 extension tests
/// (`../shared/corpus/iptables-t`), with the table and first chain its
/// file names, as seeds that reach every extension with good values.
fn corpus_rules() -> &'static [CorpusRule] {
    static RULES: OnceLock<Vec<CorpusRule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let dir = common::corpus_dir().join("iptables-t");
        let mut rules = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("iptables-t corpus")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with("libxt_") || name.starts_with("libipt_")
            })
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let (mut table, mut chain) = ("filter".to_string(), "INPUT".to_string());
            for line in text.lines() {
                if let Some(t) = line.strip_prefix('*') {
                    table = t.to_string();
                } else if let Some(c) = line.strip_prefix(':') {
                    chain = c.split(',').next().unwrap_or("INPUT").to_string();
                } else if !line.starts_with('#') && !line.is_empty() {
                    let rule = line.split(';').next().unwrap_or("");
                    rules.push((table.clone(), chain.clone(), rule.to_string()));
                }
            }
        }
        rules
    })
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
        words in proptest::collection::vec(word(), 0..14)
    ) {
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

    #[test]
    fn generated_restore_lines_never_panic_nor_commit_in_part(
        lines in proptest::collection::vec(restore_line(), 1..6),
        table in select(vec!["filter", "nat", "mangle", "raw"]),
        noflush in any::<bool>(),
        counters in any::<bool>(),
    ) {
        let input = format!("*{table}\n:x - [0:0]\n{}\nCOMMIT\n", lines.join("\n"));
        let mut rs = base_ruleset();
        let before = save(&rs, None, true, None);
        let opts = RestoreOptions { noflush, counters, ..Default::default() };
        if restore(&mut rs, &input, opts).is_err() {
            // One table only: a failure leaves every table as it was.
            prop_assert_eq!(save(&rs, None, true, None), before);
        }
    }

    #[test]
    fn odd_words_in_every_extension_never_panic(
        ext_name in select(MATCHES.iter().chain(TARGETS).map(|(n, _)| *n).collect::<Vec<_>>()),
        words in proptest::collection::vec(word(), 0..6),
        table in select(vec!["filter", "nat", "mangle", "raw"]),
    ) {
        // Options of the extension under test, with generated values.
        let is_target = ext::find_target(ext_name).is_some();
        let flag = if is_target { "-j" } else { "-m" };
        // A built-in chain of the table, so the kernel's checks run too.
        let chain = if table == "filter" { "INPUT" } else { "PREROUTING" };
        let mut args: Vec<String> = ["-t", table, "-A", chain, "-p", "tcp", flag, ext_name]
            .map(String::from)
            .to_vec();
        let opts = if is_target { ext::find_target(ext_name) } else { ext::find_match(ext_name) }
            .map(|e| e.options().iter().map(|o| format!("--{}", o.name)).collect::<Vec<_>>())
            .unwrap_or_default();
        for (i, w) in words.into_iter().enumerate() {
            if let Some(o) = opts.get(i % opts.len().max(1)) {
                args.push(o.clone());
            }
            args.push(w);
        }
        let mut rs = base_ruleset();
        let before = save(&rs, None, true, None);
        let mut warnings = Vec::new();
        if let Ok(inv) = argv::parse_with_warnings(&args, "filter", false, &mut warnings) {
            if ops::execute(&mut rs, &inv).is_err() {
                prop_assert_eq!(save(&rs, None, true, None), before);
            }
        }
    }

    #[test]
    fn mutated_corpus_rules_never_panic_nor_change_on_refusal(
        pick in any::<prop::sample::Index>(),
        at in any::<usize>(),
        how in 0..3u8,
        inserts in proptest::collection::vec((any::<usize>(), odd_char()), 1..4),
        other in word(),
    ) {
        let (table, chain, rule) = pick.get(corpus_rules());
        let Ok(mut words) = tokenize(rule) else { return Ok(()) };
        // One word changed: odd characters put in, replaced, or followed
        // by a generated word.
        if !words.is_empty() {
            let i = at % words.len();
            match how {
                0 => words[i] = insert_chars(&words[i], &inserts),
                1 => words[i] = other,
                _ => words.insert(i + 1, other),
            }
        }
        let mut args: Vec<String> = ["-t", table, "-A", chain].map(String::from).to_vec();
        args.extend(words);
        let mut rs = base_ruleset();
        let before = save(&rs, None, true, None);
        let mut warnings = Vec::new();
        let Ok(inv) = argv::parse_with_warnings(&args, "filter", false, &mut warnings) else {
            return Ok(());
        };
        if ops::execute(&mut rs, &inv).is_err() {
            prop_assert_eq!(save(&rs, None, true, None), before);
            return Ok(());
        }
        // Accepted: saving and listing it must not panic either.
        let _ = save(&rs, None, true, None);
        for list in [&["-L", "-n", "-v", "-x"][..], &["-L"], &["-S"]] {
            let mut cmd: Vec<&str> = vec!["-t", table];
            cmd.extend(list);
            if let Ok(inv) = argv::parse(&cmd, "filter", false) {
                let _ = ops::execute(&mut rs, &inv);
            }
        }
    }
}
