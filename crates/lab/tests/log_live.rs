//! palisade's LOG lines against the live kernel's: LOG rules at the head
//! of the initial namespace's raw OUTPUT chain (the only place Linux logs
//! from with nf_log_all_netns=0), packets of every kind from a raw socket
//! to 127.83.76.71 (through `lo`; nothing else uses that address), the
//! lines read back from `/dev/kmsg`, and everything removed again (see
//! `palisade_lab::kernel_log`). Runs only as root with
//! `PALISADE_LIVE_KERNEL=1`, and says it is skipped when the kernel log
//! cannot be read or written from here.

use palisade_engine::{Engine, Ingress, LogRecord, Outputs, Time, Topology};
use palisade_lab::kernel_log::log_lines;
use palisade_lab::pkt;
use palisade_rules::model::Ruleset;
use palisade_rules::restore::{restore, RestoreOptions};

const DST: &str = "127.83.76.71";

/// Packets covering every part of the line format.
fn packets() -> Vec<Vec<u8>> {
    let specs = [
        "tcp 127.0.0.1:1 > 127.83.76.71:2 flags=SAPUFREC seq=5 ack=6 win=77 urp=3 \
         opts=mss:1460,nop,wscale:7 tos=0xff df ipopts=0707040000000000 ipid=7",
        "tcp 127.0.0.1:40000 > 127.83.76.71:80 flags=S seq=1 opts=nop,nop,nop,nop ipid=8",
        "udp 127.0.0.1:3 > 127.83.76.71:4 data=7879 ipid=9",
        "icmp 127.0.0.1 > 127.83.76.71 echo-request id=11 seq=12 ipid=10",
        "icmp 127.0.0.1 > 127.83.76.71 3/4 mtu=1400 ipid=11 \
         quote=(tcp 1.2.3.4:9 > 5.6.7.8:10 flags=S)",
        "icmp 127.0.0.1 > 127.83.76.71 time-exceeded ipid=12 \
         quote=(tcp 1.2.3.4:9 > 5.6.7.8:10 flags=S) quotelen=28",
        "icmp 127.0.0.1 > 127.83.76.71 5/1 gw=10.0.0.1 ipid=13 \
         quote=(icmp 9.9.9.9 > 8.8.8.8 port-unreachable quote=(udp 1.1.1.1:1 > 2.2.2.2:2))",
        "icmp 127.0.0.1 > 127.83.76.71 parameter-problem ptr=20 ipid=14 \
         quote=(udp 1.2.3.4:9 > 5.6.7.8:10)",
        "udp 127.0.0.1:3 > 127.83.76.71:4 mf frag=3 ipid=15",
        "ip 127.0.0.1 > 127.83.76.71 proto=253 data=61626364 ipid=16",
        "ip 127.0.0.1 > 127.83.76.71 proto=50 data=deadbeef00000001 ipid=17",
        "ip 127.0.0.1 > 127.83.76.71 proto=51 data=0000000012345678 ipid=18",
        "ip 127.0.0.1 > 127.83.76.71 proto=6 data=00000000000000000000 ipid=19",
        "icmp 127.0.0.1 > 127.83.76.71 3/1 ipid=20",
    ];
    let mut out: Vec<Vec<u8>> = specs
        .iter()
        .map(|s| pkt::build(s).expect("packet spec"))
        .collect();
    // The AE bit and reserved bits (byte 12 of the TCP header), which the
    // pkt language has no words for.
    for low in [0x01, 0x02] {
        let mut p = pkt::build("tcp 127.0.0.1:1 > 127.83.76.71:2 flags=S ipid=21").unwrap();
        p[32] |= low;
        out.push(p);
    }
    out
}

fn rules(marker: &str) -> Vec<Vec<String>> {
    let words = |s: String| s.split(' ').map(str::to_string).collect::<Vec<_>>();
    vec![
        words(format!("-d {DST}/32 -j MARK --set-xmark 0x2a/0xffffffff")),
        words(format!(
            "-d {DST}/32 -j LOG --log-prefix {marker}a --log-level 6 --log-tcp-sequence \
             --log-tcp-options --log-ip-options --log-uid"
        )),
        words(format!("-d {DST}/32 -j LOG --log-prefix {marker}b")),
        words(format!("-d {DST}/32 -j DROP")),
    ]
}

/// The same rules and packets through palisade's engine.
fn engine_lines(rules: &[Vec<String>], packets: &[Vec<u8>]) -> Vec<(u8, String)> {
    let mut text = String::from("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for r in rules {
        text.push_str("-A OUTPUT ");
        text.push_str(&r.join(" "));
        text.push('\n');
    }
    text.push_str("COMMIT\n");
    let mut rs = Ruleset::default();
    restore(&mut rs, &text, RestoreOptions::default()).expect("rules");
    let mut e = Engine::new(Topology::new(), 1);
    e.load(&rs).expect("load");
    let mut out = Outputs::default();
    let mut lines = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        out.clear();
        e.process(
            Time(1_000_000_000 * (i as u64 + 1)),
            Ingress::Local,
            p.clone(),
            &mut out,
        );
        for r in &out.log {
            if let LogRecord::Log { level, line } = r {
                lines.push((*level, line.clone()));
            }
        }
    }
    lines
}

#[test]
fn log_lines_match_the_live_kernel() {
    if std::env::var("PALISADE_LIVE_KERNEL").as_deref() != Ok("1") {
        println!("log_live: skipped (needs root and PALISADE_LIVE_KERNEL=1)");
        return;
    }
    // Unique per run, so lines of another run are never read.
    let marker = format!("plv{}", std::process::id());
    let rules = rules(&marker);
    let packets = packets();
    let linux = match log_lines(&rules, &packets, &marker) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
            println!("log_live: skipped ({e})");
            return;
        }
        Err(e) => panic!("live kernel: {e}"),
    };
    let ours = engine_lines(&rules, &packets);
    assert_eq!(linux.len(), 2 * packets.len(), "{linux:#?}");
    for (k, (l, o)) in linux.iter().zip(&ours).enumerate() {
        assert_eq!(l, o, "line {k}: Linux (left) vs palisade (right)");
    }
    assert_eq!(linux.len(), ours.len());
    println!("log_live: {} lines the same", linux.len());
}
