//! `-m multiport` (xt_multiport.c revision 1): the first four transport
//! bytes as source and destination ports.

use palisade_rules::ext::multiport::{Direction, Multiport};
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};

#[derive(Debug)]
struct MultiportMatch(Multiport);

impl PacketMatch for MultiportMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        if cx.summary.frag_offset != 0 {
            return false;
        }
        let l4 = cx.l4();
        if l4.len() < 4 {
            cx.hotdrop = true;
            return false;
        }
        let src = u16::from_be_bytes([l4[0], l4[1]]);
        let dst = u16::from_be_bytes([l4[2], l4[3]]);
        let m = &self.0;
        let within = |p: u16, (lo, hi): (u16, u16)| lo <= p && p <= hi;
        let hit = m.ports.iter().any(|&r| match m.direction {
            Direction::Source => within(src, r),
            Direction::Destination => within(dst, r),
            Direction::Either => within(src, r) || within(dst, r),
        });
        hit != m.invert
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    Some(Box::new(MultiportMatch(
        downcast::<Multiport>(ext)?.clone(),
    )))
}
