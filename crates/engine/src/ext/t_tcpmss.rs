//! `-j TCPMSS` (xt_TCPMSS.c `tcpmss_tg4`, `tcpmss_mangle_packet`):
//! lowers the MSS option of TCP segments to `--set-mss` or to the path
//! MTU less 40 (`--clamp-mss-to-pmtu`: the smaller of the route's MTU and
//! that of the route back to the source), adding the option (at most 536)
//! to a segment without one and without data; checksums are updated
//! incrementally. iptables-nft loads it through nft_compat, which skips
//! the check that the rule matches SYNs only: any TCP segment the rule
//! reaches is treated.

use palisade_rules::ext::tcpmss_tg::{Mss, Tcpmss};
use palisade_rules::ext::Extension;
use palisade_rules::model::{Rule, TableId};

use super::{downcast, HookCtx, PacketTarget, Verdict};
use crate::topology::Topology;
use crate::wire::checksum;
use crate::wire::ipv4::{Ipv4Read, Ipv4Write};
use crate::wire::transport::Summary;

/// include/net/ip.h `IP_MAX_MTU`: what `ip_dst_mtu_maybe_forward` caps a
/// route's MTU at (lo's 65536 becomes 65520).
const IP_MAX_MTU: u32 = 0xfff0;
/// `sizeof(struct iphdr) + sizeof(struct tcphdr)`.
const MINLEN: u32 = 40;
const TCPOPT_MSS: u8 = 2;
const TCPOLEN_MSS: usize = 4;
/// RFC 1122's default send MSS, the most an added option says (IPv4).
const DEFAULT_MSS: u16 = 536;

#[derive(Debug)]
struct TcpmssTarget(Mss);

/// `dst_mtu` of a route out of `dev` (no route MTUs, no learned PMTU).
fn route_mtu(topo: &Topology, dev: u16) -> u32 {
    (topo.interface(dev).mtu as u32).min(IP_MAX_MTU)
}

/// `tcpmss_reverse_mtu`: the MTU of the output route to `src`, or ~0
/// without one.
fn reverse_mtu(topo: &Topology, src: u32) -> u32 {
    topo.output_route(src)
        .map_or(u32::MAX, |r| route_mtu(topo, r.dev))
}

/// xt_TCPMSS.c `optlen`: zero-length options advance by one.
fn optlen(opt: &[u8], i: usize) -> usize {
    if opt[i] <= 1 || opt[i + 1] == 0 {
        1
    } else {
        usize::from(opt[i + 1])
    }
}

/// What `tcpmss_mangle_packet` did.
enum Mangled {
    Kept,
    Changed,
    /// The option was added: the datagram is 4 bytes longer.
    Grew,
    Drop,
}

fn mangle(pkt: &mut Vec<u8>, tcphoff: usize, newmss: impl FnOnce() -> Option<u16>) -> Mangled {
    let len = pkt.len().saturating_sub(tcphoff);
    if len < 20 {
        return Mangled::Drop;
    }
    let tcp_hdrlen = usize::from(pkt[tcphoff + 12] >> 4) * 4;
    if len < tcp_hdrlen || tcp_hdrlen < 20 {
        return Mangled::Drop;
    }
    let Some(mut newmss) = newmss() else {
        return Mangled::Drop;
    };
    let check = |p: &[u8]| u16::from_be_bytes([p[tcphoff + 16], p[tcphoff + 17]]);
    let set_check =
        |p: &mut [u8], c: u16| p[tcphoff + 16..tcphoff + 18].copy_from_slice(&c.to_be_bytes());
    let opt = &pkt[tcphoff..tcphoff + tcp_hdrlen];
    let mut i = 20;
    while i + TCPOLEN_MSS <= tcp_hdrlen {
        if opt[i] == TCPOPT_MSS && usize::from(opt[i + 1]) == TCPOLEN_MSS {
            let oldmss = u16::from_be_bytes([opt[i + 2], opt[i + 3]]);
            // "Never increase MSS, even when setting it".
            if oldmss <= newmss {
                return Mangled::Kept;
            }
            let at = tcphoff + i + 2;
            pkt[at..at + 2].copy_from_slice(&newmss.to_be_bytes());
            let c = checksum::update16(check(pkt), oldmss, newmss);
            set_check(pkt, c);
            return Mangled::Changed;
        }
        i += optlen(opt, i);
    }
    // Data after the header: the option cannot be added without moving
    // it. A full header (doff 15) has no room.
    if len > tcp_hdrlen || tcp_hdrlen >= 60 {
        return Mangled::Kept;
    }
    newmss = newmss.min(DEFAULT_MSS);
    // The option goes first, before the options already there.
    let end = pkt.len();
    pkt.extend_from_slice(&[0; TCPOLEN_MSS]);
    pkt.copy_within(tcphoff + 20..end, tcphoff + 20 + TCPOLEN_MSS);
    let [hi, lo] = newmss.to_be_bytes();
    let option = [TCPOPT_MSS, TCPOLEN_MSS as u8, hi, lo];
    pkt[tcphoff + 20..tcphoff + 24].copy_from_slice(&option);
    // The pseudo-header's length, the option's bytes, the data offset.
    let mut c = checksum::update16(check(pkt), len as u16, (len + TCPOLEN_MSS) as u16);
    c = checksum::update32(c, [0; 4], option);
    let old_word = u16::from_be_bytes([pkt[tcphoff + 12], pkt[tcphoff + 13]]);
    pkt[tcphoff + 12] += (TCPOLEN_MSS as u8 / 4) << 4;
    let new_word = u16::from_be_bytes([pkt[tcphoff + 12], pkt[tcphoff + 13]]);
    c = checksum::update16(c, old_word, new_word);
    set_check(pkt, c);
    Mangled::Grew
}

impl PacketTarget for TcpmssTarget {
    fn apply(&self, cx: &mut HookCtx<'_>) -> Verdict {
        // A later fragment has no TCP header.
        if cx.summary.frag_offset != 0 {
            return Verdict::Continue;
        }
        let topo = cx.topo;
        let (src, out) = (cx.summary.src, cx.meta.out_iface);
        let newmss = || match self.0 {
            Mss::Set(v) => Some(v),
            Mss::ClampPmtu => {
                // skb_dst's MTU (clamping is allowed only where the packet
                // is routed) and the reverse route's.
                let dst_mtu = out.map_or(u32::MAX, |d| route_mtu(topo, d));
                let min_mtu = dst_mtu.min(reverse_mtu(topo, src));
                // "unknown or invalid path-MTU": dropped.
                (min_mtu > MINLEN).then(|| (min_mtu - MINLEN) as u16)
            }
        };
        match mangle(cx.pkt, cx.summary.header_len, newmss) {
            Mangled::Drop => return Verdict::Drop,
            Mangled::Grew => {
                // tcpmss_tg4: the IP total length, checksum updated.
                let old = cx.pkt.total_len();
                let new = old.wrapping_add(TCPOLEN_MSS as u16);
                cx.pkt[2..4].copy_from_slice(&new.to_be_bytes());
                let c = checksum::update16(cx.pkt.header_checksum(), old, new);
                cx.pkt.set_checksum_field(c);
                cx.summary = Summary::read(cx.pkt);
            }
            Mangled::Changed | Mangled::Kept => {}
        }
        Verdict::Continue
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule, _t: TableId) -> Option<Box<dyn PacketTarget>> {
    let t = downcast::<Tcpmss>(ext)?;
    Some(Box::new(TcpmssTarget(t.mss?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::transport;

    /// A TCP segment 1.1.1.1:1 > 2.2.2.2:2 with `opts` and `data`, its
    /// checksums right.
    fn segment(opts: &[u8], data: &[u8]) -> Vec<u8> {
        let tcp_len = 20 + opts.len();
        let total = 20 + tcp_len + data.len();
        let mut p = vec![
            0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
        ];
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p.extend_from_slice(&[0, 1, 0, 2, 0, 0, 0, 9, 0, 0, 0, 0]);
        p.extend_from_slice(&[((tcp_len / 4) as u8) << 4, 0x02, 0xfa, 0xf0, 0, 0, 0, 0]);
        p.extend_from_slice(opts);
        p.extend_from_slice(data);
        p.fill_checksum();
        transport::fill_l4_checksum(&mut p);
        p
    }

    fn run(p: &mut Vec<u8>, mss: u16) -> &'static str {
        match mangle(p, 20, || Some(mss)) {
            Mangled::Kept => "kept",
            Mangled::Changed => "changed",
            Mangled::Grew => "grew",
            Mangled::Drop => "drop",
        }
    }

    #[test]
    fn lowers_never_raises() {
        let mut p = segment(&[1, 1, 2, 4, 0x05, 0xb4, 1, 0], &[]);
        assert_eq!(run(&mut p, 1400), "changed");
        assert_eq!(&p[40..48], &[1, 1, 2, 4, 0x05, 0x78, 1, 0]);
        assert!(transport::l4_checksum_ok(&p));
        assert_eq!(run(&mut p, 1460), "kept");
        assert_eq!(&p[44..46], &[0x05, 0x78]);
    }

    #[test]
    fn adds_the_option_first_at_most_536() {
        let mut p = segment(&[1, 3, 3, 7], &[]);
        assert_eq!(run(&mut p, 1400), "grew");
        assert_eq!(p.len(), 48);
        assert_eq!(p[32] >> 4, 7);
        assert_eq!(&p[40..48], &[2, 4, 0x02, 0x18, 1, 3, 3, 7]);
        // The IP length is the caller's; set it as tcpmss_tg4 does.
        p[2..4].copy_from_slice(&48u16.to_be_bytes());
        assert!(transport::l4_checksum_ok(&p));
        let mut q = segment(&[], &[]);
        assert_eq!(run(&mut q, 100), "grew");
        assert_eq!(&q[40..44], &[2, 4, 0, 100]);
    }

    #[test]
    fn leaves_data_segments_and_full_headers() {
        let mut p = segment(&[], b"x");
        assert_eq!(run(&mut p, 100), "kept");
        let mut p = segment(&[1; 40], &[]);
        assert_eq!(run(&mut p, 100), "kept");
        // Zero-length options advance by one; an MSS of the wrong length
        // is not an MSS.
        let mut p = segment(&[8, 0, 2, 3, 0, 0, 0, 0], &[]);
        assert_eq!(run(&mut p, 100), "grew");
    }

    #[test]
    fn malformed_segments_are_dropped() {
        let mut p = segment(&[], &[]);
        p.truncate(39);
        assert_eq!(run(&mut p, 100), "drop");
        let mut p = segment(&[], &[]);
        p[32] = 0x40;
        assert_eq!(run(&mut p, 100), "drop");
        let mut p = segment(&[], &[]);
        p[32] = 0x60;
        assert_eq!(run(&mut p, 100), "drop");
        let mut p = segment(&[], &[]);
        assert!(matches!(mangle(&mut p, 20, || None), Mangled::Drop));
    }
}
