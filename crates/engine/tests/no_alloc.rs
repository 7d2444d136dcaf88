//! The forwarding path allocates nothing per packet: packets of an
//! established, NATed connection through a Docker-style ruleset are
//! processed with the heap untouched (counted by a wrapping allocator,
//! on the test's own thread only: the test harness's main thread may
//! allocate at any time, more so on a loaded machine).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use palisade_engine::wire::ipv4;
use palisade_engine::wire::transport;
use palisade_engine::{Engine, Ingress, Outputs, Time, Topology};
use palisade_rules::model::Ruleset;
use palisade_rules::restore::{restore, RestoreOptions};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's allocations are counted.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
fn established_forwarding_does_not_allocate() {
    let mut topo = Topology::new();
    let eth0 = topo
        .add_interface("eth0", Some("198.51.100.1/24"))
        .expect("eth0");
    let docker0 = topo
        .add_interface("docker0", Some("172.17.0.1/16"))
        .expect("docker0");
    topo.add_route("default via 198.51.100.254 dev eth0")
        .expect("route");
    let mut rs = Ruleset::default();
    restore(&mut rs, RULES, RestoreOptions::default()).expect("rules");
    let mut e = Engine::new(topo, 1);
    e.load(&rs).expect("compile");

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
    COUNTED.with(|c| c.set(true));
    let before = ALLOCATIONS.load(Ordering::Relaxed);
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
    let allocated = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(
        allocated, 0,
        "the forwarding path allocated {allocated} times for 2000 packets"
    );
}
