//! The kernel's own rule-by-rule walk of a scenario's packets, recorded
//! with nftables tracing (root only), and the walks it describes.
//!
//! While the kernel harness runs a scenario, a table of our own
//! (`ip palisade_trace`, chains at priority -350 in prerouting and output,
//! before raw's -300) sets `meta nftrace set 1` on every packet, so the
//! iptables tables themselves stay as the scenario has them (an iptables
//! `-j TRACE` rule in raw would shift its rule numbers and counters).
//! `xtables-monitor --trace` prints each traced step (iptables
//! 1.8.9 xtables-monitor.c `trace_cb`):
//!
//! ```text
//! PACKET: 2 0a4d4208 IN=eth0 ... SRC=198.51.100.2 DST=198.51.100.1 ...
//!  TRACE: 2 0a4d4208 filter:INPUT:rule:0x5:JUMP:X  -4 -t filter -A INPUT ...
//!  TRACE: 2 0a4d4208 filter:INPUT:policy:ACCEPT
//! ```
//! Rules are named by their nftables handle; `nft -a list table ip T`
//! taken after the restore gives each handle's position in its chain.
//! Only rules whose expressions all match are reported (`nft_do_chain`
//! traces no NFT_BREAK), and in Linux 6.18 a chain's end is invisible:
//! `__nft_trace_verdict` masks the verdict with NF_VERDICT_MASK, so
//! NFT_CONTINUE and NFT_RETURN are no longer told apart as
//! NFT_TRACETYPE_RETURN, and the event it sends has no rule handle, which
//! xtables-monitor does not print. An explicit `-j RETURN` shows as a rule
//! with verdict 0xfffffffb (NFT_RETURN).

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The table that switches tracing on (not an iptables table).
pub const TRACE_TABLE: &str = "palisade_trace";

/// nftables' script for it: every packet entering prerouting or output
/// is traced.
const TRACE_SETUP: &str = "\
add chain ip palisade_trace pre { type filter hook prerouting priority -350; }
add rule ip palisade_trace pre meta nftrace set 1
add chain ip palisade_trace out { type filter hook output priority -350; }
add rule ip palisade_trace out meta nftrace set 1
";

/// The iptables tables in iptables-restore's order.
const TABLES: [&str; 5] = ["raw", "mangle", "nat", "filter", "security"];

/// After a packet's output went quiet, the monitor is done once it has
/// printed nothing for this long (it asks the kernel for each rule's text
/// before printing it)...
const MONITOR_QUIET: Duration = Duration::from_millis(100);
/// ...or after this long in all.
const MONITOR_LIMIT: Duration = Duration::from_secs(2);

/// Which rule an nftables handle is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHandle {
    pub table: String,
    pub chain: String,
    pub handle: u64,
    /// Its position in the chain, from 1 (iptables' rule number).
    pub rule: usize,
}

/// A recorded kernel walk: the golden file of a trace test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelTrace {
    /// The scenario, as a path from the repository's root.
    pub scenario: String,
    /// How this file was made.
    pub command: String,
    /// `uname -r` and `iptables -V` where it was made.
    pub kernel: String,
    pub handles: Vec<RuleHandle>,
    /// For each packet of the scenario, the PACKET and TRACE lines
    /// xtables-monitor printed while it was processed.
    pub packets: Vec<Vec<String>>,
}

impl KernelTrace {
    pub fn from_json(text: &str) -> Result<KernelTrace, String> {
        serde_json::from_str(text).map_err(|e| format!("kernel trace: {e}"))
    }

    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The walks of packet `i`: one per datagram the kernel traced while
    /// handling it (the packet itself, then answers it caused), in the
    /// order they first appear.
    pub fn walks(&self, i: usize) -> Result<Vec<Vec<Step>>, String> {
        let lines = self
            .packets
            .get(i)
            .ok_or_else(|| format!("no packet {i} in the kernel trace"))?;
        let handles: HashMap<(&str, &str, u64), usize> = self
            .handles
            .iter()
            .map(|h| ((h.table.as_str(), h.chain.as_str(), h.handle), h.rule))
            .collect();
        let mut ids: Vec<String> = Vec::new();
        let mut walks: Vec<Vec<Step>> = Vec::new();
        for line in lines {
            let Some(rest) = line.trim_start().strip_prefix("TRACE: ") else {
                continue;
            };
            let mut words = rest.split_whitespace();
            let (Some(_family), Some(id), Some(what)) = (words.next(), words.next(), words.next())
            else {
                return Err(format!("unreadable trace line {line:?}"));
            };
            let Some(step) = parse_step(what, &handles)? else {
                continue;
            };
            let k = match ids.iter().position(|s| s == id) {
                Some(k) => k,
                None => {
                    ids.push(id.to_string());
                    walks.push(Vec::new());
                    ids.len() - 1
                }
            };
            walks[k].push(step);
        }
        Ok(walks)
    }
}

/// The PACKET fields compared with palisade's view of a datagram, in
/// this order (xtables-monitor.c `trace_print_packet`). Not the IP ID,
/// which Linux draws for its own datagrams (`ip_select_ident`; the lab's
/// comparison ignores it too).
pub const PACKET_FIELDS: &[&str] = &[
    "IN", "OUT", "SRC", "DST", "LEN", "TOS", "TTL", "DF", "MF", "SPORT", "DPORT",
];

impl KernelTrace {
    /// The datagrams of packet `i` as each base chain saw them (the
    /// PACKET line xtables-monitor prints before a chain's first step),
    /// grouped as [`KernelTrace::walks`] groups steps: `table:chain` and
    /// the [`PACKET_FIELDS`] it has, e.g. `nat:POSTROUTING IN=eth0
    /// OUT=docker0 SRC=... DPORT=80`.
    pub fn packets_seen(&self, i: usize) -> Result<Vec<Vec<String>>, String> {
        let lines = self
            .packets
            .get(i)
            .ok_or_else(|| format!("no packet {i} in the kernel trace"))?;
        let mut ids: Vec<String> = Vec::new();
        let mut seen: Vec<Vec<String>> = Vec::new();
        let mut pending: Option<(String, String)> = None;
        for line in lines {
            let t = line.trim_start();
            if let Some(rest) = t.strip_prefix("PACKET: ") {
                let mut words = rest.split_whitespace();
                let (Some(_family), Some(id)) = (words.next(), words.next()) else {
                    return Err(format!("unreadable packet line {line:?}"));
                };
                pending = Some((id.to_string(), packet_fields(words)));
                continue;
            }
            let Some(rest) = t.strip_prefix("TRACE: ") else {
                continue;
            };
            let mut words = rest.split_whitespace();
            let (Some(_), Some(id), Some(what)) = (words.next(), words.next(), words.next()) else {
                return Err(format!("unreadable trace line {line:?}"));
            };
            let Some((pid, fields)) = pending.take() else {
                continue;
            };
            let mut parts = what.split(':');
            let (Some(table), Some(chain)) = (parts.next(), parts.next()) else {
                return Err(format!("unreadable trace line {line:?}"));
            };
            if pid != id || table == TRACE_TABLE {
                continue;
            }
            let k = match ids.iter().position(|s| s == id) {
                Some(k) => k,
                None => {
                    ids.push(id.to_string());
                    seen.push(Vec::new());
                    ids.len() - 1
                }
            };
            seen[k].push(format!("{table}:{chain} {fields}"));
        }
        Ok(seen)
    }
}

/// The [`PACKET_FIELDS`] of a PACKET line's words, in order.
fn packet_fields<'a>(words: impl Iterator<Item = &'a str>) -> String {
    let words: Vec<&str> = words.collect();
    let mut out = Vec::new();
    for f in PACKET_FIELDS {
        for w in &words {
            match w.split_once('=') {
                Some((k, _)) if k == *f => out.push(w.to_string()),
                None if w == f => out.push(w.to_string()),
                _ => {}
            }
        }
    }
    out.join(" ")
}

/// One step of a walk as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub table: String,
    pub chain: String,
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// A matching rule (number from 1) and its verdict as xtables-monitor
    /// prints it: ACCEPT, DROP, CONTINUE, JUMP:CHAIN, GOTO:CHAIN, RETURN.
    Rule {
        rule: usize,
        verdict: String,
    },
    /// The end of a chain (not shown by Linux 6.18; see the module text).
    Return,
    Policy {
        verdict: String,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.table, self.chain)?;
        match &self.kind {
            StepKind::Rule { rule, verdict } => write!(f, "rule:{rule}:{verdict}"),
            StepKind::Return => f.write_str("return"),
            StepKind::Policy { verdict } => write!(f, "policy:{verdict}"),
        }
    }
}

/// `table:chain:rule:0xHANDLE:VERDICT`, `table:chain:policy:VERDICT` or
/// `table:chain:return:...`; `None` for our own tracing table.
fn parse_step(
    what: &str,
    handles: &HashMap<(&str, &str, u64), usize>,
) -> Result<Option<Step>, String> {
    let bad = || format!("unreadable trace step {what:?}");
    let mut parts = what.splitn(4, ':');
    let (Some(table), Some(chain), Some(kind)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if table == TRACE_TABLE {
        return Ok(None);
    }
    let rest = parts.next().unwrap_or("");
    let kind = match kind {
        "rule" => {
            let (handle, verdict) = rest.split_once(':').ok_or_else(bad)?;
            let handle =
                u64::from_str_radix(handle.trim_start_matches("0x"), 16).map_err(|_| bad())?;
            let rule = *handles
                .get(&(table, chain, handle))
                .ok_or_else(|| format!("{what}: no rule {table}:{chain} with handle {handle}"))?;
            StepKind::Rule {
                rule,
                verdict: verdict_name(verdict),
            }
        }
        "policy" => StepKind::Policy {
            verdict: verdict_name(rest),
        },
        "return" => StepKind::Return,
        _ => return Err(bad()),
    };
    Ok(Some(Step {
        table: table.to_string(),
        chain: chain.to_string(),
        kind,
    }))
}

/// xtables-monitor's `print_verdict` prints NFT_RETURN (-5) in hex.
fn verdict_name(v: &str) -> String {
    match v {
        "0xfffffffb" => "RETURN".to_string(),
        _ => v.to_string(),
    }
}

/// The rule handles of `nft -a list table ip T` output: each rule line of
/// a chain ends in `# handle N`.
pub fn parse_handles(table: &str, listing: &str) -> Vec<RuleHandle> {
    let mut out = Vec::new();
    let mut chain: Option<(String, usize)> = None;
    for line in listing.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("chain ") {
            let name = rest.split(" {").next().unwrap_or("").trim_matches('"');
            chain = Some((name.to_string(), 0));
            continue;
        }
        if line.starts_with('}') {
            chain = None;
            continue;
        }
        let Some((name, count)) = chain.as_mut() else {
            continue;
        };
        let Some((_, handle)) = line.rsplit_once("# handle ") else {
            continue;
        };
        let Ok(handle) = handle.trim().parse() else {
            continue;
        };
        *count += 1;
        out.push(RuleHandle {
            table: table.to_string(),
            chain: name.clone(),
            handle,
            rule: *count,
        });
    }
    out
}

/// The tables an iptables-restore text fills.
pub fn tables_of(rules: &str) -> Vec<&'static str> {
    TABLES
        .into_iter()
        .filter(|t| rules.lines().any(|l| l.trim() == format!("*{t}")))
        .collect()
}

/// Runs a command in the namespace (the kernel harness' `sh`).
pub type Shell<'a> = &'a dyn Fn(&[&str], Option<&str>) -> io::Result<String>;

/// xtables-monitor running in the scenario's namespace, and what it
/// printed for each packet so far.
pub struct Capture {
    child: Child,
    lines: Receiver<String>,
    pub handles: Vec<RuleHandle>,
    pub packets: Vec<Vec<String>>,
}

impl Capture {
    /// After the rules are in: notes the rule handles, starts the
    /// monitor, waits until it listens, then turns tracing on.
    pub fn start(ns: &str, sh: Shell<'_>, rules: &str) -> io::Result<Capture> {
        let mut handles = Vec::new();
        for t in tables_of(rules) {
            let listing = sh(&["nft", "-a", "list", "table", "ip", t], None)?;
            handles.extend(parse_handles(t, &listing));
        }
        sh(&["nft", "add", "table", "ip", TRACE_TABLE], None)?;
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "stdbuf",
                "-oL",
                "xtables-monitor",
                "--trace",
                "--event",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("xtables-monitor: {e}")))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(io::Error::other("xtables-monitor: no output pipe"));
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut capture = Capture {
            child,
            lines: rx,
            handles,
            packets: Vec::new(),
        };
        // The monitor listens once it reports a change we make (its event
        // lines are not flushed by itself, hence stdbuf).
        let mut ready = false;
        for i in 0..50 {
            let probe = format!("ready{i}");
            sh(&["nft", "add", "chain", "ip", TRACE_TABLE, &probe], None)?;
            let until = Instant::now() + Duration::from_millis(100);
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                match capture.lines.recv_timeout(left) {
                    Ok(l) if l.contains("ready") => ready = true,
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            if ready {
                break;
            }
        }
        if !ready {
            return Err(io::Error::other("xtables-monitor did not start listening"));
        }
        sh(&["nft", "-f", "-"], Some(TRACE_SETUP))?;
        // Whatever it printed about setting up is not a packet's.
        capture.take_lines();
        Ok(capture)
    }

    /// After a packet's output went quiet: what the monitor printed for it.
    pub fn packet_done(&mut self) {
        let lines = self.take_lines();
        self.packets.push(lines);
    }

    fn take_lines(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let end = Instant::now() + MONITOR_LIMIT;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(MONITOR_QUIET.min(left)) {
                Ok(l) => {
                    let t = l.trim_start();
                    if t.starts_with("PACKET:") || t.starts_with("TRACE:") {
                        out.push(l);
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
            if left.is_zero() {
                break;
            }
        }
        out
    }

    /// Turns tracing off (so that nothing of ours is left for
    /// iptables-save) and stops the monitor.
    pub fn finish(mut self, sh: Shell<'_>) -> io::Result<(Vec<RuleHandle>, Vec<Vec<String>>)> {
        sh(&["nft", "delete", "table", "ip", TRACE_TABLE], None)?;
        Ok((
            std::mem::take(&mut self.handles),
            std::mem::take(&mut self.packets),
        ))
    }

    fn stop(&mut self) {
        // Our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "table ip filter { # handle 2
	chain INPUT { # handle 1
		type filter hook input priority filter; policy accept;
	}

	chain FORWARD { # handle 2
		type filter hook forward priority filter; policy accept;
		counter packets 0 bytes 0 jump DOCKER-FORWARD # handle 9
	}

	chain DOCKER { # handle 4
		iifname != \"docker0\" oifname \"docker0\" ip daddr 172.17.0.2 tcp dport 80 counter packets 0 bytes 0 accept # handle 10
		iifname != \"docker0\" oifname \"docker0\" counter packets 0 bytes 0 drop # handle 11
	}

	chain DOCKER-INTERNAL { # handle 8
	}
}
";

    #[test]
    fn handles_are_numbered_per_chain() {
        let h = parse_handles("filter", LISTING);
        let got: Vec<(String, u64, usize)> = h
            .iter()
            .map(|h| (h.chain.clone(), h.handle, h.rule))
            .collect();
        assert_eq!(
            got,
            vec![
                ("FORWARD".into(), 9, 1),
                ("DOCKER".into(), 10, 1),
                ("DOCKER".into(), 11, 2),
            ]
        );
    }

    #[test]
    fn walks_group_steps_by_trace_id() {
        let t = KernelTrace {
            scenario: String::new(),
            command: String::new(),
            kernel: String::new(),
            handles: parse_handles("filter", LISTING),
            packets: vec![vec![
                "PACKET: 2 0000000a IN=eth0 SRC=1.2.3.4".into(),
                " TRACE: 2 0000000a palisade_trace:pre:rule:0x2:CONTINUE  -4 -t x".into(),
                " TRACE: 2 0000000a filter:FORWARD:rule:0x9:JUMP:DOCKER-FORWARD  -4 -t filter"
                    .into(),
                " TRACE: 2 0000000b filter:DOCKER:rule:0xb:0xfffffffb ".into(),
                " TRACE: 2 0000000a filter:FORWARD:policy:DROP ".into(),
            ]],
        };
        let walks = t.walks(0).unwrap();
        let text: Vec<Vec<String>> = walks
            .iter()
            .map(|w| w.iter().map(Step::to_string).collect())
            .collect();
        assert_eq!(
            text,
            vec![
                vec![
                    "filter:FORWARD:rule:1:JUMP:DOCKER-FORWARD".to_string(),
                    "filter:FORWARD:policy:DROP".to_string()
                ],
                vec!["filter:DOCKER:rule:2:RETURN".to_string()],
            ]
        );
        let mut bad = t.clone();
        bad.packets[0].push(" TRACE: 2 0000000a filter:DOCKER:rule:0x63:DROP ".into());
        assert!(bad.walks(0).unwrap_err().contains("handle 99"));
    }
}
