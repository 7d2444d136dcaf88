//! `-m tos` (xt_dscp.c tos_mt, revision 1) and `-m dscp` (dscp_mt).

use palisade_rules::ext::dscp::Dscp;
use palisade_rules::ext::tos::Tos;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};
use crate::wire::ipv4::Ipv4Read;

#[derive(Debug)]
struct TosMatch {
    value: u8,
    mask: u8,
    invert: bool,
}

impl PacketMatch for TosMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        ((cx.pkt.tos() & self.mask) == self.value) != self.invert
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    if let Some(t) = downcast::<Tos>(ext) {
        return Some(Box::new(TosMatch {
            value: t.value,
            mask: t.mask,
            invert: t.invert,
        }));
    }
    // DSCP is the top six bits of the TOS byte.
    let d = downcast::<Dscp>(ext)?;
    Some(Box::new(TosMatch {
        value: d.dscp << 2,
        mask: 0xfc,
        invert: d.invert,
    }))
}
