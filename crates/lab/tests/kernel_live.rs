//! Re-runs every scenario under `scenarios/` through the live kernel and
//! compares the outcome with its recorded `X.linux.json`. Runs only as
//! root with `PALISADE_LIVE_KERNEL=1`; otherwise it says it is skipped.
//!
//! Scenarios whose outcome depends on the kernel's random choices (NAT
//! port selection on a clash, `--random`) name the ranges of those
//! choices (`random_nat`) and are compared by rule; the others byte for
//! byte.

use std::path::Path;

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
    let mut failures = Vec::new();
    for file in &files {
        let name = file
            .strip_prefix(&dir)
            .unwrap_or(file)
            .display()
            .to_string();
        let result = golden_path(file)
            .ok_or_else(|| "no golden name".to_string())
            .and_then(|g| Outcome::load(&g).map_err(|e| format!("no golden: {e}")))
            .and_then(|golden| {
                let sc = Scenario::load(file).map_err(|e| e.to_string())?;
                let now = kernel::run(&sc).map_err(|e| e.to_string())?;
                compare_for(&sc, &golden, &now).map_err(|e| e.to_string())
            });
        match result {
            Ok(d) if d.is_empty() => println!("{name}: same"),
            Ok(d) => failures.push(format!("{name} (A = golden, B = now):\n{}", d.join("\n"))),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ from their goldens:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
