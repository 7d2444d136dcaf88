//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).

/// Adds `data` as big-endian 16-bit words to a running 32-bit sum (an odd
/// last byte is padded with zero, RFC 1071 section 4.1).
pub fn add(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

/// Folds a running sum into the one's-complement 16-bit checksum.
pub fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The checksum of `data`.
pub fn of(data: &[u8]) -> u16 {
    fold(add(0, data))
}

/// The pseudo-header sum TCP and UDP checksums start from (RFC 793 3.1).
pub fn pseudo_header(src: [u8; 4], dst: [u8; 4], proto: u8, l4_len: u16) -> u32 {
    let mut sum = add(0, &src);
    sum = add(sum, &dst);
    sum + u32::from(proto) + u32::from(l4_len)
}

/// Updates checksum `check` for a 16-bit field changing from `old` to
/// `new` (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).
pub fn update16(check: u16, old: u16, new: u16) -> u16 {
    let sum = u32::from(!check) + u32::from(!old) + u32::from(new);
    fold(sum)
}

/// Updates `check` for a 32-bit field (an IPv4 address) changing.
pub fn update32(check: u16, old: [u8; 4], new: [u8; 4]) -> u16 {
    let c = update16(
        check,
        u16::from_be_bytes([old[0], old[1]]),
        u16::from_be_bytes([new[0], new[1]]),
    );
    update16(
        c,
        u16::from_be_bytes([old[2], old[3]]),
        u16::from_be_bytes([new[2], new[3]]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example: 0001 f203 f4f5 f6f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(add(0, &data)), !0xddf2);
    }

    #[test]
    fn incremental_matches_full() {
        let mut data = [
            0x45u8, 0, 0, 0x1c, 0x12, 0x34, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let c = of(&data);
        data[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(of(&data), 0);
        let new = [192, 168, 7, 9];
        let c2 = update32(c, [10, 0, 0, 1], new);
        data[12..16].copy_from_slice(&new);
        data[10..12].copy_from_slice(&c2.to_be_bytes());
        assert_eq!(of(&data), 0);
    }
}
