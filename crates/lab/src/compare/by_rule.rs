//! Comparison by rule, for scenarios where Linux chooses NAT bindings at
//! random (a port clash in `nf_nat_l4proto_unique_tuple`, `--random`,
//! `--random-fully`): the engine's choices come from its own seed, so the
//! bytes cannot agree, but the rule they follow can.
//!
//! Where the two outcomes differ in an address and port (or ICMP echo
//! id) of a packet or a conntrack tuple, both must lie in one of the
//! scenario's `random_nat` ranges, and the pairs must form one bijection
//! over the whole outcome: the binding Linux chose for a connection is
//! met wherever the engine's binding for it is, in both directions (the
//! answers, sent to whatever binding each side chose, must come back to
//! the original tuple byte for byte). Everything else is compared as
//! strictly as [`super::compare`] does: the other bytes of every packet,
//! whether its transport checksum is right (the checksum itself follows
//! from the rest), the order of what left each interface, the counters
//! and `send_errors`. Only the outer headers are looked into: a binding
//! quoted inside an ICMP error counts as a difference.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use palisade_engine::wire::{checksum, crc32c};

use super::{compare_rules_and_errors, describe_packets, multiset_diff, norm_ct, norm_out};
use crate::hex;
use crate::scenario::{Outcome, Output, ScenarioError};

/// A range of bindings Linux chooses from at random: addresses, and ports
/// (or ICMP echo ids) when given; written `ADDR[-ADDR][:PORT[-PORT]]` as
/// in `--to-source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatRange {
    addrs: (u32, u32),
    ports: Option<(u16, u16)>,
}

impl NatRange {
    pub fn parse(text: &str) -> Result<NatRange, ScenarioError> {
        let bad = |why: &str| ScenarioError(format!("random_nat `{text}`: {why}"));
        let (addrs, ports) = match text.split_once(':') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr = |s: &str| -> Result<u32, ScenarioError> {
            s.parse::<Ipv4Addr>()
                .map(u32::from)
                .map_err(|_| bad(&format!("`{s}` is not an IPv4 address")))
        };
        let port = |s: &str| -> Result<u16, ScenarioError> {
            s.parse::<u16>()
                .map_err(|_| bad(&format!("`{s}` is not a port")))
        };
        let addrs = match addrs.split_once('-') {
            Some((lo, hi)) => (addr(lo)?, addr(hi)?),
            None => (addr(addrs)?, addr(addrs)?),
        };
        let ports = match ports {
            None => None,
            Some(p) => Some(match p.split_once('-') {
                Some((lo, hi)) => (port(lo)?, port(hi)?),
                None => (port(p)?, port(p)?),
            }),
        };
        if addrs.0 > addrs.1 || ports.is_some_and(|(lo, hi)| lo > hi) {
            return Err(bad("a range runs backwards"));
        }
        Ok(NatRange { addrs, ports })
    }

    fn contains(&self, e: Endpoint) -> bool {
        let (lo, hi) = self.addrs;
        lo <= e.0
            && e.0 <= hi
            && match self.ports {
                None => true,
                Some((plo, phi)) => e.1.is_some_and(|p| plo <= p && p <= phi),
            }
    }
}

/// An address with its port or ICMP echo id, if the packet has one.
type Endpoint = (u32, Option<u16>);

fn show(e: Endpoint) -> String {
    match e.1 {
        Some(p) => format!("{}:{p}", Ipv4Addr::from(e.0)),
        None => Ipv4Addr::from(e.0).to_string(),
    }
}

/// The pairs of Linux's (A's) and the engine's (B's) random bindings met
/// so far: a bijection.
#[derive(Debug, Clone)]
struct Bindings<'r> {
    ranges: &'r [NatRange],
    a_to_b: HashMap<Endpoint, Endpoint>,
    b_to_a: HashMap<Endpoint, Endpoint>,
}

impl<'r> Bindings<'r> {
    fn new(ranges: &'r [NatRange]) -> Self {
        Bindings {
            ranges,
            a_to_b: HashMap::new(),
            b_to_a: HashMap::new(),
        }
    }

    fn random(&self, e: Endpoint) -> bool {
        self.ranges.iter().any(|r| r.contains(e))
    }

    /// Accepts A's endpoint `ea` where B has `eb`: the same outside the
    /// ranges; inside, both in one range and consistent with every pair
    /// met before.
    fn pair(&mut self, ea: Endpoint, eb: Endpoint) -> Result<(), String> {
        if !self.random(ea) && !self.random(eb) {
            return if ea == eb {
                Ok(())
            } else {
                Err(format!(
                    "{} vs {}: not a binding of a random_nat range",
                    show(ea),
                    show(eb)
                ))
            };
        }
        if !self.ranges.iter().any(|r| r.contains(ea) && r.contains(eb)) {
            return Err(format!(
                "{} vs {}: not both in one random_nat range",
                show(ea),
                show(eb)
            ));
        }
        match (self.a_to_b.get(&ea), self.b_to_a.get(&eb)) {
            (None, None) => {
                self.a_to_b.insert(ea, eb);
                self.b_to_a.insert(eb, ea);
                Ok(())
            }
            (Some(&x), Some(&y)) if x == eb && y == ea => Ok(()),
            (x, y) => Err(format!(
                "{} vs {}: inconsistent with earlier bindings ({} was {}, {} was {})",
                show(ea),
                show(eb),
                show(ea),
                x.map_or("unseen".into(), |e| show(*e)),
                show(eb),
                y.map_or("unseen".into(), |e| show(*e)),
            )),
        }
    }

    /// B's endpoint as A's name for it.
    fn to_a(&self, eb: Endpoint) -> Endpoint {
        self.b_to_a.get(&eb).copied().unwrap_or(eb)
    }
}

/// ICMP query types and answers: they carry an id (bytes 4-5).
fn icmp_has_id(ty: u8) -> bool {
    matches!(ty, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18)
}

/// Where the transport fields of an IPv4 packet are, as far as present.
#[derive(Debug, Clone, Copy)]
struct Layout {
    hl: usize,
    proto: u8,
    /// Ports at `hl` and `hl + 2` (TCP, UDP, UDP-Lite, SCTP).
    ports: bool,
    /// An ICMP echo-style id at `hl + 4`.
    icmp_id: bool,
}

fn layout(p: &[u8]) -> Option<Layout> {
    if p.len() < 20 || p[0] >> 4 != 4 {
        return None;
    }
    let hl = usize::from(p[0] & 0x0f) * 4;
    if hl < 20 || hl > p.len() {
        return None;
    }
    let proto = p[9];
    let first = u16::from_be_bytes([p[6], p[7]]) & 0x1fff == 0;
    let l4 = p.len() - hl;
    Some(Layout {
        hl,
        proto,
        ports: first && matches!(proto, 6 | 17 | 132 | 136) && l4 >= 4,
        icmp_id: first && proto == 1 && l4 >= 8 && icmp_has_id(p[hl]),
    })
}

fn be16(p: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([p[at], p[at + 1]])
}

fn addr_at(p: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]])
}

/// Source and destination endpoints.
fn endpoints(p: &[u8], l: &Layout) -> (Endpoint, Endpoint) {
    let (sp, dp) = if l.ports {
        (Some(be16(p, l.hl)), Some(be16(p, l.hl + 2)))
    } else if l.icmp_id {
        let id = be16(p, l.hl + 4);
        (Some(id), Some(id))
    } else {
        (None, None)
    };
    ((addr_at(p, 12), sp), (addr_at(p, 16), dp))
}

fn set_endpoints(p: &mut [u8], l: &Layout, src: Endpoint, dst: Endpoint) {
    p[12..16].copy_from_slice(&src.0.to_be_bytes());
    p[16..20].copy_from_slice(&dst.0.to_be_bytes());
    if l.ports {
        if let (Some(s), Some(d)) = (src.1, dst.1) {
            p[l.hl..l.hl + 2].copy_from_slice(&s.to_be_bytes());
            p[l.hl + 2..l.hl + 4].copy_from_slice(&d.to_be_bytes());
        }
    } else if l.icmp_id {
        if let Some(id) = src.1 {
            p[l.hl + 4..l.hl + 6].copy_from_slice(&id.to_be_bytes());
        }
    }
}

/// The transport checksum field (offset and length), when the packet is
/// a first fragment holding it.
fn checksum_field(p: &[u8], l: &Layout) -> Option<(usize, usize)> {
    if u16::from_be_bytes([p[6], p[7]]) & 0x1fff != 0 {
        return None;
    }
    let (off, len) = match l.proto {
        6 => (16, 2),
        17 | 136 => (6, 2),
        132 => (8, 4),
        1 => (2, 2),
        _ => return None,
    };
    (p.len() >= l.hl + off + len).then_some((l.hl + off, len))
}

/// Whether the transport checksum is right (`None`: no checksum to look
/// at). UDP's zero is "none". UDP-Lite is judged twice, summed as RFC
/// 3828 says and as Linux's conntrack sums it (protocol 17 in the
/// pseudo-header, `udplite_error`), so that a packet right either way
/// must stay so.
fn checksum_ok(p: &[u8], l: &Layout) -> Option<(bool, bool)> {
    checksum_field(p, l)?;
    let seg = &p[l.hl..];
    let pseudo = |proto: u8| {
        let len = u16::try_from(seg.len()).unwrap_or(u16::MAX);
        let src = [p[12], p[13], p[14], p[15]];
        let dst = [p[16], p[17], p[18], p[19]];
        checksum::pseudo_header(src, dst, proto, len)
    };
    let right = match l.proto {
        6 => checksum::fold(checksum::add(pseudo(6), seg)) == 0,
        17 if seg[6] == 0 && seg[7] == 0 => true,
        17 => checksum::fold(checksum::add(pseudo(17), seg)) == 0,
        136 => {
            let cov = match usize::from(be16(seg, 4)) {
                0 => seg.len(),
                c => c.min(seg.len()),
            };
            let rfc = checksum::fold(checksum::add(pseudo(136), &seg[..cov])) == 0;
            let conntrack = checksum::fold(checksum::add(pseudo(17), &seg[..cov])) == 0;
            return Some((rfc, conntrack));
        }
        132 => crc32c::sctp_checksum_ok(seg),
        _ => checksum::of(seg) == 0,
    };
    Some((right, right))
}

/// Compares A's packet `x` with B's `y`, learning the bindings they show.
fn compare_packet(b: &mut Bindings, x: &str, y: &str) -> Result<(), String> {
    let (Some(mut p), Some(mut q)) = (hex::decode(x), hex::decode(y)) else {
        return if x == y {
            Ok(())
        } else {
            Err("undecodable packets differ".into())
        };
    };
    let (Some(lp), Some(lq)) = (layout(&p), layout(&q)) else {
        return if p == q {
            Ok(())
        } else {
            Err("not IPv4, and different".into())
        };
    };
    for v in [&mut p, &mut q] {
        v[4..6].fill(0);
        v[10..12].fill(0);
    }
    if p.len() != q.len() || lp.hl != lq.hl || lp.proto != lq.proto {
        return Err("different lengths or protocols".into());
    }
    let (ps, pd) = endpoints(&p, &lp);
    let (qs, qd) = endpoints(&q, &lq);
    if lp.icmp_id {
        // One id for both ends: a side outside the ranges compares its
        // address, and the id must then follow from the other side.
        let mut paired = false;
        for (ea, eb) in [(ps, qs), (pd, qd)] {
            if b.random(ea) || b.random(eb) {
                b.pair(ea, eb)?;
                paired = true;
            } else if ea.0 != eb.0 {
                return Err(format!("{} vs {}", show(ea), show(eb)));
            }
        }
        if !paired && ps.1 != qs.1 {
            return Err(format!("ICMP id {:?} vs {:?}", ps.1, qs.1));
        }
    } else {
        b.pair(ps, qs)?;
        b.pair(pd, qd)?;
    }
    let (vp, vq) = (checksum_ok(&p, &lp), checksum_ok(&q, &lq));
    if vp != vq {
        return Err(format!("transport checksum right: A {vp:?}, B {vq:?}"));
    }
    set_endpoints(&mut q, &lq, ps, pd);
    if let Some((at, len)) = checksum_field(&p, &lp) {
        p[at..at + len].fill(0);
        q[at..at + len].fill(0);
    }
    match p.iter().zip(&q).position(|(u, v)| u != v) {
        None => Ok(()),
        Some(at) => Err(format!("first difference at byte {at}")),
    }
}

/// What left each interface, in order.
fn by_interface(outs: &[Output]) -> Vec<(&str, Vec<&str>)> {
    let mut v: Vec<(&str, Vec<&str>)> = Vec::new();
    for o in outs {
        match v.iter_mut().find(|(i, _)| *i == o.out) {
            Some((_, l)) => l.push(&o.hex),
            None => v.push((&o.out, vec![&o.hex])),
        }
    }
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// The endpoints of one conntrack tuple: the token indices of its
/// addresses and of its ports or ICMP id.
#[derive(Debug, Clone, Copy, Default)]
struct TupleAt {
    src: Option<usize>,
    dst: Option<usize>,
    sport: Option<usize>,
    dport: Option<usize>,
    id: Option<usize>,
}

fn tuples(tokens: &[String]) -> Vec<TupleAt> {
    let mut out: Vec<TupleAt> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let Some((k, _)) = t.split_once('=') else {
            continue;
        };
        if k == "src" {
            out.push(TupleAt::default());
        }
        let Some(cur) = out.last_mut() else { continue };
        match k {
            "src" => cur.src = Some(i),
            "dst" => cur.dst = Some(i),
            "sport" => cur.sport = Some(i),
            "dport" => cur.dport = Some(i),
            "id" => cur.id = Some(i),
            _ => {}
        }
    }
    out
}

fn value<T: std::str::FromStr>(tokens: &[String], at: Option<usize>) -> Option<T> {
    tokens.get(at?)?.split_once('=')?.1.parse().ok()
}

fn set_value(tokens: &mut [String], at: Option<usize>, v: impl std::fmt::Display) {
    if let Some(t) = at.and_then(|i| tokens.get_mut(i)) {
        if let Some((k, _)) = t.split_once('=') {
            *t = format!("{k}={v}");
        }
    }
}

/// A tuple's source and destination endpoints.
fn tuple_endpoints(tokens: &[String], t: &TupleAt) -> Option<(Endpoint, Endpoint)> {
    let src: Ipv4Addr = value(tokens, t.src)?;
    let dst: Ipv4Addr = value(tokens, t.dst)?;
    let (sp, dp) = match t.id {
        Some(_) => {
            let id = value(tokens, t.id);
            (id, id)
        }
        None => (value(tokens, t.sport), value(tokens, t.dport)),
    };
    Some(((u32::from(src), sp), (u32::from(dst), dp)))
}

fn set_tuple_endpoints(tokens: &mut [String], t: &TupleAt, src: Endpoint, dst: Endpoint) {
    set_value(tokens, t.src, Ipv4Addr::from(src.0));
    set_value(tokens, t.dst, Ipv4Addr::from(dst.0));
    if let Some(id) = t.id {
        // One id: whichever end is a binding names it.
        if let Some(v) = dst.1.or(src.1) {
            set_value(tokens, Some(id), v);
        }
    } else {
        if let Some(v) = src.1 {
            set_value(tokens, t.sport, v);
        }
        if let Some(v) = dst.1 {
            set_value(tokens, t.dport, v);
        }
    }
}

/// B's conntrack row with B's bindings renamed to A's.
fn renamed(b: &Bindings, row: &str) -> String {
    let mut tokens: Vec<String> = row.split(' ').map(str::to_string).collect();
    for t in tuples(&tokens) {
        if let Some((s, d)) = tuple_endpoints(&tokens, &t) {
            let (s2, d2) = (b.to_a(s), b.to_a(d));
            // An ICMP tuple's id comes from the end that is a binding.
            let (s2, d2) = if t.id.is_some() && s2 != s {
                (s2, (d2.0, s2.1))
            } else {
                (s2, d2)
            };
            set_tuple_endpoints(&mut tokens, &t, s2, d2);
        }
    }
    tokens.join(" ")
}

/// Learns the bindings that would make B's row `rb` A's `ra`.
fn pair_rows(b: &mut Bindings, ra: &str, rb: &str) -> Result<(), String> {
    let ta: Vec<String> = ra.split(' ').map(str::to_string).collect();
    let tb: Vec<String> = rb.split(' ').map(str::to_string).collect();
    if ta.len() != tb.len() {
        return Err("different rows".into());
    }
    let (xa, xb) = (tuples(&ta), tuples(&tb));
    if xa.len() != xb.len() {
        return Err("different rows".into());
    }
    for (u, v) in xa.iter().zip(&xb) {
        let (Some((sa, da)), Some((sb, db))) = (tuple_endpoints(&ta, u), tuple_endpoints(&tb, v))
        else {
            continue;
        };
        for (ea, eb) in [(sa, sb), (da, db)] {
            if ea != eb || b.random(ea) || b.random(eb) {
                if u.id.is_some() && !b.random(ea) && !b.random(eb) && ea.0 == eb.0 {
                    // The id of an ICMP tuple's other end.
                    continue;
                }
                b.pair(ea, eb)?;
            }
        }
    }
    Ok(())
}

/// The conntrack listings by rule: B's rows renamed by the bindings the
/// packets showed; rows still apart are paired where bindings (new or
/// known) explain them.
fn compare_conntrack(b: &mut Bindings, a_text: &str, b_text: &str) -> Option<String> {
    let ca = norm_ct(a_text);
    let mut cb: Vec<String> = norm_ct(b_text).iter().map(|r| renamed(b, r)).collect();
    cb.sort();
    let (only_a, only_b) = multiset_diff(&ca, &cb);
    let mut left_b: Vec<&String> = only_b;
    let mut unexplained_a = Vec::new();
    for ra in only_a {
        let found = left_b.iter().position(|rb| {
            let mut trial = b.clone();
            pair_rows(&mut trial, ra, rb).is_ok() && renamed(&trial, rb) == **ra && {
                *b = trial;
                true
            }
        });
        match found {
            Some(k) => {
                left_b.remove(k);
            }
            None => unexplained_a.push(ra),
        }
    }
    if unexplained_a.is_empty() && left_b.is_empty() {
        return None;
    }
    let mut msg = String::from("conntrack (by rule):");
    for r in unexplained_a {
        msg.push_str(&format!("\n  only in A: {r}"));
    }
    for r in left_b {
        msg.push_str(&format!("\n  only in B: {r}"));
    }
    Some(msg)
}

/// The differences between Linux's outcome `a` and the engine's `b` when
/// the bindings in `ranges` are Linux's random choices; empty when they
/// agree by rule.
pub fn compare_by_rule(a: &Outcome, b: &Outcome, ranges: &[NatRange]) -> Vec<String> {
    let mut d = Vec::new();
    let mut bindings = Bindings::new(ranges);
    if a.outputs.len() != b.outputs.len() {
        d.push(format!(
            "outputs: {} inputs vs {}",
            a.outputs.len(),
            b.outputs.len()
        ));
    }
    for (i, (x, y)) in a.outputs.iter().zip(&b.outputs).enumerate() {
        let (gx, gy) = (by_interface(x), by_interface(y));
        let shape = |g: &[(&str, Vec<&str>)]| -> Vec<(String, usize)> {
            g.iter().map(|(i, l)| (i.to_string(), l.len())).collect()
        };
        if shape(&gx) != shape(&gy) {
            d.push(format!(
                "packet {i}: {}",
                describe_packets(&norm_out(x), &norm_out(y))
            ));
            continue;
        }
        for ((itf, px), (_, py)) in gx.iter().zip(&gy) {
            for (k, (hx, hy)) in px.iter().zip(py).enumerate() {
                if let Err(e) = compare_packet(&mut bindings, hx, hy) {
                    d.push(format!(
                        "packet {i}: {itf} #{k} (by rule): {e}\n  A: {hx}\n  B: {hy}"
                    ));
                }
            }
        }
    }
    compare_rules_and_errors(a, b, &mut d);
    if let Some(msg) = compare_conntrack(&mut bindings, &a.conntrack, &b.conntrack) {
        d.push(msg);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(o: &str, spec: &str) -> Output {
        let bytes = crate::pkt::build(spec).unwrap();
        Output {
            out: o.into(),
            hex: hex::encode(&bytes),
        }
    }

    fn ranges() -> Vec<NatRange> {
        vec![NatRange::parse("198.51.100.1:1024-65535").unwrap()]
    }

    /// A client's flow SNATed to `port`, its answer, the answer un-NATed.
    fn outcome(port: u16, other: u16, ct_port: u16) -> Outcome {
        Outcome {
            outputs: vec![
                vec![out("eth0", &format!("udp 198.51.100.1:{port} > 203.0.113.5:53 ttl=63"))],
                vec![out("eth0", &format!("udp 198.51.100.1:{other} > 203.0.113.5:53 ttl=63"))],
                vec![out("eth1", "udp 203.0.113.5:53 > 10.0.0.2:5000 ttl=63")],
            ],
            save: "*nat\n:POSTROUTING ACCEPT [2:56]\nCOMMIT\n".into(),
            conntrack: format!(
                "ipv4     2 udp      17 29 src=10.0.0.2 dst=203.0.113.5 sport=5000 dport=53 src=203.0.113.5 dst=198.51.100.1 sport=53 dport={ct_port} [ASSURED] mark=0 use=1\n"
            ),
            ..Outcome::default()
        }
    }

    #[test]
    fn ranges_parse_as_to_source_does() {
        assert!(NatRange::parse("10.0.0.1-10.0.0.9:5-6").is_ok());
        assert!(NatRange::parse("10.0.0.1").is_ok());
        for (bad, why) in [
            ("10.0.0.9-10.0.0.1", "backwards"),
            ("10.0.0.1:9-5", "backwards"),
            ("10.0.0.x", "not an IPv4"),
            ("10.0.0.1:port", "not a port"),
        ] {
            let e = NatRange::parse(bad).unwrap_err();
            assert!(e.0.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn random_bindings_agree_when_consistent() {
        let a = outcome(31000, 31001, 31000);
        let b = outcome(45000, 2000, 45000);
        assert_eq!(compare_by_rule(&a, &b, &ranges()), Vec::<String>::new());
        // Strictly they differ.
        assert!(!super::super::compare(&a, &b).is_empty());
    }

    #[test]
    fn inconsistent_or_out_of_range_bindings_differ() {
        let a = outcome(31000, 31001, 31000);
        // The same binding twice on B's side for two bindings of A's.
        let d = compare_by_rule(&a, &outcome(45000, 45000, 45000), &ranges());
        assert!(d.iter().any(|m| m.contains("inconsistent")), "{d:?}");
        // The conntrack entry names another binding than the packets.
        let d = compare_by_rule(&a, &outcome(45000, 2000, 2001), &ranges());
        assert!(d.iter().any(|m| m.starts_with("conntrack")), "{d:?}");
        // Out of the range.
        let d = compare_by_rule(&a, &outcome(1000, 2000, 1000), &ranges());
        assert!(d.iter().any(|m| m.contains("not both in one")), "{d:?}");
        // Anything else still counts, e.g. the TTL.
        let mut c = outcome(45000, 2000, 45000);
        c.outputs[2] = vec![out("eth1", "udp 203.0.113.5:53 > 10.0.0.2:5000 ttl=62")];
        let d = compare_by_rule(&a, &c, &ranges());
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("first difference at byte 8"), "{d:?}");
        let mut c = outcome(45000, 2000, 45000);
        c.save = "*nat\n:POSTROUTING ACCEPT [3:84]\nCOMMIT\n".into();
        assert_eq!(compare_by_rule(&a, &c, &ranges()).len(), 1);
    }

    #[test]
    fn a_wrong_checksum_is_a_difference() {
        let a = outcome(31000, 31001, 31000);
        let mut b = outcome(45000, 2000, 45000);
        b.outputs[0] = vec![out(
            "eth0",
            "udp 198.51.100.1:45000 > 203.0.113.5:53 ttl=63 csum=7",
        )];
        let d = compare_by_rule(&a, &b, &ranges());
        assert!(d.iter().any(|m| m.contains("checksum right")), "{d:?}");
    }

    #[test]
    fn udplite_checksums_keep_their_convention() {
        let mk = |port: u16, sumproto: u8| Outcome {
            outputs: vec![vec![out(
                "eth0",
                &format!("udplite 198.51.100.1:{port} > 203.0.113.5:7 sumproto={sumproto} data=01"),
            )]],
            ..Outcome::default()
        };
        assert_eq!(
            compare_by_rule(&mk(31000, 17), &mk(45000, 17), &ranges()),
            Vec::<String>::new()
        );
        let d = compare_by_rule(&mk(31000, 17), &mk(45000, 136), &ranges());
        assert!(d.iter().any(|m| m.contains("checksum right")), "{d:?}");
    }

    #[test]
    fn icmp_ids_follow_their_binding() {
        let r = vec![NatRange::parse("198.51.100.1:0-65535").unwrap()];
        let mk = |id: u16| {
            Outcome {
            outputs: vec![
                vec![out("eth0", &format!("icmp 198.51.100.1 > 203.0.113.5 echo-request id={id} ttl=63"))],
                vec![out("eth1", "icmp 203.0.113.5 > 10.0.0.2 echo-reply id=7 ttl=63")],
            ],
            conntrack: format!("ipv4     2 icmp     1 29 src=10.0.0.2 dst=203.0.113.5 type=8 code=0 id=7 src=203.0.113.5 dst=198.51.100.1 type=0 code=0 id={id} mark=0 use=1\n"),
            ..Outcome::default()
        }
        };
        assert_eq!(
            compare_by_rule(&mk(100), &mk(9000), &r),
            Vec::<String>::new()
        );
    }
}
