//! Following packets through the engine, step by step, for `palisade
//! trace`: the rules each table's walk visits (the kernel's nf_trace
//! events: rule, return, policy, include/uapi/linux/netfilter/nf_tables.h
//! `enum nft_trace_types`), hooks entered, connection tracking, NAT
//! rewrites, routing decisions, and what leaves.
//!
//! Off unless [`crate::Engine::set_tracing`] turns it on; then the events
//! are collected in order and taken with [`crate::Engine::take_trace`].
//! When off, the rule walk is compiled without any of it (the walk is
//! generic over [`WalkTrace`], and `()` reports nothing) and the engine's
//! own events cost one test of an `Option`.

use palisade_rules::model::{Hook, TableId};

use crate::conntrack::{CtInfo, Tuple};
use crate::engine::SendError;
use crate::ext::Verdict;
use crate::program::TableProg;
use crate::topology::{IfIndex, NoRoute};
use crate::wire::transport::Summary;

/// One step of a traced packet's way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEvent {
    /// A datagram starts its way through the host: the input, or one the
    /// host sends while handling it. Events up to the matching `End`
    /// belong to it (datagrams the host sends on the way nest inside).
    Begin { origin: Origin, packet: Vec<u8> },
    /// The datagram of the innermost open `Begin` is done.
    End,
    /// A netfilter hook is entered, with the datagram as it is then.
    Hook {
        hook: Hook,
        in_iface: Option<IfIndex>,
        out_iface: Option<IfIndex>,
        packet: Vec<u8>,
    },
    /// A table's chain for `hook` walks the datagram. `packet` is the
    /// datagram as the walk's first reported step (a matching rule or the
    /// policy) leaves it: where Linux's trace dumps the packet, once per
    /// base chain (nf_tables_trace.c `nft_trace_notify`, `packet_dumped`).
    Table {
        table: TableId,
        hook: Hook,
        packet: Vec<u8>,
    },
    /// Rule `rule` (from 1) of `chain` was evaluated; `verdict` is `None`
    /// when it did not match.
    Rule {
        table: TableId,
        chain: String,
        rule: usize,
        verdict: Option<RuleVerdict>,
    },
    /// The end of a user-defined chain: back to the rule after the jump
    /// (`NFT_TRACETYPE_RETURN` without a rule; xtables-monitor prints
    /// nothing for it).
    Return { table: TableId, chain: String },
    /// The built-in chain's policy decides.
    Policy {
        table: TableId,
        chain: String,
        accept: bool,
    },
    /// What connection tracking made of the datagram (`nf_conntrack_in`).
    Conntrack(CtSeen),
    /// NAT rewrote the datagram at `hook` (by the connection's binding).
    Nat {
        hook: Hook,
        before: Endpoints,
        after: Endpoints,
    },
    /// A routing decision.
    Route(RouteEvent),
    /// It left by `dev` with these bytes (one event per fragment).
    Out { dev: IfIndex, packet: Vec<u8> },
    /// It passed INPUT and was handed to the host's own stack.
    Deliver,
    /// It was sent out of `lo` and is received again.
    Loopback,
    /// A fragment, queued for reassembly (nf_defrag_ipv4 while conntrack
    /// is on, or local delivery); the fragment that completes the
    /// datagram goes on as the whole.
    Held,
}

/// Why a datagram's way began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Received on an interface.
    Received(IfIndex),
    /// Sent by a local process (raw socket).
    Sent,
    /// Sent by the host itself on the way: an ICMP answer or error, a TCP
    /// reset, a REJECT target's answer.
    Answer,
    /// The copy of a broadcast the host sends, through POSTROUTING on its
    /// way back to the host (`ip_mc_output`: a clone, traced by Linux
    /// under an id of its own)...
    BroadcastCopy,
    /// ...and received (`dev_loopback_xmit`).
    LoopedBroadcast,
}

/// How a matching rule decided (the verdicts xtables-monitor prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleVerdict {
    /// No verdict: no target, or one that lets the walk go on.
    Continue,
    Accept,
    Drop,
    Jump(String),
    Goto(String),
    Return,
}

/// Connection tracking's view of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtSeen {
    /// Part of a connection whose original tuple is `original`.
    Conn { info: CtInfo, original: Tuple },
    /// Not trackable (state INVALID).
    Invalid,
    /// Marked NOTRACK before connection tracking (state UNTRACKED).
    Untracked,
    /// No room for a new connection: dropped.
    TableFull,
}

/// The addresses and ports a NAT rewrite changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    pub src: u32,
    pub dst: u32,
    /// Source and destination ports (TCP, UDP).
    pub ports: Option<(u16, u16)>,
}

impl Endpoints {
    pub fn of(pkt: &[u8]) -> Endpoints {
        let s = Summary::read(pkt);
        Endpoints {
            src: s.src,
            dst: s.dst,
            ports: s.ports(),
        }
    }
}

/// A routing decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteEvent {
    /// Input route: to this host.
    Local { broadcast: bool },
    /// Input route: forwarded out of `dev`.
    Forward { dev: IfIndex },
    /// Input route: refused as martian.
    Martian,
    /// Input route: no way there; ICMP unreachable.
    Unreachable(NoRoute),
    /// Output route of a datagram the host sends.
    Output { dev: IfIndex },
    /// Routed again after OUTPUT changed its address or mark
    /// (`ip_route_me_harder`).
    Rerouted { dev: IfIndex },
    /// No output route; the sender gets this error.
    OutputFailed(SendError),
}

/// One step of the rule walk, as `eval::run_table` sees it (chains by
/// index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkStep {
    NoMatch,
    Continue,
    Accept,
    Drop,
    Jump(usize),
    Goto(usize),
    Return,
}

/// What the rule walk reports when a packet is traced. Every method
/// does nothing by default; `()` is the walk without tracing.
pub trait WalkTrace {
    /// Rule `number` (from 1) of chain `chain` was evaluated; `pkt` is the
    /// datagram after it.
    fn rule(
        &mut self,
        _table: &TableProg,
        _chain: usize,
        _number: usize,
        _step: WalkStep,
        _pkt: &[u8],
    ) {
    }
    /// The end of user-defined chain `chain` was reached.
    fn chain_end(&mut self, _table: &TableProg, _chain: usize) {}
    /// The policy of built-in chain `chain` decided.
    fn policy(&mut self, _table: &TableProg, _chain: usize, _verdict: Verdict, _pkt: &[u8]) {}
}

/// The first reported step of a walk fills in its `Table` event's
/// packet.
fn dump_packet(events: &mut [TraceEvent], pkt: &[u8]) {
    let table = events.iter_mut().rev().find_map(|e| match e {
        TraceEvent::Table { packet, .. } => Some(packet),
        _ => None,
    });
    if let Some(packet) = table {
        if packet.is_empty() {
            packet.extend_from_slice(pkt);
        }
    }
}

impl WalkTrace for () {}

fn chain_name(table: &TableProg, chain: usize) -> String {
    table
        .chains
        .get(chain)
        .map_or_else(String::new, |c| c.name.clone())
}

impl WalkTrace for Vec<TraceEvent> {
    fn rule(&mut self, table: &TableProg, chain: usize, number: usize, step: WalkStep, pkt: &[u8]) {
        if step != WalkStep::NoMatch {
            dump_packet(self, pkt);
        }
        let verdict = match step {
            WalkStep::NoMatch => None,
            WalkStep::Continue => Some(RuleVerdict::Continue),
            WalkStep::Accept => Some(RuleVerdict::Accept),
            WalkStep::Drop => Some(RuleVerdict::Drop),
            WalkStep::Jump(c) => Some(RuleVerdict::Jump(chain_name(table, c))),
            WalkStep::Goto(c) => Some(RuleVerdict::Goto(chain_name(table, c))),
            WalkStep::Return => Some(RuleVerdict::Return),
        };
        self.push(TraceEvent::Rule {
            table: table.id,
            chain: chain_name(table, chain),
            rule: number,
            verdict,
        });
    }

    fn chain_end(&mut self, table: &TableProg, chain: usize) {
        self.push(TraceEvent::Return {
            table: table.id,
            chain: chain_name(table, chain),
        });
    }

    fn policy(&mut self, table: &TableProg, chain: usize, verdict: Verdict, pkt: &[u8]) {
        dump_packet(self, pkt);
        self.push(TraceEvent::Policy {
            table: table.id,
            chain: chain_name(table, chain),
            accept: verdict != Verdict::Drop,
        });
    }
}
