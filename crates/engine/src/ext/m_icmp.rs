//! `-m icmp` (xt_tcpudp.c icmp_match): type 0xff matches any type.

use palisade_rules::ext::icmp::Icmp;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};
use crate::wire::transport::L4;

#[derive(Debug)]
struct IcmpMatch(Icmp);

impl PacketMatch for IcmpMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        if cx.summary.frag_offset != 0 {
            return false;
        }
        let L4::Icmp { ty, code, .. } = cx.summary.l4 else {
            // Too short to hold an ICMP header.
            cx.hotdrop = true;
            return false;
        };
        let m = &self.0;
        let hit =
            m.icmp_type == 0xff || (ty == m.icmp_type && m.code.0 <= code && code <= m.code.1);
        hit != m.invert
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    Some(Box::new(IcmpMatch(downcast::<Icmp>(ext)?.clone())))
}
