//! The packet path: netfilter's hooks in Linux's order around routing,
//! forwarding and the host's own stack (net/ipv4/ip_input.c,
//! ip_forward.c, ip_output.c, and the hook priorities of
//! include/uapi/linux/netfilter_ipv4.h).
//!
//! Received:  PREROUTING (raw, conntrack, mangle, nat) → route →
//!            INPUT (mangle, filter, security, nat, confirm) → stack
//!         or FORWARD (mangle, filter, security) → POSTROUTING
//!            (mangle, nat, confirm) → out.
//! Sent here: route → OUTPUT (raw, conntrack, mangle, nat, filter,
//!            security) → POSTROUTING → out (loopback: received again).

use std::sync::Arc;

use palisade_rules::model::{Hook, Ruleset, TableId};

use crate::conntrack::{Conntrack, CtInfo, CtRef, TrackResult};
use crate::defrag::{Defrag, Gathered, User};
use crate::env::{Env, Generated, GeneratedKind};
use crate::eval;
use crate::ext::{HookCtx, Verdict};
use crate::fragment;
use crate::helpers;
use crate::log::LogRecord;
use crate::meta::{PacketMeta, RouteKind, Sock};
use crate::nat;
use crate::program::{steps_at, CompileError, HookStep, Program};
use crate::reply;
use crate::slot::RulesetSlot;
use crate::time::Time;
use crate::topology::{self, IfIndex, NoRoute, OutKind, RouteDecision, Topology, LOOPBACK};
use crate::trace::{CtSeen, Endpoints, Origin, RouteEvent, TraceEvent};
use crate::wire::ipv4::{self, Ipv4Read, Ipv4Write, PROTO_ICMP, PROTO_IGMP, PROTO_TCP, PROTO_UDP};
use crate::wire::transport::{self, Summary, L4};

/// Where a packet enters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingress {
    /// Received on an interface.
    Interface(IfIndex),
    /// Sent by a local process through a raw socket with IP_HDRINCL (the
    /// kernel fills in total length, ID when zero, and the checksum).
    Local,
}

/// Packets that left the host while one input was processed.
#[derive(Debug, Default)]
pub struct Outputs {
    pub packets: Vec<(IfIndex, Vec<u8>)>,
    /// What a local sender's `sendto` returned, when it failed.
    pub send_error: Option<SendError>,
    /// What LOG and NFLOG rules reported, in order (allocated only when
    /// one fires).
    pub log: Vec<LogRecord>,
    /// What became of the last input itself.
    pub fate: Fate,
    /// How many of `packets` the host generated in answer (REJECT's
    /// answers, ICMP errors, echo replies, resets) rather than being the
    /// input itself or its fragments.
    pub generated: usize,
}

impl Outputs {
    pub fn clear(&mut self) {
        self.packets.clear();
        self.send_error = None;
        self.log.clear();
        self.fate = Fate::default();
        self.generated = 0;
    }
}

/// What became of an input datagram (not of the answers the host sent
/// for it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Fate {
    /// Discarded by the IP layer with no netfilter verdict: a malformed
    /// header, a martian, no route, TTL expired, too big with DF set.
    #[default]
    Discarded,
    /// Left by an interface (forwarded, or sent by a local process).
    Sent,
    /// Reached this host's stack: INPUT let it through.
    Delivered,
    /// Dropped by netfilter.
    Dropped(DropSite),
}

/// Where netfilter dropped a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropSite {
    /// A rule's target (REJECT included), or with `rule` `None` a built-in
    /// chain's policy. `chain` is the chain's position in the loaded
    /// table's `chains()`, `rule` the rule's in that chain.
    Chain {
        hook: Hook,
        table: TableId,
        chain: usize,
        rule: Option<usize>,
    },
    /// Connection tracking refused it (`nf_conntrack_in`, `nf_confirm`).
    Conntrack { hook: Hook },
    /// NAT could not translate it, or could not route it after DNAT
    /// (`nf_nat_ipv4_fn`, `nf_nat_ipv4_local_fn`).
    Nat { hook: Hook },
}

/// Why a locally sent datagram was refused (the errno its sender sees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// Dropped by netfilter in OUTPUT or POSTROUTING (NF_DROP → -EPERM).
    Eperm,
    /// No route to the destination.
    Enetunreach,
    /// An `unreachable` route.
    Ehostunreach,
    /// A `prohibit` route, or a broadcast without SO_BROADCAST.
    Eacces,
    /// A `blackhole` route, a destination no route may reach, or a route
    /// that may not be used, e.g. a loopback source out of another device
    /// (__mkroute_output).
    Einval,
    /// Longer than the MTU of the way out (`raw_send_hdrinc`).
    Emsgsize,
}

impl SendError {
    pub fn name(self) -> &'static str {
        match self {
            SendError::Eperm => "EPERM",
            SendError::Enetunreach => "ENETUNREACH",
            SendError::Ehostunreach => "EHOSTUNREACH",
            SendError::Eacces => "EACCES",
            SendError::Einval => "EINVAL",
            SendError::Emsgsize => "EMSGSIZE",
        }
    }

    /// The errno of a failed output route lookup (`fib_props[].error`).
    fn no_route(e: NoRoute) -> SendError {
        match e {
            NoRoute::Net => SendError::Enetunreach,
            NoRoute::Host => SendError::Ehostunreach,
            NoRoute::Prohibit => SendError::Eacces,
            NoRoute::Invalid => SendError::Einval,
        }
    }
}

/// How far a locally sent datagram got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Ok,
    Failed(SendError),
}

/// How many times a packet may loop through `lo` while one input is
/// processed (a guard against rulesets that bounce packets forever).
const MAX_LOOPBACK_PASSES: usize = 8;

/// Protocols this host's stack handles besides ICMP, TCP, UDP, UDP-Lite
/// and IGMP, silently (PIM is registered by ipmr). Others get
/// protocol-unreachable.
fn silently_handled(proto: u8) -> bool {
    matches!(proto, 103)
}

/// The sans-IO engine: one network namespace's netfilter and IPv4 path.
#[derive(Debug)]
pub struct Engine {
    topo: Topology,
    /// Where commits land; `program` is this engine's view of it.
    slot: Arc<RulesetSlot>,
    seen_generation: u64,
    program: Arc<Program>,
    ct: Conntrack,
    /// The fragment queues (net->ipv4.fqdir).
    defrag: Defrag,
    env: Env,
    loopback_budget: usize,
    /// The errno of an NF_DROP_ERR in OUTPUT (the nat hook's failed
    /// reroute), for the sender; a plain drop is EPERM.
    hook_errno: Option<SendError>,
    /// How deep in sending answers of its own the host is: while above
    /// zero, fates are not the input's ([`Outputs::fate`]).
    answering: u32,
    /// The events of traced packets, while tracing is on (`trace.rs`).
    trace: Option<Vec<TraceEvent>>,
}

impl Engine {
    /// A host with `topo`, no rules, and `seed` for every random choice.
    pub fn new(topo: Topology, seed: u64) -> Engine {
        let slot = Arc::new(RulesetSlot::new(Program::empty()));
        let (seen_generation, program) = slot.load();
        Engine {
            topo,
            slot,
            seen_generation,
            program,
            ct: Conntrack::new(seed),
            defrag: Defrag::new(seed),
            env: Env::new(seed),
            loopback_budget: 0,
            hook_errno: None,
            answering: 0,
            trace: None,
        }
    }

    /// Turns tracing on (collecting every packet's steps from now on) or
    /// off (dropping what was collected).
    pub fn set_tracing(&mut self, on: bool) {
        self.trace = on.then(Vec::new);
    }

    /// The steps collected since tracing was turned on or last taken.
    pub fn take_trace(&mut self) -> Vec<TraceEvent> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Records a trace event, made only when tracing is on (out of the
    /// way of the untraced path).
    #[inline]
    fn trace_event(&mut self, event: impl FnOnce() -> TraceEvent) {
        if let Some(t) = &mut self.trace {
            record(t, event);
        }
    }

    /// A datagram of `origin` starts its way (traced: up to `end_trace`).
    fn begin_trace(&mut self, origin: Origin, pkt: &[u8]) {
        self.trace_event(|| TraceEvent::Begin {
            origin,
            packet: pkt.to_vec(),
        });
    }

    fn end_trace(&mut self) {
        self.trace_event(|| TraceEvent::End);
    }

    /// Commits a new ruleset (validated by the rules crate). Counters come
    /// from the ruleset; connections are kept.
    pub fn load(&mut self, rs: &Ruleset) -> Result<(), CompileError> {
        self.slot.commit(Program::compile(rs)?);
        self.refresh_program();
        Ok(())
    }

    /// The slot a control thread commits new rulesets to
    /// (`RulesetSlot::commit`); the engine picks them up at its next
    /// packet.
    pub fn ruleset_slot(&self) -> Arc<RulesetSlot> {
        Arc::clone(&self.slot)
    }

    fn refresh_program(&mut self) {
        if self.slot.generation() != self.seen_generation {
            (self.seen_generation, self.program) = self.slot.load();
            self.env.commit(self.program.source());
        }
    }

    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    pub fn conntrack(&self) -> &Conntrack {
        &self.ct
    }

    pub fn conntrack_mut(&mut self) -> &mut Conntrack {
        &mut self.ct
    }

    pub fn defrag(&self) -> &Defrag {
        &self.defrag
    }

    /// Sets a per-namespace sysctl: `net.ipv4.ipfrag_*` or
    /// `net.netfilter.nf_conntrack_*`.
    pub fn set_sysctl(&mut self, name: &str, value: &str) -> Result<(), String> {
        if name.starts_with("net.ipv4.ipfrag_") {
            return self.defrag.settings.set_sysctl(name, value);
        }
        self.ct.settings.set_sysctl(name, value)
    }

    /// The ruleset with its counters now.
    pub fn ruleset(&self) -> Ruleset {
        self.program.ruleset_with_counters()
    }

    /// `conntrack -L -o extended` as of `now`.
    pub fn conntrack_listing(&self, now: Time) -> String {
        self.ct.list_extended(now)
    }

    /// `conntrack -L expect` as of `now`.
    pub fn expect_listing(&self, now: Time) -> String {
        self.ct.list_expectations(now)
    }

    fn conntrack_on(&self) -> bool {
        self.program.needs_conntrack
    }

    /// nf_defrag_ipv4 (`ipv4_conntrack_defrag`), at PREROUTING and OUTPUT
    /// ahead of every table (NF_IP_PRI_CONNTRACK_DEFRAG, -400) while
    /// conntrack is on: a fragment is queued, and the one that completes
    /// its datagram goes on as the whole datagram. `false`: NF_STOLEN.
    fn conntrack_defrag(
        &mut self,
        now: Time,
        pkt: &mut Vec<u8>,
        meta: &mut PacketMeta,
        user: User,
    ) -> bool {
        if !self.conntrack_on() || !pkt.is_fragment() || meta.ct == CtRef::Untracked {
            return true;
        }
        // ip_frag_queue takes the input device from skb->dev, which a
        // locally sent skb does not have yet at OUTPUT.
        let dev = if user == User::ConntrackIn {
            meta.in_iface
        } else {
            None
        };
        match self.defrag.gather(now, pkt, dev, user) {
            Gathered::Held => false,
            Gathered::Complete(whole, r) => {
                let parts = std::mem::replace(pkt, whole);
                self.env.recycle(parts);
                if user == User::ConntrackIn {
                    // What ip_rcv_finish will do to it after PREROUTING.
                    self.defrag.early_demux(&r, pkt);
                }
                // nf_ct_ipv4_gather_frags: skb->ignore_df.
                meta.reasm = Some(r);
                true
            }
        }
    }

    /// `ip_expire` for every fragment queue whose timer ran out by `now`:
    /// the queue goes, and if its first fragment came, the sender hears
    /// "fragment reassembly time exceeded", from an end host only: a
    /// conntrack queue answers only for a datagram routed to this host
    /// (frag_expire_skip_icmp), and one of OUTPUT has no input device to
    /// route its head from.
    fn expire_fragments(&mut self, now: Time, out: &mut Outputs) {
        while let Some(e) = self.defrag.next_expired(now) {
            let (Some(head), Some(dev)) = (e.head, e.iif) else {
                continue;
            };
            // The head lost its route when queued: routed again.
            let route = match self.route_input(&head, dev) {
                InputRoute::Local { broadcast: false } => RouteKind::Local,
                InputRoute::Local { broadcast: true } => RouteKind::Broadcast,
                InputRoute::Forward { .. } => RouteKind::Unicast,
                InputRoute::Martian | InputRoute::Unreachable(_) => continue,
            };
            if e.user != User::LocalDeliver && route != RouteKind::Local {
                continue;
            }
            let meta = PacketMeta {
                in_iface: Some(dev),
                route,
                ..PacketMeta::default()
            };
            // IPCB(head)->opt was compiled (and so is echoed) only for a
            // fragment queued past PREROUTING.
            let limit = if e.user == User::LocalDeliver {
                usize::MAX
            } else {
                20
            };
            let answer = reply::icmp_error_echoing(
                e.at,
                &self.topo,
                &mut self.env,
                &head,
                &meta,
                (11, 1, 0),
                limit,
            );
            if let Some(icmp) = answer {
                self.send_icmp(e.at, icmp, PacketMeta::default(), out);
            }
        }
    }

    /// Processes one datagram. `pkt` may be rewritten in place; whatever
    /// leaves the host is appended to `out`.
    pub fn process(&mut self, now: Time, ingress: Ingress, pkt: Vec<u8>, out: &mut Outputs) {
        self.refresh_program();
        self.ct.reap_dying();
        self.loopback_budget = MAX_LOOPBACK_PASSES;
        self.answering = 0;
        out.fate = Fate::default();
        self.defrag.begin_input();
        self.expire_fragments(now, out);
        if self.trace.is_some() {
            self.enter_traced(now, ingress, pkt, out);
        } else {
            self.enter(now, ingress, pkt, out);
        }
        // A queue the input made that times out at once (ipfrag_time 0)
        // does so before anything else comes in.
        self.expire_fragments(now, out);
    }

    #[inline(always)]
    fn enter(&mut self, now: Time, ingress: Ingress, pkt: Vec<u8>, out: &mut Outputs) {
        match ingress {
            Ingress::Interface(dev) => {
                let meta = PacketMeta {
                    in_iface: Some(dev),
                    ..PacketMeta::default()
                };
                self.receive(now, pkt, meta, out);
            }
            Ingress::Local => self.raw_send(now, pkt, out),
        }
    }

    /// `enter` between the traced input's `Begin` and `End`.
    #[cold]
    #[inline(never)]
    fn enter_traced(&mut self, now: Time, ingress: Ingress, pkt: Vec<u8>, out: &mut Outputs) {
        let origin = match ingress {
            Ingress::Interface(dev) => Origin::Received(dev),
            Ingress::Local => Origin::Sent,
        };
        self.begin_trace(origin, &pkt);
        self.enter(now, ingress, pkt, out);
        self.end_trace();
    }

    /// A raw IP_HDRINCL send (`raw_sendmsg`, `raw_send_hdrinc`).
    fn raw_send(&mut self, now: Time, mut pkt: Vec<u8>, out: &mut Outputs) {
        if pkt.len() < 20 || pkt[0] >> 4 != 4 || usize::from(pkt[0] & 0x0f) * 4 > pkt.len() {
            return;
        }
        // raw_sendmsg routes by destination alone (the socket is unbound).
        let route = match self.topo.output_route(pkt.dst()) {
            Ok(r) => r,
            Err(e) => {
                let e = SendError::no_route(e);
                self.trace_event(|| TraceEvent::Route(RouteEvent::OutputFailed(e)));
                out.send_error = Some(e);
                return;
            }
        };
        // raw_sendmsg: a broadcast route needs SO_BROADCAST.
        if route.kind == OutKind::Broadcast {
            out.send_error = Some(SendError::Eacces);
            return;
        }
        // raw_send_hdrinc: no fragmentation of a header-included datagram.
        if pkt.len() > self.topo.interface(route.dev).mtu {
            out.send_error = Some(SendError::Emsgsize);
            return;
        }
        let Ok(len) = u16::try_from(pkt.len()) else {
            return;
        };
        pkt[2..4].copy_from_slice(&len.to_be_bytes());
        if pkt.id() == 0 {
            let id = self.env.next_ip_id();
            pkt[4..6].copy_from_slice(&id.to_be_bytes());
        }
        if pkt.src() == 0 {
            pkt[12..16].copy_from_slice(&route.src.to_be_bytes());
        }
        pkt.fill_checksum();
        let meta = PacketMeta {
            local_origin: true,
            sock: Sock::Process,
            ..PacketMeta::default()
        };
        if let Sent::Failed(e) = self.local_out(now, pkt, meta, out) {
            out.send_error = Some(e);
        }
    }

    /// `ip_rcv` onwards.
    fn receive(&mut self, now: Time, pkt: Vec<u8>, meta: PacketMeta, out: &mut Outputs) {
        self.receive_routed(now, pkt, meta, None, out);
    }

    /// `ip_rcv` onwards for a packet that may arrive with its route
    /// already attached (`skb_valid_dst`: a broadcast this host sent,
    /// looped back by `ip_mc_output`), which then is not routed again
    /// unless PREROUTING changed its destination.
    fn receive_routed(
        &mut self,
        now: Time,
        mut pkt: Vec<u8>,
        mut meta: PacketMeta,
        preset: Option<InputRoute>,
        out: &mut Outputs,
    ) {
        let Ok(total) = ipv4::validate(&pkt) else {
            return;
        };
        pkt.truncate(total);
        meta.out_iface = None;
        meta.route = RouteKind::None;
        if !self.conntrack_defrag(now, &mut pkt, &mut meta, User::ConntrackIn) {
            self.trace_event(|| TraceEvent::Held);
            return self.env.recycle(pkt);
        }
        let dst_before = pkt.dst();
        if self.run_hook(now, Hook::Prerouting, &mut pkt, &mut meta, out) != Verdict::Accept {
            return self.dropped(meta);
        }
        let in_dev = meta.in_iface.unwrap_or(LOOPBACK);
        // nf_nat_ipv4_in drops the attached route when DNAT changed the
        // destination.
        let route = match preset {
            Some(r) if pkt.dst() == dst_before => r,
            _ => self.route_input(&pkt, in_dev),
        };
        self.trace_event(|| {
            TraceEvent::Route(match route {
                InputRoute::Martian => RouteEvent::Martian,
                InputRoute::Local { broadcast } => RouteEvent::Local { broadcast },
                InputRoute::Forward { dev } => RouteEvent::Forward { dev },
                InputRoute::Unreachable(e) => RouteEvent::Unreachable(e),
            })
        });
        // ip_rcv_finish_core: the options are compiled once routed.
        let mut rx_opts = RxOptions::default();
        if route != InputRoute::Martian && pkt.header_len() > 20 {
            meta.route = match route {
                InputRoute::Local { broadcast: false } => RouteKind::Local,
                InputRoute::Local { broadcast: true } => RouteKind::Broadcast,
                _ => RouteKind::Unicast,
            };
            let spec_dst = self.spec_dst(&pkt, &meta, in_dev);
            match compile_options(&mut pkt, spec_dst, &self.topo, now) {
                Ok(o) => rx_opts = o,
                Err(bad) => {
                    // ip_options_compile: parameter problem pointing at
                    // the bad byte, and the packet is dropped.
                    if let Some(e) = reply::icmp_error_echoing(
                        now,
                        &self.topo,
                        &mut self.env,
                        &pkt,
                        &meta,
                        (12, 0, u32::from(bad.pointer) << 24),
                        bad.option,
                    ) {
                        self.send_icmp(now, e, PacketMeta::default(), out);
                    }
                    return self.dropped(meta);
                }
            }
            // ip_rcv_options: source routing is refused
            // (accept_source_route is 0 for "all").
            if rx_opts.srr {
                return self.dropped(meta);
            }
        }
        match route {
            InputRoute::Martian => self.dropped(meta),
            InputRoute::Local { broadcast } => {
                meta.route = if broadcast {
                    RouteKind::Broadcast
                } else {
                    RouteKind::Local
                };
                self.local_deliver(now, pkt, meta, out);
            }
            InputRoute::Forward { dev } => {
                meta.route = RouteKind::Unicast;
                self.forward(now, pkt, meta, dev, rx_opts, out);
            }
            InputRoute::Unreachable(e) => {
                // ip_error: the route's error as an ICMP code (nothing for
                // EINVAL), limited per source.
                meta.route = RouteKind::Unicast;
                let code = match e {
                    NoRoute::Net => Some(0),
                    NoRoute::Host => Some(1),
                    NoRoute::Prohibit => Some(13),
                    NoRoute::Invalid => None,
                };
                if let Some(code) = code {
                    if self.env.peers.error_allowed(pkt.src(), now) {
                        self.send_icmp_error(now, &pkt, &meta, 3, code, 0, out);
                    }
                }
                self.dropped(meta);
            }
        }
    }

    /// `ip_route_input_rcu`'s classification, with its martian checks.
    /// Packets through `lo` keep the route they were sent with in Linux;
    /// here they are routed again, so the checks that such a route skips
    /// are not applied to them.
    fn route_input(&self, pkt: &[u8], in_dev: IfIndex) -> InputRoute {
        let (src, dst) = (pkt.src(), pkt.dst());
        let from_lo = in_dev == LOOPBACK;
        // fib_validate_source with rp_filter=0: only a source that is one
        // of this host's addresses is refused (inet_lookup_ifaddr_rcu).
        let own_source = !from_lo && self.topo.is_local(src);
        if topology::is_multicast(dst) {
            // ip_check_mc_rcu: every interface joined the all-hosts group
            // and nothing else; nothing is multicast-forwarded.
            if dst != topology::ALL_HOSTS {
                return InputRoute::Martian;
            }
            // ip_mc_validate_source.
            if topology::is_multicast(src)
                || src == topology::LIMITED_BROADCAST
                || (!from_lo && topology::is_loopback(src))
            {
                return InputRoute::Martian;
            }
            if src == 0 {
                if !topology::is_local_multicast(dst) && pkt.protocol() != PROTO_IGMP {
                    return InputRoute::Martian;
                }
            } else if own_source {
                return InputRoute::Martian;
            }
            return InputRoute::Local { broadcast: true };
        }
        // ip_route_input_slow.
        if topology::is_multicast(src) || src == topology::LIMITED_BROADCAST {
            return InputRoute::Martian;
        }
        if dst == topology::LIMITED_BROADCAST || (src == 0 && dst == 0) {
            // brd_input: a zero source is not validated.
            if src != 0 && own_source {
                return InputRoute::Martian;
            }
            return InputRoute::Local { broadcast: true };
        }
        // ipv4_is_zeronet is 0.0.0.0 alone since Linux 5.3.
        if src == 0 || dst == 0 {
            return InputRoute::Martian;
        }
        if !from_lo && (topology::is_loopback(dst) || topology::is_loopback(src)) {
            return InputRoute::Martian;
        }
        match self.topo.route(dst) {
            // ip_error's packets are not validated (no_route).
            RouteDecision::Unreachable(e) => InputRoute::Unreachable(e),
            _ if own_source => InputRoute::Martian,
            RouteDecision::Local { broadcast } => InputRoute::Local { broadcast },
            RouteDecision::Forward { dev, .. } => InputRoute::Forward { dev },
        }
    }

    /// `ip_forward`: TTL and MTU checks before the FORWARD hook.
    fn forward(
        &mut self,
        now: Time,
        mut pkt: Vec<u8>,
        mut meta: PacketMeta,
        dev: IfIndex,
        opts: RxOptions,
        out: &mut Outputs,
    ) {
        if pkt.ttl() <= 1 {
            self.send_icmp_error(now, &pkt, &meta, 11, 0, 0, out);
            return self.dropped(meta);
        }
        let mtu = self.topo.interface(dev).mtu;
        if fragment::exceeds_mtu(&pkt, mtu, meta.reasm.as_ref()) {
            self.send_icmp_error(now, &pkt, &meta, 3, 4, mtu as u32, out);
            return self.dropped(meta);
        }
        let ttl = pkt.ttl() - 1;
        pkt.set_ttl(ttl);
        meta.out_iface = Some(dev);
        if self.run_hook(now, Hook::Forward, &mut pkt, &mut meta, out) != Verdict::Accept {
            return self.dropped(meta);
        }
        // ip_forward_finish → ip_forward_options: record route gets the
        // source of the way out (ip_rt_get_source) in the slot compiling
        // filled.
        if opts.rr_needaddr && opts.rr != 0 {
            let ptr = usize::from(pkt.get(opts.rr + 2).copied().unwrap_or(0));
            let src = self.topo.output_route(pkt.dst()).map_or(0, |r| r.src);
            if let Some(at) = (opts.rr + ptr).checked_sub(5) {
                if let Some(slot) = pkt.get_mut(at..at + 4) {
                    slot.copy_from_slice(&src.to_be_bytes());
                    pkt.fill_checksum();
                }
            }
        }
        let _ = self.post_routing(now, pkt, meta, out);
    }

    /// `fib_compute_spec_dst`: the address a received datagram counts as
    /// sent to: its destination when that is ours, else the preferred
    /// source of the route back to its sender, else the input device's
    /// address.
    fn spec_dst(&self, pkt: &[u8], meta: &PacketMeta, in_dev: IfIndex) -> u32 {
        if meta.route == RouteKind::Local {
            return pkt.dst();
        }
        let src = pkt.src();
        if src != 0 {
            if let Ok(r) = self.topo.output_route(src) {
                if r.src != 0 {
                    return r.src;
                }
            }
        }
        self.topo.select_source(in_dev, src).unwrap_or(0)
    }

    /// `ip_local_out` for a datagram this host sends: route, OUTPUT,
    /// POSTROUTING.
    fn local_out(
        &mut self,
        now: Time,
        mut pkt: Vec<u8>,
        mut meta: PacketMeta,
        out: &mut Outputs,
    ) -> Sent {
        meta.local_origin = true;
        meta.in_iface = None;
        let dev = match self.route_output(pkt.dst(), &mut meta) {
            Ok(d) => d,
            Err(e) => {
                self.trace_event(|| TraceEvent::Route(RouteEvent::OutputFailed(e)));
                self.dropped(meta);
                return Sent::Failed(e);
            }
        };
        self.trace_event(|| TraceEvent::Route(RouteEvent::Output { dev }));
        meta.out_iface = Some(dev);
        if !self.conntrack_defrag(now, &mut pkt, &mut meta, User::ConntrackOut) {
            // NF_STOLEN: the sender's call succeeds.
            self.trace_event(|| TraceEvent::Held);
            return Sent::Ok;
        }
        let before = (pkt.src(), pkt.dst(), meta.mark);
        self.hook_errno = None;
        if self.run_hook(now, Hook::Output, &mut pkt, &mut meta, out) != Verdict::Accept {
            self.dropped(meta);
            return Sent::Failed(self.hook_errno.take().unwrap_or(SendError::Eperm));
        }
        // ip_route_me_harder after mangle/nat changed the addresses or mark.
        if before != (pkt.src(), pkt.dst(), meta.mark) {
            match self.route_output(pkt.dst(), &mut meta) {
                Ok(dev) => {
                    self.trace_event(|| TraceEvent::Route(RouteEvent::Rerouted { dev }));
                    meta.out_iface = Some(dev);
                }
                Err(e) => {
                    self.trace_event(|| TraceEvent::Route(RouteEvent::OutputFailed(e)));
                    self.dropped(meta);
                    return Sent::Failed(e);
                }
            }
        }
        self.post_routing(now, pkt, meta, out)
    }

    /// The output route to `dst`: its device, and its kind in `meta`.
    fn route_output(&self, dst: u32, meta: &mut PacketMeta) -> Result<IfIndex, SendError> {
        let r = self.topo.output_route(dst).map_err(SendError::no_route)?;
        meta.route = match r.kind {
            OutKind::Local => RouteKind::Local,
            OutKind::Broadcast => RouteKind::Broadcast,
            OutKind::Unicast => RouteKind::Unicast,
        };
        Ok(r.dev)
    }

    /// POSTROUTING, confirmation, then the wire (or loopback).
    fn post_routing(
        &mut self,
        now: Time,
        pkt: Vec<u8>,
        meta: PacketMeta,
        out: &mut Outputs,
    ) -> Sent {
        // ip_mc_output: a broadcast this host sends is delivered here too:
        // a clone goes through POSTROUTING first, then dev_loopback_xmit
        // hands it to the receive path with its route attached.
        let looped = match meta.out_iface {
            Some(dev) if meta.route == RouteKind::Broadcast && dev != LOOPBACK => {
                let mut copy = self.env.buffer();
                copy.extend_from_slice(&pkt);
                // __skb_clone: the clone has no socket.
                let mut cmeta = PacketMeta {
                    sock: Sock::None,
                    ..meta
                };
                self.begin_trace(Origin::BroadcastCopy, &copy);
                let v = self.run_hook(now, Hook::Postrouting, &mut copy, &mut cmeta, out);
                self.end_trace();
                if v == Verdict::Accept && self.confirm(now, &mut copy, &cmeta) {
                    Some((copy, cmeta, dev))
                } else {
                    self.env.recycle(copy);
                    None
                }
            }
            _ => None,
        };
        let sent = self.post_routing_finish(now, pkt, meta, out);
        if let Some((copy, cmeta, dev)) = looped {
            if self.loopback_budget > 0 {
                self.loopback_budget -= 1;
                // dev_loopback_xmit marks it PACKET_LOOPBACK: received on
                // `dev` yet sent by this host, which is what `in_iface`
                // with `local_origin` stands for (xt_pkttype reads it).
                let again = PacketMeta {
                    in_iface: Some(dev),
                    local_origin: true,
                    sock: Sock::None,
                    ..cmeta
                };
                let route = Some(InputRoute::Local { broadcast: true });
                self.begin_trace(Origin::LoopedBroadcast, &copy);
                self.answer(out, |e, out| e.receive_routed(now, copy, again, route, out));
                self.end_trace();
            }
        }
        sent
    }

    /// POSTROUTING for one packet, then the wire (fragmented to the MTU,
    /// `ip_finish_output`) or loopback.
    fn post_routing_finish(
        &mut self,
        now: Time,
        mut pkt: Vec<u8>,
        mut meta: PacketMeta,
        out: &mut Outputs,
    ) -> Sent {
        if self.run_hook(now, Hook::Postrouting, &mut pkt, &mut meta, out) != Verdict::Accept {
            self.dropped(meta);
            return Sent::Failed(SendError::Eperm);
        }
        if !self.confirm(now, &mut pkt, &meta) {
            self.note(
                out,
                Fate::Dropped(DropSite::Conntrack {
                    hook: Hook::Postrouting,
                }),
            );
            return Sent::Failed(SendError::Eperm);
        }
        let Some(dev) = meta.out_iface else {
            return Sent::Ok;
        };
        if dev == LOOPBACK {
            if self.loopback_budget == 0 {
                return Sent::Ok;
            }
            self.loopback_budget -= 1;
            // The conntrack reference and mark survive the loop, and so
            // does the route (loopback_xmit keeps skb_dst): a packet to
            // this host is delivered here without being routed again.
            let route = Some(InputRoute::Local {
                broadcast: meta.route == RouteKind::Broadcast,
            });
            // loopback_xmit: skb_orphan.
            let again = PacketMeta {
                in_iface: Some(LOOPBACK),
                local_origin: false,
                sock: Sock::None,
                ..meta
            };
            // loopback_xmit queues it (netif_rx): it is received after
            // the sender has let go of any lock, icmp_xmit_lock included.
            let held = std::mem::replace(&mut self.env.icmp_xmit_locked, false);
            self.trace_event(|| TraceEvent::Loopback);
            self.receive_routed(now, pkt, again, route, out);
            self.env.icmp_xmit_locked = held;
            return Sent::Ok;
        }
        let mtu = self.topo.interface(dev).mtu;
        // __ip_finish_output: fragmented when too long, and always when
        // reassembled here (frag_max_size).
        if pkt.len() > mtu || meta.reasm.is_some() {
            if fragment::df_forbids(&pkt, mtu, meta.reasm.as_ref()) {
                // ip_fragment: DF forbids it; fragmentation needed back to
                // the sender.
                self.send_icmp_error(now, &pkt, &meta, 3, 4, mtu as u32, out);
                self.dropped(meta);
                return Sent::Ok;
            }
            let reasm = meta.reasm.as_ref();
            let layout = reasm.and_then(|r| self.defrag.layout(r).map(|l| (r, l)));
            let first = out.packets.len();
            fragment::fragment(&mut self.env, &pkt, mtu, layout, dev, out);
            if let Some(t) = &mut self.trace {
                for (dev, f) in &out.packets[first..] {
                    record(t, || TraceEvent::Out {
                        dev: *dev,
                        packet: f.clone(),
                    });
                }
            }
            self.env.recycle(pkt);
            self.note(out, Fate::Sent);
            return Sent::Ok;
        }
        self.trace_event(|| TraceEvent::Out {
            dev,
            packet: pkt.clone(),
        });
        out.packets.push((dev, pkt));
        self.note(out, Fate::Sent);
        Sent::Ok
    }

    /// INPUT, confirmation, then the host's stack.
    fn local_deliver(
        &mut self,
        now: Time,
        mut pkt: Vec<u8>,
        mut meta: PacketMeta,
        out: &mut Outputs,
    ) {
        // ip_local_deliver: fragments are put together before INPUT.
        if pkt.is_fragment() {
            match self
                .defrag
                .gather(now, &pkt, meta.in_iface, User::LocalDeliver)
            {
                Gathered::Held => {
                    self.trace_event(|| TraceEvent::Held);
                    return self.env.recycle(pkt);
                }
                Gathered::Complete(whole, _) => {
                    let parts = std::mem::replace(&mut pkt, whole);
                    self.env.recycle(parts);
                }
            }
        }
        if self.run_hook(now, Hook::Input, &mut pkt, &mut meta, out) != Verdict::Accept {
            return self.dropped(meta);
        }
        if !self.confirm(now, &mut pkt, &meta) {
            self.note(
                out,
                Fate::Dropped(DropSite::Conntrack { hook: Hook::Input }),
            );
            return;
        }
        self.note(out, Fate::Delivered);
        self.trace_event(|| TraceEvent::Deliver);
        self.stack(now, pkt, meta, out);
    }

    /// `ip_local_deliver_finish` with no listening sockets.
    fn stack(&mut self, now: Time, pkt: Vec<u8>, meta: PacketMeta, out: &mut Outputs) {
        let s = Summary::read(&pkt);
        if s.is_fragment() {
            // Reassembly for local delivery comes with defragmentation.
            return;
        }
        let broadcast = meta.route == RouteKind::Broadcast;
        match s.protocol {
            PROTO_ICMP => {
                if !transport::l4_checksum_ok(&pkt) {
                    return;
                }
                let L4::Icmp { ty, .. } = s.l4 else { return };
                // icmp_echo; echoes to broadcasts are ignored
                // (icmp_echo_ignore_broadcasts=1).
                if ty == 8 && !broadcast {
                    if let Some(reply) =
                        reply::echo_reply(now, &self.topo, &mut self.env, &pkt, &meta, s.dst)
                    {
                        self.send_icmp(now, reply, PacketMeta::default(), out);
                    }
                }
            }
            PROTO_TCP => {
                if broadcast || !transport::l4_checksum_ok(&pkt) {
                    return;
                }
                if let L4::Tcp(h) = s.l4 {
                    if usize::from(h.header_len) < 20 || usize::from(h.header_len) > s.l4_len() {
                        return;
                    }
                }
                if let Some(rst) = reply::stack_reset(now, &self.topo, &mut self.env, &pkt, &meta) {
                    self.send_local(now, rst, PacketMeta::default(), out);
                }
            }
            PROTO_UDP => {
                let l4 = &pkt[s.header_len..];
                if l4.len() < 8 {
                    return;
                }
                let ulen = usize::from(u16::from_be_bytes([l4[4], l4[5]]));
                if ulen > l4.len() || ulen < 8 {
                    return;
                }
                // __udp4_lib_rcv: pskb_trim_rcsum to the UDP length; the
                // checksum and the error's quote end there (the IP header
                // keeps its total length).
                let mut pkt = pkt;
                pkt.truncate(s.header_len + ulen);
                if !transport::l4_checksum_ok(&pkt) || broadcast {
                    return;
                }
                // __udp4_lib_rcv: nf_reset_ct before the port unreachable,
                // which so carries no connection (OUTPUT looks it up).
                let meta = PacketMeta {
                    ct: CtRef::None,
                    ..meta
                };
                self.send_icmp_error(now, &pkt, &meta, 3, 3, 0, out);
            }
            ipv4::PROTO_UDPLITE => {
                // __udp4_lib_rcv for UDP-Lite: no trimming (the length
                // field is the coverage); udplite_checksum_init and the
                // checksum complete before the port unreachable, all
                // failures silent.
                if !transport::udplite_checksum_ok(&pkt) || broadcast {
                    return;
                }
                let meta = PacketMeta {
                    ct: CtRef::None,
                    ..meta
                };
                self.send_icmp_error(now, &pkt, &meta, 3, 3, 0, out);
            }
            PROTO_IGMP => {}
            p if silently_handled(p) => {}
            _ => self.send_icmp_error(now, &pkt, &meta, 3, 2, 0, out),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send_icmp_error(
        &mut self,
        now: Time,
        pkt: &[u8],
        meta: &PacketMeta,
        ty: u8,
        code: u8,
        info: u32,
        out: &mut Outputs,
    ) {
        if let Some(e) =
            reply::icmp_error(now, &self.topo, &mut self.env, pkt, meta, ty, code, info)
        {
            // icmp_glue_bits: nf_ct_attach for error types.
            let answer = PacketMeta {
                ct: meta.ct.attached_to_answer(),
                ..PacketMeta::default()
            };
            self.send_icmp(now, e, answer, out);
        }
    }

    /// Sends an ICMP message of the kernel's own (`icmp_reply`,
    /// `__icmp_send`): `icmp_push_reply` runs the output hooks with
    /// `icmp_xmit_lock` held.
    fn send_icmp(&mut self, now: Time, pkt: Vec<u8>, meta: PacketMeta, out: &mut Outputs) -> Sent {
        // The ICMP socket owns what it sends (ip_append_data).
        let meta = PacketMeta {
            sock: Sock::Kernel,
            ..meta
        };
        let held = std::mem::replace(&mut self.env.icmp_xmit_locked, true);
        self.begin_trace(Origin::Answer, &pkt);
        let sent = self.answer(out, |e, out| e.local_out(now, pkt, meta, out));
        self.end_trace();
        self.env.icmp_xmit_locked = held;
        sent
    }

    /// Sends the stack's own TCP reset through the TCP control socket
    /// (`ip_send_unicast_reply`).
    fn send_local(&mut self, now: Time, pkt: Vec<u8>, meta: PacketMeta, out: &mut Outputs) {
        let meta = PacketMeta {
            sock: Sock::Kernel,
            ..meta
        };
        self.begin_trace(Origin::Answer, &pkt);
        let _ = self.answer(out, |e, out| e.local_out(now, pkt, meta, out));
        self.end_trace();
    }

    /// Sends an answer of the host's own: what it puts out counts as
    /// generated, and what becomes of it is not the input's fate.
    fn answer<T>(
        &mut self,
        out: &mut Outputs,
        send: impl FnOnce(&mut Engine, &mut Outputs) -> T,
    ) -> T {
        let before = out.packets.len();
        self.answering += 1;
        let r = send(self, out);
        self.answering -= 1;
        if self.answering == 0 {
            out.generated += out.packets.len().saturating_sub(before);
        }
        r
    }

    /// Records what became of the input (answers' fates are not noted).
    fn note(&self, out: &mut Outputs, fate: Fate) {
        if self.answering == 0 {
            out.fate = fate;
        }
    }

    /// A packet is gone: a connection it alone was creating goes too.
    fn dropped(&mut self, meta: PacketMeta) {
        if let CtRef::Conn(id, info) = meta.ct {
            if matches!(info, CtInfo::New | CtInfo::Related) {
                self.ct.discard_if_unconfirmed(id);
            }
        }
    }

    /// `nf_confirm` at the end of INPUT and POSTROUTING: the connection's
    /// helper and sequence adjustment (`nf_ct_call_helper`), then
    /// confirmation. `false`: the packet is dropped.
    fn confirm(&mut self, now: Time, pkt: &mut Vec<u8>, meta: &PacketMeta) -> bool {
        let CtRef::Conn(id, info) = meta.ct else {
            return true;
        };
        let loopback = meta.out_iface == Some(LOOPBACK) || meta.in_iface == Some(LOOPBACK);
        if !helpers::call(
            &mut self.ct,
            &mut self.env.rng,
            now,
            id,
            info,
            pkt,
            loopback,
        ) {
            self.dropped(*meta);
            return false;
        }
        // The connection's own first packet confirms it; RELATED_REPLY
        // answers (REJECT's resets) never do.
        if info.dir() != crate::conntrack::Dir::Original {
            return true;
        }
        self.ct.confirm(now, id)
    }

    /// Runs every table registered at `hook`, in priority order, with
    /// conntrack and NAT where Linux puts them.
    fn run_hook(
        &mut self,
        now: Time,
        hook: Hook,
        pkt: &mut Vec<u8>,
        meta: &mut PacketMeta,
        out: &mut Outputs,
    ) -> Verdict {
        self.trace_event(|| TraceEvent::Hook {
            hook,
            in_iface: meta.in_iface,
            out_iface: meta.out_iface,
            packet: pkt.clone(),
        });
        let program = Arc::clone(&self.program);
        for &step in steps_at(hook) {
            let table = match step {
                HookStep::Table(t) => t,
                HookStep::Conntrack => {
                    // nf_conntrack_in: a template (-j CT) is taken off the
                    // packet and used for the connection it starts.
                    let template = match meta.ct {
                        CtRef::None => Some(None),
                        CtRef::Template(helper) => Some(helper),
                        _ => None,
                    };
                    if let (true, Some(helper)) = (self.conntrack_on(), template) {
                        let s = Summary::read(pkt);
                        let l4 = &pkt[s.header_len..];
                        let at_pre = hook == Hook::Prerouting;
                        let checksum_ok = || transport::l4_checksum_ok(pkt);
                        match self.ct.track_with(now, &s, l4, at_pre, helper, checksum_ok) {
                            TrackResult::Tracked(r) => meta.ct = r,
                            TrackResult::Drop => {
                                self.trace_event(|| TraceEvent::Conntrack(CtSeen::TableFull));
                                self.note(out, Fate::Dropped(DropSite::Conntrack { hook }));
                                return Verdict::Drop;
                            }
                        }
                        if self.trace.is_some() {
                            self.note_ct(meta.ct);
                        }
                        // init_conntrack: the expectation's expectfn.
                        if let CtRef::Conn(id, CtInfo::Related) = meta.ct {
                            helpers::follow_master(&mut self.ct, &mut self.env.rng, now, id);
                        }
                    } else if self.conntrack_on() && meta.ct == CtRef::Untracked {
                        self.trace_event(|| TraceEvent::Conntrack(CtSeen::Untracked));
                    }
                    continue;
                }
            };
            let Some(tp) = program.table(table) else {
                continue;
            };
            let verdict = if table == TableId::Nat {
                self.nat_hook(now, hook, tp, pkt, meta, out)
            } else {
                self.run_table(now, hook, tp, pkt, meta, out)
            };
            if verdict != Verdict::Accept {
                return verdict;
            }
        }
        Verdict::Accept
    }

    fn run_table(
        &mut self,
        now: Time,
        hook: Hook,
        table: &crate::program::TableProg,
        pkt: &mut Vec<u8>,
        meta: &mut PacketMeta,
        out: &mut Outputs,
    ) -> Verdict {
        let summary = Summary::read(pkt);
        let mut cx = HookCtx {
            now,
            hook,
            table: table.id,
            pkt,
            summary,
            meta,
            topo: &self.topo,
            ct: &mut self.ct,
            env: &mut self.env,
            hotdrop: false,
        };
        let decided = match &mut self.trace {
            None => eval::run_table(table, hook, &mut cx, &mut ()),
            Some(events) => traced_walk(table, hook, &mut cx, events),
        };
        let verdict = decided.map_or(Verdict::Accept, |d| d.verdict);
        if let Some(d) = decided.filter(|d| d.verdict == Verdict::Drop) {
            let site = DropSite::Chain {
                hook,
                table: table.id,
                chain: d.chain,
                rule: d.rule,
            };
            self.note(out, Fate::Dropped(site));
        }
        out.log.append(&mut self.env.log);
        self.flush_generated(now, out);
        verdict
    }

    /// What conntrack made of a packet, for the trace.
    #[cold]
    #[inline(never)]
    fn note_ct(&mut self, ct: CtRef) {
        let seen = match ct {
            CtRef::Untracked => CtSeen::Untracked,
            CtRef::Conn(id, info) => match self.ct.get(id) {
                Some(c) => CtSeen::Conn {
                    info,
                    original: c.tuples[0],
                },
                None => CtSeen::Invalid,
            },
            _ => CtSeen::Invalid,
        };
        self.trace_event(|| TraceEvent::Conntrack(seen));
    }

    /// Sends what targets generated (REJECT's answers), as the kernel
    /// does from inside the hook.
    fn flush_generated(&mut self, now: Time, out: &mut Outputs) {
        while !self.env.generated.is_empty() {
            let batch: Vec<Generated> = std::mem::take(&mut self.env.generated);
            for g in batch {
                let _ = match g.kind {
                    GeneratedKind::Datagram => {
                        self.begin_trace(Origin::Answer, &g.data);
                        let sent = self.answer(out, |e, out| e.local_out(now, g.data, g.meta, out));
                        self.end_trace();
                        sent
                    }
                    GeneratedKind::Icmp => self.send_icmp(now, g.data, g.meta, out),
                };
            }
        }
    }

    /// The nat table's hook function: `nf_nat_ipv4_fn`, and at OUTPUT
    /// `nf_nat_ipv4_local_fn`, which routes a packet whose destination
    /// the binding changes again at once (ip_route_me_harder): a failure
    /// drops it with the route's error (NF_DROP_ERR) before the tables
    /// after nat. The device those tables see as the output device stays
    /// the hook's (`state->out`); the new route applies after OUTPUT.
    fn nat_hook(
        &mut self,
        now: Time,
        hook: Hook,
        table: &crate::program::TableProg,
        pkt: &mut Vec<u8>,
        meta: &mut PacketMeta,
        out: &mut Outputs,
    ) -> Verdict {
        let v = self.nat_fn(now, hook, table, pkt, meta, out);
        if hook != Hook::Output || v != Verdict::Accept {
            return v;
        }
        let CtRef::Conn(id, info) = meta.ct else {
            return v;
        };
        let d = info.dir();
        let rerouted = self
            .ct
            .get(id)
            .is_some_and(|c| c.tuples[d.index()].dst != c.tuples[d.other().index()].src);
        if rerouted {
            let err = match self.topo.route(pkt.dst()) {
                // __mkroute_output (route_localnet off).
                RouteDecision::Forward { dev, .. }
                    if topology::is_loopback(pkt.src()) && dev != LOOPBACK =>
                {
                    Some(SendError::Einval)
                }
                RouteDecision::Unreachable(e) => Some(SendError::no_route(e)),
                _ => None,
            };
            if let Some(e) = err {
                self.hook_errno = Some(e);
                self.note(out, Fate::Dropped(DropSite::Nat { hook }));
                return Verdict::Drop;
            }
        }
        v
    }

    /// `nf_nat_ipv4_fn` / `nf_nat_inet_fn`: the nat table runs for a
    /// connection's first packet only; every packet of a NATed connection
    /// is rewritten from its binding.
    fn nat_fn(
        &mut self,
        now: Time,
        hook: Hook,
        table: &crate::program::TableProg,
        pkt: &mut Vec<u8>,
        meta: &mut PacketMeta,
        out: &mut Outputs,
    ) -> Verdict {
        let CtRef::Conn(id, info) = meta.ct else {
            return Verdict::Accept;
        };
        let m = nat::manip_for_hook(hook);
        let is_icmp = pkt.protocol() == PROTO_ICMP;
        if matches!(info, CtInfo::Related | CtInfo::RelatedReply) && is_icmp {
            let ok = if self.trace.is_some() {
                self.nat_traced(hook, pkt, |ct, pkt| {
                    nat::icmp_reply_translation(ct, id, info, m, pkt)
                })
            } else {
                nat::icmp_reply_translation(&self.ct, id, info, m, pkt)
            };
            return if ok {
                Verdict::Accept
            } else {
                self.note(out, Fate::Dropped(DropSite::Nat { hook }));
                Verdict::Drop
            };
        }
        if matches!(info, CtInfo::New | CtInfo::Related | CtInfo::RelatedReply)
            && !nat::initialized(&self.ct, id, m)
        {
            let v = self.run_table(now, hook, table, pkt, meta, out);
            if v != Verdict::Accept {
                return v;
            }
            if !nat::initialized(&self.ct, id, m) {
                nat::null_binding(&mut self.ct, now, &mut self.env.rng, id, m);
            }
        }
        let ok = if self.trace.is_some() {
            self.nat_traced(hook, pkt, |ct, pkt| nat::apply(ct, id, info.dir(), m, pkt))
        } else {
            nat::apply(&self.ct, id, info.dir(), m, pkt)
        };
        if !ok {
            self.note(out, Fate::Dropped(DropSite::Nat { hook }));
            return Verdict::Drop;
        }
        // The transport header NAT wrote had to be in the head of a
        // reassembled datagram (skb_ensure_writable).
        if let Some(r) = meta.reasm {
            if nat::rewrites(&self.ct, id, info.dir(), m) {
                self.defrag.nat_wrote(&r, pkt);
            }
        }
        Verdict::Accept
    }

    /// A NAT rewrite while tracing: done by `rewrite`, and noted when it
    /// changed the addresses or ports.
    #[cold]
    #[inline(never)]
    fn nat_traced(
        &mut self,
        hook: Hook,
        pkt: &mut [u8],
        rewrite: impl FnOnce(&Conntrack, &mut [u8]) -> bool,
    ) -> bool {
        let before = Endpoints::of(pkt);
        let ok = rewrite(&self.ct, pkt);
        let after = Endpoints::of(pkt);
        if after != before {
            self.trace_event(|| TraceEvent::Nat {
                hook,
                before,
                after,
            });
        }
        ok
    }
}

/// Pushes a trace event (kept out of line: tracing is the rare case).
#[cold]
#[inline(never)]
fn record(events: &mut Vec<TraceEvent>, event: impl FnOnce() -> TraceEvent) {
    events.push(event());
}

/// A table's walk while tracing: its `Table` event, then the walk.
#[cold]
#[inline(never)]
fn traced_walk(
    table: &crate::program::TableProg,
    hook: Hook,
    cx: &mut HookCtx<'_>,
    events: &mut Vec<TraceEvent>,
) -> Option<eval::Decided> {
    if table.entry[hook as usize].is_some() {
        events.push(TraceEvent::Table {
            table: table.id,
            hook,
            packet: Vec::new(),
        });
    }
    eval::run_table(table, hook, cx, events)
}

/// What `ip_options_compile` left in `IPCB(skb)->opt` that the forward
/// path needs (replies re-read the compiled bytes: `reply::echo_options`).
#[derive(Debug, Clone, Copy, Default)]
struct RxOptions {
    /// Offset of the record-route option from the header's start (0: none).
    rr: usize,
    /// Record route had room: forwarding writes the way out in.
    rr_needaddr: bool,
    /// A source route option.
    srr: bool,
}

/// Where `ip_options_compile` found a bad option.
#[derive(Debug, Clone, Copy)]
struct BadOption {
    /// `pp_ptr - iph`, the parameter problem's pointer.
    pointer: u8,
    /// The offset of the option it is in (options before it were
    /// compiled and are echoed in the error).
    option: usize,
}

/// `__ip_options_compile` on a received datagram: checks every option,
/// fills record route and timestamp slots (`spec_dst`, and a time of day
/// taken from `now`), counts timestamp overflows, turns whatever follows
/// an end-of-list into end-of-list bytes.
fn compile_options(
    pkt: &mut [u8],
    spec_dst: u32,
    topo: &Topology,
    now: Time,
) -> Result<RxOptions, BadOption> {
    let hl = pkt.header_len().min(pkt.len());
    let mut o = RxOptions::default();
    let mut ts_seen = false;
    let mut i = 20;
    // inet_current_timestamp: milliseconds since midnight (of the engine's
    // clock, which has no date).
    let midtime = ((now.0 / 1_000_000) % 86_400_000) as u32;
    while i < hl {
        let l = hl - i;
        let bad = |p: usize| BadOption {
            pointer: p as u8,
            option: i,
        };
        match pkt[i] {
            0 => {
                pkt[i + 1..hl].fill(0);
                break;
            }
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        if l < 2 {
            return Err(bad(i));
        }
        let optlen = usize::from(pkt[i + 1]);
        if optlen < 2 || optlen > l {
            return Err(bad(i));
        }
        let ptr = |pkt: &[u8]| usize::from(pkt[i + 2]);
        match pkt[i] {
            // LSRR, SSRR.
            131 | 137 => {
                if optlen < 3 {
                    return Err(bad(i + 1));
                }
                if ptr(pkt) < 4 {
                    return Err(bad(i + 2));
                }
                if o.srr {
                    return Err(bad(i));
                }
                o.srr = true;
            }
            // Record route.
            7 => {
                if o.rr != 0 {
                    return Err(bad(i));
                }
                if optlen < 3 {
                    return Err(bad(i + 1));
                }
                let p = ptr(pkt);
                if p < 4 {
                    return Err(bad(i + 2));
                }
                if p <= optlen {
                    if p + 3 > optlen {
                        return Err(bad(i + 2));
                    }
                    pkt[i + p - 1..i + p + 3].copy_from_slice(&spec_dst.to_be_bytes());
                    pkt[i + 2] = (p + 4) as u8;
                    o.rr_needaddr = true;
                }
                o.rr = i;
            }
            // Timestamp.
            68 => {
                if ts_seen {
                    return Err(bad(i));
                }
                if optlen < 4 {
                    return Err(bad(i + 1));
                }
                let p = ptr(pkt);
                if p < 5 {
                    return Err(bad(i + 2));
                }
                if p <= optlen {
                    if p + 3 > optlen {
                        return Err(bad(i + 2));
                    }
                    let mut time_at = None;
                    match pkt[i + 3] & 0x0f {
                        0 => {
                            time_at = Some(i + p - 1);
                            pkt[i + 2] = (p + 4) as u8;
                        }
                        1 | 3 => {
                            if p + 7 > optlen {
                                return Err(bad(i + 2));
                            }
                            let at = i + p - 1;
                            let prespec = pkt[i + 3] & 0x0f == 3;
                            let addr = u32::from_be_bytes([
                                pkt[at],
                                pkt[at + 1],
                                pkt[at + 2],
                                pkt[at + 3],
                            ]);
                            // A prespecified address that is not ours
                            // is skipped (inet_addr_type is unicast).
                            if !prespec || topo.addr_type(addr, None) != topology::AddrType::Unicast
                            {
                                if !prespec {
                                    pkt[at..at + 4].copy_from_slice(&spec_dst.to_be_bytes());
                                }
                                time_at = Some(at + 4);
                                pkt[i + 2] = (p + 8) as u8;
                            }
                        }
                        _ => {}
                    }
                    if let Some(t) = time_at {
                        pkt[t..t + 4].copy_from_slice(&midtime.to_be_bytes());
                    }
                } else {
                    let overflow = pkt[i + 3] >> 4;
                    if overflow == 15 {
                        return Err(bad(i + 3));
                    }
                    pkt[i + 3] = (pkt[i + 3] & 0x0f) | ((overflow + 1) << 4);
                }
                ts_seen = true;
            }
            // Router alert.
            148 if optlen < 4 => return Err(bad(i + 1)),
            // CIPSO: cipso_v4_validate finds no DOI configured (so a
            // second one is never reached).
            134 => return Err(bad(if optlen < 8 { i + 1 } else { i + 2 })),
            _ => {}
        }
        i += optlen;
    }
    Ok(o)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputRoute {
    Martian,
    Local { broadcast: bool },
    Forward { dev: IfIndex },
    Unreachable(NoRoute),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Rng;
    use palisade_rules::restore::{restore, RestoreOptions};

    const RULES: &str = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n\
        :FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
        -A PREROUTING -p udp -m udp --dport 3 -j TTL --ttl-dec 1\n\
        COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A INPUT -p tcp -m tcp --dport 1 -j REJECT --reject-with tcp-reset\n\
        -A INPUT -p udp -m udp --dport 1 -j REJECT\n\
        -A FORWARD -p tcp -m tcp --tcp-flags SYN SYN -j REJECT --reject-with tcp-reset\n\
        -A FORWARD -p 253 -j REJECT --reject-with icmp-proto-unreachable\n\
        -A FORWARD -p icmp -j REJECT\n\
        -A OUTPUT -p udp -m udp --dport 2 -j REJECT\nCOMMIT\n";

    fn load_raw(rules: &str) -> Result<Engine, CompileError> {
        let mut topo = Topology::new();
        topo.add_interface("eth0", Some("198.51.100.1/24")).unwrap();
        let mut rs = Ruleset::default();
        let text = format!("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{rules}COMMIT\n");
        restore(&mut rs, &text, RestoreOptions::default()).unwrap();
        let mut e = Engine::new(topo, 1);
        e.load(&rs)?;
        Ok(e)
    }

    /// xt_ct_tg_check: a template (helper or not) turns conntrack on,
    /// --notrack does not and wins over any other option; helpers Linux
    /// has and palisade lacks are refused, not ignored.
    #[test]
    fn ct_target_templates() {
        let e = load_raw("-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp\n").unwrap();
        assert!(e.conntrack_on());
        assert!(load_raw("-A PREROUTING -p udp -j CT --helper tftp\n")
            .unwrap()
            .conntrack_on());
        assert!(load_raw("-A PREROUTING -j CT\n").unwrap().conntrack_on());
        let e = load_raw("-A PREROUTING -p tcp -j CT --notrack --helper nosuch\n").unwrap();
        assert!(!e.conntrack_on());
        let err = load_raw("-A PREROUTING -p tcp -j CT --helper sip\n").unwrap_err();
        assert!(err.0.contains("does not implement target"), "{err}");
    }

    /// Random headers, options and payloads through every path (local
    /// delivery, forwarding, fragmenting, REJECT, local sends): no panic.
    #[test]
    fn arbitrary_datagrams_do_not_panic() {
        let mut topo = Topology::new();
        topo.add_interface("eth0", Some("198.51.100.1/24")).unwrap();
        topo.add_interface("eth1", Some("172.17.0.1/16")).unwrap();
        topo.add_route("unreachable 10.1.0.0/16").unwrap();
        let mut rs = Ruleset::default();
        restore(&mut rs, RULES, RestoreOptions::default()).unwrap();
        let mut e = Engine::new(topo, 1);
        e.load(&rs).unwrap();
        let addrs: [u32; 8] = [
            0xc633_6401,
            0xc633_6402,
            0xc633_64ff,
            0xac11_0002,
            0xac11_ffff,
            0x0a01_0203,
            0x7f00_0001,
            0xe000_0001,
        ];
        let mut rng = Rng::new(7);
        let mut out = Outputs::default();
        for n in 0..20_000u64 {
            let r = rng.next_u64();
            let hl = 20 + 4 * (r % 11) as usize;
            let len = hl + ((r >> 8) % 1700) as usize;
            let mut p: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
            p[0] = 0x40 | (hl / 4) as u8;
            p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            if r & (1 << 20) != 0 {
                p[6] &= 0x40;
                p[7] = 0;
            }
            p[9] = [1, 6, 17, 253, 2, 47][((r >> 24) % 6) as usize];
            let src = addrs[((r >> 32) % 8) as usize];
            let dst = addrs[((r >> 40) % 8) as usize];
            p[12..16].copy_from_slice(&src.to_be_bytes());
            p[16..20].copy_from_slice(&dst.to_be_bytes());
            if r & (1 << 21) != 0 && hl >= 28 {
                // Valid-looking options: a record route and a timestamp.
                p[20..24].copy_from_slice(&[7, 7, 4 + 4 * ((r >> 48) % 3) as u8, 0]);
            }
            p.fill_checksum();
            let ingress = match (r >> 56) % 3 {
                0 => Ingress::Local,
                i => Ingress::Interface(i as IfIndex),
            };
            e.process(
                Time(3_600_000_000_000 + n * 10_000_000),
                ingress,
                p,
                &mut out,
            );
            out.clear();
        }
    }
}
