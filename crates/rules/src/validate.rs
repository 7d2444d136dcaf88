//! The checks the kernel makes when rules are committed, as nf_tables
//! makes them for iptables-nft:
//! - at rule insertion, each extension's `checkentry`, its table
//!   restriction and, in a base chain, its hook restriction
//!   (net/netfilter/x_tables.c `xt_check_match`/`xt_check_target` via
//!   nft_compat.c `nft_target_init`); a jump to a base chain is refused
//!   with EOPNOTSUPP (nf_tables_api.c `nft_verdict_init`);
//! - after each change, the whole table from every base chain
//!   (nf_tables_api.c `nft_table_validate` → `nft_chain_validate`): a chain
//!   reached at jump depth NFT_JUMP_STACK_SIZE (16) is EMLINK, which is how
//!   a loop shows; an extension reachable from a hook it does not allow is
//!   EINVAL (nft_compat.c `nft_target_validate`/`nft_match_validate`).
//!   Chains no base chain reaches are not checked.

use std::collections::HashMap;

use crate::error::Errno;
use crate::ext::CheckCtx;
use crate::model::{Chain, HookMask, Rule, Table};

/// include/net/netfilter/nf_tables.h `NFT_JUMP_STACK_SIZE`.
const JUMP_STACK_SIZE: usize = 16;

/// The insertion-time checks for `rule` in `chain` of `table`.
pub fn check_rule(table: &Table, chain: &Chain, rule: &Rule) -> Result<(), Errno> {
    let ctx = CheckCtx {
        table: table.id,
        hook: chain.hook,
        proto: rule.proto,
        proto_invert: rule.proto_invert,
    };
    let target_ext = match &rule.target {
        crate::model::Target::Ext(t) => Some(t),
        _ => None,
    };
    for ext in rule.matches.iter().chain(target_ext) {
        if ext.table().is_some_and(|t| t != table.id) {
            return Err(Errno::Invalid);
        }
        if !ctx.hook_mask().is_subset_of(ext.hooks()) {
            return Err(Errno::Invalid);
        }
        ext.check(&ctx)?;
    }
    if let Some(name) = rule.target.chain_ref() {
        if table.chain(name).is_some_and(Chain::is_builtin) {
            return Err(Errno::NotSupported);
        }
    }
    Ok(())
}

/// The whole-table validation; `Err` names the errno of the first problem.
pub fn validate_table(table: &Table) -> Result<(), Errno> {
    let mut walker = Walker {
        table,
        checked: HashMap::new(),
        path: Vec::new(),
    };
    for base in &table.builtins {
        let Some(hook) = base.hook else { continue };
        walker.walk(base, HookMask::of(&[hook]), 0)?;
    }
    Ok(())
}

/// A depth-first walk in nft's order. A chain already checked from the
/// same hook at a depth at least as deep needs no second look (everything
/// below it had less room then); a chain met again on the current path is
/// a loop, which nft reports once the path reaches the stack limit.
struct Walker<'t> {
    table: &'t Table,
    checked: HashMap<(&'t str, u8), usize>,
    path: Vec<&'t str>,
}

impl<'t> Walker<'t> {
    fn walk(&mut self, chain: &'t Chain, hook: HookMask, depth: usize) -> Result<(), Errno> {
        if depth == JUMP_STACK_SIZE || self.path.contains(&chain.name.as_str()) {
            return Err(Errno::TooManyLinks);
        }
        let key = (chain.name.as_str(), hook.0);
        if self.checked.get(&key).is_some_and(|&d| d >= depth) {
            return Ok(());
        }
        self.checked.insert(key, depth);
        self.path.push(&chain.name);
        for rule in &chain.rules {
            let target_ext = match &rule.target {
                crate::model::Target::Ext(t) => Some(t),
                _ => None,
            };
            for ext in rule.matches.iter().chain(target_ext) {
                if !hook.is_subset_of(ext.hooks()) {
                    return Err(Errno::Invalid);
                }
            }
            if let Some(next) = rule.target.chain_ref().and_then(|n| self.table.user.get(n)) {
                self.walk(next, hook, depth + 1)?;
            }
        }
        self.path.pop();
        Ok(())
    }
}
