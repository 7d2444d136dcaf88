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
use crate::env::{Env, Generated, GeneratedKind};
use crate::eval;
use crate::ext::{HookCtx, Verdict};
use crate::meta::{PacketMeta, RouteKind};
use crate::nat;
use crate::program::{tables_at, CompileError, Program};
use crate::reply;
use crate::slot::RulesetSlot;
use crate::time::Time;
use crate::topology::{self, IfIndex, RouteDecision, Topology, LOOPBACK};
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
}

impl Outputs {
    pub fn clear(&mut self) {
        self.packets.clear();
        self.send_error = None;
    }
}

/// Why a locally sent datagram was refused (the errno its sender sees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// Dropped by netfilter in OUTPUT or POSTROUTING (NF_DROP → -EPERM).
    Eperm,
    /// No route to the destination.
    Enetunreach,
}

impl SendError {
    pub fn name(self) -> &'static str {
        match self {
            SendError::Eperm => "EPERM",
            SendError::Enetunreach => "ENETUNREACH",
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

/// Protocols this host's stack handles besides ICMP, TCP, UDP and IGMP,
/// silently (PIM is registered by ipmr; UDP-Lite drops what it cannot
/// parse). Others get protocol-unreachable.
fn silently_handled(proto: u8) -> bool {
    matches!(proto, 103 | 136)
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
    env: Env,
    loopback_budget: usize,
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
            env: Env::new(seed),
            loopback_budget: 0,
        }
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

    /// The ruleset with its counters now.
    pub fn ruleset(&self) -> Ruleset {
        self.program.ruleset_with_counters()
    }

    /// `conntrack -L -o extended` as of `now`.
    pub fn conntrack_listing(&self, now: Time) -> String {
        self.ct.list_extended(now)
    }

    fn conntrack_on(&self) -> bool {
        self.program.needs_conntrack
    }

    /// Processes one datagram. `pkt` may be rewritten in place; whatever
    /// leaves the host is appended to `out`.
    pub fn process(&mut self, now: Time, ingress: Ingress, pkt: Vec<u8>, out: &mut Outputs) {
        self.refresh_program();
        self.ct.reap_dying();
        self.loopback_budget = MAX_LOOPBACK_PASSES;
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

    /// A raw IP_HDRINCL send (`raw_send_hdrinc`).
    fn raw_send(&mut self, now: Time, mut pkt: Vec<u8>, out: &mut Outputs) {
        if pkt.len() < 20 || pkt[0] >> 4 != 4 || usize::from(pkt[0] & 0x0f) * 4 > pkt.len() {
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
            if let RouteDecision::Forward { dev, next_hop } = self.topo.route(pkt.dst()) {
                if let Some(src) = self.topo.select_source(dev, next_hop) {
                    pkt[12..16].copy_from_slice(&src.to_be_bytes());
                }
            }
        }
        pkt.fill_checksum();
        let meta = PacketMeta {
            local_origin: true,
            ..PacketMeta::default()
        };
        if let Sent::Failed(e) = self.local_out(now, pkt, meta, out) {
            out.send_error = Some(e);
        }
    }

    /// `ip_rcv` onwards.
    fn receive(&mut self, now: Time, mut pkt: Vec<u8>, mut meta: PacketMeta, out: &mut Outputs) {
        let Ok(total) = ipv4::validate(&pkt) else {
            return;
        };
        pkt.truncate(total);
        meta.out_iface = None;
        meta.route = RouteKind::None;
        if self.run_hook(now, Hook::Prerouting, &mut pkt, &mut meta, out) != Verdict::Accept {
            return self.dropped(meta);
        }
        let in_dev = meta.in_iface.unwrap_or(LOOPBACK);
        match self.route_input(&pkt, in_dev) {
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
                self.forward(now, pkt, meta, dev, out);
            }
            InputRoute::Unreachable => {
                // ip_error: net unreachable, limited per source.
                meta.route = RouteKind::Unicast;
                if self.env.peers.error_allowed(pkt.src(), now) {
                    self.send_icmp_error(now, &pkt, &meta, 3, 0, 0, out);
                }
                self.dropped(meta);
            }
        }
    }

    /// `ip_route_input_slow`'s classification, with its martian checks.
    fn route_input(&self, pkt: &[u8], in_dev: IfIndex) -> InputRoute {
        let (src, dst) = (pkt.src(), pkt.dst());
        let from_lo = in_dev == LOOPBACK;
        if topology::is_multicast(src) || src == topology::LIMITED_BROADCAST {
            return InputRoute::Martian;
        }
        if dst == topology::LIMITED_BROADCAST || (src == 0 && dst == 0) {
            return InputRoute::Local { broadcast: true };
        }
        if topology::is_zeronet(src) || topology::is_zeronet(dst) {
            return InputRoute::Martian;
        }
        if !from_lo && (topology::is_loopback(dst) || topology::is_loopback(src)) {
            return InputRoute::Martian;
        }
        if topology::is_multicast(dst) {
            // Only the all-hosts group is joined; no multicast routing.
            return if dst == 0xe000_0001 {
                InputRoute::Local { broadcast: true }
            } else {
                InputRoute::Martian
            };
        }
        // fib_validate_source: a packet claiming to come from one of our
        // own addresses is a martian (accept_local=0), except on lo.
        if !from_lo && self.topo.is_local(src) {
            return InputRoute::Martian;
        }
        match self.topo.route(dst) {
            RouteDecision::Local { broadcast } => InputRoute::Local { broadcast },
            RouteDecision::Forward { dev, .. } => InputRoute::Forward { dev },
            RouteDecision::Unreachable => InputRoute::Unreachable,
        }
    }

    /// `ip_forward`: TTL and MTU checks before the FORWARD hook.
    fn forward(
        &mut self,
        now: Time,
        mut pkt: Vec<u8>,
        mut meta: PacketMeta,
        dev: IfIndex,
        out: &mut Outputs,
    ) {
        if pkt.ttl() <= 1 {
            self.send_icmp_error(now, &pkt, &meta, 11, 0, 0, out);
            return self.dropped(meta);
        }
        let mtu = self.topo.interface(dev).mtu;
        if pkt.len() > mtu && pkt.dont_fragment() {
            self.send_icmp_error(now, &pkt, &meta, 3, 4, mtu as u32, out);
            return self.dropped(meta);
        }
        let ttl = pkt.ttl() - 1;
        pkt.set_ttl(ttl);
        meta.out_iface = Some(dev);
        if self.run_hook(now, Hook::Forward, &mut pkt, &mut meta, out) != Verdict::Accept {
            return self.dropped(meta);
        }
        let _ = self.post_routing(now, pkt, meta, out);
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
        let Some(dev) = self.route_output(pkt.dst(), &mut meta) else {
            self.dropped(meta);
            return Sent::Failed(SendError::Enetunreach);
        };
        meta.out_iface = Some(dev);
        let before = (pkt.src(), pkt.dst(), meta.mark);
        if self.run_hook(now, Hook::Output, &mut pkt, &mut meta, out) != Verdict::Accept {
            self.dropped(meta);
            return Sent::Failed(SendError::Eperm);
        }
        // ip_route_me_harder after mangle/nat changed the addresses or mark.
        if before != (pkt.src(), pkt.dst(), meta.mark) {
            match self.route_output(pkt.dst(), &mut meta) {
                Some(d) => meta.out_iface = Some(d),
                None => {
                    self.dropped(meta);
                    return Sent::Failed(SendError::Enetunreach);
                }
            }
        }
        self.post_routing(now, pkt, meta, out)
    }

    fn route_output(&self, dst: u32, meta: &mut PacketMeta) -> Option<IfIndex> {
        match self.topo.route(dst) {
            RouteDecision::Local { broadcast } => {
                meta.route = if broadcast {
                    RouteKind::Broadcast
                } else {
                    RouteKind::Local
                };
                Some(LOOPBACK)
            }
            RouteDecision::Forward { dev, .. } => {
                meta.route = RouteKind::Unicast;
                Some(dev)
            }
            RouteDecision::Unreachable => None,
        }
    }

    /// POSTROUTING, confirmation, then the wire (or loopback).
    fn post_routing(
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
        if !self.confirm(now, &meta) {
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
            // The conntrack reference and mark survive the loop.
            let again = PacketMeta {
                in_iface: Some(LOOPBACK),
                local_origin: false,
                ..meta
            };
            // loopback_xmit queues it (netif_rx): it is received after
            // the sender has let go of any lock, icmp_xmit_lock included.
            let held = std::mem::replace(&mut self.env.icmp_xmit_locked, false);
            self.receive(now, pkt, again, out);
            self.env.icmp_xmit_locked = held;
            return Sent::Ok;
        }
        out.packets.push((dev, pkt));
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
        if self.run_hook(now, Hook::Input, &mut pkt, &mut meta, out) != Verdict::Accept {
            return self.dropped(meta);
        }
        if !self.confirm(now, &meta) {
            return;
        }
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
                    let reply = reply::echo_reply(&mut self.env, &pkt, s.dst);
                    self.send_icmp(now, reply, PacketMeta::default(), out);
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
                if let Some(rst) = reply::stack_reset(&mut self.env, &pkt) {
                    self.send_local(now, rst, PacketMeta::default(), out);
                }
            }
            PROTO_UDP => {
                let l4 = &pkt[s.header_len..];
                if l4.len() < 8 {
                    return;
                }
                let ulen = usize::from(u16::from_be_bytes([l4[4], l4[5]]));
                if ulen > l4.len() || ulen < 8 || !transport::l4_checksum_ok(&pkt) || broadcast {
                    return;
                }
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
            // icmp_glue_bits: the error carries the offending packet's
            // connection (nf_ct_attach).
            let m = PacketMeta {
                ct: reply::ct_attach(meta.ct),
                ..PacketMeta::default()
            };
            self.send_icmp(now, e, m, out);
        }
    }

    /// Sends an ICMP message of the kernel's own (`icmp_reply`,
    /// `__icmp_send`): `icmp_push_reply` runs the output hooks with
    /// `icmp_xmit_lock` held.
    fn send_icmp(&mut self, now: Time, pkt: Vec<u8>, meta: PacketMeta, out: &mut Outputs) -> Sent {
        let held = std::mem::replace(&mut self.env.icmp_xmit_locked, true);
        let sent = self.local_out(now, pkt, meta, out);
        self.env.icmp_xmit_locked = held;
        sent
    }

    fn send_local(&mut self, now: Time, pkt: Vec<u8>, meta: PacketMeta, out: &mut Outputs) {
        let _ = self.local_out(now, pkt, meta, out);
    }

    /// A packet is gone: a connection it alone was creating goes too.
    fn dropped(&mut self, meta: PacketMeta) {
        if let CtRef::Conn(id, info) = meta.ct {
            if matches!(info, CtInfo::New | CtInfo::Related) {
                self.ct.discard_if_unconfirmed(id);
            }
        }
    }

    /// `nf_confirm` at the end of INPUT and POSTROUTING.
    fn confirm(&mut self, now: Time, meta: &PacketMeta) -> bool {
        let CtRef::Conn(id, info) = meta.ct else {
            return true;
        };
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
        let program = Arc::clone(&self.program);
        for &table in tables_at(hook) {
            if table == TableId::Mangle && matches!(hook, Hook::Prerouting | Hook::Output) {
                // nf_conntrack_in sits between raw (-300) and mangle (-150).
                if self.conntrack_on() && meta.ct == CtRef::None {
                    let s = Summary::read(pkt);
                    let l4 = &pkt[s.header_len..];
                    let at_pre = hook == Hook::Prerouting;
                    match self
                        .ct
                        .track(now, &s, l4, at_pre, || transport::l4_checksum_ok(pkt))
                    {
                        TrackResult::Tracked(r) => meta.ct = r,
                        TrackResult::Drop => return Verdict::Drop,
                    }
                }
            }
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
            pkt: pkt.as_mut_slice(),
            summary,
            meta,
            topo: &self.topo,
            ct: &mut self.ct,
            env: &mut self.env,
            hotdrop: false,
        };
        let verdict = eval::run_table(table, hook, &mut cx).unwrap_or(Verdict::Accept);
        self.flush_generated(now, out);
        verdict
    }

    /// Sends what targets generated (REJECT's answers), as the kernel
    /// does from inside the hook.
    fn flush_generated(&mut self, now: Time, out: &mut Outputs) {
        while !self.env.generated.is_empty() {
            let batch: Vec<Generated> = std::mem::take(&mut self.env.generated);
            for g in batch {
                let _ = match g.kind {
                    GeneratedKind::Datagram => self.local_out(now, g.data, g.meta, out),
                    GeneratedKind::Icmp => self.send_icmp(now, g.data, g.meta, out),
                };
            }
        }
    }

    /// `nf_nat_ipv4_fn` / `nf_nat_inet_fn`: the nat table runs for a
    /// connection's first packet only; every packet of a NATed connection
    /// is rewritten from its binding.
    fn nat_hook(
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
            return if nat::icmp_reply_translation(&self.ct, id, info, m, pkt) {
                Verdict::Accept
            } else {
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
        if !nat::apply(&self.ct, id, info.dir(), m, pkt) {
            return Verdict::Drop;
        }
        Verdict::Accept
    }
}

enum InputRoute {
    Martian,
    Local { broadcast: bool },
    Forward { dev: IfIndex },
    Unreachable,
}
