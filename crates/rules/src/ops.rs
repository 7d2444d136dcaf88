//! Carrying out a parsed `iptables` command on a ruleset, with the answers
//! iptables-nft 1.8.9 gives (iptables/nft.c `nft_cmd_*`, `nft_strerror`).
//! Every change is made on a copy of the table and committed only when the
//! kernel's checks (`validate`) accept it, so a refused command changes
//! nothing.

use crate::argv::{cmd, Invocation};
use crate::error::{Errno, Error, KernelError, KernelOp, Result};
use crate::listing;
use crate::model::{Counters, Policy, Rule, Ruleset, Table, TableId};
use crate::save;
use crate::validate;

/// The result of a command: what it prints, and whether it changed the
/// ruleset (a read-only command need not be written back).
#[derive(Debug, Default)]
pub struct Outcome {
    pub output: String,
    pub changed: bool,
}

fn kernel(op: KernelOp, errno: Errno, chain: &str) -> Error {
    Error::Kernel(KernelError {
        op,
        errno,
        chain: chain.to_string(),
    })
}

fn table_id(name: &str) -> Result<TableId> {
    TableId::from_name(name).ok_or_else(|| Error::NoTable(name.to_string()))
}

fn incompatible(chain: &str, table: &str) -> Error {
    // nft.c nft_assert_table_compatible, as printed for a missing chain.
    Error::RuntimeVersioned(format!(
        "chain `{chain}' in table `{table}' is incompatible, use 'nft' tool."
    ))
}

/// Runs one invocation against `rs`.
pub fn execute(rs: &mut Ruleset, inv: &Invocation) -> Result<Outcome> {
    let id = table_id(&inv.table)?;
    let c = inv.command;
    if c & (cmd::LIST | cmd::LIST_RULES) != 0 {
        let mut out = Outcome::default();
        let fresh;
        let table = match rs.table(id) {
            Some(t) => t,
            None => {
                fresh = Table::new(id);
                &fresh
            }
        };
        if let Some(chain) = &inv.chain {
            let Some(ch) = table.chain(chain) else {
                return Err(incompatible(chain, &inv.table));
            };
            if c & cmd::LIST != 0 {
                listing::list_chain(&mut out.output, table, ch, inv.flags, inv.rulenum);
            } else {
                save::list_rules_chain(&mut out.output, ch, inv.flags.verbose, inv.rulenum);
            }
        } else if c & cmd::LIST != 0 {
            listing::list_table(&mut out.output, table, inv.flags);
        } else {
            listing::list_rules_table(&mut out.output, table, inv.flags.verbose);
        }
        if c & (cmd::ZERO | cmd::ZERO_NUM) != 0 && rs.table(id).is_some() {
            let mut zeroed = Invocation {
                command: c & (cmd::ZERO | cmd::ZERO_NUM),
                ..inv.clone()
            };
            zeroed.flags = inv.flags;
            modify(rs, id, &zeroed)?;
            out.changed = true;
        }
        return Ok(out);
    }
    modify(rs, id, inv)?;
    Ok(Outcome {
        output: String::new(),
        changed: true,
    })
}

/// Whether a command on a missing table leaves it missing (a flush, zero
/// or delete of everything in a table that does not exist is a no-op).
fn noop_on_missing_table(inv: &Invocation) -> bool {
    inv.chain.is_none() && inv.command & (cmd::FLUSH | cmd::ZERO | cmd::DELETE_CHAIN) != 0
}

fn modify(rs: &mut Ruleset, id: TableId, inv: &Invocation) -> Result<()> {
    if rs.table(id).is_none() && noop_on_missing_table(inv) {
        return Ok(());
    }
    let mut table = rs.table(id).cloned().unwrap_or_else(|| Table::new(id));
    apply(&mut table, inv)?;
    rs.set_table(table);
    Ok(())
}

/// Applies a modifying command to a table (which the caller discards on
/// error), then validates the table as the kernel does after each change.
pub fn apply(table: &mut Table, inv: &Invocation) -> Result<()> {
    apply_unvalidated(table, inv)?;
    if inv.command & (cmd::APPEND | cmd::INSERT | cmd::REPLACE) != 0 {
        let op = match inv.command {
            cmd::APPEND => KernelOp::RuleAppend,
            cmd::INSERT => KernelOp::RuleInsert,
            _ => KernelOp::RuleReplace,
        };
        let chain = inv.chain.as_deref().unwrap_or("");
        validate::validate_table(table).map_err(|e| kernel(op, e, chain))?;
    }
    Ok(())
}

/// Applies a modifying command with the insertion-time checks only;
/// iptables-restore validates the whole table once, at COMMIT.
pub fn apply_unvalidated(table: &mut Table, inv: &Invocation) -> Result<()> {
    apply_rules(table, inv, None)
}

/// [`apply_unvalidated`] for an invocation that is no longer needed: its
/// rules move into the table instead of being copied.
pub fn apply_unvalidated_owned(table: &mut Table, mut inv: Invocation) -> Result<()> {
    let rules = std::mem::take(&mut inv.rules);
    apply_rules(table, &inv, Some(rules))
}

/// The body of [`apply_unvalidated`]; `owned` holds `inv`'s rules when
/// they may be moved.
fn apply_rules(table: &mut Table, inv: &Invocation, owned: Option<Vec<Rule>>) -> Result<()> {
    let rules: &[Rule] = owned.as_deref().unwrap_or(&inv.rules);
    let chain_name = inv.chain.as_deref().unwrap_or("");
    let c = inv.command;
    if let Some(jump) = &inv.jump_chain {
        if table.chain(jump).is_none() {
            return Err(Error::param(format!("Chain '{jump}' does not exist")));
        }
    }
    match c {
        cmd::APPEND | cmd::INSERT | cmd::REPLACE => {
            let op = match c {
                cmd::APPEND => KernelOp::RuleAppend,
                cmd::INSERT => KernelOp::RuleInsert,
                _ => KernelOp::RuleReplace,
            };
            let chain = table.chain(chain_name).ok_or_else(Error::no_such_chain)?;
            let len = chain.rules.len();
            let mut index = match c {
                cmd::APPEND => len,
                cmd::INSERT => {
                    let n = inv.rulenum as usize;
                    if n > len + 1 {
                        return Err(Error::index_too_big());
                    }
                    n - 1
                }
                _ => {
                    let n = inv.rulenum as usize;
                    if len == 0 {
                        return Err(Error::no_such_chain());
                    }
                    if n > len {
                        return Err(Error::Runtime("Index of replacement too big.".into()));
                    }
                    n - 1
                }
            };
            for rule in rules {
                validate::check_rule(table, chain, rule).map_err(|e| kernel(op, e, chain_name))?;
            }
            let chain = table
                .chain_mut(chain_name)
                .ok_or_else(Error::no_such_chain)?;
            let new: Vec<Rule> = match owned {
                Some(v) => v,
                None => inv.rules.clone(),
            };
            if c == cmd::REPLACE {
                if let (Some(slot), Some(rule)) =
                    (chain.rules.get_mut(index), new.into_iter().next())
                {
                    *slot = rule;
                }
            } else if index == chain.rules.len() {
                chain.rules.extend(new);
            } else {
                for rule in new {
                    chain.rules.insert(index, rule);
                    index += 1;
                }
            }
        }
        cmd::DELETE | cmd::CHECK => {
            let chain = table
                .chain_mut(chain_name)
                .ok_or_else(Error::no_such_chain)?;
            for rule in rules {
                let pos = chain.rules.iter().position(|r| r.same_spec(rule));
                match pos {
                    Some(i) if c == cmd::DELETE => {
                        chain.rules.remove(i);
                    }
                    Some(_) => {}
                    None => return Err(Error::bad_rule()),
                }
            }
        }
        cmd::DELETE_NUM => {
            let chain = table
                .chain_mut(chain_name)
                .ok_or_else(Error::no_such_chain)?;
            let n = inv.rulenum as usize;
            if chain.rules.is_empty() {
                return Err(Error::no_such_chain());
            }
            if n > chain.rules.len() {
                return Err(Error::Runtime("Index of deletion too big.".into()));
            }
            chain.rules.remove(n - 1);
        }
        cmd::FLUSH => match &inv.chain {
            Some(name) => {
                table
                    .chain_mut(name)
                    .ok_or_else(Error::no_such_chain)?
                    .rules
                    .clear();
            }
            None => table.chains_mut().for_each(|ch| ch.rules.clear()),
        },
        cmd::ZERO => match &inv.chain {
            Some(name) => zero_chain(table.chain_mut(name).ok_or_else(Error::no_such_chain)?),
            None => table.chains_mut().for_each(zero_chain),
        },
        cmd::ZERO_NUM => {
            let chain = table
                .chain_mut(chain_name)
                .ok_or_else(Error::no_such_chain)?;
            // nft.c nft_rule_zero_counters: an empty chain has no rule to
            // find (ENOENT); a number past the end of a non-empty chain is
            // silently ignored, as iptables-nft 1.8.9 does.
            if chain.rules.is_empty() {
                return Err(Error::bad_rule());
            }
            if let Some(r) = chain.rules.get_mut(inv.rulenum as usize - 1) {
                r.counters = Counters::default();
            }
        }
        cmd::NEW_CHAIN => {
            if table.chain(chain_name).is_some() {
                return Err(Error::chain_exists());
            }
            table.user.insert(
                chain_name.to_string(),
                crate::model::Chain::user(chain_name),
            );
        }
        cmd::DELETE_CHAIN => {
            let names: Vec<String> = match &inv.chain {
                Some(name) => {
                    if !table.user.contains_key(name) {
                        return Err(Error::no_such_chain());
                    }
                    vec![name.clone()]
                }
                None => table.user.keys().cloned().collect(),
            };
            for name in &names {
                let busy = table.user.get(name).is_some_and(|ch| !ch.rules.is_empty())
                    || table.references(name) > 0;
                if busy {
                    return Err(kernel(KernelOp::ChainDel, Errno::Busy, name));
                }
            }
            for name in &names {
                table.user.remove(name);
            }
        }
        cmd::RENAME_CHAIN => {
            let new_name = inv.new_name.as_deref().unwrap_or("");
            if !table.user.contains_key(chain_name) {
                return Err(Error::no_such_chain());
            }
            if table.chain(new_name).is_some() {
                return Err(Error::Runtime("File exists.".into()));
            }
            crate::argv::check_chain_name(new_name)?;
            let Some(mut chain) = table.user.remove(chain_name) else {
                return Err(Error::no_such_chain());
            };
            chain.name = new_name.to_string();
            table.user.insert(new_name.to_string(), chain);
            for ch in table.chains_mut() {
                for r in &mut ch.rules {
                    match &mut r.target {
                        crate::model::Target::Jump(n) | crate::model::Target::Goto(n)
                            if n == chain_name =>
                        {
                            *n = new_name.to_string();
                        }
                        _ => {}
                    }
                }
            }
        }
        cmd::SET_POLICY => {
            let policy = match inv.policy.as_deref() {
                Some("ACCEPT") => Policy::Accept,
                Some("DROP") => Policy::Drop,
                _ => {
                    if table.chain(chain_name).is_some_and(|ch| ch.is_builtin()) {
                        return Err(Error::Runtime(
                            "Bad policy name. Run `dmesg' for more information.".into(),
                        ));
                    }
                    return Err(Error::Runtime("Bad built-in chain name.".into()));
                }
            };
            let Some(chain) = table.builtins.iter_mut().find(|ch| ch.name == chain_name) else {
                return Err(Error::Runtime("Bad built-in chain name.".into()));
            };
            chain.policy = policy;
            if let Some(cnt) = inv.counters {
                chain.counters = cnt;
            }
        }
        _ => return Err(Error::param("no command specified")),
    }
    Ok(())
}

fn zero_chain(chain: &mut crate::model::Chain) {
    chain.counters = Counters::default();
    for r in &mut chain.rules {
        r.counters = Counters::default();
    }
}
