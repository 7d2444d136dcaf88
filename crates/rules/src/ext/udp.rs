//! `-m udp`: source and destination ports (extensions/libxt_udp.c; kernel
//! net/netfilter/xt_tcpudp.c). iptables-nft turns a udp match with ports
//! into native payload expressions, which need `-p udp` in userspace
//! (iptables/nft.c `add_nft_udp`); a udp match with nothing set stays an
//! xt match, whose kernel check wants a non-inverted `-p udp`
//! (x_tables.c `xt_check_match`, `.proto`).

use std::any::Any;

use super::tcp::{print_ports, save_ports};
use super::util::parse_port_rc;
use super::{CheckCtx, Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Errno, Error, Result};

const IPPROTO_UDP: u8 = 17;
const ANY_PORT: (u16, u16) = (0, 65535);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Udp {
    pub sport: (u16, u16),
    pub sport_invert: bool,
    pub dport: (u16, u16),
    pub dport_invert: bool,
    given_sport: bool,
    given_dport: bool,
}

impl Default for Udp {
    fn default() -> Self {
        Udp {
            sport: ANY_PORT,
            sport_invert: false,
            dport: ANY_PORT,
            dport_invert: false,
            given_sport: false,
            given_dport: false,
        }
    }
}

impl Udp {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Udp::default())
    }

    /// nft.c `udp_all_zero`: nothing set, so it stays an xt match.
    fn all_zero(&self) -> bool {
        self.sport == ANY_PORT && self.dport == ANY_PORT && !self.sport_invert && !self.dport_invert
    }
}

/// What a port range becomes once iptables-nft has stored it as native
/// expressions and read it back (nft.c `add_nft_tcpudp`,
/// `expr_gen_range_cmp16`; nft-shared.c `port_match_single_to_range`):
/// the full range makes no expression at all (its `!` is lost), `:HI`
/// becomes `<= HI`, and `! :HI` becomes `> HI`, read back as `HI+1:65535`.
pub fn nft_port_roundtrip(range: (u16, u16), invert: bool) -> ((u16, u16), bool) {
    let (lo, hi) = range;
    if range == ANY_PORT {
        (ANY_PORT, false)
    } else if lo != hi && lo == 0 && hi < 65535 && invert {
        ((hi.saturating_add(1), 65535), false)
    } else {
        (range, invert)
    }
}

static OPTIONS: &[OptDef] = &[
    OptDef::value("source-port").invertible().multi(),
    OptDef::value("sport").invertible().multi(),
    OptDef::value("destination-port").invertible().multi(),
    OptDef::value("dport").invertible().multi(),
];

impl Extension for Udp {
    fn name(&self) -> &'static str {
        "udp"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        // xtables reports an alias under the first option of its id.
        let (given, opt) = match call.name {
            "source-port" | "sport" => (&mut self.given_sport, "source-port"),
            _ => (&mut self.given_dport, "destination-port"),
        };
        if *given {
            return Err(super::only_once("udp", opt));
        }
        *given = true;
        let range = parse_port_rc(call.arg(), "udp", opt)?;
        if opt == "source-port" {
            self.sport = range;
            self.sport_invert = call.invert;
        } else {
            self.dport = range;
            self.dport_invert = call.invert;
        }
        Ok(())
    }

    fn finish(&mut self, ctx: &RuleCtx) -> Result<()> {
        if self.all_zero() {
            return Ok(());
        }
        if ctx.proto != IPPROTO_UDP {
            return Err(Error::param("UDP match requires '-p udp'"));
        }
        (self.sport, self.sport_invert) = nft_port_roundtrip(self.sport, self.sport_invert);
        (self.dport, self.dport_invert) = nft_port_roundtrip(self.dport, self.dport_invert);
        Ok(())
    }

    fn check(&self, ctx: &CheckCtx) -> Result<(), Errno> {
        // Only the xt form reaches the kernel's proto check.
        if self.all_zero() && (ctx.proto != IPPROTO_UDP || ctx.proto_invert) {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        save_ports(out, "sport", self.sport, self.sport_invert);
        save_ports(out, "dport", self.dport, self.dport_invert);
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" udp");
        print_ports(out, "spt", self.sport, self.sport_invert, numeric, "udp");
        print_ports(out, "dpt", self.dport, self.dport_invert, numeric, "udp");
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

    fn run(rule: &str) -> Result<Udp> {
        testing::first_match(&words(&format!("-A INPUT {rule}")))
    }

    fn saved(u: &Udp) -> String {
        let mut s = String::new();
        u.save(&mut s);
        s
    }

    fn printed(u: &Udp, numeric: bool) -> String {
        let mut s = String::new();
        u.print(&mut s, numeric);
        s
    }

    #[test]
    fn parse_save_print() {
        let u = run("-p udp --sport 53 ! --dport 1024:").unwrap();
        assert_eq!(u.sport, (53, 53));
        assert_eq!(saved(&u), " --sport 53 ! --dport 1024:65535");
        assert_eq!(printed(&u, true), " udp spt:53 dpts:!1024:65535");
        assert_eq!(printed(&u, false), " udp spt:domain dpts:!1024:65535");
        assert_eq!(saved(&run("-p udp --dport 5:3").unwrap()), " --dport 5:3");
        assert_eq!(printed(&run("-p udp -m udp").unwrap(), true), " udp");
    }

    #[test]
    fn nft_normalises_ranges() {
        assert_eq!(
            saved(&run("-p udp ! --dport :4").unwrap()),
            " --dport 5:65535"
        );
        assert_eq!(saved(&run("-p udp --dport :4").unwrap()), " --dport 0:4");
        assert_eq!(
            saved(&run("-p udp ! --dport 0:65534").unwrap()),
            " --dport 65535"
        );
        assert_eq!(saved(&run("-p udp --sport 65536").unwrap()), " --sport 0");
        let u = run("-p udp ! --sport 0:65535 --dport 3").unwrap();
        assert_eq!(saved(&u), " --dport 3");
    }

    #[test]
    fn refusals() {
        let e = run("-m udp --dport 1").unwrap_err();
        assert_eq!(e.to_string(), "UDP match requires '-p udp'");
        let e = run("-p udp --sport 1 --source-port 2").unwrap_err();
        assert!(e
            .to_string()
            .contains("\"--source-port\" can only be used once"));
        assert!(run("-p udp --sport -1").is_err());
        assert!(run("-p udp --dport 1:2:3").is_err());
        // The xt form with an inverted protocol is refused by the kernel.
        let inv = argv::parse(&words("-A INPUT ! -p udp -m udp"), "filter", false).unwrap();
        let mut rs = Ruleset::default();
        assert!(ops::execute(&mut rs, &inv).is_err());
        assert!(run("! -p udp --sport 5").is_ok());
    }
}
