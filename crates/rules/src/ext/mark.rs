//! `-m mark --mark VALUE[/MASK]`: the packet mark (extensions/libxt_mark.c,
//! revision 1; kernel net/netfilter/xt_mark.c). iptables-nft turns it into
//! a native `meta mark` comparison (iptables/nft.c `add_nft_mark`), which
//! reads back as the same value and mask.

use std::any::Any;

use super::util::{mark_mask_text, parse_mark_mask};
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mark {
    /// Matches when `packet mark & mask == mark` (xor `invert`).
    pub mark: u32,
    pub mask: u32,
    pub invert: bool,
    given: bool,
}

impl Mark {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Mark::default())
    }
}

static OPTIONS: &[OptDef] = &[OptDef::value("mark").invertible()];

impl Extension for Mark {
    fn name(&self) -> &'static str {
        "mark"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        (self.mark, self.mask) = parse_mark_mask(call.arg(), "mark", "mark")?;
        self.invert = call.invert;
        self.given = true;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if !self.given {
            return Err(super::must_be_specified("mark", "mark"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --mark");
        out.push_str(&mark_mask_text(self.mark, self.mask));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" mark match");
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(&mark_mask_text(self.mark, self.mask));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_print_finish() {
        let m = Mark {
            mark: 0xff,
            mask: 0xf,
            invert: true,
            given: true,
        };
        let mut s = String::new();
        m.save(&mut s);
        assert_eq!(s, " ! --mark 0xff/0xf");
        let mut s = String::new();
        m.print(&mut s, true);
        assert_eq!(s, " mark match ! 0xff/0xf");
        let m = Mark {
            mark: 1,
            mask: u32::MAX,
            ..m
        };
        let mut s = String::new();
        m.save(&mut s);
        assert_eq!(s, " ! --mark 0x1");
        assert!(Mark::default().finish(&RuleCtx::default()).is_err());
    }
}
