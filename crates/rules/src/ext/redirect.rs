//! `-j REDIRECT`: DNAT to the local machine (extensions/libxt_NAT.c;
//! kernel net/netfilter/xt_REDIRECT.c). Revision 0, whose IPv4 struct has
//! no base port, so `/BASE` is refused in userspace (`DNAT_fcheck`).

use std::any::Any;

use super::nat::{print_range, NatRange};
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};
use crate::model::{Hook, HookMask, TableId};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redirect {
    /// Only ports and `random`; never addresses.
    pub range: NatRange,
}

impl Redirect {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Redirect::default())
    }
}

// libxt_NAT.c `REDIRECT_opts`.
static OPTIONS: &[OptDef] = &[OptDef::value("to-ports"), OptDef::flag("random")];

impl Extension for Redirect {
    fn name(&self) -> &'static str {
        "REDIRECT"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        match call.name {
            "to-ports" => self.range.parse_to_ports(call.arg(), call.ctx.proto)?,
            flag => self.range.set_flag(flag),
        }
        Ok(())
    }

    // libxt_NAT.c `DNAT_fcheck` (REDIRECT's x6_fcheck).
    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if self.range.base.is_some() {
            return Err(Error::param(
                "Shifted portmap ranges not supported with this kernel",
            ));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        print_range(out, &self.range, "--to-ports ", "--", true);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        print_range(out, &self.range, "redir ports ", "", true);
    }

    // xt_REDIRECT.c `redirect_tg_reg`: table "nat".
    fn table(&self) -> Option<TableId> {
        Some(TableId::Nat)
    }

    // xt_REDIRECT.c `redirect_tg_reg`: PRE_ROUTING and LOCAL_OUT.
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Prerouting, Hook::Output])
    }

    // xt_REDIRECT.c `redirect_tg4_check` refuses MAP_IPS and a rangesize
    // other than 1, neither of which iptables can produce.

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;

    fn parsed(proto: u8, opts: &[(&'static str, Option<&str>)]) -> Result<Redirect> {
        testing::options(proto, opts)
    }

    fn both(t: &Redirect) -> (String, String) {
        testing::texts(t, true)
    }

    #[test]
    fn forms() {
        let r = parsed(6, &[("to-ports", Some("42-1234")), ("random", None)]).unwrap();
        assert_eq!(
            both(&r),
            (
                " --to-ports 42-1234 --random".to_string(),
                " redir ports 42-1234 random".to_string()
            )
        );
        let r = parsed(17, &[("to-ports", Some("512-512"))]).unwrap();
        assert_eq!(both(&r).0, " --to-ports 512");
        let r = parsed(6, &[("to-ports", Some("ftp-data"))]).unwrap();
        assert_eq!(both(&r).0, " --to-ports 20");
        assert_eq!(both(&Redirect::default()), (String::new(), String::new()));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            parsed(6, &[("to-ports", Some("42-1234/567"))])
                .unwrap_err()
                .to_string(),
            "Shifted portmap ranges not supported with this kernel"
        );
        assert!(parsed(0, &[("to-ports", Some("42"))]).is_err());
        assert!(parsed(6, &[("to-ports", Some("10-ssh"))]).is_err());
        let r = Redirect::default();
        assert_eq!(r.table(), Some(TableId::Nat));
        assert!(!HookMask::of(&[Hook::Input]).is_subset_of(r.hooks()));
    }
}
