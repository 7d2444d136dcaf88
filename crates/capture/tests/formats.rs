//! pcap and pcapng reading: both byte orders, timestamp resolutions,
//! every packet block kind, several sections; damaged files give errors
//! that name the packet and byte offset, and never panic.

use palisade_capture::read::{Format, Resolution};
use palisade_capture::write::PacketInfo;
use palisade_capture::{
    linktype, ByteOrder, Direction, ErrorKind, PcapWriter, PcapngWriter, Reader,
};
use proptest::prelude::*;

/// A packet as read back: interface name, time, direction, bytes.
type Seen = (Option<String>, Option<u64>, Direction, Vec<u8>);

fn read_all(bytes: &[u8]) -> Result<Vec<Seen>, palisade_capture::Error> {
    let mut r = Reader::new(bytes)?;
    let mut out = Vec::new();
    while let Some(p) = r.next_packet()? {
        out.push((
            p.interface.name.clone(),
            p.timestamp,
            p.direction,
            p.data.to_vec(),
        ));
    }
    Ok(out)
}

/// Hand-built pcapng blocks, in either byte order.
struct Ng {
    order: ByteOrder,
    out: Vec<u8>,
}

impl Ng {
    fn new(order: ByteOrder) -> Ng {
        Ng {
            order,
            out: Vec::new(),
        }
    }
    fn u16(&self, v: u16) -> [u8; 2] {
        match self.order {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }
    fn u32(&self, v: u32) -> [u8; 4] {
        match self.order {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }
    fn opt(&self, body: &mut Vec<u8>, code: u16, v: &[u8]) {
        body.extend_from_slice(&self.u16(code));
        body.extend_from_slice(&self.u16(v.len() as u16));
        body.extend_from_slice(v);
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
    }
    fn block(&mut self, ty: u32, body: &[u8]) -> &mut Self {
        let len = 12 + body.len() as u32;
        let t = self.u32(ty);
        let l = self.u32(len);
        self.out.extend_from_slice(&t);
        self.out.extend_from_slice(&l);
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(&l);
        self
    }
    fn shb(&mut self) -> &mut Self {
        let mut b = self.u32(0x1a2b_3c4d).to_vec();
        b.extend_from_slice(&self.u16(1));
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d_0d0a, &b)
    }
    fn idb(
        &mut self,
        link: u16,
        name: Option<&str>,
        tsresol: Option<u8>,
        offset: Option<i64>,
    ) -> &mut Self {
        let mut b = self.u16(link).to_vec();
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&self.u32(0));
        if let Some(n) = name {
            self.opt(&mut b, 2, n.as_bytes());
        }
        if let Some(r) = tsresol {
            self.opt(&mut b, 9, &[r]);
        }
        if let Some(o) = offset {
            let v = match self.order {
                ByteOrder::Little => o.to_le_bytes(),
                ByteOrder::Big => o.to_be_bytes(),
            };
            self.opt(&mut b, 14, &v);
        }
        self.opt(&mut b, 0, &[]);
        self.block(1, &b)
    }
    fn epb(&mut self, iface: u32, ticks: u64, data: &[u8], flags: Option<u32>) -> &mut Self {
        let mut b = self.u32(iface).to_vec();
        b.extend_from_slice(&self.u32((ticks >> 32) as u32));
        b.extend_from_slice(&self.u32(ticks as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(&self.u32(data.len() as u32 + 10));
        b.extend_from_slice(data);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        if let Some(f) = flags {
            let v = self.u32(f);
            self.opt(&mut b, 2, &v);
            self.opt(&mut b, 0, &[]);
        }
        self.block(6, &b)
    }
    fn spb(&mut self, orig: u32, data: &[u8]) -> &mut Self {
        let mut b = self.u32(orig).to_vec();
        b.extend_from_slice(data);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        self.block(3, &b)
    }
    fn obsolete_pb(&mut self, iface: u16, ticks: u64, data: &[u8]) -> &mut Self {
        let mut b = self.u16(iface).to_vec();
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&self.u32((ticks >> 32) as u32));
        b.extend_from_slice(&self.u32(ticks as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(data);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        self.block(2, &b)
    }
}

#[test]
fn pcapng_in_both_byte_orders_with_every_packet_block() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let mut ng = Ng::new(order);
        ng.shb()
            .idb(228, Some("eth0"), None, None) // microseconds
            .idb(1, Some("docker0\0"), Some(9), None) // nanoseconds, NUL-terminated name
            .block(4, &[0; 8]) // name resolution block: skipped
            .epb(0, 1_700_000_000_123_456, &[0x45, 1, 2], Some(1))
            .epb(1, 1_700_000_000_123_456_789, &[0xaa; 5], Some(2))
            .block(0x4000_0bad, &[1, 2, 3, 4]) // custom block: skipped
            .spb(6, &[1, 2, 3, 4, 5, 6, 7, 8]) // 6 of the 8 bytes are the packet
            .obsolete_pb(1, 5, &[9]);
        let got = read_all(&ng.out).unwrap();
        let eth0 = Some("eth0".to_string());
        let docker0 = Some("docker0".to_string());
        assert_eq!(
            got,
            vec![
                (
                    eth0.clone(),
                    Some(1_700_000_000_123_456_000),
                    Direction::Inbound,
                    vec![0x45, 1, 2]
                ),
                (
                    docker0.clone(),
                    Some(1_700_000_000_123_456_789),
                    Direction::Outbound,
                    vec![0xaa; 5]
                ),
                (eth0, None, Direction::Unknown, vec![1, 2, 3, 4, 5, 6]),
                (docker0, Some(5), Direction::Unknown, vec![9]),
            ],
            "{order:?}"
        );
    }
}

#[test]
fn timestamp_resolutions_and_offsets() {
    let mut ng = Ng::new(ByteOrder::Little);
    ng.shb()
        .idb(228, Some("a"), Some(3), Some(100)) // milliseconds, +100 s
        .idb(228, Some("b"), Some(0x80 | 10), None) // 1/1024 s
        .idb(228, Some("c"), Some(12), Some(-5)) // picoseconds, -5 s
        .epb(0, 1500, &[0x45], None)
        .epb(1, 3 * 1024 + 512, &[0x45], None)
        .epb(2, 7_000_000_000_000, &[0x45], None);
    let got: Vec<Option<u64>> = read_all(&ng.out)
        .unwrap()
        .into_iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(
        got,
        vec![
            Some(101_500_000_000),
            Some(3_500_000_000),
            Some(2_000_000_000)
        ]
    );
    assert_eq!(Resolution::Binary(127).nanos(u64::MAX), 0);
    assert_eq!(Resolution::Decimal(127).nanos(u64::MAX), 0);
    assert_eq!(Resolution::Decimal(0).nanos(u64::MAX), u64::MAX);
}

#[test]
fn a_new_section_has_its_own_byte_order_and_interfaces() {
    let mut a = Ng::new(ByteOrder::Little);
    a.shb()
        .idb(228, Some("eth0"), None, None)
        .epb(0, 1, &[1], None);
    let mut b = Ng::new(ByteOrder::Big);
    b.shb()
        .idb(1, Some("eth1"), None, None)
        .epb(0, 2, &[2], None);
    let mut file = a.out.clone();
    file.extend_from_slice(&b.out);
    let mut r = Reader::new(file.as_slice()).unwrap();
    assert_eq!(r.format(), Format::Pcapng);
    let p = r.next_packet().unwrap().unwrap();
    assert_eq!(
        (p.interface.name.as_deref(), p.interface.link_type),
        (Some("eth0"), 228)
    );
    let p = r.next_packet().unwrap().unwrap();
    assert_eq!(
        (p.interface.name.as_deref(), p.interface.link_type),
        (Some("eth1"), 1)
    );
    assert_eq!(p.number, 2);
    assert_eq!(p.offset, a.out.len() as u64 + 28 + 32);
    assert!(r.next_packet().unwrap().is_none());
    assert_eq!(r.interfaces().len(), 1);
}

#[test]
fn pcap_in_both_byte_orders_and_both_resolutions() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        for nanos in [false, true] {
            let mut w = PcapWriter::new(Vec::new(), linktype::ETHERNET, order, nanos).unwrap();
            w.write_packet(1_700_000_000_123_456_789, &[1, 2, 3])
                .unwrap();
            w.write_packet(1_700_000_001_000_000_000, &[]).unwrap();
            let bytes = w.into_inner();
            let mut r = Reader::new(bytes.as_slice()).unwrap();
            assert_eq!(r.format(), Format::Pcap);
            assert_eq!(r.interfaces()[0].link_type, 1);
            assert_eq!(r.interfaces()[0].name, None);
            let p = r.next_packet().unwrap().unwrap();
            let want = if nanos {
                1_700_000_000_123_456_789
            } else {
                1_700_000_000_123_456_000
            };
            assert_eq!((p.timestamp, p.data), (Some(want), &[1u8, 2, 3][..]));
            let p = r.next_packet().unwrap().unwrap();
            assert_eq!((p.number, p.offset, p.data.len()), (2, 24 + 19, 0));
            assert!(r.next_packet().unwrap().is_none());
        }
    }
}

#[test]
fn writer_output_reads_back() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let mut w = PcapngWriter::with_byte_order(Vec::new(), "test", order).unwrap();
        assert_eq!(w.add_interface("eth0", linktype::IPV4).unwrap(), 0);
        assert_eq!(w.add_interface("docker0", linktype::IPV4).unwrap(), 1);
        let info = PacketInfo {
            direction: Direction::Outbound,
            comment: Some("packet 1"),
        };
        w.write_packet(1, 42, &[0x45, 0, 0], info).unwrap();
        w.write_packet(0, u64::MAX, &[], PacketInfo::default())
            .unwrap();
        assert!(w.write_packet(2, 0, &[], PacketInfo::default()).is_err());
        let file = w.into_inner();
        let mut r = Reader::new(file.as_slice()).unwrap();
        assert_eq!(r.next_packet().unwrap().unwrap().comment, Some("packet 1"));
        assert_eq!(r.next_packet().unwrap().unwrap().comment, None);
        let got = read_all(&file).unwrap();
        assert_eq!(
            got,
            vec![
                (
                    Some("docker0".into()),
                    Some(42),
                    Direction::Outbound,
                    vec![0x45, 0, 0]
                ),
                (
                    Some("eth0".into()),
                    Some(u64::MAX),
                    Direction::Unknown,
                    vec![]
                ),
            ]
        );
    }
}

fn error_of(bytes: &[u8]) -> palisade_capture::Error {
    match read_all(bytes) {
        Ok(p) => panic!("read {} packets from a damaged file", p.len()),
        Err(e) => e,
    }
}

#[test]
fn damaged_files_name_the_packet_and_offset() {
    let mut ng = Ng::new(ByteOrder::Little);
    ng.shb().idb(228, Some("eth0"), None, None);
    let header = ng.out.len() as u64;
    ng.epb(0, 1, &[0x45; 20], None);
    let second = ng.out.len() as u64;
    ng.epb(0, 2, &[0x45; 20], None);
    let good = ng.out.clone();
    assert_eq!(read_all(&good).unwrap().len(), 2);

    // Cut inside the second packet's block.
    let e = error_of(&good[..good.len() - 3]);
    assert_eq!((e.packet, e.offset), (2, second));
    assert!(
        matches!(
            e.kind,
            ErrorKind::Truncated {
                wanted: 52,
                got: 49,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!("packet 2 (byte {second}): the file ends 49 bytes into a 52-byte block (truncated capture)")
    );
    // A length that is no multiple of 4.
    let mut bad = good.clone();
    bad[header as usize + 4] = 51;
    let e = error_of(&bad);
    assert_eq!((e.packet, e.offset), (1, header));
    assert!(e.to_string().contains("multiple of 4"), "{e}");
    // Start and end lengths that disagree.
    let mut bad = good.clone();
    bad[second as usize - 4] = 48;
    let e = error_of(&bad);
    assert!(e.to_string().contains("at its end"), "{e}");
    // A captured length beyond the block.
    let mut bad = good.clone();
    bad[header as usize + 20] = 200;
    let e = error_of(&bad);
    assert_eq!(e.packet, 1);
    assert!(e.to_string().contains("claims 200 captured bytes"), "{e}");
    // An interface the section never described.
    let mut bad = good.clone();
    bad[second as usize + 8] = 3;
    let e = error_of(&bad);
    assert_eq!((e.packet, e.offset), (2, second));
    assert!(e.to_string().contains("interface 3"), "{e}");
    // A huge length is refused before anything is read.
    let mut bad = good.clone();
    bad[second as usize + 4..second as usize + 8].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    assert!(error_of(&bad).to_string().contains("more than"));

    // pcap: a record cut short, and a record longer than any capture.
    let mut w = PcapWriter::new(Vec::new(), 228, ByteOrder::Little, false).unwrap();
    w.write_packet(0, &[0x45; 40]).unwrap();
    w.write_packet(0, &[0x45; 40]).unwrap();
    let pcap = w.into_inner();
    let e = error_of(&pcap[..pcap.len() - 1]);
    assert_eq!((e.packet, e.offset), (2, 24 + 56));
    assert!(
        matches!(
            e.kind,
            ErrorKind::Truncated {
                wanted: 56,
                got: 55,
                ..
            }
        ),
        "{e}"
    );
    let e = error_of(&pcap[..24 + 56 + 10]);
    assert!(
        matches!(
            e.kind,
            ErrorKind::Truncated {
                what: "record header",
                ..
            }
        ),
        "{e}"
    );
    let mut bad = pcap.clone();
    bad[24 + 8..24 + 12].copy_from_slice(&1_000_000u32.to_le_bytes());
    assert!(error_of(&bad).to_string().contains("more than any capture"));

    // Not a capture at all, or an empty file.
    let e = Reader::new(&b"{\"interfaces\": []}"[..]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "file header: not a pcap or pcapng file (it starts with 7b 22 69 6e)"
    );
    assert!(Reader::new(&b""[..])
        .unwrap_err()
        .to_string()
        .contains("empty"));
    assert!(Reader::new(&pcap[..10]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random bytes, with or without a valid start, never panic.
    #[test]
    fn random_bytes_never_panic(kind in 0..5u8, tail in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = match kind {
            0 => vec![0x0a, 0x0d, 0x0d, 0x0a],
            1 => vec![0xd4, 0xc3, 0xb2, 0xa1],
            // Valid headers, then random blocks or records.
            2 => {
                let mut w = PcapngWriter::new(Vec::new(), "p").unwrap();
                w.add_interface("eth0", 276).unwrap();
                w.into_inner()
            }
            3 => PcapWriter::new(Vec::new(), 113, ByteOrder::Big, false).unwrap().into_inner(),
            _ => vec![],
        };
        bytes.extend_from_slice(&tail);
        if let Ok(mut r) = Reader::new(bytes.as_slice()) {
            while let Ok(Some(p)) = r.next_packet() {
                let _ = palisade_capture::decode(p.interface.link_type, p.data);
            }
        }
    }

    /// Valid files cut anywhere, or with one byte changed, never panic;
    /// a cut file reads back a prefix of its packets.
    #[test]
    fn truncated_and_flipped_files_never_panic(
        packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 1..6),
        big in any::<bool>(),
        ng in any::<bool>(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let order = if big { ByteOrder::Big } else { ByteOrder::Little };
        let file = if ng {
            let mut w = PcapngWriter::with_byte_order(Vec::new(), "p", order).unwrap();
            w.add_interface("eth0", 1).unwrap();
            for (i, p) in packets.iter().enumerate() {
                w.write_packet(0, i as u64, p, PacketInfo::default()).unwrap();
            }
            w.into_inner()
        } else {
            let mut w = PcapWriter::new(Vec::new(), 1, order, true).unwrap();
            for (i, p) in packets.iter().enumerate() {
                w.write_packet(i as u64, p).unwrap();
            }
            w.into_inner()
        };
        let all = read_all(&file).unwrap();
        prop_assert_eq!(all.len(), packets.len());
        let n = cut.index(file.len());
        let mut got = Vec::new();
        if let Ok(mut r) = Reader::new(&file[..n]) {
            loop {
                match r.next_packet() {
                    Ok(Some(p)) => got.push(p.data.to_vec()),
                    Ok(None) => break,
                    Err(e) => {
                        prop_assert_eq!(e.packet, got.len() as u64 + 1);
                        break;
                    }
                }
            }
        }
        prop_assert!(got.len() <= packets.len());
        prop_assert_eq!(&got[..], &packets[..got.len()]);
        let mut bad = file.clone();
        let i = flip.index(bad.len());
        bad[i] = value;
        let _ = read_all(&bad);
    }
}
