//! `palisade trace` against the kernel's own account of the same packets.
//!
//! tests/trace/GROUP_X.kernel-trace.json holds, for every packet of lab
//! scenario GROUP/X.json, what `xtables-monitor --trace` printed while the
//! live kernel processed it (`palisade-lab trace-record`, root; see
//! palisade_lab::kernel_trace; the command is in each file). Each packet
//! is traced through the engine after the packets before it, and
//! - the rules that matched, with their verdicts, and the policies that
//!   decided are the kernel's, datagram by datagram (the packet and each
//!   answer the host sent on its way);
//! - each table saw the datagram the kernel's chain saw (interfaces,
//!   addresses, ports, length, TOS, TTL, ID, DF/MF): hooks, routing and
//!   NAT rewrites as in Linux.
//!
//! The text and JSON the user reads are checked on Docker's ruleset
//! against the same kernel walks, the kernel's bytes out
//! (GROUP/X.linux.json) and its connection table.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use palisade_lab::kernel_trace::{KernelTrace, Step, StepKind};
use palisade_lab::scenario::{golden_path, Outcome, Scenario};
use palisade_lab::simulate::DEFAULT_SEED;
use palisade_lab::trace::{kernel_walks, packets_seen, trace};

/// Scenarios whose walks differ from Linux, and why (as in the lab's
/// differential test).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace")
}

fn goldens() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("tests/trace")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".kernel-trace.json"))
        .collect();
    files.sort();
    files
}

fn load_golden(path: &Path) -> (KernelTrace, Scenario) {
    let golden = KernelTrace::from_json(&std::fs::read_to_string(path).expect("read golden"))
        .expect("golden");
    let sc = Scenario::load(&repo_root().join(&golden.scenario)).expect("scenario");
    assert_eq!(
        golden.packets.len(),
        sc.packets.len(),
        "{}: one record per packet",
        path.display()
    );
    (golden, sc)
}

fn step_texts(walks: &[Vec<Step>]) -> Vec<Vec<String>> {
    walks
        .iter()
        .map(|w| w.iter().map(Step::to_string).collect())
        .collect()
}

/// The host's answers are reported by the kernel from inside the target
/// that sends them, by palisade after the table's walk: the datagrams are
/// compared regardless of their order.
fn unordered(mut v: Vec<Vec<String>>) -> Vec<Vec<String>> {
    v.sort();
    v
}

/// Runs `check` on every packet of every golden; the known differences
/// must differ, everything else must agree.
fn against_every_golden(
    what: &str,
    check: impl Fn(&KernelTrace, &Scenario, usize) -> Option<String>,
) {
    let files = goldens();
    assert!(!files.is_empty(), "no kernel traces in tests/trace");
    let (mut agree, mut failures) = (0, Vec::new());
    for f in &files {
        let (golden, sc) = load_golden(f);
        let known = KNOWN_DIFFERENCES.iter().any(|(n, _)| *n == golden.scenario);
        let mut differs = false;
        for i in 0..sc.packets.len() {
            match check(&golden, &sc, i) {
                None => agree += 1,
                Some(d) => {
                    differs = true;
                    if !known {
                        failures.push(format!("{} packet {i}:\n{d}", golden.scenario));
                    }
                }
            }
        }
        if known && !differs {
            failures.push(format!(
                "{}: agrees now; remove it from KNOWN_DIFFERENCES",
                golden.scenario
            ));
        }
    }
    println!(
        "{what}: {agree} packets as the kernel's ({} files, {} known to differ)",
        files.len(),
        KNOWN_DIFFERENCES.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rule_walks_are_the_kernels() {
    against_every_golden("rule walks", |golden, sc, i| {
        let want = unordered(step_texts(&golden.walks(i).expect("kernel walks")));
        let traced = trace(sc, i, DEFAULT_SEED).expect("trace");
        let got = unordered(step_texts(&kernel_walks(&traced.events)));
        (got != want).then(|| format!("  kernel:   {want:?}\n  palisade: {got:?}"))
    });
}

/// In a scenario whose NAT bindings are chosen at random (`random_nat`:
/// palisade's draws are not the kernel's; the lab compares those by
/// rule), the datagrams are compared without their ports.
#[test]
fn each_table_sees_the_datagram_the_kernel_saw() {
    against_every_golden("datagrams at each chain", |golden, sc, i| {
        let strip = |seen: Vec<Vec<String>>| -> Vec<Vec<String>> {
            if sc.random_nat.is_empty() {
                return seen;
            }
            seen.into_iter()
                .map(|w| {
                    w.into_iter()
                        .map(|l| {
                            l.split(' ')
                                .filter(|f| !f.starts_with("SPORT=") && !f.starts_with("DPORT="))
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .collect()
                })
                .collect()
        };
        let want = unordered(strip(golden.packets_seen(i).expect("kernel packets")));
        let traced = trace(sc, i, DEFAULT_SEED).expect("trace");
        let got = unordered(strip(packets_seen(&traced.events, &traced.interfaces)));
        (got != want).then(|| format!("  kernel:   {want:#?}\n  palisade: {got:#?}"))
    });
}

// The command as a user runs it, on Docker's ruleset.

fn palisade(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_palisade"));
    cmd.arg("trace")
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .current_dir(repo_root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run palisade")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "palisade trace failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The matched steps a text trace shows (`table:chain:rule:N VERDICT`,
/// `table:chain:policy VERDICT`), as the kernel's step text.
fn text_steps(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (label, verdict) = (w.next()?, w.next()?);
            let parts: Vec<&str> = label.split(':').collect();
            match parts.as_slice() {
                [_, _, "rule", _] if verdict != "no" => Some(format!("{label}:{verdict}")),
                [_, _, "policy"] => Some(format!("{label}:{verdict}")),
                _ => None,
            }
        })
        .collect()
}

/// A datagram's hex without its IP ID and header checksum, which Linux
/// draws for its own datagrams (compared as the lab's `compare` does).
fn norm(hex: &str) -> String {
    let mut h = hex.to_string();
    if h.len() >= 24 {
        h.replace_range(8..12, "0000");
        h.replace_range(20..24, "0000");
    }
    h
}

fn normed(outputs: Vec<(String, String)>) -> Vec<(String, String)> {
    outputs.into_iter().map(|(d, h)| (d, norm(&h))).collect()
}

/// The hex of each `out` line of a text trace.
fn text_outputs(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter_map(|(k, l)| {
            let mut w = l.split_whitespace();
            (w.next()? == "out").then(|| {
                let dev = w.next().unwrap_or_default().to_string();
                let hex = lines.get(k + 1).map(|h| h.trim().to_string());
                (dev, hex.unwrap_or_default())
            })
        })
        .collect()
}

struct Case {
    scenario: &'static str,
    index: usize,
    result: &'static str,
}

/// A published port's SYN, a container's connection going out through
/// MASQUERADE, and direct access to a container from outside.
const DOCKER: &[Case] = &[
    Case {
        scenario: "docker/published_port",
        index: 0,
        result: "left by docker0",
    },
    Case {
        scenario: "docker/container_to_internet",
        index: 0,
        result: "left by eth0",
    },
    Case {
        scenario: "docker/direct_access_blocked",
        index: 0,
        result: "dropped by raw:PREROUTING:rule:1",
    },
];

fn docker_golden(scenario: &str) -> (KernelTrace, Scenario, Outcome) {
    let name = scenario.replace('/', "_");
    let (golden, sc) = load_golden(&golden_dir().join(format!("{name}.kernel-trace.json")));
    let file = repo_root().join(&golden.scenario);
    let outcome = Outcome::load(&golden_path(&file).expect("golden name")).expect("linux outcome");
    (golden, sc, outcome)
}

#[test]
fn docker_text_traces_tell_the_kernels_story() {
    for case in DOCKER {
        let (golden, _, linux) = docker_golden(case.scenario);
        let file = format!("crates/lab/scenarios/{}.json", case.scenario);
        let index = case.index.to_string();
        let text = stdout(&palisade(
            &["--scenario", &file, "--index", &index, "--color", "never"],
            &[],
        ));
        let walks = golden.walks(case.index).expect("walks");
        assert_eq!(walks.len(), 1, "{}: one datagram", case.scenario);
        assert_eq!(
            text_steps(&text),
            step_texts(&walks)[0],
            "{}:\n{text}",
            case.scenario
        );
        let want: Vec<(String, String)> = linux.outputs[case.index]
            .iter()
            .map(|o| (o.out.clone(), o.hex.clone()))
            .collect();
        assert_eq!(text_outputs(&text), want, "{}:\n{text}", case.scenario);
        // The result line says what the kernel did: the interface of its
        // output, or its last step, a DROP.
        let last = walks[0].last().map(Step::to_string).unwrap_or_default();
        match want.first() {
            Some((dev, _)) => assert_eq!(case.result, format!("left by {dev}")),
            None => {
                assert!(matches!(
                    walks[0].last().map(|s| &s.kind),
                    Some(StepKind::Rule { verdict, .. }) if verdict == "DROP"
                ));
                assert_eq!(
                    format!("{}:DROP", case.result.trim_start_matches("dropped by ")),
                    last
                );
            }
        }
        assert!(
            text.ends_with(&format!("result: {}\n", case.result)),
            "{}:\n{text}",
            case.scenario
        );
    }
}

/// The connection after the scenario's last packet is the kernel's entry
/// (`conntrack -L` 30 ms later: the timeout may be a second less).
#[test]
fn connection_after_the_last_packet_is_the_kernels() {
    for scenario in [
        "docker/published_port",
        "docker/container_to_internet",
        "docker/direct_access_blocked",
    ] {
        let (_, sc, linux) = docker_golden(scenario);
        let last = sc.packets.len() - 1;
        let file = format!("crates/lab/scenarios/{scenario}.json");
        let json: serde_json::Value = serde_json::from_str(&stdout(&palisade(
            &["--scenario", &file, "--index", &last.to_string(), "--json"],
            &[],
        )))
        .expect("json");
        let conns = json["connections"].as_array().expect("connections");
        assert!(!conns.is_empty(), "{scenario}: no connection");
        for c in conns {
            let after = c["after"].as_str().expect("an entry after");
            let (ours, rest) = timeout_split(after);
            let line = linux
                .conntrack
                .lines()
                .find(|l| timeout_split(l).1 == rest)
                .unwrap_or_else(|| panic!("{scenario}: {after} not in {}", linux.conntrack));
            let (theirs, _) = timeout_split(line);
            assert!(
                ours == theirs || ours == theirs + 1,
                "{scenario}: {after} / {line}"
            );
        }
    }
}

/// A listing line's timeout (5th word) and the rest.
fn timeout_split(line: &str) -> (u64, String) {
    let w: Vec<&str> = line.split_whitespace().collect();
    let t = w.get(4).and_then(|t| t.parse().ok()).unwrap_or(u64::MAX);
    let mut rest = w.clone();
    if rest.len() > 4 {
        rest.remove(4);
    }
    (t, rest.join(" "))
}

#[test]
fn json_outputs_are_the_kernels_bytes() {
    for case in DOCKER {
        let (_, sc, linux) = docker_golden(case.scenario);
        let file = format!("crates/lab/scenarios/{}.json", case.scenario);
        for i in 0..sc.packets.len() {
            let json: serde_json::Value = serde_json::from_str(&stdout(&palisade(
                &["--scenario", &file, "--index", &i.to_string(), "--json"],
                &[],
            )))
            .expect("json");
            let got: Vec<(String, String)> = json["outputs"]
                .as_array()
                .expect("outputs")
                .iter()
                .map(|o| {
                    (
                        o["out"].as_str().unwrap_or("").into(),
                        o["hex"].as_str().unwrap_or("").into(),
                    )
                })
                .collect();
            let want: Vec<(String, String)> = linux.outputs[i]
                .iter()
                .map(|o| (o.out.clone(), o.hex.clone()))
                .collect();
            assert_eq!(normed(got), normed(want), "{} packet {i}", case.scenario);
            let events = json["events"].as_array().expect("events");
            assert_eq!(events.first().map(|e| &e["event"]), Some(&"begin".into()));
            assert_eq!(events.last().map(|e| &e["event"]), Some(&"end".into()));
        }
    }
}

/// The README's first example: the published port's SYN written on the
/// command line, the host given by flags, the rules as a file.
#[test]
fn the_command_line_form_traces_the_same_packet() {
    let (golden, sc, linux) = docker_golden("docker/published_port");
    let dir = std::env::temp_dir().join(format!("palisade-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rules = dir.join("docker.rules");
    std::fs::write(&rules, &sc.rules).expect("rules file");
    let o = palisade(
        &[
            "--addr",
            "eth0=198.51.100.1/24",
            "--addr",
            "docker0=172.17.0.1/16",
            "--route",
            "default via 198.51.100.254 dev eth0",
            rules.to_str().expect("path"),
            "tcp 203.0.113.7:40000 -> 198.51.100.1:8080 in eth0 flags S seq 1000 df opts mss:1460",
            "--color",
            "never",
        ],
        &[],
    );
    let text = stdout(&o);
    assert_eq!(
        text_steps(&text),
        step_texts(&golden.walks(0).expect("walks"))[0]
    );
    assert_eq!(
        text_outputs(&text),
        vec![(
            linux.outputs[0][0].out.clone(),
            linux.outputs[0][0].hex.clone()
        )]
    );
    // An earlier packet makes the next one part of a connection: the
    // container's SYN/ACK, after the SYN, is ESTABLISHED in the reply
    // direction and leaves as the kernel's did.
    let o = palisade(
        &[
            "--topology",
            "crates/lab/scenarios/docker/published_port.json",
            rules.to_str().expect("path"),
            "--prior",
            "tcp 203.0.113.7:40000 -> 198.51.100.1:8080 in eth0 flags S seq 1000 df opts mss:1460",
            "tcp 172.17.0.2:80 -> 203.0.113.7:40000 in docker0 flags SA seq 5000 ack 1001 df opts mss:1460",
            "--matches",
        ],
        &[],
    );
    let text = stdout(&o);
    assert!(text.contains("ESTABLISHED, reply direction"), "{text}");
    assert!(!text.contains("no match"), "{text}");
    assert_eq!(
        text_steps(&text),
        step_texts(&golden.walks(1).expect("walks"))[0]
    );
    assert_eq!(
        text_outputs(&text),
        vec![(
            linux.outputs[1][0].out.clone(),
            linux.outputs[1][0].hex.clone()
        )]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let args = |c: &'static str| {
        [
            "--scenario",
            "crates/lab/scenarios/docker/published_port.json",
            "--index",
            "0",
            "--color",
            c,
        ]
    };
    assert!(stdout(&palisade(&args("always"), &[])).contains("\x1b["));
    assert!(!stdout(&palisade(&args("never"), &[])).contains('\x1b'));
    // Piped: no colour, NO_COLOR or not.
    assert!(!stdout(&palisade(&args("auto"), &[])).contains('\x1b'));
    assert!(!stdout(&palisade(&args("auto"), &[("NO_COLOR", "1")])).contains('\x1b'));
}

#[test]
fn without_a_host_the_interfaces_come_from_the_packet_and_rules() {
    let dir = std::env::temp_dir().join(format!("palisade-trace-d-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rules = dir.join("r.rules");
    std::fs::write(
        &rules,
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A FORWARD -i wan -o lan -j ACCEPT\n-A FORWARD -o vpn+ -j ACCEPT\nCOMMIT\n",
    )
    .expect("rules");
    let o = palisade(
        &[
            rules.to_str().expect("path"),
            "udp 192.0.2.1:1 -> 192.0.2.2:2 in eth9",
        ],
        &[],
    );
    let text = stdout(&o);
    assert!(
        text.starts_with(
            "note: no --topology or --addr: interfaces eth9, wan, lan without addresses, \
             no routes"
        ),
        "{text}"
    );
    assert!(text.contains("result: dropped: no route"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mistakes_are_reported_and_nothing_runs() {
    let bad_rules = palisade(
        &["/nonexistent.rules", "tcp 1.2.3.4:1 -> 5.6.7.8:2 in eth0"],
        &[],
    );
    assert_eq!(bad_rules.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_rules.stderr).contains("/nonexistent.rules"));
    let sc = "crates/lab/scenarios/docker/published_port.json";
    for (args, code, want) in [
        (vec!["--scenario", sc, "--index", "9"], 1, "no packet 9"),
        (
            vec!["--scenario", sc, "tcp 1.2.3.4:1 -> 5.6.7.8:2 in eth7"],
            1,
            "not declared",
        ),
        (
            vec!["--scenario", sc, "tcp 1.2.3.4:1 -> 5.6.7.8:2"],
            1,
            "say where it enters",
        ),
        (vec!["--scenario", sc], 2, "needs --index"),
        (vec!["--topology"], 2, "needs a value"),
    ] {
        let o = palisade(&args, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    let o = palisade(&["--help"], &[]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("usage: palisade trace"));
}

/// A capture of the Docker scenarios' packets (`palisade-lab capture`'s
/// pcapng): each frame, traced after the frames before it, walks as the
/// kernel walked that packet and leaves the kernel's bytes.
#[test]
fn capture_frames_walk_as_the_kernels_packets() {
    let dir = std::env::temp_dir().join(format!("palisade-trace-p-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for case in DOCKER {
        let (golden, sc, linux) = docker_golden(case.scenario);
        let pcap = dir.join(format!("{}.pcapng", case.scenario.replace('/', "_")));
        let file = std::fs::File::create(&pcap).expect("capture file");
        let mut w = palisade_capture::PcapngWriter::new(file, "trace test").expect("writer");
        let local = palisade_lab::replay::scenario_capture(&sc, &mut w).expect("capture");
        assert_eq!(local, 0, "{}: every packet is received", case.scenario);
        drop(w);
        let rules = dir.join("rules");
        std::fs::write(&rules, &sc.rules).expect("rules");
        let topology = format!("crates/lab/scenarios/{}.json", case.scenario);
        for i in 0..sc.packets.len() {
            let frame = (i + 1).to_string();
            let text = stdout(&palisade(
                &[
                    "--topology",
                    &topology,
                    rules.to_str().expect("path"),
                    "--pcap",
                    pcap.to_str().expect("path"),
                    "--frame",
                    &frame,
                    "--color",
                    "never",
                ],
                &[],
            ));
            // The answers' steps are in the text too, nested: compared
            // as one set of steps.
            let mut want: Vec<String> = step_texts(&golden.walks(i).expect("walks"))
                .into_iter()
                .flatten()
                .collect();
            let mut got = text_steps(&text);
            want.sort();
            got.sort();
            assert_eq!(got, want, "{} frame {frame}:\n{text}", case.scenario);
            let want: Vec<(String, String)> = linux.outputs[i]
                .iter()
                .map(|o| (o.out.clone(), o.hex.clone()))
                .collect();
            assert_eq!(
                normed(text_outputs(&text)),
                normed(want),
                "{} frame {frame}",
                case.scenario
            );
        }
    }
    let sc = "crates/lab/scenarios/docker/published_port.json";
    let pcap = dir.join("docker_published_port.pcapng");
    let pcap = pcap.to_str().expect("path");
    for (args, want) in [
        (vec![sc, "--pcap", pcap, "--frame", "9"], "no frame 9"),
        (vec![sc, "--pcap", pcap, "--frame", "0"], "counts from 1"),
        (vec![sc, "--pcap", pcap], "needs --frame"),
        (vec![sc, "--frame", "1"], "go with --pcap"),
    ] {
        let o = palisade(&args, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_ne!(o.status.code(), Some(0), "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn log_records_are_simulates() {
    // Whatever LOG and NFLOG report for the traced packet is what
    // `simulate` reports for it (the lines' format is checked against the
    // kernel's log in crates/lab/tests/log_live.rs and crates/engine/src/log.rs).
    let sc = "crates/lab/scenarios/match/log_nflog_continue.json";
    let sim = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["simulate", sc])
        .current_dir(repo_root())
        .output()
        .expect("run palisade simulate");
    assert!(sim.status.success());
    let sim: serde_json::Value = serde_json::from_slice(&sim.stdout).expect("simulate JSON");
    let records = sim["log"].as_array().expect("simulate log");
    for index in 0..3u64 {
        let want: Vec<serde_json::Value> = records
            .iter()
            .filter(|r| r["packet"] == index)
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().map(|o| o.remove("packet"));
                r
            })
            .collect();
        assert!(!want.is_empty(), "packet {index} logs nothing");
        let o = palisade(
            &["--scenario", sc, "--index", &index.to_string(), "--json"],
            &[],
        );
        let traced: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("trace JSON");
        assert_eq!(traced["log"].as_array(), Some(&want), "packet {index}");
        let text = stdout(&palisade(
            &["--scenario", sc, "--index", &index.to_string()],
            &[],
        ));
        let first = want[0]["line"].as_str().expect("a LOG line first");
        assert!(text.contains(first.trim_end()), "{text}");
    }
}
