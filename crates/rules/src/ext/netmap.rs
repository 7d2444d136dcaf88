//! `-j NETMAP`: map a whole network 1:1 onto another (extensions/
//! libipt_NETMAP.c; kernel net/netfilter/xt_NETMAP.c). `--to` is an
//! xtables HOSTMASK: a host resolved by getaddrinfo (so inet_aton's
//! shorthand forms and /etc/hosts names work) with an optional prefix
//! length or dotted mask.

use std::any::Any;
use std::net::Ipv4Addr;

use super::{must_be_specified, Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};
use crate::model::{Hook, HookMask, TableId};
use crate::netdb;
use crate::num::strtoul_range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Netmap {
    /// The network mapped to, already masked.
    pub addr: Ipv4Addr,
    /// Its prefix length (0-32).
    pub prefix_len: u8,
    given_to: bool,
}

impl Default for Netmap {
    fn default() -> Self {
        Netmap {
            addr: Ipv4Addr::UNSPECIFIED,
            prefix_len: 32,
            given_to: false,
        }
    }
}

impl Netmap {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Netmap::default())
    }

    /// The network's mask.
    pub fn mask(&self) -> u32 {
        match self.prefix_len {
            0 => 0,
            n => u32::MAX << (32 - u32::from(n.min(32))),
        }
    }
}

/// One number of an inet_aton part: `0x` hex, leading-0 octal, or
/// decimal; it must start with a digit.
fn aton_part(text: &str) -> Option<u64> {
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (radix, digits) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(h) => (16, h),
        None if text.len() > 1 && text.starts_with('0') => (8, &text[1..]),
        None => (10, text),
    };
    if digits.is_empty() {
        // "0x" alone has no digit; "0" alone is handled as decimal.
        return None;
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix)
        .ok()
        .filter(|v| *v <= u64::from(u32::MAX))
}

/// glibc `__inet_aton_exact`, which getaddrinfo uses for numeric IPv4
/// hosts: one to four parts, the last filling the remaining bytes.
pub fn inet_aton(text: &str) -> Option<Ipv4Addr> {
    let parts: Vec<u64> = text.split('.').map(aton_part).collect::<Option<_>>()?;
    let (last, head) = parts.split_last()?;
    if head.len() > 3 || head.iter().any(|p| *p > 0xff) {
        return None;
    }
    let last_max = u64::from(u32::MAX) >> (8 * head.len());
    if *last > last_max {
        return None;
    }
    let mut value = *last;
    for (i, p) in head.iter().enumerate() {
        value |= p << (24 - 8 * i);
    }
    Some(Ipv4Addr::from(value as u32))
}

/// Why getaddrinfo fails for a name not in /etc/hosts. glibc answers
/// EAI_NONAME without asking DNS for an empty name, a digits-and-dots
/// name (nss/digits_dots.c) and a name `res_hnok` refuses (resolv/res-name-checking.c:
/// labels of letters, digits, `-` and `_`, none empty, the first not
/// starting with `-`); any other name goes to DNS, which palisade never
/// asks: iptables then says what it says when DNS is unreachable.
fn lookup_failure(name: &str) -> &'static str {
    const NONAME: &str = "Name or service not known";
    if name.is_empty() {
        return NONAME;
    }
    if name.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !name.ends_with('.') {
        return NONAME;
    }
    let body = name.strip_suffix('.').unwrap_or(name);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if body.starts_with('-') || body.len() > 253 || !body.split('.').all(label_ok) {
        return NONAME;
    }
    "Temporary failure in name resolution"
}

/// xtoptions.c `xtopt_parse_host` for AF_INET: a numeric address or a
/// name, which must resolve to a single address.
fn parse_host(text: &str) -> Result<Ipv4Addr> {
    if let Some(a) = inet_aton(text) {
        return Ok(a);
    }
    let Some((first, rest)) = netdb::host_addresses(text).and_then(|l| l.split_first()) else {
        return Err(Error::param(format!(
            "getaddrinfo: {}\n",
            lookup_failure(text)
        )));
    };
    if rest.iter().any(|a| a != first) {
        return Err(Error::param(format!(
            "{text} resolves to more than one address\n"
        )));
    }
    Ok(*first)
}

/// xtables `xtables_ipmask_to_cidr`: the prefix length, or `None` for a
/// mask with holes.
fn mask_to_cidr(mask: u32) -> Option<u8> {
    let len = mask.leading_ones();
    (mask.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

/// xtoptions.c `xtopt_parse_plenmask`: a prefix length 0-32 or a dotted
/// mask. A mask with holes ends up as /32 (its CIDR length is -1, which
/// the mask builder does not handle).
fn parse_plen(text: &str) -> Result<u8> {
    if let Some(n) = strtoul_range(text, 0, 32) {
        return Ok(n as u8);
    }
    match inet_aton(text) {
        Some(mask) => Ok(mask_to_cidr(u32::from(mask)).unwrap_or(32)),
        None => Err(Error::param(
            "NETMAP: bad value for option \"--to\", neither a valid network mask nor valid CIDR (0-32).\n",
        )),
    }
}

// libipt_NETMAP.c `NETMAP_opts`.
static OPTIONS: &[OptDef] = &[OptDef::value("to")];

impl Extension for Netmap {
    fn name(&self) -> &'static str {
        "NETMAP"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    // libipt_NETMAP.c `NETMAP_parse` via xtoptions.c `xtopt_parse_hostmask`.
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        if call.name != "to" {
            return Ok(());
        }
        let text = call.arg();
        let (host, plen) = match text.split_once('/') {
            Some((h, m)) => (parse_host(h)?, parse_plen(m)?),
            None => (parse_host(text)?, 32),
        };
        self.prefix_len = plen;
        self.addr = Ipv4Addr::from(u32::from(host) & self.mask());
        self.given_to = true;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if !self.given_to {
            return Err(must_be_specified("NETMAP", "to"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(" --to {}/{}", self.addr, self.prefix_len));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(" to:{}/{}", self.addr, self.prefix_len));
    }

    // xt_NETMAP.c `netmap_tg_reg`: table "nat".
    fn table(&self) -> Option<TableId> {
        Some(TableId::Nat)
    }

    // xt_NETMAP.c `netmap_tg_reg`: PRE_ROUTING, POST_ROUTING, LOCAL_OUT
    // and LOCAL_IN.
    fn hooks(&self) -> HookMask {
        HookMask::of(&[
            Hook::Prerouting,
            Hook::Postrouting,
            Hook::Output,
            Hook::Input,
        ])
    }

    // xt_NETMAP.c `netmap_tg4_check` wants MAP_IPS and rangesize 1, which
    // iptables always sets.

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(arg: &str) -> Result<Netmap> {
        let mut n = Netmap::default();
        crate::ext::testing::option(&mut n, "to", Some(arg), RuleCtx::default())?;
        n.finish(&RuleCtx::default())?;
        Ok(n)
    }

    fn saved(arg: &str) -> String {
        let mut s = String::new();
        match parsed(arg) {
            Ok(n) => n.save(&mut s),
            Err(e) => s = e.to_string(),
        }
        s
    }

    #[test]
    fn aton() {
        assert_eq!(inet_aton("10.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(inet_aton("010.1.2.3"), Some(Ipv4Addr::new(8, 1, 2, 3)));
        assert_eq!(inet_aton("0x0a.1.2.3"), Some(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(inet_aton("167772161"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(inet_aton("1.2.3.256"), None);
        assert_eq!(inet_aton("1.2.65536"), None);
        assert_eq!(inet_aton("1.2.3.4.5"), None);
        assert_eq!(inet_aton("08.1.1.1"), None);
        assert_eq!(inet_aton("0x"), None);
        assert_eq!(inet_aton(""), None);
        assert_eq!(inet_aton("1..2"), None);
        assert_eq!(inet_aton(" 1.2.3.4"), None);
    }

    #[test]
    fn forms() {
        assert_eq!(saved("1.2.3.0/24"), " --to 1.2.3.0/24");
        assert_eq!(saved("1.2.3.4"), " --to 1.2.3.4/32");
        assert_eq!(saved("10.1.2.3/255.255.0.0"), " --to 10.1.0.0/16");
        assert_eq!(saved("10.1.2.3/255.0.255.0"), " --to 10.1.2.3/32");
        assert_eq!(saved("10.1.2.3/0"), " --to 0.0.0.0/0");
        assert_eq!(saved("10.1.2.3/33"), " --to 10.1.2.3/32");
        assert_eq!(saved("10.1/16"), " --to 10.0.0.0/16");
        assert_eq!(saved("0x0a.1.2.3/0x10"), " --to 10.1.0.0/16");
        let mut p = String::new();
        parsed("10.0.0.0/8").unwrap().print(&mut p, true);
        assert_eq!(p, " to:10.0.0.0/8");
    }

    #[test]
    fn refusals() {
        assert_eq!(
            saved("10.1.2.3/"),
            "NETMAP: bad value for option \"--to\", neither a valid network mask nor valid CIDR (0-32).\n"
        );
        assert_eq!(saved(""), "getaddrinfo: Name or service not known\n");
        assert_eq!(
            saved("nosuchhost.invalid"),
            "getaddrinfo: Temporary failure in name resolution\n"
        );
        for name in ["1.2.3.256", "a b", "-foo", "foo..bar", "x@y", "1.2.3.4 "] {
            assert_eq!(lookup_failure(name), "Name or service not known", "{name}");
        }
        for name in ["foo_bar", "foo.", "a-b.example"] {
            assert_eq!(
                lookup_failure(name),
                "Temporary failure in name resolution",
                "{name}"
            );
        }
        let mut n = Netmap::default();
        assert_eq!(
            n.finish(&RuleCtx::default()).unwrap_err().to_string(),
            "NETMAP: option \"--to\" must be specified\n"
        );
        assert_eq!(n.table(), Some(TableId::Nat));
        assert!(!n.hooks().contains(Hook::Forward));
        assert!(HookMask::of(TableId::Nat.builtin_hooks()).is_subset_of(n.hooks()));
    }
}
