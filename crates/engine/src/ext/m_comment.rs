//! `-m comment`: matches everything (xt_comment.c).

use palisade_rules::ext::comment::Comment;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};

#[derive(Debug)]
struct Always;

impl PacketMatch for Always {
    fn matches(&self, _cx: &mut HookCtx<'_>) -> bool {
        true
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    downcast::<Comment>(ext)?;
    Some(Box::new(Always))
}
