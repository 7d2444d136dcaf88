//! `-m physdev`: the bridge ports a bridged packet came in on or goes out
//! through (extensions/libxt_physdev.c; kernel net/netfilter/xt_physdev.c).

use std::any::Any;

use super::{CheckCtx, Extension, OptCall, OptDef, RuleCtx};
use crate::argv::parse_interface;
use crate::error::{Errno, Error, Result};
use crate::model::Hook;

// include/uapi/linux/netfilter/xt_physdev.h: the `bitmask`/`invert` bits.
pub const XT_PHYSDEV_OP_IN: u8 = 0x01;
pub const XT_PHYSDEV_OP_OUT: u8 = 0x02;
pub const XT_PHYSDEV_OP_BRIDGED: u8 = 0x04;
pub const XT_PHYSDEV_OP_ISIN: u8 = 0x08;
pub const XT_PHYSDEV_OP_ISOUT: u8 = 0x10;

/// `struct xt_physdev_info`; the interface masks follow from the names
/// (a trailing `+` is a prefix wildcard, as for `-i`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Physdev {
    pub physindev: String,
    pub physoutdev: String,
    /// Which tests are made (`XT_PHYSDEV_OP_*`).
    pub bitmask: u8,
    /// Which of them are inverted.
    pub invert: u8,
}

impl Physdev {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Physdev::default())
    }

    /// One item as physdev_print/physdev_save write it.
    fn item(&self, out: &mut String, flag: u8, text: &str, name: Option<&str>) {
        if self.bitmask & flag == 0 {
            return;
        }
        if self.invert & flag != 0 {
            out.push_str(" !");
        }
        out.push_str(text);
        if let Some(name) = name {
            out.push(' ');
            out.push_str(name);
        }
    }
}

static OPTIONS: &[OptDef] = &[
    OptDef::value("physdev-in").invertible(),
    OptDef::value("physdev-out").invertible(),
    OptDef::flag("physdev-is-in").invertible(),
    OptDef::flag("physdev-is-out").invertible(),
    OptDef::flag("physdev-is-bridged").invertible(),
];

impl Extension for Physdev {
    fn name(&self) -> &'static str {
        "physdev"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        let flag = match call.name {
            "physdev-in" => {
                // physdev_parse: xtables_parse_interface on the argument.
                let arg = call.value.as_deref().unwrap_or("");
                self.physindev = parse_interface(arg, false, call.warnings)?.name;
                XT_PHYSDEV_OP_IN
            }
            "physdev-out" => {
                let arg = call.value.as_deref().unwrap_or("");
                self.physoutdev = parse_interface(arg, false, call.warnings)?.name;
                XT_PHYSDEV_OP_OUT
            }
            "physdev-is-in" => XT_PHYSDEV_OP_ISIN,
            "physdev-is-out" => XT_PHYSDEV_OP_ISOUT,
            _ => XT_PHYSDEV_OP_BRIDGED,
        };
        self.bitmask |= flag;
        if call.invert {
            self.invert |= flag;
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // libxt_physdev.c physdev_check.
        if self.bitmask == 0 {
            return Err(Error::param("PHYSDEV: no physdev option specified"));
        }
        Ok(())
    }

    fn check(&self, ctx: &CheckCtx) -> Result<(), Errno> {
        // xt_physdev.c physdev_mt_check: the output port is unknown in
        // OUTPUT unless the rule is for bridged packets only (nft_compat
        // gives a user chain an empty hook mask, so it passes there).
        let out_test = self.bitmask & (XT_PHYSDEV_OP_OUT | XT_PHYSDEV_OP_ISOUT) != 0;
        let bridged_only =
            self.bitmask & XT_PHYSDEV_OP_BRIDGED != 0 && self.invert & XT_PHYSDEV_OP_BRIDGED == 0;
        if out_test && !bridged_only && ctx.hook == Some(Hook::Output) {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.item(out, XT_PHYSDEV_OP_ISIN, " --physdev-is-in", None);
        self.item(
            out,
            XT_PHYSDEV_OP_IN,
            " --physdev-in",
            Some(&self.physindev),
        );
        self.item(out, XT_PHYSDEV_OP_ISOUT, " --physdev-is-out", None);
        self.item(
            out,
            XT_PHYSDEV_OP_OUT,
            " --physdev-out",
            Some(&self.physoutdev),
        );
        self.item(out, XT_PHYSDEV_OP_BRIDGED, " --physdev-is-bridged", None);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" PHYSDEV match");
        self.save(out);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;
    use crate::model::TableId;

    fn rule(words: &[&str]) -> Result<Physdev> {
        let mut args = testing::words("-A INPUT -m physdev");
        args.extend(words);
        testing::first_match(&args)
    }

    fn ctx(hook: Option<Hook>) -> CheckCtx {
        CheckCtx {
            table: TableId::Filter,
            hook,
            proto: 0,
            proto_invert: false,
        }
    }

    #[test]
    fn weird_interface_names_warn() {
        let weird = |n: &str| {
            format!("Warning: weird character in interface `{n}' ('/' and ' ' are not allowed by the kernel).")
        };
        let (w, e) =
            crate::ext::testing::warnings("-A INPUT -m physdev --physdev-in a/b --physdev-out x/");
        assert_eq!(w, [weird("a/b"), weird("x/")]);
        assert_eq!(e, None);
        let (w, e) =
            crate::ext::testing::warnings("-A INPUT -m physdev --physdev-in / --physdev-in x");
        assert_eq!(w, [weird("/")]);
        assert!(e.is_some());
        // Too long is refused before the warning.
        let (w, e) =
            crate::ext::testing::warnings("-A INPUT -m physdev --physdev-in abcdefghijklmno/");
        assert!(w.is_empty());
        assert!(e.is_some_and(|e| e.contains("IFNAMSIZ")));
    }

    #[test]
    fn saves_and_prints_in_fixed_order() {
        let p = rule(&[
            "--physdev-is-bridged",
            "!",
            "--physdev-out",
            "veth+",
            "--physdev-is-out",
            "!",
            "--physdev-in",
            "eth0",
            "!",
            "--physdev-is-in",
        ])
        .unwrap();
        let (mut s, mut l) = (String::new(), String::new());
        p.save(&mut s);
        p.print(&mut l, false);
        let want = " ! --physdev-is-in ! --physdev-in eth0 --physdev-is-out ! --physdev-out veth+ --physdev-is-bridged";
        assert_eq!(s, want);
        assert_eq!(l, format!(" PHYSDEV match{want}"));
        // Names are written as given, unquoted, even empty.
        let p = rule(&["--physdev-in", "a b", "--physdev-out", ""]).unwrap();
        let mut s = String::new();
        p.save(&mut s);
        assert_eq!(s, " --physdev-in a b --physdev-out ");
    }

    #[test]
    fn refusals() {
        let err = |w: &[&str]| rule(w).unwrap_err().to_string();
        assert_eq!(err(&[]), "PHYSDEV: no physdev option specified");
        assert_eq!(
            err(&["--physdev-in", "0123456789abcdef"]),
            "interface name `0123456789abcdef' must be shorter than IFNAMSIZ (15)"
        );
        assert!(rule(&["--physdev-in", "0123456789abcde"]).is_ok());
        assert_eq!(
            err(&["--physdev-in", "a", "--physdev-in", "b"]),
            "physdev: option \"--physdev-in\" can only be used once.\n"
        );
    }

    #[test]
    fn output_port_only_for_bridged_packets_in_output() {
        let chk = |w: &[&str], hook| rule(w).unwrap().check(&ctx(hook));
        let out = Some(Hook::Output);
        assert_eq!(chk(&["--physdev-out", "lo"], out), Err(Errno::Invalid));
        assert_eq!(chk(&["--physdev-is-out"], out), Err(Errno::Invalid));
        assert_eq!(chk(&["!", "--physdev-out", "lo"], out), Err(Errno::Invalid));
        assert_eq!(
            chk(&["--physdev-out", "lo", "!", "--physdev-is-bridged"], out),
            Err(Errno::Invalid)
        );
        assert_eq!(
            chk(&["--physdev-out", "lo", "--physdev-is-bridged"], out),
            Ok(())
        );
        assert_eq!(chk(&["--physdev-in", "lo"], out), Ok(()));
        assert_eq!(chk(&["--physdev-out", "lo"], Some(Hook::Forward)), Ok(()));
        assert_eq!(
            chk(&["--physdev-out", "lo"], Some(Hook::Postrouting)),
            Ok(())
        );
        assert_eq!(chk(&["--physdev-out", "lo"], None), Ok(()));
    }
}
