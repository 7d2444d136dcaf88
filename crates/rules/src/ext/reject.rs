//! `-j REJECT`: drop the packet and answer with an ICMP error or a TCP
//! reset (extensions/libipt_REJECT.c; kernel net/ipv4/netfilter/ipt_REJECT.c).
//! iptables-nft keeps it as an xt target (iptables/nft.c `add_target`).

use std::any::Any;

use super::{CheckCtx, Extension, OptCall, OptDef};
use crate::error::{Errno, Error, Result};
use crate::model::{Hook, HookMask, TableId};

const IPPROTO_TCP: u8 = 6;

/// The answer to send, numbered as `enum ipt_reject_with`
/// (include/uapi/linux/netfilter_ipv4/ipt_REJECT.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectWith {
    IcmpNetUnreachable = 0,
    IcmpHostUnreachable = 1,
    IcmpProtoUnreachable = 2,
    IcmpPortUnreachable = 3,
    /// `IPT_ICMP_ECHOREPLY` (4) is refused by userspace and kernel alike.
    IcmpNetProhibited = 5,
    IcmpHostProhibited = 6,
    TcpReset = 7,
    IcmpAdminProhibited = 8,
}

/// libipt_REJECT.c `reject_table`: (type, name, alias), in table order,
/// which is also the order prefixes are tried in.
const TYPES: &[(RejectWith, &str, &str)] = &[
    (
        RejectWith::IcmpNetUnreachable,
        "icmp-net-unreachable",
        "net-unreach",
    ),
    (
        RejectWith::IcmpHostUnreachable,
        "icmp-host-unreachable",
        "host-unreach",
    ),
    (
        RejectWith::IcmpProtoUnreachable,
        "icmp-proto-unreachable",
        "proto-unreach",
    ),
    (
        RejectWith::IcmpPortUnreachable,
        "icmp-port-unreachable",
        "port-unreach",
    ),
    (
        RejectWith::IcmpNetProhibited,
        "icmp-net-prohibited",
        "net-prohib",
    ),
    (
        RejectWith::IcmpHostProhibited,
        "icmp-host-prohibited",
        "host-prohib",
    ),
    (RejectWith::TcpReset, "tcp-reset", "tcp-rst"),
    (
        RejectWith::IcmpAdminProhibited,
        "icmp-admin-prohibited",
        "admin-prohib",
    ),
];

impl RejectWith {
    /// The canonical name iptables prints.
    pub fn name(self) -> &'static str {
        TYPES
            .iter()
            .find(|(w, _, _)| *w == self)
            .map_or("icmp-port-unreachable", |(_, n, _)| n)
    }

    /// libipt_REJECT.c `REJECT_parse`: the first type whose name or alias
    /// starts with `text`, ignoring case (so `""` and `icmp` mean
    /// icmp-net-unreachable).
    pub fn parse(text: &str) -> Result<RejectWith> {
        let found = TYPES
            .iter()
            .find(|(_, n, a)| abbreviates(text, n) || abbreviates(text, a));
        if let Some((w, _, _)) = found {
            return Ok(*w);
        }
        Err(Error::param(format!("unknown reject type \"{text}\"")))
    }
}

/// `strncasecmp(full, text, strlen(text)) == 0`: `text` starts `full`,
/// ignoring ASCII case.
fn abbreviates(text: &str, full: &str) -> bool {
    full.as_bytes()
        .get(..text.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(text.as_bytes()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub with: RejectWith,
}

impl Default for Reject {
    fn default() -> Self {
        // libipt_REJECT.c `REJECT_init`.
        Reject {
            with: RejectWith::IcmpPortUnreachable,
        }
    }
}

impl Reject {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Reject::default())
    }
}

static OPTIONS: &[OptDef] = &[OptDef::value("reject-with")];

impl Extension for Reject {
    fn name(&self) -> &'static str {
        "REJECT"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        if call.name == "reject-with" {
            let parsed = RejectWith::parse(call.arg());
            // REJECT_parse: an unknown type that starts echo-reply or
            // echoreply (ignoring case) is refused after this line.
            let text = call.arg();
            if parsed.is_err()
                && (abbreviates(text, "echo-reply") || abbreviates(text, "echoreply"))
            {
                call.warn("--reject-with echo-reply no longer supported");
            }
            self.with = parsed?;
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --reject-with ");
        out.push_str(self.with.name());
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" reject-with ");
        out.push_str(self.with.name());
    }

    // ipt_REJECT.c `reject_tg_reg.table`.
    fn table(&self) -> Option<TableId> {
        Some(TableId::Filter)
    }

    // ipt_REJECT.c `reject_tg_reg.hooks`.
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Input, Hook::Forward, Hook::Output])
    }

    // ipt_REJECT.c `reject_tg_check`: a TCP reset needs a non-inverted `-p tcp`.
    fn check(&self, ctx: &CheckCtx) -> Result<(), Errno> {
        if self.with == RejectWith::TcpReset && (ctx.proto != IPPROTO_TCP || ctx.proto_invert) {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(arg: &str) -> Result<Reject> {
        let mut r = Reject::default();
        crate::ext::testing::option(&mut r, "reject-with", Some(arg), Default::default())?;
        Ok(r)
    }

    fn ctx(proto: u8, proto_invert: bool) -> CheckCtx {
        CheckCtx {
            table: TableId::Filter,
            hook: Some(Hook::Input),
            proto,
            proto_invert,
        }
    }

    #[test]
    fn echo_reply_warns_then_fails() {
        let line = "--reject-with echo-reply no longer supported";
        for arg in ["echo-reply", "ECHOR", "e", "echoreply"] {
            let (w, e) =
                crate::ext::testing::warnings(&format!("-A INPUT -j REJECT --reject-with {arg}"));
            assert_eq!(w, [line], "{arg}");
            assert_eq!(e, Some(format!("unknown reject type \"{arg}\"")));
        }
        for arg in ["echo-reply-x", "x"] {
            let (w, e) =
                crate::ext::testing::warnings(&format!("-A INPUT -j REJECT --reject-with {arg}"));
            assert!(w.is_empty(), "{arg}");
            assert!(e.is_some());
        }
        let (w, e) = crate::ext::testing::warnings("-A INPUT -j REJECT --reject-with tcp");
        assert!(w.is_empty() && e.is_none());
    }

    #[test]
    fn names_aliases_and_prefixes() {
        assert_eq!(Reject::default().with, RejectWith::IcmpPortUnreachable);
        assert_eq!(parsed("tcp-rst").unwrap().with, RejectWith::TcpReset);
        assert_eq!(
            parsed("host").unwrap().with,
            RejectWith::IcmpHostUnreachable
        );
        assert_eq!(parsed("icmp").unwrap().with, RejectWith::IcmpNetUnreachable);
        assert_eq!(parsed("").unwrap().with, RejectWith::IcmpNetUnreachable);
        assert_eq!(
            parsed("ICMP-HOST-PROHIB").unwrap().with,
            RejectWith::IcmpHostProhibited
        );
        assert_eq!(
            parsed("admin-prohib").unwrap().with,
            RejectWith::IcmpAdminProhibited
        );
        let e = parsed("icmp-host-unreachablex").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown reject type \"icmp-host-unreachablex\""
        );
        assert!(parsed("echo-reply").is_err());
    }

    #[test]
    fn save_and_print() {
        let r = parsed("proto-unreach").unwrap();
        let mut s = String::new();
        r.save(&mut s);
        assert_eq!(s, " --reject-with icmp-proto-unreachable");
        let mut p = String::new();
        r.print(&mut p, true);
        assert_eq!(p, " reject-with icmp-proto-unreachable");
        let mut d = String::new();
        Reject::default().save(&mut d);
        assert_eq!(d, " --reject-with icmp-port-unreachable");
    }

    #[test]
    fn tcp_reset_needs_tcp() {
        let r = parsed("tcp-reset").unwrap();
        assert_eq!(r.check(&ctx(0, false)), Err(Errno::Invalid));
        assert_eq!(r.check(&ctx(IPPROTO_TCP, true)), Err(Errno::Invalid));
        assert_eq!(r.check(&ctx(IPPROTO_TCP, false)), Ok(()));
        assert_eq!(Reject::default().check(&ctx(0, false)), Ok(()));
        assert_eq!(Reject::default().table(), Some(TableId::Filter));
        assert!(!HookMask::of(&[Hook::Prerouting]).is_subset_of(Reject::default().hooks()));
    }
}
