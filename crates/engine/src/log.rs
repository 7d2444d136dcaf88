//! What `-j LOG` and `-j NFLOG` report, and the kernel's text for a
//! logged IPv4 packet (net/netfilter/nf_log_syslog.c, Linux 6.18).
//!
//! Linux writes LOG lines only from the initial network namespace unless
//! `net.netfilter.nf_log_all_netns=1` (`nf_log_allowed`); palisade
//! reports them as if that were set, to a sink its caller reads
//! ([`crate::Outputs::log`]). NFLOG hands packets to nfnetlink_log
//! listeners; palisade reports the group, prefix and packet length.
//!
//! The lines are Linux's byte for byte (tests/log_targets.rs, and the
//! lab's log_live test against the live kernel) but for the `ID=` of
//! datagrams the host builds itself, which come from palisade's IP ID
//! counter ([`crate::env::Env::next_ip_id`]).
//!
//! Every interface palisade models lacks an Ethernet header: TUN devices
//! (`ARPHRD_NONE`, `hard_header_len` 0) and `lo` (`ARPHRD_LOOPBACK`, a
//! 14-byte all-zero Ethernet header with type 0x0800 built by
//! `eth_header`), so `--log-macdecode` (which decodes only
//! `ARPHRD_ETHER`) changes nothing.

use std::fmt::Write;

use crate::wire::ipv4::{PROTO_ICMP, PROTO_TCP, PROTO_UDP};

/// One report of a LOG or NFLOG rule, in the order the rules fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRecord {
    /// `-j LOG`: one kernel log message at syslog `level` (0-7); `line` is
    /// the message text as `dmesg` shows it after its timestamp, the
    /// prefix included (it ends with a space, as the kernel's does).
    Log { level: u8, line: String },
    /// `-j NFLOG`: one packet to nfnetlink_log `group`; `len` is the
    /// datagram's length (`skb->len`).
    Nflog {
        group: u16,
        prefix: String,
        len: usize,
    },
}

/// `NF_LOG_*` flags (include/uapi/linux/netfilter/nf_log.h, the same bits
/// as `XT_LOG_*`).
pub mod flags {
    pub const TCPSEQ: u8 = 0x01;
    pub const TCPOPT: u8 = 0x02;
    pub const IPOPT: u8 = 0x04;
    pub const UID: u8 = 0x08;
}

/// The device header `dump_mac_header` prints after `MAC=` for a packet
/// received on `lo`: `eth_header` with the all-zero `dev_addr` as both
/// addresses and type ETH_P_IP, kept by `eth_type_trans` in
/// `loopback_xmit`.
pub const LOOPBACK_MAC: [u8; 14] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];

/// What `nf_log_ip_packet` is given besides the packet.
#[derive(Debug, Clone, Copy)]
pub struct LogContext<'a> {
    /// `--log-prefix` (possibly empty).
    pub prefix: &'a str,
    /// [`flags`] bits.
    pub flags: u8,
    /// The hook's input device (`state->in`): PREROUTING, INPUT, FORWARD.
    pub in_dev: Option<&'a str>,
    /// The hook's output device (`state->out`): FORWARD, OUTPUT,
    /// POSTROUTING.
    pub out_dev: Option<&'a str>,
    /// The link-layer header the packet arrived with (`skb->dev`'s
    /// `hard_header_len` bytes before the network header); empty when it
    /// has none. Printed only when `in_dev` is set.
    pub mac: &'a [u8],
    /// `fsuid`/`fsgid` of the file behind `skb->sk`, when the packet
    /// belongs to a process's socket (`nf_log_dump_sk_uid_gid`).
    pub owner: Option<(u32, u32)>,
    /// `skb->mark`.
    pub mark: u32,
}

/// The message text of `nf_log_ip_packet` for IPv4 datagram `pkt` (IP
/// header onwards, `skb->len` bytes).
pub fn ip_packet_line(cx: &LogContext<'_>, pkt: &[u8]) -> String {
    let mut m = String::with_capacity(256);
    // nf_log_dump_packet_common (PHYSIN/PHYSOUT need a bridge).
    let _ = write!(
        m,
        "{}IN={} OUT={} ",
        cx.prefix,
        cx.in_dev.unwrap_or(""),
        cx.out_dev.unwrap_or("")
    );
    if cx.in_dev.is_some() {
        // dump_mac_header's fallback: the header bytes when the device
        // has one and the packet kept it.
        m.push_str("MAC=");
        for (i, b) in cx.mac.iter().enumerate() {
            let _ = write!(m, "{}{b:02x}", if i == 0 { "" } else { ":" });
        }
        m.push(' ');
    }
    dump_ipv4_packet(&mut m, cx, pkt, 0);
    m
}

/// `skb_header_pointer`: `len` bytes at `off`, if the packet has them.
fn header(pkt: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    pkt.get(off..off.checked_add(len)?)
}

/// `skb->len - off` as the kernel's unsigned arithmetic computes it.
fn left(pkt: &[u8], off: usize) -> u32 {
    (pkt.len() as u32).wrapping_sub(off as u32)
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn addr(m: &mut String, b: &[u8]) {
    let _ = write!(m, "{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
}

fn hex_upper(m: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(m, "{b:02X}");
    }
}

/// `ICMP_*` types with the length `dump_ipv4_packet` requires before it
/// reads past the 8-byte header (its `required_len`, indexed by type up
/// to `NR_ICMP_TYPES`).
fn icmp_required_len(ty: u8) -> usize {
    match ty {
        0 | 8 => 4,
        3 | 4 | 5 | 11 | 12 => 8 + 20,
        13 | 14 => 20,
        17 | 18 => 12,
        _ => 0,
    }
}

/// `dump_ipv4_packet`: the header at `iphoff` and what it carries; an
/// ICMP error's quoted datagram once (only from the outer header).
fn dump_ipv4_packet(m: &mut String, cx: &LogContext<'_>, pkt: &[u8], iphoff: usize) {
    let Some(ih) = header(pkt, iphoff, 20) else {
        m.push_str("TRUNCATED");
        return;
    };
    m.push_str("SRC=");
    addr(m, &ih[12..16]);
    m.push_str(" DST=");
    addr(m, &ih[16..20]);
    let tos = ih[1];
    // iph_totlen: the header's total length field (no GSO here).
    let _ = write!(
        m,
        " LEN={} TOS=0x{:02X} PREC=0x{:02X} TTL={} ID={} ",
        be16(ih, 2),
        tos & 0x1e,
        tos & 0xe0,
        ih[8],
        be16(ih, 4)
    );
    let frag = be16(ih, 6);
    for (bit, word) in [(0x8000, "CE "), (0x4000, "DF "), (0x2000, "MF ")] {
        if frag & bit != 0 {
            m.push_str(word);
        }
    }
    let fragoff = frag & 0x1fff;
    if fragoff != 0 {
        let _ = write!(m, "FRAG:{fragoff} ");
    }
    let ihl = usize::from(ih[0] & 0x0f) * 4;
    if cx.flags & flags::IPOPT != 0 && ihl > 20 {
        let Some(op) = header(pkt, iphoff + 20, ihl - 20) else {
            m.push_str("TRUNCATED");
            return;
        };
        m.push_str("OPT (");
        hex_upper(m, op);
        m.push_str(") ");
    }
    let fragment = fragoff != 0;
    let l4 = iphoff + ihl;
    match ih[9] {
        PROTO_TCP => {
            if dump_tcp_header(m, pkt, fragment, l4, cx.flags) {
                return;
            }
        }
        PROTO_UDP | PROTO_UDPLITE => {
            if dump_udp_header(m, pkt, ih[9], fragment, l4) {
                return;
            }
        }
        PROTO_ICMP => dump_icmp(m, cx, pkt, fragment, iphoff, l4),
        PROTO_AH => {
            // The fragment test comes before the protocol name here.
            if !fragment {
                m.push_str("PROTO=AH ");
                match header(pkt, l4, 12) {
                    None => {
                        let _ = write!(m, "INCOMPLETE [{} bytes] ", left(pkt, l4));
                    }
                    Some(ah) => {
                        let _ = write!(m, "SPI=0x{:x} ", be32(ah, 4));
                    }
                }
            }
        }
        PROTO_ESP => {
            m.push_str("PROTO=ESP ");
            if !fragment {
                match header(pkt, l4, 8) {
                    None => {
                        let _ = write!(m, "INCOMPLETE [{} bytes] ", left(pkt, l4));
                    }
                    Some(esp) => {
                        let _ = write!(m, "SPI=0x{:x} ", be32(esp, 0));
                    }
                }
            }
        }
        p => {
            let _ = write!(m, "PROTO={p} ");
        }
    }
    if iphoff == 0 {
        if cx.flags & flags::UID != 0 {
            if let Some((uid, gid)) = cx.owner {
                let _ = write!(m, "UID={uid} GID={gid} ");
            }
        }
        if cx.mark != 0 {
            let _ = write!(m, "MARK=0x{:x} ", cx.mark);
        }
    }
}

const PROTO_UDPLITE: u8 = 136;
const PROTO_AH: u8 = 51;
const PROTO_ESP: u8 = 50;

/// `nf_log_dump_tcp_header`; true when it stopped the line short.
fn dump_tcp_header(m: &mut String, pkt: &[u8], fragment: bool, off: usize, logflags: u8) -> bool {
    m.push_str("PROTO=TCP ");
    if fragment {
        return false;
    }
    let Some(th) = header(pkt, off, 20) else {
        let _ = write!(m, "INCOMPLETE [{} bytes] ", left(pkt, off));
        return true;
    };
    let _ = write!(m, "SPT={} DPT={} ", be16(th, 0), be16(th, 2));
    if logflags & flags::TCPSEQ != 0 {
        let _ = write!(m, "SEQ={} ACK={} ", be32(th, 4), be32(th, 8));
    }
    // RES: TCP_RESERVED_BITS (0x0E000000 since AE took the fourth bit)
    // shifted down by 22.
    let _ = write!(
        m,
        "WINDOW={} RES=0x{:02x} ",
        be16(th, 14),
        (th[12] & 0x0e) << 2
    );
    if th[12] & 0x01 != 0 {
        m.push_str("AE ");
    }
    for (bit, word) in [
        (0x80, "CWR "),
        (0x40, "ECE "),
        (0x20, "URG "),
        (0x10, "ACK "),
        (0x08, "PSH "),
        (0x04, "RST "),
        (0x02, "SYN "),
        (0x01, "FIN "),
    ] {
        if th[13] & bit != 0 {
            m.push_str(word);
        }
    }
    let _ = write!(m, "URGP={} ", be16(th, 18));
    let doff = usize::from(th[12] >> 4) * 4;
    if logflags & flags::TCPOPT != 0 && doff > 20 {
        let Some(op) = header(pkt, off + 20, doff - 20) else {
            m.push_str("OPT (TRUNCATED)");
            return true;
        };
        m.push_str("OPT (");
        hex_upper(m, op);
        m.push_str(") ");
    }
    false
}

/// `nf_log_dump_udp_header` (UDP and UDP-Lite); true when it stopped the
/// line short.
fn dump_udp_header(m: &mut String, pkt: &[u8], proto: u8, fragment: bool, off: usize) -> bool {
    m.push_str(if proto == PROTO_UDP {
        "PROTO=UDP "
    } else {
        "PROTO=UDPLITE "
    });
    if fragment {
        return false;
    }
    let Some(uh) = header(pkt, off, 8) else {
        let _ = write!(m, "INCOMPLETE [{} bytes] ", left(pkt, off));
        return true;
    };
    let _ = write!(
        m,
        "SPT={} DPT={} LEN={} ",
        be16(uh, 0),
        be16(uh, 2),
        be16(uh, 4)
    );
    false
}

/// `dump_ipv4_packet`'s ICMP case.
fn dump_icmp(
    m: &mut String,
    cx: &LogContext<'_>,
    pkt: &[u8],
    fragment: bool,
    iphoff: usize,
    off: usize,
) {
    m.push_str("PROTO=ICMP ");
    if fragment {
        return;
    }
    let Some(ich) = header(pkt, off, 8) else {
        let _ = write!(m, "INCOMPLETE [{} bytes] ", left(pkt, off));
        return;
    };
    let (ty, code) = (ich[0], ich[1]);
    let _ = write!(m, "TYPE={ty} CODE={code} ");
    let required = icmp_required_len(ty);
    if required != 0 && pkt.len() - off < required {
        let _ = write!(m, "INCOMPLETE [{} bytes] ", pkt.len() - off);
        return;
    }
    match ty {
        0 | 8 => {
            let _ = write!(m, "ID={} SEQ={} ", be16(ich, 4), be16(ich, 6));
        }
        12 => {
            let _ = write!(m, "PARAMETER={} ", ich[4]);
        }
        3 | 4 | 5 | 11 => {
            if ty == 5 {
                m.push_str("GATEWAY=");
                addr(m, &ich[4..8]);
                m.push(' ');
            }
            // Only recurse once.
            if iphoff == 0 {
                m.push('[');
                dump_ipv4_packet(m, cx, pkt, off + 8);
                m.push_str("] ");
            }
            // ICMP_FRAG_NEEDED.
            if ty == 3 && code == 4 {
                let _ = write!(m, "MTU={} ", be16(ich, 6));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
