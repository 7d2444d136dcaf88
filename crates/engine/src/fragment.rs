//! Output fragmentation (`ip_do_fragment`, net/ipv4/ip_output.c), and
//! the MTU tests around it: `ip_exceeds_mtu` (ip_forward.c) and
//! `ip_fragment`'s DF check.
//!
//! A datagram nf_defrag_ipv4 reassembled carries `frag_max_size`
//! (`Reassembled`), and `__ip_finish_output` refragments it even when it
//! would fit: along the fragments it came in (the `frag_list` fast path,
//! which clears DF) when they fit the MTU and the size of the largest,
//! else cut anew to that size (the slow path, which keeps DF for a
//! datagram whose largest fragment had it).

use crate::defrag::{Layout, Reassembled};
use crate::engine::Outputs;
use crate::env::Env;
use crate::topology::IfIndex;
use crate::wire::ipv4::{Ipv4Read, Ipv4Write};

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;

/// `LL_RESERVED_SPACE` of every device here (TUN and loopback: no
/// link-layer header to speak of, rounded up to HH_DATA_MOD).
const LL_RESERVED: usize = 16;
/// Headroom of a received fragment's data: TUN allocates NET_SKB_PAD
/// (64) + NET_IP_ALIGN (0) in front of the IP header (tun_get_user).
const RX_HEADROOM: usize = 64;
/// Headroom of a raw socket's skb: LL_RESERVED_SPACE of the way out
/// (raw_send_hdrinc).
const TX_HEADROOM: usize = LL_RESERVED;

/// `ip_exceeds_mtu`: whether `ip_forward` refuses the datagram with
/// "fragmentation needed". A reassembled datagram (`ignore_df`) passes
/// unless one of its fragments was already larger than the MTU.
pub fn exceeds_mtu(pkt: &[u8], mtu: usize, reasm: Option<&Reassembled>) -> bool {
    if pkt.len() <= mtu || !pkt.dont_fragment() {
        return false;
    }
    match reasm {
        Some(r) => usize::from(r.max_size) > mtu,
        None => true,
    }
}

/// `ip_fragment`'s DF test on the way out: with DF, only a reassembled
/// datagram whose fragments all fit may be fragmented.
pub fn df_forbids(pkt: &[u8], mtu: usize, reasm: Option<&Reassembled>) -> bool {
    pkt.dont_fragment()
        && match reasm {
            Some(r) => usize::from(r.max_size) > mtu,
            None => true,
        }
}

/// `ip_do_fragment`: `pkt` in pieces that fit `mtu` (and, reassembled,
/// the size of its largest fragment), appended to `out` for `dev`.
pub fn fragment(
    env: &mut Env,
    pkt: &[u8],
    mtu: usize,
    reasm: Option<(&Reassembled, &Layout)>,
    dev: IfIndex,
    out: &mut Outputs,
) {
    let Some((r, layout)) = reasm else {
        // ip_options_fragment works on the first fragment of a whole
        // datagram; a later fragment's options were fixed already.
        let fix = pkt.frag_offset() == 0;
        return slow_path(env, pkt, mtu, false, fix, dev, out);
    };
    let mtu = mtu.min(usize::from(r.max_size));
    // Options compiled on receipt (IPCB opt.optlen) are fixed for the
    // fragments after the first; a local sender's never were.
    let fix = !r.local;
    if fits_frag_list(pkt, mtu, r, layout) {
        frag_list(env, pkt, layout, fix, dev, out);
    } else {
        slow_path(env, pkt, mtu, r.pmtu, fix, dev, out);
    }
}

/// `ip_do_fragment`'s validity check of the `frag_list`: every fragment
/// fits the data space, all but the last hold multiples of 8 bytes, and
/// each has headroom for the header it is to get.
fn fits_frag_list(pkt: &[u8], mtu: usize, r: &Reassembled, layout: &Layout) -> bool {
    let hlen = pkt.header_len();
    let Some(room) = mtu.checked_sub(hlen) else {
        return false;
    };
    let Some((&(first, _), rest)) = layout.pieces.split_first() else {
        return false;
    };
    let total: usize = layout.pieces.iter().map(|p| usize::from(p.0)).sum();
    if layout.pulled || hlen + total != pkt.len() {
        return false;
    }
    let first = usize::from(first);
    if first > room || first & 7 != 0 {
        return false;
    }
    let base = if r.local { TX_HEADROOM } else { RX_HEADROOM };
    let last = rest.len().saturating_sub(1);
    rest.iter().enumerate().all(|(i, &(len, ihl))| {
        let len = usize::from(len);
        len <= room && (len & 7 == 0 || i == last) && base + usize::from(ihl) >= hlen + LL_RESERVED
    })
}

/// The fast path (`ip_fraglist_init`, `ip_fraglist_prepare`): one
/// fragment per piece, each header a copy of the one before (options
/// fixed once, after the first), DF cleared, MF on all but the last.
fn frag_list(
    env: &mut Env,
    pkt: &[u8],
    layout: &Layout,
    fix: bool,
    dev: IfIndex,
    out: &mut Outputs,
) {
    let hlen = pkt.header_len();
    let mut header = [0u8; 60];
    header[..hlen].copy_from_slice(&pkt[..hlen]);
    let (mut ptr, mut offset) = (hlen, 0usize);
    let n = layout.pieces.len();
    for (i, &(len, _)) in layout.pieces.iter().enumerate() {
        let len = usize::from(len);
        let mut f = env.buffer();
        f.extend_from_slice(&header[..hlen]);
        f.extend_from_slice(&pkt[ptr..ptr + len]);
        let mut field = (offset >> 3) as u16 & 0x1fff;
        if i + 1 < n {
            field |= FLAG_MF;
        }
        f[2..4].copy_from_slice(&((hlen + len) as u16).to_be_bytes());
        f[6..8].copy_from_slice(&field.to_be_bytes());
        f.fill_checksum();
        out.packets.push((dev, f));
        if i == 0 && fix {
            fragment_options(&mut header[20..hlen]);
        }
        ptr += len;
        offset += len;
    }
}

/// The slow path (`ip_frag_init`, `ip_frag_next`): pieces of at most
/// `mtu` bytes with the data in multiples of 8 but the last, MF on all
/// but the last (unless the packet was a non-final fragment already), DF
/// as `df` says (IPSKB_FRAG_PMTU).
fn slow_path(
    env: &mut Env,
    pkt: &[u8],
    mtu: usize,
    df: bool,
    fix: bool,
    dev: IfIndex,
    out: &mut Outputs,
) {
    let hlen = pkt.header_len();
    let Some(room) = mtu.checked_sub(hlen).filter(|r| *r >= 8) else {
        return;
    };
    let mut later_header = [0u8; 60];
    later_header[..hlen].copy_from_slice(&pkt[..hlen]);
    if fix {
        fragment_options(&mut later_header[20..hlen]);
    }
    let not_last = pkt.more_fragments();
    let mut offset = pkt.frag_offset();
    let mut ptr = hlen;
    let mut left = pkt.len() - hlen;
    while left > 0 {
        let mut len = left.min(room);
        if len < left {
            len &= !7;
        }
        let mut f = env.buffer();
        if ptr == hlen {
            f.extend_from_slice(&pkt[..hlen]);
        } else {
            f.extend_from_slice(&later_header[..hlen]);
        }
        f.extend_from_slice(&pkt[ptr..ptr + len]);
        left -= len;
        ptr += len;
        let mut field = (offset >> 3) as u16 & 0x1fff;
        if df {
            field |= FLAG_DF;
        }
        if left > 0 || not_last {
            field |= FLAG_MF;
        }
        offset += len;
        f[2..4].copy_from_slice(&((hlen + len) as u16).to_be_bytes());
        f[6..8].copy_from_slice(&field.to_be_bytes());
        f.fill_checksum();
        out.packets.push((dev, f));
    }
}

/// `ip_options_fragment`: the options of the fragments after the first,
/// where each option whose copied bit is clear becomes NOPs.
pub fn fragment_options(opts: &mut [u8]) {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => return,
            1 => i += 1,
            kind => {
                let len = usize::from(opts.get(i + 1).copied().unwrap_or(0));
                if len < 2 || len > opts.len() - i {
                    return;
                }
                if kind & 0x80 == 0 {
                    opts[i..i + len].fill(1);
                }
                i += len;
            }
        }
    }
}
