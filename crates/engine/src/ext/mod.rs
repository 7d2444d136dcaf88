//! The packet meaning of extensions: one file per match or target, each
//! compiling its rules-crate counterpart (found by downcasting) into a
//! [`PacketMatch`] or [`PacketTarget`], registered by a line below. This
//! mirrors the kernel's `xt_*.c` modules, as `palisade-rules`' `ext/`
//! mirrors iptables' `libxt_*.c`.

use std::fmt::Debug;

use palisade_rules::ext::Extension;
use palisade_rules::model::{Hook, Rule, TableId};

use crate::conntrack::Conntrack;
use crate::env::Env;
use crate::meta::PacketMeta;
use crate::program::CompileError;
use crate::time::Time;
use crate::topology::Topology;
use crate::wire::transport::Summary;

// Matches.
mod m_addrtype;
mod m_comment;
mod m_connlimit;
mod m_connmark;
mod m_conntrack;
pub(crate) mod m_hashlimit;
mod m_helper;
mod m_icmp;
mod m_iprange;
mod m_length;
mod m_limit;
mod m_mac;
mod m_mark;
mod m_multiport;
mod m_owner;
mod m_physdev;
mod m_pkttype;
pub(crate) mod m_recent;
mod m_rpfilter;
mod m_sctp;
mod m_state;
mod m_statistic;
mod m_tcp;
mod m_tos;
mod m_ttl;
mod m_udp;
// Targets.
mod t_connmark;
mod t_ct;
mod t_log;
mod t_mark;
mod t_nat;
mod t_reject;
mod t_tcpmss;
mod t_ttl;

/// Everything a match or target sees of one packet at one hook.
pub struct HookCtx<'a> {
    pub now: Time,
    pub hook: Hook,
    pub table: TableId,
    /// The datagram (IP header onwards); TCPMSS may lengthen it.
    pub pkt: &'a mut Vec<u8>,
    /// Its header facts; targets that rewrite headers refresh it.
    pub summary: Summary,
    pub meta: &'a mut PacketMeta,
    pub topo: &'a Topology,
    pub ct: &'a mut Conntrack,
    pub env: &'a mut Env,
    /// Set by a match that finds the packet malformed (`par->hotdrop`):
    /// it is dropped at once.
    pub hotdrop: bool,
}

impl HookCtx<'_> {
    pub fn in_name(&self) -> &str {
        self.meta
            .in_iface
            .map_or("", |i| &self.topo.interface(i).name)
    }
    pub fn out_name(&self) -> &str {
        self.meta
            .out_iface
            .map_or("", |i| &self.topo.interface(i).name)
    }
    /// The transport bytes of the datagram.
    pub fn l4(&self) -> &[u8] {
        &self.pkt[self.summary.header_len..]
    }
}

/// A compiled match.
pub trait PacketMatch: Debug + Send + Sync {
    fn matches(&self, cx: &mut HookCtx<'_>) -> bool;
    /// Loading it turns conntrack on (its checkentry calls
    /// `nf_ct_netns_get`).
    fn needs_conntrack(&self) -> bool {
        false
    }
}

/// What a target decides (`NF_*` verdicts and `XT_CONTINUE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Continue,
    Accept,
    Drop,
}

/// A compiled target.
pub trait PacketTarget: Debug + Send + Sync {
    fn apply(&self, cx: &mut HookCtx<'_>) -> Verdict;
    fn needs_conntrack(&self) -> bool {
        false
    }
}

type MatchCompiler = fn(&dyn Extension, &Rule) -> Option<Box<dyn PacketMatch>>;
type TargetCompiler = fn(&dyn Extension, &Rule, TableId) -> Option<Box<dyn PacketTarget>>;

/// Match compilers: each returns `Some` for its own extension type.
static MATCHES: &[MatchCompiler] = &[
    m_addrtype::compile,
    m_comment::compile,
    m_connlimit::compile,
    m_connmark::compile,
    m_conntrack::compile,
    m_hashlimit::compile,
    m_helper::compile,
    m_icmp::compile,
    m_iprange::compile,
    m_length::compile,
    m_limit::compile,
    m_mac::compile,
    m_mark::compile,
    m_multiport::compile,
    m_owner::compile,
    m_physdev::compile,
    m_pkttype::compile,
    m_recent::compile,
    m_rpfilter::compile,
    m_sctp::compile,
    m_state::compile,
    m_statistic::compile,
    m_tcp::compile,
    m_tos::compile,
    m_ttl::compile,
    m_udp::compile,
];

static TARGETS: &[TargetCompiler] = &[
    t_connmark::compile,
    t_ct::compile,
    t_log::compile,
    t_mark::compile,
    t_nat::compile,
    t_reject::compile,
    t_tcpmss::compile,
    t_ttl::compile,
];

pub fn compile_match(
    ext: &dyn Extension,
    rule: &Rule,
) -> Result<Box<dyn PacketMatch>, CompileError> {
    MATCHES.iter().find_map(|c| c(ext, rule)).ok_or_else(|| {
        CompileError(format!(
            "the engine does not implement match \"{}\" yet",
            ext.name()
        ))
    })
}

pub fn compile_target(
    ext: &dyn Extension,
    rule: &Rule,
    table: TableId,
) -> Result<Box<dyn PacketTarget>, CompileError> {
    TARGETS
        .iter()
        .find_map(|c| c(ext, rule, table))
        .ok_or_else(|| {
            CompileError(format!(
                "the engine does not implement target \"{}\" yet",
                ext.name()
            ))
        })
}

/// Downcasts an extension to its concrete rules-crate type.
pub(crate) fn downcast<T: 'static>(ext: &dyn Extension) -> Option<&T> {
    ext.as_any().downcast_ref::<T>()
}

/// A port range test (`min <= p <= max`, xor `invert`).
pub(crate) fn port_in(range: (u16, u16), invert: bool, p: u16) -> bool {
    (range.0 <= p && p <= range.1) != invert
}
