//! `-m limit`. iptables-nft does not load xt_limit for it: it sends a
//! native nft `limit` expression of packets per unit (iptables/nft.c
//! `add_nft_limit`; see palisade-rules' `ext/limit.rs`), so the kernel
//! code that runs is net/netfilter/nft_limit.c: a token bucket counted in
//! nanoseconds of `ktime_get_ns()`, not xt_limit's credits in jiffies.
//!
//! The bucket belongs to the rule: `nft_limit_init` allocates it when the
//! rule is created, full, and a rule created by a later commit (every
//! rule of an `iptables-restore`d table) starts full again. Here the rule
//! is the compiled match, so its state lives in it, written only by the
//! thread that owns the engine (as the rule counters are).

use std::sync::atomic::{AtomicU64, Ordering};

use palisade_rules::ext::limit::Limit;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};
use crate::time::NANOS_PER_SEC;

/// `last` before the first packet: the bucket is full (`nft_limit_init`
/// sets tokens to tokens_max; whatever time passes, the refill is capped).
const FRESH: u64 = u64::MAX;

/// The constants of `struct nft_limit_priv_pkts` for a packet limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// `tokens_max`: `nsecs / rate * burst`.
    pub tokens_max: u64,
    /// `cost`: `nsecs / rate`, the nanoseconds one packet takes.
    pub cost: u64,
}

impl Bucket {
    /// `nft_limit_init` (pkts) and `nft_limit_pkts_init` for `rate`
    /// packets per `unit` seconds. `None` where the kernel refuses the
    /// expression (a zero rate: -EINVAL; an overflow: -EOVERFLOW).
    pub fn new(rate: u64, unit: u64, burst: u32) -> Option<Bucket> {
        let nsecs = unit.checked_mul(NANOS_PER_SEC)?;
        rate.checked_add(u64::from(burst))?;
        let cost = nsecs.checked_div(rate)?;
        let tokens_max = cost.checked_mul(u64::from(burst))?;
        Some(Bucket { tokens_max, cost })
    }

    /// `nft_limit_eval` without inversion: whether a packet at `now` (ns)
    /// is within the limit, given the bucket's `tokens` and `last` stamp
    /// (updated in place).
    pub fn take(&self, tokens: &mut u64, last: &mut u64, now: u64) -> bool {
        let mut t = if *last == FRESH {
            self.tokens_max
        } else {
            // The kernel's clock only goes forward; a caller's may not,
            // and going back must not add tokens.
            tokens.wrapping_add(now.saturating_sub(*last))
        };
        if t > self.tokens_max {
            t = self.tokens_max;
        }
        *last = now;
        // delta = tokens - cost, as s64.
        let delta = t.wrapping_sub(self.cost) as i64;
        if delta >= 0 {
            *tokens = delta as u64;
            true
        } else {
            *tokens = t;
            false
        }
    }
}

#[derive(Debug)]
struct LimitMatch {
    bucket: Bucket,
    tokens: AtomicU64,
    last: AtomicU64,
}

impl PacketMatch for LimitMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        // One writer: plain load and store, as for the rule counters.
        let mut tokens = self.tokens.load(Ordering::Relaxed);
        let mut last = self.last.load(Ordering::Relaxed);
        let ok = self.bucket.take(&mut tokens, &mut last, cx.now.0);
        self.tokens.store(tokens, Ordering::Relaxed);
        self.last.store(last, Ordering::Relaxed);
        // nft_limit_pkts_eval: over the limit breaks the rule (NFT_BREAK).
        ok
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let m = downcast::<Limit>(ext)?;
    let (rate, unit) = m.nft_rate();
    // The rules crate gives a rate of at least 1 per unit and a burst of
    // at least 1 (nft_limit's default of 5 for 0); an expression the
    // kernel would refuse never matches.
    let bucket = Bucket::new(rate, unit, m.burst).unwrap_or(Bucket {
        tokens_max: 0,
        cost: 1,
    });
    Some(Box::new(LimitMatch {
        bucket,
        tokens: AtomicU64::new(bucket.tokens_max),
        last: AtomicU64::new(FRESH),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn constants_of_nft_limit_init() {
        // --limit 2/sec --limit-burst 3: 2 per 1 s.
        let b = Bucket::new(2, 1, 3).unwrap();
        assert_eq!(b.cost, 500 * MS);
        assert_eq!(b.tokens_max, 1500 * MS);
        // 3/hour (the default): 3 per 3600 s, burst 5.
        let b = Bucket::new(3, 3600, 5).unwrap();
        assert_eq!(b.cost, 1200 * NANOS_PER_SEC);
        assert_eq!(b.tokens_max, 6000 * NANOS_PER_SEC);
        // 7/sec: 1e9 / 7 rounds down.
        assert_eq!(Bucket::new(7, 1, 1).unwrap().cost, 142_857_142);
        assert_eq!(Bucket::new(0, 1, 5), None);
        assert_eq!(Bucket::new(1, u64::MAX / 1000, 5), None);
        assert_eq!(Bucket::new(u64::MAX, 1, 5), None);
    }

    /// nft_limit_eval: a full bucket passes `burst` packets at once, then
    /// one per `cost` nanoseconds; a refused packet still moves `last`.
    #[test]
    fn bucket_refills_per_nanosecond_and_caps() {
        let b = Bucket::new(2, 1, 2).unwrap();
        let (mut tokens, mut last) = (b.tokens_max, FRESH);
        let t0 = 3600 * NANOS_PER_SEC;
        let mut at = |ms: u64| b.take(&mut tokens, &mut last, t0 + ms * MS);
        assert!(at(0));
        assert!(at(1));
        assert!(!at(2)); // 1 ms of tokens
        assert!(!at(400)); // 400 ms
        assert!(at(502)); // 400 + 102 ms
        assert!(at(1000)); // 2 + 498 ms: exactly one packet's worth
        assert!(at(5000)); // 4 s of tokens, capped at 1 s
        assert!(at(5001));
        assert!(!at(5002));
    }
}
