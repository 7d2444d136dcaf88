//! Runs a scenario through the live Linux netfilter, step for step as
//! `../shared/tools/kernel_oracle.py` does: a private network namespace
//! whose interfaces are TUN devices held here. Needs root, `ip`, `sysctl`,
//! `iptables-restore`, `iptables-save` and `conntrack`.
//!
//! The host: ip_forward=1, rp_filter=0, send_redirects=0, icmp_ratelimit=0
//! (Linux still limits net-unreachable per source in ip_error()), IPv6
//! off, no listening sockets; layer-3 TUN interfaces (no MAC, no ARP, MTU
//! 1500 unless the scenario sets one). Local packets go out through a raw
//! socket (uid 0, IP_HDRINCL), and the kernel fills in their total length,
//! checksum and (when 0) ID.
//! A packet without `at` goes in as soon as the previous one's output has
//! been quiet for 30 ms (0.5 s at most).
//!
//! One difference: when the kernel refuses a local packet (`sendto` fails,
//! e.g. EPERM after a DROP in OUTPUT), the oracle stops with a traceback;
//! this records the errno in [`Outcome::send_errors`] and goes on.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::hex;
use crate::kernel_trace::{Capture, RuleHandle};
use crate::scenario::{Interface, Outcome, Output, Scenario, SendError, Via};
use crate::sys;

/// kernel_oracle.py `BASE_SYSCTL`, applied first, in this order.
const BASE_SYSCTL: &[(&str, &str)] = &[
    ("net.ipv4.ip_forward", "1"),
    ("net.ipv6.conf.all.disable_ipv6", "1"),
    ("net.ipv6.conf.default.disable_ipv6", "1"),
    ("net.ipv4.conf.all.rp_filter", "0"),
    ("net.ipv4.conf.default.rp_filter", "0"),
    ("net.ipv4.conf.all.send_redirects", "0"),
    ("net.ipv4.conf.default.send_redirects", "0"),
    ("net.ipv4.icmp_ratelimit", "0"),
    ("net.ipv4.icmp_msgs_per_sec", "1000000"),
    ("net.ipv4.icmp_msgs_burst", "1000000"),
];

/// Output collection: done after this long without a packet...
const QUIET: Duration = Duration::from_millis(30);
/// ...or this long in all.
const LIMIT: Duration = Duration::from_millis(500);
/// What link-up emits is discarded with a longer quiet time.
const SETTLE_QUIET: Duration = Duration::from_millis(100);

pub use crate::sys::is_root;

/// Runs `sc` through the live kernel.
pub fn run(sc: &Scenario) -> io::Result<Outcome> {
    if !sys::is_root() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the live-kernel harness must run as root",
        ));
    }
    sc.check()?;
    let ns = Netns::add()?;
    run_in(&ns, sc, false).map(|(o, _)| o)
    // `ns` is deleted here, after run_in has closed the devices, also when
    // it failed.
}

/// The kernel's walks of a scenario's packets (`kernel_trace`): the rule
/// handles and, for each packet, what xtables-monitor printed.
pub type Walks = (Vec<RuleHandle>, Vec<Vec<String>>);

/// Runs `sc` through the live kernel with every packet traced.
pub fn run_traced(sc: &Scenario) -> io::Result<(Outcome, Walks)> {
    if !sys::is_root() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the live-kernel harness must run as root",
        ));
    }
    sc.check()?;
    let ns = Netns::add()?;
    let (outcome, walks) = run_in(&ns, sc, true)?;
    Ok((outcome, walks.unwrap_or_default()))
}

/// A throughput run through the live kernel ([`packet_rate`]).
#[derive(Debug, Clone)]
pub struct RateRun {
    /// How long the writes took.
    pub elapsed: Duration,
    /// `iptables-save -c` afterwards (which rules the packets hit).
    pub save: String,
}

/// The kernel's packet rate for the host and rules of `sc` (its packets
/// are not used): each of `packets` (a position in `sc.interfaces` and a
/// datagram) is written into that interface's TUN device, in order, as
/// fast as the writes return. A TUN write runs the receive path (hooks,
/// routing, forwarding, transmission onto the way out) in the writing
/// thread, so the time the writes take is the kernel's; what leaves is not
/// read (a full TUN queue drops it). This is the method of
/// `../shared/tools/kernel_pps.py`, on the scenario's own topology.
pub fn packet_rate(sc: &Scenario, packets: &[(usize, Vec<u8>)]) -> io::Result<RateRun> {
    if !sys::is_root() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the live-kernel harness must run as root",
        ));
    }
    sc.check()?;
    let netns = Netns::add()?;
    let (mut tuns, _raw) = set_up(&netns, sc)?;
    drain(&mut tuns, &sc.interfaces, SETTLE_QUIET)?;
    let start = Instant::now();
    for (i, (k, p)) in packets.iter().enumerate() {
        let Some(tun) = tuns.get_mut(*k) else {
            return Err(bad_input(format!("packet {i}: no interface {k}")));
        };
        tun.write(p).map_err(|e| {
            context(
                e,
                &format!("packet {i}: writing to {}", sc.interfaces[*k].name),
            )
        })?;
    }
    let elapsed = start.elapsed();
    let save = sh(&["iptables-save", "-c"], Some(&netns.0), None)?;
    drop(tuns);
    Ok(RateRun { elapsed, save })
}

/// A named network namespace (`ip netns add`), deleted when dropped.
struct Netns(String);

impl Netns {
    fn add() -> io::Result<Netns> {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "plab{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        sh(&["ip", "netns", "add", &name], None, None)?;
        Ok(Netns(name))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Nothing to do about a failure here; the oracle ignores it too.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The TUN devices (in scenario order) and the raw socket, opened by a
/// thread that enters the namespace; the descriptors work from any thread.
fn open_devices(ns: &str, names: Vec<String>) -> io::Result<(Vec<File>, OwnedFd)> {
    let path = format!("/run/netns/{ns}");
    let opener = std::thread::spawn(move || -> io::Result<(Vec<File>, OwnedFd)> {
        let nsfile = File::open(&path).map_err(|e| context(e, &path))?;
        sys::setns_net(&nsfile).map_err(|e| context(e, &format!("setns {path}")))?;
        let mut tuns = Vec::with_capacity(names.len());
        for n in &names {
            tuns.push(sys::open_tun(n).map_err(|e| context(e, &format!("TUN {n}")))?);
        }
        let raw = sys::raw_socket().map_err(|e| context(e, "raw socket"))?;
        Ok((tuns, raw))
    });
    match opener.join() {
        Ok(r) => r,
        Err(_) => Err(io::Error::other("the namespace thread panicked")),
    }
}

/// The scenario's host in `netns`: sysctls, devices, addresses, routes,
/// rules, an empty connection table. Returns the TUN devices (in
/// scenario order) and the raw socket.
fn set_up(netns: &Netns, sc: &Scenario) -> io::Result<(Vec<File>, OwnedFd)> {
    let ns = Some(netns.0.as_str());
    for (k, v) in BASE_SYSCTL {
        sh(&["sysctl", "-qw", &format!("{k}={v}")], ns, None)?;
    }
    sh(&["ip", "link", "set", "lo", "up"], ns, None)?;
    let names: Vec<String> = sc.interfaces.iter().map(|i| i.name.clone()).collect();
    let (tuns, raw) = open_devices(&netns.0, names)?;
    for itf in &sc.interfaces {
        if let Some(addr) = itf.addr.as_deref().filter(|a| !a.is_empty()) {
            sh(&["ip", "addr", "add", addr, "dev", &itf.name], ns, None)?;
        }
        if let Some(mtu) = itf.mtu {
            let mtu = mtu.to_string();
            sh(&["ip", "link", "set", &itf.name, "mtu", &mtu], ns, None)?;
        }
        sh(&["ip", "link", "set", &itf.name, "up"], ns, None)?;
        for k in ["rp_filter", "send_redirects"] {
            let setting = format!("net.ipv4.conf.{}.{k}=0", itf.name);
            sh(&["sysctl", "-qw", &setting], ns, None)?;
        }
    }
    for r in &sc.routes {
        let mut args = vec!["ip", "route", "replace"];
        args.extend(r.split_whitespace());
        sh(&args, ns, None)?;
    }
    sh(&["iptables-restore"], ns, Some(&sc.rules))?;
    for (k, v) in &sc.sysctl.0 {
        sh(&["sysctl", "-qw", &format!("{k}={v}")], ns, None)?;
    }
    sh_unchecked(&["conntrack", "-F"], ns)?;
    Ok((tuns, raw))
}

fn run_in(netns: &Netns, sc: &Scenario, trace: bool) -> io::Result<(Outcome, Option<Walks>)> {
    let ns = Some(netns.0.as_str());
    let shell = |args: &[&str], input: Option<&str>| sh(args, ns, input);
    let (mut tuns, raw) = set_up(netns, sc)?;
    let mut capture = match trace {
        true => Some(Capture::start(&netns.0, &shell, &sc.rules)?),
        false => None,
    };
    drain(&mut tuns, &sc.interfaces, SETTLE_QUIET)?;

    let mut outcome = Outcome::default();
    let start = Instant::now();
    for (i, p) in sc.packets.iter().enumerate() {
        if let Some(at) = p.at {
            // A negative or absurd `at` means "now", as max(0, ...) does.
            let due = Duration::try_from_secs_f64(at)
                .ok()
                .and_then(|d| start.checked_add(d));
            if let Some(wait) = due.and_then(|t| t.checked_duration_since(Instant::now())) {
                std::thread::sleep(wait);
            }
        }
        let bytes = p.bytes_after(&outcome.outputs)?;
        match &p.via {
            Via::Local => {
                let dst = match bytes.get(16..20) {
                    Some(&[a, b, c, d]) => Ipv4Addr::new(a, b, c, d),
                    _ => return Err(bad_input(format!("packet {i}: too short"))),
                };
                if let Err(e) = sys::send_to(raw.as_fd(), &bytes, dst) {
                    outcome.send_errors.push(SendError {
                        packet: i,
                        errno: sys::errno_name(&e),
                    });
                }
            }
            Via::In(name) => {
                let k = sc.interfaces.iter().position(|itf| &itf.name == name);
                let Some(tun) = k.and_then(|k| tuns.get_mut(k)) else {
                    return Err(bad_input(format!("packet {i}: no interface {name:?}")));
                };
                // One write is one packet: a short write would be a bug.
                match tun.write(&bytes) {
                    Ok(n) if n == bytes.len() => {}
                    Ok(n) => {
                        let msg = format!("packet {i}: {name} took {n} of {} bytes", bytes.len());
                        return Err(io::Error::other(msg));
                    }
                    Err(e) => return Err(context(e, &format!("packet {i}: writing to {name}"))),
                }
            }
        }
        outcome
            .outputs
            .push(drain(&mut tuns, &sc.interfaces, QUIET)?);
        if let Some(c) = capture.as_mut() {
            c.packet_done();
        }
    }
    let walks = capture.map(|c| c.finish(&shell)).transpose()?;
    outcome.save = sh(&["iptables-save", "-c"], ns, None)?;
    outcome.conntrack = sh_unchecked(&["conntrack", "-L", "-o", "extended"], ns)?;
    outcome.expect = sh_unchecked(&["conntrack", "-L", "expect"], ns)?;
    Ok((outcome, walks))
}

/// Collects what leaves the TUN devices until none has anything for
/// `quiet`, or for LIMIT in all (kernel_oracle.py `drain`).
fn drain(tuns: &mut [File], itfs: &[Interface], quiet: Duration) -> io::Result<Vec<Output>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    let end = Instant::now() + LIMIT;
    let quiet_ms = quiet.as_millis() as i32;
    while Instant::now() < end {
        let ready = sys::poll_readable(tuns, quiet_ms)?;
        if !ready.contains(&true) {
            break;
        }
        for ((tun, itf), _) in tuns.iter_mut().zip(itfs).zip(ready).filter(|(_, r)| *r) {
            loop {
                match tun.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => out.push(Output {
                        out: itf.name.clone(),
                        hex: hex::encode(&buf[..n]),
                    }),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(context(e, &format!("reading {}", itf.name))),
                }
            }
        }
    }
    Ok(out)
}

/// Runs a command (inside `ns` through `ip netns exec`), feeding it
/// `input`; its stdout, or an error with its stderr when it fails.
fn sh(args: &[&str], ns: Option<&str>, input: Option<&str>) -> io::Result<String> {
    let (status, stdout, stderr) = spawn(args, ns, input)?;
    if !status.success() {
        return Err(io::Error::other(format!(
            "`{}` failed ({status}): {}",
            command_line(args, ns),
            stderr.trim()
        )));
    }
    Ok(stdout)
}

/// Like `sh`, but the exit status does not matter (`conntrack -F` and
/// `-L` fail when there is nothing to show).
fn sh_unchecked(args: &[&str], ns: Option<&str>) -> io::Result<String> {
    spawn(args, ns, None).map(|(_, stdout, _)| stdout)
}

fn spawn(
    args: &[&str],
    ns: Option<&str>,
    input: Option<&str>,
) -> io::Result<(std::process::ExitStatus, String, String)> {
    let mut full: Vec<&str> = Vec::new();
    if let Some(ns) = ns {
        full.extend(["ip", "netns", "exec", ns]);
    }
    full.extend(args);
    let (prog, rest) = full
        .split_first()
        .ok_or_else(|| io::Error::other("empty command"))?;
    let mut child = Command::new(prog)
        .args(rest)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| context(e, &format!("running `{}`", command_line(args, ns))))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // A command that exits early closes its input; its status says why.
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = child.wait_with_output()?;
    Ok((
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn command_line(args: &[&str], ns: Option<&str>) -> String {
    let cmd = args.join(" ");
    match ns {
        Some(ns) => format!("{cmd} (in netns {ns})"),
        None => cmd,
    }
}

fn context(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn bad_input(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}
