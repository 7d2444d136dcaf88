//! `-m connmark` (xt_connmark.c connmark_mt): the connection's mark; no
//! connection, no match.

use palisade_rules::ext::connmark::Connmark;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};
use crate::conntrack::CtRef;

#[derive(Debug)]
struct ConnmarkMatch {
    mark: u32,
    mask: u32,
    invert: bool,
}

impl PacketMatch for ConnmarkMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let CtRef::Conn(id, _) = cx.meta.ct else {
            return false;
        };
        let Some(c) = cx.ct.get(id) else {
            return false;
        };
        ((c.mark & self.mask) == self.mark) != self.invert
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let m = downcast::<Connmark>(ext)?;
    Some(Box::new(ConnmarkMatch {
        mark: m.mark,
        mask: m.mask,
        invert: m.invert,
    }))
}
