//! `-m owner` (xt_owner.c `owner_mt`): the socket a locally generated
//! packet belongs to. Only packets this host sends have one
//! ([`crate::meta::Sock`]): a local sender's raw socket, owned by uid 0
//! and gid 0 with no supplementary group but 0, or a kernel control
//! socket (ICMP messages, the stack's resets), which exists but has no
//! file and so no owner.

use palisade_rules::ext::owner::{
    Owner, XT_OWNER_GID, XT_OWNER_SOCKET, XT_OWNER_SUPPL_GROUPS, XT_OWNER_UID,
};
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, HookCtx, PacketMatch};
use crate::meta::Sock;

/// The supplementary groups of a local sender (`cred->group_info`).
const SENDER_GROUPS: &[u32] = &[0];

#[derive(Debug)]
struct OwnerMatch(Owner);

impl OwnerMatch {
    fn test(&self, sock: Sock) -> bool {
        let o = &self.0;
        let (given, inverted) = (o.match_flags, o.invert);
        let (uid, gid) = match sock {
            // No socket: true only when every option given is inverted.
            Sock::None => return given ^ inverted == 0,
            // "Socket exists but user wanted ! --socket-exists".
            _ if given & inverted & XT_OWNER_SOCKET != 0 => return false,
            // A socket without a file: only UID and GID tests decide.
            Sock::Kernel => return (given ^ inverted) & (XT_OWNER_UID | XT_OWNER_GID) == 0,
            Sock::Process => match sock.owner() {
                Some(ids) => ids,
                None => return false,
            },
        };
        if given & XT_OWNER_UID != 0 {
            let within = o.uid_min <= uid && uid <= o.uid_max;
            if within == (inverted & XT_OWNER_UID != 0) {
                return false;
            }
        }
        if given & XT_OWNER_GID != 0 {
            let within = |g: u32| o.gid_min <= g && g <= o.gid_max;
            let hit = within(gid)
                || (given & XT_OWNER_SUPPL_GROUPS != 0 && SENDER_GROUPS.iter().any(|&g| within(g)));
            if hit == (inverted & XT_OWNER_GID != 0) {
                return false;
            }
        }
        true
    }
}

impl PacketMatch for OwnerMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        self.test(cx.meta.sock)
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    Some(Box::new(OwnerMatch(downcast::<Owner>(ext)?.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(flags: u8, invert: u8, uid: (u32, u32), gid: (u32, u32)) -> OwnerMatch {
        OwnerMatch(Owner {
            uid_min: uid.0,
            uid_max: uid.1,
            gid_min: gid.0,
            gid_max: gid.1,
            match_flags: flags,
            invert,
        })
    }

    #[test]
    fn owner_mt_cases() {
        let socket = owner(XT_OWNER_SOCKET, 0, (0, 0), (0, 0));
        let no_socket = owner(XT_OWNER_SOCKET, XT_OWNER_SOCKET, (0, 0), (0, 0));
        let root = owner(XT_OWNER_UID, 0, (0, 0), (0, 0));
        let not_root = owner(XT_OWNER_UID, XT_OWNER_UID, (0, 0), (0, 0));
        let users = owner(XT_OWNER_UID | XT_OWNER_GID, 0, (1, 100), (0, 0));
        let suppl = owner(XT_OWNER_GID | XT_OWNER_SUPPL_GROUPS, 0, (0, 0), (0, 5));
        let not_gid = owner(XT_OWNER_GID, XT_OWNER_GID, (0, 0), (1, 9));
        let cases = [
            (&socket, [false, true, true]),
            (&no_socket, [true, false, false]),
            (&root, [false, false, true]),
            (&not_root, [true, true, false]),
            (&users, [false, false, false]),
            (&suppl, [false, false, true]),
            (&not_gid, [true, true, true]),
        ];
        for (m, want) in cases {
            let got = [Sock::None, Sock::Kernel, Sock::Process].map(|s| m.test(s));
            assert_eq!(got, want, "{:?}", m.0);
        }
    }
}
