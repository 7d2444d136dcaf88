//! `-m multiport`: up to 15 ports or ranges (extensions/libxt_multiport.c,
//! revision 1; kernel net/netfilter/xt_multiport.c). The protocol must be
//! given with `-p` before the option, as iptables reads it while parsing.

use std::any::Any;

use super::util::{parse_port, port_name, proto_service_name};
use super::{CheckCtx, Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Errno, Error, Result};

/// include/uapi/linux/netfilter/xt_multiport.h `XT_MULTI_PORTS`.
const MULTI_PORTS: usize = 15;

/// The protocols with ports multiport knows (libxt_multiport.c
/// `proto_to_name`; xt_multiport.c `check`).
const PORT_PROTOS: [u8; 5] = [6, 17, 136, 132, 33];

/// Which port a packet's port list is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Source,
    Destination,
    /// `--ports`: source or destination.
    Either,
}

/// Canonical option names by id (xtables names an option by the first
/// table entry with its id).
const CANONICAL: [&str; 3] = ["source-ports", "destination-ports", "ports"];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Multiport {
    pub direction: Direction,
    /// Inclusive ranges; a single port is `(p, p)`.
    pub ports: Vec<(u16, u16)>,
    pub invert: bool,
    /// The rule's protocol, for service names in `-L`.
    pub proto: u8,
    /// Which of `CANONICAL` were given.
    given: [bool; 3],
}

impl Multiport {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Multiport::default())
    }

    /// Slots the kernel's port array uses: two per range.
    pub fn slots(&self) -> usize {
        self.ports
            .iter()
            .map(|(lo, hi)| if lo == hi { 1 } else { 2 })
            .sum()
    }
}

/// libxt_multiport.c `check_proto`.
fn check_proto(ctx: &super::RuleCtx) -> Result<&'static str> {
    if ctx.proto_invert {
        return Err(Error::param(
            "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP",
        ));
    }
    if PORT_PROTOS.contains(&ctx.proto) {
        return Ok(proto_service_name(ctx.proto));
    }
    if ctx.proto == 0 {
        return Err(Error::param(
            "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'",
        ));
    }
    Err(Error::param(
        "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP",
    ))
}

/// libxt_multiport.c `parse_multi_ports_v1`: comma-separated ports and
/// `LO:HI` ranges (LO < HI), a range taking two of the 15 slots.
pub fn parse_ports(text: &str, proto: &str) -> Result<Vec<(u16, u16)>> {
    let too_many = || Error::param("too many ports specified");
    let mut out = Vec::new();
    let mut slots = 0;
    for item in text.split(',') {
        if slots == MULTI_PORTS {
            return Err(too_many());
        }
        match item.split_once(':') {
            Some((lo, hi)) => {
                if slots == MULTI_PORTS - 1 {
                    return Err(too_many());
                }
                let lo = parse_port(lo, proto)?;
                let hi = parse_port(hi, proto)?;
                if lo >= hi {
                    return Err(Error::param("invalid portrange specified"));
                }
                out.push((lo, hi));
                slots += 2;
            }
            None => {
                let p = parse_port(item, proto)?;
                out.push((p, p));
                slots += 1;
            }
        }
    }
    Ok(out)
}

static OPTIONS: &[OptDef] = &[
    OptDef::value("source-ports").invertible().multi(),
    OptDef::value("sports").invertible().multi(),
    OptDef::value("destination-ports").invertible().multi(),
    OptDef::value("dports").invertible().multi(),
    OptDef::value("ports").invertible().multi(),
];

impl Multiport {
    fn write_ports(&self, out: &mut String, numeric: bool) {
        let proto = proto_service_name(self.proto);
        for (i, &(lo, hi)) in self.ports.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&port_name(lo, proto, numeric));
            if lo != hi {
                out.push(':');
                out.push_str(&port_name(hi, proto, numeric));
            }
        }
    }
}

impl Extension for Multiport {
    fn name(&self) -> &'static str {
        "multiport"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        let (id, direction) = match call.name {
            "source-ports" | "sports" => (0, Direction::Source),
            "destination-ports" | "dports" => (1, Direction::Destination),
            _ => (2, Direction::Either),
        };
        if self.given[id] {
            return Err(super::only_once("multiport", CANONICAL[id]));
        }
        self.given[id] = true;
        let proto = check_proto(&call.ctx)?;
        self.ports = parse_ports(call.arg(), proto)?;
        self.direction = direction;
        self.proto = call.ctx.proto;
        if call.invert {
            self.invert = true;
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // multiport_check, then xtables_options_fcheck's exclusions.
        let given: Vec<&str> = (0..3)
            .filter(|&i| self.given[i])
            .map(|i| CANONICAL[i])
            .collect();
        match given.as_slice() {
            [] => Err(Error::param("multiport expection an option")),
            [_] => Ok(()),
            [a, b, ..] => Err(Error::param(format!(
                "multiport: option \"--{a}\" cannot be used together with \"--{b}\".\n"
            ))),
        }
    }

    fn check(&self, ctx: &CheckCtx) -> Result<(), Errno> {
        // xt_multiport.c check(): a port protocol, not inverted.
        if !PORT_PROTOS.contains(&ctx.proto) || ctx.proto_invert || self.slots() > MULTI_PORTS {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(match self.direction {
            Direction::Source => " --sports ",
            Direction::Destination => " --dports ",
            Direction::Either => " --ports ",
        });
        self.write_ports(out, true);
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(match self.direction {
            Direction::Source => " multiport sports ",
            Direction::Destination => " multiport dports ",
            Direction::Either => " multiport ports ",
        });
        if self.invert {
            out.push_str(" !");
        }
        self.write_ports(out, numeric);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argv;

    fn run(rule: &str) -> Result<Multiport> {
        let words: Vec<String> = format!("-A INPUT {rule}")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let inv = argv::parse(&words, "filter", false)?;
        let r = inv.rules.first().ok_or_else(|| Error::param("no rule"))?;
        r.matches
            .iter()
            .find_map(|m| m.as_any().downcast_ref::<Multiport>().cloned())
            .ok_or_else(|| Error::param("no multiport"))
    }

    fn saved(m: &Multiport) -> String {
        let mut s = String::new();
        m.save(&mut s);
        s
    }

    fn printed(m: &Multiport, numeric: bool) -> String {
        let mut s = String::new();
        m.print(&mut s, numeric);
        s
    }

    #[test]
    fn parse_save_print() {
        let m = run("-p tcp -m multiport ! --dports 80,443:445,http").unwrap();
        assert_eq!(m.ports, vec![(80, 80), (443, 445), (80, 80)]);
        assert_eq!(saved(&m), " ! --dports 80,443:445,80");
        assert_eq!(printed(&m, true), " multiport dports  !80,443:445,80");
        assert_eq!(
            printed(&m, false),
            " multiport dports  !http,https:microsoft-ds,http"
        );
        let m = run("-p udp -m multiport --ports domain,bootpc").unwrap();
        assert_eq!(saved(&m), " --ports 53,68");
        assert_eq!(printed(&m, false), " multiport ports domain,bootpc");
        let m = run("-p tcp -m multiport --sports 1,2,3,4,5,6,7,8,9,10,11,12,13,14:15");
        assert_eq!(m.unwrap().slots(), 15);
    }

    #[test]
    fn refusals() {
        let e = |r: &str| run(r).unwrap_err().to_string();
        assert_eq!(
            e("-m multiport --dports 80 -p tcp"),
            "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'"
        );
        assert_eq!(
            e("! -p tcp -m multiport --dports 80"),
            "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP"
        );
        assert_eq!(
            e("-p icmp -m multiport --dports 80"),
            "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP"
        );
        assert_eq!(
            e("-p tcp -m multiport --dports 5:5"),
            "invalid portrange specified"
        );
        assert_eq!(
            e("-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16"),
            "too many ports specified"
        );
        assert_eq!(
            e("-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15:16"),
            "too many ports specified"
        );
        assert_eq!(
            e("-p tcp -m multiport --dports 1:2:3"),
            "invalid port/service `2:3' specified"
        );
        assert_eq!(e("-p tcp -m multiport"), "multiport expection an option");
        assert_eq!(
            e("-p tcp -m multiport --sports 1 --dports 2"),
            "multiport: option \"--source-ports\" cannot be used together with \"--destination-ports\".\n"
        );
        assert!(e("-p tcp -m multiport --dports 1 --destination-ports 2")
            .contains("\"--destination-ports\" can only be used once"));
        assert!(run("-p tcp -m multiport --sports 1024:65536").is_err());
    }
}
