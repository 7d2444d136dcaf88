//! `-m ttl`: the IPv4 time to live (extensions/libipt_ttl.c; kernel
//! net/netfilter/xt_hl.c `ttl_mt`).

use std::any::Any;

use super::util::parse_opt_uint;
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};

/// include/uapi/linux/netfilter_ipv4/ipt_ttl.h modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TtlMode {
    #[default]
    Eq,
    Ne,
    Lt,
    Gt,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ttl {
    pub mode: TtlMode,
    pub ttl: u8,
    /// Options given, by xtables id: eq (with its alias `--ttl`), lt, gt.
    given: [bool; 3],
}

impl Ttl {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Ttl::default())
    }
}

/// Canonical option names by id (libipt_ttl.c `O_TTL_*`).
const CANONICAL: [&str; 3] = ["ttl-eq", "ttl-lt", "ttl-gt"];

// `--ttl` is an alias of `--ttl-eq`; xtables takes the inversion rule
// from the first entry of the id, so `! --ttl` is accepted.
static OPTIONS: &[OptDef] = &[
    OptDef::value("ttl-lt").multi(),
    OptDef::value("ttl-gt").multi(),
    OptDef::value("ttl-eq").invertible().multi(),
    OptDef::value("ttl").invertible().multi(),
];

impl Extension for Ttl {
    fn name(&self) -> &'static str {
        "ttl"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        let id = match call.name {
            "ttl-lt" => 1,
            "ttl-gt" => 2,
            _ => 0,
        };
        if self.given[id] {
            return Err(super::only_once("ttl", CANONICAL[id]));
        }
        self.given[id] = true;
        self.ttl = parse_opt_uint("ttl", CANONICAL[id], call.arg(), 0, 255)? as u8;
        self.mode = match (id, call.invert) {
            (0, false) => TtlMode::Eq,
            (0, true) => TtlMode::Ne,
            (1, _) => TtlMode::Lt,
            _ => TtlMode::Gt,
        };
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // ttl_check, then xtables_options_fcheck: the first given option
        // in table order (lt, gt, eq) against the lowest other id.
        if !self.given.iter().any(|g| *g) {
            return Err(Error::param(
                "TTL match: You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt",
            ));
        }
        let first = [1, 2, 0].into_iter().find(|&i| self.given[i]);
        let other = first.and_then(|f| (0..3).find(|&i| i != f && self.given[i]));
        if let (Some(a), Some(b)) = (first, other) {
            return Err(Error::param(format!(
                "ttl: option \"--{}\" cannot be used together with \"--{}\".\n",
                CANONICAL[a], CANONICAL[b]
            )));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(match self.mode {
            TtlMode::Eq => " --ttl-eq",
            TtlMode::Ne => " ! --ttl-eq",
            TtlMode::Lt => " --ttl-lt",
            TtlMode::Gt => " --ttl-gt",
        });
        out.push_str(&format!(" {}", self.ttl));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        let op = match self.mode {
            TtlMode::Eq => "==",
            TtlMode::Ne => "!=",
            TtlMode::Lt => "<",
            TtlMode::Gt => ">",
        };
        out.push_str(&format!(" TTL match TTL {op} {}", self.ttl));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(mode: TtlMode, ttl: u8) -> Ttl {
        Ttl {
            mode,
            ttl,
            given: [true, false, false],
        }
    }

    #[test]
    fn save_and_print() {
        let mut s = String::new();
        with(TtlMode::Ne, 5).save(&mut s);
        assert_eq!(s, " ! --ttl-eq 5");
        let mut s = String::new();
        with(TtlMode::Gt, 0).print(&mut s, true);
        assert_eq!(s, " TTL match TTL > 0");
    }

    #[test]
    fn final_checks() {
        let e = |given| {
            let mut t = Ttl {
                given,
                ..Default::default()
            };
            t.finish(&RuleCtx::default()).map_err(|e| e.to_string())
        };
        assert!(e([false; 3])
            .unwrap_err()
            .starts_with("TTL match: You must"));
        assert_eq!(
            e([true, true, false]).unwrap_err(),
            "ttl: option \"--ttl-lt\" cannot be used together with \"--ttl-eq\".\n"
        );
        assert_eq!(
            e([false, true, true]).unwrap_err(),
            "ttl: option \"--ttl-lt\" cannot be used together with \"--ttl-gt\".\n"
        );
        assert_eq!(
            e([true, false, true]).unwrap_err(),
            "ttl: option \"--ttl-gt\" cannot be used together with \"--ttl-eq\".\n"
        );
        assert!(e([true, false, false]).is_ok());
    }
}
