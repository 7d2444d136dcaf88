//! The `pkt` language: one line that describes an IPv4 packet, expanded
//! into its bytes. Scenarios may give a packet as `"pkt": "..."` instead of
//! `"hex": "..."`.
//!
//! ```text
//! tcp  SRC:PORT > DST:PORT [flags=S] [seq=0] [ack=0] [win=64240] [urp=0] [opts=LIST] [badsum|csum=N]
//! udp  SRC:PORT > DST:PORT [badsum|csum=N] [ulen=N]
//! sctp SRC:PORT > DST:PORT [vtag=N] [chunks=LIST] [badsum|csum=N]
//! udplite SRC:PORT > DST:PORT [cscov=N] [sumproto=N] [badsum|csum=N]
//! icmp SRC > DST TYPE [id=N] [seq=N] [mtu=N] [gw=ADDR] [ptr=N] [rest=HEX8]
//!                     [quote=(SPEC)] [quotelen=N] [badsum|csum=N]
//! ip   SRC > DST proto=N
//! ```
//! followed, for every kind, by IP header options and a payload:
//! `ttl=64 tos=0 id=1 (or ipid=1) df mf frag=0 iplen=N ipopts=HEX
//! badipsum`, `len=N` (that many zero bytes), `data=HEX` or, last of
//! all, `text=...`: the rest of the line as the payload, spaces included,
//! with the escapes `\r`, `\n`, `\\` and `\xHH` (for FTP commands and
//! the like). Numbers are decimal or `0x` hex. Words are separated by spaces, options in any
//! order; a `quote=( ... )` may contain spaces and nests.
//!
//! - Defaults: TTL 64, IP ID 1, TOS 0, no DF, no fragment, window 64240,
//!   flags `S`, sequence and acknowledgement 0, empty payload.
//! - `frag=` is the fragment offset in 8-byte units (the header field, as
//!   scapy's `frag`); `ipopts=` is padded with zeros to a multiple of 4.
//! - `flags=` takes letters `F S R P A U E C` (FIN SYN RST PSH ACK URG ECE
//!   CWR), as scapy does; `flags=` alone is no flags.
//! - `opts=` is a comma list of TCP options: `mss:N`, `wscale:N`,
//!   `sack_ok`, `sack:L-R[/L-R...]`, `ts:VAL:ECR`, `nop`, `eol`, and
//!   `raw:HEX` (bytes as given); the list is padded with zeros (EOL) to a
//!   multiple of 4, as scapy pads it.
//! - ICMP `TYPE` is an iptables `--icmp-type` name or `TYPE[/CODE]`
//!   (`echo-request`, `port-unreachable`, `3/4`, ...), or `type=N code=N`.
//!   For `icmp`, `id=` and `seq=` are the echo identifier and sequence
//!   (header bytes 4-7); the IP ID is then `ipid=N` (accepted by every
//!   kind). `mtu=` (bytes 6-7), `gw=` (4-7), `ptr=` (4) and `rest=`
//!   (4-7) fill the rest of the header; two options may not set one byte.
//! - `chunks=` is a comma list of SCTP chunks (RFC 9260 3.3), each
//!   `NAME[/FLAGS][:ARG...]` with the chunk flags byte as a number:
//!   `init:TAG[:TSN]` and `init_ack:TAG[:TSN]` (initiate tag, a_rwnd
//!   65536, 10 streams each way, initial TSN 1; INIT_ACK with an 8-byte
//!   state cookie), `data:TSN[:LEN]` (flags B|E, stream 0, LEN bytes of
//!   user data, default 4), `sack:TSN`, `heartbeat`, `heartbeat_ack`,
//!   `abort`, `shutdown:TSN`, `shutdown_ack`, `error`,
//!   `cookie_echo[:LEN]` (a cookie of LEN bytes, default 8),
//!   `cookie_ack`, `shutdown_complete`, `chunk:TYPE[:HEX]` (any type
//!   with that value), and `raw:HEX` (bytes as given, no header or
//!   padding). Each chunk is padded to a multiple of 4. The SCTP
//!   checksum is CRC32c (stored as Linux and scapy store it); `csum=N`
//!   puts N big-endian in its place.
//! - `udplite` (RFC 3828): `cscov=` is the checksum coverage field
//!   (default 0, the whole datagram); the checksum covers the
//!   pseudo-header (protocol `sumproto=`, default 136, and the datagram's
//!   length) and the first `cscov` bytes (all when 0 or beyond the end).
//!   Linux's conntrack verifies it with protocol 17 (`udplite_error`
//!   calls `nf_checksum_partial` with IPPROTO_UDP): `sumproto=17` builds
//!   what it accepts.
//! - `quote=(SPEC)` puts a whole packet, built from SPEC, in the ICMP
//!   body (before any payload); `quotelen=N` keeps only its first N bytes.
//! - Checksums (IP header, TCP/UDP with the pseudo-header, ICMP) are
//!   computed over the bytes as built; `badsum` corrupts the L4 one and
//!   `badipsum` the IP header's, `csum=N` sets the L4 one (UDP `csum=0`
//!   is "no checksum"). `iplen=` and `ulen=` override the length fields.
//!
//! Example: `tcp 198.51.100.2:40000 > 172.17.0.2:80 flags=S seq=1000 df
//! opts=mss:1460,sack_ok,ts:1:0,nop,wscale:7`.

use std::fmt;
use std::net::Ipv4Addr;

use palisade_rules::ext::icmp::parse_icmp;

use crate::hex;

/// Why a packet description could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PktError(pub String);

impl fmt::Display for PktError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PktError {}

type Result<T> = std::result::Result<T, PktError>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(PktError(msg.into()))
}

/// Nesting limit of `quote=(...)`.
const MAX_DEPTH: usize = 4;

/// Builds the packet that `spec` describes.
pub fn build(spec: &str) -> Result<Vec<u8>> {
    build_at(spec, 0).map_err(|e| PktError(format!("pkt `{spec}`: {}", e.0)))
}

fn build_at(spec: &str, depth: usize) -> Result<Vec<u8>> {
    let (spec, text) = split_text(spec)?;
    let words = split_words(spec)?;
    let [kind, src, arrow, dst, rest @ ..] = words.as_slice() else {
        return err("expected `KIND SRC > DST [OPTIONS]`");
    };
    if *arrow != ">" {
        return err(format!(
            "expected `>` between the addresses, found `{arrow}`"
        ));
    }
    let mut opts = Opts::new(rest)?;
    let (src, sport, dst, dport) = match *kind {
        "tcp" | "udp" | "sctp" | "udplite" => {
            let (src, sport) = addr_port(src)?;
            let (dst, dport) = addr_port(dst)?;
            (src, sport, dst, dport)
        }
        "icmp" | "ip" => (addr(src)?, 0, addr(dst)?, 0),
        _ => {
            return err(format!(
                "unknown kind `{kind}` (tcp, udp, udplite, sctp, icmp or ip)"
            ))
        }
    };
    // The IP header and payload first: the ICMP type is the bare word
    // left over after `df`, `mf` and `badipsum`.
    let ip = IpHdr::parse(&mut opts, src, dst, *kind == "icmp")?;
    let payload = match text {
        Some(t) if opts.value("data")?.is_some() || opts.value("len")?.is_some() => {
            return err(format!(
                "`text={}` with `data=` or `len=`",
                String::from_utf8_lossy(&t)
            ));
        }
        Some(t) => t,
        None => payload(&mut opts)?,
    };
    let l4 = match *kind {
        "tcp" => L4::Tcp(Tcp::parse(&mut opts, sport, dport)?),
        "udp" => L4::Udp(Udp::parse(&mut opts, sport, dport)?),
        "sctp" => L4::Sctp(Sctp::parse(&mut opts, sport, dport)?),
        "udplite" => L4::UdpLite(UdpLite::parse(&mut opts, sport, dport)?),
        "icmp" => L4::Icmp(Icmp::parse(&mut opts, depth)?),
        _ => match opts.num::<u8>("proto")? {
            Some(p) => L4::Raw(p),
            None => return err("`ip` needs proto=N"),
        },
    };
    opts.finish()?;
    let proto = match &l4 {
        L4::Tcp(_) => 6,
        L4::Udp(_) => 17,
        L4::Sctp(_) => 132,
        L4::UdpLite(_) => 136,
        L4::Icmp(_) => 1,
        L4::Raw(p) => *p,
    };
    let segment = match l4 {
        L4::Tcp(t) => t.emit(&ip, &payload)?,
        L4::Udp(u) => u.emit(&ip, &payload)?,
        L4::Sctp(c) => c.emit(&payload),
        L4::UdpLite(u) => u.emit(&ip, &payload)?,
        L4::Icmp(i) => i.emit(&payload),
        L4::Raw(_) => payload,
    };
    ip.emit(proto, &segment)
}

/// Cuts a final `text=...` (outside any parenthesised group) off `spec`,
/// with its escapes resolved.
fn split_text(spec: &str) -> Result<(&str, Option<Vec<u8>>)> {
    let mut depth = 0usize;
    let mut prev_space = true;
    for (i, c) in spec.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 && prev_space && spec[i..].starts_with("text=") {
            let body = unescape(&spec[i + 5..])?;
            return Ok((&spec[..i], Some(body)));
        }
        prev_space = c.is_whitespace();
    }
    Ok((spec, None))
}

/// `\r`, `\n`, `\\` and `\xHH` in a `text=` payload.
fn unescape(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hi = bytes.next();
                let lo = bytes.next();
                let pair = [hi.unwrap_or(b'?'), lo.unwrap_or(b'?')];
                match std::str::from_utf8(&pair)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => out.push(v),
                    None => return err("`text=`: `\\x` needs two hex digits"),
                }
            }
            _ => return err("`text=`: unknown escape (\\r, \\n, \\\\ or \\xHH)"),
        }
    }
    if out.len() > 65535 {
        return err("`text=`: too long");
    }
    Ok(out)
}

/// Splits at spaces, keeping a parenthesised group (which may nest and
/// contain spaces) inside its word.
fn split_words(spec: &str) -> Result<Vec<&str>> {
    let mut words = Vec::new();
    let mut depth = 0usize;
    let mut start = None;
    for (i, c) in spec.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = match depth.checked_sub(1) {
                    Some(d) => d,
                    None => return err("`)` without `(`"),
                }
            }
            _ => {}
        }
        if c.is_whitespace() && depth == 0 {
            if let Some(s) = start.take() {
                words.push(&spec[s..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if depth != 0 {
        return err("`(` without `)`");
    }
    if let Some(s) = start {
        words.push(&spec[s..]);
    }
    Ok(words)
}

/// The options after the addresses: `key=value` or a bare word; each is
/// consumed once by the part of the packet that knows it, and `finish`
/// refuses whatever is left.
struct Opts<'a> {
    items: Vec<(&'a str, Option<&'a str>, bool)>,
}

impl<'a> Opts<'a> {
    fn new(words: &[&'a str]) -> Result<Self> {
        let mut items: Vec<(&'a str, Option<&'a str>, bool)> = Vec::new();
        for w in words {
            let (k, v) = match w.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (*w, None),
            };
            if items.iter().any(|(seen, ..)| *seen == k) {
                return err(format!("`{k}` given twice"));
            }
            items.push((k, v, false));
        }
        Ok(Opts { items })
    }

    /// The value of `key=value`, if given.
    fn value(&mut self, key: &str) -> Result<Option<&'a str>> {
        match self.items.iter_mut().find(|(k, ..)| *k == key) {
            None => Ok(None),
            Some((_, None, _)) => err(format!("`{key}` needs a value: `{key}=...`")),
            Some((_, Some(v), used)) => {
                *used = true;
                Ok(Some(*v))
            }
        }
    }

    /// Whether the bare word `key` is given.
    fn flag(&mut self, key: &str) -> Result<bool> {
        match self.items.iter_mut().find(|(k, ..)| *k == key) {
            None => Ok(false),
            Some((_, Some(_), _)) => err(format!("`{key}` takes no value")),
            Some((_, None, used)) => {
                *used = true;
                Ok(true)
            }
        }
    }

    fn num<T: TryFrom<u64>>(&mut self, key: &str) -> Result<Option<T>> {
        self.value(key)?.map(|v| number(key, v)).transpose()
    }

    fn hex(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        let Some(v) = self.value(key)? else {
            return Ok(None);
        };
        match hex::decode(v) {
            Some(b) => Ok(Some(b)),
            None => err(format!("`{key}={v}`: not hex")),
        }
    }

    /// The one bare word not consumed as a flag (the ICMP type name).
    fn take_word(&mut self) -> Result<Option<&'a str>> {
        let mut words = self
            .items
            .iter_mut()
            .filter(|(_, v, used)| v.is_none() && !used);
        let Some((w, _, used)) = words.next() else {
            return Ok(None);
        };
        if let Some((other, ..)) = words.next() {
            return err(format!("unexpected `{other}` after `{w}`"));
        }
        *used = true;
        Ok(Some(*w))
    }

    fn finish(self) -> Result<()> {
        match self.items.iter().find(|(.., used)| !used) {
            None => Ok(()),
            Some((k, Some(_), _)) => err(format!("unknown or misplaced option `{k}=`")),
            Some((k, None, _)) => err(format!("unknown or misplaced word `{k}`")),
        }
    }
}

/// A decimal or `0x` hex number that fits `T`.
fn number<T: TryFrom<u64>>(key: &str, text: &str) -> Result<T> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => text.parse::<u64>(),
    };
    match parsed.ok().and_then(|n| T::try_from(n).ok()) {
        Some(n) => Ok(n),
        None => err(format!("`{key}={text}`: not a number in range")),
    }
}

fn addr(text: &str) -> Result<Ipv4Addr> {
    match text.parse() {
        Ok(a) => Ok(a),
        Err(_) => err(format!("`{text}`: not an IPv4 address")),
    }
}

fn addr_port(text: &str) -> Result<(Ipv4Addr, u16)> {
    match text.rsplit_once(':') {
        Some((a, p)) => Ok((addr(a)?, number("port", p)?)),
        None => err(format!("`{text}`: expected ADDRESS:PORT")),
    }
}

fn payload(opts: &mut Opts) -> Result<Vec<u8>> {
    let data = opts.hex("data")?;
    let len = opts.num::<usize>("len")?;
    match (data, len) {
        (Some(d), Some(n)) if d.len() != n => {
            err(format!("len={n} but data= has {} bytes", d.len()))
        }
        (Some(d), _) => Ok(d),
        (None, Some(n)) if n > 65535 => err(format!("len={n}: too long")),
        (None, n) => Ok(vec![0; n.unwrap_or(0)]),
    }
}

/// RFC 1071 one's-complement sum of `parts`, folded, not inverted.
fn sum(parts: &[&[u8]]) -> u16 {
    let mut acc: u64 = 0;
    for part in parts {
        let mut chunks = part.chunks_exact(2);
        for c in &mut chunks {
            acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            acc += u64::from(*last) << 8;
        }
    }
    while acc > 0xFFFF {
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    acc as u16
}

fn checksum(parts: &[&[u8]]) -> u16 {
    !sum(parts)
}

/// A checksum value that no equivalent of `good` matches (0 and 0xFFFF are
/// the same in one's complement, and UDP's 0 means "none").
fn corrupt(good: u16) -> u16 {
    match good ^ 0x0101 {
        0 | 0xFFFF => good ^ 0x0202,
        bad => bad,
    }
}

fn l4_checksum(opts: &mut Opts) -> Result<Csum> {
    let fixed = opts.num::<u16>("csum")?;
    let bad = opts.flag("badsum")?;
    Ok(match (fixed, bad) {
        (Some(_), true) => return err("`csum=` and `badsum` together"),
        (Some(v), false) => Csum::Fixed(v),
        (None, true) => Csum::Bad,
        (None, false) => Csum::Good,
    })
}

#[derive(Clone, Copy)]
enum Csum {
    Good,
    Bad,
    Fixed(u16),
}

impl Csum {
    fn apply(self, good: u16) -> u16 {
        match self {
            Csum::Good => good,
            Csum::Bad => corrupt(good),
            Csum::Fixed(v) => v,
        }
    }
}

struct IpHdr {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    tos: u8,
    id: u16,
    flags_frag: u16,
    ttl: u8,
    total_len: Option<u16>,
    options: Vec<u8>,
    bad_sum: bool,
}

impl IpHdr {
    fn parse(opts: &mut Opts, src: Ipv4Addr, dst: Ipv4Addr, icmp: bool) -> Result<Self> {
        let id = match (opts.num::<u16>("ipid")?, icmp) {
            (Some(id), _) => id,
            (None, false) => opts.num("id")?.unwrap_or(1),
            (None, true) => 1,
        };
        let frag: u16 = opts.num("frag")?.unwrap_or(0);
        if frag > 0x1FFF {
            return err(format!(
                "frag={frag}: the offset (in 8-byte units) is at most 8191"
            ));
        }
        let mut flags_frag = frag;
        if opts.flag("df")? {
            flags_frag |= 0x4000;
        }
        if opts.flag("mf")? {
            flags_frag |= 0x2000;
        }
        let mut options = opts.hex("ipopts")?.unwrap_or_default();
        options.resize(options.len().next_multiple_of(4), 0);
        if options.len() > 40 {
            return err("ipopts= longer than 40 bytes");
        }
        Ok(IpHdr {
            src,
            dst,
            tos: opts.num("tos")?.unwrap_or(0),
            id,
            flags_frag,
            ttl: opts.num("ttl")?.unwrap_or(64),
            total_len: opts.num("iplen")?,
            options,
            bad_sum: opts.flag("badipsum")?,
        })
    }

    /// The TCP/UDP pseudo-header for a segment of `len` bytes.
    fn pseudo(&self, proto: u8, len: usize) -> Result<[u8; 12]> {
        let Ok(len) = u16::try_from(len) else {
            return err("segment longer than 65535 bytes");
        };
        let mut p = [0u8; 12];
        p[0..4].copy_from_slice(&self.src.octets());
        p[4..8].copy_from_slice(&self.dst.octets());
        p[9] = proto;
        p[10..12].copy_from_slice(&len.to_be_bytes());
        Ok(p)
    }

    fn emit(&self, proto: u8, segment: &[u8]) -> Result<Vec<u8>> {
        let hlen = 20 + self.options.len();
        let Ok(len) = u16::try_from(hlen + segment.len()) else {
            return err("packet longer than 65535 bytes");
        };
        let mut p = Vec::with_capacity(hlen + segment.len());
        p.push(0x40 | (hlen / 4) as u8);
        p.push(self.tos);
        p.extend_from_slice(&self.total_len.unwrap_or(len).to_be_bytes());
        p.extend_from_slice(&self.id.to_be_bytes());
        p.extend_from_slice(&self.flags_frag.to_be_bytes());
        p.extend_from_slice(&[self.ttl, proto, 0, 0]);
        p.extend_from_slice(&self.src.octets());
        p.extend_from_slice(&self.dst.octets());
        p.extend_from_slice(&self.options);
        let mut c = checksum(&[&p]);
        if self.bad_sum {
            c = corrupt(c);
        }
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p.extend_from_slice(segment);
        Ok(p)
    }
}

enum L4 {
    Tcp(Tcp),
    Udp(Udp),
    Sctp(Sctp),
    UdpLite(UdpLite),
    Icmp(Icmp),
    Raw(u8),
}

struct Tcp {
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    win: u16,
    urp: u16,
    options: Vec<u8>,
    csum: Csum,
}

impl Tcp {
    fn parse(opts: &mut Opts, sport: u16, dport: u16) -> Result<Self> {
        let flags = match opts.value("flags")? {
            Some(f) => tcp_flags(f)?,
            None => 0x02,
        };
        let options = match opts.value("opts")? {
            Some(o) => tcp_options(o)?,
            None => Vec::new(),
        };
        Ok(Tcp {
            sport,
            dport,
            seq: opts.num("seq")?.unwrap_or(0),
            ack: opts.num("ack")?.unwrap_or(0),
            flags,
            win: opts.num("win")?.unwrap_or(64240),
            urp: opts.num("urp")?.unwrap_or(0),
            options,
            csum: l4_checksum(opts)?,
        })
    }

    fn emit(&self, ip: &IpHdr, payload: &[u8]) -> Result<Vec<u8>> {
        let hlen = 20 + self.options.len();
        let mut s = Vec::with_capacity(hlen + payload.len());
        s.extend_from_slice(&self.sport.to_be_bytes());
        s.extend_from_slice(&self.dport.to_be_bytes());
        s.extend_from_slice(&self.seq.to_be_bytes());
        s.extend_from_slice(&self.ack.to_be_bytes());
        s.push(((hlen / 4) as u8) << 4);
        s.push(self.flags);
        s.extend_from_slice(&self.win.to_be_bytes());
        s.extend_from_slice(&[0, 0]);
        s.extend_from_slice(&self.urp.to_be_bytes());
        s.extend_from_slice(&self.options);
        s.extend_from_slice(payload);
        let c = checksum(&[&ip.pseudo(6, s.len())?, &s]);
        s[16..18].copy_from_slice(&self.csum.apply(c).to_be_bytes());
        Ok(s)
    }
}

fn tcp_flags(text: &str) -> Result<u8> {
    let mut flags = 0u8;
    for c in text.chars() {
        flags |= match c {
            'F' => 0x01,
            'S' => 0x02,
            'R' => 0x04,
            'P' => 0x08,
            'A' => 0x10,
            'U' => 0x20,
            'E' => 0x40,
            'C' => 0x80,
            _ => return err(format!("flags={text}: `{c}` is none of F S R P A U E C")),
        };
    }
    Ok(flags)
}

fn tcp_options(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for item in text.split(',') {
        let mut parts = item.split(':');
        let name = parts.next().unwrap_or_default();
        let args: Vec<&str> = parts.collect();
        let arity = |n: usize| -> Result<()> {
            if args.len() == n {
                Ok(())
            } else {
                err(format!("TCP option `{item}`: `{name}` takes {n} value(s)"))
            }
        };
        match name {
            "eol" => arity(0).map(|()| out.push(0))?,
            "nop" => arity(0).map(|()| out.push(1))?,
            "mss" => {
                arity(1)?;
                out.extend_from_slice(&[2, 4]);
                out.extend_from_slice(&number::<u16>("mss", args[0])?.to_be_bytes());
            }
            "wscale" => {
                arity(1)?;
                out.extend_from_slice(&[3, 3, number("wscale", args[0])?]);
            }
            "sack_ok" => arity(0).map(|()| out.extend_from_slice(&[4, 2]))?,
            "sack" => {
                arity(1)?;
                let blocks: Vec<&str> = args[0].split('/').collect();
                out.extend_from_slice(&[5, (2 + 8 * blocks.len()).min(255) as u8]);
                for b in blocks {
                    let Some((l, r)) = b.split_once('-') else {
                        return err(format!("TCP option `{item}`: a SACK block is L-R"));
                    };
                    out.extend_from_slice(&number::<u32>("sack", l)?.to_be_bytes());
                    out.extend_from_slice(&number::<u32>("sack", r)?.to_be_bytes());
                }
            }
            "ts" => {
                arity(2)?;
                out.extend_from_slice(&[8, 10]);
                out.extend_from_slice(&number::<u32>("ts", args[0])?.to_be_bytes());
                out.extend_from_slice(&number::<u32>("ts", args[1])?.to_be_bytes());
            }
            "raw" => {
                arity(1)?;
                match hex::decode(args[0]) {
                    Some(b) => out.extend_from_slice(&b),
                    None => return err(format!("TCP option `{item}`: not hex")),
                }
            }
            _ => return err(format!("unknown TCP option `{item}`")),
        }
    }
    out.resize(out.len().next_multiple_of(4), 0);
    if out.len() > 40 {
        return err(format!("opts={text}: longer than 40 bytes"));
    }
    Ok(out)
}

struct Udp {
    sport: u16,
    dport: u16,
    len: Option<u16>,
    csum: Csum,
}

impl Udp {
    fn parse(opts: &mut Opts, sport: u16, dport: u16) -> Result<Self> {
        Ok(Udp {
            sport,
            dport,
            len: opts.num("ulen")?,
            csum: l4_checksum(opts)?,
        })
    }

    fn emit(&self, ip: &IpHdr, payload: &[u8]) -> Result<Vec<u8>> {
        let pseudo = ip.pseudo(17, 8 + payload.len())?;
        let len = u16::from_be_bytes([pseudo[10], pseudo[11]]);
        let mut s = Vec::with_capacity(8 + payload.len());
        s.extend_from_slice(&self.sport.to_be_bytes());
        s.extend_from_slice(&self.dport.to_be_bytes());
        s.extend_from_slice(&self.len.unwrap_or(len).to_be_bytes());
        s.extend_from_slice(&[0, 0]);
        s.extend_from_slice(payload);
        // RFC 768: a computed 0 is sent as all ones.
        let c = match checksum(&[&pseudo, &s]) {
            0 => 0xFFFF,
            c => c,
        };
        s[6..8].copy_from_slice(&self.csum.apply(c).to_be_bytes());
        Ok(s)
    }
}

struct UdpLite {
    sport: u16,
    dport: u16,
    cscov: u16,
    sumproto: u8,
    csum: Csum,
}

impl UdpLite {
    fn parse(opts: &mut Opts, sport: u16, dport: u16) -> Result<Self> {
        Ok(UdpLite {
            sport,
            dport,
            cscov: opts.num("cscov")?.unwrap_or(0),
            sumproto: opts.num("sumproto")?.unwrap_or(136),
            csum: l4_checksum(opts)?,
        })
    }

    fn emit(&self, ip: &IpHdr, payload: &[u8]) -> Result<Vec<u8>> {
        let pseudo = ip.pseudo(self.sumproto, 8 + payload.len())?;
        let mut s = Vec::with_capacity(8 + payload.len());
        s.extend_from_slice(&self.sport.to_be_bytes());
        s.extend_from_slice(&self.dport.to_be_bytes());
        s.extend_from_slice(&self.cscov.to_be_bytes());
        s.extend_from_slice(&[0, 0]);
        s.extend_from_slice(payload);
        let covered = match usize::from(self.cscov) {
            0 => s.len(),
            n => n.min(s.len()),
        };
        // RFC 3828 3.1: a computed 0 is sent as all ones (0 is illegal).
        let c = match checksum(&[&pseudo, &s[..covered]]) {
            0 => 0xFFFF,
            c => c,
        };
        s[6..8].copy_from_slice(&self.csum.apply(c).to_be_bytes());
        Ok(s)
    }
}

struct Sctp {
    sport: u16,
    dport: u16,
    vtag: u32,
    chunks: Vec<u8>,
    csum: SctpCsum,
}

#[derive(Clone, Copy)]
enum SctpCsum {
    Good,
    Bad,
    Fixed(u32),
}

impl Sctp {
    fn parse(opts: &mut Opts, sport: u16, dport: u16) -> Result<Self> {
        let fixed = opts.num::<u32>("csum")?;
        let csum = match (fixed, opts.flag("badsum")?) {
            (Some(_), true) => return err("`csum=` and `badsum` together"),
            (Some(v), false) => SctpCsum::Fixed(v),
            (None, true) => SctpCsum::Bad,
            (None, false) => SctpCsum::Good,
        };
        let chunks = match opts.value("chunks")? {
            Some(list) => sctp_chunks(list)?,
            None => Vec::new(),
        };
        Ok(Sctp {
            sport,
            dport,
            vtag: opts.num("vtag")?.unwrap_or(0),
            chunks,
            csum,
        })
    }

    fn emit(&self, payload: &[u8]) -> Vec<u8> {
        let mut s = Vec::with_capacity(12 + self.chunks.len() + payload.len());
        s.extend_from_slice(&self.sport.to_be_bytes());
        s.extend_from_slice(&self.dport.to_be_bytes());
        s.extend_from_slice(&self.vtag.to_be_bytes());
        s.extend_from_slice(&[0; 4]);
        s.extend_from_slice(&self.chunks);
        s.extend_from_slice(payload);
        let good = crc32c(&s).to_le_bytes();
        let c = match self.csum {
            SctpCsum::Good => good,
            SctpCsum::Bad => [good[0] ^ 1, good[1], good[2], good[3]],
            SctpCsum::Fixed(v) => v.to_be_bytes(),
        };
        s[8..12].copy_from_slice(&c);
        s
    }
}

/// CRC32c (the SCTP checksum, RFC 9260 appendix A), bit by bit.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The bytes of a `chunks=` list.
fn sctp_chunks(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for item in text.split(',') {
        let mut parts = item.split(':');
        let head = parts.next().unwrap_or_default();
        let args: Vec<&str> = parts.collect();
        let (name, flags) = match head.split_once('/') {
            Some((n, f)) => (n, Some(number::<u8>("chunk flags", f)?)),
            None => (head, None),
        };
        let arity = |lo: usize, hi: usize| -> Result<()> {
            if (lo..=hi).contains(&args.len()) {
                Ok(())
            } else {
                err(format!("SCTP chunk `{item}`: wrong number of values"))
            }
        };
        let num32 = |i: usize, dflt: u32| -> Result<u32> {
            args.get(i).map_or(Ok(dflt), |a| number("chunk value", a))
        };
        let init = |tag: u32, tsn: u32| -> Vec<u8> {
            let mut v = tag.to_be_bytes().to_vec();
            v.extend_from_slice(&65536u32.to_be_bytes());
            v.extend_from_slice(&[0, 10, 0, 10]);
            v.extend_from_slice(&tsn.to_be_bytes());
            v
        };
        let (ty, default_flags, value): (u8, u8, Vec<u8>) = match name {
            "init" | "init_ack" => {
                arity(1, 2)?;
                let mut v = init(num32(0, 0)?, num32(1, 1)?);
                if name == "init_ack" {
                    // A State Cookie parameter (type 7).
                    v.extend_from_slice(&[0, 7, 0, 12]);
                    v.extend_from_slice(&[0xc0; 8]);
                }
                (if name == "init" { 1 } else { 2 }, 0, v)
            }
            "data" => {
                arity(1, 2)?;
                let n = usize::try_from(num32(1, 4)?).unwrap_or(usize::MAX);
                if n > 65000 {
                    return err(format!("SCTP chunk `{item}`: too long"));
                }
                let mut v = num32(0, 0)?.to_be_bytes().to_vec();
                // Stream 0, sequence 0, payload protocol 0.
                v.extend_from_slice(&[0; 8]);
                v.resize(v.len() + n, 0xd0);
                (0, 0x03, v)
            }
            "sack" => {
                arity(1, 1)?;
                let mut v = num32(0, 0)?.to_be_bytes().to_vec();
                // a_rwnd, no gap blocks, no duplicates.
                v.extend_from_slice(&65536u32.to_be_bytes());
                v.extend_from_slice(&[0; 4]);
                (3, 0, v)
            }
            "heartbeat" | "heartbeat_ack" => {
                arity(0, 0)?;
                // Heartbeat Info (type 1) with 4 bytes of sender data.
                let v = vec![0, 1, 0, 8, 0x4b, 0x4b, 0x4b, 0x4b];
                (if name == "heartbeat" { 4 } else { 5 }, 0, v)
            }
            "abort" => arity(0, 0).map(|()| (6, 0, Vec::new()))?,
            "shutdown" => {
                arity(1, 1)?;
                (7, 0, num32(0, 0)?.to_be_bytes().to_vec())
            }
            "shutdown_ack" => arity(0, 0).map(|()| (8, 0, Vec::new()))?,
            "error" => arity(0, 0).map(|()| (9, 0, Vec::new()))?,
            "cookie_echo" => {
                arity(0, 1)?;
                let n = usize::try_from(num32(0, 8)?).unwrap_or(usize::MAX);
                if n > 65000 {
                    return err(format!("SCTP chunk `{item}`: too long"));
                }
                (10, 0, vec![0xc0; n])
            }
            "cookie_ack" => arity(0, 0).map(|()| (11, 0, Vec::new()))?,
            "shutdown_complete" => arity(0, 0).map(|()| (14, 0, Vec::new()))?,
            "chunk" => {
                arity(1, 2)?;
                let v = match args.get(1) {
                    Some(h) => match hex::decode(h) {
                        Some(b) => b,
                        None => return err(format!("SCTP chunk `{item}`: not hex")),
                    },
                    None => Vec::new(),
                };
                (number("chunk type", args[0])?, 0, v)
            }
            "raw" => {
                arity(1, 1)?;
                if flags.is_some() {
                    return err(format!("SCTP chunk `{item}`: raw bytes take no flags"));
                }
                match hex::decode(args[0]) {
                    Some(b) => out.extend_from_slice(&b),
                    None => return err(format!("SCTP chunk `{item}`: not hex")),
                }
                continue;
            }
            _ => return err(format!("unknown SCTP chunk `{item}`")),
        };
        let Ok(len) = u16::try_from(4 + value.len()) else {
            return err(format!("SCTP chunk `{item}`: too long"));
        };
        out.extend_from_slice(&[ty, flags.unwrap_or(default_flags)]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&value);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    Ok(out)
}

struct Icmp {
    kind: u8,
    code: u8,
    rest: [u8; 4],
    quote: Vec<u8>,
    csum: Csum,
}

impl Icmp {
    fn parse(opts: &mut Opts, depth: usize) -> Result<Self> {
        let csum = l4_checksum(opts)?;
        let named = match opts.take_word()? {
            Some(w) => match parse_icmp(w) {
                Ok((0xFF, _)) => return err(format!("`{w}` is no single ICMP type")),
                Ok((t, (code, _))) => Some((t, code)),
                Err(e) => return err(format!("`{w}`: {e}")),
            },
            None => None,
        };
        let (kind, code) = match (named, opts.num::<u8>("type")?, opts.num::<u8>("code")?) {
            (Some(_), Some(_), _) => return err("an ICMP type name and `type=` together"),
            (Some((t, c)), None, code) => (t, code.unwrap_or(c)),
            (None, Some(t), code) => (t, code.unwrap_or(0)),
            (None, None, _) => return err("icmp needs a type: a name, TYPE/CODE or type=N"),
        };
        let mut rest = [0u8; 4];
        let mut set = [false; 4];
        let mut put = |key: &str, at: usize, bytes: &[u8]| -> Result<()> {
            for (i, b) in bytes.iter().enumerate() {
                if std::mem::replace(&mut set[at + i], true) {
                    return err(format!("`{key}=` sets an ICMP header byte already set"));
                }
                rest[at + i] = *b;
            }
            Ok(())
        };
        if let Some(v) = opts.num::<u16>("id")? {
            put("id", 0, &v.to_be_bytes())?;
        }
        if let Some(v) = opts.num::<u16>("seq")? {
            put("seq", 2, &v.to_be_bytes())?;
        }
        if let Some(v) = opts.num::<u16>("mtu")? {
            put("mtu", 2, &v.to_be_bytes())?;
        }
        if let Some(v) = opts.num::<u8>("ptr")? {
            put("ptr", 0, &[v])?;
        }
        if let Some(v) = opts.value("gw")? {
            put("gw", 0, &addr(v)?.octets())?;
        }
        if let Some(v) = opts.hex("rest")? {
            if v.len() != 4 {
                return err("rest= takes 4 bytes of hex");
            }
            put("rest", 0, &v)?;
        }
        let mut quote = match opts.value("quote")? {
            Some(q) => {
                let Some(inner) = q.strip_prefix('(').and_then(|q| q.strip_suffix(')')) else {
                    return err("quote= takes a packet in parentheses: quote=(SPEC)");
                };
                if depth >= MAX_DEPTH {
                    return err("quote=( ) nested too deep");
                }
                build_at(inner, depth + 1).map_err(|e| PktError(format!("in quote: {}", e.0)))?
            }
            None => Vec::new(),
        };
        if let Some(n) = opts.num::<usize>("quotelen")? {
            quote.truncate(n);
        }
        Ok(Icmp {
            kind,
            code,
            rest,
            quote,
            csum,
        })
    }

    fn emit(&self, payload: &[u8]) -> Vec<u8> {
        let mut s = Vec::with_capacity(8 + self.quote.len() + payload.len());
        s.extend_from_slice(&[self.kind, self.code, 0, 0]);
        s.extend_from_slice(&self.rest);
        s.extend_from_slice(&self.quote);
        s.extend_from_slice(payload);
        let c = checksum(&[&s]);
        s[2..4].copy_from_slice(&self.csum.apply(c).to_be_bytes());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hexed(spec: &str) -> String {
        match build(spec) {
            Ok(b) => hex::encode(&b),
            Err(e) => panic!("{e}"),
        }
    }

    /// Each packet's checksums verify: IP header, and L4 with its
    /// pseudo-header (ICMP without one).
    fn checksums_ok(p: &[u8]) -> bool {
        let hl = usize::from(p[0] & 15) * 4;
        let (hdr, seg) = p.split_at(hl);
        let l4 = match p[9] {
            1 => sum(&[seg]),
            proto @ (6 | 17) => {
                let mut pseudo = [0u8; 12];
                pseudo[0..8].copy_from_slice(&hdr[12..20]);
                pseudo[9] = proto;
                pseudo[10..12].copy_from_slice(&(seg.len() as u16).to_be_bytes());
                sum(&[&pseudo, seg])
            }
            _ => 0xFFFF,
        };
        sum(&[hdr]) == 0xFFFF && l4 == 0xFFFF
    }

    // Expected bytes below come from scapy 2.x, e.g.
    // `bytes(IP(src=..,dst=..,id=1,ttl=64,flags="DF")/TCP(sport=..,dport=..,flags="S",
    //  seq=1000,window=64240,options=[("MSS",1460),("SAckOK",b""),
    //  ("Timestamp",(1,0)),("NOP",None),("WScale",7)])/(b"\0"*20)).hex()`.

    #[test]
    fn tcp_syn_with_options_matches_scapy() {
        assert_eq!(
            hexed(
                "tcp 198.51.100.2:40000 > 172.17.0.2:80 flags=S seq=1000 ack=0 win=64240 \
                 ttl=64 tos=0 id=1 df len=20 opts=mss:1460,sack_ok,ts:1:0,nop,wscale:7"
            ),
            SCAPY_TCP
        );
    }

    #[test]
    fn udp_matches_scapy() {
        assert_eq!(hexed("udp 1.2.3.4:5000 > 5.6.7.8:53 len=12"), SCAPY_UDP);
        assert_eq!(
            hexed("udp 1.2.3.4:5000 > 5.6.7.8:53 data=68656c6c6f ttl=3 tos=0x10 id=0x1234"),
            SCAPY_UDP_DATA
        );
    }

    #[test]
    fn icmp_matches_scapy() {
        assert_eq!(
            hexed("icmp 10.0.0.1 > 10.0.0.2 echo-request id=7 seq=1"),
            SCAPY_ECHO
        );
        assert_eq!(
            hexed(
                "icmp 203.0.113.9 > 198.51.100.2 type=3 code=1 ttl=60 \
                 quote=(udp 198.51.100.2:5000 > 10.9.8.7:53 len=4)"
            ),
            SCAPY_UNREACH
        );
        assert_eq!(
            hexed("icmp 10.0.0.1 > 10.0.0.2 host-unreachable mtu=1400"),
            SCAPY_MTU
        );
    }

    #[test]
    fn sctp_matches_scapy() {
        // IP(src="10.0.0.2", dst="198.51.100.2")/SCTP(sport=5000, dport=80,
        // tag=0)/SCTPChunkInit(init_tag=1, a_rwnd=65536, n_out_streams=10,
        // n_in_streams=10, init_tsn=1)
        assert_eq!(
            hexed("sctp 10.0.0.2:5000 > 198.51.100.2:80 chunks=init:1"),
            SCAPY_SCTP_INIT
        );
        // ...SCTP(sport=80, dport=5000, tag=7)/SCTPChunkData(tsn=3,
        // beginning=1, ending=1, data=b"\xd0"*5)/SCTPChunkAbort(TCB=1)
        assert_eq!(
            hexed("sctp 198.51.100.2:80 > 10.0.0.2:5000 vtag=7 chunks=data:3:5,abort/1"),
            SCAPY_SCTP_DATA_ABORT
        );
        let bad = build("sctp 1.1.1.1:1 > 2.2.2.2:2 chunks=cookie_ack badsum").unwrap();
        let good = build("sctp 1.1.1.1:1 > 2.2.2.2:2 chunks=cookie_ack").unwrap();
        assert_eq!(bad[20..28], good[20..28]);
        assert_ne!(bad[28..32], good[28..32]);
        let fixed = build("sctp 1.1.1.1:1 > 2.2.2.2:2 csum=0x01020304 chunks=raw:0b00").unwrap();
        assert_eq!(fixed[28..], [1, 2, 3, 4, 0x0b, 0]);
    }

    const SCAPY_SCTP_INIT: &str =
        "45000034000100004084460e0a000002c63364021388005000000000495752e7010000140000000100010000000a000a00000001";
    const SCAPY_SCTP_DATA_ABORT: &str =
        "4500003c0001000040844606c63364020a0000020050138800000007e98f34ec00030015000000030000000000000000d0d0d0d0d000000006010004";

    #[test]
    fn udplite_coverage_and_pseudo_protocol() {
        // Checked with Python: RFC 1071 over the pseudo-header (protocol
        // 136, length 12) and the first 8 bytes.
        let p = build("udplite 10.0.0.2:5001 > 198.51.100.2:53 cscov=8 data=01020304").unwrap();
        assert_eq!(hex::encode(&p[20..]), "138900350008b76d01020304");
        let whole = build("udplite 10.0.0.2:5001 > 198.51.100.2:53 data=01020304").unwrap();
        let as_udp =
            build("udplite 10.0.0.2:5001 > 198.51.100.2:53 sumproto=17 data=01020304").unwrap();
        assert_eq!(p[9], 136);
        let (a, b) = (
            u16::from_be_bytes([whole[26], whole[27]]),
            u16::from_be_bytes([as_udp[26], as_udp[27]]),
        );
        // One's complement: the sums differ by exactly 136 - 17.
        assert_eq!(
            sum(&[&(!a).to_be_bytes()]),
            sum(&[&(!b).to_be_bytes(), &[0, 119]])
        );
    }

    #[test]
    fn raw_ip_matches_scapy() {
        assert_eq!(hexed("ip 1.1.1.1 > 2.2.2.2 proto=47 len=8"), SCAPY_GRE);
    }

    const SCAPY_TCP: &str =
        "45000050000140004006645ec6336402ac1100029c400050000003e800000000a002faf0d6380000020405b40402080a0000000100000000010303070000000000000000000000000000000000000000";
    const SCAPY_UDP: &str =
        "450000280001000040116ab10102030405060708138800350014dbf5000000000000000000000000";
    const SCAPY_UDP_DATA: &str =
        "451000211234000003119575010203040506070813880035000d983168656c6c6f";
    const SCAPY_ECHO: &str = "4500001c00010000400166de0a0000010a0000020800f7f700070001";
    const SCAPY_UNREACH: &str =
        "4500003c000100003c011881cb007109c63364020301396200000000450000200001000040113e87c63364020a09080713880035000cafd300000000";
    const SCAPY_MTU: &str = "4500001c00010000400166de0a0000010a0000020301f78600000578";
    const SCAPY_GRE: &str = "4500001c00010000402f74ad01010101020202020000000000000000";

    #[test]
    fn fields_land_where_they_belong() {
        let p = build(
            "tcp 10.0.0.1:1234 > 10.0.0.2:80 flags=FSRPAUEC seq=0x01020304 ack=5 win=7 urp=9 \
             ttl=3 tos=0xb8 id=0xbeef mf frag=3 data=aabb",
        )
        .unwrap();
        assert_eq!(p.len(), 42);
        assert_eq!(p[0], 0x45);
        assert_eq!(p[1], 0xb8);
        assert_eq!(&p[2..4], &[0, 42]);
        assert_eq!(&p[4..6], &[0xbe, 0xef]);
        assert_eq!(&p[6..8], &[0x20, 3]);
        assert_eq!(p[8], 3);
        assert_eq!(p[9], 6);
        assert_eq!(&p[12..20], &[10, 0, 0, 1, 10, 0, 0, 2]);
        assert_eq!(&p[20..24], &[0x04, 0xd2, 0, 80]);
        assert_eq!(&p[24..28], &[1, 2, 3, 4]);
        assert_eq!(&p[28..32], &[0, 0, 0, 5]);
        assert_eq!(p[32], 0x50);
        assert_eq!(p[33], 0xff);
        assert_eq!(&p[34..36], &[0, 7]);
        assert_eq!(&p[38..40], &[0, 9]);
        assert_eq!(&p[40..], &[0xaa, 0xbb]);
        assert!(checksums_ok(&p));
    }

    #[test]
    fn checksums_valid_and_badsum_breaks_only_l4() {
        for spec in [
            "tcp 1.2.3.4:1 > 5.6.7.8:2 flags=A len=3",
            "udp 1.2.3.4:1 > 5.6.7.8:2 data=ff",
            "icmp 1.2.3.4 > 5.6.7.8 echo-reply id=1 seq=2 len=5",
            "icmp 1.2.3.4 > 5.6.7.8 port-unreachable quote=(udp 5.6.7.8:2 > 1.2.3.4:1) quotelen=28",
            "ip 1.2.3.4 > 5.6.7.8 proto=99 ipopts=94040000",
        ] {
            let good = build(spec).unwrap();
            assert!(checksums_ok(&good), "{spec}");
            if !spec.starts_with("ip ") {
                let bad = build(&format!("{spec} badsum")).unwrap();
                assert!(!checksums_ok(&bad), "{spec} badsum");
                assert_eq!(good[..20], bad[..20]);
            }
            let bad_ip = build(&format!("{spec} badipsum")).unwrap();
            assert_ne!(good[10..12], bad_ip[10..12]);
            assert_eq!(good[12..], bad_ip[12..]);
        }
    }

    #[test]
    fn icmp_id_is_the_echo_id_and_ipid_the_ip_id() {
        let p = build("icmp 1.1.1.1 > 2.2.2.2 ping id=7 seq=9 ipid=300").unwrap();
        assert_eq!(&p[4..6], &[1, 44]);
        assert_eq!(&p[20..28], &[8, 0, p[22], p[23], 0, 7, 0, 9]);
    }

    #[test]
    fn quote_truncates_and_nests() {
        let p = build(
            "icmp 9.9.9.9 > 1.1.1.1 time-exceeded quotelen=28 \
             quote=(icmp 1.1.1.1 > 2.2.2.2 3/3 quote=(udp 2.2.2.2:1 > 1.1.1.1:2 len=100))",
        )
        .unwrap();
        assert_eq!(p.len(), 20 + 8 + 28);
        assert_eq!(&p[20..22], &[11, 0]);
        assert_eq!(&p[48..50], &[3, 3]);
        assert!(checksums_ok(&p));
    }

    #[test]
    fn udp_checksum_zero_and_badsum_never_mean_none() {
        let none = build("udp 1.2.3.4:1 > 5.6.7.8:2 csum=0").unwrap();
        assert_eq!(&none[26..28], &[0, 0]);
        for good in 0..=u16::MAX {
            let bad = corrupt(good);
            assert!(bad != 0 && bad != 0xFFFF || good == 0xFFFF || good == 0);
            assert_ne!(bad, good);
        }
    }

    #[test]
    fn text_is_the_rest_of_the_line_with_escapes() {
        let p =
            build("tcp 1.2.3.4:1 > 5.6.7.8:21 flags=PA df text=PORT 1,2,3,4,5,6\\r\\n").unwrap();
        assert_eq!(&p[40..], b"PORT 1,2,3,4,5,6\r\n");
        assert_eq!(p[6] & 0x40, 0x40, "options before text= apply");
        let u = build("udp 1.2.3.4:1 > 5.6.7.8:69 text=\\x00\\x01a b\\\\").unwrap();
        assert_eq!(&u[28..], b"\x00\x01a b\\");
        assert_eq!(
            u,
            build("udp 1.2.3.4:1 > 5.6.7.8:69 data=00016120625c").unwrap()
        );
    }

    #[test]
    fn errors_are_clear() {
        for (spec, want) in [
            ("tcp 1.2.3.4 > 5.6.7.8:1", "expected ADDRESS:PORT"),
            ("tcp 1.2.3.4:1 5.6.7.8:1", "expected `KIND SRC > DST"),
            ("tcp 1.2.3.4:1 - 5.6.7.8:1 x", "expected `>`"),
            ("dccp 1.2.3.4 > 5.6.7.8", "unknown kind"),
            (
                "sctp 1.2.3.4:1 > 5.6.7.8:2 chunks=foo",
                "unknown SCTP chunk",
            ),
            ("sctp 1.2.3.4:1 > 5.6.7.8:2 chunks=init", "wrong number"),
            ("sctp 1.2.3.4:1 > 5.6.7.8:2 chunks=raw/1:00", "no flags"),
            ("sctp 1.2.3.4:1 > 5.6.7.8:2 csum=1 badsum", "together"),
            ("udp 1.2.3.4:1 > 5.6.7.8:70000", "not a number in range"),
            ("udp 1.2.3.4:1 > 5.6.7.8:7 ttl=256", "`ttl=256`"),
            (
                "udp 1.2.3.4:1 > 5.6.7.8:7 flags=S",
                "misplaced option `flags=`",
            ),
            ("udp 1.2.3.4:1 > 5.6.7.8:7 df df", "given twice"),
            ("udp 1.2.3.4:1 > 5.6.7.8:7 data=abc", "not hex"),
            ("udp 1.2.3.4:1 > 5.6.7.8:7 len=2 data=00", "len=2 but data="),
            ("tcp 1.2.3.4:1 > 5.6.7.8:7 flags=SX", "`X` is none of"),
            ("tcp 1.2.3.4:1 > 5.6.7.8:7 opts=mss", "takes 1 value"),
            ("icmp 1.2.3.4 > 5.6.7.8", "icmp needs a type"),
            ("icmp 1.2.3.4 > 5.6.7.8 echo", "Ambiguous ICMP type"),
            ("icmp 1.2.3.4 > 5.6.7.8 any", "no single ICMP type"),
            ("icmp 1.2.3.4 > 5.6.7.8 ping seq=1 mtu=2", "already set"),
            (
                "icmp 1.2.3.4 > 5.6.7.8 ping quote=(udp 1.2.3.4:1)",
                "in quote",
            ),
            ("icmp 1.2.3.4 > 5.6.7.8 ping quote=(udp", "without `)`"),
            ("ip 1.2.3.4 > 5.6.7.8", "needs proto=N"),
            ("udp 1.2.3.4:1 > 5.6.7.8:7 len=70000", "too long"),
            ("udp 1.2.3.4:1 > 5.6.7.8:7 text=a\\q", "unknown escape"),
            ("udp 1.2.3.4:1 > 5.6.7.8:7 text=\\x4", "two hex digits"),
            (
                "udp 1.2.3.4:1 > 5.6.7.8:7 len=1 text=a",
                "with `data=` or `len=`",
            ),
        ] {
            match build(spec) {
                Ok(_) => panic!("{spec}: built"),
                Err(e) => assert!(e.0.contains(want), "{spec}: {e}"),
            }
        }
    }
}
