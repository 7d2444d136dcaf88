//! `-m tcp`: ports, flags, option (extensions/libxt_tcp.c; kernel
//! net/netfilter/xt_tcpudp.c). iptables-nft turns port and flag matches
//! into native expressions, which need `-p tcp` in userspace
//! (iptables/nft.c `add_nft_tcp`); a tcp match with no options or with
//! `--tcp-option` stays an xt match, whose kernel check wants a
//! non-inverted `-p tcp` (x_tables.c `xt_check_match`, `.proto`).

use std::any::Any;

use super::udp::nft_port_roundtrip;
use super::util::{parse_port_range, parse_uint, port_name, save_invert};
use super::{CheckCtx, Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Errno, Error, Result};
use crate::num::push_decimal;

const IPPROTO_TCP: u8 = 6;

/// libxt_tcp.c `tcp_flag_names`, in printing order.
const FLAG_NAMES: &[(&str, u8)] = &[
    ("FIN", 0x01),
    ("SYN", 0x02),
    ("RST", 0x04),
    ("PSH", 0x08),
    ("ACK", 0x10),
    ("URG", 0x20),
    ("ALL", 0x3f),
    ("NONE", 0),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tcp {
    pub sport: (u16, u16),
    pub sport_invert: bool,
    pub dport: (u16, u16),
    pub dport_invert: bool,
    pub flags_mask: u8,
    pub flags_cmp: u8,
    pub flags_invert: bool,
    /// A TCP option kind that must be present (0 = none asked).
    pub option: u8,
    pub option_invert: bool,
    given_flags: bool,
}

impl Default for Tcp {
    fn default() -> Self {
        Tcp {
            sport: (0, 65535),
            sport_invert: false,
            dport: (0, 65535),
            dport_invert: false,
            flags_mask: 0,
            flags_cmp: 0,
            flags_invert: false,
            option: 0,
            option_invert: false,
            given_flags: false,
        }
    }
}

impl Tcp {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Tcp::default())
    }

    fn all_zero(&self) -> bool {
        *self == Tcp::default()
    }

    /// Whether iptables-nft keeps this as an xt match (not native).
    fn is_compat(&self) -> bool {
        self.option != 0 || self.option_invert || self.all_zero()
    }
}

/// libxt_tcp.c `parse_tcp_flag`: comma-separated names, any case.
pub fn parse_flags(text: &str) -> Result<u8> {
    let mut bits = 0;
    for word in text.split(',').filter(|w| !w.is_empty()) {
        match FLAG_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(word))
        {
            Some((_, f)) => bits |= f,
            None => return Err(Error::param(format!("Unknown TCP flag `{word}'"))),
        }
    }
    Ok(bits)
}

/// libxt_tcp.c `print_tcpf`: names joined by commas, `NONE` for 0.
pub fn flags_text(mut flags: u8) -> String {
    let mut out = String::new();
    while flags != 0 {
        let Some((name, bit)) = FLAG_NAMES.iter().find(|(_, b)| flags & b != 0) else {
            break;
        };
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(name);
        flags &= !bit;
    }
    if out.is_empty() {
        out.push_str("NONE");
    }
    out
}

/// `-L` port text (libxt_tcp.c `print_ports`), shared with udp.
pub fn print_ports(
    out: &mut String,
    label: &str,
    range: (u16, u16),
    invert: bool,
    numeric: bool,
    proto: &str,
) {
    if range == (0, 65535) && !invert {
        return;
    }
    let inv = if invert { "!" } else { "" };
    if range.0 == range.1 {
        out.push_str(&format!(
            " {label}:{inv}{}",
            port_name(range.0, proto, numeric)
        ));
    } else {
        out.push_str(&format!(
            " {label}s:{inv}{}:{}",
            port_name(range.0, proto, numeric),
            port_name(range.1, proto, numeric)
        ));
    }
}

/// Save text of a port range (libxt_tcp.c `tcp_save`), shared with udp.
pub fn save_ports(out: &mut String, opt: &str, range: (u16, u16), invert: bool) {
    if range == (0, 65535) {
        return;
    }
    save_invert(out, invert);
    out.push_str(" --");
    out.push_str(opt);
    out.push(' ');
    push_decimal(out, range.0.into());
    if range.0 != range.1 {
        out.push(':');
        push_decimal(out, range.1.into());
    }
}

static OPTIONS: &[OptDef] = &[
    OptDef::value("source-port").invertible().multi(),
    OptDef::value("sport").invertible().multi(),
    OptDef::value("destination-port").invertible().multi(),
    OptDef::value("dport").invertible().multi(),
    OptDef::flag("syn").invertible().multi(),
    OptDef::value("tcp-flags").invertible().multi(),
    OptDef::value("tcp-option").invertible().multi(),
];

impl Extension for Tcp {
    fn name(&self) -> &'static str {
        "tcp"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        match call.name {
            "source-port" | "sport" => {
                if self.sport != (0, 65535) || self.sport_invert {
                    return Err(Error::param("Only one `--source-port' allowed"));
                }
                self.sport = parse_port_range(call.arg(), "tcp")?;
                self.sport_invert = call.invert;
            }
            "destination-port" | "dport" => {
                if self.dport != (0, 65535) || self.dport_invert {
                    return Err(Error::param("Only one `--destination-port' allowed"));
                }
                self.dport = parse_port_range(call.arg(), "tcp")?;
                self.dport_invert = call.invert;
            }
            "syn" | "tcp-flags" => {
                if self.given_flags {
                    return Err(Error::param(
                        "Only one of `--syn' or `--tcp-flags'  allowed",
                    ));
                }
                let (mask, cmp) = if call.name == "syn" {
                    (parse_flags("SYN,RST,ACK,FIN")?, parse_flags("SYN")?)
                } else {
                    let mask = call.arg().to_string();
                    let Some(cmp) = call.next_word() else {
                        return Err(Error::param("--tcp-flags requires two args."));
                    };
                    (parse_flags(&mask)?, parse_flags(&cmp)?)
                };
                self.flags_mask = mask;
                self.flags_cmp = cmp;
                self.flags_invert = call.invert;
                self.given_flags = true;
            }
            "tcp-option" => {
                if self.option != 0 {
                    return Err(Error::param("Only one `--tcp-option' allowed"));
                }
                self.option = parse_uint(call.arg(), 1, 255, "tcp-option")
                    .map_err(|_| Error::param(format!("Bad TCP option \"{}\"", call.arg())))?
                    as u8;
                self.option_invert = call.invert;
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, ctx: &RuleCtx) -> Result<()> {
        if self.is_compat() {
            return Ok(());
        }
        if ctx.proto != IPPROTO_TCP {
            return Err(Error::param("TCP match requires '-p tcp'"));
        }
        // Stored as native expressions, as udp's are (nft.c
        // add_nft_tcpudp): `! --sport 0:22` is read back as `23:65535`.
        (self.sport, self.sport_invert) = nft_port_roundtrip(self.sport, self.sport_invert);
        (self.dport, self.dport_invert) = nft_port_roundtrip(self.dport, self.dport_invert);
        Ok(())
    }

    fn check(&self, ctx: &CheckCtx) -> Result<(), Errno> {
        if self.is_compat() && (ctx.proto != IPPROTO_TCP || ctx.proto_invert) {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        save_ports(out, "sport", self.sport, self.sport_invert);
        save_ports(out, "dport", self.dport, self.dport_invert);
        if self.option != 0 || self.option_invert {
            save_invert(out, self.option_invert);
            out.push_str(&format!(" --tcp-option {}", self.option));
        }
        if self.flags_mask != 0 || self.flags_invert {
            save_invert(out, self.flags_invert);
            out.push_str(" --tcp-flags ");
            out.push_str(&flags_text(self.flags_mask));
            out.push(' ');
            out.push_str(&flags_text(self.flags_cmp));
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" tcp");
        print_ports(out, "spt", self.sport, self.sport_invert, numeric, "tcp");
        print_ports(out, "dpt", self.dport, self.dport_invert, numeric, "tcp");
        if self.option != 0 || self.option_invert {
            let inv = if self.option_invert { "!" } else { "" };
            out.push_str(&format!(" option={inv}{}", self.option));
        }
        if self.flags_mask != 0 || self.flags_invert {
            let inv = if self.flags_invert { "!" } else { "" };
            if numeric {
                out.push_str(&format!(
                    " flags:{inv}0x{:02X}/0x{:02X}",
                    self.flags_mask, self.flags_cmp
                ));
            } else {
                out.push_str(&format!(
                    " flags:{inv}{}/{}",
                    flags_text(self.flags_mask),
                    flags_text(self.flags_cmp)
                ));
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
    fn flags_round_trip() {
        assert_eq!(parse_flags("syn,ACK").unwrap(), 0x12);
        assert_eq!(flags_text(0x17), "FIN,SYN,RST,ACK");
        assert_eq!(flags_text(0), "NONE");
        assert_eq!(flags_text(0x3f), "FIN,SYN,RST,PSH,ACK,URG");
        assert!(parse_flags("BOGUS").is_err());
    }
}
