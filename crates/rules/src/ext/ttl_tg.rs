//! `-j TTL`: sets, decrements or increments the IPv4 TTL
//! (extensions/libipt_TTL.c; kernel net/netfilter/xt_HL.c). Exactly one
//! action; the kernel target is mangle-only.

use std::any::Any;

use super::util::{parse_opt_uint, xt_fcheck, XtOpt};
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};
use crate::model::TableId;

/// Option ids as libipt_TTL.c numbers them.
const O_TTL_SET: u32 = 0;
const O_TTL_INC: u32 = 1;
const O_TTL_DEC: u32 = 2;
const F_ANY: u32 = 0x7;

/// libipt_TTL.c `TTL_opts`, in table order.
const EXCL: &[XtOpt] = &[
    XtOpt::new(O_TTL_SET, "ttl-set").excl(F_ANY),
    XtOpt::new(O_TTL_DEC, "ttl-dec").excl(F_ANY),
    XtOpt::new(O_TTL_INC, "ttl-inc").excl(F_ANY),
];

static OPTIONS: &[OptDef] = &[
    OptDef::value("ttl-set"),
    OptDef::value("ttl-dec"),
    OptDef::value("ttl-inc"),
];

/// `IPT_TTL_*` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TtlMode {
    #[default]
    Set,
    Inc,
    Dec,
}

/// `ipt_TTL_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ttl {
    pub mode: TtlMode,
    pub ttl: u8,
    given: u32,
}

impl Ttl {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Ttl::default())
    }
}

impl Extension for Ttl {
    fn name(&self) -> &'static str {
        "TTL"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        let (mode, id, min) = match call.name {
            "ttl-set" => (TtlMode::Set, O_TTL_SET, 0),
            "ttl-dec" => (TtlMode::Dec, O_TTL_DEC, 1),
            _ => (TtlMode::Inc, O_TTL_INC, 1),
        };
        self.ttl = parse_opt_uint("TTL", call.name, call.arg(), min, 255)? as u8;
        self.mode = mode;
        self.given |= 1 << id;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if self.given == 0 {
            return Err(Error::param("TTL: You must specify an action"));
        }
        xt_fcheck("TTL", EXCL, self.given)
    }

    fn table(&self) -> Option<TableId> {
        // net/netfilter/xt_HL.c: `.table = "mangle"` for TTL.
        Some(TableId::Mangle)
    }

    fn save(&self, out: &mut String) {
        let opt = match self.mode {
            TtlMode::Set => "ttl-set",
            TtlMode::Dec => "ttl-dec",
            TtlMode::Inc => "ttl-inc",
        };
        out.push_str(&format!(" --{opt} {}", self.ttl));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        let what = match self.mode {
            TtlMode::Set => "set to",
            TtlMode::Dec => "decrement by",
            TtlMode::Inc => "increment by",
        };
        out.push_str(&format!(" TTL {what} {}", self.ttl));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;

    fn rule(words: &str) -> Result<Ttl> {
        testing::target(&testing::words(&format!(
            "-t mangle -A PREROUTING -j TTL {words}"
        )))
    }

    #[test]
    fn saves_and_prints() {
        for (args, save, print) in [
            ("--ttl-set 42", " --ttl-set 42", " TTL set to 42"),
            ("--ttl-set 0x10", " --ttl-set 16", " TTL set to 16"),
            ("--ttl-inc 1", " --ttl-inc 1", " TTL increment by 1"),
            ("--ttl-dec 255", " --ttl-dec 255", " TTL decrement by 255"),
        ] {
            let t = rule(args).unwrap();
            let (mut s, mut p) = (String::new(), String::new());
            t.save(&mut s);
            t.print(&mut p, true);
            assert_eq!((s.as_str(), p.as_str()), (save, print), "{args}");
        }
    }

    #[test]
    fn refusals() {
        let err = |a: &str| rule(a).unwrap_err().to_string();
        assert_eq!(err(""), "TTL: You must specify an action");
        assert_eq!(
            err("--ttl-set 256"),
            "TTL: bad value for option \"--ttl-set\", or out of range (0-255).\n"
        );
        assert_eq!(
            err("--ttl-inc 0"),
            "TTL: bad value for option \"--ttl-inc\", or out of range (1-255).\n"
        );
        assert_eq!(
            err("--ttl-dec 1 --ttl-inc 1"),
            "TTL: option \"--ttl-dec\" cannot be used together with \"--ttl-inc\".\n"
        );
        assert_eq!(
            err("--ttl-set 1 --ttl-inc 1"),
            "TTL: option \"--ttl-set\" cannot be used together with \"--ttl-inc\".\n"
        );
        assert!(err("--ttl-set --ttl-inc 1").contains("bad value for option \"--ttl-set\""));
    }
}
