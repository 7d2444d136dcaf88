//! The straightforward evaluator: `ipt_do_table` over a compiled table.

use palisade_rules::model::{Hook, Policy};

use crate::ext::{HookCtx, Verdict};
use crate::program::{HeaderTest, TableProg, TargetProg};
use crate::trace::{WalkStep, WalkTrace};
use crate::wire::transport::Summary;

/// The deepest chain nesting the kernel accepts (validated at commit).
const MAX_DEPTH: usize = 16;

/// `ip_packet_match`: the rule's fixed IPv4 part.
fn header_matches(h: &HeaderTest, s: &Summary, in_name: &str, out_name: &str) -> bool {
    let (a, m, inv) = h.src;
    if (s.src & m == a) == inv {
        return false;
    }
    let (a, m, inv) = h.dst;
    if (s.dst & m == a) == inv {
        return false;
    }
    if let Some(t) = &h.in_iface {
        if !t.test(in_name) {
            return false;
        }
    }
    if let Some(t) = &h.out_iface {
        if !t.test(out_name) {
            return false;
        }
    }
    if h.proto != 0 && (s.protocol == h.proto) == h.proto_invert {
        return false;
    }
    if let Some(inv) = h.fragment {
        // IPT_F_FRAG matches second and later fragments.
        if (s.frag_offset != 0) == inv {
            return false;
        }
    }
    true
}

/// How a walk ended: the verdict, and where it was decided: the rule at
/// index `rule` of chain `chain` (positions in the table), or, when
/// `rule` is `None`, that base chain's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decided {
    pub verdict: Verdict,
    pub chain: usize,
    pub rule: Option<usize>,
}

/// Runs `hook`'s built-in chain of `table`; `None` when the table has no
/// such chain. Each step is reported to `trace` (`()` when not tracing).
pub fn run_table<T: WalkTrace>(
    table: &TableProg,
    hook: Hook,
    cx: &mut HookCtx<'_>,
    trace: &mut T,
) -> Option<Decided> {
    let entry = table.entry[hook as usize]?;
    let mut stack: [(usize, usize); MAX_DEPTH + 1] = [(0, 0); MAX_DEPTH + 1];
    let mut depth = 0;
    let (mut chain, mut pos) = (entry, 0);
    loop {
        let rules = &table.chains[chain].rules;
        let Some(rule) = rules.get(pos) else {
            // End of chain: return to the caller, or the policy.
            if depth > 0 {
                trace.chain_end(table, chain);
                depth -= 1;
                (chain, pos) = stack[depth];
                continue;
            }
            if chain != entry {
                // A chain reached by -g ends: the base chain's policy.
                trace.chain_end(table, chain);
            }
            return Some(policy(table, chain, cx, trace));
        };
        pos += 1;
        let by_rule = move |verdict| {
            Some(Decided {
                verdict,
                chain,
                rule: Some(pos - 1),
            })
        };
        let hit = {
            let (in_name, out_name) = (cx.in_name(), cx.out_name());
            header_matches(&rule.header, &cx.summary, in_name, out_name)
        } && rule.matches.iter().all(|m| m.matches(cx));
        if cx.hotdrop {
            // nft_compat turns a hotdrop into the rule's NF_DROP.
            trace.rule(table, chain, pos, WalkStep::Drop, cx.pkt);
            return by_rule(Verdict::Drop);
        }
        if !hit {
            trace.rule(table, chain, pos, WalkStep::NoMatch, cx.pkt);
            continue;
        }
        rule.counter.add(cx.summary.total_len);
        match &rule.target {
            TargetProg::None => trace.rule(table, chain, pos, WalkStep::Continue, cx.pkt),
            TargetProg::Accept => {
                trace.rule(table, chain, pos, WalkStep::Accept, cx.pkt);
                return by_rule(Verdict::Accept);
            }
            TargetProg::Drop => {
                trace.rule(table, chain, pos, WalkStep::Drop, cx.pkt);
                return by_rule(Verdict::Drop);
            }
            TargetProg::Return => {
                trace.rule(table, chain, pos, WalkStep::Return, cx.pkt);
                if depth > 0 {
                    depth -= 1;
                    (chain, pos) = stack[depth];
                } else {
                    return Some(policy(table, chain, cx, trace));
                }
            }
            TargetProg::Jump(c) => {
                if depth >= MAX_DEPTH {
                    trace.rule(table, chain, pos, WalkStep::Drop, cx.pkt);
                    return by_rule(Verdict::Drop);
                }
                trace.rule(table, chain, pos, WalkStep::Jump(*c), cx.pkt);
                stack[depth] = (chain, pos);
                depth += 1;
                (chain, pos) = (*c, 0);
            }
            TargetProg::Goto(c) => {
                trace.rule(table, chain, pos, WalkStep::Goto(*c), cx.pkt);
                (chain, pos) = (*c, 0);
            }
            TargetProg::Ext(t) => {
                let v = t.apply(cx);
                let step = match v {
                    Verdict::Continue => WalkStep::Continue,
                    Verdict::Accept => WalkStep::Accept,
                    Verdict::Drop => WalkStep::Drop,
                };
                trace.rule(table, chain, pos, step, cx.pkt);
                if v != Verdict::Continue {
                    return by_rule(v);
                }
            }
        }
    }
}

/// The built-in chain the walk started from.
fn entry_of(table: &TableProg, cx: &HookCtx<'_>) -> Option<usize> {
    table.entry[cx.hook as usize]
}

fn policy<T: WalkTrace>(
    table: &TableProg,
    chain: usize,
    cx: &HookCtx<'_>,
    trace: &mut T,
) -> Decided {
    // A RETURN or fall-through reaches the base chain's policy.
    let base = entry_of(table, cx).unwrap_or(chain);
    let c = &table.chains[base];
    c.policy_counter.add(cx.summary.total_len);
    let verdict = match c.policy {
        Some(Policy::Drop) => Verdict::Drop,
        _ => Verdict::Accept,
    };
    trace.policy(table, base, verdict, cx.pkt);
    Decided {
        verdict,
        chain: base,
        rule: None,
    }
}
