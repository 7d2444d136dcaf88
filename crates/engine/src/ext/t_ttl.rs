//! `-j TTL` (ipt_TTL.c ttl_tg): set, increase or decrease, saturating.

use palisade_rules::ext::ttl_tg::{Ttl, TtlMode};
use palisade_rules::ext::Extension;
use palisade_rules::model::{Rule, TableId};

use super::{downcast, HookCtx, PacketTarget, Verdict};
use crate::wire::ipv4::{Ipv4Read, Ipv4Write};

#[derive(Debug)]
struct TtlTarget(Ttl);

impl PacketTarget for TtlTarget {
    fn apply(&self, cx: &mut HookCtx<'_>) -> Verdict {
        let old = cx.pkt.ttl();
        let new = match self.0.mode {
            TtlMode::Set => self.0.ttl,
            TtlMode::Inc => old.saturating_add(self.0.ttl),
            TtlMode::Dec => old.saturating_sub(self.0.ttl),
        };
        if new != old {
            cx.pkt.set_ttl(new);
        }
        Verdict::Continue
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule, _t: TableId) -> Option<Box<dyn PacketTarget>> {
    Some(Box::new(TtlTarget(downcast::<Ttl>(ext)?.clone())))
}
