//! The host's interfaces, addresses and routes, and the routing decisions
//! Linux makes from them (net/ipv4/fib_frontend.c, route.c).
//!
//! Interfaces are layer 3 (TUN-like: no MAC, no ARP). Index 0 is always
//! `lo` with 127.0.0.1/8, as in every network namespace.

use std::fmt;

/// An interface's position in [`Topology::interfaces`] (0 = `lo`).
pub type IfIndex = u16;

pub const LOOPBACK: IfIndex = 0;

/// The MTU of a TUN device Linux creates (drivers/net/tun.c).
pub const DEFAULT_MTU: usize = 1500;
/// The loopback device's MTU (drivers/net/loopback.c).
pub const LOOPBACK_MTU: usize = 65536;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    /// The one address (`ip addr add A/LEN`), if any.
    pub addr: Option<IfAddr>,
    pub mtu: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfAddr {
    pub local: u32,
    pub prefix_len: u8,
}

impl IfAddr {
    pub fn mask(self) -> u32 {
        prefix_mask(self.prefix_len)
    }
    pub fn network(self) -> u32 {
        self.local & self.mask()
    }
    /// The subnet broadcast Linux adds for prefixes shorter than /31
    /// (fib_add_ifaddr; the all-zeros network address is no broadcast).
    pub fn broadcast(self) -> Option<u32> {
        (self.prefix_len < 31).then(|| self.network() | !self.mask())
    }
}

/// A route in the main table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub net: u32,
    pub prefix_len: u8,
    pub gateway: Option<u32>,
    /// The device (`lo` for the types without a next hop).
    pub dev: IfIndex,
    pub kind: RouteType,
}

/// A main-table route's type (`RTN_*` of `ip route add TYPE PREFIX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteType {
    Unicast,
    /// `unreachable`: EHOSTUNREACH.
    Unreachable,
    /// `prohibit`: EACCES.
    Prohibit,
    /// `blackhole`: EINVAL.
    Blackhole,
}

/// Why a destination has no way out (`fib_props[type].error`, or no
/// matching route at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRoute {
    /// No route: ENETUNREACH.
    Net,
    /// An `unreachable` route: EHOSTUNREACH.
    Host,
    /// A `prohibit` route: EACCES.
    Prohibit,
    /// A `blackhole` route, or a destination in 0/8: EINVAL.
    Invalid,
}

/// What an output route lookup with no source given decides
/// (`ip_route_output_key_hash_rcu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutRoute {
    /// The device the packet leaves by (`lo` for a local destination).
    pub dev: IfIndex,
    /// Delivered here (RTCF_LOCAL), a broadcast, or plain unicast.
    pub kind: OutKind,
    /// The source address the route gives (its preferred source, or
    /// `inet_select_addr`); 0 when there is none.
    pub src: u32,
    pub next_hop: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutKind {
    Local,
    Broadcast,
    Unicast,
}

/// The kind of a destination, as the FIB types it (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrType {
    Unicast,
    Local,
    Broadcast,
    Multicast,
}

/// Where a packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteDecision {
    /// Delivered to this host (a local address or a broadcast).
    Local { broadcast: bool },
    /// Sent out of `dev` to `next_hop` (the gateway or the destination).
    Forward { dev: IfIndex, next_hop: u32 },
    /// No way there (no route, or a route of an error type).
    Unreachable(NoRoute),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyError(pub String);

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TopologyError {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    interfaces: Vec<Interface>,
    /// Main table: connected routes and configured ones.
    routes: Vec<Route>,
}

pub fn prefix_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

pub fn is_multicast(a: u32) -> bool {
    a >> 28 == 0xe
}
pub fn is_loopback(a: u32) -> bool {
    a >> 24 == 127
}
/// `ipv4_is_zeronet`: 0.0.0.0 alone since Linux 5.3 (the rest of 0/8 is
/// unicast).
pub fn is_zeronet(a: u32) -> bool {
    a == 0
}
/// `ipv4_is_local_multicast`: 224.0.0.0/24.
pub fn is_local_multicast(a: u32) -> bool {
    a >> 8 == 0x00e0_0000
}
/// IGMP_ALL_HOSTS, which every interface joins (`ip_mc_up`).
pub const ALL_HOSTS: u32 = 0xe000_0001;
pub const LIMITED_BROADCAST: u32 = u32::MAX;

/// Parses `A.B.C.D/LEN` (or a bare address, /32).
pub fn parse_cidr(text: &str) -> Result<(u32, u8), TopologyError> {
    let bad = || TopologyError(format!("bad address \"{text}\""));
    let (a, len) = match text.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().map_err(|_| bad())?),
        None => (text, 32),
    };
    if len > 32 {
        return Err(bad());
    }
    let ip: std::net::Ipv4Addr = a.parse().map_err(|_| bad())?;
    Ok((u32::from(ip), len))
}

impl Topology {
    /// A host with only `lo`.
    pub fn new() -> Topology {
        Topology {
            interfaces: vec![Interface {
                name: "lo".into(),
                addr: Some(IfAddr {
                    local: 0x7f00_0001,
                    prefix_len: 8,
                }),
                mtu: LOOPBACK_MTU,
            }],
            routes: Vec::new(),
        }
    }

    /// `ip link set DEV mtu N` on a TUN device: 68 to 65535
    /// (drivers/net/tun.c `MIN_MTU`, `MAX_MTU`).
    pub fn set_mtu(&mut self, idx: IfIndex, mtu: usize) -> Result<(), TopologyError> {
        if idx == LOOPBACK || !(68..=65535).contains(&mtu) {
            return Err(TopologyError(format!(
                "MTU {mtu} is not one a TUN device takes (68-65535)"
            )));
        }
        match self.interfaces.get_mut(usize::from(idx)) {
            Some(itf) => {
                itf.mtu = mtu;
                Ok(())
            }
            None => Err(TopologyError(format!("no interface {idx}"))),
        }
    }

    /// Adds an interface (`ip link add` + `ip addr add`), with the
    /// connected route for its address.
    pub fn add_interface(
        &mut self,
        name: &str,
        addr: Option<&str>,
    ) -> Result<IfIndex, TopologyError> {
        if name.is_empty() || name.len() > 15 || self.index_of(name).is_some() {
            return Err(TopologyError(format!(
                "bad or duplicate interface name \"{name}\""
            )));
        }
        let idx = IfIndex::try_from(self.interfaces.len())
            .map_err(|_| TopologyError("too many interfaces".into()))?;
        let addr = match addr {
            Some(text) => {
                let (local, prefix_len) = parse_cidr(text)?;
                Some(IfAddr { local, prefix_len })
            }
            None => None,
        };
        self.interfaces.push(Interface {
            name: name.to_string(),
            addr,
            mtu: DEFAULT_MTU,
        });
        if let Some(a) = addr {
            // fib_add_ifaddr: the prefix route, unless it is a /32 of itself.
            if a.prefix_len < 32 {
                self.replace_route(Route {
                    net: a.network(),
                    prefix_len: a.prefix_len,
                    gateway: None,
                    dev: idx,
                    kind: RouteType::Unicast,
                });
            }
        }
        Ok(idx)
    }

    /// `ip route replace SPEC`: `[TYPE] PREFIX|default [via GW] [dev
    /// IFACE]`, TYPE one of `unicast`, `unreachable`, `prohibit` and
    /// `blackhole` (those three take no gateway or device).
    pub fn add_route(&mut self, spec: &str) -> Result<(), TopologyError> {
        let bad = |why: &str| TopologyError(format!("route \"{spec}\": {why}"));
        let mut words = spec.split_whitespace().peekable();
        let kind = match words.peek().copied() {
            Some("unicast") => Some(RouteType::Unicast),
            Some("unreachable") => Some(RouteType::Unreachable),
            Some("prohibit") => Some(RouteType::Prohibit),
            Some("blackhole") => Some(RouteType::Blackhole),
            _ => None,
        };
        if kind.is_some() {
            words.next();
        }
        let kind = kind.unwrap_or(RouteType::Unicast);
        let dest = words.next().ok_or_else(|| bad("empty"))?;
        let (net, prefix_len) = if dest == "default" {
            (0, 0)
        } else {
            parse_cidr(dest).map_err(|e| bad(&e.0))?
        };
        let (mut gateway, mut dev) = (None, None);
        while let Some(w) = words.next() {
            let v = words.next().ok_or_else(|| bad("missing value"))?;
            match w {
                "via" => gateway = Some(parse_cidr(v).map_err(|e| bad(&e.0))?.0),
                "dev" => dev = Some(self.index_of(v).ok_or_else(|| bad("no such device"))?),
                _ => return Err(bad("unknown keyword")),
            }
        }
        if kind != RouteType::Unicast {
            if gateway.is_some() || dev.is_some() {
                return Err(bad("a route of this type has no next hop"));
            }
            self.replace_route(Route {
                net: net & prefix_mask(prefix_len),
                prefix_len,
                gateway: None,
                dev: LOOPBACK,
                kind,
            });
            return Ok(());
        }
        let dev = match (dev, gateway) {
            (Some(d), _) => d,
            (None, Some(gw)) => match self.lookup_main(gw) {
                Some(r) if r.gateway.is_none() && r.kind == RouteType::Unicast => r.dev,
                _ => return Err(bad("gateway unreachable")),
            },
            (None, None) => return Err(bad("no device")),
        };
        if let Some(gw) = gateway {
            // Linux refuses a gateway not on a connected network of dev
            // (fib_check_nh: "Nexthop has invalid gateway").
            match self.lookup_main(gw) {
                Some(r) if r.gateway.is_none() && r.dev == dev && r.kind == RouteType::Unicast => {}
                _ => return Err(bad("nexthop has invalid gateway")),
            }
        }
        self.replace_route(Route {
            net: net & prefix_mask(prefix_len),
            prefix_len,
            gateway,
            dev,
            kind: RouteType::Unicast,
        });
        Ok(())
    }

    fn replace_route(&mut self, r: Route) {
        self.routes
            .retain(|o| !(o.net == r.net && o.prefix_len == r.prefix_len));
        self.routes.push(r);
        // Longest prefix first, so the first hit is the best.
        self.routes.sort_by_key(|r| std::cmp::Reverse(r.prefix_len));
    }

    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    pub fn interface(&self, idx: IfIndex) -> &Interface {
        &self.interfaces[usize::from(idx)]
    }

    pub fn index_of(&self, name: &str) -> Option<IfIndex> {
        self.interfaces
            .iter()
            .position(|i| i.name == name)
            .and_then(|p| IfIndex::try_from(p).ok())
    }

    fn lookup_main(&self, dst: u32) -> Option<&Route> {
        self.routes
            .iter()
            .find(|r| dst & prefix_mask(r.prefix_len) == r.net)
    }

    /// The local table's answer for `addr`: which interface owns it as a
    /// local address or broadcast (lo owns all of 127/8).
    pub fn local_table(&self, addr: u32) -> Option<(AddrType, IfIndex)> {
        let mut best: Option<(u8, AddrType, IfIndex)> = None;
        for (i, itf) in self.interfaces.iter().enumerate() {
            let Some(a) = itf.addr else { continue };
            let idx = i as IfIndex;
            let mut consider = |len: u8, ty: AddrType| {
                if best.is_none_or(|(l, _, _)| len > l) {
                    best = Some((len, ty, idx));
                }
            };
            if idx == LOOPBACK && addr & a.mask() == a.network() {
                // A loopback prefix is local as a whole (RTN_LOCAL route).
                consider(a.prefix_len, AddrType::Local);
            }
            if addr == a.local {
                consider(32, AddrType::Local);
            }
            if a.broadcast() == Some(addr) {
                consider(32, AddrType::Broadcast);
            }
        }
        best.map(|(_, t, i)| (t, i))
    }

    /// `inet_dev_addr_type`: the address's type, looked up in the local
    /// table (limited to `dev` when given, as `--limit-iface-*` does).
    pub fn addr_type(&self, addr: u32, dev: Option<IfIndex>) -> AddrType {
        if is_zeronet(addr) || addr == LIMITED_BROADCAST {
            return AddrType::Broadcast;
        }
        if is_multicast(addr) {
            return AddrType::Multicast;
        }
        match self.local_table(addr) {
            Some((t, owner)) if dev.is_none_or(|d| d == owner) => t,
            _ => AddrType::Unicast,
        }
    }

    /// Whether `addr` is one of this host's addresses.
    pub fn is_local(&self, addr: u32) -> bool {
        matches!(self.local_table(addr), Some((AddrType::Local, _)))
    }

    /// The route for a destination (local table first, then main).
    pub fn route(&self, dst: u32) -> RouteDecision {
        if dst == LIMITED_BROADCAST {
            return RouteDecision::Local { broadcast: true };
        }
        match self.local_table(dst) {
            Some((AddrType::Local, _)) => return RouteDecision::Local { broadcast: false },
            Some((AddrType::Broadcast, _)) => return RouteDecision::Local { broadcast: true },
            _ => {}
        }
        match self.main_route(dst) {
            Ok(r) => RouteDecision::Forward {
                dev: r.dev,
                next_hop: r.gateway.unwrap_or(dst),
            },
            Err(e) => RouteDecision::Unreachable(e),
        }
    }

    /// `fib_lookup` without policy rules: the local table's entry for
    /// `dst` (a local address or a broadcast, with the device that owns
    /// it), else the main table's route (`Unicast` with its device), else
    /// why there is none. Unlike [`Topology::route`], 255.255.255.255 is
    /// not special: no table holds it.
    pub fn fib_lookup(&self, dst: u32) -> Result<(AddrType, IfIndex), NoRoute> {
        if let Some(hit) = self.local_table(dst) {
            return Ok(hit);
        }
        self.main_route(dst).map(|r| (AddrType::Unicast, r.dev))
    }

    /// The main table's unicast route for `dst`, or why there is none
    /// (`fib_lookup`'s error for the error route types).
    fn main_route(&self, dst: u32) -> Result<&Route, NoRoute> {
        match self.lookup_main(dst) {
            None => Err(NoRoute::Net),
            Some(r) => match r.kind {
                RouteType::Unicast => Ok(r),
                RouteType::Unreachable => Err(NoRoute::Host),
                RouteType::Prohibit => Err(NoRoute::Prohibit),
                RouteType::Blackhole => Err(NoRoute::Invalid),
            },
        }
    }

    /// `ip_route_output_key` for a datagram this host sends to `dst`,
    /// with no source or device given.
    pub fn output_route(&self, dst: u32) -> Result<OutRoute, NoRoute> {
        if dst == 0 {
            // A zero destination is this host (ip_route_output_key_hash_rcu
            // sends it to loopback).
            return Ok(OutRoute {
                dev: LOOPBACK,
                kind: OutKind::Local,
                src: 0x7f00_0001,
                next_hop: dst,
            });
        }
        if dst != LIMITED_BROADCAST {
            match self.local_table(dst) {
                // The local route's preferred source is the address itself,
                // or 127.0.0.1 for the rest of 127/8; the packet goes
                // through loopback.
                Some((AddrType::Local, owner)) => {
                    let src = match self.interface(owner).addr {
                        Some(a) if owner == LOOPBACK && dst != a.local => a.local,
                        _ => dst,
                    };
                    return Ok(OutRoute {
                        dev: LOOPBACK,
                        kind: OutKind::Local,
                        src,
                        next_hop: dst,
                    });
                }
                // A subnet broadcast leaves by its interface, from that
                // interface's address (the broadcast route's prefsrc).
                Some((AddrType::Broadcast, owner)) => {
                    return Ok(OutRoute {
                        dev: owner,
                        kind: OutKind::Broadcast,
                        src: self.interface(owner).addr.map_or(0, |a| a.local),
                        next_hop: dst,
                    });
                }
                _ => {}
            }
        }
        let r = self.main_route(dst)?;
        let next_hop = r.gateway.unwrap_or(dst);
        // __mkroute_output: 255.255.255.255 is a broadcast on whatever
        // device the main table gives.
        let kind = if dst == LIMITED_BROADCAST {
            OutKind::Broadcast
        } else {
            OutKind::Unicast
        };
        Ok(OutRoute {
            dev: r.dev,
            kind,
            src: self.select_source(r.dev, next_hop).unwrap_or(0),
            next_hop,
        })
    }

    /// `inet_select_addr(dev, dst, RT_SCOPE_UNIVERSE)`: the source address
    /// for packets this host sends out of `dev` towards `dst`: dev's own
    /// address, else the first global address of another interface.
    pub fn select_source(&self, dev: IfIndex, _dst: u32) -> Option<u32> {
        if let Some(a) = self.interface(dev).addr {
            if dev != LOOPBACK || !is_loopback(a.local) {
                return Some(a.local);
            }
        }
        self.interfaces
            .iter()
            .filter_map(|i| i.addr)
            .find(|a| !is_loopback(a.local))
            .map(|a| a.local)
    }
}

impl Default for Topology {
    fn default() -> Self {
        Topology::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> u32 {
        parse_cidr(s).unwrap().0
    }

    #[test]
    fn fib_lookup_and_mtu() {
        let mut t = Topology::new();
        let eth0 = t.add_interface("eth0", Some("198.51.100.1/24")).unwrap();
        t.add_route("default via 198.51.100.254 dev eth0").unwrap();
        t.add_route("prohibit 10.0.0.0/8").unwrap();
        assert_eq!(
            t.fib_lookup(ip("198.51.100.1")),
            Ok((AddrType::Local, eth0))
        );
        assert_eq!(
            t.fib_lookup(ip("198.51.100.255")),
            Ok((AddrType::Broadcast, eth0))
        );
        assert_eq!(
            t.fib_lookup(ip("127.0.0.9")),
            Ok((AddrType::Local, LOOPBACK))
        );
        // No table holds the limited broadcast: the default route does.
        assert_eq!(t.fib_lookup(u32::MAX), Ok((AddrType::Unicast, eth0)));
        assert_eq!(t.fib_lookup(ip("10.1.1.1")), Err(NoRoute::Prohibit));
        t.set_mtu(eth0, 1400).unwrap();
        assert_eq!(t.interface(eth0).mtu, 1400);
        assert!(t.set_mtu(eth0, 67).is_err());
        assert!(t.set_mtu(LOOPBACK, 1500).is_err());
        assert!(t.set_mtu(9, 1500).is_err());
    }

    #[test]
    fn routes_and_types() {
        let mut t = Topology::new();
        let eth0 = t.add_interface("eth0", Some("198.51.100.1/24")).unwrap();
        let d0 = t.add_interface("docker0", Some("172.17.0.1/16")).unwrap();
        t.add_route("default via 198.51.100.254 dev eth0").unwrap();
        assert_eq!(
            t.route(ip("198.51.100.1")),
            RouteDecision::Local { broadcast: false }
        );
        assert_eq!(
            t.route(ip("198.51.100.255")),
            RouteDecision::Local { broadcast: true }
        );
        assert_eq!(
            t.route(ip("127.3.4.5")),
            RouteDecision::Local { broadcast: false }
        );
        assert_eq!(
            t.route(ip("172.17.0.2")),
            RouteDecision::Forward {
                dev: d0,
                next_hop: ip("172.17.0.2")
            }
        );
        assert_eq!(
            t.route(ip("8.8.8.8")),
            RouteDecision::Forward {
                dev: eth0,
                next_hop: ip("198.51.100.254")
            }
        );
        assert_eq!(t.addr_type(ip("172.17.0.1"), None), AddrType::Local);
        assert_eq!(t.addr_type(ip("172.17.0.1"), Some(eth0)), AddrType::Unicast);
        assert_eq!(t.addr_type(ip("198.51.100.0"), None), AddrType::Unicast);
        assert_eq!(t.addr_type(ip("0.0.0.0"), None), AddrType::Broadcast);
        assert_eq!(t.addr_type(ip("0.1.2.3"), None), AddrType::Unicast);
        assert_eq!(t.addr_type(ip("224.0.0.1"), None), AddrType::Multicast);
        assert!(t.add_route("10.0.0.0/8 via 9.9.9.9 dev eth0").is_err());
        assert!(t.add_route("10.0.0.0/8 dev nosuch").is_err());
        assert!(t.add_route("prohibit 10.0.0.0/8 dev eth0").is_err());
        t.add_route("unreachable 10.1.0.0/16").unwrap();
        t.add_route("prohibit 10.2.0.0/16").unwrap();
        t.add_route("blackhole 10.3.0.0/16").unwrap();
        assert_eq!(
            t.route(ip("10.1.2.3")),
            RouteDecision::Unreachable(NoRoute::Host)
        );
        assert_eq!(t.output_route(ip("10.2.2.3")), Err(NoRoute::Prohibit));
        assert_eq!(t.output_route(ip("10.3.2.3")), Err(NoRoute::Invalid));
        let local = t.output_route(ip("172.17.0.1")).unwrap();
        assert_eq!(
            (local.dev, local.kind, local.src),
            (LOOPBACK, OutKind::Local, ip("172.17.0.1"))
        );
        let lo = t.output_route(ip("127.1.2.3")).unwrap();
        assert_eq!(lo.src, ip("127.0.0.1"));
        let bcast = t.output_route(ip("172.17.255.255")).unwrap();
        assert_eq!(
            (bcast.dev, bcast.kind, bcast.src),
            (d0, OutKind::Broadcast, ip("172.17.0.1"))
        );
        let gw = t.output_route(ip("8.8.8.8")).unwrap();
        assert_eq!(
            (gw.dev, gw.kind, gw.src, gw.next_hop),
            (
                eth0,
                OutKind::Unicast,
                ip("198.51.100.1"),
                ip("198.51.100.254")
            )
        );
    }
}
