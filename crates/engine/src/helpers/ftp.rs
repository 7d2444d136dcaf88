//! The FTP helper (net/netfilter/nf_conntrack_ftp.c) and its NAT half
//! (net/netfilter/nf_nat_ftp.c): the client's PORT and EPRT commands and
//! the server's 227 and 229 answers name where a data connection will
//! go; the helper expects it, and under NAT rewrites the address and
//! port in the text to the translated ones.

use std::net::Ipv4Addr;

use super::{exp_find_port, mangle_tcp};
use crate::conntrack::expect::{Expect, ExpectNat, CLASS_DEFAULT};
use crate::conntrack::helper::{FtpLines, Helper, FTP_SEQS};
use crate::conntrack::{status, ConnId, Conntrack, CtInfo, Dir, Tuple};
use crate::env::Rng;
use crate::time::Time;
use crate::wire::ipv4::{Ipv4Read, PROTO_TCP};

/// The `loose` module parameter (default off; a global 0600 module
/// setting, not a namespace sysctl): when off, a command naming another
/// address than its sender's expects nothing.
const LOOSE: bool = false;

/// `enum nf_ct_ftp_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FtpType {
    /// PORT x,x,x,x,p,p
    Port,
    /// 227 ... x,x,x,x,p,p
    Pasv,
    /// EPRT |1|a.b.c.d|port|
    Eprt,
    /// 229 ... (|||port|)
    Epsv,
}

/// What a command named: `nf_conntrack_man` (the address starts as the
/// sender's, which EPSV does not name).
#[derive(Debug, Clone, Copy)]
struct Cmd {
    addr: u32,
    port: u16,
}

type GetNum = fn(&[u8], u8, &mut Cmd, &mut usize) -> usize;

/// One entry of `search[dir]`.
struct Search {
    pattern: &'static [u8],
    /// Skip to after this byte before the numbers (0: start right after
    /// the pattern).
    skip: u8,
    /// What must end the numbers (0: anything).
    term: u8,
    ty: FtpType,
    getnum: GetNum,
}

/// `search[IP_CT_DIR_MAX][2]`: commands from the client, answers from
/// the server.
static SEARCH: [[Search; 2]; 2] = [
    [
        Search {
            pattern: b"PORT",
            skip: b' ',
            term: b'\r',
            ty: FtpType::Port,
            getnum: try_rfc959,
        },
        Search {
            pattern: b"EPRT",
            skip: b' ',
            term: b'\r',
            ty: FtpType::Eprt,
            getnum: try_eprt,
        },
    ],
    [
        Search {
            pattern: b"227 ",
            skip: 0,
            term: 0,
            ty: FtpType::Pasv,
            getnum: try_rfc1123,
        },
        Search {
            pattern: b"229 ",
            skip: b'(',
            term: b')',
            ty: FtpType::Epsv,
            getnum: try_epsv_response,
        },
    ],
];

/// `try_number`: `N` numbers separated by `sep`, ended by `term` (0: any
/// other byte) right after the last; the length up to the terminator, 0
/// when they are not there. Numbers wrap as the kernel's u32s do.
fn try_number<const N: usize>(data: &[u8], sep: u8, term: u8) -> (usize, [u32; N]) {
    let mut array = [0u32; N];
    let mut i = 0;
    for (len, &c) in data.iter().enumerate() {
        if i >= N {
            break;
        }
        if c.is_ascii_digit() {
            array[i] = array[i].wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
        } else if c == sep {
            i += 1;
        } else {
            // Unexpected character: fine if it ends the last number.
            if (c == term || term == 0) && i == N - 1 {
                return (len, array);
            }
            return (0, array);
        }
    }
    (0, array)
}

/// `try_rfc959`: "h1,h2,h3,h4,p1,p2".
fn try_rfc959(data: &[u8], term: u8, cmd: &mut Cmd, _offset: &mut usize) -> usize {
    let (len, a) = try_number::<6>(data, b',', term);
    if len == 0 {
        return 0;
    }
    cmd.addr = (a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3];
    cmd.port = ((a[4] << 8) | a[5]) as u16;
    len
}

/// `try_rfc1123`: a 227 answer's numbers start at its first digit,
/// parentheses or not (RFC 1123 4.1.2.6).
fn try_rfc1123(data: &[u8], _term: u8, cmd: &mut Cmd, offset: &mut usize) -> usize {
    let Some(i) = data.iter().position(u8::is_ascii_digit) else {
        return 0;
    };
    *offset += i;
    try_rfc959(&data[i..], 0, cmd, offset)
}

/// `get_port`: a port from `start` up to `delim`, which must follow a
/// non-zero number; the index after the delimiter, 0 for none.
fn get_port(data: &[u8], start: usize, delim: u8, port: &mut u16) -> usize {
    let mut tmp: u16 = 0;
    for (i, &c) in data.iter().enumerate().skip(start) {
        if c == delim {
            if tmp == 0 {
                break;
            }
            *port = tmp;
            return i + 1;
        } else if c.is_ascii_digit() {
            tmp = tmp.wrapping_mul(10).wrapping_add(u16::from(c - b'0'));
        } else {
            break;
        }
    }
    0
}

/// A delimiter of EPRT/EPSV: printable, not a digit (`char` is signed:
/// bytes past 127 are below 33).
fn bad_delim(d: u8) -> bool {
    d.is_ascii_digit() || !(33..=126).contains(&d)
}

/// `try_eprt`: "|1|a.b.c.d|port|" (any printable delimiter; only
/// protocol 1, IPv4, on an IPv4 connection).
fn try_eprt(data: &[u8], _term: u8, cmd: &mut Cmd, _offset: &mut usize) -> usize {
    if data.len() <= 3 {
        return 0;
    }
    let delim = data[0];
    if bad_delim(delim) || data[2] != delim || data[1] != b'1' {
        return 0;
    }
    let (len, a) = try_number::<4>(&data[3..], b'.', delim);
    if len == 0 {
        return 0;
    }
    cmd.addr = (a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3];
    // From after the address's closing delimiter.
    get_port(data, 3 + len + 1, delim, &mut cmd.port)
}

/// `try_epsv_response`: "|||port|".
fn try_epsv_response(data: &[u8], _term: u8, cmd: &mut Cmd, _offset: &mut usize) -> usize {
    if data.len() <= 3 {
        return 0;
    }
    let delim = data[0];
    if bad_delim(delim) || data[1] != delim || data[2] != delim {
        return 0;
    }
    get_port(data, 3, delim, &mut cmd.port)
}

/// What `find_pattern` made of a payload.
enum Found {
    /// Not this command (NF_ACCEPT).
    No,
    /// The command, cut short or malformed: -1, the packet is dropped.
    Partial,
    /// The numbers at `off`, `len` bytes long.
    At { off: usize, len: usize },
}

/// `find_pattern`: the payload starts with the pattern (any case); after
/// the skip byte the numbers follow.
fn find_pattern(data: &[u8], s: &Search, cmd: &mut Cmd) -> Found {
    let plen = s.pattern.len();
    let dlen = data.len();
    if dlen <= plen {
        // Short packet: a partial command?
        return if data.eq_ignore_ascii_case(&s.pattern[..dlen]) {
            Found::Partial
        } else {
            Found::No
        };
    }
    if !data[..plen].eq_ignore_ascii_case(s.pattern) {
        return Found::No;
    }
    let mut i = plen;
    if s.skip != 0 {
        while data[i] != s.skip {
            if i == dlen - 1 {
                return Found::Partial;
            }
            i += 1;
        }
        i += 1;
    }
    let mut off = i;
    let len = (s.getnum)(&data[i..], s.term, cmd, &mut off);
    if len == 0 {
        return Found::Partial;
    }
    Found::At { off, len }
}

fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `find_nl_seq`: does the segment start right after a line end?
fn find_nl_seq(seq: u32, l: &FtpLines, d: usize) -> bool {
    l.seq_aft_nl[d][..usize::from(l.seq_aft_nl_num[d])].contains(&seq)
}

/// `update_nl_seq`: remember where the next line starts; with two
/// remembered, the older is replaced by a newer one.
fn update_nl_seq(l: &mut FtpLines, d: usize, nl_seq: u32) {
    let n = usize::from(l.seq_aft_nl_num[d]);
    if l.seq_aft_nl[d][..n].contains(&nl_seq) {
        return;
    }
    if n < FTP_SEQS {
        l.seq_aft_nl[d][n] = nl_seq;
        l.seq_aft_nl_num[d] += 1;
    } else {
        let oldest = if before(l.seq_aft_nl[d][0], l.seq_aft_nl[d][1]) {
            0
        } else {
            1
        };
        if before(l.seq_aft_nl[d][oldest], nl_seq) {
            l.seq_aft_nl[d][oldest] = nl_seq;
        }
    }
}

/// nf_conntrack_ftp.c `help` for one segment of an FTP control
/// connection. `false`: NF_DROP (a partial command, an expectation that
/// cannot be made, a rewrite that fails).
pub fn help(
    ct: &mut Conntrack,
    rng: &mut Rng,
    now: Time,
    id: ConnId,
    info: CtInfo,
    pkt: &mut Vec<u8>,
) -> bool {
    // Until there's been traffic both ways, don't look in packets.
    if !matches!(info, CtInfo::Established | CtInfo::EstablishedReply) {
        return true;
    }
    let hl = pkt.header_len();
    let Some(tcp) = pkt.get(hl..hl + 20) else {
        return true;
    };
    let th_seq = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
    let dataoff = hl + usize::from(tcp[12] >> 4) * 4;
    if dataoff >= pkt.len() {
        return true;
    }
    let datalen = pkt.len() - dataoff;
    let ends_in_nl = pkt[pkt.len() - 1] == b'\n';
    let seq = th_seq.wrapping_add(datalen as u32);
    let dir = info.dir();
    let d = dir.index();
    let Some(c) = ct.get(id) else { return true };
    let Some(lines) = c.help.as_ref().map(|h| h.ftp) else {
        return true;
    };
    let tuples = c.tuples;
    let nat = c.status & (status::SRC_NAT | status::DST_NAT) != 0;

    let ret = if !find_nl_seq(th_seq, &lines, d) {
        true
    } else {
        let mut cmd = Cmd {
            addr: tuples[d].src,
            port: 0,
        };
        let data = &pkt[dataoff..];
        let mut found = (Found::No, &SEARCH[d][0]);
        for s in &SEARCH[d] {
            found = (find_pattern(data, s, &mut cmd), s);
            if !matches!(found.0, Found::No) {
                break;
            }
        }
        match found {
            // Partial matches drop, and remember no line end.
            (Found::Partial, _) => return false,
            (Found::No, _) => true,
            (Found::At { off, len }, s) => expect(
                ct, rng, now, id, dir, &tuples, nat, cmd, s.ty, off, len, th_seq, pkt,
            ),
        }
    };
    // Seq may have been adjusted by NAT code: not since 2.6.x; the line
    // ends stay in the sender's own sequence space.
    if ends_in_nl {
        if let Some(h) = ct.get_mut(id).and_then(|c| c.help.as_deref_mut()) {
            update_nl_seq(&mut h.ftp, d, seq);
        }
    }
    ret
}

/// The expectation for a command found at `off` (`len` bytes) of the
/// payload, registered directly or through nf_nat_ftp.
#[allow(clippy::too_many_arguments)]
fn expect(
    ct: &mut Conntrack,
    rng: &mut Rng,
    now: Time,
    id: ConnId,
    dir: Dir,
    tuples: &[Tuple; 2],
    nat: bool,
    cmd: Cmd,
    ty: FtpType,
    off: usize,
    len: usize,
    th_seq: u32,
    pkt: &mut Vec<u8>,
) -> bool {
    let (this, other) = (&tuples[dir.index()], &tuples[dir.other().index()]);
    // The connection comes the other way: "!dir" tuples.
    let mut daddr = other.dst;
    if cmd.addr != this.src {
        // A command naming another host than its sender (a partially
        // RNATed server, or a hole into a network): not recorded.
        if !LOOSE {
            return true;
        }
        daddr = cmd.addr;
    }
    let mut exp = Expect {
        tuple: Tuple {
            src: other.src,
            dst: daddr,
            proto: PROTO_TCP,
            a: 0,
            b: cmd.port,
        },
        src_mask: u32::MAX,
        sport_mask: 0,
        master: id,
        class: CLASS_DEFAULT,
        helper: Helper::Ftp,
        expires: now + Time::from_secs(Helper::Ftp.policy().timeout),
        nat: None,
    };
    if !nat {
        // Can't expect this? Best to drop packet now.
        return ct.expects.related(now, exp).is_ok();
    }
    // nf_nat_ftp: the connection comes from wherever this packet goes.
    let newaddr = other.dst;
    exp.nat = Some(ExpectNat {
        dir: dir.other(),
        saved_port: cmd.port,
    });
    let port = exp_find_port(ct, rng, now, &mut exp, cmd.port);
    if port == 0 {
        return false;
    }
    let a = Ipv4Addr::from(newaddr);
    let text = match ty {
        FtpType::Port | FtpType::Pasv => {
            let o = a.octets();
            format!(
                "{},{},{},{},{},{}",
                o[0],
                o[1],
                o[2],
                o[3],
                port >> 8,
                port & 0xff
            )
        }
        FtpType::Eprt => format!("|1|{a}|{port}|"),
        FtpType::Epsv => format!("|||{port}|"),
    };
    if !mangle_tcp(pkt, off, len, text.as_bytes()) {
        ct.expects.unexpect(&exp);
        return false;
    }
    // nf_nat_mangle_tcp_packet: nf_ct_seqadj_set when the length changed.
    let diff = text.len() as i32 - len as i32;
    if diff != 0 {
        if let Some(c) = ct.get_mut(id) {
            c.status |= status::SEQ_ADJUST;
            if let Some(h) = c.help.as_deref_mut() {
                h.seqadj[dir.index()].set(th_seq, diff);
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(d: usize, text: &[u8]) -> (&'static str, u32, u16, usize, usize) {
        let mut cmd = Cmd { addr: 7, port: 0 };
        for s in &SEARCH[d] {
            match find_pattern(text, s, &mut cmd) {
                Found::No => continue,
                Found::Partial => return ("partial", 0, 0, 0, 0),
                Found::At { off, len } => return ("at", cmd.addr, cmd.port, off, len),
            }
        }
        ("no", 0, 0, 0, 0)
    }

    #[test]
    fn commands_and_answers() {
        assert_eq!(
            parse(0, b"PORT 10,0,0,2,156,65\r\n"),
            ("at", 0x0a00_0002, 40001, 5, 15)
        );
        assert_eq!(parse(0, b"port 1,2,3,4,0,21\r\n").0, "at");
        // The numbers start right after the first space.
        assert_eq!(parse(0, b"PORT  1,2,3,4,0,21\r\n").0, "partial");
        assert_eq!(
            parse(0, b"EPRT |1|10.0.0.2|40001|\r\n"),
            ("at", 0x0a00_0002, 40001, 5, 18)
        );
        assert_eq!(
            parse(1, b"227 Entering Passive Mode (198,51,100,2,4,1).\r\n"),
            ("at", 0xc633_6402, 1025, 27, 16)
        );
        assert_eq!(
            parse(1, b"229 Entering Extended Passive Mode (|||6446|)\r\n"),
            ("at", 7, 6446, 36, 8)
        );
        // Not commands: other verbs, and answers that look like PORT.
        assert_eq!(parse(0, b"USER a\r\n").0, "no");
        assert_eq!(parse(1, b"200 PORT ok\r\n").0, "no");
        // Partial or malformed: dropped.
        assert_eq!(parse(0, b"PO").0, "partial");
        assert_eq!(parse(0, b"PORT\r\n").0, "partial");
        assert_eq!(parse(0, b"PORT 1,2,3,4,5\r\n").0, "partial");
        assert_eq!(parse(0, b"PORT 1,2,3,4,5,6,7\r\n").0, "partial");
        assert_eq!(parse(1, b"229 no parenthesis\r\n").0, "partial");
        assert_eq!(parse(1, b"229 (|||0|)\r\n").0, "partial");
        assert_eq!(parse(0, b"EPRT |2|::1|5|\r\n").0, "partial");
    }

    #[test]
    fn line_ends_keep_the_two_newest() {
        let mut l = FtpLines::default();
        update_nl_seq(&mut l, 0, 100);
        update_nl_seq(&mut l, 0, 100);
        update_nl_seq(&mut l, 0, 200);
        update_nl_seq(&mut l, 0, 300);
        assert_eq!(l.seq_aft_nl[0], [300, 200]);
        // Older than both: ignored.
        update_nl_seq(&mut l, 0, 50);
        assert_eq!(l.seq_aft_nl[0], [300, 200]);
        assert!(find_nl_seq(200, &l, 0) && !find_nl_seq(200, &l, 1));
    }
}
