//! The forwarding path allocates nothing per packet: packets of an
//! established, NATed connection through a Docker-style ruleset (TCP), and
//! of an SCTP association through DNAT with a port change (the chunk walk,
//! `-m sctp`, the CRC32c recomputed), are processed with the heap
//! untouched (counted by a wrapping allocator).

#[path = "common/alloc_count.rs"]
mod alloc_count;
mod common;

use palisade_engine::wire::ipv4;
use palisade_engine::wire::transport;
use palisade_engine::{Ingress, Outputs, Time};

const RULES: &str = "*nat
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
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
";

#[allow(clippy::too_many_arguments)]
fn tcp(
    src: u32,
    dst: u32,
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    out: &mut Vec<u8>,
) {
    out.clear();
    out.resize(40, 0);
    ipv4::write_header(out, 0, 40, 1, true, 64, 6, src, dst);
    let t = &mut out[20..];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    transport::fill_l4_checksum(out);
}

#[test]
fn forwarding_does_not_allocate() {
    established_tcp_through_docker_nat();
    established_sctp_through_dnat();
}

fn established_tcp_through_docker_nat() {
    let (mut e, ifs) = common::host(common::ETH0_DOCKER0, common::DEFAULT_ROUTE, RULES, 1);
    let (eth0, docker0) = (ifs[0], ifs[1]);

    let (client, router, container) = (0xcb00_7107, 0xc633_6401, 0xac11_0002);
    let mut out = Outputs::default();
    let mut buf = Vec::with_capacity(2048);
    let mut now = Time::from_secs(1000);
    // Handshake: SYN in, SYN/ACK back, ACK in.
    for (ingress, (s, d, sp, dp, f, seq, ack)) in [
        (eth0, (client, router, 40000, 8080, 0x02, 1000, 0)),
        (docker0, (container, client, 80, 40000, 0x12, 7000, 1001)),
        (eth0, (client, router, 40000, 8080, 0x10, 1001, 7001)),
    ] {
        tcp(s, d, sp, dp, f, seq, ack, &mut buf);
        out.clear();
        e.process(
            now,
            Ingress::Interface(ingress),
            std::mem::take(&mut buf),
            &mut out,
        );
        assert_eq!(out.packets.len(), 1, "handshake packet not forwarded");
        buf = out.packets.pop().map(|(_, b)| b).unwrap_or_default();
        now = now + Time::from_millis(1);
    }
    // Established traffic both ways, the buffers passed around.
    let before = alloc_count::allocations();
    let (seq_c, seq_s) = (1001u32, 7001u32);
    for i in 0..2000 {
        let from_client = i % 2 == 0;
        if from_client {
            tcp(client, router, 40000, 8080, 0x10, seq_c, seq_s, &mut buf);
        } else {
            tcp(container, client, 80, 40000, 0x10, seq_s, seq_c, &mut buf);
        }
        let ingress = if from_client { eth0 } else { docker0 };
        out.clear();
        e.process(
            now,
            Ingress::Interface(ingress),
            std::mem::take(&mut buf),
            &mut out,
        );
        assert_eq!(out.packets.len(), 1, "packet {i} not forwarded");
        buf = out.packets.pop().map(|(_, b)| b).unwrap_or_default();
        now = now + Time::from_millis(1);
    }
    let allocated = alloc_count::allocations() - before;
    assert_eq!(
        allocated, 0,
        "the forwarding path allocated {allocated} times for 2000 packets"
    );
}

const SCTP_RULES: &str = "*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -p sctp -m sctp --dport 3868 --chunk-types any INIT,DATA -j DNAT --to-destination 172.17.0.3:2905
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -d 172.17.0.3/32 -p sctp -m sctp --dport 2905 -j ACCEPT
COMMIT
";

/// An SCTP packet with one chunk (`ty`, with `value` of 16 bytes) and
/// the right CRC32c.
#[allow(clippy::too_many_arguments)]
fn sctp(
    src: u32,
    dst: u32,
    sport: u16,
    dport: u16,
    vtag: u32,
    ty: u8,
    value: [u8; 16],
    out: &mut Vec<u8>,
) {
    out.clear();
    out.resize(52, 0);
    ipv4::write_header(out, 0, 52, 1, true, 64, 132, src, dst);
    let s = &mut out[20..];
    s[0..2].copy_from_slice(&sport.to_be_bytes());
    s[2..4].copy_from_slice(&dport.to_be_bytes());
    s[4..8].copy_from_slice(&vtag.to_be_bytes());
    s[12] = ty;
    s[14..16].copy_from_slice(&20u16.to_be_bytes());
    s[16..32].copy_from_slice(&value);
    palisade_engine::wire::crc32c::fill_sctp_checksum(s);
}

/// An INIT or INIT_ACK value with initiate tag `tag`.
fn init_value(tag: u32) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[0..4].copy_from_slice(&tag.to_be_bytes());
    v[4..8].copy_from_slice(&65536u32.to_be_bytes());
    v[8..12].copy_from_slice(&[0, 10, 0, 10]);
    v[12..16].copy_from_slice(&1u32.to_be_bytes());
    v
}

fn established_sctp_through_dnat() {
    let (mut e, ifs) = common::host(common::ETH0_DOCKER0, common::DEFAULT_ROUTE, SCTP_RULES, 1);
    let (eth0, docker0) = (ifs[0], ifs[1]);

    let (client, router, server) = (0xcb00_7107, 0xc633_6401, 0xac11_0003);
    let (ctag, stag) = (0x1111_1111, 0x2222_2222);
    let mut out = Outputs::default();
    let mut buf = Vec::with_capacity(2048);
    let mut now = Time::from_secs(1000);
    // INIT, INIT_ACK, COOKIE_ECHO, COOKIE_ACK.
    for (ingress, (s, d, sp, dp, vtag, ty, value)) in [
        (eth0, (client, router, 5000, 3868, 0, 1, init_value(ctag))),
        (
            docker0,
            (server, client, 2905, 5000, ctag, 2, init_value(stag)),
        ),
        (eth0, (client, router, 5000, 3868, stag, 10, [0xc0; 16])),
        (docker0, (server, client, 2905, 5000, ctag, 11, [0; 16])),
    ] {
        sctp(s, d, sp, dp, vtag, ty, value, &mut buf);
        out.clear();
        e.process(
            now,
            Ingress::Interface(ingress),
            std::mem::take(&mut buf),
            &mut out,
        );
        assert_eq!(out.packets.len(), 1, "handshake packet not forwarded");
        buf = out.packets.pop().map(|(_, b)| b).unwrap_or_default();
        now = now + Time::from_millis(1);
    }
    // DATA and SACK-shaped chunks both ways (type 0 and 3).
    let before = alloc_count::allocations();
    for i in 0..2000 {
        let from_client = i % 2 == 0;
        if from_client {
            sctp(client, router, 5000, 3868, stag, 0, [7; 16], &mut buf);
        } else {
            sctp(server, client, 2905, 5000, ctag, 3, [0; 16], &mut buf);
        }
        let ingress = if from_client { eth0 } else { docker0 };
        out.clear();
        e.process(
            now,
            Ingress::Interface(ingress),
            std::mem::take(&mut buf),
            &mut out,
        );
        assert_eq!(out.packets.len(), 1, "packet {i} not forwarded");
        buf = out.packets.pop().map(|(_, b)| b).unwrap_or_default();
        now = now + Time::from_millis(1);
    }
    let allocated = alloc_count::allocations() - before;
    assert_eq!(
        allocated, 0,
        "the SCTP forwarding path allocated {allocated} times for 2000 packets"
    );
}
