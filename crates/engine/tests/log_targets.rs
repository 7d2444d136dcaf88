//! LOG and NFLOG through the hook pipeline: which devices each hook
//! passes (`state->in`/`state->out`), lo's link-layer header, the sender's
//! uid/gid for packets of the local raw socket only, and NFLOG's group,
//! prefix and length. Line formats themselves are tested in `log.rs`.

mod common;

use palisade_engine::wire::ipv4::Ipv4Write;
use palisade_engine::{Engine, Ingress, LogRecord, Outputs, Time};

const RULES: &str = "*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -j LOG --log-prefix \"pre \"
-A INPUT -j LOG --log-prefix \"in \" --log-level 7
-A FORWARD -j LOG --log-prefix \"fwd \" --log-uid
-A OUTPUT -j LOG --log-prefix \"out \" --log-uid
-A POSTROUTING -j MARK --set-xmark 0x5/0xffffffff
-A POSTROUTING -j LOG --log-prefix \"post \" --log-uid
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -j NFLOG --nflog-group 5 --nflog-prefix fw
COMMIT
";

fn engine() -> Engine {
    let docker = [("eth0", "198.51.100.1/24"), ("eth1", "172.17.0.1/16")];
    common::host(&docker, &[], RULES, 1).0
}

fn udp(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 28, 0, 7, 0, 0, 64, 17, 0, 0];
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&[0x9c, 0x40, 0, 53, 0, 8, 0, 0]);
    p.fill_checksum();
    p
}

fn lines(out: &Outputs) -> Vec<String> {
    out.log
        .iter()
        .map(|r| match r {
            LogRecord::Log { level, line } => format!("<{level}>{line}"),
            LogRecord::Nflog { group, prefix, len } => format!("nflog {group} {prefix:?} {len}"),
        })
        .collect()
}

const UDP_TAIL: &str = "LEN=28 TOS=0x00 PREC=0x00";

#[test]
fn forwarded_packet_at_each_hook() {
    let mut e = engine();
    let mut out = Outputs::default();
    e.process(
        Time(1_000_000_000),
        Ingress::Interface(1),
        udp([198, 51, 100, 2], [172, 17, 0, 2]),
        &mut out,
    );
    assert_eq!(out.packets.len(), 1);
    let tail = "ID=7 PROTO=UDP SPT=40000 DPT=53 LEN=8 ";
    assert_eq!(
        lines(&out),
        [
            format!("<4>pre IN=eth0 OUT= MAC= SRC=198.51.100.2 DST=172.17.0.2 {UDP_TAIL} TTL=64 {tail}"),
            format!("<4>fwd IN=eth0 OUT=eth1 MAC= SRC=198.51.100.2 DST=172.17.0.2 {UDP_TAIL} TTL=63 {tail}"),
            "nflog 5 \"fw\" 28".to_string(),
            format!("<4>post IN= OUT=eth1 SRC=198.51.100.2 DST=172.17.0.2 {UDP_TAIL} TTL=63 {tail}MARK=0x5 "),
        ]
    );
    // Outputs::clear empties the log.
    out.clear();
    assert!(out.log.is_empty());
}

#[test]
fn local_packets_carry_the_senders_ids_and_lo_its_header() {
    let mut e = engine();
    let mut out = Outputs::default();
    // To a remote host: OUTPUT and POSTROUTING with the raw socket's
    // uid/gid.
    e.process(
        Time(1_000_000_000),
        Ingress::Local,
        udp([172, 17, 0, 1], [172, 17, 0, 2]),
        &mut out,
    );
    let tail = "ID=7 PROTO=UDP SPT=40000 DPT=53 LEN=8 UID=0 GID=0 ";
    assert_eq!(
        lines(&out),
        [
            format!("<4>out IN= OUT=eth1 SRC=172.17.0.1 DST=172.17.0.2 {UDP_TAIL} TTL=64 {tail}"),
            format!("<4>post IN= OUT=eth1 SRC=172.17.0.1 DST=172.17.0.2 {UDP_TAIL} TTL=64 {tail}MARK=0x5 "),
        ]
    );
    // To this host: out through lo, received on lo with its header and
    // without a socket (skb_orphan); the port unreachable it causes comes
    // from the kernel's ICMP socket, which has no uid to show.
    out.clear();
    e.process(
        Time(2_000_000_000),
        Ingress::Local,
        udp([198, 51, 100, 1], [198, 51, 100, 1]),
        &mut out,
    );
    let l = lines(&out);
    let mac = "MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00";
    assert!(
        l[0].starts_with("<4>out IN= OUT=lo SRC=198.51.100.1") && l[0].ends_with("UID=0 GID=0 ")
    );
    assert!(l[1].starts_with("<4>post IN= OUT=lo ") && l[1].ends_with("UID=0 GID=0 MARK=0x5 "));
    assert!(l[2].starts_with(&format!("<4>pre IN=lo OUT= {mac} ")) && l[2].ends_with("MARK=0x5 "));
    assert!(l[3].starts_with(&format!("<7>in IN=lo OUT= {mac} ")) && l[3].ends_with("MARK=0x5 "));
    assert!(l[4].starts_with("<4>out IN= OUT=lo SRC=198.51.100.1 DST=198.51.100.1 LEN=56 "));
    assert!(l[4].contains("PROTO=ICMP TYPE=3 CODE=3 [SRC=198.51.100.1"));
    assert!(!l[4].contains("UID="), "{}", l[4]);
    assert_eq!(l.len(), 8, "{l:#?}");
}
