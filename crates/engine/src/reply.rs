//! Packets the host builds in answer to another: ICMP errors
//! (`__icmp_send`, net/ipv4/icmp.c), TCP resets (REJECT's
//! `nf_send_reset`, net/ipv4/netfilter/nf_reject_ipv4.c, and the stack's
//! `tcp_v4_send_reset`), echo replies (`icmp_reply`).

use crate::conntrack::{CtInfo, CtRef, Dir};
use crate::env::Env;
use crate::meta::{PacketMeta, RouteKind};
use crate::peer;
use crate::time::Time;
use crate::topology::{is_loopback, RouteDecision, Topology, LOOPBACK_MTU};
use crate::wire::ipv4::{self, Ipv4Read, PROTO_ICMP, PROTO_TCP};
use crate::wire::transport::{self, tcp_flags, Summary, L4};

/// The default TTL (net.ipv4.ip_default_ttl).
pub const DEFAULT_TTL: u8 = 64;
/// 127.0.0.1, lo's address.
const LOOPBACK_ADDR: u32 = 0x7f00_0001;
/// IPTOS_PREC_INTERNETCONTROL, ORed into the TOS of ICMP errors.
const TOS_INTERNETCONTROL: u8 = 0xc0;
/// IPTOS_TOS_MASK (RT_TOS).
const TOS_MASK: u8 = 0x1e;

/// ICMP types that are errors (`icmp_pointers[].error`).
pub fn is_icmp_error_type(ty: u8) -> bool {
    matches!(ty, 3 | 4 | 5 | 11 | 12)
}

/// `nf_ct_attach` (nf_conntrack_attach): the conntrack reference an
/// answer to a packet carrying `ct` gets. The answer travels the other
/// way, so it is RELATED in the reverse direction; ICMP errors get it in
/// `icmp_glue_bits`, REJECT's resets in `nf_send_reset`. NAT then
/// translates such an answer from its connection's binding (inner packet
/// included, `nf_nat_icmp_reply_translation`), even while the connection
/// is unconfirmed and no lookup could find it.
pub fn ct_attach(ct: CtRef) -> CtRef {
    match ct {
        CtRef::Conn(id, info) => CtRef::Conn(
            id,
            if info.dir() == Dir::Original {
                CtInfo::RelatedReply
            } else {
                CtInfo::Related
            },
        ),
        other => other,
    }
}

/// `__icmp_send`'s checks and construction. `pkt` is the offending
/// datagram as it is now; `meta.route` says how it was routed. Returns the
/// error datagram, to be sent with `ip_local_out`, or `None` where Linux
/// sends nothing.
#[allow(clippy::too_many_arguments)]
pub fn icmp_error(
    now: Time,
    topo: &Topology,
    env: &mut Env,
    pkt: &[u8],
    meta: &PacketMeta,
    ty: u8,
    code: u8,
    info: u32,
) -> Option<Vec<u8>> {
    if matches!(meta.route, RouteKind::Broadcast | RouteKind::None) {
        return None;
    }
    let s = Summary::read(pkt);
    if s.frag_offset != 0 {
        return None;
    }
    if is_icmp_error_type(ty) && s.protocol == PROTO_ICMP {
        // No error about an error (an unknown type counts as one).
        let inner_ty = *pkt.get(s.header_len)?;
        if inner_ty > 18 || is_icmp_error_type(inner_ty) {
            return None;
        }
    }
    // icmp_xmit_lock: the ICMP socket is busy sending the packet this
    // error would be about (a REJECT in OUTPUT or POSTROUTING of the
    // kernel's own echo reply or error).
    if env.icmp_xmit_locked {
        return None;
    }
    // The source: the address the packet was sent to if it was ours,
    // else what routing back to its sender picks.
    let back = topo.route(s.src);
    let (src, mtu) = match back {
        RouteDecision::Forward { dev, next_hop } => (
            if meta.route == RouteKind::Local {
                s.dst
            } else {
                topo.select_source(dev, next_hop)?
            },
            topo.interface(dev).mtu,
        ),
        RouteDecision::Local { .. } => (
            if meta.route == RouteKind::Local {
                s.dst
            } else if is_loopback(s.src) {
                // The route to 127/8: `local 127.0.0.0/8 ... src 127.0.0.1`.
                LOOPBACK_ADDR
            } else {
                // ip_route_output_key_hash_rcu: to a local address the
                // source is the local route's prefsrc, the address itself.
                s.src
            },
            LOOPBACK_MTU,
        ),
        RouteDecision::Unreachable => return None,
    };
    if peer::ratelimited(ty, code) && !matches!(back, RouteDecision::Local { .. }) {
        env.peers.xrlim(s.src, now);
    }
    let tos = if is_icmp_error_type(ty) {
        (pkt.tos() & TOS_MASK) | TOS_INTERNETCONTROL
    } else {
        pkt.tos()
    };
    // RFC 1812: as much as fits in 576 bytes.
    let room = mtu.min(576) - 20 - 8;
    let quote = &pkt[..pkt.len().min(room)];
    let total = 20 + 8 + quote.len();
    let mut out = env.buffer();
    out.resize(total, 0);
    let id = env.next_ip_id();
    ipv4::write_header(
        &mut out,
        tos,
        total as u16,
        id,
        false,
        DEFAULT_TTL,
        PROTO_ICMP,
        src,
        s.src,
    );
    out[20] = ty;
    out[21] = code;
    out[24..28].copy_from_slice(&info.to_be_bytes());
    out[28..].copy_from_slice(quote);
    transport::fill_l4_checksum(&mut out);
    Some(out)
}

/// REJECT --reject-with tcp-reset (`nf_send_reset`): `None` for a
/// fragment, a non-TCP packet, a reset, a bad checksum or a broadcast.
pub fn reject_reset(env: &mut Env, pkt: &[u8], meta: &PacketMeta) -> Option<Vec<u8>> {
    let s = Summary::read(pkt);
    if s.frag_offset != 0 || meta.route == RouteKind::Broadcast {
        return None;
    }
    let L4::Tcp(h) = s.l4 else { return None };
    if h.flags & tcp_flags::RST != 0 || !transport::l4_checksum_ok(pkt) {
        return None;
    }
    // nf_reject_iphdr_put: TOS 0, ID 0, DF, the route's hop limit.
    Some(build_reset(env, &s, pkt, 0, DEFAULT_TTL))
}

/// The stack's answer to a segment for a closed port
/// (`tcp_v4_send_reset`): the received TOS without ECN bits, DF, ID 0.
pub fn stack_reset(env: &mut Env, pkt: &[u8]) -> Option<Vec<u8>> {
    let s = Summary::read(pkt);
    let L4::Tcp(h) = s.l4 else { return None };
    if h.flags & tcp_flags::RST != 0 {
        return None;
    }
    Some(build_reset(env, &s, pkt, pkt.tos() & !0x03, DEFAULT_TTL))
}

fn build_reset(env: &mut Env, s: &Summary, pkt: &[u8], tos: u8, ttl: u8) -> Vec<u8> {
    let L4::Tcp(h) = s.l4 else {
        return Vec::new();
    };
    let mut out = env.buffer();
    out.resize(40, 0);
    ipv4::write_header(&mut out, tos, 40, 0, true, ttl, PROTO_TCP, s.dst, s.src);
    let t = &mut out[20..];
    t[0..2].copy_from_slice(&h.dport.to_be_bytes());
    t[2..4].copy_from_slice(&h.sport.to_be_bytes());
    let payload = s.l4_len().saturating_sub(usize::from(h.header_len)) as u32;
    if h.flags & tcp_flags::ACK != 0 {
        t[4..8].copy_from_slice(&h.ack.to_be_bytes());
        t[13] = tcp_flags::RST;
    } else {
        let syn = u32::from(h.flags & tcp_flags::SYN != 0);
        let fin = u32::from(h.flags & tcp_flags::FIN != 0);
        let ack = h.seq.wrapping_add(syn + fin + payload);
        t[8..12].copy_from_slice(&ack.to_be_bytes());
        t[13] = tcp_flags::RST | tcp_flags::ACK;
    }
    t[12] = 5 << 4;
    let _ = pkt;
    transport::fill_l4_checksum(&mut out);
    out
}

/// `icmp_reply` to an echo request addressed to `local_addr`.
pub fn echo_reply(env: &mut Env, pkt: &[u8], local_addr: u32) -> Vec<u8> {
    let s = Summary::read(pkt);
    let icmp = &pkt[s.header_len..];
    let total = 20 + icmp.len();
    let mut out = env.buffer();
    out.resize(total, 0);
    let id = env.next_ip_id();
    ipv4::write_header(
        &mut out,
        pkt.tos(),
        total as u16,
        id,
        false,
        DEFAULT_TTL,
        PROTO_ICMP,
        local_addr,
        s.src,
    );
    out[20..].copy_from_slice(icmp);
    out[20] = 0;
    transport::fill_l4_checksum(&mut out);
    out
}
