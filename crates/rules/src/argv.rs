//! The `iptables` command line, parsed as iptables 1.8.9 parses it
//! (iptables/xshared.c `do_parse`): getopt_long over a merged option table
//! in which every loaded extension adds its options, commands that may not
//! be combined, `!` before an option, implicit protocol matches.

use std::borrow::Cow;

use crate::addr::{self, Ipv4Net};
use crate::error::{Error, Result};
use crate::ext::{self, ArgKind, Extension, OptCall, RuleCtx};
use crate::model::{Counters, IfaceMatch, Rule, Target};
use crate::netdb;
use crate::num::strtoul_range;

/// Command bits, in iptables' order (xshared.h `CMD_*`).
pub mod cmd {
    pub const NONE: u32 = 0;
    pub const INSERT: u32 = 1 << 0;
    pub const DELETE: u32 = 1 << 1;
    pub const DELETE_NUM: u32 = 1 << 2;
    pub const REPLACE: u32 = 1 << 3;
    pub const APPEND: u32 = 1 << 4;
    pub const LIST: u32 = 1 << 5;
    pub const FLUSH: u32 = 1 << 6;
    pub const ZERO: u32 = 1 << 7;
    pub const NEW_CHAIN: u32 = 1 << 8;
    pub const DELETE_CHAIN: u32 = 1 << 9;
    pub const SET_POLICY: u32 = 1 << 10;
    pub const RENAME_CHAIN: u32 = 1 << 11;
    pub const LIST_RULES: u32 = 1 << 12;
    pub const ZERO_NUM: u32 = 1 << 13;
    pub const CHECK: u32 = 1 << 14;

    /// The letter of a command bit (xshared.c `cmd2char`).
    pub fn letter(bits: u32) -> char {
        const LETTERS: [char; 15] = [
            'I', 'D', 'D', 'R', 'A', 'L', 'F', 'Z', 'N', 'X', 'P', 'E', 'S', 'Z', 'C',
        ];
        let i = 31 - bits.max(1).leading_zeros();
        LETTERS.get(i as usize).copied().unwrap_or('?')
    }
}

/// Option bits checked against commands (xshared.c `optflags`).
mod opt {
    pub const NUMERIC: u32 = 1 << 0;
    pub const SOURCE: u32 = 1 << 1;
    pub const DESTINATION: u32 = 1 << 2;
    pub const PROTOCOL: u32 = 1 << 3;
    pub const JUMP: u32 = 1 << 4;
    pub const VERBOSE: u32 = 1 << 5;
    pub const EXPANDED: u32 = 1 << 6;
    pub const VIANAMEIN: u32 = 1 << 7;
    pub const VIANAMEOUT: u32 = 1 << 8;
    pub const LINENUMBERS: u32 = 1 << 9;
    pub const COUNTERS: u32 = 1 << 10;
    pub const FRAGMENT: u32 = 1 << 11;
    pub const LETTERS: [char; 12] = ['n', 's', 'd', 'p', 'j', 'v', 'x', 'i', 'o', '0', 'c', 'f'];
    pub const INVERTIBLE: u32 = SOURCE | DESTINATION | PROTOCOL | VIANAMEIN | VIANAMEOUT | FRAGMENT;
}

/// xshared.c `commands_v_options`: for each command (row, by bit index)
/// and option (column), `x` illegal, ` ` optional.
const COMMANDS_V_OPTIONS: [&[u8; 12]; 15] = [
    /*INSERT*/ b"x     x  x  ",
    /*DELETE*/ b"x     x  xx ",
    /*DELETE_NUM*/ b"xxxxx xxxxxx",
    /*REPLACE*/ b"x     x  x  ",
    /*APPEND*/ b"x     x  x  ",
    /*LIST*/ b" xxxx  xx xx",
    /*FLUSH*/ b"xxxxx xxxxxx",
    /*ZERO*/ b"xxxxx xxxxxx",
    /*NEW_CHAIN*/ b"xxxxx xxxxxx",
    /*DEL_CHAIN*/ b"xxxxx xxxxxx",
    /*SET_POLICY*/ b"xxxxx xxxx x",
    /*RENAME*/ b"xxxxx xxxxxx",
    /*LIST_RULES*/ b"xxxxx xxxxxx",
    /*ZERO_NUM*/ b"xxxxx xxxxxx",
    /*CHECK*/ b"x     x  xx ",
];

/// Formatting switches of `-L`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListFlags {
    pub numeric: bool,
    pub verbose: bool,
    pub exact: bool,
    pub line_numbers: bool,
}

/// A parsed `iptables` invocation.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// `cmd::*` bits (LIST may be combined with ZERO).
    pub command: u32,
    pub table: String,
    pub chain: Option<String>,
    /// Rule number (1-based), 0 when not given.
    pub rulenum: u32,
    pub new_name: Option<String>,
    pub policy: Option<String>,
    /// The rules a rule command acts on: one per source × destination.
    pub rules: Vec<Rule>,
    /// The chain named by `-j`/`-g` when it is not an extension or verdict.
    pub jump_chain: Option<String>,
    pub flags: ListFlags,
    /// `-w [SECONDS]`: Some(-1) waits forever.
    pub wait: Option<i32>,
    pub counters: Option<Counters>,
    pub version: bool,
    pub help: bool,
}

/// Where an option of the merged table comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// A built-in option, by its short letter (`'0'` for --line-numbers).
    Base(char),
    /// Option `opt` of loaded extension `slot` (see `Slot`).
    Ext { slot: usize, opt: usize },
}

/// getopt's `has_arg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HasArg {
    No,
    Required,
    Optional,
}

const BASE_LONG: &[(&str, HasArg, char)] = &[
    ("append", HasArg::Required, 'A'),
    ("delete", HasArg::Required, 'D'),
    ("check", HasArg::Required, 'C'),
    ("insert", HasArg::Required, 'I'),
    ("replace", HasArg::Required, 'R'),
    ("list", HasArg::Optional, 'L'),
    ("list-rules", HasArg::Optional, 'S'),
    ("flush", HasArg::Optional, 'F'),
    ("zero", HasArg::Optional, 'Z'),
    ("new-chain", HasArg::Required, 'N'),
    ("delete-chain", HasArg::Optional, 'X'),
    ("rename-chain", HasArg::Required, 'E'),
    ("policy", HasArg::Required, 'P'),
    ("source", HasArg::Required, 's'),
    ("destination", HasArg::Required, 'd'),
    ("src", HasArg::Required, 's'),
    ("dst", HasArg::Required, 'd'),
    ("protocol", HasArg::Required, 'p'),
    ("in-interface", HasArg::Required, 'i'),
    ("jump", HasArg::Required, 'j'),
    ("table", HasArg::Required, 't'),
    ("match", HasArg::Required, 'm'),
    ("numeric", HasArg::No, 'n'),
    ("out-interface", HasArg::Required, 'o'),
    ("verbose", HasArg::No, 'v'),
    ("wait", HasArg::Optional, 'w'),
    ("wait-interval", HasArg::Optional, 'W'),
    ("exact", HasArg::No, 'x'),
    ("fragments", HasArg::No, 'f'),
    ("version", HasArg::No, 'V'),
    ("help", HasArg::Optional, 'h'),
    ("line-numbers", HasArg::No, '0'),
    ("modprobe", HasArg::Required, 'M'),
    ("set-counters", HasArg::Required, 'c'),
    ("goto", HasArg::Required, 'g'),
    ("ipv4", HasArg::No, '4'),
    ("ipv6", HasArg::No, '6'),
];

/// IPT_OPTSTRING: short options and their argument kind.
fn short_option(c: char) -> Option<HasArg> {
    match c {
        'A' | 'C' | 'D' | 'E' | 'I' | 'M' | 'N' | 'P' | 'R' | 'c' | 'd' | 'i' | 'j' | 'o' | 'p'
        | 's' | 't' | 'g' | 'm' => Some(HasArg::Required),
        'F' | 'L' | 'X' | 'Z' | 'S' | 'W' | 'h' | 'w' => Some(HasArg::Optional),
        'V' | '4' | '6' | 'b' | 'f' | 'n' | 'v' | 'x' => Some(HasArg::No),
        _ => None,
    }
}

/// A loaded extension: matches in load order, the target last.
struct Slot {
    ext: Box<dyn Extension>,
    is_target: bool,
    /// Options already given (for the "only once" rule).
    seen: Seen,
    /// Loaded implicitly for `-p` (`cs->proto_used`).
    implicit: bool,
}

/// Which options of a loaded extension were given: a bit each, the
/// first 64 without allocating.
#[derive(Default)]
struct Seen {
    bits: u64,
    more: Vec<bool>,
}

impl Seen {
    fn get(&self, i: usize) -> bool {
        match i.checked_sub(64) {
            None => self.bits & (1 << i) != 0,
            Some(j) => self.more.get(j).copied().unwrap_or(false),
        }
    }

    fn set(&mut self, i: usize) {
        match i.checked_sub(64) {
            None => self.bits |= 1 << i,
            Some(j) => {
                if self.more.len() <= j {
                    self.more.resize(j + 1, false);
                }
                self.more[j] = true;
            }
        }
    }
}

/// One step of getopt; the words are borrowed from the command line.
enum Step<'a> {
    /// An option with its optional argument.
    Opt(Owner, Option<&'a str>),
    /// A word that is not an option (getopt code 1).
    NonOption(&'a str),
    /// An unknown option (getopt `?`), with the word that held it.
    Unknown(&'a str),
    /// A known option missing its argument (getopt `:`).
    MissingArg(String),
}

struct Parser<'a> {
    args: &'a [&'a str],
    /// Index of the next word (getopt's optind).
    optind: usize,
    /// Position inside a cluster of short options (`-nvL`).
    cluster: Option<(usize, usize)>,
    slots: Vec<Slot>,
    restore: bool,
}

impl<'a> Parser<'a> {
    /// xshared.c `xs_has_arg`: the next word exists and starts with
    /// neither `-` nor `!`.
    fn has_arg(&self) -> bool {
        self.args
            .get(self.optind)
            .is_some_and(|a| !a.starts_with('-') && !a.starts_with('!'))
    }

    fn take_arg(&mut self) -> Option<String> {
        if self.has_arg() {
            self.optind += 1;
            Some(self.args[self.optind - 1].to_string())
        } else {
            None
        }
    }

    /// The merged option table as getopt_long sees it: base options, then
    /// the loaded extensions' options, newest extension first
    /// (`xtables_merge_options`). Walked in place rather than built, as it
    /// changes with every extension loaded.
    fn long_options(&self) -> impl Iterator<Item = (&'static str, HasArg, Owner)> + '_ {
        let base = BASE_LONG.iter().map(|(n, a, c)| (*n, *a, Owner::Base(*c)));
        let exts = self.slots.iter().enumerate().rev().flat_map(|(slot, s)| {
            s.ext.options().iter().enumerate().map(move |(i, def)| {
                let has = match def.arg {
                    ArgKind::None => HasArg::No,
                    ArgKind::Required => HasArg::Required,
                };
                (def.name, has, Owner::Ext { slot, opt: i })
            })
        });
        base.chain(exts)
    }

    /// getopt_long's lookup of `--name`: an exact match first, else a
    /// unique abbreviation (several entries for the same option with the
    /// same argument kind are not ambiguous).
    fn find_long(&self, name: &str) -> Option<(HasArg, Owner)> {
        if let Some((_, has, owner)) = self.long_options().find(|(n, _, _)| *n == name) {
            return Some((has, owner));
        }
        let mut hit: Option<(HasArg, Owner)> = None;
        for (_, has, owner) in self.long_options().filter(|(n, _, _)| n.starts_with(name)) {
            match hit {
                None => hit = Some((has, owner)),
                Some(h) if h != (has, owner) => return None,
                Some(_) => {}
            }
        }
        hit
    }

    /// getopt_long's next step.
    fn next(&mut self) -> Option<Step<'a>> {
        if let Some((word, pos)) = self.cluster {
            return Some(self.short_step(word, pos));
        }
        let word: &'a str = self.args.get(self.optind)?;
        self.optind += 1;
        if let Some(body) = word.strip_prefix("--") {
            if body.is_empty() {
                // "--" ends option parsing; iptables then finds leftovers.
                return None;
            }
            return Some(self.long_step(word, body));
        }
        if word.len() > 1 && word.starts_with('-') {
            return Some(self.short_step(self.optind - 1, 1));
        }
        Some(Step::NonOption(word))
    }

    fn long_step(&mut self, word: &'a str, body: &'a str) -> Step<'a> {
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some((has, owner)) = self.find_long(name) else {
            return Step::Unknown(word);
        };
        match has {
            HasArg::No if inline.is_some() => Step::Unknown(word),
            HasArg::No | HasArg::Optional => Step::Opt(owner, inline),
            HasArg::Required => match inline {
                Some(v) => Step::Opt(owner, Some(v)),
                None => match self.args.get(self.optind) {
                    Some(v) => {
                        self.optind += 1;
                        Step::Opt(owner, Some(v))
                    }
                    None => Step::MissingArg(word.to_string()),
                },
            },
        }
    }

    fn short_step(&mut self, word_idx: usize, pos: usize) -> Step<'a> {
        let word: &'a str = self.args[word_idx];
        let c = word[pos..].chars().next().unwrap_or('?');
        let rest_at = pos + c.len_utf8();
        let rest = &word[rest_at..];
        self.cluster = None;
        let Some(has) = short_option(c) else {
            if !rest.is_empty() {
                self.cluster = Some((word_idx, rest_at));
            }
            return Step::Unknown(word);
        };
        match has {
            HasArg::No => {
                if !rest.is_empty() {
                    self.cluster = Some((word_idx, rest_at));
                }
                Step::Opt(Owner::Base(c), None)
            }
            HasArg::Optional => Step::Opt(Owner::Base(c), (!rest.is_empty()).then_some(rest)),
            HasArg::Required => {
                if !rest.is_empty() {
                    Step::Opt(Owner::Base(c), Some(rest))
                } else if let Some(v) = self.args.get(self.optind) {
                    self.optind += 1;
                    Step::Opt(Owner::Base(c), Some(v))
                } else {
                    Step::MissingArg(format!("-{c}"))
                }
            }
        }
    }
}

/// State of the rule being parsed (xtables_args).
#[derive(Default)]
struct RuleArgs<'a> {
    options: u32,
    src: Option<(&'a str, bool)>,
    dst: Option<(&'a str, bool)>,
    proto: u8,
    proto_invert: bool,
    protocol_word: Option<Cow<'a, str>>,
    in_iface: Option<IfaceMatch>,
    out_iface: Option<IfaceMatch>,
    fragment: Option<bool>,
    jumpto: Option<&'a str>,
    goto: bool,
}

impl RuleArgs<'_> {
    fn set_option(&mut self, bit: u32, invert: bool) -> Result<()> {
        let idx = bit.trailing_zeros() as usize;
        if self.options & bit != 0 {
            return Err(Error::param(format!(
                "multiple -{} flags not allowed",
                opt::LETTERS[idx]
            )));
        }
        self.options |= bit;
        if invert && opt::INVERTIBLE & bit == 0 {
            return Err(Error::param(format!(
                "cannot have ! before -{}",
                opt::LETTERS[idx]
            )));
        }
        Ok(())
    }

    fn ctx(&self) -> RuleCtx {
        RuleCtx {
            proto: self.proto,
            proto_invert: self.proto_invert,
        }
    }
}

fn add_command(current: &mut u32, new: u32, others: u32, invert: bool) -> Result<()> {
    if invert {
        return Err(Error::param("unexpected '!' flag"));
    }
    if *current & !others != 0 {
        return Err(Error::param(format!(
            "Cannot use -{} with -{}",
            cmd::letter(new),
            cmd::letter(*current & !others)
        )));
    }
    *current |= new;
    Ok(())
}

fn parse_rulenumber(word: &str) -> Result<u32> {
    strtoul_range(word, 1, i32::MAX as u64)
        .map(|n| n as u32)
        .ok_or_else(|| Error::param(format!("Invalid rule number `{word}'")))
}

/// xtables `XT_EXTENSION_MAXNAMELEN`.
pub const MAX_NAME_LEN: usize = 29;
/// Linux `IFNAMSIZ`.
const IFNAMSIZ: usize = 16;

/// xshared.c `assert_valid_chain_name`.
pub fn check_chain_name(name: &str) -> Result<()> {
    if name.len() >= MAX_NAME_LEN {
        return Err(Error::param(format!(
            "chain name `{name}' too long (must be under {MAX_NAME_LEN} chars)"
        )));
    }
    if let Some(c @ ('-' | '!')) = name.chars().next() {
        return Err(Error::param(format!(
            "chain name not allowed to start with `{c}'"
        )));
    }
    if ext::is_target_name(name) {
        return Err(Error::param("chain name may not clash with target name"));
    }
    if name.chars().any(crate::num::is_c_space) {
        return Err(Error::param(format!("Invalid chain name `{name}'")));
    }
    Ok(())
}

/// xshared.c `xt_parse_target`.
fn check_target_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::param("Invalid target name (too short)"));
    }
    if name.len() >= MAX_NAME_LEN {
        return Err(Error::param(format!(
            "Invalid target name `{name}' ({} chars max)",
            MAX_NAME_LEN - 1
        )));
    }
    if name.chars().any(crate::num::is_c_space) {
        return Err(Error::param(format!("Invalid target name `{name}'")));
    }
    Ok(())
}

/// libxtables `xtables_parse_interface`: the length check, then a
/// warning (not a refusal) for a `/` or space in the name.
pub(crate) fn parse_interface(
    name: &str,
    invert: bool,
    warnings: &mut Vec<String>,
) -> Result<IfaceMatch> {
    if name.len() >= IFNAMSIZ {
        return Err(Error::param(format!(
            "interface name `{name}' must be shorter than IFNAMSIZ ({})",
            IFNAMSIZ - 1
        )));
    }
    if name.contains(['/', ' ']) {
        warnings.push(format!(
            "Warning: weird character in interface `{name}' ('/' and ' ' are not allowed by the kernel)."
        ));
    }
    Ok(IfaceMatch {
        name: name.to_string(),
        invert,
    })
}

/// libxtables `xtables_parse_protocol`.
pub fn parse_protocol(word: &str) -> Result<u8> {
    if let Some(n) = strtoul_range(word, 0, 255) {
        return Ok(n as u8);
    }
    if let Some(n) = chain_proto_number(word) {
        return Ok(n);
    }
    netdb::protocol_number(word)
        .ok_or_else(|| Error::param(format!("unknown protocol \"{word}\" specified")))
}

/// libxtables `xtables_chain_protos`.
const CHAIN_PROTOS: &[(&str, u8)] = &[
    ("tcp", 6),
    ("sctp", 132),
    ("udp", 17),
    ("udplite", 136),
    ("icmp", 1),
    ("ipv6-icmp", 58),
    ("icmpv6", 58),
    ("esp", 50),
    ("ah", 51),
    ("mobility-header", 135),
    ("ipv6-mh", 135),
    ("mh", 135),
    ("all", 0),
];

fn chain_proto_number(name: &str) -> Option<u8> {
    CHAIN_PROTOS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
}

/// xshared.c `proto_to_name`: the built-in names first, then
/// /etc/protocols unless `nolookup`.
pub fn proto_to_name(proto: u8, nolookup: bool) -> Option<&'static str> {
    if let Some((n, _)) = CHAIN_PROTOS.iter().find(|(_, p)| *p == proto) {
        return Some(n);
    }
    if proto != 0 && !nolookup {
        return netdb::protocol_name(proto);
    }
    None
}

/// `sscanf("%llu")` as iptables reads counters: leading digits.
fn scan_u64(word: &str) -> Option<u64> {
    let t = word.trim_start();
    let end = t
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(t.len());
    if end == 0 {
        return None;
    }
    Some(t[..end].parse::<u64>().unwrap_or(u64::MAX))
}

/// xshared.c `parse_wait_interval`: `-W` takes microseconds, checks them
/// and is otherwise ignored, with a warning.
fn parse_wait_interval(word: Option<&str>, warnings: &mut Vec<String>) -> Result<()> {
    let word = word.ok_or_else(|| Error::param("wait interval value required"))?;
    // sscanf("%u"): strtoul's value cut to 32 bits (`-5` is 4294967291).
    let usec = scan_ulong(word).ok_or_else(|| Error::param("wait interval not numeric"))? as u32;
    if usec > 999_999 {
        return Err(Error::param(format!(
            "too long usec wait {usec} > 999999 usec"
        )));
    }
    warnings.push("Ignoring deprecated --wait-interval option.".into());
    Ok(())
}

/// `strtoul(word, &end, 10)` as `sscanf("%u")` reads it: blanks, a sign,
/// then at least one digit (the rest of the word is ignored); a negative
/// number wraps, an overflow gives `ULONG_MAX`.
fn scan_ulong(word: &str) -> Option<u64> {
    let t = word.trim_start_matches(crate::num::C_SPACE);
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits = &t[..t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len()];
    if digits.is_empty() {
        return None;
    }
    Some(match digits.parse::<u64>() {
        Ok(v) if neg => v.wrapping_neg(),
        Ok(v) => v,
        Err(_) => u64::MAX,
    })
}

/// `sscanf("%i")` for `-w`.
fn scan_int(word: &str) -> Option<i32> {
    let t = word.trim_start();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let v: i64 = digits.parse().ok()?;
    Some(if neg { -v } else { v } as i32)
}

/// Parses an iptables command line (the words after the program name).
/// `restore` is true for lines of iptables-restore, which refuse `-w`,
/// a second `-t` and the like. The warnings iptables would print are
/// dropped; see [`parse_with_warnings`].
pub fn parse<S: AsRef<str>>(args: &[S], default_table: &str, restore: bool) -> Result<Invocation> {
    parse_with_warnings(args, default_table, restore, &mut Vec::new())
}

/// [`parse`], keeping in `warnings`, in order, the lines iptables writes
/// to stderr while parsing without failing (`Warning: weird character in
/// interface ...`, deprecated options): on success and on failure alike
/// the caller prints them before anything else.
pub fn parse_with_warnings<S: AsRef<str>>(
    args: &[S],
    default_table: &str,
    restore: bool,
    warnings: &mut Vec<String>,
) -> Result<Invocation> {
    let words: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    parse_words_with_warnings(&words, default_table, restore, warnings)
}

/// [`parse`] on borrowed words.
pub fn parse_words(args: &[&str], default_table: &str, restore: bool) -> Result<Invocation> {
    parse_words_with_warnings(args, default_table, restore, &mut Vec::new())
}

/// [`parse_with_warnings`] on borrowed words.
pub fn parse_words_with_warnings(
    args: &[&str],
    default_table: &str,
    restore: bool,
    warnings: &mut Vec<String>,
) -> Result<Invocation> {
    let mut inv = Invocation {
        table: default_table.to_string(),
        ..Default::default()
    };
    let mut p = Parser {
        args,
        optind: 0,
        cluster: None,
        slots: Vec::new(),
        restore,
    };
    let mut ra = RuleArgs::default();
    let mut invert = false;
    let mut table_set = false;
    let mut proto_used = false;
    let mut wait_interval_set = false;

    while let Some(step) = p.next() {
        match step {
            Step::NonOption(word) => {
                if word == "!" {
                    if invert {
                        return Err(Error::param("multiple consecutive ! not allowed"));
                    }
                    invert = true;
                    continue;
                }
                return Err(Error::BadArgument(word.to_string()));
            }
            Step::MissingArg(word) => {
                return Err(Error::param(format!(
                    "option \"{word}\" requires an argument"
                )));
            }
            Step::Unknown(word) => {
                if try_load_proto(&mut p, &ra, &mut proto_used)? {
                    // Re-read the same word with the protocol's options.
                    p.optind -= 1;
                    p.cluster = None;
                    continue;
                }
                return Err(Error::param(format!("unknown option \"{word}\"")));
            }
            Step::Opt(Owner::Ext { slot, opt }, value) => {
                call_extension(&mut p, slot, opt, value, invert, ra.ctx(), warnings)?;
            }
            Step::Opt(Owner::Base(c), value) => {
                let optarg = value;
                match c {
                    'A' | 'C' | 'D' | 'R' | 'I' | 'L' | 'S' | 'F' | 'Z' | 'N' | 'X' | 'E' | 'P' => {
                        parse_command(&mut p, &mut inv, c, optarg, invert)?
                    }
                    'h' => inv.help = true,
                    'p' => {
                        ra.set_option(opt::PROTOCOL, invert)?;
                        let word = optarg.unwrap_or_default();
                        let word = if word.bytes().any(|b| b.is_ascii_uppercase()) {
                            Cow::Owned(word.to_ascii_lowercase())
                        } else {
                            Cow::Borrowed(word)
                        };
                        ra.proto = parse_protocol(&word)?;
                        ra.proto_invert = invert;
                        if ra.proto == 0 && invert {
                            return Err(Error::param("rule would never match protocol"));
                        }
                        ra.protocol_word = Some(word);
                    }
                    's' => {
                        ra.set_option(opt::SOURCE, invert)?;
                        ra.src = Some((optarg.unwrap_or_default(), invert));
                    }
                    'd' => {
                        ra.set_option(opt::DESTINATION, invert)?;
                        ra.dst = Some((optarg.unwrap_or_default(), invert));
                    }
                    'g' | 'j' => {
                        ra.set_option(opt::JUMP, invert)?;
                        let name = optarg.unwrap_or_default();
                        check_target_name(name)?;
                        if c == 'g' {
                            ra.goto = true;
                        } else if let Some(t) = ext::find_target(name) {
                            p.slots.push(Slot {
                                seen: Seen::default(),
                                ext: t,
                                is_target: true,
                                implicit: false,
                            });
                        }
                        ra.jumpto = Some(name);
                    }
                    'i' | 'o' => {
                        let word = optarg.unwrap_or_default();
                        if word.is_empty() {
                            return Err(Error::param("Empty interface is likely to be undesired"));
                        }
                        let bit = if c == 'i' {
                            opt::VIANAMEIN
                        } else {
                            opt::VIANAMEOUT
                        };
                        ra.set_option(bit, invert)?;
                        let m = parse_interface(word, invert, warnings)?;
                        // iptables-nft add_iface: a bare `+` (any
                        // interface) adds nothing to the rule ("-o +"),
                        // so iptables-save shows none; `! -i +` stays
                        // (iifname "INVAL/D", matching nothing).
                        let m = (word != "+" || invert).then_some(m);
                        if c == 'i' {
                            ra.in_iface = m;
                        } else {
                            ra.out_iface = m;
                        }
                    }
                    'f' => {
                        ra.set_option(opt::FRAGMENT, invert)?;
                        ra.fragment = Some(invert);
                    }
                    'v' => {
                        if !inv.flags.verbose {
                            ra.set_option(opt::VERBOSE, invert)?;
                        }
                        inv.flags.verbose = true;
                    }
                    'm' => {
                        if invert {
                            return Err(Error::param("unexpected ! flag before --match"));
                        }
                        let name = optarg.unwrap_or_default();
                        let Some(m) = ext::find_match(name) else {
                            return Err(Error::param(format!(
                                "Couldn't load match `{name}':No such file or directory\n"
                            )));
                        };
                        insert_match(&mut p, m, false);
                    }
                    'n' => {
                        ra.set_option(opt::NUMERIC, invert)?;
                        inv.flags.numeric = true;
                    }
                    't' => {
                        if invert {
                            return Err(Error::param("unexpected ! flag before --table"));
                        }
                        if p.restore && table_set {
                            return Err(Error::param(
                                "The -t option cannot be used in iptables-restore.\n",
                            ));
                        }
                        let name = optarg.unwrap_or_default();
                        if inv.table != name {
                            inv.table = name.to_string();
                        }
                        table_set = true;
                    }
                    'x' => {
                        ra.set_option(opt::EXPANDED, invert)?;
                        inv.flags.exact = true;
                    }
                    'V' => {
                        inv.version = true;
                        return Ok(inv);
                    }
                    'w' => {
                        if p.restore {
                            return Err(Error::param("You cannot use `-w' from iptables-restore"));
                        }
                        let word = optarg.map(str::to_string).or_else(|| p.take_arg());
                        inv.wait = Some(match word {
                            Some(w) => scan_int(&w)
                                .ok_or_else(|| Error::param("wait seconds not numeric"))?,
                            None => -1,
                        });
                    }
                    'W' => {
                        if p.restore {
                            return Err(Error::param("You cannot use `-W' from iptables-restore"));
                        }
                        let word = optarg.map(str::to_string).or_else(|| p.take_arg());
                        parse_wait_interval(word.as_deref(), warnings)?;
                        wait_interval_set = true;
                    }
                    '0' => {
                        ra.set_option(opt::LINENUMBERS, invert)?;
                        inv.flags.line_numbers = true;
                    }
                    'M' => {}
                    'c' => {
                        ra.set_option(opt::COUNTERS, invert)?;
                        let pcnt = optarg.unwrap_or_default();
                        let (pcnt, bcnt) = match pcnt.get(1..).and_then(|r| r.find(',')) {
                            Some(i) => (&pcnt[..=i], Some(&pcnt[i + 2..])),
                            None => (pcnt, None),
                        };
                        let bcnt = match bcnt {
                            Some(b) => b,
                            None if p.has_arg() => {
                                p.optind += 1;
                                p.args[p.optind - 1]
                            }
                            None => {
                                return Err(Error::param("-c requires packet and byte counter"))
                            }
                        };
                        let packets = scan_u64(pcnt)
                            .ok_or_else(|| Error::param("-c packet counter not numeric"))?;
                        let bytes = scan_u64(bcnt)
                            .ok_or_else(|| Error::param("-c byte counter not numeric"))?;
                        inv.counters = Some(Counters { packets, bytes });
                    }
                    '4' => {}
                    '6' => {
                        return Err(Error::param(""));
                    }
                    _ => return Err(Error::param(format!("unknown option \"-{c}\""))),
                }
            }
        }
        invert = false;
    }

    if inv.table == "nat" && (inv.policy.as_deref() == Some("DROP") || ra.jumpto == Some("DROP")) {
        return Err(Error::param(
            "\nThe \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n",
        ));
    }
    if inv.wait.is_none() && wait_interval_set {
        return Err(Error::param(
            "--wait-interval only makes sense with --wait\n",
        ));
    }

    // Final checks (xshared.c do_parse: xtables_option_mfcheck for each
    // match in order, then xtables_option_tfcheck), wherever -j stood.
    let ctx = ra.ctx();
    let (targets, matches): (Vec<&mut Slot>, Vec<&mut Slot>) =
        p.slots.iter_mut().partition(|s| s.is_target);
    for slot in matches.into_iter().chain(targets) {
        warnings.extend(slot.ext.final_warning());
        slot.ext.finish(&ctx)?;
    }

    if p.optind < args.len() {
        return Err(Error::param("unknown arguments found on commandline"));
    }
    if inv.command == cmd::NONE {
        return Err(Error::param("no command specified"));
    }
    if invert {
        return Err(Error::param("nothing appropriate following !"));
    }

    let rule_command = cmd::APPEND | cmd::DELETE | cmd::CHECK | cmd::INSERT | cmd::REPLACE;
    let any = [Ipv4Net::ANY];
    let parsed_src;
    let parsed_dst;
    let mut sources: &[Ipv4Net] = &any;
    let mut dests: &[Ipv4Net] = &any;
    if inv.command & rule_command != 0 {
        if let Some((s, _)) = ra.src {
            parsed_src = addr::parse_multiple(s)?;
            sources = &parsed_src;
        }
        if let Some((d, _)) = ra.dst {
            parsed_dst = addr::parse_multiple(d)?;
            dests = &parsed_dst;
        }
    }
    if inv.command == cmd::REPLACE && (sources.len() != 1 || dests.len() != 1) {
        return Err(Error::param(
            "Replacement rule does not specify a unique address",
        ));
    }

    generic_opt_check(inv.command, ra.options)?;

    if let Some(chain) = &inv.chain {
        if chain.len() >= MAX_NAME_LEN {
            return Err(Error::param(format!(
                "chain name `{chain}' too long (must be under {MAX_NAME_LEN} chars)"
            )));
        }
    }
    if inv.command & (rule_command | cmd::DELETE_NUM) != 0 {
        let chain = inv.chain.as_deref().unwrap_or("");
        if matches!(chain, "PREROUTING" | "INPUT") && ra.options & opt::VIANAMEOUT != 0 {
            return Err(Error::param(format!("Can't use -o with {chain}\n")));
        }
        if matches!(chain, "POSTROUTING" | "OUTPUT") && ra.options & opt::VIANAMEIN != 0 {
            return Err(Error::param(format!("Can't use -i with {chain}\n")));
        }
    }

    if inv.command & rule_command != 0 {
        let (mut matches, target_ext) = split_slots(p.slots);
        // What iptables-nft stores nothing of is not in the rule.
        ext::tcp::drop_empty_native(&mut matches);
        let target = match (ra.jumpto, target_ext) {
            (_, Some(t)) => Target::Ext(t),
            (None, None) => Target::None,
            (Some(name), None) if ra.goto => Target::Goto(name.to_string()),
            (Some("ACCEPT"), None) => Target::Accept,
            (Some("DROP"), None) => Target::Drop,
            (Some("RETURN"), None) => Target::Return,
            (Some(name), None) => Target::Jump(name.to_string()),
        };
        if let Some(c) = target.chain_ref() {
            inv.jump_chain = Some(c.to_string());
        }
        let template = Rule {
            src_invert: ra.src.as_ref().is_some_and(|s| s.1),
            dst_invert: ra.dst.as_ref().is_some_and(|d| d.1),
            in_iface: ra.in_iface,
            out_iface: ra.out_iface,
            proto: ra.proto,
            proto_invert: ra.proto_invert,
            fragment: ra.fragment,
            matches,
            target,
            counters: inv.counters.unwrap_or_default(),
            ..Rule::default()
        };
        // One rule per source × destination; the last one takes the
        // template itself (usually the only one: no clone).
        let count = sources.len() * dests.len();
        inv.rules.reserve_exact(count);
        let pairs = sources
            .iter()
            .flat_map(|s| dests.iter().map(move |d| (*s, *d)));
        for (s, d) in pairs.take(count.saturating_sub(1)) {
            inv.rules.push(Rule {
                src: s,
                dst: d,
                ..template.clone()
            });
        }
        if let (Some(s), Some(d)) = (sources.last(), dests.last()) {
            inv.rules.push(Rule {
                src: *s,
                dst: *d,
                ..template
            });
        }
    }
    Ok(inv)
}

/// Loaded matches in order, and the target extension if any.
type SplitSlots = (Vec<Box<dyn Extension>>, Option<Box<dyn Extension>>);

fn split_slots(slots: Vec<Slot>) -> SplitSlots {
    let mut matches = Vec::new();
    let mut target = None;
    for s in slots {
        if s.is_target {
            target = Some(s.ext);
        } else {
            matches.push(s.ext);
        }
    }
    (matches, target)
}

/// Loads a match: slots keep load order, and option lookup walks them
/// newest first (see `build_long_options`).
fn insert_match(p: &mut Parser<'_>, m: Box<dyn Extension>, implicit: bool) {
    let seen = Seen::default();
    p.slots.push(Slot {
        seen,
        ext: m,
        is_target: false,
        implicit,
    });
}

/// xshared.c `load_proto`: on an unknown option, load the match named
/// after `-p` (once), so `-p tcp --dport 80` works without `-m tcp`.
fn try_load_proto(p: &mut Parser<'_>, ra: &RuleArgs, proto_used: &mut bool) -> Result<bool> {
    let Some(word) = &ra.protocol_word else {
        return Ok(false);
    };
    let name = match strtoul_range(word, 0, 255) {
        Some(n) => match proto_to_name(n as u8, false) {
            Some(name) => name,
            None => return Ok(false),
        },
        None => word,
    };
    let loaded = p.slots.iter().any(|s| !s.is_target && s.ext.name() == name);
    let loaded_implicitly = p.slots.iter().any(|s| s.implicit);
    if loaded && (*proto_used || loaded_implicitly) {
        return Ok(false);
    }
    let Some(m) = ext::find_match(name) else {
        return Ok(false);
    };
    *proto_used = true;
    insert_match(p, m, true);
    Ok(true)
}

/// Hands one option to its extension, after xtables' generic checks.
fn call_extension(
    p: &mut Parser<'_>,
    slot: usize,
    opt_idx: usize,
    value: Option<&str>,
    invert: bool,
    ctx: RuleCtx,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let def = p.slots[slot].ext.options()[opt_idx];
    let ext_name = p.slots[slot].ext.name();
    // xtables_option_parse checks repeats before inversion.
    if !def.multi && p.slots[slot].seen.get(opt_idx) {
        return Err(ext::only_once(ext_name, def.name));
    }
    if invert && !def.invert {
        return Err(ext::cannot_invert(ext_name, def.name));
    }
    p.slots[slot].seen.set(opt_idx);
    let args = p.args;
    let optind = &mut p.optind;
    let mut extra = || {
        let w = args.get(*optind)?;
        if w.starts_with('-') || w.starts_with('!') {
            return None;
        }
        *optind += 1;
        Some(w.to_string())
    };
    let mut call = OptCall {
        name: def.name,
        invert,
        value: value.map(str::to_string),
        ctx,
        extra: &mut extra,
        warnings,
    };
    p.slots[slot].ext.parse(&mut call)
}

fn parse_command(
    p: &mut Parser<'_>,
    inv: &mut Invocation,
    c: char,
    optarg: Option<&str>,
    invert: bool,
) -> Result<()> {
    let optarg = optarg.map(str::to_string);
    match c {
        'A' => {
            add_command(&mut inv.command, cmd::APPEND, cmd::NONE, invert)?;
            inv.chain = optarg;
        }
        'C' => {
            add_command(&mut inv.command, cmd::CHECK, cmd::NONE, invert)?;
            inv.chain = optarg;
        }
        'D' => {
            add_command(&mut inv.command, cmd::DELETE, cmd::NONE, invert)?;
            inv.chain = optarg;
            if let Some(n) = p.take_arg() {
                inv.rulenum = parse_rulenumber(&n)?;
                inv.command = cmd::DELETE_NUM;
            }
        }
        'R' => {
            add_command(&mut inv.command, cmd::REPLACE, cmd::NONE, invert)?;
            inv.chain = optarg;
            match p.take_arg() {
                Some(n) => inv.rulenum = parse_rulenumber(&n)?,
                None => return Err(Error::param("-R requires a rule number")),
            }
        }
        'I' => {
            add_command(&mut inv.command, cmd::INSERT, cmd::NONE, invert)?;
            inv.chain = optarg;
            inv.rulenum = match p.take_arg() {
                Some(n) => parse_rulenumber(&n)?,
                None => 1,
            };
        }
        'L' | 'S' => {
            let bit = if c == 'L' { cmd::LIST } else { cmd::LIST_RULES };
            add_command(&mut inv.command, bit, cmd::ZERO | cmd::ZERO_NUM, invert)?;
            inv.chain = optarg.or_else(|| p.take_arg());
            if let Some(n) = p.take_arg() {
                inv.rulenum = parse_rulenumber(&n)?;
            }
        }
        'F' => {
            add_command(&mut inv.command, cmd::FLUSH, cmd::NONE, invert)?;
            inv.chain = optarg.or_else(|| p.take_arg());
        }
        'Z' => {
            add_command(
                &mut inv.command,
                cmd::ZERO,
                cmd::LIST | cmd::LIST_RULES,
                invert,
            )?;
            inv.chain = optarg.or_else(|| p.take_arg());
            if let Some(n) = p.take_arg() {
                inv.rulenum = parse_rulenumber(&n)?;
                inv.command = (inv.command & !cmd::ZERO) | cmd::ZERO_NUM;
            }
        }
        'N' => {
            let name = optarg.unwrap_or_default();
            check_chain_name(&name)?;
            add_command(&mut inv.command, cmd::NEW_CHAIN, cmd::NONE, invert)?;
            inv.chain = Some(name);
        }
        'X' => {
            add_command(&mut inv.command, cmd::DELETE_CHAIN, cmd::NONE, invert)?;
            inv.chain = optarg.or_else(|| p.take_arg());
        }
        'E' => {
            add_command(&mut inv.command, cmd::RENAME_CHAIN, cmd::NONE, invert)?;
            inv.chain = optarg;
            inv.new_name =
                Some(p.take_arg().ok_or_else(|| {
                    Error::param("-E requires old-chain-name and new-chain-name")
                })?);
        }
        'P' => {
            add_command(&mut inv.command, cmd::SET_POLICY, cmd::NONE, invert)?;
            inv.chain = optarg;
            inv.policy = Some(
                p.take_arg()
                    .ok_or_else(|| Error::param("-P requires a chain and a policy"))?,
            );
        }
        _ => {}
    }
    Ok(())
}

/// xshared.c `generic_opt_check`: an option is legal if any given
/// command allows it.
fn generic_opt_check(command: u32, options: u32) -> Result<()> {
    let set_bits = |mut bits: u32| {
        std::iter::from_fn(move || {
            let i = bits.trailing_zeros() as usize;
            bits &= bits.checked_sub(1)?;
            Some(i)
        })
    };
    for i in set_bits(options) {
        let Some(letter) = opt::LETTERS.get(i) else {
            continue;
        };
        let mut legal = 0i8;
        for j in set_bits(command) {
            let Some(row) = COMMANDS_V_OPTIONS.get(j) else {
                continue;
            };
            if row[i] != b'x' {
                legal = 1;
            } else if legal == 0 {
                legal = -1;
            }
        }
        if legal == -1 {
            return Err(Error::param(format!(
                "Illegal option `-{letter}' with this command"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::ext::testing::warnings as test_warnings;

    fn weird(n: &str) -> String {
        format!("Warning: weird character in interface `{n}' ('/' and ' ' are not allowed by the kernel).")
    }

    #[test]
    fn interface_warnings_come_in_order_and_before_errors() {
        let (w, e) = test_warnings("-A INPUT -i a/b -o x/y -j ACCEPT");
        assert_eq!(w, [weird("a/b"), weird("x/y")]);
        assert_eq!(e.as_deref(), Some("Can't use -o with INPUT\n"));
        let (w, e) = test_warnings("-A FORWARD -i a/b -p foo");
        assert_eq!(w, [weird("a/b")]);
        assert_eq!(e.as_deref(), Some("unknown protocol \"foo\" specified"));
        let (w, e) = test_warnings("-A FORWARD -i eth0+ -o veth1");
        assert!(w.is_empty() && e.is_none());
        // IFNAMSIZ is checked first.
        let (w, e) = test_warnings("-A INPUT -i abcdefghijklmnop/");
        assert!(w.is_empty() && e.is_some());
    }

    #[test]
    fn wait_interval_is_checked_then_ignored() {
        let ignored = "Ignoring deprecated --wait-interval option.";
        for (args, warned, error) in [
            ("-w 1 -W 12abc -S", 1, None),
            ("-w 1 -W +5 -S", 1, None),
            ("-w 1 -W 0x10 -S", 1, None),
            ("-w 1 --wait-interval=999999 -S", 1, None),
            ("-W 5 -W 6 -w -S", 2, None),
            (
                "-W5 -S",
                1,
                Some("--wait-interval only makes sense with --wait\n"),
            ),
            (
                "-w 1 -W-5 -S",
                0,
                Some("too long usec wait 4294967291 > 999999 usec"),
            ),
            (
                "-w 1 -W 1000000 -S",
                0,
                Some("too long usec wait 1000000 > 999999 usec"),
            ),
            (
                "-w 1 -W 99999999999 -S",
                0,
                Some("too long usec wait 1215752191 > 999999 usec"),
            ),
            (
                "-w 1 -W-99999999999999999999999 -S",
                0,
                Some("too long usec wait 4294967295 > 999999 usec"),
            ),
            ("-w 1 -W abc -S", 0, Some("wait interval not numeric")),
            ("-w 1 -W -S", 0, Some("wait interval value required")),
        ] {
            let (w, e) = test_warnings(args);
            assert_eq!(w, vec![ignored; warned], "{args}");
            assert_eq!(e.as_deref(), error, "{args}");
        }
    }
}
