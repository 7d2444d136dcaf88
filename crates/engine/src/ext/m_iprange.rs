//! `-m iprange` (xt_iprange.c revision 1).

use palisade_rules::ext::iprange::{Iprange, Range};
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};

#[derive(Debug)]
struct IprangeMatch(Iprange);

fn within(r: &Range, a: u32) -> bool {
    (u32::from(r.min) <= a && a <= u32::from(r.max)) != r.invert
}

impl PacketMatch for IprangeMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let m = &self.0;
        m.src.as_ref().is_none_or(|r| within(r, cx.summary.src))
            && m.dst.as_ref().is_none_or(|r| within(r, cx.summary.dst))
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    Some(Box::new(IprangeMatch(downcast::<Iprange>(ext)?.clone())))
}
