//! `-m tcp`. iptables-nft 1.8.9 (`add_nft_tcp`) turns ports and flags
//! into native payload loads and comparisons; `--tcp-option`, or a match
//! that restricts nothing at all (`tcp_all_zero`), stays the xt match
//! (xt_tcpudp.c tcp_mt), which drops malformed packets (hotdrop).

use palisade_rules::ext::tcp::Tcp;
use palisade_rules::ext::Extension;
use palisade_rules::model::Rule;

use super::{downcast, port_in, HookCtx, PacketMatch};
use crate::wire::transport::L4;

/// The native form (`add_nft_tcpflags` + `add_nft_tcpudp`).
#[derive(Debug)]
struct NativeTcp {
    flags: Option<(u8, u8, bool)>,
    ports: NativePorts,
}

/// The xt form.
#[derive(Debug)]
struct XtTcp(Tcp);

/// The port tests `add_nft_tcpudp` emits, as payload loads at the
/// transport header.
#[derive(Debug, Clone, Copy)]
pub(crate) enum NativePorts {
    /// Both ports single, non-zero and inverted alike: one 4-byte load,
    /// compared equal (or, inverted, unequal) to the pair.
    Combined {
        sport: u16,
        dport: u16,
        invert: bool,
    },
    /// Each of source and destination, when restricted, by itself.
    Separate {
        sport: Option<((u16, u16), bool)>,
        dport: Option<((u16, u16), bool)>,
    },
}

impl NativePorts {
    pub(crate) fn new(sport: (u16, u16), sinv: bool, dport: (u16, u16), dinv: bool) -> Self {
        if sport.0 != 0 && sport.0 == sport.1 && dport.0 != 0 && dport.0 == dport.1 && sinv == dinv
        {
            return NativePorts::Combined {
                sport: sport.0,
                dport: dport.0,
                invert: sinv,
            };
        }
        // A range of 0:65535 emits no test, inverted or not.
        let given = |r: (u16, u16)| r.0 != 0 || r.1 < 0xffff;
        NativePorts::Separate {
            sport: given(sport).then_some((sport, sinv)),
            dport: given(dport).then_some((dport, dinv)),
        }
    }

    /// Evaluates the loads on the transport bytes `l4` (whatever follows
    /// the IP header, also of a later fragment: `nft_payload_fast_eval`
    /// reads at the transport offset without looking at the fragment
    /// offset; a load past the end fails the rule, NFT_BREAK).
    pub(crate) fn matches(&self, l4: &[u8]) -> bool {
        let be16 = |at: usize| l4.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        match *self {
            NativePorts::Combined {
                sport,
                dport,
                invert,
            } => match (be16(0), be16(2)) {
                (Some(s), Some(d)) => ((s, d) == (sport, dport)) != invert,
                _ => false,
            },
            NativePorts::Separate { sport, dport } => {
                let test = |t: Option<((u16, u16), bool)>, at: usize| match t {
                    None => true,
                    Some((range, inv)) => be16(at).is_some_and(|p| port_in(range, inv, p)),
                };
                test(sport, 0) && test(dport, 2)
            }
        }
    }
}

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

impl PacketMatch for NativeTcp {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let l4 = cx.l4();
        if let Some((mask, cmp, invert)) = self.flags {
            // add_nft_tcpflags: a 1-byte load at offset 13.
            match l4.get(13) {
                Some(f) if ((f & mask) == cmp) != invert => {}
                _ => return false,
            }
        }
        self.ports.matches(l4)
    }
}

impl PacketMatch for XtTcp {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool {
        let t = &self.0;
        if cx.summary.frag_offset != 0 {
            // tcp_mt: an offset-1 fragment is an attack on the flags.
            if cx.summary.frag_offset == 8 {
                cx.hotdrop = true;
            }
            return false;
        }
        let L4::Tcp(h) = cx.summary.l4 else {
            cx.hotdrop = true;
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
    let t = downcast::<Tcp>(ext)?;
    let all_zero = t.sport == (0, 0xffff)
        && t.dport == (0, 0xffff)
        && !t.sport_invert
        && !t.dport_invert
        && t.flags_mask == 0
        && t.flags_cmp == 0
        && !t.flags_invert
        && t.option == 0
        && !t.option_invert;
    if t.option != 0 || t.option_invert || all_zero {
        return Some(Box::new(XtTcp(t.clone())));
    }
    Some(Box::new(NativeTcp {
        flags: (t.flags_mask != 0).then_some((t.flags_mask, t.flags_cmp, t.flags_invert)),
        ports: NativePorts::new(t.sport, t.sport_invert, t.dport, t.dport_invert),
    }))
}
