//! Connection counting per key (net/netfilter/nf_conncount.c), for
//! `-m connlimit`: for each key (a masked address), the original tuples
//! of connections whose packets were counted, each still counting while
//! conntrack holds a connection of that tuple that is not closed.
//!
//! Linux keeps the tuples, not references, and checks them against the
//! table when a key's list is touched: a connection that is gone (never
//! confirmed, expired, killed) or a TCP connection in TIME_WAIT or CLOSE
//! (`already_closed`) no longer counts and is dropped from the list then.
//! A packet of a connection that is already confirmed adds nothing: if
//! the connection is ASSURED the list is only cleaned
//! (`__nf_conncount_add` returns -EEXIST and `count_tree` runs
//! `nf_conncount_gc_list`); if it is not (a reply to a SYN, a
//! retransmission), the list is cleaned and the tuple added unless it is
//! there.
//!
//! One CPU: `find_or_evict` drops a tuple conntrack does not know when
//! this CPU added it or it is two jiffies old; on one CPU that is always
//! (Linux on several CPUs may keep one added by another CPU within two
//! jiffies).

use std::collections::HashMap;

use crate::conntrack::tcp::TcpState;
use crate::conntrack::{Conntrack, ProtoTrack, Tuple};
use crate::hash::SipBuild;
use crate::time::Time;

/// `CONNCOUNT_GC_MAX_COLLECT`: tuples one clean-up may drop before it
/// stops.
const GC_MAX_COLLECT: u32 = 64;
/// `CONNCOUNT_GC_MAX_NODES`: other keys' lists cleaned when a new key is
/// inserted (`insert_tree`), empty ones freed.
const GC_MAX_NODES: usize = 8;

/// A key: the masked address and the conntrack zone (xt_connlimit's
/// `key[0..2]` for IPv4; zones are always 0 here).
pub type Key = [u32; 2];

/// What the packet brings (`get_ct_or_tuple_from_skb`): the original
/// tuple of its connection, or its own tuple, and whether that
/// connection is confirmed and ASSURED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub tuple: Tuple,
    pub confirmed: bool,
    pub assured: bool,
}

/// `struct nf_conncount_list`.
#[derive(Debug, Clone, Default)]
struct List {
    tuples: Vec<Tuple>,
    /// `last_gc`, `last_gc_count`: when the list was last cleaned (32-bit
    /// jiffies) and its length then.
    last_gc: u32,
    last_gc_count: u32,
}

/// Why a tuple was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NotAdded {
    /// Already counted (or to be counted): `out_put` with 0.
    Present,
    /// An ASSURED connection: -EEXIST.
    Exists,
}

/// `already_closed`.
fn already_closed(ct: &mut Conntrack, now: Time, t: &Tuple) -> Option<bool> {
    // nf_conntrack_find_get: confirmed connections; expired ones go.
    let (id, _) = ct.find(now, t)?;
    let conn = ct.get(id)?;
    Some(match &conn.proto {
        ProtoTrack::Tcp(tcp) => matches!(tcp.state(), TcpState::TimeWait | TcpState::Close),
        _ => false,
    })
}

impl List {
    fn new(now: u32) -> List {
        // nf_conncount_list_init.
        List {
            tuples: Vec::new(),
            last_gc: now,
            last_gc_count: 0,
        }
    }

    fn count(&self) -> u32 {
        self.tuples.len() as u32
    }

    /// `__nf_conncount_add`.
    fn add(&mut self, ct: &mut Conntrack, now: Time, pkt: &Counted) -> Result<(), NotAdded> {
        let j = now.jiffies() as u32;
        if pkt.confirmed {
            if pkt.assured {
                return Err(NotAdded::Exists);
            }
        } else if j == self.last_gc
            && self.count().wrapping_sub(self.last_gc_count) < GC_MAX_COLLECT
        {
            self.tuples.push(pkt.tuple);
            return Ok(());
        }
        // check_connections.
        let mut collect = 0;
        let mut i = 0;
        while i < self.tuples.len() {
            if collect > GC_MAX_COLLECT {
                break;
            }
            let t = self.tuples[i];
            match already_closed(ct, now, &t) {
                None => {
                    self.tuples.remove(i);
                    collect += 1;
                }
                Some(_) if t == pkt.tuple => return Err(NotAdded::Present),
                Some(true) => {
                    self.tuples.remove(i);
                    collect += 1;
                }
                Some(false) => i += 1,
            }
        }
        self.last_gc = j;
        self.last_gc_count = self.count();
        self.tuples.push(pkt.tuple);
        Ok(())
    }

    /// `__nf_conncount_gc_list`; whether the list is empty after it.
    fn gc(&mut self, ct: &mut Conntrack, now: Time) -> bool {
        let j = now.jiffies() as u32;
        if j == self.last_gc {
            return false;
        }
        let mut collected = 0;
        let mut i = 0;
        while i < self.tuples.len() {
            match already_closed(ct, now, &self.tuples[i]) {
                None | Some(true) => {
                    self.tuples.remove(i);
                    collected += 1;
                }
                Some(false) => {
                    i += 1;
                    if collected > GC_MAX_COLLECT {
                        break;
                    }
                }
            }
        }
        self.last_gc = j;
        self.last_gc_count = self.count();
        self.tuples.is_empty()
    }
}

/// `struct nf_conncount_data`: one rule's lists.
#[derive(Debug, Clone)]
pub struct ConnCount {
    index: HashMap<Key, usize, SipBuild>,
    /// The lists with their keys; freed places are reused.
    slots: Vec<Option<(Key, List)>>,
    free: Vec<usize>,
    /// Where the clean-up of other keys' lists goes on.
    sweep: usize,
}

impl ConnCount {
    pub fn new(seed: u64) -> ConnCount {
        ConnCount {
            index: HashMap::with_hasher(SipBuild::new(seed ^ 0x636f_6e6e_636f_756e)),
            slots: Vec::new(),
            free: Vec::new(),
            sweep: 0,
        }
    }

    /// `nf_conncount_count_skb`: the connections counted for `key` with
    /// the packet's own; 0 when the packet cannot be counted (xt_connlimit
    /// drops it).
    pub fn count(&mut self, ct: &mut Conntrack, now: Time, key: Key, pkt: Option<&Counted>) -> u32 {
        if let Some(&slot) = self.index.get(&key) {
            let Some((_, list)) = self.slots[slot].as_mut() else {
                return 0;
            };
            let Some(pkt) = pkt else {
                return 0;
            };
            if list.count() == 0 {
                // count_tree defers an empty list to insert_tree, which
                // finds it and adds without the clean-up on -EEXIST.
                let _ = list.add(ct, now, pkt);
                return list.count();
            }
            if list.add(ct, now, pkt) == Err(NotAdded::Exists) {
                list.gc(ct, now);
            }
            return list.count();
        }
        let Some(pkt) = pkt else {
            return 0;
        };
        self.sweep_others(ct, now);
        let mut list = List::new(now.jiffies() as u32);
        list.tuples.push(pkt.tuple);
        let entry = Some((key, list));
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s] = entry;
                s
            }
            None => {
                self.slots.push(entry);
                self.slots.len() - 1
            }
        };
        self.index.insert(key, slot);
        1
    }

    /// insert_tree's clean-up on the way: a few other keys' lists are
    /// cleaned and those left empty freed, so lists of keys never seen
    /// again do not pile up.
    fn sweep_others(&mut self, ct: &mut Conntrack, now: Time) {
        let n = self.slots.len();
        for _ in 0..GC_MAX_NODES.min(n) {
            self.sweep = (self.sweep + 1) % n;
            let s = self.sweep;
            let Some((key, list)) = self.slots[s].as_mut() else {
                continue;
            };
            if list.gc(ct, now) {
                let key = *key;
                self.slots[s] = None;
                self.index.remove(&key);
                self.free.push(s);
            }
        }
    }

    /// Lists held (for tests).
    pub fn keys(&self) -> usize {
        self.index.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4::PROTO_TCP;

    fn tuple(src: u32, sport: u16) -> Tuple {
        Tuple {
            src,
            dst: 0x0a00_0001,
            proto: PROTO_TCP,
            a: sport,
            b: 80,
        }
    }

    fn new(t: Tuple) -> Counted {
        Counted {
            tuple: t,
            confirmed: false,
            assured: false,
        }
    }

    const T0: Time = Time(3_600_000_000_000);

    /// Tuples conntrack does not hold (here: none is confirmed) are
    /// dropped when the list is next cleaned, at the next jiffy.
    #[test]
    fn gone_connections_stop_counting() {
        let ct = &mut Conntrack::new(1);
        let mut cc = ConnCount::new(1);
        let key = [0xc633_6400, 0];
        assert_eq!(cc.count(ct, T0, key, Some(&new(tuple(1, 1)))), 1);
        // The same jiffy: no clean-up, the list grows.
        assert_eq!(cc.count(ct, T0, key, Some(&new(tuple(1, 2)))), 2);
        // Later: the two unconfirmed ones are gone.
        let t1 = T0 + Time::from_millis(100);
        assert_eq!(cc.count(ct, t1, key, Some(&new(tuple(1, 3)))), 1);
        assert_eq!(cc.count(ct, t1, key, None), 0);
    }

    /// An ASSURED connection adds nothing; the clean-up it triggers may
    /// leave the list empty (xt_connlimit then drops the packet).
    #[test]
    fn assured_packets_only_clean() {
        let ct = &mut Conntrack::new(1);
        let mut cc = ConnCount::new(1);
        let key = [1, 0];
        let t = tuple(1, 1);
        assert_eq!(cc.count(ct, T0, key, Some(&new(t))), 1);
        let assured = Counted {
            tuple: t,
            confirmed: true,
            assured: true,
        };
        assert_eq!(cc.count(ct, T0, key, Some(&assured)), 1);
        let t1 = T0 + Time::from_millis(100);
        assert_eq!(cc.count(ct, t1, key, Some(&assured)), 0);
    }

    /// Lists of keys never seen again are freed by later insertions.
    #[test]
    fn empty_lists_are_freed() {
        let ct = &mut Conntrack::new(1);
        let mut cc = ConnCount::new(1);
        for k in 0..100u32 {
            let now = T0 + Time::from_millis(u64::from(k) * 10);
            cc.count(ct, now, [k, 0], Some(&new(tuple(k, 1))));
        }
        assert!(cc.keys() < 20, "{} lists kept", cc.keys());
    }
}
