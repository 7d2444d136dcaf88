//! `-m comment --comment TEXT` (extensions/libxt_comment.c; kernel
//! net/netfilter/xt_comment.c, which matches every packet).

use std::any::Any;

use super::util::save_string;
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::Result;

/// include/uapi/linux/netfilter/xt_comment.h `XT_MAX_COMMENT_LEN`: the
/// text keeps at most 255 bytes (xtoptions.c `xtopt_parse_string`
/// truncates longer ones silently).
pub const MAX_COMMENT_LEN: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Comment {
    pub comment: String,
    given: bool,
}

impl Comment {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Comment::default())
    }
}

/// `text` cut to at most `MAX_COMMENT_LEN - 1` bytes. iptables cuts at a
/// byte; this cuts at the last whole character within the limit.
fn truncate(text: &str) -> String {
    let mut end = text.len().min(MAX_COMMENT_LEN - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_string()
}

static OPTIONS: &[OptDef] = &[OptDef::value("comment")];

impl Extension for Comment {
    fn name(&self) -> &'static str {
        "comment"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        self.comment = truncate(call.arg());
        self.given = true;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if !self.given {
            return Err(super::must_be_specified("comment", "comment"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --comment ");
        save_string(out, &self.comment);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(" /* {} */", self.comment));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(text: &str) -> Comment {
        Comment {
            comment: truncate(text),
            given: true,
        }
    }

    #[test]
    fn save_and_print() {
        let mut s = String::new();
        with("foo").save(&mut s);
        assert_eq!(s, " --comment foo");
        let mut s = String::new();
        with("a b\"c'd\\e").save(&mut s);
        assert_eq!(s, r#" --comment "a b\"c\'d\\e""#);
        let mut s = String::new();
        with("a b").print(&mut s, true);
        assert_eq!(s, " /* a b */");
    }

    #[test]
    fn long_comments_are_cut() {
        assert_eq!(with(&"x".repeat(300)).comment.len(), 255);
        assert_eq!(with(&"x".repeat(255)).comment.len(), 255);
        assert_eq!(with(&"ä".repeat(200)).comment.len(), 254);
    }

    #[test]
    fn mandatory() {
        assert!(Comment::default().finish(&RuleCtx::default()).is_err());
    }
}
