//! Number parsing with C's `strtoul(s, &end, base)` rules, because iptables
//! parses every number that way (libxtables/xtables.c `xtables_strtoul_base`):
//! leading blanks and a sign are accepted (though xtables refuses a minus),
//! base 0 means `0x` hex, leading-0 octal or decimal, and the whole string
//! must be consumed.

/// The characters C's `isspace` accepts in the C locale.
pub const C_SPACE: [char; 6] = [' ', '\t', '\n', '\x0b', '\x0c', '\r'];

/// C's `isspace` in the C locale (unlike `char::is_ascii_whitespace`, it
/// takes the vertical tab).
pub fn is_c_space(c: char) -> bool {
    C_SPACE.contains(&c)
}

/// Parses `s` as iptables' `xtables_strtoui(s, NULL, &v, min, max)` does
/// with base 0, returning `None` where it would fail.
pub fn strtoul_range(s: &str, min: u64, max: u64) -> Option<u64> {
    strtoul_base_range(s, 0, min, max)
}

/// Like [`strtoul_range`] with an explicit base (10 or 16 or 0).
pub fn strtoul_base_range(s: &str, base: u32, min: u64, max: u64) -> Option<u64> {
    // libxtables xtables_strtoul_base refuses a minus sign after the
    // blanks itself, as strtoul would take it (so `-0` is no 0).
    if s.trim_start_matches(C_SPACE).starts_with('-') {
        return None;
    }
    strtoul_base(s, base).filter(|v| (min..=max).contains(v))
}

/// `strtoul` on a whole string. Negative numbers wrap like C's (so they land
/// out of any sane range) and overflow saturates at `u64::MAX`.
pub fn strtoul_base(s: &str, base: u32) -> Option<u64> {
    // The common case, a plain decimal number (no blank, sign, prefix or
    // octal leading zero; short enough not to overflow), without the
    // general machinery; anything else goes the long way.
    let b = s.as_bytes();
    if (base == 10 || (base == 0 && (b.len() == 1 || b.first() != Some(&b'0'))))
        && (1..=19).contains(&b.len())
        && b.iter().all(u8::is_ascii_digit)
    {
        return Some(b.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0')));
    }
    let t = s.trim_start_matches(C_SPACE);
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = match base {
        0 => {
            if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                (16, h)
            } else if t.len() > 1 && t.starts_with('0') {
                (8, &t[1..])
            } else {
                (10, t)
            }
        }
        16 => (
            16,
            t.strip_prefix("0x")
                .or_else(|| t.strip_prefix("0X"))
                .unwrap_or(t),
        ),
        b => (b, t),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    for c in digits.chars() {
        let d = c.to_digit(radix)? as u64;
        match value
            .checked_mul(radix as u64)
            .and_then(|v| v.checked_add(d))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    if overflow {
        return Some(u64::MAX);
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// Appends `n` in decimal, without going through `fmt` (the savers write
/// one number per rule item).
pub fn push_decimal(out: &mut String, mut n: u64) {
    if n < 10 {
        out.push(char::from(b'0' + n as u8));
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(buf[i..].iter().map(|&d| char::from(d)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_and_ranges() {
        assert_eq!(strtoul_base("0x10", 0), Some(16));
        assert_eq!(strtoul_base("010", 0), Some(8));
        assert_eq!(strtoul_base("10", 0), Some(10));
        assert_eq!(strtoul_base("0", 0), Some(0));
        assert_eq!(strtoul_base(" +7", 0), Some(7));
        assert_eq!(strtoul_base("", 0), None);
        assert_eq!(strtoul_base("12a", 0), None);
        assert_eq!(strtoul_base("08", 0), None);
        assert_eq!(strtoul_range("-1", 0, 65535), None);
        // xtables_strtoul_base refuses a minus that strtoul would take.
        assert_eq!(strtoul_base("-0", 0), Some(0));
        assert_eq!(strtoul_range("-0", 0, 65535), None);
        assert_eq!(strtoul_base_range(" \x0b-0", 10, 0, 9), None);
        assert_eq!(strtoul_range(" +0", 0, 9), Some(0));
        assert_eq!(strtoul_range("65536", 0, 65535), None);
        assert_eq!(
            strtoul_range("99999999999999999999999", 0, u64::MAX - 1),
            None
        );
    }

    #[test]
    fn decimal_fast_path_agrees_with_the_general_rules() {
        assert_eq!(strtoul_base("0", 10), Some(0));
        assert_eq!(strtoul_base("007", 10), Some(7));
        assert_eq!(strtoul_base("007", 0), Some(7));
        assert_eq!(strtoul_base("09", 0), None);
        assert_eq!(
            strtoul_base("9999999999999999999", 0),
            Some(9_999_999_999_999_999_999)
        );
        assert_eq!(strtoul_base("99999999999999999999", 0), Some(u64::MAX));
        assert_eq!(strtoul_base("18446744073709551615", 10), Some(u64::MAX));
        assert_eq!(strtoul_base("12", 16), Some(0x12));
        assert_eq!(strtoul_base("255", 0), Some(255));
    }

    #[test]
    fn push_decimal_writes_plain_digits() {
        for n in [0u64, 7, 10, 65535, u64::MAX] {
            let mut s = String::from("x");
            super::push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }
}
