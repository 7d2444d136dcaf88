//! Properties of the packet path that must hold for any input: no panic
//! for any byte string, valid checksums on everything NAT rewrote (SCTP's
//! CRC32c and UDP-Lite's partial coverage included), and the reply
//! direction of a NATed flow restoring the original addresses.

mod common;

use palisade_engine::wire::checksum;
use palisade_engine::wire::crc32c;
use palisade_engine::wire::ipv4::{self, Ipv4Read};
use palisade_engine::wire::transport::{self, Summary, L4};
use palisade_engine::{Engine, Ingress, Outputs, Time};
use proptest::prelude::*;

const RULES: &str = "*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80
-A PREROUTING -i eth0 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.0.0.3:53
-A PREROUTING -i eth0 -p sctp -m sctp --dport 3868 -j DNAT --to-destination 10.0.0.4:2905
-A PREROUTING -i eth0 -p udplite -m multiport --dports 9000 -j DNAT --to-destination 10.0.0.5
-A POSTROUTING -s 10.0.0.0/24 -o eth0 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset
-A INPUT -p udp -j REJECT
COMMIT
";

fn engine() -> Engine {
    common::host(common::ETH0_ETH1, common::DEFAULT_ROUTE, RULES, 7).0
}

/// SCTP and UDP-Lite (include/uapi/linux/in.h).
const SCTP: u8 = 132;
const UDPLITE: u8 = 136;
/// The initiate tag of the SCTP INITs built here.
const INIT_TAG: u32 = 0x1234_5678;

/// A well-formed datagram from generated header fields. TCP: `flags`
/// and `ack`; SCTP: an INIT (flags 0x02) or an INIT_ACK with tag `ack`
/// (otherwise), `payload` as its parameters; UDP-Lite: a coverage of the
/// header alone for an odd payload, summed with protocol 17 as Linux's
/// conntrack verifies it (udplite_error); ICMP: an echo with id `sport`.
#[allow(clippy::too_many_arguments)]
fn datagram(
    proto: u8,
    src: u32,
    dst: u32,
    sport: u16,
    dport: u16,
    flags: u8,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    let l4_len = match proto {
        6 => 20,
        SCTP => 32,
        _ => 8,
    } + payload.len();
    let l4_len = if proto == SCTP {
        l4_len.next_multiple_of(4)
    } else {
        l4_len
    };
    let total = 20 + l4_len;
    let mut p = vec![0u8; total];
    ipv4::write_header(&mut p, 0, total as u16, 1, false, 64, proto, src, dst);
    let l4 = &mut p[20..];
    match proto {
        6 => {
            l4[0..2].copy_from_slice(&sport.to_be_bytes());
            l4[2..4].copy_from_slice(&dport.to_be_bytes());
            l4[8..12].copy_from_slice(&ack.to_be_bytes());
            l4[12] = 5 << 4;
            l4[13] = flags;
            l4[14..16].copy_from_slice(&64240u16.to_be_bytes());
            l4[20..].copy_from_slice(payload);
        }
        17 => {
            l4[0..2].copy_from_slice(&sport.to_be_bytes());
            l4[2..4].copy_from_slice(&dport.to_be_bytes());
            l4[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            l4[8..].copy_from_slice(payload);
        }
        SCTP => {
            l4[0..2].copy_from_slice(&sport.to_be_bytes());
            l4[2..4].copy_from_slice(&dport.to_be_bytes());
            let init = flags == 0x02;
            let vtag = if init { 0 } else { ack };
            l4[4..8].copy_from_slice(&vtag.to_be_bytes());
            l4[12] = if init { 1 } else { 2 };
            l4[14..16].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
            let tag = if init { INIT_TAG } else { 0x0bad_cafe };
            l4[16..20].copy_from_slice(&tag.to_be_bytes());
            l4[20..24].copy_from_slice(&65536u32.to_be_bytes());
            l4[24..28].copy_from_slice(&[0, 10, 0, 10]);
            l4[28..32].copy_from_slice(&1u32.to_be_bytes());
            l4[32..32 + payload.len()].copy_from_slice(payload);
            crc32c::fill_sctp_checksum(l4);
            return p;
        }
        UDPLITE => {
            l4[0..2].copy_from_slice(&sport.to_be_bytes());
            l4[2..4].copy_from_slice(&dport.to_be_bytes());
            let cscov: u16 = if payload.len() % 2 == 1 { 8 } else { 0 };
            l4[4..6].copy_from_slice(&cscov.to_be_bytes());
            l4[8..].copy_from_slice(payload);
            let sum = udplite_sum(src, dst, l4);
            l4[6..8].copy_from_slice(&(if sum == 0 { 0xffff } else { sum }).to_be_bytes());
            return p;
        }
        _ => {
            l4[0] = 8;
            l4[4..6].copy_from_slice(&sport.to_be_bytes());
            l4[8..].copy_from_slice(payload);
        }
    }
    transport::fill_l4_checksum(&mut p);
    p
}

/// UDP-Lite's checksum over its coverage, with the pseudo-header
/// protocol conntrack verifies with (17).
fn udplite_sum(src: u32, dst: u32, l4: &[u8]) -> u16 {
    let cov = match usize::from(u16::from_be_bytes([l4[4], l4[5]])) {
        0 => l4.len(),
        c => c.min(l4.len()),
    };
    let pseudo = checksum::pseudo_header(src.to_be_bytes(), dst.to_be_bytes(), 17, l4.len() as u16);
    checksum::fold(checksum::add(pseudo, &l4[..cov]))
}

fn checksums_valid(p: &[u8]) -> bool {
    if ipv4::validate(p).is_err() {
        return false;
    }
    let l4 = &p[p.header_len()..];
    match p.protocol() {
        SCTP => crc32c::sctp_checksum_ok(l4),
        UDPLITE => udplite_sum(p.src(), p.dst(), l4) == 0,
        _ => transport::l4_checksum_ok(p),
    }
}

/// The ports of a TCP, UDP, UDP-Lite or SCTP packet.
fn ports(p: &[u8]) -> (u16, u16) {
    let l4 = &p[p.header_len()..];
    (
        u16::from_be_bytes([l4[0], l4[1]]),
        u16::from_be_bytes([l4[2], l4[3]]),
    )
}

const CLIENT: u32 = 0xcb00_7107; // 203.0.113.7
const ROUTER: u32 = 0xc633_6401; // 198.51.100.1
const INSIDE: u32 = 0x0a00_0002; // 10.0.0.2

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), local in any::<bool>(), iface in 1u16..3) {
        let mut e = engine();
        let mut out = Outputs::default();
        let ingress = if local { Ingress::Local } else { Ingress::Interface(iface) };
        e.process(Time::from_secs(100), ingress, bytes, &mut out);
        let _ = e.conntrack_listing(Time::from_secs(101));
    }

    #[test]
    fn header_shaped_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 20..120), proto in prop_oneof![Just(1u8), Just(6u8), Just(17u8), Just(SCTP), Just(UDPLITE), any::<u8>()]) {
        // A valid-looking IPv4 header over random content reaches the
        // trackers and NAT, not just the header check.
        bytes[0] = 0x45;
        let len = bytes.len() as u16;
        bytes[2..4].copy_from_slice(&len.to_be_bytes());
        bytes[9] = proto;
        bytes[12..16].copy_from_slice(&CLIENT.to_be_bytes());
        bytes[16..20].copy_from_slice(&ROUTER.to_be_bytes());
        bytes[10..12].copy_from_slice(&[0, 0]);
        let c = palisade_engine::wire::checksum::of(&bytes[..20]);
        bytes[10..12].copy_from_slice(&c.to_be_bytes());
        let mut e = engine();
        let mut out = Outputs::default();
        e.process(Time::from_secs(100), Ingress::Interface(1), bytes, &mut out);
        for (_, p) in &out.packets {
            prop_assert!(ipv4::validate(p).is_ok());
        }
    }

    #[test]
    fn nat_keeps_checksums_and_replies_restore_the_tuple(
        proto in prop_oneof![Just(6u8), Just(17u8), Just(1u8), Just(SCTP), Just(UDPLITE)],
        sport in 1024u16..65535,
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        outbound in any::<bool>(),
    ) {
        let mut e = engine();
        let mut out = Outputs::default();
        let now = Time::from_secs(100);
        // Outbound: an inside host through MASQUERADE; inbound: a client
        // to a published port (DNAT).
        if !outbound && proto == 1 {
            // A ping to the router is answered, not forwarded.
            return Ok(());
        }
        let (first, ingress, back_ingress) = if outbound {
            (datagram(proto, INSIDE, CLIENT, sport, 443, 0x02, 0, &payload), 2, 1)
        } else {
            let dport = match proto {
                17 => 5353,
                SCTP => 3868,
                UDPLITE => 9000,
                _ => 8080,
            };
            (datagram(proto, CLIENT, ROUTER, sport, dport, 0x02, 0, &payload), 1, 2)
        };
        let orig = Summary::read(&first);
        let orig_bytes = first.clone();
        e.process(now, Ingress::Interface(ingress), first, &mut out);
        for (_, p) in &out.packets {
            prop_assert!(checksums_valid(p), "forwarded packet has a bad checksum: {:02x?}", p);
        }
        prop_assert_eq!(out.packets.len(), 1, "the first packet was not forwarded");
        let (_, fwd) = out.packets[0].clone();
        let f = Summary::read(&fwd);
        // The answer, from where the packet went, to where it came from.
        let (rs, rd) = match f.l4 {
            L4::Tcp(h) => (h.dport, h.sport),
            L4::Udp { sport, dport } => (dport, sport),
            L4::Icmp { rest, .. } => (u16::from_be_bytes([rest[0], rest[1]]), 0),
            L4::Other => {
                let (s, d) = ports(&fwd);
                (d, s)
            }
        };
        let reply_proto_flags = 0x12;
        // A SYN/ACK acknowledging the SYN (sequence 0, plus its payload);
        // for SCTP, an INIT_ACK carrying the INIT's tag.
        let ack = if proto == SCTP { INIT_TAG } else { 1 + payload.len() as u32 };
        let mut reply = datagram(proto, f.dst, f.src, rs, rd, reply_proto_flags, ack, &[]);
        if proto == 1 {
            reply[20] = 0; // echo reply
            transport::fill_l4_checksum(&mut reply);
        }
        out.clear();
        e.process(now + Time::from_millis(30), Ingress::Interface(back_ingress), reply, &mut out);
        prop_assert_eq!(out.packets.len(), 1, "the reply was not forwarded");
        let back = &out.packets[0].1;
        prop_assert!(checksums_valid(back), "reply has a bad checksum");
        let b = Summary::read(back);
        prop_assert_eq!((b.src, b.dst), (orig.dst, orig.src));
        match (b.l4, orig.l4) {
            (L4::Tcp(x), L4::Tcp(y)) => prop_assert_eq!((x.sport, x.dport), (y.dport, y.sport)),
            (L4::Udp { sport, dport }, L4::Udp { sport: s2, dport: d2 }) => prop_assert_eq!((sport, dport), (d2, s2)),
            (L4::Icmp { rest: r1, .. }, L4::Icmp { rest: r2, .. }) => prop_assert_eq!(&r1[..2], &r2[..2]),
            _ => {
                let ((bs, bd), (os, od)) = (ports(back), ports(&orig_bytes));
                prop_assert_eq!((bs, bd), (od, os));
            }
        }
        prop_assert_eq!(back.protocol(), proto);
    }
}
