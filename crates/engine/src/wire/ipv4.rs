//! IPv4 header view over a byte buffer (RFC 791). `Ipv4::parse` checks
//! what Linux's `ip_rcv_core` checks; after that, accessors never panic.

use super::checksum;

/// Why a buffer is not an IPv4 datagram Linux would accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv4Error {
    Truncated,
    NotVersion4,
    BadHeaderLength,
    BadTotalLength,
    BadChecksum,
}

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_IGMP: u8 = 2;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_SCTP: u8 = 132;
pub const PROTO_UDPLITE: u8 = 136;

/// Flag bits in the fragment field.
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// Checks `buf` as Linux's `ip_rcv_core` does (net/ipv4/ip_input.c):
/// version 4, IHL ≥ 5, header checksum, total length within the buffer and
/// not shorter than the header. Returns the total length (the buffer may
/// hold link padding beyond it, which Linux trims).
pub fn validate(buf: &[u8]) -> Result<usize, Ipv4Error> {
    if buf.len() < 20 {
        return Err(Ipv4Error::Truncated);
    }
    if buf[0] >> 4 != 4 {
        return Err(Ipv4Error::NotVersion4);
    }
    let hlen = usize::from(buf[0] & 0x0f) * 4;
    if hlen < 20 || hlen > buf.len() {
        return Err(Ipv4Error::BadHeaderLength);
    }
    if checksum::of(&buf[..hlen]) != 0 {
        return Err(Ipv4Error::BadChecksum);
    }
    let total = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    if total > buf.len() || total < hlen {
        return Err(Ipv4Error::BadTotalLength);
    }
    Ok(total)
}

/// Read accessors over a validated header (`buf` is at least the header).
pub trait Ipv4Read {
    fn bytes(&self) -> &[u8];

    fn header_len(&self) -> usize {
        usize::from(self.bytes()[0] & 0x0f) * 4
    }
    fn tos(&self) -> u8 {
        self.bytes()[1]
    }
    fn total_len(&self) -> u16 {
        u16::from_be_bytes([self.bytes()[2], self.bytes()[3]])
    }
    fn id(&self) -> u16 {
        u16::from_be_bytes([self.bytes()[4], self.bytes()[5]])
    }
    fn frag_field(&self) -> u16 {
        u16::from_be_bytes([self.bytes()[6], self.bytes()[7]])
    }
    fn dont_fragment(&self) -> bool {
        self.frag_field() & FLAG_DF != 0
    }
    fn more_fragments(&self) -> bool {
        self.frag_field() & FLAG_MF != 0
    }
    /// Fragment offset in bytes.
    fn frag_offset(&self) -> usize {
        usize::from(self.frag_field() & OFFSET_MASK) * 8
    }
    /// A fragment of a larger datagram (first or later).
    fn is_fragment(&self) -> bool {
        self.frag_field() & (FLAG_MF | OFFSET_MASK) != 0
    }
    fn ttl(&self) -> u8 {
        self.bytes()[8]
    }
    fn protocol(&self) -> u8 {
        self.bytes()[9]
    }
    fn header_checksum(&self) -> u16 {
        u16::from_be_bytes([self.bytes()[10], self.bytes()[11]])
    }
    fn src(&self) -> u32 {
        let b = self.bytes();
        u32::from_be_bytes([b[12], b[13], b[14], b[15]])
    }
    fn dst(&self) -> u32 {
        let b = self.bytes();
        u32::from_be_bytes([b[16], b[17], b[18], b[19]])
    }
}

impl Ipv4Read for [u8] {
    fn bytes(&self) -> &[u8] {
        self
    }
}

/// In-place header rewrites keeping the header checksum right by
/// incremental update (RFC 1624), as the kernel's `csum_replace*` do.
pub trait Ipv4Write: Ipv4Read {
    fn bytes_mut(&mut self) -> &mut [u8];

    fn set_checksum_field(&mut self, c: u16) {
        self.bytes_mut()[10..12].copy_from_slice(&c.to_be_bytes());
    }
    fn set_ttl(&mut self, ttl: u8) {
        let old = u16::from_be_bytes([self.bytes()[8], self.bytes()[9]]);
        self.bytes_mut()[8] = ttl;
        let new = u16::from_be_bytes([ttl, self.bytes()[9]]);
        let c = checksum::update16(self.header_checksum(), old, new);
        self.set_checksum_field(c);
    }
    fn set_tos(&mut self, tos: u8) {
        let old = u16::from_be_bytes([self.bytes()[0], self.bytes()[1]]);
        self.bytes_mut()[1] = tos;
        let new = u16::from_be_bytes([self.bytes()[0], tos]);
        let c = checksum::update16(self.header_checksum(), old, new);
        self.set_checksum_field(c);
    }
    fn set_src(&mut self, addr: u32) {
        let old = self.src().to_be_bytes();
        self.bytes_mut()[12..16].copy_from_slice(&addr.to_be_bytes());
        let c = checksum::update32(self.header_checksum(), old, addr.to_be_bytes());
        self.set_checksum_field(c);
    }
    fn set_dst(&mut self, addr: u32) {
        let old = self.dst().to_be_bytes();
        self.bytes_mut()[16..20].copy_from_slice(&addr.to_be_bytes());
        let c = checksum::update32(self.header_checksum(), old, addr.to_be_bytes());
        self.set_checksum_field(c);
    }
    /// Recomputes the header checksum from scratch.
    fn fill_checksum(&mut self) {
        self.set_checksum_field(0);
        let hlen = self.header_len();
        let c = checksum::of(&self.bytes()[..hlen]);
        self.set_checksum_field(c);
    }
}

impl Ipv4Write for [u8] {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

/// Writes a 20-byte header without options into `out[..20]`.
#[allow(clippy::too_many_arguments)]
pub fn write_header(
    out: &mut [u8],
    tos: u8,
    total_len: u16,
    id: u16,
    dont_fragment: bool,
    ttl: u8,
    protocol: u8,
    src: u32,
    dst: u32,
) {
    out[0] = 0x45;
    out[1] = tos;
    out[2..4].copy_from_slice(&total_len.to_be_bytes());
    out[4..6].copy_from_slice(&id.to_be_bytes());
    let frag: u16 = if dont_fragment { FLAG_DF } else { 0 };
    out[6..8].copy_from_slice(&frag.to_be_bytes());
    out[8] = ttl;
    out[9] = protocol;
    out[10..12].copy_from_slice(&[0, 0]);
    out[12..16].copy_from_slice(&src.to_be_bytes());
    out[16..20].copy_from_slice(&dst.to_be_bytes());
    let c = checksum::of(&out[..20]);
    out[10..12].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_and_rewrite() {
        let mut b = [0u8; 28];
        write_header(
            &mut b, 0, 28, 1, true, 64, PROTO_UDP, 0x0a000001, 0x0a000002,
        );
        assert_eq!(validate(&b), Ok(28));
        assert!(b.dont_fragment());
        b.set_ttl(63);
        b.set_src(0xc0a80001);
        assert_eq!(validate(&b), Ok(28));
        assert_eq!(b.ttl(), 63);
        b[3] = 40;
        assert_eq!(validate(&b), Err(Ipv4Error::BadChecksum));
        assert_eq!(validate(&b[..10]), Err(Ipv4Error::Truncated));
    }
}
