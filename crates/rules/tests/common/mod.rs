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

/// One rule line of an iptables `.t` file (format in the corpus README),
/// with the table and chains set by the lines before it.
pub struct TLine<'a> {
    pub table: String,
    pub chains: Vec<String>,
    pub rule: &'a str,
    pub expected: &'a str,
    pub result: &'a str,
    /// `NFT` / `LEGACY` and anything else after the result.
    pub variants: Vec<&'a str>,
}

/// The rule lines of a `.t` file, in order.
pub fn t_lines(text: &str) -> Vec<TLine<'_>> {
    let mut table = "filter".to_string();
    let mut chains: Vec<String> = vec![];
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(t) = line.strip_prefix('*') {
            table = t.trim().to_string();
            continue;
        }
        if let Some(c) = line.strip_prefix(':') {
            chains = c.split(',').map(|s| s.trim().to_string()).collect();
            continue;
        }
        let fields: Vec<&str> = line.split(';').collect();
        if fields.len() < 3 {
            continue;
        }
        out.push(TLine {
            table: table.clone(),
            chains: chains.clone(),
            rule: fields[0],
            expected: fields[1],
            result: fields[2],
            variants: fields[3..].to_vec(),
        });
    }
    out
}
