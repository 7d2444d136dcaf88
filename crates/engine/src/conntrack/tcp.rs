//! TCP connection tracking: a port of Linux 6.x
//! net/netfilter/nf_conntrack_proto_tcp.c (the state table, window
//! tracking after Guido van Rooij's "Real Stateful TCP Packet Filtering",
//! the "ignore" bookkeeping that resynchronises with the endpoints, RST
//! validation, retransmission counting and timeout selection).
//!
//! # How `nf_conntrack_in`-like code uses it
//!
//! 1. [`header_valid`] (`tcp_error`) before the lookup; `false`: the
//!    packet goes on with no conntrack (INVALID).
//! 2. No connection found: [`TcpTrack::new`] (`tcp_new`); `None`: INVALID,
//!    no connection is created.
//! 3. Then, for a new connection (with the same segment, in the original
//!    direction) as for a found one, [`TcpTrack::packet`] with the
//!    packet's direction and the connection's status ([`ConnFacts`]:
//!    SEEN_REPLY and ASSURED as they are *before* this packet, and the
//!    time left before it expires, `expires - now`). Whether the
//!    connection is confirmed does not matter (the kernel only uses that
//!    to call `tcp_new`, step 2). The verdict says what to do:
//!    * [`TcpVerdict::Accept`]: the packet belongs to the connection.
//!      `timeout: Some(t)`: the connection now expires `t` seconds from
//!      now (`nf_ct_refresh_acct`; for an unconfirmed connection, `t`
//!      counted from confirmation); `None`: leave the expiry alone (the
//!      tracker ignored the packet, or it is a SYN while SYN_SENT with no
//!      reply seen: a retransmission, or the reply's SYN of a
//!      simultaneous open); never `None` for a connection's first packet.
//!      `assured`: set ASSURED. As for every accepted packet, the caller
//!      then sets SEEN_REPLY when the packet went in the reply direction.
//!    * [`TcpVerdict::AcceptKill`]: an RST while no reply was seen
//!      (`nf_ct_kill_acct`): the packet keeps its connection and ctinfo
//!      (so state matches see it as before), but the connection is
//!      removed from the table at once: later packets no longer find it.
//!      No refresh, no ASSURED. (The TCP state is usually CLOSE, but an
//!      inexact RST in ESTABLISHED keeps ESTABLISHED.)
//!    * [`TcpVerdict::Invalid`]: the packet goes on with no conntrack
//!      (INVALID); an unconfirmed connection is discarded. `timeout:
//!      Some(t)`: the (confirmed, ASSURED) connection now expires `t`
//!      seconds from now (`nf_tcp_handle_invalid` shortening it).
//!    * [`TcpVerdict::Restart`]: a SYN reopens a closed connection: delete
//!      the old connection, look the packet up again (it then creates a
//!      fresh connection through steps 2-3).
//!    * [`TcpVerdict::Drop`]: never produced here (the kernel drops only
//!      when the connection it wants to kill for a reopen is already
//!      being destroyed); kept for the caller's match.
//!
//! NAT sequence adjustment enters as [`ConnFacts::ack_offset`]
//! (`nf_ct_seq_offset` of the receiving direction in `tcp_in_window`).
//! Not modelled: SYN proxy, per-connection timeout policies
//! (`nf_ct_timeout_lookup`), IPS_FIXED_TIMEOUT, flow offload.

use super::seqadj::SeqAdj;
use super::tuple::Dir;
use crate::time::Time;
use crate::wire::transport::tcp_flags::{ACK, FIN, PSH, RST, SYN, URG};

/// ECN flags, ignored by the flag validity check.
const ECE: u8 = 0x40;
const CWR: u8 = 0x80;

/// Conntrack's TCP states (`enum tcp_conntrack`), named as `conntrack -L`
/// prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TcpState {
    None,
    SynSent,
    SynRecv,
    Established,
    FinWait,
    CloseWait,
    LastAck,
    TimeWait,
    Close,
    SynSent2,
}

impl TcpState {
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::SynSent2 => "SYN_SENT2",
        }
    }

    /// Column in the state table (the `enum tcp_conntrack` value).
    fn column(self) -> usize {
        self as usize
    }
}

/// The `nf_conntrack_tcp_*` sysctls (defaults from nf_conntrack_proto_tcp.c).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSettings {
    pub loose: bool,
    pub be_liberal: bool,
    pub ignore_invalid_rst: bool,
    pub max_retrans: u8,
    /// Seconds, as `tcp_timeouts[]` (SYN_SENT2 has no sysctl: 120 s).
    pub timeout_syn_sent: u32,
    pub timeout_syn_recv: u32,
    pub timeout_established: u32,
    pub timeout_fin_wait: u32,
    pub timeout_close_wait: u32,
    pub timeout_last_ack: u32,
    pub timeout_time_wait: u32,
    pub timeout_close: u32,
    pub timeout_max_retrans: u32,
    pub timeout_unacknowledged: u32,
}

impl Default for TcpSettings {
    fn default() -> Self {
        // nf_conntrack_tcp_init_net and tcp_timeouts[] (nf_conntrack_proto_tcp.c).
        TcpSettings {
            loose: true,
            be_liberal: false,
            ignore_invalid_rst: false,
            max_retrans: 3,
            timeout_syn_sent: 120,
            timeout_syn_recv: 60,
            timeout_established: 432_000,
            timeout_fin_wait: 120,
            timeout_close_wait: 60,
            timeout_last_ack: 30,
            timeout_time_wait: 120,
            timeout_close: 10,
            timeout_max_retrans: 300,
            timeout_unacknowledged: 300,
        }
    }
}

/// `tcp_timeouts[TCP_CONNTRACK_SYN_SENT2]`, which no sysctl reaches.
const TIMEOUT_SYN_SENT2: u32 = 120;

impl TcpSettings {
    /// `timeouts[state]`.
    fn timeout(&self, s: TcpState) -> u32 {
        match s {
            // nf_conntrack_tcp_init_net: timeouts[0] is a copy of SYN_SENT's.
            TcpState::None | TcpState::SynSent => self.timeout_syn_sent,
            TcpState::SynRecv => self.timeout_syn_recv,
            TcpState::Established => self.timeout_established,
            TcpState::FinWait => self.timeout_fin_wait,
            TcpState::CloseWait => self.timeout_close_wait,
            TcpState::LastAck => self.timeout_last_ack,
            TcpState::TimeWait => self.timeout_time_wait,
            TcpState::Close => self.timeout_close,
            TcpState::SynSent2 => TIMEOUT_SYN_SENT2,
        }
    }
}

/// One TCP segment as the tracker sees it.
#[derive(Debug, Clone, Copy)]
pub struct TcpSegment<'a> {
    /// The TCP header with its options (`data offset × 4` bytes; longer
    /// slices are fine, the options end at the data offset).
    pub header: &'a [u8],
    /// Bytes of payload after the header.
    pub payload_len: u32,
}

impl TcpSegment<'_> {
    pub fn flags(&self) -> u8 {
        self.header.get(13).copied().unwrap_or(0)
    }
}

/// The connection's status bits and expiry as they are before the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnFacts {
    /// IPS_SEEN_REPLY (not yet set for the first reply packet itself).
    pub seen_reply: bool,
    /// IPS_ASSURED.
    pub assured: bool,
    /// Time left before the connection expires (`nf_ct_expires`, zero
    /// when due); only read for ASSURED connections.
    pub remaining: Time,
    /// The sequence adjustment of the direction the segment goes to: a
    /// NAT helper resized that side's data, so the acknowledgement
    /// counts bytes its sender never sent (all zero without one).
    pub ack_offset: SeqAdj,
}

/// What the tracker decided for one segment (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpVerdict {
    /// NF_ACCEPT: refresh with `timeout` seconds when `Some`; set ASSURED
    /// when `assured`.
    Accept { timeout: Option<u32>, assured: bool },
    /// NF_ACCEPT after `nf_ct_kill_acct`: unlink the connection now.
    AcceptKill,
    /// -NF_ACCEPT: the packet is INVALID; `timeout`: shorten the
    /// connection's remaining life to that many seconds.
    Invalid { timeout: Option<u32> },
    /// NF_DROP (not produced by this port).
    Drop,
    /// -NF_REPEAT: delete the connection and track the packet afresh.
    Restart,
}

const IGNORED: TcpVerdict = TcpVerdict::Accept {
    timeout: None,
    assured: false,
};
const INVALID: TcpVerdict = TcpVerdict::Invalid { timeout: None };

// Per-direction flags (include/uapi/linux/netfilter/nf_conntrack_tcp.h).
const F_WINDOW_SCALE: u8 = 0x01;
const F_SACK_PERM: u8 = 0x02;
const F_CLOSE_INIT: u8 = 0x04;
const F_BE_LIBERAL: u8 = 0x08;
const F_DATA_UNACKNOWLEDGED: u8 = 0x10;
const F_MAXACK_SET: u8 = 0x20;
const F_EXP_CHALLENGE_ACK: u8 = 0x40;
const F_SIMULTANEOUS_OPEN: u8 = 0x80;

// TCP option kinds and lengths (include/net/tcp.h).
const OPT_EOL: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_WINDOW: u8 = 3;
const OPT_SACK_PERM: u8 = 4;
const OPT_SACK: u8 = 5;
const OPT_TIMESTAMP: u8 = 8;
const OLEN_WINDOW: usize = 3;
const OLEN_SACK_PERM: usize = 2;
const OLEN_TIMESTAMP: u8 = 10;
const OLEN_TSTAMP_ALIGNED: usize = 12;
const OLEN_SACK_BASE: usize = 2;
const OLEN_SACK_PERBLOCK: usize = 8;
/// include/net/tcp.h TCP_MAX_WSCALE.
const MAX_WSCALE: u8 = 14;
/// nf_conntrack_proto_tcp.c MAXACKWINCONST.
const MAXACKWINCONST: u32 = 66000;

/// `enum tcp_bit_set`: which row of the state table a segment uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Index {
    Syn,
    SynAck,
    Fin,
    Ack,
    Rst,
    None,
}

impl Index {
    /// `get_conntrack_index`: RST first, then SYN (with or without ACK),
    /// FIN, ACK.
    fn of(flags: u8) -> Index {
        if flags & RST != 0 {
            Index::Rst
        } else if flags & SYN != 0 {
            if flags & ACK != 0 {
                Index::SynAck
            } else {
                Index::Syn
            }
        } else if flags & FIN != 0 {
            Index::Fin
        } else if flags & ACK != 0 {
            Index::Ack
        } else {
            Index::None
        }
    }

    fn row(self) -> usize {
        self as usize
    }
}

/// A state table cell: a state, sIV or sIG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    To(TcpState),
    Invalid,
    Ignore,
}

const SS: Next = Next::To(TcpState::SynSent);
const SR: Next = Next::To(TcpState::SynRecv);
const ES: Next = Next::To(TcpState::Established);
const FW: Next = Next::To(TcpState::FinWait);
const CW: Next = Next::To(TcpState::CloseWait);
const LA: Next = Next::To(TcpState::LastAck);
const TW: Next = Next::To(TcpState::TimeWait);
const CL: Next = Next::To(TcpState::Close);
const S2: Next = Next::To(TcpState::SynSent2);
const IV: Next = Next::Invalid;
const IG: Next = Next::Ignore;

/// `tcp_conntracks[dir][index][state]` (nf_conntrack_proto_tcp.c, 6.x).
/// Columns: NONE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT,
/// LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2.
const TABLE: [[[Next; 10]; 6]; 2] = [
    [
        [SS, SS, IG, IG, IG, IG, IG, SS, SS, S2], // syn
        [IV, IV, SR, IV, IV, IV, IV, IV, IV, SR], // synack
        [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV], // fin
        [ES, IV, ES, ES, CW, CW, TW, TW, CL, IV], // ack
        [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL], // rst
        [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV], // none
    ],
    [
        [IV, S2, IV, IV, IV, IV, IV, SS, IV, S2], // syn
        [IV, SR, IG, IG, IG, IG, IG, IG, IG, SR], // synack
        [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV], // fin
        [IV, IG, SR, ES, CW, CW, TW, TW, CL, IG], // ack
        [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL], // rst
        [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV], // none
    ],
];

/// `before()` from include/net/tcp.h: sequence-space comparison.
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

/// The fixed header fields the tracker reads, and the option bytes.
#[derive(Debug, Clone, Copy)]
struct Hdr<'a> {
    seq: u32,
    ack_seq: u32,
    win: u16,
    flags: u8,
    opts: &'a [u8],
    payload_len: u32,
}

impl<'a> Hdr<'a> {
    /// `tcp_error`'s length check: a whole fixed header and a data offset
    /// within what is there.
    fn parse(seg: &TcpSegment<'a>) -> Option<Hdr<'a>> {
        let h = seg.header;
        let fixed: &[u8; 20] = h.get(..20)?.try_into().ok()?;
        let doff = usize::from(fixed[12] >> 4) * 4;
        let opts = h.get(20..doff)?;
        let be32 =
            |i: usize| u32::from_be_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
        Some(Hdr {
            seq: be32(4),
            ack_seq: be32(8),
            win: u16::from_be_bytes([fixed[14], fixed[15]]),
            flags: fixed[13],
            opts,
            payload_len: seg.payload_len,
        })
    }

    fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// `segment_seq_plus_len`: sequence number after this segment (SYN
    /// and FIN count one).
    fn end(&self) -> u32 {
        self.seq
            .wrapping_add(self.payload_len)
            .wrapping_add(u32::from(self.has(SYN)))
            .wrapping_add(u32::from(self.has(FIN)))
    }
}

/// `tcp_valid_flags[]`: the combinations of FIN, SYN, RST, ACK and URG a
/// real stack sends (PSH, ECE and CWR are masked off first).
fn flags_valid(flags: u8) -> bool {
    let f = flags & !(ECE | CWR | PSH);
    matches!(
        f,
        x if x == SYN
            || x == SYN | URG
            || x == SYN | ACK
            || x == RST
            || x == RST | ACK
            || x == FIN | ACK
            || x == FIN | ACK | URG
            || x == ACK
            || x == ACK | URG
    )
}

/// `tcp_error`: header checks made before any lookup; `false` makes the
/// packet INVALID. `checksum_ok` is only consulted at PREROUTING with
/// `nf_conntrack_checksum` on, which the caller decides.
pub fn header_valid(seg: &TcpSegment<'_>, checksum_ok: bool) -> bool {
    // tcp_error: truncated header, then checksum, then flags.
    match Hdr::parse(seg) {
        Some(h) => checksum_ok && flags_valid(h.flags),
        None => false,
    }
}

/// One direction's window data (`struct ip_ct_tcp_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Side {
    /// Highest seq + len seen.
    end: u32,
    /// Highest ack + window the other side allowed.
    maxend: u32,
    /// Largest window seen.
    maxwin: u32,
    /// Highest ack sent.
    maxack: u32,
    /// Window scale.
    scale: u8,
    flags: u8,
}

impl Side {
    /// `nf_ct_tcp_state_reset`: everything but BE_LIBERAL forgotten.
    fn reset(&mut self) {
        *self = Side {
            flags: self.flags & F_BE_LIBERAL,
            ..Side::default()
        };
    }
}

/// `tcp_options`: window scale and SACK-permitted from a SYN's options.
fn parse_options(opts: &[u8], side: &mut Side) {
    // tcp_options: nothing (not even a reset) when there are no options.
    if opts.is_empty() {
        return;
    }
    side.scale = 0;
    side.flags &= F_BE_LIBERAL;
    let mut i = 0;
    while i < opts.len() {
        let kind = opts[i];
        match kind {
            OPT_EOL => return,
            OPT_NOP => i += 1,
            _ => {
                // tcp_options: stop at a kind without length, a length
                // below 2 or one running past the options.
                let Some(&size) = opts.get(i + 1) else {
                    return;
                };
                let size = usize::from(size);
                if size < 2 || size > opts.len() - i {
                    return;
                }
                if kind == OPT_SACK_PERM && size == OLEN_SACK_PERM {
                    side.flags |= F_SACK_PERM;
                } else if kind == OPT_WINDOW && size == OLEN_WINDOW {
                    // tcp_options: the scale is capped at TCP_MAX_WSCALE.
                    side.scale = opts.get(i + 2).copied().unwrap_or(0).min(MAX_WSCALE);
                    side.flags |= F_WINDOW_SCALE;
                }
                i += size;
            }
        }
    }
}

/// `tcp_sack`: raises `sack` to the highest right edge of the first SACK
/// option's blocks.
fn highest_sack(opts: &[u8], sack: &mut u32) {
    if opts.is_empty() {
        return;
    }
    // tcp_sack: shortcut for the aligned timestamp-only layout.
    if opts.len() == OLEN_TSTAMP_ALIGNED
        && opts[..4] == [OPT_NOP, OPT_NOP, OPT_TIMESTAMP, OLEN_TIMESTAMP]
    {
        return;
    }
    let mut i = 0;
    while i < opts.len() {
        let kind = opts[i];
        match kind {
            OPT_EOL => return,
            OPT_NOP => i += 1,
            _ => {
                let Some(&size) = opts.get(i + 1) else {
                    return;
                };
                let size = usize::from(size);
                if size < 2 || size > opts.len() - i {
                    return;
                }
                // tcp_sack: a SACK option of whole 8-byte blocks; only the
                // first one found is used.
                if kind == OPT_SACK
                    && size >= OLEN_SACK_BASE + OLEN_SACK_PERBLOCK
                    && (size - OLEN_SACK_BASE).is_multiple_of(OLEN_SACK_PERBLOCK)
                {
                    let blocks = opts.get(i + OLEN_SACK_BASE..i + size).unwrap_or(&[]);
                    for b in blocks.chunks_exact(OLEN_SACK_PERBLOCK) {
                        let right = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                        if after(right, *sack) {
                            *sack = right;
                        }
                    }
                    return;
                }
                i += size;
            }
        }
    }
}

/// `tcp_in_window`'s three outcomes (`enum nf_ct_tcp_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    Ignore,
    Invalid,
    Accept,
}

/// Per-connection TCP tracking state (`struct ip_ct_tcp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpTrack {
    seen: [Side; 2],
    state: TcpState,
    last_dir: Dir,
    retrans: u8,
    last_index: Index,
    last_seq: u32,
    last_ack: u32,
    last_end: u32,
    last_win: u16,
    last_wscale: u8,
    last_flags: u8,
}

impl TcpTrack {
    fn zeroed() -> TcpTrack {
        // tcp_new: memset(&ct->proto.tcp, 0, ...), then last_index = TCP_NONE_SET.
        TcpTrack {
            seen: [Side::default(); 2],
            state: TcpState::None,
            last_dir: Dir::Original,
            retrans: 0,
            last_index: Index::None,
            last_seq: 0,
            last_ack: 0,
            last_end: 0,
            last_win: 0,
            last_wscale: 0,
            last_flags: 0,
        }
    }

    /// `tcp_new`: tracking for a connection's first segment, `None` when
    /// it cannot start one (the packet is INVALID).
    pub fn new(seg: &TcpSegment<'_>, settings: &TcpSettings) -> Option<TcpTrack> {
        let th = Hdr::parse(seg)?;
        if !flags_valid(th.flags) {
            return None;
        }
        let mut t = TcpTrack::zeroed();
        let end = th.end();
        let win = u32::from(th.win).max(1);
        match TABLE[0][Index::of(th.flags).row()][TcpState::None.column()] {
            Next::To(TcpState::SynSent) => {
                // tcp_new: a SYN opens the original direction's window at its end.
                let s = &mut t.seen[0];
                s.end = end;
                s.maxwin = win;
                s.maxend = end;
                parse_options(th.opts, s);
            }
            Next::To(_) if settings.loose => {
                // tcp_new: mid-stream pickup, window from this packet, SACK
                // assumed and both directions liberal.
                let s = &mut t.seen[0];
                s.end = end;
                s.maxwin = win;
                s.maxend = end.wrapping_add(win);
                t.seen[0].flags = F_SACK_PERM | F_BE_LIBERAL;
                t.seen[1].flags = F_SACK_PERM | F_BE_LIBERAL;
            }
            // tcp_new: sIV from NONE, or no pickup with loose=0.
            _ => return None,
        }
        Some(t)
    }

    pub fn state(&self) -> TcpState {
        self.state
    }

    /// `nf_conntrack_tcp_set_closing` (nf_conntrack_proto_tcp.c), which
    /// `nf_send_reset` calls through `nf_ct_set_closing` for the
    /// connection a `REJECT --reject-with tcp-reset` answered: the state
    /// becomes CLOSE, nothing else changes. `true` when it was not CLOSE
    /// already (the caller then gives the connection the CLOSE timeout).
    pub fn set_closing(&mut self) -> bool {
        let old = self.state;
        self.state = TcpState::Close;
        old != TcpState::Close
    }

    /// Window scale factors (original, reply), as ctnetlink reports them.
    pub fn window_scales(&self) -> (u8, u8) {
        (self.seen[0].scale, self.seen[1].scale)
    }

    /// `nf_conntrack_tcp_packet` for a segment in direction `dir` of a
    /// connection made by [`TcpTrack::new`] (see the module docs for the
    /// verdicts).
    pub fn packet(
        &mut self,
        dir: Dir,
        seg: &TcpSegment<'_>,
        conn: ConnFacts,
        settings: &TcpSettings,
    ) -> TcpVerdict {
        // nf_conntrack_tcp_packet: tcp_error first.
        let Some(th) = Hdr::parse(seg) else {
            return INVALID;
        };
        if !flags_valid(th.flags) {
            return INVALID;
        }
        let d = dir.index();
        let index = Index::of(th.flags);
        let mut old_state = self.state;
        let next = TABLE[d][index.row()][old_state.column()];
        let mut check_window = true;
        let mut new_state = match next {
            Next::Invalid => {
                // nf_conntrack_tcp_packet: sIV (SYN proxy keep-alive not modelled).
                return INVALID;
            }
            Next::Ignore => match self.ignore(dir, index, &th, old_state) {
                Some(v) => return v,
                None => {
                    // Resynchronised on a SYN/ACK answering an ignored SYN.
                    old_state = TcpState::SynSent;
                    TcpState::SynRecv
                }
            },
            Next::To(TcpState::SynSent) if old_state >= TcpState::TimeWait => {
                // nf_conntrack_tcp_packet: a SYN after a close (FIN seen either
                // way) or after our own RST reopens: kill and look up again.
                let close_init = (self.seen[0].flags | self.seen[1].flags) & F_CLOSE_INIT != 0;
                if close_init || (self.last_dir == dir && self.last_index == Index::Rst) {
                    return TcpVerdict::Restart;
                }
                // Otherwise handled as an ignored packet.
                match self.ignore(dir, index, &th, old_state) {
                    Some(v) => return v,
                    None => {
                        old_state = TcpState::SynSent;
                        TcpState::SynRecv
                    }
                }
            }
            Next::To(s) => s,
        };
        match new_state {
            // nf_conntrack_tcp_packet: an RFC 5961 challenge ACK answering a
            // SYN we let through in LAST_ACK does not ack the last FIN.
            TcpState::TimeWait
                if old_state == TcpState::LastAck
                    && index == Index::Ack
                    && self.last_dir != dir
                    && self.last_index == Index::Syn
                    && self.last_flags & F_EXP_CHALLENGE_ACK != 0 =>
            {
                self.last_flags &= !F_EXP_CHALLENGE_ACK;
                return IGNORED;
            }
            TcpState::SynSent2 => {
                // nf_conntrack_tcp_packet: remember the simultaneous open.
                self.last_flags |= F_SIMULTANEOUS_OPEN;
            }
            // nf_conntrack_tcp_packet: in a simultaneous open the reply's ACK
            // establishes.
            TcpState::SynRecv
                if dir == Dir::Reply
                    && index == Index::Ack
                    && self.last_flags & F_SIMULTANEOUS_OPEN != 0 =>
            {
                new_state = TcpState::Established;
            }
            TcpState::Close if index == Index::Rst => {
                match self.rst_check(dir, &th, old_state, conn, settings) {
                    RstCheck::Invalid => return INVALID,
                    RstCheck::SkipWindow => check_window = false,
                    RstCheck::Window { keep_state } => {
                        if keep_state {
                            new_state = old_state;
                        }
                    }
                }
            }
            _ => {}
        }

        if check_window {
            match self.in_window(dir, index, &th, &conn.ack_offset, settings) {
                Window::Ignore => return IGNORED,
                Window::Invalid => {
                    let timeout = self.handle_invalid(dir, index, conn, settings);
                    return TcpVerdict::Invalid { timeout };
                }
                Window::Accept => {}
            }
        }

        // nf_conntrack_tcp_packet, in_window: from here the packet is in window.
        self.last_index = index;
        self.last_dir = dir;
        self.state = new_state;
        if old_state != new_state && new_state == TcpState::FinWait {
            self.seen[d].flags |= F_CLOSE_INIT;
        }

        // nf_conntrack_tcp_packet: timeout choice, in this order.
        let state_timeout = settings.timeout(new_state);
        let unacked = (self.seen[0].flags | self.seen[1].flags) & F_DATA_UNACKNOWLEDGED != 0;
        let mut timeout = if self.retrans >= settings.max_retrans
            && state_timeout > settings.timeout_max_retrans
        {
            settings.timeout_max_retrans
        } else if index == Index::Rst {
            settings.timeout_close
        } else if unacked && state_timeout > settings.timeout_unacknowledged {
            settings.timeout_unacknowledged
        } else if self.last_win == 0 && state_timeout > settings.timeout_max_retrans {
            settings.timeout_max_retrans
        } else {
            state_timeout
        };

        if !conn.seen_reply {
            // nf_conntrack_tcp_packet: an RST when only one side spoke
            // kills the connection at once.
            if th.has(RST) {
                return TcpVerdict::AcceptKill;
            }
            // nf_conntrack_tcp_packet: a SYN retransmission does not renew the timeout.
            if index == Index::Syn && old_state == TcpState::SynSent {
                return IGNORED;
            }
            // nf_conntrack_tcp_packet: a picked-up connection gets at most
            // the unacknowledged timeout until the other side answers.
            if new_state == TcpState::Established && timeout > settings.timeout_unacknowledged {
                timeout = settings.timeout_unacknowledged;
            }
            TcpVerdict::Accept {
                timeout: Some(timeout),
                assured: false,
            }
        } else {
            // nf_conntrack_tcp_packet: ASSURED on reaching ESTABLISHED from
            // SYN_RECV or ESTABLISHED once a reply was seen.
            let assured = !conn.assured
                && matches!(old_state, TcpState::SynRecv | TcpState::Established)
                && new_state == TcpState::Established;
            TcpVerdict::Accept {
                timeout: Some(timeout),
                assured,
            }
        }
    }

    /// The sIG handling of `nf_conntrack_tcp_packet`: `None` when a
    /// SYN/ACK answers a SYN we ignored, after taking that SYN's window
    /// data (the caller continues as SYN_SENT -> SYN_RECV); otherwise
    /// notes the packet and lets it through untouched.
    fn ignore(
        &mut self,
        dir: Dir,
        index: Index,
        th: &Hdr<'_>,
        old_state: TcpState,
    ) -> Option<TcpVerdict> {
        if index == Index::SynAck
            && self.last_index == Index::Syn
            && self.last_dir != dir
            && th.ack_seq == self.last_end
        {
            // nf_conntrack_tcp_packet: both ends are in sync and we are
            // not: rebuild the SYN sender's side from the notes.
            let l = self.last_dir.index();
            self.seen[l].end = self.last_end;
            self.seen[l].maxend = self.last_end;
            self.seen[l].maxwin = u32::from(self.last_win).max(1);
            self.seen[l].scale = self.last_wscale;
            self.last_flags &= !F_EXP_CHALLENGE_ACK;
            self.seen[l].flags = self.last_flags;
            self.seen[dir.index()].reset();
            return None;
        }
        self.last_index = index;
        self.last_dir = dir;
        self.last_seq = th.seq;
        self.last_end = th.end();
        self.last_win = th.win;
        if index == Index::Syn && dir == Dir::Original {
            // nf_conntrack_tcp_packet: note an ignored SYN's options, and
            // expect a challenge ACK for one arriving in LAST_ACK.
            self.last_flags = 0;
            self.last_wscale = 0;
            let mut seen = Side::default();
            parse_options(th.opts, &mut seen);
            if seen.flags & F_WINDOW_SCALE != 0 {
                self.last_flags |= F_WINDOW_SCALE;
                self.last_wscale = seen.scale;
            }
            if seen.flags & F_SACK_PERM != 0 {
                self.last_flags |= F_SACK_PERM;
            }
            if old_state == TcpState::LastAck {
                self.last_flags |= F_EXP_CHALLENGE_ACK;
            }
        }
        // nf_conntrack_tcp_packet: a reply ACK in SYN_SENT may be a
        // challenge ACK; remember what it acks.
        if old_state == TcpState::SynSent && index == Index::Ack && dir == Dir::Reply {
            self.last_ack = th.ack_seq;
        }
        Some(IGNORED)
    }

    /// The RST checks of `nf_conntrack_tcp_packet` (new state CLOSE).
    fn rst_check(
        &self,
        dir: Dir,
        th: &Hdr<'_>,
        old_state: TcpState,
        conn: ConnFacts,
        settings: &TcpSettings,
    ) -> RstCheck {
        // nf_conntrack_tcp_packet: closing states skip all validation
        // (tcp_can_early_drop's list).
        if matches!(
            self.state,
            TcpState::FinWait
                | TcpState::LastAck
                | TcpState::TimeWait
                | TcpState::Close
                | TcpState::CloseWait
        ) {
            return RstCheck::SkipWindow;
        }
        let other = &self.seen[dir.other().index()];
        // nf_conntrack_tcp_established: ESTABLISHED and ASSURED.
        let established = self.state == TcpState::Established && conn.assured;
        let mut keep_state = false;
        if other.flags & F_MAXACK_SET != 0 && self.last_index != Index::Syn {
            let seq = th.seq;
            // nf_conntrack_tcp_packet: seq 0 before establishment answers a
            // SYN we let through.
            if seq == 0 && !established {
                return RstCheck::Window { keep_state: false };
            }
            // nf_conntrack_tcp_packet: an RST below what the other side
            // acked is invalid unless nf_conntrack_tcp_ignore_invalid_rst.
            if before(seq, other.maxack) && !settings.ignore_invalid_rst {
                return RstCheck::Invalid;
            }
            if !established || seq == other.maxack {
                return RstCheck::Window { keep_state: false };
            }
            // nf_conntrack_tcp_packet: an RST right after our own data
            // (a data-then-RST train).
            if self.last_index == Index::Ack && self.last_dir == dir && seq == self.last_end {
                return RstCheck::Window { keep_state: false };
            }
            // nf_conntrack_tcp_packet: inexact RST keeps the state for a
            // possible challenge ACK.
            keep_state = true;
        }
        // nf_conntrack_tcp_packet: an RST answering a SYN or a half-open
        // ACK we let through (acking exactly it) skips window checks.
        if ((conn.seen_reply && self.last_index == Index::Syn)
            || (!conn.assured && self.last_index == Index::Ack))
            && th.ack_seq == self.last_end
        {
            return RstCheck::SkipWindow;
        }
        // nf_conntrack_tcp_packet: an RST answering a challenge ACK to our SYN.
        if old_state == TcpState::SynSent
            && self.last_index == Index::Ack
            && self.last_dir == Dir::Reply
            && th.seq == self.last_ack
        {
            return RstCheck::SkipWindow;
        }
        RstCheck::Window { keep_state }
    }

    /// `tcp_init_sender`: a SYN or SYN/ACK (re)starts its sender's window
    /// data; scaling stays on only if both sides offered it.
    fn init_sender(&mut self, dir: Dir, th: &Hdr<'_>, end: u32, win: u32) {
        let d = dir.index();
        let s = &mut self.seen[d];
        s.end = end;
        s.maxend = end;
        s.maxwin = win.max(1);
        parse_options(th.opts, s);
        // tcp_init_sender: RFC 1323 needs the option from both ends.
        if dir == Dir::Reply
            && !(self.seen[d].flags & F_WINDOW_SCALE != 0
                && self.seen[1 - d].flags & F_WINDOW_SCALE != 0)
        {
            self.seen[d].scale = 0;
            self.seen[1 - d].scale = 0;
        }
    }

    /// `tcp_in_window`: sequence and acknowledgement bounds, and the
    /// window data updates for an acceptable segment.
    fn in_window(
        &mut self,
        dir: Dir,
        index: Index,
        th: &Hdr<'_>,
        ack_offset: &SeqAdj,
        settings: &TcpSettings,
    ) -> Window {
        let d = dir.index();
        let r = 1 - d;
        let mut seq = th.seq;
        let mut ack = th.ack_seq;
        let mut sack = ack;
        let win_raw = th.win;
        let mut win = u32::from(win_raw);
        let mut end = th.end();

        if self.seen[r].flags & F_SACK_PERM != 0 {
            highest_sack(th.opts, &mut sack);
        }

        // tcp_in_window: take NAT sequence number mangling into account.
        let receiver_offset = ack_offset.offset(ack.wrapping_sub(1)) as u32;
        ack = ack.wrapping_sub(receiver_offset);
        sack = sack.wrapping_sub(receiver_offset);

        if self.seen[d].maxwin == 0 {
            if th.has(SYN) {
                // tcp_in_window: first SYN/ACK, or the reply's SYN in a
                // simultaneous open.
                self.init_sender(dir, th, end, win);
                if !th.has(ACK) {
                    return Window::Accept;
                }
            } else {
                // tcp_in_window: first packet of a direction mid-stream.
                let s = &mut self.seen[d];
                s.end = end;
                let swin = win.wrapping_shl(u32::from(s.scale));
                s.maxwin = swin.max(1);
                s.maxend = end.wrapping_add(s.maxwin);
                let rcv = &mut self.seen[r];
                if rcv.maxwin == 0 {
                    rcv.end = sack;
                    rcv.maxend = sack;
                } else if sack == rcv.end.wrapping_add(1) {
                    // tcp_in_window: probably answering a keepalive.
                    rcv.end = rcv.end.wrapping_add(1);
                }
            }
        } else if th.has(SYN)
            && after(end, self.seen[d].end)
            && matches!(self.state, TcpState::SynSent | TcpState::SynRecv)
        {
            // tcp_in_window: a SYN (or SYN/ACK) with a new ISN restarts its
            // side during the handshake.
            self.init_sender(dir, th, end, win);
            if dir == Dir::Reply && !th.has(ACK) {
                return Window::Accept;
            }
        }

        if !th.has(ACK) || (th.has(RST) && ack == 0) {
            // tcp_in_window: no ACK (or a zero ack on RST|ACK) acks what
            // the receiver sent.
            ack = self.seen[r].end;
            sack = ack;
        }

        // tcp_in_window: an RST answering a SYN with seq 0 stands at the sender's end.
        if th.has(RST) && seq == 0 && self.state == TcpState::SynSent {
            seq = self.seen[d].end;
            end = seq;
        }

        // nf_tcp_log_invalid: liberal tracking turns every complaint into ACCEPT.
        let liberal = self.seen[d].flags & F_BE_LIBERAL != 0 || settings.be_liberal;
        let complain = |w: Window| if liberal { Window::Accept } else { w };

        let snd = self.seen[d];
        let rcv = self.seen[r];
        // MAXACKWINDOW(sender).
        let max_ack_window = snd.maxwin.max(MAXACKWINCONST);
        let ack_low = rcv.end.wrapping_sub(max_ack_window).wrapping_sub(1);

        // I: seq <= sender.td_maxend.
        if !before(seq, snd.maxend.wrapping_add(1)) {
            let overshot = end.wrapping_sub(snd.maxend).wrapping_add(1);
            let ack_ok = after(sack, ack_low);
            let in_recv_win =
                rcv.maxwin != 0 && after(end, snd.end.wrapping_sub(rcv.maxwin).wrapping_sub(1));
            if in_recv_win
                && ack_ok
                && overshot <= rcv.maxwin
                && before(sack, rcv.end.wrapping_add(1))
            {
                // tcp_in_window: the sender overran the receive window a
                // little; track the data so the ACK for it is valid.
                self.seen[d].end = end;
                self.seen[d].flags |= F_DATA_UNACKNOWLEDGED;
                return complain(Window::Ignore);
            }
            return complain(Window::Invalid);
        }
        // III: sack <= receiver.td_end.
        if !before(sack, rcv.end.wrapping_add(1)) {
            return complain(Window::Invalid);
        }
        // II: seq + len >= sender.td_end - receiver.td_maxwin.
        let in_recv_win =
            rcv.maxwin == 0 || after(end, snd.end.wrapping_sub(rcv.maxwin).wrapping_sub(1));
        if !in_recv_win {
            return complain(Window::Ignore);
        }
        // IV: sack >= receiver.td_end - MAXACKWINDOW.
        if !after(sack, ack_low) {
            return complain(Window::Ignore);
        }

        // tcp_in_window: windows of non-SYN segments are scaled.
        if !th.has(SYN) {
            win = win.wrapping_shl(u32::from(snd.scale));
        }

        // tcp_in_window: sender updates.
        let s = &mut self.seen[d];
        let swin = win.wrapping_add(sack.wrapping_sub(ack));
        if s.maxwin < swin {
            s.maxwin = swin;
        }
        if after(end, s.end) {
            s.end = end;
            s.flags |= F_DATA_UNACKNOWLEDGED;
        }
        if th.has(ACK) {
            if s.flags & F_MAXACK_SET == 0 {
                s.maxack = ack;
                s.flags |= F_MAXACK_SET;
            } else if after(ack, s.maxack) {
                s.maxack = ack;
            }
        }
        let s_maxend = s.maxend;

        // tcp_in_window: receiver updates.
        let rc = &mut self.seen[r];
        if rc.maxwin != 0 && after(end, s_maxend) {
            rc.maxwin = rc.maxwin.wrapping_add(end.wrapping_sub(s_maxend));
        }
        if after(sack.wrapping_add(win), rc.maxend.wrapping_sub(1)) {
            rc.maxend = sack.wrapping_add(win);
            if win == 0 {
                rc.maxend = rc.maxend.wrapping_add(1);
            }
        }
        if ack == rc.end {
            rc.flags &= !F_DATA_UNACKNOWLEDGED;
        }

        // tcp_in_window: count identical ACK segments as retransmissions.
        if index == Index::Ack {
            if self.last_dir == dir
                && self.last_seq == seq
                && self.last_ack == ack
                && self.last_end == end
                && self.last_win == win_raw
            {
                self.retrans = self.retrans.wrapping_add(1);
            } else {
                self.last_dir = dir;
                self.last_seq = seq;
                self.last_ack = ack;
                self.last_end = end;
                self.last_win = win_raw;
                self.retrans = 0;
            }
        }
        Window::Accept
    }

    /// `nf_tcp_handle_invalid`: an out-of-window FIN or RST answering the
    /// other side's FIN or RST shortens an ASSURED connection's life to
    /// the unacknowledged timeout; returns that timeout when it applies.
    fn handle_invalid(
        &mut self,
        dir: Dir,
        index: Index,
        conn: ConnFacts,
        settings: &TcpSettings,
    ) -> Option<u32> {
        if !conn.assured || !matches!(index, Index::Rst | Index::Fin) {
            return None;
        }
        if self.last_dir != dir && matches!(self.last_index, Index::Fin | Index::Rst) {
            // nf_tcp_handle_invalid: only connections with at least 120 s left.
            if conn.remaining < Time::from_secs(120) {
                return None;
            }
            let timeout = settings.timeout_unacknowledged;
            (conn.remaining > Time::from_secs(u64::from(timeout))).then_some(timeout)
        } else {
            self.last_index = index;
            self.last_dir = dir;
            None
        }
    }
}

/// Outcome of the RST checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RstCheck {
    Invalid,
    /// `goto in_window`: accept without window checks.
    SkipWindow,
    /// Go on to the window checks; `keep_state`: stay in the old state.
    Window {
        keep_state: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which end sent a packet: the client (198.51.100.2, first to speak
    /// in the kernel runs) or the server (10.0.0.2).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum End {
        C,
        S,
    }
    use End::{C, S};

    /// One packet of a kernel run and what Linux did: forwarded or not
    /// (the ruleset drops INVALID), and the `conntrack -L` entry after it
    /// (original direction's sender, state, seconds left, U = UNREPLIED,
    /// A = ASSURED).
    struct Step {
        from: End,
        flags: &'static str,
        seq: u32,
        ack: u32,
        win: u16,
        opts: &'static str,
        len: u32,
        at_ms: Option<u64>,
        forwarded: bool,
        conntrack: Option<(End, &'static str, u64, &'static str)>,
    }

    #[allow(clippy::too_many_arguments)]
    const fn st(
        from: End,
        flags: &'static str,
        seq: u32,
        ack: u32,
        win: u16,
        opts: &'static str,
        len: u32,
        at_ms: Option<u64>,
        forwarded: bool,
        conntrack: Option<(End, &'static str, u64, &'static str)>,
    ) -> Step {
        Step {
            from,
            flags,
            seq,
            ack,
            win,
            opts,
            len,
            at_ms,
            forwarded,
            conntrack,
        }
    }

    fn header(flags: &str, seq: u32, ack: u32, win: u16, opts: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 20];
        h[0..2].copy_from_slice(&40000u16.to_be_bytes());
        h[2..4].copy_from_slice(&80u16.to_be_bytes());
        h[4..8].copy_from_slice(&seq.to_be_bytes());
        h[8..12].copy_from_slice(&ack.to_be_bytes());
        h[12] = (((20 + opts.len()) / 4) as u8) << 4;
        for ch in flags.chars() {
            h[13] |= 1 << "FSRPAUEC".find(ch).expect("flag letter");
        }
        h[14..16].copy_from_slice(&win.to_be_bytes());
        h.extend_from_slice(opts);
        h
    }

    fn seg(h: &[u8]) -> TcpSegment<'_> {
        TcpSegment {
            header: h,
            payload_len: 0,
        }
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
            .collect()
    }

    struct Conn {
        track: TcpTrack,
        orig: End,
        seen_reply: bool,
        assured: bool,
        expires: Time,
    }

    /// A one-connection `nf_conntrack_in` driving the tracker as the
    /// module docs tell callers to.
    struct Harness {
        settings: TcpSettings,
        now: Time,
        conn: Option<Conn>,
    }

    impl Harness {
        fn new(sysctls: &[(&str, u32)]) -> Harness {
            let mut settings = TcpSettings::default();
            for &(name, v) in sysctls {
                match name {
                    "nf_conntrack_tcp_loose" => settings.loose = v != 0,
                    "nf_conntrack_tcp_be_liberal" => settings.be_liberal = v != 0,
                    "nf_conntrack_tcp_ignore_invalid_rst" => settings.ignore_invalid_rst = v != 0,
                    "nf_conntrack_tcp_max_retrans" => settings.max_retrans = v as u8,
                    "nf_conntrack_tcp_timeout_fin_wait" => settings.timeout_fin_wait = v,
                    "nf_conntrack_tcp_timeout_last_ack" => settings.timeout_last_ack = v,
                    _ => panic!("sysctl {name} not handled here"),
                }
            }
            Harness {
                settings,
                now: Time::ZERO,
                conn: None,
            }
        }

        /// Tracks one packet; `true` when it would be forwarded (not INVALID).
        fn packet(&mut self, from: End, hdr: &[u8], len: u32) -> bool {
            let seg = TcpSegment {
                header: hdr,
                payload_len: len,
            };
            if !header_valid(&seg, true) {
                return false;
            }
            for _ in 0..2 {
                if self.conn.as_ref().is_some_and(|c| c.expires <= self.now) {
                    self.conn = None;
                }
                let (dir, fresh) = match &self.conn {
                    Some(c) if c.orig == from => (Dir::Original, false),
                    Some(_) => (Dir::Reply, false),
                    None => match TcpTrack::new(&seg, &self.settings) {
                        Some(track) => {
                            self.conn = Some(Conn {
                                track,
                                orig: from,
                                seen_reply: false,
                                assured: false,
                                expires: self.now,
                            });
                            (Dir::Original, true)
                        }
                        None => return false,
                    },
                };
                let now = self.now;
                let Some(c) = self.conn.as_mut() else {
                    return false;
                };
                let facts = ConnFacts {
                    seen_reply: c.seen_reply,
                    assured: c.assured,
                    remaining: c.expires - now,
                    ..ConnFacts::default()
                };
                match c.track.packet(dir, &seg, facts, &self.settings) {
                    TcpVerdict::Accept { timeout, assured } => {
                        if let Some(t) = timeout {
                            c.expires = now + Time::from_secs(u64::from(t));
                        }
                        c.assured |= assured;
                        c.seen_reply |= dir == Dir::Reply;
                        return true;
                    }
                    TcpVerdict::AcceptKill => {
                        self.conn = None;
                        return true;
                    }
                    TcpVerdict::Invalid { timeout } => {
                        if fresh {
                            self.conn = None;
                        } else if let Some(t) = timeout {
                            c.expires = now + Time::from_secs(u64::from(t));
                        }
                        return false;
                    }
                    TcpVerdict::Drop => {
                        if fresh {
                            self.conn = None;
                        }
                        return false;
                    }
                    TcpVerdict::Restart => self.conn = None,
                }
            }
            false
        }

        /// The `conntrack -L` view, listed 30 ms after the last packet as
        /// the oracle does.
        fn listing(&self) -> Option<(End, &'static str, u64, String)> {
            let at = self.now + Time::from_millis(30);
            self.conn.as_ref().filter(|c| c.expires > at).map(|c| {
                let mut fl = String::new();
                if !c.seen_reply {
                    fl.push('U');
                }
                if c.assured {
                    fl.push('A');
                }
                (
                    c.orig,
                    c.track.state().name(),
                    (c.expires - at).as_secs(),
                    fl,
                )
            })
        }
    }

    fn replay(sysctls: &[(&str, u32)], steps: &[Step]) {
        let mut h = Harness::new(sysctls);
        for (i, s) in steps.iter().enumerate() {
            // Packets go out 1 ms apart unless the run timed them.
            h.now = match s.at_ms {
                Some(ms) => Time::from_millis(ms),
                None => h.now + Time::from_millis(1),
            };
            let hdr = header(s.flags, s.seq, s.ack, s.win, &unhex(s.opts));
            let fwd = h.packet(s.from, &hdr, s.len);
            let want = s.conntrack.map(|(o, st, t, f)| (o, st, t, f.to_string()));
            assert_eq!(
                (fwd, h.listing()),
                (s.forwarded, want),
                "step {i}: {:?} {} seq={} ack={}",
                s.from,
                s.flags,
                s.seq,
                s.ack
            );
        }
    }

    // ---- Sequences replayed from the real kernel (gen.py, to_rust.py) ----

    // tests/tcp_kernel/ack_in_syn_sent.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const ACK_IN_SYN_SENT: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, false, Some((C, "SYN_SENT", 119, "U"))),
        st(C, "PA", 1001, 5001, 64240, "", 10, None, false, Some((C, "SYN_SENT", 119, "U"))),
    ];
    #[test]
    fn kernel_ack_in_syn_sent() {
        replay(&[], ACK_IN_SYN_SENT);
    }

    // tests/tcp_kernel/ack_retransmits.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const ACK_RETRANSMITS: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 299, "A"))),
    ];
    #[test]
    fn kernel_ack_retransmits() {
        replay(&[], ACK_RETRANSMITS);
    }

    // tests/tcp_kernel/ack_retransmits_max1.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const ACK_RETRANSMITS_MAX1: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 299, "A"))),
    ];
    #[test]
    fn kernel_ack_retransmits_max1() {
        replay(&[("nf_conntrack_tcp_max_retrans", 1)], ACK_RETRANSMITS_MAX1);
    }

    // tests/tcp_kernel/bad_flags.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const BAD_FLAGS: &[Step] = &[
        st(C, "FS", 1000, 0, 64240, "", 0, None, false, None),
        st(C, "SR", 1000, 0, 64240, "", 0, None, false, None),
        st(C, "", 1000, 0, 64240, "", 0, None, false, None),
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(C, "F", 1001, 0, 64240, "", 0, None, false, Some((C, "SYN_SENT", 119, "U"))),
    ];
    #[test]
    fn kernel_bad_flags() {
        replay(&[], BAD_FLAGS);
    }

    // tests/tcp_kernel/challenge_ack_last_ack.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const CHALLENGE_ACK_LAST_ACK: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "FA", 1001, 5001, 64240, "", 0, None, true, Some((C, "FIN_WAIT", 119, "A"))),
        st(S, "A", 5001, 1002, 64240, "", 0, None, true, Some((C, "CLOSE_WAIT", 59, "A"))),
        st(S, "FA", 5001, 1002, 64240, "", 0, None, true, Some((C, "LAST_ACK", 29, "A"))),
        st(C, "S", 900000, 0, 64240, "", 0, None, true, Some((C, "LAST_ACK", 29, "A"))),
        st(S, "A", 5002, 1002, 64240, "", 0, None, true, Some((C, "LAST_ACK", 29, "A"))),
        st(C, "A", 1002, 5002, 64240, "", 0, None, true, Some((C, "TIME_WAIT", 119, "A"))),
    ];
    #[test]
    fn kernel_challenge_ack_last_ack() {
        replay(&[], CHALLENGE_ACK_LAST_ACK);
    }

    // tests/tcp_kernel/close_expiry_new_syn.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const CLOSE_EXPIRY_NEW_SYN: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "PA", 5001, 1101, 64240, "", 200, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1101, 5201, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "R", 5201, 0, 64240, "", 0, None, true, Some((C, "CLOSE", 9, "A"))),
        st(C, "S", 900000, 0, 64240, "", 0, Some(10600), true, Some((C, "SYN_SENT", 119, "U"))),
    ];
    #[test]
    fn kernel_close_expiry_new_syn() {
        replay(&[], CLOSE_EXPIRY_NEW_SYN);
    }

    // tests/tcp_kernel/data_both_ways.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const DATA_BOTH_WAYS: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "PA", 5001, 1101, 64240, "", 200, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1101, 5201, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_data_both_ways() {
        replay(&[], DATA_BOTH_WAYS);
    }

    // tests/tcp_kernel/data_out_of_window.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const DATA_OUT_OF_WINDOW: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 201001, 5001, 64240, "", 100, None, false, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_data_out_of_window() {
        replay(&[], DATA_OUT_OF_WINDOW);
    }

    // tests/tcp_kernel/data_out_of_window_liberal.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const DATA_OUT_OF_WINDOW_LIBERAL: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 201001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_data_out_of_window_liberal() {
        replay(
            &[("nf_conntrack_tcp_be_liberal", 1)],
            DATA_OUT_OF_WINDOW_LIBERAL,
        );
    }

    // tests/tcp_kernel/data_overshoot.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const DATA_OVERSHOOT: &[Step] = &[
        st(C, "S", 1000, 0, 1000, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 1000, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 1000, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 1000, "", 1000, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "PA", 2001, 5001, 1000, "", 200, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "PA", 2201, 5001, 1000, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "PA", 7201, 5001, 1000, "", 100, None, false, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 2301, 1000, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_data_overshoot() {
        replay(&[], DATA_OVERSHOOT);
    }

    // tests/tcp_kernel/data_retransmit_below_window.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const DATA_RETRANSMIT_BELOW_WINDOW: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "PA", 5001, 1101, 64240, "", 200, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1101, 5201, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 4294868297, 5201, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1101, 5201, 64240, "", 10, None, true, Some((C, "ESTABLISHED", 299, "A"))),
    ];
    #[test]
    fn kernel_data_retransmit_below_window() {
        replay(&[], DATA_RETRANSMIT_BELOW_WINDOW);
    }

    // tests/tcp_kernel/fin_client_first.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const FIN_CLIENT_FIRST: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "FA", 1001, 5001, 64240, "", 0, None, true, Some((C, "FIN_WAIT", 119, "A"))),
        st(S, "A", 5001, 1002, 64240, "", 0, None, true, Some((C, "CLOSE_WAIT", 59, "A"))),
        st(S, "FA", 5001, 1002, 64240, "", 0, None, true, Some((C, "LAST_ACK", 29, "A"))),
        st(C, "A", 1002, 5002, 64240, "", 0, None, true, Some((C, "TIME_WAIT", 119, "A"))),
    ];
    #[test]
    fn kernel_fin_client_first() {
        replay(&[], FIN_CLIENT_FIRST);
    }

    // tests/tcp_kernel/fin_in_syn_recv.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const FIN_IN_SYN_RECV: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "FA", 1001, 5001, 64240, "", 0, None, true, Some((C, "FIN_WAIT", 119, ""))),
        st(S, "A", 5001, 1002, 64240, "", 0, None, true, Some((C, "CLOSE_WAIT", 59, ""))),
    ];
    #[test]
    fn kernel_fin_in_syn_recv() {
        replay(&[], FIN_IN_SYN_RECV);
    }

    // tests/tcp_kernel/fin_in_syn_sent.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const FIN_IN_SYN_SENT: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(C, "FA", 1001, 0, 64240, "", 0, None, false, Some((C, "SYN_SENT", 119, "U"))),
    ];
    #[test]
    fn kernel_fin_in_syn_sent() {
        replay(&[], FIN_IN_SYN_SENT);
    }

    // tests/tcp_kernel/fin_invalid_lowers_timeout.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const FIN_INVALID_LOWERS_TIMEOUT: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "FA", 5001, 1001, 64240, "", 0, None, true, Some((C, "FIN_WAIT", 119, "A"))),
        st(C, "A", 1001, 5002, 64240, "", 0, None, true, Some((C, "CLOSE_WAIT", 59, "A"))),
        st(S, "FA", 5001, 1001, 64240, "", 0, None, true, Some((C, "LAST_ACK", 599, "A"))),
        st(C, "FA", 501001, 5002, 64240, "", 0, None, false, Some((C, "LAST_ACK", 299, "A"))),
    ];
    #[test]
    fn kernel_fin_invalid_lowers_timeout() {
        replay(
            &[("nf_conntrack_tcp_timeout_last_ack", 600)],
            FIN_INVALID_LOWERS_TIMEOUT,
        );
    }

    // tests/tcp_kernel/fin_server_first.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const FIN_SERVER_FIRST: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "FA", 5001, 1001, 64240, "", 0, None, true, Some((C, "FIN_WAIT", 119, "A"))),
        st(C, "A", 1001, 5002, 64240, "", 0, None, true, Some((C, "CLOSE_WAIT", 59, "A"))),
        st(C, "FA", 1001, 5002, 64240, "", 0, None, true, Some((C, "LAST_ACK", 29, "A"))),
        st(S, "A", 5002, 1002, 64240, "", 0, None, true, Some((C, "TIME_WAIT", 119, "A"))),
    ];
    #[test]
    fn kernel_fin_server_first() {
        replay(&[], FIN_SERVER_FIRST);
    }

    // tests/tcp_kernel/half_open_challenge_rst.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const HALF_OPEN_CHALLENGE_RST: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "A", 7777, 4242, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, ""))),
        st(C, "R", 4242, 0, 64240, "", 0, None, true, Some((C, "CLOSE", 9, ""))),
    ];
    #[test]
    fn kernel_half_open_challenge_rst() {
        replay(&[], HALF_OPEN_CHALLENGE_RST);
    }

    // tests/tcp_kernel/handshake.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const HANDSHAKE: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_handshake() {
        replay(&[], HANDSHAKE);
    }

    // tests/tcp_kernel/ignore_invalid_rst.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const IGNORE_INVALID_RST: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "PA", 5001, 1101, 64240, "", 200, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1101, 5201, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "R", 1050, 0, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 9, "A"))),
    ];
    #[test]
    fn kernel_ignore_invalid_rst() {
        replay(
            &[("nf_conntrack_tcp_ignore_invalid_rst", 1)],
            IGNORE_INVALID_RST,
        );
    }

    // tests/tcp_kernel/loose_off.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const LOOSE_OFF: &[Step] = &[
        st(C, "A", 1001, 5001, 64240, "", 0, None, false, None),
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_loose_off() {
        replay(&[("nf_conntrack_tcp_loose", 0)], LOOSE_OFF);
    }

    // tests/tcp_kernel/loose_pickup.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const LOOSE_PICKUP: &[Step] = &[
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 299, "U"))),
        st(S, "A", 5001, 1001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 299, ""))),
        st(C, "PA", 1001, 5001, 64240, "", 10, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1011, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_loose_pickup() {
        replay(&[], LOOSE_PICKUP);
    }

    // tests/tcp_kernel/loose_pickup_liberal_window.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const LOOSE_PICKUP_LIBERAL_WINDOW: &[Step] = &[
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 299, "U"))),
        st(S, "A", 5001, 1001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 299, ""))),
        st(C, "PA", 901001, 5001, 64240, "", 10, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "A", 705001, 1001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_loose_pickup_liberal_window() {
        replay(&[], LOOSE_PICKUP_LIBERAL_WINDOW);
    }

    // tests/tcp_kernel/loose_pickup_reply_rst.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const LOOSE_PICKUP_REPLY_RST: &[Step] = &[
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 299, "U"))),
        st(S, "R", 5001, 0, 64240, "", 0, None, true, None),
    ];
    #[test]
    fn kernel_loose_pickup_reply_rst() {
        replay(&[], LOOSE_PICKUP_REPLY_RST);
    }

    // tests/tcp_kernel/reply_syn_in_established.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const REPLY_SYN_IN_ESTABLISHED: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "S", 5001, 0, 64240, "", 0, None, false, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "SA", 1001, 5001, 64240, "", 0, None, false, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_reply_syn_in_established() {
        replay(&[], REPLY_SYN_IN_ESTABLISHED);
    }

    // tests/tcp_kernel/rst_answering_syn.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const RST_ANSWERING_SYN: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "RA", 0, 1001, 64240, "", 0, None, true, None),
    ];
    #[test]
    fn kernel_rst_answering_syn() {
        replay(&[], RST_ANSWERING_SYN);
    }

    // tests/tcp_kernel/rst_below_maxack_liberal.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const RST_BELOW_MAXACK_LIBERAL: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "PA", 5001, 1101, 64240, "", 200, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1101, 5201, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "R", 1050, 0, 64240, "", 0, None, false, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_rst_below_maxack_liberal() {
        replay(
            &[("nf_conntrack_tcp_be_liberal", 1)],
            RST_BELOW_MAXACK_LIBERAL,
        );
    }

    // tests/tcp_kernel/rst_client_after_syn.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const RST_CLIENT_AFTER_SYN: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(C, "R", 1001, 0, 64240, "", 0, None, true, None),
    ];
    #[test]
    fn kernel_rst_client_after_syn() {
        replay(&[], RST_CLIENT_AFTER_SYN);
    }

    // tests/tcp_kernel/rst_client_below_maxack.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const RST_CLIENT_BELOW_MAXACK: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "PA", 5001, 1101, 64240, "", 200, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1101, 5201, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "R", 1050, 0, 64240, "", 0, None, false, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "R", 1101, 0, 64240, "", 0, None, true, Some((C, "CLOSE", 9, "A"))),
    ];
    #[test]
    fn kernel_rst_client_below_maxack() {
        replay(&[], RST_CLIENT_BELOW_MAXACK);
    }

    // tests/tcp_kernel/rst_client_inexact.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const RST_CLIENT_INEXACT: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "PA", 5001, 1101, 64240, "", 200, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1101, 5201, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "R", 1150, 0, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 9, "A"))),
    ];
    #[test]
    fn kernel_rst_client_inexact() {
        replay(&[], RST_CLIENT_INEXACT);
    }

    // tests/tcp_kernel/rst_in_syn_recv.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const RST_IN_SYN_RECV: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "R", 1001, 0, 64240, "", 0, None, true, Some((C, "CLOSE", 9, ""))),
    ];
    #[test]
    fn kernel_rst_in_syn_recv() {
        replay(&[], RST_IN_SYN_RECV);
    }

    // tests/tcp_kernel/rst_server_in_window.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const RST_SERVER_IN_WINDOW: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "PA", 5001, 1101, 64240, "", 200, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1101, 5201, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "R", 5201, 0, 64240, "", 0, None, true, Some((C, "CLOSE", 9, "A"))),
    ];
    #[test]
    fn kernel_rst_server_in_window() {
        replay(&[], RST_SERVER_IN_WINDOW);
    }

    // tests/tcp_kernel/sack_blocks.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const SACK_BLOCKS: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "020405b404020000", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "020405b404020000", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "PA", 1201, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "0101050a000004b100000515", 0, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "0101050a000004b100000579", 0, None, false, Some((C, "ESTABLISHED", 299, "A"))),
    ];
    #[test]
    fn kernel_sack_blocks() {
        replay(&[], SACK_BLOCKS);
    }

    // tests/tcp_kernel/simultaneous_open.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const SIMULTANEOUS_OPEN: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "S", 5000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT2", 119, ""))),
        st(C, "SA", 1000, 5001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(S, "A", 5001, 1001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_simultaneous_open() {
        replay(&[], SIMULTANEOUS_OPEN);
    }

    // tests/tcp_kernel/simultaneous_open_timing.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const SIMULTANEOUS_OPEN_TIMING: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "S", 5000, 0, 64240, "", 0, Some(3000), true, Some((C, "SYN_SENT2", 116, ""))),
    ];
    #[test]
    fn kernel_simultaneous_open_timing() {
        replay(&[], SIMULTANEOUS_OPEN_TIMING);
    }

    // tests/tcp_kernel/syn_close_reopen.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const SYN_CLOSE_REOPEN: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "PA", 5001, 1101, 64240, "", 200, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1101, 5201, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "R", 5201, 0, 64240, "", 0, None, true, Some((C, "CLOSE", 9, "A"))),
        st(C, "S", 900000, 0, 64240, "", 0, None, true, Some((C, "CLOSE", 9, "A"))),
    ];
    #[test]
    fn kernel_syn_close_reopen() {
        replay(&[], SYN_CLOSE_REOPEN);
    }

    // tests/tcp_kernel/syn_in_established_resync.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const SYN_IN_ESTABLISHED_RESYNC: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "PA", 5001, 1101, 64240, "", 200, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1101, 5201, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "S", 900000, 0, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "SA", 70000, 900001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, "A"))),
        st(C, "A", 900001, 70001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_syn_in_established_resync() {
        replay(&[], SYN_IN_ESTABLISHED_RESYNC);
    }

    // tests/tcp_kernel/syn_reinit.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const SYN_REINIT: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(C, "S", 3000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(S, "SA", 5000, 3001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 3001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_syn_reinit() {
        replay(&[], SYN_REINIT);
    }

    // tests/tcp_kernel/syn_reopen_after_own_rst.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const SYN_REOPEN_AFTER_OWN_RST: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 1001, 5001, 64240, "", 100, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(S, "A", 5001, 1101, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "PA", 5001, 1101, 64240, "", 200, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1101, 5201, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "R", 1101, 0, 64240, "", 0, None, true, Some((C, "CLOSE", 9, "A"))),
        st(C, "S", 900000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 70000, 900001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
    ];
    #[test]
    fn kernel_syn_reopen_after_own_rst() {
        replay(&[], SYN_REOPEN_AFTER_OWN_RST);
    }

    // tests/tcp_kernel/syn_retransmit.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const SYN_RETRANSMIT: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(C, "S", 1000, 0, 64240, "", 0, Some(2000), true, Some((C, "SYN_SENT", 117, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, Some(2100), true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, Some(2200), true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_syn_retransmit() {
        replay(&[], SYN_RETRANSMIT);
    }

    // tests/tcp_kernel/syn_timewait_reopen.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const SYN_TIMEWAIT_REOPEN: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "FA", 1001, 5001, 64240, "", 0, None, true, Some((C, "FIN_WAIT", 119, "A"))),
        st(S, "A", 5001, 1002, 64240, "", 0, None, true, Some((C, "CLOSE_WAIT", 59, "A"))),
        st(S, "FA", 5001, 1002, 64240, "", 0, None, true, Some((C, "LAST_ACK", 29, "A"))),
        st(C, "A", 1002, 5002, 64240, "", 0, None, true, Some((C, "TIME_WAIT", 119, "A"))),
        st(C, "S", 900000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 70000, 900001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 900001, 70001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_syn_timewait_reopen() {
        replay(&[], SYN_TIMEWAIT_REOPEN);
    }

    // tests/tcp_kernel/syn_timewait_reopen_reply.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const SYN_TIMEWAIT_REOPEN_REPLY: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "FA", 1001, 5001, 64240, "", 0, None, true, Some((C, "FIN_WAIT", 119, "A"))),
        st(S, "A", 5001, 1002, 64240, "", 0, None, true, Some((C, "CLOSE_WAIT", 59, "A"))),
        st(S, "FA", 5001, 1002, 64240, "", 0, None, true, Some((C, "LAST_ACK", 29, "A"))),
        st(C, "A", 1002, 5002, 64240, "", 0, None, true, Some((C, "TIME_WAIT", 119, "A"))),
        st(S, "S", 900000, 0, 64240, "", 0, None, true, Some((S, "SYN_SENT", 119, "U"))),
    ];
    #[test]
    fn kernel_syn_timewait_reopen_reply() {
        replay(&[], SYN_TIMEWAIT_REOPEN_REPLY);
    }

    // tests/tcp_kernel/synack_retransmit_reinit.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const SYNACK_RETRANSMIT_REINIT: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(S, "SA", 6000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 6001, 64240, "", 0, None, false, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_synack_retransmit_reinit() {
        replay(&[], SYNACK_RETRANSMIT_REINIT);
    }

    // tests/tcp_kernel/synack_wrong_ack.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const SYNACK_WRONG_ACK: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 2000, 64240, "", 0, None, false, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 4294868297, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, ""))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_synack_wrong_ack() {
        replay(&[], SYNACK_WRONG_ACK);
    }

    // tests/tcp_kernel/window_scale.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const WINDOW_SCALE: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "020405b40402030307000000", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 1000, "020405b40402030307000000", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 1000, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "A", 5001, 1001, 1000, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 71001, 5001, 1000, "", 1000, None, true, Some((C, "ESTABLISHED", 299, "A"))),
    ];
    #[test]
    fn kernel_window_scale() {
        replay(&[], WINDOW_SCALE);
    }

    // tests/tcp_kernel/window_scale_one_sided.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const WINDOW_SCALE_ONE_SIDED: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "020405b40402030307000000", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 1000, "020405b404020000", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 1000, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "A", 5001, 1001, 1000, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(C, "PA", 71001, 5001, 1000, "", 1000, None, false, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_window_scale_one_sided() {
        replay(&[], WINDOW_SCALE_ONE_SIDED);
    }

    // tests/tcp_kernel/zero_window.linux.json (Linux 6.18.44-fc-v657)
    #[rustfmt::skip]
    const ZERO_WINDOW: &[Step] = &[
        st(C, "S", 1000, 0, 64240, "", 0, None, true, Some((C, "SYN_SENT", 119, "U"))),
        st(S, "SA", 5000, 1001, 64240, "", 0, None, true, Some((C, "SYN_RECV", 59, ""))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
        st(S, "A", 5001, 1001, 0, "", 0, None, true, Some((C, "ESTABLISHED", 299, "A"))),
        st(C, "A", 1001, 5001, 64240, "", 0, None, true, Some((C, "ESTABLISHED", 431999, "A"))),
    ];
    #[test]
    fn kernel_zero_window() {
        replay(&[], ZERO_WINDOW);
    }

    // ---- Option parsing ----

    #[test]
    fn options_window_scale_and_sack_perm() {
        let mut side = Side::default();
        // MSS, SACK-permitted, NOP, window scale 7.
        parse_options(&unhex("020405b4040201030307"), &mut side);
        assert_eq!((side.scale, side.flags), (7, F_WINDOW_SCALE | F_SACK_PERM));
    }

    #[test]
    fn options_scale_capped_at_14() {
        let mut side = Side::default();
        parse_options(&unhex("030320"), &mut side);
        assert_eq!((side.scale, side.flags), (14, F_WINDOW_SCALE));
    }

    #[test]
    fn options_reset_but_keep_be_liberal() {
        let mut side = Side {
            scale: 9,
            flags: F_WINDOW_SCALE | F_BE_LIBERAL | F_MAXACK_SET,
            ..Side::default()
        };
        parse_options(&unhex("01010402"), &mut side);
        assert_eq!((side.scale, side.flags), (0, F_BE_LIBERAL | F_SACK_PERM));
        // No options at all: nothing is reset.
        let mut side = Side {
            scale: 9,
            flags: F_WINDOW_SCALE,
            ..Side::default()
        };
        parse_options(&[], &mut side);
        assert_eq!((side.scale, side.flags), (9, F_WINDOW_SCALE));
    }

    #[test]
    fn options_stop_at_eol_silly_or_partial() {
        for opts in ["00030307", "0301030307", "0300030307", "03040307", "0303"] {
            let mut side = Side::default();
            parse_options(&unhex(opts), &mut side);
            assert_eq!(side.flags, 0, "{opts}");
        }
        // A kind byte with no length byte after it.
        let mut side = Side::default();
        parse_options(&[3], &mut side);
        assert_eq!(side.flags, 0);
    }

    #[test]
    fn sack_highest_right_edge_of_first_option() {
        let mut sack = 1000;
        // NOP NOP SACK(2 blocks: 1200-1300, 1500-1400), then another SACK.
        highest_sack(
            &unhex("01010512000004b00000051400000578000005dc050a00002710000027ff"),
            &mut sack,
        );
        assert_eq!(sack, 1500);
        // Right edges wrap: "after" is in sequence space.
        let mut sack = 0xffff_fff0;
        highest_sack(&unhex("0101050a0000000000000010"), &mut sack);
        assert_eq!(sack, 0x10);
        // Blocks not a multiple of 8 bytes, or the timestamp-only layout.
        for opts in ["0101050b00000000000000100000", "0101080a0000000100000002"] {
            let mut sack = 7;
            highest_sack(&unhex(opts), &mut sack);
            assert_eq!(sack, 7, "{opts}");
        }
    }

    #[test]
    fn header_checks() {
        let ok = header("S", 1, 0, 100, &[]);
        assert!(header_valid(&seg(&ok), true));
        assert!(!header_valid(&seg(&ok), false));
        assert!(!header_valid(&seg(&ok[..19]), true));
        let mut short_doff = ok.clone();
        short_doff[12] = 4 << 4;
        assert!(!header_valid(&seg(&short_doff), true));
        let mut long_doff = ok.clone();
        long_doff[12] = 6 << 4;
        assert!(!header_valid(&seg(&long_doff), true));
        for (flags, valid) in [
            ("S", true),
            ("SU", true),
            ("SA", true),
            ("SAPEC", true),
            ("R", true),
            ("RA", true),
            ("FA", true),
            ("FAU", true),
            ("A", true),
            ("AU", true),
            ("", false),
            ("F", false),
            ("FS", false),
            ("SR", false),
            ("RAF", false),
            ("P", false),
            ("U", false),
        ] {
            assert_eq!(
                header_valid(&seg(&header(flags, 1, 0, 1, &[])), true),
                valid,
                "{flags}"
            );
        }
    }

    #[test]
    fn simultaneous_open_keeps_scaling_only_if_both_offer() {
        let s = TcpSettings::default();
        let syn = header("S", 100, 0, 1000, &unhex("03030500"));
        let mut t = TcpTrack::new(&seg(&syn), &s).expect("SYN opens");
        assert!(matches!(
            t.packet(Dir::Original, &seg(&syn), ConnFacts::default(), &s),
            TcpVerdict::Accept { .. }
        ));
        let synack = header("SA", 900, 101, 1000, &unhex("03030800"));
        t.packet(Dir::Reply, &seg(&synack), ConnFacts::default(), &s);
        assert_eq!((t.state(), t.window_scales()), (TcpState::SynRecv, (5, 8)));
        let mut t = TcpTrack::new(&seg(&syn), &s).expect("SYN opens");
        t.packet(Dir::Original, &seg(&syn), ConnFacts::default(), &s);
        let synack = header("SA", 900, 101, 1000, &[]);
        t.packet(Dir::Reply, &seg(&synack), ConnFacts::default(), &s);
        assert_eq!((t.state(), t.window_scales()), (TcpState::SynRecv, (0, 0)));
    }

    // ---- Hostile input ----

    mod hostile {
        use super::*;
        use proptest::prelude::*;

        const VALID_FLAGS: [u8; 9] = [0x02, 0x22, 0x12, 0x04, 0x14, 0x11, 0x31, 0x10, 0x30];

        fn pseg(p: &Pkt) -> TcpSegment<'_> {
            TcpSegment {
                header: &p.header,
                payload_len: p.payload_len,
            }
        }

        #[derive(Debug, Clone)]
        struct Pkt {
            reply: bool,
            header: Vec<u8>,
            payload_len: u32,
            facts: (bool, bool, u64),
        }

        /// Mostly well-formed segments near one sequence space (so deep
        /// paths are reached), with arbitrary options, some wild numbers
        /// and some raw garbage.
        fn pkt() -> impl Strategy<Value = Pkt> {
            let seqish = prop_oneof![3 => 0u32..4000, 1 => any::<u32>()];
            let shaped = (
                any::<bool>(),
                prop::sample::select(VALID_FLAGS.to_vec()),
                any::<u8>(),
                seqish.clone(),
                seqish,
                prop_oneof![any::<u16>(), 0u16..4],
                prop::collection::vec(any::<u8>(), 0..=10).prop_map(|v| {
                    v.into_iter()
                        .flat_map(|x| [x, x ^ 3, 2, 8])
                        .collect::<Vec<u8>>()
                }),
                prop_oneof![0u32..3000, any::<u32>()],
                (any::<bool>(), any::<bool>(), 0u64..1_000_000),
            )
                .prop_map(
                    |(reply, f, extra, seq, ack, win, opts, payload_len, facts)| {
                        let opts = &opts[..opts.len().min(40)];
                        let mut h = header("", seq, ack, win, opts);
                        h[13] = f | (extra & (PSH | ECE | CWR));
                        Pkt {
                            reply,
                            header: h,
                            payload_len,
                            facts,
                        }
                    },
                );
            let raw = (
                any::<bool>(),
                prop::collection::vec(any::<u8>(), 0..80),
                any::<u32>(),
                (any::<bool>(), any::<bool>(), any::<u64>()),
            )
                .prop_map(|(reply, header, payload_len, facts)| Pkt {
                    reply,
                    header,
                    payload_len,
                    facts,
                });
            prop_oneof![4 => shaped, 1 => raw]
        }

        fn settings() -> impl Strategy<Value = TcpSettings> {
            (any::<bool>(), any::<bool>(), any::<bool>(), 0u8..5).prop_map(
                |(loose, be_liberal, ignore_invalid_rst, max_retrans)| TcpSettings {
                    loose,
                    be_liberal,
                    ignore_invalid_rst,
                    max_retrans,
                    ..TcpSettings::default()
                },
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn never_panics_and_refusals_leave_state(first in pkt(), rest in prop::collection::vec(pkt(), 0..24), s in settings()) {
                                let _ = header_valid(&pseg(&first), true);
                let Some(mut t) = TcpTrack::new(&pseg(&first), &s) else {
                    return Ok(());
                };
                for p in std::iter::once(&first).chain(&rest) {
                    let dir = if p.reply { Dir::Reply } else { Dir::Original };
                    let facts = ConnFacts { seen_reply: p.facts.0, assured: p.facts.1, remaining: Time::from_millis(p.facts.2), ..ConnFacts::default() };
                    let before = t.state();
                    let v = t.packet(dir, &pseg(p), facts, &s);
                    let _ = t.state().name();
                    match v {
                        TcpVerdict::Invalid { .. } | TcpVerdict::Restart => {
                            prop_assert_eq!(t.state(), before);
                        }
                        // Untouched, except the reply's SYN of a simultaneous
                        // open (no refresh: SYN while SYN_SENT).
                        TcpVerdict::Accept { timeout: None, .. } => prop_assert!(
                            t.state() == before
                                || (before, t.state()) == (TcpState::SynSent, TcpState::SynSent2)
                        ),
                        TcpVerdict::AcceptKill | TcpVerdict::Accept { timeout: Some(_), .. } => {}
                        TcpVerdict::Drop => prop_assert!(false, "Drop is never produced"),
                    }
                    if let TcpVerdict::Invalid { timeout: Some(x) } = v {
                        prop_assert_eq!(x, s.timeout_unacknowledged);
                    }
                }
            }

            #[test]
            fn harness_never_panics(steps in prop::collection::vec(pkt(), 1..24), sysctl in (0u32..2, 0u32..2)) {
                let mut h = Harness::new(&[("nf_conntrack_tcp_loose", sysctl.0), ("nf_conntrack_tcp_be_liberal", sysctl.1)]);
                for p in &steps {
                    h.now = h.now + Time::from_millis(p.facts.2 % 5000);
                    h.packet(if p.reply { S } else { C }, &p.header, p.payload_len);
                    let _ = h.listing();
                }
            }
        }
    }
}
