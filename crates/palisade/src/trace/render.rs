//! `palisade trace`'s output: text (coloured on a terminal) or JSON.

use std::fmt::Write;
use std::net::Ipv4Addr;

use palisade_engine::conntrack::{CtInfo, Tuple};
use palisade_engine::topology::NoRoute;
use palisade_engine::trace::{CtSeen, Endpoints, Origin, RouteEvent, RuleVerdict, TraceEvent};
use palisade_engine::wire::ipv4::{self, Ipv4Read};
use palisade_engine::wire::transport::{Summary, L4};
use palisade_engine::LogRecord;
use palisade_lab::hex;
use palisade_lab::trace::{verdict_name, Traced};
use palisade_rules::ext::icmp::ICMP_CODES;
use palisade_rules::model::{Hook, TableId};
use palisade_rules::save::rule_spec;
use serde_json::{json, Value};

/// ANSI styles, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(self, t: &str) -> String {
        self.paint("1", t)
    }
    fn dim(self, t: &str) -> String {
        self.paint("2", t)
    }
    fn verdict(self, t: &str) -> String {
        let code = match t {
            "ACCEPT" => "32",
            "DROP" => "31",
            "RETURN" | "CONTINUE" => "0",
            _ if t.starts_with("JUMP") || t.starts_with("GOTO") => "36",
            _ => "0",
        };
        self.paint(code, t)
    }
    fn note(self, t: &str) -> String {
        self.paint("33", t)
    }
}

/// A datagram in a line: `tcp 1.2.3.4:1 -> 5.6.7.8:2 flags S seq 1 ttl 64, 44 bytes`.
pub fn describe(pkt: &[u8]) -> String {
    let Ok(total) = ipv4::validate(pkt) else {
        return format!("not a valid IPv4 datagram, {} bytes", pkt.len());
    };
    let pkt = &pkt[..total];
    let s = Summary::read(pkt);
    let (src, dst) = (Ipv4Addr::from(s.src), Ipv4Addr::from(s.dst));
    let mut d = match s.l4 {
        L4::Tcp(t) => {
            let flags: String = "FSRPAUEC"
                .chars()
                .enumerate()
                .filter(|(i, _)| t.flags & (1 << i) != 0)
                .map(|(_, c)| c)
                .collect();
            let mut d = format!("tcp {src}:{} -> {dst}:{}", t.sport, t.dport);
            if !flags.is_empty() {
                let _ = write!(d, " flags {flags}");
            }
            let _ = write!(d, " seq {}", t.seq);
            if t.flags & 0x10 != 0 {
                let _ = write!(d, " ack {}", t.ack);
            }
            d
        }
        L4::Udp { sport, dport } => format!("udp {src}:{sport} -> {dst}:{dport}"),
        L4::Icmp { ty, code, rest } => {
            let mut d = format!("icmp {src} -> {dst} {}", icmp_name(ty, code));
            if matches!(ty, 0 | 8 | 13 | 14 | 17 | 18) {
                let id = u16::from_be_bytes([rest[0], rest[1]]);
                let seq = u16::from_be_bytes([rest[2], rest[3]]);
                let _ = write!(d, " id {id} seq {seq}");
            }
            d
        }
        L4::Other => match s.protocol {
            6 => format!("tcp {src} -> {dst}"),
            17 => format!("udp {src} -> {dst}"),
            1 => format!("icmp {src} -> {dst}"),
            p => format!("proto {p} {src} -> {dst}"),
        },
    };
    if s.frag_offset != 0 || s.more_fragments {
        let _ = write!(d, " fragment offset {}", s.frag_offset);
        if s.more_fragments {
            d.push_str(" mf");
        }
    }
    let _ = write!(d, " ttl {}, {} bytes", pkt.ttl(), pkt.len());
    d
}

/// iptables' name of an ICMP type and code (libxt_icmp's table: an entry
/// for the exact code first, else the type's), or `type T code C`.
fn icmp_name(ty: u8, code: u8) -> String {
    let exact = ICMP_CODES
        .iter()
        .find(|(_, t, lo, hi)| *t == ty && *lo == code && *hi == code);
    let whole = ICMP_CODES
        .iter()
        .find(|(_, t, lo, hi)| *t == ty && *lo == 0 && *hi == 0xFF);
    match (exact, whole) {
        (Some((name, ..)), _) => name.to_string(),
        (None, Some((name, ..))) if code == 0 => name.to_string(),
        (None, Some((name, ..))) => format!("{name} code {code}"),
        (None, None) => format!("type {ty} code {code}"),
    }
}

fn endpoint(addr: u32, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{}:{p}", Ipv4Addr::from(addr)),
        None => Ipv4Addr::from(addr).to_string(),
    }
}

/// What a NAT rewrite changed: `destination A -> B`, `source A -> B`.
fn nat_change(before: &Endpoints, after: &Endpoints) -> String {
    let (bs, bd) = (before.ports.map(|p| p.0), before.ports.map(|p| p.1));
    let (as_, ad) = (after.ports.map(|p| p.0), after.ports.map(|p| p.1));
    let mut parts = Vec::new();
    if (before.src, bs) != (after.src, as_) {
        parts.push(format!(
            "source {} -> {}",
            endpoint(before.src, bs),
            endpoint(after.src, as_)
        ));
    }
    if (before.dst, bd) != (after.dst, ad) {
        parts.push(format!(
            "destination {} -> {}",
            endpoint(before.dst, bd),
            endpoint(after.dst, ad)
        ));
    }
    parts.join(", ")
}

/// A connection's original direction: `tcp 1.2.3.4:1 -> 5.6.7.8:2`.
pub fn tuple_text(t: &Tuple) -> String {
    match t.proto {
        6 | 17 | 136 => format!(
            "{} {}:{} -> {}:{}",
            proto_name(t.proto),
            Ipv4Addr::from(t.src),
            t.a,
            Ipv4Addr::from(t.dst),
            t.b
        ),
        1 => format!(
            "icmp {} -> {} {} id {}",
            Ipv4Addr::from(t.src),
            Ipv4Addr::from(t.dst),
            icmp_name(t.icmp_type(), t.icmp_code()),
            t.a
        ),
        p => format!(
            "{} {} -> {}",
            proto_name(p),
            Ipv4Addr::from(t.src),
            Ipv4Addr::from(t.dst)
        ),
    }
}

fn proto_name(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        47 => "gre".into(),
        136 => "udplite".into(),
        p => format!("proto {p}"),
    }
}

/// The `conntrack` state names (`--ctstate`) of how a packet relates to
/// its connection, and its direction.
fn ct_state(info: CtInfo) -> &'static str {
    match info {
        CtInfo::New => "NEW",
        CtInfo::Established => "ESTABLISHED",
        CtInfo::Related => "RELATED",
        CtInfo::EstablishedReply => "ESTABLISHED, reply direction",
        CtInfo::RelatedReply => "RELATED, reply direction",
    }
}

fn ct_text(seen: &CtSeen) -> String {
    match seen {
        CtSeen::Conn { info, original } => {
            format!("{}  connection {}", ct_state(*info), tuple_text(original))
        }
        CtSeen::Invalid => "INVALID  (no connection)".to_string(),
        CtSeen::Untracked => "UNTRACKED  (NOTRACK)".to_string(),
        CtSeen::TableFull => "table full: dropped".to_string(),
    }
}

fn no_route(e: NoRoute) -> &'static str {
    match e {
        NoRoute::Net => "no route (network unreachable)",
        NoRoute::Host => "unreachable route (host unreachable)",
        NoRoute::Prohibit => "prohibit route (administratively prohibited)",
        NoRoute::Invalid => "blackhole route or invalid destination",
    }
}

/// Which rule text a trace step names.
fn rule_text(t: &Traced, table: TableId, chain: &str, rule: usize) -> String {
    t.ruleset
        .table(table)
        .and_then(|tb| tb.chain(chain))
        .and_then(|c| c.rules.get(rule.wrapping_sub(1)))
        .map(|r| format!("-A {chain}{}", rule_spec(r)))
        .unwrap_or_default()
}

fn step_label(table: TableId, chain: &str, what: &str) -> String {
    format!("{}:{chain}:{what}", table.name())
}

/// How the traced packet ended.
fn fate(t: &Traced) -> String {
    let mut depth = 0usize;
    let mut outs = Vec::new();
    let mut answers = Vec::new();
    let mut delivered = false;
    let mut held = false;
    let mut last_drop = None;
    let mut route_fail = None;
    // Inside the input's own way (not an answer the host sends outside
    // it, e.g. for a fragment queue that timed out).
    let mut input = false;
    for e in &t.events {
        match e {
            TraceEvent::Begin { origin, .. } => {
                depth += 1;
                if depth == 1 {
                    input = is_input(origin);
                }
            }
            TraceEvent::End => depth = depth.saturating_sub(1),
            TraceEvent::Out { dev, .. } if depth > 1 || !input => answers.push(iface(t, *dev)),
            _ if depth != 1 || !input => {}
            TraceEvent::Out { dev, .. } => outs.push(iface(t, *dev)),
            TraceEvent::Deliver => delivered = true,
            TraceEvent::Held => held = true,
            TraceEvent::Rule {
                table,
                chain,
                rule,
                verdict: Some(RuleVerdict::Drop),
            } => last_drop = Some(step_label(*table, chain, &format!("rule:{rule}"))),
            TraceEvent::Policy {
                table,
                chain,
                accept: false,
            } => last_drop = Some(step_label(*table, chain, "policy")),
            TraceEvent::Route(RouteEvent::Martian) => route_fail = Some("martian".to_string()),
            TraceEvent::Route(RouteEvent::Unreachable(e)) => {
                route_fail = Some(no_route(*e).to_string())
            }
            _ => {}
        }
    }
    let mut s = if !outs.is_empty() {
        format!("left by {}", outs.join(", "))
    } else if delivered {
        "delivered to this host".to_string()
    } else if held {
        "held for reassembly (a fragment)".to_string()
    } else if let Some(d) = last_drop {
        format!("dropped by {d}")
    } else if let Some(r) = route_fail {
        format!("dropped: {r}")
    } else {
        "dropped".to_string()
    };
    answers.dedup();
    if !answers.is_empty() {
        let _ = write!(s, "; answers left by {}", answers.join(", "));
    }
    if let Some(e) = &t.send_error {
        let _ = write!(s, "; the sender's sendto failed with {e}");
    }
    s
}

/// Whether a datagram is the input itself.
fn is_input(origin: &Origin) -> bool {
    matches!(origin, Origin::Received(_) | Origin::Sent)
}

fn iface(t: &Traced, dev: u16) -> String {
    t.interfaces
        .get(usize::from(dev))
        .cloned()
        .unwrap_or_else(|| format!("if{dev}"))
}

fn opt_iface(t: &Traced, dev: Option<u16>) -> Option<String> {
    dev.map(|d| iface(t, d))
}

/// The plain-text trace.
pub fn text(t: &Traced, notes: &[String], matches_only: bool, st: Style) -> String {
    let mut out = String::new();
    for n in notes {
        let _ = writeln!(out, "{}", st.note(&format!("note: {n}")));
    }
    // Column width of the step labels.
    let width = t
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Rule {
                table, chain, rule, ..
            } => Some(step_label(*table, chain, &format!("rule:{rule}")).len()),
            TraceEvent::Policy { table, chain, .. } => {
                Some(step_label(*table, chain, "policy").len())
            }
            TraceEvent::Return { table, chain } => Some(step_label(*table, chain, "return").len()),
            _ => None,
        })
        .max()
        .unwrap_or(0)
        .max("conntrack".len());
    // ...and of the verdicts.
    let vwidth = t
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Rule {
                verdict: Some(v), ..
            } => Some(verdict_name(v).len()),
            _ => None,
        })
        .max()
        .unwrap_or(0)
        .max("no match".len());
    let mut depth = 0usize;
    for e in &t.events {
        let ind = "  ".repeat(depth.saturating_sub(1));
        match e {
            TraceEvent::Begin { origin, packet } => {
                depth += 1;
                let ind = "  ".repeat(depth - 1);
                let what = match origin {
                    Origin::Received(dev) => format!("in {}", iface(t, *dev)),
                    Origin::Sent => "sent by a local process".to_string(),
                    Origin::Answer => "sent by this host in answer".to_string(),
                    Origin::BroadcastCopy => {
                        "copy of a broadcast this host sends, for itself".to_string()
                    }
                    Origin::LoopedBroadcast => "copy of a broadcast, received here".to_string(),
                };
                if depth > 1 {
                    blank_line(&mut out);
                }
                let head = if depth == 1 && is_input(origin) {
                    "packet"
                } else {
                    "answer"
                };
                let _ = writeln!(
                    out,
                    "{ind}{} {}, {what}",
                    st.bold(&format!("{head}:")),
                    describe(packet)
                );
            }
            TraceEvent::End => {
                depth = depth.saturating_sub(1);
                blank_line(&mut out);
            }
            TraceEvent::Hook {
                hook,
                in_iface,
                out_iface,
                packet,
            } => {
                let mut ifs = Vec::new();
                if let Some(i) = opt_iface(t, *in_iface) {
                    ifs.push(format!("in {i}"));
                }
                if let Some(o) = opt_iface(t, *out_iface) {
                    ifs.push(format!("out {o}"));
                }
                let _ = writeln!(
                    out,
                    "{ind}{}  {}  {}",
                    st.bold(hook.chain_name()),
                    ifs.join(" "),
                    st.dim(&describe(packet))
                );
            }
            // The packet as each table sees it: in the JSON.
            TraceEvent::Table { .. } => {}
            TraceEvent::Rule {
                table,
                chain,
                rule,
                verdict,
            } => {
                if matches_only && verdict.is_none() {
                    continue;
                }
                let label = step_label(*table, chain, &format!("rule:{rule}"));
                let (v, painted) = match verdict {
                    None => ("no match".to_string(), st.dim("no match")),
                    Some(v) => {
                        let n = verdict_name(v);
                        (n.clone(), st.verdict(&n))
                    }
                };
                let pad = " ".repeat(vwidth.saturating_sub(v.len()));
                let text = rule_text(t, *table, chain, *rule);
                let text = if verdict.is_none() {
                    st.dim(&text)
                } else {
                    text
                };
                let _ = writeln!(out, "{ind}  {label:<width$}  {painted}{pad}  {text}");
            }
            TraceEvent::Return { table, chain } => {
                if matches_only {
                    continue;
                }
                let label = step_label(*table, chain, "return");
                let _ = writeln!(out, "{ind}  {label:<width$}  {}", st.dim("end of chain"));
            }
            TraceEvent::Policy {
                table,
                chain,
                accept,
            } => {
                let label = step_label(*table, chain, "policy");
                let v = if *accept { "ACCEPT" } else { "DROP" };
                let _ = writeln!(out, "{ind}  {label:<width$}  {}", st.verdict(v));
            }
            TraceEvent::Conntrack(seen) => {
                let _ = writeln!(out, "{ind}  {:<width$}  {}", "conntrack", ct_text(seen));
            }
            TraceEvent::Nat {
                hook: _,
                before,
                after,
            } => {
                let _ = writeln!(
                    out,
                    "{ind}  {:<width$}  {}",
                    "nat",
                    st.note(&nat_change(before, after))
                );
            }
            TraceEvent::Route(r) => {
                let what = match r {
                    RouteEvent::Local { broadcast: false } => "to this host".to_string(),
                    RouteEvent::Local { broadcast: true } => "broadcast, to this host".to_string(),
                    RouteEvent::Forward { dev } => format!("forward out {}", iface(t, *dev)),
                    RouteEvent::Martian => "martian: dropped".to_string(),
                    RouteEvent::Unreachable(e) => format!("{}: dropped", no_route(*e)),
                    RouteEvent::Output { dev } => format!("out {}", iface(t, *dev)),
                    RouteEvent::Rerouted { dev } => format!("rerouted out {}", iface(t, *dev)),
                    RouteEvent::OutputFailed(e) => format!("no way out: {}", e.name()),
                };
                let _ = writeln!(out, "{ind}{}  {what}", st.bold("route"));
            }
            TraceEvent::Out { dev, packet } => {
                let _ = writeln!(
                    out,
                    "{ind}{}  {}  {}",
                    st.bold("out"),
                    iface(t, *dev),
                    describe(packet)
                );
                let _ = writeln!(out, "{ind}     {}", st.dim(&hex::encode(packet)));
            }
            TraceEvent::Deliver => {
                let _ = writeln!(out, "{ind}{}  to this host's stack", st.bold("deliver"));
            }
            TraceEvent::Loopback => {
                let _ = writeln!(out, "{ind}{}  received again on lo", st.bold("loopback"));
            }
            TraceEvent::Held => {
                let _ = writeln!(
                    out,
                    "{ind}{}  a fragment, queued for reassembly",
                    st.bold("held")
                );
            }
        }
    }
    if !t.log.is_empty() {
        blank_line(&mut out);
        let _ = writeln!(out, "{}", st.bold("log:"));
        for r in &t.log {
            let _ = writeln!(out, "  {}", log_text(r));
        }
    }
    if !t.connections.is_empty() {
        blank_line(&mut out);
        let _ = writeln!(out, "{}", st.bold("connections:"));
        for c in &t.connections {
            let _ = writeln!(out, "  {}", tuple_text(&c.original));
            let none = "none";
            let _ = writeln!(out, "    before: {}", c.before.as_deref().unwrap_or(none));
            let _ = writeln!(out, "    after:  {}", c.after.as_deref().unwrap_or(none));
        }
    }
    blank_line(&mut out);
    let _ = writeln!(out, "{} {}", st.bold("result:"), fate(t));
    out
}

/// A LOG line as the kernel log shows it (with its syslog level), or an
/// NFLOG packet's group, prefix and length.
fn log_text(r: &LogRecord) -> String {
    match r {
        LogRecord::Log { level, line } => format!("LOG <{level}> {}", line.trim_end()),
        LogRecord::Nflog { group, prefix, len } => {
            format!("NFLOG group {group} prefix {prefix:?} len {len}")
        }
    }
}

fn log_json(r: &LogRecord) -> Value {
    match r {
        LogRecord::Log { level, line } => json!({"kind": "LOG", "level": level, "line": line}),
        LogRecord::Nflog { group, prefix, len } => {
            json!({"kind": "NFLOG", "group": group, "prefix": prefix, "len": len})
        }
    }
}

/// Ends the text with one empty line.
fn blank_line(out: &mut String) {
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
}

fn hook_name(h: Hook) -> &'static str {
    h.chain_name()
}

fn endpoints_json(e: &Endpoints) -> Value {
    json!({
        "src": Ipv4Addr::from(e.src).to_string(),
        "dst": Ipv4Addr::from(e.dst).to_string(),
        "sport": e.ports.map(|p| p.0),
        "dport": e.ports.map(|p| p.1),
    })
}

fn packet_json(p: &[u8]) -> Value {
    json!({"summary": describe(p), "hex": hex::encode(p)})
}

/// The JSON trace: every event, what left, the connections.
pub fn json(t: &Traced, notes: &[String]) -> Value {
    let events: Vec<Value> = t
        .events
        .iter()
        .map(|e| match e {
            TraceEvent::Begin { origin, packet } => {
                let (origin, iface_name) = match origin {
                    Origin::Received(dev) => ("received", Some(iface(t, *dev))),
                    Origin::Sent => ("sent", None),
                    Origin::Answer => ("answer", None),
                    Origin::BroadcastCopy => ("broadcast-copy", None),
                    Origin::LoopedBroadcast => ("looped-broadcast", None),
                };
                json!({"event": "begin", "origin": origin, "in": iface_name, "packet": packet_json(packet)})
            }
            TraceEvent::End => json!({"event": "end"}),
            TraceEvent::Hook {
                hook,
                in_iface,
                out_iface,
                packet,
            } => json!({
                "event": "hook",
                "hook": hook_name(*hook),
                "in": opt_iface(t, *in_iface),
                "out": opt_iface(t, *out_iface),
                "packet": packet_json(packet),
            }),
            TraceEvent::Table {
                table,
                hook,
                packet,
            } => json!({
                "event": "table",
                "table": table.name(),
                "hook": hook_name(*hook),
                "packet": packet_json(packet),
            }),
            TraceEvent::Rule {
                table,
                chain,
                rule,
                verdict,
            } => json!({
                "event": "rule",
                "table": table.name(),
                "chain": chain,
                "rule": rule,
                "matched": verdict.is_some(),
                "verdict": verdict.as_ref().map(verdict_name),
                "text": rule_text(t, *table, chain, *rule),
            }),
            TraceEvent::Return { table, chain } => {
                json!({"event": "return", "table": table.name(), "chain": chain})
            }
            TraceEvent::Policy {
                table,
                chain,
                accept,
            } => json!({
                "event": "policy",
                "table": table.name(),
                "chain": chain,
                "verdict": if *accept { "ACCEPT" } else { "DROP" },
            }),
            TraceEvent::Conntrack(seen) => match seen {
                CtSeen::Conn { info, original } => json!({
                    "event": "conntrack",
                    "state": ct_state(*info),
                    "connection": tuple_text(original),
                }),
                CtSeen::Invalid => json!({"event": "conntrack", "state": "INVALID"}),
                CtSeen::Untracked => json!({"event": "conntrack", "state": "UNTRACKED"}),
                CtSeen::TableFull => json!({"event": "conntrack", "state": "table full"}),
            },
            TraceEvent::Nat {
                hook,
                before,
                after,
            } => json!({
                "event": "nat",
                "hook": hook_name(*hook),
                "before": endpoints_json(before),
                "after": endpoints_json(after),
            }),
            TraceEvent::Route(r) => {
                let (decision, dev, error) = match r {
                    RouteEvent::Local { broadcast: false } => ("local", None, None),
                    RouteEvent::Local { broadcast: true } => ("broadcast", None, None),
                    RouteEvent::Forward { dev } => ("forward", Some(iface(t, *dev)), None),
                    RouteEvent::Martian => ("martian", None, None),
                    RouteEvent::Unreachable(e) => ("unreachable", None, Some(no_route(*e).to_string())),
                    RouteEvent::Output { dev } => ("output", Some(iface(t, *dev)), None),
                    RouteEvent::Rerouted { dev } => ("rerouted", Some(iface(t, *dev)), None),
                    RouteEvent::OutputFailed(e) => ("output-failed", None, Some(e.name().to_string())),
                };
                json!({"event": "route", "decision": decision, "out": dev, "error": error})
            }
            TraceEvent::Out { dev, packet } => {
                json!({"event": "out", "out": iface(t, *dev), "packet": packet_json(packet)})
            }
            TraceEvent::Deliver => json!({"event": "deliver"}),
            TraceEvent::Loopback => json!({"event": "loopback"}),
            TraceEvent::Held => json!({"event": "held"}),
        })
        .collect();
    let outputs: Vec<Value> = t
        .outputs
        .iter()
        .map(|(dev, bytes)| json!({"out": dev, "hex": hex::encode(bytes)}))
        .collect();
    let connections: Vec<Value> = t
        .connections
        .iter()
        .map(|c| json!({"connection": tuple_text(&c.original), "before": c.before, "after": c.after}))
        .collect();
    json!({
        "notes": notes,
        "events": events,
        "outputs": outputs,
        "send_error": t.send_error,
        "log": t.log.iter().map(log_json).collect::<Vec<_>>(),
        "connections": connections,
        "result": fate(t),
    })
}
