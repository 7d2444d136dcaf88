//! `-m length --length MIN[:MAX]`: the IP packet's total length
//! (extensions/libxt_length.c; kernel net/netfilter/xt_length.c).

use std::any::Any;

use super::util::parse_uint_rc;
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Length {
    /// Inclusive bounds (not reordered: `5:3` never matches).
    pub min: u16,
    pub max: u16,
    pub invert: bool,
    given: bool,
}

impl Length {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Length::default())
    }

    fn range_text(&self) -> String {
        if self.min == self.max {
            self.min.to_string()
        } else {
            format!("{}:{}", self.min, self.max)
        }
    }
}

static OPTIONS: &[OptDef] = &[OptDef::value("length").invertible()];

impl Extension for Length {
    fn name(&self) -> &'static str {
        "length"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        let vals = parse_uint_rc(call.arg(), "length", "length", 65535)?;
        self.min = vals.first().copied().unwrap_or(0) as u16;
        self.max = vals.get(1).copied().unwrap_or(self.min as u64) as u16;
        self.invert = call.invert;
        self.given = true;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if !self.given {
            return Err(super::must_be_specified("length", "length"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(&format!(" --length {}", self.range_text()));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        let inv = if self.invert { "!" } else { "" };
        out.push_str(&format!(" length {inv}{}", self.range_text()));
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
        let l = Length {
            min: 1,
            max: 2,
            invert: true,
            given: true,
        };
        let mut s = String::new();
        l.save(&mut s);
        assert_eq!(s, " ! --length 1:2");
        let mut s = String::new();
        l.print(&mut s, true);
        assert_eq!(s, " length !1:2");
        let l = Length {
            min: 7,
            max: 7,
            invert: false,
            given: true,
        };
        let mut s = String::new();
        l.save(&mut s);
        assert_eq!(s, " --length 7");
        assert!(Length::default().finish(&RuleCtx::default()).is_err());
    }
}
