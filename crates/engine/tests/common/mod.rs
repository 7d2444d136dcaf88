//! What the engine's integration tests share: a host built from
//! interfaces, routes and an iptables-restore text.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use palisade_engine::topology::IfIndex;
use palisade_engine::wire::{ipv4, transport};
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

/// Docker's ruleset for one container (172.17.0.2) publishing port 80 as
/// 8080, and an SSH port the host refuses with a reset.
pub const DOCKER_RULES: &str = "*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
";

/// A TCP segment's header fields (no options, no data).
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    pub src: u32,
    pub dst: u32,
    pub sport: u16,
    pub dport: u16,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
}

impl Segment {
    /// Writes the datagram (DF, TTL 64, window 64240, checksums right)
    /// into `out`, reusing its buffer.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.clear();
        out.resize(40, 0);
        ipv4::write_header(out, 0, 40, 1, true, 64, 6, self.src, self.dst);
        let t = &mut out[20..];
        t[0..2].copy_from_slice(&self.sport.to_be_bytes());
        t[2..4].copy_from_slice(&self.dport.to_be_bytes());
        t[4..8].copy_from_slice(&self.seq.to_be_bytes());
        t[8..12].copy_from_slice(&self.ack.to_be_bytes());
        t[12] = 5 << 4;
        t[13] = self.flags;
        t[14..16].copy_from_slice(&64240u16.to_be_bytes());
        transport::fill_l4_checksum(out);
    }

    /// The datagram in a buffer of its own.
    pub fn bytes(&self) -> Vec<u8> {
        let mut p = Vec::new();
        self.write(&mut p);
        p
    }
}
