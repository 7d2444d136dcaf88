//! `-m icmp --icmp-type`: ICMP type and code range (extensions/
//! libipt_icmp.c, names and parser in libxt_icmp.h; kernel
//! net/netfilter/xt_tcpudp.c `icmp_match`). It stays an xt match under
//! iptables-nft, whose kernel check wants a non-inverted `-p icmp`
//! (x_tables.c `xt_check_match`, `.proto`).

use std::any::Any;

use super::util::strtoui_prefix;
use super::{CheckCtx, Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Errno, Error, Result};

const IPPROTO_ICMP: u8 = 1;

/// libxt_icmp.h `icmp_codes`, in table order (lookups take the first
/// entry whose name starts with the given text): name, type, codes.
pub const ICMP_CODES: &[(&str, u8, u8, u8)] = &[
    ("any", 0xFF, 0, 0xFF),
    ("echo-reply", 0, 0, 0xFF),
    ("pong", 0, 0, 0xFF),
    ("destination-unreachable", 3, 0, 0xFF),
    ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1),
    ("protocol-unreachable", 3, 2, 2),
    ("port-unreachable", 3, 3, 3),
    ("fragmentation-needed", 3, 4, 4),
    ("source-route-failed", 3, 5, 5),
    ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7),
    ("network-prohibited", 3, 9, 9),
    ("host-prohibited", 3, 10, 10),
    ("TOS-network-unreachable", 3, 11, 11),
    ("TOS-host-unreachable", 3, 12, 12),
    ("communication-prohibited", 3, 13, 13),
    ("host-precedence-violation", 3, 14, 14),
    ("precedence-cutoff", 3, 15, 15),
    ("source-quench", 4, 0, 0xFF),
    ("redirect", 5, 0, 0xFF),
    ("network-redirect", 5, 0, 0),
    ("host-redirect", 5, 1, 1),
    ("TOS-network-redirect", 5, 2, 2),
    ("TOS-host-redirect", 5, 3, 3),
    ("echo-request", 8, 0, 0xFF),
    ("ping", 8, 0, 0xFF),
    ("router-advertisement", 9, 0, 0xFF),
    ("router-solicitation", 10, 0, 0xFF),
    ("time-exceeded", 11, 0, 0xFF),
    ("ttl-exceeded", 11, 0, 0xFF),
    ("ttl-zero-during-transit", 11, 0, 0),
    ("ttl-zero-during-reassembly", 11, 1, 1),
    ("parameter-problem", 12, 0, 0xFF),
    ("ip-header-bad", 12, 0, 0),
    ("required-option-missing", 12, 1, 1),
    ("timestamp-request", 13, 0, 0xFF),
    ("timestamp-reply", 14, 0, 0xFF),
    ("address-mask-request", 17, 0, 0xFF),
    ("address-mask-reply", 18, 0, 0xFF),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmp {
    /// The ICMP type; 0xFF is `any` (libipt_icmp.c `icmp_init`).
    pub icmp_type: u8,
    /// Inclusive code range.
    pub code: (u8, u8),
    pub invert: bool,
    given: bool,
}

impl Default for Icmp {
    fn default() -> Self {
        Icmp {
            icmp_type: 0xFF,
            code: (0, 0xFF),
            invert: false,
            given: false,
        }
    }
}

impl Icmp {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Icmp::default())
    }
}

/// libxt_icmp.h `parse_range`: `N` or `N:M`, each 0-255 in base 0.
fn parse_range(text: &str) -> Option<((u8, u8), &str)> {
    let (lo, rest) = strtoui_prefix(text, 0, 255)?;
    match rest.strip_prefix(':') {
        Some(after) => {
            let (hi, rest) = strtoui_prefix(after, 0, 255)?;
            Some(((lo as u8, hi as u8), rest))
        }
        None => Some(((lo as u8, lo as u8), rest)),
    }
}

/// libxt_icmp.h `ipt_parse_icmp`: a (prefix of a) name from
/// [`ICMP_CODES`], any case, or `TYPE[/CODE[:CODE]]`.
pub fn parse_icmp(text: &str) -> Result<(u8, (u8, u8))> {
    let input = text.as_bytes();
    let mut found: Option<&(&str, u8, u8, u8)> = None;
    for entry in ICMP_CODES {
        let prefix = entry.0.as_bytes().get(..input.len());
        if !prefix.is_some_and(|p| p.eq_ignore_ascii_case(input)) {
            continue;
        }
        if let Some(first) = found {
            return Err(Error::param(format!(
                "Ambiguous ICMP type `{text}': `{}' or `{}'?",
                first.0, entry.0
            )));
        }
        found = Some(entry);
    }
    if let Some(&(_, t, lo, hi)) = found {
        return Ok((t, (lo, hi)));
    }
    let Some((types, rest)) = parse_range(text) else {
        return Err(Error::param(format!("Unknown ICMP type `{text}'")));
    };
    let mut code = (0, 0xFF);
    let mut rest = rest;
    if let Some(after) = rest.strip_prefix('/') {
        let Some((c, r)) = parse_range(after) else {
            return Err(Error::param(format!("Unknown ICMP code `{text}'")));
        };
        code = c;
        rest = r;
    }
    if let Some(c) = rest.chars().next() {
        return Err(Error::param(format!("unknown character {c}")));
    }
    if types.0 != types.1 {
        return Err(Error::param("ICMP type range not supported"));
    }
    Ok((types.0, code))
}

static OPTIONS: &[OptDef] = &[OptDef::value("icmp-type").invertible()];

impl Extension for Icmp {
    fn name(&self) -> &'static str {
        "icmp"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        (self.icmp_type, self.code) = parse_icmp(call.arg())?;
        self.invert = call.invert;
        self.given = true;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if !self.given {
            return Err(super::must_be_specified("icmp", "icmp-type"));
        }
        Ok(())
    }

    fn check(&self, ctx: &CheckCtx) -> Result<(), Errno> {
        if ctx.proto != IPPROTO_ICMP || ctx.proto_invert {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        if self.icmp_type == 0xFF {
            out.push_str(" --icmp-type any");
        } else {
            out.push_str(&format!(" --icmp-type {}", self.icmp_type));
            // libipt_icmp.c icmp_save prints only the lower code.
            if self.code != (0, 0xFF) {
                out.push_str(&format!("/{}", self.code.0));
            }
        }
    }

    // iptables-save drops the upper code and, for type 255 (`any`), the
    // codes; the kernel keeps both (`-L` shows them), so the state file
    // writes the whole range, which the parser takes back.
    fn save_state(&self, out: &mut String) {
        if self.code == (0, 0xFF) || (self.icmp_type != 0xFF && self.code.0 == self.code.1) {
            return self.save(out);
        }
        if self.invert {
            out.push_str(" !");
        }
        let (lo, hi) = self.code;
        out.push_str(&format!(" --icmp-type {}/{lo}", self.icmp_type));
        if hi != lo {
            out.push_str(&format!(":{hi}"));
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" icmp");
        let inv = if self.invert { "!" } else { "" };
        if !numeric {
            let (lo, hi) = self.code;
            if let Some((name, ..)) = ICMP_CODES
                .iter()
                .find(|&&(_, t, l, h)| t == self.icmp_type && l == lo && h == hi)
            {
                out.push_str(&format!(" {inv}{name}"));
                return;
            }
        }
        // libipt_icmp.c print_icmptype: no space before "type" here.
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(&format!("type {}", self.icmp_type));
        let (lo, hi) = self.code;
        if lo == hi {
            out.push_str(&format!(" code {lo}"));
        } else if (lo, hi) != (0, 0xFF) {
            out.push_str(&format!(" codes {lo}-{hi}"));
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(text: &str, invert: bool) -> Icmp {
        let (icmp_type, code) = parse_icmp(text).unwrap();
        Icmp {
            icmp_type,
            code,
            invert,
            given: true,
        }
    }

    fn saved(i: &Icmp) -> String {
        let mut s = String::new();
        i.save(&mut s);
        s
    }

    fn printed(i: &Icmp, numeric: bool) -> String {
        let mut s = String::new();
        i.print(&mut s, numeric);
        s
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse_icmp("PING").unwrap(), (8, (0, 255)));
        assert_eq!(parse_icmp("port-unr").unwrap(), (3, (3, 3)));
        assert_eq!(parse_icmp("0x8").unwrap(), (8, (0, 255)));
        assert_eq!(parse_icmp("8/0:3").unwrap(), (8, (0, 3)));
        assert_eq!(parse_icmp("0:0/2").unwrap(), (0, (2, 2)));
        let e = |t| parse_icmp(t).unwrap_err().to_string();
        assert_eq!(
            e("echo"),
            "Ambiguous ICMP type `echo': `echo-reply' or `echo-request'?"
        );
        assert_eq!(e(""), "Ambiguous ICMP type `': `any' or `echo-reply'?");
        assert_eq!(e("3:5"), "ICMP type range not supported");
        assert_eq!(e("8x"), "unknown character x");
        assert_eq!(e("8/3x"), "unknown character x");
        assert_eq!(e("8/"), "Unknown ICMP code `8/'");
        assert_eq!(e("256"), "Unknown ICMP type `256'");
        assert_eq!(e("-1"), "Unknown ICMP type `-1'");
    }

    #[test]
    fn save_and_print() {
        let any = with("any", false);
        assert_eq!(saved(&any), " --icmp-type any");
        assert_eq!(printed(&any, false), " icmp any");
        assert_eq!(printed(&any, true), " icmptype 255");
        let ping = with("ping", true);
        assert_eq!(saved(&ping), " ! --icmp-type 8");
        assert_eq!(printed(&ping, false), " icmp !echo-request");
        assert_eq!(printed(&ping, true), " icmp !type 8");
        let range = with("8/0:3", false);
        assert_eq!(saved(&range), " --icmp-type 8/0");
        assert_eq!(printed(&range, false), " icmptype 8 codes 0-3");
        let port = with("3/3", false);
        assert_eq!(saved(&port), " --icmp-type 3/3");
        assert_eq!(printed(&port, false), " icmp port-unreachable");
        assert_eq!(printed(&port, true), " icmptype 3 code 3");
    }

    #[test]
    fn state_file_keeps_the_whole_code_range() {
        let state = |i: &Icmp| {
            let mut s = String::new();
            i.save_state(&mut s);
            s
        };
        for (text, invert, want) in [
            ("8/0:3", false, " --icmp-type 8/0:3"),
            ("3/5:255", true, " ! --icmp-type 3/5:255"),
            ("255/4", false, " --icmp-type 255/4"),
            ("255/4:9", false, " --icmp-type 255/4:9"),
            ("any", false, " --icmp-type any"),
            ("ping", true, " ! --icmp-type 8"),
            ("3/3", false, " --icmp-type 3/3"),
        ] {
            let i = with(text, invert);
            assert_eq!(state(&i), want, "{text}");
            let back = parse_icmp(want.rsplit(' ').next().unwrap_or_default());
            assert_eq!(back.unwrap(), (i.icmp_type, i.code), "{text}");
        }
    }

    #[test]
    fn needs_type_and_protocol() {
        let mut i = Icmp::default();
        assert!(i.finish(&RuleCtx::default()).is_err());
        let ctx = |proto, proto_invert| CheckCtx {
            table: crate::model::TableId::Filter,
            hook: None,
            proto,
            proto_invert,
        };
        let ping = with("ping", false);
        assert_eq!(ping.check(&ctx(0, false)), Err(Errno::Invalid));
        assert_eq!(ping.check(&ctx(1, true)), Err(Errno::Invalid));
        assert_eq!(ping.check(&ctx(1, false)), Ok(()));
    }
}
