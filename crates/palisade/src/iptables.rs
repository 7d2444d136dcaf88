//! `iptables`, `iptables-save` and `iptables-restore` on the state file,
//! with iptables' own messages and exit codes.

use std::io::{Read, Write};
use std::mem::ManuallyDrop;
use std::path::Path;

use palisade_rules::argv;
use palisade_rules::error::Error;
use palisade_rules::ops;
use palisade_rules::restore::{restore_counting, RestoreOptions};
use palisade_rules::save::{save, IPTABLES_VERSION};
use palisade_rules::{Ruleset, TableId};

use crate::state::{load_unlocked, StateError, StateFile, Wait};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Iptables,
    Save,
    Restore,
}

const NO_STATE: &str =
    "palisade: no state file: set PALISADE_STATE or run `palisade --state FILE COMMAND ...'";

pub fn run(program: Program, args: &[String], state: Option<&Path>) -> u8 {
    match program {
        Program::Iptables => run_iptables(args, state),
        Program::Save => run_save(args, state),
        Program::Restore => run_restore(args, state),
    }
}

fn state_error(prog: &str, e: StateError) -> u8 {
    match e {
        StateError::Locked { waited: false } => {
            // iptables/xshared.c xtables_lock
            eprintln!("Another app is currently holding the xtables lock. Perhaps you want to use the -w option?");
            4
        }
        StateError::Locked { waited: true } => {
            eprintln!("Another app is currently holding the xtables lock. Stopped waiting after the given time.");
            4
        }
        StateError::Io(m) => {
            eprintln!("{prog}: {m}");
            4
        }
        StateError::Corrupt(m) => {
            eprintln!("{prog}: state file is not valid iptables-save text: {m}");
            4
        }
    }
}

/// Prints an iptables error the way iptables does and returns its status.
fn report(prog: &str, e: &Error) -> u8 {
    let try_help = format!("Try `{prog} -h' or '{prog} --help' for more information.");
    match e {
        Error::Param(m) => eprintln!("{prog} {IPTABLES_VERSION}: {m}\n{try_help}"),
        Error::BadArgument(_) => eprintln!("{e}\n{try_help}"),
        Error::Runtime(m) => eprintln!("{prog}: {m}"),
        Error::RuntimeVersioned(m) => eprintln!("{prog} {IPTABLES_VERSION}: {m}"),
        Error::NoTable(_) => eprintln!(
            "{prog} {IPTABLES_VERSION}: {e}\nPerhaps iptables or your kernel needs to be upgraded."
        ),
        Error::Kernel(k) => eprintln!("{prog} {IPTABLES_VERSION}:  {k}"),
    }
    e.exit_code() as u8
}

fn wait_of(w: Option<i32>) -> Wait {
    match w {
        None => Wait::No,
        Some(s) if s < 0 => Wait::Forever,
        Some(s) => Wait::Seconds(s as u32),
    }
}

fn run_iptables(args: &[String], state: Option<&Path>) -> u8 {
    let prog = "iptables";
    let mut warnings = Vec::new();
    let parsed = argv::parse_with_warnings(args, "filter", false, &mut warnings);
    for w in &warnings {
        eprintln!("{w}");
    }
    let inv = match parsed {
        Ok(inv) => inv,
        Err(e) => return report(prog, &e),
    };
    if inv.version {
        println!("{prog} {IPTABLES_VERSION}");
        return 0;
    }
    if inv.help {
        println!("{prog} {IPTABLES_VERSION}\n\nUsage: {prog} -[ACD] chain rule-specification [options]\nSee iptables(8).");
        return 0;
    }
    let Some(path) = state else {
        eprintln!("{NO_STATE}");
        return 1;
    };
    let file = match StateFile::lock(path, wait_of(inv.wait)) {
        Ok(f) => f,
        Err(e) => return state_error(prog, e),
    };
    // The process ends after this command: freeing every rule one by one
    // would be wasted work.
    let mut rs = match file.load() {
        Ok(rs) => ManuallyDrop::new(rs),
        Err(e) => return state_error(prog, e),
    };
    match ops::execute(&mut rs, &inv) {
        Ok(outcome) => {
            print!("{}", outcome.output);
            if outcome.changed && inv.command == argv::cmd::RENAME_CHAIN {
                let renamed = inv.new_name.as_deref().unwrap_or("");
                if let Some(code) = refuse_unstorable(prog, &rs, Some(renamed)) {
                    return code;
                }
            }
            if outcome.changed {
                if let Err(e) = file.store(&rs) {
                    return state_error(prog, e);
                }
            }
            0
        }
        Err(e) => report(prog, &e),
    }
}

/// A chain name the state file cannot hold, and why. The state file is
/// iptables-save text read back by iptables-restore, whose `:CHAIN` lines
/// refuse names that `-E` gives chains in the kernel (`-E a ACCEPT`, a
/// name with a space, 29 characters or more), so such a name is refused
/// rather than written into a file that would not load again.
fn unstorable_name(name: &str) -> Option<String> {
    if name.is_empty() {
        // xtables-restore.c: an empty `:` line.
        return Some("chain name invalid".to_string());
    }
    argv::check_chain_name(name).err().map(|e| e.to_string())
}

/// Refuses (exit 1, nothing stored) a ruleset with a chain whose name the
/// state file cannot hold; `renamed` is the only name to look at, when
/// only one can have changed.
fn refuse_unstorable(prog: &str, rs: &Ruleset, renamed: Option<&str>) -> Option<u8> {
    let (name, why) = match renamed {
        Some(n) => (n, unstorable_name(n)?),
        None => rs
            .tables()
            .flat_map(|t| t.user.keys())
            .find_map(|n| Some((n.as_str(), unstorable_name(n)?)))?,
    };
    eprintln!("{prog}: palisade cannot keep chain `{name}' in its state file: {why}");
    Some(1)
}

/// `ctime(3)` text of now, in UTC (palisade has no time zone database).
fn ctime_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        WD[days.rem_euclid(7) as usize],
        MON[(month - 1) as usize],
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        year
    )
}

fn save_usage(prog: &str) -> String {
    format!("Usage: {prog} [-c] [-t table] [-f file]\n")
}

fn run_save(args: &[String], state: Option<&Path>) -> u8 {
    let prog = "iptables-save";
    let mut counters = false;
    let mut table: Option<TableId> = None;
    let mut file: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let value = |i: &mut usize| -> Option<String> {
            *i += 1;
            args.get(*i).cloned()
        };
        match a {
            "-c" | "--counters" => counters = true,
            "-t" | "--table" => {
                let Some(name) = value(&mut i) else {
                    eprint!("{}", save_usage(prog));
                    return 1;
                };
                match TableId::from_name(&name) {
                    Some(t) => table = Some(t),
                    None => {
                        // xtables-save.c: unknown table
                        eprintln!("{prog} {IPTABLES_VERSION}: table '{name}' does not exist");
                        return 1;
                    }
                }
            }
            "-f" | "--file" => file = value(&mut i),
            "-M" | "--modprobe" => {
                value(&mut i);
            }
            "-V" | "--version" => {
                println!("{prog} {IPTABLES_VERSION}");
                return 0;
            }
            "-h" | "--help" => {
                print!("{}", save_usage(prog));
                return 0;
            }
            _ => {
                eprintln!("Look at manual page `iptables-save.8' for more information.");
                return 1;
            }
        }
        i += 1;
    }
    let Some(path) = state else {
        eprintln!("{NO_STATE}");
        return 1;
    };
    let rs = match load_unlocked(path) {
        Ok(rs) => ManuallyDrop::new(rs),
        Err(e) => return state_error(prog, e),
    };
    let text = save(&rs, table, counters, Some(&ctime_now()));
    let written = match file {
        Some(f) => std::fs::write(&f, text.as_bytes()).map_err(|e| format!("{f}: {e}")),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string()),
    };
    if let Err(e) = written {
        eprintln!("{prog}: {e}");
        return 1;
    }
    0
}

fn restore_usage(prog: &str) -> String {
    format!(
        "Usage: {prog} [-c] [-v] [-V] [-t] [-h] [-n] [-w secs] [-W usecs] [-T table] [-M command] [file]\n"
    )
}

fn run_restore(args: &[String], state: Option<&Path>) -> u8 {
    let prog = "iptables-restore";
    let mut opts = RestoreOptions::default();
    let mut wait = Wait::No;
    let mut input_file: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-c" | "--counters" => opts.counters = true,
            "-n" | "--noflush" => opts.noflush = true,
            "-t" | "--test" => opts.test = true,
            "-v" | "--verbose" => {}
            "-V" | "--version" => {
                println!("{prog} {IPTABLES_VERSION}");
                return 0;
            }
            "-h" | "--help" => {
                print!("{}", restore_usage(prog));
                return 0;
            }
            "-w" | "--wait" => {
                wait = Wait::Forever;
                if let Some(s) = args.get(i + 1).and_then(|s| s.parse::<u32>().ok()) {
                    wait = Wait::Seconds(s);
                    i += 1;
                }
            }
            "-W" | "--wait-interval" => {
                if args.get(i + 1).is_some_and(|s| !s.starts_with('-')) {
                    i += 1;
                }
            }
            "-T" | "--table" | "-M" | "--modprobe" => {
                i += 1;
                let Some(v) = args.get(i) else {
                    eprint!("{}", restore_usage(prog));
                    return 1;
                };
                if a == "-T" || a == "--table" {
                    opts.only_table = TableId::from_name(v);
                }
            }
            _ if a.starts_with('-') && a.len() > 1 => {
                eprint!("{}", restore_usage(prog));
                return 1;
            }
            _ => {
                if input_file.is_some() {
                    eprintln!("Unknown arguments found on commandline");
                    return 1;
                }
                input_file = Some(a.to_string());
            }
        }
        i += 1;
    }
    let input = match &input_file {
        Some(f) => match std::fs::read(f) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                eprintln!("Can't open {f}: {e}");
                return 1;
            }
        },
        None => {
            let mut b = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut b) {
                eprintln!("{prog}: {e}");
                return 1;
            }
            String::from_utf8_lossy(&b).into_owned()
        }
    };
    let Some(path) = state else {
        eprintln!("{NO_STATE}");
        return 1;
    };
    let file = match StateFile::lock(path, wait) {
        Ok(f) => f,
        Err(e) => return state_error(prog, e),
    };
    // The process ends after this command: freeing every rule one by one
    // would be wasted work.
    let mut rs = match file.load() {
        Ok(rs) => ManuallyDrop::new(rs),
        Err(e) => return state_error(prog, e),
    };
    let mut committed = 0;
    let result = restore_counting(&mut rs, &input, opts, &mut committed);
    let code = match &result {
        Ok(out) => {
            print!("{}", out.output);
            0
        }
        Err(e) => {
            eprint!("{}", e.message(prog));
            e.exit_code() as u8
        }
    };
    // Tables committed before a failure stay committed, as with Linux.
    if committed > 0 {
        if let Some(code) = refuse_unstorable(prog, &rs, None) {
            return code;
        }
        if let Err(e) = file.store(&rs) {
            return state_error(prog, e);
        }
    }
    code
}
