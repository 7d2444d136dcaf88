//! `-m connlimit` (net/netfilter/xt_connlimit.c `connlimit_mt`, revision
//! 1, kept an xt match by iptables-nft): the number of connections of the
//! packet's masked source (or destination) address, counted by
//! nf_conncount (`crate::conncount`), against the limit.
//!
//! The counts belong to the rule (`connlimit_mt_check` calls
//! `nf_conncount_init` for each rule instance): two rules never share
//! them, and a rule created by a later commit starts with none. They live
//! in the compiled match, locked only by the thread that owns the engine.

use std::sync::{Mutex, PoisonError};

use palisade_rules::ext::connlimit::Connlimit;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};
use crate::conncount::{ConnCount, Counted};
use crate::conntrack::{status, CtRef, Tuple};

#[derive(Debug)]
struct ConnlimitMatch {
    limit: u32,
    /// `XT_CONNLIMIT_INVERT` (`--connlimit-upto`).
    upto: bool,
    daddr: bool,
    mask: u32,
    /// Created at the first packet, keyed from the engine's seed.
    counts: Mutex<Option<ConnCount>>,
}

impl PacketMatch for ConnlimitMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let addr = if self.daddr {
            cx.summary.dst
        } else {
            cx.summary.src
        };
        let key = [addr & self.mask, 0];
        let now = cx.now;
        // get_ct_or_tuple_from_skb: the packet's connection, or (untracked,
        // invalid, a -j CT template) its own tuple and whatever confirmed
        // connection has it.
        let counted = match cx.meta.ct {
            CtRef::Conn(id, _) => cx.ct.get(id).map(|c| Counted {
                tuple: c.tuples[0],
                confirmed: c.has(status::CONFIRMED),
                assured: c.has(status::ASSURED),
            }),
            CtRef::Untracked | CtRef::None | CtRef::Template(_) => {
                Tuple::of(&cx.summary).map(|t| {
                    let found = cx.ct.find(now, &t).and_then(|(id, _)| cx.ct.get(id));
                    Counted {
                        tuple: t,
                        confirmed: found.is_some(),
                        assured: found.is_some_and(|c| c.has(status::ASSURED)),
                    }
                })
            }
        };
        let seed = cx.env.hash_seed;
        let n = self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(|| ConnCount::new(seed))
            .count(cx.ct, now, key, counted.as_ref());
        if n == 0 {
            // "kmalloc failed or tuple couldn't be found, drop it entirely"
            cx.hotdrop = true;
            return false;
        }
        (n > self.limit) != self.upto
    }

    fn needs_conntrack(&self) -> bool {
        // connlimit_mt_check: nf_ct_netns_get.
        true
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let m = downcast::<Connlimit>(ext)?;
    Some(Box::new(ConnlimitMatch {
        limit: m.limit,
        upto: m.upto,
        daddr: m.daddr,
        mask: m.mask,
        counts: Mutex::new(None),
    }))
}
