//! `-m tos --tos VALUE[/MASK]|NAME`: the IPv4 TOS byte (extensions/
//! libxt_tos.c, revision 1, symbols in tos_values.c; kernel
//! net/netfilter/xt_dscp.c `tos_mt`).

use std::any::Any;

use super::util::strtoui_prefix;
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};

/// tos_values.c `tos_symbol_names` (include/uapi/linux/ip.h `IPTOS_*`).
pub const TOS_SYMBOLS: &[(u8, &str)] = &[
    (0x10, "Minimize-Delay"),
    (0x08, "Maximize-Throughput"),
    (0x04, "Maximize-Reliability"),
    (0x02, "Minimize-Cost"),
    (0x00, "Normal-Service"),
];

/// libxtables `xtopt_parse_tosmask` (`XTTYPE_TOSMASK`): `VALUE[/MASK]`
/// (mask 0xff when absent) or a symbol name, any case, which takes
/// `symbol_mask` (the option's `.max`).
pub fn parse_tosmask(text: &str, symbol_mask: u8) -> Result<(u8, u8)> {
    let Some((value, rest)) = strtoui_prefix(text, 0, 255) else {
        return TOS_SYMBOLS
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(text))
            .map(|(v, _)| (*v, symbol_mask))
            .ok_or_else(|| Error::param(format!("Symbolic name \"{text}\" is unknown")));
    };
    let illegal = || Error::param(format!("Illegal value: \"{text}\""));
    let (mask, rest) = match rest.strip_prefix('/') {
        Some(after) => strtoui_prefix(after, 0, 255).ok_or_else(illegal)?,
        None => (255, rest),
    };
    if !rest.is_empty() {
        return Err(illegal());
    }
    Ok((value as u8, mask as u8))
}

/// tos_values.c `tos_try_print_symbolic`: a name only for mask 0x3f.
pub fn tos_symbol(value: u8, mask: u8) -> Option<&'static str> {
    if mask != 0x3F {
        return None;
    }
    TOS_SYMBOLS
        .iter()
        .find(|(v, _)| *v == value)
        .map(|(_, n)| *n)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tos {
    /// Matches when `tos & mask == value` (xor `invert`).
    pub value: u8,
    pub mask: u8,
    pub invert: bool,
    given: bool,
}

impl Tos {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Tos::default())
    }
}

static OPTIONS: &[OptDef] = &[OptDef::value("tos").invertible()];

impl Extension for Tos {
    fn name(&self) -> &'static str {
        "tos"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        // Revision 1 gives symbols the mask 0x3f (libxt_tos.c `.max`).
        (self.value, self.mask) = parse_tosmask(call.arg(), 0x3F)?;
        self.invert = call.invert;
        self.given = true;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if !self.given {
            return Err(super::must_be_specified("tos", "tos"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(&format!(" --tos {:#04x}/{:#04x}", self.value, self.mask));
    }

    fn print(&self, out: &mut String, numeric: bool) {
        // libxt_tos.c tos_mt_print: no space before a number.
        out.push_str(" tos match");
        if self.invert {
            out.push('!');
        }
        match tos_symbol(self.value, self.mask).filter(|_| !numeric) {
            Some(name) => out.push_str(&format!(" {name}")),
            None => out.push_str(&format!("{:#04x}/{:#04x}", self.value, self.mask)),
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
    fn parsing() {
        assert_eq!(parse_tosmask("minimize-cost", 0x3f).unwrap(), (2, 0x3f));
        assert_eq!(parse_tosmask("0xff", 0x3f).unwrap(), (0xff, 0xff));
        assert_eq!(parse_tosmask(" 5", 0x3f).unwrap(), (5, 0xff));
        assert_eq!(parse_tosmask("0x0f/0x0f", 0x3f).unwrap(), (0xf, 0xf));
        let e = |t| parse_tosmask(t, 0x3f).unwrap_err().to_string();
        assert_eq!(e("256"), "Symbolic name \"256\" is unknown");
        assert_eq!(e("0x0f/"), "Illegal value: \"0x0f/\"");
        assert_eq!(e("0x0f/0x100"), "Illegal value: \"0x0f/0x100\"");
        assert_eq!(e("1x"), "Illegal value: \"1x\"");
    }

    #[test]
    fn save_and_print() {
        let t = Tos {
            value: 0,
            mask: 0x3f,
            invert: true,
            given: true,
        };
        let mut s = String::new();
        t.save(&mut s);
        assert_eq!(s, " ! --tos 0x00/0x3f");
        let mut s = String::new();
        t.print(&mut s, false);
        assert_eq!(s, " tos match! Normal-Service");
        let mut s = String::new();
        t.print(&mut s, true);
        assert_eq!(s, " tos match!0x00/0x3f");
        assert!(Tos::default().finish(&RuleCtx::default()).is_err());
    }
}
