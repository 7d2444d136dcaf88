//! `-m mac` (xt_mac.c): only Ethernet devices have a source MAC; on the
//! layer-3 interfaces here it never matches, inverted or not.

use palisade_rules::ext::mac::Mac;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};

#[derive(Debug)]
struct MacMatch;

impl PacketMatch for MacMatch {
    fn matches(&self, _cx: &mut HookCtx<'_>) -> bool {
        false
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    downcast::<Mac>(ext)?;
    Some(Box::new(MacMatch))
}
