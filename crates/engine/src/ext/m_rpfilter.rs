//! `-m rpfilter` (ipt_rpfilter.c `rpfilter_mt`): reverse-path
//! validation at PREROUTING: would the route back to the source leave by
//! the interface the packet came in on? palisade has no policy routing,
//! so `--validmark` (the mark in the lookup's key) changes nothing.

use palisade_rules::ext::rpfilter::Rpfilter;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};
use crate::topology::{self, AddrType, IfIndex, Topology, LOOPBACK};

/// include/uapi/linux/netfilter/xt_rpfilter.h.
const XT_RPFILTER_LOOSE: u8 = 1 << 0;
const XT_RPFILTER_ACCEPT_LOCAL: u8 = 1 << 2;
const XT_RPFILTER_INVERT: u8 = 1 << 3;

#[derive(Debug)]
struct RpfilterMatch {
    flags: u8,
}

/// `rpfilter_lookup_reverse`: a FIB lookup of `src`; a unicast route (or
/// a local one with --accept-local) whose next hop uses `dev`, or any
/// such route with --loose.
fn lookup_reverse(topo: &Topology, src: u32, dev: IfIndex, flags: u8) -> bool {
    let Ok((ty, nh_dev)) = topo.fib_lookup(src) else {
        return false;
    };
    let usable = match ty {
        AddrType::Unicast => true,
        AddrType::Local => flags & XT_RPFILTER_ACCEPT_LOCAL != 0,
        _ => false,
    };
    usable && (nh_dev == dev || flags & XT_RPFILTER_LOOSE != 0)
}

impl RpfilterMatch {
    fn test(&self, topo: &Topology, src: u32, dst: u32, in_dev: IfIndex, looped: bool) -> bool {
        let invert = self.flags & XT_RPFILTER_INVERT != 0;
        // rpfilter_is_loopback: PACKET_LOOPBACK, or received on lo.
        if looped || in_dev == LOOPBACK {
            return !invert;
        }
        // A zero-network source is fine towards the limited broadcast or
        // a link-local multicast group (DHCP, IGMP).
        if topology::is_zeronet(src)
            && (dst == topology::LIMITED_BROADCAST || topology::is_local_multicast(dst))
        {
            return !invert;
        }
        lookup_reverse(topo, src, in_dev, self.flags) != invert
    }
}

impl PacketMatch for RpfilterMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        // Registered for PREROUTING only: there is always an input device.
        let Some(in_dev) = cx.meta.in_iface else {
            return false;
        };
        // The copy of a broadcast this host sent (PACKET_LOOPBACK).
        let looped = cx.meta.local_origin;
        self.test(cx.topo, cx.summary.src, cx.summary.dst, in_dev, looped)
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let r = downcast::<Rpfilter>(ext)?;
    Some(Box::new(RpfilterMatch { flags: r.flags }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_paths() {
        let mut topo = Topology::new();
        topo.add_interface("eth0", Some("198.51.100.1/24")).unwrap();
        topo.add_interface("eth1", Some("172.17.0.1/16")).unwrap();
        topo.add_route("default via 198.51.100.254 dev eth0")
            .unwrap();
        topo.add_route("unreachable 10.9.0.0/16").unwrap();
        let (eth0, eth1) = (1, 2);
        let m = |flags| RpfilterMatch { flags };
        let a = |s: &str| u32::from(s.parse::<std::net::Ipv4Addr>().unwrap());
        let strict = m(0);
        let loose = m(XT_RPFILTER_LOOSE);
        let local = m(XT_RPFILTER_ACCEPT_LOCAL);
        let inv = m(XT_RPFILTER_INVERT);
        let dst = a("198.51.100.1");
        // The way back is the way in.
        assert!(strict.test(&topo, a("203.0.113.9"), dst, eth0, false));
        assert!(strict.test(&topo, a("172.17.0.2"), dst, eth1, false));
        // Spoofed: the way back is another interface; --loose accepts any.
        assert!(!strict.test(&topo, a("172.17.0.2"), dst, eth0, false));
        assert!(loose.test(&topo, a("172.17.0.2"), dst, eth0, false));
        assert!(inv.test(&topo, a("172.17.0.2"), dst, eth0, false));
        // No way back at all: an error route.
        assert!(!loose.test(&topo, a("10.9.1.1"), dst, eth0, false));
        // Own addresses: only with --accept-local, on their interface.
        assert!(!strict.test(&topo, a("198.51.100.1"), dst, eth0, false));
        assert!(local.test(&topo, a("198.51.100.1"), dst, eth0, false));
        assert!(!local.test(&topo, a("198.51.100.1"), dst, eth1, false));
        // A subnet broadcast as source is never valid.
        let any = m(XT_RPFILTER_LOOSE | XT_RPFILTER_ACCEPT_LOCAL);
        assert!(!any.test(&topo, a("172.17.255.255"), dst, eth1, false));
        // DHCP discover; lo and looped packets pass.
        assert!(strict.test(&topo, 0, u32::MAX, eth1, false));
        assert!(strict.test(&topo, 0, a("224.0.0.1"), eth1, false));
        assert!(strict.test(&topo, a("172.17.0.2"), dst, LOOPBACK, false));
        assert!(!inv.test(&topo, a("172.17.0.2"), dst, eth0, true));
    }
}
