//! `-m connmark --mark VALUE[/MASK]`: the connection's mark
//! (extensions/libxt_connmark.c, revision 1; kernel
//! net/netfilter/xt_connmark.c, which only takes a conntrack reference
//! in its check). Parsing and saving are shared with the mark match
//! ([`MarkMatch`]).

use super::util::{MarkKind, MarkMatch};

/// The connection's mark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnMark;

impl MarkKind for ConnMark {
    const NAME: &'static str = "connmark";

    // libxt_connmark.c connmark_mt_print: "match " then the value, which
    // brings its own space.
    fn print_head(out: &mut String, invert: bool) {
        out.push_str(" connmark match ");
        if invert {
            out.push('!');
        }
    }
}

/// `-m connmark`: matches when `ct mark & mask == mark` (xor `invert`).
pub type Connmark = MarkMatch<ConnMark>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;
    use crate::ext::Extension;
    use crate::ext::RuleCtx;

    fn rule(words: &str) -> crate::error::Result<Connmark> {
        testing::first_match(&testing::words(&format!("-A INPUT -m connmark {words}")))
    }

    #[test]
    fn save_print_finish() {
        let m = rule("! --mark 0/0").unwrap();
        assert_eq!(
            testing::texts(&m, true),
            (
                " ! --mark 0x0/0x0".into(),
                " connmark match ! 0x0/0x0".into()
            )
        );
        let m = rule("--mark 0x10").unwrap();
        assert_eq!(testing::texts(&m, false).1, " connmark match  0x10");
        assert!(Connmark::default().finish(&RuleCtx::default()).is_err());
        assert_eq!(
            rule("").unwrap_err().to_string(),
            "connmark: option \"--mark\" must be specified\n"
        );
    }
}
