//! `palisade-lab`: run scenarios through the live kernel, record golden
//! outcomes, compare outcomes.
#![forbid(unsafe_code)]

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use palisade_lab::compare::{compare, compare_for};
use palisade_lab::kernel_trace::KernelTrace;
use palisade_lab::scenario::{golden_path, scenario_files, Outcome, Scenario};
use palisade_lab::{hex, kernel, pkt, random, simulate};

const USAGE: &str = "\
usage: palisade-lab kernel SCENARIO.json   run it through the live kernel (root); print the outcome
       palisade-lab record DIR|FILE...     write X.linux.json beside each scenario X.json (root)
       palisade-lab engine SCENARIO.json   run it through palisade's engine; print the outcome
       palisade-lab diff SCENARIO.json     run it through the engine and compare with its .linux.json
                                           (by rule where the scenario names random_nat ranges)
       palisade-lab compare A.json B.json [SCENARIO.json]
                                           print the differences of two outcomes (as SCENARIO
                                           wants them compared, if given); exit 1 if any
       palisade-lab expand SCENARIO.json   print the scenario with every `pkt` as `hex`
       palisade-lab pkt 'SPEC'             print the packet SPEC describes, as hex
       palisade-lab capture SCENARIO.json OUT.pcapng
                                           write its packets as a capture (for palisade replay)
       palisade-lab random SEED COUNT DIR  write COUNT seeded random scenarios DIR/random-SEED-N.json
       palisade-lab trace-record DIR SCENARIO.json...
                                           record the kernel's rule-by-rule walk of each packet
                                           (xtables-monitor --trace) as DIR/GROUP_X.kernel-trace.json (root)
SCENARIO.json may be `-` for standard input.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["kernel", file] => load_scenario(file).and_then(|sc| {
            let o = kernel::run(&sc).map_err(|e| e.to_string())?;
            print!("{}", o.to_json_pretty());
            Ok(true)
        }),
        ["engine", file] => load_scenario(file).and_then(|sc| {
            let o = simulate::simulate(&sc, simulate::DEFAULT_SEED).map_err(|e| e.to_string())?;
            print!("{}", o.to_json_pretty());
            Ok(true)
        }),
        ["diff", files @ ..] if !files.is_empty() => diff_files(files),
        ["record", paths @ ..] if !paths.is_empty() => record(paths),
        ["compare", a, b] => compare_files(a, b, None),
        ["compare", a, b, sc] => load_scenario(sc).and_then(|sc| compare_files(a, b, Some(&sc))),
        ["expand", file] => load_scenario(file).and_then(|sc| {
            let json = serde_json::to_string_pretty(&sc.expanded()).map_err(|e| e.to_string())?;
            println!("{json}");
            Ok(true)
        }),
        ["pkt", spec] => pkt::build(spec)
            .map(|b| {
                println!("{}", hex::encode(&b));
                true
            })
            .map_err(|e| e.to_string()),
        ["random", seed, count, dir] => random(seed, count, dir),
        ["capture", file, out] => load_scenario(file).and_then(|sc| write_capture(&sc, out)),
        ["trace-record", dir, files @ ..] if !files.is_empty() => trace_record(dir, files),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("palisade-lab: {e}");
            ExitCode::from(2)
        }
    }
}

fn write_capture(sc: &Scenario, out: &str) -> Result<bool, String> {
    let f = std::fs::File::create(out).map_err(|e| format!("{out}: {e}"))?;
    let mut w = palisade_capture::PcapngWriter::new(std::io::BufWriter::new(f), "palisade-lab")
        .map_err(|e| format!("{out}: {e}"))?;
    let local =
        palisade_lab::replay::scenario_capture(sc, &mut w).map_err(|e| format!("{out}: {e}"))?;
    if local > 0 {
        eprintln!("palisade-lab: {local} packets sent by a local process left out");
    }
    Ok(true)
}

/// Records the kernel's walk of every packet of each scenario, checking
/// that the kernel did what the scenario's golden outcome says.
fn trace_record(dir: &str, files: &[&str]) -> Result<bool, String> {
    let kernel = format!(
        "Linux {}, {}",
        command_output("uname", &["-r"])?,
        command_output("iptables", &["-V"])?
    );
    let mut ok = true;
    for file in files {
        let sc = load_scenario(file)?;
        let (outcome, (handles, packets)) =
            kernel::run_traced(&sc).map_err(|e| format!("{file}: {e}"))?;
        if let Some(golden) = golden_path(Path::new(file)).filter(|g| g.exists()) {
            let want = Outcome::load(&golden).map_err(|e| e.to_string())?;
            let diffs = compare_for(&sc, &want, &outcome).map_err(|e| e.to_string())?;
            if !diffs.is_empty() {
                eprintln!(
                    "{file}: the traced run differs from {}:\n{}",
                    golden.display(),
                    diffs.join("\n")
                );
                ok = false;
                continue;
            }
        }
        // GROUP_NAME: scenario names repeat across groups.
        let path = Path::new(file);
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{file}: no file name"))?;
        let group = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|s| s.to_str())
            .unwrap_or("scenario");
        let out = Path::new(dir).join(format!("{group}_{stem}.kernel-trace.json"));
        let trace = KernelTrace {
            scenario: file.to_string(),
            command: format!("palisade-lab trace-record {dir} {file}"),
            kernel: kernel.clone(),
            handles,
            packets,
        };
        std::fs::write(&out, trace.to_json_pretty())
            .map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(ok)
}

fn command_output(prog: &str, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| format!("{prog}: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn load_scenario(file: &str) -> Result<Scenario, String> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("standard input: {e}"))?;
        return Scenario::from_json(&text).map_err(|e| e.to_string());
    }
    Scenario::load(Path::new(file)).map_err(|e| e.to_string())
}

fn compare_files(a: &str, b: &str, sc: Option<&Scenario>) -> Result<bool, String> {
    let oa = Outcome::load(Path::new(a)).map_err(|e| e.to_string())?;
    let ob = Outcome::load(Path::new(b)).map_err(|e| e.to_string())?;
    let diffs = match sc {
        Some(sc) => compare_for(sc, &oa, &ob).map_err(|e| e.to_string())?,
        None => compare(&oa, &ob),
    };
    if diffs.is_empty() {
        println!("same");
        return Ok(true);
    }
    println!("A = {a}\nB = {b}");
    for d in &diffs {
        println!("{d}");
    }
    Ok(false)
}

/// Records the live kernel's outcome of every scenario under `paths`; a
/// failure is reported and the others still run.
fn record(paths: &[&str]) -> Result<bool, String> {
    let mut files = Vec::new();
    for p in paths {
        let p = Path::new(p);
        if p.is_dir() {
            files.extend(scenario_files(p).map_err(|e| format!("{}: {e}", p.display()))?);
        } else {
            files.push(p.to_path_buf());
        }
    }
    let mut ok = true;
    for f in files {
        let name = f.display().to_string();
        let Some(golden) = golden_path(&f) else {
            eprintln!("skipped {name}: not a scenario's .json file");
            continue;
        };
        match record_one(&f) {
            Ok(None) => eprintln!("skipped {name}: a result, not a scenario"),
            Ok(Some(outcome)) => {
                let golden = golden.display();
                match std::fs::write(golden.to_string(), outcome.to_json_pretty()) {
                    Ok(()) => eprintln!("wrote {golden}"),
                    Err(e) => {
                        eprintln!("{golden}: {e}");
                        ok = false;
                    }
                }
            }
            Err(e) => {
                eprintln!("{name}: {e}");
                ok = false;
            }
        }
    }
    Ok(ok)
}

/// The live kernel's outcome of the scenario in `file`, or `None` when the
/// file holds a result (outputs, no packets).
fn record_one(file: &Path) -> Result<Option<Outcome>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if value.get("outputs").is_some() && value.get("packets").is_none() {
        return Ok(None);
    }
    let sc = Scenario::from_json(&text).map_err(|e| e.to_string())?;
    kernel::run(&sc).map(Some).map_err(|e| e.to_string())
}

/// Engine versus recorded kernel outcome for each scenario.
fn diff_files(files: &[&str]) -> Result<bool, String> {
    let mut all_same = true;
    for file in files {
        let path = Path::new(file);
        let sc = Scenario::load(path).map_err(|e| format!("{file}: {e}"))?;
        let golden = golden_path(path).ok_or_else(|| format!("{file}: not a scenario name"))?;
        let linux = Outcome::load(&golden).map_err(|e| format!("{}: {e}", golden.display()))?;
        let ours =
            simulate::simulate(&sc, simulate::DEFAULT_SEED).map_err(|e| format!("{file}: {e}"))?;
        let diffs = compare_for(&sc, &linux, &ours).map_err(|e| format!("{file}: {e}"))?;
        if diffs.is_empty() {
            println!("{file}: same");
        } else {
            all_same = false;
            println!("{file}: {} difference(s)", diffs.len());
            for d in diffs {
                println!("  {d}");
            }
        }
    }
    Ok(all_same)
}

/// Writes `count` seeded random scenarios into `dir`.
fn random(seed: &str, count: &str, dir: &str) -> Result<bool, String> {
    let seed: u64 = seed
        .parse()
        .map_err(|_| format!("SEED {seed:?}: not a number (0 to 2^64-1)"))?;
    let count: u32 = count
        .parse()
        .map_err(|_| format!("COUNT {count:?}: not a number"))?;
    let files =
        random::write_scenarios(seed, count, Path::new(dir)).map_err(|e| format!("{dir}: {e}"))?;
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    Ok(true)
}
