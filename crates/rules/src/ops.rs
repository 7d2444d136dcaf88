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

/// Linux `NFT_CHAIN_MAXNAMELEN` (include/uapi/linux/netfilter/nf_tables.h).
const NFT_CHAIN_MAXNAMELEN: usize = 256;

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
            // nft.c nft_chain_user_rename: no check of the new name beyond
            // these (a user chain may be renamed `MARK`, `ACCEPT`, `a b`):
            // a new name taken by any chain of the table, built-in ones
            // included, is EEXIST; an old name that is no user chain ENOENT.
            if table.chain(new_name).is_some() {
                return Err(Error::Runtime("File exists.".into()));
            }
            if !table.user.contains_key(chain_name) {
                return Err(Error::no_such_chain());
            }
            // The kernel's NFTA_CHAIN_NAME policy (nf_tables_api.c):
            // at most NFT_CHAIN_MAXNAMELEN - 1 bytes, else ERANGE.
            if new_name.len() >= NFT_CHAIN_MAXNAMELEN {
                return Err(kernel(KernelOp::ChainRename, Errno::Range, new_name));
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argv;

    /// Runs one `iptables` command line (words split at spaces).
    fn run(rs: &mut Ruleset, line: &str) -> Result<Outcome> {
        let words: Vec<String> = line.split(' ').map(str::to_string).collect();
        execute(rs, &argv::parse(&words, "filter", false)?)
    }

    fn run_words(rs: &mut Ruleset, words: &[&str]) -> Result<Outcome> {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        execute(rs, &argv::parse(&words, "filter", false)?)
    }

    fn rules(rs: &mut Ruleset) -> String {
        run(rs, "-S").map(|o| o.output).unwrap_or_default()
    }

    const EMPTY: &str = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n";

    #[test]
    fn rename_takes_target_and_verdict_names() {
        // iptables-nft 1.8.9 applies no name check to -E's new name.
        let mut rs = Ruleset::default();
        run(&mut rs, "-N foo").unwrap();
        run(&mut rs, "-E foo MARK").unwrap();
        assert_eq!(rules(&mut rs), format!("{EMPTY}-N MARK\n"));
        run(&mut rs, "-E MARK DNAT").unwrap();
        run(&mut rs, "-E DNAT ACCEPT").unwrap();
        assert_eq!(rules(&mut rs), format!("{EMPTY}-N ACCEPT\n"));
        run_words(&mut rs, &["-E", "ACCEPT", "a b"]).unwrap();
        run_words(&mut rs, &["-E", "a b", ""]).unwrap();
        assert_eq!(rules(&mut rs), format!("{EMPTY}-N \n"));
        // -N keeps every check.
        assert_eq!(
            run(&mut rs, "-N MARK").unwrap_err(),
            Error::param("chain name may not clash with target name")
        );
    }

    #[test]
    fn new_chain_and_jump_refuse_c_spaces() {
        // xshared.c uses isspace, which takes the vertical tab.
        let mut rs = Ruleset::default();
        assert_eq!(
            run_words(&mut rs, &["-N", "a\x0bb"]).unwrap_err(),
            Error::param("Invalid chain name `a\x0bb'")
        );
        assert_eq!(
            run_words(&mut rs, &["-A", "INPUT", "-j", "a\x0bb"]).unwrap_err(),
            Error::param("Invalid target name `a\x0bb'")
        );
    }

    #[test]
    fn rename_long_names() {
        let mut rs = Ruleset::default();
        run(&mut rs, "-N a").unwrap();
        // Past the 28 characters -N allows, up to the kernel's 255 bytes.
        let long = "y".repeat(255);
        run(&mut rs, &format!("-E a {long}")).unwrap();
        assert_eq!(rules(&mut rs), format!("{EMPTY}-N {long}\n"));
        // The old name is held to the parser's limit.
        let e = run(&mut rs, &format!("-E {long} b")).unwrap_err();
        assert!(matches!(&e, Error::Param(m) if m.ends_with("too long (must be under 29 chars)")));
        // 256 bytes: the kernel's ERANGE, the name cut in the message.
        run(&mut rs, "-N b").unwrap();
        let e = run(&mut rs, &format!("-E b {}", "z".repeat(256))).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert_eq!(
            e.to_string(),
            format!(
                "CHAIN_RENAME failed (Numerical result out of range): chain {}",
                "z".repeat(121)
            )
        );
        assert!(rules(&mut rs).contains("-N b\n"));
    }

    #[test]
    fn rename_refusals_in_iptables_order() {
        let mut rs = Ruleset::default();
        run(&mut rs, "-N a").unwrap();
        run(&mut rs, "-N b").unwrap();
        let exists = Error::Runtime("File exists.".into());
        // The new name is looked at first, built-in chains included.
        assert_eq!(run(&mut rs, "-E nope INPUT").unwrap_err(), exists);
        assert_eq!(run(&mut rs, "-E nope b").unwrap_err(), exists);
        assert_eq!(run(&mut rs, "-E a a").unwrap_err(), exists);
        assert_eq!(run(&mut rs, "-E b a").unwrap_err(), exists);
        // Only user chains can be renamed.
        assert_eq!(
            run(&mut rs, "-E INPUT x").unwrap_err(),
            Error::no_such_chain()
        );
        assert_eq!(
            run(&mut rs, "-E nope x").unwrap_err(),
            Error::no_such_chain()
        );
        // PREROUTING is no chain of filter, but a built-in one of nat.
        assert_eq!(
            run(&mut rs, "-E nope PREROUTING").unwrap_err(),
            Error::no_such_chain()
        );
        assert_eq!(
            run(&mut rs, "-t nat -E nope PREROUTING").unwrap_err(),
            exists
        );
        assert_eq!(run(&mut rs, "-t nat -E nope INPUT").unwrap_err(), exists);
        assert_eq!(
            run(&mut rs, "-t nat -E nope FORWARD").unwrap_err(),
            Error::no_such_chain()
        );
        // A new name starting with `-` or `!` is no argument to getopt.
        let needs = Error::param("-E requires old-chain-name and new-chain-name");
        assert_eq!(run(&mut rs, "-E a !x").unwrap_err(), needs);
        assert_eq!(run(&mut rs, "-E a -x").unwrap_err(), needs);
        assert_eq!(run(&mut rs, "-E a").unwrap_err(), needs);
        assert_eq!(rules(&mut rs), format!("{EMPTY}-N a\n-N b\n"));
    }

    #[test]
    fn rename_moves_references() {
        let mut rs = Ruleset::default();
        for line in [
            "-N a",
            "-N b",
            "-A INPUT -j a",
            "-A b -g a",
            "-A a -j RETURN",
        ] {
            run(&mut rs, line).unwrap();
        }
        run(&mut rs, "-E a c").unwrap();
        assert_eq!(
            rules(&mut rs),
            format!("{EMPTY}-N b\n-N c\n-A INPUT -j c\n-A b -g c\n-A c -j RETURN\n")
        );
        // Renamed `ACCEPT`, the chain is still jumped to, not accepted.
        run(&mut rs, "-E c ACCEPT").unwrap();
        let t = rs.table(TableId::Filter).unwrap();
        assert_eq!(t.references("ACCEPT"), 2);
        assert!(matches!(
            &t.chain("INPUT").unwrap().rules[0].target,
            crate::model::Target::Jump(n) if n == "ACCEPT"
        ));
    }
}
