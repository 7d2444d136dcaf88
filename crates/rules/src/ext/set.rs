//! `-m set`: ipset membership (extensions/libxt_set.c revision 4, the one
//! iptables 1.8.9 picks on current kernels, with libxt_set.h's helpers;
//! kernel net/netfilter/xt_set.c). iptables asks the kernel for the set's
//! index while it parses `--match-set` (`get_set_byname`, a getsockopt
//! on SO_IP_SET), and refuses the rule with "Set NAME doesn't exist." when
//! there is no such set. palisade keeps no ipsets, so it is always that
//! host: every `--match-set` is refused at that point, as on Linux.

use std::any::Any;

use super::util::strtoul_prefix;
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};

/// ip_set.h `IPSET_MAXNAMELEN`, the set name buffer with its NUL.
const MAXNAMELEN: usize = 32;
/// ip_set.h `IPSET_DIM_MAX`: at most this many src/dst directions.
const DIM_MAX: usize = 6;

/// ip_set.h `IPSET_COUNTER_*` for `--packets-*`/`--bytes-*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterOp {
    #[default]
    None,
    Eq,
    Ne,
    Lt,
    Gt,
}

/// xt_set.h `struct ip_set_counter_match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    pub op: CounterOp,
    pub value: u64,
}

impl Counter {
    /// libxt_set.c `set_printv4_counter`.
    fn write(&self, out: &mut String, name: &str, sep: &str) {
        let v = self.value;
        match self.op {
            CounterOp::None => {}
            CounterOp::Eq => out.push_str(&format!(" {sep}{name}-eq {v}")),
            CounterOp::Ne => out.push_str(&format!(" ! {sep}{name}-eq {v}")),
            CounterOp::Lt => out.push_str(&format!(" {sep}{name}-lt {v}")),
            CounterOp::Gt => out.push_str(&format!(" {sep}{name}-gt {v}")),
        }
    }
}

/// What the kernel's ipset registry would tell about a set name. palisade
/// has none, so no name is known.
fn set_exists(_name: &str) -> bool {
    false
}

/// The set name and directions of `--match-set` here and of the SET
/// target's `--add-set`/`--del-set`/`--map-set` (libxt_set.c
/// `set_parse_v4`, libxt_SET.c `parse_target`): the name's length, then the
/// kernel's answer (libxt_set.h `get_set_byname`), then the directions.
pub fn parse_set(name: &str, dirs: &str) -> Result<Vec<bool>> {
    if name.len() > MAXNAMELEN - 1 {
        return Err(Error::param(format!(
            "setname `{name}' too long, max {} characters.",
            MAXNAMELEN - 1
        )));
    }
    if !set_exists(name) {
        return Err(Error::param(format!("Set {name} doesn't exist.\n")));
    }
    parse_dirs(dirs)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetMatch {
    /// The set, once `--match-set` has been taken (`match_set.dim > 0`).
    pub name: Option<String>,
    /// One entry per dimension: `true` for `src`, `false` for `dst`.
    pub dirs: Vec<bool>,
    /// `IPSET_INV_MATCH`.
    pub invert: bool,
    /// `IPSET_FLAG_RETURN_NOMATCH`.
    pub return_nomatch: bool,
    /// `IPSET_FLAG_SKIP_COUNTER_UPDATE` (`! --update-counters`).
    pub skip_counters: bool,
    /// `IPSET_FLAG_SKIP_SUBCOUNTER_UPDATE` (`! --update-subcounters`).
    pub skip_subcounters: bool,
    pub packets: Counter,
    pub bytes: Counter,
}

impl SetMatch {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(SetMatch::default())
    }

    /// libxt_set.c `set_print_v4_matchinfo` (through `print_match`).
    fn write(&self, out: &mut String, opt: &str, sep: &str) {
        if let Some(name) = &self.name {
            if self.invert {
                out.push_str(" !");
            }
            out.push_str(&format!(" {opt} {name}"));
            for (i, src) in self.dirs.iter().enumerate() {
                out.push_str(if i == 0 { " " } else { "," });
                out.push_str(if *src { "src" } else { "dst" });
            }
        }
        if self.return_nomatch {
            out.push_str(&format!(" {sep}return-nomatch"));
        }
        if self.skip_counters {
            out.push_str(&format!(" ! {sep}update-counters"));
        }
        if self.skip_subcounters {
            out.push_str(&format!(" ! {sep}update-subcounters"));
        }
        self.packets.write(out, "packets", sep);
        self.bytes.write(out, "bytes", sep);
    }
}

/// libxt_set.h `parse_dirs`: up to [`DIM_MAX`] comma-separated words, each
/// starting with `src` or `dst` (only the first three letters count).
pub fn parse_dirs(text: &str) -> Result<Vec<bool>> {
    let parts: Vec<&str> = text.split(',').collect();
    let mut dirs = Vec::new();
    for part in parts.iter().take(DIM_MAX) {
        if part.starts_with("src") {
            dirs.push(true);
        } else if part.starts_with("dst") {
            dirs.push(false);
        } else {
            return Err(Error::param(
                "You must spefify (the comma separated list of) 'src' or 'dst'.",
            ));
        }
    }
    if parts.len() > DIM_MAX {
        return Err(Error::param(format!(
            "Can't be more src/dst options than {DIM_MAX}."
        )));
    }
    Ok(dirs)
}

/// libxt_set.c `parse_counter`: a whole 64-bit number in base 0.
fn parse_counter(text: &str) -> Result<u64> {
    match strtoul_prefix(text) {
        Some((v, "")) => Ok(v),
        _ => Err(Error::param(format!(
            "Cannot parse {text} as a counter value"
        ))),
    }
}

/// One of `--packets-{eq,lt,gt}` or `--bytes-{eq,lt,gt}` (libxt_set.c
/// `set_parse_v4`): only one per counter, and only `-eq` takes `!`.
fn parse_counter_opt(
    counter: &mut Counter,
    what: &str,
    op: &str,
    call: &OptCall<'_>,
) -> Result<()> {
    if counter.op != CounterOp::None {
        return Err(Error::param(format!(
            "only one of the --{what}-[eq|lt|gt] is allowed"
        )));
    }
    counter.op = match (op, call.invert) {
        ("eq", false) => CounterOp::Eq,
        ("eq", true) => CounterOp::Ne,
        (_, true) => {
            return Err(Error::param(format!(
                "--{what}-{op} option cannot be inverted"
            )))
        }
        ("lt", false) => CounterOp::Lt,
        _ => CounterOp::Gt,
    };
    counter.value = parse_counter(call.arg())?;
    Ok(())
}

// A getopt-style extension: `!` reaches the parser for every option, and
// repeats are its own business.
static OPTIONS: &[OptDef] = &[
    OptDef::value("match-set").invertible().multi(),
    OptDef::value("set").invertible().multi(),
    OptDef::flag("return-nomatch").invertible().multi(),
    OptDef::flag("update-counters").invertible().multi(),
    OptDef::value("packets-eq").invertible().multi(),
    OptDef::value("packets-lt").invertible().multi(),
    OptDef::value("packets-gt").invertible().multi(),
    OptDef::value("bytes-eq").invertible().multi(),
    OptDef::value("bytes-lt").invertible().multi(),
    OptDef::value("bytes-gt").invertible().multi(),
    OptDef::flag("update-subcounters").invertible().multi(),
];

impl Extension for SetMatch {
    fn name(&self) -> &'static str {
        "set"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        match call.name {
            "update-subcounters" => self.skip_subcounters |= call.invert,
            "update-counters" => self.skip_counters |= call.invert,
            "return-nomatch" => {
                if call.invert {
                    return Err(Error::param("--return-nomatch flag cannot be inverted"));
                }
                self.return_nomatch = true;
            }
            "packets-eq" | "packets-lt" | "packets-gt" => {
                let op = &call.name["packets-".len()..];
                parse_counter_opt(&mut self.packets, "packets", op, call)?;
            }
            "bytes-eq" | "bytes-lt" | "bytes-gt" => {
                let op = &call.name["bytes-".len()..];
                parse_counter_opt(&mut self.bytes, "bytes", op, call)?;
            }
            // "match-set" and its deprecated alias "set".
            _ => {
                if call.name == "set" {
                    // libxt_set.c set_parse_v4: a warning, then as --match-set.
                    call.warn("--set option deprecated, please use --match-set");
                }
                if self.name.is_some() {
                    return Err(Error::param("--match-set can be specified only once"));
                }
                self.invert |= call.invert;
                let name = call.arg().to_string();
                let Some(dirs) = call.next_word() else {
                    return Err(Error::param("--match-set requires two args."));
                };
                self.dirs = parse_set(&name, &dirs)?;
                self.name = Some(name);
            }
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // libxt_set.c set_check_v0.
        if self.name.is_none() {
            return Err(Error::param(
                "You must specify `--match-set' with proper arguments",
            ));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.write(out, "--match-set", "--");
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        self.write(out, "match-set", "");
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argv;
    use crate::ext::testing::{self, words};
    use crate::restore::{restore, RestoreOptions};

    fn err(rule: &str) -> String {
        testing::parse_error(&format!("-A INPUT {rule}"))
    }

    #[test]
    fn set_option_warns_that_it_is_deprecated() {
        let line = "--set option deprecated, please use --match-set";
        for rule in [
            "-m set --set foo src",
            "-m set ! --set foo",
            "-m set --set foo",
        ] {
            let (w, e) = crate::ext::testing::warnings(&format!("-A INPUT {rule}"));
            assert_eq!(w, [line], "{rule}");
            assert!(e.is_some(), "{rule}");
        }
        let (w, _) = crate::ext::testing::warnings("-A INPUT -m set --match-set foo src");
        assert!(w.is_empty());
    }

    #[test]
    fn unknown_sets_are_refused() {
        let gone = "Set foo doesn't exist.\n";
        assert_eq!(err("-m set --match-set foo src -j ACCEPT"), gone);
        assert_eq!(err("-m set ! --match-set foo src"), gone);
        assert_eq!(err("-m set --set foo src"), gone);
        assert_eq!(err("-m set --match-set foo bogus"), gone);
        assert_eq!(err("-m set --packets-eq 1 --match-set foo src"), gone);
        let e = argv::parse(
            &words("-A INPUT -m set --match-set foo src"),
            "filter",
            false,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let long = "a".repeat(32);
        assert_eq!(
            err(&format!("-m set --match-set {long} src")),
            format!("setname `{long}' too long, max 31 characters.")
        );
        assert_eq!(
            err(&format!("-m set --match-set {} src", &long[1..])),
            format!("Set {} doesn't exist.\n", &long[1..])
        );
    }

    #[test]
    fn restore_reports_the_line() {
        let text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n-A INPUT -m set --match-set foo src,dst -j DROP\nCOMMIT\n";
        let mut rs = crate::model::Ruleset::default();
        let e = restore(&mut rs, text, RestoreOptions::default()).unwrap_err();
        assert_eq!(
            e.message("iptables-restore"),
            "iptables-restore v1.8.9 (nf_tables): Set foo doesn't exist.\n\nError occurred at line: 4\nTry `iptables-restore -h' or 'iptables-restore --help' for more information.\n"
        );
    }

    #[test]
    fn other_options() {
        assert_eq!(
            err("-m set --match-set foo"),
            "--match-set requires two args."
        );
        assert_eq!(
            err("-m set --match-set foo ! src"),
            "--match-set requires two args."
        );
        let must = "You must specify `--match-set' with proper arguments";
        assert_eq!(err("-m set"), must);
        assert_eq!(err("-m set --return-nomatch ! --update-counters"), must);
        assert_eq!(
            err("-m set ! --return-nomatch"),
            "--return-nomatch flag cannot be inverted"
        );
        assert_eq!(
            err("-m set --packets-eq x"),
            "Cannot parse x as a counter value"
        );
        assert_eq!(
            err("-m set --bytes-eq -1"),
            "Cannot parse -1 as a counter value"
        );
        assert_eq!(
            err("-m set --bytes-eq 18446744073709551616"),
            "Cannot parse 18446744073709551616 as a counter value"
        );
        assert_eq!(
            err("-m set --packets-eq 1 --packets-lt 2"),
            "only one of the --packets-[eq|lt|gt] is allowed"
        );
        assert_eq!(
            err("-m set ! --packets-gt 1"),
            "--packets-gt option cannot be inverted"
        );
        assert_eq!(
            err("-m set ! --bytes-lt 1"),
            "--bytes-lt option cannot be inverted"
        );
    }

    #[test]
    fn dirs_and_forms() {
        assert_eq!(parse_dirs("src,dst,srcx").unwrap(), vec![true, false, true]);
        assert!(parse_dirs("").is_err());
        assert!(parse_dirs("src,").is_err());
        assert_eq!(
            parse_dirs("src,src,src,src,src,src,src")
                .unwrap_err()
                .to_string(),
            "Can't be more src/dst options than 6."
        );
        // What iptables would print for a set the kernel knows.
        let m = SetMatch {
            name: Some("foo".into()),
            dirs: vec![true, false],
            invert: true,
            return_nomatch: true,
            skip_counters: true,
            skip_subcounters: false,
            packets: Counter {
                op: CounterOp::Ne,
                value: 5,
            },
            bytes: Counter {
                op: CounterOp::Gt,
                value: 100,
            },
        };
        let mut s = String::new();
        m.save(&mut s);
        assert_eq!(
            s,
            " ! --match-set foo src,dst --return-nomatch ! --update-counters ! --packets-eq 5 --bytes-gt 100"
        );
        let mut s = String::new();
        m.print(&mut s, true);
        assert_eq!(
            s,
            " ! match-set foo src,dst return-nomatch ! update-counters ! packets-eq 5 bytes-gt 100"
        );
    }
}
