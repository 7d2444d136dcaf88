//! The `palisade` binary. `palisade [--state FILE] SUBCOMMAND …`, or
//! invoked through a link named like one of iptables' programs (as
//! xtables-nft-multi is), it behaves as that program.
//!
//! The iptables programs parse their own command lines exactly as iptables
//! does, so they are dispatched by hand rather than through an argument
//! library that would reinterpret their options.

mod iptables;
mod replay;
mod simulate;
mod state;
mod trace;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: palisade [--state FILE] COMMAND [ARGS...]

Commands:
  iptables ARGS...           act like iptables(8) on the state file
  iptables-save ARGS...      act like iptables-save(8)
  iptables-restore ARGS...   act like iptables-restore(8)
  simulate [--seed N] FILE   run a packet scenario (JSON) through the engine
                             and print what leaves each interface, the
                             counters and the connection table
  replay --topology HOST.json [--rules FILE] [-o OUT.pcapng] CAPTURE
                             run a pcap/pcapng capture through the engine
                             and write what leaves each interface
  trace RULES PACKET...      follow one packet through the rules, rule by
                             rule (palisade trace --help)

The state file (iptables-save -c text) stands in for the kernel's tables;
name it with --state FILE or the PALISADE_STATE environment variable.
Linked or copied under the name iptables, iptables-save, iptables-restore
(or their -nft variants) the binary behaves as that program.
";

/// Which iptables program a name stands for.
fn program_for(name: &str) -> Option<iptables::Program> {
    use iptables::Program::*;
    match name {
        "iptables" | "iptables-nft" => Some(Iptables),
        "iptables-save" | "iptables-nft-save" => Some(Save),
        "iptables-restore" | "iptables-nft-restore" => Some(Restore),
        _ => None,
    }
}

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let argv0 = args.first().cloned().unwrap_or_default();
    let invoked_as = PathBuf::from(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut state: Option<PathBuf> = std::env::var_os("PALISADE_STATE").map(PathBuf::from);

    let (program, rest) = if let Some(p) = program_for(&invoked_as) {
        (p, args.split_off(1))
    } else {
        let mut i = 1;
        // Global options come before the subcommand; after it, `--state`
        // belongs to iptables (`-m state --state NEW`).
        while let Some(a) = args.get(i).map(|a| a.to_string_lossy().into_owned()) {
            if a == "--state" {
                match args.get(i + 1) {
                    Some(f) => state = Some(PathBuf::from(f)),
                    None => {
                        eprintln!("palisade: --state needs a file name");
                        return ExitCode::from(2);
                    }
                }
                i += 2;
            } else if let Some(f) = a.strip_prefix("--state=") {
                state = Some(PathBuf::from(f));
                i += 1;
            } else if a == "-h" || a == "--help" {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            } else if a == "-V" || a == "--version" {
                println!("palisade {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            } else {
                break;
            }
        }
        let Some(sub) = args.get(i).map(|a| a.to_string_lossy().into_owned()) else {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        };
        if sub == "simulate" {
            let words: Vec<String> = args[i + 1..]
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            return ExitCode::from(simulate::run(&words));
        }
        if sub == "replay" {
            let words: Vec<String> = args[i + 1..]
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            return ExitCode::from(replay::run(&words, state.as_deref()));
        }
        if sub == "trace" {
            let words: Vec<String> = args[i + 1..]
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            return ExitCode::from(trace::run(&words));
        }
        match program_for(&sub) {
            Some(p) => (p, args.split_off(i + 1)),
            None => {
                eprintln!("palisade: unknown command `{sub}'\n");
                eprint!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    };
    let words: Vec<String> = rest
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let code = iptables::run(program, &words, state.as_deref());
    ExitCode::from(code)
}
