//! `palisade replay` as a user runs it: real captures recorded from Linux
//! (tests/data/replay/record.sh), a lab scenario checked against
//! `simulate`, damaged captures, and bad command lines.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use palisade_capture::{decode, ByteOrder, Direction, Payload, PcapWriter, PcapngWriter, Reader};
use palisade_engine::wire::transport;
use palisade_lab::replay::{complete_offloaded_checksum, scenario_capture};
use palisade_lab::scenario::Scenario;
use palisade_lab::simulate::{simulate, DEFAULT_SEED};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_palisade"))
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/replay")
        .join(name)
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("palisade-replay-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn replay(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("replay")
        .args(args)
        .env_remove("PALISADE_STATE")
        .output()
        .expect("run palisade")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A packet compared as Linux does not fix it: IP ID and header checksum
/// zeroed (compare.py's normalisation), and every TCP/UDP checksum the
/// capturing host left to the device completed first, the one of a
/// datagram an ICMP error quotes too (Linux quotes the bytes as they
/// arrived, the replay the datagram it completed).
fn normal(mut ip: Vec<u8>) -> Vec<u8> {
    complete_offloaded_checksum(&mut ip);
    let hl = usize::from(ip.first().map_or(0, |b| b & 0x0f)) * 4;
    let is_error = ip.get(9) == Some(&1) && matches!(ip.get(hl), Some(3 | 4 | 5 | 11 | 12));
    if is_error && ip.len() > hl + 8 && complete_offloaded_checksum(&mut ip[hl + 8..]) {
        transport::fill_l4_checksum(&mut ip);
    }
    if ip.len() >= 20 {
        ip[4..6].fill(0);
        ip[10..12].fill(0);
    }
    ip
}

/// The IPv4 packets of a capture, by direction: (interface, normalised
/// bytes). `names` names Linux cooked v2 interface indices; `iface`
/// names the interface of a capture that names none.
fn packets(
    file: &Path,
    names: &[(u32, String)],
    iface: &str,
    want: Direction,
) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(file).expect("capture");
    let mut r = Reader::new(bytes.as_slice()).expect("capture header");
    let mut out = Vec::new();
    while let Some(p) = r.next_packet().expect("capture packet") {
        let f = decode(p.interface.link_type, p.data);
        let dir = if f.direction == Direction::Unknown {
            p.direction
        } else {
            f.direction
        };
        let Payload::Ipv4(ip) = f.payload else {
            continue;
        };
        if dir != want && !(want == Direction::Inbound && dir == Direction::Unknown) {
            continue;
        }
        let name = match (f.if_index, &p.interface.name) {
            (Some(i), _) => match names.iter().find(|(n, _)| *n == i) {
                Some((_, name)) => name.clone(),
                None => continue,
            },
            (None, Some(n)) => n.clone(),
            (None, None) => iface.to_string(),
        };
        let len = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
        out.push((name, normal(ip[..len].to_vec())));
    }
    out
}

fn ifindex() -> Vec<(u32, String)> {
    std::fs::read_to_string(data("docker_any.ifindex"))
        .expect("ifindex file")
        .lines()
        .filter_map(|l| {
            let (i, n) = l.split_once('=')?;
            Some((i.parse().ok()?, n.to_string()))
        })
        .collect()
}

/// The Docker host's captures replay to exactly what the real kernel
/// sent: forwarded through DNAT and MASQUERADE, the host's echo replies,
/// reset and port unreachable, nothing for the packets raw PREROUTING
/// drops. The `tcpdump -i any` capture (pcap, Linux cooked v2, both
/// directions) gives the kernel's side.
#[test]
fn real_docker_captures_replay_to_what_linux_sent() {
    let names = ifindex();
    let linux = packets(&data("docker_any.pcap"), &names, "", Direction::Outbound);
    assert!(linux.len() >= 20, "{} packets sent", linux.len());
    let dir = tempdir("docker");
    let topology = data("docker_host.json");
    let rules = data("docker.rules");
    let iface_args: Vec<String> = names
        .iter()
        .flat_map(|(i, n)| ["--iface".to_string(), format!("{i}={n}")])
        .collect();
    for (capture, extra) in [
        // pcap from tcpdump -i any: the interfaces by index.
        ("docker_any.pcap", iface_args.clone()),
        // pcapng from dumpcap: the interfaces by name, their packets
        // interleaved out of time order.
        ("docker_in.pcapng", vec![]),
    ] {
        let out = dir.join(format!("{capture}.out.pcapng"));
        let mut args = vec![
            "--topology",
            topology.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend(extra.iter().map(String::as_str));
        let cap = data(capture);
        args.push(cap.to_str().unwrap());
        let o = replay(&args);
        let report = text(&o.stdout);
        assert!(o.status.success(), "{capture}: {}{report}", text(&o.stderr));
        let engine = packets(&out, &[], "", Direction::Outbound);
        assert_eq!(engine, linux, "{capture}: what left the host\n{report}");
        for line in [
            "raw PREROUTING rule 1: -A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP",
            "IPv6",
            "ARP",
            "checksums completed",
        ] {
            assert!(report.contains(line), "{capture}: no {line:?} in\n{report}");
        }
        if capture.ends_with(".pcap") {
            assert!(report.contains("sent by the capturing host"), "{report}");
        }
    }
}

/// A pcap of one interface's received packets (`tcpdump -Q in`) with
/// `--in`: the host's answers are those of its `-Q out` capture.
#[test]
fn real_pcap_with_in_replays_to_what_linux_sent() {
    let linux = packets(&data("plain_out.pcap"), &[], "eth0", Direction::Inbound);
    assert!(linux.len() >= 4, "{linux:?}");
    let dir = tempdir("plain");
    let out = dir.join("out.pcapng");
    let o = replay(&[
        "--topology",
        data("plain_host.json").to_str().unwrap(),
        "--rules",
        data("plain.rules").to_str().unwrap(),
        "--in",
        "eth0",
        "-o",
        out.to_str().unwrap(),
        data("plain_in.pcap").to_str().unwrap(),
    ]);
    let report = text(&o.stdout);
    assert!(o.status.success(), "{}{report}", text(&o.stderr));
    assert_eq!(
        packets(&out, &[], "", Direction::Outbound),
        linux,
        "{report}"
    );
    for line in [
        "filter INPUT rule 3: -A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset",
        "filter INPUT policy",
        "rejected                           2",
    ] {
        assert!(report.contains(line), "no {line:?} in\n{report}");
    }
}

fn write_scenario_files(dir: &Path, sc: &Scenario) -> (PathBuf, PathBuf, PathBuf) {
    let topology = dir.join("host.json");
    std::fs::write(&topology, serde_json::to_string(&sc.host()).unwrap()).unwrap();
    let rules = dir.join("rules");
    std::fs::write(&rules, &sc.rules).unwrap();
    let capture = dir.join("in.pcapng");
    let mut w = PcapngWriter::new(Vec::new(), "test").unwrap();
    scenario_capture(sc, &mut w).unwrap();
    std::fs::write(&capture, w.into_inner()).unwrap();
    (topology, rules, capture)
}

/// Through the binary, a Docker scenario's capture comes out as
/// `simulate`'s packets, byte for byte.
#[test]
fn a_scenario_capture_gives_simulates_packets() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../lab/scenarios/docker/published_port.json");
    let sc = Scenario::load(&path).unwrap();
    let dir = tempdir("scenario");
    let (topology, rules, capture) = write_scenario_files(&dir, &sc);
    let out = dir.join("out.pcapng");
    let o = replay(&[
        "--topology",
        topology.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let want: Vec<(String, String)> = simulate(&sc, DEFAULT_SEED)
        .unwrap()
        .outputs
        .into_iter()
        .flatten()
        .map(|o| (o.out, o.hex))
        .collect();
    let bytes = std::fs::read(&out).unwrap();
    let mut r = Reader::new(bytes.as_slice()).unwrap();
    let mut got = Vec::new();
    while let Some(p) = r.next_packet().unwrap() {
        assert_eq!(p.interface.link_type, 228);
        assert_eq!(p.direction, Direction::Outbound);
        got.push((
            p.interface.name.clone().unwrap(),
            palisade_lab::hex::encode(p.data),
        ));
    }
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // Without -o only the summary; from the state file without --rules.
    let state = dir.join("state.rules");
    let restored = Command::new(bin())
        .arg("--state")
        .arg(&state)
        .arg("iptables-restore")
        .stdin(std::fs::File::open(&rules).unwrap())
        .output()
        .unwrap();
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    let o = Command::new(bin())
        .arg("--state")
        .arg(&state)
        .args(["replay", "--topology", topology.to_str().unwrap()])
        .arg(&capture)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let report = text(&o.stdout);
    assert!(report.starts_with("replayed 3 of 3 packets"), "{report}");
    assert!(report.contains("(eth0 1, docker0 2)"), "{report}");
}

/// A damaged capture stops with the packet number and byte offset, exit
/// status 1, and what came before it replayed and written.
#[test]
fn a_damaged_capture_keeps_what_came_before() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lab/scenarios/docker/container_to_internet.json");
    let sc = Scenario::load(&path).unwrap();
    let dir = tempdir("damaged");
    let (topology, rules, capture) = write_scenario_files(&dir, &sc);
    let whole = std::fs::read(&capture).unwrap();
    // Find where the fourth packet starts, and cut inside it.
    let mut r = Reader::new(whole.as_slice()).unwrap();
    let mut fourth = 0;
    while let Some(p) = r.next_packet().unwrap() {
        if p.number == 4 {
            fourth = p.offset;
        }
    }
    let cut = dir.join("cut.pcapng");
    std::fs::write(&cut, &whole[..fourth as usize + 30]).unwrap();
    let out = dir.join("out.pcapng");
    let o = replay(&[
        "--topology",
        topology.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        cut.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("packet 4 (byte {fourth}): the file ends")),
        "{err}"
    );
    assert!(
        err.contains(
            "the 3 packets before it were processed (3 replayed); what left the host is in"
        ),
        "{err}"
    );
    assert!(
        text(&o.stdout).starts_with("replayed 3 of 3 packets"),
        "{}",
        text(&o.stdout)
    );
    let bytes = std::fs::read(&out).unwrap();
    let mut r = Reader::new(bytes.as_slice()).unwrap();
    let mut n = 0;
    while r.next_packet().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 3);

    // Not a capture at all.
    let o = replay(&[
        "--topology",
        topology.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        rules.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("not a pcap or pcapng file"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn bad_command_lines_are_refused() {
    let dir = tempdir("usage");
    let topology = data("plain_host.json");
    let rules = data("plain.rules");
    let pcap = dir.join("x.pcap");
    let mut w = PcapWriter::new(Vec::new(), 228, ByteOrder::Little, false).unwrap();
    w.write_packet(0, &[0x45, 0, 0, 20]).unwrap();
    std::fs::write(&pcap, w.into_inner()).unwrap();
    let (t, r, p) = (
        topology.to_str().unwrap(),
        rules.to_str().unwrap(),
        pcap.to_str().unwrap(),
    );
    for (args, code, want) in [
        (vec!["--rules", r, p], 2, "no --topology"),
        (vec!["--topology", t, "--rules", r], 2, "no capture file"),
        (
            vec!["--topology", t, "--rules", r, "--bogus", p],
            2,
            "unknown option --bogus",
        ),
        (
            vec!["--topology", t, "--rules", r, "--iface", "eth0", p],
            2,
            "expected FROM=TO",
        ),
        (vec!["--topology", t, p], 1, "no rules"),
        (vec!["--topology", t, "--rules", r, p], 1, "give --in IFACE"),
        (
            vec!["--topology", t, "--rules", r, "--in", "eth9", p],
            1,
            "no interface eth9",
        ),
        (
            vec!["--topology", t, "--rules", r, "--in", "lo", p],
            1,
            "lo",
        ),
        (vec!["--topology", r, "--rules", r, p], 1, "topology"),
        (
            vec!["--topology", t, "--rules", t, "--in", "eth0", p],
            1,
            "iptables-restore",
        ),
    ] {
        let o = replay(&args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(want),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
    let o = replay(&["--topology", t, "--rules", r, "--in", "eth0", p]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with("replayed 1 of 1 packets"));
}
