//! Extensions: every match (`-m NAME`) and target (`-j NAME`) is one value
//! implementing [`Extension`], in one file of this folder, registered by a
//! line in [`MATCHES`] or [`TARGETS`]. This mirrors x_tables, where each
//! `libxt_NAME.c` brings its options, parser, final check, printer and saver.
//!
//! The argv parser (`crate::argv`) owns getopt's job: it finds which loaded
//! extension owns an option (the most recently loaded one that declares it,
//! as `xtables_merge_options` puts new options first), enforces the generic
//! rules every xtables option has (argument present, `!` allowed, given only
//! once) and then calls [`Extension::parse`] with the option's value.

use std::any::Any;
use std::fmt::Debug;

use crate::error::{Errno, Error, Result};
use crate::model::{Hook, HookMask, TableId};

#[cfg(test)]
pub(crate) mod testing;
pub mod util;

// One module per extension (keep alphabetical within each group).
pub mod addrtype;
pub mod comment;
pub mod connlimit;
pub mod connmark;
pub mod conntrack;
pub mod dscp;
pub mod hashlimit;
pub mod helper;
pub mod icmp;
pub mod iprange;
pub mod length;
pub mod limit;
pub mod mac;
pub mod mark;
pub mod multiport;
pub mod owner;
pub mod physdev;
pub mod pkttype;
pub mod recent;
pub mod rpfilter;
pub mod sctp;
pub mod set;
pub mod state;
pub mod statistic;
pub mod tcp;
pub mod tos;
pub mod ttl;
pub mod udp;
// @matches-mods
pub mod checksum;
pub mod connmark_tg;
pub mod ct;
pub mod dnat;
pub mod log;
pub mod mark_tg;
pub mod masquerade;
pub mod nat;
pub mod netmap;
pub mod nflog;
pub mod redirect;
pub mod reject;
pub mod set_tg;
pub mod snat;
pub mod tcpmss_tg;
pub mod trace;
pub mod ttl_tg;
// @targets-mods

/// Whether an option takes an argument (getopt's `has_arg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    None,
    Required,
}

/// One long option an extension understands.
#[derive(Debug, Clone, Copy)]
pub struct OptDef {
    /// The name without the leading `--`.
    pub name: &'static str,
    pub arg: ArgKind,
    /// `! --name` is allowed (xtables `XTOPT_INVERT`).
    pub invert: bool,
    /// May be given more than once (xtables `XTOPT_MULTI`); otherwise the
    /// parser refuses a repeat with xtables' generic message.
    pub multi: bool,
}

impl OptDef {
    /// An option with a required argument, not invertible, once.
    pub const fn value(name: &'static str) -> OptDef {
        OptDef {
            name,
            arg: ArgKind::Required,
            invert: false,
            multi: false,
        }
    }
    /// An option without argument, not invertible, once.
    pub const fn flag(name: &'static str) -> OptDef {
        OptDef {
            name,
            arg: ArgKind::None,
            invert: false,
            multi: false,
        }
    }
    pub const fn invertible(mut self) -> OptDef {
        self.invert = true;
        self
    }
    /// The extension checks repeats itself (or allows them).
    pub const fn multi(mut self) -> OptDef {
        self.multi = true;
        self
    }
}

/// What a rule being parsed says so far about its IPv4 header, which some
/// extensions consult (`-m tcp` needs `-p tcp`, `DNAT` ports need a
/// protocol with ports).
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleCtx {
    /// IP protocol number (0 = any).
    pub proto: u8,
    pub proto_invert: bool,
}

impl RuleCtx {
    /// The protocol named only when positively given (`-p tcp`, not `! -p tcp`).
    pub fn positive_proto(&self) -> Option<u8> {
        (self.proto != 0 && !self.proto_invert).then_some(self.proto)
    }
}

/// One option occurrence handed to [`Extension::parse`].
pub struct OptCall<'a> {
    /// The option's canonical name (as declared in [`OptDef::name`]).
    pub name: &'static str,
    pub invert: bool,
    /// The argument for [`ArgKind::Required`] options.
    pub value: Option<String>,
    pub ctx: RuleCtx,
    /// Further arguments, for options that consume more than one word
    /// (`--tcp-flags MASK COMP`): the next words of the command line.
    pub(crate) extra: &'a mut dyn FnMut() -> Option<String>,
    /// Where [`OptCall::warn`] puts its lines.
    pub(crate) warnings: &'a mut Vec<String>,
}

impl OptCall<'_> {
    /// A line iptables writes to stderr while parsing this option without
    /// failing (it may still fail afterwards): the caller prints the
    /// collected lines in order, before any error message.
    pub fn warn(&mut self, line: impl Into<String>) {
        self.warnings.push(line.into());
    }

    /// The option's argument (always present for [`ArgKind::Required`]).
    pub fn arg(&self) -> &str {
        self.value.as_deref().unwrap_or("")
    }

    /// Takes the next word of the command line, if any and if it does not
    /// look like an option, the way extensions read `argv[optind]`.
    pub fn next_word(&mut self) -> Option<String> {
        (self.extra)()
    }
}

/// What a kernel `checkentry` sees when a rule is added: the table, the
/// hook of the chain if it is a built-in one, and the rule's protocol.
#[derive(Debug, Clone, Copy)]
pub struct CheckCtx {
    pub table: TableId,
    /// The built-in chain's hook, `None` in a user chain (nft_compat passes
    /// an empty hook mask there).
    pub hook: Option<Hook>,
    pub proto: u8,
    pub proto_invert: bool,
}

impl CheckCtx {
    pub fn hook_mask(&self) -> HookMask {
        match self.hook {
            Some(h) => HookMask::of(&[h]),
            None => HookMask::NONE,
        }
    }
}

/// A match or target extension instance: its parsed options.
pub trait Extension: ExtClone + Debug + Send + Sync + 'static {
    /// The name it is saved under (`-m NAME` / `-j NAME`).
    fn name(&self) -> &'static str;

    /// The name in `iptables -L`'s target column, where it differs from
    /// the saved one (`-j NOTRACK` lists as `CT`).
    fn list_name(&self) -> &'static str {
        self.name()
    }

    /// The options it understands.
    fn options(&self) -> &'static [OptDef];

    /// Takes one option (already checked against its [`OptDef`]).
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()>;

    /// Final check once the whole rule is parsed (xtables `x6_fcheck`):
    /// mandatory options, defaults, combinations.
    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        Ok(())
    }

    /// A line the final check writes to stderr before checking anything
    /// (an `x6_fcheck` that warns and goes on); printed before any error
    /// of [`Extension::finish`].
    fn final_warning(&self) -> Option<String> {
        None
    }

    /// The options in iptables-save form, each with a leading space
    /// (` --dport 80`), or nothing.
    fn save(&self, out: &mut String);

    /// The `iptables -L` form, each item with a leading space as xtables'
    /// print functions write it.
    fn print(&self, out: &mut String, numeric: bool);

    /// Kernel-side restriction to one table (`xt_target.table`).
    fn table(&self) -> Option<TableId> {
        None
    }

    /// Kernel-side restriction to hooks (`xt_match.hooks`/`xt_target.hooks`),
    /// checked for every built-in chain from which the rule is reachable.
    fn hooks(&self) -> HookMask {
        HookMask::ALL
    }

    /// The kernel's `checkentry` for this rule (`EINVAL` and the like).
    fn check(&self, _ctx: &CheckCtx) -> Result<(), Errno> {
        Ok(())
    }

    /// For the engine: the concrete type behind the trait object.
    fn as_any(&self) -> &dyn Any;
}

/// Cloning for boxed extensions.
pub trait ExtClone {
    fn clone_box(&self) -> Box<dyn Extension>;
}

impl<T: Extension + Clone> ExtClone for T {
    fn clone_box(&self) -> Box<dyn Extension> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn Extension> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// A constructor for a fresh extension instance.
pub type Factory = fn() -> Box<dyn Extension>;

/// Match extensions by `-m` name.
pub static MATCHES: &[(&str, Factory)] = &[
    ("tcp", tcp::Tcp::new_boxed),
    ("conntrack", conntrack::Conntrack::new_boxed),
    ("hashlimit", hashlimit::Hashlimit::new_boxed),
    ("limit", limit::Limit::new_boxed),
    ("recent", recent::Recent::new_boxed),
    ("state", state::State::new_boxed),
    ("addrtype", addrtype::Addrtype::new_boxed),
    ("comment", comment::Comment::new_boxed),
    ("connmark", connmark::Connmark::new_boxed),
    ("dscp", dscp::Dscp::new_boxed),
    ("icmp", icmp::Icmp::new_boxed),
    ("iprange", iprange::Iprange::new_boxed),
    ("length", length::Length::new_boxed),
    ("mac", mac::Mac::new_boxed),
    ("mark", mark::Mark::new_boxed),
    ("multiport", multiport::Multiport::new_boxed),
    ("pkttype", pkttype::Pkttype::new_boxed),
    ("tos", tos::Tos::new_boxed),
    ("ttl", ttl::Ttl::new_boxed),
    ("udp", udp::Udp::new_boxed),
    ("owner", owner::Owner::new_boxed),
    ("physdev", physdev::Physdev::new_boxed),
    ("statistic", statistic::Statistic::new_boxed),
    ("helper", helper::Helper::new_boxed),
    ("connlimit", connlimit::Connlimit::new_boxed),
    ("rpfilter", rpfilter::Rpfilter::new_boxed),
    ("sctp", sctp::Sctp::new_boxed),
    ("set", set::SetMatch::new_boxed),
    // @matches-registry
];

/// Target extensions by `-j` name (the standard verdicts are not here).
pub static TARGETS: &[(&str, Factory)] = &[
    ("CHECKSUM", checksum::Checksum::new_boxed),
    ("CONNMARK", connmark_tg::Connmark::new_boxed),
    ("CT", ct::Ct::new_boxed),
    ("MARK", mark_tg::Mark::new_boxed),
    ("NFLOG", nflog::Nflog::new_boxed),
    ("NOTRACK", ct::Ct::new_notrack_boxed),
    ("TCPMSS", tcpmss_tg::Tcpmss::new_boxed),
    ("TRACE", trace::Trace::new_boxed),
    ("TTL", ttl_tg::Ttl::new_boxed),
    ("DNAT", dnat::Dnat::new_boxed),
    ("LOG", log::Log::new_boxed),
    ("MASQUERADE", masquerade::Masquerade::new_boxed),
    ("NETMAP", netmap::Netmap::new_boxed),
    ("REDIRECT", redirect::Redirect::new_boxed),
    ("REJECT", reject::Reject::new_boxed),
    ("SNAT", snat::Snat::new_boxed),
    ("SET", set_tg::SetTarget::new_boxed),
    // @targets-registry
];

pub fn find_match(name: &str) -> Option<Box<dyn Extension>> {
    MATCHES.iter().find(|(n, _)| *n == name).map(|(_, f)| f())
}

pub fn find_target(name: &str) -> Option<Box<dyn Extension>> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| f())
}

/// Whether `name` is a target iptables knows (a verdict or an extension);
/// a user chain may not take such a name.
pub fn is_target_name(name: &str) -> bool {
    matches!(name, "ACCEPT" | "DROP" | "RETURN" | "QUEUE") || find_target(name).is_some()
}

/// xtables' generic refusal of a repeated option.
pub fn only_once(ext: &str, opt: &str) -> Error {
    Error::param(format!(
        "{ext}: option \"--{opt}\" can only be used once.\n"
    ))
}

/// xtables' generic refusal of `!` before an option that has no inverse.
pub fn cannot_invert(ext: &str, opt: &str) -> Error {
    Error::param(format!("{ext}: option \"--{opt}\" cannot be inverted.\n"))
}

/// xtables' generic refusal when a mandatory option is missing.
pub fn must_be_specified(ext: &str, opt: &str) -> Error {
    Error::param(format!("{ext}: option \"--{opt}\" must be specified\n"))
}
