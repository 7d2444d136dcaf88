//! One packet of a scenario traced through palisade's engine (what
//! `palisade trace` shows): the packets before it run untraced, as
//! `simulate` runs them, then the engine reports every step of this one.

use palisade_engine::conntrack::Tuple;
use palisade_engine::trace::{CtSeen, RuleVerdict, TraceEvent};
use palisade_engine::{LogRecord, Outputs, Time};
use palisade_rules::model::Ruleset;

use crate::kernel_trace::{Step, StepKind};
use crate::scenario::{Output, Packet, Scenario, ScenarioError};
use crate::simulate::{arrival_times, build_engine, ingress_of};

/// What happened to the traced packet.
#[derive(Debug, Clone)]
pub struct Traced {
    /// The engine's steps, in order.
    pub events: Vec<TraceEvent>,
    /// Interface names by index, for the events' interfaces.
    pub interfaces: Vec<String>,
    /// The ruleset (for each rule's text).
    pub ruleset: Ruleset,
    /// Everything that left, in order: interface and bytes.
    pub outputs: Vec<(String, Vec<u8>)>,
    /// The errno a local sender got, if its send failed.
    pub send_error: Option<String>,
    /// What LOG and NFLOG rules reported for it, in order.
    pub log: Vec<LogRecord>,
    /// Each connection the packets touched, in order of first contact.
    pub connections: Vec<Connection>,
    /// When the packet arrived.
    pub at: Time,
}

/// A connection's entry (`conntrack -L -o extended`) before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub original: Tuple,
    /// `None`: not in the table (not yet, or not confirmed).
    pub before: Option<String>,
    pub after: Option<String>,
}

fn err(msg: impl Into<String>) -> ScenarioError {
    ScenarioError(msg.into())
}

/// Runs packets `0..index` of `sc` through a fresh engine, then traces
/// packet `index`.
pub fn trace(sc: &Scenario, index: usize, seed: u64) -> Result<Traced, ScenarioError> {
    if index >= sc.packets.len() {
        return Err(err(format!(
            "no packet {index}: the scenario has {}",
            sc.packets.len()
        )));
    }
    let mut engine = build_engine(sc, seed)?;
    let times = arrival_times(sc);
    let mut out = Outputs::default();
    // What left for each packet before: a packet may be built from it.
    let mut outputs: Vec<Vec<Output>> = Vec::with_capacity(index);
    let bytes_of = |i: usize, p: &Packet, outputs: &[Vec<Output>]| {
        p.bytes_after(outputs)
            .map_err(|e| err(format!("packet {i}: {e}")))
    };
    for (i, p) in sc.packets.iter().enumerate().take(index) {
        let ingress = ingress_of(&engine, i, &p.via)?;
        out.clear();
        engine.process(times[i], ingress, bytes_of(i, p, &outputs)?, &mut out);
        let topo = engine.topology();
        outputs.push(
            out.packets
                .iter()
                .map(|(dev, bytes)| Output {
                    out: topo.interface(*dev).name.clone(),
                    hex: crate::hex::encode(bytes),
                })
                .collect(),
        );
    }
    let p = &sc.packets[index];
    let now = times[index];
    let ingress = ingress_of(&engine, index, &p.via)?;
    let bytes = bytes_of(index, p, &outputs)?;
    let before = engine.conntrack().clone();
    engine.set_tracing(true);
    out.clear();
    engine.process(now, ingress, bytes, &mut out);
    let events = engine.take_trace();
    engine.set_tracing(false);

    let mut connections: Vec<Connection> = Vec::new();
    for e in &events {
        if let TraceEvent::Conntrack(CtSeen::Conn { original, .. }) = e {
            if connections.iter().all(|c| c.original != *original) {
                connections.push(Connection {
                    original: *original,
                    before: before.entry_line(original, now),
                    after: engine.conntrack().entry_line(original, now),
                });
            }
        }
    }
    let topo = engine.topology();
    let interfaces = topo.interfaces().iter().map(|i| i.name.clone()).collect();
    let outputs = out
        .packets
        .iter()
        .map(|(dev, bytes)| (topo.interface(*dev).name.clone(), bytes.clone()))
        .collect();
    Ok(Traced {
        events,
        interfaces,
        ruleset: engine.ruleset(),
        outputs,
        send_error: out.send_error.map(|e| e.name().to_string()),
        log: std::mem::take(&mut out.log),
        connections,
        at: now,
    })
}

/// The walks the kernel's tracing would report for these events: for each
/// datagram (the traced one and those the host sent on its way), the
/// rules that matched with their verdicts and the policies that decided.
/// Datagrams without a step are left out, as the kernel reports nothing
/// of them; ends of chains are left out, as Linux 6.18 prints none
/// (`kernel_trace`); a datagram sent through `lo` counts as a new one
/// when it comes back in.
pub fn kernel_walks(events: &[TraceEvent]) -> Vec<Vec<Step>> {
    let mut walks: Vec<Vec<Step>> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for e in events {
        let step = match e {
            TraceEvent::Begin { .. } => {
                walks.push(Vec::new());
                open.push(walks.len() - 1);
                continue;
            }
            TraceEvent::End => {
                open.pop();
                continue;
            }
            TraceEvent::Loopback => {
                // Received again on lo, it is traced under a new id: the
                // id hashes the input interface too (nf_tables_trace.c
                // nft_trace_init: siphash of the skb, its hash and
                // skb_iif).
                walks.push(Vec::new());
                if let Some(k) = open.last_mut() {
                    *k = walks.len() - 1;
                }
                continue;
            }
            TraceEvent::Rule {
                table,
                chain,
                rule,
                verdict: Some(v),
            } => Step {
                table: table.name().to_string(),
                chain: chain.clone(),
                kind: StepKind::Rule {
                    rule: *rule,
                    verdict: verdict_name(v),
                },
            },
            TraceEvent::Policy {
                table,
                chain,
                accept,
            } => Step {
                table: table.name().to_string(),
                chain: chain.clone(),
                kind: StepKind::Policy {
                    verdict: if *accept { "ACCEPT" } else { "DROP" }.to_string(),
                },
            },
            _ => continue,
        };
        if let Some(&k) = open.last() {
            walks[k].push(step);
        }
    }
    walks.retain(|w| !w.is_empty());
    walks
}

/// The datagrams as each table's walk saw them, in the form of
/// [`crate::kernel_trace::KernelTrace::packets_seen`], grouped as
/// [`kernel_walks`] groups steps.
pub fn packets_seen(events: &[TraceEvent], interfaces: &[String]) -> Vec<Vec<String>> {
    let name = |i: Option<u16>| i.and_then(|i| interfaces.get(usize::from(i)));
    let mut seen: Vec<Vec<String>> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut ifaces = (None, None);
    for e in events {
        match e {
            TraceEvent::Begin { .. } => {
                seen.push(Vec::new());
                open.push(seen.len() - 1);
            }
            TraceEvent::End => {
                open.pop();
            }
            TraceEvent::Loopback => {
                seen.push(Vec::new());
                if let Some(k) = open.last_mut() {
                    *k = seen.len() - 1;
                }
            }
            TraceEvent::Hook {
                in_iface,
                out_iface,
                ..
            } => ifaces = (name(*in_iface), name(*out_iface)),
            TraceEvent::Table {
                table,
                hook,
                packet,
            } => {
                let mut f = Vec::new();
                if let Some(i) = ifaces.0 {
                    f.push(format!("IN={i}"));
                }
                if let Some(o) = ifaces.1 {
                    f.push(format!("OUT={o}"));
                }
                f.extend(packet_fields(packet));
                if let Some(&k) = open.last() {
                    seen[k].push(format!(
                        "{}:{} {}",
                        table.name(),
                        hook.chain_name(),
                        f.join(" ")
                    ));
                }
            }
            _ => {}
        }
    }
    seen.retain(|w| !w.is_empty());
    seen
}

/// SRC to DPORT of the PACKET fields as xtables-monitor.c
/// `trace_print_packet` prints them: the ports are the first four bytes
/// after the IP header, whatever they are (a later fragment's data too),
/// for TCP when 20 bytes follow, for UDP, UDP-Lite, SCTP and DCCP when 4
/// do. The header is read as it is, its checksum unchecked (options
/// compiled on input change it before it is fixed).
fn packet_fields(p: &[u8]) -> Vec<String> {
    use palisade_engine::wire::ipv4::Ipv4Read;
    use std::net::Ipv4Addr;
    if p.len() < 20 || p[0] >> 4 != 4 {
        return Vec::new();
    }
    let hl = p.header_len();
    let end = usize::from(p.total_len()).min(p.len());
    let mut f = vec![
        format!("SRC={}", Ipv4Addr::from(p.src())),
        format!("DST={}", Ipv4Addr::from(p.dst())),
        format!("LEN={}", p.total_len()),
        format!("TOS=0x{:x}", p.tos()),
        format!("TTL={}", p.ttl()),
    ];
    if p.dont_fragment() {
        f.push("DF".to_string());
    }
    if p.more_fragments() {
        f.push("MF".to_string());
    }
    let l4 = p.get(hl..end).unwrap_or_default();
    let need = match p.protocol() {
        6 => 20,
        17 | 33 | 132 | 136 => 4,
        _ => usize::MAX,
    };
    if l4.len() >= need {
        f.push(format!("SPORT={}", u16::from_be_bytes([l4[0], l4[1]])));
        f.push(format!("DPORT={}", u16::from_be_bytes([l4[2], l4[3]])));
    }
    f
}

/// A verdict as xtables-monitor prints it.
pub fn verdict_name(v: &RuleVerdict) -> String {
    match v {
        RuleVerdict::Continue => "CONTINUE".to_string(),
        RuleVerdict::Accept => "ACCEPT".to_string(),
        RuleVerdict::Drop => "DROP".to_string(),
        RuleVerdict::Jump(c) => format!("JUMP:{c}"),
        RuleVerdict::Goto(c) => format!("GOTO:{c}"),
        RuleVerdict::Return => "RETURN".to_string(),
    }
}
