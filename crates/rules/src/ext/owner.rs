//! `-m owner`: the local socket's owner (extensions/libxt_owner.c,
//! revision 1; kernel net/netfilter/xt_owner.c). User and group names
//! are looked up in `/etc/passwd` and `/etc/group` (iptables calls
//! getpwnam/getgrnam and, for `-L` without `-n`, getpwuid/getgrgid).

use std::any::Any;

use super::util::strtoui_prefix;
use super::{CheckCtx, Extension, OptCall, OptDef, RuleCtx};
use crate::error::{Errno, Error, Result};
use crate::model::{Hook, HookMask};
use crate::netdb;

// include/uapi/linux/netfilter/xt_owner.h: the `match`/`invert` bits.
pub const XT_OWNER_UID: u8 = 1 << 0;
pub const XT_OWNER_GID: u8 = 1 << 1;
pub const XT_OWNER_SOCKET: u8 = 1 << 2;
pub const XT_OWNER_SUPPL_GROUPS: u8 = 1 << 3;

/// `struct xt_owner_match_info`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Owner {
    pub uid_min: u32,
    pub uid_max: u32,
    pub gid_min: u32,
    pub gid_max: u32,
    /// Which tests are made (`XT_OWNER_*`).
    pub match_flags: u8,
    /// Which of them are inverted.
    pub invert: u8,
}

impl Owner {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Owner::default())
    }
}

static OPTIONS: &[OptDef] = &[
    OptDef::value("uid-owner").invertible(),
    OptDef::value("gid-owner").invertible(),
    OptDef::flag("socket-exists").invertible(),
    OptDef::flag("suppl-groups"),
];

/// xtables_param_act(XTF_BAD_VALUE, "owner", opt, arg).
fn bad_value(opt: &str, arg: &str) -> Error {
    Error::param(format!("owner: Bad value for \"{opt}\" option: \"{arg}\""))
}

/// libxt_owner.c `owner_parse_range`: `ID`, `ID-ID` or `ID:ID`, each a
/// base-0 number below 2^32-1 (which is the reserved id -1).
fn parse_range(arg: &str, opt: &str) -> Result<(u32, u32)> {
    let max = u64::from(u32::MAX - 1);
    let (from, rest) = strtoui_prefix(arg, 0, max).ok_or_else(|| bad_value(opt, arg))?;
    let (to, rest) = match rest.strip_prefix(['-', ':']) {
        Some(after) => strtoui_prefix(after, 0, max).ok_or_else(|| bad_value(opt, arg))?,
        None => (from, rest),
    };
    if !rest.is_empty() {
        return Err(bad_value(opt, arg));
    }
    Ok((from as u32, to as u32))
}

/// A `--uid-owner`/`--gid-owner` value: a name first, else a range.
fn parse_id(arg: &str, opt: &str, lookup: fn(&str) -> Option<u32>) -> Result<(u32, u32)> {
    match lookup(arg) {
        Some(id) => Ok((id, id)),
        None => parse_range(arg, opt),
    }
}

/// getpwuid/getgrgid: the name of an id.
type NameOf = fn(u32) -> Option<&'static str>;

impl Owner {
    /// libxt_owner.c `owner_mt_print_item`: one test with its label; a
    /// single id is named (unless `numeric`), a range never.
    fn item(&self, out: &mut String, label: &str, flag: u8, numeric: bool) {
        if self.match_flags & flag == 0 {
            return;
        }
        if self.invert & flag != 0 {
            out.push_str(" !");
        }
        out.push(' ');
        out.push_str(label);
        let (min, max, name): (u32, u32, NameOf) = match flag {
            XT_OWNER_UID => (self.uid_min, self.uid_max, netdb::user_name),
            XT_OWNER_GID => (self.gid_min, self.gid_max, netdb::group_name),
            _ => return,
        };
        if min != max {
            out.push_str(&format!(" {min}-{max}"));
        } else if let Some(n) = name(min).filter(|_| !numeric) {
            out.push(' ');
            out.push_str(n);
        } else {
            out.push_str(&format!(" {min}"));
        }
    }
}

impl Extension for Owner {
    fn name(&self) -> &'static str {
        "owner"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        let flag = match call.name {
            "uid-owner" => {
                (self.uid_min, self.uid_max) = parse_id(call.arg(), "--uid-owner", netdb::user_id)?;
                XT_OWNER_UID
            }
            "gid-owner" => {
                (self.gid_min, self.gid_max) =
                    parse_id(call.arg(), "--gid-owner", netdb::group_id)?;
                XT_OWNER_GID
            }
            "socket-exists" => XT_OWNER_SOCKET,
            _ => {
                // owner_mt_parse: only after --gid-owner.
                if self.match_flags & XT_OWNER_GID == 0 {
                    return Err(bad_value(
                        "--suppl-groups",
                        "you need to use --gid-owner first",
                    ));
                }
                XT_OWNER_SUPPL_GROUPS
            }
        };
        self.match_flags |= flag;
        if call.invert {
            self.invert |= flag;
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // libxt_owner.c owner_mt_check.
        if self.match_flags == 0 {
            return Err(Error::param(
                "owner: At least one of --uid-owner, --gid-owner or --socket-exists is required",
            ));
        }
        Ok(())
    }

    fn hooks(&self) -> HookMask {
        // xt_owner.c: `.hooks` LOCAL_OUT and POST_ROUTING only.
        HookMask::of(&[Hook::Output, Hook::Postrouting])
    }

    fn check(&self, _ctx: &CheckCtx) -> Result<(), Errno> {
        // xt_owner.c owner_check: a range must not be reversed (ids up to
        // 2^32-2 are valid in the initial user namespace).
        let reversed = |flag, min, max| self.match_flags & flag != 0 && max < min;
        if reversed(XT_OWNER_UID, self.uid_min, self.uid_max)
            || reversed(XT_OWNER_GID, self.gid_min, self.gid_max)
        {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.item(out, "--socket-exists", XT_OWNER_SOCKET, true);
        self.item(out, "--uid-owner", XT_OWNER_UID, true);
        self.item(out, "--gid-owner", XT_OWNER_GID, true);
        self.item(out, "--suppl-groups", XT_OWNER_SUPPL_GROUPS, true);
    }

    fn print(&self, out: &mut String, numeric: bool) {
        self.item(out, "owner socket exists", XT_OWNER_SOCKET, numeric);
        self.item(out, "owner UID match", XT_OWNER_UID, numeric);
        self.item(out, "owner GID match", XT_OWNER_GID, numeric);
        self.item(out, "incl. suppl. groups", XT_OWNER_SUPPL_GROUPS, numeric);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::testing;
    use crate::model::TableId;

    fn rule(words: &str) -> Result<Owner> {
        testing::first_match(&testing::words(&format!("-A OUTPUT -m owner {words}")))
    }

    fn texts(o: &Owner, numeric: bool) -> (String, String) {
        let (mut s, mut p) = (String::new(), String::new());
        o.save(&mut s);
        o.print(&mut p, numeric);
        (s, p)
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("0-10", "--uid-owner").unwrap(), (0, 10));
        assert_eq!(parse_range("5:7", "--uid-owner").unwrap(), (5, 7));
        assert_eq!(parse_range("0x10-010", "--uid-owner").unwrap(), (16, 8));
        assert_eq!(parse_range(" 3", "--uid-owner").unwrap(), (3, 3));
        assert_eq!(
            parse_range("4294967294", "--uid-owner").unwrap(),
            (u32::MAX - 1, u32::MAX - 1)
        );
        for bad in ["4294967295", "5-", "-5", "5--7", "1-2-3", "x", "", "1 "] {
            assert_eq!(
                parse_range(bad, "--gid-owner").unwrap_err().to_string(),
                format!("owner: Bad value for \"--gid-owner\" option: \"{bad}\""),
            );
        }
    }

    #[test]
    fn saves_and_prints() {
        let o = rule("--uid-owner 5:7 ! --gid-owner 4 --suppl-groups ! --socket-exists").unwrap();
        let (s, p) = texts(&o, true);
        assert_eq!(
            s,
            " ! --socket-exists --uid-owner 5-7 ! --gid-owner 4 --suppl-groups"
        );
        assert_eq!(
            p,
            " ! owner socket exists owner UID match 5-7 ! owner GID match 4 incl. suppl. groups"
        );
        let o = rule("--uid-owner 4294967294").unwrap();
        assert_eq!(
            texts(&o, false),
            (
                " --uid-owner 4294967294".to_string(),
                " owner UID match 4294967294".to_string()
            )
        );
    }

    #[test]
    fn names_from_the_account_files() {
        // Every Linux system has root as uid and gid 0.
        let o = rule("--uid-owner root --gid-owner root").unwrap();
        assert_eq!((o.uid_min, o.uid_max, o.gid_min, o.gid_max), (0, 0, 0, 0));
        let (s, p) = texts(&o, false);
        assert_eq!(s, " --uid-owner 0 --gid-owner 0");
        assert_eq!(p, " owner UID match root owner GID match root");
        assert_eq!(texts(&o, true).1, " owner UID match 0 owner GID match 0");
    }

    #[test]
    fn refusals() {
        let err = |a: &str| rule(a).unwrap_err().to_string();
        assert_eq!(
            err(""),
            "owner: At least one of --uid-owner, --gid-owner or --socket-exists is required"
        );
        assert_eq!(
            err("--suppl-groups --gid-owner 0-10"),
            "owner: Bad value for \"--suppl-groups\" option: \"you need to use --gid-owner first\""
        );
        assert_eq!(
            err("--gid-owner 0-10 ! --suppl-groups"),
            "owner: option \"--suppl-groups\" cannot be inverted.\n"
        );
        assert_eq!(
            err("--uid-owner 1 --uid-owner 2"),
            "owner: option \"--uid-owner\" can only be used once.\n"
        );
        assert_eq!(
            err("--uid-owner no-such-user-here"),
            "owner: Bad value for \"--uid-owner\" option: \"no-such-user-here\""
        );
    }

    #[test]
    fn kernel_checks() {
        let ctx = CheckCtx {
            table: TableId::Filter,
            hook: Some(Hook::Output),
            proto: 0,
            proto_invert: false,
        };
        assert_eq!(rule("--uid-owner 0-10").unwrap().check(&ctx), Ok(()));
        assert_eq!(
            rule("--uid-owner 10-0").unwrap().check(&ctx),
            Err(Errno::Invalid)
        );
        assert_eq!(
            rule("--gid-owner 7:3").unwrap().check(&ctx),
            Err(Errno::Invalid)
        );
        let hooks = rule("--socket-exists").unwrap().hooks();
        assert!(hooks.contains(Hook::Output) && hooks.contains(Hook::Postrouting));
        assert!(!hooks.contains(Hook::Input) && !hooks.contains(Hook::Forward));
        assert!(!hooks.contains(Hook::Prerouting));
    }
}
