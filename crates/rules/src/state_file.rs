//! palisade's state file: the ruleset as `iptables-save -c` text, read
//! back with iptables-restore's parser, standing in for the kernel's
//! tables between commands. Everything palisade accepts must come back
//! the same from it, which plain iptables-save text cannot always do:
//!
//! - iptables-save drops what the kernel still holds: the upper ICMP code
//!   of a range (`8/0:3` saves as `8/0`), the `/BASE` of a SNAT or
//!   MASQUERADE port map (the IPv4 struct keeps only the flag, saved as
//!   `/0`, which iptables-restore then refuses). Extensions write such
//!   things whole in [`Extension::save_state`](crate::ext::Extension).
//! - iptables-save prints names bare: an interface name with a blank
//!   (iptables only warns about it), a chain name with a `"`. The state
//!   file quotes them.
//! - A comment or log prefix may hold a newline, which iptables-save
//!   prints as is; the state file writes `\n` inside the quotes.
//! - iptables-restore reads at most 251 words a line; `iptables` takes a
//!   rule of any length.
//!
//! What still cannot be written so that it reads back the same is
//! refused when the rule is added ([`check_rule`]), rather than written
//! into a state file that no later command could load.

use crate::argv;
use crate::error::{Error, Result};
use crate::model::{Rule, Ruleset, TableId, Target};
use crate::restore::{restore, tokenize_quoted, RestoreError, RestoreOptions};
use crate::save::{self, Flavour};

/// The state-file text of a ruleset.
pub fn save(rs: &Ruleset) -> String {
    save::save_as(rs, None, true, None, Flavour::State)
}

/// How the state file is read: with counters, state-file escapes.
pub fn load_options() -> RestoreOptions {
    RestoreOptions {
        counters: true,
        state_file: true,
        ..Default::default()
    }
}

/// Reads a state file.
pub fn load(text: &str) -> std::result::Result<Ruleset, RestoreError> {
    let mut rs = Ruleset::default();
    restore(&mut rs, text, load_options())?;
    Ok(rs)
}

/// Everything a user can observe of a rule but its counters: its
/// state-file and iptables-save text, and how `-L` shows each extension.
fn fingerprint(rule: &Rule) -> String {
    let mut out = save::rule_spec_as(rule, Flavour::State);
    out.push('\0');
    out.push_str(&save::rule_spec(rule));
    let target = match &rule.target {
        Target::Ext(t) => Some(t),
        _ => None,
    };
    for ext in rule.matches.iter().chain(target) {
        out.push('\0');
        out.push_str(ext.list_name());
        ext.print(&mut out, true);
        ext.print(&mut out, false);
    }
    out
}

/// The rule that the state-file text `spec` of a rule in `chain` of
/// `table` reads back as, if it reads back as exactly one rule.
fn reparse(table: TableId, chain: &str, spec: &str) -> Option<Rule> {
    let mut words: Vec<String> = ["-t", table.name(), "-A", chain]
        .iter()
        .map(|w| w.to_string())
        .collect();
    words.extend(tokenize_quoted(spec, true).ok()?);
    let mut inv = argv::parse(&words, table.name(), true).ok()?;
    if inv.rules.len() != 1 {
        return None;
    }
    inv.rules.pop()
}

/// Refuses a rule about to be added to `chain` of `table` whose
/// state-file text would not read back as the same rule.
pub fn check_rule(table: TableId, chain: &str, rule: &Rule) -> Result<()> {
    let spec = save::rule_spec_as(rule, Flavour::State);
    if reparse(table, chain, &spec).is_some_and(|back| fingerprint(&back) == fingerprint(rule)) {
        return Ok(());
    }
    Err(Error::Runtime(format!(
        "palisade cannot keep this rule in its state file: it would read back as something else:{spec}"
    )))
}

/// [`check_rule`] for a rule that iptables-restore read from `line`
/// (what follows the `[p:b]` counters), done without parsing again when
/// the line is the rule's own state-file text, `-A CHAIN SPEC` (the usual
/// case: restoring saved text): the same words parse to the same rule.
pub(crate) fn check_restored_rule(
    table: TableId,
    chain: &str,
    rule: &Rule,
    line: &str,
) -> Result<()> {
    let spec = save::rule_spec_as(rule, Flavour::State);
    let same_text = line
        .trim_start_matches([' ', '\t'])
        .strip_prefix("-A ")
        .and_then(|r| r.strip_prefix(chain))
        .is_some_and(|r| r == spec);
    if same_text && !chain.contains(['"', ' ', '\t']) {
        return Ok(());
    }
    check_rule(table, chain, rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::restore;

    fn rule(words: &[&str]) -> Rule {
        let mut inv = argv::parse(words, "filter", false).expect("parse");
        inv.rules.remove(0)
    }

    #[test]
    fn what_reads_back_the_same_is_kept_and_the_rest_refused() {
        let ok = rule(&[
            "-A",
            "INPUT",
            "-i",
            "a b",
            "-p",
            "icmp",
            "--icmp-type",
            "8/0:3",
        ]);
        assert_eq!(check_rule(TableId::Filter, "INPUT", &ok), Ok(()));
        assert_eq!(
            save::rule_spec_as(&ok, Flavour::State),
            " -i \"a b\" -p icmp -m icmp --icmp-type 8/0:3"
        );
        assert_eq!(
            save::rule_spec(&ok),
            " -i a b -p icmp -m icmp --icmp-type 8/0"
        );
        // recent prints its name bare; a blank in it cannot come back.
        let bad = rule(&["-A", "INPUT", "-m", "recent", "--name", "a b", "--set"]);
        let e = check_rule(TableId::Filter, "INPUT", &bad).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(e
            .to_string()
            .starts_with("palisade cannot keep this rule in its state file"));
    }

    #[test]
    fn restore_refuses_what_the_state_file_cannot_keep_at_its_line() {
        let opts = RestoreOptions {
            keep_in_state_file: true,
            ..Default::default()
        };
        let mut rs = Ruleset::default();
        let input =
            "*filter\n-A INPUT -j ACCEPT\n-A INPUT -m recent --name \"a b\" --set\nCOMMIT\n";
        let e = restore(&mut rs, input, opts).unwrap_err();
        assert!(
            e.message("iptables-restore")
                .starts_with("iptables-restore: line 3 failed: palisade cannot keep this rule"),
            "{}",
            e.message("iptables-restore")
        );
        assert!(rs.table(TableId::Filter).is_none());
        // Without the option (a library user with no state file) it goes in.
        let mut rs = Ruleset::default();
        restore(&mut rs, input, RestoreOptions::default()).expect("restore");
        // Non-canonical lines are checked by parsing the state text again.
        let mut rs = Ruleset::default();
        let input = "*filter\n-A INPUT -p tcp --dport 80 -s 1.2.3.4,5.6.7.8 -i \"a b\"\n-I INPUT 1 -p icmp --icmp-type 3/1:2\nCOMMIT\n";
        restore(&mut rs, input, opts).expect("restore");
        let text = save(&rs);
        assert_eq!(
            text,
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             [0:0] -A INPUT -p icmp -m icmp --icmp-type 3/1:2\n\
             [0:0] -A INPUT -s 1.2.3.4/32 -i \"a b\" -p tcp -m tcp --dport 80\n\
             [0:0] -A INPUT -s 5.6.7.8/32 -i \"a b\" -p tcp -m tcp --dport 80\nCOMMIT\n"
        );
        assert_eq!(save(&load(&text).expect("load")), text);
    }

    #[test]
    fn state_file_reader_takes_escapes_and_long_lines_iptables_restore_does_not() {
        let long = "-m comment --comment x ".repeat(70);
        let text = format!(
            "*filter\n:INPUT ACCEPT [1:2]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             [3:4] -A INPUT -m comment --comment \"a\\nb\\\\n\" {long}-j ACCEPT\nCOMMIT\n"
        );
        let rs = load(&text).expect("state file");
        let saved = save::save(&rs, None, true, None);
        assert!(saved.contains("--comment \"a\nb\\\\n\""), "{saved}");
        assert!(
            saved.starts_with("*filter\n:INPUT ACCEPT [1:2]\n"),
            "{saved}"
        );
        assert!(saved.contains("[3:4] -A INPUT"), "{saved}");
        assert_eq!(save(&rs), text);
        // iptables-restore itself refuses the long line.
        let mut plain = Ruleset::default();
        assert!(restore(&mut plain, &text, RestoreOptions::default()).is_err());
    }
}
