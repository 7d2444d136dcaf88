//! Conntrack helpers at work: where Linux 6.x calls them
//! (`nf_ct_call_helper` from `nf_confirm`, last at POSTROUTING and INPUT,
//! after NAT rewrote the headers, then sequence adjustment), the parsers
//! (one file per helper), and what NAT helpers share
//! (net/netfilter/nf_nat_helper.c: payload mangling, a free port for an
//! expectation, `nf_nat_follow_master`).

mod ftp;
mod tftp;

use crate::conntrack::expect::{Expect, ExpectError};
use crate::conntrack::helper::Helper;
use crate::conntrack::{seqadj, status, ConnId, Conntrack, CtInfo};
use crate::env::Rng;
use crate::nat::{self, Manip, Range};
use crate::time::Time;
use crate::wire::ipv4::{Ipv4Read, Ipv4Write, PROTO_TCP, PROTO_UDP};
use crate::wire::transport;

/// The protocol each helper parses (`helper->l4proto`).
fn l4proto(h: Helper) -> u8 {
    match h {
        Helper::Ftp => PROTO_TCP,
        Helper::Tftp => PROTO_UDP,
    }
}

/// `nf_ct_call_helper` (nf_conntrack_proto.c) for a packet leaving the
/// last hook: the connection's helper reads it (and, under NAT, may
/// rewrite it), then a connection whose payload a helper resized has the
/// packet's sequence numbers adjusted (not on loopback:
/// `nf_is_loopback_packet`). `false`: NF_DROP.
///
/// The helper and the adjustment apply to the connection's own protocol
/// only, whole datagrams only (`nf_confirm_get_protoff`); an ICMP error
/// RELATED to a helped connection is left alone.
pub fn call(
    ct: &mut Conntrack,
    rng: &mut Rng,
    now: Time,
    id: ConnId,
    info: CtInfo,
    pkt: &mut Vec<u8>,
    loopback: bool,
) -> bool {
    let Some(c) = ct.get(id) else { return true };
    let helper = c.help.as_ref().map(|h| h.helper);
    let seqadj_needed = c.has(status::SEQ_ADJUST) && !loopback;
    if helper.is_none() && !seqadj_needed {
        return true;
    }
    // helper->help() do not expect ICMP packets.
    if info == CtInfo::RelatedReply || pkt.is_fragment() || pkt.protocol() != c.tuples[0].proto {
        return true;
    }
    if let Some(h) = helper {
        if pkt.header_len() < pkt.len() && l4proto(h) == pkt.protocol() {
            let ok = match h {
                Helper::Ftp => ftp::help(ct, rng, now, id, info, pkt),
                Helper::Tftp => tftp::help(ct, now, id, pkt),
            };
            if !ok {
                return false;
            }
        }
    }
    if seqadj_needed && pkt.protocol() == PROTO_TCP {
        let d = info.dir();
        let Some(h) = ct.get(id).and_then(|c| c.help.as_deref()) else {
            return true;
        };
        let (this_way, other_way) = (h.seqadj[d.index()], h.seqadj[d.other().index()]);
        let hl = pkt.header_len();
        if !seqadj::adjust(&mut pkt[hl..], &this_way, &other_way) {
            return false;
        }
    }
    true
}

/// `nf_nat_follow_master` for a connection an expectation with NAT just
/// started: source and destination bound as the expectation asked.
pub fn follow_master(ct: &mut Conntrack, rng: &mut Rng, now: Time, id: ConnId) {
    let Some(f) = ct.get_mut(id).and_then(|c| c.follow_master.take()) else {
        return;
    };
    let src = Range {
        addrs: Some((f.src, f.src)),
        ..Range::default()
    };
    nat::setup(ct, now, rng, id, &src, Manip::Src);
    let dst = Range {
        addrs: Some((f.dst, f.dst)),
        ports: Some((f.dport, f.dport)),
        ..Range::default()
    };
    nat::setup(ct, now, rng, id, &dst, Manip::Dst);
}

/// `nf_nat_exp_find_port`: registers `exp` with its destination port
/// `port` if free, else with random ones above it (128 tries at most);
/// the port it got, 0 for none.
fn exp_find_port(ct: &mut Conntrack, rng: &mut Rng, now: Time, exp: &mut Expect, port: u16) -> u16 {
    const MAX_ATTEMPTS: i32 = 128;
    let min = port;
    let range = i32::from(u16::MAX) - i32::from(port);
    let mut attempts_left = range.min(MAX_ATTEMPTS);
    let mut port = port;
    loop {
        exp.tuple.b = port;
        match ct.expects.related(now, *exp) {
            Ok(()) => return port,
            Err(ExpectError::Busy) => {
                attempts_left -= 1;
                if attempts_left < 0 {
                    return 0;
                }
                // get_random_u32_below(range); range > 0 here.
                let r = (u64::from(rng.next_u32()) * range as u64) >> 32;
                port = min.wrapping_add(r as u16);
            }
            Err(_) => return 0,
        }
    }
}

/// `__nf_nat_mangle_tcp_packet`'s rewrite: the `len` payload bytes at
/// `off` become `rep`; the IP total length and both checksums are made
/// right again (Linux finishes the TCP checksum over the whole segment:
/// `nf_nat_csum_recalc` turns it into CHECKSUM_PARTIAL). `false`: the
/// datagram would outgrow 65535 bytes (`enlarge_skb`).
fn mangle_tcp(pkt: &mut Vec<u8>, off: usize, len: usize, rep: &[u8]) -> bool {
    let hl = pkt.header_len();
    let Some(&doff) = pkt.get(hl + 12) else {
        return false;
    };
    let at = hl + usize::from(doff >> 4) * 4 + off;
    if at + len > pkt.len() || pkt.len() - len + rep.len() > usize::from(u16::MAX) {
        return false;
    }
    pkt.splice(at..at + len, rep.iter().copied());
    let total = pkt.len() as u16;
    pkt[2..4].copy_from_slice(&total.to_be_bytes());
    pkt.fill_checksum();
    transport::fill_l4_checksum(pkt);
    true
}
