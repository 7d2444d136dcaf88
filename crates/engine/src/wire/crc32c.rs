//! CRC32c (Castagnoli), the SCTP checksum (RFC 9260 appendix A; Linux
//! `sctp_compute_cksum` in include/net/sctp/checksum.h).

/// The reflected Castagnoli polynomial.
const POLY: u32 = 0x82f6_3b78;

/// The byte-at-a-time table, built at compile time.
const TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Feeds `data` into a running (not yet inverted) CRC.
fn update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc = TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// The CRC32c of `data`.
pub fn of(data: &[u8]) -> u32 {
    !update(!0, data)
}

/// The checksum of an SCTP packet (`l4`: common header onwards), summed
/// with its checksum field (bytes 8-11) taken as zero, in the byte order
/// it is stored in (`sctp_compute_cksum` returns it `cpu_to_le32`).
/// `None` when the common header is incomplete.
pub fn sctp_checksum(l4: &[u8]) -> Option<[u8; 4]> {
    let head = l4.get(..8)?;
    let rest = l4.get(12..)?;
    let mut crc = update(!0, head);
    crc = update(crc, &[0; 4]);
    crc = update(crc, rest);
    Some((!crc).to_le_bytes())
}

/// Whether an SCTP packet's checksum is right (`sctp_error`).
pub fn sctp_checksum_ok(l4: &[u8]) -> bool {
    match (sctp_checksum(l4), l4.get(8..12)) {
        (Some(want), Some(have)) => want == have,
        _ => false,
    }
}

/// Stores the right checksum in an SCTP packet (`sctp_manip_pkt`).
pub fn fill_sctp_checksum(l4: &mut [u8]) {
    if let Some(c) = sctp_checksum(l4) {
        l4[8..12].copy_from_slice(&c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        // The CRC-32C catalogue's check value for "123456789".
        assert_eq!(of(b"123456789"), 0xe306_9283);
        // RFC 3720 B.4: 32 bytes of zeros.
        assert_eq!(of(&[0u8; 32]), 0x8a91_36aa);
    }

    #[test]
    fn sctp_init_as_scapy_sums_it() {
        // scapy: IP()/SCTP(sport=5000, dport=80, tag=0)/SCTPChunkInit(
        // init_tag=1, a_rwnd=65536, n_out_streams=1, n_in_streams=1,
        // init_tsn=1), the SCTP part.
        let mut l4 = [
            0x13, 0x88, 0x00, 0x50, 0, 0, 0, 0, 0x27, 0x64, 0x2e, 0x9c, 0x01, 0x00, 0x00, 0x14, 0,
            0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1,
        ];
        assert!(sctp_checksum_ok(&l4));
        l4[8..12].fill(0);
        assert!(!sctp_checksum_ok(&l4));
        fill_sctp_checksum(&mut l4);
        assert_eq!(l4[8..12], [0x27, 0x64, 0x2e, 0x9c]);
        assert_eq!(sctp_checksum(&l4[..11]), None);
    }
}
