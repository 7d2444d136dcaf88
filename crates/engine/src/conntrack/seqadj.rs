//! TCP sequence adjustment after a NAT helper changed the length of a
//! segment's payload (net/netfilter/nf_conntrack_seqadj.c): every later
//! segment of that direction has its sequence number moved by the bytes
//! added so far, and every segment of the other direction its
//! acknowledgement (and SACK blocks) moved back.

use crate::wire::checksum;

/// TCPOPT_EOL, TCPOPT_NOP, TCPOPT_SACK and TCPOLEN_SACK_PERBLOCK.
const OPT_EOL: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_SACK: u8 = 5;
const SACK_PERBLOCK: usize = 8;

/// `struct nf_ct_seqadj`: one direction's offsets. Sequence numbers after
/// `correction_pos` move by `offset_after`, those up to it by
/// `offset_before`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqAdj {
    pub correction_pos: u32,
    pub offset_before: i32,
    pub offset_after: i32,
}

fn after(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}

fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl SeqAdj {
    /// `nf_ct_seq_offset`: the offset of sequence number `seq`.
    pub fn offset(&self, seq: u32) -> i32 {
        if after(seq, self.correction_pos) {
            self.offset_after
        } else {
            self.offset_before
        }
    }

    /// `nf_ct_seqadj_set`: the segment at `seq` grew by `off` bytes. A
    /// correction only moves forward: a retransmission of an older
    /// segment changes nothing once offsets differ.
    pub fn set(&mut self, seq: u32, off: i32) {
        if off == 0 {
            return;
        }
        if self.offset_before == self.offset_after || before(self.correction_pos, seq) {
            self.correction_pos = seq;
            self.offset_before = self.offset_after;
            self.offset_after = self.offset_after.wrapping_add(off);
        }
    }
}

fn read32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Rewrites the 32-bit field at `at` of the TCP segment `tcp` and updates
/// its checksum (`inet_proto_csum_replace4` with `pseudohdr` false).
fn replace32(tcp: &mut [u8], at: usize, new: u32) {
    let old = read32(tcp, at);
    tcp[at..at + 4].copy_from_slice(&new.to_be_bytes());
    let cur = u16::from_be_bytes([tcp[16], tcp[17]]);
    let c = checksum::update32(cur, old.to_be_bytes(), new.to_be_bytes());
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
}

/// `nf_ct_seq_adjust`: moves the sequence number of the TCP segment `tcp`
/// (header onwards) by `this_way`, its acknowledgement back by
/// `other_way`, and the SACK blocks it carries with it. `false`: the
/// options are malformed (`nf_ct_sack_adjust` fails; the packet is
/// dropped).
pub fn adjust(tcp: &mut [u8], this_way: &SeqAdj, other_way: &SeqAdj) -> bool {
    if tcp.len() < 20 {
        return false;
    }
    let seq = read32(tcp, 4);
    replace32(tcp, 4, seq.wrapping_add(this_way.offset(seq) as u32));
    if tcp[13] & 0x10 == 0 {
        return true;
    }
    let ack = read32(tcp, 8);
    let ackoff = if after(
        ack.wrapping_sub(other_way.offset_before as u32),
        other_way.correction_pos,
    ) {
        other_way.offset_after
    } else {
        other_way.offset_before
    };
    replace32(tcp, 8, ack.wrapping_sub(ackoff as u32));
    sack_adjust(tcp, other_way)
}

/// `nf_ct_sack_adjust`: walks the options; SACK blocks move back by the
/// other direction's offsets.
fn sack_adjust(tcp: &mut [u8], other_way: &SeqAdj) -> bool {
    let optend = (usize::from(tcp[12] >> 4) * 4).min(tcp.len());
    let mut off = 20;
    while off < optend {
        match tcp[off] {
            OPT_EOL => return true,
            OPT_NOP => off += 1,
            kind => {
                // No partial options.
                if off + 1 == optend {
                    return false;
                }
                let len = usize::from(tcp[off + 1]);
                if off + len > optend || len < 2 {
                    return false;
                }
                if kind == OPT_SACK && len >= 2 + SACK_PERBLOCK && (len - 2) % SACK_PERBLOCK == 0 {
                    sack_block_adjust(tcp, off + 2, off + len, other_way);
                }
                off += len;
            }
        }
    }
    true
}

/// `nf_ct_sack_block_adjust`.
fn sack_block_adjust(tcp: &mut [u8], mut at: usize, end: usize, seq: &SeqAdj) {
    let moved = |v: u32| {
        let off = if after(v.wrapping_sub(seq.offset_before as u32), seq.correction_pos) {
            seq.offset_after
        } else {
            seq.offset_before
        };
        v.wrapping_sub(off as u32)
    };
    while at < end {
        let start = read32(tcp, at);
        let stop = read32(tcp, at + 4);
        replace32(tcp, at, moved(start));
        replace32(tcp, at + 4, moved(stop));
        at += SACK_PERBLOCK;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_move_forward_only() {
        let mut s = SeqAdj::default();
        s.set(1009, 4);
        assert_eq!((s.offset(1009), s.offset(1010)), (0, 4));
        // An older segment (a retransmission) does not move the position.
        s.set(1000, 2);
        assert_eq!(
            s,
            SeqAdj {
                correction_pos: 1009,
                offset_before: 0,
                offset_after: 4
            }
        );
        s.set(2000, -1);
        assert_eq!(
            s,
            SeqAdj {
                correction_pos: 2000,
                offset_before: 4,
                offset_after: 3
            }
        );
        // Across the 32-bit wrap.
        let mut w = SeqAdj::default();
        w.set(0xffff_fff0, 4);
        assert_eq!(w.offset(5), 4);
    }

    fn segment(seq: u32, ack: u32, opts: &[u8]) -> Vec<u8> {
        let hl = 20 + opts.len();
        let mut t = vec![0u8; hl];
        t[4..8].copy_from_slice(&seq.to_be_bytes());
        t[8..12].copy_from_slice(&ack.to_be_bytes());
        t[12] = ((hl / 4) as u8) << 4;
        t[13] = 0x10;
        t[20..].copy_from_slice(opts);
        t
    }

    #[test]
    fn adjusts_seq_ack_and_sack_keeping_the_checksum() {
        let sack = [1, 1, 5, 10, 0, 0, 0x03, 0xf0, 0, 0, 0x03, 0xf8];
        let mut t = segment(5015, 1035, &sack);
        // Checksum over the bytes as a stand-in for a real one.
        let c = checksum::of(&t);
        t[16..18].copy_from_slice(&c.to_be_bytes());
        let this = SeqAdj::default();
        let other = SeqAdj {
            correction_pos: 1009,
            offset_before: 0,
            offset_after: 4,
        };
        assert!(adjust(&mut t, &this, &other));
        assert_eq!((read32(&t, 4), read32(&t, 8)), (5015, 1031));
        assert_eq!((read32(&t, 24), read32(&t, 28)), (1008, 1012));
        assert_eq!(checksum::of(&t), 0);
        // A partial option fails.
        let mut bad = segment(1, 2, &[1, 1, 1, 5]);
        assert!(!adjust(&mut bad, &this, &other));
    }
}
