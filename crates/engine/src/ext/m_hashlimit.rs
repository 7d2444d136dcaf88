//! `-m hashlimit` (net/netfilter/xt_hashlimit.c, revision 3: the one
//! iptables 1.8.9 sends, kept an xt match by iptables-nft): a token
//! bucket per flow (the packet's masked addresses and ports, as the mode
//! says), in a table named per namespace.
//!
//! The table belongs to the namespace, not the rule: rules naming the
//! same table share its buckets, and the first rule to name it
//! (`hashlimit_mt_check_common` → `htable_create`) sets how flows are
//! keyed, how buckets start, their expiry and the table's size, which a
//! later rule cannot change. A commit keeps every table the new ruleset
//! still names (its rules are checked before the old ones are destroyed,
//! so `htable_find_get` finds it) and destroys the others (`htable_put`).
//! Each rule keeps only its own mode bits for the test (rate match, bytes,
//! above), as `hashlimit_mt_common` reads them from the rule.
//!
//! Buckets are counted in jiffies (HZ 250). Expired buckets are removed by
//! the table's garbage collector, which Linux runs every gc interval
//! (`htable_gc`, a deferrable delayed work); here it runs, at the next
//! packet, as of the last time it was due. A bucket is reset only by
//! that removal, so expiry shows where a refilled bucket differs from a
//! new one (the byte mode's burst, the table's maximum).

use std::collections::HashMap;

use palisade_rules::ext::hashlimit::{
    Hashlimit, BYTES, HASH_DIP, HASH_DPT, HASH_SIP, HASH_SPT, INVERT, RATE_MATCH,
};
use palisade_rules::ext::Extension;
use palisade_rules::model::{Rule, Ruleset};

use super::{downcast, HookCtx, PacketMatch};
use crate::hash::SipBuild;
use crate::time::{msecs_to_jiffies, HZ};

/// The highest power of two not above `x` (`POW2_BELOW64`/`POW2_BELOW32`).
const fn pow2_below(x: u64) -> u64 {
    1 << (63 - x.leading_zeros())
}

/// `CREDITS_PER_JIFFY`: the credits a bucket gains per jiffy, as large as
/// a day's worth still fits in 64 bits (`MAX_CPJ`).
pub const CREDITS_PER_JIFFY: u64 = pow2_below(u64::MAX / (HZ * 60 * 60 * 24));
/// `CREDITS_PER_JIFFY_BYTES`, for byte rates (`MAX_CPJ_BYTES`).
pub const CREDITS_PER_JIFFY_BYTES: u64 = pow2_below(u32::MAX as u64 / HZ);
/// A byte bucket's full credit: one second's worth.
const BYTE_CREDIT_MAX: u64 = CREDITS_PER_JIFFY_BYTES * HZ;
/// `XT_HASHLIMIT_SCALE_v2`: `avg` is in microseconds.
const SCALE: u64 = 1_000_000;
/// `XT_HASHLIMIT_BYTE_SHIFT`: byte rates count 16-byte chunks.
const BYTE_SHIFT: u32 = 4;
/// `HASHLIMIT_MAX_SIZE`: the most buckets and entries a table may have.
const MAX_SIZE: u32 = 1_048_576;
/// The bucket count `htable_create` picks when none is given: on a host
/// with more than 1 GiB of memory, 8192 (the lab machine's 24 GiB).
const DEFAULT_SIZE: u32 = 8192;

/// `user2credits` (revision 2 and later): microseconds to credits.
pub fn user2credits(user: u64) -> u64 {
    let hz_cpj = HZ * CREDITS_PER_JIFFY;
    if SCALE >= hz_cpj {
        user / (SCALE / hz_cpj)
    } else {
        user.wrapping_mul(hz_cpj / SCALE)
    }
}

/// `user2credits_byte`: the credits of one 16-byte chunk.
pub fn user2credits_byte(user: u32) -> u32 {
    ((u64::from(user) * HZ * CREDITS_PER_JIFFY_BYTES) >> 32) as u32
}

/// `user2rate`: packets per second in rate-match mode.
fn user2rate(user: u64) -> u64 {
    SCALE.checked_div(user).unwrap_or(0)
}

/// `user2rate_bytes`: bytes per second in rate-match mode.
fn user2rate_bytes(user: u32) -> u64 {
    let r = u64::from(u32::MAX.checked_div(user).unwrap_or(u32::MAX));
    r.wrapping_sub(1) << BYTE_SHIFT
}

/// `maskl`: the first `len` bits of an address.
fn maskl(a: u32, len: u8) -> u32 {
    match len {
        0 => 0,
        l => a & (u32::MAX << (32 - u32::from(l.min(32)))),
    }
}

/// `proto_ports_offset`: where a protocol's port pair is, if it has one.
fn ports_offset(proto: u8) -> Option<usize> {
    match proto {
        // TCP, UDP, DCCP, ESP, SCTP, UDP-Lite.
        6 | 17 | 33 | 50 | 132 | 136 => Some(0),
        // AH: the SPI's place.
        51 => Some(4),
        _ => None,
    }
}

/// A table's configuration (`struct hashlimit_cfg3` as `htable_create`
/// leaves it), with its times in jiffies.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Config {
    mode: u32,
    avg: u64,
    burst: u64,
    max: u32,
    gc_interval: u64,
    expire: u64,
    interval: u32,
    srcmask: u8,
    dstmask: u8,
}

impl Config {
    /// `hashlimit_mt_check_common`'s clamps and `htable_create`'s sizes.
    fn of(h: &Hashlimit) -> Config {
        let size = match h.size.min(MAX_SIZE) {
            0 => DEFAULT_SIZE,
            s => s,
        };
        let max = match h.max.min(MAX_SIZE) {
            0 => size.saturating_mul(8),
            m => m.max(size),
        };
        Config {
            mode: h.mode,
            avg: h.avg,
            burst: h.burst,
            max,
            gc_interval: msecs_to_jiffies(h.gc_interval),
            expire: msecs_to_jiffies(h.expire),
            interval: h.interval,
            srcmask: h.srcmask,
            dstmask: h.dstmask,
        }
    }
}

/// `struct dsthash_dst`: what a flow is keyed by (unused parts zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Flow {
    src: u32,
    dst: u32,
    sport: u16,
    dport: u16,
}

/// `struct dsthash_ent`'s expiry and `rateinfo`. The rate info is a C
/// union of a credit bucket (`credit`, `credit_cap`, `cost`) and the
/// rate-match counters (`interval` and `prev_window` sharing the first
/// word, `current_rate`, `rate`, `burst`); it is kept as the four 64-bit
/// words of an x86-64 kernel so that a rule whose mode differs from its
/// table's reads what Linux reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    expires: u64,
    prev: u64,
    w: [u64; 4],
}

impl Bucket {
    fn credit(&self) -> u64 {
        self.w[0]
    }
    fn set_credit(&mut self, v: u64) {
        self.w[0] = v;
    }
    fn credit_cap(&self) -> u64 {
        self.w[1]
    }
    fn set_credit_cap(&mut self, v: u64) {
        self.w[1] = v;
    }
    fn cost(&self) -> u64 {
        self.w[2]
    }
    fn interval(&self) -> u32 {
        self.w[0] as u32
    }
    fn prev_window(&self) -> u32 {
        (self.w[0] >> 32) as u32
    }
    fn set_interval_window(&mut self, interval: u32, prev_window: u32) {
        self.w[0] = u64::from(prev_window) << 32 | u64::from(interval);
    }
    fn current_rate(&self) -> u64 {
        self.w[1]
    }
    fn set_current_rate(&mut self, v: u64) {
        self.w[1] = v;
    }
    fn rate(&self) -> u64 {
        self.w[2]
    }
    fn burst(&self) -> u64 {
        self.w[3]
    }

    /// `rateinfo_init` (revision 3) at jiffy `now`.
    fn new(cfg: &Config, now: u64) -> Bucket {
        let mut b = Bucket {
            expires: now.wrapping_add(cfg.expire),
            prev: now,
            w: [0; 4],
        };
        if cfg.mode & RATE_MATCH != 0 {
            let (rate, burst) = if cfg.mode & BYTES != 0 {
                let rate = user2rate_bytes(cfg.avg as u32);
                let burst = match cfg.burst {
                    0 => rate,
                    n => n.wrapping_mul(rate),
                };
                (rate, burst)
            } else {
                let rate = user2rate(cfg.avg);
                (rate, cfg.burst.wrapping_add(rate))
            };
            b.set_interval_window(cfg.interval, 0);
            b.w[1] = 0;
            b.w[2] = rate;
            b.w[3] = burst;
        } else if cfg.mode & BYTES != 0 {
            b.w = [
                BYTE_CREDIT_MAX,
                cfg.burst,
                u64::from(user2credits_byte(cfg.avg as u32)),
                0,
            ];
        } else {
            let credit = user2credits(cfg.avg.wrapping_mul(cfg.burst));
            b.w = [credit, credit, user2credits(cfg.avg), 0];
        }
        b
    }

    /// `rateinfo_recalc` (revision 3) at jiffy `now`, in the table's mode.
    fn recalc(&mut self, now: u64, mode: u32) {
        // Jiffies only go forward; a caller's clock going back is no time.
        let delta = now.saturating_sub(self.prev);
        if delta == 0 {
            return;
        }
        if mode & RATE_MATCH != 0 {
            // `dh->rateinfo.interval * HZ` is a 32-bit product.
            let interval = u64::from(self.interval().wrapping_mul(HZ as u32));
            if delta < interval {
                return;
            }
            self.prev = now;
            let over = self.current_rate().wrapping_mul(interval) > delta.wrapping_mul(self.rate());
            self.set_interval_window(self.interval(), u32::from(over));
            self.set_current_rate(0);
            return;
        }
        self.prev = now;
        let cap = if mode & BYTES != 0 {
            let before = self.credit();
            let credit = before.wrapping_add(CREDITS_PER_JIFFY_BYTES.wrapping_mul(delta));
            if before >= credit {
                // Overflow: full.
                self.set_credit(BYTE_CREDIT_MAX);
                return;
            }
            self.set_credit(credit);
            BYTE_CREDIT_MAX
        } else {
            self.set_credit(
                self.credit()
                    .wrapping_add(delta.wrapping_mul(CREDITS_PER_JIFFY)),
            );
            self.credit_cap()
        };
        if self.credit() > cap {
            self.set_credit(cap);
        }
    }

    /// `hashlimit_byte_cost`: what a `len`-byte packet costs; an empty
    /// bucket with burst left is refilled once.
    fn byte_cost(&mut self, len: u32) -> u64 {
        let chunks = u64::from((len >> BYTE_SHIFT) + 1);
        let cost = chunks.wrapping_mul(self.cost()).min(BYTE_CREDIT_MAX);
        if self.credit() < cost && self.credit_cap() != 0 {
            self.set_credit_cap(self.credit_cap() - 1);
            self.set_credit(BYTE_CREDIT_MAX);
        }
        u64::from(cost as u32)
    }

    /// The test of `hashlimit_mt_common` after the lookup, with the rule's
    /// `mode`: whether the packet is within the limit.
    fn take(&mut self, mode: u32, len: u32) -> bool {
        if mode & RATE_MATCH != 0 {
            let cost = if mode & BYTES != 0 { u64::from(len) } else { 1 };
            self.set_current_rate(self.current_rate().wrapping_add(cost));
            return self.prev_window() == 0 && self.current_rate() <= self.burst();
        }
        let cost = if mode & BYTES != 0 {
            self.byte_cost(len)
        } else {
            self.cost()
        };
        if self.credit() >= cost {
            self.set_credit(self.credit() - cost);
            true
        } else {
            false
        }
    }
}

/// `struct xt_hashlimit_htable`.
#[derive(Debug, Clone)]
pub struct Table {
    cfg: Config,
    buckets: HashMap<Flow, Bucket, SipBuild>,
    /// When the garbage collector is next due (jiffies); set at the first
    /// packet the table sees.
    next_gc: Option<u64>,
}

impl Table {
    fn new(h: &Hashlimit, seed: u64) -> Table {
        Table {
            cfg: Config::of(h),
            buckets: HashMap::with_hasher(SipBuild::new(seed)),
            next_gc: None,
        }
    }

    /// `htable_gc` for every run due by jiffy `now`: a bucket whose expiry
    /// has come by the last of them is removed (`htable_selective_cleanup`).
    fn collect(&mut self, now: u64) {
        let every = self.cfg.gc_interval.max(1);
        let due = *self.next_gc.get_or_insert(now.saturating_add(every));
        if now < due {
            return;
        }
        let last_run = due + (now - due) / every * every;
        self.buckets.retain(|_, b| b.expires > last_run);
        self.next_gc = Some(last_run.saturating_add(every));
    }

    /// `hashlimit_init_dst`: the flow of a packet; `None` when its ports
    /// cannot be read (the packet is dropped).
    fn flow(&self, src: u32, dst: u32, proto: u8, l4: &[u8]) -> Option<Flow> {
        let mode = self.cfg.mode;
        let mut f = Flow {
            src: 0,
            dst: 0,
            sport: 0,
            dport: 0,
        };
        if mode & HASH_DIP != 0 {
            f.dst = maskl(dst, self.cfg.dstmask);
        }
        if mode & HASH_SIP != 0 {
            f.src = maskl(src, self.cfg.srcmask);
        }
        if mode & (HASH_DPT | HASH_SPT) == 0 {
            return Some(f);
        }
        // Read at the transport offset even in a later fragment.
        let (sport, dport) = match ports_offset(proto) {
            Some(off) => match l4.get(off..off + 4)? {
                &[a, b, c, d] => (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])),
                _ => return None,
            },
            None => (0, 0),
        };
        if mode & HASH_SPT != 0 {
            f.sport = sport;
        }
        if mode & HASH_DPT != 0 {
            f.dport = dport;
        }
        Some(f)
    }

    /// `hashlimit_mt_common` from the lookup on: the flow's bucket, new
    /// or refreshed, tested with the rule's mode. `None`: a new bucket
    /// past the table's maximum (the packet is dropped).
    fn hit(&mut self, flow: Flow, now: u64, mode: u32, len: u32) -> Option<bool> {
        let cfg = &self.cfg;
        let above = mode & INVERT != 0;
        if let Some(b) = self.buckets.get_mut(&flow) {
            b.expires = now.wrapping_add(cfg.expire);
            b.recalc(now, cfg.mode);
            return Some(b.take(mode, len) != above);
        }
        // dsthash_alloc_init: "max count of %u reached".
        if self.buckets.len() >= cfg.max as usize {
            return None;
        }
        let b = self.buckets.entry(flow).or_insert(Bucket::new(cfg, now));
        Some(b.take(mode, len) != above)
    }
}

/// The namespace's hashlimit tables, by name.
#[derive(Debug, Clone)]
pub struct Tables {
    tables: HashMap<Box<str>, Table, SipBuild>,
    seed: u64,
}

impl Tables {
    pub fn new(seed: u64) -> Tables {
        Tables {
            tables: HashMap::with_hasher(SipBuild::new(seed ^ 0x6873_6c69_6d69_7421)),
            seed,
        }
    }

    /// A commit of `rs`: the tables its rules name, in the order their
    /// checkentry runs, the existing ones kept as they are and the others
    /// created by their first rule; tables no rule names any more go.
    pub fn commit(&mut self, rs: &Ruleset) {
        let mut old = std::mem::replace(
            &mut self.tables,
            HashMap::with_hasher(SipBuild::new(self.seed ^ 0x6873_6c69_6d69_7421)),
        );
        for h in matches_in::<Hashlimit>(rs) {
            if self.tables.contains_key(h.name.as_str()) {
                continue;
            }
            let table = old.remove(h.name.as_str()).unwrap_or_else(|| {
                let n = self.tables.len() as u64;
                Table::new(h, self.seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            });
            self.tables.insert(h.name.as_str().into(), table);
        }
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.get_mut(name)
    }
}

/// Every match of type `T` in a ruleset, in the order the kernel checks
/// them (tables, chains, rules, matches).
pub(crate) fn matches_in<T: 'static>(rs: &Ruleset) -> impl Iterator<Item = &T> {
    rs.tables()
        .flat_map(|t| t.chains())
        .flat_map(|c| c.rules.iter())
        .flat_map(|r| r.matches.iter())
        .filter_map(|m| downcast::<T>(m.as_ref()))
}

#[derive(Debug)]
struct HashlimitMatch {
    name: String,
    /// The rule's own mode (`cfg->mode`): rate match, bytes, above.
    mode: u32,
}

impl PacketMatch for HashlimitMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let now = cx.now.jiffies();
        let (src, dst, proto) = (cx.summary.src, cx.summary.dst, cx.summary.protocol);
        let len = u32::try_from(cx.summary.total_len).unwrap_or(u32::MAX);
        let hl = cx.summary.header_len;
        let Some(table) = cx.env.hashlimit.get_mut(&self.name) else {
            // Every named table exists once the ruleset is committed.
            return false;
        };
        table.collect(now);
        let l4 = cx.pkt.get(hl..).unwrap_or(&[]);
        let hit = table
            .flow(src, dst, proto, l4)
            .and_then(|flow| table.hit(flow, now, self.mode, len));
        match hit {
            Some(h) => h,
            None => {
                cx.hotdrop = true;
                false
            }
        }
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let m = downcast::<Hashlimit>(ext)?;
    Some(Box::new(HashlimitMatch {
        name: m.name.clone(),
        mode: m.mode,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(mode: u32, avg: u64, burst: u64) -> Config {
        Config {
            mode,
            avg,
            burst,
            max: 8,
            gc_interval: 250,
            expire: 250,
            interval: 1,
            srcmask: 32,
            dstmask: 32,
        }
    }

    #[test]
    fn constants() {
        // MAX_CPJ = 2^64 / (250 * 86400) = 854015929338: 2^39 below it.
        assert_eq!(CREDITS_PER_JIFFY, 1 << 39);
        // MAX_CPJ_BYTES = 2^32 / 250 = 17179869: 2^24 below it.
        assert_eq!(CREDITS_PER_JIFFY_BYTES, 1 << 24);
        // user2credits: HZ * CPJ / SCALE = 137438953 credits per µs.
        assert_eq!(user2credits(1), 137_438_953);
        assert_eq!(user2credits(500_000), 500_000 * 137_438_953);
        assert_eq!(user2credits_byte(1), 0);
        assert_eq!(user2credits_byte(u32::MAX), 4_194_303_999);
        assert_eq!(user2rate(250_000), 4);
        assert_eq!(user2rate(0), 0);
        assert_eq!(user2rate_bytes(0), (u64::from(u32::MAX) - 1) << 4);
        assert_eq!(maskl(0xc633_6417, 24), 0xc633_6400);
        assert_eq!(maskl(0xc633_6417, 0), 0);
        assert_eq!(maskl(0xc633_6417, 32), 0xc633_6417);
    }

    /// 2/sec, burst 2: a new bucket holds two packets, then refills one
    /// per 125 jiffies less a rounding fraction (cost 124.99... jiffies).
    #[test]
    fn packet_bucket() {
        let c = cfg(HASH_SIP, 500_000, 2);
        let mut b = Bucket::new(&c, 1000);
        assert_eq!(b.cost(), 500_000 * 137_438_953);
        assert_eq!(b.credit(), 2 * b.cost());
        assert!(b.take(c.mode, 60));
        assert!(b.take(c.mode, 60));
        assert!(!b.take(c.mode, 60));
        b.recalc(1124, c.mode);
        assert!(!b.take(c.mode, 60));
        b.recalc(1125, c.mode);
        assert!(b.take(c.mode, 60));
        // Refill stops at the cap.
        b.recalc(100_000, c.mode);
        assert_eq!(b.credit(), b.credit_cap());
    }

    /// Byte mode: one second's credit, refilled `burst` times when short
    /// (the burst never comes back while the bucket lives).
    #[test]
    fn byte_bucket() {
        // 1000 b/s: cost = 2^32 / (1000 >> 4 + 1) per chunk.
        let avg = u64::from(u32::MAX / ((1000 >> 4) + 1));
        let c = cfg(BYTES | HASH_SIP, avg, 1);
        let mut b = Bucket::new(&c, 0);
        assert_eq!(b.credit(), BYTE_CREDIT_MAX);
        assert_eq!(b.credit_cap(), 1);
        // 1000-byte packets: 63 chunks each, of 63 per second.
        assert!(b.take(c.mode, 1000));
        assert!(b.take(c.mode, 1000));
        assert_eq!(b.credit_cap(), 0);
        assert!(!b.take(c.mode, 1000));
        b.recalc(250, c.mode);
        assert!(b.take(c.mode, 1000));
    }

    /// Rate match: per interval, the count of packets against rate + burst;
    /// a window over the rate blocks the next.
    #[test]
    fn rate_match_windows() {
        // 4/sec (avg 250000 µs), burst 1, interval 1 s.
        let c = cfg(RATE_MATCH | HASH_SIP, 250_000, 1);
        let mut b = Bucket::new(&c, 0);
        assert_eq!((b.rate(), b.burst(), b.interval()), (4, 5, 1));
        for _ in 0..5 {
            assert!(b.take(c.mode, 60));
        }
        assert!(!b.take(c.mode, 60));
        b.recalc(249, c.mode);
        assert!(!b.take(c.mode, 60));
        // A second later: 7 packets in 250 jiffies were over 4/s.
        b.recalc(250, c.mode);
        assert_eq!(b.prev_window(), 1);
        assert!(!b.take(c.mode, 60));
        // The next window saw one packet: under the rate again.
        b.recalc(500, c.mode);
        assert_eq!(b.prev_window(), 0);
        assert!(b.take(c.mode, 60));
    }

    #[test]
    fn table_max_and_collection() {
        let mut h = hashlimit();
        (h.size, h.max, h.gc_interval, h.expire) = (1, 2, 100, 1000);
        let mut t = Table::new(&h, 1);
        assert_eq!(t.cfg.max, 2);
        assert_eq!((t.cfg.gc_interval, t.cfg.expire), (25, 250));
        let flow = |a| t.flow(a, 2, 17, &[0, 1, 0, 2]).unwrap();
        let (f1, f2, f3) = (flow(1), flow(2), flow(3));
        t.collect(0);
        assert_eq!(t.hit(f1, 0, h.mode, 60), Some(true));
        assert_eq!(t.hit(f2, 0, h.mode, 60), Some(true));
        assert_eq!(t.hit(f3, 0, h.mode, 60), None);
        // Expired at 250, collected by the run at 250.
        t.collect(249);
        assert_eq!(t.buckets.len(), 2);
        t.collect(260);
        assert_eq!(t.buckets.len(), 0);
        assert_eq!(t.next_gc, Some(275));
        assert_eq!(t.hit(f3, 260, h.mode, 60), Some(true));
        // A size above the maximum raises the maximum.
        let mut h = hashlimit();
        h.max = 3;
        let t = Table::new(&h, 1);
        assert_eq!(t.cfg.max, 8192);
        let t = Table::new(&hashlimit(), 1);
        assert_eq!(t.cfg.max, 65536);
    }

    #[test]
    fn flows_by_mode_and_mask() {
        let mut h = hashlimit();
        (h.mode, h.srcmask) = (HASH_SIP | HASH_DPT, 24);
        let t = Table::new(&h, 1);
        let tcp = [0x9c, 0x40, 0, 80];
        let f = t.flow(0xc633_6417, 0x0a00_0001, 6, &tcp).unwrap();
        assert_eq!(
            f,
            Flow {
                src: 0xc633_6400,
                dst: 0,
                sport: 0,
                dport: 80
            }
        );
        // No ports: zero; ports cut short: dropped.
        assert_eq!(t.flow(1, 2, 1, &[]).map(|f| f.dport), Some(0));
        assert_eq!(t.flow(1, 2, 6, &[0, 1, 0]), None);
        // AH: the SPI.
        assert_eq!(
            t.flow(1, 2, 51, &[0, 0, 0, 0, 0, 0, 0, 9]).map(|f| f.dport),
            Some(9)
        );
    }

    fn hashlimit() -> Hashlimit {
        let mut h = Hashlimit::default();
        h.name = "t".into();
        (h.mode, h.avg, h.burst) = (HASH_SIP, 500_000, 2);
        (h.gc_interval, h.expire) = (1000, 1000);
        h
    }
}
