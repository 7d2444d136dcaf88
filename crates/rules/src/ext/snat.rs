//! `-j SNAT`: rewrite the source address and port (extensions/
//! libxt_NAT.c; kernel net/netfilter/xt_nat.c). iptables 1.8.9 uses
//! revision 0 for IPv4 (`struct nf_nat_ipv4_multi_range_compat`), which
//! has no room for a shifted port map's base: `/BASE` keeps only the
//! flag and saves as `/0`.

use std::any::Any;

use super::nat::{parse_to, ports_allowed, print_range, NatRange};
use super::{must_be_specified, Extension, OptCall, OptDef, RuleCtx};
use crate::error::Result;
use crate::model::{Hook, HookMask, TableId};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snat {
    pub range: NatRange,
    given_to: bool,
}

impl Snat {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Snat::default())
    }
}

// libxt_NAT.c `SNAT_opts`.
static OPTIONS: &[OptDef] = &[
    OptDef::value("to-source"),
    OptDef::flag("random"),
    OptDef::flag("random-fully"),
    OptDef::flag("persistent"),
];

impl Extension for Snat {
    fn name(&self) -> &'static str {
        "SNAT"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        match call.name {
            "to-source" => {
                parse_to(call.arg(), ports_allowed(call.ctx.proto), &mut self.range)?;
                // libxt_NAT.c `NAT_parse`: the compat struct drops the base.
                self.range.compat_base();
                self.given_to = true;
            }
            flag => self.range.set_flag(flag),
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if !self.given_to {
            return Err(must_be_specified("SNAT", "to-source"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        print_range(out, &self.range, "--to-source ", "--", false);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        print_range(out, &self.range, "to:", "", false);
    }

    // xt_nat.c `xt_nat_target_reg` (SNAT): table "nat".
    fn table(&self) -> Option<TableId> {
        Some(TableId::Nat)
    }

    // xt_nat.c `xt_nat_target_reg` (SNAT): POST_ROUTING and LOCAL_IN.
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Postrouting, Hook::Input])
    }

    // xt_nat.c `xt_nat_checkentry_v0` refuses only rangesize != 1, which
    // iptables always sets (libxt_NAT.c `SNAT_fcheck`).

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;

    fn parsed(proto: u8, opts: &[(&'static str, Option<&str>)]) -> Result<Snat> {
        testing::options(proto, opts)
    }

    fn both(t: &Snat) -> (String, String) {
        testing::texts(t, true)
    }

    #[test]
    fn forms() {
        let d = parsed(
            6,
            &[
                ("persistent", None),
                ("random-fully", None),
                ("to-source", Some("1.2.3.4:1000-2000/50")),
                ("random", None),
            ],
        )
        .unwrap();
        let (s, p) = both(&d);
        assert_eq!(
            s,
            " --to-source 1.2.3.4:1000-2000/0 --random --random-fully --persistent"
        );
        assert_eq!(p, " to:1.2.3.4:1000-2000/0 random random-fully persistent");
    }

    #[test]
    fn refusals() {
        assert!(parsed(0, &[("to-source", Some("1.1.1.1:1025-65535"))]).is_err());
        assert!(parsed(6, &[("to-source", Some("1.1.1.1:1025-65536"))]).is_err());
        assert_eq!(
            parsed(6, &[]).unwrap_err().to_string(),
            "SNAT: option \"--to-source\" must be specified\n"
        );
        let d = Snat::default();
        assert_eq!(d.table(), Some(TableId::Nat));
        assert!(HookMask::of(&[Hook::Input]).is_subset_of(d.hooks()));
        assert!(!HookMask::of(&[Hook::Output]).is_subset_of(d.hooks()));
        assert!(!HookMask::of(&[Hook::Prerouting]).is_subset_of(d.hooks()));
    }
}
