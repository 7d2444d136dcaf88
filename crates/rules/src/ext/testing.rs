//! Helpers for the extensions' unit tests: parse a command line into the
//! extension under test, hand it single options, read its texts back.

use super::{Extension, OptCall, RuleCtx};
use crate::argv;
use crate::error::Result;
use crate::model::{Rule, Target};

/// The words of `line`, split at blanks.
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The first rule of an `iptables` command line.
fn first_rule<S: AsRef<str>>(args: &[S]) -> Result<Rule> {
    let inv = argv::parse(args, "filter", false)?;
    Ok(inv.rules.into_iter().next().expect("a rule command"))
}

/// The target extension of the rule an `iptables` command line makes.
pub fn target<T: Extension + Clone, S: AsRef<str>>(args: &[S]) -> Result<T> {
    match first_rule(args)?.target {
        Target::Ext(t) => Ok(t
            .as_any()
            .downcast_ref::<T>()
            .unwrap_or_else(|| panic!("not a {}", std::any::type_name::<T>()))
            .clone()),
        _ => panic!("no target extension"),
    }
}

/// The first match of type `T` in the rule an `iptables` command line
/// makes.
pub fn first_match<T: Extension + Clone, S: AsRef<str>>(args: &[S]) -> Result<T> {
    let rule = first_rule(args)?;
    let found = rule
        .matches
        .iter()
        .find_map(|m| m.as_any().downcast_ref::<T>().cloned());
    Ok(found.unwrap_or_else(|| panic!("no {} match", std::any::type_name::<T>())))
}

/// The message of the error parsing an `iptables` command line (split at
/// blanks) ends with.
pub fn parse_error(line: &str) -> String {
    match argv::parse(&words(line), "filter", false) {
        Ok(_) => panic!("`{line}' parses"),
        Err(e) => e.to_string(),
    }
}

/// What an extension saves, and what `-L` prints for it.
pub fn texts(ext: &dyn Extension, numeric: bool) -> (String, String) {
    let (mut save, mut print) = (String::new(), String::new());
    ext.save(&mut save);
    ext.print(&mut print, numeric);
    (save, print)
}

/// Hands `ext` one option as the parser does, with no words after it,
/// and returns what it warned.
pub fn option(
    ext: &mut dyn Extension,
    name: &'static str,
    value: Option<&str>,
    ctx: RuleCtx,
) -> Result<Vec<String>> {
    let mut none = || None;
    let mut warnings = Vec::new();
    let mut call = OptCall {
        name,
        invert: false,
        value: value.map(str::to_string),
        ctx,
        extra: &mut none,
        warnings: &mut warnings,
    };
    ext.parse(&mut call)?;
    Ok(warnings)
}

/// A fresh `T` given `opts` in a rule of protocol `proto`, then checked.
pub fn options<T: Extension + Default>(
    proto: u8,
    opts: &[(&'static str, Option<&str>)],
) -> Result<T> {
    let mut ext = T::default();
    let ctx = RuleCtx {
        proto,
        proto_invert: false,
    };
    for (name, value) in opts {
        option(&mut ext, name, *value, ctx)?;
    }
    ext.finish(&ctx)?;
    Ok(ext)
}

/// Parses an `iptables` command line (split at blanks), returning the
/// warnings it prints and its error text, if any.
pub fn warnings(line: &str) -> (Vec<String>, Option<String>) {
    let mut warnings = Vec::new();
    let r = argv::parse_with_warnings(&words(line), "filter", false, &mut warnings);
    (warnings, r.err().map(|e| e.to_string()))
}
