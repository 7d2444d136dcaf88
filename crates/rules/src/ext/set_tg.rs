//! `-j SET`: adds to, deletes from or maps through an ipset
//! (extensions/libxt_SET.c revision 3, the one iptables 1.8.9 picks on
//! current kernels; kernel net/netfilter/xt_set.c). Like the set match,
//! each set option asks the kernel for the set while parsing, and palisade
//! keeps no ipsets, so `--add-set`, `--del-set` and `--map-set` are always
//! refused with "Set NAME doesn't exist." (see `set.rs`).

use std::any::Any;

use super::set::parse_set;
use super::util::strtoul_prefix;
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};

/// libxt_SET.c `SET_TARGET_*` option flags.
const ADD: u32 = 0x1;
const DEL: u32 = 0x2;
const EXIST: u32 = 0x4;
const TIMEOUT: u32 = 0x8;
const MAP: u32 = 0x10;
const MAP_MARK: u32 = 0x20;
const MAP_PRIO: u32 = 0x40;
const MAP_QUEUE: u32 = 0x80;

/// A set and its directions (`true` = src).
type SetRef = (String, Vec<bool>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetTarget {
    pub add: Option<SetRef>,
    pub del: Option<SetRef>,
    pub map: Option<SetRef>,
    /// `UINT32_MAX` when not given (`set_target_init_v3`).
    pub timeout: u32,
    /// The `SET_TARGET_*` flags of the options given.
    given: u32,
}

impl Default for SetTarget {
    fn default() -> Self {
        SetTarget {
            add: None,
            del: None,
            map: None,
            timeout: u32::MAX,
            given: 0,
        }
    }
}

impl SetTarget {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(SetTarget::default())
    }

    /// libxt_SET.c `set_target_print_v3`/`set_target_save_v3`.
    fn write(&self, out: &mut String, sep: &str) {
        let set = |out: &mut String, opt: &str, s: &Option<SetRef>| {
            if let Some((name, dirs)) = s {
                out.push_str(&format!(" {sep}{opt} {name}"));
                for (i, src) in dirs.iter().enumerate() {
                    out.push_str(if i == 0 { " " } else { "," });
                    out.push_str(if *src { "src" } else { "dst" });
                }
            }
        };
        set(out, "add-set", &self.add);
        if self.given & EXIST != 0 {
            out.push_str(&format!(" {sep}exist"));
        }
        if self.timeout != u32::MAX {
            out.push_str(&format!(" {sep}timeout {}", self.timeout));
        }
        set(out, "del-set", &self.del);
        set(out, "map-set", &self.map);
        for (flag, name) in [
            (MAP_MARK, "map-mark"),
            (MAP_PRIO, "map-prio"),
            (MAP_QUEUE, "map-queue"),
        ] {
            if self.given & flag != 0 {
                out.push_str(&format!(" {sep}{name}"));
            }
        }
    }
}

// A getopt-style target: `!` is passed to the parser, which ignores it,
// and repeats are its own business.
static OPTIONS: &[OptDef] = &[
    OptDef::value("add-set").invertible().multi(),
    OptDef::value("del-set").invertible().multi(),
    OptDef::flag("exist").invertible().multi(),
    OptDef::value("timeout").invertible().multi(),
    OptDef::value("map-set").invertible().multi(),
    OptDef::flag("map-mark").invertible().multi(),
    OptDef::flag("map-prio").invertible().multi(),
    OptDef::flag("map-queue").invertible().multi(),
];

impl Extension for SetTarget {
    fn name(&self) -> &'static str {
        "SET"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        let opt = call.name;
        let (slot, flag) = match opt {
            "add-set" => (&mut self.add, ADD),
            "del-set" => (&mut self.del, DEL),
            "map-set" => (&mut self.map, MAP),
            "timeout" => {
                // xtables_strtoui(optarg, NULL, &timeout, 0, UINT32_MAX - 1)
                self.timeout = match strtoul_prefix(call.arg()) {
                    Some((v, "")) if v < u64::from(u32::MAX) => v as u32,
                    _ => {
                        return Err(Error::param(format!(
                            "Invalid value for option --timeout or out of range 0-{}",
                            u32::MAX - 1
                        )))
                    }
                };
                self.given |= TIMEOUT;
                return Ok(());
            }
            other => {
                self.given |= match other {
                    "exist" => EXIST,
                    "map-mark" => MAP_MARK,
                    "map-prio" => MAP_PRIO,
                    _ => MAP_QUEUE,
                };
                return Ok(());
            }
        };
        // libxt_SET.c parse_target.
        if slot.is_some() {
            return Err(Error::param(format!("--{opt} can be specified only once")));
        }
        let name = call.arg().to_string();
        let Some(dirs) = call.next_word() else {
            return Err(Error::param(format!("--{opt} requires two args.")));
        };
        let dirs = parse_set(&name, &dirs)?;
        *slot = Some((name, dirs));
        self.given |= flag;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // libxt_SET.c set_target_check_v3.
        let f = self.given;
        if f & (ADD | DEL | MAP) == 0 {
            return Err(Error::param(
                "You must specify either `--add-set' or `--del-set' or `--map-set'",
            ));
        }
        if f & ADD == 0 {
            if f & EXIST != 0 {
                return Err(Error::param(
                    "Flag `--exist' can be used with `--add-set' only",
                ));
            }
            if f & TIMEOUT != 0 {
                return Err(Error::param(
                    "Option `--timeout' can be used with `--add-set' only",
                ));
            }
        }
        if f & MAP == 0 {
            for (flag, name) in [
                (MAP_MARK, "map-mark"),
                (MAP_PRIO, "map-prio"),
                (MAP_QUEUE, "map-queue"),
            ] {
                if f & flag != 0 {
                    return Err(Error::param(format!(
                        "Flag `--{name}' can be used with `--map-set' only"
                    )));
                }
            }
        }
        if f & MAP != 0 && f & (MAP_MARK | MAP_PRIO | MAP_QUEUE) == 0 {
            return Err(Error::param(
                "You must specify flags `--map-mark' or '--map-prio` or `--map-queue'",
            ));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.write(out, "--");
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        self.write(out, "");
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;

    fn err(cmd: &str) -> String {
        testing::parse_error(cmd)
    }

    #[test]
    fn set_options_need_a_set() {
        let gone = "Set foo doesn't exist.\n";
        assert_eq!(err("-A INPUT -j SET --add-set foo src,dst"), gone);
        assert_eq!(err("-A INPUT -j SET ! --add-set foo src"), gone);
        assert_eq!(err("-A INPUT -j SET --del-set foo src --exist"), gone);
        assert_eq!(err("-A INPUT -j SET --map-set foo src"), gone);
        assert_eq!(
            err("-A INPUT -j SET --add-set foo"),
            "--add-set requires two args."
        );
        let long = "a".repeat(32);
        assert_eq!(
            err(&format!("-A INPUT -j SET --del-set {long} src")),
            format!("setname `{long}' too long, max 31 characters.")
        );
    }

    #[test]
    fn other_options() {
        let must = "You must specify either `--add-set' or `--del-set' or `--map-set'";
        assert_eq!(err("-A INPUT -j SET"), must);
        assert_eq!(
            err("-A INPUT -j SET ! --exist --timeout 5 --map-mark"),
            must
        );
        assert_eq!(err("-A INPUT -j SET --timeout 5 --timeout 6"), must);
        let bad = "Invalid value for option --timeout or out of range 0-4294967294";
        assert_eq!(err("-A INPUT -j SET --timeout x"), bad);
        assert_eq!(err("-A INPUT -j SET --timeout 4294967295"), bad);
        // A chain may not take the target's name.
        assert_eq!(err("-N SET"), "chain name may not clash with target name");
    }

    #[test]
    fn final_check_and_forms() {
        let t = |given, map: bool| {
            let mut s = SetTarget {
                given,
                ..SetTarget::default()
            };
            if map {
                s.map = Some(("m".into(), vec![true]));
            }
            s.finish(&RuleCtx::default()).map_err(|e| e.to_string())
        };
        assert_eq!(
            t(DEL | EXIST, false).unwrap_err(),
            "Flag `--exist' can be used with `--add-set' only"
        );
        assert_eq!(
            t(DEL | TIMEOUT, false).unwrap_err(),
            "Option `--timeout' can be used with `--add-set' only"
        );
        assert_eq!(
            t(ADD | MAP_PRIO, false).unwrap_err(),
            "Flag `--map-prio' can be used with `--map-set' only"
        );
        assert_eq!(
            t(MAP, true).unwrap_err(),
            "You must specify flags `--map-mark' or '--map-prio` or `--map-queue'"
        );
        assert!(t(MAP | MAP_QUEUE, true).is_ok());
        // What iptables would print for sets the kernel knows.
        let s = SetTarget {
            add: Some(("a".into(), vec![true, false])),
            del: None,
            map: Some(("m".into(), vec![false])),
            timeout: 7,
            given: ADD | EXIST | TIMEOUT | MAP | MAP_MARK | MAP_QUEUE,
        };
        let mut out = String::new();
        s.save(&mut out);
        assert_eq!(
            out,
            " --add-set a src,dst --exist --timeout 7 --map-set m dst --map-mark --map-queue"
        );
        let mut out = String::new();
        s.print(&mut out, true);
        assert_eq!(
            out,
            " add-set a src,dst exist timeout 7 map-set m dst map-mark map-queue"
        );
    }
}
