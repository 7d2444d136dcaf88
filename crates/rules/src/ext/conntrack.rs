//! `-m conntrack`: connection tracking state, status, tuple and expiry
//! (extensions/libxt_conntrack.c, revision 3 as iptables 1.8.9 uses it on
//! Linux; kernel net/netfilter/xt_conntrack.c, whose checkentry refuses
//! nothing a parsed rule can hold).

use std::any::Any;
use std::net::Ipv4Addr;

use super::util::{parse_port_rc, save_invert, xt_host, xt_plenmask, xt_uint_range};
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::addr::mask_suffix;
use crate::argv::parse_protocol;
use crate::error::{Error, Result};

/// State bits (linux/netfilter/xt_conntrack.h: `XT_CONNTRACK_STATE_BIT`
/// of IP_CT_ESTABLISHED/RELATED/NEW, and the SNAT/DNAT/UNTRACKED bits
/// after IP_CT_NUMBER = 5).
pub const STATE_INVALID: u16 = 1 << 0;
pub const STATE_ESTABLISHED: u16 = 1 << 1;
pub const STATE_RELATED: u16 = 1 << 2;
pub const STATE_NEW: u16 = 1 << 3;
pub const STATE_SNAT: u16 = 1 << 6;
pub const STATE_DNAT: u16 = 1 << 7;
pub const STATE_UNTRACKED: u16 = 1 << 8;

/// Status bits (linux/netfilter/nf_conntrack_common.h `IPS_*`).
pub const STATUS_EXPECTED: u8 = 1 << 0;
pub const STATUS_SEEN_REPLY: u8 = 1 << 1;
pub const STATUS_ASSURED: u8 = 1 << 2;
pub const STATUS_CONFIRMED: u8 = 1 << 3;

/// libxt_conntrack.c `conntrack_ps_state`: the order names are tried in
/// (a word matches a name it is a case-insensitive prefix of).
const STATE_PARSE: &[(&str, u16)] = &[
    ("INVALID", STATE_INVALID),
    ("NEW", STATE_NEW),
    ("ESTABLISHED", STATE_ESTABLISHED),
    ("RELATED", STATE_RELATED),
    ("UNTRACKED", STATE_UNTRACKED),
    ("SNAT", STATE_SNAT),
    ("DNAT", STATE_DNAT),
];

/// libxt_conntrack.c `print_state`: printing order.
const STATE_PRINT: &[(&str, u16)] = &[
    ("INVALID", STATE_INVALID),
    ("NEW", STATE_NEW),
    ("RELATED", STATE_RELATED),
    ("ESTABLISHED", STATE_ESTABLISHED),
    ("UNTRACKED", STATE_UNTRACKED),
    ("SNAT", STATE_SNAT),
    ("DNAT", STATE_DNAT),
];

/// libxt_conntrack.c `conntrack_ps_status` (parse order) and
/// `print_status` (print order, without NONE).
const STATUS_PARSE: &[(&str, u8)] = &[
    ("NONE", 0),
    ("EXPECTED", STATUS_EXPECTED),
    ("SEEN_REPLY", STATUS_SEEN_REPLY),
    ("ASSURED", STATUS_ASSURED),
    ("CONFIRMED", STATUS_CONFIRMED),
];

/// `strncasecmp(word, name, strlen(word)) == 0`: `word` is a prefix of
/// `name`, ignoring case (an empty word matches anything).
fn is_prefix_of(word: &str, name: &str) -> bool {
    word.len() <= name.len()
        && name
            .get(..word.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(word))
}

/// A comma-separated list of names, each looked up in `table` (the
/// libxt_conntrack.c `conntrack_ps_states`/`_statuses` loop). `None`
/// when a word is empty or unknown, with the remaining text for the error.
fn parse_list<'a, T: Copy + std::ops::BitOrAssign + Default>(
    arg: &'a str,
    table: &[(&str, T)],
) -> std::result::Result<T, &'a str> {
    let mut bits = T::default();
    let mut rest = arg;
    loop {
        let (word, next) = match rest.find(',') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        if word.is_empty() {
            return Err(rest);
        }
        match table.iter().find(|(n, _)| is_prefix_of(word, n)) {
            Some((_, b)) => bits |= *b,
            None => return Err(rest),
        }
        match next {
            Some(n) => rest = n,
            None => return Ok(bits),
        }
    }
}

/// `--ctstate`'s list (libxt_conntrack.c `conntrack_ps_states`).
pub fn parse_ctstates(arg: &str) -> Result<u16> {
    parse_list(arg, STATE_PARSE).map_err(|rest| Error::param(format!("Bad ctstate \"{rest}\"")))
}

/// `--state`'s list (libxt_conntrack.c `state_parse_states`): no SNAT or
/// DNAT, and its own message for an empty last word.
pub fn parse_states(arg: &str) -> Result<u16> {
    let table = &STATE_PARSE[..5];
    let mut bits = 0;
    let mut rest = arg;
    while let Some(i) = rest.find(',') {
        let word = &rest[..i];
        match table.iter().find(|(n, _)| is_prefix_of(word, n)) {
            Some((_, b)) if !word.is_empty() => bits |= b,
            _ => return Err(Error::param(format!("Bad state \"{rest}\""))),
        }
        rest = &rest[i + 1..];
    }
    if rest.is_empty() {
        return Err(Error::param(
            "\"--state\" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED",
        ));
    }
    match table.iter().find(|(n, _)| is_prefix_of(rest, n)) {
        Some((_, b)) => Ok(bits | b),
        None => Err(Error::param(format!("Bad state \"{rest}\""))),
    }
}

/// The state names in printing order, comma-separated.
pub fn states_text(mask: u16) -> String {
    STATE_PRINT
        .iter()
        .filter(|(_, b)| mask & b != 0)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

fn status_text(mask: u8) -> String {
    if mask == 0 {
        return "NONE".to_string();
    }
    STATUS_PARSE[1..]
        .iter()
        .filter(|(_, b)| mask & b != 0)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

/// A condition and whether it is negated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cond<T> {
    pub value: T,
    pub invert: bool,
}

/// An address and mask as conntrack keeps them: the address is not
/// masked (the kernel compares `(a ^ addr) & mask`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrMask {
    pub addr: u32,
    pub mask: u32,
}

impl AddrMask {
    pub fn matches(&self, ip: u32) -> bool {
        (ip ^ self.addr) & self.mask == 0
    }
}

/// Which direction of the connection the packet travels (`--ctdir`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Original,
    Reply,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conntrack {
    /// `STATE_*` bits.
    pub state: Option<Cond<u16>>,
    pub proto: Option<Cond<u8>>,
    pub orig_src: Option<Cond<AddrMask>>,
    pub orig_dst: Option<Cond<AddrMask>>,
    pub repl_src: Option<Cond<AddrMask>>,
    pub repl_dst: Option<Cond<AddrMask>>,
    /// Port ranges as given; the high end may be below the low one (the
    /// kernel then matches nothing), and a high end of 0 prints as one port.
    pub orig_src_port: Option<Cond<(u16, u16)>>,
    pub orig_dst_port: Option<Cond<(u16, u16)>>,
    pub repl_src_port: Option<Cond<(u16, u16)>>,
    pub repl_dst_port: Option<Cond<(u16, u16)>>,
    /// `STATUS_*` bits.
    pub status: Option<Cond<u8>>,
    /// Remaining lifetime in seconds, inclusive.
    pub expire: Option<Cond<(u32, u32)>>,
    pub direction: Option<Direction>,
}

/// xtables `XTTYPE_HOSTMASK` (libxtables/xtoptions.c
/// `xtopt_parse_hostmask`): a host, then optionally `/` and a prefix
/// length or mask; the address is kept unmasked.
fn parse_hostmask(opt: &str, text: &str) -> Result<AddrMask> {
    match text.split_once('/') {
        None => Ok(AddrMask {
            addr: xt_host(text)?,
            mask: u32::MAX,
        }),
        Some((host, mask)) => {
            let addr = xt_host(host)?;
            let (_, mask) = xt_plenmask("conntrack", opt, mask)?;
            Ok(AddrMask { addr, mask })
        }
    }
}

static OPTIONS: &[OptDef] = &[
    OptDef::value("ctstate").invertible(),
    OptDef::value("ctproto").invertible(),
    OptDef::value("ctorigsrc").invertible(),
    OptDef::value("ctorigdst").invertible(),
    OptDef::value("ctreplsrc").invertible(),
    OptDef::value("ctrepldst").invertible(),
    OptDef::value("ctstatus").invertible(),
    OptDef::value("ctexpire").invertible(),
    OptDef::value("ctorigsrcport").invertible(),
    OptDef::value("ctorigdstport").invertible(),
    OptDef::value("ctreplsrcport").invertible(),
    OptDef::value("ctrepldstport").invertible(),
    OptDef::value("ctdir"),
];

impl Conntrack {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Conntrack::default())
    }
}

/// One address item of save/print (libxt_conntrack.c
/// `conntrack_dump_addr`): `anywhere` for 0.0.0.0 unless numeric.
fn dump_addr(out: &mut String, a: &AddrMask, numeric: bool) {
    let ip = Ipv4Addr::from(a.addr);
    if !numeric && a.addr == 0 {
        out.push_str(" anywhere");
    } else if numeric {
        out.push_str(&format!(" {ip}{}", mask_suffix(a.mask)));
    } else {
        out.push_str(&format!(
            " {}{}",
            crate::addr::addr_to_anyname(ip),
            mask_suffix(a.mask)
        ));
    }
}

impl Conntrack {
    /// libxt_conntrack.c `conntrack_dump`, shared by save (`--` prefix,
    /// numeric) and print.
    fn dump(&self, out: &mut String, prefix: &str, numeric: bool) {
        if let Some(c) = self.state {
            save_invert(out, c.invert);
            out.push_str(&format!(" {prefix}ctstate {}", states_text(c.value)));
        }
        if let Some(c) = self.proto {
            save_invert(out, c.invert);
            out.push_str(&format!(" {prefix}ctproto {}", c.value));
        }
        for (name, a) in [
            ("ctorigsrc", &self.orig_src),
            ("ctorigdst", &self.orig_dst),
            ("ctreplsrc", &self.repl_src),
            ("ctrepldst", &self.repl_dst),
        ] {
            if let Some(c) = a {
                save_invert(out, c.invert);
                out.push_str(&format!(" {prefix}{name}"));
                dump_addr(out, &c.value, numeric);
            }
        }
        for (name, p) in [
            ("ctorigsrcport", &self.orig_src_port),
            ("ctorigdstport", &self.orig_dst_port),
            ("ctreplsrcport", &self.repl_src_port),
            ("ctrepldstport", &self.repl_dst_port),
        ] {
            if let Some(c) = p {
                save_invert(out, c.invert);
                let (lo, hi) = c.value;
                if hi == 0 || lo == hi {
                    out.push_str(&format!(" {prefix}{name} {lo}"));
                } else {
                    out.push_str(&format!(" {prefix}{name} {lo}:{hi}"));
                }
            }
        }
        if let Some(c) = self.status {
            save_invert(out, c.invert);
            out.push_str(&format!(" {prefix}ctstatus {}", status_text(c.value)));
        }
        if let Some(c) = self.expire {
            save_invert(out, c.invert);
            let (lo, hi) = c.value;
            if lo == hi {
                out.push_str(&format!(" {prefix}ctexpire {lo}"));
            } else {
                out.push_str(&format!(" {prefix}ctexpire {lo}:{hi}"));
            }
        }
        if let Some(d) = self.direction {
            let word = match d {
                Direction::Original => "ORIGINAL",
                Direction::Reply => "REPLY",
            };
            out.push_str(&format!(" {prefix}ctdir {word}"));
        }
    }
}

impl Extension for Conntrack {
    fn name(&self) -> &'static str {
        "conntrack"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        let invert = call.invert;
        let arg = call.arg().to_string();
        let name = call.name;
        match name {
            "ctstate" => {
                self.state = Some(Cond {
                    value: parse_ctstates(&arg)?,
                    invert,
                })
            }
            "ctproto" => {
                // libxt_conntrack.c tests "never match" before it records
                // the inversion, so `! --ctproto 0` passes.
                self.proto = Some(Cond {
                    value: parse_protocol(&arg)?,
                    invert,
                })
            }
            "ctorigsrc" | "ctorigdst" | "ctreplsrc" | "ctrepldst" => {
                let value = Some(Cond {
                    value: parse_hostmask(name, &arg)?,
                    invert,
                });
                match name {
                    "ctorigsrc" => self.orig_src = value,
                    "ctorigdst" => self.orig_dst = value,
                    "ctreplsrc" => self.repl_src = value,
                    _ => self.repl_dst = value,
                }
            }
            "ctorigsrcport" | "ctorigdstport" | "ctreplsrcport" | "ctrepldstport" => {
                let value = Some(Cond {
                    value: parse_port_rc(&arg, "conntrack", name)?,
                    invert,
                });
                match name {
                    "ctorigsrcport" => self.orig_src_port = value,
                    "ctorigdstport" => self.orig_dst_port = value,
                    "ctreplsrcport" => self.repl_src_port = value,
                    _ => self.repl_dst_port = value,
                }
            }
            "ctstatus" => {
                let value = parse_list(&arg, STATUS_PARSE)
                    .map_err(|rest| Error::param(format!("Bad ctstatus \"{rest}\"")))?;
                self.status = Some(Cond { value, invert });
            }
            "ctexpire" => {
                let (lo, hi, _) = xt_uint_range("conntrack", name, &arg, u64::from(u32::MAX))?;
                self.expire = Some(Cond {
                    value: (lo as u32, hi as u32),
                    invert,
                });
            }
            "ctdir" => {
                self.direction = Some(if arg.eq_ignore_ascii_case("ORIGINAL") {
                    Direction::Original
                } else if arg.eq_ignore_ascii_case("REPLY") {
                    Direction::Reply
                } else {
                    return Err(Error::param(format!(
                        "conntrack: Bad value for \"--ctdir\" option: \"{arg}\""
                    )));
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if *self == Conntrack::default() {
            return Err(Error::param("conntrack: At least one option is required"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.dump(out, "--", true);
    }

    fn print(&self, out: &mut String, numeric: bool) {
        self.dump(out, "", numeric);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argv;
    use crate::model::Target;

    fn rule(args: &str) -> Result<crate::model::Rule> {
        let mut words: Vec<String> = vec!["-A".into(), "INPUT".into()];
        words.extend(args.split_whitespace().map(String::from));
        let inv = argv::parse(&words, "filter", false)?;
        inv.rules
            .into_iter()
            .next()
            .ok_or_else(|| Error::param("no rule"))
    }

    fn saved(args: &str) -> String {
        match rule(args) {
            Ok(r) => crate::save::rule_spec(&r),
            Err(e) => format!("ERR {e}"),
        }
    }

    fn printed(args: &str, numeric: bool) -> String {
        let mut out = String::new();
        if let Ok(r) = rule(args) {
            for m in &r.matches {
                m.print(&mut out, numeric);
            }
            assert!(matches!(r.target, Target::None));
        }
        out
    }

    #[test]
    fn parse_and_save() {
        assert_eq!(
            saved("-m conntrack --ctstate new,SNAT,dnat,inv --ctproto tcp --ctorigsrc 1.1.1.1 --ctorigdst 10.1.2.3/8 --ctreplsrc 1.2.3.4/255.0.255.0 ! --ctrepldst 0.0.0.0/0 --ctorigsrcport 22 ! --ctorigdstport 80:90 --ctrepldstport 1: --ctstatus none,a --ctexpire 5:10 --ctdir REPLY"),
            " -m conntrack --ctstate INVALID,NEW,SNAT,DNAT --ctproto 6 --ctorigsrc 1.1.1.1 --ctorigdst 10.1.2.3/8 --ctreplsrc 1.2.3.4 ! --ctrepldst 0.0.0.0/0 --ctorigsrcport 22 ! --ctorigdstport 80:90 --ctrepldstport 1:65535 --ctstatus ASSURED --ctexpire 5:10 --ctdir REPLY"
        );
        assert_eq!(
            saved("-m conntrack --ctorigsrc 10.1 --ctorigdst 1 --ctreplsrc 1.2.3.4/33 --ctorigsrcport 5:0 --ctexpire :5 --ctstatus NONE"),
            " -m conntrack --ctorigsrc 10.0.0.1 --ctorigdst 0.0.0.1 --ctreplsrc 1.2.3.4 --ctorigsrcport 5 --ctstatus NONE --ctexpire 0:5"
        );
        assert_eq!(
            saved("-m conntrack --ctorigsrcport 65537 --ctexpire 5:"),
            " -m conntrack --ctorigsrcport 1 --ctexpire 5:4294967295"
        );
        // getaddrinfo's strtoul kept in an int: 99999999999 wraps to a
        // positive int whose low 16 bits are the port, numbers that
        // overflow or make a negative int are service names (none here).
        assert_eq!(
            saved("-m conntrack --ctorigsrcport 99999999999"),
            " -m conntrack --ctorigsrcport 59391"
        );
        for port in ["4294967295", "2147483648", "99999999999999999999999", "-5"] {
            assert_eq!(
                saved(&format!("-m conntrack --ctorigsrcport {port}")),
                format!("ERR Port \"{port}\" does not resolve to anything.\n")
            );
        }
    }

    #[test]
    fn print_forms() {
        let args = "-m conntrack ! --ctstate NEW ! --ctproto udp ! --ctorigsrc 0.0.0.0/0 ! --ctstatus SEEN_REPLY,EXPECTED,CONFIRMED ! --ctexpire 7 --ctdir original";
        assert_eq!(
            printed(args, false),
            " ! ctstate NEW ! ctproto 17 ! ctorigsrc anywhere ! ctstatus EXPECTED,SEEN_REPLY,CONFIRMED ! ctexpire 7 ctdir ORIGINAL"
        );
        assert_eq!(
            printed(args, true),
            " ! ctstate NEW ! ctproto 17 ! ctorigsrc 0.0.0.0/0 ! ctstatus EXPECTED,SEEN_REPLY,CONFIRMED ! ctexpire 7 ctdir ORIGINAL"
        );
    }

    #[test]
    fn refusals() {
        for (args, msg) in [
            ("-m conntrack", "conntrack: At least one option is required"),
            ("-m conntrack --ctstate wrong", "Bad ctstate \"wrong\""),
            ("-m conntrack --ctstate SNAT,,", "Bad ctstate \",\""),
            ("-m conntrack --ctstatus x", "Bad ctstatus \"x\""),
            (
                "-m conntrack --ctexpire 42949672956",
                "conntrack: bad value for option \"--ctexpire\" near \"42949672956\", or out of range (0-4294967295).\n",
            ),
            (
                "-m conntrack --ctexpire 5a",
                "conntrack: Argument to \"--ctexpire\" has unexpected characters near \"a\".\n",
            ),
            (
                "-m conntrack --ctorigsrcport 1:2:3",
                "conntrack: Too many components for option \"--ctorigsrcport\" (max: 2)\n",
            ),
            (
                "-m conntrack --ctorigsrcport 0x10",
                "Port \"0x10\" does not resolve to anything.\n",
            ),
            (
                "-m conntrack --ctorigsrc 1.2.3.4/",
                "conntrack: bad value for option \"--ctorigsrc\", neither a valid network mask nor valid CIDR (0-32).\n",
            ),
            (
                "-m conntrack --ctdir orig",
                "conntrack: Bad value for \"--ctdir\" option: \"orig\"",
            ),
            (
                "-m conntrack ! --ctdir REPLY",
                "conntrack: option \"--ctdir\" cannot be inverted.\n",
            ),
            ("-m conntrack --ctproto 256", "unknown protocol \"256\" specified"),
        ] {
            assert_eq!(saved(args), format!("ERR {msg}"), "{args}");
        }
    }
}
