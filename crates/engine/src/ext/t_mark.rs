//! `-j MARK` (xt_mark.c mark_tg): `mark = (mark & ~mask) ^ value`.

use palisade_rules::ext::mark_tg::Mark;
use palisade_rules::ext::Extension;
use palisade_rules::model::{Rule, TableId};

use super::{downcast, HookCtx, PacketTarget, Verdict};

#[derive(Debug)]
struct MarkTarget(Mark);

impl PacketTarget for MarkTarget {
    fn apply(&self, cx: &mut HookCtx<'_>) -> Verdict {
        cx.meta.mark = self.0.apply(cx.meta.mark);
        Verdict::Continue
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule, _t: TableId) -> Option<Box<dyn PacketTarget>> {
    Some(Box::new(MarkTarget(downcast::<Mark>(ext)?.clone())))
}
