//! `-j CT --notrack` and `-j NOTRACK` (xt_CT.c xt_ct_target): the packet
//! goes untracked unless conntrack has already seen it.

use palisade_rules::ext::ct::Ct;
use palisade_rules::ext::Extension;
use palisade_rules::model::{Rule, TableId};

use super::{downcast, HookCtx, PacketTarget, Verdict};
use crate::conntrack::CtRef;

#[derive(Debug)]
struct Notrack;

impl PacketTarget for Notrack {
    fn apply(&self, cx: &mut HookCtx<'_>) -> Verdict {
        if cx.meta.ct == CtRef::None {
            cx.meta.ct = CtRef::Untracked;
        }
        Verdict::Continue
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule, _t: TableId) -> Option<Box<dyn PacketTarget>> {
    let ct = downcast::<Ct>(ext)?;
    // Templates (helpers, zones, timeouts, event masks) come with the
    // helper machinery; only --notrack is meant here.
    if ct.notrack() && ct.helper.is_empty() && ct.timeout.is_empty() && ct.zone == 0 {
        Some(Box::new(Notrack))
    } else {
        None
    }
}
