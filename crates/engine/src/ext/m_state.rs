//! `-m state` (xt_state.c) and the state bits shared with `-m conntrack`.

use palisade_rules::ext::conntrack::{STATE_INVALID, STATE_UNTRACKED};
use palisade_rules::ext::state::State;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};
use crate::conntrack::{CtInfo, CtRef};

/// `XT_STATE_BIT(ctinfo)`: 1 << (ctinfo % IP_CT_IS_REPLY + 1).
pub(crate) fn state_bit(ct: CtRef) -> u16 {
    match ct {
        CtRef::None => STATE_INVALID,
        CtRef::Untracked => STATE_UNTRACKED,
        // A template is a connection to nf_ct_get, attached as IP_CT_NEW.
        CtRef::Template(_) => 1 << 3,
        CtRef::Conn(_, info) => match info {
            CtInfo::Established | CtInfo::EstablishedReply => 1 << 1,
            CtInfo::Related | CtInfo::RelatedReply => 1 << 2,
            CtInfo::New => 1 << 3,
        },
    }
}

#[derive(Debug)]
struct StateMatch(u16, bool);

impl PacketMatch for StateMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        (self.0 & state_bit(cx.meta.ct) != 0) != self.1
    }
    fn needs_conntrack(&self) -> bool {
        true
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let m = downcast::<State>(ext)?;
    Some(Box::new(StateMatch(m.states, m.invert)))
}
