//! `-m sctp` (net/netfilter/xt_sctp.c `sctp_mt`): ports and chunk types.
//! iptables-nft 1.8.9 keeps it an xt match. A later fragment never
//! matches; a packet too short for the 12-byte common header, or whose
//! chunk walk meets a header that is cut off or of length zero, is
//! dropped (hotdrop) when the chunk types are to be looked at.

use palisade_rules::ext::sctp::{ChunkMatch, Chunks, Sctp};
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, port_in, HookCtx, PacketMatch};
use crate::conntrack::sctp::COMMON_HEADER_LEN;

#[derive(Debug)]
struct SctpMatch(Sctp);

/// `match_flags`: the first flag entry for this chunk type decides;
/// none, any flags do. The entries name chunks as libxt_sctp.c stores
/// them (see `FlagInfo`), which the kernel compares with the type.
fn flags_match(c: &Chunks, ty: u8, flags: u8) -> bool {
    match c.flags.iter().find(|f| f.chunk == ty) {
        Some(f) => flags & f.mask == f.flag,
        None => true,
    }
}

/// `match_packet`: walks the chunks from after the common header
/// (`SCTP_PAD4(length)` apart, while one starts before the end of the
/// packet) and tests them against the chunk map. `None`: hotdrop.
fn chunks_match(c: &Chunks, l4: &[u8]) -> Option<bool> {
    // The chunk types still to be seen for ALL (`chunkmapcopy`).
    let mut missing = c.map;
    let mut offset = COMMON_HEADER_LEN;
    loop {
        let &[ty, flags, l0, l1] = l4.get(offset..offset + 4)? else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        if len == 0 {
            return None;
        }
        offset += (len + 3) & !3;
        if c.contains(ty) {
            match c.kind {
                ChunkMatch::Any => {
                    if flags_match(c, ty, flags) {
                        return Some(true);
                    }
                }
                ChunkMatch::All => {
                    if flags_match(c, ty, flags) {
                        missing[usize::from(ty / 32)] &= !(1 << (ty % 32));
                    }
                }
                ChunkMatch::Only => {
                    if !flags_match(c, ty, flags) {
                        return Some(false);
                    }
                }
            }
        } else if c.kind == ChunkMatch::Only {
            return Some(false);
        }
        if offset >= l4.len() {
            break;
        }
    }
    Some(match c.kind {
        ChunkMatch::All => missing == [0; 8],
        ChunkMatch::Any => false,
        ChunkMatch::Only => true,
    })
}

impl PacketMatch for SctpMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        if cx.summary.frag_offset != 0 {
            return false;
        }
        let l4 = cx.l4();
        if l4.len() < COMMON_HEADER_LEN {
            cx.hotdrop = true;
            return false;
        }
        let sport = u16::from_be_bytes([l4[0], l4[1]]);
        let dport = u16::from_be_bytes([l4[2], l4[3]]);
        let m = &self.0;
        // SCCHECK: an option not given passes; the tests run in order and
        // stop at the first that fails, so a later hotdrop needs the
        // ports to have passed.
        if let Some((range, invert)) = m.sport {
            if !port_in(range, invert, sport) {
                return false;
            }
        }
        if let Some((range, invert)) = m.dport {
            if !port_in(range, invert, dport) {
                return false;
            }
        }
        let Some(chunks) = &m.chunks else {
            return true;
        };
        match chunks_match(chunks, l4) {
            Some(hit) => hit != chunks.invert,
            None => {
                cx.hotdrop = true;
                // `match_packet` returned false; an inverted test turns
                // that into true, but the packet is dropped anyway.
                chunks.invert
            }
        }
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    Some(Box::new(SctpMatch(downcast::<Sctp>(ext)?.clone())))
}
