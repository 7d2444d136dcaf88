//! What the engine's integration tests share: a host built from
//! interfaces, routes and an iptables-restore text.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use palisade_engine::topology::IfIndex;
use palisade_engine::{Engine, Topology};
use palisade_rules::model::Ruleset;
use palisade_rules::restore::{restore, RestoreOptions};

/// The ruleset an iptables-restore text describes.
pub fn ruleset(text: &str) -> Ruleset {
    let mut rs = Ruleset::default();
    restore(&mut rs, text, RestoreOptions::default()).expect("rules");
    rs
}

/// A host with `interfaces` (name, address) and `routes`, running
/// `rules`, its random choices drawn from `seed`; also the interfaces'
/// indices, in the order given.
pub fn host(
    interfaces: &[(&str, &str)],
    routes: &[&str],
    rules: &str,
    seed: u64,
) -> (Engine, Vec<IfIndex>) {
    let mut topo = Topology::new();
    let indices = interfaces
        .iter()
        .map(|(name, addr)| topo.add_interface(name, Some(addr)).expect("interface"))
        .collect();
    for r in routes {
        topo.add_route(r).expect("route");
    }
    let mut e = Engine::new(topo, seed);
    e.load(&ruleset(rules)).expect("compile");
    (e, indices)
}

/// The outside interface and a private inside one.
pub const ETH0_ETH1: &[(&str, &str)] = &[("eth0", "198.51.100.1/24"), ("eth1", "10.0.0.1/24")];
/// The outside interface and Docker's bridge.
pub const ETH0_DOCKER0: &[(&str, &str)] =
    &[("eth0", "198.51.100.1/24"), ("docker0", "172.17.0.1/16")];
/// The outside interface's default route.
pub const DEFAULT_ROUTE: &[&str] = &["default via 198.51.100.254 dev eth0"];
