//! Restores and saves a 100,000-rule ruleset with palisade (the binary,
//! on a state file, as a user runs it) and, when run as root with
//! iptables installed, with Linux (iptables-nft in a private network
//! namespace), printing both times and their ratio from the same run.
//!
//!     cargo bench -p palisade --bench restore_save

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RULES: usize = 100_000;

/// A ruleset in the shape of a large real firewall: per-host chains with
/// address, interface, port and state-free matches.
fn ruleset() -> String {
    let mut s =
        String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    let chains = 100;
    for c in 0..chains {
        s.push_str(&format!(":host-{c} - [0:0]\n"));
    }
    for c in 0..chains {
        s.push_str(&format!("-A FORWARD -d 10.{c}.0.0/16 -j host-{c}\n"));
    }
    for i in 0..RULES - chains {
        let c = i % chains;
        let (a, b) = ((i / 256) % 256, i % 256);
        match i % 4 {
            0 => s.push_str(&format!("-A host-{c} -s 192.168.{a}.{b}/32 -p tcp -m tcp --dport {} -j ACCEPT\n", 1 + i % 65000)),
            1 => s.push_str(&format!("-A host-{c} -s 172.16.{a}.0/24 -i eth{} -p udp -j DROP\n", i % 8)),
            2 => s.push_str(&format!("-A host-{c} ! -s 10.{a}.{b}.0/24 -p tcp -m tcp --sport 1024:65535 --tcp-flags FIN,SYN,RST,ACK SYN -j RETURN\n")),
            _ => s.push_str(&format!("-A host-{c} -d 10.{c}.{a}.{b}/32 -o eth{} -j ACCEPT\n", i % 8)),
        }
    }
    s.push_str("COMMIT\n");
    s
}

fn time(cmd: &mut Command, stdin: Option<&Path>) -> Option<Duration> {
    if let Some(p) = stdin {
        cmd.stdin(std::fs::File::open(p).ok()?);
    }
    cmd.stdout(Stdio::null());
    let start = Instant::now();
    let status = cmd.status().ok()?;
    status.success().then(|| start.elapsed())
}

fn main() {
    let dir = std::env::temp_dir().join(format!("palisade-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input = dir.join("rules.txt");
    std::fs::File::create(&input)
        .and_then(|mut f| f.write_all(ruleset().as_bytes()))
        .expect("write rules");
    let state = dir.join("state.rules");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_palisade"));

    let mut pal = Command::new(&bin);
    pal.arg("--state").arg(&state).arg("iptables-restore");
    let p_restore = time(&mut pal, Some(&input)).expect("palisade restore");
    let mut pal = Command::new(&bin);
    pal.arg("--state").arg(&state).arg("iptables-save");
    let p_save = time(&mut pal, None).expect("palisade save");
    println!(
        "palisade: restore {RULES} rules {:.3} s, save {:.3} s",
        p_restore.as_secs_f64(),
        p_save.as_secs_f64()
    );

    let ns = format!("palisade-bench-{}", std::process::id());
    let have_ns = Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .is_ok_and(|s| s.success());
    if have_ns {
        let mut r = Command::new("ip");
        r.args(["netns", "exec", &ns, "iptables-restore"]);
        let l_restore = time(&mut r, Some(&input));
        let mut s = Command::new("ip");
        s.args(["netns", "exec", &ns, "iptables-save"]);
        let l_save = time(&mut s, None);
        let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        if let (Some(lr), Some(ls)) = (l_restore, l_save) {
            println!(
                "linux:    restore {RULES} rules {:.3} s, save {:.3} s",
                lr.as_secs_f64(),
                ls.as_secs_f64()
            );
            println!(
                "speed-up: restore {:.1}x, save {:.1}x",
                lr.as_secs_f64() / p_restore.as_secs_f64(),
                ls.as_secs_f64() / p_save.as_secs_f64()
            );
        } else {
            println!("linux: iptables-restore/save failed in the namespace; no baseline");
        }
    } else {
        println!("linux: no baseline (needs root and iproute2 + iptables)");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
