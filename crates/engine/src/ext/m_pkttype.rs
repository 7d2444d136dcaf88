//! `-m pkttype` (xt_pkttype.c): the link-layer packet type. Packets here
//! are PACKET_HOST (layer-3 interfaces set no other type, and locally
//! sent packets start as host packets), except the copy of a broadcast
//! this host sent that `ip_mc_output` loops back (PACKET_LOOPBACK), which
//! pkttype_mt counts as multicast or broadcast by its destination.

use palisade_rules::ext::pkttype::Pkttype;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};
use crate::topology;

/// PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST
/// (include/uapi/linux/if_packet.h).
const PACKET_HOST: u8 = 0;
const PACKET_BROADCAST: u8 = 1;
const PACKET_MULTICAST: u8 = 2;

#[derive(Debug)]
struct PkttypeMatch(u8, bool);

impl PacketMatch for PkttypeMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        // A looped-back copy: received on an interface, sent by us.
        let looped = cx.meta.local_origin && cx.meta.in_iface.is_some();
        let ty = if !looped {
            PACKET_HOST
        } else if topology::is_multicast(cx.summary.dst) {
            PACKET_MULTICAST
        } else {
            PACKET_BROADCAST
        };
        (ty == self.0) != self.1
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let m = downcast::<Pkttype>(ext)?;
    Some(Box::new(PkttypeMatch(m.pkttype, m.invert)))
}
