//! `-m recent` (net/netfilter/xt_recent.c, revision 1, kept an xt match
//! by iptables-nft): lists of addresses with the times they were last
//! seen, named per namespace and shared by every rule that names them.
//!
//! The first rule to name a list (`recent_mt_check`) sets its address
//! mask; each rule's hit count asks for as many time stamps per address
//! (at least 32, the next power of two above the hit count), and a rule
//! that asks for more than the list keeps empties it and raises the
//! number. A commit keeps every list the new ruleset still names (its
//! rules are checked before the old ones are destroyed) and destroys the
//! others. A list holds at most `ip_list_tot` (100) addresses; a new one
//! beyond that replaces the least recently updated (`recent_entry_init`).
//! Time stamps are jiffies (HZ 250).

use std::collections::HashMap;

use palisade_rules::ext::recent::{Op, Recent, Side};
use palisade_rules::ext::Extension;
use palisade_rules::model::{Rule, Ruleset};

use super::m_hashlimit::matches_in;
use super::{downcast, HookCtx, PacketMatch};
use crate::hash::SipBuild;
use crate::time::HZ;

/// `ip_list_tot`, the module parameter's default: addresses per list.
pub const IP_LIST_TOT: usize = 100;
/// `ip_pkt_list_tot`'s default: 0, so the stamps follow the hit counts.
const IP_PKT_LIST_TOT: u32 = 0;

/// `struct recent_entry`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    addr: u32,
    ttl: u8,
    /// Where the next stamp goes, less one (`index`, a `u16`).
    index: u16,
    /// How many stamps are valid (`nstamps`).
    nstamps: u16,
    stamps: Box<[u64]>,
}

impl Entry {
    /// The newest stamp (`stamps[index - 1]`).
    fn last_seen(&self) -> u64 {
        let i = usize::from(self.index).wrapping_sub(1) % self.stamps.len();
        self.stamps[i]
    }
}

/// `struct recent_table`. Entries are kept oldest first (the LRU list);
/// at most `IP_LIST_TOT` of them, so lookups scan.
#[derive(Debug, Clone)]
pub struct List {
    mask: u32,
    /// `nstamps_max_mask`: stamps per entry, less one.
    nstamps_mask: u16,
    entries: Vec<Entry>,
}

impl List {
    fn new(mask: u32, nstamps_mask: u16) -> List {
        List {
            mask,
            nstamps_mask,
            entries: Vec::with_capacity(IP_LIST_TOT),
        }
    }

    /// `recent_entry_lookup`: an entry of `addr` whose TTL agrees (either
    /// side 0 is a wildcard).
    fn lookup(&self, addr: u32, ttl: u8) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.addr == addr && (ttl == e.ttl || ttl == 0 || e.ttl == 0))
    }

    /// `recent_entry_init`: a new entry, the oldest one making room.
    fn insert(&mut self, addr: u32, ttl: u8, now: u64) {
        if self.entries.len() >= IP_LIST_TOT {
            self.entries.remove(0);
        }
        let mut stamps = vec![0; usize::from(self.nstamps_mask) + 1].into_boxed_slice();
        stamps[0] = now;
        self.entries.push(Entry {
            addr,
            ttl,
            index: 1,
            nstamps: 1,
            stamps,
        });
    }

    /// `recent_entry_update`: one more stamp (the oldest overwritten once
    /// all are used); the entry becomes the newest. Returns its new place.
    fn update(&mut self, i: usize, now: u64) -> usize {
        let mask = self.nstamps_mask;
        let mut e = self.entries.remove(i);
        e.index &= mask;
        e.stamps[usize::from(e.index)] = now;
        e.index = e.index.wrapping_add(1);
        if e.index > e.nstamps {
            e.nstamps = e.index;
        }
        self.entries.push(e);
        self.entries.len() - 1
    }

    /// The hit test of `recent_mt` for `--rcheck`/`--update`: stamps
    /// since `since` (all when `seconds` is 0), at least `hit_count`.
    fn seen(&self, i: usize, since: i128, seconds: u32, hit_count: u32) -> bool {
        let e = &self.entries[i];
        let mut hits = 0u32;
        for &stamp in &e.stamps[..usize::from(e.nstamps).min(e.stamps.len())] {
            // time_after(time, stamp): older than the window.
            if seconds != 0 && since > i128::from(stamp) {
                continue;
            }
            hits += 1;
            if hit_count == 0 || hits >= hit_count {
                return true;
            }
        }
        false
    }

    /// `recent_entry_reap`: the least recently updated entry goes if its
    /// newest stamp is older than `since`, unless it is entry `working`
    /// about to be updated. Returns whether it went.
    fn reap(&mut self, since: i128, working: usize, updating: bool) -> bool {
        let Some(head) = self.entries.first() else {
            return false;
        };
        if working == 0 && updating {
            return false;
        }
        if since > i128::from(head.last_seen()) {
            self.entries.remove(0);
            return true;
        }
        false
    }

    /// `recent_table_flush`.
    fn flush(&mut self) {
        self.entries.clear();
    }
}

/// The stamps a rule asks for, less one (`recent_mt_check`), given the
/// `ip_pkt_list_tot` module parameter.
pub fn nstamps_mask(hit_count: u32, pkt_list_tot: u32) -> u16 {
    let n = if pkt_list_tot != 0 && hit_count < pkt_list_tot {
        pkt_list_tot
    } else if hit_count != 0 {
        hit_count
    } else {
        32
    };
    // roundup_pow_of_two(n) - 1; hit counts are below 65536 (checked).
    (n.next_power_of_two() - 1).min(u32::from(u16::MAX)) as u16
}

/// The namespace's recent lists, by name.
#[derive(Debug, Clone)]
pub struct Lists {
    lists: HashMap<Box<str>, List, SipBuild>,
    seed: u64,
}

impl Lists {
    pub fn new(seed: u64) -> Lists {
        Lists {
            lists: HashMap::with_hasher(SipBuild::new(seed ^ 0x7265_6365_6e74_2121)),
            seed,
        }
    }

    /// A commit of `rs` (`recent_mt_check` for each of its rules in
    /// order, then `recent_mt_destroy` for the old ones).
    pub fn commit(&mut self, rs: &Ruleset) {
        let mut old = std::mem::replace(
            &mut self.lists,
            HashMap::with_hasher(SipBuild::new(self.seed ^ 0x7265_6365_6e74_2121)),
        );
        for r in matches_in::<Recent>(rs) {
            let want = nstamps_mask(r.hit_count, IP_PKT_LIST_TOT);
            let name = r.name.as_str();
            if !self.lists.contains_key(name) {
                let list = old.remove(name).unwrap_or_else(|| List::new(r.mask, want));
                self.lists.insert(name.into(), list);
            }
            if let Some(list) = self.lists.get_mut(name) {
                if want > list.nstamps_mask {
                    list.flush();
                    list.nstamps_mask = want;
                }
            }
        }
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut List> {
        self.lists.get_mut(name)
    }
}

#[derive(Debug)]
struct RecentMatch(Recent);

impl PacketMatch for RecentMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let r = &self.0;
        let addr = match r.side {
            Side::Dest => cx.summary.dst,
            Side::Source => cx.summary.src,
        };
        let mut ttl = cx.pkt.get(8).copied().unwrap_or(0);
        // "use TTL as seen before forwarding": a packet going out that no
        // local socket sent. (A TCP reset REJECT builds has no socket
        // either; the engine counts it as sent by this host.)
        if cx.meta.out_iface.is_some() && !cx.meta.local_origin {
            ttl = ttl.wrapping_add(1);
        }
        let now = cx.now.jiffies();
        let Some(list) = cx.env.recent.get_mut(&r.name) else {
            // Every named list exists once the ruleset is committed.
            return false;
        };
        let addr = addr & list.mask;
        let mut ret = r.invert;
        let Some(mut i) = list.lookup(addr, if r.rttl { ttl } else { 0 }) else {
            if r.op == Some(Op::Set) {
                list.insert(addr, ttl, now);
                ret = !ret;
            }
            return ret;
        };
        match r.op {
            Some(Op::Set) => ret = !ret,
            Some(Op::Remove) => {
                list.entries.remove(i);
                return !ret;
            }
            Some(Op::Check | Op::Update) => {
                // jiffies - info->seconds * HZ, the product in 32 bits.
                let since = i128::from(now) - i128::from(r.seconds.wrapping_mul(HZ as u32));
                if list.seen(i, since, r.seconds, r.hit_count) {
                    ret = !ret;
                }
                if r.reap {
                    let updating = r.op == Some(Op::Update) && ret;
                    if list.reap(since, i, updating) {
                        if i == 0 {
                            return ret;
                        }
                        i -= 1;
                    }
                }
            }
            None => {}
        }
        // `ret` itself, not whether the test passed: `! --update` updates
        // on a miss.
        if r.op == Some(Op::Set) || (r.op == Some(Op::Update) && ret) {
            let i = list.update(i, now);
            list.entries[i].ttl = ttl;
        }
        ret
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let m = downcast::<Recent>(ext)?;
    Some(Box::new(RecentMatch(m.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_per_hit_count() {
        assert_eq!(nstamps_mask(0, 0), 31);
        assert_eq!(nstamps_mask(1, 0), 0);
        assert_eq!(nstamps_mask(3, 0), 3);
        assert_eq!(nstamps_mask(32, 0), 31);
        assert_eq!(nstamps_mask(33, 0), 63);
        assert_eq!(nstamps_mask(65535, 0), 65535);
        // ip_pkt_list_tot=20: at least 32 (20 rounded up) below it.
        assert_eq!(nstamps_mask(3, 20), 31);
        assert_eq!(nstamps_mask(40, 20), 63);
    }

    /// The stamps are a ring: with 4 of them, the fifth update overwrites
    /// the first, and a hit count counts the ones in the window.
    #[test]
    fn stamp_ring_and_window() {
        let mut l = List::new(u32::MAX, 3);
        l.insert(7, 64, 100);
        let mut i = 0;
        for t in [200, 300, 400, 500] {
            i = l.update(i, t);
        }
        let e = &l.entries[i];
        assert_eq!((e.index, e.nstamps), (1, 4));
        assert_eq!(&e.stamps[..], &[500, 200, 300, 400]);
        assert_eq!(e.last_seen(), 500);
        // Since 300: 300, 400, 500.
        assert!(l.seen(i, 300, 1, 3));
        assert!(!l.seen(i, 301, 1, 3));
        // seconds 0: every stamp counts.
        assert!(l.seen(i, 1000, 0, 4));
        assert!(!l.seen(i, 1000, 0, 5));
    }

    /// ip_list_tot: the 101st address pushes out the least recently
    /// updated one, and an update makes an entry the newest.
    #[test]
    fn list_full_drops_the_oldest() {
        let mut l = List::new(u32::MAX, 31);
        for a in 0..100 {
            l.insert(a, 0, 1);
        }
        let i = l.lookup(0, 0).unwrap();
        l.update(i, 2);
        l.insert(100, 0, 3);
        assert_eq!(l.entries.len(), 100);
        assert!(l.lookup(0, 0).is_some());
        assert!(l.lookup(1, 0).is_none());
    }

    #[test]
    fn ttl_wildcards() {
        let mut l = List::new(u32::MAX, 31);
        l.insert(9, 64, 1);
        assert_eq!(l.lookup(9, 64), Some(0));
        assert_eq!(l.lookup(9, 0), Some(0));
        assert_eq!(l.lookup(9, 63), None);
        l.entries[0].ttl = 0;
        assert_eq!(l.lookup(9, 63), Some(0));
    }

    #[test]
    fn reap_spares_the_entry_being_updated() {
        let mut l = List::new(u32::MAX, 31);
        l.insert(1, 0, 10);
        l.insert(2, 0, 20);
        assert!(!l.reap(11, 0, true));
        assert!(!l.reap(10, 1, false));
        assert!(l.reap(11, 1, true));
        assert_eq!(l.entries.len(), 1);
    }
}
