//! The compiled ruleset: the rules model lowered to an evaluation program
//! (chains as rule arrays, jumps as chain indices, extensions as compiled
//! matchers and targets), plus its counters. The evaluator (`eval.rs`)
//! walks it as `ipt_do_table` walks an xt_table blob; a faster classifier
//! can replace the walk without touching the rest.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use palisade_rules::model::{Chain, Hook, Policy, Rule, Ruleset, TableId, Target};

use crate::ext::{self, PacketMatch, PacketTarget};

/// A rule or policy counter. Only the thread that owns the engine writes
/// it (plain load + store, no locked read-modify-write); others may read.
#[derive(Debug, Default)]
pub struct Counter {
    packets: AtomicU64,
    bytes: AtomicU64,
}

impl Counter {
    fn with(packets: u64, bytes: u64) -> Counter {
        Counter {
            packets: AtomicU64::new(packets),
            bytes: AtomicU64::new(bytes),
        }
    }
    pub fn add(&self, bytes: usize) {
        let p = self.packets.load(Ordering::Relaxed);
        self.packets.store(p.wrapping_add(1), Ordering::Relaxed);
        let b = self.bytes.load(Ordering::Relaxed);
        self.bytes
            .store(b.wrapping_add(bytes as u64), Ordering::Relaxed);
    }
    pub fn get(&self) -> (u64, u64) {
        (
            self.packets.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// An interface name test (`-i`/`-o`): exact, or a prefix with `+`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceTest {
    pub name: String,
    pub prefix: bool,
    pub invert: bool,
}

impl IfaceTest {
    /// `name` is "" when the packet has no such interface at this hook.
    pub fn test(&self, name: &str) -> bool {
        let hit = if self.prefix {
            name.starts_with(&self.name)
        } else {
            name == self.name
        };
        hit != self.invert
    }
}

/// The fixed IPv4 part of a rule (`struct ipt_ip`).
#[derive(Debug, Clone)]
pub struct HeaderTest {
    pub src: (u32, u32, bool),
    pub dst: (u32, u32, bool),
    pub in_iface: Option<IfaceTest>,
    pub out_iface: Option<IfaceTest>,
    pub proto: u8,
    pub proto_invert: bool,
    /// `-f`: `Some(invert)`.
    pub fragment: Option<bool>,
}

#[derive(Debug)]
pub enum TargetProg {
    /// No target: the rule only counts.
    None,
    Accept,
    Drop,
    Return,
    Jump(usize),
    Goto(usize),
    Ext(Box<dyn PacketTarget>),
}

#[derive(Debug)]
pub struct RuleProg {
    pub header: HeaderTest,
    pub matches: Vec<Box<dyn PacketMatch>>,
    pub target: TargetProg,
    pub counter: Counter,
}

#[derive(Debug)]
pub struct ChainProg {
    pub name: String,
    pub rules: Vec<RuleProg>,
    pub policy: Option<Policy>,
    pub policy_counter: Counter,
}

#[derive(Debug)]
pub struct TableProg {
    pub id: TableId,
    pub chains: Vec<ChainProg>,
    /// The built-in chain for each hook (`Hook as usize`).
    pub entry: [Option<usize>; 5],
}

/// The compiled ruleset.
#[derive(Debug)]
pub struct Program {
    tables: [Option<TableProg>; 5],
    /// Some rule (reachable or not) loads a conntrack-dependent extension,
    /// which turns connection tracking on for the namespace, as the
    /// kernel's `nf_ct_netns_get` from a checkentry does.
    pub needs_conntrack: bool,
    source: Ruleset,
}

/// Why a ruleset cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError(pub String);

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CompileError {}

fn table_slot(id: TableId) -> usize {
    id as usize
}

impl Program {
    /// No tables: a fresh namespace.
    pub fn empty() -> Program {
        Program {
            tables: Default::default(),
            needs_conntrack: false,
            source: Ruleset::default(),
        }
    }

    /// Lowers a (validated) ruleset.
    pub fn compile(rs: &Ruleset) -> Result<Program, CompileError> {
        let mut tables: [Option<TableProg>; 5] = Default::default();
        let mut needs_conntrack = false;
        for table in rs.tables() {
            let chains: Vec<&Chain> = table.chains().collect();
            let index_of = |name: &str| chains.iter().position(|c| c.name == name);
            let mut progs = Vec::with_capacity(chains.len());
            for chain in &chains {
                let mut rules = Vec::with_capacity(chain.rules.len());
                for rule in &chain.rules {
                    let r = compile_rule(rule, &index_of, table.id)?;
                    needs_conntrack |= r.matches.iter().any(|m| m.needs_conntrack())
                        || matches!(&r.target, TargetProg::Ext(t) if t.needs_conntrack());
                    rules.push(r);
                }
                progs.push(ChainProg {
                    name: chain.name.clone(),
                    rules,
                    policy: chain.is_builtin().then_some(chain.policy),
                    policy_counter: Counter::with(chain.counters.packets, chain.counters.bytes),
                });
            }
            let mut entry = [None; 5];
            for &h in table.id.builtin_hooks() {
                entry[h as usize] = index_of(h.chain_name());
            }
            tables[table_slot(table.id)] = Some(TableProg {
                id: table.id,
                chains: progs,
                entry,
            });
        }
        Ok(Program {
            tables,
            needs_conntrack,
            source: rs.clone(),
        })
    }

    /// The ruleset it was compiled from.
    pub fn source(&self) -> &Ruleset {
        &self.source
    }

    pub fn table(&self, id: TableId) -> Option<&TableProg> {
        self.tables[table_slot(id)].as_ref()
    }

    /// The ruleset with the current counters, for `iptables-save -c`.
    pub fn ruleset_with_counters(&self) -> Ruleset {
        let mut rs = self.source.clone();
        for id in TableId::SAVE_ORDER {
            let (Some(prog), Some(table)) = (self.table(id), rs.table_mut(id)) else {
                continue;
            };
            for (chain, cp) in table.chains_mut().zip(&prog.chains) {
                let (p, b) = cp.policy_counter.get();
                chain.counters.packets = p;
                chain.counters.bytes = b;
                for (rule, rp) in chain.rules.iter_mut().zip(&cp.rules) {
                    let (p, b) = rp.counter.get();
                    rule.counters.packets = p;
                    rule.counters.bytes = b;
                }
            }
        }
        rs
    }
}

fn compile_rule(
    rule: &Rule,
    index_of: &dyn Fn(&str) -> Option<usize>,
    table: TableId,
) -> Result<RuleProg, CompileError> {
    let iface = |m: &Option<palisade_rules::model::IfaceMatch>| {
        m.as_ref().map(|m| match m.name.strip_suffix('+') {
            Some(p) => IfaceTest {
                name: p.to_string(),
                prefix: true,
                invert: m.invert,
            },
            None => IfaceTest {
                name: m.name.clone(),
                prefix: false,
                invert: m.invert,
            },
        })
    };
    let header = HeaderTest {
        src: (rule.src.addr, rule.src.mask, rule.src_invert),
        dst: (rule.dst.addr, rule.dst.mask, rule.dst_invert),
        in_iface: iface(&rule.in_iface),
        out_iface: iface(&rule.out_iface),
        proto: rule.proto,
        proto_invert: rule.proto_invert,
        fragment: rule.fragment,
    };
    let mut matches = Vec::with_capacity(rule.matches.len());
    for m in &rule.matches {
        matches.push(ext::compile_match(m.as_ref(), rule)?);
    }
    let chain = |name: &str| {
        index_of(name).ok_or_else(|| CompileError(format!("chain {name} does not exist")))
    };
    let target = match &rule.target {
        Target::None => TargetProg::None,
        Target::Accept => TargetProg::Accept,
        Target::Drop => TargetProg::Drop,
        Target::Return => TargetProg::Return,
        Target::Jump(c) => TargetProg::Jump(chain(c)?),
        Target::Goto(c) => TargetProg::Goto(chain(c)?),
        Target::Ext(t) => TargetProg::Ext(ext::compile_target(t.as_ref(), rule, table)?),
    };
    Ok(RuleProg {
        header,
        matches,
        target,
        counter: Counter::with(rule.counters.packets, rule.counters.bytes),
    })
}

/// One thing registered at a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookStep {
    Table(TableId),
    /// `nf_conntrack_in` (priority -200).
    Conntrack,
}

/// What runs at each hook, in priority order (iptables-nft uses the
/// legacy priorities: raw -300, conntrack -200, mangle -150, nat dst -100,
/// filter 0, security 50, nat src 100; include/uapi/linux/netfilter_ipv4.h).
/// Confirmation, last at INPUT and POSTROUTING, is the caller's.
pub fn steps_at(hook: Hook) -> &'static [HookStep] {
    use HookStep::{Conntrack, Table};
    use TableId::*;
    match hook {
        Hook::Prerouting => &[Table(Raw), Conntrack, Table(Mangle), Table(Nat)],
        Hook::Input => &[Table(Mangle), Table(Filter), Table(Security), Table(Nat)],
        Hook::Forward => &[Table(Mangle), Table(Filter), Table(Security)],
        Hook::Output => &[
            Table(Raw),
            Conntrack,
            Table(Mangle),
            Table(Nat),
            Table(Filter),
            Table(Security),
        ],
        Hook::Postrouting => &[Table(Mangle), Table(Nat)],
    }
}
