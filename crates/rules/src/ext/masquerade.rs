//! `-j MASQUERADE`: SNAT to the outgoing interface's address
//! (extensions/libxt_NAT.c; kernel net/netfilter/xt_MASQUERADE.c). The
//! IPv4 struct (`nf_nat_ipv4_multi_range_compat`) keeps a `/BASE` only as
//! a flag, so it saves as `/0`.

use std::any::Any;

use super::nat::{print_range, NatRange};
use super::{Extension, OptCall, OptDef};
use crate::error::Result;
use crate::model::{Hook, HookMask, TableId};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Masquerade {
    /// Only ports and flags; never addresses.
    pub range: NatRange,
}

impl Masquerade {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Masquerade::default())
    }
}

// libxt_NAT.c `MASQUERADE_opts`.
static OPTIONS: &[OptDef] = &[
    OptDef::value("to-ports"),
    OptDef::flag("random"),
    OptDef::flag("random-fully"),
];

impl Extension for Masquerade {
    fn name(&self) -> &'static str {
        "MASQUERADE"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        match call.name {
            "to-ports" => {
                self.range.parse_to_ports(call.arg(), call.ctx.proto)?;
                self.range.compat_base();
            }
            flag => self.range.set_flag(flag),
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        print_range(out, &self.range, "--to-ports ", "--", true);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        print_range(out, &self.range, "masq ports: ", "", true);
    }

    // xt_MASQUERADE.c `masquerade_tg_reg`: table "nat".
    fn table(&self) -> Option<TableId> {
        Some(TableId::Nat)
    }

    // xt_MASQUERADE.c `masquerade_tg_reg`: POST_ROUTING only.
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Postrouting])
    }

    // xt_MASQUERADE.c `masquerade_tg_check` refuses MAP_IPS and a
    // rangesize other than 1, neither of which iptables can produce.

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;

    fn parsed(proto: u8, opts: &[(&'static str, Option<&str>)]) -> Result<Masquerade> {
        testing::options(proto, opts)
    }

    fn both(t: &Masquerade) -> (String, String) {
        testing::texts(t, false)
    }

    #[test]
    fn forms() {
        assert_eq!(both(&Masquerade::default()), (String::new(), String::new()));
        let m = parsed(6, &[("random-fully", None), ("random", None)]).unwrap();
        assert_eq!(
            both(&m),
            (
                " --random --random-fully".to_string(),
                " random random-fully".to_string()
            )
        );
        let m = parsed(17, &[("to-ports", Some("1024-65535"))]).unwrap();
        assert_eq!(
            both(&m),
            (
                " --to-ports 1024-65535".to_string(),
                " masq ports: 1024-65535".to_string()
            )
        );
        let m = parsed(6, &[("to-ports", Some("1000-2000/3"))]).unwrap();
        assert_eq!(both(&m).0, " --to-ports 1000-2000/0");
        let m = parsed(6, &[("to-ports", Some("1000-1000"))]).unwrap();
        assert_eq!(both(&m).0, " --to-ports 1000");
    }

    #[test]
    fn refusals() {
        assert!(parsed(0, &[("to-ports", Some("1024"))]).is_err());
        assert!(parsed(17, &[("to-ports", Some("1024-65536"))]).is_err());
        assert!(parsed(17, &[("to-ports", Some("-1"))]).is_err());
        let m = Masquerade::default();
        assert_eq!(m.table(), Some(TableId::Nat));
        assert_eq!(m.hooks(), HookMask::of(&[Hook::Postrouting]));
    }
}
