//! `-j TRACE`: marks packets for nftables' trace events
//! (extensions/libxt_TRACE.c; kernel net/netfilter/xt_TRACE.c). No
//! options; the kernel target has no table or hook restriction (checked
//! with iptables 1.8.9 on Linux 6.18: accepted in raw, mangle and filter).

use std::any::Any;

use super::{Extension, OptCall, OptDef};
use crate::error::Result;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace;

impl Trace {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Trace)
    }
}

impl Extension for Trace {
    fn name(&self) -> &'static str {
        "TRACE"
    }

    fn options(&self) -> &'static [OptDef] {
        &[]
    }

    fn parse(&mut self, _call: &mut OptCall<'_>) -> Result<()> {
        Ok(())
    }

    fn save(&self, _out: &mut String) {}

    // libxt_TRACE.c has no print function: nothing after the addresses.
    fn print(&self, _out: &mut String, _numeric: bool) {}

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argv;

    #[test]
    fn no_options() {
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        let inv = argv::parse(&words("-t raw -A PREROUTING -j TRACE"), "filter", false).unwrap();
        assert_eq!(inv.rules.len(), 1);
        let err = argv::parse(
            &words("-t raw -A PREROUTING -j TRACE --foo"),
            "filter",
            false,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "unknown option \"--foo\"");
        let (mut s, mut p) = (String::new(), String::new());
        Trace.save(&mut s);
        Trace.print(&mut p, false);
        assert_eq!((s.as_str(), p.as_str()), ("", ""));
        assert_eq!(Trace.table(), None);
    }
}
