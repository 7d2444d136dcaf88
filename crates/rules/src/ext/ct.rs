//! `-j CT` and its alias `-j NOTRACK`: a conntrack template for the
//! packet — untracked, or with a helper, timeout policy, event mask or
//! zone (extensions/libxt_CT.c; kernel net/netfilter/xt_CT.c). iptables
//! 1.8.9 uses revision 2 for both; `-j NOTRACK` is revision 2 with the
//! notrack and alias flags, which iptables-save prints back as
//! `-j NOTRACK` with no options. The kernel target is raw-table only.

use std::any::Any;

use super::util::{parse_opt_uint, truncate_bytes};
use super::{CheckCtx, Extension, OptCall, OptDef};
use crate::error::{Errno, Error, Result};
use crate::model::TableId;

/// `XT_CT_*` flags (linux/netfilter/xt_CT.h).
pub const XT_CT_NOTRACK: u16 = 1 << 0;
pub const XT_CT_NOTRACK_ALIAS: u16 = 1 << 1;
pub const XT_CT_ZONE_DIR_ORIG: u16 = 1 << 2;
pub const XT_CT_ZONE_DIR_REPL: u16 = 1 << 3;
pub const XT_CT_ZONE_MARK: u16 = 1 << 4;

/// Conntrack event names and their `IPCT_*` bit numbers, in printing
/// order (libxt_CT.c `ct_event_tbl`, linux nf_conntrack_common.h).
const CT_EVENTS: &[(&str, u32)] = &[
    ("new", 0),
    ("related", 1),
    ("destroy", 2),
    ("reply", 3),
    ("assured", 4),
    ("protoinfo", 5),
    ("helper", 6),
    ("mark", 7),
    ("natseqinfo", 8),
    ("secmark", 9),
];

/// Expectation events (libxt_CT.c `exp_event_tbl`, `IPEXP_NEW`).
const EXP_EVENTS: &[(&str, u32)] = &[("new", 0)];

/// The conntrack helpers Linux registers for IPv4, with the L4 protocol
/// each serves: net/netfilter/nf_conntrack_{ftp,tftp,sip,irc,sane,amanda,
/// netbios_ns,snmp,pptp,h323_main}.c and net/ipv4/netfilter/
/// nf_nat_snmp_basic_main.c (`snmp_trap`); names compare case-sensitively
/// (nf_conntrack_helper.c `__nf_conntrack_helper_find`).
const HELPERS: &[(&str, u8)] = &[
    ("ftp", 6),
    ("tftp", 17),
    ("sip", 17),
    ("sip", 6),
    ("irc", 6),
    ("sane", 6),
    ("amanda", 17),
    ("netbios-ns", 17),
    ("snmp", 17),
    ("snmp_trap", 17),
    ("pptp", 6),
    ("RAS", 17),
    ("Q.931", 6),
];

/// `xt_ct_target_info_v1.helper` and `.timeout` sizes, NUL included.
const HELPER_SIZE: usize = 16;
const TIMEOUT_SIZE: usize = 32;
/// How many bytes of the timeout name the kernel gives back when the rule
/// is listed: xt_CT.c declares `.usersize = offsetof(struct
/// xt_ct_target_info, ct)` (the revision 0 layout, 32 bytes) for every
/// revision, and x_tables.c `xt_target_to_user` zeroes what lies past it,
/// which leaves the first 4 bytes of the revision 1/2 `timeout` field.
const TIMEOUT_SHOWN: usize = 4;

static OPTIONS: &[OptDef] = &[
    OptDef::flag("notrack"),
    OptDef::value("helper"),
    OptDef::value("timeout"),
    OptDef::value("ctevents"),
    OptDef::value("expevents"),
    OptDef::value("zone-orig"),
    OptDef::value("zone-reply"),
    OptDef::value("zone"),
];

/// `xt_ct_target_info_v1`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ct {
    /// `XT_CT_*` bits.
    pub flags: u16,
    pub zone: u16,
    /// Bits by `IPCT_*` number.
    pub ct_events: u32,
    /// Bits by `IPEXP_*` number.
    pub exp_events: u32,
    /// Helper name, empty for none (at most 15 bytes).
    pub helper: String,
    /// Timeout policy name, empty for none (at most 31 bytes).
    pub timeout: String,
}

impl Ct {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Ct::default())
    }

    /// `-j NOTRACK` (libxt_CT.c `notrack_ct2_tg_init`).
    pub fn new_notrack_boxed() -> Box<dyn Extension> {
        Box::new(Ct {
            flags: XT_CT_NOTRACK | XT_CT_NOTRACK_ALIAS,
            ..Ct::default()
        })
    }

    pub fn is_alias(&self) -> bool {
        self.flags & XT_CT_NOTRACK_ALIAS != 0
    }

    pub fn notrack(&self) -> bool {
        self.flags & XT_CT_NOTRACK != 0
    }

    /// libxt_CT.c `ct_print_zone_id`, after `pfx`.
    fn zone_text(&self, out: &mut String, pfx: &str) {
        out.push_str(&format!(" {pfx}"));
        match self.flags & (XT_CT_ZONE_DIR_ORIG | XT_CT_ZONE_DIR_REPL) {
            XT_CT_ZONE_DIR_ORIG => out.push_str("-orig"),
            XT_CT_ZONE_DIR_REPL => out.push_str("-reply"),
            _ => {}
        }
        if self.flags & XT_CT_ZONE_MARK != 0 {
            out.push_str(" mark");
        } else {
            out.push_str(&format!(" {}", self.zone));
        }
    }

    /// The shared body of libxt_CT.c `ct_print_v1`/`ct_save_v1`.
    fn write(&self, out: &mut String, dash: &str) {
        if self.notrack() {
            out.push_str(&format!(" {dash}notrack"));
        }
        if !self.helper.is_empty() {
            out.push_str(&format!(" {dash}helper {}", self.helper));
        }
        let timeout = truncate_bytes(&self.timeout, TIMEOUT_SHOWN);
        if !timeout.is_empty() {
            out.push_str(&format!(" {dash}timeout {timeout}"));
        }
        if self.ct_events != 0 {
            events_text(out, &format!("{dash}ctevents"), CT_EVENTS, self.ct_events);
        }
        if self.exp_events != 0 {
            events_text(
                out,
                &format!("{dash}expevents"),
                EXP_EVENTS,
                self.exp_events,
            );
        }
        if self.flags & XT_CT_ZONE_MARK != 0 || self.zone != 0 {
            self.zone_text(out, &format!("{dash}zone"));
        }
    }
}

/// libxt_CT.c `ct_parse_events`: comma-separated names, exact case.
fn parse_events(table: &[(&str, u32)], text: &str) -> Result<u32> {
    let mut mask = 0;
    for word in text.split(',') {
        match table.iter().find(|(n, _)| *n == word) {
            Some((_, bit)) => mask |= 1 << bit,
            None => return Err(Error::param(format!("Unknown event type \"{word}\""))),
        }
    }
    Ok(mask)
}

/// libxt_CT.c `ct_print_events`.
fn events_text(out: &mut String, pfx: &str, table: &[(&str, u32)], mask: u32) {
    let names: Vec<&str> = table
        .iter()
        .filter(|(_, bit)| mask & (1 << bit) != 0)
        .map(|(n, _)| *n)
        .collect();
    out.push_str(&format!(" {pfx} {}", names.join(",")));
}

impl Extension for Ct {
    fn name(&self) -> &'static str {
        if self.is_alias() {
            "NOTRACK"
        } else {
            "CT"
        }
    }

    fn list_name(&self) -> &'static str {
        // iptables -L names the kernel target, which is CT for both.
        "CT"
    }

    fn options(&self) -> &'static [OptDef] {
        // The NOTRACK alias has no options of its own.
        if self.is_alias() {
            &[]
        } else {
            OPTIONS
        }
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        match call.name {
            "notrack" => self.flags |= XT_CT_NOTRACK,
            "helper" => self.helper = truncate_bytes(call.arg(), HELPER_SIZE - 1).to_string(),
            "timeout" => self.timeout = truncate_bytes(call.arg(), TIMEOUT_SIZE - 1).to_string(),
            "ctevents" => self.ct_events = parse_events(CT_EVENTS, call.arg())?,
            "expevents" => self.exp_events = parse_events(EXP_EVENTS, call.arg())?,
            _ => {
                // libxt_CT.c ct_parse_zone_id: direction flags add up.
                match call.name {
                    "zone-orig" => self.flags |= XT_CT_ZONE_DIR_ORIG,
                    "zone-reply" => self.flags |= XT_CT_ZONE_DIR_REPL,
                    _ => {}
                }
                self.zone = 0;
                if call.arg().eq_ignore_ascii_case("mark") {
                    self.flags |= XT_CT_ZONE_MARK;
                } else {
                    self.zone =
                        parse_opt_uint("CT", call.name, call.arg(), 0, 65535).map_err(|_| {
                            Error::param(format!("Cannot parse {} as a zone ID", call.arg()))
                        })? as u16;
                }
            }
        }
        Ok(())
    }

    fn table(&self) -> Option<TableId> {
        // net/netfilter/xt_CT.c: `.table = "raw"` for CT and NOTRACK.
        Some(TableId::Raw)
    }

    fn check(&self, ctx: &CheckCtx) -> Result<(), Errno> {
        // net/netfilter/xt_CT.c xt_ct_tg_check: an untracked template
        // needs nothing more.
        if self.notrack() {
            return Ok(());
        }
        // xt_ct_find_proto: the rule's protocol, 0 when inverted.
        let proto = if ctx.proto_invert { 0 } else { ctx.proto };
        if !self.helper.is_empty() {
            // xt_ct_set_helper: ENOENT without a protocol or helper.
            if proto == 0 || !HELPERS.contains(&(self.helper.as_str(), proto)) {
                return Err(Errno::NoEntry);
            }
        }
        if !self.timeout.is_empty() {
            // xt_ct_set_timeout: EINVAL without a protocol, then
            // nf_ct_set_timeout finds no such policy (palisade keeps no
            // nfct timeout objects): ENOENT.
            if proto == 0 {
                return Err(Errno::Invalid);
            }
            return Err(Errno::NoEntry);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if !self.is_alias() {
            self.write(out, "--");
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        if self.is_alias() {
            out.push_str(" NOTRACK");
            return;
        }
        out.push_str(" CT");
        self.write(out, "");
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;
    use crate::model::Hook;

    fn rule(words: &str) -> Result<Ct> {
        testing::target(&testing::words(&format!("-t raw -A PREROUTING {words}")))
    }

    fn texts(m: &Ct) -> (String, String, String) {
        let (mut s, mut p) = (String::new(), String::new());
        m.save(&mut s);
        m.print(&mut p, true);
        (m.name().to_string(), s, p)
    }

    fn ctx(proto: u8, proto_invert: bool) -> CheckCtx {
        CheckCtx {
            table: TableId::Raw,
            hook: Some(Hook::Prerouting),
            proto,
            proto_invert,
        }
    }

    #[test]
    fn saves_and_prints() {
        let cases = [
            ("-j CT --notrack", "CT", " --notrack", " CT notrack"),
            ("-j NOTRACK", "NOTRACK", "", " NOTRACK"),
            ("-j CT", "CT", "", " CT"),
            ("-j CT --zone 0", "CT", "", " CT"),
            ("-j CT --zone 0x10", "CT", " --zone 16", " CT zone 16"),
            ("-j CT --zone MARK", "CT", " --zone mark", " CT zone mark"),
            (
                "-j CT --zone-orig 5",
                "CT",
                " --zone-orig 5",
                " CT zone-orig 5",
            ),
            (
                "-j CT --zone-orig 5 --zone-reply 6",
                "CT",
                " --zone 6",
                " CT zone 6",
            ),
            (
                "-j CT --zone mark --zone-orig 5",
                "CT",
                " --zone-orig mark",
                " CT zone-orig mark",
            ),
            (
                "-j CT --ctevents mark,new,natseqinfo,secmark",
                "CT",
                " --ctevents new,mark,natseqinfo,secmark",
                " CT ctevents new,mark,natseqinfo,secmark",
            ),
            (
                "-j CT --notrack --helper 0123456789abcdefXYZ --timeout abcdef --expevents new",
                "CT",
                " --notrack --helper 0123456789abcde --timeout abcd --expevents new",
                " CT notrack helper 0123456789abcde timeout abcd expevents new",
            ),
        ];
        for (args, name, save, print) in cases {
            let ct = rule(args).unwrap();
            assert_eq!(
                texts(&ct),
                (name.to_string(), save.to_string(), print.to_string()),
                "{args}"
            );
        }
    }

    #[test]
    fn refusals() {
        let err = |a: &str| rule(a).unwrap_err().to_string();
        assert_eq!(err("-j CT --zone 65536"), "Cannot parse 65536 as a zone ID");
        assert_eq!(err("-j CT --zone -1"), "Cannot parse -1 as a zone ID");
        assert_eq!(err("-j CT --ctevents NEW"), "Unknown event type \"NEW\"");
        assert_eq!(err("-j CT --ctevents new,"), "Unknown event type \"\"");
        assert!(err("-j CT --zone 5 --zone 6").contains("only be used once"));
        assert!(err("-j NOTRACK --notrack").contains("unknown option"));

        let ftp = rule("-j CT --helper ftp").unwrap();
        assert_eq!(ftp.check(&ctx(6, false)), Ok(()));
        assert_eq!(ftp.check(&ctx(0, false)), Err(Errno::NoEntry));
        assert_eq!(ftp.check(&ctx(17, false)), Err(Errno::NoEntry));
        assert_eq!(ftp.check(&ctx(6, true)), Err(Errno::NoEntry));
        let timeout = rule("-j CT --timeout foo").unwrap();
        assert_eq!(timeout.check(&ctx(0, false)), Err(Errno::Invalid));
        assert_eq!(timeout.check(&ctx(6, false)), Err(Errno::NoEntry));
        let untracked = rule("-j CT --notrack --helper nosuch --timeout x").unwrap();
        assert_eq!(untracked.check(&ctx(0, false)), Ok(()));
        assert_eq!(untracked.table(), Some(TableId::Raw));
    }
}
