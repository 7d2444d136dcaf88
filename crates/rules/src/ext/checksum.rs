//! `-j CHECKSUM --checksum-fill`: computes a missing packet checksum
//! (extensions/libxt_CHECKSUM.c; kernel net/netfilter/xt_CHECKSUM.c).
//! `--checksum-fill` is mandatory; the kernel target is mangle-only.

use std::any::Any;

use super::{must_be_specified, Extension, OptCall, OptDef, RuleCtx};
use crate::error::Result;
use crate::model::TableId;

static OPTIONS: &[OptDef] = &[OptDef::flag("checksum-fill")];

/// `xt_CHECKSUM_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checksum {
    /// `XT_CHECKSUM_OP_FILL`.
    pub fill: bool,
}

impl Checksum {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Checksum::default())
    }
}

impl Extension for Checksum {
    fn name(&self) -> &'static str {
        "CHECKSUM"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, _call: &mut OptCall<'_>) -> Result<()> {
        self.fill = true;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // libxt_CHECKSUM.c: XTOPT_MAND on --checksum-fill.
        if !self.fill {
            return Err(must_be_specified("CHECKSUM", "checksum-fill"));
        }
        Ok(())
    }

    fn table(&self) -> Option<TableId> {
        // net/netfilter/xt_CHECKSUM.c: `.table = "mangle"`.
        Some(TableId::Mangle)
    }

    fn save(&self, out: &mut String) {
        if self.fill {
            out.push_str(" --checksum-fill");
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" CHECKSUM");
        if self.fill {
            out.push_str(" fill");
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argv;

    fn parse(rule: &str) -> crate::error::Result<argv::Invocation> {
        let words: Vec<String> = format!("-t mangle -A POSTROUTING {rule}")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        argv::parse(&words, "filter", false)
    }

    #[test]
    fn fill() {
        let inv = parse("-j CHECKSUM --checksum-fill").unwrap();
        let crate::model::Target::Ext(t) = &inv.rules[0].target else {
            panic!("no target");
        };
        let (mut s, mut p) = (String::new(), String::new());
        t.save(&mut s);
        t.print(&mut p, true);
        assert_eq!(
            (s.as_str(), p.as_str()),
            (" --checksum-fill", " CHECKSUM fill")
        );
        assert_eq!(t.table(), Some(TableId::Mangle));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            parse("-j CHECKSUM").unwrap_err().to_string(),
            "CHECKSUM: option \"--checksum-fill\" must be specified\n"
        );
        assert!(parse("-j CHECKSUM --checksum-fill --checksum-fill")
            .unwrap_err()
            .to_string()
            .contains("only be used once"));
        assert!(parse("-j CHECKSUM ! --checksum-fill").is_err());
    }
}
