//! Connection tuples (`struct nf_conntrack_tuple`) and their inversion.

use crate::wire::ipv4::{PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use crate::wire::transport::{Summary, L4};

/// One direction of a connection. For TCP/UDP `a`/`b` are the source and
/// destination ports; for ICMP `a` is the echo id and `b` the type and
/// code (`type << 8 | code`); zero for other protocols, except what
/// conntrack fills in after `Tuple::of` (UDP-Lite ports, GRE keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tuple {
    pub src: u32,
    pub dst: u32,
    pub proto: u8,
    pub a: u16,
    pub b: u16,
}

/// Which way a packet travels relative to its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    Original = 0,
    Reply = 1,
}

impl Dir {
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn other(self) -> Dir {
        match self {
            Dir::Original => Dir::Reply,
            Dir::Reply => Dir::Original,
        }
    }
}

/// ICMP query types and their answers (nf_conntrack_proto_icmp.c `invmap`).
fn icmp_inverse(ty: u8) -> Option<u8> {
    match ty {
        8 => Some(0),
        0 => Some(8),
        13 => Some(14),
        14 => Some(13),
        15 => Some(16),
        16 => Some(15),
        17 => Some(18),
        18 => Some(17),
        _ => None,
    }
}

impl Tuple {
    /// `nf_ct_get_tuple`: the tuple a packet belongs to, `None` when the
    /// transport header is missing or truncated (the packet is INVALID).
    pub fn of(s: &Summary) -> Option<Tuple> {
        let (a, b) = match (s.protocol, s.l4) {
            (PROTO_TCP, L4::Tcp(t)) => (t.sport, t.dport),
            (PROTO_UDP, L4::Udp { sport, dport }) => (sport, dport),
            (PROTO_ICMP, L4::Icmp { ty, code, rest }) => (
                u16::from_be_bytes([rest[0], rest[1]]),
                u16::from(ty) << 8 | u16::from(code),
            ),
            (PROTO_TCP | PROTO_UDP | PROTO_ICMP, _) => return None,
            _ => (0, 0),
        };
        Some(Tuple {
            src: s.src,
            dst: s.dst,
            proto: s.protocol,
            a,
            b,
        })
    }

    pub fn has_ports(&self) -> bool {
        matches!(self.proto, PROTO_TCP | PROTO_UDP)
    }

    pub fn icmp_type(&self) -> u8 {
        (self.b >> 8) as u8
    }
    pub fn icmp_code(&self) -> u8 {
        self.b as u8
    }

    /// `nf_ct_invert_tuple`: the tuple of the answer; `None` for ICMP
    /// types that have no answer.
    pub fn invert(&self) -> Option<Tuple> {
        let (a, b) = match self.proto {
            PROTO_TCP | PROTO_UDP => (self.b, self.a),
            PROTO_ICMP => {
                let ty = icmp_inverse(self.icmp_type())?;
                (self.a, u16::from(ty) << 8 | u16::from(self.icmp_code()))
            }
            // nf_ct_invert_tuple without a protocol inverter swaps the
            // port or key fields (UDP-Lite ports, GRE keys; zero otherwise).
            _ => (self.b, self.a),
        };
        Some(Tuple {
            src: self.dst,
            dst: self.src,
            proto: self.proto,
            a,
            b,
        })
    }
}
