//! Packet capture files, as tcpdump, dumpcap and Wireshark write them:
//!
//! - [`read`]: a streaming reader of pcap (either byte order, microsecond
//!   or nanosecond timestamps) and pcapng (sections in either byte order,
//!   interface descriptions with their names and timestamp resolutions,
//!   enhanced, simple and obsolete packet blocks; other blocks skipped).
//!   Every length is checked: a damaged file gives an [`read::Error`]
//!   naming the packet and byte offset, never a panic.
//! - [`link`]: from a link-layer frame (Ethernet, raw IP, Linux cooked
//!   captures v1 and v2) to the IPv4 datagram it carries, or why not.
//! - [`write`]: a pcapng writer (one interface block per interface,
//!   nanosecond timestamps, direction and comment options) and a small
//!   classic pcap writer.
//!
//! The formats: draft-ietf-opsawg-pcap (pcap), draft-ietf-opsawg-pcapng
//! (pcapng) and draft-ietf-opsawg-pcaplinktype (link types).
#![forbid(unsafe_code)]

pub mod link;
pub mod read;
pub mod write;

pub use link::{decode, Frame, Payload, Skip};
pub use read::{Error, ErrorKind, Interface, Packet, Reader};
pub use write::{PacketInfo, PcapWriter, PcapngWriter};

/// The byte order a file (or pcapng section) is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            ByteOrder::Little => u16::from_le_bytes(b),
            ByteOrder::Big => u16::from_be_bytes(b),
        }
    }
    fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            ByteOrder::Little => u32::from_le_bytes(b),
            ByteOrder::Big => u32::from_be_bytes(b),
        }
    }
    fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            ByteOrder::Little => u64::from_le_bytes(b),
            ByteOrder::Big => u64::from_be_bytes(b),
        }
    }
    fn put_u16(self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        });
    }
    fn put_u32(self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        });
    }
    fn put_u64(self, out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        });
    }
}

/// Which way a packet went, as far as the capture says (pcapng
/// `epb_flags` bits 0-1, or a Linux cooked header's packet type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Unknown,
    /// Received by the capturing host.
    Inbound,
    /// Sent by the capturing host (its own or forwarded packets).
    Outbound,
}

/// Link types (draft-ietf-opsawg-pcaplinktype, `LINKTYPE_*`).
pub mod linktype {
    /// IEEE 802.3 Ethernet.
    pub const ETHERNET: u16 = 1;
    /// IPv4 or IPv6 with no link-layer header (the version nibble says
    /// which).
    pub const RAW: u16 = 101;
    /// Linux cooked capture (`tcpdump -i any` before libpcap 1.10).
    pub const LINUX_SLL: u16 = 113;
    /// IPv4 with no link-layer header.
    pub const IPV4: u16 = 228;
    /// Linux cooked capture v2, which adds the interface index
    /// (`tcpdump -i any` with libpcap 1.10 and later).
    pub const LINUX_SLL2: u16 = 276;
}
