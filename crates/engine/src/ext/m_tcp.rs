//! `-m tcp`. iptables-nft turns ports and flags into native payload
//! comparisons, which simply fail on a fragment or a short header
//! (nft_payload_eval breaks); `--tcp-option` stays the xt match
//! (xt_tcpudp.c tcp_mt), which drops such packets (hotdrop).

use palisade_rules::ext::tcp::Tcp;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, port_in, HookCtx, PacketMatch};
use crate::wire::transport::L4;

#[derive(Debug)]
struct TcpMatch(Tcp);

/// `tcp_find_option`: walks the options for `kind`.
fn has_option(opts: &[u8], kind: u8) -> bool {
    let mut i = 0;
    while i < opts.len() {
        if opts[i] == kind {
            return true;
        }
        // xt_tcpudp.c: EOL and NOP are one byte, others carry a length.
        if opts[i] < 2 {
            i += 1;
        } else {
            let len = opts.get(i + 1).copied().unwrap_or(0);
            i += usize::from(len.max(1));
        }
    }
    false
}

impl PacketMatch for TcpMatch {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let t = &self.0;
        if cx.summary.frag_offset != 0 {
            // tcp_mt: an offset-1 fragment is an attack on the flags.
            if t.option != 0 && cx.summary.frag_offset == 8 {
                cx.hotdrop = true;
            }
            return false;
        }
        let L4::Tcp(h) = cx.summary.l4 else {
            if t.option != 0 {
                cx.hotdrop = true;
            }
            return false;
        };
        if !port_in(t.sport, t.sport_invert, h.sport) || !port_in(t.dport, t.dport_invert, h.dport)
        {
            return false;
        }
        if ((h.flags & t.flags_mask) == t.flags_cmp) == t.flags_invert {
            return false;
        }
        if t.option != 0 {
            let hl = usize::from(h.header_len);
            if hl < 20 || hl > cx.l4().len() {
                cx.hotdrop = true;
                return false;
            }
            if has_option(&cx.l4()[20..hl], t.option) == t.option_invert {
                return false;
            }
        }
        true
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule) -> Option<Box<dyn PacketMatch>> {
    Some(Box::new(TcpMatch(downcast::<Tcp>(ext)?.clone())))
}
