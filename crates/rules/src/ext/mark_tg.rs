//! `-j MARK`: sets the packet mark (extensions/libxt_MARK.c; kernel
//! net/netfilter/xt_mark.c). iptables 1.8.9 uses revision 2, whose
//! options are a superset of revisions 0 and 1 (`--set-mark`,
//! `--and-mark`, `--or-mark`); every form becomes a mark/mask pair
//! (`mark = (mark & ~mask) ^ value`) and is saved as `--set-xmark`.
//! The kernel target has no table, hook or checkentry restriction.

use std::any::Any;

use super::util::{parse_mark_op, print_mark_op, xt_fcheck, xt_id, XtOpt};
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};

/// Option ids as libxt_MARK.c numbers them (they decide the order of
/// the "cannot be used together" check).
const O_SET_MARK: u32 = 0;
const O_AND_MARK: u32 = 1;
const O_OR_MARK: u32 = 2;
const O_XOR_MARK: u32 = 3;
const O_SET_XMARK: u32 = 4;
/// Every operation excludes every other (libxt_MARK.c `F_ANY`).
const F_ANY: u32 = 0x1f;

/// libxt_MARK.c `mark_tg_opts`, in table order.
const EXCL: &[XtOpt] = &[
    XtOpt::new(O_SET_XMARK, "set-xmark").excl(F_ANY),
    XtOpt::new(O_SET_MARK, "set-mark").excl(F_ANY),
    XtOpt::new(O_AND_MARK, "and-mark").excl(F_ANY),
    XtOpt::new(O_OR_MARK, "or-mark").excl(F_ANY),
    XtOpt::new(O_XOR_MARK, "xor-mark").excl(F_ANY),
];

static OPTIONS: &[OptDef] = &[
    OptDef::value("set-xmark"),
    OptDef::value("set-mark"),
    OptDef::value("and-mark"),
    OptDef::value("or-mark"),
    OptDef::value("xor-mark"),
];

/// `xt_mark_tginfo2`: the new mark is `(old & !mask) ^ mark`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mark {
    pub mark: u32,
    pub mask: u32,
    /// Option ids given, as bits.
    given: u32,
}

impl Mark {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Mark::default())
    }

    /// The packet mark after this target.
    pub fn apply(&self, old: u32) -> u32 {
        (old & !self.mask) ^ self.mark
    }
}

impl Extension for Mark {
    fn name(&self) -> &'static str {
        "MARK"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        (self.mark, self.mask) = parse_mark_op("MARK", call.name, call.arg())?;
        self.given |= 1 << xt_id(EXCL, call.name);
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if self.given == 0 {
            return Err(Error::param(
                "MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required",
            ));
        }
        xt_fcheck("MARK", EXCL, self.given)
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(" --set-xmark 0x{:x}/0x{:x}", self.mark, self.mask));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        print_mark_op(out, "MARK", self.mark, self.mask);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;

    fn rule(words: &str) -> Result<Mark> {
        testing::target(&testing::words(&format!(
            "-t mangle -A PREROUTING -j MARK {words}"
        )))
    }

    fn texts(ext: &Mark) -> (String, String) {
        testing::texts(ext, true)
    }

    #[test]
    fn operations_save_as_xmark() {
        let cases = [
            (
                "--set-mark 5",
                " --set-xmark 0x5/0xffffffff",
                " MARK set 0x5",
            ),
            (
                "--set-mark 5/0xff",
                " --set-xmark 0x5/0xff",
                " MARK xset 0x5/0xff",
            ),
            (
                "--set-xmark 5/0xff",
                " --set-xmark 0x5/0xff",
                " MARK xset 0x5/0xff",
            ),
            (
                "--and-mark 0xff",
                " --set-xmark 0x0/0xffffff00",
                " MARK and 0xff",
            ),
            ("--or-mark 0xff", " --set-xmark 0xff/0xff", " MARK or 0xff"),
            ("--xor-mark 0xff", " --set-xmark 0xff/0x0", " MARK xor 0xff"),
            (
                "--set-xmark 0",
                " --set-xmark 0x0/0xffffffff",
                " MARK and 0x0",
            ),
            (
                "--set-mark 0xffffffff",
                " --set-xmark 0xffffffff/0xffffffff",
                " MARK or 0xffffffff",
            ),
            (
                "--set-mark +5/+6",
                " --set-xmark 0x5/0x7",
                " MARK xset 0x5/0x7",
            ),
        ];
        for (args, save, print) in cases {
            let m = rule(args).unwrap();
            assert_eq!(texts(&m), (save.to_string(), print.to_string()), "{args}");
        }
        assert_eq!(rule("--and-mark 0xff").unwrap().apply(0x1234), 0x34);
    }

    #[test]
    fn refusals() {
        let err = |a: &str| rule(a).unwrap_err().to_string();
        assert!(err("").contains("is required"));
        assert_eq!(
            err("--and-mark 2 --set-mark 1"),
            "MARK: option \"--set-mark\" cannot be used together with \"--and-mark\".\n"
        );
        assert_eq!(
            err("--set-mark 1 --set-xmark 2"),
            "MARK: option \"--set-xmark\" cannot be used together with \"--set-mark\".\n"
        );
        assert!(err("--set-mark 1 --set-mark 2").contains("only be used once"));
        assert!(err("--set-xmark 4294967296").contains("bad integer value"));
        assert!(err("--set-xmark -1").contains("bad integer value"));
        assert!(err("--set-mark 12abc").contains("trailing garbage"));
        assert_eq!(
            err("--and-mark abc"),
            "MARK: bad value for option \"--and-mark\", or out of range (0-4294967295).\n"
        );
        assert!(err("! --set-mark 1").contains("cannot be inverted"));
    }
}
