//! `-m connlimit`: connections per address group (extensions/
//! libxt_connlimit.c, revision 1 as iptables 1.8.9 uses it; kernel
//! net/netfilter/xt_connlimit.c, whose checkentry only sets up its
//! conntrack counting and has no table or hook restriction). iptables-nft
//! 1.8.9 keeps it an xt match.

use std::any::Any;

use super::util::{xt_fcheck, xt_plenmask, xt_uint, XtOpt};
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};

/// libxt_connlimit.c option ids (`O_UPTO`..`O_DADDR`), as bits.
const F_UPTO: u32 = 1 << 0;
const F_ABOVE: u32 = 1 << 1;
const F_MASK: u32 = 1 << 2;
const F_SADDR: u32 = 1 << 3;
const F_DADDR: u32 = 1 << 4;

/// libxt_connlimit.c `connlimit_opts` for the final check.
const TABLE: &[XtOpt] = &[
    XtOpt {
        id: 0,
        name: "connlimit-upto",
        also: 0,
        excl: F_ABOVE,
    },
    XtOpt {
        id: 1,
        name: "connlimit-above",
        also: 0,
        excl: F_UPTO,
    },
    XtOpt {
        id: 2,
        name: "connlimit-mask",
        also: 0,
        excl: 0,
    },
    XtOpt {
        id: 3,
        name: "connlimit-saddr",
        also: 0,
        excl: F_DADDR,
    },
    XtOpt {
        id: 4,
        name: "connlimit-daddr",
        also: 0,
        excl: F_SADDR,
    },
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connlimit {
    pub limit: u32,
    /// xt_connlimit.h `XT_CONNLIMIT_INVERT`: match while the count is at
    /// most `limit` (`--connlimit-upto`), else above it.
    pub upto: bool,
    /// `XT_CONNLIMIT_DADDR`: group by destination address.
    pub daddr: bool,
    /// The group mask; all ones unless `--connlimit-mask` is given
    /// (`connlimit_init` fills it with 0xFF).
    pub mask: u32,
    given: u32,
}

impl Default for Connlimit {
    fn default() -> Self {
        Connlimit {
            limit: 0,
            upto: false,
            daddr: false,
            mask: u32::MAX,
            given: 0,
        }
    }
}

impl Connlimit {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Connlimit::default())
    }

    /// libxt_connlimit.c `count_bits4`: 32 less the bits up to the highest
    /// one of the inverted mask, i.e. that mask's leading zeros (the prefix
    /// length of a contiguous mask).
    pub fn mask_bits(&self) -> u32 {
        (!self.mask).leading_zeros()
    }
}

static OPTIONS: &[OptDef] = &[
    OptDef::value("connlimit-upto").invertible(),
    OptDef::value("connlimit-above").invertible(),
    OptDef::value("connlimit-mask"),
    OptDef::flag("connlimit-saddr"),
    OptDef::flag("connlimit-daddr"),
];

impl Extension for Connlimit {
    fn name(&self) -> &'static str {
        "connlimit"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        // libxt_connlimit.c connlimit_parse: `! --connlimit-above` is
        // upto and `! --connlimit-upto` is above.
        match call.name {
            "connlimit-upto" | "connlimit-above" => {
                self.limit =
                    xt_uint("connlimit", call.name, call.arg(), 0, u32::MAX.into())? as u32;
                self.upto = (call.name == "connlimit-upto") != call.invert;
                self.given |= if call.name == "connlimit-upto" {
                    F_UPTO
                } else {
                    F_ABOVE
                };
            }
            "connlimit-mask" => {
                self.mask = xt_plenmask("connlimit", call.name, call.arg())?.1;
                self.given |= F_MASK;
            }
            "connlimit-saddr" => {
                self.daddr = false;
                self.given |= F_SADDR;
            }
            _ => {
                self.daddr = true;
                self.given |= F_DADDR;
            }
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // connlimit_check first, then xtables_options_fcheck.
        if self.given & (F_UPTO | F_ABOVE) == 0 {
            return Err(Error::param(
                "You must specify \"--connlimit-above\" or \"--connlimit-upto\".",
            ));
        }
        xt_fcheck("connlimit", TABLE, self.given)
    }

    fn save(&self, out: &mut String) {
        let kind = if self.upto { "upto" } else { "above" };
        out.push_str(&format!(
            " --connlimit-{kind} {} --connlimit-mask {} --connlimit-{}",
            self.limit,
            self.mask_bits(),
            if self.daddr { "daddr" } else { "saddr" }
        ));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " #conn {}/{} {} {}",
            if self.daddr { "dst" } else { "src" },
            self.mask_bits(),
            if self.upto { "<=" } else { ">" },
            self.limit
        ));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing::{self, words};

    fn run(rule: &str) -> Result<Connlimit> {
        testing::first_match(&words(&format!("-A INPUT {rule}")))
    }

    fn saved(rule: &str) -> String {
        let mut s = String::new();
        run(rule).unwrap().save(&mut s);
        s
    }

    fn printed(rule: &str) -> String {
        let mut s = String::new();
        run(rule).unwrap().print(&mut s, true);
        s
    }

    fn err(rule: &str) -> String {
        run(rule).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn save_and_print() {
        let r = "-m connlimit --connlimit-upto 0";
        assert_eq!(
            saved(r),
            " --connlimit-upto 0 --connlimit-mask 32 --connlimit-saddr"
        );
        assert_eq!(printed(r), " #conn src/32 <= 0");
        let r = "-m connlimit ! --connlimit-upto 5 --connlimit-mask 24 --connlimit-daddr";
        assert_eq!(
            saved(r),
            " --connlimit-above 5 --connlimit-mask 24 --connlimit-daddr"
        );
        assert_eq!(printed(r), " #conn dst/24 > 5");
        let r = "-m connlimit ! --connlimit-above 7 --connlimit-mask 0";
        assert_eq!(
            saved(r),
            " --connlimit-upto 7 --connlimit-mask 0 --connlimit-saddr"
        );
        assert_eq!(printed(r), " #conn src/0 <= 7");
    }

    #[test]
    fn masks() {
        let bits = |m: &str| {
            run(&format!(
                "-m connlimit --connlimit-above 3 --connlimit-mask {m}"
            ))
            .unwrap()
            .mask_bits()
        };
        assert_eq!(bits("255.255.0.0"), 16);
        // A mask that is not contiguous is kept as all ones; 33 is read
        // by getaddrinfo as the mask 0.0.0.33.
        assert_eq!(bits("255.0.255.0"), 32);
        assert_eq!(bits("33"), 32);
        assert_eq!(bits("0x10"), 16);
        assert_eq!(bits("010"), 8);
        assert_eq!(bits("0"), 0);
        for m in ["-1", "1.2.3.4.5", "x"] {
            assert_eq!(
                err(&format!("-m connlimit --connlimit-above 3 --connlimit-mask {m}")),
                "connlimit: bad value for option \"--connlimit-mask\", neither a valid network mask nor valid CIDR (0-32).\n"
            );
        }
    }

    #[test]
    fn refusals() {
        assert_eq!(
            saved("-m connlimit --connlimit-above 0x10 --connlimit-mask 8"),
            " --connlimit-above 16 --connlimit-mask 8 --connlimit-saddr"
        );
        assert_eq!(
            err("-m connlimit --connlimit-upto 4294967296"),
            "connlimit: bad value for option \"--connlimit-upto\", or out of range (0-4294967295).\n"
        );
        assert_eq!(
            err("-m connlimit --connlimit-upto 1 --connlimit-above 1"),
            "connlimit: option \"--connlimit-upto\" cannot be used together with \"--connlimit-above\".\n"
        );
        assert_eq!(
            err("-m connlimit --connlimit-daddr --connlimit-saddr --connlimit-upto 1"),
            "connlimit: option \"--connlimit-saddr\" cannot be used together with \"--connlimit-daddr\".\n"
        );
        let must = "You must specify \"--connlimit-above\" or \"--connlimit-upto\".";
        assert_eq!(err("-m connlimit"), must);
        assert_eq!(
            err("-m connlimit --connlimit-daddr --connlimit-saddr"),
            must
        );
        assert_eq!(
            err("-m connlimit --connlimit-upto 2 ! --connlimit-saddr"),
            "connlimit: option \"--connlimit-saddr\" cannot be inverted.\n"
        );
        assert_eq!(
            err("-m connlimit --connlimit-upto 2 --connlimit-upto 3"),
            "connlimit: option \"--connlimit-upto\" can only be used once.\n"
        );
    }
}
