//! `-j DNAT`: rewrite the destination address and port (extensions/
//! libxt_NAT.c; kernel net/netfilter/xt_nat.c). iptables 1.8.9 uses
//! revision 2 (`struct nf_nat_range2`), which keeps a shifted port map's
//! base port.

use std::any::Any;

use super::nat::{parse_to, ports_allowed, print_range, NatRange};
use super::{must_be_specified, Extension, OptCall, OptDef, RuleCtx};
use crate::error::Result;
use crate::model::{Hook, HookMask, TableId};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dnat {
    pub range: NatRange,
    given_to: bool,
}

impl Dnat {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Dnat::default())
    }
}

// libxt_NAT.c `DNAT_opts`.
static OPTIONS: &[OptDef] = &[
    OptDef::value("to-destination"),
    OptDef::flag("random"),
    OptDef::flag("persistent"),
];

impl Extension for Dnat {
    fn name(&self) -> &'static str {
        "DNAT"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        match call.name {
            "to-destination" => {
                parse_to(call.arg(), ports_allowed(call.ctx.proto), &mut self.range)?;
                self.given_to = true;
            }
            flag => self.range.set_flag(flag),
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if !self.given_to {
            return Err(must_be_specified("DNAT", "to-destination"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        print_range(out, &self.range, "--to-destination ", "--", false);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        print_range(out, &self.range, "to:", "", false);
    }

    // xt_nat.c `xt_nat_target_reg` (DNAT): table "nat".
    fn table(&self) -> Option<TableId> {
        Some(TableId::Nat)
    }

    // xt_nat.c `xt_nat_target_reg` (DNAT): PRE_ROUTING and LOCAL_OUT.
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Prerouting, Hook::Output])
    }

    // xt_nat.c `xt_nat_checkentry` only takes a conntrack reference.

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;

    fn parsed(proto: u8, opts: &[(&'static str, Option<&str>)]) -> Result<Dnat> {
        testing::options(proto, opts)
    }

    fn both(t: &Dnat) -> (String, String) {
        testing::texts(t, false)
    }

    #[test]
    fn forms() {
        let d = parsed(
            6,
            &[
                ("random", None),
                ("to-destination", Some("1.2.3.4-1.2.3.9:80-90/100")),
                ("persistent", None),
            ],
        )
        .unwrap();
        assert_eq!(
            both(&d),
            (
                " --to-destination 1.2.3.4-1.2.3.9:80-90/100 --random --persistent".to_string(),
                " to:1.2.3.4-1.2.3.9:80-90/100 random persistent".to_string()
            )
        );
        let d = parsed(0, &[("to-destination", Some("1.1.1.1"))]).unwrap();
        assert_eq!(both(&d).0, " --to-destination 1.1.1.1");
        let d = parsed(1, &[("to-destination", Some("1.1.1.1:ssh"))]).unwrap();
        assert_eq!(both(&d).1, " to:1.1.1.1:22");
        let d = parsed(17, &[("to-destination", Some(":0-0"))]).unwrap();
        assert_eq!(both(&d).0, " --to-destination :0");
    }

    #[test]
    fn refusals() {
        assert!(parsed(0, &[("to-destination", Some("1.1.1.1:80"))]).is_err());
        assert!(parsed(136, &[("to-destination", Some("1.1.1.1:80"))]).is_err());
        assert!(parsed(6, &[("to-destination", Some("1.1.1.1:1000-2000/0"))]).is_err());
        assert_eq!(
            parsed(6, &[("random", None)]).unwrap_err().to_string(),
            "DNAT: option \"--to-destination\" must be specified\n"
        );
        let d = Dnat::default();
        assert_eq!(d.table(), Some(TableId::Nat));
        assert!(HookMask::of(&[Hook::Output]).is_subset_of(d.hooks()));
        assert!(!HookMask::of(&[Hook::Input]).is_subset_of(d.hooks()));
        assert!(!HookMask::of(&[Hook::Postrouting]).is_subset_of(d.hooks()));
    }
}
