//! Lower-case hex, the packet encoding of scenarios and results.

/// Bytes as lower-case hex (Python's `bytes.hex()`).
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Hex digits to bytes, either case; spaces between bytes are allowed, as
/// Python's `bytes.fromhex` allows them. `None` for anything else.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut digits = text.bytes();
    while let Some(hi) = digits.next() {
        if hi.is_ascii_whitespace() {
            continue;
        }
        out.push(nibble(hi)? << 4 | nibble(digits.next()?)?);
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(encode(&[0x45, 0x00, 0xff]), "4500ff");
        assert_eq!(decode("4500FF"), Some(vec![0x45, 0, 0xff]));
        assert_eq!(decode("45 00 ff"), Some(vec![0x45, 0, 0xff]));
        assert_eq!(decode(""), Some(vec![]));
        assert_eq!(decode("450"), None);
        assert_eq!(decode("4g"), None);
        assert_eq!(decode("4 5"), None);
    }
}
