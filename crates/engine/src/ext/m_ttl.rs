//! `-m ttl` (ipt_ttl.c).

use palisade_rules::ext::ttl::{Ttl, TtlMode};
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};
use crate::wire::ipv4::Ipv4Read;

#[derive(Debug)]
struct TtlMatch(Ttl);

impl PacketMatch for TtlMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let ttl = cx.pkt.ttl();
        match self.0.mode {
            TtlMode::Eq => ttl == self.0.ttl,
            TtlMode::Ne => ttl != self.0.ttl,
            TtlMode::Lt => ttl < self.0.ttl,
            TtlMode::Gt => ttl > self.0.ttl,
        }
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    Some(Box::new(TtlMatch(downcast::<Ttl>(ext)?.clone())))
}
