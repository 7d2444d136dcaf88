//! Packets the host builds in answer to another: ICMP errors
//! (`__icmp_send`, net/ipv4/icmp.c), TCP resets (REJECT's
//! `nf_send_reset`, net/ipv4/netfilter/nf_reject_ipv4.c, and the stack's
//! `tcp_v4_send_reset`), echo replies (`icmp_reply`).

use crate::env::Env;
use crate::meta::{PacketMeta, RouteKind};
use crate::peer;
use crate::time::Time;
use crate::topology::{AddrType, Topology, LOOPBACK};
use crate::wire::checksum;
use crate::wire::ipv4::{self, Ipv4Read, Ipv4Write, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use crate::wire::transport::{self, tcp_flags, Summary, L4};

/// The default TTL (net.ipv4.ip_default_ttl).
pub const DEFAULT_TTL: u8 = 64;
/// IPTOS_PREC_INTERNETCONTROL, ORed into the TOS of ICMP errors.
const TOS_INTERNETCONTROL: u8 = 0xc0;
/// IPTOS_TOS_MASK (RT_TOS).
const TOS_MASK: u8 = 0x1e;
/// INADDR_DUMMY (192.0.0.8), the source of last resort of ICMP errors.
const INADDR_DUMMY: u32 = 0xc000_0008;

/// ICMP types that are errors (`icmp_pointers[].error` in icmp.c: the
/// obsolete types 1, 2, 6, 7, 9 and 10 are marked as errors too).
pub fn is_icmp_error_type(ty: u8) -> bool {
    matches!(ty, 1..=7 | 9..=12)
}

/// The options of an answer: `__ip_options_echo` of the received
/// datagram's compiled options, with the slots `ip_options_build` fills.
#[derive(Debug, Clone, Copy)]
pub struct ReplyOptions {
    data: [u8; 40],
    len: usize,
    /// Offsets in `data` of the record-route slot for our address, and of
    /// the timestamp option's address and time slots.
    rr_addr: Option<usize>,
    ts_addr: Option<usize>,
    ts_time: Option<usize>,
}

impl ReplyOptions {
    const NONE: ReplyOptions = ReplyOptions {
        data: [0; 40],
        len: 0,
        rr_addr: None,
        ts_addr: None,
        ts_time: None,
    };

    /// The header length of an answer carrying them.
    pub fn header_len(&self) -> usize {
        20 + self.len
    }

    /// `ip_options_build`: writes the options after the 20-byte header
    /// in `out` (IHL updated), our address and the time in their slots,
    /// and the header checksum.
    fn build(&self, out: &mut [u8], now: Time) {
        if self.len == 0 {
            return;
        }
        let src = [out[12], out[13], out[14], out[15]];
        let opts = &mut out[20..20 + self.len];
        opts.copy_from_slice(&self.data[..self.len]);
        if let Some(at) = self.rr_addr {
            opts[at..at + 4].copy_from_slice(&src);
        }
        if let Some(at) = self.ts_addr {
            opts[at..at + 4].copy_from_slice(&src);
        }
        if let Some(at) = self.ts_time {
            opts[at..at + 4].copy_from_slice(&midtime(now).to_be_bytes());
        }
        out[0] = 0x40 | (self.header_len() / 4) as u8;
        out.fill_checksum();
    }
}

/// `inet_current_timestamp`: milliseconds since midnight (of the engine's
/// clock, which has no date).
fn midtime(now: Time) -> u32 {
    ((now.0 / 1_000_000) % 86_400_000) as u32
}

/// `__ip_options_echo`: the options an answer to `pkt` carries. Only a
/// received datagram has compiled options (`IPCB(skb)->opt`; a local one
/// has none); `limit` ends the options compiling got through (the offset
/// of a bad option). Record route and timestamp are copied, with room
/// taken for our address (and time); source routes are dropped on
/// receipt here and CIPSO never compiles, so neither is echoed. `None`
/// where Linux gives -EINVAL and sends nothing.
pub fn echo_options(
    topo: &Topology,
    pkt: &[u8],
    meta: &PacketMeta,
    limit: usize,
) -> Option<ReplyOptions> {
    let mut r = ReplyOptions::NONE;
    let hl = pkt.header_len().min(pkt.len());
    if meta.in_iface.is_none() || hl <= 20 {
        return Some(r);
    }
    let (mut rr, mut ts) = (None, None);
    let mut i = 20;
    while i < hl.min(limit) {
        match pkt[i] {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&optlen) = pkt.get(i + 1) else {
            break;
        };
        let optlen = usize::from(optlen);
        if optlen < 2 || optlen > hl - i {
            break;
        }
        match pkt[i] {
            7 if rr.is_none() => rr = Some(&pkt[i..i + optlen]),
            68 if ts.is_none() => ts = Some(&pkt[i..i + optlen]),
            _ => {}
        }
        i += optlen;
    }
    if let Some(o) = rr.filter(|o| o.len() >= 3) {
        let (d, optlen) = (r.len, o.len());
        r.data[d..d + optlen].copy_from_slice(o);
        // Compiling advanced the pointer past the slot it filled: room
        // left means it had room (rr_needaddr).
        let soffset = usize::from(o[2]);
        if (4..=optlen).contains(&soffset) {
            if soffset + 3 > optlen {
                return None;
            }
            r.data[d + 2] = (soffset + 4) as u8;
            r.rr_addr = Some(d + soffset - 1);
        }
        r.len += optlen;
    }
    if let Some(o) = ts.filter(|o| o.len() >= 4) {
        let (d, optlen) = (r.len, o.len());
        r.data[d..d + optlen].copy_from_slice(o);
        let mut soffset = usize::from(o[2]);
        if (5..=optlen).contains(&soffset) {
            // Room left after compiling: it took a slot (ts_needtime, and
            // ts_needaddr for flag 1); a prespecified address that is not
            // ours left the pointer alone, which the echo handles alike.
            let flag = o[3] & 0x0f;
            if flag == 1 {
                if soffset + 3 > optlen {
                    return None;
                }
                r.ts_addr = Some(d + soffset - 1);
                soffset += 4;
            }
            if matches!(flag, 0 | 1 | 3) {
                if soffset + 3 > optlen {
                    return None;
                }
                if flag != 3 {
                    r.ts_time = Some(d + soffset - 1);
                    soffset += 4;
                } else if soffset + 7 <= optlen {
                    let a = d + soffset - 1;
                    let addr = u32::from_be_bytes([
                        r.data[a],
                        r.data[a + 1],
                        r.data[a + 2],
                        r.data[a + 3],
                    ]);
                    if topo.addr_type(addr, None) != AddrType::Unicast {
                        r.ts_time = Some(a + 4);
                        soffset += 8;
                    }
                }
            }
            r.data[d + 2] = soffset as u8;
        }
        r.len += optlen;
    }
    while !r.len.is_multiple_of(4) {
        r.data[r.len] = 0;
        r.len += 1;
    }
    Some(r)
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
    icmp_error_echoing(now, topo, env, pkt, meta, (ty, code, info), usize::MAX)
}

/// `icmp_error` whose answer echoes only the options before offset
/// `limit` (an error found while compiling them).
pub fn icmp_error_echoing(
    now: Time,
    topo: &Topology,
    env: &mut Env,
    pkt: &[u8],
    meta: &PacketMeta,
    (ty, code, info): (u8, u8, u32),
    limit: usize,
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
    let opts = echo_options(topo, pkt, meta, limit)?;
    // icmp_route_lookup: back to the sender; from the address the packet
    // was sent to if it was delivered here (RTCF_LOCAL), else from what
    // the route back gives, else INADDR_DUMMY.
    let back = topo.output_route(s.src).ok()?;
    let src = if meta.route == RouteKind::Local && s.dst != 0 {
        s.dst
    } else if back.src != 0 {
        back.src
    } else {
        INADDR_DUMMY
    };
    let mtu = topo.interface(back.dev).mtu;
    // icmpv4_xrlim_allow: the peer limit applies to the types in
    // icmp_ratemask, unless the packet came in on lo (__icmp_send skips
    // icmpv4_global_allow, leaving apply_ratelimit false) or the error
    // leaves by lo.
    if peer::ratelimited(ty, code) && meta.in_iface != Some(LOOPBACK) && back.dev != LOOPBACK {
        env.peers.xrlim(s.src, now);
    }
    let tos = if is_icmp_error_type(ty) {
        (pkt.tos() & TOS_MASK) | TOS_INTERNETCONTROL
    } else {
        pkt.tos()
    };
    // RFC 1812: as much as fits in 576 bytes, after our header and
    // options.
    let hl = opts.header_len();
    let room = mtu.min(576).saturating_sub(hl + 8);
    if room <= 20 {
        return None;
    }
    let quote = &pkt[..pkt.len().min(room)];
    let total = hl + 8 + quote.len();
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
    opts.build(&mut out, now);
    out[hl] = ty;
    out[hl + 1] = code;
    out[hl + 4..hl + 8].copy_from_slice(&info.to_be_bytes());
    out[hl + 8..].copy_from_slice(quote);
    transport::fill_l4_checksum(&mut out);
    Some(out)
}

/// `nf_ip_checksum` on a datagram at a netfilter hook: the transport
/// checksum (with the pseudo-header for TCP and UDP) summed by
/// `__skb_checksum_complete` from `skb->data`, which is the IP header. A
/// header with a right checksum sums to 0xffff and changes nothing; one
/// whose options were compiled in place (record route, timestamps) still
/// has its old checksum there, and spoils the sum.
pub fn nf_ip_checksum_ok(pkt: &[u8]) -> bool {
    let hl = pkt.header_len().min(pkt.len());
    let proto = pkt.protocol();
    let mut sum = checksum::add(0, &pkt[..hl]);
    sum = checksum::add(sum, &pkt[hl..]);
    if matches!(proto, PROTO_TCP | PROTO_UDP) {
        let Ok(len) = u16::try_from(pkt.len() - hl) else {
            return false;
        };
        sum +=
            checksum::pseudo_header(pkt.src().to_be_bytes(), pkt.dst().to_be_bytes(), proto, len);
    }
    checksum::fold(sum) == 0
}

/// REJECT --reject-with tcp-reset (`nf_send_reset`): `None` for a
/// fragment, a non-TCP packet, a reset, a bad checksum or a broadcast.
/// Its header carries no options (`nf_reject_iphdr_put`).
pub fn reject_reset(env: &mut Env, pkt: &[u8], meta: &PacketMeta) -> Option<Vec<u8>> {
    let s = Summary::read(pkt);
    if s.frag_offset != 0 || meta.route == RouteKind::Broadcast {
        return None;
    }
    let L4::Tcp(h) = s.l4 else { return None };
    if h.flags & tcp_flags::RST != 0 || !nf_ip_checksum_ok(pkt) {
        return None;
    }
    // nf_reject_iphdr_put: TOS 0, ID 0, DF, the route's hop limit.
    Some(build_reset(
        env,
        &s,
        0,
        DEFAULT_TTL,
        &ReplyOptions::NONE,
        Time::ZERO,
    ))
}

/// The stack's answer to a segment for a closed port
/// (`tcp_v4_send_reset` → `ip_send_unicast_reply`): the received TOS
/// without ECN bits, DF, ID 0, the echoed options.
pub fn stack_reset(
    now: Time,
    topo: &Topology,
    env: &mut Env,
    pkt: &[u8],
    meta: &PacketMeta,
) -> Option<Vec<u8>> {
    let s = Summary::read(pkt);
    let L4::Tcp(h) = s.l4 else { return None };
    if h.flags & tcp_flags::RST != 0 {
        return None;
    }
    let opts = echo_options(topo, pkt, meta, usize::MAX)?;
    Some(build_reset(
        env,
        &s,
        pkt.tos() & !0x03,
        DEFAULT_TTL,
        &opts,
        now,
    ))
}

fn build_reset(
    env: &mut Env,
    s: &Summary,
    tos: u8,
    ttl: u8,
    opts: &ReplyOptions,
    now: Time,
) -> Vec<u8> {
    let L4::Tcp(h) = s.l4 else {
        return Vec::new();
    };
    let hl = opts.header_len();
    let total = hl + 20;
    let mut out = env.buffer();
    out.resize(total, 0);
    ipv4::write_header(
        &mut out,
        tos,
        total as u16,
        0,
        true,
        ttl,
        PROTO_TCP,
        s.dst,
        s.src,
    );
    opts.build(&mut out, now);
    let t = &mut out[hl..];
    t[0..2].copy_from_slice(&h.dport.to_be_bytes());
    t[2..4].copy_from_slice(&h.sport.to_be_bytes());
    // nf_reject_ip_tcphdr_put: `oldskb->len - ip_hdrlen - doff * 4` in
    // 32-bit arithmetic, trusting the data offset (it may wrap).
    let payload = (s.l4_len() as u32).wrapping_sub(u32::from(h.header_len));
    if h.flags & tcp_flags::ACK != 0 {
        t[4..8].copy_from_slice(&h.ack.to_be_bytes());
        t[13] = tcp_flags::RST;
    } else {
        let syn = u32::from(h.flags & tcp_flags::SYN != 0);
        let fin = u32::from(h.flags & tcp_flags::FIN != 0);
        let ack = h.seq.wrapping_add(syn + fin).wrapping_add(payload);
        t[8..12].copy_from_slice(&ack.to_be_bytes());
        t[13] = tcp_flags::RST | tcp_flags::ACK;
    }
    t[12] = 5 << 4;
    transport::fill_l4_checksum(&mut out);
    out
}

/// `icmp_reply` to an echo request addressed to `local_addr`, with the
/// request's options echoed; `None` when echoing them fails.
pub fn echo_reply(
    now: Time,
    topo: &Topology,
    env: &mut Env,
    pkt: &[u8],
    meta: &PacketMeta,
    local_addr: u32,
) -> Option<Vec<u8>> {
    let opts = echo_options(topo, pkt, meta, usize::MAX)?;
    let s = Summary::read(pkt);
    let icmp = &pkt[s.header_len..];
    let hl = opts.header_len();
    let total = hl + icmp.len();
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
    opts.build(&mut out, now);
    out[hl..].copy_from_slice(icmp);
    out[hl] = 0;
    transport::fill_l4_checksum(&mut out);
    Some(out)
}
