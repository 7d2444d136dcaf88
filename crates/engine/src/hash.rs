//! A keyed hash for tables whose keys attackers choose (conntrack tuples,
//! rate-limit buckets): SipHash-1-3 with a key derived from the engine's
//! seed, so a given seed behaves the same on every run yet remote peers
//! cannot predict collisions.

use std::hash::{BuildHasher, Hasher};

#[derive(Debug, Clone, Copy)]
pub struct SipBuild {
    k0: u64,
    k1: u64,
}

impl SipBuild {
    pub fn new(seed: u64) -> SipBuild {
        // Spread the seed into two independent-looking keys (splitmix64).
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        SipBuild {
            k0: next(),
            k1: next(),
        }
    }
}

impl BuildHasher for SipBuild {
    type Hasher = Sip13;
    fn build_hasher(&self) -> Sip13 {
        Sip13::new(self.k0, self.k1)
    }
}

/// SipHash-1-3 (Aumasson and Bernstein), byte-stream form.
#[derive(Debug, Clone)]
pub struct Sip13 {
    v: [u64; 4],
    tail: u64,
    ntail: u32,
    len: u64,
}

impl Sip13 {
    fn new(k0: u64, k1: u64) -> Sip13 {
        Sip13 {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: 0,
            ntail: 0,
            len: 0,
        }
    }

    fn round(&mut self) {
        let v = &mut self.v;
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        self.round();
        self.v[0] ^= m;
    }
}

impl Hasher for Sip13 {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.tail |= u64::from(b) << (8 * self.ntail);
            self.ntail += 1;
            if self.ntail == 8 {
                let m = self.tail;
                self.compress(m);
                self.tail = 0;
                self.ntail = 0;
            }
        }
        self.len += bytes.len() as u64;
    }

    fn finish(&self) -> u64 {
        let mut s = self.clone();
        let m = s.tail | (s.len & 0xff) << 56;
        s.compress(m);
        s.v[2] ^= 0xff;
        s.round();
        s.round();
        s.round();
        s.v[0] ^ s.v[1] ^ s.v[2] ^ s.v[3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_and_deterministic() {
        let h = |seed, data: &[u8]| {
            let mut s = SipBuild::new(seed).build_hasher();
            s.write(data);
            s.finish()
        };
        assert_eq!(h(1, b"tuple"), h(1, b"tuple"));
        assert_ne!(h(1, b"tuple"), h(2, b"tuple"));
        assert_ne!(h(1, b"tuple"), h(1, b"tuplf"));
    }
}
