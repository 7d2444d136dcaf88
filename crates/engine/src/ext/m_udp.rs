//! `-m udp`. iptables-nft 1.8.9 (`add_nft_udp`) turns the ports into
//! native payload loads; a match that restricts nothing (`udp_all_zero`)
//! stays the xt match (xt_tcpudp.c udp_mt), which never matches a later
//! fragment and drops a datagram too short for a UDP header (hotdrop).

use palisade_rules::ext::udp::Udp;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::m_tcp::NativePorts;
use super::{downcast, HookCtx, PacketMatch};

#[derive(Debug)]
struct NativeUdp(NativePorts);

#[derive(Debug)]
struct XtUdp;

impl PacketMatch for NativeUdp {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        self.0.matches(cx.l4())
    }
}

impl PacketMatch for XtUdp {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        if cx.summary.frag_offset != 0 {
            return false;
        }
        // udp_mt: "Dropping evil UDP tinygram"; with no ports to test,
        // every whole header matches.
        if cx.l4().len() < 8 {
            cx.hotdrop = true;
            return false;
        }
        true
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let u = downcast::<Udp>(ext)?;
    let all_zero =
        u.sport == (0, 0xffff) && u.dport == (0, 0xffff) && !u.sport_invert && !u.dport_invert;
    if all_zero {
        return Some(Box::new(XtUdp));
    }
    Some(Box::new(NativeUdp(NativePorts::new(
        u.sport,
        u.sport_invert,
        u.dport,
        u.dport_invert,
    ))))
}
