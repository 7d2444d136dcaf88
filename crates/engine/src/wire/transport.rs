//! The transport-layer facts rules and conntrack look at, read once per
//! hook traversal from the datagram, and in-place rewrites of ports with
//! checksum fix-ups.

use super::checksum;
use super::ipv4::{Ipv4Read, PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_UDPLITE};

/// TCP flag bits (RFC 793 / RFC 3168).
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
}

/// What the transport header says, when the datagram carries one whole
/// enough to read (the first fragment, at least the fixed header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4 {
    /// Not a first fragment, a protocol without ports, or truncated.
    Other,
    Tcp(TcpHeader),
    Udp {
        sport: u16,
        dport: u16,
    },
    Icmp {
        ty: u8,
        code: u8,
        rest: [u8; 4],
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpHeader {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// Header length in bytes (data offset × 4).
    pub header_len: u8,
    pub flags: u8,
    pub window: u16,
}

/// One datagram's header facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub src: u32,
    pub dst: u32,
    pub protocol: u8,
    pub header_len: usize,
    pub total_len: usize,
    /// Fragment offset in bytes (non-zero: not the first fragment).
    pub frag_offset: usize,
    pub more_fragments: bool,
    pub l4: L4,
}

impl Summary {
    /// Reads a datagram already checked by `ipv4::validate` and trimmed
    /// to its total length.
    pub fn read(pkt: &[u8]) -> Summary {
        let header_len = pkt.header_len();
        let frag_offset = pkt.frag_offset();
        let protocol = pkt.protocol();
        let l4 = if frag_offset == 0 {
            read_l4(protocol, &pkt[header_len..])
        } else {
            L4::Other
        };
        Summary {
            src: pkt.src(),
            dst: pkt.dst(),
            protocol,
            header_len,
            total_len: pkt.len(),
            frag_offset,
            more_fragments: pkt.more_fragments(),
            l4,
        }
    }

    /// Reads the datagram quoted in an ICMP error: a header whose total
    /// length may exceed what is quoted, and the transport bytes
    /// `nf_ct_get_tuplepr` needs: the 4 port bytes of TCP and UDP
    /// (nf_ct_get_tuple_ports), the 8-byte header of ICMP.
    pub fn read_quoted(inner: &[u8]) -> Option<Summary> {
        if inner.len() < 20 || inner[0] >> 4 != 4 {
            return None;
        }
        let header_len = inner.header_len();
        if header_len < 20 || header_len > inner.len() {
            return None;
        }
        let l4 = &inner[header_len..];
        let frag_offset = inner.frag_offset();
        let protocol = inner.protocol();
        let l4 = if frag_offset != 0 {
            L4::Other
        } else {
            match protocol {
                PROTO_TCP | PROTO_UDP if l4.len() < 4 => return None,
                PROTO_ICMP if l4.len() < 8 => return None,
                PROTO_TCP | PROTO_UDP => {
                    let mut h = [0u8; 20];
                    let n = l4.len().min(20);
                    h[..n].copy_from_slice(&l4[..n]);
                    read_l4(protocol, &h)
                }
                _ => read_l4(protocol, l4),
            }
        };
        Some(Summary {
            src: inner.src(),
            dst: inner.dst(),
            protocol,
            header_len,
            total_len: usize::from(inner.total_len()),
            frag_offset,
            more_fragments: inner.more_fragments(),
            l4,
        })
    }

    pub fn is_fragment(&self) -> bool {
        self.frag_offset != 0 || self.more_fragments
    }

    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.l4 {
            L4::Tcp(t) => Some((t.sport, t.dport)),
            L4::Udp { sport, dport } => Some((sport, dport)),
            _ => None,
        }
    }

    /// The transport payload length (bytes after the IP header).
    pub fn l4_len(&self) -> usize {
        self.total_len - self.header_len
    }
}

fn read_l4(protocol: u8, l4: &[u8]) -> L4 {
    let be16 = |i: usize| u16::from_be_bytes([l4[i], l4[i + 1]]);
    let be32 = |i: usize| u32::from_be_bytes([l4[i], l4[i + 1], l4[i + 2], l4[i + 3]]);
    match protocol {
        PROTO_TCP if l4.len() >= 20 => L4::Tcp(TcpHeader {
            sport: be16(0),
            dport: be16(2),
            seq: be32(4),
            ack: be32(8),
            header_len: (l4[12] >> 4) * 4,
            flags: l4[13],
            window: be16(14),
        }),
        PROTO_UDP if l4.len() >= 8 => L4::Udp {
            sport: be16(0),
            dport: be16(2),
        },
        PROTO_ICMP if l4.len() >= 8 => L4::Icmp {
            ty: l4[0],
            code: l4[1],
            rest: [l4[4], l4[5], l4[6], l4[7]],
        },
        _ => L4::Other,
    }
}

/// Offset of the transport checksum within the L4 header, for protocols
/// whose checksum covers the pseudo-header (TCP, UDP).
fn pseudo_checksum_offset(protocol: u8) -> Option<usize> {
    match protocol {
        PROTO_TCP => Some(16),
        PROTO_UDP => Some(6),
        _ => None,
    }
}

/// Fixes the TCP/UDP checksum of a first fragment (or whole datagram)
/// whose address changed from `old` to `new` (the pseudo-header), as
/// `inet_proto_csum_replace4` does. A zero UDP checksum means "none" and
/// stays zero; a computed zero becomes 0xffff (RFC 768).
pub fn fix_l4_for_address(pkt: &mut [u8], old: u32, new: u32) {
    let hl = pkt.header_len();
    let proto = pkt.protocol();
    if pkt.frag_offset() != 0 {
        return;
    }
    let Some(off) = pseudo_checksum_offset(proto) else {
        return;
    };
    let at = hl + off;
    if pkt.len() < at + 2 {
        return;
    }
    let cur = u16::from_be_bytes([pkt[at], pkt[at + 1]]);
    if proto == PROTO_UDP && cur == 0 {
        return;
    }
    let mut c = checksum::update32(cur, old.to_be_bytes(), new.to_be_bytes());
    if proto == PROTO_UDP && c == 0 {
        c = 0xffff;
    }
    pkt[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// Rewrites the source (`dst == false`) or destination port of a TCP or
/// UDP first fragment and fixes its checksum.
pub fn set_port(pkt: &mut [u8], dst: bool, port: u16) {
    let hl = pkt.header_len();
    let proto = pkt.protocol();
    let Some(off) = pseudo_checksum_offset(proto) else {
        return;
    };
    let p = hl + if dst { 2 } else { 0 };
    let at = hl + off;
    if pkt.frag_offset() != 0 || pkt.len() < at + 2 {
        return;
    }
    let old = u16::from_be_bytes([pkt[p], pkt[p + 1]]);
    pkt[p..p + 2].copy_from_slice(&port.to_be_bytes());
    let cur = u16::from_be_bytes([pkt[at], pkt[at + 1]]);
    if proto == PROTO_UDP && cur == 0 {
        return;
    }
    let mut c = checksum::update16(cur, old, port);
    if proto == PROTO_UDP && c == 0 {
        c = 0xffff;
    }
    pkt[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// Rewrites the ICMP echo identifier (the "port" of ICMP conntrack) and
/// fixes the ICMP checksum.
pub fn set_icmp_id(pkt: &mut [u8], id: u16) {
    let hl = pkt.header_len();
    if pkt.len() < hl + 8 {
        return;
    }
    let old = u16::from_be_bytes([pkt[hl + 4], pkt[hl + 5]]);
    pkt[hl + 4..hl + 6].copy_from_slice(&id.to_be_bytes());
    let cur = u16::from_be_bytes([pkt[hl + 2], pkt[hl + 3]]);
    let c = checksum::update16(cur, old, id);
    pkt[hl + 2..hl + 4].copy_from_slice(&c.to_be_bytes());
}

/// Whether the TCP or UDP checksum of a whole datagram is right (a UDP
/// checksum of zero means none was sent).
pub fn l4_checksum_ok(pkt: &[u8]) -> bool {
    let hl = pkt.header_len();
    let proto = pkt.protocol();
    let l4 = &pkt[hl..];
    match proto {
        PROTO_UDP if l4.len() >= 8 && l4[6] == 0 && l4[7] == 0 => true,
        PROTO_TCP | PROTO_UDP => {
            let Ok(len) = u16::try_from(l4.len()) else {
                return false;
            };
            let sum = checksum::pseudo_header(
                pkt.src().to_be_bytes(),
                pkt.dst().to_be_bytes(),
                proto,
                len,
            );
            checksum::fold(checksum::add(sum, l4)) == 0
        }
        PROTO_ICMP => checksum::of(l4) == 0,
        _ => true,
    }
}

/// Whether a whole UDP-Lite datagram is one the host's stack accepts
/// (udplite_checksum_init, udp4_csum_init, udp_lib_checksum_complete): a
/// header, a non-zero checksum, a coverage of 0 (everything) or from 8 to
/// the length, and a checksum right over the pseudo-header (protocol 136,
/// the datagram's length) and the covered bytes.
pub fn udplite_checksum_ok(pkt: &[u8]) -> bool {
    let l4 = &pkt[pkt.header_len()..];
    let Some(&[_, _, _, _, c0, c1, k0, k1]) = l4.get(..8) else {
        return false;
    };
    let covered = match usize::from(u16::from_be_bytes([c0, c1])) {
        0 => l4.len(),
        c if c < 8 || c > l4.len() => return false,
        c => c,
    };
    let Ok(len) = u16::try_from(l4.len()) else {
        return false;
    };
    if k0 == 0 && k1 == 0 {
        return false;
    }
    let sum = checksum::pseudo_header(
        pkt.src().to_be_bytes(),
        pkt.dst().to_be_bytes(),
        PROTO_UDPLITE,
        len,
    );
    checksum::fold(checksum::add(sum, &l4[..covered])) == 0
}

/// Computes and stores the TCP/UDP/ICMP checksum of a datagram built here.
pub fn fill_l4_checksum(pkt: &mut [u8]) {
    let hl = pkt.header_len();
    let proto = pkt.protocol();
    let (src, dst) = (pkt.src().to_be_bytes(), pkt.dst().to_be_bytes());
    let l4 = &mut pkt[hl..];
    let Ok(len) = u16::try_from(l4.len()) else {
        return;
    };
    match proto {
        PROTO_ICMP if l4.len() >= 4 => {
            l4[2..4].copy_from_slice(&[0, 0]);
            let c = checksum::of(l4);
            l4[2..4].copy_from_slice(&c.to_be_bytes());
        }
        PROTO_TCP | PROTO_UDP => {
            let Some(off) = pseudo_checksum_offset(proto) else {
                return;
            };
            if l4.len() < off + 2 {
                return;
            }
            l4[off..off + 2].copy_from_slice(&[0, 0]);
            let sum = checksum::pseudo_header(src, dst, proto, len);
            let mut c = checksum::fold(checksum::add(sum, l4));
            if proto == PROTO_UDP && c == 0 {
                c = 0xffff;
            }
            l4[off..off + 2].copy_from_slice(&c.to_be_bytes());
        }
        _ => {}
    }
}
