//! Expected lines follow nf_log_syslog.c (Linux 6.18) field by field; the
//! function that prints each part is named beside it. Those marked "seen"
//! were also read back from this kernel's log (LOG rules in the initial
//! namespace, packets from a raw socket to 127.83.76.71 through `lo`;
//! see crates/lab/tests/log_live.rs for the repeatable check).

use super::*;

/// A 20-byte-or-longer IPv4 header with `opts`, then `payload`.
struct Ip {
    tos: u8,
    id: u16,
    frag: u16,
    ttl: u8,
    proto: u8,
    src: [u8; 4],
    dst: [u8; 4],
    opts: Vec<u8>,
}

impl Ip {
    fn new(proto: u8, src: [u8; 4], dst: [u8; 4], id: u16) -> Ip {
        Ip {
            tos: 0,
            id,
            frag: 0,
            ttl: 64,
            proto,
            src,
            dst,
            opts: Vec::new(),
        }
    }
    fn with(self, payload: &[u8]) -> Vec<u8> {
        let hl = 20 + self.opts.len();
        let total = hl + payload.len();
        let mut p = vec![0x40 | (hl / 4) as u8, self.tos];
        p.extend_from_slice(&(total as u16).to_be_bytes());
        p.extend_from_slice(&self.id.to_be_bytes());
        p.extend_from_slice(&self.frag.to_be_bytes());
        p.extend_from_slice(&[self.ttl, self.proto, 0, 0]);
        p.extend_from_slice(&self.src);
        p.extend_from_slice(&self.dst);
        p.extend_from_slice(&self.opts);
        p.extend_from_slice(payload);
        p
    }
}

/// A TCP header: `b12_low` is the low nibble of byte 12 (reserved bits
/// and AE), `opts` a multiple of 4 bytes.
fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, b12_low: u8, opts: &[u8]) -> Vec<u8> {
    let doff = (20 + opts.len()) / 4;
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push((doff as u8) << 4 | b12_low);
    t.push(flags);
    t.extend_from_slice(&8192u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(opts);
    t
}

fn udp(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(data);
    u
}

fn icmp(ty: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut i = vec![ty, code, 0, 0];
    i.extend_from_slice(&rest);
    i.extend_from_slice(body);
    i
}

const LO: [u8; 4] = [127, 0, 0, 1];
const D: [u8; 4] = [127, 83, 76, 71];
const ALL: u8 = flags::TCPSEQ | flags::TCPOPT | flags::IPOPT | flags::UID;

/// LOG at OUTPUT for a packet of the local (uid 0) raw socket.
fn output(prefix: &str, flags: u8, mark: u32) -> LogContext<'_> {
    LogContext {
        prefix,
        flags,
        in_dev: None,
        out_dev: Some("lo"),
        mac: &[],
        owner: Some((0, 0)),
        mark,
    }
}

fn line(cx: &LogContext<'_>, pkt: &[u8]) -> String {
    ip_packet_line(cx, pkt)
}

#[test]
fn tcp_with_sequence_options_and_ip_options() {
    // Seen. nf_log_dump_packet_common: prefix, IN=, OUT=; no MAC= without
    // an input device (nf_log_ip_packet). dump_ipv4_packet: SRC DST, LEN
    // (iph_totlen) TOS (& IPTOS_TOS_MASK) PREC (& IPTOS_PREC_MASK) TTL
    // ID, DF, OPT (...) in %02X with NF_LOG_IPOPT.
    // nf_log_dump_tcp_header: SPT DPT, SEQ ACK with NF_LOG_TCPSEQ,
    // WINDOW, RES (reserved bits 0x0E000000 >> 22), CWR..FIN, URGP, OPT
    // (...) with NF_LOG_TCPOPT. nf_log_dump_sk_uid_gid with NF_LOG_UID.
    let mut ip = Ip::new(6, LO, D, 7);
    ip.tos = 0xff;
    ip.frag = 0x4000;
    ip.opts = vec![7, 7, 4, 0, 0, 0, 0, 0];
    let mut t = tcp(1, 2, 5, 6, 0xff, 0x0e, &[2, 4, 5, 0xb4, 1, 3, 3, 7]);
    t[14..16].copy_from_slice(&77u16.to_be_bytes());
    t[18..20].copy_from_slice(&3u16.to_be_bytes());
    let p = ip.with(&t);
    assert_eq!(
        line(&output("PLX ", ALL, 0), &p),
        "PLX IN= OUT=lo SRC=127.0.0.1 DST=127.83.76.71 LEN=56 TOS=0x1E PREC=0xE0 TTL=64 ID=7 DF \
         OPT (0707040000000000) PROTO=TCP SPT=1 DPT=2 SEQ=5 ACK=6 WINDOW=77 RES=0x38 \
         CWR ECE URG ACK PSH RST SYN FIN URGP=3 OPT (020405B401030307) UID=0 GID=0 "
    );
    // The same packet received on lo with default flags: dump_mac_header
    // prints lo's 14 header bytes (seen); no UID (skb_orphan).
    let cx = LogContext {
        prefix: "PLXI ",
        flags: 0,
        in_dev: Some("lo"),
        out_dev: None,
        mac: &LOOPBACK_MAC,
        owner: None,
        mark: 0,
    };
    assert_eq!(
        line(&cx, &p),
        "PLXI IN=lo OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 SRC=127.0.0.1 \
         DST=127.83.76.71 LEN=56 TOS=0x1E PREC=0xE0 TTL=64 ID=7 DF PROTO=TCP SPT=1 DPT=2 \
         WINDOW=77 RES=0x38 CWR ECE URG ACK PSH RST SYN FIN URGP=3 "
    );
}

#[test]
fn forwarded_through_tun_devices() {
    // dump_mac_header: "MAC=" and nothing else when dev->hard_header_len
    // is 0 (a TUN device); both devices at FORWARD; no socket, no UID.
    let cx = LogContext {
        prefix: "",
        flags: ALL,
        in_dev: Some("eth0"),
        out_dev: Some("eth1"),
        mac: &[],
        owner: None,
        mark: 0,
    };
    let mut ip = Ip::new(17, [198, 51, 100, 2], [172, 17, 0, 2], 0x1234);
    ip.ttl = 63;
    let p = ip.with(&udp(40000, 53, b"ab"));
    assert_eq!(
        line(&cx, &p),
        "IN=eth0 OUT=eth1 MAC= SRC=198.51.100.2 DST=172.17.0.2 LEN=30 TOS=0x00 PREC=0x00 \
         TTL=63 ID=4660 PROTO=UDP SPT=40000 DPT=53 LEN=10 "
    );
}

#[test]
fn udp_icmp_echo_and_other_protocols() {
    let cx = output("PLX ", ALL, 0);
    // Seen. nf_log_dump_udp_header: SPT DPT LEN (the UDP length field).
    let p = Ip::new(17, LO, D, 8).with(&udp(3, 4, b"xy"));
    assert_eq!(
        line(&cx, &p),
        "PLX IN= OUT=lo SRC=127.0.0.1 DST=127.83.76.71 LEN=30 TOS=0x00 PREC=0x00 TTL=64 ID=8 \
         PROTO=UDP SPT=3 DPT=4 LEN=10 UID=0 GID=0 "
    );
    // Seen. UDP-Lite through the same function.
    let p = Ip::new(136, LO, D, 16).with(&udp(5, 6, b""));
    assert!(line(&cx, &p).ends_with("ID=16 PROTO=UDPLITE SPT=5 DPT=6 LEN=8 UID=0 GID=0 "));
    // Seen. ICMP echo request and reply: TYPE CODE, then ID SEQ.
    let p = Ip::new(1, LO, D, 9).with(&icmp(8, 0, [0, 11, 0, 12], b""));
    assert!(line(&cx, &p).ends_with("ID=9 PROTO=ICMP TYPE=8 CODE=0 ID=11 SEQ=12 UID=0 GID=0 "));
    let p = Ip::new(1, LO, D, 19).with(&icmp(0, 0, [0, 1, 0, 2], b""));
    assert!(line(&cx, &p).ends_with("ID=19 PROTO=ICMP TYPE=0 CODE=0 ID=1 SEQ=2 UID=0 GID=0 "));
    // Seen. A timestamp request (required_len 20) prints nothing more.
    let p = Ip::new(1, LO, D, 18).with(&icmp(13, 0, [0; 4], &[0; 12]));
    assert!(line(&cx, &p).ends_with("ID=18 PROTO=ICMP TYPE=13 CODE=0 UID=0 GID=0 "));
    // Seen. The default case: PROTO=%u.
    let p = Ip::new(253, LO, D, 12).with(b"abcd");
    assert_eq!(
        line(&cx, &p),
        "PLX IN= OUT=lo SRC=127.0.0.1 DST=127.83.76.71 LEN=24 TOS=0x00 PREC=0x00 TTL=64 ID=12 \
         PROTO=253 UID=0 GID=0 "
    );
    // Seen. AH and ESP: SPI=0x%x.
    let p = Ip::new(51, LO, D, 9).with(&[0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0]);
    assert!(line(&cx, &p).ends_with("ID=9 PROTO=AH SPI=0x12345678 UID=0 GID=0 "));
    let p = Ip::new(50, LO, D, 10).with(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1]);
    assert!(line(&cx, &p).ends_with("ID=10 PROTO=ESP SPI=0xdeadbeef UID=0 GID=0 "));
}

#[test]
fn icmp_error_quotes_the_packet_once() {
    let cx = output("PLX ", ALL, 0);
    // Seen. ICMP_DEST_UNREACH: "[" the quoted datagram (dump_ipv4_packet
    // at iphoff + ihl*4 + 8, without UID or MARK) "] ", then MTU= for
    // ICMP_FRAG_NEEDED.
    let inner = Ip::new(6, [1, 2, 3, 4], [5, 6, 7, 8], 1).with(&tcp(9, 10, 0, 0, 0x02, 0, &[]));
    let p = Ip::new(1, LO, D, 10).with(&icmp(3, 4, [0, 0, 0x05, 0x78], &inner));
    assert_eq!(
        line(&cx, &p),
        "PLX IN= OUT=lo SRC=127.0.0.1 DST=127.83.76.71 LEN=68 TOS=0x00 PREC=0x00 TTL=64 ID=10 \
         PROTO=ICMP TYPE=3 CODE=4 [SRC=1.2.3.4 DST=5.6.7.8 LEN=40 TOS=0x00 PREC=0x00 TTL=64 \
         ID=1 PROTO=TCP SPT=9 DPT=10 SEQ=0 ACK=0 WINDOW=8192 RES=0x00 SYN URGP=0 ] MTU=1400 \
         UID=0 GID=0 "
    );
    // Seen. Only 8 bytes of the quoted TCP header: INCOMPLETE ends the
    // quote (skb->len - offset), the outer line goes on.
    let p = Ip::new(1, LO, D, 3).with(&icmp(11, 0, [0; 4], &inner[..28]));
    assert!(line(&cx, &p).ends_with(
        "PROTO=ICMP TYPE=11 CODE=0 [SRC=1.2.3.4 DST=5.6.7.8 LEN=40 TOS=0x00 PREC=0x00 TTL=64 \
         ID=1 PROTO=TCP INCOMPLETE [8 bytes] ] UID=0 GID=0 "
    ));
    // Seen. ICMP_REDIRECT: GATEWAY= then the quote.
    let quoted_udp = Ip::new(17, [1, 2, 3, 4], [5, 6, 7, 8], 1).with(&udp(9, 10, b""));
    let p = Ip::new(1, LO, D, 5).with(&icmp(5, 1, [10, 0, 0, 1], &quoted_udp));
    assert!(line(&cx, &p).ends_with(
        "PROTO=ICMP TYPE=5 CODE=1 GATEWAY=10.0.0.1 [SRC=1.2.3.4 DST=5.6.7.8 LEN=28 TOS=0x00 \
         PREC=0x00 TTL=64 ID=1 PROTO=UDP SPT=9 DPT=10 LEN=8 ] UID=0 GID=0 "
    ));
    // Seen. ICMP_PARAMETERPROB: PARAMETER= (the pointer), no quote.
    let p = Ip::new(1, LO, D, 4).with(&icmp(12, 0, [20, 0, 0, 0], &quoted_udp));
    assert!(line(&cx, &p).ends_with("PROTO=ICMP TYPE=12 CODE=0 PARAMETER=20 UID=0 GID=0 "));
    // Seen. An error quoting an error: the inner one is not opened
    // ("Only recurse once").
    let innermost = Ip::new(17, [1, 1, 1, 1], [2, 2, 2, 2], 1).with(&udp(1, 2, b""));
    let inner_err = Ip::new(1, [9, 9, 9, 9], [8, 8, 8, 8], 1).with(&icmp(3, 3, [0; 4], &innermost));
    let p = Ip::new(1, LO, D, 6).with(&icmp(3, 1, [0; 4], &inner_err));
    assert!(line(&cx, &p).ends_with(
        "PROTO=ICMP TYPE=3 CODE=1 [SRC=9.9.9.9 DST=8.8.8.8 LEN=56 TOS=0x00 PREC=0x00 TTL=64 \
         ID=1 PROTO=ICMP TYPE=3 CODE=3 ] UID=0 GID=0 "
    ));
    // Seen. Shorter than required_len (8 + 20): INCOMPLETE, no quote.
    let p = Ip::new(1, LO, D, 7).with(&icmp(3, 1, [0; 4], &quoted_udp[..12]));
    assert!(line(&cx, &p).ends_with("TYPE=3 CODE=1 INCOMPLETE [20 bytes] UID=0 GID=0 "));
    // Seen. A quoted header whose options are cut off: TRUNCATED ends
    // the quote.
    let mut q = Ip::new(17, [1, 2, 3, 4], [5, 6, 7, 8], 1);
    q.opts = vec![1; 8];
    let q = q.with(&udp(9, 10, b""));
    let p = Ip::new(1, LO, D, 22).with(&icmp(3, 3, [0; 4], &q[..24]));
    assert!(line(&cx, &p).ends_with(
        "[SRC=1.2.3.4 DST=5.6.7.8 LEN=36 TOS=0x00 PREC=0x00 TTL=64 ID=1 TRUNCATED] UID=0 GID=0 "
    ));
    // Without --log-ip-options the quoted UDP header is looked for past
    // the quote's end: INCOMPLETE with skb->len - offset computed in
    // unsigned arithmetic (52 - 56 wraps).
    let cx0 = output("", 0, 0);
    assert!(line(&cx0, &p).ends_with("ID=1 PROTO=UDP INCOMPLETE [4294967292 bytes] ] "));
}

#[test]
fn fragments() {
    let cx = output("PLX ", ALL, 0x2a);
    // Seen. MF and FRAG:<offset field>; a later fragment's transport
    // header is not read (nf_log_dump_udp_header's `fragment`).
    let mut ip = Ip::new(17, LO, D, 11);
    ip.frag = 0x2000 | 3;
    let p = ip.with(&udp(3, 4, b""));
    assert_eq!(
        line(&output("PLX ", ALL, 0), &p),
        "PLX IN= OUT=lo SRC=127.0.0.1 DST=127.83.76.71 LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=11 \
         MF FRAG:3 PROTO=UDP UID=0 GID=0 "
    );
    // Seen. AH's fragment test comes before its name: nothing at all;
    // ESP names itself first.
    let mut ip = Ip::new(51, LO, D, 11);
    ip.frag = 1;
    assert!(line(&cx, &ip.with(&[0; 8])).ends_with("ID=11 FRAG:1 UID=0 GID=0 MARK=0x2a "));
    let mut ip = Ip::new(50, LO, D, 12);
    ip.frag = 1;
    assert!(line(&cx, &ip.with(&[0; 8])).ends_with("ID=12 FRAG:1 PROTO=ESP UID=0 GID=0 MARK=0x2a "));
    // IP_CE (the reserved bit) prints first; TCP and ICMP of a later
    // fragment stop after their name.
    let mut ip = Ip::new(6, LO, D, 13);
    ip.frag = 0x8000 | 0x4000 | 0x2000 | 0x1fff;
    assert!(line(&cx, &ip.with(&[0; 8]))
        .ends_with("ID=13 CE DF MF FRAG:8191 PROTO=TCP UID=0 GID=0 MARK=0x2a "));
    let mut ip = Ip::new(1, LO, D, 14);
    ip.frag = 2;
    assert!(line(&cx, &ip.with(&[0; 8])).ends_with("FRAG:2 PROTO=ICMP UID=0 GID=0 MARK=0x2a "));
}

#[test]
fn truncated_transport_headers() {
    let cx = output("PLX ", ALL, 0x2a);
    // Seen. TCP and UDP stop the line at INCOMPLETE (return 1: no UID,
    // no MARK); ICMP and AH only break out of their case.
    let p = Ip::new(6, LO, D, 13).with(&[0; 10]);
    assert!(line(&cx, &p).ends_with("ID=13 PROTO=TCP INCOMPLETE [10 bytes] "));
    let p = Ip::new(17, LO, D, 14).with(&[0; 4]);
    assert!(line(&cx, &p).ends_with("ID=14 PROTO=UDP INCOMPLETE [4 bytes] "));
    let p = Ip::new(1, LO, D, 15).with(&[0; 4]);
    assert!(line(&cx, &p).ends_with("ID=15 PROTO=ICMP INCOMPLETE [4 bytes] UID=0 GID=0 MARK=0x2a "));
    let p = Ip::new(51, LO, D, 17).with(&[0]);
    assert!(line(&cx, &p).ends_with("ID=17 PROTO=AH INCOMPLETE [1 bytes] UID=0 GID=0 MARK=0x2a "));
    // TCP options announced but not there: "OPT (TRUNCATED)" with no
    // space, and the line ends (nf_log_dump_tcp_header returns 1).
    let mut t = tcp(1, 2, 0, 0, 0x02, 0, &[]);
    t[12] = 8 << 4;
    let p = Ip::new(6, LO, D, 20).with(&t);
    assert!(line(&cx, &p).ends_with("SYN URGP=0 OPT (TRUNCATED)"));
    // IP options cut off (dump_ipv4_packet returns at once).
    let mut ip = Ip::new(17, LO, D, 21);
    ip.opts = vec![1; 8];
    let mut p = ip.with(&[]);
    p.truncate(24);
    assert!(line(&cx, &p).ends_with("TTL=64 ID=21 TRUNCATED"));
    // Less than an IP header.
    assert_eq!(line(&cx, &p[..19]), "PLX IN= OUT=lo TRUNCATED");
}

#[test]
fn ae_reserved_bits_mark_and_uid() {
    // Seen. The AE bit prints "AE " and is no longer part of RES (Linux
    // 6.18: TCP_RESERVED_BITS 0x0E000000); MARK=0x%x after UID.
    let cx = output("PLX ", ALL, 0x2a);
    let p = Ip::new(6, LO, D, 1).with(&tcp(1, 2, 0, 0, 0x02, 0x01, &[]));
    assert_eq!(
        line(&cx, &p),
        "PLX IN= OUT=lo SRC=127.0.0.1 DST=127.83.76.71 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=1 \
         PROTO=TCP SPT=1 DPT=2 SEQ=0 ACK=0 WINDOW=8192 RES=0x00 AE SYN URGP=0 UID=0 GID=0 \
         MARK=0x2a "
    );
    let p = Ip::new(6, LO, D, 2).with(&tcp(1, 2, 0, 0, 0x02, 0x02, &[]));
    assert!(line(&cx, &p).contains(" RES=0x08 SYN "));
    // Seen. NF_LOG_TCPOPT with NOPs only.
    let p = Ip::new(6, LO, D, 20).with(&tcp(1, 2, 0, 0, 0x02, 0, &[1; 12]));
    assert!(line(&cx, &p).ends_with("URGP=0 OPT (010101010101010101010101) UID=0 GID=0 MARK=0x2a "));
    // A socket without a file (the kernel's ICMP and TCP sockets): no
    // UID (nf_log_dump_sk_uid_gid); without NF_LOG_UID, none either.
    let kernel = LogContext { owner: None, ..cx };
    let p = Ip::new(17, LO, D, 8).with(&udp(3, 4, b""));
    assert!(line(&kernel, &p).ends_with("LEN=8 MARK=0x2a "));
    assert!(line(&output("", 0, 0), &p).ends_with("LEN=8 "));
}
