//! `-m limit`: a token-bucket rate limit (extensions/libxt_limit.c).
//! iptables-nft does not send it as an xt match but as a native nft
//! `limit` expression of packets per unit (iptables/nft.c
//! `add_nft_limit`), and rebuilds the xt form from that when it lists or
//! saves (iptables/nft-shared.c `nft_parse_limit`); so the kernel check is
//! nft_limit's, and what is listed is the rate after that round trip.

use std::any::Any;

use super::util::{atoi, xt_uint};
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};

/// linux/netfilter/xt_limit.h `XT_LIMIT_SCALE`: `avg` is in 1/10000 s.
pub const LIMIT_SCALE: u32 = 10000;
/// libxt_limit.c `XT_LIMIT_BURST`.
pub const DEFAULT_BURST: u32 = 5;
/// net/netfilter/nft_limit.c: a packet limit with burst 0 gets this one.
const NFT_PKT_BURST_DEFAULT: u32 = 5;

/// libxt_limit.c `rates` (and nft.c's `mult`): units, longest first.
const UNITS: [(&str, u32); 4] = [
    ("day", LIMIT_SCALE * 24 * 60 * 60),
    ("hour", LIMIT_SCALE * 60 * 60),
    ("min", LIMIT_SCALE * 60),
    ("sec", LIMIT_SCALE),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// Mean time between packets, in 1/`LIMIT_SCALE` seconds.
    pub avg: u32,
    /// Bucket size in packets.
    pub burst: u32,
}

impl Default for Limit {
    fn default() -> Self {
        // libxt_limit.c limit_init: 3/hour, burst 5.
        Limit {
            avg: LIMIT_SCALE * 60 * 60 / 3,
            burst: DEFAULT_BURST,
        }
    }
}

impl Limit {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Limit::default())
    }

    /// The nft limit expression iptables-nft makes of `avg`: packets per
    /// unit (in seconds).
    pub fn nft_rate(&self) -> (u64, u64) {
        let i = unit_index(self.avg);
        let m = u64::from(UNITS[i].1);
        (m / u64::from(self.avg.max(1)), m / u64::from(LIMIT_SCALE))
    }
}

/// libxt_limit.c `parse_rate` (and libxt_hashlimit.c's, which differs
/// only in scale): `N[/second|/minute|/hour|/day]`, any prefix of the unit
/// name. Returns the multiplier in seconds and the number, or `None` for
/// a text the caller reports as a bad rate.
pub fn parse_rate_parts(rate: &str) -> Option<(u32, &str)> {
    let mult = match rate.split_once('/') {
        None => 1,
        Some((_, unit)) => {
            if unit.is_empty() {
                return None;
            }
            let is = |name: &str| {
                unit.len() <= name.len()
                    && name
                        .get(..unit.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(unit))
            };
            if is("second") {
                1
            } else if is("minute") {
                60
            } else if is("hour") {
                60 * 60
            } else if is("day") {
                24 * 60 * 60
            } else {
                return None;
            }
        }
    };
    Some((mult, rate))
}

/// libxt_limit.c `parse_rate`: the `avg` of a rate text.
fn parse_rate(rate: &str) -> Result<u32> {
    let bad = || Error::param(format!("bad rate \"{rate}\"'"));
    let (mult, _) = parse_rate_parts(rate).ok_or_else(bad)?;
    let r = atoi(rate) as u32;
    if r == 0 {
        return Err(bad());
    }
    let avg = LIMIT_SCALE * mult / r;
    if avg == 0 {
        return Err(Error::param(format!("Rate too fast \"{rate}\"")));
    }
    Ok(avg)
}

/// The unit libxt_limit.c `print_rate` (and nft.c `add_nft_limit`) picks:
/// the shortest one that still divides `avg` closely enough.
fn unit_index(avg: u32) -> usize {
    let avg = avg.max(1);
    let mut i = 1;
    while i < UNITS.len() {
        let m = UNITS[i].1;
        if avg > m || m / avg < m % avg {
            break;
        }
        i += 1;
    }
    i - 1
}

/// libxt_limit.c `print_rate`.
fn rate_text(avg: u32) -> String {
    if avg == 0 {
        return "inf".to_string();
    }
    let (name, m) = UNITS[unit_index(avg)];
    format!("{}/{name}", m / avg)
}

static OPTIONS: &[OptDef] = &[OptDef::value("limit"), OptDef::value("limit-burst")];

impl Extension for Limit {
    fn name(&self) -> &'static str {
        "limit"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        match call.name {
            "limit" => self.avg = parse_rate(call.arg())?,
            _ => self.burst = xt_uint("limit", "limit-burst", call.arg(), 0, 10000)? as u32,
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // The nft limit round trip: nft.c add_nft_limit stores
        // rate = mult / avg per unit, nft-shared.c nft_parse_limit reads
        // back avg = SCALE * unit / rate; nft_limit.c gives a zero packet
        // burst the default.
        let (rate, unit) = self.nft_rate();
        if let Some(avg) = (u64::from(LIMIT_SCALE) * unit).checked_div(rate) {
            self.avg = avg as u32;
        }
        if self.burst == 0 {
            self.burst = NFT_PKT_BURST_DEFAULT;
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(&format!(" --limit {}", rate_text(self.avg)));
        if self.burst != DEFAULT_BURST {
            out.push_str(&format!(" --limit-burst {}", self.burst));
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " limit: avg {} burst {}",
            rate_text(self.avg),
            self.burst
        ));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argv;

    fn run(args: &str) -> std::result::Result<(String, String), String> {
        let mut words: Vec<String> = vec!["-A".into(), "INPUT".into()];
        words.extend(args.split_whitespace().map(String::from));
        let inv = argv::parse(&words, "filter", false).map_err(|e| e.to_string())?;
        let r = inv.rules.into_iter().next().ok_or("no rule")?;
        let mut p = String::new();
        for m in &r.matches {
            m.print(&mut p, true);
        }
        Ok((crate::save::rule_spec(&r), p))
    }

    #[test]
    fn save_and_print() {
        for (args, save, print) in [
            (
                "-m limit",
                " -m limit --limit 3/hour",
                " limit: avg 3/hour burst 5",
            ),
            (
                "-m limit --limit 7/h --limit-burst 0",
                " -m limit --limit 7/hour",
                " limit: avg 7/hour burst 5",
            ),
            (
                "-m limit --limit 5x/s",
                " -m limit --limit 5/sec",
                " limit: avg 5/sec burst 5",
            ),
            (
                "-m limit --limit 7",
                " -m limit --limit 7/sec",
                " limit: avg 7/sec burst 5",
            ),
            (
                "-m limit --limit 333/min --limit-burst 10000",
                " -m limit --limit 333/min --limit-burst 10000",
                " limit: avg 333/min burst 10000",
            ),
            (
                "-m limit --limit 6001/hour",
                " -m limit --limit 100/min",
                " limit: avg 100/min burst 5",
            ),
            (
                "-m limit --limit 1/day",
                " -m limit --limit 1/day",
                " limit: avg 1/day burst 5",
            ),
        ] {
            assert_eq!(
                run(args),
                Ok((save.to_string(), print.to_string())),
                "{args}"
            );
        }
        let l = Limit {
            avg: 5999,
            burst: 5,
        };
        assert_eq!(l.nft_rate(), (100, 60));
    }

    #[test]
    fn refusals() {
        for (args, msg) in [
            ("-m limit --limit 10001/sec", "Rate too fast \"10001/sec\""),
            ("-m limit --limit -3/s", "Rate too fast \"-3/s\""),
            ("-m limit --limit 7/hourly", "bad rate \"7/hourly\"'"),
            ("-m limit --limit 7/", "bad rate \"7/\"'"),
            ("-m limit --limit 0/sec", "bad rate \"0/sec\"'"),
            (
                "-m limit --limit-burst 10001",
                "limit: bad value for option \"--limit-burst\", or out of range (0-10000).\n",
            ),
            (
                "-m limit ! --limit 3/s",
                "limit: option \"--limit\" cannot be inverted.\n",
            ),
        ] {
            assert_eq!(run(args), Err(msg.to_string()), "{args}");
        }
    }
}
