//! `palisade simulate [--seed N] SCENARIO.json`: what the engine does to a
//! scenario's packets, printed as the same JSON the kernel harness gives.

use std::io::Read;
use std::path::Path;

use palisade_lab::scenario::Scenario;
use palisade_lab::simulate::{simulate, DEFAULT_SEED};

pub const USAGE: &str = "usage: palisade simulate [--seed N] SCENARIO.json|-";

/// Runs the subcommand; returns the exit code.
pub fn run(args: &[String]) -> u8 {
    let mut seed = DEFAULT_SEED;
    let mut file = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => match it.next().and_then(|s| s.parse().ok()) {
                Some(s) => seed = s,
                None => return usage_error("--seed needs a number"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return 0;
            }
            f if file.is_none() => file = Some(f.to_string()),
            _ => return usage_error("one scenario file only"),
        }
    }
    let Some(file) = file else {
        return usage_error("no scenario file");
    };
    let loaded = if file == "-" {
        let mut text = String::new();
        match std::io::stdin().read_to_string(&mut text) {
            Ok(_) => Scenario::from_json(&text).map_err(|e| e.to_string()),
            Err(e) => Err(format!("standard input: {e}")),
        }
    } else {
        Scenario::load(Path::new(&file)).map_err(|e| format!("{file}: {e}"))
    };
    let outcome = loaded.and_then(|sc| simulate(&sc, seed).map_err(|e| e.to_string()));
    match outcome {
        Ok(o) => {
            print!("{}", o.to_json_pretty());
            0
        }
        Err(e) => {
            eprintln!("palisade simulate: {e}");
            1
        }
    }
}

fn usage_error(msg: &str) -> u8 {
    eprintln!("palisade simulate: {msg}\n{USAGE}");
    2
}
