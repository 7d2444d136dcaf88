//! Reading pcap and pcapng files one packet at a time, from any
//! [`Read`] (a file, standard input), holding one record in memory.
//!
//! Every length field is checked against the bytes that follow and
//! against a size limit before anything is read or allocated by it; a
//! damaged or truncated file stops with an [`Error`] that names the
//! packet being read and the byte offset of its record or block. The
//! packets read before it stay valid.

use std::fmt;
use std::io::{self, Read};

use crate::{ByteOrder, Direction};

/// pcap file magic, microsecond timestamps (draft-ietf-opsawg-pcap §4).
const PCAP_MICROS: u32 = 0xa1b2_c3d4;
/// pcap file magic, nanosecond timestamps.
const PCAP_NANOS: u32 = 0xa1b2_3c4d;
/// pcapng block types (draft-ietf-opsawg-pcapng §4, §11.1).
const SECTION_HEADER: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const INTERFACE_DESCRIPTION: u32 = 1;
const PACKET_OBSOLETE: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;
/// The section header's byte-order magic.
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// The longest pcap record accepted: libpcap's MAXIMUM_SNAPLEN
/// (pcap-int.h), the most any capture it writes holds.
pub const MAX_PCAP_RECORD: u32 = 262_144;
/// The longest pcapng block accepted: libpcap's INITIAL_MAX_BLOCKSIZE
/// (sf-pcapng.c), 16 MiB.
pub const MAX_PCAPNG_BLOCK: u32 = 16 * 1024 * 1024;

/// Option codes (draft-ietf-opsawg-pcapng §3.5, §4.2, §4.3).
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;
const EPB_FLAGS: u16 = 2;

/// The two container formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap,
    Pcapng,
}

/// The unit of an interface's timestamps (pcapng `if_tsresol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// 10^-n seconds (pcap: 6 or 9; pcapng's default is 6).
    Decimal(u8),
    /// 2^-n seconds.
    Binary(u8),
}

impl Resolution {
    /// `ticks` of this unit in nanoseconds (saturating).
    pub fn nanos(self, ticks: u64) -> u64 {
        match self {
            Resolution::Decimal(n) if n <= 9 => ticks.saturating_mul(10u64.pow(9 - u32::from(n))),
            Resolution::Decimal(n) => match 10u64.checked_pow(u32::from(n) - 9) {
                Some(div) => ticks / div,
                None => 0,
            },
            Resolution::Binary(n) => {
                let ns = (u128::from(ticks) * 1_000_000_000) >> n.min(127);
                u64::try_from(ns).unwrap_or(u64::MAX)
            }
        }
    }
}

/// An interface the capture describes (pcap files describe one, without
/// a name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// `LINKTYPE_*` (see [`crate::linktype`]).
    pub link_type: u16,
    /// `if_name`, when the capture gives it.
    pub name: Option<String>,
    /// The snapshot length; 0 is no limit.
    pub snaplen: u32,
    pub resolution: Resolution,
    /// `if_tsoffset`: seconds added to every timestamp.
    pub ts_offset: i64,
}

/// One packet as captured.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Its number, counting from 1 as Wireshark does.
    pub number: u64,
    /// The byte offset of its record or block in the file.
    pub offset: u64,
    /// Its section's number (1 for the first; see [`Reader::section`]).
    pub section: u32,
    /// Its interface's index within the section.
    pub interface_id: u32,
    pub interface: &'a Interface,
    /// Nanoseconds since 1970-01-01 00:00 UTC; `None` for a pcapng
    /// simple packet block, which carries no time.
    pub timestamp: Option<u64>,
    /// pcapng `epb_flags` direction; `Unknown` in pcap files.
    pub direction: Direction,
    /// The length on the wire (more than `data.len()` when the capture
    /// cut the packet at its snapshot length).
    pub original_len: u32,
    /// The captured bytes, link-layer header included.
    pub data: &'a [u8],
    /// The packet's `opt_comment` (pcapng), if it is UTF-8.
    pub comment: Option<&'a str>,
}

/// Why a capture could not be read further.
#[derive(Debug)]
pub struct Error {
    /// The number of the packet being read (1 for the first); 0 for the
    /// file header.
    pub packet: u64,
    /// The byte offset of the record or block the problem is in.
    pub offset: u64,
    pub kind: ErrorKind,
}

#[derive(Debug)]
pub enum ErrorKind {
    /// Reading failed.
    Io(io::Error),
    /// The file ends inside a header, record or block of `wanted` bytes,
    /// `got` of which are there.
    Truncated {
        what: &'static str,
        wanted: u64,
        got: u64,
    },
    /// A field holds what no valid capture has.
    Invalid(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.packet == 0 {
            write!(f, "file header: ")?;
        } else {
            write!(f, "packet {} (byte {}): ", self.packet, self.offset)?;
        }
        match &self.kind {
            ErrorKind::Io(e) => write!(f, "{e}"),
            ErrorKind::Truncated { what, wanted, got } => write!(
                f,
                "the file ends {got} bytes into a {wanted}-byte {what} (truncated capture)"
            ),
            ErrorKind::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// Where a packet is in `Reader::buf`, before it is borrowed out.
struct Found {
    interface_id: u32,
    ticks: Option<u64>,
    direction: Direction,
    original_len: u32,
    data: (usize, usize),
    comment: Option<(usize, usize)>,
    offset: u64,
}

/// A streaming reader of pcap and pcapng.
#[derive(Debug)]
pub struct Reader<R> {
    src: R,
    format: Format,
    order: ByteOrder,
    /// The current section's interfaces.
    interfaces: Vec<Interface>,
    /// The current record (pcap) or block body and trailer (pcapng).
    buf: Vec<u8>,
    /// Bytes consumed from the input.
    offset: u64,
    /// Packets found so far.
    packets: u64,
    /// Sections begun (pcap: 1).
    sections: u32,
}

/// Reads until `buf` is full or the input ends; how many bytes it got.
fn read_full(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn pad4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

fn invalid(msg: impl Into<String>) -> ErrorKind {
    ErrorKind::Invalid(msg.into())
}

/// A pcapng option list: each option's code, value, and the value's
/// offset in `opts`, up to `opt_endofopt`.
fn options(
    order: ByteOrder,
    opts: &[u8],
    mut each: impl FnMut(u16, &[u8], usize) -> Result<(), ErrorKind>,
) -> Result<(), ErrorKind> {
    let mut at = 0;
    while let Some(h) = opts.get(at..at + 4) {
        let code = order.u16([h[0], h[1]]);
        let len = usize::from(order.u16([h[2], h[3]]));
        if code == OPT_END {
            break;
        }
        let Some(value) = opts.get(at + 4..at + 4 + len) else {
            return Err(invalid(format!(
                "option {code} of {len} bytes runs past the end of its block"
            )));
        };
        each(code, value, at + 4)?;
        at += 4 + pad4(len);
    }
    Ok(())
}

fn u32_at(order: ByteOrder, b: &[u8], at: usize) -> u32 {
    order.u32([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<R: Read> Reader<R> {
    /// Reads the file header (pcap) or first section header (pcapng).
    pub fn new(src: R) -> Result<Reader<R>, Error> {
        let mut r = Reader {
            src,
            format: Format::Pcap,
            order: ByteOrder::Little,
            interfaces: Vec::new(),
            buf: Vec::new(),
            offset: 0,
            packets: 0,
            sections: 1,
        };
        let mut magic = [0u8; 4];
        let got = r.read_header(&mut magic, 0)?;
        if got == 0 {
            return Err(r.error_at(0, 0, invalid("the file is empty")));
        }
        if got < 4 {
            return Err(r.truncated(0, 0, "file header", 4, got as u64));
        }
        if magic == SECTION_HEADER {
            r.format = Format::Pcapng;
            let mut len = [0u8; 4];
            let got = r.read_header(&mut len, 0)?;
            if got < 4 {
                return Err(r.truncated(0, 0, "section header", 8, 4 + got as u64));
            }
            r.section_header(0, 0, len)?;
        } else {
            r.pcap_header(magic)?;
        }
        Ok(r)
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The interfaces of the current section (pcap: the one).
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// The current section's number (1 for the first; a pcap file has
    /// one): interface IDs are per section.
    pub fn section(&self) -> u32 {
        self.sections
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Packets returned so far.
    pub fn packets_read(&self) -> u64 {
        self.packets
    }

    /// The next packet; `None` at the end of the file.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, Error> {
        let found = match self.format {
            Format::Pcap => self.next_pcap_record()?,
            Format::Pcapng => self.next_pcapng_packet()?,
        };
        let Some(f) = found else {
            return Ok(None);
        };
        self.packets += 1;
        let number = self.packets;
        let Some(interface) = self.interfaces.get(f.interface_id as usize) else {
            // Checked where the block was read; kept as an error, not a
            // panic, should that ever change.
            return Err(Error {
                packet: number,
                offset: f.offset,
                kind: invalid(format!("no interface {}", f.interface_id)),
            });
        };
        let timestamp = f.ticks.map(|t| {
            let ns = interface.resolution.nanos(t);
            let off = i128::from(interface.ts_offset) * 1_000_000_000;
            u64::try_from((i128::from(ns) + off).max(0)).unwrap_or(u64::MAX)
        });
        Ok(Some(Packet {
            number,
            offset: f.offset,
            section: self.sections,
            interface_id: f.interface_id,
            interface,
            timestamp,
            direction: f.direction,
            original_len: f.original_len,
            data: &self.buf[f.data.0..f.data.1],
            comment: f
                .comment
                .and_then(|(a, b)| std::str::from_utf8(&self.buf[a..b]).ok()),
        }))
    }

    fn error_at(&self, packet: u64, offset: u64, kind: ErrorKind) -> Error {
        Error {
            packet,
            offset,
            kind,
        }
    }

    fn truncated(
        &self,
        packet: u64,
        offset: u64,
        what: &'static str,
        wanted: u64,
        got: u64,
    ) -> Error {
        self.error_at(packet, offset, ErrorKind::Truncated { what, wanted, got })
    }

    /// Reads a fixed-size header into `buf`; how much of it there was.
    fn read_header(&mut self, buf: &mut [u8], packet: u64) -> Result<usize, Error> {
        let start = self.offset;
        let n = read_full(&mut self.src, buf).map_err(|e| Error {
            packet,
            offset: start,
            kind: ErrorKind::Io(e),
        })?;
        self.offset += n as u64;
        Ok(n)
    }

    /// Reads `len` bytes into `buf` (replacing it), growing it only as
    /// the data arrives, so a lying length field costs nothing.
    fn read_body(
        &mut self,
        len: u64,
        packet: u64,
        start: u64,
        what: &'static str,
        wanted: u64,
    ) -> Result<(), Error> {
        self.buf.clear();
        let got = (&mut self.src)
            .take(len)
            .read_to_end(&mut self.buf)
            .map_err(|e| Error {
                packet,
                offset: start,
                kind: ErrorKind::Io(e),
            })?;
        self.offset += got as u64;
        if (got as u64) < len {
            let before = wanted - len;
            return Err(self.truncated(packet, start, what, wanted, before + got as u64));
        }
        Ok(())
    }

    /// The rest of a pcap file header, after its magic.
    fn pcap_header(&mut self, magic: [u8; 4]) -> Result<(), Error> {
        let (order, nanos) = match (u32::from_le_bytes(magic), u32::from_be_bytes(magic)) {
            (PCAP_MICROS, _) => (ByteOrder::Little, false),
            (PCAP_NANOS, _) => (ByteOrder::Little, true),
            (_, PCAP_MICROS) => (ByteOrder::Big, false),
            (_, PCAP_NANOS) => (ByteOrder::Big, true),
            _ => {
                return Err(self.error_at(
                    0,
                    0,
                    invalid(format!(
                        "not a pcap or pcapng file (it starts with {:02x} {:02x} {:02x} {:02x})",
                        magic[0], magic[1], magic[2], magic[3]
                    )),
                ))
            }
        };
        let mut h = [0u8; 20];
        let got = self.read_header(&mut h, 0)?;
        if got < 20 {
            return Err(self.truncated(0, 0, "pcap file header", 24, 4 + got as u64));
        }
        let major = order.u16([h[0], h[1]]);
        if major != 2 {
            return Err(self.error_at(
                0,
                0,
                invalid(format!("pcap version {major} (only version 2 exists)")),
            ));
        }
        let snaplen = u32_at(order, &h, 12);
        // The link type is the low 16 bits; the FCS bits above them
        // (draft-ietf-opsawg-pcap §4, LinkType and additional information)
        // do not change where the IPv4 datagram is.
        let link_type = (u32_at(order, &h, 16) & 0xffff) as u16;
        self.order = order;
        self.interfaces = vec![Interface {
            link_type,
            name: None,
            snaplen,
            resolution: Resolution::Decimal(if nanos { 9 } else { 6 }),
            ts_offset: 0,
        }];
        Ok(())
    }

    fn next_pcap_record(&mut self) -> Result<Option<Found>, Error> {
        let packet = self.packets + 1;
        let start = self.offset;
        let mut h = [0u8; 16];
        let got = self.read_header(&mut h, packet)?;
        if got == 0 {
            return Ok(None);
        }
        if got < 16 {
            return Err(self.truncated(packet, start, "record header", 16, got as u64));
        }
        let o = self.order;
        let (secs, frac) = (u32_at(o, &h, 0), u32_at(o, &h, 4));
        let (incl, orig) = (u32_at(o, &h, 8), u32_at(o, &h, 12));
        if incl > MAX_PCAP_RECORD {
            return Err(self.error_at(
                packet,
                start,
                invalid(format!(
                    "the record claims {incl} captured bytes, more than any capture holds ({MAX_PCAP_RECORD})"
                )),
            ));
        }
        self.read_body(
            u64::from(incl),
            packet,
            start,
            "record",
            16 + u64::from(incl),
        )?;
        let ticks = match self.interfaces.first().map(|i| i.resolution) {
            Some(Resolution::Decimal(9)) => u64::from(secs) * 1_000_000_000 + u64::from(frac),
            _ => u64::from(secs) * 1_000_000 + u64::from(frac),
        };
        Ok(Some(Found {
            interface_id: 0,
            ticks: Some(ticks),
            direction: Direction::Unknown,
            original_len: orig,
            data: (0, incl as usize),
            comment: None,
            offset: start,
        }))
    }

    /// A section header block whose type (and `len_bytes`, its length
    /// in a byte order yet unknown) has been read: starts a new section.
    fn section_header(&mut self, packet: u64, start: u64, len_bytes: [u8; 4]) -> Result<(), Error> {
        let mut bom = [0u8; 4];
        let got = self.read_header(&mut bom, packet)?;
        if got < 4 {
            return Err(self.truncated(packet, start, "section header", 28, 8 + got as u64));
        }
        let order = if u32::from_le_bytes(bom) == BYTE_ORDER_MAGIC {
            ByteOrder::Little
        } else if u32::from_be_bytes(bom) == BYTE_ORDER_MAGIC {
            ByteOrder::Big
        } else {
            return Err(self.error_at(
                packet,
                start,
                invalid(format!(
                    "a section header without the byte-order magic 1a2b3c4d ({:02x}{:02x}{:02x}{:02x})",
                    bom[0], bom[1], bom[2], bom[3]
                )),
            ));
        };
        let len = order.u32(len_bytes);
        // Header, byte-order magic, versions, section length, trailer.
        if len < 28 || !len.is_multiple_of(4) || len > MAX_PCAPNG_BLOCK {
            return Err(self.error_at(
                packet,
                start,
                invalid(format!("a section header block of {len} bytes")),
            ));
        }
        self.read_body(
            u64::from(len) - 12,
            packet,
            start,
            "section header block",
            u64::from(len),
        )?;
        let b = &self.buf;
        let major = order.u16([b[0], b[1]]);
        let trailer = u32_at(order, b, b.len() - 4);
        if trailer != len {
            return Err(self.error_at(
                packet,
                start,
                invalid(format!(
                    "the section header block's length is {len} at its start and {trailer} at its end"
                )),
            ));
        }
        // draft-ietf-opsawg-pcapng §4.1: readers treat 1.0 and 1.2 alike;
        // another major version is another format.
        if major != 1 {
            return Err(self.error_at(
                packet,
                start,
                invalid(format!("pcapng major version {major} (only 1 exists)")),
            ));
        }
        self.order = order;
        self.interfaces.clear();
        Ok(())
    }

    /// Blocks up to the next packet; `None` at the end of the file.
    fn next_pcapng_packet(&mut self) -> Result<Option<Found>, Error> {
        loop {
            let packet = self.packets + 1;
            let start = self.offset;
            let mut h = [0u8; 8];
            let got = self.read_header(&mut h, packet)?;
            if got == 0 {
                return Ok(None);
            }
            if got < 8 {
                return Err(self.truncated(packet, start, "block header", 8, got as u64));
            }
            if h[..4] == SECTION_HEADER {
                self.section_header(packet, start, [h[4], h[5], h[6], h[7]])?;
                self.sections += 1;
                continue;
            }
            let o = self.order;
            let ty = u32_at(o, &h, 0);
            let len = u32_at(o, &h, 4);
            if len < 12 || !len.is_multiple_of(4) {
                return Err(self.error_at(
                    packet,
                    start,
                    invalid(format!(
                        "block type {ty:#x} has length {len} (a block is at least 12 bytes, a multiple of 4)"
                    )),
                ));
            }
            if len > MAX_PCAPNG_BLOCK {
                return Err(self.error_at(
                    packet,
                    start,
                    invalid(format!(
                        "block type {ty:#x} claims {len} bytes, more than {MAX_PCAPNG_BLOCK}"
                    )),
                ));
            }
            self.read_body(u64::from(len) - 8, packet, start, "block", u64::from(len))?;
            let body_len = self.buf.len() - 4;
            let trailer = u32_at(o, &self.buf, body_len);
            if trailer != len {
                return Err(self.error_at(
                    packet,
                    start,
                    invalid(format!(
                        "block type {ty:#x} has length {len} at its start and {trailer} at its end"
                    )),
                ));
            }
            let found = match ty {
                INTERFACE_DESCRIPTION => {
                    let itf = interface_description(o, &self.buf[..body_len])
                        .map_err(|k| self.error_at(packet, start, k))?;
                    self.interfaces.push(itf);
                    None
                }
                ENHANCED_PACKET | PACKET_OBSOLETE => Some(
                    self.packet_block(ty, body_len)
                        .map_err(|k| self.error_at(packet, start, k))?,
                ),
                SIMPLE_PACKET => Some(
                    self.simple_packet(body_len)
                        .map_err(|k| self.error_at(packet, start, k))?,
                ),
                // Name resolution, statistics, secrets, custom blocks...
                _ => None,
            };
            if let Some(mut f) = found {
                f.offset = start;
                return Ok(Some(f));
            }
        }
    }

    /// An enhanced packet block, or the obsolete packet block it
    /// replaced (a 16-bit interface ID and a drop count where the EPB
    /// has its 32-bit interface ID; draft-ietf-opsawg-pcapng Appendix A).
    fn packet_block(&self, ty: u32, body_len: usize) -> Result<Found, ErrorKind> {
        let o = self.order;
        let b = &self.buf[..body_len];
        let name = if ty == ENHANCED_PACKET {
            "an enhanced packet block"
        } else {
            "a packet block"
        };
        if b.len() < 20 {
            return Err(invalid(format!("{name} of {} bytes", b.len() + 12)));
        }
        let interface_id = if ty == ENHANCED_PACKET {
            u32_at(o, b, 0)
        } else {
            u32::from(o.u16([b[0], b[1]]))
        };
        let ticks = (u64::from(u32_at(o, b, 4)) << 32) | u64::from(u32_at(o, b, 8));
        let caplen = u32_at(o, b, 12) as usize;
        let original_len = u32_at(o, b, 16);
        if caplen > b.len() - 20 {
            return Err(invalid(format!(
                "{name} claims {caplen} captured bytes but holds {}",
                b.len() - 20
            )));
        }
        if interface_id as usize >= self.interfaces.len() {
            return Err(invalid(format!(
                "the packet is on interface {interface_id}, but the section describes {}",
                self.interfaces.len()
            )));
        }
        let mut direction = Direction::Unknown;
        let mut comment = None;
        let opts_at = (20 + pad4(caplen)).min(b.len());
        options(o, &b[opts_at..], |code, v, at| {
            if code == EPB_FLAGS && v.len() >= 4 {
                direction = match u32_at(o, v, 0) & 3 {
                    1 => Direction::Inbound,
                    2 => Direction::Outbound,
                    _ => Direction::Unknown,
                };
            }
            if code == OPT_COMMENT && comment.is_none() {
                comment = Some((opts_at + at, opts_at + at + v.len()));
            }
            Ok(())
        })?;
        Ok(Found {
            interface_id,
            ticks: Some(ticks),
            direction,
            original_len,
            data: (20, 20 + caplen),
            comment,
            offset: 0,
        })
    }

    /// A simple packet block: interface 0, no timestamp; its captured
    /// length is the least of its original length, its room and the
    /// snapshot length (draft-ietf-opsawg-pcapng §4.4).
    fn simple_packet(&self, body_len: usize) -> Result<Found, ErrorKind> {
        let b = &self.buf[..body_len];
        if b.len() < 4 {
            return Err(invalid(format!(
                "a simple packet block of {} bytes",
                b.len() + 12
            )));
        }
        let Some(itf) = self.interfaces.first() else {
            return Err(invalid(
                "a simple packet block before any interface description",
            ));
        };
        let original_len = u32_at(self.order, b, 0);
        let mut caplen = (original_len as usize).min(b.len() - 4);
        if itf.snaplen != 0 {
            caplen = caplen.min(itf.snaplen as usize);
        }
        Ok(Found {
            interface_id: 0,
            ticks: None,
            direction: Direction::Unknown,
            original_len,
            data: (4, 4 + caplen),
            comment: None,
            offset: 0,
        })
    }
}

/// An interface description block's body.
fn interface_description(o: ByteOrder, b: &[u8]) -> Result<Interface, ErrorKind> {
    if b.len() < 8 {
        return Err(invalid(format!(
            "an interface description block of {} bytes",
            b.len() + 12
        )));
    }
    let mut itf = Interface {
        link_type: o.u16([b[0], b[1]]),
        name: None,
        snaplen: u32_at(o, b, 4),
        resolution: Resolution::Decimal(6),
        ts_offset: 0,
    };
    options(o, &b[8..], |code, v, _| {
        match code {
            IF_NAME => {
                // UTF-8, not NUL-terminated, though some writers add one.
                let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
                itf.name = Some(String::from_utf8_lossy(&v[..end]).into_owned());
            }
            IF_TSRESOL => {
                let Some(&r) = v.first() else {
                    return Err(invalid("an empty if_tsresol option"));
                };
                itf.resolution = if r & 0x80 == 0 {
                    Resolution::Decimal(r)
                } else {
                    Resolution::Binary(r & 0x7f)
                };
            }
            IF_TSOFFSET => {
                let Some(s) = v.get(..8) else {
                    return Err(invalid("an if_tsoffset option shorter than 8 bytes"));
                };
                itf.ts_offset = o.u64([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]) as i64;
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(itf)
}
