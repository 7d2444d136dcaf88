//! `iptables -L` and `iptables -S` (iptables/xshared.c `print_header`,
//! `print_rule_details`, `print_fragment`, `print_ifaces`,
//! `print_ipv4_addresses`; iptables/nft.c `nft_rule_list`).

use crate::argv::{proto_to_name, ListFlags};
use crate::model::{Chain, Table, Target};
use crate::save::{list_rules_chain, list_rules_header};

/// libxtables `xtables_print_num`. `table` pads to columns; `kmg` rounds
/// to K/M/G/T unless `-x`.
fn print_num(out: &mut String, n: u64, kmg: bool, table: bool) {
    if !kmg {
        if table {
            out.push_str(&format!("{n:>8} "));
        } else {
            out.push_str(&format!("{n} "));
        }
        return;
    }
    if n <= 99999 {
        if table {
            out.push_str(&format!("{n:>5} "));
        } else {
            out.push_str(&format!("{n} "));
        }
        return;
    }
    let mut n = n;
    for unit in ['K', 'M', 'G'] {
        n = n.saturating_add(500) / 1000;
        if n <= 9999 {
            if table {
                out.push_str(&format!("{n:>4}{unit} "));
            } else {
                out.push_str(&format!("{n}{unit} "));
            }
            return;
        }
    }
    n = n.saturating_add(500) / 1000;
    if table {
        out.push_str(&format!("{n:>4}T "));
    } else {
        out.push_str(&format!("{n}T "));
    }
}

fn print_header(out: &mut String, table: &Table, chain: &Chain, f: ListFlags) {
    out.push_str("Chain ");
    out.push_str(&chain.name);
    if chain.is_builtin() {
        out.push_str(&format!(" (policy {}", chain.policy.name()));
        if f.verbose {
            out.push(' ');
            print_num(out, chain.counters.packets, !f.exact, false);
            out.push_str("packets, ");
            print_num(out, chain.counters.bytes, !f.exact, false);
            out.push_str("bytes");
        }
        out.push_str(")\n");
    } else {
        out.push_str(&format!(
            " ({} references)\n",
            table.references(&chain.name)
        ));
    }
    if f.line_numbers {
        out.push_str(&format!("{:<4} ", "num"));
    }
    if f.verbose {
        if !f.exact {
            out.push_str(&format!("{:>5} {:>5} ", "pkts", "bytes"));
        } else {
            out.push_str(&format!("{:>8} {:>10} ", "pkts", "bytes"));
        }
    }
    out.push_str(&format!("{:<9} ", "target"));
    out.push_str(" prot ");
    out.push_str("opt");
    if f.verbose {
        out.push_str(&format!(" {:<6} {:<6} ", "in", "out"));
    }
    out.push_str(&format!(" {:<19} ", "source"));
    out.push_str(&format!(" {:<19} ", "destination"));
    out.push('\n');
}

fn target_name(target: &Target) -> &str {
    match target {
        Target::None => "",
        Target::Accept => "ACCEPT",
        Target::Drop => "DROP",
        Target::Return => "RETURN",
        Target::Jump(c) | Target::Goto(c) => c,
        Target::Ext(t) => t.list_name(),
    }
}

fn print_rule(out: &mut String, chain: &Chain, num: usize, f: ListFlags) {
    let rule = &chain.rules[num - 1];
    if f.line_numbers {
        out.push_str(&format!("{num:<4} "));
    }
    if f.verbose {
        print_num(out, rule.counters.packets, !f.exact, true);
        print_num(out, rule.counters.bytes, !f.exact, true);
    }
    out.push_str(&format!("{:<9} ", target_name(&rule.target)));
    out.push(if rule.proto_invert { '!' } else { ' ' });
    match proto_to_name(rule.proto, f.numeric) {
        Some(name) if !f.numeric => out.push_str(&format!("{name:<4} ")),
        _ => out.push_str(&format!("{:<4} ", rule.proto)),
    }
    // print_fragment
    match rule.fragment {
        Some(inv) => out.push(if inv { '!' } else { '-' }),
        None => out.push('-'),
    }
    out.push(if rule.fragment.is_some() { 'f' } else { '-' });
    out.push(' ');
    if f.verbose {
        let any = if f.numeric { "*" } else { "any" };
        for (i, iface) in [&rule.in_iface, &rule.out_iface].into_iter().enumerate() {
            let text = match iface {
                Some(m) => format!("{}{}", if m.invert { "!" } else { "" }, m.name),
                None => any.to_string(),
            };
            if i == 0 {
                out.push_str(&format!(" {text:<6} "));
            } else {
                out.push_str(&format!("{text:<6} "));
            }
        }
    }
    out.push(if rule.src_invert { '!' } else { ' ' });
    out.push_str(&format!("{:<19} ", rule.src.list_text(f.numeric)));
    out.push(if rule.dst_invert { '!' } else { ' ' });
    out.push_str(&format!("{:<19} ", rule.dst.list_text(f.numeric)));
    if matches!(rule.target, Target::Goto(_)) {
        out.push_str("[goto] ");
    }
    // Native tcp/udp matches gathered as iptables reads them back.
    let shown = crate::ext::tcp::nft_display(&rule.matches);
    for m in shown.as_deref().unwrap_or(&rule.matches) {
        m.print(out, f.numeric);
    }
    if let Target::Ext(t) = &rule.target {
        t.print(out, f.numeric);
    }
    out.push('\n');
}

/// One chain for `-L`: header and rules, or only rule `rulenum` (no header).
pub fn list_chain(out: &mut String, table: &Table, chain: &Chain, f: ListFlags, rulenum: u32) {
    if rulenum != 0 {
        if (rulenum as usize) <= chain.rules.len() {
            print_rule(out, chain, rulenum as usize, f);
        }
        return;
    }
    print_header(out, table, chain, f);
    for i in 1..=chain.rules.len() {
        print_rule(out, chain, i, f);
    }
}

/// `-L` for a whole table: chains separated by an empty line.
pub fn list_table(out: &mut String, table: &Table, f: ListFlags) {
    for (i, chain) in table.chains().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        list_chain(out, table, chain, f, 0);
    }
}

/// `-S` for a whole table: every chain's `-P`/`-N` line, then every rule.
pub fn list_rules_table(out: &mut String, table: &Table, verbose: bool) {
    for chain in table.chains() {
        list_rules_header(out, chain, verbose);
    }
    for chain in table.chains() {
        for i in 1..=chain.rules.len() {
            list_rules_chain(out, chain, verbose, i as u32);
        }
    }
}
