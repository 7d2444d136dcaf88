//! Writing captures: pcapng (what palisade produces) and classic pcap
//! (for tools that read nothing else).

use std::io::{self, Write};

use crate::{ByteOrder, Direction};

/// Timestamps are written in nanoseconds (`if_tsresol` 9), so the times
/// of a capture read at any resolution are kept exactly.
const TSRESOL_NANOS: u8 = 9;

/// What a packet block may carry besides the packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct PacketInfo<'a> {
    /// `epb_flags` direction bits; `Unknown` writes no flags.
    pub direction: Direction,
    /// `opt_comment`, shown by Wireshark as the packet's comment.
    pub comment: Option<&'a str>,
}

/// A pcapng writer: a section header, then interface descriptions and
/// enhanced packet blocks as they are added.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    order: ByteOrder,
    interfaces: u32,
    /// The block being built (reused).
    block: Vec<u8>,
}

fn too_big(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what} is too long for a pcapng block"),
    )
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a little-endian file; `application` goes in `shb_userappl`.
    pub fn new(out: W, application: &str) -> io::Result<Self> {
        Self::with_byte_order(out, application, ByteOrder::Little)
    }

    pub fn with_byte_order(out: W, application: &str, order: ByteOrder) -> io::Result<Self> {
        let mut w = PcapngWriter {
            out,
            order,
            interfaces: 0,
            block: Vec::with_capacity(2048),
        };
        let o = order;
        w.start_block(0x0a0d_0d0a);
        o.put_u32(&mut w.block, 0x1a2b_3c4d);
        o.put_u16(&mut w.block, 1);
        o.put_u16(&mut w.block, 0);
        // Section length: not given.
        o.put_u64(&mut w.block, u64::MAX);
        // shb_userappl.
        w.option(4, application.as_bytes())?;
        w.end_options();
        w.finish_block()?;
        Ok(w)
    }

    /// Describes an interface named `name` with link type `link_type`;
    /// returns its ID for [`Self::write_packet`].
    pub fn add_interface(&mut self, name: &str, link_type: u16) -> io::Result<u32> {
        let o = self.order;
        self.start_block(1);
        o.put_u16(&mut self.block, link_type);
        o.put_u16(&mut self.block, 0);
        // SnapLen 0: no limit (draft-ietf-opsawg-pcapng §4.2).
        o.put_u32(&mut self.block, 0);
        self.option(2, name.as_bytes())?;
        self.option(9, &[TSRESOL_NANOS])?;
        self.end_options();
        self.finish_block()?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Writes a packet of interface `interface` captured at `nanos`
    /// (nanoseconds since 1970-01-01 UTC).
    pub fn write_packet(
        &mut self,
        interface: u32,
        nanos: u64,
        data: &[u8],
        info: PacketInfo<'_>,
    ) -> io::Result<()> {
        if interface >= self.interfaces {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no interface {interface} was added"),
            ));
        }
        let len = u32::try_from(data.len())
            .ok()
            .filter(|l| *l <= u32::MAX - 1024)
            .ok_or_else(|| too_big("the packet"))?;
        let o = self.order;
        self.start_block(6);
        o.put_u32(&mut self.block, interface);
        o.put_u32(&mut self.block, (nanos >> 32) as u32);
        o.put_u32(&mut self.block, nanos as u32);
        o.put_u32(&mut self.block, len);
        o.put_u32(&mut self.block, len);
        self.block.extend_from_slice(data);
        self.pad();
        let mut any = false;
        let flags = match info.direction {
            Direction::Unknown => None,
            Direction::Inbound => Some(1u32),
            Direction::Outbound => Some(2u32),
        };
        if let Some(f) = flags {
            let bytes = match o {
                ByteOrder::Little => f.to_le_bytes(),
                ByteOrder::Big => f.to_be_bytes(),
            };
            self.option(2, &bytes)?;
            any = true;
        }
        if let Some(c) = info.comment {
            self.option(1, c.as_bytes())?;
            any = true;
        }
        if any {
            self.end_options();
        }
        self.finish_block()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn start_block(&mut self, ty: u32) {
        self.block.clear();
        self.order.put_u32(&mut self.block, ty);
        // The length, filled in by finish_block.
        self.block.extend_from_slice(&[0; 4]);
    }

    fn pad(&mut self) {
        while !self.block.len().is_multiple_of(4) {
            self.block.push(0);
        }
    }

    fn option(&mut self, code: u16, value: &[u8]) -> io::Result<()> {
        let len = u16::try_from(value.len()).map_err(|_| too_big("an option"))?;
        self.order.put_u16(&mut self.block, code);
        self.order.put_u16(&mut self.block, len);
        self.block.extend_from_slice(value);
        self.pad();
        Ok(())
    }

    fn end_options(&mut self) {
        self.block.extend_from_slice(&[0; 4]);
    }

    fn finish_block(&mut self) -> io::Result<()> {
        let len = u32::try_from(self.block.len() + 4).map_err(|_| too_big("a block"))?;
        let bytes = match self.order {
            ByteOrder::Little => len.to_le_bytes(),
            ByteOrder::Big => len.to_be_bytes(),
        };
        self.block[4..8].copy_from_slice(&bytes);
        self.block.extend_from_slice(&bytes);
        self.out.write_all(&self.block)
    }
}

/// A classic pcap writer: one link type, no interface names.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    order: ByteOrder,
    nanos: bool,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header: `nanos` picks the nanosecond magic
    /// (otherwise microseconds); snapshot length 262144 (libpcap's
    /// MAXIMUM_SNAPLEN).
    pub fn new(mut out: W, link_type: u16, order: ByteOrder, nanos: bool) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        order.put_u32(&mut h, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        order.put_u16(&mut h, 2);
        order.put_u16(&mut h, 4);
        order.put_u32(&mut h, 0);
        order.put_u32(&mut h, 0);
        order.put_u32(&mut h, crate::read::MAX_PCAP_RECORD);
        order.put_u32(&mut h, u32::from(link_type));
        out.write_all(&h)?;
        Ok(PcapWriter { out, order, nanos })
    }

    /// Writes a packet captured at `nanos` (since 1970-01-01 UTC; the
    /// seconds must fit in 32 bits, as pcap stores them).
    pub fn write_packet(&mut self, nanos: u64, data: &[u8]) -> io::Result<()> {
        let len = u32::try_from(data.len())
            .ok()
            .filter(|l| *l <= crate::read::MAX_PCAP_RECORD)
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "packet too long for pcap")
            })?;
        let secs = u32::try_from(nanos / 1_000_000_000).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "time beyond pcap's 32-bit seconds",
            )
        })?;
        let sub = (nanos % 1_000_000_000) as u32;
        let frac = if self.nanos { sub } else { sub / 1000 };
        let mut h = Vec::with_capacity(16);
        for v in [secs, frac, len, len] {
            self.order.put_u32(&mut h, v);
        }
        self.out.write_all(&h)?;
        self.out.write_all(data)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}
