//! `palisade replay`: what a ruleset does to a capture. Every IPv4 packet
//! a pcap or pcapng file shows the host receiving goes through the engine
//! at its capture time; what leaves each interface is written as pcapng;
//! a summary says what became of the packets (see
//! `palisade_lab::replay`).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use palisade_capture::read::Format;
use palisade_capture::{linktype, PcapngWriter, Reader};
use palisade_lab::replay::{replay, CaptureIface, Options};
use palisade_lab::scenario::Host;
use palisade_lab::simulate::{build_host, DEFAULT_SEED};
use palisade_rules::model::Ruleset;
use palisade_rules::restore::{restore, RestoreOptions};

use crate::state;

pub const USAGE: &str = "\
usage: palisade replay --topology HOST.json [--rules FILE] [--in IFACE]
                       [--iface FROM=TO]... [--seed N] [-o OUT.pcapng] CAPTURE|-

  --topology HOST.json  interfaces, routes and sysctl settings, as in a
                        scenario: {\"interfaces\": [{\"name\": \"eth0\",
                        \"addr\": \"198.51.100.1/24\"}], \"routes\": [...]}
  --rules FILE          the ruleset (iptables-save output); without it,
                        the state file (--state, PALISADE_STATE)
  --in IFACE            every packet arrived on IFACE (a pcap file does
                        not say which interface it was captured on)
  --iface FROM=TO       the capture's interface FROM (a pcapng interface
                        name, or a `tcpdump -i any` interface index) is
                        the topology's TO
  -o OUT.pcapng         write what leaves each interface (- for stdout)
  --seed N              fixes what Linux chooses at random";

/// Capture files at least this long get a progress bar (on a terminal).
const LONG_FILE: u64 = 8 << 20;

struct Args {
    topology: String,
    rules: Option<String>,
    opts: Options,
    seed: u64,
    output: Option<String>,
    capture: String,
}

fn parse(args: &[String]) -> Result<Option<Args>, String> {
    let mut topology = None;
    let mut rules = None;
    let mut opts = Options::default();
    let mut seed = DEFAULT_SEED;
    let mut output = None;
    let mut capture = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--topology" => topology = Some(value("--topology")?),
            "--rules" => rules = Some(value("--rules")?),
            "--in" => opts.ingress = Some(value("--in")?),
            "--iface" => {
                let v = value("--iface")?;
                let Some((from, to)) = v.split_once('=') else {
                    return Err(format!("--iface {v}: expected FROM=TO"));
                };
                let from = match from.parse::<u32>() {
                    Ok(i) => CaptureIface::Index(i),
                    Err(_) => CaptureIface::Name(from.to_string()),
                };
                opts.rename.push((from, to.to_string()));
            }
            "--seed" => {
                seed = value("--seed")?
                    .parse()
                    .map_err(|_| "--seed needs a number".to_string())?
            }
            "-o" | "--output" => output = Some(value("-o")?),
            f if f.starts_with('-') && f != "-" => return Err(format!("unknown option {f}")),
            _ if capture.is_none() => capture = Some(a.clone()),
            _ => return Err("one capture file only".to_string()),
        }
    }
    let topology = topology.ok_or("no --topology")?;
    let capture = capture.ok_or("no capture file")?;
    Ok(Some(Args {
        topology,
        rules,
        opts,
        seed,
        output,
        capture,
    }))
}

fn usage_error(msg: &str) -> u8 {
    eprintln!("palisade replay: {msg}\n{USAGE}");
    2
}

fn fail(msg: impl std::fmt::Display) -> u8 {
    eprintln!("palisade replay: {msg}");
    1
}

/// Runs the subcommand; returns the exit code.
pub fn run(args: &[String], state_file: Option<&Path>) -> u8 {
    let a = match parse(args) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return 0;
        }
        Err(e) => return usage_error(&e),
    };
    let host = match Host::load(Path::new(&a.topology)).and_then(|h| {
        h.check()?;
        Ok(h)
    }) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let rules = match load_rules(a.rules.as_deref(), state_file) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut engine = match build_host(&host, &rules, a.seed) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let topo = engine.topology();
    let named = a.opts.ingress.iter().map(|n| ("--in", n));
    let renamed = a.opts.rename.iter().map(|(_, to)| ("--iface", to));
    for (opt, name) in named.chain(renamed) {
        match topo.index_of(name) {
            None => return fail(format!("{opt}: the topology has no interface {name}")),
            Some(0) => {
                return fail(format!(
                    "{opt}: packets on lo are the host's own traffic, not replayed"
                ))
            }
            Some(_) => {}
        }
    }

    let (input, size): (Box<dyn Read>, Option<u64>) = if a.capture == "-" {
        (Box::new(io::stdin().lock()), None)
    } else {
        match File::open(&a.capture) {
            Ok(f) => {
                let size = f.metadata().ok().map(|m| m.len());
                (Box::new(f), size)
            }
            Err(e) => return fail(format!("{}: {e}", a.capture)),
        }
    };
    let mut reader = match Reader::new(BufReader::with_capacity(1 << 16, input)) {
        Ok(r) => r,
        Err(e) => return fail(format!("{}: {e}", a.capture)),
    };
    // A pcap file names no interface (pcapng names them in blocks still
    // to come; a packet on an unnamed one is skipped and counted).
    let unnamed = reader.format() == Format::Pcap
        && reader
            .interfaces()
            .iter()
            .all(|i| i.link_type != linktype::LINUX_SLL2);
    if a.opts.ingress.is_none() && unnamed {
        return fail(format!(
            "{}: the capture does not say which interface its packets arrived on; give --in IFACE",
            a.capture
        ));
    }

    let to_stdout = a.output.as_deref() == Some("-");
    let sink: Option<Box<dyn Write>> = match a.output.as_deref() {
        None => None,
        Some("-") => Some(Box::new(io::stdout().lock())),
        Some(path) => match File::create(path) {
            Ok(f) => Some(Box::new(f)),
            Err(e) => return fail(format!("{path}: {e}")),
        },
    };
    let app = format!("palisade {} replay", env!("CARGO_PKG_VERSION"));
    let mut writer =
        match sink.map(|s| PcapngWriter::new(BufWriter::with_capacity(1 << 16, s), &app)) {
            None => None,
            Some(Ok(w)) => Some(w),
            Some(Err(e)) => return fail(format!("{}: {e}", a.output.unwrap_or_default())),
        };

    let mut bar = Progress::new(size);
    let (summary, result) = replay(
        &mut engine,
        &mut reader,
        writer.as_mut(),
        &a.opts,
        &mut |offset, packets| bar.update(offset, packets),
    );
    bar.clear();
    let report = summary.report(&engine.ruleset(), engine.topology());
    if to_stdout {
        eprint!("{report}");
    } else {
        print!("{report}");
    }
    match result {
        Ok(()) => 0,
        Err(e) => {
            let mut msg = format!(
                "{}: {e}\n  the {} packets before it were processed ({} replayed)",
                a.capture, summary.read, summary.replayed
            );
            if let Some(w) = writer.as_mut() {
                // What was processed before the damage is kept.
                match w.flush() {
                    Ok(()) => msg.push_str(&format!(
                        "; what left the host is in {}",
                        a.output.as_deref().unwrap_or("-")
                    )),
                    Err(e2) => msg.push_str(&format!("; writing the output: {e2}")),
                }
            }
            fail(msg)
        }
    }
}

/// The ruleset from `--rules` (iptables-save text) or the state file.
fn load_rules(rules: Option<&str>, state_file: Option<&Path>) -> Result<Ruleset, String> {
    match (rules, state_file) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let mut rs = Ruleset::default();
            restore(&mut rs, &text, RestoreOptions::default())
                .map_err(|e| format!("{path}: {}", e.message("iptables-restore").trim_end()))?;
            Ok(rs)
        }
        (None, Some(state)) => state::load_unlocked(state).map_err(|e| match e {
            state::StateError::Io(m) | state::StateError::Corrupt(m) => m,
            state::StateError::Locked { .. } => format!("{}: locked", state.display()),
        }),
        (None, None) => Err(
            "no rules: give --rules FILE (iptables-save output) or a state file (--state)".into(),
        ),
    }
}

/// A progress bar on standard error, drawn only on a terminal, for long
/// files, once the replay has run for half a second.
struct Progress {
    size: Option<u64>,
    on: bool,
    started: Instant,
    last: Instant,
    drawn: bool,
}

impl Progress {
    fn new(size: Option<u64>) -> Progress {
        let long = size.is_none_or(|s| s >= LONG_FILE);
        let now = Instant::now();
        Progress {
            size,
            on: long && io::stderr().is_terminal(),
            started: now,
            last: now,
            drawn: false,
        }
    }

    fn update(&mut self, offset: u64, packets: u64) {
        if !self.on {
            return;
        }
        let now = Instant::now();
        if now - self.started < Duration::from_millis(500)
            || now - self.last < Duration::from_millis(100)
        {
            return;
        }
        self.last = now;
        let rate = packets as f64 / (now - self.started).as_secs_f64();
        let line = match self.size {
            Some(size) if size > 0 => {
                let frac = (offset as f64 / size as f64).min(1.0);
                let filled = (frac * 30.0) as usize;
                format!(
                    "[{}{}] {:3.0}% {packets} packets, {rate:.0}/s",
                    "#".repeat(filled),
                    "-".repeat(30 - filled),
                    frac * 100.0
                )
            }
            _ => format!("{packets} packets, {rate:.0}/s"),
        };
        eprint!("\r\x1b[K{line}");
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[K");
        }
    }
}
