//! `palisade trace --pcap FILE --frame N`: frame N of a pcap or pcapng
//! capture (numbered from 1, as Wireshark and `tcpdump -#` number them),
//! traced after the capture's frames before it.
//!
//! As `palisade replay` takes a capture (palisade_lab::replay): only IPv4
//! datagrams the capturing host received go in (not those it sent, not
//! those cut short by the snapshot length), on `--in IFACE` or the pcapng
//! interface's name, at their capture-time distance from the first one;
//! checksums left to the device (offload) are completed. Unlike replay,
//! frames go in file order (a multi-interface capture is not merged by
//! time).

use std::fs::File;
use std::io::BufReader;

use palisade_capture::{decode, Direction, Payload, Reader};
use palisade_lab::replay::complete_offloaded_checksum;
use palisade_lab::scenario::{Packet, Via};

/// The packets of frames 1..=`frame` that go in, the last being frame
/// `frame` itself.
pub fn packets(file: &str, frame: u64, ingress: Option<&str>) -> Result<Vec<Packet>, String> {
    if frame == 0 {
        return Err("--frame counts from 1".to_string());
    }
    let f = File::open(file).map_err(|e| format!("{file}: {e}"))?;
    let mut reader = Reader::new(BufReader::new(f)).map_err(|e| format!("{file}: {e}"))?;
    let mut out = Vec::new();
    let mut first_ts: Option<u64> = None;
    loop {
        let p = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => {
                return Err(format!(
                    "{file}: no frame {frame} (it has {})",
                    reader.packets_read()
                ))
            }
            Err(e) => return Err(format!("{file}: {e}")),
        };
        let this = p.number == frame;
        let fr = decode(p.interface.link_type, p.data);
        let why_not = match fr.payload {
            Payload::Skipped(why) => Some(why.to_string()),
            _ if p.direction == Direction::Outbound || fr.direction == Direction::Outbound => {
                Some("sent by the capturing host".to_string())
            }
            Payload::Ipv4(ip) if snapped(ip, p.original_len, p.data.len()) => {
                Some("cut short by the snapshot length".to_string())
            }
            Payload::Ipv4(_) => None,
        };
        let (Payload::Ipv4(ip), None) = (fr.payload, &why_not) else {
            if this {
                let why = why_not.unwrap_or_default();
                return Err(format!("{file}: frame {frame} cannot be traced: {why}"));
            }
            continue;
        };
        let name = match (ingress, &p.interface.name) {
            (Some(i), _) => i.to_string(),
            (None, Some(n)) => n.clone(),
            (None, None) => {
                return Err(format!(
                    "{file}: the capture does not say which interface frame {} arrived on; give --in IFACE",
                    p.number
                ))
            }
        };
        let mut bytes = ip.to_vec();
        complete_offloaded_checksum(&mut bytes);
        // At its capture-time distance from the first (a frame without a
        // time, a pcapng simple packet, follows the one before).
        let at = match (p.timestamp, first_ts) {
            (Some(t), Some(t0)) => Some(t.saturating_sub(t0) as f64 / 1e9),
            (Some(t), None) => {
                first_ts = Some(t);
                Some(0.0)
            }
            (None, _) => out.last().and_then(|q: &Packet| q.at),
        };
        out.push(Packet {
            via: Via::In(name),
            bytes,
            pkt: None,
            at,
            comment: Some(format!("frame {}", p.number)),
        });
        if this {
            return Ok(out);
        }
    }
}

/// Whether the capture cut the datagram short (replay's test).
fn snapped(ip: &[u8], original_len: u32, captured: usize) -> bool {
    if (original_len as usize) <= captured {
        return false;
    }
    match ip.get(2..4) {
        Some(l) => usize::from(u16::from_be_bytes([l[0], l[1]])) > ip.len(),
        None => true,
    }
}
