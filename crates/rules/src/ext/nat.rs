//! The NAT range shared by SNAT, DNAT, MASQUERADE and REDIRECT, parsed and
//! printed as extensions/libxt_NAT.c does (`parse_to`, `parse_ports`,
//! `sprint_range`, `__NAT_print`). Not an extension itself.

use std::net::Ipv4Addr;

use super::util::strtoui_prefix;
use crate::error::{Error, Result};
use crate::netdb;

/// A `struct nf_nat_range2` as iptables fills it for IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NatRange {
    /// `NF_NAT_RANGE_MAP_IPS`: the address range (first, last).
    pub addrs: Option<(Ipv4Addr, Ipv4Addr)>,
    /// `NF_NAT_RANGE_PROTO_SPECIFIED`: the port range (first, last).
    pub ports: Option<(u16, u16)>,
    /// `NF_NAT_RANGE_PROTO_OFFSET`: the base port of a shifted port map.
    /// Targets using the old IPv4 struct (SNAT, MASQUERADE) keep the flag
    /// but not the value, so it is 0 for them.
    pub base: Option<u16>,
    /// `NF_NAT_RANGE_PROTO_RANDOM`.
    pub random: bool,
    /// `NF_NAT_RANGE_PROTO_RANDOM_FULLY`.
    pub random_fully: bool,
    /// `NF_NAT_RANGE_PERSISTENT`.
    pub persistent: bool,
}

impl NatRange {
    /// The flag options the NAT targets share (`--random`,
    /// `--random-fully`, `--persistent`; libxt_NAT.c `NAT_parse` and
    /// friends), by option name.
    pub fn set_flag(&mut self, opt: &str) {
        match opt {
            "random" => self.random = true,
            "random-fully" => self.random_fully = true,
            "persistent" => self.persistent = true,
            _ => {}
        }
    }

    /// `--to-ports PORTS` of MASQUERADE and REDIRECT (libxt_NAT.c
    /// `parse_ports`), in a rule of protocol `proto`.
    pub fn parse_to_ports(&mut self, text: &str, proto: u8) -> Result<()> {
        let (ports, base) = parse_ports(text, ports_allowed(proto))?;
        self.ports = Some(ports);
        self.base = base;
        Ok(())
    }

    /// For targets on the IPv4 compat struct
    /// (`nf_nat_ipv4_multi_range_compat`), which has no room for a
    /// shifted port map's base: the flag stays, the value is 0.
    pub fn compat_base(&mut self) {
        self.base = self.base.map(|_| 0);
    }
}

/// libxt_NAT.c `__NAT_parse`: the protocols a port may be given for
/// (ICMP too, whatever the message says). `-p` counts even inverted.
pub fn ports_allowed(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 132 | 33 | 1)
}

fn need_proto() -> Error {
    Error::param("Need TCP, UDP, SCTP or DCCP with port specification")
}

/// `xtables_service_to_port(name, NULL)`: getservbyname for any protocol
/// (approximated by trying the usual ones in turn).
fn service_any(name: &str) -> Option<u16> {
    ["tcp", "udp", "sctp", "dccp"]
        .iter()
        .find_map(|p| netdb::service_port(name, p))
}

fn port_not_valid(text: &str) -> Error {
    Error::param(format!("Port `{text}' not valid"))
}

/// libxt_NAT.c `parse_ports`: `PORT`, `PORT-PORT` or `PORT-PORT/BASE`
/// (service names only for the first port and the base). Returns the
/// range and the base port if one was given.
pub fn parse_ports(text: &str, portok: bool) -> Result<((u16, u16), Option<u16>)> {
    if !portok {
        return Err(need_proto());
    }
    let (port, end) = match strtoui_prefix(text, 0, 65535) {
        Some((p, end)) => (p as u16, end),
        None => (service_any(text).ok_or_else(|| port_not_valid(text))?, ""),
    };
    let rest = match end.chars().next() {
        None => return Ok(((port, port), None)),
        Some('-') => &end[1..],
        Some(':') => return Err(Error::param("Invalid port:port syntax - use dash")),
        Some(_) => return Err(Error::param(format!("Garbage after port value: `{end}'"))),
    };
    let (maxport, end) = strtoui_prefix(rest, 0, 65535).ok_or_else(|| port_not_valid(rest))?;
    let maxport = maxport as u16;
    if maxport < port {
        return Err(Error::param(format!("Port range `{rest}' funky")));
    }
    let base_text = match end.chars().next() {
        None => return Ok(((port, maxport), None)),
        Some('/') => &end[1..],
        Some(_) => return Err(Error::param(format!("Garbage after port range: `{end}'"))),
    };
    // Anything after the base number is ignored, as iptables does.
    let base = match strtoui_prefix(base_text, 1, 65535) {
        Some((b, _)) => b as u16,
        None => service_any(base_text).ok_or_else(|| port_not_valid(base_text))?,
    };
    Ok(((port, maxport), Some(base)))
}

/// `inet_pton(AF_INET, …)`: exactly four decimal bytes, no leading zeros.
fn inet_pton(text: &str) -> Result<Ipv4Addr> {
    text.parse::<Ipv4Addr>()
        .map_err(|_| Error::param(format!("Bad IP address \"{text}\"")))
}

/// libxt_NAT.c `parse_to` for IPv4: `[ADDR[-ADDR]][:PORTS]` into `range`.
pub fn parse_to(text: &str, portok: bool, range: &mut NatRange) -> Result<()> {
    if text.contains('[') {
        return Err(Error::param("Invalid address format"));
    }
    // One colon separates the ports; more than one means an IPv6
    // address, which inet_pton then refuses.
    let colon = text.find(':').filter(|&i| !text[i + 1..].contains(':'));
    let mut start = text;
    if let Some(i) = colon {
        let (ports, base) = parse_ports(&text[i + 1..], portok)?;
        (range.ports, range.base) = (Some(ports), base);
        // libxt_NAT.c takes a colon at offset 0 or 2 (meant for "[]:")
        // as "no address".
        if i == 0 || i == 2 {
            return Ok(());
        }
        start = &text[..i];
    }
    let (first, last) = match start.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (start, None),
    };
    let min = inet_pton(first)?;
    let max = match last {
        Some(b) => inet_pton(b)?,
        None => min,
    };
    range.addrs = Some((min, max));
    Ok(())
}

/// `sprint_range` for IPv4.
fn range_text(r: &NatRange) -> String {
    let mut s = String::new();
    if let Some((min, max)) = r.addrs {
        s.push_str(&min.to_string());
        if min != max {
            s.push_str(&format!("-{max}"));
        }
    }
    if let Some((min, max)) = r.ports {
        s.push_str(&format!(":{min}"));
        if max != min {
            s.push_str(&format!("-{max}"));
        }
        if let Some(base) = r.base {
            s.push_str(&format!("/{base}"));
        }
    }
    s
}

/// `__NAT_print`: the range after `rangeopt` (its leading colon dropped
/// when `skip_colon`), then the flags, each prefixed by `flag_pfx`.
pub fn print_range(
    out: &mut String,
    r: &NatRange,
    rangeopt: &str,
    flag_pfx: &str,
    skip_colon: bool,
) {
    let text = range_text(r);
    if !text.is_empty() {
        let text = match text.strip_prefix(':') {
            Some(rest) if skip_colon => rest,
            _ => &text,
        };
        out.push(' ');
        out.push_str(rangeopt);
        out.push_str(text);
    }
    for (set, word) in [
        (r.random, "random"),
        (r.random_fully, "random-fully"),
        (r.persistent, "persistent"),
    ] {
        if set {
            out.push(' ');
            out.push_str(flag_pfx);
            out.push_str(word);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: Result<impl std::fmt::Debug>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn strtoui_like_c() {
        assert_eq!(strtoui_prefix("80", 0, 65535), Some((80, "")));
        assert_eq!(strtoui_prefix(" +80x", 0, 65535), Some((80, "x")));
        assert_eq!(strtoui_prefix("0x50", 0, 65535), Some((80, "")));
        assert_eq!(strtoui_prefix("0x", 0, 65535), Some((0, "x")));
        assert_eq!(strtoui_prefix("080", 0, 65535), Some((0, "80")));
        assert_eq!(strtoui_prefix("-5", 0, 65535), None);
        assert_eq!(strtoui_prefix("65536", 0, 65535), None);
        assert_eq!(strtoui_prefix("", 0, 65535), None);
        assert_eq!(strtoui_prefix("99999999999999999999999", 0, 65535), None);
    }

    #[test]
    fn ports() {
        assert_eq!(parse_ports("80", true).unwrap(), ((80, 80), None));
        assert_eq!(
            parse_ports("80-90/100", true).unwrap(),
            ((80, 90), Some(100))
        );
        assert_eq!(parse_ports("80-90/1x", true).unwrap(), ((80, 90), Some(1)));
        assert_eq!(parse_ports("ssh", true).unwrap(), ((22, 22), None));
        assert_eq!(
            parse_ports("10-20/ftp", true).unwrap(),
            ((10, 20), Some(21))
        );
        assert_eq!(
            err(parse_ports("80", false)),
            "Need TCP, UDP, SCTP or DCCP with port specification"
        );
        assert_eq!(
            err(parse_ports("80x", true)),
            "Garbage after port value: `x'"
        );
        assert_eq!(
            err(parse_ports("080", true)),
            "Garbage after port value: `80'"
        );
        assert_eq!(
            err(parse_ports("10:20", true)),
            "Invalid port:port syntax - use dash"
        );
        assert_eq!(err(parse_ports("90-80", true)), "Port range `80' funky");
        assert_eq!(err(parse_ports("80-ssh", true)), "Port `ssh' not valid");
        assert_eq!(
            err(parse_ports("80-90x", true)),
            "Garbage after port range: `x'"
        );
        assert_eq!(err(parse_ports("80-90/0", true)), "Port `0' not valid");
        assert_eq!(err(parse_ports("", true)), "Port `' not valid");
        assert_eq!(err(parse_ports("-1", true)), "Port `-1' not valid");
        assert_eq!(err(parse_ports("65536", true)), "Port `65536' not valid");
        assert_eq!(
            err(parse_ports("ftp-ssh", true)),
            "Port `ftp-ssh' not valid"
        );
    }

    #[test]
    fn to_forms() {
        let mut r = NatRange::default();
        parse_to("1.2.3.4-1.2.3.9:80-90/100", true, &mut r).unwrap();
        let a = Ipv4Addr::new(1, 2, 3, 4);
        let b = Ipv4Addr::new(1, 2, 3, 9);
        assert_eq!(r.addrs, Some((a, b)));
        assert_eq!(r.ports, Some((80, 90)));
        assert_eq!(r.base, Some(100));
        let mut out = String::new();
        print_range(&mut out, &r, "--to-destination ", "--", false);
        assert_eq!(out, " --to-destination 1.2.3.4-1.2.3.9:80-90/100");

        let mut r = NatRange::default();
        parse_to(":80", true, &mut r).unwrap();
        assert_eq!((r.addrs, r.ports), (None, Some((80, 80))));
        let mut out = String::new();
        print_range(&mut out, &r, "redir ports ", "", true);
        assert_eq!(out, " redir ports 80");

        let mut r = NatRange::default();
        assert_eq!(
            err(parse_to("1.2.3.4:80:90", true, &mut r)),
            "Bad IP address \"1.2.3.4:80:90\""
        );
        assert_eq!(
            err(parse_to("1.2.3", true, &mut r)),
            "Bad IP address \"1.2.3\""
        );
        assert_eq!(
            err(parse_to("01.2.3.4", true, &mut r)),
            "Bad IP address \"01.2.3.4\""
        );
        assert_eq!(
            err(parse_to("1.2.3.4-", true, &mut r)),
            "Bad IP address \"\""
        );
        assert_eq!(err(parse_to("", true, &mut r)), "Bad IP address \"\"");
        assert_eq!(
            err(parse_to("[1.2.3.4]", true, &mut r)),
            "Invalid address format"
        );
        assert_eq!(
            err(parse_to("1.2.3.4-1.2.3.5-1.2.3.6", true, &mut r)),
            "Bad IP address \"1.2.3.5-1.2.3.6\""
        );
        assert_eq!(
            err(parse_to("1.2.3.4:80", false, &mut r)),
            "Need TCP, UDP, SCTP or DCCP with port specification"
        );
    }

    #[test]
    fn flags_print_in_order() {
        let r = NatRange {
            persistent: true,
            random_fully: true,
            random: true,
            ..NatRange::default()
        };
        let mut out = String::new();
        print_range(&mut out, &r, "to:", "", false);
        assert_eq!(out, " random random-fully persistent");
    }
}
