//! `-m helper --helper NAME` (xt_helper.c helper_mt): the packet's
//! connection was started by an expectation whose master has a helper
//! named NAME. The kernel compares the first strlen(helper name) bytes:
//! "ftp" matches `--helper ftp-21` too; an empty NAME matches any helper.

use palisade_rules::ext::helper::Helper as HelperMatch;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};
use crate::conntrack::CtRef;

#[derive(Debug)]
struct HelperMt {
    name: String,
    invert: bool,
}

impl PacketMatch for HelperMt {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let CtRef::Conn(id, _) = cx.meta.ct else {
            return self.invert;
        };
        let Some(helper) = cx.ct.get(id).and_then(|c| c.master_helper) else {
            return self.invert;
        };
        let hit =
            self.name.is_empty() || self.name.as_bytes().starts_with(helper.name().as_bytes());
        hit != self.invert
    }
    /// helper_mt_check: `nf_ct_netns_get`.
    fn needs_conntrack(&self) -> bool {
        true
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let m = downcast::<HelperMatch>(ext)?;
    Some(Box::new(HelperMt {
        name: m.name.clone(),
        invert: m.invert,
    }))
}
