//! `-m statistic`: random sampling or every n-th packet
//! (extensions/libxt_statistic.c; kernel net/netfilter/xt_statistic.c).

use std::any::Any;

use super::util::{xt_fcheck, xt_uint, XtOpt};
use super::{Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Error, Result};

/// `XT_STATISTIC_MODE_*`; random is 0, so it is also the mode of a rule
/// that names none (libxt_statistic.c checks it before `--mode`'s
/// mandatory flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Random,
    Nth,
}

/// `struct xt_statistic_info` (the part userspace sets).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Statistic {
    pub mode: Mode,
    /// `XT_STATISTIC_INVERT`.
    pub invert: bool,
    /// The kernel's union: in random mode the probability in units of
    /// 2^-31 (`u.random.probability`), in nth mode every-1
    /// (`u.nth.every`).
    pub value: u32,
    /// `u.nth.packet`: the packet of each `every` that matches.
    pub packet: u32,
    /// The options given, as bits of their ids.
    given: u32,
}

impl Statistic {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Statistic::default())
    }
}

// libxt_statistic.c option ids.
const O_MODE: u32 = 0;
const O_PROBABILITY: u32 = 1;
const O_EVERY: u32 = 2;
const O_PACKET: u32 = 3;
const F_PROBABILITY: u32 = 1 << O_PROBABILITY;
const F_EVERY: u32 = 1 << O_EVERY;
const F_PACKET: u32 = 1 << O_PACKET;

static OPTIONS: &[OptDef] = &[
    OptDef::value("mode"),
    OptDef::value("probability").invertible(),
    OptDef::value("every").invertible(),
    OptDef::value("packet"),
];

/// libxt_statistic.c `statistic_opts`: what each option needs or excludes.
static TABLE: &[XtOpt] = &[
    XtOpt {
        id: O_MODE,
        name: "mode",
        also: 0,
        excl: 0,
    },
    XtOpt {
        id: O_PROBABILITY,
        name: "probability",
        also: 0,
        excl: F_EVERY | F_PACKET,
    },
    XtOpt {
        id: O_EVERY,
        name: "every",
        also: F_PACKET,
        excl: F_PROBABILITY,
    },
    XtOpt {
        id: O_PACKET,
        name: "packet",
        also: F_EVERY,
        excl: F_PROBABILITY,
    },
];

/// C `strtod` (glibc, "C" locale): the number at the start of `s` after
/// blanks, and how many bytes it took; `None` when there is no number.
/// Takes decimal and hexadecimal (`0x1.8p-1`) forms, `inf`/`infinity`
/// and `nan`/`nan(...)` in any case.
pub fn strtod(s: &str) -> Option<(f64, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    while b
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
    {
        i += 1;
    }
    let negative = b.get(i) == Some(&b'-');
    if matches!(b.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let sign = if negative { -1.0 } else { 1.0 };
    let rest = &b[i..];
    let starts_ci =
        |word: &[u8]| rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word);
    if starts_ci(b"inf") {
        let len = if starts_ci(b"infinity") { 8 } else { 3 };
        return Some((sign * f64::INFINITY, i + len));
    }
    if starts_ci(b"nan") {
        let mut len = 3;
        if rest.get(3) == Some(&b'(') {
            let body = rest[4..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            if rest.get(4 + body) == Some(&b')') {
                len = 5 + body;
            }
        }
        return Some((f64::NAN, i + len));
    }
    let hex_digit_at = |j: usize| rest.get(j).is_some_and(u8::is_ascii_hexdigit);
    if rest.len() > 2
        && rest[0] == b'0'
        && matches!(rest[1], b'x' | b'X')
        && (hex_digit_at(2) || (rest[2] == b'.' && hex_digit_at(3)))
    {
        let (v, len) = hex_float(&rest[2..]);
        return Some((sign * v, i + 2 + len));
    }
    // Decimal: digits, an optional point and digits (one digit at least),
    // an exponent only when it has digits.
    let int = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut len = int;
    let mut frac = 0;
    if rest.get(len) == Some(&b'.') {
        frac = rest[len + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if int + frac > 0 {
            len += 1 + frac;
        }
    }
    if int + frac == 0 {
        return None;
    }
    if matches!(rest.get(len), Some(b'e' | b'E')) {
        let mut j = len + 1;
        if matches!(rest.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let digits = rest[j.min(rest.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits > 0 {
            len = j + digits;
        }
    }
    // Rust's parser is correctly rounded, as glibc's strtod is.
    let text = std::str::from_utf8(&rest[..len]).ok()?;
    let v: f64 = text.parse().ok()?;
    Some((sign * v, i + len))
}

/// The value of hexadecimal float digits (after `0x`) and how many bytes
/// they take, rounded to nearest even like glibc.
fn hex_float(b: &[u8]) -> (f64, usize) {
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut i = 0;
    let mut seen_point = false;
    loop {
        match b.get(i) {
            Some(&c) if c.is_ascii_hexdigit() => {
                let d = u64::from((c as char).to_digit(16).unwrap_or(0));
                if mant >> 60 == 0 {
                    mant = mant << 4 | d;
                    if seen_point {
                        exp -= 4;
                    }
                } else {
                    sticky |= d != 0;
                    if !seen_point {
                        exp += 4;
                    }
                }
            }
            Some(b'.') if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if matches!(b.get(i), Some(b'p' | b'P')) {
        let mut j = i + 1;
        let neg = b.get(j) == Some(&b'-');
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let start = j;
        let mut e: i64 = 0;
        while let Some(c) = b.get(j).filter(|c| c.is_ascii_digit()) {
            e = (e * 10 + i64::from(c - b'0')).min(1 << 20);
            j += 1;
        }
        if j > start {
            exp += if neg { -e } else { e };
            i = j;
        }
    }
    if mant == 0 {
        return (0.0, i);
    }
    // Round the 64-bit mantissa (plus sticky bits) to 53 bits.
    let shift = mant.leading_zeros();
    mant <<= shift;
    exp -= i64::from(shift);
    let low = mant & 0x7ff;
    let mut top = mant >> 11;
    exp += 11;
    let half = 0x400;
    if low > half || (low == half && (sticky || top & 1 == 1)) {
        top += 1;
        if top >> 53 != 0 {
            top >>= 1;
            exp += 1;
        }
    }
    let mut v = top as f64;
    // Scale in steps that stay exact until the result under/overflows.
    let mut e = exp;
    while e > 0 {
        let step = e.min(1000);
        v *= 2f64.powi(step as i32);
        e -= step;
    }
    while e < 0 {
        let step = e.max(-1000);
        v *= 2f64.powi(step as i32);
        e -= step;
    }
    (v, i)
}

/// libxtables `xtopt_parse_float` for `--probability` (min 0, max 1).
fn parse_probability(text: &str) -> Result<f64> {
    match strtod(text) {
        // A NaN is in no range, so xtables lets it through.
        Some((v, len)) if len == text.len() && ((0.0..=1.0).contains(&v) || v.is_nan()) => Ok(v),
        _ => Err(Error::param(
            "statistic: bad value for option \"--probability\", or out of range (0-1).\n",
        )),
    }
}

/// libxt_statistic.c: `lround(0x80000000 * p)` stored in a `__u32` (a
/// NaN gives lround's LONG_MIN, whose low 32 bits are 0).
fn probability_units(p: f64) -> u32 {
    if p.is_nan() {
        return 0;
    }
    (2147483648.0 * p).round() as i64 as u32
}

impl Statistic {
    /// libxt_statistic.c `print_match` with the `--` prefix or without.
    fn write(&self, out: &mut String, prefix: &str) {
        let inv = if self.invert { " !" } else { "" };
        match self.mode {
            Mode::Random => out.push_str(&format!(
                " {prefix}mode random{inv} {prefix}probability {:.11}",
                f64::from(self.value) / 2147483648.0
            )),
            Mode::Nth => {
                out.push_str(&format!(
                    " {prefix}mode nth{inv} {prefix}every {}",
                    self.value.wrapping_add(1)
                ));
                if self.packet != 0 || !prefix.is_empty() {
                    out.push_str(&format!(" {prefix}packet {}", self.packet));
                }
            }
        }
    }
}

impl Extension for Statistic {
    fn name(&self) -> &'static str {
        "statistic"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        if call.invert {
            self.invert = true;
        }
        let id = match call.name {
            "mode" => {
                self.mode = match call.arg() {
                    "random" => Mode::Random,
                    "nth" => Mode::Nth,
                    other => return Err(Error::param(format!("Bad mode \"{other}\""))),
                };
                O_MODE
            }
            "probability" => {
                self.value = probability_units(parse_probability(call.arg())?);
                O_PROBABILITY
            }
            "every" => {
                let every = xt_uint("statistic", "every", call.arg(), 1, u64::from(u32::MAX))?;
                self.value = every as u32 - 1;
                O_EVERY
            }
            _ => {
                let packet = xt_uint("statistic", "packet", call.arg(), 0, u64::from(u32::MAX))?;
                self.packet = packet as u32;
                O_PACKET
            }
        };
        self.given |= 1 << id;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // libxt_statistic.c statistic_check, then xtables_options_fcheck.
        if self.mode == Mode::Random && self.given & F_PROBABILITY == 0 {
            return Err(Error::param(
                "--probability must be specified when using random mode",
            ));
        }
        if self.mode == Mode::Nth && self.given & (F_EVERY | F_PACKET) == 0 {
            return Err(Error::param(
                "--every and --packet must be specified when using nth mode",
            ));
        }
        // Compared with the union's value, whatever the mode.
        if self.packet > self.value {
            return Err(Error::param("the --packet p must be 0 <= p <= n-1"));
        }
        if self.given & (1 << O_MODE) == 0 {
            return Err(super::must_be_specified("statistic", "mode"));
        }
        xt_fcheck("statistic", TABLE, self.given)
    }

    fn save(&self, out: &mut String) {
        self.write(out, "--");
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" statistic");
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

    fn rule(words: &str) -> Result<Statistic> {
        testing::first_match(&testing::words(&format!("-A INPUT -m statistic {words}")))
    }

    fn texts(words: &str) -> (String, String) {
        let s = rule(words).unwrap();
        let (mut save, mut print) = (String::new(), String::new());
        s.save(&mut save);
        s.print(&mut print, false);
        (save, print)
    }

    #[test]
    fn c_strtod() {
        fn v(s: &str) -> Option<(f64, &str)> {
            strtod(s).map(|(v, n)| (v, &s[n..]))
        }
        assert_eq!(v("0.5"), Some((0.5, "")));
        assert_eq!(v(" +.25x"), Some((0.25, "x")));
        assert_eq!(v("1."), Some((1.0, "")));
        assert_eq!(v("5e-1"), Some((0.5, "")));
        assert_eq!(v("1e"), Some((1.0, "e")));
        assert_eq!(v("1e+"), Some((1.0, "e+")));
        assert_eq!(v("0x1p-2"), Some((0.25, "")));
        assert_eq!(v("0X.8"), Some((0.5, "")));
        assert_eq!(v("0x1.8p"), Some((1.5, "p")));
        assert_eq!(v("0x"), Some((0.0, "x")));
        assert_eq!(v("0x.p1"), Some((0.0, "x.p1")));
        assert_eq!(v("-inf"), Some((f64::NEG_INFINITY, "")));
        assert_eq!(v("Infinity!"), Some((f64::INFINITY, "!")));
        assert_eq!(v("infinit"), Some((f64::INFINITY, "init")));
        assert_eq!(v("1e-400"), Some((0.0, "")));
        assert!(strtod("NaN(abc_1)").is_some_and(|(x, n)| x.is_nan() && n == 10));
        assert!(strtod("nan(").is_some_and(|(x, n)| x.is_nan() && n == 3));
        assert_eq!(v("."), None);
        assert_eq!(v(""), None);
        assert_eq!(v("-"), None);
        assert_eq!(v("e5"), None);
        // Hexadecimal digits past 64 bits round to nearest even.
        assert_eq!(v("0x1.00000000000008p0"), Some((1.0, "")));
        assert_eq!(v("0x1.00000000000018p0"), Some((1.0 + 2f64.powi(-51), "")));
        assert_eq!(
            v("0x1.000000000000080000001p0"),
            Some((1.0 + 2f64.powi(-52), ""))
        );
    }

    #[test]
    fn probability_rounding() {
        assert_eq!(probability_units(0.5), 0x4000_0000);
        assert_eq!(probability_units(1.0), 0x8000_0000);
        assert_eq!(probability_units(f64::NAN), 0);
        assert_eq!(probability_units(-0.0), 0);
        assert_eq!(
            texts("--mode random ! --probability 0.50000000000"),
            (
                " --mode random ! --probability 0.50000000000".to_string(),
                " statistic mode random ! probability 0.50000000000".to_string()
            )
        );
        for (given, shown) in [
            ("0.1", "0.10000000009"),
            ("+0.3", "0.29999999981"),
            ("0.000244140625", "0.00024414062"),
            ("0.000732421875", "0.00073242188"),
            ("0.3333333333333", "0.33333333349"),
            ("0.99999999999", "1.00000000000"),
            ("nan", "0.00000000000"),
            ("-0", "0.00000000000"),
            ("0x1p-2", "0.25000000000"),
        ] {
            assert_eq!(
                texts(&format!("--mode random --probability {given}")).0,
                format!(" --mode random --probability {shown}"),
                "{given}"
            );
        }
    }

    #[test]
    fn nth() {
        assert_eq!(
            texts("--mode nth ! --every 5 --packet 2"),
            (
                " --mode nth ! --every 5 --packet 2".to_string(),
                " statistic mode nth ! every 5 packet 2".to_string()
            )
        );
        assert_eq!(
            texts("--mode nth --every 1 --packet 0"),
            (
                " --mode nth --every 1 --packet 0".to_string(),
                " statistic mode nth every 1".to_string()
            )
        );
        assert_eq!(
            texts("--mode nth --every 4294967295 --packet 4294967294").0,
            " --mode nth --every 4294967295 --packet 4294967294"
        );
        assert_eq!(
            texts("--mode nth --every 0x10 --packet 010").0,
            " --mode nth --every 16 --packet 8"
        );
    }

    #[test]
    fn refusals() {
        let err = |a: &str| rule(a).unwrap_err().to_string();
        let random = "--probability must be specified when using random mode";
        let nth = "--every and --packet must be specified when using nth mode";
        let packet = "the --packet p must be 0 <= p <= n-1";
        let range = "statistic: bad value for option \"--probability\", or out of range (0-1).\n";
        for (args, want) in [
            ("", random),
            ("--mode random --every 3 --packet 1", random),
            ("--every 3 --packet 1", random),
            ("--mode nth --probability 0.5", nth),
            ("--mode nth ! --every 5 --packet 5", packet),
            ("--mode nth --packet 2", packet),
            ("--mode random --probability 0 --packet 3", packet),
            (
                "--probability 1",
                "statistic: option \"--mode\" must be specified\n",
            ),
            ("--mode random --probability 1.1", range),
            ("--mode random --probability inf", range),
            ("--mode random --probability 0.5x", range),
            ("--mode random --probability 1e", range),
            ("--mode random --probability 0x", range),
            ("--mode random --probability 1.0000000000001", range),
            (
                "--mode nth ! --every 5",
                "statistic: option \"--every\" also requires \"--packet\".\n",
            ),
            (
                "--mode nth --packet 0",
                "statistic: option \"--packet\" also requires \"--every\".\n",
            ),
            (
                "--mode random --probability 0.5 --every 3",
                "statistic: option \"--probability\" cannot be used together with \"--every\".\n",
            ),
            (
                "--mode random --probability 0.5 --packet 3",
                "statistic: option \"--probability\" cannot be used together with \"--packet\".\n",
            ),
            (
                "--mode nth --every 0 --packet 0",
                "statistic: bad value for option \"--every\", or out of range (1-4294967295).\n",
            ),
            (
                "--mode nth --every 3 --packet -1",
                "statistic: bad value for option \"--packet\", or out of range (0-4294967295).\n",
            ),
            ("--mode foo", "Bad mode \"foo\""),
            ("--mode Random --probability 0.5", "Bad mode \"Random\""),
            (
                "! --mode nth --every 3 --packet 1",
                "statistic: option \"--mode\" cannot be inverted.\n",
            ),
            (
                "--mode nth --every 3 ! --packet 1",
                "statistic: option \"--packet\" cannot be inverted.\n",
            ),
            (
                "--mode nth --mode random",
                "statistic: option \"--mode\" can only be used once.\n",
            ),
        ] {
            assert_eq!(err(args), want, "{args}");
        }
    }
}
