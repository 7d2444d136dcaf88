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
    if let Some(p) = strtoul_range(text, 0, 65535) {
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
/// its leading space): bare when it is non-empty and made only of
/// `[A-Za-z0-9_-]`, otherwise in double quotes with `"`, `\` and `'`
/// escaped by a backslash (libxtables/xtables.c).
pub fn save_string(out: &mut String, s: &str) {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
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
    }

    #[test]
    fn quoting() {
        let mut s = String::new();
        save_string(&mut s, r#"a "b" \c'"#);
        assert_eq!(s, r#""a \"b\" \\c\'""#);
        let mut s = String::new();
        save_string(&mut s, "DROP_in-1");
        assert_eq!(s, "DROP_in-1");
        let mut s = String::new();
        save_string(&mut s, "");
        assert_eq!(s, r#""""#);
    }
}
