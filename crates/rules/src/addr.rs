//! IPv4 addresses and masks as iptables parses and prints them
//! (libxtables/xtables.c `xtables_ipparse_multiple`, `__numeric_to_ipaddr`,
//! `parse_ipmask`; iptables/xshared.c `save_ipv4_addr`, `ipv4_addr_to_string`).

use std::net::Ipv4Addr;

use crate::error::{Error, Result};
use crate::netdb;
use crate::num::{push_decimal, strtoul_range};

/// An address with its mask, the address already masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ipv4Net {
    pub addr: u32,
    pub mask: u32,
}

impl Ipv4Net {
    pub const ANY: Ipv4Net = Ipv4Net { addr: 0, mask: 0 };

    pub fn new(addr: u32, mask: u32) -> Self {
        Ipv4Net {
            addr: addr & mask,
            mask,
        }
    }

    pub fn is_any(&self) -> bool {
        self.addr == 0 && self.mask == 0
    }

    pub fn contains(&self, ip: u32) -> bool {
        ip & self.mask == self.addr
    }

    /// The prefix length when the mask is contiguous.
    pub fn prefix_len(&self) -> Option<u32> {
        mask_prefix_len(self.mask)
    }

    /// `-s` in iptables-save: `A.B.C.D/LEN` or `A.B.C.D/M.M.M.M`.
    pub fn save_text(&self) -> String {
        let mut s = String::with_capacity(18);
        self.write_save(&mut s);
        s
    }

    /// Appends [`Ipv4Net::save_text`] to `out`.
    pub fn write_save(&self, out: &mut String) {
        push_dotted(out, self.addr);
        out.push('/');
        match self.prefix_len() {
            Some(len) => push_decimal(out, len.into()),
            None => push_dotted(out, self.mask),
        }
    }

    /// The listing form: `anywhere` (names only), the address (or its
    /// `/etc/hosts` name), then the mask as `xtables_ipmask_to_numeric`
    /// prints it: nothing for /32, `/LEN` or `/M.M.M.M`.
    pub fn list_text(&self, numeric: bool) -> String {
        if self.mask == 0 && !numeric {
            return "anywhere".to_string();
        }
        let ip = Ipv4Addr::from(self.addr);
        let mut s = if numeric {
            ip.to_string()
        } else {
            addr_to_anyname(ip)
        };
        s.push_str(&mask_suffix(self.mask));
        s
    }
}

/// Appends the dotted-quad form of `addr`.
pub fn push_dotted(out: &mut String, addr: u32) {
    for (i, byte) in addr.to_be_bytes().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_decimal(out, byte.into());
    }
}

/// `xtables_ipaddr_to_anyname`: a host name, else the dotted address.
pub fn addr_to_anyname(ip: Ipv4Addr) -> String {
    // palisade resolves from the files only; with no DNS reachable,
    // getnameinfo fails and iptables falls back to /etc/networks too.
    netdb::host_name(ip)
        .or_else(|| netdb::network_name(ip))
        .map(str::to_string)
        .unwrap_or_else(|| ip.to_string())
}

/// `xtables_ipmask_to_numeric`.
pub fn mask_suffix(mask: u32) -> String {
    match mask_prefix_len(mask) {
        Some(32) => String::new(),
        Some(len) => format!("/{len}"),
        None => format!("/{}", Ipv4Addr::from(mask)),
    }
}

pub fn mask_prefix_len(mask: u32) -> Option<u32> {
    let len = mask.leading_ones();
    (mask.checked_shl(len).unwrap_or(0) == 0).then_some(len)
}

pub fn prefix_mask(len: u32) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

/// `__numeric_to_ipaddr`: up to four dot-separated numbers (each in C's
/// base-0 notation); fewer than four is a network address padded with
/// zeros, except for masks, which need all four.
pub fn parse_numeric_addr(text: &str, is_mask: bool) -> Option<u32> {
    // iptables copies the text into a 20-byte buffer first.
    // A cut inside a multi-byte character cannot parse as digits anyway.
    let text = if text.len() > 19 {
        text.get(..19)?
    } else {
        text
    };
    let mut bytes = [0u8; 4];
    let mut rest = text;
    for (i, byte) in bytes.iter_mut().enumerate() {
        if i == 3 {
            *byte = strtoul_range(rest, 0, 255)? as u8;
            break;
        }
        match rest.bytes().position(|b| b == b'.') {
            Some(dot) => {
                *byte = strtoul_range(&rest[..dot], 0, 255)? as u8;
                rest = &rest[dot + 1..];
            }
            None => {
                if is_mask {
                    return None;
                }
                *byte = strtoul_range(rest, 0, 255)? as u8;
                return Some(u32::from_be_bytes(bytes));
            }
        }
    }
    Some(u32::from_be_bytes(bytes))
}

/// `parse_ipmask`: dotted mask or prefix length; absent means /32.
pub fn parse_mask(text: Option<&str>) -> Result<u32> {
    let Some(text) = text else {
        return Ok(u32::MAX);
    };
    if let Some(mask) = parse_numeric_addr(text, true) {
        return Ok(mask);
    }
    match strtoul_range(text, 0, 32) {
        Some(len) => Ok(prefix_mask(len as u32)),
        None => Err(Error::param(format!("invalid mask `{text}' specified"))),
    }
}

/// Resolves one host part, a numeric address or an `/etc/hosts` name,
/// into `out` with `mask`.
fn parse_host(text: &str, mask: u32, out: &mut Vec<Ipv4Net>) -> Result<()> {
    if let Some(a) = parse_numeric_addr(text, false) {
        out.push(Ipv4Net::new(a, mask));
        return Ok(());
    }
    match netdb::host_addresses(text) {
        Some(list) if !list.is_empty() => {
            out.extend(list.iter().map(|a| Ipv4Net::new(u32::from(*a), mask)));
            Ok(())
        }
        _ => Err(Error::param(format!("host/network `{text}' not found"))),
    }
}

/// `xtables_ipparse_multiple`: a comma-separated list of `HOST[/MASK]`.
pub fn parse_multiple(spec: &str) -> Result<Vec<Ipv4Net>> {
    let mut out = Vec::new();
    for item in spec.split(',') {
        // Blanks before an item are skipped; the item goes into a 256-byte
        // buffer.
        let item = item.trim_start_matches(crate::num::C_SPACE);
        if item.len() > 255 {
            return Err(Error::param("Hostname too long"));
        }
        let (host, mask) = match item.rfind('/') {
            Some(slash) => (&item[..slash], Some(&item[slash + 1..])),
            None => (item, None),
        };
        let mask = parse_mask(mask)?;
        // A zero mask makes the address "any", whatever name was given.
        if mask == 0 {
            out.push(Ipv4Net::new(0, mask));
        } else {
            parse_host(host, mask, &mut out)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_canonical_form() {
        let n = parse_multiple("10.11.12.13/255.0.255.0").unwrap();
        assert_eq!(n[0].save_text(), "10.0.12.0/255.0.255.0");
        assert_eq!(
            parse_multiple("1.2.3.4").unwrap()[0].save_text(),
            "1.2.3.4/32"
        );
        assert_eq!(parse_multiple("10/8").unwrap()[0].save_text(), "10.0.0.0/8");
        assert_eq!(parse_multiple("1.2.3.4/0").unwrap()[0], Ipv4Net::ANY);
        assert_eq!(parse_multiple("1.2.3.4,5.6.7.8/24").unwrap().len(), 2);
        assert!(parse_multiple("1.2.3.4/33").is_err());
        assert!(parse_multiple("1.2.3.256").is_err());
        assert!(parse_multiple("no-such-host.invalid").is_err());
        // xtables_ipparse_multiple: blanks before an item are skipped, a
        // zero mask ignores the name, an item is at most 255 bytes.
        assert_eq!(
            parse_multiple("1.2.3.4,  foo.invalid").unwrap_err(),
            Error::param("host/network `foo.invalid' not found")
        );
        assert_eq!(parse_multiple("foo bar.invalid/0").unwrap(), [Ipv4Net::ANY]);
        assert_eq!(
            parse_multiple(&"a".repeat(256)).unwrap_err(),
            Error::param("Hostname too long")
        );
        assert!(parse_multiple(&"a".repeat(255)).is_err());
    }

    #[test]
    fn long_non_ascii_text_is_refused_not_a_panic() {
        assert!(parse_multiple("1.1.1.1x\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}").is_err());
        assert_eq!(
            parse_numeric_addr("1.1.1.1xxxxxxxxxx\u{e4}\u{e4}", false),
            None
        );
    }

    #[test]
    fn list_forms() {
        let n = parse_multiple("1.2.3.4").unwrap()[0];
        assert_eq!(n.list_text(true), "1.2.3.4");
        assert_eq!(Ipv4Net::ANY.list_text(true), "0.0.0.0/0");
        assert_eq!(Ipv4Net::ANY.list_text(false), "anywhere");
        let n = parse_multiple("10.0.0.0/255.0.255.0").unwrap()[0];
        assert_eq!(n.list_text(true), "10.0.0.0/255.0.255.0");
    }
}
