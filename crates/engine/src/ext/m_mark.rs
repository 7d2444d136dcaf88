//! `-m mark` (xt_mark.c): `(mark & mask) == value`.

use palisade_rules::ext::mark::Mark;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};

#[derive(Debug)]
struct MarkMatch {
    mark: u32,
    mask: u32,
    invert: bool,
}

impl PacketMatch for MarkMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        ((cx.meta.mark & self.mask) == self.mark) != self.invert
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let m = downcast::<Mark>(ext)?;
    Some(Box::new(MarkMatch {
        mark: m.mark,
        mask: m.mask,
        invert: m.invert,
    }))
}
