//! `-m mark --mark VALUE[/MASK]`: the packet mark (extensions/libxt_mark.c,
//! revision 1; kernel net/netfilter/xt_mark.c). iptables-nft turns it into
//! a native `meta mark` comparison (iptables/nft.c `add_nft_mark`), which
//! reads back as the same value and mask. Parsing and saving are shared
//! with the connmark match ([`MarkMatch`]).

use super::util::{MarkKind, MarkMatch};

/// The packet's mark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketMark;

impl MarkKind for PacketMark {
    const NAME: &'static str = "mark";

    // libxt_mark.c mark_mt_print.
    fn print_head(out: &mut String, invert: bool) {
        out.push_str(" mark match");
        if invert {
            out.push_str(" !");
        }
    }
}

/// `-m mark`: matches when `packet mark & mask == mark` (xor `invert`).
pub type Mark = MarkMatch<PacketMark>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;
    use crate::ext::Extension;
    use crate::ext::RuleCtx;

    fn rule(words: &str) -> crate::error::Result<Mark> {
        testing::first_match(&testing::words(&format!("-A INPUT -m mark {words}")))
    }

    #[test]
    fn save_print_finish() {
        let m = rule("! --mark 0xff/0xf").unwrap();
        assert_eq!((m.mark, m.mask, m.invert), (0xff, 0xf, true));
        assert_eq!(
            testing::texts(&m, true),
            (" ! --mark 0xff/0xf".into(), " mark match ! 0xff/0xf".into())
        );
        let m = rule("--mark 1").unwrap();
        assert_eq!(
            testing::texts(&m, true),
            (" --mark 0x1".into(), " mark match 0x1".into())
        );
        assert!(Mark::default().finish(&RuleCtx::default()).is_err());
        assert_eq!(
            rule("").unwrap_err().to_string(),
            "mark: option \"--mark\" must be specified\n"
        );
    }
}
