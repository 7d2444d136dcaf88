//! The TFTP helper (net/netfilter/nf_conntrack_tftp.c) and its NAT half
//! (net/netfilter/nf_nat_tftp.c): a read or write request expects the
//! server's answer from any port of the server to the client's port.

use crate::conntrack::expect::{Expect, ExpectNat, CLASS_DEFAULT};
use crate::conntrack::helper::Helper;
use crate::conntrack::{status, ConnId, Conntrack, Dir, Tuple};
use crate::time::Time;
use crate::wire::ipv4::{Ipv4Read, PROTO_UDP};

/// TFTP_OPCODE_READ and TFTP_OPCODE_WRITE.
const OPCODE_READ: u16 = 1;
const OPCODE_WRITE: u16 = 2;

/// `tftp_help`, for every packet of the connection either way (no state
/// check: the request itself is the connection's first packet).
/// `false`: NF_DROP, the expectation could not be made.
pub fn help(ct: &mut Conntrack, now: Time, id: ConnId, pkt: &[u8]) -> bool {
    let at = pkt.header_len() + 8;
    let Some(&[o0, o1]) = pkt.get(at..at + 2) else {
        return true;
    };
    if !matches!(u16::from_be_bytes([o0, o1]), OPCODE_READ | OPCODE_WRITE) {
        return true;
    }
    let Some(c) = ct.get(id) else { return true };
    let (orig, reply) = (c.tuples[0], c.tuples[1]);
    let mut exp = Expect {
        tuple: Tuple {
            src: reply.src,
            dst: reply.dst,
            proto: PROTO_UDP,
            a: 0,
            b: reply.b,
        },
        src_mask: u32::MAX,
        sport_mask: 0,
        master: id,
        class: CLASS_DEFAULT,
        helper: Helper::Tftp,
        expires: now + Time::from_secs(Helper::Tftp.policy().timeout),
        nat: None,
    };
    if c.status & (status::SRC_NAT | status::DST_NAT) != 0 {
        // nf_nat_tftp: the answer is NATed back to the client's port.
        exp.nat = Some(ExpectNat {
            dir: Dir::Reply,
            saved_port: orig.a,
        });
    }
    ct.expects.related(now, exp).is_ok()
}
