//! Replays a packet capture through the engine (`palisade replay`).
//!
//! Every IPv4 datagram the capturing host received goes in on its
//! interface at its capture time; what leaves each interface is written to
//! a pcapng file; a [`Summary`] counts what became of each input.
//!
//! - Ingress: `--in IFACE` for every packet, else the Linux cooked v2
//!   interface index (named with `--iface N=NAME`), else the pcapng
//!   interface name (renamed with `--iface FROM=TO`).
//! - Skipped, and counted by reason: what is not IPv4 (see
//!   `palisade_capture::link`), packets the capturing host sent (pcapng
//!   direction outbound, or a Linux cooked `PACKET_OUTGOING`: the engine
//!   produces those itself), packets cut short by the snapshot length,
//!   packets on `lo` (the host's own traffic) or on interfaces the
//!   topology lacks.
//! - Order and time: packets are replayed in capture-time order, which
//!   is not file order when several interfaces were captured at once
//!   (see `reorder`). The first replayed packet is at [`START`], as in
//!   `simulate`, and the others follow at their capture-time distance
//!   from it, so connection timeouts and rate limits run on capture time.
//!   A timestamp earlier than one already replayed is replayed at the
//!   previous time (and counted); a packet without one (pcapng simple
//!   packet block) takes the latest time read.
//! - Checksums that the capturing host left to the device (offload) are
//!   completed first, and counted ([`complete_offloaded_checksum`]).
//! - Output: one pcapng interface block per interface of the topology
//!   but `lo`, link type `LINKTYPE_IPV4` (228): Wireshark shows such
//!   frames as plain IPv4, and libpcap (tcpdump) reads a file whose
//!   interfaces all have it, which it refuses for `LINKTYPE_RAW` (101)
//!   in every interface after the first. Each output packet carries the
//!   capture time of the input that caused it, the outbound direction
//!   flag, and the comment `packet N`, N being that input's number.
//!   Datagrams delivered to the host are counted, not written: what is
//!   written is what left the host, as the kernel harness sees it.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use palisade_capture::write::PacketInfo;
use palisade_capture::{decode, linktype, Direction, Payload, PcapngWriter, Reader, Skip};
use palisade_engine::topology::{IfIndex, Topology, LOOPBACK};
use palisade_engine::wire::ipv4::{self, Ipv4Read};
use palisade_engine::wire::{checksum, transport};
use palisade_engine::{DropSite, Engine, Fate, Ingress, Outputs, Time};
use palisade_rules::model::{Hook, Rule, Ruleset, Target};

mod reorder;

use crate::scenario::{Scenario, Via};
use crate::simulate::{arrival_times, START};
use reorder::{Held, Reorder};

/// A capture interface, as `--iface FROM=TO` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureIface {
    /// A pcapng interface name.
    Name(String),
    /// The interface index of a Linux cooked v2 header.
    Index(u32),
}

/// Where the captured packets arrived.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Every packet arrived on this interface (`--in`).
    pub ingress: Option<String>,
    /// Capture interfaces and the topology's interfaces they are.
    pub rename: Vec<(CaptureIface, String)>,
}

/// Why a captured packet was not replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// Not an IPv4 datagram.
    Link(Skip),
    /// Sent by the capturing host.
    Outbound,
    /// Cut short by the capture's snapshot length.
    Snapped,
    /// Captured on `lo`.
    Loopback,
    /// On a capture interface the topology does not have.
    UnknownInterface(String),
    /// On a Linux cooked v2 interface index no `--iface N=NAME` names.
    UnnamedIndex(u32),
    /// The capture names no interface and no `--in` was given.
    NoInterface,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skipped::Link(s) => write!(f, "{s}"),
            Skipped::Outbound => f.write_str("sent by the capturing host"),
            Skipped::Snapped => f.write_str("cut short by the snapshot length"),
            Skipped::Loopback => f.write_str("on lo (the host's own traffic)"),
            Skipped::UnknownInterface(n) => {
                write!(
                    f,
                    "on {n}, which the topology lacks (--iface {n}=NAME renames it)"
                )
            }
            Skipped::UnnamedIndex(i) => write!(
                f,
                "on interface index {i}, unnamed (--iface {i}=NAME; `ip link` on the capturing host lists them)"
            ),
            Skipped::NoInterface => f.write_str("on an interface the capture does not name (--in IFACE)"),
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Packets read from the capture.
    pub read: u64,
    /// Packets put through the engine.
    pub replayed: u64,
    /// Inputs that left by an interface.
    pub forwarded: u64,
    /// Inputs delivered to the host's stack.
    pub delivered: u64,
    /// Inputs the IP layer discarded without a netfilter verdict.
    pub discarded: u64,
    /// Inputs netfilter dropped, by where (in the order first seen).
    pub dropped: Vec<(DropSite, u64)>,
    /// Packets the host generated in answer.
    pub generated: u64,
    /// Packets that left, per interface index.
    pub written: Vec<u64>,
    /// Packets not replayed, by reason (in the order first seen).
    pub skipped: Vec<(Skipped, u64)>,
    /// Packets whose timestamp was earlier than one already replayed.
    pub backwards: u64,
    /// Packets whose TCP or UDP checksum was left to the device
    /// (checksum offload), completed before the replay.
    pub offloaded: u64,
    /// Capture times of the first and last replayed packets (ns).
    pub span: Option<(u64, u64)>,
    /// Time spent in `Engine::process`.
    pub engine_time: Duration,
    /// Time in all, reading and writing included.
    pub total_time: Duration,
}

fn bump<K: PartialEq>(list: &mut Vec<(K, u64)>, key: K) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => list.push((key, 1)),
    }
}

/// The rule a drop site names, if it is a rule.
fn rule_at<'r>(rs: &'r Ruleset, site: &DropSite) -> Option<&'r Rule> {
    let DropSite::Chain {
        table,
        chain,
        rule: Some(rule),
        ..
    } = site
    else {
        return None;
    };
    rs.table(*table)?.chains().nth(*chain)?.rules.get(*rule)
}

fn is_reject(rs: &Ruleset, site: &DropSite) -> bool {
    rule_at(rs, site).is_some_and(|r| matches!(&r.target, Target::Ext(t) if t.name() == "REJECT"))
}

fn hook_name(h: Hook) -> &'static str {
    h.chain_name()
}

/// A drop site in words: `filter DOCKER rule 2: -A DOCKER ... -j DROP`.
fn describe(rs: &Ruleset, site: &DropSite) -> String {
    match site {
        DropSite::Chain {
            hook,
            table,
            chain,
            rule,
        } => {
            let c = rs.table(*table).and_then(|t| t.chains().nth(*chain));
            let name = c.map_or("?", |c| c.name.as_str());
            let via = if name == hook_name(*hook) {
                String::new()
            } else {
                format!(" (from {})", hook_name(*hook))
            };
            match rule {
                None => format!("{} {name} policy{via}", table.name()),
                Some(r) => {
                    let spec = rule_at(rs, site)
                        .map(|rule| {
                            let spec = palisade_rules::save::rule_spec(rule);
                            format!(": -A {name} {}", spec.trim())
                        })
                        .unwrap_or_default();
                    format!("{} {name} rule {}{via}{spec}", table.name(), r + 1)
                }
            }
        }
        DropSite::Conntrack { hook } => {
            format!(
                "conntrack at {} (invalid, or not confirmed)",
                hook_name(*hook)
            )
        }
        DropSite::Nat { hook } => {
            format!("NAT at {} (no translation or no route)", hook_name(*hook))
        }
    }
}

fn rate(n: u64, d: Duration) -> String {
    let s = d.as_secs_f64();
    if s > 0.0 {
        format!("{:.0}", n as f64 / s)
    } else {
        "-".to_string()
    }
}

/// One line of the report: a label, a count, an optional note.
fn line(s: &mut String, label: &str, n: u64, note: &str) {
    let _ = write!(s, "{label:<28}{n:>10}");
    if !note.is_empty() {
        let _ = write!(s, "  {note}");
    }
    s.push('\n');
}

impl Summary {
    /// The summary as text; `rs` (the ruleset replayed, for rule texts)
    /// and `topo` (for interface names) are the engine's.
    pub fn report(&self, rs: &Ruleset, topo: &Topology) -> String {
        let mut s = String::new();
        let span = self
            .span
            .map_or(0.0, |(a, b)| b.saturating_sub(a) as f64 / 1e9);
        let _ = writeln!(
            s,
            "replayed {} of {} packets ({span:.3} s of capture)",
            self.replayed, self.read
        );
        line(&mut s, "  forwarded", self.forwarded, "");
        line(&mut s, "  delivered locally", self.delivered, "");
        let (mut rejects, mut drops): (Vec<_>, Vec<_>) = self
            .dropped
            .iter()
            .partition(|(site, _)| is_reject(rs, site));
        for (title, list) in [("  dropped", &mut drops), ("  rejected", &mut rejects)] {
            line(&mut s, title, list.iter().map(|(_, n)| n).sum(), "");
            list.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
            for (site, n) in list.iter() {
                line(&mut s, "", *n, &describe(rs, site));
            }
        }
        line(
            &mut s,
            "  discarded by the IP layer",
            self.discarded,
            "(malformed, martian, no route, TTL expired, too big with DF set)",
        );
        line(
            &mut s,
            "generated by the host",
            self.generated,
            "(REJECT answers, ICMP errors, echo replies, resets)",
        );
        let per: Vec<String> = self
            .written
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| format!("{} {n}", topo.interface(i as IfIndex).name))
            .collect();
        let per = if per.is_empty() {
            String::new()
        } else {
            format!("({})", per.join(", "))
        };
        line(&mut s, "left the host", self.written.iter().sum(), &per);
        if !self.skipped.is_empty() {
            line(
                &mut s,
                "not replayed",
                self.skipped.iter().map(|(_, n)| n).sum(),
                "",
            );
            for (why, n) in &self.skipped {
                line(&mut s, "", *n, &why.to_string());
            }
        }
        if self.offloaded > 0 {
            line(
                &mut s,
                "checksums completed",
                self.offloaded,
                "(left to the device by the capturing host: checksum offload)",
            );
        }
        if self.backwards > 0 {
            line(
                &mut s,
                "out of time order",
                self.backwards,
                "(timestamped before the packet preceding them; replayed at its time)",
            );
        }
        let _ = writeln!(
            s,
            "packets/s: engine {}, overall {} ({:.3} s in the engine, {:.3} s in all)",
            rate(self.replayed, self.engine_time),
            rate(self.replayed, self.total_time),
            self.engine_time.as_secs_f64(),
            self.total_time.as_secs_f64()
        );
        s
    }
}

/// Why a replay stopped early.
#[derive(Debug)]
pub enum Error {
    Capture(palisade_capture::Error),
    Write(io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Capture(e) => write!(f, "{e}"),
            Error::Write(e) => write!(f, "writing the output: {e}"),
        }
    }
}

impl std::error::Error for Error {}

/// How many packets between two calls of the progress callback.
pub const PROGRESS_EVERY: u64 = 4096;

/// Buffers kept for reuse between inputs and outputs.
const POOL: usize = 64;

/// Replays every packet `reader` has through `engine`, writing what
/// leaves to `out` (its interfaces are added here); `progress` is called
/// with the bytes read and packets read every [`PROGRESS_EVERY`]
/// packets. The summary covers what was processed, also when the capture
/// turns out damaged half-way (the error then says where).
pub fn replay<R: Read, W: Write>(
    engine: &mut Engine,
    reader: &mut Reader<R>,
    out: Option<&mut PcapngWriter<W>>,
    opts: &Options,
    progress: &mut dyn FnMut(u64, u64),
) -> (Summary, Result<(), Error>) {
    let started = Instant::now();
    let mut r = Replayer {
        summary: Summary {
            written: vec![0; engine.topology().interfaces().len()],
            ..Summary::default()
        },
        engine,
        opts,
        out,
        ids: Vec::new(),
        outputs: Outputs::default(),
        pool: Vec::with_capacity(POOL),
        base: None,
        last_ts: None,
        now: START,
        comment: String::new(),
        held: Reorder::default(),
    };
    let result = r.run(reader, progress);
    if let (Some(w), Ok(())) = (r.out.as_mut(), &result) {
        if let Err(e) = w.flush() {
            return (r.finish(started), Err(Error::Write(e)));
        }
    }
    (r.finish(started), result)
}

struct Replayer<'a, W: Write> {
    engine: &'a mut Engine,
    opts: &'a Options,
    out: Option<&'a mut PcapngWriter<W>>,
    /// The output file's interface ID of each engine interface.
    ids: Vec<Option<u32>>,
    summary: Summary,
    outputs: Outputs,
    pool: Vec<Vec<u8>>,
    /// The capture time of the first replayed packet.
    base: Option<u64>,
    /// The capture time of the last replayed packet.
    last_ts: Option<u64>,
    now: Time,
    comment: String,
    /// Packets read, not yet replayed.
    held: Reorder,
}

impl<W: Write> Replayer<'_, W> {
    fn finish(mut self, started: Instant) -> Summary {
        self.summary.total_time = started.elapsed();
        self.summary
    }

    fn run<R: Read>(
        &mut self,
        reader: &mut Reader<R>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), Error> {
        let names: Vec<String> = self
            .engine
            .topology()
            .interfaces()
            .iter()
            .map(|i| i.name.clone())
            .collect();
        self.ids = vec![None; names.len()];
        if let Some(w) = self.out.as_mut() {
            for (i, name) in names.iter().enumerate().skip(1) {
                self.ids[i] = Some(
                    w.add_interface(name, linktype::IPV4)
                        .map_err(Error::Write)?,
                );
            }
        }
        let read = self.read(reader, progress);
        // What was read before the end, or the damage, is replayed.
        while let Some(h) = self.held.pop_any() {
            self.process(h)?;
        }
        read
    }

    /// Reads the capture, replaying packets as they leave the reorder
    /// window.
    fn read<R: Read>(
        &mut self,
        reader: &mut Reader<R>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), Error> {
        loop {
            let p = match reader.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(()),
                Err(e) => return Err(Error::Capture(e)),
            };
            self.summary.read += 1;
            if self.summary.read.is_multiple_of(PROGRESS_EVERY) {
                progress(p.offset, self.summary.read);
            }
            let number = p.number;
            let frame = decode(p.interface.link_type, p.data);
            let ingress = match frame.payload {
                Payload::Skipped(why) => Err(Skipped::Link(why)),
                _ if p.direction == Direction::Outbound
                    || frame.direction == Direction::Outbound =>
                {
                    Err(Skipped::Outbound)
                }
                Payload::Ipv4(ip) if snapped(ip, p.original_len, p.data.len()) => {
                    Err(Skipped::Snapped)
                }
                Payload::Ipv4(_) => self.ingress(p.interface.name.as_deref(), frame.if_index),
            };
            let (dev, ip) = match (ingress, frame.payload) {
                (Ok(dev), Payload::Ipv4(ip)) => (dev, ip),
                (Err(why), _) => {
                    bump(&mut self.summary.skipped, why);
                    continue;
                }
                (Ok(_), Payload::Skipped(why)) => {
                    bump(&mut self.summary.skipped, Skipped::Link(why));
                    continue;
                }
            };
            let mut bytes = self.pool.pop().unwrap_or_default();
            bytes.clear();
            bytes.extend_from_slice(ip);
            if complete_offloaded_checksum(&mut bytes) {
                self.summary.offloaded += 1;
            }
            // A packet without a time has the time of the one before.
            let ts = p.timestamp.unwrap_or(self.held.newest());
            let (section, interface) = (p.section, p.interface_id);
            let held = Held {
                ts,
                number,
                dev,
                bytes,
            };
            if section != self.held.section() {
                while let Some(h) = self.held.pop_any() {
                    self.process(h)?;
                }
                self.held.start_section(section);
            }
            let described = reader.interfaces().len() as u32;
            self.held.push(interface, described, held);
            while let Some(h) = self.held.pop_ready() {
                self.process(h)?;
            }
        }
    }

    /// The interface a packet arrived on.
    fn ingress(&self, name: Option<&str>, index: Option<u32>) -> Result<IfIndex, Skipped> {
        let renamed = |c: CaptureIface| {
            self.opts
                .rename
                .iter()
                .find(|(from, _)| *from == c)
                .map(|(_, to)| to.as_str())
        };
        let wanted = if let Some(n) = &self.opts.ingress {
            n.as_str()
        } else if let Some(i) = index {
            renamed(CaptureIface::Index(i)).ok_or(Skipped::UnnamedIndex(i))?
        } else if let Some(n) = name {
            renamed(CaptureIface::Name(n.to_string())).unwrap_or(n)
        } else {
            return Err(Skipped::NoInterface);
        };
        match self.engine.topology().index_of(wanted) {
            Some(LOOPBACK) => Err(Skipped::Loopback),
            Some(i) => Ok(i),
            None => Err(Skipped::UnknownInterface(wanted.to_string())),
        }
    }

    /// Moves the engine's clock to a packet captured at `t`.
    fn advance(&mut self, t: u64) {
        let base = *self.base.get_or_insert(t);
        match self.last_ts {
            Some(last) if t < last => self.summary.backwards += 1,
            _ => {
                self.now = START + Time(t - base.min(t));
                self.last_ts = Some(t);
            }
        }
        self.summary.span = Some(match self.summary.span {
            None => (t, t),
            Some((a, b)) => (a.min(t), b.max(t)),
        });
    }

    fn process(&mut self, held: Held) -> Result<(), Error> {
        let Held {
            ts,
            number,
            dev,
            bytes: buf,
        } = held;
        self.advance(ts);
        self.outputs.clear();
        let t = Instant::now();
        self.engine
            .process(self.now, Ingress::Interface(dev), buf, &mut self.outputs);
        self.summary.engine_time += t.elapsed();
        self.summary.replayed += 1;
        let s = &mut self.summary;
        match self.outputs.fate {
            Fate::Sent => s.forwarded += 1,
            Fate::Delivered => s.delivered += 1,
            Fate::Discarded => s.discarded += 1,
            Fate::Dropped(site) => bump(&mut s.dropped, site),
        }
        s.generated += self.outputs.generated as u64;
        if !self.outputs.packets.is_empty() {
            self.comment.clear();
            let _ = write!(self.comment, "packet {number}");
        }
        for (dev, bytes) in self.outputs.packets.drain(..) {
            let d = usize::from(dev);
            if let Some(n) = self.summary.written.get_mut(d) {
                *n += 1;
            }
            if let Some(w) = self.out.as_mut() {
                let id = match self.ids.get(d).copied().flatten() {
                    Some(id) => id,
                    None => {
                        // Only `lo` has no block yet; nothing leaves by it
                        // today, but it would be written, not lost.
                        let name = &self.engine.topology().interface(dev).name;
                        let id = w
                            .add_interface(name, linktype::IPV4)
                            .map_err(Error::Write)?;
                        if let Some(slot) = self.ids.get_mut(d) {
                            *slot = Some(id);
                        }
                        id
                    }
                };
                let info = PacketInfo {
                    direction: Direction::Outbound,
                    comment: Some(&self.comment),
                };
                w.write_packet(id, ts, &bytes, info).map_err(Error::Write)?;
            }
            if self.pool.len() < POOL {
                self.pool.push(bytes);
            }
        }
        Ok(())
    }
}

/// Whether the snapshot length cut `ip` (a datagram claiming more than
/// the frame holds, in a packet captured shorter than it was).
fn snapped(ip: &[u8], original_len: u32, captured: usize) -> bool {
    if (original_len as usize) <= captured {
        return false;
    }
    match ip.get(2..4) {
        Some(l) => usize::from(u16::from_be_bytes([l[0], l[1]])) > ip.len(),
        None => true,
    }
}

/// The capture time [`scenario_capture`] gives a scenario's first packet
/// (2026-01-01 00:00 UTC).
pub const SCENARIO_EPOCH: u64 = 1_767_225_600_000_000_000;

/// Writes the packets of `sc` as a capture: one interface block per
/// interface (link type IPv4), each packet inbound on its interface at
/// [`SCENARIO_EPOCH`] plus its time in the scenario. Packets sent by a
/// local process have no place in a capture of what arrived: they are
/// left out, and their number returned.
pub fn scenario_capture<W: Write>(sc: &Scenario, w: &mut PcapngWriter<W>) -> io::Result<usize> {
    let mut ids = Vec::with_capacity(sc.interfaces.len());
    for itf in &sc.interfaces {
        ids.push((
            itf.name.as_str(),
            w.add_interface(&itf.name, linktype::IPV4)?,
        ));
    }
    let mut local = 0;
    for (p, at) in sc.packets.iter().zip(arrival_times(sc)) {
        let Via::In(name) = &p.via else {
            local += 1;
            continue;
        };
        let Some(&(_, id)) = ids.iter().find(|(n, _)| n == name) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no interface {name}"),
            ));
        };
        let info = PacketInfo {
            direction: Direction::Inbound,
            comment: p.comment.as_deref(),
        };
        w.write_packet(id, SCENARIO_EPOCH + (at - START).0, &p.bytes, info)?;
    }
    w.flush()?;
    Ok(local)
}

/// Completes a TCP or UDP checksum that the sending stack left to the
/// device (checksum offload): the field holds only the pseudo-header sum,
/// as Linux writes it for `CHECKSUM_PARTIAL` (`tcp_v4_send_check`:
/// `~tcp_v4_check(len, saddr, daddr, 0)`; `udp4_hwcsum`). Captures taken
/// on the sending host or on a veth (a container's traffic on a Docker
/// host) show such packets; the receiving kernel took them as sound, as
/// the device vouched for them, while the engine checks every checksum.
/// A checksum wrong in any other way is kept, for the engine to judge as
/// Linux does. Returns whether it completed one.
pub fn complete_offloaded_checksum(pkt: &mut [u8]) -> bool {
    let Ok(total) = ipv4::validate(pkt) else {
        return false;
    };
    let pkt = &mut pkt[..total];
    let proto = pkt.protocol();
    let field = match proto {
        ipv4::PROTO_TCP => 16,
        ipv4::PROTO_UDP => 6,
        _ => return false,
    };
    let hl = pkt.header_len();
    if pkt.is_fragment() || pkt.len() < hl + field + 2 || transport::l4_checksum_ok(pkt) {
        return false;
    }
    let Ok(len) = u16::try_from(pkt.len() - hl) else {
        return false;
    };
    // `fold` complements; the partial sum is the plain folded sum.
    let partial = !checksum::fold(checksum::pseudo_header(
        pkt.src().to_be_bytes(),
        pkt.dst().to_be_bytes(),
        proto,
        len,
    ));
    if u16::from_be_bytes([pkt[hl + field], pkt[hl + field + 1]]) != partial {
        return false;
    }
    transport::fill_l4_checksum(pkt);
    true
}
