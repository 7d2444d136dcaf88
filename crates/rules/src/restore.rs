//! iptables-restore (iptables/xtables-restore.c with the nf_tables
//! backend). Lines are parsed as they are read; a table's commands run at
//! its `COMMIT` on a copy of the table, which replaces the live one only if
//! everything succeeded, so a failing table is left as it was while tables
//! committed earlier in the file stay committed, as with Linux.

use crate::argv::{self, check_chain_name, cmd, Invocation};
use crate::error::{Errno, Error, KernelError, KernelOp};
use crate::model::{Counters, Policy, Ruleset, Table, TableId};
use crate::ops;
use crate::validate;

/// iptables-restore's switches.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreOptions {
    /// `--noflush`: keep what the tables hold.
    pub noflush: bool,
    /// `--counters`: take `[p:b]` counters from the input.
    pub counters: bool,
    /// `--test`: parse and check only, commit nothing.
    pub test: bool,
    /// `--table NAME`: restore only this table.
    pub only_table: Option<TableId>,
}

/// How a restore failed, with what iptables-restore prints for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreError {
    /// A parameter problem at a line (exit 2).
    Param { line: usize, error: Error },
    /// `iptables-restore: line N failed[: MESSAGE]` (exit 1).
    LineFailed {
        line: usize,
        message: Option<String>,
    },
    /// `iptables-restore: COMMIT expected at line N` (exit 1).
    CommitExpected { line: usize },
    /// The kernel refused the table at commit (exit 4), one entry per
    /// refused line.
    Kernel(Vec<(usize, KernelError)>),
}

impl RestoreError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RestoreError::Param { error, .. } => error.exit_code(),
            RestoreError::LineFailed { .. } | RestoreError::CommitExpected { .. } => 1,
            RestoreError::Kernel(_) => 4,
        }
    }

    /// The text iptables-restore writes to stderr.
    pub fn message(&self, prog: &str) -> String {
        let v = crate::save::IPTABLES_VERSION;
        match self {
            RestoreError::Param { line, error: Error::BadArgument(a) } => format!(
                "Bad argument `{a}'\nError occurred at line: {line}\nTry `{prog} -h' or '{prog} --help' for more information.\n"
            ),
            RestoreError::Param { line, error } => format!(
                "{prog} {v}: {error}\nError occurred at line: {line}\nTry `{prog} -h' or '{prog} --help' for more information.\n"
            ),
            RestoreError::LineFailed { line, message: Some(m) } => {
                format!("{prog}: line {line} failed: {m}\n")
            }
            RestoreError::LineFailed { line, message: None } => {
                format!("{prog}: line {line} failed\n")
            }
            RestoreError::CommitExpected { line } => {
                format!("{prog}: COMMIT expected at line {line}\n")
            }
            RestoreError::Kernel(list) => {
                let mut s = format!("{prog} {v}: \n");
                for (line, k) in list {
                    s.push_str(&format!("line {line}: {k}\n"));
                }
                s
            }
        }
    }
}

/// The result of a restore: what `-L`/`-S` lines inside it printed.
#[derive(Debug, Default)]
pub struct RestoreOutput {
    pub output: String,
}

/// One queued step of a table's transaction.
enum Step {
    /// `:CHAIN POLICY [p:b]`
    Chain {
        name: String,
        policy: Option<Policy>,
        counters: Counters,
    },
    /// A command line.
    Command(Box<Invocation>),
}

/// The restore tokenizer (iptables/xshared.c `add_param_to_argv`): words
/// split at blanks, double quotes group, and inside quotes a backslash
/// escapes the next character. A closing quote ends the word.
pub fn tokenize(line: &str) -> Result<Vec<String>, Error> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote_open = false;
    let mut escaped = false;
    for c in line.chars() {
        if quote_open {
            if escaped {
                word.push(c);
                escaped = false;
                continue;
            } else if c == '\\' {
                escaped = true;
                continue;
            } else if c == '"' {
                quote_open = false;
            } else {
                word.push(c);
                continue;
            }
        } else if c == '"' {
            quote_open = true;
            continue;
        }
        match c {
            '"' => {}
            ' ' | '\t' | '\n' => {
                if word.is_empty() {
                    continue;
                }
            }
            _ => {
                word.push(c);
                // xt_param_buf holds 1024 bytes.
                if word.len() >= 1024 {
                    return Err(Error::param("Parameter too long!"));
                }
                continue;
            }
        }
        words.push(std::mem::take(&mut word));
        // iptables' argv store holds MAX_ARGC (255) words with the 3 it adds.
        if words.len() + 4 >= 255 {
            return Err(Error::param("Parser cannot handle more arguments"));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

/// The packet and byte counter words of a `[p:b]` prefix.
type RuleCounters = (String, String);

/// `[PKTS:BYTES]` at the start of a rule line (xshared.c
/// `tokenize_rule_counters`); returns the counters text and the rest.
fn split_rule_counters(line: &str, lineno: usize) -> Result<(Option<RuleCounters>, &str), Error> {
    if !line.starts_with('[') {
        return Ok((None, line));
    }
    let Some(close) = line.find(']') else {
        return Err(Error::param(format!("Bad line {lineno}: need ]")));
    };
    let inner = &line[1..close];
    let inner = inner.trim_start_matches(':');
    let Some((p, b)) = inner.split_once(':') else {
        return Err(Error::param(format!("Bad line {lineno}: need ]")));
    };
    let b = b.trim_start_matches(':');
    if b.is_empty() {
        return Err(Error::param(format!("Bad line {lineno}: need ]")));
    }
    Ok((Some((p.to_string(), b.to_string())), &line[close + 1..]))
}

/// `[p:b]` for a chain line (xshared.c `parse_counters`: `[%llu:%llu]`).
fn parse_chain_counters(text: &str) -> Option<Counters> {
    let inner = text.strip_prefix('[')?;
    let (p, rest) = inner.split_once(':')?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some(Counters {
        packets: p.parse().ok()?,
        bytes: digits.parse().ok()?,
    })
}

/// Restores `input` into `rs`.
pub fn restore(
    rs: &mut Ruleset,
    input: &str,
    opts: RestoreOptions,
) -> Result<RestoreOutput, RestoreError> {
    let mut out = RestoreOutput::default();
    let mut current: Option<(TableId, Vec<(usize, Step)>)> = None;
    let mut lineno = 0usize;
    for raw in input.split_inclusive('\n') {
        lineno += 1;
        // fgets reads at most 10239 bytes; longer lines are split there.
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        if raw.starts_with('\n') || line.starts_with('#') {
            continue;
        }
        let param = |error: Error| RestoreError::Param {
            line: lineno,
            error,
        };
        let in_table = current.is_some();
        if in_table && line.starts_with("COMMIT") && line.len() == 6 {
            let Some((id, steps)) = current.take() else {
                continue;
            };
            if opts.only_table.is_some_and(|t| t != id) || opts.test {
                continue;
            }
            commit_table(rs, id, steps, opts, lineno, &mut out)?;
        } else if line.starts_with('*') && !in_table {
            let name = line[1..].split([' ', '\t']).find(|w| !w.is_empty());
            let Some(name) = name else {
                return Err(param(Error::param(format!(
                    "iptables-restore: line {lineno} table name invalid"
                ))));
            };
            let Some(id) = TableId::from_name(name) else {
                return Err(param(Error::param(format!(
                    "iptables-restore: line {lineno} table name '{name}' invalid"
                ))));
            };
            current = Some((id, Vec::new()));
        } else if let (Some(rest), Some((id, steps))) = (line.strip_prefix(':'), current.as_mut()) {
            let mut words = rest.split([' ', '\t']).filter(|w| !w.is_empty());
            let Some(name) = words.next() else {
                return Err(param(Error::param(format!(
                    "iptables-restore: line {lineno} chain name invalid"
                ))));
            };
            check_chain_name(name).map_err(param)?;
            let Some(policy) = words.next() else {
                return Err(param(Error::param(format!(
                    "iptables-restore: line {lineno} policy invalid"
                ))));
            };
            let builtin = id.builtin_hooks().iter().any(|h| h.chain_name() == name);
            let mut counters = Counters::default();
            let policy = if builtin {
                if opts.counters {
                    counters = words.next().and_then(parse_chain_counters).ok_or_else(|| {
                        param(Error::param(format!(
                            "invalid policy counters for chain '{name}'"
                        )))
                    })?;
                }
                match policy {
                    "ACCEPT" => Some(Policy::Accept),
                    "DROP" => Some(Policy::Drop),
                    _ => {
                        return Err(RestoreError::LineFailed {
                            line: lineno,
                            message: Some("Bad policy name.".into()),
                        })
                    }
                }
            } else {
                None
            };
            steps.push((
                lineno,
                Step::Chain {
                    name: name.to_string(),
                    policy,
                    counters,
                },
            ));
        } else if let Some((id, steps)) = current.as_mut() {
            let (ctrs, rest) = split_rule_counters(line, lineno).map_err(param)?;
            let mut words = vec!["-t".to_string(), id.name().to_string()];
            if let (true, Some((p, b))) = (opts.counters, ctrs) {
                words.extend(["--set-counters".to_string(), p, b]);
            }
            words.extend(tokenize(rest).map_err(param)?);
            let inv = argv::parse(&words, id.name(), true).map_err(param)?;
            if inv.version || inv.help {
                continue;
            }
            if TableId::from_name(&inv.table) != Some(*id) {
                return Err(param(Error::NoTable(inv.table.clone())));
            }
            steps.push((lineno, Step::Command(Box::new(inv))));
        } else {
            return Err(RestoreError::LineFailed {
                line: lineno,
                message: None,
            });
        }
    }
    if current.is_some() {
        return Err(RestoreError::CommitExpected { line: lineno + 1 });
    }
    Ok(out)
}

/// Runs one table's queued steps and commits the result.
fn commit_table(
    rs: &mut Ruleset,
    id: TableId,
    steps: Vec<(usize, Step)>,
    opts: RestoreOptions,
    commit_line: usize,
    out: &mut RestoreOutput,
) -> Result<(), RestoreError> {
    // Without --noflush the table is deleted first and comes back, with
    // its built-in chains, on its first write (nft's table flush).
    let mut table: Option<Table> = if opts.noflush {
        rs.table(id).cloned()
    } else {
        None
    };
    // Rule-adding commands, to find which one the kernel refuses.
    let mut rule_adds: Vec<(usize, usize)> = Vec::new();
    for (index, (line, step)) in steps.iter().enumerate() {
        match step {
            Step::Chain {
                name,
                policy,
                counters,
            } => {
                let t = table.get_or_insert_with(|| Table::new(id));
                declare_chain(t, name, *policy, *counters);
            }
            Step::Command(inv) => {
                let listing = inv.command & (cmd::LIST | cmd::LIST_RULES) != 0;
                if listing {
                    let mut tmp = Ruleset::default();
                    if let Some(t) = &table {
                        tmp.set_table(t.clone());
                    }
                    let o = ops::execute(&mut tmp, inv).map_err(|e| to_line_error(e, *line))?;
                    out.output.push_str(&o.output);
                    continue;
                }
                if table.is_none()
                    && inv.chain.is_none()
                    && inv.command & (cmd::FLUSH | cmd::ZERO | cmd::DELETE_CHAIN) != 0
                {
                    continue;
                }
                let t = table.get_or_insert_with(|| Table::new(id));
                if let Some(jump) = &inv.jump_chain {
                    if t.chain(jump).is_none() {
                        return Err(RestoreError::Param {
                            line: commit_line,
                            error: Error::param(format!("Chain '{jump}' does not exist")),
                        });
                    }
                }
                ops::apply_unvalidated(t, inv).map_err(|e| to_line_error(e, *line))?;
                if inv.command & (cmd::APPEND | cmd::INSERT | cmd::REPLACE) != 0 {
                    rule_adds.push((index, *line));
                }
            }
        }
    }
    if let Some(t) = &table {
        if validate::validate_table(t).is_err() {
            return Err(locate_kernel_error(rs, id, &steps, opts, &rule_adds));
        }
    }
    match table {
        Some(t) => rs.set_table(t),
        None => rs.remove_table(id),
    }
    Ok(())
}

/// A `:CHAIN POLICY [p:b]` line: sets a built-in chain's policy and
/// counters, creates a user chain, or flushes an existing one (`:chain -`
/// under --noflush, which kube-proxy relies on).
fn declare_chain(t: &mut Table, name: &str, policy: Option<Policy>, counters: Counters) {
    match policy {
        Some(p) => {
            if let Some(ch) = t.builtins.iter_mut().find(|c| c.name == name) {
                ch.policy = p;
                ch.counters = counters;
            }
        }
        None => match t.user.get_mut(name) {
            Some(ch) => ch.rules.clear(),
            None => {
                t.user
                    .insert(name.to_string(), crate::model::Chain::user(name));
            }
        },
    }
}

fn to_line_error(e: Error, line: usize) -> RestoreError {
    match e {
        Error::Runtime(m) => RestoreError::LineFailed {
            line,
            message: Some(m),
        },
        Error::Kernel(k) => RestoreError::Kernel(vec![(line, k)]),
        other => RestoreError::Param { line, error: other },
    }
}

/// The table validation failed at commit: replay the steps to find the
/// first rule whose addition made the table invalid (validity only gets
/// worse as rules are added, so a binary search over the rule additions
/// finds it), then report it and every later rule addition, as the kernel
/// answers each later rule of the batch with the same error.
fn locate_kernel_error(
    rs: &Ruleset,
    id: TableId,
    steps: &[(usize, Step)],
    opts: RestoreOptions,
    rule_adds: &[(usize, usize)],
) -> RestoreError {
    let state_after = |upto: usize| -> Result<(), Errno> {
        let mut table: Option<Table> = if opts.noflush {
            rs.table(id).cloned()
        } else {
            None
        };
        for (_, step) in &steps[..=upto] {
            let t = table.get_or_insert_with(|| Table::new(id));
            match step {
                Step::Chain {
                    name,
                    policy,
                    counters,
                } => declare_chain(t, name, *policy, *counters),
                Step::Command(inv) => {
                    if inv.command & (cmd::LIST | cmd::LIST_RULES) == 0 {
                        let _ = ops::apply_unvalidated(t, inv);
                    }
                }
            }
        }
        table.as_ref().map_or(Ok(()), validate::validate_table)
    };
    let (mut lo, mut hi) = (0usize, rule_adds.len());
    let mut errno = Errno::Invalid;
    while lo < hi {
        let mid = (lo + hi) / 2;
        match state_after(rule_adds[mid].0) {
            Err(e) => {
                errno = e;
                hi = mid;
            }
            Ok(()) => lo = mid + 1,
        }
    }
    let mut list = Vec::new();
    for &(index, line) in &rule_adds[lo.min(rule_adds.len())..] {
        if let Step::Command(inv) = &steps[index].1 {
            let op = match inv.command {
                cmd::INSERT => KernelOp::RuleInsert,
                cmd::REPLACE => KernelOp::RuleReplace,
                _ => KernelOp::RuleAppend,
            };
            let chain = inv.chain.clone().unwrap_or_default();
            list.push((line, KernelError { op, errno, chain }));
        }
    }
    RestoreError::Kernel(list)
}
