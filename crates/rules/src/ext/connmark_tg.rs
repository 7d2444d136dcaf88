//! `-j CONNMARK`: sets the connection mark or copies it to or from the
//! packet mark (extensions/libxt_CONNMARK.c; kernel
//! net/netfilter/xt_connmark.c). iptables 1.8.9 uses revision 2 (with
//! `--left-shift-mark`/`--right-shift-mark`); the mark operations become
//! a ctmark/ctmask pair saved as `--set-xmark`, save and restore always
//! print both masks. No table or hook restriction in the kernel.

use std::any::Any;

use super::util::{parse_mark_op, parse_opt_uint, print_mark_op, xt_fcheck, xt_id, XtOpt};
use super::{CheckCtx, Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Errno, Error, Result};

/// Option ids as libxt_CONNMARK.c numbers them.
const O_SET_MARK: u32 = 0;
const O_SAVE_MARK: u32 = 1;
const O_RESTORE_MARK: u32 = 2;
const O_AND_MARK: u32 = 3;
const O_OR_MARK: u32 = 4;
const O_XOR_MARK: u32 = 5;
const O_LEFT_SHIFT_MARK: u32 = 6;
const O_RIGHT_SHIFT_MARK: u32 = 7;
const O_SET_XMARK: u32 = 8;
const O_CTMASK: u32 = 9;
const O_NFMASK: u32 = 10;
const O_MASK: u32 = 11;
/// The operations, which exclude each other (libxt_CONNMARK.c `F_OP_ANY`).
const F_OP_ANY: u32 = 1 << O_SET_MARK
    | 1 << O_SAVE_MARK
    | 1 << O_RESTORE_MARK
    | 1 << O_AND_MARK
    | 1 << O_OR_MARK
    | 1 << O_XOR_MARK
    | 1 << O_SET_XMARK;

/// libxt_CONNMARK.c `connmark_tg_opts_v2`, in table order.
const EXCL: &[XtOpt] = &[
    XtOpt::new(O_SET_XMARK, "set-xmark").excl(F_OP_ANY),
    XtOpt::new(O_SET_MARK, "set-mark").excl(F_OP_ANY),
    XtOpt::new(O_AND_MARK, "and-mark").excl(F_OP_ANY),
    XtOpt::new(O_OR_MARK, "or-mark").excl(F_OP_ANY),
    XtOpt::new(O_XOR_MARK, "xor-mark").excl(F_OP_ANY),
    XtOpt::new(O_SAVE_MARK, "save-mark").excl(F_OP_ANY),
    XtOpt::new(O_RESTORE_MARK, "restore-mark").excl(F_OP_ANY),
    XtOpt::new(O_LEFT_SHIFT_MARK, "left-shift-mark"),
    XtOpt::new(O_RIGHT_SHIFT_MARK, "right-shift-mark"),
    XtOpt::new(O_CTMASK, "ctmask").excl(1 << O_MASK),
    XtOpt::new(O_NFMASK, "nfmask").excl(1 << O_MASK),
    XtOpt::new(O_MASK, "mask").excl(1 << O_CTMASK | 1 << O_NFMASK),
];

static OPTIONS: &[OptDef] = &[
    OptDef::value("set-xmark"),
    OptDef::value("set-mark"),
    OptDef::value("and-mark"),
    OptDef::value("or-mark"),
    OptDef::value("xor-mark"),
    OptDef::flag("save-mark"),
    OptDef::flag("restore-mark"),
    OptDef::value("left-shift-mark"),
    OptDef::value("right-shift-mark"),
    OptDef::value("ctmask"),
    OptDef::value("nfmask"),
    OptDef::value("mask"),
];

/// What the target does (`XT_CONNMARK_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// ctmark = (ctmark & !ctmask) ^ mark
    #[default]
    Set,
    /// ctmark = (ctmark & !ctmask) ^ (nfmark & nfmask)
    Save,
    /// nfmark = (nfmark & !nfmask) ^ (ctmark & ctmask)
    Restore,
}

/// Direction of the shift (`D_SHIFT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shift {
    #[default]
    Left,
    Right,
}

/// `xt_connmark_tginfo2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connmark {
    pub mode: Mode,
    pub ctmark: u32,
    pub ctmask: u32,
    pub nfmask: u32,
    pub shift_dir: Shift,
    pub shift_bits: u8,
    /// Option ids given, as bits.
    given: u32,
}

impl Default for Connmark {
    /// libxt_CONNMARK.c `connmark_tg_init_v2`: both masks all ones.
    fn default() -> Self {
        Connmark {
            mode: Mode::Set,
            ctmark: 0,
            ctmask: u32::MAX,
            nfmask: u32::MAX,
            shift_dir: Shift::Left,
            shift_bits: 0,
            given: 0,
        }
    }
}

impl Connmark {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Connmark::default())
    }
}

impl Extension for Connmark {
    fn name(&self) -> &'static str {
        "CONNMARK"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        let u32_arg = |c: &OptCall<'_>| parse_opt_uint("CONNMARK", c.name, c.arg(), 0, 0xffff_ffff);
        match call.name {
            "set-xmark" | "set-mark" | "and-mark" | "or-mark" | "xor-mark" => {
                self.mode = Mode::Set;
                (self.ctmark, self.ctmask) = parse_mark_op("CONNMARK", call.name, call.arg())?;
            }
            "save-mark" => self.mode = Mode::Save,
            "restore-mark" => self.mode = Mode::Restore,
            "left-shift-mark" | "right-shift-mark" => {
                self.shift_bits = parse_opt_uint("CONNMARK", call.name, call.arg(), 0, 32)? as u8;
                self.shift_dir = if call.name == "left-shift-mark" {
                    Shift::Left
                } else {
                    Shift::Right
                };
            }
            "ctmask" => self.ctmask = u32_arg(call)? as u32,
            "nfmask" => self.nfmask = u32_arg(call)? as u32,
            _ => {
                let v = u32_arg(call)? as u32;
                self.ctmask = v;
                self.nfmask = v;
            }
        }
        self.given |= 1 << xt_id(EXCL, call.name);
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        if self.given & F_OP_ANY == 0 {
            return Err(Error::param("CONNMARK target: No operation specified"));
        }
        xt_fcheck("CONNMARK", EXCL, self.given)
    }

    fn check(&self, _ctx: &CheckCtx) -> Result<(), Errno> {
        // net/netfilter/xt_connmark.c: the revision 2 checkentry refuses a
        // shift of 32 bits (seen as EINVAL on Linux 6.18).
        if self.shift_bits > 31 {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        match self.mode {
            Mode::Set => out.push_str(&format!(
                " --set-xmark 0x{:x}/0x{:x}",
                self.ctmark, self.ctmask
            )),
            Mode::Save | Mode::Restore => {
                let op = if self.mode == Mode::Save {
                    "save"
                } else {
                    "restore"
                };
                out.push_str(&format!(
                    " --{op}-mark --nfmask 0x{:x} --ctmask 0x{:x}",
                    self.nfmask, self.ctmask
                ));
            }
        }
        if self.shift_bits != 0 {
            out.push_str(&format!(" --{} {}", self.shift_name(), self.shift_bits));
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        match self.mode {
            Mode::Set => print_mark_op(out, "CONNMARK", self.ctmark, self.ctmask),
            Mode::Save => {
                if self.nfmask == u32::MAX && self.ctmask == u32::MAX {
                    out.push_str(" CONNMARK save");
                } else if self.nfmask == self.ctmask {
                    out.push_str(&format!(" CONNMARK save mask 0x{:x}", self.nfmask));
                } else {
                    out.push_str(&format!(
                        " CONNMARK save nfmask 0x{:x} ctmask ~0x{:x}",
                        self.nfmask, self.ctmask
                    ));
                }
            }
            Mode::Restore => {
                if self.ctmask == u32::MAX && self.nfmask == u32::MAX {
                    out.push_str(" CONNMARK restore");
                } else if self.ctmask == self.nfmask {
                    out.push_str(&format!(" CONNMARK restore mask 0x{:x}", self.ctmask));
                } else {
                    out.push_str(&format!(
                        " CONNMARK restore ctmask 0x{:x} nfmask ~0x{:x}",
                        self.ctmask, self.nfmask
                    ));
                }
            }
        }
        if self.shift_bits != 0 {
            out.push_str(&format!(" {} {}", self.shift_name(), self.shift_bits));
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Connmark {
    fn shift_name(&self) -> &'static str {
        match self.shift_dir {
            Shift::Left => "left-shift-mark",
            Shift::Right => "right-shift-mark",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;
    use crate::model::{Hook, TableId};

    fn rule(words: &str) -> Result<Connmark> {
        testing::target(&testing::words(&format!(
            "-t mangle -A PREROUTING -j CONNMARK {words}"
        )))
    }

    fn texts(ext: &Connmark) -> (String, String) {
        testing::texts(ext, true)
    }

    #[test]
    fn saves_and_prints() {
        let all = "--nfmask 0xffffffff --ctmask 0xffffffff";
        let cases = [
            (
                "--set-mark 5",
                " --set-xmark 0x5/0xffffffff".to_string(),
                " CONNMARK set 0x5",
            ),
            (
                "--set-mark 5/0xff",
                " --set-xmark 0x5/0xff".into(),
                " CONNMARK xset 0x5/0xff",
            ),
            (
                "--and-mark 0xff",
                " --set-xmark 0x0/0xffffff00".into(),
                " CONNMARK and 0xff",
            ),
            (
                "--or-mark 0xff",
                " --set-xmark 0xff/0xff".into(),
                " CONNMARK or 0xff",
            ),
            (
                "--xor-mark 0xff",
                " --set-xmark 0xff/0x0".into(),
                " CONNMARK xor 0xff",
            ),
            (
                "--save-mark",
                format!(" --save-mark {all}"),
                " CONNMARK save",
            ),
            (
                "--save-mark --mask 0xff",
                " --save-mark --nfmask 0xff --ctmask 0xff".into(),
                " CONNMARK save mask 0xff",
            ),
            (
                "--save-mark --nfmask 0xff",
                " --save-mark --nfmask 0xff --ctmask 0xffffffff".into(),
                " CONNMARK save nfmask 0xff ctmask ~0xffffffff",
            ),
            (
                "--restore-mark --ctmask 0xff --nfmask 0xf",
                " --restore-mark --nfmask 0xf --ctmask 0xff".into(),
                " CONNMARK restore ctmask 0xff nfmask ~0xf",
            ),
            (
                "--restore-mark --left-shift-mark 3",
                format!(" --restore-mark {all} --left-shift-mark 3"),
                " CONNMARK restore left-shift-mark 3",
            ),
            (
                "--save-mark --right-shift-mark 3 --left-shift-mark 2",
                format!(" --save-mark {all} --left-shift-mark 2"),
                " CONNMARK save left-shift-mark 2",
            ),
            (
                "--set-mark 1 --right-shift-mark 31",
                " --set-xmark 0x1/0xffffffff --right-shift-mark 31".into(),
                " CONNMARK set 0x1 right-shift-mark 31",
            ),
            (
                "--set-mark 1 --mask 2",
                " --set-xmark 0x1/0x2".into(),
                " CONNMARK xset 0x1/0x2",
            ),
        ];
        for (args, save, print) in cases {
            let m = rule(args).unwrap();
            assert_eq!(texts(&m), (save, print.to_string()), "{args}");
        }
    }

    #[test]
    fn refusals() {
        let err = |a: &str| rule(a).unwrap_err().to_string();
        assert_eq!(err(""), "CONNMARK target: No operation specified");
        assert_eq!(err("--mask 2"), "CONNMARK target: No operation specified");
        assert_eq!(
            err("--restore-mark --mask 0xff --nfmask 0xf"),
            "CONNMARK: option \"--nfmask\" cannot be used together with \"--mask\".\n"
        );
        assert_eq!(
            err("--save-mark --set-mark 1"),
            "CONNMARK: option \"--set-mark\" cannot be used together with \"--save-mark\".\n"
        );
        assert_eq!(
            err("--restore-mark --save-mark"),
            "CONNMARK: option \"--save-mark\" cannot be used together with \"--restore-mark\".\n"
        );
        assert_eq!(
            err("--set-mark 1 --right-shift-mark 33"),
            "CONNMARK: bad value for option \"--right-shift-mark\", or out of range (0-32).\n"
        );
        assert!(err("--restore-mark --ctmask 1 --ctmask 2").contains("only be used once"));
        let m = rule("--set-mark 1 --right-shift-mark 32").unwrap();
        let ctx = CheckCtx {
            table: TableId::Mangle,
            hook: Some(Hook::Prerouting),
            proto: 0,
            proto_invert: false,
        };
        assert_eq!(m.check(&ctx), Err(Errno::Invalid));
    }
}
