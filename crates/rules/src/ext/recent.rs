//! `-m recent`: lists of recently seen addresses (extensions/libxt_recent.c
//! revision 1; kernel net/netfilter/xt_recent.c).

use std::any::Any;
use std::net::Ipv4Addr;

use super::util::{save_invert, truncate_c_string, xt_fcheck, xt_host, xt_uint, XtOpt};
use super::{CheckCtx, Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Errno, Error, Result};

/// linux/netfilter/xt_recent.h `XT_RECENT_NAME_LEN`.
const NAME_LEN: usize = 200;
/// net/netfilter/xt_recent.c `XT_RECENT_MAX_NSTAMPS`.
const MAX_NSTAMPS: u32 = 1 << 16;

/// What the match does with the list (`--set` etc.).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Set,
    Check,
    Update,
    Remove,
}

/// Which address of the packet goes into the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Dest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recent {
    pub op: Option<Op>,
    pub invert: bool,
    /// 0 = not asked.
    pub seconds: u32,
    pub reap: bool,
    /// 0 = not asked.
    pub hit_count: u32,
    pub rttl: bool,
    pub name: String,
    pub side: Side,
    pub mask: u32,
    /// Options given, by libxt_recent.c id (for the final check).
    given: u32,
}

impl Default for Recent {
    fn default() -> Self {
        // libxt_recent.c recent_init: DEFAULT, source side, full mask.
        Recent {
            op: None,
            invert: false,
            seconds: 0,
            reap: false,
            hit_count: 0,
            rttl: false,
            name: "DEFAULT".to_string(),
            side: Side::Source,
            mask: u32::MAX,
            given: 0,
        }
    }
}

impl Recent {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Recent::default())
    }
}

static OPTIONS: &[OptDef] = &[
    OptDef::flag("set").invertible(),
    OptDef::flag("rcheck").invertible(),
    OptDef::flag("update").invertible(),
    OptDef::flag("remove").invertible(),
    OptDef::value("seconds"),
    OptDef::flag("reap"),
    OptDef::value("hitcount"),
    OptDef::flag("rttl"),
    OptDef::value("name"),
    OptDef::flag("rsource"),
    OptDef::flag("rdest"),
    OptDef::value("mask"),
];

/// libxt_recent.c `recent_opts_v1` ids, `.also` and `.excl`.
const ANY_OP: u32 = 0b1111;
const FCHECK: &[XtOpt] = &[
    XtOpt {
        id: 0,
        name: "set",
        also: 0,
        excl: ANY_OP,
    },
    XtOpt {
        id: 1,
        name: "rcheck",
        also: 0,
        excl: ANY_OP,
    },
    XtOpt {
        id: 2,
        name: "update",
        also: 0,
        excl: ANY_OP,
    },
    XtOpt {
        id: 3,
        name: "remove",
        also: 0,
        excl: ANY_OP,
    },
    XtOpt {
        id: 4,
        name: "seconds",
        also: 0,
        excl: 0,
    },
    XtOpt {
        id: 5,
        name: "reap",
        also: 1 << 4,
        excl: 0,
    },
    XtOpt {
        id: 6,
        name: "hitcount",
        also: 0,
        excl: 0,
    },
    XtOpt {
        id: 7,
        name: "rttl",
        also: 0,
        excl: 1 | 1 << 3,
    },
    XtOpt {
        id: 8,
        name: "name",
        also: 0,
        excl: 0,
    },
    XtOpt {
        id: 9,
        name: "rsource",
        also: 0,
        excl: 0,
    },
    XtOpt {
        id: 10,
        name: "rdest",
        also: 0,
        excl: 0,
    },
    XtOpt {
        id: 11,
        name: "mask",
        also: 0,
        excl: 0,
    },
];

impl Extension for Recent {
    fn name(&self) -> &'static str {
        "recent"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        let id = OPTIONS
            .iter()
            .position(|o| o.name == call.name)
            .unwrap_or(0);
        let op = match call.name {
            "set" => Some(Op::Set),
            "rcheck" => Some(Op::Check),
            "update" => Some(Op::Update),
            "remove" => Some(Op::Remove),
            _ => None,
        };
        if let Some(op) = op {
            // The first given op is what the excl check reports against.
            if self.op.is_none() {
                self.op = Some(op);
            }
            if call.invert {
                self.invert = true;
            }
        }
        match call.name {
            "seconds" => {
                self.seconds = xt_uint("recent", "seconds", call.arg(), 1, u32::MAX.into())? as u32
            }
            "reap" => self.reap = true,
            "hitcount" => {
                self.hit_count =
                    xt_uint("recent", "hitcount", call.arg(), 0, u32::MAX.into())? as u32
            }
            "rttl" => self.rttl = true,
            "name" => self.name = truncate_c_string(call.arg(), NAME_LEN),
            "rsource" => self.side = Side::Source,
            "rdest" => self.side = Side::Dest,
            "mask" => self.mask = xt_host(call.arg())?,
            _ => {}
        }
        self.given |= 1 << id;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if self.given & ANY_OP == 0 {
            return Err(Error::param(
                "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'",
            ));
        }
        xt_fcheck("recent", FCHECK, self.given)
    }

    fn check(&self, _ctx: &CheckCtx) -> Result<(), Errno> {
        // net/netfilter/xt_recent.c recent_mt_check: --set and --remove
        // take no modifiers; a hit count below XT_RECENT_MAX_NSTAMPS;
        // xt_check_proc_name: the name must be usable as a proc file.
        if matches!(self.op, Some(Op::Set | Op::Remove))
            && (self.seconds != 0 || self.hit_count != 0 || self.rttl || self.reap)
        {
            return Err(Errno::Invalid);
        }
        if self.reap && self.seconds == 0 {
            return Err(Errno::Invalid);
        }
        if self.hit_count >= MAX_NSTAMPS {
            return Err(Errno::Invalid);
        }
        if self.name.is_empty()
            || self.name.len() >= NAME_LEN
            || self.name == "."
            || self.name == ".."
            || self.name.contains('/')
        {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        save_invert(out, self.invert);
        out.push_str(match self.op {
            Some(Op::Set) => " --set",
            Some(Op::Check) => " --rcheck",
            Some(Op::Update) => " --update",
            Some(Op::Remove) => " --remove",
            None => "",
        });
        // libxt_recent.c prints the numbers with %d.
        if self.seconds != 0 {
            out.push_str(&format!(" --seconds {}", self.seconds as i32));
        }
        if self.reap {
            out.push_str(" --reap");
        }
        if self.hit_count != 0 {
            out.push_str(&format!(" --hitcount {}", self.hit_count as i32));
        }
        if self.rttl {
            out.push_str(" --rttl");
        }
        out.push_str(&format!(
            " --name {} --mask {}",
            self.name,
            Ipv4Addr::from(self.mask)
        ));
        out.push_str(match self.side {
            Side::Source => " --rsource",
            Side::Dest => " --rdest",
        });
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        save_invert(out, self.invert);
        out.push_str(" recent:");
        out.push_str(match self.op {
            Some(Op::Set) => " SET",
            Some(Op::Check) => " CHECK",
            Some(Op::Update) => " UPDATE",
            Some(Op::Remove) => " REMOVE",
            None => "",
        });
        if self.seconds != 0 {
            out.push_str(&format!(" seconds: {}", self.seconds as i32));
        }
        if self.reap {
            out.push_str(" reap");
        }
        if self.hit_count != 0 {
            out.push_str(&format!(" hit_count: {}", self.hit_count as i32));
        }
        if self.rttl {
            out.push_str(" TTL-Match");
        }
        out.push_str(&format!(" name: {}", self.name));
        out.push_str(match self.side {
            Side::Source => " side: source",
            Side::Dest => " side: dest",
        });
        out.push_str(&format!(" mask: {}", Ipv4Addr::from(self.mask)));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argv;
    use crate::model::{Hook, TableId};

    fn parse(args: &str) -> std::result::Result<crate::model::Rule, String> {
        let mut words: Vec<String> = vec!["-A".into(), "INPUT".into()];
        words.extend(args.split_whitespace().map(String::from));
        let inv = argv::parse(&words, "filter", false).map_err(|e| e.to_string())?;
        inv.rules.into_iter().next().ok_or_else(|| "no rule".into())
    }

    fn run(args: &str) -> std::result::Result<(String, String), String> {
        let r = parse(args)?;
        let mut p = String::new();
        for m in &r.matches {
            m.print(&mut p, false);
        }
        Ok((crate::save::rule_spec(&r), p))
    }

    fn kernel(args: &str) -> Result<(), Errno> {
        let r = parse(args).map_err(|_| Errno::Busy)?;
        let ctx = CheckCtx {
            table: TableId::Filter,
            hook: Some(Hook::Input),
            proto: 0,
            proto_invert: false,
        };
        r.matches.iter().try_for_each(|m| m.check(&ctx))
    }

    #[test]
    fn save_and_print() {
        assert_eq!(
            run("-m recent --set"),
            Ok((
                " -m recent --set --name DEFAULT --mask 255.255.255.255 --rsource".into(),
                " recent: SET name: DEFAULT side: source mask: 255.255.255.255".into()
            ))
        );
        assert_eq!(
            run("-m recent ! --rcheck --reap --seconds 4294967295 --hitcount 3 --rttl --name foo --mask 10.1 --rsource --rdest"),
            Ok((
                " -m recent ! --rcheck --seconds -1 --reap --hitcount 3 --rttl --name foo --mask 10.0.0.1 --rdest".into(),
                " ! recent: CHECK seconds: -1 reap hit_count: 3 TTL-Match name: foo side: dest mask: 10.0.0.1".into()
            ))
        );
        let long = "x".repeat(200);
        let (s, _) = run(&format!("-m recent --set --name {long}")).unwrap();
        assert!(s.contains(&format!("--name {} ", "x".repeat(199))));
    }

    #[test]
    fn refusals() {
        for (args, msg) in [
            (
                "-m recent --rttl",
                "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'",
            ),
            (
                "-m recent --set --rttl",
                "recent: option \"--rttl\" cannot be used together with \"--set\".\n",
            ),
            (
                "-m recent --rcheck --set",
                "recent: option \"--set\" cannot be used together with \"--rcheck\".\n",
            ),
            (
                "-m recent --rcheck --reap",
                "recent: option \"--reap\" also requires \"--seconds\".\n",
            ),
            (
                "-m recent --update --seconds 0",
                "recent: bad value for option \"--seconds\", or out of range (1-4294967295).\n",
            ),
        ] {
            assert_eq!(run(args), Err(msg.to_string()), "{args}");
        }
        assert_eq!(kernel("-m recent --rcheck --hitcount 65535"), Ok(()));
        for args in [
            "-m recent --set --seconds 5",
            "-m recent --set --hitcount 3",
            "-m recent --remove --reap --seconds 4",
            "-m recent --rcheck --hitcount 65536",
            "-m recent --set --name a/b",
            "-m recent --set --name ..",
        ] {
            assert_eq!(kernel(args), Err(Errno::Invalid), "{args}");
        }
    }
}
