//! SCTP connection tracking: a port of Linux 6.18
//! net/netfilter/nf_conntrack_proto_sctp.c (the chunk walk, the state
//! table `sctp_conntracks`, the verification-tag rules of RFC 9260 8.5
//! with their special cases, INIT collisions, checksum verification and
//! the per-state timeouts).
//!
//! # How `nf_conntrack_in`-like code uses it
//!
//! The tuple is the ports, as for UDP (`nf_ct_get_tuple_ports`); a new
//! connection starts as `SctpTrack::default()` (nothing is checked at
//! allocation). Every packet, the first one of an unconfirmed connection
//! included, then goes through [`SctpTrack::packet`]
//! (`nf_conntrack_sctp_packet`), which checks the packet itself first
//! (`sctp_error`: length, and CRC32c when asked to) and gives:
//! * [`SctpVerdict::Accept`]: `timeout: Some(t)`: the connection expires
//!   `t` seconds from now; `None`: leave the expiry alone (an INIT
//!   retransmission, or a heartbeat on a new path). `assured`: set
//!   ASSURED (the state became ESTABLISHED).
//! * [`SctpVerdict::Invalid`]: the packet goes on with no conntrack; an
//!   unconfirmed connection is discarded (`-NF_ACCEPT`).
//!
//! Not modelled: per-connection timeout policies
//! (`nf_ct_timeout_lookup`), `sctp_can_early_drop` (used only by the
//! garbage collector's early drop when the table is nearly full, which
//! the engine does not model), checksum offload (`skb->ip_summed`: every
//! packet here is CHECKSUM_NONE, as from a TUN device).

use super::tuple::Dir;
use crate::wire::crc32c;

/// Chunk types (include/linux/sctp.h `enum sctp_cid`).
pub mod chunk {
    pub const DATA: u8 = 0;
    pub const INIT: u8 = 1;
    pub const INIT_ACK: u8 = 2;
    pub const HEARTBEAT: u8 = 4;
    pub const HEARTBEAT_ACK: u8 = 5;
    pub const ABORT: u8 = 6;
    pub const SHUTDOWN: u8 = 7;
    pub const SHUTDOWN_ACK: u8 = 8;
    pub const ERROR: u8 = 9;
    pub const COOKIE_ECHO: u8 = 10;
    pub const COOKIE_ACK: u8 = 11;
    pub const SHUTDOWN_COMPLETE: u8 = 14;
}

/// `SCTP_CHUNK_FLAG_T`: the sender had no TCB (ABORT, SHUTDOWN_COMPLETE).
const FLAG_T: u8 = 0x01;

/// The common header (`struct sctphdr`): ports, verification tag,
/// checksum.
pub const COMMON_HEADER_LEN: usize = 12;

/// Conntrack's SCTP states (`enum sctp_conntrack`), named as `conntrack
/// -L` prints them (`sctp_conntrack_names`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SctpState {
    #[default]
    None,
    Closed,
    CookieWait,
    CookieEchoed,
    Established,
    ShutdownSent,
    ShutdownRecd,
    ShutdownAckSent,
    HeartbeatSent,
}

impl SctpState {
    pub fn name(self) -> &'static str {
        match self {
            SctpState::None => "NONE",
            SctpState::Closed => "CLOSED",
            SctpState::CookieWait => "COOKIE_WAIT",
            SctpState::CookieEchoed => "COOKIE_ECHOED",
            SctpState::Established => "ESTABLISHED",
            SctpState::ShutdownSent => "SHUTDOWN_SENT",
            SctpState::ShutdownRecd => "SHUTDOWN_RECD",
            SctpState::ShutdownAckSent => "SHUTDOWN_ACK_SENT",
            SctpState::HeartbeatSent => "HEARTBEAT_SENT",
        }
    }

    /// Column in the state table (the `enum sctp_conntrack` value).
    fn column(self) -> usize {
        self as usize
    }
}

/// The `nf_conntrack_sctp_timeout_*` sysctls, in seconds, by state
/// (`sctp_timeouts[]`). NONE has no sysctl: it keeps CLOSED's default
/// (`nf_conntrack_sctp_init_net`), and no packet ever leaves a
/// connection in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SctpSettings {
    pub timeouts: [u32; 9],
}

impl Default for SctpSettings {
    fn default() -> Self {
        SctpSettings {
            // NONE, CLOSED, COOKIE_WAIT, COOKIE_ECHOED, ESTABLISHED,
            // SHUTDOWN_SENT, SHUTDOWN_RECD, SHUTDOWN_ACK_SENT,
            // HEARTBEAT_SENT.
            timeouts: [10, 10, 3, 3, 210, 3, 3, 3, 30],
        }
    }
}

impl SctpSettings {
    /// The timeout slot of sysctl `nf_conntrack_sctp_timeout_NAME`.
    pub fn timeout_slot(&mut self, name: &str) -> Option<&mut u32> {
        let state = match name {
            "closed" => SctpState::Closed,
            "cookie_wait" => SctpState::CookieWait,
            "cookie_echoed" => SctpState::CookieEchoed,
            "established" => SctpState::Established,
            "shutdown_sent" => SctpState::ShutdownSent,
            "shutdown_recd" => SctpState::ShutdownRecd,
            "shutdown_ack_sent" => SctpState::ShutdownAckSent,
            "heartbeat_sent" => SctpState::HeartbeatSent,
            _ => return None,
        };
        self.timeouts.get_mut(state.column())
    }
}

use SctpState::{
    Closed as sCL, CookieEchoed as sCE, CookieWait as sCW, Established as sES,
    HeartbeatSent as sHS, None as sNO, ShutdownAckSent as sSA, ShutdownRecd as sSR,
    ShutdownSent as sSS,
};

/// `sctp_conntracks[dir][chunk][state]`: the next state, `None` for
/// `sIV` (invalid). Rows: INIT, INIT_ACK, ABORT, SHUTDOWN, SHUTDOWN_ACK,
/// ERROR, COOKIE_ECHO, COOKIE_ACK, SHUTDOWN_COMPLETE, HEARTBEAT,
/// HEARTBEAT_ACK; columns: the states in `enum sctp_conntrack` order.
#[rustfmt::skip]
const TABLE: [[[Option<SctpState>; 9]; 11]; 2] = {
    const IV: Option<SctpState> = None;
    const NO: Option<SctpState> = Some(sNO);
    const CL: Option<SctpState> = Some(sCL);
    const CW: Option<SctpState> = Some(sCW);
    const CE: Option<SctpState> = Some(sCE);
    const ES: Option<SctpState> = Some(sES);
    const SS: Option<SctpState> = Some(sSS);
    const SR: Option<SctpState> = Some(sSR);
    const SA: Option<SctpState> = Some(sSA);
    const HS: Option<SctpState> = Some(sHS);
    let _ = NO;
    [
        // ORIGINAL
        //  sNO sCL sCW sCE sES sSS sSR sSA sHS
        [
            [CL, CL, CW, CE, ES, CL, CL, SA, CW], // init
            [CL, CL, CW, CE, ES, SS, SR, SA, CL], // init_ack
            [CL, CL, CL, CL, CL, CL, CL, CL, CL], // abort
            [CL, CL, CW, CE, SS, SS, SR, SA, CL], // shutdown
            [SA, CL, CW, CE, ES, SA, SA, SA, SA], // shutdown_ack
            [CL, CL, CW, CE, ES, SS, SR, SA, CL], // error
            [CL, CL, CE, CE, ES, SS, SR, SA, CL], // cookie_echo
            [CL, CL, CW, ES, ES, SS, SR, SA, CL], // cookie_ack
            [CL, CL, CW, CE, ES, SS, SR, CL, CL], // shutdown_comp
            [HS, CL, CW, CE, ES, SS, SR, SA, HS], // heartbeat
            [CL, CL, CW, CE, ES, SS, SR, SA, HS], // heartbeat_ack
        ],
        // REPLY
        //  sNO sCL sCW sCE sES sSS sSR sSA sHS
        [
            [IV, CL, CW, CE, ES, SS, SR, SA, IV], // init
            [IV, CW, CW, CE, ES, SS, SR, SA, IV], // init_ack
            [IV, CL, CL, CL, CL, CL, CL, CL, IV], // abort
            [IV, CL, CW, CE, SR, SS, SR, SA, IV], // shutdown
            [IV, CL, CW, CE, ES, SA, SA, SA, IV], // shutdown_ack
            [IV, CL, CW, CL, ES, SS, SR, SA, IV], // error
            [IV, CL, CE, CE, ES, SS, SR, SA, IV], // cookie_echo
            [IV, CL, CW, ES, ES, SS, SR, SA, IV], // cookie_ack
            [IV, CL, CW, CE, ES, SS, SR, CL, IV], // shutdown_comp
            [IV, CL, CW, CE, ES, SS, SR, SA, HS], // heartbeat
            [IV, CL, CW, CE, ES, SS, SR, SA, ES], // heartbeat_ack
        ],
    ]
};

/// `sctp_new_state`: what a chunk of type `ty` going in `dir` makes of
/// `cur`; `None` for invalid. Chunks without a row (DATA, SACK, ...)
/// leave the state as it is.
fn new_state(dir: Dir, cur: SctpState, ty: u8) -> Option<SctpState> {
    let row = match ty {
        chunk::INIT => 0,
        chunk::INIT_ACK => 1,
        chunk::ABORT => 2,
        chunk::SHUTDOWN => 3,
        chunk::SHUTDOWN_ACK => 4,
        chunk::ERROR => 5,
        chunk::COOKIE_ECHO => 6,
        chunk::COOKIE_ACK => 7,
        chunk::SHUTDOWN_COMPLETE => 8,
        chunk::HEARTBEAT => 9,
        chunk::HEARTBEAT_ACK => 10,
        _ => return Some(cur),
    };
    TABLE[dir.index()][row][cur.column()]
}

/// One chunk header as `for_each_sctp_chunk` sees it, at `offset` in the
/// SCTP packet.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    ty: u8,
    flags: u8,
    len: u16,
    offset: usize,
}

/// `for_each_sctp_chunk`: the chunk headers from after the common header
/// while one starts before the end and its 4 header bytes are there,
/// each next one `SCTP_PAD4(length)` further. A zero length would loop
/// forever in the kernel too; every walk after `basic_checks` has
/// refused such a packet, and this one stops there.
fn chunks(l4: &[u8]) -> impl Iterator<Item = Chunk> + '_ {
    let mut offset = COMMON_HEADER_LEN;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let &[ty, flags, l0, l1] = l4.get(offset..offset + 4)? else {
            return None;
        };
        let len = u16::from_be_bytes([l0, l1]);
        let c = Chunk {
            ty,
            flags,
            len,
            offset,
        };
        done = len == 0;
        offset += (usize::from(len) + 3) & !3;
        Some(c)
    })
}

/// The chunk types present, as `do_basic_checks` collects them.
#[derive(Debug, Clone, Copy, Default)]
struct ChunkMap([u64; 4]);

impl ChunkMap {
    fn set(&mut self, ty: u8) {
        self.0[usize::from(ty >> 6)] |= 1 << (ty & 63);
    }
    fn has(&self, ty: u8) -> bool {
        self.0[usize::from(ty >> 6)] & (1 << (ty & 63)) != 0
    }
}

/// `do_basic_checks`: at least one chunk, none of length zero, COOKIE_ECHO
/// and COOKIE_ACK only first, INIT, INIT_ACK and SHUTDOWN_COMPLETE only
/// alone. The chunk types present, or `None` when the checks fail.
fn basic_checks(l4: &[u8]) -> Option<ChunkMap> {
    let mut map = ChunkMap::default();
    let mut alone = false;
    let mut count = 0usize;
    for c in chunks(l4) {
        if matches!(
            c.ty,
            chunk::INIT | chunk::INIT_ACK | chunk::SHUTDOWN_COMPLETE
        ) {
            alone = true;
        }
        let first_only = matches!(c.ty, chunk::COOKIE_ACK | chunk::COOKIE_ECHO) || alone;
        if (first_only && count != 0) || c.len == 0 {
            return None;
        }
        map.set(c.ty);
        count += 1;
    }
    (count != 0).then_some(map)
}

/// `sctp_error`: the common header is whole and, when `verify` (at
/// PREROUTING with nf_conntrack_checksum on), the CRC32c is right.
pub fn packet_valid(l4: &[u8], verify: bool) -> bool {
    l4.len() >= COMMON_HEADER_LEN && (!verify || crc32c::sctp_checksum_ok(l4))
}

/// What the chunk walk of one packet came to: the state the last chunk
/// led to, whether the timeout stays as it is, whether the state became
/// ESTABLISHED.
#[derive(Debug, Clone, Copy)]
struct Walk {
    state: SctpState,
    ignore: bool,
    assured: bool,
}

/// What [`SctpTrack::packet`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SctpVerdict {
    Accept { timeout: Option<u32>, assured: bool },
    Invalid,
}

/// `struct ip_ct_sctp`: the state, each direction's verification tag,
/// which sides sent an INIT (for collisions), and the heartbeat
/// re-synchronisation flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SctpTrack {
    state: SctpState,
    /// `vtag[dir]`: the tag packets going in `dir` must carry.
    vtag: [u32; 2],
    /// `init[dir]`: an INIT went in `dir` (cleared by COOKIE_ACK).
    init: [bool; 2],
    /// `SCTP_FLAG_HEARTBEAT_VTAG_FAILED` and the direction it was set in
    /// (`last_dir`).
    heartbeat_vtag_failed: bool,
    last_dir: u8,
}

fn be32(l4: &[u8], at: usize) -> Option<u32> {
    let &[a, b, c, d] = l4.get(at..at + 4)? else {
        return None;
    };
    Some(u32::from_be_bytes([a, b, c, d]))
}

/// The initiate tag of an INIT or INIT_ACK chunk (`struct sctp_inithdr`,
/// 16 bytes after the chunk header); `None` when the packet ends first.
fn init_tag(l4: &[u8], c: &Chunk) -> Option<u32> {
    l4.get(c.offset + 4..c.offset + 20)?;
    be32(l4, c.offset + 4)
}

impl SctpTrack {
    pub fn state(&self) -> SctpState {
        self.state
    }

    /// `sctp_new`: sets the tags a new connection starts with from the
    /// chunks of its first packet; `false` when it cannot start one (a
    /// chunk that leads nowhere from NONE, e.g. DATA, or an INIT with a
    /// non-zero tag or cut short).
    fn start(&mut self, l4: &[u8], vtag: u32) -> bool {
        *self = SctpTrack::default();
        for c in chunks(l4) {
            match new_state(Dir::Original, SctpState::None, c.ty) {
                None | Some(SctpState::None) => return false,
                Some(_) => {}
            }
            match c.ty {
                chunk::INIT => {
                    // RFC 9260 8.5.1 (A): an INIT carries tag 0.
                    if vtag != 0 {
                        return false;
                    }
                    let Some(tag) = init_tag(l4, &c) else {
                        return false;
                    };
                    self.vtag[Dir::Reply.index()] = tag;
                }
                // A secondary path's conntrack (multi-homing).
                chunk::HEARTBEAT => self.vtag[Dir::Original.index()] = vtag,
                // Out of the blue (8.4 (5), (8)): the answer will carry
                // the tag this packet has.
                _ => self.vtag[Dir::Reply.index()] = vtag,
            }
            self.state = SctpState::None;
        }
        true
    }

    /// `nf_conntrack_sctp_packet` for a packet going in `dir`; `l4` is
    /// the SCTP packet (common header onwards). `confirmed`: the
    /// connection is in the table already (otherwise this is its first
    /// packet); `verify`: check the CRC32c (`sctp_error`).
    pub fn packet(
        &mut self,
        dir: Dir,
        l4: &[u8],
        confirmed: bool,
        verify: bool,
        settings: &SctpSettings,
    ) -> SctpVerdict {
        if !packet_valid(l4, verify) {
            return SctpVerdict::Invalid;
        }
        let Some(vtag) = be32(l4, 4) else {
            return SctpVerdict::Invalid;
        };
        let Some(map) = basic_checks(l4) else {
            return SctpVerdict::Invalid;
        };
        if !confirmed {
            // Out of the blue with these chunks: discard (8.4).
            if map.has(chunk::ABORT)
                || map.has(chunk::SHUTDOWN_COMPLETE)
                || map.has(chunk::COOKIE_ACK)
            {
                return SctpVerdict::Invalid;
            }
            if !self.start(l4, vtag) {
                return SctpVerdict::Invalid;
            }
        }
        let d = dir.index();
        // The verification tag (8.5), unless a chunk with rules of its
        // own is present.
        let special = [
            chunk::INIT,
            chunk::SHUTDOWN_COMPLETE,
            chunk::COOKIE_ECHO,
            chunk::ABORT,
            chunk::SHUTDOWN_ACK,
            chunk::HEARTBEAT,
            chunk::HEARTBEAT_ACK,
        ];
        if !special.iter().any(|&t| map.has(t)) && vtag != self.vtag[d] {
            return SctpVerdict::Invalid;
        }
        match self.walk(dir, l4, vtag, map, confirmed) {
            None => SctpVerdict::Invalid,
            Some(w) => SctpVerdict::Accept {
                // "allow but do not refresh timeout"
                timeout: if w.ignore {
                    None
                } else {
                    settings.timeouts.get(w.state.column()).copied()
                },
                assured: w.assured,
            },
        }
    }

    /// The chunk loop of `nf_conntrack_sctp_packet`: the special cases of
    /// the tag check (RFC 9260 8.5.1), the state each chunk leads to, the
    /// tags INIT and INIT_ACK announce. `None`: invalid; what earlier
    /// chunks changed stays then (the kernel's `goto out_unlock` undoes
    /// nothing).
    fn walk(
        &mut self,
        dir: Dir,
        l4: &[u8],
        vtag: u32,
        map: ChunkMap,
        confirmed: bool,
    ) -> Option<Walk> {
        let d = dir.index();
        let o = dir.other().index();
        let mut w = Walk {
            state: SctpState::None,
            ignore: false,
            assured: false,
        };
        for c in chunks(l4) {
            let ok = match c.ty {
                // (A) an INIT carries tag 0.
                chunk::INIT => vtag == 0,
                // (B), (C): the sender's own tag, or with the T bit the
                // peer's.
                chunk::ABORT | chunk::SHUTDOWN_COMPLETE => {
                    let own = c.flags & FLAG_T == 0;
                    vtag == if own { self.vtag[d] } else { self.vtag[o] }
                }
                // (D) the tag of the INIT_ACK.
                chunk::COOKIE_ECHO => vtag == self.vtag[d],
                chunk::COOKIE_ACK => {
                    self.init = [false, false];
                    true
                }
                chunk::HEARTBEAT => {
                    if self.vtag[d] == 0 {
                        self.vtag[d] = vtag;
                    } else if vtag != self.vtag[d] {
                        if map.has(chunk::DATA) || w.ignore {
                            return None;
                        }
                        // Perhaps the endpoints restarted with new tags:
                        // let it through, unrefreshed, and learn the tags
                        // from the answer.
                        self.heartbeat_vtag_failed = true;
                        self.last_dir = d as u8;
                        w.ignore = true;
                        continue;
                    } else {
                        self.heartbeat_vtag_failed = false;
                    }
                    true
                }
                chunk::HEARTBEAT_ACK => {
                    if self.vtag[d] == 0 {
                        self.vtag[d] = vtag;
                    } else if vtag != self.vtag[d] {
                        if map.has(chunk::DATA) || w.ignore {
                            return None;
                        }
                        if !self.heartbeat_vtag_failed || usize::from(self.last_dir) == d {
                            return None;
                        }
                        self.heartbeat_vtag_failed = false;
                        self.vtag[d] = vtag;
                        self.vtag[o] = 0;
                    } else {
                        self.heartbeat_vtag_failed = false;
                    }
                    true
                }
                _ => true,
            };
            if !ok {
                return None;
            }
            let old = self.state;
            let new = new_state(dir, old, c.ty)?;
            w.state = new;
            match c.ty {
                chunk::INIT => {
                    let tag = init_tag(l4, &c)?;
                    if self.init[d] && self.init[o] {
                        self.init[o] = false;
                    }
                    self.init[d] = true;
                    self.vtag[o] = tag;
                    // An INIT retransmission does not renew the timeout,
                    // so that a client or NAT reusing the port cannot
                    // keep the entry (and its NAT binding) alive forever.
                    if new == SctpState::Closed && old == SctpState::Closed && confirmed {
                        w.ignore = true;
                    }
                }
                chunk::INIT_ACK => {
                    let tag = init_tag(l4, &c)?;
                    let known = self.vtag[o];
                    if !self.init[o] && known != 0 && known != tag {
                        return None;
                    }
                    // An INIT collision: both sides sent an INIT; the
                    // INIT_ACK must carry the tag already learnt.
                    if self.init[d] && self.init[o] && known != tag {
                        return None;
                    }
                    self.vtag[o] = tag;
                }
                _ => {}
            }
            self.state = new;
            if old != new && new == SctpState::Established {
                w.assured = true;
            }
        }
        Some(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SCTP packet 5000 > 80 with tag `vtag` and these chunks (type,
    /// flags, value bytes), padded, with a right checksum.
    fn packet(vtag: u32, chunks: &[(u8, u8, &[u8])]) -> Vec<u8> {
        let mut p = vec![0x13, 0x88, 0x00, 0x50];
        p.extend_from_slice(&vtag.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        for (ty, flags, value) in chunks {
            p.extend_from_slice(&[*ty, *flags]);
            p.extend_from_slice(&((4 + value.len()) as u16).to_be_bytes());
            p.extend_from_slice(value);
            p.resize(p.len().next_multiple_of(4), 0);
        }
        crc32c::fill_sctp_checksum(&mut p);
        p
    }

    /// An INIT or INIT_ACK value: initiate tag, a_rwnd, streams, TSN.
    fn init_value(tag: u32) -> Vec<u8> {
        let mut v = tag.to_be_bytes().to_vec();
        v.extend_from_slice(&[0, 1, 0, 0, 0, 10, 0, 10, 0, 0, 0, 1]);
        v
    }

    fn step(t: &mut SctpTrack, dir: Dir, p: &[u8], confirmed: bool) -> SctpVerdict {
        t.packet(dir, p, confirmed, true, &SctpSettings::default())
    }

    fn accepted(timeout: u32, assured: bool) -> SctpVerdict {
        SctpVerdict::Accept {
            timeout: Some(timeout),
            assured,
        }
    }

    #[test]
    fn four_way_handshake_data_and_shutdown() {
        let mut t = SctpTrack::default();
        let (a, b) = (0x1111_1111, 0x2222_2222);
        let init = packet(0, &[(chunk::INIT, 0, &init_value(a))]);
        assert_eq!(
            step(&mut t, Dir::Original, &init, false),
            accepted(10, false)
        );
        assert_eq!(t.state(), SctpState::Closed);
        let init_ack = packet(a, &[(chunk::INIT_ACK, 0, &init_value(b))]);
        assert_eq!(
            step(&mut t, Dir::Reply, &init_ack, true),
            accepted(3, false)
        );
        assert_eq!(t.state(), SctpState::CookieWait);
        let echo = packet(b, &[(chunk::COOKIE_ECHO, 0, &[1, 2, 3, 4])]);
        assert_eq!(step(&mut t, Dir::Original, &echo, true), accepted(3, false));
        assert_eq!(t.state(), SctpState::CookieEchoed);
        let ack = packet(a, &[(chunk::COOKIE_ACK, 0, &[])]);
        assert_eq!(step(&mut t, Dir::Reply, &ack, true), accepted(210, true));
        let data = packet(b, &[(chunk::DATA, 3, &[0; 16])]);
        assert_eq!(
            step(&mut t, Dir::Original, &data, true),
            accepted(210, false)
        );
        // The other side's tag on a DATA chunk: INVALID, state kept.
        let wrong = packet(a, &[(chunk::DATA, 3, &[0; 16])]);
        assert_eq!(
            step(&mut t, Dir::Original, &wrong, true),
            SctpVerdict::Invalid
        );
        let shut = packet(b, &[(chunk::SHUTDOWN, 0, &[0, 0, 0, 1])]);
        assert_eq!(step(&mut t, Dir::Original, &shut, true), accepted(3, false));
        assert_eq!(t.state(), SctpState::ShutdownSent);
        let shut_ack = packet(a, &[(chunk::SHUTDOWN_ACK, 0, &[])]);
        assert_eq!(
            step(&mut t, Dir::Reply, &shut_ack, true),
            accepted(3, false)
        );
        assert_eq!(t.state(), SctpState::ShutdownAckSent);
        let complete = packet(b, &[(chunk::SHUTDOWN_COMPLETE, 0, &[])]);
        assert_eq!(
            step(&mut t, Dir::Original, &complete, true),
            accepted(10, false)
        );
        assert_eq!(t.state(), SctpState::Closed);
    }

    #[test]
    fn what_cannot_start_a_connection() {
        for p in [
            packet(0, &[(chunk::DATA, 0, &[0; 12])]),
            packet(5, &[(chunk::INIT, 0, &init_value(1))]),
            packet(0, &[(chunk::INIT, 0, &[0; 8])]),
            packet(5, &[(chunk::ABORT, 0, &[])]),
            packet(5, &[(chunk::COOKIE_ACK, 0, &[])]),
            packet(5, &[(chunk::SHUTDOWN_COMPLETE, 0, &[])]),
            packet(
                0,
                &[(chunk::INIT, 0, &init_value(1)), (chunk::DATA, 0, &[0; 12])],
            ),
            packet(
                5,
                &[(chunk::DATA, 0, &[0; 12]), (chunk::COOKIE_ECHO, 0, &[])],
            ),
            packet(5, &[]),
        ] {
            let mut t = SctpTrack::default();
            assert_eq!(
                step(&mut t, Dir::Original, &p, false),
                SctpVerdict::Invalid,
                "{p:02x?}"
            );
        }
        // A heartbeat starts a secondary path's connection.
        let mut t = SctpTrack::default();
        let hb = packet(9, &[(chunk::HEARTBEAT, 0, &[0, 1, 0, 4])]);
        assert_eq!(step(&mut t, Dir::Original, &hb, false), accepted(30, false));
        assert_eq!(t.state(), SctpState::HeartbeatSent);
        let hb_ack = packet(7, &[(chunk::HEARTBEAT_ACK, 0, &[0, 1, 0, 4])]);
        assert_eq!(step(&mut t, Dir::Reply, &hb_ack, true), accepted(210, true));
    }

    #[test]
    fn bad_checksum_only_when_verifying() {
        let mut p = packet(0, &[(chunk::INIT, 0, &init_value(1))]);
        p[8] ^= 1;
        let mut t = SctpTrack::default();
        assert_eq!(step(&mut t, Dir::Original, &p, false), SctpVerdict::Invalid);
        let v = t.packet(Dir::Original, &p, false, false, &SctpSettings::default());
        assert_eq!(v, accepted(10, false));
        assert!(!packet_valid(&p[..11], false));
    }

    #[test]
    fn init_retransmission_keeps_the_timeout() {
        let mut t = SctpTrack::default();
        let init = packet(0, &[(chunk::INIT, 0, &init_value(1))]);
        assert_eq!(
            step(&mut t, Dir::Original, &init, false),
            accepted(10, false)
        );
        let v = step(&mut t, Dir::Original, &init, true);
        assert_eq!(
            v,
            SctpVerdict::Accept {
                timeout: None,
                assured: false
            }
        );
    }

    #[test]
    fn abort_tag_rules() {
        let mut t = SctpTrack::default();
        let (a, b) = (0xa, 0xb);
        step(
            &mut t,
            Dir::Original,
            &packet(0, &[(chunk::INIT, 0, &init_value(a))]),
            false,
        );
        step(
            &mut t,
            Dir::Reply,
            &packet(a, &[(chunk::INIT_ACK, 0, &init_value(b))]),
            true,
        );
        // Reply-direction packets carry `a`; without T, the peer's tag `b`
        // is wrong, with T it is right.
        let mut u = t;
        assert_eq!(
            step(
                &mut u,
                Dir::Reply,
                &packet(b, &[(chunk::ABORT, 0, &[])]),
                true
            ),
            SctpVerdict::Invalid
        );
        assert_eq!(
            step(
                &mut u,
                Dir::Reply,
                &packet(b, &[(chunk::ABORT, FLAG_T, &[])]),
                true
            ),
            accepted(10, false)
        );
        assert_eq!(
            step(
                &mut t,
                Dir::Reply,
                &packet(a, &[(chunk::ABORT, 0, &[])]),
                true
            ),
            accepted(10, false)
        );
        assert_eq!(t.state(), SctpState::Closed);
    }

    #[test]
    fn init_collision_wants_the_known_tag() {
        let mut t = SctpTrack::default();
        let (a, b) = (0xa, 0xb);
        step(
            &mut t,
            Dir::Original,
            &packet(0, &[(chunk::INIT, 0, &init_value(a))]),
            false,
        );
        // The other side sent its own INIT at the same time (CLOSED to
        // CLOSED on a confirmed connection: not refreshed).
        assert_eq!(
            step(
                &mut t,
                Dir::Reply,
                &packet(0, &[(chunk::INIT, 0, &init_value(b))]),
                true
            ),
            SctpVerdict::Accept {
                timeout: None,
                assured: false
            }
        );
        // Each answers with an INIT_ACK; the one to the original side must
        // carry the tag of the reply side's INIT.
        let mut u = t;
        assert_eq!(
            step(
                &mut u,
                Dir::Reply,
                &packet(a, &[(chunk::INIT_ACK, 0, &init_value(0xc))]),
                true
            ),
            SctpVerdict::Invalid
        );
        assert_eq!(
            step(
                &mut t,
                Dir::Reply,
                &packet(a, &[(chunk::INIT_ACK, 0, &init_value(b))]),
                true
            ),
            accepted(3, false)
        );
    }
}
