//! `-m mac --mac-source`: the Ethernet source address (extensions/
//! libxt_mac.c; kernel net/netfilter/xt_mac.c).

use std::any::Any;

use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};
use crate::model::{Hook, HookMask};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mac {
    pub addr: [u8; 6],
    pub invert: bool,
    given: bool,
}

impl Mac {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Mac::default())
    }
}

/// C's `strtoul(text, &end, 16)`: the value (wrapped like C for a minus
/// sign) and how many bytes it consumed; 0 bytes when no digit is there.
fn strtoul16(text: &str) -> (u64, usize) {
    let b = text.as_bytes();
    let mut i = 0;
    while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    let negative = b.get(i) == Some(&b'-');
    if matches!(b.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    if b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x' | b'X'))
        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        i += 2;
    }
    let start = i;
    let mut v: u64 = 0;
    while let Some(d) = b.get(i).and_then(|c| (*c as char).to_digit(16)) {
        v = v.saturating_mul(16).saturating_add(d as u64);
        i += 1;
    }
    if i == start {
        return (0, 0);
    }
    (if negative { v.wrapping_neg() } else { v }, i)
}

/// libxtables `xtopt_parse_ethermac`: six `strtoul` base-16 fields of at
/// most two characters each, separated by `:` (an empty field is 0).
pub fn parse_ethermac(text: &str) -> Result<[u8; 6]> {
    let bad = || Error::param("Invalid MAC address specified.");
    let mut addr = [0u8; 6];
    let mut rest = text;
    for (i, byte) in addr.iter_mut().enumerate() {
        let (v, used) = strtoul16(rest);
        if used > 2 {
            return Err(bad());
        }
        let after = rest.get(used..).ok_or_else(bad)?;
        *byte = v as u8;
        if i < 5 {
            rest = after.strip_prefix(':').ok_or_else(bad)?;
        } else if !after.is_empty() {
            return Err(bad());
        }
    }
    Ok(addr)
}

/// libxtables `xtables_print_mac`.
pub fn mac_text(addr: &[u8; 6]) -> String {
    addr.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

static OPTIONS: &[OptDef] = &[OptDef::value("mac-source").invertible()];

impl Extension for Mac {
    fn name(&self) -> &'static str {
        "mac"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        self.addr = parse_ethermac(call.arg())?;
        self.invert = call.invert;
        self.given = true;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if !self.given {
            return Err(super::must_be_specified("mac", "mac-source"));
        }
        Ok(())
    }

    fn hooks(&self) -> HookMask {
        // xt_mac.c: only where a packet has come in from a device.
        HookMask::of(&[Hook::Prerouting, Hook::Input, Hook::Forward])
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(&format!(" --mac-source {}", mac_text(&self.addr)));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        let inv = if self.invert { "! " } else { "" };
        out.push_str(&format!(" MAC {inv}{}", mac_text(&self.addr)));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethermac_forms() {
        let ok = |t| mac_text(&parse_ethermac(t).unwrap());
        assert_eq!(ok("42:01:02:03:04:05"), "42:01:02:03:04:05");
        assert_eq!(ok("AA:bb:cc:dd:ee:ff"), "aa:bb:cc:dd:ee:ff");
        assert_eq!(ok("42::02:03:04:05"), "42:00:02:03:04:05");
        assert_eq!(ok("-1:1:2:3:4:5"), "ff:01:02:03:04:05");
        assert_eq!(ok("+f:1:2:3:4:5"), "0f:01:02:03:04:05");
        assert_eq!(ok(" f:1:2:3:4:5"), "0f:01:02:03:04:05");
        assert_eq!(ok("1:2:3:4:5:"), "01:02:03:04:05:00");
        for bad in [
            "0x:1:2:3:4:5",
            "1:2:3:4:5:6:7",
            "001:2:3:4:5:6",
            "g:2:3:4:5:6",
            "42:01:02:03:04",
            "ä:1:2:3:4:5",
        ] {
            assert!(parse_ethermac(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn save_print_and_hooks() {
        let m = Mac {
            addr: [1, 2, 3, 4, 5, 6],
            invert: true,
            given: true,
        };
        let mut s = String::new();
        m.save(&mut s);
        assert_eq!(s, " ! --mac-source 01:02:03:04:05:06");
        let mut s = String::new();
        m.print(&mut s, true);
        assert_eq!(s, " MAC ! 01:02:03:04:05:06");
        assert!(!m.hooks().contains(Hook::Output));
        assert!(Mac::default().finish(&RuleCtx::default()).is_err());
    }
}
