//! `palisade trace`: one packet's way through a ruleset, rule by rule.

mod capture;
mod packet;
mod render;

use std::io::{IsTerminal, Read};
use std::path::Path;

use palisade_lab::scenario::{Host, Interface, Packet, Scenario, Sysctls, Via};
use palisade_lab::simulate::DEFAULT_SEED;
use palisade_lab::trace::trace;
use palisade_rules::model::Ruleset;
use palisade_rules::restore::{restore, RestoreOptions};

use render::Style;

pub const USAGE: &str = "\
usage: palisade trace [OPTIONS] RULES PACKET...
       palisade trace [OPTIONS] RULES --pcap FILE --frame N [--in IFACE]
       palisade trace [OPTIONS] --scenario FILE [--index N | PACKET...]

Follows one packet through the ruleset as Linux would: every rule each
table's walk visits (table:chain:rule:N and its verdict, as the kernel's
TRACE reports them; rules that did not match are shown dimmed), the hooks,
connection tracking, NAT rewrites, routing, the answers the host sends on
the way, the bytes that leave, and the connection's entry before and
after.

RULES is an iptables-save file (- for standard input). PACKET, as one
argument or several words:
  tcp SRC:PORT -> DST:PORT in IFACE [flags S] [seq N] [ack N] [opts mss:1460]
  udp SRC:PORT -> DST:PORT in IFACE [len N | data HEX]
  icmp SRC -> DST in IFACE type echo-request [id N] [seq N]
  `local` instead of `in IFACE`: sent by a process on this host.
  Any option of the lab's pkt language works, as `key value` or `key=value`
  (ttl, tos, df, id, len, data, win, opts, badsum, ...; README: Packets).

The host:
  --topology FILE    interfaces, routes and sysctls as in a scenario:
                     {\"interfaces\": [{\"name\": \"eth0\", \"addr\": \"198.51.100.1/24\"}],
                      \"routes\": [\"default via 198.51.100.254 dev eth0\"]}
                     (a scenario file will do; its rules and packets are not used)
  --addr IFACE=ADDR/LEN     an interface and its address; repeatable
  --route SPEC       a route in `ip route add` syntax; repeatable
  Without --topology or --addr, the host has `lo` and the interfaces the
  packet and the rules name (-i/-o, not those ending in +), with no
  addresses and no routes: nothing but 127.0.0.0/8 is local and nothing
  can be forwarded. Give the addresses to see DNAT, forwarding and
  MASQUERADE.

A packet from a capture (pcap or pcapng), after the frames before it:
  --pcap FILE --frame N   frame N (from 1, as Wireshark numbers them); the
                     IPv4 datagrams the capturing host received go in, at
                     their capture times, as `palisade replay` takes them
  --in IFACE         the interface they arrived on (a pcap file names
                     none; a pcapng file's interface names are used)

Earlier packets (to trace e.g. the answer of an established connection):
  --prior PACKET     run first, untraced, 30 ms apart; repeatable, in order
  --scenario FILE    rules, host and packets of a scenario: with --index N
                     (from 0) trace its packet N after the ones before it;
                     with a PACKET, trace that after all of its packets

Output:
  --matches          show only the rules that matched (as the kernel does)
  --json             JSON for tools: the events in order (begin/end of each
                     datagram, hook, table, rule, return, policy, conntrack,
                     nat, route, out, deliver, loopback, held), outputs,
                     connections, result
  --color WHEN       auto (a terminal and NO_COLOR unset), always, never
  --seed N           the seed of every random choice (as simulate)";

/// What the command line asks for.
#[derive(Debug, Default)]
struct Args {
    rules: Option<String>,
    packet: Vec<String>,
    topology: Option<String>,
    ifaces: Vec<String>,
    routes: Vec<String>,
    priors: Vec<String>,
    scenario: Option<String>,
    index: Option<usize>,
    pcap: Option<String>,
    frame: Option<u64>,
    ingress: Option<String>,
    matches_only: bool,
    json: bool,
    color: Option<bool>,
    seed: u64,
}

fn parse_args(args: &[String]) -> Result<Option<Args>, String> {
    let mut a = Args {
        seed: DEFAULT_SEED,
        ..Args::default()
    };
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--topology" => a.topology = Some(value(arg)?),
            "--addr" => a.ifaces.push(value(arg)?),
            "--route" => a.routes.push(value(arg)?),
            "--prior" => a.priors.push(value(arg)?),
            "--scenario" => a.scenario = Some(value(arg)?),
            "--index" => {
                let v = value(arg)?;
                a.index = Some(
                    v.parse()
                        .map_err(|_| format!("--index {v}: not a number"))?,
                );
            }
            "--pcap" => a.pcap = Some(value(arg)?),
            "--frame" => {
                let v = value(arg)?;
                a.frame = Some(
                    v.parse()
                        .map_err(|_| format!("--frame {v}: not a number"))?,
                );
            }
            "--in" => a.ingress = Some(value(arg)?),
            "--matches" => a.matches_only = true,
            "--json" => a.json = true,
            "--color" | "--colour" => {
                a.color = match value(arg)?.as_str() {
                    "auto" => None,
                    "always" => Some(true),
                    "never" => Some(false),
                    w => return Err(format!("--color {w}: auto, always or never")),
                }
            }
            "--seed" => {
                let v = value(arg)?;
                a.seed = v.parse().map_err(|_| format!("--seed {v}: not a number"))?;
            }
            "--" => positional.extend(it.by_ref().cloned()),
            o if o.starts_with("--") => return Err(format!("unknown option {o}")),
            p => positional.push(p.to_string()),
        }
    }
    if a.scenario.is_none() {
        if positional.is_empty() {
            return Err("no rules file".to_string());
        }
        a.rules = Some(positional.remove(0));
        if a.index.is_some() {
            return Err("--index needs --scenario".to_string());
        }
    }
    a.packet = positional;
    if a.pcap.is_some() {
        if a.scenario.is_some() || !a.packet.is_empty() || !a.priors.is_empty() {
            return Err(
                "--pcap takes its packets from the capture: no --scenario, --prior or PACKET"
                    .into(),
            );
        }
        if a.frame.is_none() {
            return Err("--pcap needs --frame N".into());
        }
        return Ok(Some(a));
    }
    if a.frame.is_some() || a.ingress.is_some() {
        return Err("--frame and --in go with --pcap".into());
    }
    match (&a.scenario, a.index, a.packet.is_empty()) {
        (None, _, true) => return Err("no packet".to_string()),
        (Some(_), Some(_), false) => return Err("--index or a PACKET, not both".to_string()),
        (Some(_), None, true) => return Err("--scenario needs --index N or a PACKET".to_string()),
        _ => {}
    }
    Ok(Some(a))
}

fn read_text(file: &str) -> Result<String, String> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("standard input: {e}"))?;
        return Ok(text);
    }
    std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))
}

/// The interfaces the rules name by full name (`-i`/`-o`, no `+`).
fn rule_interfaces(rules: &str) -> Result<Vec<String>, String> {
    let mut rs = Ruleset::default();
    restore(&mut rs, rules, RestoreOptions::default())
        .map_err(|e| format!("rules: {}", e.message("iptables-restore").trim_end()))?;
    let mut names: Vec<String> = Vec::new();
    for table in rs.tables() {
        for chain in table.chains() {
            for rule in &chain.rules {
                for m in [&rule.in_iface, &rule.out_iface].into_iter().flatten() {
                    if !m.name.ends_with('+') && m.name != "lo" && !names.contains(&m.name) {
                        names.push(m.name.clone());
                    }
                }
            }
        }
    }
    Ok(names)
}

/// The scenario to trace, its packet to trace, and notes for the reader.
fn build(a: &Args) -> Result<(Scenario, usize, Vec<String>), String> {
    let mut notes = Vec::new();
    let mut sc = match &a.scenario {
        Some(f) => Scenario::load(Path::new(f)).map_err(|e| e.to_string())?,
        None => Scenario {
            comment: None,
            interfaces: Vec::new(),
            routes: Vec::new(),
            sysctl: Sysctls::default(),
            rules: String::new(),
            random_nat: Vec::new(),
            packets: Vec::new(),
        },
    };
    if let Some(f) = &a.rules {
        sc.rules = read_text(f)?;
    }
    if let Some(f) = &a.topology {
        let t = Host::from_json(&read_text(f)?).map_err(|e| format!("{f}: {e}"))?;
        sc.interfaces.extend(t.interfaces);
        sc.routes.extend(t.routes);
        sc.sysctl.0.extend(t.sysctl.0);
    }
    for spec in &a.ifaces {
        let Some((name, addr)) = spec.split_once('=') else {
            return Err(format!("--addr {spec}: expected IFACE=ADDR/LEN"));
        };
        let (name, addr) = (name.to_string(), Some(addr.to_string()));
        sc.interfaces.push(Interface {
            name,
            addr,
            mtu: None,
        });
    }
    sc.routes.extend(a.routes.iter().cloned());
    let as_packet = |p: packet::CliPacket| Packet {
        via: p.via,
        bytes: p.bytes,
        pkt: Some(p.spec),
        at: None,
        comment: None,
    };
    // The packets to add to the scenario's, the traced one last.
    let mut packets = Vec::new();
    if let (Some(file), Some(frame)) = (&a.pcap, a.frame) {
        packets = capture::packets(file, frame, a.ingress.as_deref())?;
    } else if !a.packet.is_empty() {
        for p in &a.priors {
            packets.push(as_packet(packet::parse(std::slice::from_ref(p))?));
        }
        packets.push(as_packet(packet::parse(&a.packet)?));
    } else if !a.priors.is_empty() {
        return Err("--prior with --index: the scenario's packets come first".into());
    }
    if a.scenario.is_none() && a.topology.is_none() && a.ifaces.is_empty() {
        // The least surprising host: the interfaces the packets and rules
        // name, and nothing invented.
        let mut names: Vec<String> = Vec::new();
        for p in &packets {
            if let Via::In(n) = &p.via {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
        }
        for n in rule_interfaces(&sc.rules)? {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        names.retain(|n| n != "lo");
        notes.push(format!(
            "no --topology or --addr: interfaces {} without addresses{}; \
             only 127.0.0.0/8 is local and nothing can be forwarded",
            if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(", ")
            },
            if sc.routes.is_empty() {
                ", no routes"
            } else {
                ""
            }
        ));
        sc.interfaces = names
            .into_iter()
            .map(|name| Interface {
                name,
                addr: None,
                mtu: None,
            })
            .collect();
    }
    let index = match (packets.is_empty(), a.index) {
        (false, _) => {
            sc.packets.extend(packets);
            sc.packets.len() - 1
        }
        (true, Some(i)) => i,
        (true, None) => return Err("no packet".into()),
    };
    sc.check().map_err(|e| e.to_string())?;
    Ok((sc, index, notes))
}

/// Runs the subcommand; returns the exit code.
pub fn run(args: &[String]) -> u8 {
    let a = match parse_args(args) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("palisade trace: {e}\n(palisade trace --help for the syntax)");
            return 2;
        }
    };
    let outcome = build(&a).and_then(|(sc, index, notes)| {
        trace(&sc, index, a.seed)
            .map(|t| (t, notes))
            .map_err(|e| e.to_string())
    });
    let (t, notes) = match outcome {
        Ok(x) => x,
        Err(e) => {
            eprintln!("palisade trace: {e}");
            return 1;
        }
    };
    if a.json {
        let v = render::json(&t, &notes);
        println!(
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
        );
    } else {
        let color = a.color.unwrap_or_else(|| {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        });
        print!(
            "{}",
            render::text(&t, &notes, a.matches_only, Style { color })
        );
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Result<Option<Args>, String> {
        parse_args(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn command_lines() {
        let a = args(&["rules.txt", "tcp 1.2.3.4:1 -> 5.6.7.8:2 in eth0"])
            .unwrap()
            .unwrap();
        assert_eq!(a.rules.as_deref(), Some("rules.txt"));
        assert_eq!(a.packet.len(), 1);
        let a = args(&["--scenario", "s.json", "--index", "2", "--json"])
            .unwrap()
            .unwrap();
        assert_eq!((a.index, a.json, a.rules), (Some(2), true, None));
        assert!(args(&["--help"]).unwrap().is_none());
        for (words, want) in [
            (&[][..], "no rules file"),
            (&["rules.txt"][..], "no packet"),
            (
                &["r", "--index", "1", "tcp"][..],
                "--index needs --scenario",
            ),
            (&["--scenario", "s"][..], "needs --index"),
            (&["--scenario", "s", "--index", "x"][..], "not a number"),
            (&["r", "p", "--color", "pink"][..], "auto, always or never"),
            (&["r", "p", "--bogus"][..], "unknown option"),
            (&["r", "p", "--route"][..], "needs a value"),
        ] {
            let e = args(words).err().unwrap_or_default();
            assert!(e.contains(want), "{words:?}: {e}");
        }
    }
}
