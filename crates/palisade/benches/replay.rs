//! Replay throughput: a 100,000-packet capture of Docker traffic (many
//! concurrent flows: handshakes, requests, responses and closes to a
//! published port, masqueraded connections and DNS queries from the
//! container) replayed with (a) Docker's ruleset, read at run time from
//! `../shared/corpus/moby`, and (b) the same with 1,000 rules on distinct
//! source addresses and ports ahead of it in FORWARD, which every
//! forwarded packet walks. For each it prints
//!
//! - engine packets/s: `Engine::process` alone, the packets in memory;
//! - replay packets/s: `palisade replay`'s work in-process, reading the
//!   pcapng file, decoding, writing the output pcapng;
//! - kernel packets/s, the baseline of the same run: the same packets
//!   written into TUN devices of a network namespace with the same
//!   interfaces, routes and rules (palisade-lab's `kernel::packet_rate`,
//!   root only), and whether the kernel's rule counters afterwards are
//!   the engine's.
//!
//!     cargo bench -p palisade --bench replay

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use palisade_capture::write::PacketInfo;
use palisade_capture::{linktype, Direction, PcapngWriter, Reader};
use palisade_engine::wire::{ipv4, transport};
use palisade_engine::{Ingress, Outputs, Time};
use palisade_lab::compare::compare;
use palisade_lab::replay::{replay, Options, Summary};
use palisade_lab::scenario::{Host, Outcome, Scenario};
use palisade_lab::simulate::{build_engine, START};
use palisade_rules::save::save;

const PACKETS: usize = 100_000;
/// Flows open at once.
const CONCURRENT: usize = 256;
/// Capture time between two packets (100,000 packets: 1 s).
const SPACING_NS: u64 = 10_000;
/// Docker's default bridge: masquerade on, inter-container traffic on,
/// the userland proxy on (hairpin off), container port 80 published as
/// 8080.
const MOBY: &str = "hairpin-false_internal-false_icc-true_masq-true_snat-false_gwm-nat_bindlh-false__iptables.golden";

const HOST: u32 = 0xc633_6401; // 198.51.100.1, eth0
const CONTAINER: u32 = 0xc0a8_0002; // 192.168.0.2, br-dummy
const ETH0: usize = 0;
const BRIDGE: usize = 1;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const FIN_ACK: u8 = 0x11;
const SYN_ACK: u8 = 0x12;

#[allow(clippy::too_many_arguments)]
fn tcp(
    src: u32,
    sport: u16,
    dst: u32,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    data: usize,
) -> Vec<u8> {
    let len = 40 + data;
    let mut p = vec![0u8; len];
    ipv4::write_header(
        &mut p,
        0,
        len as u16,
        (seq >> 16) as u16,
        true,
        64,
        6,
        src,
        dst,
    );
    p[20..22].copy_from_slice(&sport.to_be_bytes());
    p[22..24].copy_from_slice(&dport.to_be_bytes());
    p[24..28].copy_from_slice(&seq.to_be_bytes());
    p[28..32].copy_from_slice(&ack.to_be_bytes());
    p[32] = 5 << 4;
    p[33] = flags;
    p[34..36].copy_from_slice(&64240u16.to_be_bytes());
    for (i, b) in p[40..].iter_mut().enumerate() {
        *b = b'a' + (i % 26) as u8;
    }
    transport::fill_l4_checksum(&mut p);
    p
}

fn udp(src: u32, sport: u16, dst: u32, dport: u16, data: usize) -> Vec<u8> {
    let len = 28 + data;
    let mut p = vec![0u8; len];
    ipv4::write_header(&mut p, 0, len as u16, sport, false, 64, 17, src, dst);
    p[20..22].copy_from_slice(&sport.to_be_bytes());
    p[22..24].copy_from_slice(&dport.to_be_bytes());
    p[24..26].copy_from_slice(&((8 + data) as u16).to_be_bytes());
    transport::fill_l4_checksum(&mut p);
    p
}

/// One flow's packets, in order: (ingress interface, datagram).
fn flow(kind: u64, n: u32, rng: &mut Rng) -> Vec<(usize, Vec<u8>)> {
    let (a, b) = (rng.next() as u32, rng.next() as u32);
    match kind {
        // A client of the published port: 203.0.113.x:port -> 8080,
        // DNATed to the container's port 80.
        0..=4 => {
            let client = 0xcb00_7100 | (1 + n % 254);
            let port = 1024 + (n / 254) as u16;
            let c = |f, seq, ack, d| (ETH0, tcp(client, port, HOST, 8080, f, seq, ack, d));
            let s = |f, seq, ack, d| (BRIDGE, tcp(CONTAINER, 80, client, port, f, seq, ack, d));
            vec![
                c(SYN, a, 0, 0),
                s(SYN_ACK, b, a + 1, 0),
                c(ACK, a + 1, b + 1, 0),
                c(PSH_ACK, a + 1, b + 1, 200),
                s(ACK, b + 1, a + 201, 0),
                s(PSH_ACK, b + 1, a + 201, 1400),
                s(PSH_ACK, b + 1401, a + 201, 1400),
                c(ACK, a + 201, b + 2801, 0),
                s(FIN_ACK, b + 2801, a + 201, 0),
                c(FIN_ACK, a + 201, b + 2802, 0),
                s(ACK, b + 2802, a + 202, 0),
            ]
        }
        // The container connects out: MASQUERADE to 198.51.100.1, its
        // port kept.
        5..=7 => {
            let server = 0x5db8_d800 | (n % 256);
            let port = 10_000 + (n % 50_000) as u16;
            let k = |f, seq, ack, d| (BRIDGE, tcp(CONTAINER, port, server, 443, f, seq, ack, d));
            let s = |f, seq, ack, d| (ETH0, tcp(server, 443, HOST, port, f, seq, ack, d));
            vec![
                k(SYN, a, 0, 0),
                s(SYN_ACK, b, a + 1, 0),
                k(ACK, a + 1, b + 1, 0),
                k(PSH_ACK, a + 1, b + 1, 300),
                s(ACK, b + 1, a + 301, 0),
                s(PSH_ACK, b + 1, a + 301, 1400),
                k(ACK, a + 301, b + 1401, 0),
                k(FIN_ACK, a + 301, b + 1401, 0),
                s(FIN_ACK, b + 1401, a + 302, 0),
                k(ACK, a + 302, b + 1402, 0),
            ]
        }
        // A DNS query from the container and its answer.
        8 => {
            let port = 10_000 + (n % 50_000) as u16;
            vec![
                (BRIDGE, udp(CONTAINER, port, 0x0808_0808, 53, 40)),
                (ETH0, udp(0x0808_0808, 53, HOST, port, 120)),
            ]
        }
        // A scan: a SYN to a port of the host nothing listens on (the
        // host answers with a reset), or straight to the container (raw
        // PREROUTING drops it).
        _ => {
            let scanner = 0xc612_0000 | (n % 65536);
            let dst = if n.is_multiple_of(2) { HOST } else { CONTAINER };
            vec![(
                ETH0,
                tcp(scanner, 40_000, dst, 1 + (a % 1000) as u16, SYN, a, 0, 0),
            )]
        }
    }
}

/// 100,000 packets of CONCURRENT interleaved flows.
fn traffic() -> Vec<(usize, Vec<u8>)> {
    let mut rng = Rng(0x7061_6c69_7361_6465);
    let mut next_flow = 0u32;
    let mut new_flow = |rng: &mut Rng| {
        next_flow += 1;
        let kind = rng.next() % 10;
        flow(kind, next_flow, rng).into_iter()
    };
    let mut active: Vec<_> = (0..CONCURRENT).map(|_| new_flow(&mut rng)).collect();
    let mut out = Vec::with_capacity(PACKETS);
    while out.len() < PACKETS {
        let i = (rng.next() % CONCURRENT as u64) as usize;
        match active[i].next() {
            Some(p) => out.push(p),
            None => active[i] = new_flow(&mut rng),
        }
    }
    out
}

/// The same ruleset with `n` rules on distinct sources and ports at the
/// head of FORWARD.
fn with_rules_ahead(rules: &str, n: usize) -> String {
    let mut extra = String::new();
    for i in 0..n {
        extra.push_str(&format!(
            "-A FORWARD -s 10.{}.{}.{}/32 -p tcp -m tcp --dport {} -j DROP\n",
            i / 65536,
            (i / 256) % 256,
            i % 256,
            1 + i
        ));
    }
    let at = rules
        .find("-A FORWARD ")
        .expect("Docker's ruleset has FORWARD rules");
    format!("{}{extra}{}", &rules[..at], &rules[at..])
}

fn host() -> Host {
    Host::from_json(
        r#"{"interfaces": [{"name": "eth0", "addr": "198.51.100.1/24"},
                           {"name": "br-dummy", "addr": "192.168.0.1/24"}],
            "routes": ["default via 198.51.100.254 dev eth0"]}"#,
    )
    .expect("host")
}

fn write_capture(path: &Path, packets: &[(usize, Vec<u8>)], names: &[&str]) {
    let f = std::fs::File::create(path).expect("capture file");
    let mut w = PcapngWriter::new(BufWriter::new(f), "palisade bench").expect("writer");
    for n in names {
        w.add_interface(n, linktype::IPV4).expect("interface");
    }
    let info = PacketInfo {
        direction: Direction::Inbound,
        comment: None,
    };
    for (i, (dev, p)) in packets.iter().enumerate() {
        let ts = 1_767_225_600_000_000_000 + i as u64 * SPACING_NS;
        w.write_packet(*dev as u32, ts, p, info).expect("packet");
    }
    w.flush().expect("flush");
}

fn pps(n: usize, secs: f64) -> f64 {
    n as f64 / secs
}

struct Figures {
    engine: f64,
    replay: f64,
    kernel: Option<f64>,
    note: String,
}

/// Each figure is the best of this many runs (the machine is shared).
const RUNS: usize = 3;

/// Engine alone: the packets in memory, moved in one by one. Returns
/// packets/s and `iptables-save -c` afterwards.
fn engine_rate(sc: &Scenario, packets: &[(usize, Vec<u8>)]) -> (f64, String) {
    let mut engine = build_engine(sc, 1).expect("engine");
    let devs: Vec<u16> = sc
        .interfaces
        .iter()
        .map(|i| engine.topology().index_of(&i.name).expect("interface"))
        .collect();
    let mut inputs: Vec<(u16, Vec<u8>)> =
        packets.iter().map(|(d, p)| (devs[*d], p.clone())).collect();
    let mut out = Outputs::default();
    let start = Instant::now();
    for (i, (dev, p)) in inputs.drain(..).enumerate() {
        out.clear();
        let now = START + Time(i as u64 * SPACING_NS);
        engine.process(now, Ingress::Interface(dev), p, &mut out);
    }
    let rate = pps(packets.len(), start.elapsed().as_secs_f64());
    (rate, save(&engine.ruleset(), None, true, None))
}

/// The replay: the capture read from memory, the output written to a
/// file. Returns packets/s and the summary.
fn replay_rate(sc: &Scenario, capture: &[u8], out_path: &Path) -> (f64, Summary) {
    let mut engine = build_engine(sc, 1).expect("engine");
    let start = Instant::now();
    let mut reader = Reader::new(capture).expect("reader");
    let f = std::fs::File::create(out_path).expect("output");
    let mut w = PcapngWriter::new(BufWriter::with_capacity(1 << 16, f), "bench").expect("writer");
    let (summary, result) = replay(
        &mut engine,
        &mut reader,
        Some(&mut w),
        &Options::default(),
        &mut |_, _| {},
    );
    result.expect("replay");
    drop(w);
    (
        pps(summary.replayed as usize, start.elapsed().as_secs_f64()),
        summary,
    )
}

fn best(rates: impl Iterator<Item = f64>) -> f64 {
    rates.fold(0.0, f64::max)
}

fn measure(
    name: &str,
    rules: &str,
    packets: &[(usize, Vec<u8>)],
    capture: &Path,
    dir: &Path,
) -> Figures {
    let sc = host().scenario(rules, Vec::new()).expect("scenario");
    let (mut engine, mut engine_save) = (0.0, String::new());
    for _ in 0..RUNS {
        let (rate, save) = engine_rate(&sc, packets);
        engine = f64::max(engine, rate);
        engine_save = save;
    }
    let bytes = std::fs::read(capture).expect("capture");
    let out_path = dir.join(format!("{}.out.pcapng", name.replace(' ', "_")));
    let mut replayed = 0.0;
    let mut summary = Summary::default();
    for _ in 0..RUNS {
        let (rate, s) = replay_rate(&sc, &bytes, &out_path);
        replayed = f64::max(replayed, rate);
        summary = s;
    }
    assert_eq!(summary.replayed as usize, packets.len());
    let mut note = format!(
        "{}: forwarded {}, delivered {}, dropped {}, discarded {}, generated {}",
        name,
        summary.forwarded,
        summary.delivered,
        summary.dropped.iter().map(|(_, n)| n).sum::<u64>(),
        summary.discarded,
        summary.generated
    );

    // The kernel, on the same host with the same packets.
    let mut kernel = None;
    if palisade_lab::kernel::is_root() {
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            match palisade_lab::kernel::packet_rate(&sc, packets) {
                Ok(run) => runs.push(run),
                Err(e) => {
                    note.push_str(&format!("; kernel baseline failed: {e}"));
                    break;
                }
            }
        }
        if let Some(last) = runs.last() {
            let differences = compare(
                &Outcome {
                    save: last.save.clone(),
                    ..Outcome::default()
                },
                &Outcome {
                    save: engine_save,
                    ..Outcome::default()
                },
            );
            if differences.is_empty() {
                note.push_str("; the kernel's rule counters are the engine's");
            } else {
                note.push_str(&format!(
                    "; rule counters differ from the kernel's: {}",
                    differences.join("; ")
                ));
            }
            kernel = Some(best(
                runs.iter()
                    .map(|r| pps(packets.len(), r.elapsed.as_secs_f64())),
            ));
        }
    }
    Figures {
        engine,
        replay: replayed,
        kernel,
        note,
    }
}

fn main() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/moby");
    let docker = match std::fs::read_to_string(corpus.join(MOBY)) {
        Ok(t) => t,
        Err(e) => {
            println!(
                "replay bench: {}: {e}; needs ../shared/corpus beside the checkout",
                corpus.join(MOBY).display()
            );
            return;
        }
    };
    let dir = std::env::temp_dir().join(format!("palisade-replay-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let packets = traffic();
    let capture = dir.join("docker.pcapng");
    write_capture(&capture, &packets, &["eth0", "br-dummy"]);
    let size = std::fs::metadata(&capture).map(|m| m.len()).unwrap_or(0);
    println!(
        "replay bench: {} packets, {CONCURRENT} flows at a time, {:.1} MB capture, {:.1} s of capture time",
        packets.len(),
        size as f64 / 1e6,
        packets.len() as f64 * SPACING_NS as f64 / 1e9
    );
    if !palisade_lab::kernel::is_root() {
        println!("kernel baseline: skipped (the live-kernel harness needs root)");
    }
    println!(
        "{:<28} {:>14} {:>14} {:>14} {:>16}",
        "ruleset", "engine pkt/s", "replay pkt/s", "kernel pkt/s", "engine/kernel"
    );
    let mut notes = Vec::new();
    for (name, rules) in [
        ("docker", docker.clone()),
        ("docker + 1000 rules", with_rules_ahead(&docker, 1000)),
    ] {
        let f = measure(name, &rules, &packets, &capture, &dir);
        let (k, ratio) = match f.kernel {
            Some(k) => (format!("{k:.0}"), format!("{:.2}x", f.engine / k)),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{name:<28} {:>14.0} {:>14.0} {k:>14} {ratio:>16}",
            f.engine, f.replay
        );
        notes.push(f.note);
    }
    for n in notes {
        println!("  {n}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
