//! `-m dscp --dscp VALUE | --dscp-class CLASS`: the DSCP bits of the TOS
//! byte (extensions/libxt_dscp.c, classes in dscp_helper.c; kernel
//! net/netfilter/xt_dscp.c).

use std::any::Any;

use super::util::parse_opt_uint;
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};

/// include/uapi/linux/netfilter/xt_dscp.h `XT_DSCP_MAX`.
const DSCP_MAX: u64 = 0x3f;

/// dscp_helper.c `ds_classes`, in lookup order.
pub const DS_CLASSES: &[(&str, u8)] = &[
    ("CS0", 0x00),
    ("CS1", 0x08),
    ("CS2", 0x10),
    ("CS3", 0x18),
    ("CS4", 0x20),
    ("CS5", 0x28),
    ("CS6", 0x30),
    ("CS7", 0x38),
    ("BE", 0x00),
    ("AF11", 0x0a),
    ("AF12", 0x0c),
    ("AF13", 0x0e),
    ("AF21", 0x12),
    ("AF22", 0x14),
    ("AF23", 0x16),
    ("AF31", 0x1a),
    ("AF32", 0x1c),
    ("AF33", 0x1e),
    ("AF41", 0x22),
    ("AF42", 0x24),
    ("AF43", 0x26),
    ("EF", 0x2e),
];

/// dscp_helper.c `class_to_dscp`: the first class the text starts with,
/// any case (so `cs10` is CS1).
pub fn class_to_dscp(text: &str) -> Result<u8> {
    let t = text.as_bytes();
    DS_CLASSES
        .iter()
        .find(|(n, _)| {
            t.get(..n.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(n.as_bytes()))
        })
        .map(|(_, v)| *v)
        .ok_or_else(|| Error::param(format!("Invalid DSCP value `{text}'")))
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dscp {
    pub dscp: u8,
    pub invert: bool,
    given_dscp: bool,
    given_class: bool,
}

impl Dscp {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Dscp::default())
    }
}

static OPTIONS: &[OptDef] = &[
    OptDef::value("dscp").invertible(),
    OptDef::value("dscp-class").invertible(),
];

impl Extension for Dscp {
    fn name(&self) -> &'static str {
        "dscp"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        if call.name == "dscp" {
            self.dscp = parse_opt_uint("dscp", "dscp", call.arg(), 0, DSCP_MAX)? as u8;
            self.given_dscp = true;
        } else {
            self.dscp = class_to_dscp(call.arg())?;
            self.given_class = true;
        }
        if call.invert {
            self.invert = true;
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // dscp_check, then xtables_options_fcheck's exclusion.
        if !self.given_dscp && !self.given_class {
            return Err(Error::param("DSCP match: Parameter --dscp is required"));
        }
        if self.given_dscp && self.given_class {
            return Err(Error::param(
                "dscp: option \"--dscp\" cannot be used together with \"--dscp-class\".\n",
            ));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(&format!(" --dscp {:#04x}", self.dscp));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        let inv = if self.invert { "!" } else { "" };
        out.push_str(&format!(" DSCP match {inv}{:#04x}", self.dscp));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(class_to_dscp("ef").unwrap(), 0x2e);
        assert_eq!(class_to_dscp("CS10").unwrap(), 0x08);
        assert_eq!(class_to_dscp("BE").unwrap(), 0);
        assert_eq!(
            class_to_dscp("AF1").unwrap_err().to_string(),
            "Invalid DSCP value `AF1'"
        );
    }

    #[test]
    fn save_print_finish() {
        let d = Dscp {
            dscp: 0x2e,
            invert: true,
            given_dscp: true,
            given_class: false,
        };
        let mut s = String::new();
        d.save(&mut s);
        assert_eq!(s, " ! --dscp 0x2e");
        let mut s = String::new();
        d.print(&mut s, false);
        assert_eq!(s, " DSCP match !0x2e");
        let mut both = Dscp {
            given_class: true,
            ..d
        };
        assert!(both.finish(&RuleCtx::default()).is_err());
        assert!(Dscp::default().finish(&RuleCtx::default()).is_err());
    }
}
