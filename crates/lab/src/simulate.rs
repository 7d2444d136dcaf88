//! Runs a scenario through palisade's engine, producing the same
//! [`Outcome`] the live kernel gives (`palisade simulate`).

use palisade_engine::{Engine, Ingress, LogRecord, Outputs, Time, Topology};
use palisade_rules::model::Ruleset;
use palisade_rules::restore::{restore, RestoreOptions};
use palisade_rules::save::save;

use crate::scenario::{Host, LogEntry, Outcome, Output, Scenario, ScenarioError, SendError, Via};

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 0x7061_6c69_7361_6465;

/// When the first packet arrives: far enough from zero that the kernel's
/// "60 s in the past" starting points of rate state are representable.
pub const START: Time = Time(3_600_000_000_000);
/// A packet without `at` follows the previous one this much later (the
/// kernel harness waits until output has been quiet for 30 ms).
const GAP: Time = Time(30_000_000);

fn err(msg: impl Into<String>) -> ScenarioError {
    ScenarioError(msg.into())
}

/// Builds the host a scenario describes.
pub fn build_engine(sc: &Scenario, seed: u64) -> Result<Engine, ScenarioError> {
    let mut rs = Ruleset::default();
    restore(&mut rs, &sc.rules, RestoreOptions::default()).map_err(|e| {
        err(format!(
            "rules: {}",
            e.message("iptables-restore").trim_end()
        ))
    })?;
    build_host(&sc.host(), &rs, seed)
}

/// Builds `host` with the ruleset `rs`.
pub fn build_host(host: &Host, rs: &Ruleset, seed: u64) -> Result<Engine, ScenarioError> {
    let mut topo = Topology::new();
    for itf in &host.interfaces {
        let idx = topo
            .add_interface(&itf.name, itf.addr.as_deref())
            .map_err(|e| err(format!("interface {}: {e}", itf.name)))?;
        if let Some(mtu) = itf.mtu {
            topo.set_mtu(idx, mtu as usize)
                .map_err(|e| err(format!("interface {}: {e}", itf.name)))?;
        }
    }
    for r in &host.routes {
        topo.add_route(r).map_err(|e| err(e.to_string()))?;
    }
    let mut engine = Engine::new(topo, seed);
    engine.load(rs).map_err(|e| err(format!("rules: {e}")))?;
    for (name, value) in &host.sysctl.0 {
        engine.set_sysctl(name, value).map_err(err)?;
    }
    Ok(engine)
}

/// When each packet of `sc` arrives: at `START` plus its `at`, or
/// [`GAP`] after the packet before it.
pub fn arrival_times(sc: &Scenario) -> Vec<Time> {
    let mut now = START;
    let mut times = Vec::with_capacity(sc.packets.len());
    for (i, p) in sc.packets.iter().enumerate() {
        now = match p.at {
            Some(at) => START + Time::from_secs_f64(at),
            None if i == 0 => START,
            None => now + GAP,
        };
        times.push(now);
    }
    times
}

/// Where packet `i` enters the engine.
pub(crate) fn ingress_of(engine: &Engine, i: usize, via: &Via) -> Result<Ingress, ScenarioError> {
    match via {
        Via::Local => Ok(Ingress::Local),
        Via::In(name) => match engine.topology().index_of(name) {
            Some(k) => Ok(Ingress::Interface(k)),
            None => Err(err(format!("packet {i}: no interface {name}"))),
        },
    }
}

/// Runs every packet of the scenario through a fresh engine.
pub fn simulate(sc: &Scenario, seed: u64) -> Result<Outcome, ScenarioError> {
    let mut engine = build_engine(sc, seed)?;
    let mut outputs = Vec::with_capacity(sc.packets.len());
    let mut send_errors = Vec::new();
    let mut log = Vec::new();
    let mut out = Outputs::default();
    let mut now = START;
    for ((i, p), at) in sc.packets.iter().enumerate().zip(arrival_times(sc)) {
        now = at;
        let ingress = ingress_of(&engine, i, &p.via)?;
        out.clear();
        let bytes = p
            .bytes_after(&outputs)
            .map_err(|e| err(format!("packet {i}: {e}")))?;
        engine.process(now, ingress, bytes, &mut out);
        log.extend(out.log.drain(..).map(|r| match r {
            LogRecord::Log { level, line } => LogEntry::Log {
                packet: i,
                level,
                line,
            },
            LogRecord::Nflog { group, prefix, len } => LogEntry::Nflog {
                packet: i,
                group,
                prefix,
                len,
            },
        }));
        if let Some(e) = out.send_error {
            send_errors.push(SendError {
                packet: i,
                errno: e.name().to_string(),
            });
        }
        outputs.push(
            out.packets
                .iter()
                .map(|(dev, bytes)| Output {
                    out: engine.topology().interface(*dev).name.clone(),
                    hex: crate::hex::encode(bytes),
                })
                .collect(),
        );
    }
    let end = now + GAP;
    Ok(Outcome {
        outputs,
        save: save(&engine.ruleset(), None, true, None),
        conntrack: engine.conntrack_listing(end),
        expect: engine.expect_listing(end),
        send_errors,
        log,
    })
}
