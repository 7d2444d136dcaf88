//! IPv4 reassembly: the fragment queues of net/ipv4/ip_fragment.c and
//! net/ipv4/inet_fragment.c. Two kinds of callers use them:
//! `nf_defrag_ipv4` (the conntrack users, first at PREROUTING and OUTPUT)
//! and `ip_local_deliver` (IP_DEFRAG_LOCAL_DELIVER).
//!
//! What is kept of Linux:
//! - The queue key (`frag_v4_compare_key`): source, destination, ID,
//!   protocol, defrag user and the l3mdev master (always 0 here: no VRF).
//! - `ip_frag_queue`'s checks in its order, and `inet_frag_queue_insert`'s
//!   "runs" of adjacent fragments: a fragment inside one run is a
//!   duplicate (dropped, the queue stays), any other overlap drops the
//!   whole queue (RFC 5722 as Linux applies it to IPv4 since 4.19).
//! - `ip_frag_too_far`: more than `ipfrag_max_dist` fragments from the
//!   same source between two of one queue empty that queue.
//! - The timer (`ipfrag_time`, from the queue's creation, restarted only by
//!   `ip_frag_reinit`), and `ip_expire`'s ICMP (decided by the engine).
//! - `ip_frag_reasm`: the header of the offset-0 fragment, total length,
//!   ECN (`ip_frag_ecn_table`), DF when the largest fragment had DF,
//!   `frag_max_size`, and the geometry `ip_do_fragment` refragments along.
//! - Memory: `inet_frag_find` refuses every fragment while the charged
//!   memory is above `ipfrag_high_thresh` (4 MiB a namespace). What a
//!   fragment costs is its skb's truesize, which depends on the driver:
//!   `truesize` gives what TUN and a raw socket allocate. The charge is
//!   never below what the engine itself holds, which bounds the queues'
//!   memory.

use std::collections::{BTreeMap, HashMap};

use crate::hash::SipBuild;
use crate::time::{Time, NANOS_PER_SEC};
use crate::topology::IfIndex;
use crate::wire::ipv4::{Ipv4Read, Ipv4Write, PROTO_TCP};

/// Who reassembles (`enum ip_defrag_users`, include/net/ip.h; zones are
/// not modelled, so the conntrack users are those of zone 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum User {
    /// IP_DEFRAG_LOCAL_DELIVER: `ip_local_deliver`.
    LocalDeliver,
    /// IP_DEFRAG_CONNTRACK_IN: nf_defrag_ipv4 at PREROUTING.
    ConntrackIn,
    /// IP_DEFRAG_CONNTRACK_OUT: nf_defrag_ipv4 at OUTPUT.
    ConntrackOut,
}

/// The per-namespace sysctls (`ipv4_frags_init_net`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragSettings {
    /// `net.ipv4.ipfrag_time`, seconds (IP_FRAG_TIME: 30).
    pub time: u32,
    /// `net.ipv4.ipfrag_high_thresh`, bytes (4 MiB).
    pub high_thresh: u64,
    /// `net.ipv4.ipfrag_low_thresh`, bytes (3 MiB); since Linux 4.17 only
    /// a lower bound for the high threshold.
    pub low_thresh: u64,
    /// `net.ipv4.ipfrag_max_dist` (64; 0 turns the check off).
    pub max_dist: u32,
}

impl Default for FragSettings {
    fn default() -> FragSettings {
        FragSettings {
            time: 30,
            high_thresh: 4 * 1024 * 1024,
            low_thresh: 3 * 1024 * 1024,
            max_dist: 64,
        }
    }
}

impl FragSettings {
    /// Sets `net.ipv4.ipfrag_*` as `sysctl -w` would, with the limits of
    /// `ip4_frags_ns_ctl_table` (high ≥ low; max_dist ≥ 0).
    pub fn set_sysctl(&mut self, name: &str, value: &str) -> Result<(), String> {
        let bad = || format!("sysctl {name}: bad value \"{value}\"");
        let key = name
            .strip_prefix("net.ipv4.ipfrag_")
            .ok_or_else(|| format!("unknown sysctl {name}"))?;
        let v = value.trim();
        match key {
            "time" => self.time = v.parse().map_err(|_| bad())?,
            "max_dist" => self.max_dist = v.parse().map_err(|_| bad())?,
            "high_thresh" => {
                let n: u64 = v.parse().map_err(|_| bad())?;
                // proc_doulongvec_minmax with extra1 = &low_thresh.
                if n < self.low_thresh {
                    return Err(bad());
                }
                self.high_thresh = n;
            }
            "low_thresh" => {
                let n: u64 = v.parse().map_err(|_| bad())?;
                if n > self.high_thresh {
                    return Err(bad());
                }
                self.low_thresh = n;
            }
            _ => return Err(format!("unsupported sysctl {name}")),
        }
        Ok(())
    }
}

/// `struct frag_v4_compare_key` (vif is always 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    saddr: u32,
    daddr: u32,
    id: u16,
    protocol: u8,
    user: User,
}

/// `f->qsize`, sizeof(struct ipq), charged per queue (200 bytes, as the
/// comment in `ipv4_frags_init_net` says and the probes below confirm).
const QUEUE_SIZE: usize = 200;

/// `skb->truesize` of a fragment of `len` bytes: what `ipfrag_high_thresh`
/// is compared with. Received from TUN (`tun_get_user`, `tun_alloc_skb`):
/// a linear buffer with NET_SKB_PAD (64) in front, holding the whole
/// datagram when that stays under a page, else its first SKB_MAX_HEAD
/// (3712) bytes and the rest in pages (`alloc_skb_with_frags`: each of
/// the largest order, at most 3, the remaining length fills). A linear
/// buffer is its data and skb_shared_info (320 bytes) 64-byte aligned,
/// from the small head cache (576 bytes) or a power-of-two kmalloc bucket,
/// plus the sk_buff (256 bytes). Sent here by a raw socket
/// (`raw_send_hdrinc`), it is linear with LL_RESERVED_SPACE (16) and 15
/// more. Probed on Linux 6.18 (one queue and one fragment are charged
/// 1032 bytes for 36 bytes, 1480 for 200, 2504 for 1500, 4552 for 3000,
/// 8648 for 4068, 12744 for 10000, 20936 for 20000 received; 1032 for 36
/// and 2504 for 1000 sent).
fn truesize(len: usize, local: bool) -> usize {
    const PAGE: usize = 4096;
    const PAD: usize = 64;
    const SMALL_HEAD: usize = 576;
    const SHINFO: usize = 320;
    const SKB: usize = 256;
    let linear = |size: usize| {
        let head = size.next_multiple_of(64) + SHINFO;
        let obj = if head <= SMALL_HEAD {
            SMALL_HEAD
        } else {
            head.next_power_of_two()
        };
        obj + SKB
    };
    if local {
        return linear(len + 16 + 15);
    }
    if PAD + len < PAGE {
        return linear(PAD + len);
    }
    // SKB_MAX_HEAD(NET_SKB_PAD): a page less the pad and the shared info.
    let head = PAGE - PAD - SHINFO;
    let (mut left, mut order, mut sum) = (len - head, 3u32, linear(PAD + head));
    while left > 0 {
        while order > 0 && left.next_multiple_of(PAGE) < PAGE << order {
            order -= 1;
        }
        left -= left.min(PAGE << order);
        sum += PAGE << order;
    }
    sum
}

/// One fragment in a queue: its data (header removed, trimmed to its end).
#[derive(Debug)]
struct Frag {
    offset: usize,
    data: Vec<u8>,
    /// Its IP header length (headroom check of `ip_do_fragment`).
    ihl: u8,
}

impl Frag {
    fn end(&self) -> usize {
        self.offset + self.data.len()
    }
}

/// A node of the queue's rb-tree: a run of adjacent fragments appended
/// at the tail one after the other (`frag_run_len`).
#[derive(Debug, Clone, Copy)]
struct Run {
    offset: usize,
    len: usize,
}

/// `struct ipq`.
#[derive(Debug)]
struct Queue {
    /// The timer: (expiry, sequence) in `Defrag::timers`.
    timer: (Time, u64),
    first_in: bool,
    last_in: bool,
    /// `q.len`: where the datagram ends, as far as known.
    len: usize,
    /// `q.meat`: bytes received.
    meat: usize,
    runs: Vec<Run>,
    /// By offset; the last is `fragments_tail`.
    frags: Vec<Frag>,
    /// The offset-0 fragment's IP header.
    head_header: Vec<u8>,
    /// `q.max_size`, `max_df_size`: the largest fragment (header
    /// included), and the largest with DF.
    max_size: u16,
    max_df_size: u16,
    /// ECN bits seen (`ip4_frag_ecn`).
    ecn: u8,
    /// The input device of the latest fragment that had one.
    iif: Option<IfIndex>,
    /// `qp->rid`; `None` without a peer (ipfrag_max_dist was 0).
    rid: Option<u32>,
    /// Memory charged for this queue.
    mem: usize,
}

/// A datagram `ip_frag_reasm` put together, as `IPCB(skb)` and the skb's
/// geometry describe it to the output path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reassembled {
    /// `IPCB(skb)->frag_max_size`: the largest fragment received.
    pub max_size: u16,
    /// IPSKB_FRAG_PMTU: the largest fragment had DF, and so does the
    /// datagram.
    pub pmtu: bool,
    /// Put together at OUTPUT from a local sender's fragments: its
    /// options were never compiled (`opt.optlen` is 0, so refragmenting
    /// keeps them all), and its skbs have the raw socket's headroom.
    pub local: bool,
    /// Its entry in `Defrag::layout`, valid while the input that
    /// completed it is processed.
    pub layout: u32,
}

/// How the reassembled skb's data lies: the fragments' lengths, in
/// order, as `frag_list` holds them.
#[derive(Debug, Default)]
pub struct Layout {
    /// Data length and IP header length of each fragment.
    pub pieces: Vec<(u16, u8)>,
    /// A transport header that went beyond the first fragment was pulled
    /// into the head out of the next ones (`__pskb_pull_tail`, from TCP's
    /// early demux or NAT's `skb_ensure_writable`): the fragments no
    /// longer lie as they came.
    pub pulled: bool,
}

/// What became of a fragment.
#[derive(Debug)]
pub enum Gathered {
    /// Queued (or dropped) until its datagram is whole: NF_STOLEN.
    Held,
    /// The datagram is whole: its bytes and how it was put together.
    Complete(Vec<u8>, Reassembled),
}

/// A queue whose timer ran out, for `ip_expire` to answer.
#[derive(Debug)]
pub struct Expired {
    /// When the timer fired.
    pub at: Time,
    pub user: User,
    /// The offset-0 fragment as queued (header and trimmed data), if it
    /// came.
    pub head: Option<Vec<u8>>,
    /// `qp->iif`.
    pub iif: Option<IfIndex>,
}

/// The namespace's fragment queues (`net->ipv4.fqdir`).
#[derive(Debug)]
pub struct Defrag {
    pub settings: FragSettings,
    queues: HashMap<Key, Queue, SipBuild>,
    timers: BTreeMap<(Time, u64), Key>,
    timer_seq: u64,
    /// `inet_peer.rid` of each source some queue holds (with the number
    /// of queues holding it): only differences of it matter.
    peers: HashMap<u32, (u32, usize), SipBuild>,
    /// `frag_mem_limit`.
    mem: usize,
    layouts: Vec<Layout>,
}

/// What `inet_frag_queue_insert` decided.
enum Insert {
    Ok,
    Dup,
    Overlap,
}

/// `ip_frag_ecn_table`: the TOS bits to OR into the datagram, or `None`
/// when it must be dropped (RFC 3168 5.3). Bits: 1 Not-ECT, 2 ECT(1),
/// 4 ECT(0), 8 CE.
fn ecn_table(seen: u8) -> Option<u8> {
    const NOT_ECT: u8 = 1;
    const CE: u8 = 8;
    if seen & NOT_ECT != 0 && seen != NOT_ECT {
        return None;
    }
    if seen & CE != 0 && seen != CE {
        return Some(3);
    }
    Some(0)
}

impl Defrag {
    pub fn new(seed: u64) -> Defrag {
        Defrag {
            settings: FragSettings::default(),
            queues: HashMap::with_hasher(SipBuild::new(seed ^ 0xf4a9)),
            timers: BTreeMap::new(),
            timer_seq: 0,
            peers: HashMap::with_hasher(SipBuild::new(seed ^ 0x51d3)),
            mem: 0,
            layouts: Vec::new(),
        }
    }

    /// The memory charged to the queues (`frag_mem_limit`).
    pub fn mem(&self) -> usize {
        self.mem
    }

    /// The most the queues can be charged: `inet_frag_find` refuses
    /// fragments only once the high threshold is passed, so one more
    /// queue and one more fragment (at most 65535 bytes) may go above it.
    pub fn bound(&self) -> usize {
        let high = usize::try_from(self.settings.high_thresh).unwrap_or(usize::MAX);
        high.saturating_add(QUEUE_SIZE + truesize(65535, false))
    }

    /// How many datagrams are waiting for fragments.
    pub fn queue_count(&self) -> usize {
        self.queues.len()
    }

    /// Forgets the layouts of datagrams reassembled while the previous
    /// input was processed (they have all left or been dropped).
    pub fn begin_input(&mut self) {
        if !self.layouts.is_empty() {
            self.layouts.clear();
        }
    }

    /// The layout of a datagram reassembled during this input.
    pub fn layout(&self, r: &Reassembled) -> Option<&Layout> {
        self.layouts.get(r.layout as usize)
    }

    /// NAT rewrote the reassembled `pkt`: `skb_ensure_writable` pulled
    /// as much of its transport header into the head as the protocol's
    /// manip function writes (`tcp_manip_pkt`: the 20-byte header when
    /// there is one, else 8; `sctp_manip_pkt`: 12 or 8; the others 8).
    pub fn nat_wrote(&mut self, r: &Reassembled, pkt: &[u8]) {
        let l4 = pkt.len().saturating_sub(pkt.header_len());
        let len = match pkt.protocol() {
            PROTO_TCP if l4 >= 20 => 20,
            132 if l4 >= 12 => 12,
            _ => 8,
        };
        self.pull(r, l4, len);
    }

    /// `ip_rcv_finish_core` on a datagram reassembled at PREROUTING:
    /// TCP's early demux (`tcp_v4_early_demux`, on by default) pulls the
    /// 20-byte TCP header into the head.
    pub fn early_demux(&mut self, r: &Reassembled, pkt: &[u8]) {
        if pkt.protocol() == PROTO_TCP {
            let l4 = pkt.len().saturating_sub(pkt.header_len());
            self.pull(r, l4, 20);
        }
    }

    /// `pskb_may_pull(skb, ihl + len)` on a reassembled datagram with
    /// `l4_len` bytes after its header: what lies beyond the first
    /// fragment's data is pulled into the head out of the next fragments
    /// (`__pskb_pull_tail`), and the frag_list no longer has the
    /// fragments' geometry. A datagram too short is left as it is.
    fn pull(&mut self, r: &Reassembled, l4_len: usize, len: usize) {
        if len > l4_len {
            return;
        }
        if let Some(l) = self.layouts.get_mut(r.layout as usize) {
            if l.pieces.first().is_some_and(|p| usize::from(p.0) < len) {
                l.pulled = true;
            }
        }
    }

    /// The next queue whose timer fired by `now`, removed (`ip_expire`).
    pub fn next_expired(&mut self, now: Time) -> Option<Expired> {
        let (&(at, seq), _) = self.timers.first_key_value()?;
        if at > now {
            return None;
        }
        let key = self.timers.remove(&(at, seq))?;
        let q = self.kill(&key)?;
        let head = (q.first_in)
            .then(|| {
                let f = q.frags.first().filter(|f| f.offset == 0)?;
                let mut b = q.head_header.clone();
                b.extend_from_slice(&f.data);
                Some(b)
            })
            .flatten();
        Some(Expired {
            at,
            user: key.user,
            head,
            iif: q.iif,
        })
    }

    /// `inet_frag_kill`: out of the table and the timer; its memory is
    /// given back.
    fn kill(&mut self, key: &Key) -> Option<Queue> {
        let q = self.queues.remove(key)?;
        self.timers.remove(&q.timer);
        self.mem = self.mem.saturating_sub(q.mem);
        if q.rid.is_some() {
            if let Some(p) = self.peers.get_mut(&key.saddr) {
                p.1 -= 1;
                if p.1 == 0 {
                    self.peers.remove(&key.saddr);
                }
            }
        }
        Some(q)
    }

    fn arm(&mut self, key: Key, now: Time) -> (Time, u64) {
        self.timer_seq += 1;
        let at = now + Time(u64::from(self.settings.time) * NANOS_PER_SEC);
        let t = (at, self.timer_seq);
        self.timers.insert(t, key);
        t
    }

    /// `ip_defrag(net, skb, user)` for the fragment `pkt` (a validated
    /// datagram trimmed to its total length) that came in on `dev`.
    pub fn gather(&mut self, now: Time, pkt: &[u8], dev: Option<IfIndex>, user: User) -> Gathered {
        let key = Key {
            saddr: pkt.src(),
            daddr: pkt.dst(),
            id: pkt.id(),
            protocol: pkt.protocol(),
            user,
        };
        // inet_frag_find: nothing is queued above the high threshold.
        let high = self.settings.high_thresh;
        if high == 0 || self.mem as u64 > high {
            return Gathered::Held;
        }
        if !self.queues.contains_key(&key) {
            let timer = self.arm(key, now);
            let rid = (self.settings.max_dist != 0).then(|| {
                self.peers.entry(key.saddr).or_insert((0, 0)).1 += 1;
                0
            });
            self.queues.insert(
                key,
                Queue {
                    timer,
                    first_in: false,
                    last_in: false,
                    len: 0,
                    meat: 0,
                    runs: Vec::new(),
                    frags: Vec::new(),
                    head_header: Vec::new(),
                    max_size: 0,
                    max_df_size: 0,
                    ecn: 0,
                    iif: None,
                    rid,
                    mem: QUEUE_SIZE,
                },
            );
            self.mem += QUEUE_SIZE;
        }
        match self.queue(now, key, pkt, dev) {
            Step::Held => Gathered::Held,
            Step::Discard => {
                self.kill(&key);
                Gathered::Held
            }
            Step::Reassemble => match self.kill(&key).and_then(|q| self.reassemble(q, user)) {
                Some((bytes, r)) => Gathered::Complete(bytes, r),
                None => Gathered::Held,
            },
        }
    }

    /// `ip_frag_queue`.
    fn queue(&mut self, now: Time, key: Key, pkt: &[u8], dev: Option<IfIndex>) -> Step {
        let max_dist = self.settings.max_dist;
        // ip_frag_too_far: the source's fragment counter, advanced by
        // every fragment of every queue it holds (none while
        // ipfrag_max_dist is 0, or for a queue made then, without a peer).
        let start = self.queues.get(&key).and_then(|q| q.rid);
        let too_far = match start.filter(|_| max_dist != 0) {
            Some(start) => {
                let end = self.peers.get_mut(&key.saddr).map_or(0, |p| {
                    p.0 = p.0.wrapping_add(1);
                    p.0
                });
                let q = self.queues.get_mut(&key);
                let Some(q) = q else { return Step::Held };
                q.rid = Some(end);
                !q.frags.is_empty() && end.wrapping_sub(start) > max_dist
            }
            None => false,
        };
        if too_far {
            // ip_frag_reinit: the timer is pending (expired queues are
            // gone before an input is processed), so it restarts and the
            // queue is emptied.
            let timer = self.queues.get(&key).map(|q| q.timer);
            if let Some(t) = timer {
                self.timers.remove(&t);
            }
            let timer = self.arm(key, now);
            let Some(q) = self.queues.get_mut(&key) else {
                return Step::Held;
            };
            let freed = q.mem - QUEUE_SIZE;
            self.mem -= freed;
            *q = Queue {
                timer,
                first_in: false,
                last_in: false,
                len: 0,
                meat: 0,
                runs: Vec::new(),
                frags: Vec::new(),
                head_header: Vec::new(),
                iif: None,
                ecn: 0,
                mem: QUEUE_SIZE,
                // Not reset by ip_frag_reinit.
                max_size: q.max_size,
                max_df_size: q.max_df_size,
                rid: q.rid,
            };
        }
        let Some(q) = self.queues.get_mut(&key) else {
            return Step::Held;
        };
        let ihl = pkt.header_len();
        let offset = pkt.frag_offset();
        let mut end = offset + (pkt.len() - ihl);
        if !pkt.more_fragments() {
            // The last fragment: nothing may lie beyond it, nor may the
            // end move once known.
            if end < q.len || (q.last_in && end != q.len) {
                return Step::Discard;
            }
            q.last_in = true;
            q.len = end;
        } else {
            end &= !7;
            if end > q.len {
                if q.last_in {
                    return Step::Discard;
                }
                q.len = end;
            }
        }
        if end == offset {
            return Step::Discard;
        }
        match insert(q, offset, end) {
            Insert::Dup => return Step::Held,
            Insert::Overlap => return Step::Discard,
            Insert::Ok => {}
        }
        let data = pkt[ihl..ihl + (end - offset)].to_vec();
        let at = q.frags.partition_point(|f| f.offset < offset);
        q.frags.insert(
            at,
            Frag {
                offset,
                data,
                ihl: ihl as u8,
            },
        );
        if dev.is_some() {
            q.iif = dev;
        }
        q.meat += end - offset;
        q.ecn |= 1 << (pkt.tos() & 3);
        let charge = truesize(pkt.len(), key.user == User::ConntrackOut);
        q.mem += charge;
        self.mem += charge;
        if offset == 0 {
            q.first_in = true;
            q.head_header = pkt[..ihl].to_vec();
        }
        let fragsize = (end - offset + ihl) as u16;
        q.max_size = q.max_size.max(fragsize);
        if pkt.dont_fragment() {
            q.max_df_size = q.max_df_size.max(fragsize);
        }
        if q.first_in && q.last_in && q.meat == q.len {
            return Step::Reassemble;
        }
        Step::Held
    }

    /// `ip_frag_reasm` on a complete queue (already killed).
    fn reassemble(&mut self, q: Queue, user: User) -> Option<(Vec<u8>, Reassembled)> {
        let ecn = ecn_table(q.ecn)?;
        let hl = q.head_header.len();
        let total = hl + q.len;
        if total > 65535 {
            return None;
        }
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&q.head_header);
        let mut layout = Layout::default();
        for f in &q.frags {
            out.extend_from_slice(&f.data);
            layout.pieces.push((f.data.len() as u16, f.ihl));
        }
        out[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        out[1] |= ecn;
        // DF only when the largest fragment had it (else a datagram built
        // of one small DF fragment and a large one would go out as tiny
        // DF fragments).
        let pmtu = q.max_df_size == q.max_size;
        let frag_off: u16 = if pmtu { 0x4000 } else { 0 };
        out[6..8].copy_from_slice(&frag_off.to_be_bytes());
        out.fill_checksum();
        let index = self.layouts.len() as u32;
        self.layouts.push(layout);
        Some((
            out,
            Reassembled {
                max_size: q.max_size.max(q.max_df_size),
                pmtu,
                local: user == User::ConntrackOut,
                layout: index,
            },
        ))
    }
}

enum Step {
    Held,
    Discard,
    Reassemble,
}

/// `inet_frag_queue_insert` for data `[offset, end)`: the bookkeeping of
/// runs; the caller adds the fragment itself.
fn insert(q: &mut Queue, offset: usize, end: usize) -> Insert {
    let last_end = q.frags.last().map(Frag::end);
    match last_end {
        None => q.runs.push(Run {
            offset,
            len: end - offset,
        }),
        Some(last_end) if last_end < end => {
            // The common case: it goes to the end.
            if offset < last_end {
                return Insert::Overlap;
            }
            match q.runs.last_mut() {
                Some(r) if offset == last_end => r.len += end - offset,
                _ => q.runs.push(Run {
                    offset,
                    len: end - offset,
                }),
            }
        }
        Some(_) => {
            // The rb-tree search: the first run ending after `offset` is
            // the only one it may fall in.
            let at = q.runs.partition_point(|r| r.offset + r.len <= offset);
            if let Some(r) = q.runs.get(at).filter(|r| r.offset < end) {
                return if offset >= r.offset && end <= r.offset + r.len {
                    Insert::Dup
                } else {
                    Insert::Overlap
                };
            }
            q.runs.insert(
                at,
                Run {
                    offset,
                    len: end - offset,
                },
            );
        }
    }
    Insert::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fragment of datagram `id` from 10.0.0.2 to 10.0.0.1: `len` data
    /// bytes at `offset` (a multiple of 8), `mf`, filled with `fill`.
    fn frag(id: u16, offset: usize, len: usize, mf: bool, fill: u8) -> Vec<u8> {
        let mut p = vec![fill; 20 + len];
        p[..20].copy_from_slice(&[0; 20]);
        p[0] = 0x45;
        p[2..4].copy_from_slice(&((20 + len) as u16).to_be_bytes());
        p[4..6].copy_from_slice(&id.to_be_bytes());
        let field = (offset / 8) as u16 | if mf { 0x2000 } else { 0 };
        p[6..8].copy_from_slice(&field.to_be_bytes());
        p[8] = 64;
        p[9] = 17;
        p[12..16].copy_from_slice(&[10, 0, 0, 2]);
        p[16..20].copy_from_slice(&[10, 0, 0, 1]);
        p.fill_checksum();
        p
    }

    fn gather(d: &mut Defrag, p: &[u8]) -> Option<Vec<u8>> {
        match d.gather(Time::from_secs(1), p, Some(1), User::ConntrackIn) {
            Gathered::Complete(b, _) => Some(b),
            Gathered::Held => None,
        }
    }

    #[test]
    fn out_of_order_fragments_make_one_datagram() {
        let mut d = Defrag::new(1);
        assert!(gather(&mut d, &frag(5, 16, 4, false, 3)).is_none());
        assert!(gather(&mut d, &frag(5, 0, 8, true, 1)).is_none());
        let b = gather(&mut d, &frag(5, 8, 8, true, 2)).expect("whole");
        assert_eq!(b.len(), 40);
        assert_eq!(
            &b[20..],
            &[1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3]
        );
        assert_eq!(b.frag_field(), 0);
        assert_eq!(crate::wire::checksum::of(&b[..20]), 0);
        assert_eq!(d.queue_count(), 0);
        assert_eq!(d.mem(), 0);
    }

    #[test]
    fn a_duplicate_inside_a_run_is_dropped_an_overlap_drops_the_queue() {
        let mut d = Defrag::new(1);
        gather(&mut d, &frag(5, 0, 16, true, 1));
        // Inside the run [0, 16): dropped, the queue stays.
        gather(&mut d, &frag(5, 8, 8, true, 9));
        assert_eq!(d.queue_count(), 1);
        // Across the end of the run: the queue goes.
        gather(&mut d, &frag(5, 8, 16, true, 9));
        assert_eq!(d.queue_count(), 0);
        assert_eq!(d.mem(), 0);
    }

    #[test]
    fn runs_are_not_merged() {
        let mut d = Defrag::new(1);
        gather(&mut d, &frag(5, 0, 8, true, 1));
        gather(&mut d, &frag(5, 16, 8, true, 1));
        gather(&mut d, &frag(5, 8, 8, true, 1));
        // [0, 16) spans the runs [0, 8) and [8, 16): an overlap.
        gather(&mut d, &frag(5, 0, 16, true, 1));
        assert_eq!(d.queue_count(), 0);
    }

    #[test]
    fn too_big_a_datagram_is_dropped() {
        let mut d = Defrag::new(1);
        gather(&mut d, &frag(5, 0, 32768, true, 1));
        assert!(gather(&mut d, &frag(5, 32768, 32760, false, 1)).is_none());
        assert_eq!(d.queue_count(), 0);
    }

    #[test]
    fn queues_expire_with_their_first_fragment() {
        let mut d = Defrag::new(1);
        d.settings.time = 2;
        gather(&mut d, &frag(5, 0, 8, true, 1));
        assert!(d.next_expired(Time::from_secs(2)).is_none());
        let e = d.next_expired(Time::from_secs(3)).expect("expired");
        assert_eq!(e.head.map(|h| h.len()), Some(28));
        assert_eq!(e.iif, Some(1));
        assert_eq!(d.mem(), 0);
    }

    /// What must hold between fragments: the charge is the sum of the
    /// queues' (each at least what it holds), fragments are in order
    /// without overlap, the runs cover exactly the fragments, `meat` is
    /// the data held, every queue has a timer.
    fn check_invariants(d: &Defrag) {
        let mut sum = 0;
        for (key, q) in &d.queues {
            sum += q.mem;
            let held: usize = q.frags.iter().map(|f| f.data.capacity() + 64).sum();
            assert!(
                held + q.head_header.capacity() <= q.mem,
                "{key:?}: holds {held}, charged {}",
                q.mem
            );
            assert!(q.frags.windows(2).all(|w| w[0].end() <= w[1].offset));
            assert_eq!(q.meat, q.frags.iter().map(|f| f.data.len()).sum::<usize>());
            assert!(q
                .frags
                .iter()
                .all(|f| f.end() <= q.len.max(f.end()) && !f.data.is_empty()));
            let mut runs = q.runs.iter();
            let mut cur: Option<Run> = None;
            for f in &q.frags {
                match cur {
                    Some(r) if f.offset < r.offset + r.len => {
                        assert!(f.end() <= r.offset + r.len);
                    }
                    _ => {
                        if let Some(r) = cur {
                            assert!(f.offset >= r.offset + r.len);
                        }
                        let r = *runs.next().expect("a run for every fragment");
                        assert_eq!(r.offset, f.offset);
                        cur = Some(r);
                    }
                }
            }
            assert!(runs.next().is_none());
            assert_eq!(d.timers.get(&q.timer), Some(key));
        }
        assert_eq!(sum, d.mem);
        assert_eq!(d.timers.len(), d.queues.len());
        assert!(d.mem <= d.bound());
    }

    mod streams {
        use super::*;
        use proptest::prelude::*;

        /// A fragment: (datagram 0-3, offset in 8-byte units, data length,
        /// MF, DF, ECN bits, user 0-2, seconds later).
        type Spec = (u16, u16, usize, bool, bool, u8, u8, u8);

        fn spec() -> impl Strategy<Value = Spec> {
            (
                0u16..4,
                prop_oneof![0u16..8, 8000u16..8192],
                prop_oneof![0usize..40, 1400usize..1500, 30000usize..33000],
                any::<bool>(),
                any::<bool>(),
                0u8..4,
                0u8..3,
                prop_oneof![Just(0u8), 0u8..3],
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]

            /// Random fragment streams never panic, keep the queues
            /// consistent, and stay within the memory bound, a small one
            /// included.
            #[test]
            fn streams_keep_invariants(specs in prop::collection::vec(spec(), 1..60), high in prop_oneof![Just(4u64 << 20), 0u64..200_000], max_dist in 0u32..4) {
                let mut d = Defrag::new(3);
                d.settings.low_thresh = 0;
                d.settings.high_thresh = high;
                d.settings.max_dist = max_dist;
                d.settings.time = 2;
                let mut now = Time::from_secs(100);
                for (id, off, len, mf, df, ecn, user, later) in specs {
                    now = now + Time::from_secs(u64::from(later));
                    d.begin_input();
                    while d.next_expired(now).is_some() {}
                    let mut p = frag(id, usize::from(off) * 8, len, mf, 7);
                    p[1] = ecn;
                    if df {
                        p[6] |= 0x40;
                    }
                    p.fill_checksum();
                    let user = [User::LocalDeliver, User::ConntrackIn, User::ConntrackOut][usize::from(user)];
                    if let Gathered::Complete(b, r) = d.gather(now, &p, Some(1), user) {
                        let l = d.layout(&r).expect("layout");
                        let data: usize = l.pieces.iter().map(|p| usize::from(p.0)).sum();
                        prop_assert!(b.len() <= 65535);
                        prop_assert_eq!(b.len(), b.header_len() + data);
                        prop_assert_eq!(usize::from(b.total_len()), b.len());
                    }
                    check_invariants(&d);
                }
                while d.next_expired(now + Time::from_secs(10)).is_some() {}
                prop_assert_eq!(d.mem(), 0);
                prop_assert!(d.peers.is_empty());
            }

            /// A datagram cut at random 8-byte boundaries, its pieces in
            /// any order and some twice, comes out whole, byte for byte.
            #[test]
            fn any_order_reassembles(data in prop::collection::vec(any::<u8>(), 1..3000), cuts in prop::collection::vec(1usize..400, 0..12), order in prop::collection::vec(any::<u16>(), 24), twice in prop::collection::vec(any::<bool>(), 24)) {
                let mut bounds: Vec<usize> = cuts.iter().map(|c| c * 8).filter(|&c| c < data.len()).collect();
                bounds.push(0);
                bounds.push(data.len());
                bounds.sort_unstable();
                bounds.dedup();
                if bounds.len() < 3 {
                    // One piece is not a fragment.
                    return Ok(());
                }
                let mut pieces: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
                let n = pieces.len();
                for (i, t) in twice.iter().enumerate().take(n) {
                    if *t {
                        pieces.push(pieces[i]);
                    }
                }
                let mut keyed: Vec<(u16, (usize, usize))> = pieces.into_iter().enumerate().map(|(i, p)| (order[i % order.len()].wrapping_add(i as u16), p)).collect();
                keyed.sort_by_key(|k| k.0);
                let mut d = Defrag::new(5);
                let mut whole = None;
                for (_, (a, b)) in keyed {
                    let mut p = frag(9, a, b - a, b < data.len(), 0);
                    p[20..].copy_from_slice(&data[a..b]);
                    if let Gathered::Complete(bytes, _) = d.gather(Time::from_secs(1), &p, None, User::ConntrackIn) {
                        if whole.is_none() {
                            whole = Some(bytes);
                        }
                    }
                    check_invariants(&d);
                }
                let whole = whole.expect("reassembled");
                prop_assert_eq!(&whole[20..], &data[..]);
                prop_assert_eq!(usize::from(whole.total_len()), 20 + data.len());
                prop_assert_eq!(whole.frag_field(), 0);
            }
        }
    }

    #[test]
    fn truesize_is_what_linux_charges() {
        // Probed: the charge of one queue and one received fragment.
        for (len, charge) in [
            (36, 1032),
            (200, 1480),
            (1500, 2504),
            (3000, 4552),
            (4068, 8648),
            (10000, 12744),
            (20000, 20936),
        ] {
            assert_eq!(QUEUE_SIZE + truesize(len, false), charge, "{len}");
        }
        // And for a raw socket's.
        for (len, charge) in [(36, 1032), (1000, 2504)] {
            assert_eq!(QUEUE_SIZE + truesize(len, true), charge, "{len}");
        }
    }

    #[test]
    fn sysctls_keep_their_limits() {
        let mut s = FragSettings::default();
        s.set_sysctl("net.ipv4.ipfrag_time", "5").unwrap();
        assert_eq!(s.time, 5);
        assert!(s.set_sysctl("net.ipv4.ipfrag_high_thresh", "1000").is_err());
        s.set_sysctl("net.ipv4.ipfrag_low_thresh", "1000").unwrap();
        s.set_sysctl("net.ipv4.ipfrag_high_thresh", "1000").unwrap();
        assert!(s.set_sysctl("net.ipv4.ipfrag_time", "x").is_err());
        assert!(s.set_sysctl("net.ipv4.ipfrag_secret", "1").is_err());
    }
}
