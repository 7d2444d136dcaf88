//! TCP connection tracking (net/netfilter/nf_conntrack_proto_tcp.c).
//!
//! PROVISIONAL: a coarse state machine without window tracking, to be
//! replaced by the faithful port (helper branch `ct-tcp`) before landing.

use super::tuple::Dir;
use crate::wire::transport::tcp_flags::*;

/// Conntrack's TCP states (`enum tcp_conntrack`), named as `conntrack -L`
/// prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// The `nf_conntrack_tcp_*` sysctls (defaults from nf_conntrack_proto_tcp.c).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSettings {
    pub loose: bool,
    pub be_liberal: bool,
    pub ignore_invalid_rst: bool,
    pub max_retrans: u8,
    /// Seconds, indexed by [`TcpState`] as `tcp_timeouts[]` is, plus
    /// `retrans` and `unacknowledged`.
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

/// One TCP segment as the tracker sees it.
#[derive(Debug, Clone, Copy)]
pub struct TcpSegment<'a> {
    /// The TCP header with its options (`data offset × 4` bytes).
    pub header: &'a [u8],
    /// Bytes of payload after the header.
    pub payload_len: u32,
}

impl TcpSegment<'_> {
    pub fn flags(&self) -> u8 {
        self.header.get(13).copied().unwrap_or(0)
    }
}

/// What the tracker decided for one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpVerdict {
    /// Part of the connection; refresh it with this timeout (seconds);
    /// `assured` when the connection becomes ASSURED now.
    Accept { timeout: u32, assured: bool },
    /// Not part of it (-NF_ACCEPT): the packet goes on as INVALID.
    Invalid,
    /// The tracker drops the packet (NF_DROP).
    Drop,
    /// A new connection reuses a closed one's tuple (-NF_REPEAT): delete
    /// the old one and track the packet afresh.
    Restart,
}

/// Per-connection TCP tracking state (`struct ip_ct_tcp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpTrack {
    state: TcpState,
}

/// `tcp_error`: header checks made before any lookup; `false` makes the
/// packet INVALID. `checksum_ok` is only consulted at PREROUTING with
/// `nf_conntrack_checksum` on, which the caller decides.
pub fn header_valid(seg: &TcpSegment<'_>, checksum_ok: bool) -> bool {
    if seg.header.len() < 20 || !checksum_ok {
        return false;
    }
    let f = seg.flags() & !(0x80 | 0x40 | PSH);
    // tcp_valid_flags: combinations a real stack can send.
    matches!(
        f,
        SYN | 0x22 /* SYN|URG */ | 0x12 /* SYN|ACK */ | RST | 0x14 /* RST|ACK */
            | 0x11 /* FIN|ACK */ | 0x31 /* FIN|ACK|URG */ | ACK | 0x30 /* ACK|URG */
    )
}

impl TcpTrack {
    /// `tcp_new`: tracking for a connection's first segment, `None` when
    /// it cannot start one (the packet is INVALID).
    pub fn new(seg: &TcpSegment<'_>, settings: &TcpSettings) -> Option<TcpTrack> {
        let f = seg.flags();
        if f & SYN != 0 && f & ACK == 0 {
            Some(TcpTrack { state: TcpState::None })
        } else if settings.loose && f & (RST | SYN) == 0 {
            Some(TcpTrack { state: TcpState::None })
        } else {
            None
        }
    }

    pub fn state(&self) -> TcpState {
        self.state
    }

    /// `nf_conntrack_tcp_packet` for a segment in direction `dir`;
    /// `confirmed` tells whether the connection is already in the table.
    pub fn packet(
        &mut self,
        dir: Dir,
        seg: &TcpSegment<'_>,
        confirmed: bool,
        assured: bool,
        settings: &TcpSettings,
    ) -> TcpVerdict {
        let f = seg.flags();
        let _ = confirmed;
        let next = if f & RST != 0 {
            TcpState::Close
        } else if f & SYN != 0 && f & ACK == 0 {
            if dir == Dir::Original {
                TcpState::SynSent
            } else {
                TcpState::SynSent2
            }
        } else if f & SYN != 0 {
            TcpState::SynRecv
        } else if f & FIN != 0 {
            match self.state {
                TcpState::Established | TcpState::None => TcpState::FinWait,
                TcpState::FinWait | TcpState::CloseWait => TcpState::LastAck,
                s => s,
            }
        } else {
            match self.state {
                TcpState::SynRecv | TcpState::None => TcpState::Established,
                TcpState::LastAck => TcpState::TimeWait,
                s => s,
            }
        };
        let was = self.state;
        self.state = next;
        let timeout = match next {
            TcpState::SynSent | TcpState::SynSent2 => settings.timeout_syn_sent,
            TcpState::SynRecv => settings.timeout_syn_recv,
            TcpState::Established | TcpState::None => settings.timeout_established,
            TcpState::FinWait => settings.timeout_fin_wait,
            TcpState::CloseWait => settings.timeout_close_wait,
            TcpState::LastAck => settings.timeout_last_ack,
            TcpState::TimeWait => settings.timeout_time_wait,
            TcpState::Close => settings.timeout_close,
        };
        let becomes_assured = !assured
            && matches!(was, TcpState::SynRecv | TcpState::Established)
            && next == TcpState::Established;
        TcpVerdict::Accept {
            timeout,
            assured: becomes_assured,
        }
    }
}
