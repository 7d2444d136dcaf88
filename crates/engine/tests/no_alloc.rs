//! The forwarding path allocates nothing per packet: packets of an
//! established, NATed connection through a Docker-style ruleset (TCP), and
//! of an SCTP association through DNAT with a port change (the chunk walk,
//! `-m sctp`, the CRC32c recomputed), are processed with the heap
//! untouched (counted by a wrapping allocator).

#[path = "common/alloc_count.rs"]
mod alloc_count;
mod common;

use common::Segment;
use palisade_engine::topology::IfIndex;
use palisade_engine::wire::ipv4;
use palisade_engine::{Engine, Ingress, Outputs, Time};

/// One flow's packets through an engine, the buffer passed around as a
/// forwarding dataplane would: each is built into the buffer the previous
/// one left in, and must leave by exactly one interface.
struct Forwarder {
    engine: Engine,
    out: Outputs,
    buf: Vec<u8>,
    now: Time,
}

impl Forwarder {
    fn new(engine: Engine) -> Forwarder {
        Forwarder {
            engine,
            out: Outputs::default(),
            buf: Vec::with_capacity(2048),
            now: Time::from_secs(1000),
        }
    }

    /// Sends what `build` writes into the buffer in on `ingress`.
    fn forward(&mut self, ingress: IfIndex, build: impl FnOnce(&mut Vec<u8>)) {
        build(&mut self.buf);
        self.out.clear();
        let pkt = std::mem::take(&mut self.buf);
        self.engine
            .process(self.now, Ingress::Interface(ingress), pkt, &mut self.out);
        assert_eq!(self.out.packets.len(), 1, "packet not forwarded");
        self.buf = self.out.packets.pop().map(|(_, b)| b).unwrap_or_default();
        self.now = self.now + Time::from_millis(1);
    }

    /// Forwards 2000 packets, alternately from the client's side (`next`
    /// told `true`) and the server's; `next` writes each into the buffer
    /// and says where it comes in. How many allocations that took.
    fn allocations_for_2000(
        &mut self,
        mut next: impl FnMut(bool, &mut Vec<u8>) -> IfIndex,
    ) -> usize {
        let before = alloc_count::allocations();
        for i in 0..2000 {
            let ingress = next(i % 2 == 0, &mut self.buf);
            self.forward(ingress, |_| {});
        }
        alloc_count::allocations() - before
    }
}

#[test]
fn forwarding_does_not_allocate() {
    established_tcp_through_docker_nat();
    established_sctp_through_dnat();
}

fn established_tcp_through_docker_nat() {
    let (e, ifs) = common::host(
        common::ETH0_DOCKER0,
        common::DEFAULT_ROUTE,
        common::DOCKER_RULES,
        1,
    );
    let (eth0, docker0) = (ifs[0], ifs[1]);
    let (client, router, container) = (0xcb00_7107, 0xc633_6401, 0xac11_0002);
    let to_router = |flags, seq, ack| Segment {
        src: client,
        dst: router,
        sport: 40000,
        dport: 8080,
        flags,
        seq,
        ack,
    };
    let to_client = |flags, seq, ack| Segment {
        src: container,
        dst: client,
        sport: 80,
        dport: 40000,
        flags,
        seq,
        ack,
    };
    let mut f = Forwarder::new(e);
    // Handshake: SYN in, SYN/ACK back, ACK in.
    f.forward(eth0, |b| to_router(0x02, 1000, 0).write(b));
    f.forward(docker0, |b| to_client(0x12, 7000, 1001).write(b));
    f.forward(eth0, |b| to_router(0x10, 1001, 7001).write(b));
    // Established traffic both ways.
    let allocated = f.allocations_for_2000(|from_client, buf| {
        if from_client {
            to_router(0x10, 1001, 7001).write(buf);
            eth0
        } else {
            to_client(0x10, 7001, 1001).write(buf);
            docker0
        }
    });
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
    let (e, ifs) = common::host(common::ETH0_DOCKER0, common::DEFAULT_ROUTE, SCTP_RULES, 1);
    let (eth0, docker0) = (ifs[0], ifs[1]);
    let (client, router, server) = (0xcb00_7107, 0xc633_6401, 0xac11_0003);
    let (ctag, stag) = (0x1111_1111, 0x2222_2222);
    let mut f = Forwarder::new(e);
    // INIT, INIT_ACK, COOKIE_ECHO, COOKIE_ACK.
    f.forward(eth0, |b| {
        sctp(client, router, 5000, 3868, 0, 1, init_value(ctag), b)
    });
    f.forward(docker0, |b| {
        sctp(server, client, 2905, 5000, ctag, 2, init_value(stag), b)
    });
    f.forward(eth0, |b| {
        sctp(client, router, 5000, 3868, stag, 10, [0xc0; 16], b)
    });
    f.forward(docker0, |b| {
        sctp(server, client, 2905, 5000, ctag, 11, [0; 16], b)
    });
    // DATA and SACK-shaped chunks both ways (type 0 and 3).
    let allocated = f.allocations_for_2000(|from_client, buf| {
        if from_client {
            sctp(client, router, 5000, 3868, stag, 0, [7; 16], buf);
            eth0
        } else {
            sctp(server, client, 2905, 5000, ctag, 3, [0; 16], buf);
            docker0
        }
    });
    assert_eq!(
        allocated, 0,
        "the SCTP forwarding path allocated {allocated} times for 2000 packets"
    );
}
