//! The ruleset model: tables, chains, rules, counters. Plain data, no
//! packets; extensions hang off rules as trait objects (see `ext`).

use std::collections::BTreeMap;

use crate::addr::Ipv4Net;
use crate::ext::Extension;

/// The five IPv4 tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableId {
    Raw,
    Mangle,
    Nat,
    Filter,
    Security,
}

/// Netfilter hooks, in the order iptables lists built-in chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

/// A set of hooks, one bit per hook (bit = `Hook as u8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct HookMask(pub u8);

impl HookMask {
    pub const NONE: HookMask = HookMask(0);
    pub const ALL: HookMask = HookMask(0x1f);

    pub const fn of(hooks: &[Hook]) -> HookMask {
        let mut bits = 0u8;
        let mut i = 0;
        while i < hooks.len() {
            bits |= 1 << hooks[i] as u8;
            i += 1;
        }
        HookMask(bits)
    }
    pub fn contains(self, hook: Hook) -> bool {
        self.0 & (1 << hook as u8) != 0
    }
    pub fn is_subset_of(self, other: HookMask) -> bool {
        self.0 & !other.0 == 0
    }
    pub fn union(self, other: HookMask) -> HookMask {
        HookMask(self.0 | other.0)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl Hook {
    pub const ALL: [Hook; 5] = [
        Hook::Prerouting,
        Hook::Input,
        Hook::Forward,
        Hook::Output,
        Hook::Postrouting,
    ];

    pub fn chain_name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }

    pub fn from_chain_name(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.chain_name() == name)
    }
}

impl TableId {
    /// The order `iptables-save` prints tables in: iptables-nft walks its
    /// builtin table array (iptables/nft.h `enum nft_table_type`).
    pub const SAVE_ORDER: [TableId; 5] = [
        TableId::Mangle,
        TableId::Security,
        TableId::Raw,
        TableId::Filter,
        TableId::Nat,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TableId::Raw => "raw",
            TableId::Mangle => "mangle",
            TableId::Nat => "nat",
            TableId::Filter => "filter",
            TableId::Security => "security",
        }
    }

    pub fn from_name(name: &str) -> Option<TableId> {
        TableId::SAVE_ORDER.into_iter().find(|t| t.name() == name)
    }

    /// Built-in chains (iptables/nft.c `xtables_ipv4`).
    pub fn builtin_hooks(self) -> &'static [Hook] {
        use Hook::*;
        match self {
            TableId::Raw => &[Prerouting, Output],
            TableId::Mangle => &[Prerouting, Input, Forward, Output, Postrouting],
            TableId::Nat => &[Prerouting, Input, Output, Postrouting],
            TableId::Filter | TableId::Security => &[Input, Forward, Output],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// A built-in chain's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Accept,
    Drop,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Accept => "ACCEPT",
            Policy::Drop => "DROP",
        }
    }
}

/// What a rule does when it matches.
#[derive(Debug, Clone)]
pub enum Target {
    /// No `-j`: the rule only counts.
    None,
    Accept,
    Drop,
    Return,
    /// `-j CHAIN`
    Jump(String),
    /// `-g CHAIN`
    Goto(String),
    /// A target extension (`-j DNAT …`).
    Ext(Box<dyn Extension>),
}

impl Target {
    /// The chain this target transfers control to, if any.
    pub fn chain_ref(&self) -> Option<&str> {
        match self {
            Target::Jump(c) | Target::Goto(c) => Some(c),
            _ => None,
        }
    }
}

/// An interface match (`-i`/`-o`): a name, `+` at the end for a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IfaceMatch {
    pub name: String,
    pub invert: bool,
}

/// One rule: the fixed IPv4 header part, extension matches, a target.
#[derive(Debug, Clone)]
pub struct Rule {
    pub src: Ipv4Net,
    pub src_invert: bool,
    pub dst: Ipv4Net,
    pub dst_invert: bool,
    pub in_iface: Option<IfaceMatch>,
    pub out_iface: Option<IfaceMatch>,
    /// IP protocol number, 0 for any.
    pub proto: u8,
    pub proto_invert: bool,
    /// `-f`: `Some(invert)` when given.
    pub fragment: Option<bool>,
    pub matches: Vec<Box<dyn Extension>>,
    pub target: Target,
    pub counters: Counters,
}

impl Default for Rule {
    fn default() -> Self {
        Rule {
            src: Ipv4Net::ANY,
            src_invert: false,
            dst: Ipv4Net::ANY,
            dst_invert: false,
            in_iface: None,
            out_iface: None,
            proto: 0,
            proto_invert: false,
            fragment: None,
            matches: Vec::new(),
            target: Target::None,
            counters: Counters::default(),
        }
    }
}

impl Rule {
    /// Whether two rules are the same rule for `-D`/`-C`: everything but
    /// the counters (compared through the canonical text, which is what
    /// identifies a rule to a user).
    pub fn same_spec(&self, other: &Rule) -> bool {
        crate::save::rule_spec(self) == crate::save::rule_spec(other)
    }
}

#[derive(Debug, Clone)]
pub struct Chain {
    pub name: String,
    /// Built-in chains have a hook and a policy.
    pub hook: Option<Hook>,
    pub policy: Policy,
    /// The policy counters of a built-in chain (zero for user chains).
    pub counters: Counters,
    pub rules: Vec<Rule>,
}

impl Chain {
    pub fn builtin(hook: Hook) -> Chain {
        Chain {
            name: hook.chain_name().to_string(),
            hook: Some(hook),
            policy: Policy::Accept,
            counters: Counters::default(),
            rules: Vec::new(),
        }
    }

    pub fn user(name: &str) -> Chain {
        Chain {
            name: name.to_string(),
            hook: None,
            policy: Policy::Accept,
            counters: Counters::default(),
            rules: Vec::new(),
        }
    }

    pub fn is_builtin(&self) -> bool {
        self.hook.is_some()
    }
}

/// A table: built-in chains in hook order, user chains by name (iptables
/// prints them sorted, as its nft cache keeps them).
#[derive(Debug, Clone)]
pub struct Table {
    pub id: TableId,
    pub builtins: Vec<Chain>,
    pub user: BTreeMap<String, Chain>,
}

impl Table {
    pub fn new(id: TableId) -> Table {
        Table {
            id,
            builtins: id
                .builtin_hooks()
                .iter()
                .map(|h| Chain::builtin(*h))
                .collect(),
            user: BTreeMap::new(),
        }
    }

    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.builtins
            .iter()
            .find(|c| c.name == name)
            .or_else(|| self.user.get(name))
    }

    pub fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        match self.builtins.iter_mut().find(|c| c.name == name) {
            Some(c) => Some(c),
            None => self.user.get_mut(name),
        }
    }

    /// All chains in listing order.
    pub fn chains(&self) -> impl Iterator<Item = &Chain> {
        self.builtins.iter().chain(self.user.values())
    }

    pub fn chains_mut(&mut self) -> impl Iterator<Item = &mut Chain> {
        self.builtins.iter_mut().chain(self.user.values_mut())
    }

    /// How many rules jump or go to `name` (the `references` of `-L`).
    pub fn references(&self, name: &str) -> usize {
        self.chains()
            .flat_map(|c| c.rules.iter())
            .filter(|r| r.target.chain_ref() == Some(name))
            .count()
    }
}

/// All tables of one host. A table absent here does not exist yet (as in
/// a fresh network namespace).
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    tables: BTreeMap<TableId, Table>,
}

impl Ruleset {
    pub fn table(&self, id: TableId) -> Option<&Table> {
        self.tables.get(&id)
    }

    pub fn table_mut(&mut self, id: TableId) -> Option<&mut Table> {
        self.tables.get_mut(&id)
    }

    /// The table, created with its built-in chains if it does not exist.
    pub fn table_or_create(&mut self, id: TableId) -> &mut Table {
        self.tables.entry(id).or_insert_with(|| Table::new(id))
    }

    pub fn remove_table(&mut self, id: TableId) {
        self.tables.remove(&id);
    }

    pub fn set_table(&mut self, table: Table) {
        self.tables.insert(table.id, table);
    }

    /// Existing tables in `iptables-save` order.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        TableId::SAVE_ORDER
            .into_iter()
            .filter_map(|id| self.tables.get(&id))
    }
}
