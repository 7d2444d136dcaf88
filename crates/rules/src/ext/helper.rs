//! `-m helper --helper NAME`: the conntrack helper that created the
//! connection's expectation (extensions/libxt_helper.c; kernel
//! net/netfilter/xt_helper.c, whose check only loads conntrack).

use std::any::Any;

use super::util::{save_string, truncate_c_string};
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::Result;

/// include/uapi/linux/netfilter/xt_helper.h: `char name[30]`.
const NAME_SIZE: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Helper {
    /// At most 29 bytes (the rest of a longer argument is dropped).
    pub name: String,
    pub invert: bool,
    given: bool,
}

impl Helper {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Helper::default())
    }
}

static OPTIONS: &[OptDef] = &[OptDef::value("helper").invertible()];

impl Extension for Helper {
    fn name(&self) -> &'static str {
        "helper"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        // XTTYPE_STRING with XTOPT_PUT into the fixed-size name.
        self.name = truncate_c_string(call.arg(), NAME_SIZE);
        self.invert = call.invert;
        self.given = true;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // XTOPT_MAND.
        if !self.given {
            return Err(super::must_be_specified("helper", "helper"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" --helper ");
        save_string(out, &self.name);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        let inv = if self.invert { "! " } else { "" };
        out.push_str(&format!(" helper match {inv}\"{}\"", self.name));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;

    fn rule(words: &[&str]) -> Result<Helper> {
        let mut args = testing::words("-A INPUT -m helper");
        args.extend(words);
        testing::first_match(&args)
    }

    fn texts(words: &[&str]) -> (String, String) {
        let h = rule(words).unwrap();
        let (mut s, mut p) = (String::new(), String::new());
        h.save(&mut s);
        h.print(&mut p, false);
        (s, p)
    }

    #[test]
    fn saves_and_prints() {
        for (words, save, print) in [
            (
                &["--helper", "ftp"][..],
                " --helper ftp",
                " helper match \"ftp\"",
            ),
            (
                &["!", "--helper", "ftp-21"][..],
                " ! --helper ftp-21",
                " helper match ! \"ftp-21\"",
            ),
            (
                &["--helper", ""][..],
                " --helper \"\"",
                " helper match \"\"",
            ),
            (
                &["!", "--helper", "q\"u'o b"][..],
                " ! --helper \"q\\\"u\\'o b\"",
                " helper match ! \"q\"u'o b\"",
            ),
            (
                &["--helper", "0123456789012345678901234567890123"][..],
                " --helper 01234567890123456789012345678",
                " helper match \"01234567890123456789012345678\"",
            ),
        ] {
            assert_eq!(
                texts(words),
                (save.to_string(), print.to_string()),
                "{words:?}"
            );
        }
    }

    #[test]
    fn refusals() {
        let err = |w: &[&str]| rule(w).unwrap_err().to_string();
        assert_eq!(err(&[]), "helper: option \"--helper\" must be specified\n");
        assert_eq!(
            err(&["--helper", "a", "--helper", "b"]),
            "helper: option \"--helper\" can only be used once.\n"
        );
    }
}
