//! `-m tcp`: ports, flags, option (extensions/libxt_tcp.c; kernel
//! net/netfilter/xt_tcpudp.c). iptables-nft turns port and flag matches
//! into native expressions, which need `-p tcp` in userspace
//! (iptables/nft.c `add_nft_tcp`); a tcp match with no options or with
//! `--tcp-option` stays an xt match, whose kernel check wants a
//! non-inverted `-p tcp` (x_tables.c `xt_check_match`, `.proto`).

use std::any::Any;

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
    /// Stored as native nft expressions (decided once the rule is parsed,
    /// nft.c `add_nft_tcp`), which iptables shows as it reads them back
    /// ([`Tcp::read_back_into`]); otherwise an xt match, shown as is. The
    /// fields keep what the kernel evaluates either way.
    native: bool,
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
            native: false,
        }
    }
}

impl Tcp {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Tcp::default())
    }

    /// nft.c `tcp_all_zero`: the xt_tcp struct as tcp_init leaves it
    /// (`--tcp-flags NONE NONE` included: it sets nothing).
    fn all_zero(&self) -> bool {
        Tcp {
            given_flags: false,
            native: false,
            ..self.clone()
        } == Tcp::default()
    }

    /// Whether iptables-nft keeps this as an xt match (nft.c `add_nft_tcp`).
    fn stays_xt(&self) -> bool {
        self.option != 0 || self.option_invert || self.all_zero()
    }

    /// Stores this native match as iptables-nft does (nft.c `add_nft_tcp`:
    /// flags, then ports) and reads the expressions back into `acc`
    /// (nft-shared.c `nft_parse_tcp_flags`, `nft_parse_tcp[_range]`).
    /// Returns whether any expression was made.
    fn read_back_into(&self, acc: &mut Tcp) -> bool {
        let mut made = false;
        if self.flags_mask != 0 {
            acc.flags_mask = self.flags_mask;
            acc.flags_cmp = self.flags_cmp;
            acc.flags_invert |= self.flags_invert;
            acc.given_flags = true;
            made = true;
        }
        made |= read_back_port(
            self.sport,
            self.sport_invert,
            &mut acc.sport,
            &mut acc.sport_invert,
        );
        made |= read_back_port(
            self.dport,
            self.dport_invert,
            &mut acc.dport,
            &mut acc.dport_invert,
        );
        made
    }

    /// What iptables shows: a native match as read back alone, an xt one
    /// as it is.
    fn shown(&self) -> Tcp {
        if !self.native {
            return self.clone();
        }
        let mut acc = Tcp::default();
        self.read_back_into(&mut acc);
        acc
    }

    /// A native match with nothing to store: the kernel has no trace of it.
    fn is_empty_native(&self) -> bool {
        self.native && !self.read_back_into(&mut Tcp::default())
    }

    fn write_save(&self, out: &mut String) {
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
}

/// One port range of a native tcp/udp match as iptables-nft stores it
/// (nft.c `add_nft_tcpudp`, `expr_gen_range_cmp16`) and reads it back
/// into `acc` (nft-shared.c `port_match_single_to_range`,
/// `nft_parse_tcp_range`): the full range makes no expression; one port
/// is `==`/`!=`; `:HI` is `<= HI`, setting only the upper end, and
/// `! :HI` is `> HI`, setting only the lower end to HI+1; other ranges
/// are a range expression. A `!` read back is OR-ed in, never cleared.
/// Returns whether an expression was made.
pub(crate) fn read_back_port(
    range: (u16, u16),
    invert: bool,
    acc: &mut (u16, u16),
    acc_invert: &mut bool,
) -> bool {
    let (lo, hi) = range;
    if range == (0, 65535) {
        return false;
    }
    if lo != hi && lo == 0 && hi < 65535 {
        if invert {
            acc.0 = hi.saturating_add(1);
        } else {
            acc.1 = hi;
        }
    } else {
        *acc = range;
        *acc_invert |= invert;
    }
    true
}

/// Drops the native tcp and udp matches that make no nft expression at
/// all (`! --dport 0:65535`, `! --tcp-flags NONE NONE`): the kernel has
/// nothing of them, iptables shows nothing of them.
pub fn drop_empty_native(matches: &mut Vec<Box<dyn Extension>>) {
    matches.retain(|m| {
        let any = m.as_any();
        !(any.downcast_ref::<Tcp>().is_some_and(Tcp::is_empty_native)
            || any
                .downcast_ref::<super::udp::Udp>()
                .is_some_and(super::udp::Udp::is_empty_native))
    });
}

/// The matches of a rule as iptables shows them. Reading a rule back
/// from the kernel, iptables-nft gathers the native expressions of all
/// its tcp matches into one tcp match, made where the first of them
/// stands, later ones overriding earlier ones (nft-shared.c
/// `nft_tcp_match`: one `ctx->tcpudp.tcp` per rule), and the same for
/// udp; xt-form matches stay apart. `None` when that changes nothing
/// (at most one native tcp and one native udp match: each shows itself
/// as read back). The rule itself keeps every match, as the kernel
/// evaluates every expression.
pub fn nft_display(matches: &[Box<dyn Extension>]) -> Option<Vec<Box<dyn Extension>>> {
    let native_tcp = |m: &dyn Extension| {
        m.as_any()
            .downcast_ref::<Tcp>()
            .filter(|t| t.native)
            .cloned()
    };
    let native_udp = |m: &dyn Extension| {
        m.as_any()
            .downcast_ref::<super::udp::Udp>()
            .filter(|u| u.is_native())
            .cloned()
    };
    let tcps = matches
        .iter()
        .filter(|m| native_tcp(m.as_ref()).is_some())
        .count();
    let udps = matches
        .iter()
        .filter(|m| native_udp(m.as_ref()).is_some())
        .count();
    if tcps < 2 && udps < 2 {
        return None;
    }
    let mut tcp_acc = Tcp::default();
    let mut udp_acc = super::udp::Udp::default();
    let (mut tcp_at, mut udp_at) = (None, None);
    let mut shown: Vec<Box<dyn Extension>> = Vec::with_capacity(matches.len());
    for m in matches {
        if let Some(t) = native_tcp(m.as_ref()) {
            if t.read_back_into(&mut tcp_acc) && tcp_at.is_none() {
                tcp_at = Some(shown.len());
                shown.push(m.clone());
            }
        } else if let Some(u) = native_udp(m.as_ref()) {
            if u.read_back_into(&mut udp_acc) && udp_at.is_none() {
                udp_at = Some(shown.len());
                shown.push(m.clone());
            }
        } else {
            shown.push(m.clone());
        }
    }
    // The gathered matches are shown as they are (already read back).
    if let Some(m) = tcp_at.and_then(|i| shown.get_mut(i)) {
        *m = Box::new(tcp_acc);
    }
    if let Some(m) = udp_at.and_then(|i| shown.get_mut(i)) {
        *m = Box::new(udp_acc);
    }
    Some(shown)
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
        self.native = !self.stays_xt();
        if !self.native {
            return Ok(());
        }
        if ctx.proto != IPPROTO_TCP {
            return Err(Error::param("TCP match requires '-p tcp'"));
        }
        // What makes no nft expression is not in the kernel at all.
        if self.sport == (0, 65535) {
            self.sport_invert = false;
        }
        if self.dport == (0, 65535) {
            self.dport_invert = false;
        }
        if self.flags_mask == 0 {
            (self.flags_cmp, self.flags_invert) = (0, false);
        }
        Ok(())
    }

    fn check(&self, ctx: &CheckCtx) -> Result<(), Errno> {
        // Only the xt form reaches the kernel's proto check.
        if !self.native && (ctx.proto != IPPROTO_TCP || ctx.proto_invert) {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.shown().write_save(out);
    }

    // The match as the kernel evaluates it (a native `! --dport :4` is
    // `> 4`, shown as `5:65535`, which the parser reads back the same).
    fn save_state(&self, out: &mut String) {
        self.write_save(out);
    }

    fn print(&self, out: &mut String, numeric: bool) {
        let shown = self.shown();
        shown.write_print(out, numeric);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Tcp {
    fn write_print(&self, out: &mut String, numeric: bool) {
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

    /// `-A INPUT RULE` saved and listed (-L -n), as Linux shows it.
    fn shown(rule: &str) -> (String, String) {
        let words: Vec<&str> = ["-A", "INPUT"]
            .into_iter()
            .chain(rule.split_whitespace())
            .collect();
        let inv = crate::argv::parse(&words, "filter", false).expect("parse");
        let r = &inv.rules[0];
        let mut listed = String::new();
        let shown = nft_display(&r.matches);
        for m in shown.as_deref().unwrap_or(&r.matches) {
            m.print(&mut listed, true);
        }
        (crate::save::rule_spec(r), listed)
    }

    #[test]
    fn the_rule_keeps_what_the_kernel_evaluates() {
        use crate::save::{rule_spec_as, Flavour};
        let rule = |text: &str| {
            let words: Vec<&str> = ["-A", "INPUT"]
                .into_iter()
                .chain(text.split_whitespace())
                .collect();
            crate::argv::parse(&words, "filter", false)
                .expect("parse")
                .rules
                .remove(0)
        };
        // Both comparisons stay (the kernel ANDs them: nothing matches);
        // iptables shows only the last one, the state file both.
        let r = rule("-p tcp -m tcp --sport 1 -m tcp --sport 2");
        assert_eq!(r.matches.len(), 2);
        assert_eq!(crate::save::rule_spec(&r), " -p tcp -m tcp --sport 2");
        assert_eq!(
            rule_spec_as(&r, Flavour::State),
            " -p tcp -m tcp --sport 1 -m tcp --sport 2"
        );
        // `! :4` is `> 4`: kept as typed, shown as read back.
        let r = rule("-p tcp ! --dport :4");
        let t = r.matches[0].as_any().downcast_ref::<Tcp>().unwrap();
        assert_eq!((t.dport, t.dport_invert), ((0, 4), true));
        assert_eq!(
            rule_spec_as(&r, Flavour::State),
            " -p tcp -m tcp ! --dport 0:4"
        );
        // What makes no expression is not in the rule at all.
        assert!(rule("-p tcp ! --dport 0:65535").matches.is_empty());
        let r = rule("-p tcp --dport 3 ! --sport 0:65535");
        let t = r.matches[0].as_any().downcast_ref::<Tcp>().unwrap();
        assert!(!t.sport_invert);
        // xt-form matches keep everything (the kernel's tcp_mt sees it).
        let r = rule("-p tcp ! --sport 0:65535 --tcp-option 3");
        let t = r.matches[0].as_any().downcast_ref::<Tcp>().unwrap();
        assert!(t.sport_invert);
    }

    // Each expectation is what iptables 1.8.9 (nf_tables) on Linux 6.18
    // printed for the rule (iptables -S / -L -n).
    #[test]
    fn native_matches_read_back_as_iptables_nft_reads_them() {
        for (rule, save, list) in [
            (
                "-p tcp ! --dport :4",
                " -p tcp -m tcp --dport 5:65535",
                " tcp dpts:5:65535",
            ),
            (
                "-p tcp --dport :4",
                " -p tcp -m tcp --dport 0:4",
                " tcp dpts:0:4",
            ),
            (
                "-p tcp ! --dport 0:65534",
                " -p tcp -m tcp --dport 65535",
                " tcp dpt:65535",
            ),
            (
                "-p tcp ! --sport 0:65535 --dport 3",
                " -p tcp -m tcp --dport 3",
                " tcp dpt:3",
            ),
            // No expression at all: the match is gone.
            ("-p tcp ! --dport 0:65535", " -p tcp", ""),
            ("-p tcp -m tcp ! --tcp-flags NONE NONE", " -p tcp", ""),
            // Nothing set: an xt match, kept.
            ("-p tcp -m tcp --sport 0:65535", " -p tcp -m tcp", " tcp"),
            (
                "-p tcp -m tcp --tcp-flags NONE NONE",
                " -p tcp -m tcp",
                " tcp",
            ),
            // Native matches gather into the first, later ones overriding.
            (
                "-p tcp -m tcp --sport 1 -m tcp --dport 2",
                " -p tcp -m tcp --sport 1 --dport 2",
                " tcp spt:1 dpt:2",
            ),
            (
                "-p tcp -m tcp --sport 1 -m comment --comment x -m tcp --dport 2",
                " -p tcp -m tcp --sport 1 --dport 2 -m comment --comment x",
                " tcp spt:1 dpt:2 /* x */",
            ),
            (
                "-p tcp --dport 3 -m tcp --sport 4",
                " -p tcp -m tcp --sport 4 --dport 3",
                " tcp spt:4 dpt:3",
            ),
            (
                "-p tcp -m tcp --sport 1 -m tcp --sport 2",
                " -p tcp -m tcp --sport 2",
                " tcp spt:2",
            ),
            (
                "-p tcp -m tcp ! --sport 1 -m tcp --sport 2",
                " -p tcp -m tcp ! --sport 2",
                " tcp spt:!2",
            ),
            (
                "-p tcp -m tcp --sport 5:10 -m tcp --sport :20",
                " -p tcp -m tcp --sport 5:20",
                " tcp spts:5:20",
            ),
            (
                "-p tcp -m tcp ! --dport :4 -m tcp --dport :9",
                " -p tcp -m tcp --dport 5:9",
                " tcp dpts:5:9",
            ),
            (
                "-p tcp -m tcp --syn -m tcp --dport 4",
                " -p tcp -m tcp --dport 4 --tcp-flags FIN,SYN,RST,ACK SYN",
                " tcp dpt:4 flags:0x17/0x02",
            ),
            (
                "-p tcp -m tcp ! --tcp-flags ALL ACK -m tcp --syn",
                " -p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN",
                " tcp flags:!0x17/0x02",
            ),
            (
                "-p tcp -m tcp ! --dport 0:65535 -m tcp --dport 3",
                " -p tcp -m tcp --dport 3",
                " tcp dpt:3",
            ),
            // xt-form matches stay apart.
            (
                "-p tcp -m tcp -m tcp --dport 2",
                " -p tcp -m tcp -m tcp --dport 2",
                " tcp tcp dpt:2",
            ),
            (
                "-p tcp -m tcp --dport 2 -m tcp",
                " -p tcp -m tcp --dport 2 -m tcp",
                " tcp dpt:2 tcp",
            ),
            (
                "-p tcp -m tcp --tcp-option 5 -m tcp --dport 3",
                " -p tcp -m tcp --tcp-option 5 -m tcp --dport 3",
                " tcp option=5 tcp dpt:3",
            ),
            // The same for udp.
            ("-p udp -m udp ! --dport 0:65535", " -p udp", ""),
            (
                "-p udp -m udp --sport 1 -m udp --dport 2",
                " -p udp -m udp --sport 1 --dport 2",
                " udp spt:1 dpt:2",
            ),
            (
                "-p udp -m udp ! --sport 1 -m udp --sport 2",
                " -p udp -m udp ! --sport 2",
                " udp spt:!2",
            ),
            (
                "-p udp -m udp -m udp ! --sport 0:65535 -m udp --sport 4",
                " -p udp -m udp -m udp --sport 4",
                " udp udp spt:4",
            ),
        ] {
            assert_eq!(shown(rule), (save.to_string(), list.to_string()), "{rule}");
        }
    }
}
