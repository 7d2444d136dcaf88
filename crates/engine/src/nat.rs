//! Network address translation (net/netfilter/nf_nat_core.c,
//! nf_nat_proto.c): choosing a binding for a connection's first packet,
//! and rewriting every later packet of it from the binding kept in its
//! conntrack entry.

use crate::conntrack::{status, ConnId, Conntrack, CtInfo, Dir, Tuple};
use crate::env::Rng;
use crate::time::Time;
use crate::wire::checksum;
use crate::wire::crc32c;
use crate::wire::ipv4::{
    Ipv4Read, Ipv4Write, PROTO_ICMP, PROTO_SCTP, PROTO_TCP, PROTO_UDP, PROTO_UDPLITE,
};
use crate::wire::transport;

/// ICMP_REDIRECT (include/uapi/linux/icmp.h).
const ICMP_REDIRECT: u8 = 5;

/// Source or destination rewriting (`enum nf_nat_manip_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manip {
    Src,
    Dst,
}

/// `struct nf_nat_range2` with its flags spelled out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Range {
    /// NF_NAT_RANGE_MAP_IPS
    pub addrs: Option<(u32, u32)>,
    /// NF_NAT_RANGE_PROTO_SPECIFIED
    pub ports: Option<(u16, u16)>,
    /// NF_NAT_RANGE_PROTO_OFFSET with its base port.
    pub base: Option<u16>,
    pub random: bool,
    pub random_fully: bool,
    pub persistent: bool,
}

impl Range {
    fn random_all(&self) -> bool {
        self.random || self.random_fully
    }
}

/// `HOOK2MANIP`: PREROUTING and OUTPUT rewrite destinations, INPUT and
/// POSTROUTING sources.
pub fn manip_for_hook(hook: palisade_rules::model::Hook) -> Manip {
    use palisade_rules::model::Hook::*;
    match hook {
        Prerouting | Output => Manip::Dst,
        Input | Postrouting | Forward => Manip::Src,
    }
}

fn done_bit(m: Manip) -> u32 {
    match m {
        Manip::Src => status::SRC_NAT_DONE,
        Manip::Dst => status::DST_NAT_DONE,
    }
}

impl Manip {
    pub fn other(self) -> Manip {
        match self {
            Manip::Src => Manip::Dst,
            Manip::Dst => Manip::Src,
        }
    }
}

/// The status bit that says this manip applies to a packet going in
/// `dir`: a reply undoes the other direction's NAT (`statusbit ^=
/// IPS_NAT_MASK` in nf_nat_packet).
fn nat_bit_for(m: Manip, dir: Dir) -> u32 {
    match dir {
        Dir::Original => nat_bit(m),
        Dir::Reply => nat_bit(m.other()),
    }
}

fn nat_bit(m: Manip) -> u32 {
    match m {
        Manip::Src => status::SRC_NAT,
        Manip::Dst => status::DST_NAT,
    }
}

/// `nf_nat_initialized`: this kind of binding is already chosen.
pub fn initialized(ct: &Conntrack, id: ConnId, m: Manip) -> bool {
    ct.get(id).is_some_and(|c| c.has(done_bit(m)))
}

/// The tuple's address and "port" on the manipulated side.
fn side(t: &Tuple, m: Manip) -> (u32, u16) {
    match m {
        Manip::Src => (t.src, t.a),
        Manip::Dst => (t.dst, if t.proto == PROTO_ICMP { t.a } else { t.b }),
    }
}

fn set_side(t: &mut Tuple, m: Manip, addr: u32, port: Option<u16>) {
    match m {
        Manip::Src => {
            t.src = addr;
            if let Some(p) = port {
                t.a = p;
            }
        }
        Manip::Dst => {
            t.dst = addr;
            if let Some(p) = port {
                if t.proto == PROTO_ICMP {
                    t.a = p;
                } else {
                    t.b = p;
                }
            }
        }
    }
}

/// Protocols whose tuples have a rewritable key (nf_nat_l4proto_unique_tuple,
/// l4proto_in_range): ports, or ICMP's id.
fn has_key(proto: u8) -> bool {
    matches!(
        proto,
        PROTO_TCP | PROTO_UDP | PROTO_UDPLITE | PROTO_SCTP | PROTO_ICMP
    )
}

/// `nf_nat_used_tuple`: would `t` as an original tuple clash with
/// another connection's reply?
fn used(ct: &mut Conntrack, now: Time, t: &Tuple, me: ConnId) -> bool {
    match t.invert() {
        Some(reply) => ct.tuple_taken(now, &reply, me),
        None => false,
    }
}

/// `l4proto_in_range`.
fn key_in_range(t: &Tuple, m: Manip, r: &Range) -> bool {
    match r.ports {
        Some((lo, hi)) if has_key(t.proto) => {
            let (_, k) = side(t, m);
            lo <= k && k <= hi
        }
        _ => true,
    }
}

/// `in_range`: would `t`, as the source side of a mapping, satisfy the
/// range (its address, and its port or ICMP id when ports are given)?
fn src_in_range(t: &Tuple, r: &Range) -> bool {
    r.addrs.is_none_or(|(lo, hi)| lo <= t.src && t.src <= hi) && key_in_range(t, Manip::Src, r)
}

/// Chooses the binding for a new connection and records it
/// (`nf_nat_setup_info`).
pub fn setup(ct: &mut Conntrack, now: Time, rng: &mut Rng, id: ConnId, range: &Range, m: Manip) {
    let Some(c) = ct.get(id) else { return };
    // The original tuple as earlier manips left it.
    let Some(curr) = c.tuples[1].invert() else {
        return;
    };
    let orig = c.tuples[0];
    let new = unique_tuple(ct, now, rng, id, &curr, &orig, range, m);
    if new != curr {
        if let Some(reply) = new.invert() {
            ct.alter_reply(id, reply);
        }
        if let Some(c) = ct.get_mut(id) {
            c.status |= nat_bit(m);
        }
    }
    if m == Manip::Src {
        // Every source binding, null ones too, joins nf_nat_bysource.
        ct.bysource_add(id);
    }
    if let Some(c) = ct.get_mut(id) {
        c.status |= done_bit(m);
    }
}

/// `nf_nat_alloc_null_binding`: no rule chose a binding at this hook;
/// keep the addresses (still made unique).
pub fn null_binding(ct: &mut Conntrack, now: Time, rng: &mut Rng, id: ConnId, m: Manip) {
    let Some(c) = ct.get(id) else { return };
    let Some(curr) = c.tuples[1].invert() else {
        return;
    };
    let (addr, _) = side(&curr, m);
    let range = Range {
        addrs: Some((addr, addr)),
        ..Range::default()
    };
    setup(ct, now, rng, id, &range, m);
}

/// `get_unique_tuple`.
#[allow(clippy::too_many_arguments)]
fn unique_tuple(
    ct: &mut Conntrack,
    now: Time,
    rng: &mut Rng,
    id: ConnId,
    curr: &Tuple,
    _orig: &Tuple,
    range: &Range,
    m: Manip,
) -> Tuple {
    // 1) A source mapping keeps the tuple when it is in range and free;
    //    otherwise it reuses the binding of another connection from the
    //    same source if that one fits (find_appropriate_src).
    if m == Manip::Src && !range.random_all() {
        if src_in_range(curr, range) {
            if !used(ct, now, curr, id) {
                return *curr;
            }
        } else if let Some(t) = ct.find_source_mapping(now, curr, |t| src_in_range(t, range)) {
            if !used(ct, now, &t, id) {
                return t;
            }
        }
    }
    // 2) The address: the only one, or a hash-chosen one of the range.
    let mut t = *curr;
    if let Some((lo, hi)) = range.addrs {
        let addr = if lo == hi {
            lo
        } else {
            // find_best_ips_proto: jhash2 of the source address, seeded
            // with the destination unless --persistent, scaled into the
            // range (reciprocal_scale).
            let dst_word = crate::jhash::inet_addr_words(t.dst)[0];
            let seed = if range.persistent { 0 } else { dst_word };
            let j = crate::jhash::jhash2(&crate::jhash::inet_addr_words(t.src), seed);
            let dist = u64::from(hi.saturating_sub(lo)) + 1;
            lo.wrapping_add(((u64::from(j) * dist) >> 32) as u32)
        };
        set_side(&mut t, m, addr, None);
    }
    // 3) The key, only when needed.
    if !range.random_all() {
        if range.ports.is_some() {
            if range.base.is_none()
                && key_in_range(&t, m, range)
                && (range.ports.is_some_and(|(lo, hi)| lo == hi) || !used(ct, now, &t, id))
            {
                return t;
            }
        } else if !used(ct, now, &t, id) {
            return t;
        }
    }
    unique_key(ct, now, rng, id, &mut t, range, m);
    t
}

/// `nf_nat_l4proto_unique_tuple`: a free key in the range.
fn unique_key(
    ct: &mut Conntrack,
    now: Time,
    rng: &mut Rng,
    id: ConnId,
    t: &mut Tuple,
    range: &Range,
    m: Manip,
) {
    if !has_key(t.proto) {
        return;
    }
    let (_, key) = side(t, m);
    let (min, size): (u32, u32) = match range.ports {
        Some((a, b)) => {
            let (lo, hi) = if b < a { (b, a) } else { (a, b) };
            (u32::from(lo), u32::from(hi) - u32::from(lo) + 1)
        }
        None => {
            if t.proto == PROTO_ICMP {
                (0, 65536)
            } else if m == Manip::Dst {
                // A destination rewrite cannot change the port.
                return;
            } else if key < 512 {
                (1, 511)
            } else if key < 1024 {
                (600, 424)
            } else {
                (1024, 64512)
            }
        }
    };
    // `u16 off` in the kernel: it wraps at 65536 as it advances.
    let mut off: u16 = if let Some(base) = range.base {
        key.wrapping_sub(base)
    } else if range.random_all() || m != Manip::Dst {
        rng.next_u32() as u16
    } else {
        0
    };
    // NF_NAT_MAX_ATTEMPTS
    let mut attempts = size.min(128);
    loop {
        for _ in 0..attempts {
            let k = (min + u32::from(off) % size) as u16;
            let (addr, _) = side(t, m);
            set_side(t, m, addr, Some(k));
            if !used(ct, now, t, id) {
                return;
            }
            off = off.wrapping_add(1);
        }
        // Every key tried is taken: keep the last one (the connection
        // will clash at confirmation and its packet be dropped).
        if attempts >= size || attempts < 16 {
            return;
        }
        attempts /= 2;
        off = rng.next_u32() as u16;
    }
}

/// Rewrites one side of the datagram at `ip_off` (the outer header or one
/// quoted in an ICMP error) to `target`'s (`nf_nat_ipv4_manip_pkt`).
fn manip_pkt(pkt: &mut [u8], ip_off: usize, target: &Tuple, m: Manip) -> bool {
    let Some(hdr) = pkt.get(ip_off..ip_off + 20) else {
        return false;
    };
    let hl = usize::from(hdr[0] & 0x0f) * 4;
    let l4_off = ip_off + hl;
    let proto = pkt[ip_off + 9];
    let (old_addr, new_addr) = {
        let h = &pkt[ip_off..];
        match m {
            Manip::Src => (h.src(), target.src),
            Manip::Dst => (h.dst(), target.dst),
        }
    };
    let first_fragment = pkt[ip_off..].frag_offset() == 0;
    if first_fragment {
        match proto {
            PROTO_TCP | PROTO_UDP => {
                if pkt.len() < l4_off + 8 {
                    return false;
                }
                let port_at = l4_off + if m == Manip::Src { 0 } else { 2 };
                let new_port = if m == Manip::Src { target.a } else { target.b };
                let old_port = u16::from_be_bytes([pkt[port_at], pkt[port_at + 1]]);
                pkt[port_at..port_at + 2].copy_from_slice(&new_port.to_be_bytes());
                // TCP's checksum lies beyond the 8 bytes an ICMP error
                // quote is sure to hold (tcp_manip_pkt).
                let csum_at = l4_off + if proto == PROTO_TCP { 16 } else { 6 };
                let full = if proto == PROTO_TCP { 20 } else { 8 };
                if pkt.len() >= l4_off + full {
                    let cur = u16::from_be_bytes([pkt[csum_at], pkt[csum_at + 1]]);
                    if proto == PROTO_TCP || cur != 0 {
                        let mut c =
                            checksum::update32(cur, old_addr.to_be_bytes(), new_addr.to_be_bytes());
                        c = checksum::update16(c, old_port, new_port);
                        if proto == PROTO_UDP && c == 0 {
                            c = 0xffff;
                        }
                        pkt[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
                    }
                }
            }
            PROTO_UDPLITE => {
                // udplite_manip_pkt: the checksum is mandatory and always
                // updated (__udp_manip_pkt with do_csum), a zero result
                // sent as CSUM_MANGLED_0; the pseudo-header and the ports
                // are within any coverage (at least 8 bytes).
                if pkt.len() < l4_off + 8 {
                    return false;
                }
                let (port_at, new_port) = match m {
                    Manip::Src => (l4_off, target.a),
                    Manip::Dst => (l4_off + 2, target.b),
                };
                let old_port = u16::from_be_bytes([pkt[port_at], pkt[port_at + 1]]);
                let csum_at = l4_off + 6;
                let cur = u16::from_be_bytes([pkt[csum_at], pkt[csum_at + 1]]);
                let mut c = checksum::update32(cur, old_addr.to_be_bytes(), new_addr.to_be_bytes());
                c = checksum::update16(c, old_port, new_port);
                if c == 0 {
                    c = 0xffff;
                }
                pkt[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
                pkt[port_at..port_at + 2].copy_from_slice(&new_port.to_be_bytes());
            }
            PROTO_SCTP => {
                // sctp_manip_pkt: the port, then the CRC32c afresh over
                // everything from the SCTP header to the end of the
                // packet (for a header quoted in an ICMP error, to the
                // end of the error), unless fewer than the 12 bytes of
                // the common header are there, as in a short quote.
                let whole = pkt.len() >= l4_off + 12;
                if pkt.len() < l4_off + 8 {
                    return false;
                }
                let (port_at, new_port) = match m {
                    Manip::Src => (l4_off, target.a),
                    Manip::Dst => (l4_off + 2, target.b),
                };
                pkt[port_at..port_at + 2].copy_from_slice(&new_port.to_be_bytes());
                if whole {
                    crc32c::fill_sctp_checksum(&mut pkt[l4_off..]);
                }
            }
            PROTO_ICMP => {
                if pkt.len() < l4_off + 8 {
                    return false;
                }
                // icmp_manip_pkt: only query messages carry an id.
                if matches!(pkt[l4_off], 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18) {
                    let old = u16::from_be_bytes([pkt[l4_off + 4], pkt[l4_off + 5]]);
                    pkt[l4_off + 4..l4_off + 6].copy_from_slice(&target.a.to_be_bytes());
                    let cur = u16::from_be_bytes([pkt[l4_off + 2], pkt[l4_off + 3]]);
                    let c = checksum::update16(cur, old, target.a);
                    pkt[l4_off + 2..l4_off + 4].copy_from_slice(&c.to_be_bytes());
                }
            }
            _ => {}
        }
    }
    let h = &mut pkt[ip_off..];
    match m {
        Manip::Src => h.set_src(new_addr),
        Manip::Dst => h.set_dst(new_addr),
    }
    true
}

/// `nf_nat_packet`: applies the connection's binding for this hook's
/// manip type to a packet travelling in `dir`.
pub fn apply(ct: &Conntrack, id: ConnId, dir: Dir, m: Manip, pkt: &mut [u8]) -> bool {
    let Some(c) = ct.get(id) else { return true };
    if c.status & nat_bit_for(m, dir) == 0 {
        return true;
    }
    let Some(target) = c.tuples[dir.other().index()].invert() else {
        return true;
    };
    manip_pkt(pkt, 0, &target, m)
}

/// Whether `apply` rewrites packets of `dir` at `m` (`nf_nat_packet`'s
/// status bit test), whatever the values.
pub fn rewrites(ct: &Conntrack, id: ConnId, dir: Dir, m: Manip) -> bool {
    ct.get(id)
        .is_some_and(|c| c.status & nat_bit_for(m, dir) != 0)
}

/// `nf_nat_icmp_reply_translation`: an ICMP error RELATED to a NATed
/// connection gets its quoted packet and its outer header rewritten.
pub fn icmp_reply_translation(
    ct: &Conntrack,
    id: ConnId,
    info: CtInfo,
    m: Manip,
    pkt: &mut [u8],
) -> bool {
    let Some(c) = ct.get(id) else { return true };
    let hl = pkt.header_len();
    if pkt.len() < hl + 8 + 20 || !transport::l4_checksum_ok(pkt) {
        return false;
    }
    // nf_nat_icmp_reply_translation: a redirect passes only for a
    // connection with both bindings set up and neither of them NAT.
    if pkt[hl] == ICMP_REDIRECT {
        let done = status::SRC_NAT_DONE | status::DST_NAT_DONE;
        let nat = status::SRC_NAT | status::DST_NAT;
        if c.status & done != done || c.status & nat != 0 {
            return false;
        }
    }
    let dir = info.dir();
    if c.status & nat_bit_for(m, dir) == 0 {
        return true;
    }
    let inner_target = c.tuples[dir.other().index()];
    if !manip_pkt(pkt, hl + 8, &inner_target, m.other()) {
        return false;
    }
    // The ICMP checksum over the changed quote, from scratch.
    pkt[hl + 2..hl + 4].copy_from_slice(&[0, 0]);
    let sum = checksum::of(&pkt[hl..]);
    pkt[hl + 2..hl + 4].copy_from_slice(&sum.to_be_bytes());
    let Some(mut outer) = inner_target.invert() else {
        return true;
    };
    outer.proto = PROTO_ICMP;
    manip_pkt(pkt, 0, &outer, m)
}
