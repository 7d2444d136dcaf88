//! Helpers shared by the conformance tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/corpus` beside the checkout (CI always has it), or
/// `$PALISADE_CORPUS`.
pub fn corpus_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("PALISADE_CORPUS") {
        return PathBuf::from(p);
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = here.join("../../../shared/corpus");
    assert!(
        dir.is_dir(),
        "corpus not found at {} (set PALISADE_CORPUS)",
        dir.display()
    );
    dir
}

/// Drops `#` lines, as the corpus goldens were stored without them.
pub fn strip_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}
