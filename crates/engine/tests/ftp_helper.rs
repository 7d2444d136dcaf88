//! The FTP helper under MASQUERADE with arbitrary command text: no panic,
//! every packet that leaves has right checksums and lengths, and both
//! ends stay in step through the sequence adjustment (each acknowledges
//! exactly what it received, and the router keeps passing their
//! segments).

mod common;

use palisade_engine::wire::ipv4::{self, Ipv4Read};
use palisade_engine::wire::transport;
use palisade_engine::{Engine, Ingress, Outputs, Time};
use proptest::prelude::*;

const RULES: &str = "*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -i eth1 -p tcp -m tcp --dport 21 -j ACCEPT
COMMIT
";

const CLIENT: u32 = 0x0a00_0002;
const SERVER: u32 = 0xc633_6402;
const ROUTER: u32 = 0xc633_6401;

fn engine() -> Engine {
    common::host(common::ETH0_ETH1, &[], RULES, 3).0
}

/// A TCP segment with right checksums.
fn segment(
    src: u32,
    dst: u32,
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    flags: u8,
    data: &[u8],
) -> Vec<u8> {
    let len = 40 + data.len();
    let mut p = vec![0u8; len];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    p[6] = 0x40;
    p[8] = 64;
    p[9] = 6;
    p[12..16].copy_from_slice(&src.to_be_bytes());
    p[16..20].copy_from_slice(&dst.to_be_bytes());
    p[20..22].copy_from_slice(&ports.0.to_be_bytes());
    p[22..24].copy_from_slice(&ports.1.to_be_bytes());
    p[24..28].copy_from_slice(&seq.to_be_bytes());
    p[28..32].copy_from_slice(&ack.to_be_bytes());
    p[32] = 0x50;
    p[33] = flags;
    p[34..36].copy_from_slice(&64240u16.to_be_bytes());
    p[40..].copy_from_slice(data);
    ipv4::Ipv4Write::fill_checksum(p.as_mut_slice());
    transport::fill_l4_checksum(&mut p);
    p
}

fn read32(p: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]])
}

/// One end: what it sends next, and what it has received (in the
/// sequence space it sees).
struct End {
    next: u32,
    rcv: u32,
}

/// Pieces FTP text is made of, so that commands, numbers and line ends
/// meet often.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "PORT ", "EPRT ", "227 ", "229 ", "port ", "(", ")", "|", "|||", "|1|", ",", ".", "10",
        "0", "2", "156", "65", "255", "198", "51", "100", "1", "x", " ", "\r\n", "\n", "\r",
    ])
}

/// Whole commands and answers the helper reads (and rewrites).
fn command() -> impl Strategy<Value = (bool, Vec<u8>)> {
    prop::sample::select(vec![
        (true, "PORT 10,0,0,2,156,65"),
        (true, "port 10,0,0,2,255,255"),
        (true, "EPRT |1|10.0.0.2|40020|"),
        (true, "EPRT !1!10.0.0.2!7!"),
        (false, "227 Entering Passive Mode (198,51,100,2,4,1)."),
        (false, "227 =198,51,100,2,4,2"),
        (false, "229 Entering Extended Passive Mode (|||6446|)"),
    ])
    .prop_map(|(c, t)| (c, t.as_bytes().to_vec()))
}

fn line() -> impl Strategy<Value = (bool, Vec<u8>)> {
    prop_oneof![
        command(),
        (any::<bool>(), prop::collection::vec(piece(), 1..12))
            .prop_map(|(from_client, parts)| (from_client, parts.concat().into_bytes())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn masqueraded_ftp_with_arbitrary_text(lines in prop::collection::vec(line(), 1..24)) {
        let mut e = engine();
        let mut out = Outputs::default();
        let mut t = Time::from_secs(100);
        let (c_ports, s_ports) = ((40000, 21), (21, 40000));
        let mut c = End { next: 1000, rcv: 0 };
        let mut s = End { next: 5000, rcv: 0 };
        let mut step = |e: &mut Engine, from_client: bool, flags: u8, c: &mut End, s: &mut End, data: &[u8]| {
            t = t + Time::from_millis(10);
            out.clear();
            let (pkt, iface) = if from_client {
                (segment(CLIENT, SERVER, c_ports, c.next, c.rcv, flags, data), 2)
            } else {
                (segment(SERVER, ROUTER, s_ports, s.next, s.rcv, flags, data), 1)
            };
            e.process(t, Ingress::Interface(iface), pkt, &mut out);
            let mut passed = false;
            for (_, p) in &out.packets {
                assert_eq!(usize::from(p.total_len()), p.len());
                assert!(ipv4::validate(p).is_ok());
                assert!(transport::l4_checksum_ok(p), "bad checksum: {p:02x?}");
                let dlen = (p.len() - 40) as u32 + u32::from(flags & 0x03 != 0);
                // The receiver takes what arrives as the next bytes.
                let end = if from_client { &mut s.rcv } else { &mut c.rcv };
                *end = read32(p, 24).wrapping_add(dlen);
                passed = true;
            }
            passed
        };
        // Handshake, then a line end each way so that commands are read.
        assert!(step(&mut e, true, 0x02, &mut c, &mut s, &[]));
        c.next += 1;
        assert!(step(&mut e, false, 0x12, &mut c, &mut s, &[]));
        s.next += 1;
        assert!(step(&mut e, true, 0x10, &mut c, &mut s, &[]));
        for (from_client, data) in [(false, &b"220 hi\r\n"[..]), (true, &b"USER a\r\n"[..])] {
            assert!(step(&mut e, from_client, 0x18, &mut c, &mut s, data));
            let me = if from_client { &mut c } else { &mut s };
            me.next = me.next.wrapping_add(data.len() as u32);
        }
        for (from_client, mut data) in lines {
            data.extend_from_slice(b"\r\n");
            // A segment the helper drops is sent again as a NOOP.
            if !step(&mut e, from_client, 0x18, &mut c, &mut s, &data) {
                prop_assert!(step(&mut e, from_client, 0x18, &mut c, &mut s, b"NOOP\r\n"));
                data = b"NOOP\r\n".to_vec();
            }
            let me = if from_client { &mut c } else { &mut s };
            me.next = me.next.wrapping_add(data.len() as u32);
            // The other end acknowledges: the router must pass it.
            prop_assert!(step(&mut e, !from_client, 0x10, &mut c, &mut s, &[]));
        }
    }
}
