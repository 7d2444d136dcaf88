//! Per-peer ICMP rate state (`struct inet_peer` rate_tokens/rate_last,
//! net/ipv4/inetpeer.c), shared by `ip_error`'s unreachable limit and
//! `icmpv4_xrlim_allow`. Counted in jiffies at HZ=250.

use std::collections::HashMap;

use crate::hash::SipBuild;
use crate::time::Time;

pub use crate::time::HZ;
/// ip_rt_error_cost and ip_rt_error_burst (net/ipv4/route.c).
const ERROR_COST: u64 = HZ;
const ERROR_BURST: u64 = 5 * HZ;

pub fn jiffies(now: Time) -> u64 {
    now.jiffies()
}

#[derive(Debug, Clone, Copy)]
struct Peer {
    tokens: u64,
    last: u64,
}

#[derive(Debug, Clone)]
pub struct Peers {
    map: HashMap<u32, Peer, SipBuild>,
}

impl Peers {
    pub fn new(seed: u64) -> Peers {
        Peers {
            map: HashMap::with_hasher(SipBuild::new(seed ^ 0x9e37)),
        }
    }

    fn peer(&mut self, addr: u32, now: u64) -> &mut Peer {
        // inet_getpeer: a new peer starts 60 s in the past, so its first
        // computation yields a full bucket.
        self.map.entry(addr).or_insert(Peer {
            tokens: 0,
            last: now.saturating_sub(60 * HZ),
        })
    }

    /// `ip_error`'s limit on unreachable errors to `src`.
    pub fn error_allowed(&mut self, src: u32, now: Time) -> bool {
        let j = jiffies(now);
        let p = self.peer(src, j);
        p.tokens = (p.tokens + j.saturating_sub(p.last)).min(ERROR_BURST);
        p.last = j;
        if p.tokens >= ERROR_COST {
            p.tokens -= ERROR_COST;
            true
        } else {
            false
        }
    }

    /// `icmpv4_xrlim_allow` with net.ipv4.icmp_ratelimit = 0: always
    /// allows. `inet_peer_xrlim_allow` refills and caps the bucket only
    /// when a jiffy has passed since the peer's last update, so the cap of
    /// 6 × 0 empties it then, and leaves it alone within the same jiffy
    /// (as right after `ip_error` took its token).
    pub fn xrlim(&mut self, dst: u32, now: Time) {
        let j = jiffies(now);
        let p = self.peer(dst, j);
        if j != p.last {
            p.last = j;
            p.tokens = 0;
        }
    }
}

/// Whether an ICMP message type is rate limited (net.ipv4.icmp_ratemask
/// default 0x1818, with fragmentation-needed exempt: icmpv4_mask_allow).
pub fn ratelimited(ty: u8, code: u8) -> bool {
    ty <= 18 && (0x1818u32 >> ty) & 1 == 1 && !(ty == 3 && code == 4)
}
