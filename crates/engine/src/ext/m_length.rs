//! `-m length` (xt_length.c): the IP total length.

use palisade_rules::ext::length::Length;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};

#[derive(Debug)]
struct LengthMatch(u16, u16, bool);

impl PacketMatch for LengthMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let len = cx.summary.total_len;
        (usize::from(self.0) <= len && len <= usize::from(self.1)) != self.2
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let m = downcast::<Length>(ext)?;
    Some(Box::new(LengthMatch(m.min, m.max, m.invert)))
}
