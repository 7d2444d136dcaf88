//! `-m physdev` (xt_physdev.c `physdev_mt`): the bridge ports a packet
//! came in or goes out by. palisade's host has no bridges, so no packet
//! carries bridge information (`nf_bridge_info_exists` is false): the
//! match holds exactly when every option given is inverted.

use palisade_rules::ext::physdev::Physdev;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};

#[derive(Debug)]
struct PhysdevMatch {
    matches: bool,
}

impl PacketMatch for PhysdevMatch {
    fn matches(&self, _cx: &mut HookCtx<'_>) -> bool {
        self.matches
    }
}

/// `physdev_mt` for a packet that was not bridged: false as soon as one
/// option (--physdev-is-bridged, -is-in, -is-out, -in, -out) is given
/// without `!`.
fn unbridged(p: &Physdev) -> bool {
    p.bitmask & !p.invert == 0
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    let p = downcast::<Physdev>(ext)?;
    Some(Box::new(PhysdevMatch {
        matches: unbridged(p),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_rules::ext::physdev::{
        XT_PHYSDEV_OP_BRIDGED, XT_PHYSDEV_OP_IN, XT_PHYSDEV_OP_ISIN, XT_PHYSDEV_OP_OUT,
    };

    #[test]
    fn only_all_inverted_options_match() {
        let p = |bitmask, invert| Physdev {
            bitmask,
            invert,
            ..Physdev::default()
        };
        assert!(!unbridged(&p(XT_PHYSDEV_OP_IN, 0)));
        assert!(unbridged(&p(XT_PHYSDEV_OP_IN, XT_PHYSDEV_OP_IN)));
        assert!(!unbridged(&p(
            XT_PHYSDEV_OP_BRIDGED | XT_PHYSDEV_OP_OUT,
            XT_PHYSDEV_OP_OUT
        )));
        let all = XT_PHYSDEV_OP_BRIDGED | XT_PHYSDEV_OP_ISIN | XT_PHYSDEV_OP_OUT;
        assert!(unbridged(&p(all, all)));
    }
}
