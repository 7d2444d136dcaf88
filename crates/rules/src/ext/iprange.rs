//! `-m iprange`: source or destination address in an inclusive range
//! (extensions/libxt_iprange.c, revision 1; kernel
//! net/netfilter/xt_iprange.c).

use std::any::Any;
use std::net::Ipv4Addr;

use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::addr::parse_numeric_addr;
use crate::error::{Error, Result};

/// An inclusive address range and whether it is inverted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: Ipv4Addr,
    pub max: Ipv4Addr,
    pub invert: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Iprange {
    pub src: Option<Range>,
    pub dst: Option<Range>,
}

impl Iprange {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Iprange::default())
    }
}

/// libxt_iprange.c `iprange_parse_range`: `IP` or `IP-IP`, numeric only.
/// A reversed range is accepted (the caller warns that it never matches).
pub fn parse_range(text: &str, opt: &str) -> Result<(Ipv4Addr, Ipv4Addr)> {
    let (from, to) = text.split_once('-').unwrap_or((text, text));
    let one = |spec: &str| {
        // Non-ASCII text is no number (and addr.rs cuts at a byte index).
        spec.is_ascii()
            .then(|| parse_numeric_addr(spec, false))
            .flatten()
            .map(Ipv4Addr::from)
            .ok_or_else(|| {
                Error::param(format!(
                    "iprange: Bad value for \"{opt}\" option: \"{spec}\""
                ))
            })
    };
    Ok((one(from)?, one(to)?))
}

static OPTIONS: &[OptDef] = &[
    OptDef::value("src-range").invertible(),
    OptDef::value("dst-range").invertible(),
];

fn write_range(out: &mut String, r: &Range) {
    out.push_str(&format!(" {}-{}", r.min, r.max));
}

impl Extension for Iprange {
    fn name(&self) -> &'static str {
        "iprange"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        let opt = format!("--{}", call.name);
        let (min, max) = parse_range(call.arg(), &opt)?;
        if min > max {
            // libxt_iprange.c iprange_parse_range: a warning, no refusal.
            let (from, to) = call.arg().split_once('-').unwrap_or_default();
            let line = format!("xt_iprange: range {from}-{to} is reversed and will never match");
            call.warn(line);
        }
        let range = Some(Range {
            min,
            max,
            invert: call.invert,
        });
        if call.name == "src-range" {
            self.src = range;
        } else {
            self.dst = range;
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if self.src.is_none() && self.dst.is_none() {
            return Err(Error::param(
                "iprange match: You must specify `--src-range' or `--dst-range'",
            ));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        for (opt, range) in [("src-range", &self.src), ("dst-range", &self.dst)] {
            if let Some(r) = range {
                if r.invert {
                    out.push_str(" !");
                }
                out.push_str(&format!(" --{opt}"));
                write_range(out, r);
            }
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        for (label, range) in [("source", &self.src), ("destination", &self.dst)] {
            if let Some(r) = range {
                out.push_str(&format!(" {label} IP range"));
                if r.invert {
                    out.push_str(" !");
                }
                write_range(out, r);
            }
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let (a, b) = parse_range("1.1-2.2.2.2", "--src-range").unwrap();
        assert_eq!(
            (a.to_string(), b.to_string()),
            ("1.1.0.0".into(), "2.2.2.2".into())
        );
        let (a, b) = parse_range("1.1.1.1", "--src-range").unwrap();
        assert_eq!(a, b);
        assert!(parse_range("1.1.1.10-1.1.1.1", "--src-range").is_ok());
        let e = |t| parse_range(t, "--src-range").unwrap_err().to_string();
        assert_eq!(
            e("1.1.1.1-"),
            "iprange: Bad value for \"--src-range\" option: \"\""
        );
        assert_eq!(
            e("1.1.1.1-2.2.2.2-3.3.3.3"),
            "iprange: Bad value for \"--src-range\" option: \"2.2.2.2-3.3.3.3\""
        );
        assert!(parse_range("localhost", "--src-range").is_err());
        assert!(parse_range("1.1.1.1xäääääääääääää", "--src-range").is_err());
    }

    #[test]
    fn reversed_ranges_warn() {
        let (w, e) = crate::ext::testing::warnings(
            "-A INPUT -m iprange --src-range 10.0.0.9-10.0.0.1 ! --dst-range 1.2.3.4-1.2.3.4",
        );
        assert_eq!(
            w,
            ["xt_iprange: range 10.0.0.9-10.0.0.1 is reversed and will never match"]
        );
        assert_eq!(e, None);
        // The warning comes before a later refusal.
        let (w, e) = crate::ext::testing::warnings(
            "-A INPUT -m iprange --src-range 2.2.2.2-1.1 --src-range 1.1.1.1",
        );
        assert_eq!(
            w,
            ["xt_iprange: range 2.2.2.2-1.1 is reversed and will never match"]
        );
        assert!(e.is_some_and(|e| e.contains("can only be used once")));
        // A bad address is refused without the warning.
        let (w, _) = crate::ext::testing::warnings("-A INPUT -m iprange --src-range 2.2.2.2-1.x");
        assert!(w.is_empty());
    }

    #[test]
    fn save_print_finish() {
        let r = |a: [u8; 4], b: [u8; 4], invert| Range {
            min: a.into(),
            max: b.into(),
            invert,
        };
        let m = Iprange {
            src: Some(r([1, 1, 1, 1], [1, 1, 1, 1], true)),
            dst: Some(r([10, 0, 0, 1], [10, 0, 0, 2], false)),
        };
        let mut s = String::new();
        m.save(&mut s);
        assert_eq!(
            s,
            " ! --src-range 1.1.1.1-1.1.1.1 --dst-range 10.0.0.1-10.0.0.2"
        );
        let mut s = String::new();
        m.print(&mut s, false);
        assert_eq!(
            s,
            " source IP range ! 1.1.1.1-1.1.1.1 destination IP range 10.0.0.1-10.0.0.2"
        );
        assert!(Iprange::default().finish(&RuleCtx::default()).is_err());
    }
}
