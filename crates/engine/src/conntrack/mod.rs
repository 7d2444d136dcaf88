//! Connection tracking (net/netfilter/nf_conntrack_core.c and the
//! per-protocol trackers): tuples, states, timeouts, the table.
//!
//! A connection is created unconfirmed when its first packet is tracked
//! (PREROUTING or OUTPUT) and enters the table only when that packet
//! leaves the last hook (`confirm`, at POSTROUTING or INPUT); if the
//! packet is dropped first, the connection is discarded.

pub mod expect;
pub mod helper;
pub mod sctp;
pub mod seqadj;
pub mod tcp;
pub mod tuple;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use crate::hash::SipBuild;
use crate::time::Time;
use crate::wire::checksum;
use crate::wire::ipv4::{PROTO_ICMP, PROTO_SCTP, PROTO_TCP, PROTO_UDP, PROTO_UDPLITE};
use crate::wire::transport::{Summary, L4};
use expect::{Expect, Expectations};
use helper::{Help, Helper};
use sctp::{SctpSettings, SctpTrack, SctpVerdict};
use tcp::{ConnFacts, TcpSegment, TcpSettings, TcpTrack, TcpVerdict};
pub use tuple::{Dir, Tuple};

/// Status bits (include/uapi/linux/netfilter/nf_conntrack_common.h).
pub mod status {
    pub const EXPECTED: u32 = 1 << 0;
    pub const SEEN_REPLY: u32 = 1 << 1;
    pub const ASSURED: u32 = 1 << 2;
    pub const CONFIRMED: u32 = 1 << 3;
    pub const SRC_NAT: u32 = 1 << 4;
    pub const DST_NAT: u32 = 1 << 5;
    pub const SEQ_ADJUST: u32 = 1 << 6;
    pub const SRC_NAT_DONE: u32 = 1 << 7;
    pub const DST_NAT_DONE: u32 = 1 << 8;
    pub const DYING: u32 = 1 << 9;
    pub const UNTRACKED: u32 = 1 << 12;
    pub const HELPER: u32 = 1 << 13;
}

/// `enum ip_conntrack_info`: how a packet relates to its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtInfo {
    Established,
    Related,
    New,
    EstablishedReply,
    RelatedReply,
}

impl CtInfo {
    pub fn dir(self) -> Dir {
        match self {
            CtInfo::EstablishedReply | CtInfo::RelatedReply => Dir::Reply,
            _ => Dir::Original,
        }
    }
}

/// An index into the connection slab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(u32);

/// The conntrack reference a packet carries (`skb->_nfct`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CtRef {
    /// No connection: INVALID to the state matches.
    #[default]
    None,
    /// NOTRACK / CT --notrack: UNTRACKED.
    Untracked,
    /// `-j CT` in the raw table attached its template (xt_ct_target:
    /// `nf_ct_set(skb, tmpl, IP_CT_NEW)`), with the helper it gives the
    /// connection the packet starts. Conntrack takes it off the packet;
    /// matches before that see a NEW packet.
    Template(Option<Helper>),
    Conn(ConnId, CtInfo),
}

impl CtRef {
    /// `nf_conntrack_attach` (nf_conntrack_core.c), through `nf_ct_attach`
    /// from icmp_glue_bits and nf_send_reset: an ICMP error or reset built
    /// in answer to a packet carries that packet's connection, RELATED in
    /// the other direction, even while it is unconfirmed. An untracked
    /// packet passes on no connection, so its answer is tracked afresh.
    pub fn attached_to_answer(self) -> CtRef {
        match self {
            CtRef::Conn(id, info) => CtRef::Conn(
                id,
                if info.dir() == Dir::Original {
                    CtInfo::RelatedReply
                } else {
                    CtInfo::Related
                },
            ),
            CtRef::Untracked | CtRef::None | CtRef::Template(_) => CtRef::None,
        }
    }
}

/// Per-protocol tracking data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtoTrack {
    Tcp(TcpTrack),
    /// `stream_ts`: when a replied flow counts as a stream (first packet
    /// + 2 s, nf_conntrack_proto_udp.c).
    Udp {
        stream_ts: Time,
    },
    Icmp,
    /// UDP-Lite (nf_conntrack_udplite_packet): UDP's timeouts, but a
    /// stream as soon as it was answered.
    UdpLite,
    /// GRE's timeouts, taken from the settings when the connection
    /// starts (nf_conntrack_gre_packet, for an unconfirmed one).
    Gre {
        timeout: u32,
        stream_timeout: u32,
    },
    Sctp(SctpTrack),
    Generic,
}

#[derive(Debug, Clone)]
pub struct Conn {
    /// Original and reply tuples (`tuplehash[IP_CT_DIR_*]`).
    pub tuples: [Tuple; 2],
    pub status: u32,
    pub mark: u32,
    /// Neighbours in the early-drop list (confirmed connections not
    /// ASSURED, in order of confirmation); `in_drop_list` while on it.
    drop_prev: Option<ConnId>,
    drop_next: Option<ConnId>,
    in_drop_list: bool,
    /// Expiry time (absolute).
    pub expires: Time,
    pub proto: ProtoTrack,
    /// Order of creation, for a stable listing.
    serial: u64,
    /// Neighbours in the NAT by-source list of its original source
    /// (`nat_bysource`); `in_bysource` once it was added.
    src_prev: Option<ConnId>,
    src_next: Option<ConnId>,
    in_bysource: bool,
    /// The helper and its state (`nf_conn_help`); `None` for the many
    /// connections without one.
    pub help: Option<Box<Help>>,
    /// For a connection an expectation started: its master's helper
    /// (what `-m helper` reads through `ct->master`).
    pub master_helper: Option<Helper>,
    /// `nf_nat_follow_master` still to run for it: the bindings its
    /// expectation asked for, set up by NAT once tracking is done.
    pub follow_master: Option<FollowMaster>,
}

/// The bindings `nf_nat_follow_master` gives a connection an expectation
/// with NAT started: its source becomes `src`, its destination
/// `dst:dport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowMaster {
    pub src: u32,
    pub dst: u32,
    pub dport: u16,
}

impl Conn {
    pub fn has(&self, bit: u32) -> bool {
        self.status & bit != 0
    }
    pub fn tuple(&self, dir: Dir) -> &Tuple {
        &self.tuples[dir.index()]
    }

    /// `nf_ct_expires`: whole seconds left, as `--ctexpire` sees them.
    /// Until it is confirmed, a connection's `timeout` holds its relative
    /// timeout (`__nf_ct_refresh_acct` adds the time stamp only once
    /// confirmed; `__nf_conntrack_confirm` adds it then), so the
    /// subtraction of the jiffies counter goes negative and reads 0. (Linux
    /// shows otherwise only while jiffies is within a timeout of its
    /// 32-bit wrap, e.g. the first 5 minutes after boot; not modelled.)
    pub fn expires_secs(&self, now: Time) -> u64 {
        if !self.has(status::CONFIRMED) {
            return 0;
        }
        (self.expires - now).as_secs()
    }
}

/// The `net.netfilter.nf_conntrack_*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtSettings {
    /// `nf_conntrack_max`: the most connections the table holds (0: no
    /// limit). The host sets it, not the namespace: outside the initial
    /// namespace the sysctl is read-only (nf_conntrack_standalone_init_sysctl
    /// makes it 0444), so `set_sysctl` refuses it. Linux sizes it from the
    /// memory (nf_conntrack_init_start); 262144 on the machine the lab
    /// scenarios were recorded on.
    pub max: u32,
    /// nf_conntrack_checksum: verify transport checksums at PREROUTING.
    pub checksum: bool,
    pub udp_timeout: u32,
    pub udp_timeout_stream: u32,
    pub icmp_timeout: u32,
    pub generic_timeout: u32,
    pub gre_timeout: u32,
    pub gre_timeout_stream: u32,
    pub tcp: TcpSettings,
    pub sctp: SctpSettings,
}

impl Default for CtSettings {
    fn default() -> Self {
        // nf_conntrack_proto_{udp,icmp,generic}.c default timeouts.
        CtSettings {
            max: 262_144,
            checksum: true,
            udp_timeout: 30,
            udp_timeout_stream: 120,
            icmp_timeout: 30,
            generic_timeout: 600,
            // nf_conntrack_proto_gre.c: GRE_CT_UNREPLIED, GRE_CT_REPLIED.
            gre_timeout: 30,
            gre_timeout_stream: 180,
            tcp: TcpSettings::default(),
            sctp: SctpSettings::default(),
        }
    }
}

impl CtSettings {
    /// Applies `net.netfilter.NAME = VALUE`; `Err` names what is wrong.
    pub fn set_sysctl(&mut self, name: &str, value: &str) -> Result<(), String> {
        let key = name
            .strip_prefix("net.netfilter.nf_conntrack_")
            .ok_or_else(|| format!("unknown sysctl {name}"))?;
        let v: u32 = value
            .trim()
            .parse()
            .map_err(|_| format!("sysctl {name}: bad value \"{value}\""))?;
        if key == "max" {
            return Err(format!(
                "sysctl {name} is read-only outside the initial network namespace; \
                 set CtSettings::max instead"
            ));
        }
        let t = &mut self.tcp;
        let slot: &mut u32 = match key {
            "checksum" => {
                self.checksum = v != 0;
                return Ok(());
            }
            "tcp_loose" => {
                t.loose = v != 0;
                return Ok(());
            }
            "tcp_be_liberal" => {
                t.be_liberal = v != 0;
                return Ok(());
            }
            "tcp_ignore_invalid_rst" => {
                t.ignore_invalid_rst = v != 0;
                return Ok(());
            }
            "tcp_max_retrans" => {
                t.max_retrans =
                    u8::try_from(v).map_err(|_| format!("sysctl {name}: out of range"))?;
                return Ok(());
            }
            "udp_timeout" => &mut self.udp_timeout,
            "udp_timeout_stream" => &mut self.udp_timeout_stream,
            "icmp_timeout" => &mut self.icmp_timeout,
            "generic_timeout" => &mut self.generic_timeout,
            "gre_timeout" => &mut self.gre_timeout,
            "gre_timeout_stream" => &mut self.gre_timeout_stream,
            "tcp_timeout_syn_sent" => &mut t.timeout_syn_sent,
            "tcp_timeout_syn_recv" => &mut t.timeout_syn_recv,
            "tcp_timeout_established" => &mut t.timeout_established,
            "tcp_timeout_fin_wait" => &mut t.timeout_fin_wait,
            "tcp_timeout_close_wait" => &mut t.timeout_close_wait,
            "tcp_timeout_last_ack" => &mut t.timeout_last_ack,
            "tcp_timeout_time_wait" => &mut t.timeout_time_wait,
            "tcp_timeout_close" => &mut t.timeout_close,
            "tcp_timeout_max_retrans" => &mut t.timeout_max_retrans,
            "tcp_timeout_unacknowledged" => &mut t.timeout_unacknowledged,
            _ => match key
                .strip_prefix("sctp_timeout_")
                .and_then(|k| self.sctp.timeout_slot(k))
            {
                Some(slot) => slot,
                None => return Err(format!("unsupported sysctl {name}")),
            },
        };
        *slot = v;
        Ok(())
    }
}

/// What `nf_conntrack_in` decided for a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackResult {
    Tracked(CtRef),
    /// The tracker drops the packet.
    Drop,
}

/// The connection table.
#[derive(Debug, Clone)]
pub struct Conntrack {
    /// Connections allocated and not DYING, unconfirmed ones included:
    /// what `nf_conntrack_max` bounds (`cnet->count`).
    count: usize,
    /// Oldest and newest of the early-drop list (see [`Conn`]).
    drop_head: Option<ConnId>,
    drop_tail: Option<ConnId>,
    /// Where the incremental expiry sweep goes on.
    gc_cursor: usize,
    slab: Vec<Option<Conn>>,
    free: Vec<u32>,
    by_tuple: HashMap<Tuple, (ConnId, Dir), SipBuild>,
    /// NAT's `nf_nat_bysource`: for each original source (address, port
    /// or ICMP id, protocol), the newest connection given a source
    /// binding; older ones follow through `src_next`.
    by_source: HashMap<SourceKey, ConnId, SipBuild>,
    next_serial: u64,
    /// Killed connections still referenced by the packet in flight.
    dying: Vec<ConnId>,
    /// The helpers' expectations.
    pub expects: Expectations,
    pub settings: CtSettings,
}

/// What `hash_by_src`/`same_src` compare: the original tuple's source
/// and protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SourceKey {
    src: u32,
    key: u16,
    proto: u8,
}

impl SourceKey {
    fn of(t: &Tuple) -> SourceKey {
        SourceKey {
            src: t.src,
            key: t.a,
            proto: t.proto,
        }
    }
}

/// GRE (nf_conntrack_proto_gre.c).
const PROTO_GRE: u8 = 47;
/// GRE_VERSION_1 (PPTP) and GRE_PROTO_PPP.
const GRE_VERSION_1: u8 = 1;
const GRE_PROTO_PPP: u16 = 0x880b;

/// `udplite_error`: the header is whole, the checksum coverage is 0 (the
/// whole datagram) or between 8 and the length, the checksum is not 0
/// (UDP-Lite mandates one) and, at PREROUTING with
/// nf_conntrack_checksum, right. Linux verifies it with
/// `nf_checksum_partial(..., IPPROTO_UDP, ...)`: a pseudo-header of
/// protocol 17, not UDP-Lite's 136, and the full length (recorded: a
/// datagram summed as RFC 3828 says is INVALID, one summed with 17 is
/// tracked).
fn udplite_valid(s: &Summary, l4: &[u8], verify: bool) -> bool {
    let Some(&[_, _, _, _, c0, c1, k0, k1]) = l4.get(..8) else {
        return false;
    };
    let len = l4.len();
    let cscov = match usize::from(u16::from_be_bytes([c0, c1])) {
        0 => len,
        c if c < 8 || c > len => return false,
        c => c,
    };
    if u16::from_be_bytes([k0, k1]) == 0 {
        return false;
    }
    if !verify {
        return true;
    }
    let Ok(l4_len) = u16::try_from(len) else {
        return false;
    };
    let sum = checksum::pseudo_header(s.src.to_be_bytes(), s.dst.to_be_bytes(), PROTO_UDP, l4_len);
    checksum::fold(checksum::add(sum, &l4[..cscov])) == 0
}

/// `nf_ct_get_tuple`: the packet's tuple, with GRE's keys
/// (`gre_pkt_to_tuple`), which `Tuple::of` leaves at zero as for any
/// protocol without ports. Version 0 (or a header too short to tell)
/// keeps keys 0, "like nf_conntrack_proto_generic"; version 1 (PPTP)
/// with the PPP protocol has the call id as its destination key (the
/// source key would come from the PPTP helper's keymap, empty here),
/// and with another protocol no tuple at all.
fn tuple_of(s: &Summary, l4: &[u8]) -> Option<Tuple> {
    let mut t = Tuple::of(s)?;
    if matches!(s.protocol, PROTO_UDPLITE | PROTO_SCTP) && s.frag_offset == 0 {
        // nf_ct_get_tuple_ports: UDP-Lite's and SCTP's ports, as UDP's.
        let &[a0, a1, b0, b1] = l4.get(..4)? else {
            return None;
        };
        t.a = u16::from_be_bytes([a0, a1]);
        t.b = u16::from_be_bytes([b0, b1]);
        return Some(t);
    }
    if s.protocol != PROTO_GRE || s.frag_offset != 0 {
        return Some(t);
    }
    let Some(&[_, flags_lo, p0, p1]) = l4.get(..4) else {
        return Some(t);
    };
    if flags_lo & 0x07 != GRE_VERSION_1 {
        return Some(t);
    }
    let Some(&[_, _, _, _, _, _, c0, c1]) = l4.get(..8) else {
        return Some(t);
    };
    if u16::from_be_bytes([p0, p1]) != GRE_PROTO_PPP {
        return None;
    }
    t.a = 0;
    t.b = u16::from_be_bytes([c0, c1]);
    Some(t)
}

/// Table slots the expiry sweep looks at per tracked packet.
const GC_BATCH: usize = 8;

/// What `new_conn` made of a packet without a connection.
enum NewConn {
    Created(ConnId),
    /// No connection can start with it: INVALID.
    Invalid,
    /// The table is full and nothing could be dropped: the packet goes.
    Full,
}

/// ICMP types that are errors quoting another packet (icmp_error).
fn is_icmp_error(ty: u8) -> bool {
    matches!(ty, 3 | 4 | 5 | 11 | 12)
}

/// ICMP types that may open a connection (icmp_packet `valid_new`).
fn icmp_valid_new(ty: u8) -> bool {
    matches!(ty, 8 | 13 | 15 | 17)
}

impl Conntrack {
    pub fn new(seed: u64) -> Conntrack {
        Conntrack {
            count: 0,
            drop_head: None,
            drop_tail: None,
            gc_cursor: 0,
            slab: Vec::new(),
            free: Vec::new(),
            by_tuple: HashMap::with_hasher(SipBuild::new(seed)),
            by_source: HashMap::with_hasher(SipBuild::new(seed ^ 0x6e61_745f_7372_6321)),
            next_serial: 0,
            dying: Vec::new(),
            expects: Expectations::default(),
            settings: CtSettings::default(),
        }
    }

    pub fn get(&self, id: ConnId) -> Option<&Conn> {
        self.slab.get(id.0 as usize).and_then(|c| c.as_ref())
    }

    pub fn get_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.slab.get_mut(id.0 as usize).and_then(|c| c.as_mut())
    }

    /// Finds the live connection a tuple belongs to; an expired one is
    /// removed on the way, as `____nf_conntrack_find` does.
    pub fn find(&mut self, now: Time, t: &Tuple) -> Option<(ConnId, Dir)> {
        let (id, dir) = *self.by_tuple.get(t)?;
        if self.get(id).is_some_and(|c| c.expires <= now) {
            self.remove(id);
            return None;
        }
        Some((id, dir))
    }

    fn insert_slab(&mut self, conn: Conn) -> ConnId {
        self.count += 1;
        match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(conn);
                ConnId(i)
            }
            None => {
                self.slab.push(Some(conn));
                ConnId((self.slab.len() - 1) as u32)
            }
        }
    }

    /// Removes a connection (confirmed or not).
    pub fn remove(&mut self, id: ConnId) {
        self.bysource_unlink(id);
        self.drop_unlink(id);
        let Some(conn) = self.slab.get_mut(id.0 as usize).and_then(Option::take) else {
            return;
        };
        if conn.help.is_some() {
            self.expects.remove_master(id);
        }
        if !conn.has(status::DYING) {
            self.count -= 1;
        }
        if conn.has(status::CONFIRMED) {
            for (d, t) in conn.tuples.iter().enumerate() {
                if self
                    .by_tuple
                    .get(t)
                    .is_some_and(|&(i, dd)| i == id && dd.index() == d)
                {
                    self.by_tuple.remove(t);
                }
            }
        }
        self.free.push(id.0);
    }

    /// `nf_conntrack_in`: tracks one packet at PREROUTING or OUTPUT.
    /// `l4` is the transport part of the datagram, for checksums and the
    /// TCP tracker.
    pub fn track(
        &mut self,
        now: Time,
        s: &Summary,
        l4: &[u8],
        at_prerouting: bool,
        checksum_ok: impl Fn() -> bool,
    ) -> TrackResult {
        self.track_with(now, s, l4, at_prerouting, None, checksum_ok)
    }

    /// [`Conntrack::track`] for a packet carrying a `-j CT` template whose
    /// helper (`None`: the template has none) a connection it starts gets
    /// unless an expectation starts it (`__nf_ct_try_assign_helper`).
    pub fn track_with(
        &mut self,
        now: Time,
        s: &Summary,
        l4: &[u8],
        at_prerouting: bool,
        helper: Option<Helper>,
        checksum_ok: impl Fn() -> bool,
    ) -> TrackResult {
        if s.frag_offset != 0 {
            // ipv4_get_l4proto: a later fragment has no transport header.
            return TrackResult::Tracked(CtRef::None);
        }
        self.gc_step(now);
        let verify = self.settings.checksum && at_prerouting;
        match (s.protocol, s.l4) {
            (PROTO_ICMP, L4::Icmp { ty, .. }) => {
                // nf_conntrack_icmpv4_error
                if ty > 18 || (verify && !checksum_ok()) {
                    return TrackResult::Tracked(CtRef::None);
                }
                if is_icmp_error(ty) {
                    return TrackResult::Tracked(self.icmp_error_related(now, s, l4));
                }
            }
            (PROTO_UDP, L4::Udp { .. }) => {
                // udp_error: length and (at PREROUTING) checksum.
                let udp_len = usize::from(u16::from_be_bytes([l4[4], l4[5]]));
                if udp_len > l4.len() || udp_len < 8 || (verify && !checksum_ok()) {
                    return TrackResult::Tracked(CtRef::None);
                }
            }
            (PROTO_TCP, L4::Tcp(h)) => {
                let hl = usize::from(h.header_len);
                if hl < 20 || hl > l4.len() {
                    return TrackResult::Tracked(CtRef::None);
                }
                let seg = TcpSegment {
                    header: &l4[..hl],
                    payload_len: (l4.len() - hl) as u32,
                };
                if !tcp::header_valid(&seg, !verify || checksum_ok()) {
                    return TrackResult::Tracked(CtRef::None);
                }
            }
            _ => {}
        }
        let Some(tuple) = tuple_of(s, l4) else {
            return TrackResult::Tracked(CtRef::None);
        };
        // resolve_normal_ct, repeated once when TCP reopens a connection.
        for _ in 0..2 {
            let (id, info) = match self.find(now, &tuple) {
                Some((id, Dir::Reply)) => (id, CtInfo::EstablishedReply),
                Some((id, Dir::Original)) => {
                    let st = self.get(id).map_or(0, |c| c.status);
                    let info = if st & status::SEEN_REPLY != 0 {
                        CtInfo::Established
                    } else if st & status::EXPECTED != 0 {
                        CtInfo::Related
                    } else {
                        CtInfo::New
                    };
                    (id, info)
                }
                None => match self.new_conn(now, s, &tuple, l4, helper) {
                    // resolve_normal_ct: an expected connection's packets
                    // are RELATED until it is answered.
                    NewConn::Created(id)
                        if self.get(id).is_some_and(|c| c.has(status::EXPECTED)) =>
                    {
                        (id, CtInfo::Related)
                    }
                    NewConn::Created(id) => (id, CtInfo::New),
                    NewConn::Invalid => return TrackResult::Tracked(CtRef::None),
                    // resolve_normal_ct: -ENOMEM from the allocation, NF_DROP.
                    NewConn::Full => return TrackResult::Drop,
                },
            };
            let verdict = self.proto_packet(now, id, info, s, l4, verify);
            if self.get(id).is_some_and(|c| c.has(status::ASSURED)) {
                // ASSURED connections are not early-drop candidates.
                self.drop_unlink(id);
            }
            match verdict {
                ProtoVerdict::Accept => {
                    if info == CtInfo::EstablishedReply {
                        if let Some(c) = self.get_mut(id) {
                            c.status |= status::SEEN_REPLY;
                        }
                    }
                    return TrackResult::Tracked(CtRef::Conn(id, info));
                }
                ProtoVerdict::AcceptKill => {
                    if info == CtInfo::EstablishedReply {
                        if let Some(c) = self.get_mut(id) {
                            c.status |= status::SEEN_REPLY;
                        }
                    }
                    self.kill(id);
                    return TrackResult::Tracked(CtRef::Conn(id, info));
                }
                ProtoVerdict::Invalid => {
                    self.discard_if_unconfirmed(id);
                    return TrackResult::Tracked(CtRef::None);
                }
                ProtoVerdict::Drop => {
                    self.discard_if_unconfirmed(id);
                    return TrackResult::Drop;
                }
                ProtoVerdict::Restart => {
                    self.remove(id);
                }
            }
        }
        TrackResult::Tracked(CtRef::None)
    }

    /// `nf_ct_kill`: the connection leaves the table now; its entry stays
    /// until the packet carrying it is done (`reap_dying`).
    pub fn kill(&mut self, id: ConnId) {
        self.drop_unlink(id);
        let Some(c) = self.get_mut(id) else { return };
        if c.has(status::DYING) {
            return;
        }
        let was_confirmed = c.status & status::CONFIRMED != 0;
        c.status |= status::DYING;
        let tuples = c.tuples;
        // nf_ct_delete_from_lists: nf_ct_remove_expectations.
        if c.help.is_some() {
            self.expects.remove_master(id);
        }
        self.count -= 1;
        if was_confirmed {
            for (d, t) in tuples.iter().enumerate() {
                if self
                    .by_tuple
                    .get(t)
                    .is_some_and(|&(i, dd)| i == id && dd.index() == d)
                {
                    self.by_tuple.remove(t);
                }
            }
        }
        self.dying.push(id);
    }

    /// Frees killed connections (between packets).
    pub fn reap_dying(&mut self) {
        while let Some(id) = self.dying.pop() {
            if self.get(id).is_some_and(|c| c.has(status::DYING)) {
                // Destroyed: out of NAT's by-source list too
                // (nf_nat_cleanup_conntrack).
                self.bysource_unlink(id);
            }
            if let Some(slot) = self.slab.get_mut(id.0 as usize) {
                if slot.as_ref().is_some_and(|c| c.has(status::DYING)) {
                    *slot = None;
                    self.free.push(id.0);
                }
            }
        }
    }

    /// `nf_ct_set_closing` (nf_send_reset, after attaching the reset to
    /// the connection): a confirmed TCP connection goes to CLOSE with the
    /// CLOSE timeout (`nf_conntrack_tcp_set_closing`); an unconfirmed one,
    /// never to be committed, and other protocols are left alone
    /// (`nf_conntrack_set_closing`).
    pub fn set_closing(&mut self, now: Time, id: ConnId) {
        let timeout = self.settings.tcp.timeout_close;
        let Some(c) = self.get_mut(id) else { return };
        if !c.has(status::CONFIRMED) {
            return;
        }
        if let ProtoTrack::Tcp(t) = &mut c.proto {
            // Already CLOSE: the expiry stays as it is.
            if t.set_closing() {
                c.expires = now + Time::from_secs(u64::from(timeout));
            }
        }
    }

    /// Drops a connection that never made it into the table.
    pub fn discard_if_unconfirmed(&mut self, id: ConnId) {
        if self.get(id).is_some_and(|c| !c.has(status::CONFIRMED)) {
            self.remove(id);
        }
    }

    fn new_conn(
        &mut self,
        now: Time,
        s: &Summary,
        tuple: &Tuple,
        l4: &[u8],
        helper: Option<Helper>,
    ) -> NewConn {
        // init_conntrack: a tuple without an inverse starts nothing.
        let Some(reply) = tuple.invert() else {
            return NewConn::Invalid;
        };
        // __nf_conntrack_alloc: beyond nf_conntrack_max, early_drop must
        // make room, or the allocation fails (before the protocol's own
        // `new` check, which may still find the packet INVALID).
        let max = self.settings.max as usize;
        if max != 0 && self.count >= max {
            self.early_drop(now);
            if self.count >= max {
                return NewConn::Full;
            }
        }
        // init_conntrack: an expectation is used up here, before the
        // protocol's `new` check (which may still refuse the packet).
        let expected = if self.expects.is_empty() {
            None
        } else {
            self.take_expectation(now, tuple)
        };
        let proto = match s.l4 {
            L4::Tcp(h) => {
                let seg = TcpSegment {
                    header: &l4[..usize::from(h.header_len)],
                    payload_len: (l4.len() - usize::from(h.header_len)) as u32,
                };
                match TcpTrack::new(&seg, &self.settings.tcp) {
                    Some(t) => ProtoTrack::Tcp(t),
                    None => return NewConn::Invalid,
                }
            }
            L4::Udp { .. } => ProtoTrack::Udp {
                stream_ts: now + Time::from_secs(2),
            },
            L4::Icmp { .. } => ProtoTrack::Icmp,
            L4::Other if s.protocol == PROTO_UDPLITE => ProtoTrack::UdpLite,
            // Checked with its first packet (sctp_new, from
            // nf_conntrack_sctp_packet).
            L4::Other if s.protocol == PROTO_SCTP => ProtoTrack::Sctp(SctpTrack::default()),
            L4::Other if s.protocol == PROTO_GRE => ProtoTrack::Gre {
                timeout: self.settings.gre_timeout,
                stream_timeout: self.settings.gre_timeout_stream,
            },
            L4::Other => ProtoTrack::Generic,
        };
        let serial = self.next_serial;
        self.next_serial += 1;
        let (mut status, mut mark, mut help) = (0, 0, None);
        let (mut master_helper, mut follow_master) = (None, None);
        match expected {
            Some((exp, master_mark, master_tuples)) => {
                status |= status::EXPECTED;
                mark = master_mark;
                master_helper = Some(exp.helper);
                follow_master = exp.nat.map(|n| {
                    // nf_nat_follow_master: the source becomes where the
                    // master sends to, the destination its sender.
                    let m = &master_tuples[n.dir.other().index()];
                    FollowMaster {
                        src: m.dst,
                        dst: m.src,
                        dport: n.saved_port,
                    }
                });
            }
            None => {
                if let Some(h) = helper {
                    status |= status::HELPER;
                    help = Some(Box::new(Help::new(h)));
                }
            }
        }
        NewConn::Created(self.insert_slab(Conn {
            tuples: [*tuple, reply],
            status,
            mark,
            drop_prev: None,
            drop_next: None,
            in_drop_list: false,
            expires: now,
            proto,
            serial,
            src_prev: None,
            src_next: None,
            in_bysource: false,
            help,
            master_helper,
            follow_master,
        }))
    }

    /// `nf_ct_find_expectation`: the expectation a new connection's tuple
    /// fits, if its master is confirmed and not dying; with the master's
    /// mark and tuples.
    fn take_expectation(&mut self, now: Time, tuple: &Tuple) -> Option<(Expect, u32, [Tuple; 2])> {
        let slab = &self.slab;
        let master = |id: ConnId| slab.get(id.0 as usize).and_then(Option::as_ref);
        let exp = self.expects.take(now, tuple, |id| {
            master(id).is_some_and(|c| c.has(status::CONFIRMED) && !c.has(status::DYING))
        })?;
        let m = master(exp.master)?;
        Some((exp, m.mark, m.tuples))
    }

    /// `conntrack -L expect` text.
    pub fn list_expectations(&self, now: Time) -> String {
        let mut out = String::new();
        for e in self.expects.live(now) {
            if let Some(m) = self.get(e.master) {
                expect::format_line(&mut out, e, &m.tuples[0], now);
            }
        }
        out
    }

    /// `early_drop` (nf_conntrack_core.c), for a new connection that
    /// would exceed `max`. Linux looks at the hash bucket of the new tuple
    /// and the 7 after it, and deletes every confirmed connection that is
    /// neither ASSURED nor dying in the first bucket holding any (reaping
    /// expired ones on the way); none there, the new packet is dropped.
    /// Which connections share a bucket follows the random hash seed, so
    /// this table has a rule of its own: the oldest confirmed connection
    /// not ASSURED goes (expired ones met before it are reaped). Frees
    /// at most one live connection; the caller checks `count` again.
    fn early_drop(&mut self, now: Time) {
        while let Some(id) = self.drop_head {
            let Some(c) = self.get(id) else {
                // Every listed connection is in the slab; never reached.
                self.drop_head = None;
                self.drop_tail = None;
                return;
            };
            if c.expires <= now {
                // nf_ct_gc_expired
                self.remove(id);
                continue;
            }
            // nf_ct_delete; killed so that a packet still holding it
            // keeps a valid reference until it is done.
            self.kill(id);
            return;
        }
    }

    /// Appends a newly confirmed connection to the early-drop list.
    fn drop_link(&mut self, id: ConnId) {
        let tail = self.drop_tail;
        let Some(c) = self.get_mut(id) else { return };
        if c.in_drop_list {
            return;
        }
        c.in_drop_list = true;
        c.drop_prev = tail;
        c.drop_next = None;
        match tail.and_then(|t| self.get_mut(t)) {
            Some(t) => t.drop_next = Some(id),
            None => self.drop_head = Some(id),
        }
        self.drop_tail = Some(id);
    }

    /// Takes a connection off the early-drop list (ASSURED, killed or
    /// removed).
    fn drop_unlink(&mut self, id: ConnId) {
        let Some(c) = self.get_mut(id) else { return };
        if !c.in_drop_list {
            return;
        }
        c.in_drop_list = false;
        let (prev, next) = (c.drop_prev.take(), c.drop_next.take());
        match prev.and_then(|p| self.get_mut(p)) {
            Some(p) => p.drop_next = next,
            None => self.drop_head = next,
        }
        match next.and_then(|n| self.get_mut(n)) {
            Some(n) => n.drop_prev = prev,
            None => self.drop_tail = prev,
        }
    }

    /// Linux's `gc_worker` reaps expired connections in the background,
    /// a few buckets at a time; here every tracked packet looks at the
    /// next `GC_BATCH` slots. Expired connections are invisible anyway
    /// (lookups and listings skip them) but count against `max` until
    /// reaped. A connection a packet in flight holds is never expired at
    /// that packet's time, so none goes from under it.
    fn gc_step(&mut self, now: Time) {
        let n = self.slab.len();
        for _ in 0..GC_BATCH.min(n) {
            if self.gc_cursor >= n {
                self.gc_cursor = 0;
            }
            let i = self.gc_cursor;
            self.gc_cursor += 1;
            let expired = self.slab[i].as_ref().is_some_and(|c| {
                c.has(status::CONFIRMED) && !c.has(status::DYING) && c.expires <= now
            });
            if expired {
                self.remove(ConnId(i as u32));
            }
        }
    }

    /// Connections counted against `max` (allocated and not DYING).
    pub fn count(&self) -> usize {
        self.count
    }

    fn proto_packet(
        &mut self,
        now: Time,
        id: ConnId,
        info: CtInfo,
        s: &Summary,
        l4: &[u8],
        verify: bool,
    ) -> ProtoVerdict {
        // nf_conntrack_udplite_packet checks the datagram first, for a new
        // connection as for a known one.
        if s.protocol == PROTO_UDPLITE && !udplite_valid(s, l4, verify) {
            return ProtoVerdict::Invalid;
        }
        let settings = self.settings.clone();
        let Some(c) = self.get_mut(id) else {
            return ProtoVerdict::Invalid;
        };
        let timeout = match &mut c.proto {
            ProtoTrack::Tcp(t) => {
                let L4::Tcp(h) = s.l4 else {
                    return ProtoVerdict::Invalid;
                };
                let hl = usize::from(h.header_len);
                let seg = TcpSegment {
                    header: &l4[..hl],
                    payload_len: (l4.len() - hl) as u32,
                };
                let facts = ConnFacts {
                    seen_reply: c.status & status::SEEN_REPLY != 0,
                    assured: c.status & status::ASSURED != 0,
                    remaining: c.expires - now,
                    ack_offset: match &c.help {
                        Some(h) if c.status & status::SEQ_ADJUST != 0 => {
                            h.seqadj[info.dir().other().index()]
                        }
                        _ => seqadj::SeqAdj::default(),
                    },
                };
                match t.packet(info.dir(), &seg, facts, &settings.tcp) {
                    TcpVerdict::Accept { timeout, assured } => {
                        if assured {
                            c.status |= status::ASSURED;
                        }
                        match timeout {
                            Some(t) => t,
                            // Ignored or challenge-ACK packets leave the
                            // expiry as it is.
                            None => return ProtoVerdict::Accept,
                        }
                    }
                    TcpVerdict::AcceptKill => return ProtoVerdict::AcceptKill,
                    TcpVerdict::Invalid { timeout } => {
                        // nf_tcp_handle_invalid shortens the connection.
                        if let Some(t) = timeout {
                            c.expires = now + Time::from_secs(u64::from(t));
                        }
                        return ProtoVerdict::Invalid;
                    }
                    TcpVerdict::Drop => return ProtoVerdict::Drop,
                    TcpVerdict::Restart => return ProtoVerdict::Restart,
                }
            }
            ProtoTrack::Udp { stream_ts } => {
                // udp_packet
                // udp_packet: a flow replied to and still active after
                // two seconds is a stream: longer timeout, ASSURED.
                if c.status & status::SEEN_REPLY != 0 && now > *stream_ts {
                    c.status |= status::ASSURED;
                    settings.udp_timeout_stream
                } else {
                    settings.udp_timeout
                }
            }
            ProtoTrack::UdpLite => {
                // nf_conntrack_udplite_packet: answered, it is a stream
                // at once (no two-second wait as for UDP).
                if c.status & status::SEEN_REPLY != 0 {
                    c.status |= status::ASSURED;
                    settings.udp_timeout_stream
                } else {
                    settings.udp_timeout
                }
            }
            ProtoTrack::Icmp => {
                if !icmp_valid_new(c.tuples[0].icmp_type()) {
                    return ProtoVerdict::Invalid;
                }
                settings.icmp_timeout
            }
            ProtoTrack::Gre {
                timeout,
                stream_timeout,
            } => {
                // nf_conntrack_gre_packet: traffic seen both ways makes it
                // a GRE connection: the stream timeout, ASSURED.
                if c.status & status::SEEN_REPLY != 0 {
                    c.status |= status::ASSURED;
                    *stream_timeout
                } else {
                    *timeout
                }
            }
            ProtoTrack::Sctp(t) => {
                let confirmed = c.status & status::CONFIRMED != 0;
                match t.packet(info.dir(), l4, confirmed, verify, &settings.sctp) {
                    SctpVerdict::Accept { timeout, assured } => {
                        if assured {
                            c.status |= status::ASSURED;
                        }
                        match timeout {
                            Some(t) => t,
                            // "allow but do not refresh timeout"
                            None => return ProtoVerdict::Accept,
                        }
                    }
                    SctpVerdict::Invalid => return ProtoVerdict::Invalid,
                }
            }
            ProtoTrack::Generic => settings.generic_timeout,
        };
        c.expires = now + Time::from_secs(u64::from(timeout));
        ProtoVerdict::Accept
    }

    /// `nf_conntrack_inet_error` for an ICMP error: the connection of the
    /// packet it quotes, as RELATED, if the error goes to that packet's
    /// sender.
    fn icmp_error_related(&mut self, now: Time, s: &Summary, l4: &[u8]) -> CtRef {
        let Some(inner) = l4.get(8..) else {
            return CtRef::None;
        };
        let Some(inner_s) = Summary::read_quoted(inner) else {
            return CtRef::None;
        };
        let inner_l4 = inner.get(inner_s.header_len..).unwrap_or_default();
        let Some(orig) = tuple_of(&inner_s, inner_l4) else {
            return CtRef::None;
        };
        let Some(t) = orig.invert() else {
            return CtRef::None;
        };
        let Some((id, dir)) = self.find(now, &t) else {
            return CtRef::None;
        };
        let ct_dst = self.get(id).map(|c| c.tuple(dir).dst);
        if ct_dst != Some(s.dst) {
            return CtRef::None;
        }
        let info = match dir {
            Dir::Original => CtInfo::Related,
            Dir::Reply => CtInfo::RelatedReply,
        };
        CtRef::Conn(id, info)
    }

    /// `__nf_conntrack_confirm`: puts a new connection into the table.
    /// `false` when its tuples clash with an existing one (the packet is
    /// then dropped).
    pub fn confirm(&mut self, now: Time, id: ConnId) -> bool {
        let Some(c) = self.get(id) else {
            return true;
        };
        if c.has(status::CONFIRMED) || c.has(status::DYING) {
            return true;
        }
        let tuples = c.tuples;
        for t in &tuples {
            if self.find(now, t).is_some() {
                self.remove(id);
                return false;
            }
        }
        let mut assured = true;
        if let Some(c) = self.get_mut(id) {
            c.status |= status::CONFIRMED;
            assured = c.has(status::ASSURED);
            // The timeout counts from confirmation (ct->timeout += now).
        }
        if !assured {
            self.drop_link(id);
        }
        self.by_tuple.insert(tuples[0], (id, Dir::Original));
        self.by_tuple.insert(tuples[1], (id, Dir::Reply));
        true
    }

    /// Changes the reply tuple of an unconfirmed connection (NAT:
    /// `nf_conntrack_alter_reply`).
    pub fn alter_reply(&mut self, id: ConnId, reply: Tuple) {
        if let Some(c) = self.get_mut(id) {
            c.tuples[1] = reply;
        }
    }

    /// Adds a connection to NAT's by-source list once its source binding
    /// is chosen (nf_nat_setup_info, `hlist_add_head_rcu` on
    /// `nf_nat_bysource`): newest first.
    pub fn bysource_add(&mut self, id: ConnId) {
        let Some(c) = self.get(id) else { return };
        if c.in_bysource {
            return;
        }
        let key = SourceKey::of(&c.tuples[0]);
        let old = self.by_source.insert(key, id);
        if let Some(o) = old.and_then(|o| self.get_mut(o)) {
            o.src_prev = Some(id);
        }
        if let Some(c) = self.get_mut(id) {
            c.in_bysource = true;
            c.src_prev = None;
            c.src_next = old;
        }
    }

    /// Takes a connection out of the by-source list
    /// (nf_nat_cleanup_conntrack, when it is destroyed).
    fn bysource_unlink(&mut self, id: ConnId) {
        let Some(c) = self.get_mut(id) else { return };
        if !c.in_bysource {
            return;
        }
        let (prev, next, key) = (c.src_prev, c.src_next, SourceKey::of(&c.tuples[0]));
        c.in_bysource = false;
        c.src_prev = None;
        c.src_next = None;
        match prev {
            Some(p) => {
                if let Some(pc) = self.get_mut(p) {
                    pc.src_next = next;
                }
            }
            None => {
                match next {
                    Some(n) => self.by_source.insert(key, n),
                    None => self.by_source.remove(&key),
                };
            }
        }
        if let Some(nc) = next.and_then(|n| self.get_mut(n)) {
            nc.src_prev = prev;
        }
    }

    /// `find_appropriate_src`: the source binding of a live connection
    /// from the same source as `t` (same protocol, address and port or
    /// ICMP id), newest first, applied to `t` (its destination kept), for
    /// the first one `fits` accepts (`in_range`).
    pub fn find_source_mapping(
        &self,
        now: Time,
        t: &Tuple,
        mut fits: impl FnMut(&Tuple) -> bool,
    ) -> Option<Tuple> {
        let mut cur = self.by_source.get(&SourceKey::of(t)).copied();
        while let Some(id) = cur {
            let c = self.get(id)?;
            cur = c.src_next;
            // An expired entry waits for garbage collection in Linux, at a
            // time of its own; here it is gone.
            if c.expires <= now {
                continue;
            }
            let Some(mapped) = c.tuples[1].invert() else {
                continue;
            };
            let result = Tuple {
                src: mapped.src,
                a: mapped.a,
                ..*t
            };
            if fits(&result) {
                return Some(result);
            }
        }
        None
    }

    /// Whether a tuple is used by a live connection other than `except`
    /// (`nf_conntrack_tuple_taken`, which looks at the reply direction of
    /// other connections' original tuples).
    pub fn tuple_taken(&mut self, now: Time, t: &Tuple, except: ConnId) -> bool {
        match self.find(now, t) {
            Some((id, _)) => id != except,
            None => false,
        }
    }

    /// Live confirmed connections, oldest first.
    pub fn live(&self, now: Time) -> Vec<&Conn> {
        let mut v: Vec<&Conn> = self
            .slab
            .iter()
            .flatten()
            .filter(|c| c.has(status::CONFIRMED) && !c.has(status::DYING) && c.expires > now)
            .collect();
        v.sort_by_key(|c| c.serial);
        v
    }

    /// `conntrack -L -o extended` text.
    pub fn list_extended(&self, now: Time) -> String {
        let mut out = String::new();
        for c in self.live(now) {
            format_extended(&mut out, c, now);
        }
        out
    }

    /// The live connection whose original tuple is `original`, as its
    /// line of `conntrack -L -o extended` (no newline).
    pub fn entry_line(&self, original: &Tuple, now: Time) -> Option<String> {
        let c = self
            .live(now)
            .into_iter()
            .find(|c| c.tuples[0] == *original)?;
        let mut line = String::new();
        format_extended(&mut line, c, now);
        line.truncate(line.trim_end().len());
        Some(line)
    }
}

enum ProtoVerdict {
    Accept,
    /// Accepted, and the connection ends now (`nf_ct_kill`).
    AcceptKill,
    Invalid,
    Drop,
    Restart,
}

/// DCCP. Linux 6.18 has no DCCP tracker any more (it went with DCCP
/// itself in 6.16), so DCCP is tracked by the generic one, but
/// conntrack-tools still names it and prints its (zero) port fields.
const PROTO_DCCP: u8 = 33;

/// Protocol names as conntrack-tools prints them.
fn proto_name(p: u8) -> &'static str {
    match p {
        PROTO_TCP => "tcp",
        PROTO_UDP => "udp",
        PROTO_ICMP => "icmp",
        PROTO_DCCP => "dccp",
        PROTO_GRE => "gre",
        PROTO_UDPLITE => "udplite",
        PROTO_SCTP => "sctp",
        _ => "unknown",
    }
}

fn format_tuple(out: &mut String, t: &Tuple) {
    let _ = write!(
        out,
        "src={} dst={} ",
        Ipv4Addr::from(t.src),
        Ipv4Addr::from(t.dst)
    );
    match t.proto {
        // A generic DCCP tuple has zero ports.
        PROTO_TCP | PROTO_UDP | PROTO_UDPLITE | PROTO_SCTP | PROTO_DCCP => {
            let _ = write!(out, "sport={} dport={} ", t.a, t.b);
        }
        PROTO_GRE => {
            let _ = write!(out, "srckey=0x{:x} dstkey=0x{:x} ", t.a, t.b);
        }
        PROTO_ICMP => {
            let _ = write!(
                out,
                "type={} code={} id={} ",
                t.icmp_type(),
                t.icmp_code(),
                t.a
            );
        }
        _ => {}
    }
}

/// One line of `conntrack -L -o extended` (conntrack-tools' snprintf
/// with NFCT_O_EXTENDED).
fn format_extended(out: &mut String, c: &Conn, now: Time) {
    let orig = &c.tuples[0];
    let secs = (c.expires - now).as_secs();
    let _ = write!(
        out,
        "{:<8} {} {:<8} {} {} ",
        "ipv4",
        2,
        proto_name(orig.proto),
        orig.proto,
        secs
    );
    // The protocol's `print_conntrack`: TCP's and SCTP's state.
    match &c.proto {
        ProtoTrack::Tcp(t) => {
            let _ = write!(out, "{} ", t.state().name());
        }
        ProtoTrack::Sctp(t) => {
            let _ = write!(out, "{} ", t.state().name());
        }
        _ => {}
    }
    format_tuple(out, orig);
    if !c.has(status::SEEN_REPLY) {
        out.push_str("[UNREPLIED] ");
    }
    format_tuple(out, &c.tuples[1]);
    if c.has(status::ASSURED) {
        out.push_str("[ASSURED] ");
    }
    let _ = write!(out, "mark={} ", c.mark);
    if let Some(h) = &c.help {
        let _ = write!(out, "helper={} ", h.helper.name());
    }
    out.push_str("use=1\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UDP datagram src:sport > dst:dport with no checksum.
    fn udp(src: u32, sport: u16, dst: u32, dport: u16) -> Vec<u8> {
        let mut p = vec![0u8; 28];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&28u16.to_be_bytes());
        p[8] = 64;
        p[9] = PROTO_UDP;
        p[12..16].copy_from_slice(&src.to_be_bytes());
        p[16..20].copy_from_slice(&dst.to_be_bytes());
        p[20..22].copy_from_slice(&sport.to_be_bytes());
        p[22..24].copy_from_slice(&dport.to_be_bytes());
        p[24..26].copy_from_slice(&8u16.to_be_bytes());
        p
    }

    fn conn(ct: &mut Conntrack, now: Time, dst: u32) -> ConnId {
        let pkt = udp(0x0a00_0002, 5000, dst, 53);
        let s = Summary::read(&pkt);
        match ct.track(now, &s, &pkt[20..], false, || true) {
            TrackResult::Tracked(CtRef::Conn(id, CtInfo::New)) => id,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bysource_is_newest_first_and_unlinks_anywhere() {
        let now = Time::from_secs(100);
        let mut ct = Conntrack::new(1);
        let ids: Vec<ConnId> = (0..4)
            .map(|k| conn(&mut ct, now, 0xcb00_7100 + k))
            .collect();
        for &id in &ids {
            assert!(ct.confirm(now, id));
            ct.bysource_add(id);
            ct.bysource_add(id);
        }
        let probe = ct.get(ids[0]).unwrap().tuples[0];
        let order = |ct: &Conntrack| {
            let mut seen = Vec::new();
            ct.find_source_mapping(now, &probe, |t| {
                seen.push(t.src);
                false
            });
            seen.len()
        };
        assert_eq!(order(&ct), 4);
        // The newest fits first; its mapping keeps the probe's destination.
        let first = ct.find_source_mapping(now, &probe, |_| true).unwrap();
        assert_eq!(first.dst, probe.dst);
        ct.remove(ids[2]);
        assert_eq!(order(&ct), 3);
        ct.remove(ids[3]);
        ct.remove(ids[0]);
        assert_eq!(order(&ct), 1);
        ct.remove(ids[1]);
        assert_eq!(order(&ct), 0);
        assert!(ct.by_source.is_empty());
    }

    /// A UDP datagram from 10.0.0.2:`sport` to 198.51.100.2:53, or the
    /// answer to it.
    fn flow_udp(sport: u16, answer: bool) -> Vec<u8> {
        let (client, server) = ([10, 0, 0, 2], [198, 51, 100, 2]);
        let mut p = vec![0u8; 28];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&28u16.to_be_bytes());
        p[8] = 64;
        p[9] = PROTO_UDP;
        let (src, dst, sp, dp) = if answer {
            (server, client, 53, sport)
        } else {
            (client, server, sport, 53)
        };
        p[12..16].copy_from_slice(&src);
        p[16..20].copy_from_slice(&dst);
        p[20..22].copy_from_slice(&sp.to_be_bytes());
        p[22..24].copy_from_slice(&dp.to_be_bytes());
        p[24..26].copy_from_slice(&8u16.to_be_bytes());
        p
    }

    /// A forwarded packet: tracked at PREROUTING, confirmed at
    /// POSTROUTING.
    fn forward(ct: &mut Conntrack, at: f64, pkt: &[u8]) -> TrackResult {
        let now = Time::from_secs(1000) + Time::from_secs_f64(at);
        ct.reap_dying();
        let s = Summary::read(pkt);
        let r = ct.track(now, &s, &pkt[s.header_len..], true, || true);
        if let TrackResult::Tracked(CtRef::Conn(id, info)) = r {
            if info.dir() == Dir::Original {
                assert!(ct.confirm(now, id));
            }
        }
        r
    }

    fn listed_ports(ct: &Conntrack, at: f64) -> Vec<u16> {
        let now = Time::from_secs(1000) + Time::from_secs_f64(at);
        ct.live(now).iter().map(|c| c.tuples[0].a).collect()
    }

    /// A UDP flow that is ASSURED: answered, and still active 2 s after
    /// it started (udp_packet).
    fn assured_flow(ct: &mut Conntrack, sport: u16, at: f64) {
        forward(ct, at, &flow_udp(sport, false));
        forward(ct, at + 0.1, &flow_udp(sport, true));
        forward(ct, at + 2.5, &flow_udp(sport, false));
        let now = Time::from_secs(1000) + Time::from_secs_f64(at + 2.5);
        assert!(ct
            .live(now)
            .iter()
            .any(|c| c.tuples[0].a == sport && c.has(status::ASSURED)));
    }

    #[test]
    fn conntrack_max_is_the_hosts_and_not_a_namespace_sysctl() {
        // Linux 6.18 on the recording machine: nf_conntrack_max is 262144
        // in every namespace, and `unshare -n sysctl -w
        // net.netfilter.nf_conntrack_max=10` fails (0444 outside init_net).
        let mut s = CtSettings::default();
        assert_eq!(s.max, 262_144);
        let e = s
            .set_sysctl("net.netfilter.nf_conntrack_max", "10")
            .unwrap_err();
        assert!(e.contains("read-only"), "{e}");
        assert_eq!(s.max, 262_144);
    }

    #[test]
    fn a_full_table_drops_the_oldest_connection_not_assured() {
        let mut ct = Conntrack::new(1);
        ct.settings.max = 3;
        assured_flow(&mut ct, 5000, 0.0);
        forward(&mut ct, 3.0, &flow_udp(5001, false));
        forward(&mut ct, 3.1, &flow_udp(5002, false));
        assert_eq!(ct.count(), 3);
        // 5003 needs room: 5001, the oldest unassured one, goes (5000 is
        // older but ASSURED).
        let r = forward(&mut ct, 3.2, &flow_udp(5003, false));
        assert!(matches!(
            r,
            TrackResult::Tracked(CtRef::Conn(_, CtInfo::New))
        ));
        assert_eq!(listed_ports(&ct, 3.2), vec![5000, 5002, 5003]);
        assert_eq!(ct.count(), 3);
        // The dropped flow's next packet is a new connection, which in
        // turn pushes out 5002.
        forward(&mut ct, 3.3, &flow_udp(5001, false));
        assert_eq!(listed_ports(&ct, 3.3), vec![5000, 5003, 5001]);
        // Known flows still pass without needing room.
        let r = forward(&mut ct, 3.4, &flow_udp(5003, true));
        assert!(matches!(
            r,
            TrackResult::Tracked(CtRef::Conn(_, CtInfo::EstablishedReply))
        ));
    }

    #[test]
    fn a_full_table_of_assured_connections_drops_the_new_packet() {
        let mut ct = Conntrack::new(1);
        ct.settings.max = 2;
        assured_flow(&mut ct, 5000, 0.0);
        assured_flow(&mut ct, 5001, 0.5);
        assert_eq!(
            forward(&mut ct, 3.5, &flow_udp(5002, false)),
            TrackResult::Drop
        );
        assert_eq!(listed_ports(&ct, 3.5), vec![5000, 5001]);
        assert_eq!(ct.count(), 2);
        // A dropped packet leaves no unconfirmed connection behind either:
        // the next one is refused the same way.
        assert_eq!(
            forward(&mut ct, 3.6, &flow_udp(5003, false)),
            TrackResult::Drop
        );
        assert_eq!(ct.count(), 2);
        // Once a connection has expired (5000's stream timeout, 120 s from
        // its last packet at 2.5 s) there is room again; 5001 lives until
        // 123 s.
        let r = forward(&mut ct, 122.8, &flow_udp(5002, false));
        assert!(matches!(
            r,
            TrackResult::Tracked(CtRef::Conn(_, CtInfo::New))
        ));
        assert_eq!(listed_ports(&ct, 122.8), vec![5001, 5002]);
    }

    #[test]
    fn no_limit_with_max_zero() {
        let mut ct = Conntrack::new(1);
        ct.settings.max = 0;
        for p in 0..50 {
            forward(&mut ct, 0.0, &flow_udp(6000 + p, false));
        }
        assert_eq!(ct.count(), 50);
    }
}
