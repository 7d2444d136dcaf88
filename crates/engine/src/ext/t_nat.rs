//! `-j DNAT`, `SNAT`, `MASQUERADE`, `REDIRECT`, `NETMAP` (xt_nat.c,
//! xt_MASQUERADE.c / nf_nat_masquerade.c, xt_REDIRECT.c /
//! nf_nat_redirect.c, xt_NETMAP.c): each turns its options into a NAT
//! range for the connection's first packet and hands it to `nat::setup`.

use std::net::Ipv4Addr;

use palisade_rules::ext::dnat::Dnat;
use palisade_rules::ext::masquerade::Masquerade;
use palisade_rules::ext::nat::NatRange;
use palisade_rules::ext::netmap::Netmap;
use palisade_rules::ext::redirect::Redirect;
use palisade_rules::ext::snat::Snat;
use palisade_rules::ext::Extension;
use palisade_rules::model::{Hook, Rule, TableId};

use super::{downcast, HookCtx, PacketTarget, Verdict};
use crate::conntrack::CtRef;
use crate::nat::{self, Manip, Range};
use crate::topology::{RouteDecision, LOOPBACK};

#[derive(Debug)]
enum NatTarget {
    Dnat(Range),
    Snat(Range),
    Masquerade(Range),
    Redirect(Range),
    Netmap { addr: u32, mask: u32 },
}

fn range_of(r: &NatRange) -> Range {
    Range {
        addrs: r.addrs.map(|(a, b)| (u32::from(a), u32::from(b))),
        ports: r.ports,
        base: r.base,
        random: r.random,
        random_fully: r.random_fully,
        persistent: r.persistent,
    }
}

impl PacketTarget for NatTarget {
    fn apply(&self, cx: &mut HookCtx<'_>) -> Verdict {
        let CtRef::Conn(id, _) = cx.meta.ct else {
            return Verdict::Accept;
        };
        let (range, manip) = match self {
            NatTarget::Dnat(r) => (*r, Manip::Dst),
            NatTarget::Snat(r) => (*r, Manip::Src),
            NatTarget::Masquerade(r) => {
                // A locally sent packet without a source yet: leave it.
                if cx.ct.get(id).is_some_and(|c| c.tuples[0].src == 0) {
                    return Verdict::Accept;
                }
                let Some(out) = cx.meta.out_iface else {
                    return Verdict::Drop;
                };
                let next_hop = match cx.topo.route(cx.summary.dst) {
                    RouteDecision::Forward { next_hop, .. } => next_hop,
                    _ => cx.summary.dst,
                };
                // "ate my IP address": no address to masquerade with.
                let Some(src) = cx.topo.select_source(out, next_hop) else {
                    return Verdict::Drop;
                };
                (
                    Range {
                        addrs: Some((src, src)),
                        ..*r
                    },
                    Manip::Src,
                )
            }
            NatTarget::Redirect(r) => {
                let to = if cx.hook == Hook::Output {
                    u32::from(Ipv4Addr::LOCALHOST)
                } else {
                    let dev = cx.meta.in_iface.unwrap_or(LOOPBACK);
                    match cx.topo.interface(dev).addr {
                        Some(a) => a.local,
                        None => return Verdict::Drop,
                    }
                };
                (
                    Range {
                        addrs: Some((to, to)),
                        ..*r
                    },
                    Manip::Dst,
                )
            }
            NatTarget::Netmap { addr, mask } => {
                let manip = nat::manip_for_hook(cx.hook);
                let old = match manip {
                    Manip::Dst => cx.summary.dst,
                    Manip::Src => cx.summary.src,
                };
                let new = (old & !mask) | (addr & mask);
                (
                    Range {
                        addrs: Some((new, new)),
                        ..Range::default()
                    },
                    manip,
                )
            }
        };
        nat::setup(cx.ct, cx.now, &mut cx.env.rng, id, &range, manip);
        Verdict::Accept
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule, _t: TableId) -> Option<Box<dyn PacketTarget>> {
    let t = if let Some(d) = downcast::<Dnat>(ext) {
        NatTarget::Dnat(range_of(&d.range))
    } else if let Some(s) = downcast::<Snat>(ext) {
        NatTarget::Snat(range_of(&s.range))
    } else if let Some(m) = downcast::<Masquerade>(ext) {
        NatTarget::Masquerade(range_of(&m.range))
    } else if let Some(r) = downcast::<Redirect>(ext) {
        NatTarget::Redirect(range_of(&r.range))
    } else {
        let n = downcast::<Netmap>(ext)?;
        NatTarget::Netmap {
            addr: u32::from(n.addr),
            mask: n.mask(),
        }
    };
    Some(Box::new(t))
}
