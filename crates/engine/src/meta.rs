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
    /// Put together from fragments by nf_defrag_ipv4 (`IPCB(skb)->
    /// frag_max_size`, `skb->ignore_df`).
    pub reasm: Option<Reassembled>,
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
