//! `-j NFLOG`: logs the packet through nfnetlink_log
//! (extensions/libxt_NFLOG.c). iptables-nft does not use the xt target:
//! it writes a native nftables `log` expression (iptables/nft.c
//! `add_log`) and reads it back (nft-shared.c `nft_parse_log`). So the
//! prefix is kept up to 127 bytes (NF_LOG_PREFIXLEN, not the xt struct's
//! 64), `--nflog-range` (no snaplen) is lost, and no table or hook limit
//! applies.

use std::any::Any;

use super::util::{parse_opt_uint, save_string, truncate_bytes, xt_fcheck, XtOpt};
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};

/// linux/netfilter/nf_log.h `NF_LOG_PREFIXLEN`, NUL included.
const NF_LOG_PREFIXLEN: usize = 128;

/// Option ids as libxt_NFLOG.c numbers them.
const O_GROUP: u32 = 0;
const O_PREFIX: u32 = 1;
const O_RANGE: u32 = 2;
const O_SIZE: u32 = 3;
const O_THRESHOLD: u32 = 4;

/// libxt_NFLOG.c `NFLOG_opts`, in table order.
const EXCL: &[XtOpt] = &[
    XtOpt::new(O_GROUP, "nflog-group"),
    XtOpt::new(O_PREFIX, "nflog-prefix"),
    XtOpt::new(O_RANGE, "nflog-range").excl(1 << O_SIZE),
    XtOpt::new(O_SIZE, "nflog-size").excl(1 << O_RANGE),
    XtOpt::new(O_THRESHOLD, "nflog-threshold"),
];

static OPTIONS: &[OptDef] = &[
    OptDef::value("nflog-group"),
    OptDef::value("nflog-prefix"),
    OptDef::value("nflog-range"),
    OptDef::value("nflog-size"),
    OptDef::value("nflog-threshold"),
];

/// What the nft `log` expression holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nflog {
    pub group: u16,
    /// Empty for none.
    pub prefix: String,
    /// Bytes of the packet to copy (`--nflog-size`), all when `None`.
    pub size: Option<u32>,
    /// `--nflog-range`: parsed, then dropped by iptables-nft.
    pub range: u32,
    /// Queue threshold, 0 for the default (`XT_NFLOG_DEFAULT_THRESHOLD`).
    pub threshold: u16,
    given: u32,
}

impl Nflog {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Nflog::default())
    }

    /// libxt_NFLOG.c `nflog_print`, with `dash` before each option name.
    fn write(&self, out: &mut String, dash: &str) {
        if !self.prefix.is_empty() {
            out.push_str(&format!(" {dash}nflog-prefix "));
            save_string(out, &self.prefix);
        }
        if self.group != 0 {
            out.push_str(&format!(" {dash}nflog-group {}", self.group));
        }
        if let Some(size) = self.size {
            out.push_str(&format!(" {dash}nflog-size {size}"));
        }
        if self.threshold != 0 {
            out.push_str(&format!(" {dash}nflog-threshold {}", self.threshold));
        }
    }
}

impl Extension for Nflog {
    fn name(&self) -> &'static str {
        "NFLOG"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        let arg = call.arg();
        let (id, max) = match call.name {
            "nflog-group" => (O_GROUP, 65535),
            "nflog-prefix" => (O_PREFIX, 0),
            "nflog-range" => (O_RANGE, 0xffff_ffff),
            "nflog-size" => (O_SIZE, 0xffff_ffff),
            _ => (O_THRESHOLD, 65535),
        };
        if id == O_PREFIX {
            // libxtables xtopt_parse_string (.min = 1), then NFLOG_parse.
            if arg.is_empty() {
                return Err(Error::param(
                    "Argument must have a minimum length of 1 characters\n",
                ));
            }
            if arg.contains('\n') {
                return Err(Error::param("Newlines not allowed in --log-prefix"));
            }
            self.prefix = truncate_bytes(arg, NF_LOG_PREFIXLEN - 1).to_string();
        } else {
            let v = parse_opt_uint("NFLOG", call.name, arg, 0, max)?;
            match id {
                O_GROUP => self.group = v as u16,
                O_RANGE => self.range = v as u32,
                O_SIZE => self.size = Some(v as u32),
                _ => self.threshold = v as u16,
            }
        }
        self.given |= 1 << id;
        Ok(())
    }

    fn final_warning(&self) -> Option<String> {
        // libxt_NFLOG.c NFLOG_check, before xtables' exclusion check.
        (self.given & (1 << O_RANGE) != 0).then(|| {
            "warn: --nflog-range has never worked and is no longer supported, please use --nflog-size instead".into()
        })
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        xt_fcheck("NFLOG", EXCL, self.given)
    }

    fn save(&self, out: &mut String) {
        self.write(out, "--");
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        self.write(out, "");
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;

    fn rule(words: &[&str]) -> Result<Nflog> {
        let mut args = testing::words("-A INPUT -j NFLOG");
        args.extend(words);
        testing::target(&args)
    }

    fn texts(ext: &Nflog) -> (String, String) {
        testing::texts(ext, true)
    }

    #[test]
    fn range_warns_before_the_final_check() {
        let line = "warn: --nflog-range has never worked and is no longer supported, please use --nflog-size instead";
        let (w, e) = crate::ext::testing::warnings("-A INPUT -j NFLOG --nflog-range 5");
        assert_eq!((w, e), (vec![line.to_string()], None));
        let (w, e) =
            crate::ext::testing::warnings("-A INPUT -j NFLOG --nflog-size 3 --nflog-range 5");
        assert_eq!(w, [line]);
        assert!(e.is_some_and(|e| e.contains("cannot be used together")));
        // Matches are checked first, wherever -j stands.
        let (w, e) = crate::ext::testing::warnings("-A INPUT -j NFLOG --nflog-range 5 -m iprange");
        assert!(w.is_empty());
        assert!(e.is_some_and(|e| e.starts_with("iprange match:")));
    }

    #[test]
    fn saves_and_prints() {
        let long = "y".repeat(140);
        let kept = "y".repeat(127);
        let cases: Vec<(Vec<&str>, String, String)> = vec![
            (vec![], "".into(), "".into()),
            (vec!["--nflog-group", "0"], "".into(), "".into()),
            (vec!["--nflog-range", "5"], "".into(), "".into()),
            (
                vec!["--nflog-size", "0"],
                " --nflog-size 0".into(),
                " nflog-size 0".into(),
            ),
            (
                vec![
                    "--nflog-threshold",
                    "5",
                    "--nflog-size",
                    "100",
                    "--nflog-group",
                    "3",
                    "--nflog-prefix",
                    "foo bar",
                ],
                " --nflog-prefix \"foo bar\" --nflog-group 3 --nflog-size 100 --nflog-threshold 5"
                    .into(),
                " nflog-prefix \"foo bar\" nflog-group 3 nflog-size 100 nflog-threshold 5".into(),
            ),
            (
                vec!["--nflog-prefix", "a'b\"c\\d"],
                r#" --nflog-prefix "a\'b\"c\\d""#.into(),
                r#" nflog-prefix "a\'b\"c\\d""#.into(),
            ),
            (
                vec!["--nflog-prefix", "-x"],
                " --nflog-prefix -x".into(),
                " nflog-prefix -x".into(),
            ),
            (
                vec!["--nflog-prefix", &long],
                format!(" --nflog-prefix {kept}"),
                format!(" nflog-prefix {kept}"),
            ),
        ];
        for (args, save, print) in cases {
            let n = rule(&args).unwrap();
            assert_eq!(texts(&n), (save, print), "{args:?}");
        }
    }

    #[test]
    fn refusals() {
        let err = |a: &[&str]| rule(a).unwrap_err().to_string();
        assert_eq!(
            err(&["--nflog-group", "65536"]),
            "NFLOG: bad value for option \"--nflog-group\", or out of range (0-65535).\n"
        );
        assert!(err(&["--nflog-size", "4294967296"]).contains("out of range"));
        assert!(err(&["--nflog-range", "-1"]).contains("out of range"));
        assert_eq!(
            err(&["--nflog-prefix", ""]),
            "Argument must have a minimum length of 1 characters\n"
        );
        assert_eq!(
            err(&["--nflog-prefix", "a\nb"]),
            "Newlines not allowed in --log-prefix"
        );
        assert_eq!(
            err(&["--nflog-size", "3", "--nflog-range", "5"]),
            "NFLOG: option \"--nflog-range\" cannot be used together with \"--nflog-size\".\n"
        );
    }
}
