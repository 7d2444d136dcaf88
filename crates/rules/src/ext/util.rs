//! Parsing and printing helpers shared by extensions (libxtables'
//! `xtables_parse_port`, `xtables_strtoui`, service-name printing).

use crate::error::{Error, Result};
use crate::netdb;
use crate::num::strtoul_range;

/// The name iptables passes to getservbyname for a protocol number.
pub fn proto_service_name(proto: u8) -> &'static str {
    match proto {
        6 => "tcp",
        17 => "udp",
        132 => "sctp",
        33 => "dccp",
        136 => "udplite",
        _ => "tcp",
    }
}

/// `xtables_parse_port`: a number 0-65535 or a service name of `proto`.
pub fn parse_port(text: &str, proto: &str) -> Result<u16> {
    // xtables_strtoul refuses a leading minus itself ("-0").
    let negative = text.trim_start().starts_with('-');
    if let Some(p) = strtoul_range(text, 0, 65535).filter(|_| !negative) {
        return Ok(p as u16);
    }
    netdb::service_port(text, proto)
        .ok_or_else(|| Error::param(format!("invalid port/service `{text}' specified")))
}

/// `PORT`, `PORT:PORT`, `PORT:` or `:PORT` (libxt_tcp `parse_tcp_ports`).
pub fn parse_port_range(text: &str, proto: &str) -> Result<(u16, u16)> {
    match text.split_once(':') {
        None => {
            let p = parse_port(text, proto)?;
            Ok((p, p))
        }
        Some((lo, hi)) => {
            let lo = if lo.is_empty() {
                0
            } else {
                parse_port(lo, proto)?
            };
            let hi = if hi.is_empty() {
                65535
            } else {
                parse_port(hi, proto)?
            };
            if lo > hi {
                return Err(Error::param("invalid portrange (min > max)"));
            }
            Ok((lo, hi))
        }
    }
}

/// libxtables `xtables_strtoul` with an end pointer: a base-0 number at
/// the start of `text` (after blanks and an optional `+`; a `-` is
/// refused) and the text after it. `None` when no digit is there or the
/// value overflows (ERANGE).
pub fn strtoul_prefix(text: &str) -> Option<(u64, &str)> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if t.starts_with('-') {
        return None;
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let hex = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .filter(|h| h.starts_with(|c: char| c.is_ascii_hexdigit()));
    let (radix, digits) = match hex {
        Some(h) => (16, h),
        None if t.starts_with('0') => (8, t),
        None => (10, t),
    };
    let len = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if len == 0 {
        return None;
    }
    let (num, rest) = digits.split_at(len);
    u64::from_str_radix(num, radix).ok().map(|v| (v, rest))
}

/// `xtables_strtoui(text, &end, ..., min, max)`: [`strtoul_prefix`] with
/// a range check.
pub fn strtoui_prefix(text: &str, min: u64, max: u64) -> Option<(u64, &str)> {
    strtoul_prefix(text).filter(|(v, _)| (min..=max).contains(v))
}

/// libxtables `xtopt_parse_int` (`XTTYPE_UINT8/16/32/64`): a whole
/// base-0 number in `min..=max`.
pub fn parse_xt_uint(text: &str, ext: &str, opt: &str, min: u64, max: u64) -> Result<u64> {
    strtoul_prefix(text)
        .filter(|(v, rest)| rest.is_empty() && (min..=max).contains(v))
        .map(|(v, _)| v)
        .ok_or_else(|| {
            Error::param(format!(
                "{ext}: bad value for option \"--{opt}\", or out of range ({min}-{max}).\n"
            ))
        })
}

/// libxtables `xtopt_parse_mint` (`XTTYPE_UINT*RC` without a
/// destination size): `N` or `N:M`, each 0..=`max` in base 0; an empty
/// first part is 0 and an empty second part is `max`. Returns the one or
/// two values given.
pub fn parse_uint_rc(text: &str, ext: &str, opt: &str, max: u64) -> Result<Vec<u64>> {
    let mut vals = Vec::with_capacity(2);
    let mut arg = text;
    loop {
        if vals.len() == 2 {
            return Err(Error::param(format!(
                "{ext}: Too many components for option \"--{opt}\" (max: 2)\n"
            )));
        }
        let (value, end) = if arg.is_empty() || arg.starts_with(':') {
            (if vals.len() == 1 { max } else { 0 }, arg)
        } else {
            let (v, end) = strtoul_prefix(arg).filter(|(v, _)| *v <= max).ok_or_else(|| {
                Error::param(format!(
                    "{ext}: bad value for option \"--{opt}\" near \"{arg}\", or out of range (0-{max}).\n"
                ))
            })?;
            if !end.is_empty() && !end.starts_with(':') {
                return Err(Error::param(format!(
                    "{ext}: Argument to \"--{opt}\" has unexpected characters near \"{end}\".\n"
                )));
            }
            (v, end)
        };
        vals.push(value);
        match end.strip_prefix(':') {
            Some(rest) => arg = rest,
            None => return Ok(vals),
        }
    }
}

/// libxtables `xtables_parse_mark_mask` (`XTTYPE_MARKMASK32`):
/// `VALUE[/MASK]`, 32-bit numbers in base 0; the mask defaults to all
/// ones. `ext` and `opt` name the extension and option in the messages.
pub fn parse_mark_mask(text: &str, ext: &str, opt: &str) -> Result<(u32, u32)> {
    let bad = || {
        Error::param(format!(
            "{ext}: bad integer value for option \"--{opt}\", or out of range.\n"
        ))
    };
    let (val, rest) = strtoui_prefix(text, 0, u32::MAX as u64).ok_or_else(bad)?;
    if rest.is_empty() {
        return Ok((val as u32, u32::MAX));
    }
    let Some(after) = rest.strip_prefix('/') else {
        return Err(Error::param(format!(
            "{ext}: trailing garbage after value for option \"--{opt}\".\n"
        )));
    };
    let (mask, rest) = strtoui_prefix(after, 0, u32::MAX as u64).ok_or_else(bad)?;
    if !rest.is_empty() {
        return Err(Error::param(format!(
            "{ext}: trailing garbage after value for option \"--{opt}\".\n"
        )));
    }
    Ok((val as u32, mask as u32))
}

/// libxtables `xtables_print_mark_mask`, with its leading space:
/// ` 0xVAL` for a full mask, else ` 0xVAL/0xMASK`.
pub fn mark_mask_text(val: u32, mask: u32) -> String {
    if mask == u32::MAX {
        format!(" {val:#x}")
    } else {
        format!(" {val:#x}/{mask:#x}")
    }
}

/// libxtables (xtoptions.c) `xtables_getportbyname`, used by the
/// `XTTYPE_PORT`/`XTTYPE_PORTRC` option types: glibc's `getaddrinfo`
/// service lookup. A decimal number (strtoul base 10, so blanks and `+`
/// are allowed) is kept modulo 2^16 unless it reads as a negative `int`;
/// anything else is a service name, tried as tcp, udp, dccp, udplite,
/// sctp in turn (glibc `gaih_inet_typeproto` order).
pub fn getportbyname(text: &str) -> Option<u16> {
    if let Some(n) = crate::num::strtoul_base(text, 10) {
        // glibc stores strtoul's result in an int; negative means "a name".
        let n = n as i32;
        if n >= 0 {
            return Some(n as u16);
        }
    }
    ["tcp", "udp", "dccp", "udplite", "sctp"]
        .iter()
        .find_map(|proto| netdb::service_port(text, proto))
}

/// libxtables `xtopt_parse_mport` (`XTTYPE_PORTRC`): `PORT`, `LO:HI`,
/// `LO:` or `:HI`, unchecked for order. `ext` and `opt` name the
/// extension and the option's canonical name for the error messages.
pub fn parse_port_rc(text: &str, ext: &str, opt: &str) -> Result<(u16, u16)> {
    let mut range = [0u16, 65535];
    let mut n = 0;
    for part in text.split(':') {
        if n == 2 {
            return Err(Error::param(format!(
                "{ext}: Too many components for option \"--{opt}\" (max: 2)\n"
            )));
        }
        if !part.is_empty() {
            let port = getportbyname(part).ok_or_else(|| {
                Error::param(format!("Port \"{part}\" does not resolve to anything.\n"))
            })?;
            range[n] = port;
        }
        n += 1;
    }
    if n == 1 {
        range[1] = range[0];
    }
    Ok((range[0], range[1]))
}

/// A port for `-L`: its service name unless numeric (xtables `print_port`).
pub fn port_name(port: u16, proto: &str, numeric: bool) -> String {
    if !numeric {
        if let Some(name) = netdb::service_name(port, proto) {
            return name.to_string();
        }
    }
    port.to_string()
}

/// Appends ` ! ` style inversion for save output: `" !"` when inverted.
pub fn save_invert(out: &mut String, invert: bool) {
    if invert {
        out.push_str(" !");
    }
}

/// Writes a string the way xtables `xtables_save_string` does (without
/// its leading space): bare when it is non-empty and only `_-`, digits
/// and ASCII letters, else in double quotes with `"`, `\` and `'`
/// escaped by a backslash.
pub fn save_string(out: &mut String, s: &str) {
    let safe = |c: char| c == '_' || c == '-' || c.is_ascii_alphanumeric();
    if !s.is_empty() && s.chars().all(safe) {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// `xtables_strtoui` in a range, with an iptables-style error message.
pub fn parse_uint(text: &str, min: u64, max: u64, what: &str) -> Result<u64> {
    strtoul_range(text, min, max).ok_or_else(|| {
        Error::param(format!(
            "{what}: bad value \"{text}\" (must be between {min} and {max})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges() {
        assert_eq!(parse_port_range("1024:", "tcp").unwrap(), (1024, 65535));
        assert_eq!(parse_port_range(":80", "tcp").unwrap(), (0, 80));
        assert_eq!(parse_port_range("80", "tcp").unwrap(), (80, 80));
        assert!(parse_port_range("80:70", "tcp").is_err());
        assert!(parse_port_range("65536", "tcp").is_err());
        assert!(parse_port_range("-1", "tcp").is_err());
        assert!(parse_port("-0", "tcp").is_err());
    }

    #[test]
    fn prefix_numbers() {
        assert_eq!(strtoul_prefix("8/0"), Some((8, "/0")));
        assert_eq!(strtoul_prefix(" 0x1fz"), Some((31, "z")));
        assert_eq!(strtoul_prefix("0x"), Some((0, "x")));
        assert_eq!(strtoul_prefix("08"), Some((0, "8")));
        assert_eq!(strtoul_prefix("-1"), None);
        assert_eq!(strtoul_prefix("x"), None);
        assert_eq!(strtoul_prefix("99999999999999999999999"), None);
        assert_eq!(strtoui_prefix("256", 0, 255), None);
    }

    #[test]
    fn xt_uints() {
        let p = |t| parse_xt_uint(t, "ttl", "ttl-eq", 0, 255);
        assert_eq!(p("0x10").unwrap(), 16);
        assert_eq!(p(" +7").unwrap(), 7);
        assert!(p("256").is_err());
        assert!(p("-0").is_err());
        assert_eq!(
            p("1x").unwrap_err().to_string(),
            "ttl: bad value for option \"--ttl-eq\", or out of range (0-255).\n"
        );
    }

    #[test]
    fn uint_ranges() {
        let p = |t| parse_uint_rc(t, "length", "length", 65535);
        assert_eq!(p("1").unwrap(), vec![1]);
        assert_eq!(p(":2").unwrap(), vec![0, 2]);
        assert_eq!(p("4:").unwrap(), vec![4, 65535]);
        assert_eq!(p("").unwrap(), vec![0]);
        assert_eq!(p("0x10:010").unwrap(), vec![16, 8]);
        assert!(p("1:2:3").unwrap_err().to_string().contains("Too many"));
        assert!(p("::").unwrap_err().to_string().contains("Too many"));
        assert!(p("-1:65535").unwrap_err().to_string().contains("near \"-1:65535\""));
        assert!(p("0:65536").unwrap_err().to_string().contains("(0-65535)"));
        assert!(p("1x").unwrap_err().to_string().contains("near \"x\""));
    }

    #[test]
    fn mark_masks() {
        let p = |t| parse_mark_mask(t, "mark", "mark");
        assert_eq!(p("0xff/0xf").unwrap(), (0xff, 0xf));
        assert_eq!(p(" +7/ 010").unwrap(), (7, 8));
        assert_eq!(p("4294967295").unwrap(), (u32::MAX, u32::MAX));
        assert!(p("4294967296").is_err());
        assert!(p("-1").is_err());
        assert!(p("1/").is_err());
        assert!(p("1x").unwrap_err().to_string().contains("trailing garbage"));
        assert!(p("1/2x").unwrap_err().to_string().contains("trailing garbage"));
        assert_eq!(mark_mask_text(0, u32::MAX), " 0x0");
        assert_eq!(mark_mask_text(5, 0), " 0x5/0x0");
    }

    #[test]
    fn getaddrinfo_ports() {
        assert_eq!(getportbyname("+5"), Some(5));
        assert_eq!(getportbyname("010"), Some(10));
        assert_eq!(getportbyname("65537"), Some(1));
        assert_eq!(getportbyname("4294967296"), Some(0));
        assert_eq!(getportbyname("4294967295"), None);
        assert_eq!(getportbyname("-1"), None);
        assert_eq!(getportbyname("0x10"), None);
        assert_eq!(parse_port_rc("", "udp", "sport").unwrap(), (0, 0));
        assert_eq!(parse_port_rc("2:", "udp", "sport").unwrap(), (2, 65535));
        assert_eq!(parse_port_rc(":2", "udp", "sport").unwrap(), (0, 2));
        assert_eq!(parse_port_rc("5:3", "udp", "sport").unwrap(), (5, 3));
        assert!(parse_port_rc("1:2:3", "udp", "sport").is_err());
    }

    #[test]
    fn quoting() {
        let mut s = String::new();
        save_string(&mut s, r#"a "b" \c'"#);
        assert_eq!(s, r#""a \"b\" \\c\'""#);
        let mut s = String::new();
        save_string(&mut s, "abc_-09");
        assert_eq!(s, "abc_-09");
        let mut s = String::new();
        save_string(&mut s, "");
        assert_eq!(s, "\"\"");
    }
}
