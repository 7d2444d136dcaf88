//! `-m connmark --mark VALUE[/MASK]`: the connection's mark
//! (extensions/libxt_connmark.c, revision 1; kernel
//! net/netfilter/xt_connmark.c, which only takes a conntrack reference
//! in its check).

use std::any::Any;

use super::util::{mark_mask_text, parse_mark_mask};
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Connmark {
    /// Matches when `ct mark & mask == mark` (xor `invert`).
    pub mark: u32,
    pub mask: u32,
    pub invert: bool,
    given: bool,
}

impl Connmark {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Connmark::default())
    }
}

static OPTIONS: &[OptDef] = &[OptDef::value("mark").invertible()];

impl Extension for Connmark {
    fn name(&self) -> &'static str {
        "connmark"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        (self.mark, self.mask) = parse_mark_mask(call.arg(), "connmark", "mark")?;
        self.invert = call.invert;
        self.given = true;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if !self.given {
            return Err(super::must_be_specified("connmark", "mark"));
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
        // libxt_connmark.c connmark_mt_print: "match " then the value,
        // which brings its own space.
        out.push_str(" connmark match ");
        if self.invert {
            out.push('!');
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
        let m = Connmark {
            mark: 0,
            mask: 0,
            invert: true,
            given: true,
        };
        let mut s = String::new();
        m.save(&mut s);
        assert_eq!(s, " ! --mark 0x0/0x0");
        let mut s = String::new();
        m.print(&mut s, true);
        assert_eq!(s, " connmark match ! 0x0/0x0");
        let m = Connmark {
            mark: 0x10,
            mask: u32::MAX,
            invert: false,
            given: true,
        };
        let mut s = String::new();
        m.print(&mut s, false);
        assert_eq!(s, " connmark match  0x10");
        assert!(Connmark::default().finish(&RuleCtx::default()).is_err());
    }
}
