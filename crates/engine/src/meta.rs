//! What travels with a packet through the hooks besides its bytes (the
//! parts of `struct sk_buff` netfilter reads and writes).

use crate::conntrack::CtRef;
use crate::defrag::Reassembled;
use crate::topology::IfIndex;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketMeta {
    pub in_iface: Option<IfIndex>,
    pub out_iface: Option<IfIndex>,
    /// `skb->mark`.
    pub mark: u32,
    /// `skb->_nfct`.
    pub ct: CtRef,
    /// Sent by this host (OUTPUT path), as opposed to received.
    pub local_origin: bool,
    /// How routing classified it (`rt_flags`), once routed.
    pub route: RouteKind,
    /// `skb->sk`: the socket a packet this host sends belongs to.
    pub sock: Sock,
    /// Put together from fragments by nf_defrag_ipv4 (`IPCB(skb)->
    /// frag_max_size`, `skb->ignore_df`).
    pub reasm: Option<Reassembled>,
}

/// The socket behind `skb->sk` (xt_owner and LOG's `--log-uid` read it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sock {
    /// None: received or forwarded packets, REJECT's resets (built with no
    /// socket by nf_send_reset), clones and anything looped back
    /// (`skb_orphan` in loopback_xmit, `__skb_clone`).
    #[default]
    None,
    /// A kernel socket without a file: the ICMP and TCP control sockets
    /// that send the host's own ICMP messages and resets
    /// (`inet_ctl_sock_create`).
    Kernel,
    /// The raw socket of a local sender, a process running as uid 0 and
    /// gid 0 with no other groups (what the lab's kernel harness is).
    Process,
}

impl Sock {
    /// The `fsuid`/`fsgid` of the file behind the socket, if it has one.
    pub fn owner(self) -> Option<(u32, u32)> {
        (self == Sock::Process).then_some((0, 0))
    }
}

/// The routing decision's flags that answers depend on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RouteKind {
    /// Not routed yet.
    #[default]
    None,
    /// To one of this host's addresses (RTCF_LOCAL).
    Local,
    /// To a broadcast or multicast address.
    Broadcast,
    /// Forwarded, or sent out by this host.
    Unicast,
}
