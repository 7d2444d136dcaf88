//! Reads back what the live kernel's LOG target writes, for comparison
//! with palisade's LOG lines. Linux logs only from the initial network
//! namespace (nf_log_syslog.c `nf_log_allowed`, with nf_log_all_netns=0),
//! so this works there, unlike the scenario harness: it puts rules at the
//! head of the initial namespace's `raw` OUTPUT chain, sends packets
//! through a raw socket, reads `/dev/kmsg`, and removes what it added
//! (rules, and the chain or table when it created them) so the host is
//! left as it was. The rules must end in a DROP of the packets they log
//! (nothing reaches conntrack or the stack), and must match only packets
//! the caller sends (a destination nothing else uses).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::process::{Command, Stdio};

use crate::sys;

/// The initial network namespace's inode number (include/linux/proc_ns.h
/// `PROC_NET_INIT_INO`, fixed since Linux 6.18).
const PROC_NET_INIT_INO: u64 = 0xEFFF_FFF9;

/// Why the check cannot run here (not a failure: the caller skips).
fn unsupported(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, why.to_string())
}

fn run(args: &[&str]) -> io::Result<(bool, String)> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("running `{}`: {e}", args.join(" "))))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok((true, text))
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Ok((false, format!("{text}{err}")))
    }
}

fn must(args: &[&str]) -> io::Result<String> {
    match run(args)? {
        (true, out) => Ok(out),
        (false, err) => Err(io::Error::other(format!(
            "`{}` failed: {}",
            args.join(" "),
            err.trim()
        ))),
    }
}

/// `iptables-save -t raw` without comments and counters: what must be the
/// same before and after.
fn raw_table_text() -> io::Result<String> {
    let (_, text) = run(&["iptables-save", "-t", "raw"])?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| match l.find(" [") {
            Some(i) if l.starts_with(':') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Checks that this can run here: root, the initial namespace (or
/// nf_log_all_netns=1), a readable `/dev/kmsg`, and `nft` to remove a
/// table or chain the check creates.
fn preflight() -> io::Result<()> {
    if !sys::is_root() {
        return Err(unsupported("needs root"));
    }
    let ino = std::fs::metadata("/proc/self/ns/net")?.ino();
    let all_netns = std::fs::read_to_string("/proc/sys/net/netfilter/nf_log_all_netns")
        .is_ok_and(|v| v.trim() == "1");
    if ino != PROC_NET_INIT_INO && !all_netns {
        return Err(unsupported(
            "not the initial network namespace: LOG writes nothing here",
        ));
    }
    File::open("/dev/kmsg").map_err(|e| unsupported(&format!("/dev/kmsg: {e}")))?;
    if !run(&["nft", "--version"]).is_ok_and(|(ok, _)| ok) {
        return Err(unsupported("no nft to remove what iptables-nft creates"));
    }
    Ok(())
}

/// The rules added, removed again when dropped.
struct Installed {
    rules: Vec<Vec<String>>,
    had_table: bool,
    had_chain: bool,
    before: String,
}

impl Installed {
    fn add(rules: &[Vec<String>]) -> io::Result<Installed> {
        let had_table = run(&["nft", "list", "table", "ip", "raw"])?.0;
        let had_chain = had_table && run(&["nft", "list", "chain", "ip", "raw", "OUTPUT"])?.0;
        let mut inst = Installed {
            rules: Vec::new(),
            had_table,
            had_chain,
            before: raw_table_text()?,
        };
        // Inserted at the head in reverse: they end up in the order given.
        for r in rules.iter().rev() {
            let mut args = vec!["iptables", "-w", "-t", "raw", "-I", "OUTPUT", "1"];
            args.extend(r.iter().map(String::as_str));
            must(&args)?;
            inst.rules.push(r.clone());
        }
        Ok(inst)
    }

    /// Removes everything added; an error if the table does not look as
    /// it did before.
    fn remove(&mut self) -> io::Result<()> {
        let mut problems = Vec::new();
        for r in self.rules.drain(..) {
            let mut args = vec!["iptables", "-w", "-t", "raw", "-D", "OUTPUT"];
            args.extend(r.iter().map(String::as_str));
            if let Err(e) = must(&args) {
                problems.push(e.to_string());
            }
        }
        let step = if !self.had_table {
            Some(vec!["nft", "delete", "table", "ip", "raw"])
        } else if !self.had_chain {
            Some(vec!["nft", "delete", "chain", "ip", "raw", "OUTPUT"])
        } else {
            None
        };
        if let Some(args) = step {
            if let Err(e) = must(&args) {
                problems.push(e.to_string());
            }
        }
        // Only once: a failure is reported, not retried on drop.
        self.had_table = true;
        self.had_chain = true;
        let after = raw_table_text()?;
        if after != self.before {
            problems.push(format!(
                "the raw table differs from before:\n{}\n-- now --\n{after}",
                self.before
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(io::Error::other(problems.join("\n")))
        }
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if !self.rules.is_empty() || !self.had_table || !self.had_chain {
            let _ = self.remove();
        }
    }
}

/// A message of `/dev/kmsg`: "PRIORITY,SEQ,TIME,FLAGS;TEXT" (the kernel's
/// Documentation/ABI/testing/dev-kmsg), continuation lines dropped.
fn parse_record(rec: &str) -> Option<(u8, String)> {
    let (head, text) = rec.split_once(';')?;
    let prio: u32 = head.split(',').next()?.parse().ok()?;
    let text = text.split('\n').next().unwrap_or("");
    Some(((prio & 7) as u8, text.to_string()))
}

/// Installs `rules` (iptables arguments after `-A OUTPUT`) at the head of
/// the initial namespace's raw OUTPUT chain, sends `packets` through a raw
/// socket, and returns the kernel log messages (level, text) containing
/// `marker`, in order. `Unsupported` errors mean it cannot run here.
pub fn log_lines(
    rules: &[Vec<String>],
    packets: &[Vec<u8>],
    marker: &str,
) -> io::Result<Vec<(u8, String)>> {
    preflight()?;
    let mut kmsg = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")?;
    kmsg.seek(SeekFrom::End(0))?;
    let mut installed = Installed::add(rules)?;
    let sent = send_all(packets);
    let removed = installed.remove();
    sent?;
    removed?;
    // LOG writes from inside sendto: everything is in the buffer now.
    let mut lines = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match kmsg.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let rec = String::from_utf8_lossy(&buf[..n]);
                if let Some((level, text)) = parse_record(&rec) {
                    if text.contains(marker) {
                        lines.push((level, text));
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            // Records overwritten while reading (EPIPE): go on.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(lines)
}

fn send_all(packets: &[Vec<u8>]) -> io::Result<()> {
    let raw = sys::raw_socket()?;
    for p in packets {
        let dst = match p.get(16..20) {
            Some(&[a, b, c, d]) => Ipv4Addr::new(a, b, c, d),
            _ => return Err(io::Error::other("a packet shorter than its header")),
        };
        // The rules drop the packet: sendto says EPERM.
        match sys::send_to(raw.as_fd(), p, dst) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmsg_records() {
        assert_eq!(
            parse_record("6,343,421516644,-;PLX IN= OUT=lo \n"),
            Some((6, "PLX IN= OUT=lo ".to_string()))
        );
        assert_eq!(
            parse_record("12,1,2,c;x\n SUBSYSTEM=net\n"),
            Some((4, "x".to_string()))
        );
        assert_eq!(parse_record("garbage"), None);
    }
}
