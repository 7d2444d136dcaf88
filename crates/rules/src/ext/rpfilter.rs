//! `-m rpfilter`: reverse-path filter (extensions/libxt_rpfilter.c; kernel
//! net/ipv4/netfilter/ipt_rpfilter.c). iptables-nft 1.8.9 keeps it an xt
//! match. The kernel takes it only in the raw and mangle tables
//! (`rpfilter_check`) and only from PREROUTING (`.hooks`).

use std::any::Any;

use super::{CheckCtx, Extension, OptCall, OptDef};
use crate::error::{Errno, Result};
use crate::model::{Hook, HookMask, TableId};

/// The flags in libxt_rpfilter.c's option order, which is also the order
/// of their bits (xt_rpfilter.h `XT_RPFILTER_*`) and of save/print.
const FLAGS: [&str; 4] = ["loose", "validmark", "accept-local", "invert"];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rpfilter {
    /// xt_rpfilter.h `flags`: bit N is `FLAGS[N]`.
    pub flags: u8,
}

impl Rpfilter {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Rpfilter::default())
    }

    /// libxt_rpfilter.c `rpfilter_print_prefix`.
    fn write(&self, out: &mut String, prefix: &str) {
        for (bit, name) in FLAGS.iter().enumerate() {
            if self.flags & (1 << bit) != 0 {
                out.push(' ');
                out.push_str(prefix);
                out.push_str(name);
            }
        }
    }
}

static OPTIONS: &[OptDef] = &[
    OptDef::flag("loose"),
    OptDef::flag("validmark"),
    OptDef::flag("accept-local"),
    OptDef::flag("invert"),
];

impl Extension for Rpfilter {
    fn name(&self) -> &'static str {
        "rpfilter"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        if let Some(bit) = FLAGS.iter().position(|f| *f == call.name) {
            self.flags |= 1 << bit;
        }
        Ok(())
    }

    fn hooks(&self) -> HookMask {
        // ipt_rpfilter.c `rpfilter_mt_reg.hooks`: NF_INET_PRE_ROUTING only.
        HookMask::of(&[Hook::Prerouting])
    }

    fn check(&self, ctx: &CheckCtx) -> Result<(), Errno> {
        // ipt_rpfilter.c rpfilter_check: EINVAL outside mangle and raw.
        if !matches!(ctx.table, TableId::Mangle | TableId::Raw) {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.write(out, "--");
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" rpfilter");
        self.write(out, "");
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argv;
    use crate::ext::testing::{self, words};
    use crate::model::Ruleset;
    use crate::ops;

    fn run(rule: &str) -> Result<Rpfilter> {
        testing::first_match(&words(&format!("-t mangle -A PREROUTING {rule}")))
    }

    /// Runs iptables commands in turn on one ruleset; the last one's result.
    fn exec(cmds: &[&str]) -> Result<()> {
        let mut rs = Ruleset::default();
        let mut last = Ok(());
        for c in cmds {
            let inv = argv::parse(&words(c), "filter", false)?;
            last = ops::execute(&mut rs, &inv).map(|_| ());
        }
        last
    }

    #[test]
    fn save_and_print() {
        let r = run("-m rpfilter --invert --accept-local --validmark --loose").unwrap();
        let mut s = String::new();
        r.save(&mut s);
        assert_eq!(s, " --loose --validmark --accept-local --invert");
        let mut s = String::new();
        r.print(&mut s, false);
        assert_eq!(s, " rpfilter loose validmark accept-local invert");
        let r = run("-m rpfilter").unwrap();
        let mut s = String::new();
        r.save(&mut s);
        assert_eq!(s, "");
        let mut s = String::new();
        r.print(&mut s, true);
        assert_eq!(s, " rpfilter");
    }

    #[test]
    fn option_refusals() {
        let e = run("-m rpfilter ! --loose").unwrap_err().to_string();
        assert_eq!(e, "rpfilter: option \"--loose\" cannot be inverted.\n");
        let e = run("-m rpfilter --loose --loose").unwrap_err().to_string();
        assert_eq!(e, "rpfilter: option \"--loose\" can only be used once.\n");
    }

    #[test]
    fn raw_or_mangle_prerouting_only() {
        assert!(exec(&["-t mangle -A PREROUTING -m rpfilter"]).is_ok());
        assert!(exec(&["-t raw -A PREROUTING -m rpfilter --loose -j DROP"]).is_ok());
        for (cmd, chain) in [
            ("-t filter -A INPUT -m rpfilter", "INPUT"),
            ("-t mangle -A INPUT -m rpfilter", "INPUT"),
            ("-t nat -A PREROUTING -m rpfilter", "PREROUTING"),
        ] {
            let e = exec(&[cmd]).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("RULE_APPEND failed (Invalid argument): rule in chain {chain}")
            );
        }
        // A user chain: the table is checked at once, the hook once the
        // chain is reached from a base chain.
        let e = exec(&["-N f", "-A f -m rpfilter"]).unwrap_err().to_string();
        assert_eq!(e, "RULE_APPEND failed (Invalid argument): rule in chain f");
        let base = ["-t mangle -N u", "-t mangle -A u -m rpfilter"];
        assert!(exec(&base).is_ok());
        assert!(exec(&[base[0], base[1], "-t mangle -A PREROUTING -j u"]).is_ok());
        let e = exec(&[base[0], base[1], "-t mangle -A INPUT -j u"])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "RULE_APPEND failed (Invalid argument): rule in chain INPUT"
        );
    }
}
