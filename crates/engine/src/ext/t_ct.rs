//! `-j CT` and `-j NOTRACK` (xt_CT.c xt_ct_target): the packet goes
//! untracked, or carries a conntrack template (here: the helper the
//! connection it starts gets), unless conntrack has already seen it.

use palisade_rules::ext::ct::{Ct, XT_CT_ZONE_DIR_ORIG, XT_CT_ZONE_DIR_REPL, XT_CT_ZONE_MARK};
use palisade_rules::ext::Extension;
use palisade_rules::model::{Rule, TableId};

use super::{downcast, HookCtx, PacketTarget, Verdict};
use crate::conntrack::helper::Helper;
use crate::conntrack::CtRef;

#[derive(Debug)]
struct Notrack;

impl PacketTarget for Notrack {
    fn apply(&self, cx: &mut HookCtx<'_>) -> Verdict {
        // Previously seen (loopback)? Ignore.
        if cx.meta.ct == CtRef::None {
            cx.meta.ct = CtRef::Untracked;
        }
        Verdict::Continue
    }
}

/// A template (`nf_ct_tmpl_alloc` in xt_ct_tg_check) with an optional
/// helper.
#[derive(Debug)]
struct Template(Option<Helper>);

impl PacketTarget for Template {
    fn apply(&self, cx: &mut HookCtx<'_>) -> Verdict {
        if cx.meta.ct == CtRef::None {
            cx.meta.ct = CtRef::Template(self.0);
        }
        Verdict::Continue
    }
    /// xt_ct_tg_check: `nf_ct_netns_get` for every template (not for
    /// --notrack, which returns before it).
    fn needs_conntrack(&self) -> bool {
        true
    }
}

pub fn compile(ext: &dyn Extension, rule: &Rule, _t: TableId) -> Option<Box<dyn PacketTarget>> {
    let ct = downcast::<Ct>(ext)?;
    // xt_ct_tg_check: --notrack makes a NULL template whatever else is
    // given.
    if ct.notrack() {
        return Some(Box::new(Notrack));
    }
    // Zones and timeout policies are not modelled; event masks only steer
    // ctnetlink events, which nothing here listens to.
    let zoned = ct.zone != 0
        || ct.flags & (XT_CT_ZONE_DIR_ORIG | XT_CT_ZONE_DIR_REPL | XT_CT_ZONE_MARK) != 0;
    if zoned || !ct.timeout.is_empty() {
        return None;
    }
    if ct.helper.is_empty() {
        return Some(Box::new(Template(None)));
    }
    // xt_ct_set_helper: the rule's protocol, not inverted, and a helper
    // registered for it (the rules crate's check refused the rest; a
    // helper Linux has and palisade lacks is not implemented).
    if rule.proto_invert {
        return None;
    }
    Helper::find(&ct.helper, rule.proto)
        .map(|h| Box::new(Template(Some(h))) as Box<dyn PacketTarget>)
}
