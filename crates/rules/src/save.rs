//! iptables-save and `iptables -S` output (iptables/xtables-save.c,
//! iptables/nft-ipv4.c `nft_ipv4_save_rule`, xshared.c `save_rule_details`).

use crate::argv::proto_to_name;
use crate::model::{Chain, Counters, Rule, Ruleset, Table, Target};
use crate::num::push_decimal;

/// The version iptables prints in headers and `--version`.
pub const IPTABLES_VERSION: &str = "v1.8.9 (nf_tables)";

/// Which text rules are written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// What iptables-save prints, byte for byte.
    Save,
    /// palisade's state file: the same text, except where iptables-save
    /// loses something or writes what iptables-restore cannot read back
    /// (see [`crate::state_file`]).
    State,
}

/// A rule's specification after `-A CHAIN`, with a leading space per item
/// (` -s 1.2.3.4/32 -p tcp -m tcp --dport 80 -j ACCEPT`).
pub fn rule_spec(rule: &Rule) -> String {
    let mut out = String::new();
    write_rule_spec(&mut out, rule, None, Flavour::Save);
    out
}

/// [`rule_spec`] in the given flavour.
pub fn rule_spec_as(rule: &Rule, flavour: Flavour) -> String {
    let mut out = String::with_capacity(128);
    write_rule_spec(&mut out, rule, None, flavour);
    if flavour == Flavour::State {
        escape_newlines(&mut out, 0);
    }
    out
}

/// A name iptables-save prints bare (chain, target, interface); the state
/// file quotes it when the restore tokenizer would otherwise cut it or
/// take a quote in it as the start of a quoted part (iptables takes such
/// names: blanks in an interface name only draw a warning).
fn write_name(out: &mut String, name: &str, flavour: Flavour) {
    let plain = !name.is_empty() && !name.contains([' ', '\t', '\n', '"']);
    if flavour == Flavour::Save || plain {
        out.push_str(name);
        return;
    }
    out.push('"');
    for c in name.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// The rule's specification; `counters` (for `-S -v`) go between the
/// matches and the target, as iptables prints them.
fn write_rule_spec(out: &mut String, rule: &Rule, counters: Option<Counters>, flavour: Flavour) {
    write_addr(out, 's', rule.src, rule.src_invert);
    write_addr(out, 'd', rule.dst, rule.dst_invert);
    for (letter, iface) in [('i', &rule.in_iface), ('o', &rule.out_iface)] {
        if let Some(m) = iface {
            if m.invert {
                out.push_str(" !");
            }
            out.push_str(" -");
            out.push(letter);
            out.push(' ');
            write_name(out, &m.name, flavour);
        }
    }
    if rule.proto != 0 {
        if rule.proto_invert {
            out.push_str(" !");
        }
        out.push_str(" -p ");
        match proto_to_name(rule.proto, false) {
            Some(name) => out.push_str(name),
            None => push_decimal(out, rule.proto.into()),
        }
    }
    if let Some(inv) = rule.fragment {
        if inv {
            out.push_str(" !");
        }
        out.push_str(" -f");
    }
    // iptables shows native tcp/udp matches gathered as it reads them
    // back; the state file keeps each as the kernel evaluates it.
    let shown = match flavour {
        Flavour::Save => crate::ext::tcp::nft_display(&rule.matches),
        Flavour::State => None,
    };
    for m in shown.as_deref().unwrap_or(&rule.matches) {
        out.push_str(" -m ");
        out.push_str(m.name());
        match flavour {
            Flavour::Save => m.save(out),
            Flavour::State => m.save_state(out),
        }
    }
    if let Some(c) = counters {
        out.push_str(" -c ");
        push_decimal(out, c.packets);
        out.push(' ');
        push_decimal(out, c.bytes);
    }
    match &rule.target {
        Target::None => {}
        Target::Accept => out.push_str(" -j ACCEPT"),
        Target::Drop => out.push_str(" -j DROP"),
        Target::Return => out.push_str(" -j RETURN"),
        Target::Jump(c) => {
            out.push_str(" -j ");
            write_name(out, c, flavour);
        }
        Target::Goto(c) => {
            out.push_str(" -g ");
            write_name(out, c, flavour);
        }
        Target::Ext(t) => {
            out.push_str(" -j ");
            out.push_str(t.name());
            match flavour {
                Flavour::Save => t.save(out),
                Flavour::State => t.save_state(out),
            }
        }
    }
}

fn write_addr(out: &mut String, letter: char, net: crate::addr::Ipv4Net, invert: bool) {
    // xshared.c save_ipv4_addr: nothing for 0.0.0.0/0 unless inverted.
    if net.is_any() && !invert {
        return;
    }
    if invert {
        out.push_str(" !");
    }
    out.push_str(" -");
    out.push(letter);
    out.push(' ');
    net.write_save(out);
}

/// `[PACKETS:BYTES]`
fn write_counters(out: &mut String, c: Counters) {
    out.push('[');
    push_decimal(out, c.packets);
    out.push(':');
    push_decimal(out, c.bytes);
    out.push(']');
}

/// One table in iptables-save form, from `*table` to `COMMIT`.
pub fn save_table(out: &mut String, table: &Table, with_counters: bool) {
    save_table_as(out, table, with_counters, Flavour::Save);
}

/// [`save_table`] in the given flavour.
pub fn save_table_as(out: &mut String, table: &Table, with_counters: bool, flavour: Flavour) {
    out.push('*');
    out.push_str(table.id.name());
    out.push('\n');
    for chain in table.chains() {
        let policy = if chain.is_builtin() {
            chain.policy.name()
        } else {
            "-"
        };
        let counters = if chain.is_builtin() {
            chain.counters
        } else {
            Counters::default()
        };
        out.push(':');
        out.push_str(&chain.name);
        out.push(' ');
        out.push_str(policy);
        out.push(' ');
        write_counters(out, counters);
        out.push('\n');
    }
    for chain in table.chains() {
        for rule in &chain.rules {
            if with_counters {
                write_counters(out, rule.counters);
                out.push(' ');
            }
            out.push_str("-A ");
            let start = out.len();
            write_name(out, &chain.name, flavour);
            write_rule_spec(out, rule, None, flavour);
            if flavour == Flavour::State {
                escape_newlines(out, start);
            }
            out.push('\n');
        }
    }
    out.push_str("COMMIT\n");
}

/// A rule line holds a newline only inside a quoted string (a comment or
/// log prefix): iptables-save prints it as is, which cuts the line in
/// two; the state file writes `\n`, which its reader turns back into a
/// newline inside quotes (where iptables-save never writes `\n` itself:
/// it escapes every backslash).
fn escape_newlines(out: &mut String, start: usize) {
    if !out[start..].contains('\n') {
        return;
    }
    let line = out.split_off(start);
    out.push_str(&line.replace('\n', "\\n"));
}

/// The iptables-save text of the given tables (all existing when `only`
/// is `None`), without the `#` comment lines; `stamp` adds them with the
/// given date text as iptables does.
pub fn save(
    ruleset: &Ruleset,
    only: Option<crate::model::TableId>,
    with_counters: bool,
    stamp: Option<&str>,
) -> String {
    save_as(ruleset, only, with_counters, stamp, Flavour::Save)
}

/// [`save`] in the given flavour.
pub fn save_as(
    ruleset: &Ruleset,
    only: Option<crate::model::TableId>,
    with_counters: bool,
    stamp: Option<&str>,
    flavour: Flavour,
) -> String {
    // About 80 bytes a rule: one allocation instead of a string that
    // doubles (and copies) its way to megabytes.
    let rules: usize = ruleset
        .tables()
        .flat_map(|t| t.chains())
        .map(|c| c.rules.len() + 1)
        .sum();
    let mut out = String::with_capacity(rules * 80 + 256);
    for table in ruleset
        .tables()
        .filter(|t| only.is_none_or(|id| id == t.id))
    {
        if let Some(date) = stamp {
            out.push_str(&format!(
                "# Generated by iptables-save {IPTABLES_VERSION} on {date}\n"
            ));
        }
        save_table_as(&mut out, table, with_counters, flavour);
        if let Some(date) = stamp {
            out.push_str(&format!("# Completed on {date}\n"));
        }
    }
    out
}

/// The `-P CHAIN POLICY [-c P B]` or `-N CHAIN` line of `iptables -S`.
pub fn list_rules_header(out: &mut String, chain: &Chain, verbose: bool) {
    if chain.is_builtin() {
        out.push_str(&format!("-P {} {}", chain.name, chain.policy.name()));
        if verbose {
            let c = chain.counters;
            out.push_str(&format!(" -c {} {}", c.packets, c.bytes));
        }
        out.push('\n');
    } else {
        out.push_str(&format!("-N {}\n", chain.name));
    }
}

/// `iptables -S` for one chain: the `-P`/`-N` line (when `header`), then
/// its rules, or only rule `rulenum` (1-based) when given.
pub fn list_rules_chain(out: &mut String, chain: &Chain, verbose: bool, rulenum: u32) {
    if rulenum == 0 {
        list_rules_header(out, chain, verbose);
    }
    for (i, rule) in chain.rules.iter().enumerate() {
        if rulenum != 0 && i + 1 != rulenum as usize {
            continue;
        }
        out.push_str(&format!("-A {}", chain.name));
        write_rule_spec(out, rule, verbose.then_some(rule.counters), Flavour::Save);
        out.push('\n');
    }
}
