//! Engine-owned mutable state that matches and targets reach through
//! their context: the seeded random source, packets generated while a
//! packet is being processed, the IP ID counter.

use palisade_rules::model::Ruleset;

use crate::ext::{m_hashlimit, m_recent};
use crate::log::LogRecord;
use crate::meta::PacketMeta;
use crate::peer::Peers;

/// A small deterministic generator (xorshift64*), seeded by the engine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x2545_f491_4f6c_dd1d | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

/// A packet this host originates while handling another (REJECT's
/// answers), to be sent through the local output path.
#[derive(Debug, Clone)]
pub struct Generated {
    pub data: Vec<u8>,
    pub meta: PacketMeta,
    /// Already routed out of this interface (`ip_route_me_harder` in
    /// nf_send_reset); `None` routes by destination.
    pub kind: GeneratedKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneratedKind {
    /// A complete datagram to send with `ip_local_out`.
    Datagram,
    /// An ICMP message, sent (like every ICMP the kernel builds) through
    /// the ICMP socket with `icmp_xmit_lock` held.
    Icmp,
}

#[derive(Debug)]
pub struct Env {
    pub rng: Rng,
    pub generated: Vec<Generated>,
    /// What LOG and NFLOG reported during the current table walk.
    pub log: Vec<LogRecord>,
    /// Per-peer ICMP rate state.
    pub peers: Peers,
    /// `icmp_xmit_lock` is held: an ICMP message of the kernel's own is
    /// going through the output hooks. `__icmp_send` cannot take the lock
    /// then (spin_trylock fails), so an error that a REJECT there would
    /// send is never built.
    pub icmp_xmit_locked: bool,
    /// The namespace's hashlimit tables and recent lists, by name.
    pub hashlimit: m_hashlimit::Tables,
    pub recent: m_recent::Lists,
    /// A key for the keyed hashes of state that packets create.
    pub hash_seed: u64,
    ip_id: u16,
    /// Buffers for generated packets, reused.
    pool: Vec<Vec<u8>>,
}

impl Env {
    pub fn new(seed: u64) -> Env {
        Env {
            rng: Rng::new(seed),
            generated: Vec::new(),
            log: Vec::new(),
            peers: Peers::new(seed),
            icmp_xmit_locked: false,
            hashlimit: m_hashlimit::Tables::new(seed),
            recent: m_recent::Lists::new(seed),
            hash_seed: seed ^ 0x7374_6174_655f_6b65,
            ip_id: (seed as u16) | 1,
            pool: Vec::new(),
        }
    }

    /// A ruleset is committed: the named tables it uses are kept or
    /// created, the others destroyed.
    pub fn commit(&mut self, rs: &Ruleset) {
        self.hashlimit.commit(rs);
        self.recent.commit(rs);
    }

    /// The next IP ID for a datagram this host builds (Linux's are
    /// hashed per destination; results compare without them).
    pub fn next_ip_id(&mut self) -> u16 {
        self.ip_id = self.ip_id.wrapping_add(1);
        self.ip_id
    }

    /// A cleared buffer from the pool.
    pub fn buffer(&mut self) -> Vec<u8> {
        let mut b = self.pool.pop().unwrap_or_default();
        b.clear();
        b
    }

    pub fn recycle(&mut self, b: Vec<u8>) {
        if self.pool.len() < 64 {
            self.pool.push(b);
        }
    }
}
