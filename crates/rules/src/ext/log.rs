//! `-j LOG`: log the packet to the kernel log (extensions/libxt_LOG.c;
//! kernel net/netfilter/xt_LOG.c). iptables 1.8.9 keeps it as an xt
//! target (iptables/nft.c `add_target` has no native form for it).

use std::any::Any;

use super::util::save_string;
use super::{Extension, OptCall, OptDef};
use crate::error::{Error, Result};
use crate::num::strtoul_range;

/// `XT_LOG_*` flag bits (include/uapi/linux/netfilter/xt_LOG.h).
pub const LOG_TCPSEQ: u8 = 0x01;
pub const LOG_TCPOPT: u8 = 0x02;
pub const LOG_IPOPT: u8 = 0x04;
pub const LOG_UID: u8 = 0x08;
pub const LOG_MACDECODE: u8 = 0x20;
/// `XT_LOG_MASK`: every flag userspace knows.
const LOG_MASK: u8 = 0x2f;

/// libxt_LOG.c `LOG_DEFAULT_LEVEL` (syslog `LOG_WARNING`).
pub const DEFAULT_LEVEL: u8 = 4;

/// `struct xt_log_info.prefix` is 30 bytes; xtables keeps at most 29
/// (libxtables/xtoptions.c `xtopt_parse_string` truncates silently).
const PREFIX_MAX: usize = 29;

/// xtoptions.c `xtopt_parse_sysloglevel`: the names it accepts (exact,
/// case-sensitive) besides the numbers 0-7.
const LEVEL_NAMES: &[(&str, u8)] = &[
    ("alert", 1),
    ("crit", 2),
    ("debug", 7),
    ("emerg", 0),
    ("error", 3),
    ("info", 6),
    ("notice", 5),
    ("panic", 0),
    ("warning", 4),
];

/// The name `-L` shows for a level: glibc's `prioritynames`, first match
/// (libxt_LOG.c `priority2name`).
fn level_name(level: u8) -> Option<&'static str> {
    const NAMES: [&str; 8] = [
        "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
    ];
    NAMES.get(level as usize).copied()
}

/// libxt_LOG.c flag options in save/print order: (flag, option, -L word).
const FLAGS: &[(u8, &str, &str)] = &[
    (LOG_TCPSEQ, "log-tcp-sequence", "tcp-sequence"),
    (LOG_TCPOPT, "log-tcp-options", "tcp-options"),
    (LOG_IPOPT, "log-ip-options", "ip-options"),
    (LOG_UID, "log-uid", "uid"),
    (LOG_MACDECODE, "log-macdecode", "macdecode"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// Syslog level 0-7.
    pub level: u8,
    /// `LOG_*` flag bits.
    pub flags: u8,
    /// Up to 29 bytes; empty when not given.
    pub prefix: String,
}

impl Default for Log {
    fn default() -> Self {
        // libxt_LOG.c `LOG_init`.
        Log {
            level: DEFAULT_LEVEL,
            flags: 0,
            prefix: String::new(),
        }
    }
}

impl Log {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Log::default())
    }
}

/// `xtopt_parse_sysloglevel`.
pub fn parse_level(text: &str) -> Result<u8> {
    if let Some(n) = strtoul_range(text, 0, 7) {
        return Ok(n as u8);
    }
    LEVEL_NAMES
        .iter()
        .find(|(n, _)| *n == text)
        .map(|(_, l)| *l)
        .ok_or_else(|| Error::param(format!("log level \"{text}\" unknown\n")))
}

/// `xtopt_parse_string` with `.min = 1` and the 30-byte field, then
/// libxt_LOG.c's newline refusal.
fn parse_prefix(text: &str) -> Result<String> {
    if text.is_empty() {
        return Err(Error::param(
            "Argument must have a minimum length of 1 characters\n",
        ));
    }
    if text.contains('\n') {
        return Err(Error::param("Newlines not allowed in --log-prefix"));
    }
    // iptables cuts at byte 29; keep whole characters.
    let mut end = text.len().min(PREFIX_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Ok(text.get(..end).unwrap_or_default().to_string())
}

static OPTIONS: &[OptDef] = &[
    OptDef::value("log-level"),
    OptDef::value("log-prefix"),
    OptDef::flag("log-tcp-sequence"),
    OptDef::flag("log-tcp-options"),
    OptDef::flag("log-ip-options"),
    OptDef::flag("log-uid"),
    OptDef::flag("log-macdecode"),
];

impl Extension for Log {
    fn name(&self) -> &'static str {
        "LOG"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        match call.name {
            "log-level" => self.level = parse_level(call.arg())?,
            "log-prefix" => self.prefix = parse_prefix(call.arg())?,
            name => {
                if let Some((bit, _, _)) = FLAGS.iter().find(|(_, o, _)| *o == name) {
                    self.flags |= bit;
                }
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if !self.prefix.is_empty() {
            out.push_str(" --log-prefix ");
            save_string(out, &self.prefix);
        }
        if self.level != DEFAULT_LEVEL {
            out.push_str(&format!(" --log-level {}", self.level));
        }
        for (bit, opt, _) in FLAGS {
            if self.flags & bit != 0 {
                out.push_str(" --");
                out.push_str(opt);
            }
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" LOG");
        if numeric {
            out.push_str(&format!(" flags {} level {}", self.flags, self.level));
        } else {
            match level_name(self.level) {
                Some(n) => out.push_str(&format!(" level {n}")),
                None => out.push_str(&format!(" UNKNOWN level {}", self.level)),
            }
            for (bit, _, word) in FLAGS {
                if self.flags & bit != 0 {
                    out.push(' ');
                    out.push_str(word);
                }
            }
            if self.flags & !LOG_MASK != 0 {
                out.push_str(" unknown-flags");
            }
        }
        if !self.prefix.is_empty() {
            out.push_str(&format!(" prefix \"{}\"", self.prefix));
        }
    }

    // No table, hook or checkentry refusal reachable from iptables:
    // xt_LOG.c `log_tg_check` refuses only a level above 7 or an
    // unterminated prefix, which userspace never produces.

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(opts: &[(&'static str, Option<&str>)]) -> Result<Log> {
        let mut l = Log::default();
        for (name, value) in opts {
            crate::ext::testing::option(&mut l, name, *value, Default::default())?;
        }
        Ok(l)
    }

    fn saved(l: &Log) -> String {
        let mut s = String::new();
        l.save(&mut s);
        s
    }

    fn printed(l: &Log, numeric: bool) -> String {
        let mut s = String::new();
        l.print(&mut s, numeric);
        s
    }

    #[test]
    fn levels() {
        assert_eq!(parse_level("alert").unwrap(), 1);
        assert_eq!(parse_level("0x3").unwrap(), 3);
        assert_eq!(parse_level(" 3").unwrap(), 3);
        assert_eq!(parse_level("panic").unwrap(), 0);
        assert_eq!(
            parse_level("8").unwrap_err().to_string(),
            "log level \"8\" unknown\n"
        );
        assert!(parse_level("Alert").is_err());
        assert!(parse_level("warn").is_err());
        assert!(parse_level("-1").is_err());
    }

    #[test]
    fn defaults_save_nothing() {
        let l = parsed(&[("log-level", Some("4"))]).unwrap();
        assert_eq!(saved(&l), "");
        assert_eq!(printed(&l, false), " LOG level warn");
        assert_eq!(printed(&l, true), " LOG flags 0 level 4");
    }

    #[test]
    fn everything() {
        let l = parsed(&[
            ("log-macdecode", None),
            ("log-uid", None),
            ("log-level", Some("alert")),
            ("log-prefix", Some(r#"a "b" \c"#)),
            ("log-tcp-sequence", None),
            ("log-tcp-options", None),
            ("log-ip-options", None),
        ])
        .unwrap();
        assert_eq!(
            saved(&l),
            r#" --log-prefix "a \"b\" \\c" --log-level 1 --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode"#
        );
        assert_eq!(
            printed(&l, false),
            r#" LOG level alert tcp-sequence tcp-options ip-options uid macdecode prefix "a "b" \c""#
        );
        assert_eq!(
            printed(&l, true),
            r#" LOG flags 47 level 1 prefix "a "b" \c""#
        );
    }

    #[test]
    fn prefixes() {
        let l = parsed(&[("log-prefix", Some("123456789012345678901234567890abc"))]).unwrap();
        assert_eq!(l.prefix, "12345678901234567890123456789");
        assert_eq!(saved(&l), " --log-prefix 12345678901234567890123456789");
        let l = parsed(&[("log-prefix", Some("it's"))]).unwrap();
        assert_eq!(saved(&l), r#" --log-prefix "it\'s""#);
        assert!(parsed(&[("log-prefix", Some(""))]).is_err());
        assert_eq!(
            parsed(&[("log-prefix", Some("a\nb"))])
                .unwrap_err()
                .to_string(),
            "Newlines not allowed in --log-prefix"
        );
        // A multi-byte character straddling byte 29 is dropped whole.
        let l = parsed(&[("log-prefix", Some("1234567890123456789012345678é"))]).unwrap();
        assert_eq!(l.prefix, "1234567890123456789012345678");
    }
}
