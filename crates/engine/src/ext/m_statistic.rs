//! `-m statistic` (net/netfilter/xt_statistic.c `statistic_mt`), kept an
//! xt match by iptables-nft.
//!
//! Random mode draws from the engine's seeded generator where Linux calls
//! `get_random_u32()`: the same probability, not the same packets.
//! Nth mode counts in the rule's own counter (`info->master`, allocated
//! by `statistic_mt_check` for each rule instance and so fresh after
//! every commit), which starts at `every - packet` (libxt_statistic.c
//! `statistic_check` sets `u.nth.count`); it lives in the compiled match,
//! written only by the thread that owns the engine.

use std::sync::atomic::{AtomicU32, Ordering};

use palisade_rules::ext::statistic::{Mode, Statistic};
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};

#[derive(Debug)]
enum Draw {
    /// `u.random.probability`: matches when 31 random bits are below it.
    Random { probability: u32 },
    /// `u.nth.every` (n - 1) and the rule's counter.
    Nth { every: u32, count: AtomicU32 },
}

#[derive(Debug)]
struct StatisticMatch {
    draw: Draw,
    invert: bool,
}

/// One step of the nth counter (the `atomic_cmpxchg` loop): the next
/// value, 0 after `every`. The packet matches when it is 0.
pub fn nth_step(count: u32, every: u32) -> u32 {
    if count == every {
        0
    } else {
        count.wrapping_add(1)
    }
}

/// Random mode's test of one draw.
pub fn random_hit(draw: u32, probability: u32) -> bool {
    draw & 0x7FFF_FFFF < probability
}

impl PacketMatch for StatisticMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let hit = match &self.draw {
            Draw::Random { probability } => random_hit(cx.env.rng.next_u32(), *probability),
            Draw::Nth { every, count } => {
                let next = nth_step(count.load(Ordering::Relaxed), *every);
                count.store(next, Ordering::Relaxed);
                next == 0
            }
        };
        hit != self.invert
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let m = downcast::<Statistic>(ext)?;
    let draw = match m.mode {
        Mode::Random => Draw::Random {
            probability: m.value,
        },
        Mode::Nth => Draw::Nth {
            every: m.value,
            count: AtomicU32::new(m.value.wrapping_sub(m.packet)),
        },
    };
    Some(Box::new(StatisticMatch {
        draw,
        invert: m.invert,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Rng;

    /// --every 3 --packet p starts the counter at 2 - p: packet 0 takes
    /// the first of each three, packet 2 the third.
    #[test]
    fn nth_counter_sequence() {
        let hits = |every: u32, packet: u32, n: usize| {
            let mut c = (every - 1) - packet;
            (0..n)
                .map(|_| {
                    c = nth_step(c, every - 1);
                    c == 0
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            hits(3, 0, 7),
            [true, false, false, true, false, false, true]
        );
        assert_eq!(hits(3, 1, 6), [false, true, false, false, true, false]);
        assert_eq!(hits(3, 2, 6), [false, false, true, false, false, true]);
        assert_eq!(hits(1, 0, 3), [true, true, true]);
        // every 2^32: the counter runs through all 32-bit values.
        assert_eq!(nth_step(u32::MAX - 1, u32::MAX), u32::MAX);
        assert_eq!(nth_step(u32::MAX, u32::MAX), 0);
    }

    /// Probabilities 0 and 1 (0x80000000) are certain whatever the draw.
    #[test]
    fn random_edges() {
        for d in [0, 1, 0x7FFF_FFFF, 0x8000_0000, u32::MAX] {
            assert!(!random_hit(d, 0));
            assert!(random_hit(d, 0x8000_0000));
        }
    }

    /// The share of hits over many seeded draws is the probability, within
    /// five standard deviations.
    #[test]
    fn random_share_matches_probability() {
        let mut rng = Rng::new(42);
        let n = 200_000u32;
        for p in [0.01f64, 0.25, 0.5, 0.9] {
            let units = (2147483648.0 * p).round() as u32;
            let hits = (0..n).filter(|_| random_hit(rng.next_u32(), units)).count() as f64;
            let mean = f64::from(n) * p;
            let sd = (f64::from(n) * p * (1.0 - p)).sqrt();
            assert!((hits - mean).abs() < 5.0 * sd, "p {p}: {hits} hits");
        }
    }
}
