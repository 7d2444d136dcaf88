//! Tracing observes and changes nothing: the same packets through a traced
//! and an untraced engine leave the same bytes, counters and connections;
//! and a published port's SYN is traced step by step (the walks are
//! checked against the kernel's own in crates/palisade/tests/trace.rs).

mod common;

use palisade_engine::trace::{Origin, RouteEvent, RuleVerdict, TraceEvent};
use palisade_engine::{Engine, Ingress, Outputs, Time};
use palisade_rules::model::{Hook, TableId};
use palisade_rules::save::save;

fn engine() -> Engine {
    common::host(
        common::ETH0_DOCKER0,
        common::DEFAULT_ROUTE,
        common::DOCKER_RULES,
        1,
    )
    .0
}

fn tcp(src: u32, dst: u32, sport: u16, dport: u16, flags: u8, seq: u32, ack: u32) -> Vec<u8> {
    let segment = common::Segment {
        src,
        dst,
        sport,
        dport,
        flags,
        seq,
        ack,
    };
    segment.bytes()
}

const CLIENT: u32 = 0xcb00_7107;
const ROUTER: u32 = 0xc633_6401;
const CONTAINER: u32 = 0xac11_0002;

fn packets() -> Vec<(u16, Vec<u8>)> {
    vec![
        (1, tcp(CLIENT, ROUTER, 40000, 8080, 0x02, 1000, 0)),
        (2, tcp(CONTAINER, CLIENT, 80, 40000, 0x12, 7000, 1001)),
        (1, tcp(CLIENT, ROUTER, 40000, 8080, 0x10, 1001, 7001)),
        (1, tcp(CLIENT, ROUTER, 40001, 22, 0x02, 1, 0)),
        (2, tcp(CONTAINER, 0x0808_0808, 40000, 53, 0x02, 1, 0)),
        (1, tcp(CLIENT, CONTAINER, 40002, 80, 0x02, 1, 0)),
    ]
}

#[test]
fn tracing_changes_nothing() {
    let (mut plain, mut traced) = (engine(), engine());
    traced.set_tracing(true);
    let mut now = Time::from_secs(1000);
    for (dev, p) in packets() {
        let (mut a, mut b) = (Outputs::default(), Outputs::default());
        plain.process(now, Ingress::Interface(dev), p.clone(), &mut a);
        traced.process(now, Ingress::Interface(dev), p, &mut b);
        assert_eq!(a.packets, b.packets);
        assert_eq!(a.send_error, b.send_error);
        let events = traced.take_trace();
        assert!(matches!(events.first(), Some(TraceEvent::Begin { .. })));
        assert_eq!(events.last(), Some(&TraceEvent::End));
        // Every datagram that left is in the trace.
        let outs: Vec<&Vec<u8>> = events
            .iter()
            .filter_map(|e| match e {
                TraceEvent::Out { packet, .. } => Some(packet),
                _ => None,
            })
            .collect();
        assert_eq!(outs, b.packets.iter().map(|(_, p)| p).collect::<Vec<_>>());
        now = now + Time::from_millis(30);
    }
    assert_eq!(
        save(&plain.ruleset(), None, true, None),
        save(&traced.ruleset(), None, true, None)
    );
    assert_eq!(plain.conntrack_listing(now), traced.conntrack_listing(now));
    // Off again: nothing is collected.
    traced.set_tracing(false);
    let mut out = Outputs::default();
    traced.process(now, Ingress::Interface(1), packets()[0].1.clone(), &mut out);
    assert!(traced.take_trace().is_empty());
}

fn rule(table: TableId, chain: &str, rule: usize, verdict: Option<RuleVerdict>) -> TraceEvent {
    TraceEvent::Rule {
        table,
        chain: chain.to_string(),
        rule,
        verdict,
    }
}

#[test]
fn a_published_port_syn_is_traced_step_by_step() {
    let mut e = engine();
    e.set_tracing(true);
    let mut out = Outputs::default();
    let (_, syn) = packets().remove(0);
    e.process(Time::from_secs(1000), Ingress::Interface(1), syn, &mut out);
    let events = e.take_trace();
    let steps: Vec<&TraceEvent> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                TraceEvent::Rule { .. } | TraceEvent::Policy { .. } | TraceEvent::Return { .. }
            )
        })
        .collect();
    use RuleVerdict::*;
    use TableId::*;
    let want = [
        rule(Nat, "PREROUTING", 1, Some(Jump("DOCKER".into()))),
        rule(Nat, "DOCKER", 1, None),
        rule(Nat, "DOCKER", 2, Some(Accept)),
        rule(Filter, "FORWARD", 1, None),
        rule(Filter, "FORWARD", 2, Some(Jump("DOCKER".into()))),
        rule(Filter, "DOCKER", 1, Some(Accept)),
        rule(Nat, "POSTROUTING", 1, None),
        TraceEvent::Policy {
            table: Nat,
            chain: "POSTROUTING".into(),
            accept: true,
        },
    ];
    assert_eq!(steps, want.iter().collect::<Vec<_>>());
    assert!(matches!(
        events[0],
        TraceEvent::Begin {
            origin: Origin::Received(1),
            ..
        }
    ));
    assert!(events.contains(&TraceEvent::Route(RouteEvent::Forward { dev: 2 })));
    let hooks: Vec<Hook> = events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Hook { hook, .. } => Some(*hook),
            _ => None,
        })
        .collect();
    assert_eq!(hooks, [Hook::Prerouting, Hook::Forward, Hook::Postrouting]);
    assert!(events.iter().any(|e| matches!(
        e,
        TraceEvent::Nat { hook: Hook::Prerouting, before, after }
            if before.dst == ROUTER && after.dst == CONTAINER && after.ports == Some((40000, 80))
    )));
}
