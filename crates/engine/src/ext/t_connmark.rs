//! `-j CONNMARK` (xt_connmark.c connmark_tg_shift): set, save and
//! restore between the packet mark and its connection's mark.

use palisade_rules::ext::connmark_tg::{Connmark, Mode, Shift};
use palisade_rules::ext::Extension;
use palisade_rules::model::{Rule, TableId};

use super::{downcast, HookCtx, PacketTarget, Verdict};
use crate::conntrack::CtRef;

#[derive(Debug)]
struct ConnmarkTarget(Connmark);

impl ConnmarkTarget {
    fn shift(&self, v: u32) -> u32 {
        let bits = u32::from(self.0.shift_bits);
        match self.0.shift_dir {
            Shift::Left => v.checked_shl(bits).unwrap_or(0),
            Shift::Right => v.checked_shr(bits).unwrap_or(0),
        }
    }
}

impl PacketTarget for ConnmarkTarget {
    fn apply(&self, cx: &mut HookCtx<'_>) -> Verdict {
        let CtRef::Conn(id, _) = cx.meta.ct else {
            return Verdict::Continue;
        };
        let Some(conn) = cx.ct.get_mut(id) else {
            return Verdict::Continue;
        };
        let i = &self.0;
        match i.mode {
            Mode::Set => {
                conn.mark = (conn.mark & !i.ctmask) ^ i.ctmark;
            }
            Mode::Save => {
                let v = self.shift(cx.meta.mark & i.nfmask);
                conn.mark = (conn.mark & !i.ctmask) ^ v;
            }
            Mode::Restore => {
                let v = self.shift(conn.mark & i.ctmask);
                cx.meta.mark = (cx.meta.mark & !i.nfmask) ^ v;
            }
        }
        Verdict::Continue
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule, _t: TableId) -> Option<Box<dyn PacketTarget>> {
    Some(Box::new(ConnmarkTarget(downcast::<Connmark>(ext)?.clone())))
}
