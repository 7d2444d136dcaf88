//! `-m conntrack` (xt_conntrack.c conntrack_mt, revision 3).

use palisade_rules::ext::conntrack::{
    AddrMask, Cond, Conntrack, Direction, STATE_DNAT, STATE_SNAT,
};
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::m_state::state_bit;
use super::{downcast, HookCtx, PacketMatch};
use crate::conntrack::{status, CtRef, Dir};

#[derive(Debug)]
struct ConntrackMatch(Conntrack);

fn addr_ok(c: &Option<Cond<AddrMask>>, a: u32) -> bool {
    c.as_ref()
        .is_none_or(|c| ((a & c.value.mask) == (c.value.addr & c.value.mask)) != c.invert)
}

fn port_ok(c: &Option<Cond<(u16, u16)>>, p: u16) -> bool {
    c.as_ref()
        .is_none_or(|c| (c.value.0 <= p && p <= c.value.1) != c.invert)
}

impl PacketMatch for ConntrackMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let m = &self.0;
        let ctref = cx.meta.ct;
        let conn = match ctref {
            CtRef::Conn(id, info) => cx.ct.get(id).map(|c| (c, info)),
            _ => None,
        };
        if let Some(st) = &m.state {
            let mut bit = state_bit(ctref);
            if let Some((c, _)) = conn {
                if c.has(status::SRC_NAT) {
                    bit |= STATE_SNAT;
                }
                if c.has(status::DST_NAT) {
                    bit |= STATE_DNAT;
                }
            }
            if (st.value & bit != 0) == st.invert {
                return false;
            }
        }
        let Some((c, info)) = conn else {
            return m.state.is_some();
        };
        if let Some(d) = m.direction {
            let want = match d {
                Direction::Original => Dir::Original,
                Direction::Reply => Dir::Reply,
            };
            if info.dir() != want {
                return false;
            }
        }
        let (o, r) = (&c.tuples[0], &c.tuples[1]);
        if !addr_ok(&m.orig_src, o.src)
            || !addr_ok(&m.orig_dst, o.dst)
            || !addr_ok(&m.repl_src, r.src)
            || !addr_ok(&m.repl_dst, r.dst)
        {
            return false;
        }
        if let Some(p) = &m.proto {
            if (o.proto == p.value) == p.invert {
                return false;
            }
        }
        // ct_proto_port_check_v3 compares `u.all`, the raw port fields.
        if !port_ok(&m.orig_src_port, o.a)
            || !port_ok(&m.orig_dst_port, o.b)
            || !port_ok(&m.repl_src_port, r.a)
            || !port_ok(&m.repl_dst_port, r.b)
        {
            return false;
        }
        if let Some(s) = &m.status {
            if ((c.status & u32::from(s.value)) != 0) == s.invert {
                return false;
            }
        }
        if let Some(e) = &m.expire {
            let left = c.expires_secs(cx.now);
            let inside = u64::from(e.value.0) <= left && left <= u64::from(e.value.1);
            if inside == e.invert {
                return false;
            }
        }
        true
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    Some(Box::new(ConntrackMatch(
        downcast::<Conntrack>(ext)?.clone(),
    )))
}
