//! From a captured frame to the IPv4 datagram in it.
//!
//! - Ethernet: the 14-byte header is stripped; EtherType 0x0800 is IPv4.
//!   VLAN-tagged frames (802.1Q, 802.1ad) are not unwrapped: Linux hands
//!   a tagged frame to the VLAN device of its tag (`eth0.100`), never to
//!   the IPv4 stack of the device it arrived on, so which interface the
//!   datagram entered by is not the capture's; capture on the VLAN device
//!   instead. They are reported as [`Skip::Vlan`].
//! - Raw IP (`LINKTYPE_RAW`, 101): IPv4 when the version nibble is 4.
//! - IPv4 (`LINKTYPE_IPV4`, 228): the frame is the datagram.
//! - Linux cooked v1 and v2 (113, 276; `tcpdump -i any`): the protocol
//!   field is the EtherType; the packet type says whether the host sent
//!   the packet (`PACKET_OUTGOING`) or received one meant for another
//!   host (`PACKET_OTHERHOST`, which `ip_rcv_core` drops); v2 also gives
//!   the interface index.
//!
//! Padding after the datagram (Ethernet's 60-byte minimum, a frame check
//! sequence) is left in place: the receiver trims a datagram to its total
//! length (`ip_rcv_core`), as Linux does.

use crate::{linktype, Direction};

/// EtherTypes (IEEE 802 numbers).
const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
/// The old QinQ tag some switches still send.
const ETH_P_QINQ1: u16 = 0x9100;
/// EtherType values below this are 802.3 lengths (IEEE 802.3 §3.2.6).
const ETH_MIN_TYPE: u16 = 0x0600;

/// `sll_pkttype` values (include/uapi/linux/if_packet.h).
const PACKET_OTHERHOST: u8 = 3;
const PACKET_OUTGOING: u8 = 4;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// An IPv4 datagram, from its header to the end of the frame.
    Ipv4(&'a [u8]),
    /// Anything else, and why it is not IPv4.
    Skipped(Skip),
}

/// Why a frame holds no IPv4 datagram to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Skip {
    Ipv6,
    Arp,
    /// 802.1Q or 802.1ad tagged (see the module documentation).
    Vlan,
    /// Another EtherType.
    EtherType(u16),
    /// An 802.3 frame with a length field (LLC) instead of an EtherType.
    Llc,
    /// Raw IP whose version is neither 4 nor 6.
    NotIp,
    /// Shorter than its link-layer header.
    ShortFrame,
    /// Received by a capture in promiscuous mode for another host.
    OtherHost,
    /// A link type this crate does not decode.
    LinkType(u16),
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Ipv6 => f.write_str("IPv6"),
            Skip::Arp => f.write_str("ARP"),
            Skip::Vlan => f.write_str("VLAN-tagged (capture on the VLAN device)"),
            Skip::EtherType(t) => write!(f, "EtherType {t:#06x}"),
            Skip::Llc => f.write_str("802.3/LLC"),
            Skip::NotIp => f.write_str("raw, neither IPv4 nor IPv6"),
            Skip::ShortFrame => f.write_str("shorter than its link-layer header"),
            Skip::OtherHost => f.write_str("for another host (promiscuous capture)"),
            Skip::LinkType(t) => write!(f, "link type {t}, not decoded"),
        }
    }
}

/// A decoded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub payload: Payload<'a>,
    /// What the link-layer header says of the direction (Linux cooked
    /// captures); `Unknown` for other link types.
    pub direction: Direction,
    /// The interface index a Linux cooked v2 header gives.
    pub if_index: Option<u32>,
}

fn by_ethertype(t: u16, rest: &[u8]) -> Payload<'_> {
    match t {
        ETH_P_IP => Payload::Ipv4(rest),
        ETH_P_IPV6 => Payload::Skipped(Skip::Ipv6),
        ETH_P_ARP => Payload::Skipped(Skip::Arp),
        ETH_P_8021Q | ETH_P_8021AD | ETH_P_QINQ1 => Payload::Skipped(Skip::Vlan),
        t if t < ETH_MIN_TYPE => Payload::Skipped(Skip::Llc),
        t => Payload::Skipped(Skip::EtherType(t)),
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn cooked_direction(pkttype: u8) -> Direction {
    if pkttype == PACKET_OUTGOING {
        Direction::Outbound
    } else {
        Direction::Inbound
    }
}

/// Decodes a frame of link type `link_type`.
pub fn decode(link_type: u16, frame: &[u8]) -> Frame<'_> {
    let plain = |payload| Frame {
        payload,
        direction: Direction::Unknown,
        if_index: None,
    };
    let short = Payload::Skipped(Skip::ShortFrame);
    match link_type {
        linktype::ETHERNET => match frame.get(14..) {
            Some(rest) => plain(by_ethertype(be16(frame, 12), rest)),
            None => plain(short),
        },
        linktype::RAW => plain(match frame.first().map(|b| b >> 4) {
            Some(4) => Payload::Ipv4(frame),
            Some(6) => Payload::Skipped(Skip::Ipv6),
            Some(_) => Payload::Skipped(Skip::NotIp),
            None => short,
        }),
        linktype::IPV4 => plain(Payload::Ipv4(frame)),
        // LINKTYPE_LINUX_SLL: packet type, ARPHRD type, address length,
        // 8 address bytes, protocol; 16 bytes, big-endian.
        linktype::LINUX_SLL => {
            let Some(rest) = frame.get(16..) else {
                return plain(short);
            };
            cooked(frame[1], be16(frame, 14), rest, None)
        }
        // LINKTYPE_LINUX_SLL2: protocol, reserved, interface index,
        // ARPHRD type, packet type, address length, 8 address bytes; 20
        // bytes, big-endian.
        linktype::LINUX_SLL2 => {
            let Some(rest) = frame.get(20..) else {
                return plain(short);
            };
            let index = u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
            cooked(frame[10], be16(frame, 0), rest, Some(index))
        }
        t => plain(Payload::Skipped(Skip::LinkType(t))),
    }
}

fn cooked(pkttype: u8, protocol: u16, rest: &[u8], if_index: Option<u32>) -> Frame<'_> {
    let payload = if pkttype == PACKET_OTHERHOST {
        Payload::Skipped(Skip::OtherHost)
    } else {
        by_ethertype(protocol, rest)
    };
    Frame {
        payload,
        direction: cooked_direction(pkttype),
        if_index,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: [u8; 4] = [0x45, 0, 0, 20];

    #[test]
    fn ethernet_strips_the_header_and_names_what_it_skips() {
        let mut f = vec![0xff; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&IP);
        assert_eq!(decode(1, &f).payload, Payload::Ipv4(&IP));
        for (t, want) in [
            (0x86dd, Skip::Ipv6),
            (0x0806, Skip::Arp),
            (0x8100, Skip::Vlan),
            (0x88a8, Skip::Vlan),
            (0x0042, Skip::Llc),
            (0x88cc, Skip::EtherType(0x88cc)),
        ] {
            f[12..14].copy_from_slice(&u16::to_be_bytes(t));
            assert_eq!(decode(1, &f).payload, Payload::Skipped(want), "{t:#x}");
        }
        assert_eq!(
            decode(1, &f[..13]).payload,
            Payload::Skipped(Skip::ShortFrame)
        );
        assert_eq!(decode(1, &f).direction, Direction::Unknown);
    }

    #[test]
    fn raw_ip_by_version() {
        assert_eq!(decode(101, &IP).payload, Payload::Ipv4(&IP));
        assert_eq!(
            decode(101, &[0x60, 0]).payload,
            Payload::Skipped(Skip::Ipv6)
        );
        assert_eq!(decode(101, &[0x10]).payload, Payload::Skipped(Skip::NotIp));
        assert_eq!(decode(101, &[]).payload, Payload::Skipped(Skip::ShortFrame));
        // LINKTYPE_IPV4 is IPv4 whatever it holds; the receiver judges it.
        assert_eq!(decode(228, &[0x60]).payload, Payload::Ipv4(&[0x60]));
        assert_eq!(
            decode(147, &IP).payload,
            Payload::Skipped(Skip::LinkType(147))
        );
    }

    #[test]
    fn linux_cooked_v1_and_v2() {
        // v1: PACKET_OUTGOING, ARPHRD_ETHER, 6-byte address, IPv4.
        let mut v1 = vec![0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        v1.extend_from_slice(&IP);
        let f = decode(113, &v1);
        assert_eq!(f.payload, Payload::Ipv4(&IP));
        assert_eq!(f.direction, Direction::Outbound);
        assert_eq!(f.if_index, None);
        v1[1] = 0;
        assert_eq!(decode(113, &v1).direction, Direction::Inbound);
        v1[1] = 3;
        assert_eq!(decode(113, &v1).payload, Payload::Skipped(Skip::OtherHost));
        // v2: IPv4, interface 7, ARPHRD_ETHER, PACKET_HOST.
        let mut v2 = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 7, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        v2.extend_from_slice(&IP);
        let f = decode(276, &v2);
        assert_eq!(f.payload, Payload::Ipv4(&IP));
        assert_eq!(f.direction, Direction::Inbound);
        assert_eq!(f.if_index, Some(7));
        assert_eq!(
            decode(276, &v2[..19]).payload,
            Payload::Skipped(Skip::ShortFrame)
        );
    }
}
