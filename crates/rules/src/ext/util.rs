//! Parsing and printing helpers shared by extensions (libxtables'
//! `xtables_parse_port`, `xtables_strtoui`, service-name printing).

use std::any::Any;
use std::fmt::Debug;
use std::marker::PhantomData;

use super::{must_be_specified, Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};
use crate::netdb;
use crate::num::{strtoul_range, C_SPACE};

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
    let t = text.trim_start_matches(C_SPACE);
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

/// What tells the mark and connmark matches apart; everything else they
/// share (libxt_mark.c and libxt_connmark.c revision 1 differ only in
/// the name and the `-L` text).
pub trait MarkKind: Debug + Clone + Default + PartialEq + Eq + Send + Sync + 'static {
    /// The match's name (`-m NAME`).
    const NAME: &'static str;
    /// The `-L` text before the value.
    fn print_head(out: &mut String, invert: bool);
}

/// `-m mark|connmark [!] --mark VALUE[/MASK]`: matches when the mark
/// ANDed with `mask` equals `mark`, xor `invert`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MarkMatch<K> {
    pub mark: u32,
    pub mask: u32,
    pub invert: bool,
    given: bool,
    kind: PhantomData<K>,
}

impl<K: MarkKind> MarkMatch<K> {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Self::default())
    }
}

static MARK_OPTIONS: &[OptDef] = &[OptDef::value("mark").invertible()];

impl<K: MarkKind> Extension for MarkMatch<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn options(&self) -> &'static [OptDef] {
        MARK_OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        (self.mark, self.mask) = parse_mark_mask(call.arg(), K::NAME, "mark")?;
        self.invert = call.invert;
        self.given = true;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if !self.given {
            return Err(must_be_specified(K::NAME, "mark"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        save_invert(out, self.invert);
        out.push_str(" --mark");
        out.push_str(&mark_mask_text(self.mark, self.mask));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        K::print_head(out, self.invert);
        out.push_str(&mark_mask_text(self.mark, self.mask));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The `-L` text of a mark/mask operation (libxt_MARK.c `mark_tg_print`,
/// libxt_CONNMARK.c `connmark_tg_print` for CONNMARK's set mode).
pub fn print_mark_op(out: &mut String, label: &str, mark: u32, mask: u32) {
    if mark == 0 {
        out.push_str(&format!(" {label} and 0x{:x}", !mask));
    } else if mark == mask {
        out.push_str(&format!(" {label} or 0x{mark:x}"));
    } else if mask == 0 {
        out.push_str(&format!(" {label} xor 0x{mark:x}"));
    } else if mask == u32::MAX {
        out.push_str(&format!(" {label} set 0x{mark:x}"));
    } else {
        out.push_str(&format!(" {label} xset 0x{mark:x}/0x{mask:x}"));
    }
}

/// The mark/mask pair each operation option stands for
/// (libxt_MARK.c `mark_tg_parse`, libxt_CONNMARK.c `connmark_tg_parse`).
pub fn parse_mark_op(ext: &str, opt: &str, text: &str) -> Result<(u32, u32)> {
    let word = |t: &str| parse_opt_uint(ext, opt, t, 0, u64::from(u32::MAX)).map(|v| v as u32);
    Ok(match opt {
        "set-xmark" => parse_mark_mask(text, ext, opt)?,
        "set-mark" => {
            let (mark, mask) = parse_mark_mask(text, ext, opt)?;
            (mark, mark | mask)
        }
        "and-mark" => (0, !word(text)?),
        "or-mark" => {
            let v = word(text)?;
            (v, v)
        }
        _ => (word(text)?, 0),
    })
}

/// glibc `atoll`: optional blanks and sign, then decimal digits, the
/// value saturated.
pub fn atoll(s: &str) -> i64 {
    let t = s.trim_start_matches(C_SPACE);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for c in t.chars() {
        let Some(d) = c.to_digit(10) else { break };
        v = v.saturating_mul(10).saturating_add(i64::from(d));
    }
    if neg {
        v.saturating_neg()
    } else {
        v
    }
}

/// C `atoi`: [`atoll`] cut to an `int`.
pub fn atoi(s: &str) -> i32 {
    atoll(s) as i32
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

/// Writes a string the way `xtables_save_string` does (libxtables/xtables.c):
/// bare when it is non-empty and made only of letters, digits, `_` and `-`;
/// otherwise in double quotes with `"`, `\\` and `'` escaped by a backslash.
/// The caller writes the space before it.
pub fn save_string(out: &mut String, s: &str) {
    let bare = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
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

/// An integer option as libxtables' `xtopt_parse_int` reads it, with its
/// error message (libxtables/xtoptions.c).
pub fn parse_opt_uint(ext: &str, opt: &str, text: &str, min: u64, max: u64) -> Result<u64> {
    match strtoul_prefix(text) {
        Some((v, "")) if (min..=max).contains(&v) => Ok(v),
        _ => Err(Error::param(format!(
            "{ext}: bad value for option \"--{opt}\", or out of range ({min}-{max}).\n"
        ))),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary: what strncpy/snprintf into a fixed C buffer keep
/// of an ASCII string.
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// `xtables_strtoui` in a range, with an iptables-style error message.
pub fn parse_uint(text: &str, min: u64, max: u64, what: &str) -> Result<u64> {
    strtoul_range(text, min, max).ok_or_else(|| {
        Error::param(format!(
            "{what}: bad value \"{text}\" (must be between {min} and {max})"
        ))
    })
}

/// C `strtoumax(s, &end, 0)`: the number at the start of `s` (after
/// blanks and a sign) and the text after it; `None` when no digit was read.
/// Overflow saturates at `u64::MAX`; a minus sign wraps like C's.
pub fn strtoul_prefix_wrapping(s: &str) -> Option<(u64, &str)> {
    let t = s.trim_start_matches(C_SPACE);
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, body) = if (t.starts_with("0x") || t.starts_with("0X"))
        && t[2..].starts_with(|c: char| c.is_ascii_hexdigit())
    {
        (16, &t[2..])
    } else if t.starts_with('0') {
        (8, t)
    } else {
        (10, t)
    };
    let len = body
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(body.len());
    if len == 0 {
        return None;
    }
    let mut value: u64 = 0;
    for c in body[..len].chars() {
        let d = u64::from(c.to_digit(radix).unwrap_or(0));
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(d))
            .unwrap_or(u64::MAX);
    }
    let value = if negative {
        value.wrapping_neg()
    } else {
        value
    };
    Some((value, &body[len..]))
}

/// xtables `XTTYPE_UINT8`..`XTTYPE_UINT64` (libxtables/xtoptions.c
/// `xtopt_parse_int`): one whole number in `min..=max`.
pub fn xt_uint(ext: &str, opt: &str, text: &str, min: u64, max: u64) -> Result<u64> {
    strtoul_range(text, min, max).ok_or_else(|| {
        Error::param(format!(
            "{ext}: bad value for option \"--{opt}\", or out of range ({min}-{max}).\n"
        ))
    })
}

/// xtables `XTTYPE_UINT*RC` (libxtables/xtoptions.c `xtopt_parse_mint`):
/// `N`, `N:M`, `N:`, `:M`; a missing first number is 0, a missing second
/// one `max`. Returns the numbers and how many were given (1 or 2).
pub fn xt_uint_range(ext: &str, opt: &str, text: &str, max: u64) -> Result<(u64, u64, usize)> {
    let mut vals = [0u64; 2];
    let mut nvals = 0;
    let mut arg = text;
    loop {
        if nvals == 2 {
            return Err(Error::param(format!(
                "{ext}: Too many components for option \"--{opt}\" (max: 2)\n"
            )));
        }
        let (value, end) = if arg.is_empty() || arg.starts_with(':') {
            (if nvals == 1 { max } else { 0 }, arg)
        } else {
            match strtoul_prefix(arg) {
                Some((v, end)) if v <= max => {
                    if !end.is_empty() && !end.starts_with(':') {
                        return Err(Error::param(format!(
                            "{ext}: Argument to \"--{opt}\" has unexpected characters near \"{end}\".\n"
                        )));
                    }
                    (v, end)
                }
                _ => {
                    return Err(Error::param(format!(
                        "{ext}: bad value for option \"--{opt}\" near \"{arg}\", or out of range (0-{max}).\n"
                    )))
                }
            }
        };
        vals[nvals] = value;
        nvals += 1;
        match end.strip_prefix(':') {
            Some(rest) => arg = rest,
            None => break,
        }
    }
    Ok((vals[0], if nvals >= 2 { vals[1] } else { vals[0] }, nvals))
}

/// glibc `inet_aton` as getaddrinfo uses it for numeric IPv4 hosts: one to
/// four dot-separated numbers in C notation (0x hex, leading-0 octal), the
/// last filling the remaining bytes; nothing may follow.
pub fn inet_aton(text: &str) -> Option<u32> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut value: u32 = 0;
    for (i, part) in parts.iter().enumerate() {
        if !part.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let n = crate::num::strtoul_base(part, 0)?;
        let last = i + 1 == parts.len();
        if !last {
            if n > 0xff {
                return None;
            }
            value |= (n as u32) << (24 - 8 * i);
        } else {
            let room = 32 - 8 * i as u32;
            if room < 32 && n >> room != 0 || n > u64::from(u32::MAX) {
                return None;
            }
            value |= n as u32;
        }
    }
    Some(value)
}

/// xtables `XTTYPE_HOST` (libxtables/xtoptions.c `xtopt_parse_host`): an
/// IPv4 host through getaddrinfo, which must give a single address.
pub fn xt_host(text: &str) -> Result<u32> {
    if let Some(a) = inet_aton(text) {
        return Ok(a);
    }
    match netdb::host_addresses(text) {
        Some([first, rest @ ..]) => {
            if rest.iter().any(|a| a != first) {
                return Err(Error::param(format!(
                    "{text} resolves to more than one address\n"
                )));
            }
            Ok(u32::from(*first))
        }
        _ => Err(Error::param("getaddrinfo: Name or service not known\n")),
    }
}

/// libxtables `xtables_ipmask_to_cidr`: the prefix length of a contiguous
/// mask, else -1 (which xtables then stores in a `uint8_t` as 255).
pub fn mask_to_cidr(mask: u32) -> u8 {
    crate::addr::mask_prefix_len(mask).map_or(255, |l| l as u8)
}

/// xtables `XTTYPE_PLEN` (libxtables/xtoptions.c `xtopt_parse_plen`): a
/// prefix length 0-32 or a numeric mask (whose length, 255 when it is not
/// contiguous, is taken).
pub fn xt_plen(ext: &str, opt: &str, text: &str) -> Result<u8> {
    if let Some(n) = strtoul_range(text, 0, 32) {
        return Ok(n as u8);
    }
    match inet_aton(text) {
        Some(mask) => Ok(mask_to_cidr(mask)),
        None => Err(Error::param(format!(
            "{ext}: bad value for option \"--{opt}\", neither a valid network mask nor valid CIDR (0-32).\n"
        ))),
    }
}

/// xtables `XTTYPE_PLENMASK` (`xtopt_parse_plenmask`): [`xt_plen`] as a
/// mask; a length past 32 leaves all ones.
pub fn xt_plenmask(ext: &str, opt: &str, text: &str) -> Result<(u8, u32)> {
    let len = xt_plen(ext, opt, text)?;
    let mask = if len <= 32 {
        crate::addr::prefix_mask(u32::from(len))
    } else {
        u32::MAX
    };
    Ok((len, mask))
}

/// One entry of an xtables option table as the final check sees it
/// (`struct xt_option_entry`): its id, name, and the ids (as bit masks)
/// it needs (`also`) or excludes (`excl`).
pub struct XtOpt {
    pub id: u32,
    pub name: &'static str,
    pub also: u32,
    pub excl: u32,
}

/// The id of option `name` in an option table.
pub fn xt_id(table: &[XtOpt], name: &str) -> u32 {
    table.iter().find(|o| o.name == name).map_or(0, |o| o.id)
}

impl XtOpt {
    /// An option that needs and excludes nothing.
    pub const fn new(id: u32, name: &'static str) -> XtOpt {
        XtOpt {
            id,
            name,
            also: 0,
            excl: 0,
        }
    }

    /// The same, excluding the options whose ids are the bits of `ids`.
    pub const fn excl(mut self, ids: u32) -> XtOpt {
        self.excl = ids;
        self
    }
}

/// libxtables/xtoptions.c `xtables_options_fcheck` without `XTOPT_MAND`:
/// for each given option in table order, every other id in turn, first
/// "also requires", then "cannot be used together with".
pub fn xt_fcheck(ext: &str, table: &[XtOpt], given: u32) -> Result<()> {
    for entry in table {
        if given & (1 << entry.id) == 0 {
            continue;
        }
        for i in 0..32u32 {
            if i == entry.id {
                continue;
            }
            let Some(other) = table.iter().find(|o| o.id == i) else {
                continue;
            };
            let of = 1 << i;
            if entry.also & of != 0 && given & of == 0 {
                return Err(Error::param(format!(
                    "{ext}: option \"--{}\" also requires \"--{}\".\n",
                    entry.name, other.name
                )));
            }
            if entry.excl & of != 0 && given & of != 0 {
                return Err(Error::param(format!(
                    "{ext}: option \"--{}\" cannot be used together with \"--{}\".\n",
                    entry.name, other.name
                )));
            }
        }
    }
    Ok(())
}

/// An `XTTYPE_STRING` put into a fixed `char[size]`: at most `size - 1`
/// bytes are kept (libxtables/xtoptions.c `xtopt_parse_string`).
pub fn truncate_c_string(text: &str, size: usize) -> String {
    let mut end = text.len().min(size.saturating_sub(1));
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
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
        let p = |t| parse_opt_uint("ttl", "ttl-eq", t, 0, 255);
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
        assert!(p("-1:65535")
            .unwrap_err()
            .to_string()
            .contains("near \"-1:65535\""));
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
        assert!(p("1x")
            .unwrap_err()
            .to_string()
            .contains("trailing garbage"));
        assert!(p("1/2x")
            .unwrap_err()
            .to_string()
            .contains("trailing garbage"));
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
        save_string(&mut s, "ab_-9");
        assert_eq!(s, "ab_-9");
        let mut s = String::new();
        save_string(&mut s, "");
        assert_eq!(s, r#""""#);
    }

    #[test]
    fn prefix_numbers_more() {
        assert_eq!(strtoul_prefix("0x10/5"), Some((16, "/5")));
        assert_eq!(strtoul_prefix("0x"), Some((0, "x")));
        assert_eq!(strtoul_prefix("08"), Some((0, "8")));
        assert_eq!(strtoul_prefix(" +7"), Some((7, "")));
        assert_eq!(strtoul_prefix("-1"), None);
        assert_eq!(strtoul_prefix("abc"), None);
        assert_eq!(strtoul_prefix("99999999999999999999999"), None);
    }

    #[test]
    fn mark_masks_more() {
        assert_eq!(parse_mark_mask("5", "M", "m").unwrap(), (5, u32::MAX));
        assert_eq!(parse_mark_mask("+5/+6", "M", "m").unwrap(), (5, 6));
        assert!(parse_mark_mask("0x1ffffffff", "M", "m").is_err());
        let e = parse_mark_mask("12abc", "MARK", "set-mark").unwrap_err();
        assert!(e.to_string().contains("trailing garbage"));
        let e = parse_mark_mask("0x10/", "MARK", "set-mark").unwrap_err();
        assert!(e.to_string().contains("bad integer value"));
        assert!(parse_mark_mask("5/-6", "M", "m").is_err());
    }
}
