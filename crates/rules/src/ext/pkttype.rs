//! `-m pkttype --pkt-type TYPE`: the link-layer packet type
//! (extensions/libxt_pkttype.c; kernel net/netfilter/xt_pkttype.c).

use std::any::Any;

use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};

/// libxt_pkttype.c `supported_types` (names first, then aliases) with
/// include/uapi/linux/if_packet.h `PACKET_*` values.
pub const PKT_TYPES: &[(&str, u8)] = &[
    ("unicast", 0),
    ("broadcast", 1),
    ("multicast", 2),
    ("otherhost", 3),
    ("bcast", 1),
    ("mcast", 2),
    ("host", 0),
];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pkttype {
    /// A `PACKET_*` value.
    pub pkttype: u8,
    pub invert: bool,
    given: bool,
}

impl Pkttype {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Pkttype::default())
    }

    fn type_text(&self) -> String {
        match PKT_TYPES.iter().find(|(_, t)| *t == self.pkttype) {
            Some((name, _)) => name.to_string(),
            None => self.pkttype.to_string(),
        }
    }
}

/// libxt_pkttype.c `parse_pkttype`: a name, any case.
pub fn parse_pkttype(text: &str) -> Result<u8> {
    PKT_TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(text))
        .map(|(_, t)| *t)
        .ok_or_else(|| Error::param(format!("Bad packet type '{text}'")))
}

static OPTIONS: &[OptDef] = &[OptDef::value("pkt-type").invertible()];

impl Extension for Pkttype {
    fn name(&self) -> &'static str {
        "pkttype"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        self.pkttype = parse_pkttype(call.arg())?;
        self.invert = call.invert;
        self.given = true;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if !self.given {
            return Err(super::must_be_specified("pkttype", "pkt-type"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(&format!(" --pkt-type {}", self.type_text()));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        let inv = if self.invert { "!" } else { "" };
        out.push_str(&format!(" PKTTYPE {inv}= {}", self.type_text()));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_save_print() {
        assert_eq!(parse_pkttype("BCAST").unwrap(), 1);
        assert_eq!(parse_pkttype("host").unwrap(), 0);
        assert_eq!(
            parse_pkttype("wrong").unwrap_err().to_string(),
            "Bad packet type 'wrong'"
        );
        let p = Pkttype {
            pkttype: 2,
            invert: true,
            given: true,
        };
        let mut s = String::new();
        p.save(&mut s);
        assert_eq!(s, " ! --pkt-type multicast");
        let mut s = String::new();
        p.print(&mut s, true);
        assert_eq!(s, " PKTTYPE != multicast");
        assert!(Pkttype::default().finish(&RuleCtx::default()).is_err());
    }
}
