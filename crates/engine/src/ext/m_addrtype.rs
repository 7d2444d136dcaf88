//! `-m addrtype` (xt_addrtype.c revision 1): address types from the
//! local table (`inet_dev_addr_type`), optionally limited to the in or
//! out interface.

use palisade_rules::ext::addrtype::Addrtype;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};
use crate::topology::AddrType;

#[derive(Debug)]
struct AddrtypeMatch(Addrtype);

/// `RTN_*` numbers, the bit positions of the masks.
fn rtn(t: AddrType) -> u16 {
    match t {
        AddrType::Unicast => 1,
        AddrType::Local => 2,
        AddrType::Broadcast => 3,
        AddrType::Multicast => 5,
    }
}

impl PacketMatch for AddrtypeMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let m = &self.0;
        let dev = if m.limit_iface_in {
            cx.meta.in_iface
        } else if m.limit_iface_out {
            cx.meta.out_iface
        } else {
            None
        };
        let test = |addr: u32, mask: u16| mask & (1 << rtn(cx.topo.addr_type(addr, dev))) != 0;
        if m.src != 0 && test(cx.summary.src, m.src) == m.src_invert {
            return false;
        }
        if m.dst != 0 && test(cx.summary.dst, m.dst) == m.dst_invert {
            return false;
        }
        true
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    Some(Box::new(AddrtypeMatch(downcast::<Addrtype>(ext)?.clone())))
}
