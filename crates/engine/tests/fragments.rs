//! Fragments through the whole engine: hostile streams never panic, the
//! reassembly queues stay within `ipfrag_high_thresh` (plus one
//! fragment), and whatever leaves is a sound datagram that fits its MTU.

mod common;

use palisade_engine::wire::ipv4::{self, Ipv4Write};
use palisade_engine::{Engine, Ingress, Outputs, Time};
use proptest::prelude::*;

const CONNTRACK_RULES: &str = "*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.0.0.2:53
-A PREROUTING -i eth0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80
-A POSTROUTING -s 10.0.0.0/24 -o eth0 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A INPUT -p udp -j REJECT
COMMIT
";

const PLAIN_RULES: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -f
-A INPUT -p udp -j REJECT
COMMIT
";

const ADDRS: [u32; 5] = [
    0x0a00_0002, // inside host
    0x0a00_0001, // this host, inside
    0xc633_6401, // this host, outside
    0xc633_6402, // outside host
    0xc633_6403,
];

fn engine(conntrack: bool, high_thresh: u64) -> Engine {
    let rules = if conntrack {
        CONNTRACK_RULES
    } else {
        PLAIN_RULES
    };
    let (mut e, _) = common::host(common::ETH0_ETH1, &[], rules, 11);
    e.set_sysctl("net.ipv4.ipfrag_low_thresh", "0")
        .expect("low");
    e.set_sysctl("net.ipv4.ipfrag_high_thresh", &high_thresh.to_string())
        .expect("high");
    e.set_sysctl("net.ipv4.ipfrag_time", "3").expect("time");
    e
}

/// A fragment: source, destination, protocol, ID, offset (8-byte
/// units), data length, MF, DF, where it comes from (0 local, 1 eth0,
/// 2 eth1), milliseconds later, and a seed for its bytes.
type Spec = (usize, usize, u8, u16, u16, usize, bool, bool, u16, u16, u64);

fn spec() -> impl Strategy<Value = Spec> {
    (
        0..ADDRS.len(),
        0..ADDRS.len(),
        prop_oneof![Just(1u8), Just(6u8), Just(17u8), Just(47u8)],
        0u16..6,
        prop_oneof![0u16..6, 180u16..190, 8100u16..8192],
        prop_oneof![0usize..64, 1400usize..1600, 20000usize..33000],
        any::<bool>(),
        any::<bool>(),
        0u16..3,
        prop_oneof![Just(0u16), 0u16..2000],
        any::<u64>(),
    )
}

fn build(s: &Spec) -> Vec<u8> {
    let (src, dst, proto, id, off, len, mf, df, _, _, seed) = *s;
    let total = 20 + len;
    let mut p = vec![0u8; total];
    let mut x = seed | 1;
    for b in &mut p[20..] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    ipv4::write_header(
        &mut p,
        (seed >> 60) as u8 & 3,
        total as u16,
        id + 1,
        df,
        64,
        proto,
        ADDRS[src],
        ADDRS[dst],
    );
    let field = off | if mf { 0x2000 } else { 0 } | if df { 0x4000 } else { 0 };
    p[6..8].copy_from_slice(&field.to_be_bytes());
    p.fill_checksum();
    p
}

fn sound(e: &Engine, dev: u16, p: &[u8]) -> bool {
    ipv4::validate(p).is_ok_and(|n| n == p.len()) && p.len() <= e.topology().interface(dev).mtu
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn fragment_streams_stay_bounded(
        specs in prop::collection::vec(spec(), 1..80),
        conntrack in any::<bool>(),
        high in prop_oneof![Just(4u64 << 20), 0u64..100_000],
    ) {
        let mut e = engine(conntrack, high);
        let mut out = Outputs::default();
        let mut now = Time::from_secs(1000);
        for s in &specs {
            now = now + Time::from_millis(u64::from(s.9));
            let ingress = match s.8 {
                0 => Ingress::Local,
                i => Ingress::Interface(i),
            };
            out.clear();
            e.process(now, ingress, build(s), &mut out);
            prop_assert!(e.defrag().mem() <= e.defrag().bound());
            for (dev, p) in &out.packets {
                prop_assert!(sound(&e, *dev, p), "unsound output {:02x?}", p);
            }
        }
        // Every queue expires.
        out.clear();
        e.process(now + Time::from_secs(10), Ingress::Interface(1), build(&(3, 2, 17, 0, 0, 8, false, false, 1, 0, 1)), &mut out);
        prop_assert_eq!(e.defrag().mem(), 0);
        prop_assert_eq!(e.defrag().queue_count(), 0);
    }
}

/// A flood of lone fragments (a new datagram each) fills the queues up
/// to the high threshold and no further; they all expire in time.
#[test]
fn a_flood_of_lone_fragments_is_bounded() {
    let mut e = engine(true, 4 << 20);
    let mut out = Outputs::default();
    let start = Time::from_secs(1000);
    for i in 0..20_000u32 {
        let mut p = build(&(3, 0, 17, 0, 1, 1400, true, false, 1, 0, u64::from(i)));
        // A different source (11.0.0.0/16) and ID for each.
        p[4..6].copy_from_slice(&(i as u16).to_be_bytes());
        p[12..16].copy_from_slice(&(0x0b00_0000 | i).to_be_bytes());
        p.fill_checksum();
        out.clear();
        e.process(
            start + Time::from_millis(u64::from(i / 10)),
            Ingress::Interface(1),
            p,
            &mut out,
        );
        assert!(out.packets.is_empty());
        assert!(e.defrag().mem() <= e.defrag().bound());
    }
    let held = e.defrag().queue_count();
    assert!(held > 1000 && held < 3000, "{held} queues");
    out.clear();
    e.process(
        start + Time::from_secs(60),
        Ingress::Interface(1),
        build(&(3, 2, 17, 0, 0, 8, false, false, 1, 0, 1)),
        &mut out,
    );
    assert_eq!(e.defrag().queue_count(), 0);
    assert_eq!(e.defrag().mem(), 0);
}
