//! `-j TCPMSS`: rewrites the MSS option of TCP SYN packets
//! (extensions/libxt_TCPMSS.c; kernel net/netfilter/xt_TCPMSS.c).
//! `--set-mss` and `--clamp-mss-to-pmtu` may both be given: the last one
//! wins, as both write the same field. Under nft_compat the kernel skips
//! its "only works on SYN packets" test, so no tcp flags match is needed
//! (checked with iptables 1.8.9 on Linux 6.18).

use std::any::Any;

use super::util::parse_opt_uint;
use super::{CheckCtx, Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Errno, Error, Result};
use crate::model::{Hook, HookMask};

const IPPROTO_TCP: u8 = 6;
/// libxt_TCPMSS.c: `UINT16_MAX - sizeof(struct iphdr)`.
const MAX_MSS: u64 = 65535 - 20;

/// The hooks where clamping to the path MTU works (xt_TCPMSS.c
/// `tcpmss_tg4_check`).
const CLAMP_HOOKS: HookMask = HookMask::of(&[Hook::Forward, Hook::Output, Hook::Postrouting]);

static OPTIONS: &[OptDef] = &[OptDef::value("set-mss"), OptDef::flag("clamp-mss-to-pmtu")];

/// What the target writes into the MSS option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mss {
    /// A fixed value.
    Set(u16),
    /// The route's path MTU minus the IPv4 and TCP headers
    /// (`XT_TCPMSS_CLAMP_PMTU`).
    ClampPmtu,
}

/// `xt_tcpmss_info`; `None` until an option is given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tcpmss {
    pub mss: Option<Mss>,
}

impl Tcpmss {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Tcpmss::default())
    }
}

impl Extension for Tcpmss {
    fn name(&self) -> &'static str {
        "TCPMSS"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        self.mss = Some(if call.name == "set-mss" {
            Mss::Set(parse_opt_uint("TCPMSS", "set-mss", call.arg(), 0, MAX_MSS)? as u16)
        } else {
            Mss::ClampPmtu
        });
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if self.mss.is_none() {
            return Err(Error::param(
                "TCPMSS target: At least one parameter is required",
            ));
        }
        Ok(())
    }

    fn check(&self, ctx: &CheckCtx) -> Result<(), Errno> {
        // net/netfilter/xt_TCPMSS.c: `.proto = IPPROTO_TCP`, which
        // x_tables.c xt_check_target wants given and not inverted.
        if ctx.proto != IPPROTO_TCP || ctx.proto_invert {
            return Err(Errno::Invalid);
        }
        // xt_TCPMSS.c tcpmss_tg4_check: clamping only in FORWARD, OUTPUT
        // and POSTROUTING (an empty hook mask, in a user chain, passes).
        if self.mss == Some(Mss::ClampPmtu) && !ctx.hook_mask().is_subset_of(CLAMP_HOOKS) {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        match self.mss {
            Some(Mss::ClampPmtu) => out.push_str(" --clamp-mss-to-pmtu"),
            Some(Mss::Set(v)) => out.push_str(&format!(" --set-mss {v}")),
            None => {}
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        match self.mss {
            Some(Mss::ClampPmtu) => out.push_str(" TCPMSS clamp to PMTU"),
            Some(Mss::Set(v)) => out.push_str(&format!(" TCPMSS set {v}")),
            None => {}
        }
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

    fn rule(words: &str) -> Result<Tcpmss> {
        testing::target(&testing::words(&format!(
            "-t mangle -A FORWARD -p tcp -j TCPMSS {words}"
        )))
    }

    fn ctx(hook: Option<Hook>, proto: u8, proto_invert: bool) -> CheckCtx {
        CheckCtx {
            table: TableId::Mangle,
            hook,
            proto,
            proto_invert,
        }
    }

    #[test]
    fn saves_and_prints() {
        for (args, save, print) in [
            ("--set-mss 42", " --set-mss 42", " TCPMSS set 42"),
            ("--set-mss 65515", " --set-mss 65515", " TCPMSS set 65515"),
            (
                "--clamp-mss-to-pmtu",
                " --clamp-mss-to-pmtu",
                " TCPMSS clamp to PMTU",
            ),
            (
                "--set-mss 42 --clamp-mss-to-pmtu",
                " --clamp-mss-to-pmtu",
                " TCPMSS clamp to PMTU",
            ),
            (
                "--clamp-mss-to-pmtu --set-mss 0",
                " --set-mss 0",
                " TCPMSS set 0",
            ),
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
        assert_eq!(err(""), "TCPMSS target: At least one parameter is required");
        assert_eq!(
            err("--set-mss 65516"),
            "TCPMSS: bad value for option \"--set-mss\", or out of range (0-65515).\n"
        );
        let set = rule("--set-mss 42").unwrap();
        let clamp = rule("--clamp-mss-to-pmtu").unwrap();
        assert_eq!(set.check(&ctx(Some(Hook::Input), 6, false)), Ok(()));
        assert_eq!(
            set.check(&ctx(Some(Hook::Input), 0, false)),
            Err(Errno::Invalid)
        );
        assert_eq!(
            set.check(&ctx(Some(Hook::Input), 6, true)),
            Err(Errno::Invalid)
        );
        assert_eq!(clamp.check(&ctx(Some(Hook::Forward), 6, false)), Ok(()));
        assert_eq!(clamp.check(&ctx(None, 6, false)), Ok(()));
        assert_eq!(
            clamp.check(&ctx(Some(Hook::Prerouting), 6, false)),
            Err(Errno::Invalid)
        );
    }
}
