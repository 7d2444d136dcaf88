//! `-m addrtype`: the routing type of the source or destination address
//! (extensions/libxt_addrtype.c, revision 1; kernel
//! net/netfilter/xt_addrtype.c).

use std::any::Any;

use super::{CheckCtx, Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Errno, Error, Result};
use crate::model::Hook;

/// libxt_addrtype.c `rtn_names`: bit `i` of a type mask is the route
/// type `i` of include/uapi/linux/rtnetlink.h.
pub const TYPE_NAMES: [&str; 12] = [
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Addrtype {
    /// Bit mask over [`TYPE_NAMES`] (0 = no source test).
    pub src: u16,
    pub src_invert: bool,
    /// Bit mask over [`TYPE_NAMES`] (0 = no destination test).
    pub dst: u16,
    pub dst_invert: bool,
    /// Look the address up on the incoming device only.
    pub limit_iface_in: bool,
    /// Look the address up on the outgoing device only.
    pub limit_iface_out: bool,
}

impl Addrtype {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Addrtype::default())
    }
}

/// libxt_addrtype.c `parse_type`: the first name the word is a
/// case-insensitive prefix of.
fn parse_type(word: &str) -> Option<u16> {
    let w = word.as_bytes();
    TYPE_NAMES
        .iter()
        .position(|n| {
            n.as_bytes()
                .get(..w.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(w))
        })
        .map(|i| 1 << i)
}

/// libxt_addrtype.c `parse_types`: comma-separated type names.
pub fn parse_types(text: &str) -> Result<u16> {
    let mut mask = 0;
    let mut rest = text;
    while let Some((word, after)) = rest.split_once(',') {
        match parse_type(word).filter(|_| !word.is_empty()) {
            Some(bit) => mask |= bit,
            None => return Err(Error::param(format!("addrtype: bad type `{rest}'"))),
        }
        rest = after;
    }
    match parse_type(rest).filter(|_| !rest.is_empty()) {
        Some(bit) => Ok(mask | bit),
        None => Err(Error::param(format!("addrtype: bad type \"{rest}\""))),
    }
}

/// libxt_addrtype.c `print_types`.
fn types_text(mask: u16) -> String {
    TYPE_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

static OPTIONS: &[OptDef] = &[
    OptDef::value("src-type").invertible(),
    OptDef::value("dst-type").invertible(),
    OptDef::flag("limit-iface-in"),
    OptDef::flag("limit-iface-out"),
];

impl Extension for Addrtype {
    fn name(&self) -> &'static str {
        "addrtype"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        match call.name {
            "src-type" => {
                self.src |= parse_types(call.arg())?;
                self.src_invert |= call.invert;
            }
            "dst-type" => {
                self.dst |= parse_types(call.arg())?;
                self.dst_invert |= call.invert;
            }
            "limit-iface-in" => self.limit_iface_in = true,
            _ => self.limit_iface_out = true,
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // addrtype_check, then xtables_options_fcheck's exclusion.
        if self.src == 0 && self.dst == 0 {
            return Err(Error::param(
                "addrtype: you must specify --src-type or --dst-type",
            ));
        }
        if self.limit_iface_in && self.limit_iface_out {
            return Err(Error::param(
                "addrtype: option \"--limit-iface-in\" cannot be used together with \"--limit-iface-out\".\n",
            ));
        }
        Ok(())
    }

    fn check(&self, ctx: &CheckCtx) -> Result<(), Errno> {
        // xt_addrtype.c addrtype_mt_checkentry_v1.
        if self.limit_iface_in && self.limit_iface_out {
            return Err(Errno::Invalid);
        }
        let in_hooks = matches!(ctx.hook, Some(Hook::Prerouting | Hook::Input));
        let out_hooks = matches!(ctx.hook, Some(Hook::Postrouting | Hook::Output));
        if (in_hooks && self.limit_iface_out) || (out_hooks && self.limit_iface_in) {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.src != 0 {
            if self.src_invert {
                out.push_str(" !");
            }
            out.push_str(&format!(" --src-type {}", types_text(self.src)));
        }
        if self.dst != 0 {
            if self.dst_invert {
                out.push_str(" !");
            }
            out.push_str(&format!(" --dst-type {}", types_text(self.dst)));
        }
        if self.limit_iface_in {
            out.push_str(" --limit-iface-in");
        }
        if self.limit_iface_out {
            out.push_str(" --limit-iface-out");
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" ADDRTYPE match");
        if self.src != 0 {
            let inv = if self.src_invert { "!" } else { "" };
            out.push_str(&format!(" src-type {inv}{}", types_text(self.src)));
        }
        if self.dst != 0 {
            let inv = if self.dst_invert { "!" } else { "" };
            out.push_str(&format!(" dst-type {inv}{}", types_text(self.dst)));
        }
        if self.limit_iface_in {
            out.push_str(" limit-in");
        }
        if self.limit_iface_out {
            out.push_str(" limit-out");
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TableId;

    #[test]
    fn type_lists() {
        assert_eq!(parse_types("LOCAL").unwrap(), 1 << 2);
        assert_eq!(parse_types("u").unwrap(), 1);
        assert_eq!(parse_types("uni,Multi").unwrap(), (1 << 1) | (1 << 5));
        let e = |t| parse_types(t).unwrap_err().to_string();
        assert_eq!(e("LOCAL,foo,BAR"), "addrtype: bad type `foo,BAR'");
        assert_eq!(e(",LOCAL"), "addrtype: bad type `,LOCAL'");
        assert_eq!(e("LOCAL,"), "addrtype: bad type \"\"");
        assert_eq!(e("LOCALX"), "addrtype: bad type \"LOCALX\"");
        assert_eq!(types_text((1 << 2) | (1 << 11)), "LOCAL,XRESOLVE");
    }

    #[test]
    fn save_and_print() {
        let a = Addrtype {
            src: 1 << 2,
            dst: (1 << 3) | (1 << 5),
            dst_invert: true,
            limit_iface_in: true,
            ..Default::default()
        };
        let mut s = String::new();
        a.save(&mut s);
        assert_eq!(
            s,
            " --src-type LOCAL ! --dst-type BROADCAST,MULTICAST --limit-iface-in"
        );
        let mut s = String::new();
        a.print(&mut s, false);
        assert_eq!(
            s,
            " ADDRTYPE match src-type LOCAL dst-type !BROADCAST,MULTICAST limit-in"
        );
    }

    #[test]
    fn final_and_kernel_checks() {
        let mut a = Addrtype {
            limit_iface_in: true,
            ..Default::default()
        };
        assert!(a.finish(&RuleCtx::default()).is_err());
        a.src = 4;
        assert!(a.finish(&RuleCtx::default()).is_ok());
        let ctx = |hook| CheckCtx {
            table: TableId::Filter,
            hook,
            proto: 0,
            proto_invert: false,
        };
        assert_eq!(a.check(&ctx(Some(Hook::Input))), Ok(()));
        assert_eq!(a.check(&ctx(Some(Hook::Forward))), Ok(()));
        assert_eq!(a.check(&ctx(Some(Hook::Output))), Err(Errno::Invalid));
        assert_eq!(a.check(&ctx(None)), Ok(()));
        a.limit_iface_in = false;
        a.limit_iface_out = true;
        assert_eq!(a.check(&ctx(Some(Hook::Prerouting))), Err(Errno::Invalid));
        assert_eq!(a.check(&ctx(Some(Hook::Postrouting))), Ok(()));
    }
}
