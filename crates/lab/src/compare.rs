//! Comparison of two outcomes with `../shared/tools/compare.py`'s
//! normalisation: it ignores only what Linux itself does not fix, i.e. the
//! IP ID and header checksum of every packet, the order of the packets one
//! input caused, `#` lines and table order in `iptables-save`, and the
//! timeout and `use=` of conntrack lines (which are compared sorted).
//!
//! Beyond compare.py: a packet whose hex does not decode is compared as
//! written (compare.py would stop), a table present in one save only is
//! reported even when it has no lines, and differences name what is only
//! on one side rather than printing both whole lists; `send_errors` (which
//! compare.py does not know) must be equal, and so must the expectations
//! (`conntrack -L expect`, compared sorted without their timeouts). `log`
//! is not compared: the kernel harness cannot observe LOG or NFLOG inside
//! its namespace.
//!
//! Scenarios with NAT bindings Linux chooses at random (`random_nat`)
//! are compared by rule instead ([`by_rule`]); [`compare_for`] picks the
//! way a scenario asks for.

pub mod by_rule;

use std::collections::BTreeMap;

pub use by_rule::{compare_by_rule, NatRange};

use crate::hex;
use crate::scenario::{Outcome, Output, Scenario, ScenarioError};

/// The differences between `a` (Linux) and `b` as scenario `sc` wants
/// them compared: by rule where it names `random_nat` ranges, else
/// strictly.
pub fn compare_for(sc: &Scenario, a: &Outcome, b: &Outcome) -> Result<Vec<String>, ScenarioError> {
    let ranges = sc.random_nat_ranges()?;
    Ok(if ranges.is_empty() {
        compare(a, b)
    } else {
        compare_by_rule(a, b, &ranges)
    })
}

/// The differences between `a` and `b`, readable, one per item; empty when
/// they are the same.
pub fn compare(a: &Outcome, b: &Outcome) -> Vec<String> {
    let mut d = Vec::new();
    if a.outputs.len() != b.outputs.len() {
        d.push(format!(
            "outputs: {} inputs vs {}",
            a.outputs.len(),
            b.outputs.len()
        ));
    }
    for (i, (x, y)) in a.outputs.iter().zip(&b.outputs).enumerate() {
        let (x, y) = (norm_out(x), norm_out(y));
        if x != y {
            d.push(format!("packet {i}: {}", describe_packets(&x, &y)));
        }
    }
    compare_rules_and_errors(a, b, &mut d);
    let (ca, cb) = (norm_ct(&a.conntrack), norm_ct(&b.conntrack));
    if ca != cb {
        let (only_a, only_b) = multiset_diff(&ca, &cb);
        let mut msg = String::from("conntrack:");
        for r in only_a {
            msg.push_str(&format!("\n  only in A: {r}"));
        }
        for r in only_b {
            msg.push_str(&format!("\n  only in B: {r}"));
        }
        d.push(msg);
    }
    let (ea, eb) = (norm_expect(&a.expect), norm_expect(&b.expect));
    if ea != eb {
        let (only_a, only_b) = multiset_diff(&ea, &eb);
        let mut msg = String::from("expectations:");
        for r in only_a {
            msg.push_str(&format!("\n  only in A: {r}"));
        }
        for r in only_b {
            msg.push_str(&format!("\n  only in B: {r}"));
        }
        d.push(msg);
    }
    d
}

/// The counters (`iptables-save`) and `send_errors`, which every way of
/// comparing wants the same.
fn compare_rules_and_errors(a: &Outcome, b: &Outcome, d: &mut Vec<String>) {
    let (sa, sb) = (norm_save(&a.save), norm_save(&b.save));
    let tables: std::collections::BTreeSet<&str> = sa.keys().chain(sb.keys()).copied().collect();
    for t in tables {
        match (sa.get(t), sb.get(t)) {
            (Some(_), None) => d.push(format!("save: table {t} only in A")),
            (None, Some(_)) => d.push(format!("save: table {t} only in B")),
            (Some(la), Some(lb)) if la != lb => {
                // The first differing line, as compare.py reports it.
                let n = la.len().max(lb.len());
                if let Some(k) = (0..n).find(|&k| la.get(k) != lb.get(k)) {
                    let u = la.get(k).copied().unwrap_or("<none>");
                    let v = lb.get(k).copied().unwrap_or("<none>");
                    d.push(format!("save {t} line {}: A {u:?} vs B {v:?}", k + 1));
                }
            }
            _ => {}
        }
    }
    if a.send_errors != b.send_errors {
        d.push(format!(
            "send errors: A {:?} vs B {:?}",
            a.send_errors, b.send_errors
        ));
    }
}

/// `conntrack -L expect` lines without their first field (the seconds
/// left, like a connection's timeout), sorted (the listing walks a hash
/// table).
fn norm_expect(text: &str) -> Vec<String> {
    let mut rows: Vec<String> = py_lines(text)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            f.get(1)?.starts_with("proto=").then(|| f[1..].join(" "))
        })
        .collect();
    rows.sort();
    rows
}

/// compare.py `norm_pkt`: IPv4 ID and header checksum zeroed.
fn norm_pkt(text: &str) -> String {
    let Some(mut b) = hex::decode(text) else {
        return text.to_string();
    };
    if b.len() >= 20 && b[0] >> 4 == 4 {
        b[4..6].fill(0);
        b[10..12].fill(0);
    }
    hex::encode(&b)
}

/// compare.py `norm_out`: (interface, normalised hex), sorted.
fn norm_out(outs: &[Output]) -> Vec<(String, String)> {
    let mut v: Vec<_> = outs
        .iter()
        .map(|o| (o.out.clone(), norm_pkt(&o.hex)))
        .collect();
    v.sort();
    v
}

/// compare.py `norm_save`: each table's lines, right-trimmed, without
/// empty and `#` lines.
fn norm_save(text: &str) -> BTreeMap<&str, Vec<&str>> {
    let mut tables: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut cur = None;
    for line in py_lines(text) {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            tables.insert(name, Vec::new());
            cur = Some(name);
        } else if let Some(lines) = cur.and_then(|c| tables.get_mut(c)) {
            lines.push(line);
        }
    }
    tables
}

/// compare.py `norm_ct`: the `ipv…` lines without their fifth field (the
/// timeout) and `use=`, sorted.
fn norm_ct(text: &str) -> Vec<String> {
    let mut rows: Vec<String> = py_lines(text)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if !f.first()?.starts_with("ipv") {
                return None;
            }
            let kept: Vec<&str> = f
                .iter()
                .enumerate()
                .filter(|&(i, x)| i != 4 && !x.starts_with("use="))
                .map(|(_, x)| *x)
                .collect();
            Some(kept.join(" "))
        })
        .collect();
    rows.sort();
    rows
}

/// Python's `str.splitlines` boundaries.
fn py_lines(text: &str) -> impl Iterator<Item = &str> {
    let is_break = |c: char| {
        matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        )
    };
    // "\r\n" is one boundary: the empty piece between them is dropped along
    // with every other empty line, which the callers skip anyway.
    text.split(is_break)
}

/// The items of sorted `a` not in sorted `b` and the other way round,
/// counting repeats.
fn multiset_diff<'x, T: Ord>(a: &'x [T], b: &'x [T]) -> (Vec<&'x T>, Vec<&'x T>) {
    let (mut i, mut j) = (0, 0);
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    loop {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                only_a.push(x);
                i += 1;
            }
            (Some(x), None) => {
                only_a.push(x);
                i += 1;
            }
            (_, Some(y)) => {
                only_b.push(y);
                j += 1;
            }
            (None, None) => break,
        }
    }
    (only_a, only_b)
}

fn describe_packets(a: &[(String, String)], b: &[(String, String)]) -> String {
    let (only_a, only_b) = multiset_diff(a, b);
    let mut msg = String::new();
    for (out, hx) in &only_a {
        msg.push_str(&format!("\n  only in A: {out} {hx}"));
    }
    for (out, hx) in &only_b {
        msg.push_str(&format!("\n  only in B: {out} {hx}"));
    }
    if let ([(oa, ha)], [(ob, hb)]) = (only_a.as_slice(), only_b.as_slice()) {
        if oa == ob {
            let at = ha.bytes().zip(hb.bytes()).position(|(x, y)| x != y);
            let at = at.unwrap_or(ha.len().min(hb.len())) / 2;
            msg.push_str(&format!("\n  first difference at byte {at}"));
        }
    }
    format!("{} vs {} packets out{msg}", a.len(), b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(o: &str, h: &str) -> Output {
        Output {
            out: o.into(),
            hex: h.into(),
        }
    }

    const IP1: &str = "450000140001000040ff0000010101010202020201";
    const IP1_OTHER_ID: &str = "4500001412340000 40ffabcd 01010101 02020202 01";

    #[test]
    fn ip_id_checksum_and_order_are_ignored() {
        let a = Outcome {
            outputs: vec![vec![out("eth1", IP1), out("eth0", "00")]],
            ..Outcome::default()
        };
        let b = Outcome {
            outputs: vec![vec![
                out("eth0", "00"),
                out("eth1", &IP1_OTHER_ID.to_uppercase()),
            ]],
            ..Outcome::default()
        };
        assert_eq!(compare(&a, &b), Vec::<String>::new());
    }

    #[test]
    fn packet_differences_name_both_sides() {
        let a = Outcome {
            outputs: vec![vec![out("eth1", IP1)], vec![]],
            ..Outcome::default()
        };
        let ttl = IP1.replacen("40ff", "3fff", 1);
        let b = Outcome {
            outputs: vec![vec![out("eth1", &ttl)], vec![out("eth0", "zz")]],
            ..Outcome::default()
        };
        let d = compare(&a, &b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("packet 0: 1 vs 1 packets out"), "{}", d[0]);
        assert!(d[0].contains("only in B: eth1 45000014000000003fff0000010101010202020201"));
        assert!(d[0].ends_with("first difference at byte 8"), "{}", d[0]);
        assert!(d[1].contains("only in B: eth0 zz"), "{}", d[1]);
        let c = Outcome::default();
        assert_eq!(compare(&a, &c), vec!["outputs: 2 inputs vs 0".to_string()]);
    }

    #[test]
    fn expectations_compare_sorted_without_timeouts() {
        let line = |t: u32, port: u16| {
            format!(
                "{t} proto=6 src=1.1.1.1 dst=2.2.2.2 sport=0 dport={port} mask-src=255.255.255.255 \
                 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=2.2.2.2 \
                 master-dst=1.1.1.1 sport=5 dport=21 class=0 helper=ftp\n"
            )
        };
        let a = Outcome {
            expect: line(299, 7) + &line(12, 8),
            ..Outcome::default()
        };
        let b = Outcome {
            expect: line(40, 8) + &line(298, 7),
            ..Outcome::default()
        };
        assert_eq!(compare(&a, &b), Vec::<String>::new());
        let c = Outcome {
            expect: line(299, 7),
            ..Outcome::default()
        };
        let d = compare(&a, &c);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].starts_with("expectations:\n  only in A: proto=6"),
            "{}",
            d[0]
        );
        assert!(d[0].contains("dport=8 "), "{}", d[0]);
    }

    #[test]
    fn save_ignores_comments_and_table_order() {
        let a = Outcome {
            save: "# Generated\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [1:2]  \nCOMMIT\n# done\n".into(),
            ..Outcome::default()
        };
        let b = Outcome {
            save:
                "*filter\n:INPUT ACCEPT [1:2]\nCOMMIT\n\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"
                    .into(),
            ..Outcome::default()
        };
        assert!(compare(&a, &b).is_empty());
        let c = Outcome {
            save: "*filter\n:INPUT ACCEPT [2:4]\nCOMMIT\n*mangle\nCOMMIT\n".into(),
            ..Outcome::default()
        };
        let d = compare(&a, &c);
        assert_eq!(
            d,
            vec![
                r#"save filter line 1: A ":INPUT ACCEPT [1:2]" vs B ":INPUT ACCEPT [2:4]""#,
                "save: table mangle only in B",
                "save: table nat only in A",
            ]
        );
    }

    #[test]
    fn conntrack_ignores_timeout_use_and_order() {
        let a = Outcome {
            conntrack: "ipv4     2 tcp      6 117 SYN_SENT src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 [UNREPLIED] src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 mark=0 use=1\n\
                        ipv4     2 icmp     1 29 src=1.1.1.1 dst=2.2.2.2 type=8 code=0 id=7 src=2.2.2.2 dst=1.1.1.1 type=0 code=0 id=7 mark=0 use=1\n".into(),
            ..Outcome::default()
        };
        let b = Outcome {
            conntrack: "conntrack v1.4.8 (conntrack-tools): 2 flow entries have been shown.\n\
                        ipv4     2 icmp     1 30 src=1.1.1.1 dst=2.2.2.2 type=8 code=0 id=7 src=2.2.2.2 dst=1.1.1.1 type=0 code=0 id=7 mark=0 use=2\n\
                        ipv4     2 tcp      6 120 SYN_SENT src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 [UNREPLIED] src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 mark=0 use=1\n".into(),
            ..Outcome::default()
        };
        assert!(compare(&a, &b).is_empty());
        let c = Outcome {
            conntrack: a.conntrack.replace("SYN_SENT", "SYN_RECV"),
            ..Outcome::default()
        };
        let d = compare(&a, &c);
        assert_eq!(d.len(), 1);
        assert!(
            d[0].contains("only in A: ipv4 2 tcp 6 SYN_SENT"),
            "{}",
            d[0]
        );
        assert!(
            d[0].contains("only in B: ipv4 2 tcp 6 SYN_RECV"),
            "{}",
            d[0]
        );
    }

    #[test]
    fn log_reports_are_not_compared() {
        use crate::scenario::LogEntry;
        let a = Outcome {
            log: vec![LogEntry::Nflog {
                packet: 0,
                group: 1,
                prefix: "x".into(),
                len: 20,
            }],
            ..Outcome::default()
        };
        assert!(compare(&a, &Outcome::default()).is_empty());
    }

    #[test]
    fn python_line_boundaries() {
        let v: Vec<&str> = py_lines("a\r\nb\rc\x0bd")
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(v, ["a", "b", "c", "d"]);
    }
}
