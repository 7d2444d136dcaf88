//! iptables-restore (iptables/xtables-restore.c with the nf_tables
//! backend). Lines are parsed as they are read; a table's commands run at
//! its `COMMIT` on a copy of the table, which replaces the live one only if
//! everything succeeded, so a failing table is left as it was while tables
//! committed earlier in the file stay committed, as with Linux.

use crate::argv::{self, check_chain_name, cmd, Invocation};
use crate::error::{Errno, Error, KernelError, KernelOp};
use crate::model::{Counters, Policy, Ruleset, Table, TableId};
use crate::ops;
use crate::state_file;
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
    /// Reading palisade's own state file (see [`crate::state_file`]):
    /// `\n` inside quotes is a newline, a line may hold any number of
    /// words, and rules are not checked for surviving the state file.
    pub state_file: bool,
    /// The result goes into a state file: refuse a rule that would not
    /// read back from it the same ([`crate::state_file::check_rule`]).
    pub keep_in_state_file: bool,
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

/// One line of a table's transaction, kept to replay the transaction
/// when the table fails validation at COMMIT.
enum Step<'a> {
    /// `:CHAIN POLICY [p:b]`
    Chain {
        name: &'a str,
        policy: Option<Policy>,
        counters: Counters,
    },
    /// A command line, parsed again when replayed.
    Command(&'a str),
}

/// Why a table's transaction failed before COMMIT: reported at COMMIT
/// (the kernel answers the whole batch), after any parameter problem in
/// a later line of the table.
enum Deferred {
    Error(RestoreError),
    /// `-j CHAIN` to a chain the table lacks, reported at the COMMIT line.
    MissingJump(String),
}

/// The table between `*table` and `COMMIT`: commands run as their lines
/// are read, on a private copy that replaces the live table at COMMIT.
struct Transaction<'a> {
    id: TableId,
    /// False under --test or for a table --table leaves out: lines are
    /// parsed and checked, nothing runs.
    live: bool,
    /// The working copy; `None` while the table does not exist (without
    /// --noflush the table is deleted first and comes back, with its
    /// built-in chains, on its first write: nft's table flush).
    table: Option<Table>,
    /// The first failure; later commands no longer run.
    failed: Option<Deferred>,
    /// What `-L`/`-S` lines printed.
    output: String,
    steps: Vec<(usize, Step<'a>)>,
    /// Rule-adding commands (index in `steps`, line), to find which one
    /// the kernel refuses.
    rule_adds: Vec<(usize, usize)>,
}

/// The restore tokenizer (iptables/xshared.c `add_param_to_argv`): words
/// split at blanks, double quotes group, and inside quotes a backslash
/// escapes the next character. A closing quote ends the word.
pub fn tokenize(line: &str) -> Result<Vec<String>, Error> {
    if line.contains('"') {
        return tokenize_quoted(line, false);
    }
    let mut words = Vec::new();
    split_plain(line, &mut words, false)?;
    Ok(words.into_iter().map(str::to_string).collect())
}

/// xt_param_buf holds 1024 bytes.
const MAX_PARAM_LEN: usize = 1024;

/// iptables' argv store holds MAX_ARGC (255) words with the 3 it adds;
/// the check runs when a blank ends a word. The state file has no such
/// limit: `iptables` itself takes any number of words.
fn too_many_words(count: usize, state_file: bool) -> bool {
    count + 4 >= 255 && !state_file
}

/// [`tokenize`] for a line without quotes (every line iptables-save
/// writes unless a comment or log prefix needs quoting): the words are
/// appended to `words` as slices of the line, nothing is copied.
fn split_plain<'a>(line: &'a str, words: &mut Vec<&'a str>, state_file: bool) -> Result<(), Error> {
    let bytes = line.as_bytes();
    let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\n');
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        if blank(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !blank(bytes[i]) {
            i += 1;
        }
        // Blanks are ASCII, so both ends are character boundaries.
        let word = &line[start..i];
        if word.len() >= MAX_PARAM_LEN {
            return Err(Error::param("Parameter too long!"));
        }
        words.push(word);
        count += 1;
        if i < bytes.len() && too_many_words(count, state_file) {
            return Err(Error::param("Parser cannot handle more arguments"));
        }
    }
    Ok(())
}

/// The general tokenizer, character by character; in the state file,
/// `\n` inside quotes stands for a newline.
pub(crate) fn tokenize_quoted(line: &str, state_file: bool) -> Result<Vec<String>, Error> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote_open = false;
    let mut escaped = false;
    for c in line.chars() {
        if quote_open {
            if escaped {
                word.push(if state_file && c == 'n' { '\n' } else { c });
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
                if word.len() >= MAX_PARAM_LEN {
                    return Err(Error::param("Parameter too long!"));
                }
                continue;
            }
        }
        words.push(std::mem::take(&mut word));
        if too_many_words(words.len(), state_file) {
            return Err(Error::param("Parser cannot handle more arguments"));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

/// The packet and byte counter words of a `[p:b]` prefix.
type RuleCounters<'a> = (&'a str, &'a str);

/// `[PKTS:BYTES]` at the start of a rule line (xshared.c
/// `tokenize_rule_counters`); returns the counters text and the rest.
fn split_rule_counters(
    line: &str,
    lineno: usize,
) -> Result<(Option<RuleCounters<'_>>, &str), Error> {
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
    Ok((Some((p, b)), &line[close + 1..]))
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

/// Parses a rule or command line of table `id` (what follows an
/// optional `[p:b]`), as iptables-restore hands it to do_parse with
/// `-t TABLE` (and `--set-counters P B` under --counters) in front.
/// `None` for `-V`/`-h`.
fn parse_command_line(
    id: TableId,
    line: &str,
    lineno: usize,
    opts: RestoreOptions,
) -> Result<Option<Invocation>, RestoreError> {
    let param = |error: Error| RestoreError::Param {
        line: lineno,
        error,
    };
    let (ctrs, rest) = split_rule_counters(line, lineno).map_err(param)?;
    let mut words: Vec<&str> = Vec::with_capacity(32);
    words.extend(["-t", id.name()]);
    if let (true, Some((p, b))) = (opts.counters, ctrs) {
        words.extend(["--set-counters", p, b]);
    }
    let quoted;
    if rest.contains('"') {
        quoted = tokenize_quoted(rest, opts.state_file).map_err(param)?;
        words.extend(quoted.iter().map(String::as_str));
    } else {
        split_plain(rest, &mut words, opts.state_file).map_err(param)?;
    }
    let inv = argv::parse_words(&words, id.name(), true).map_err(param)?;
    if inv.version || inv.help {
        return Ok(None);
    }
    if TableId::from_name(&inv.table) != Some(id) {
        return Err(param(Error::NoTable(inv.table)));
    }
    Ok(Some(inv))
}

/// Restores `input` into `rs`.
pub fn restore(
    rs: &mut Ruleset,
    input: &str,
    opts: RestoreOptions,
) -> Result<RestoreOutput, RestoreError> {
    restore_counting(rs, input, opts, &mut 0)
}

/// [`restore`], counting in `committed` the tables it put in place (or
/// deleted), which stay in place when a later table fails: whoever keeps
/// the ruleset somewhere learns whether it needs writing back without
/// comparing copies.
pub fn restore_counting(
    rs: &mut Ruleset,
    input: &str,
    opts: RestoreOptions,
    committed: &mut usize,
) -> Result<RestoreOutput, RestoreError> {
    let mut out = RestoreOutput::default();
    let mut current: Option<Transaction<'_>> = None;
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
            let Some(tx) = current.take() else {
                continue;
            };
            if commit_table(rs, tx, opts, lineno, &mut out)? {
                *committed += 1;
            }
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
            let live = !opts.test && opts.only_table.is_none_or(|t| t == id);
            current = Some(Transaction {
                id,
                live,
                table: if live && opts.noflush {
                    rs.table(id).cloned()
                } else {
                    None
                },
                failed: None,
                output: String::new(),
                steps: Vec::new(),
                rule_adds: Vec::new(),
            });
        } else if let (Some(rest), Some(tx)) = (line.strip_prefix(':'), current.as_mut()) {
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
            let builtin = tx.id.builtin_hooks().iter().any(|h| h.chain_name() == name);
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
            if tx.live && tx.failed.is_none() {
                let t = tx.table.get_or_insert_with(|| Table::new(tx.id));
                declare_chain(t, name, policy, counters);
                tx.steps.push((
                    lineno,
                    Step::Chain {
                        name,
                        policy,
                        counters,
                    },
                ));
            }
        } else if let Some(tx) = current.as_mut() {
            let Some(inv) = parse_command_line(tx.id, line, lineno, opts)? else {
                continue;
            };
            if tx.live && tx.failed.is_none() {
                run_command(tx, inv, lineno, line, opts);
            }
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

/// Runs one command of a live transaction; a failure is kept for COMMIT.
fn run_command<'a>(
    tx: &mut Transaction<'a>,
    inv: Invocation,
    lineno: usize,
    line: &'a str,
    opts: RestoreOptions,
) {
    if inv.command & (cmd::LIST | cmd::LIST_RULES) != 0 {
        let mut tmp = Ruleset::default();
        if let Some(t) = &tx.table {
            tmp.set_table(t.clone());
        }
        match ops::execute(&mut tmp, &inv) {
            Ok(o) => tx.output.push_str(&o.output),
            Err(e) => tx.failed = Some(Deferred::Error(to_line_error(e, lineno))),
        }
        return;
    }
    if tx.table.is_none()
        && inv.chain.is_none()
        && inv.command & (cmd::FLUSH | cmd::ZERO | cmd::DELETE_CHAIN) != 0
    {
        return;
    }
    let t = tx.table.get_or_insert_with(|| Table::new(tx.id));
    if let Some(jump) = &inv.jump_chain {
        if t.chain(jump).is_none() {
            tx.failed = Some(Deferred::MissingJump(jump.clone()));
            return;
        }
    }
    let adds = inv.command & (cmd::APPEND | cmd::INSERT | cmd::REPLACE) != 0;
    if adds && opts.keep_in_state_file {
        let chain = inv.chain.as_deref().unwrap_or("");
        let rest = match split_rule_counters(line, lineno) {
            Ok((_, rest)) => rest,
            Err(_) => line,
        };
        for rule in &inv.rules {
            let checked = if inv.command == cmd::APPEND && inv.rules.len() == 1 {
                state_file::check_restored_rule(tx.id, chain, rule, rest)
            } else {
                state_file::check_rule(tx.id, chain, rule)
            };
            if let Err(e) = checked {
                tx.failed = Some(Deferred::Error(to_line_error(e, lineno)));
                return;
            }
        }
    }
    if let Err(e) = ops::apply_unvalidated_owned(t, inv) {
        tx.failed = Some(Deferred::Error(to_line_error(e, lineno)));
        return;
    }
    if adds {
        tx.rule_adds.push((tx.steps.len(), lineno));
    }
    tx.steps.push((lineno, Step::Command(line)));
}

/// COMMIT: reports a failure of the transaction, else validates the table
/// as the kernel does and puts it in place. `Ok(false)` when the table
/// was only checked (--test, or left out by --table).
fn commit_table(
    rs: &mut Ruleset,
    tx: Transaction<'_>,
    opts: RestoreOptions,
    commit_line: usize,
    out: &mut RestoreOutput,
) -> Result<bool, RestoreError> {
    if !tx.live {
        return Ok(false);
    }
    match tx.failed {
        Some(Deferred::Error(e)) => return Err(e),
        Some(Deferred::MissingJump(jump)) => {
            return Err(RestoreError::Param {
                line: commit_line,
                error: Error::param(format!("Chain '{jump}' does not exist")),
            })
        }
        None => {}
    }
    out.output.push_str(&tx.output);
    if let Some(t) = &tx.table {
        if validate::validate_table(t).is_err() {
            return Err(locate_kernel_error(
                rs,
                tx.id,
                &tx.steps,
                opts,
                &tx.rule_adds,
            ));
        }
    }
    match tx.table {
        Some(t) => rs.set_table(t),
        None => rs.remove_table(tx.id),
    }
    Ok(true)
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
    steps: &[(usize, Step<'_>)],
    opts: RestoreOptions,
    rule_adds: &[(usize, usize)],
) -> RestoreError {
    // The lines parsed once already; parsing is deterministic.
    let invocation =
        |lineno: usize, line: &str| parse_command_line(id, line, lineno, opts).ok().flatten();
    let state_after = |upto: usize| -> Result<(), Errno> {
        let mut table: Option<Table> = if opts.noflush {
            rs.table(id).cloned()
        } else {
            None
        };
        for (lineno, step) in &steps[..=upto] {
            let t = table.get_or_insert_with(|| Table::new(id));
            match step {
                Step::Chain {
                    name,
                    policy,
                    counters,
                } => declare_chain(t, name, *policy, *counters),
                Step::Command(line) => {
                    if let Some(inv) = invocation(*lineno, line) {
                        let _ = ops::apply_unvalidated_owned(t, inv);
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
        let (lineno, Step::Command(text)) = &steps[index] else {
            continue;
        };
        if let Some(inv) = invocation(*lineno, text) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::save::save;

    fn run(input: &str, opts: RestoreOptions) -> (Result<String, String>, String) {
        let mut rs = Ruleset::default();
        let base = "*filter\n:keep - [0:0]\n-A INPUT -j keep\nCOMMIT\n";
        restore(&mut rs, base, RestoreOptions::default()).expect("base ruleset");
        let r = restore(&mut rs, input, opts)
            .map(|o| o.output)
            .map_err(|e| e.message("iptables-restore"));
        (r, save(&rs, None, false, None))
    }

    const BASE_SAVED: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:keep - [0:0]\n-A INPUT -j keep\nCOMMIT\n";

    #[test]
    fn iptables_nft_drops_a_bare_plus_and_reads_tcp_ranges_back() {
        // Checked with iptables 1.8.9 (nf_tables) on Linux 6.18.
        let (r, saved) = run(
            "*filter\n-A FORWARD -i + -o + -j ACCEPT\n-A FORWARD ! -i + ! -o eth+\n\
             -A FORWARD -p tcp ! --dport 0:1023 ! --sport 1024:65535\nCOMMIT\n",
            RestoreOptions::default(),
        );
        assert_eq!(r, Ok(String::new()));
        assert_eq!(
            saved,
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A FORWARD -j ACCEPT\n-A FORWARD ! -i + ! -o eth+\n\
             -A FORWARD -p tcp -m tcp ! --sport 1024:65535 --dport 1024:65535\nCOMMIT\n"
        );
    }

    #[test]
    fn a_later_parameter_problem_wins_over_an_earlier_failed_command() {
        let (r, saved) = run(
            "*filter\n-A nochain -j ACCEPT\n-A INPUT --bogus\nCOMMIT\n",
            RestoreOptions::default(),
        );
        let e = r.unwrap_err();
        assert!(
            e.contains("unknown option \"--bogus\"\nError occurred at line: 3"),
            "{e}"
        );
        assert_eq!(saved, BASE_SAVED);
        let (r, _) = run(
            "*filter\n-A nochain -j ACCEPT\n-A INPUT -j ACCEPT\nCOMMIT\n",
            RestoreOptions::default(),
        );
        assert_eq!(
            r.unwrap_err(),
            "iptables-restore: line 2 failed: No chain/target/match by that name.\n"
        );
    }

    #[test]
    fn a_jump_to_a_missing_chain_is_reported_at_commit() {
        let (r, saved) = run(
            "*filter\n-A INPUT -j foo\n-A INPUT -p tcp --dport 80 -j ACCEPT\nCOMMIT\n",
            RestoreOptions::default(),
        );
        let e = r.unwrap_err();
        assert!(
            e.contains("Chain 'foo' does not exist\nError occurred at line: 4"),
            "{e}"
        );
        assert_eq!(saved, BASE_SAVED);
    }

    #[test]
    fn a_loop_is_found_by_replaying_the_transaction() {
        let input = "*filter\n:a - [0:0]\n:b - [0:0]\n-A INPUT -j a\n-A a -j b\n-A b -j a\n-A INPUT -j ACCEPT\nCOMMIT\n";
        let (r, saved) = run(input, RestoreOptions::default());
        assert_eq!(
            r.unwrap_err(),
            "iptables-restore v1.8.9 (nf_tables): \nline 6: RULE_APPEND failed (Too many links): rule in chain b\nline 7: RULE_APPEND failed (Too many links): rule in chain INPUT\n"
        );
        assert_eq!(saved, BASE_SAVED);
        // --test parses only: nothing runs, nothing fails, nothing changes.
        let opts = RestoreOptions {
            test: true,
            ..Default::default()
        };
        let (r, saved) = run(input, opts);
        assert_eq!(r, Ok(String::new()));
        assert_eq!(saved, BASE_SAVED);
    }

    #[test]
    fn listings_see_the_table_as_it_is_at_their_line() {
        let input = "*filter\n:c - [0:0]\n-S\n-A c -j ACCEPT\n-S c\nCOMMIT\n";
        let (r, _) = run(input, RestoreOptions::default());
        assert_eq!(
            r.unwrap(),
            "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n-N c\n-N c\n-A c -j ACCEPT\n"
        );
    }

    #[test]
    fn noflush_keeps_and_tables_committed_before_a_failure_stay() {
        let opts = RestoreOptions {
            noflush: true,
            ..Default::default()
        };
        let (r, saved) = run("*filter\n-A keep -j DROP\nCOMMIT\n", opts);
        assert_eq!(r, Ok(String::new()));
        assert!(
            saved.contains("-A INPUT -j keep\n-A keep -j DROP\n"),
            "{saved}"
        );
        let (r, saved) = run(
            "*nat\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n*filter\n-A INPUT -j nope\nCOMMIT\n",
            RestoreOptions::default(),
        );
        assert!(r.is_err());
        assert!(
            saved.contains("*nat\n") && saved.contains("-A INPUT -j keep\n"),
            "{saved}"
        );
    }

    #[test]
    fn tokenizer_fast_path_agrees_with_the_general_one() {
        for line in [
            "-A INPUT  -s 1.2.3.4\t-j ACCEPT ",
            "   ",
            "",
            "-A\tX\n",
            "x y z",
        ] {
            let fast: Vec<String> = tokenize(line).unwrap();
            assert_eq!(fast, tokenize_quoted(line, false).unwrap(), "{line:?}");
        }
        let long = format!("-A INPUT {}", "x".repeat(1024));
        assert!(tokenize(&long).is_err() && tokenize_quoted(&long, false).is_err());
        let ok = format!("-A INPUT {}", "x".repeat(1023));
        assert!(tokenize(&ok).is_ok());
        // 250 words and a blank after the last one: too many; without the
        // blank the last word is taken as iptables does.
        let many = vec!["w"; 251].join(" ");
        assert!(tokenize(&many).is_ok() && tokenize_quoted(&many, false).is_ok());
        let many_blank = format!("{many} ");
        assert!(tokenize(&many_blank).is_err() && tokenize_quoted(&many_blank, false).is_err());
        assert_eq!(
            tokenize("-m comment --comment \"a \\\"b\\\" c\" -j X").unwrap(),
            ["-m", "comment", "--comment", "a \"b\" c", "-j", "X"]
        );
    }
}
