//! `-m pkttype` (xt_pkttype.c): the link-layer packet type. Every packet
//! here is PACKET_HOST: layer-3 interfaces set no other type, and locally
//! sent packets start as host packets.

use palisade_rules::ext::pkttype::Pkttype;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};

/// PACKET_HOST (include/uapi/linux/if_packet.h).
const PACKET_HOST: u8 = 0;

#[derive(Debug)]
struct PkttypeMatch(u8, bool);

impl PacketMatch for PkttypeMatch {
    fn matches(&self, _cx: &mut HookCtx<'_>) -> bool {
        (PACKET_HOST == self.0) != self.1
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let m = downcast::<Pkttype>(ext)?;
    Some(Box::new(PkttypeMatch(m.pkttype, m.invert)))
}
