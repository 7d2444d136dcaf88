//! Re-runs every scenario under `scenarios/` through the live kernel and
//! compares the outcome with its recorded `X.linux.json`. Runs only as
//! root with `PALISADE_LIVE_KERNEL=1`; otherwise it says it is skipped.
//!
//! Scenarios whose outcome depends on the kernel's random choices (NAT
//! port selection on a clash, `--random`) name the ranges of those
//! choices (`random_nat`) and are compared by rule; the others byte for
//! byte.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use palisade_lab::compare::compare_for;
use palisade_lab::kernel;
use palisade_lab::scenario::{golden_path, scenario_files, Outcome, Scenario};

#[test]
fn scenarios_match_their_linux_goldens() {
    if std::env::var("PALISADE_LIVE_KERNEL").as_deref() != Ok("1") || !kernel::is_root() {
        println!("kernel_live: skipped (needs root and PALISADE_LIVE_KERNEL=1)");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let files = scenario_files(&dir).expect("listing scenarios");
    assert!(!files.is_empty(), "no scenarios under {}", dir.display());
    // Most of a scenario's time is spent waiting for its packets' times
    // (some wait minutes for a timeout), so several run at once, each in
    // its own namespace.
    let jobs = std::env::var("PALISADE_LIVE_JOBS")
        .ok()
        .and_then(|j| j.parse::<usize>().ok())
        .filter(|&j| j > 0)
        .unwrap_or(8);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<(), String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(files.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                let name = file
                    .strip_prefix(&dir)
                    .unwrap_or(file)
                    .display()
                    .to_string();
                let verdict = run_one(file).and_then(|d| {
                    if d.is_empty() {
                        println!("{name}: same");
                        Ok(())
                    } else {
                        Err(format!("{name} (A = golden, B = now):\n{}", d.join("\n")))
                    }
                });
                let verdict = verdict.map_err(|e| {
                    if e.starts_with(&name) {
                        e
                    } else {
                        format!("{name}: {e}")
                    }
                });
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((i, verdict));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let failures: Vec<String> = results.into_iter().filter_map(|(_, r)| r.err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ from their goldens:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// Runs one scenario through the live kernel and compares it with its
/// golden outcome.
fn run_one(file: &Path) -> Result<Vec<String>, String> {
    let golden = golden_path(file).ok_or_else(|| "no golden name".to_string())?;
    let golden = Outcome::load(&golden).map_err(|e| format!("no golden: {e}"))?;
    let sc = Scenario::load(file).map_err(|e| e.to_string())?;
    let now = kernel::run(&sc).map_err(|e| e.to_string())?;
    compare_for(&sc, &golden, &now).map_err(|e| e.to_string())
}
