//! `-m udp`: ports, as native payload comparisons under iptables-nft
//! (no match on fragments or short headers).

use palisade_rules::ext::udp::Udp;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, port_in, HookCtx, PacketMatch};
use crate::wire::transport::L4;

#[derive(Debug)]
struct UdpMatch(Udp);

impl PacketMatch for UdpMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let u = &self.0;
        match cx.summary.l4 {
            L4::Udp { sport, dport } if cx.summary.frag_offset == 0 => {
                port_in(u.sport, u.sport_invert, sport) && port_in(u.dport, u.dport_invert, dport)
            }
            _ => false,
        }
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    Some(Box::new(UdpMatch(downcast::<Udp>(ext)?.clone())))
}
