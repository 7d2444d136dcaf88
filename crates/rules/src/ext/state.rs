//! `-m state`: the old name of a conntrack state match. iptables 1.8.9
//! sends it to the kernel as conntrack revision 3 with the state-alias
//! flag, and lists and saves it back under the name `state`
//! (extensions/libxt_conntrack.c `state_ct23_parse`, `conntrack_dump`,
//! `conntrack_print_name_alias`; kernel net/netfilter/xt_conntrack.c).

use std::any::Any;

use super::conntrack::{parse_states, states_text};
use super::util::save_invert;
use super::{must_be_specified, Extension, OptCall, OptDef, RuleCtx};
use crate::error::Result;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// `conntrack::STATE_*` bits; 0 until `--state` is given.
    pub states: u16,
    pub invert: bool,
}

impl State {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(State::default())
    }
}

static OPTIONS: &[OptDef] = &[OptDef::value("state").invertible()];

impl Extension for State {
    fn name(&self) -> &'static str {
        "state"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        self.states = parse_states(call.arg())?;
        self.invert = call.invert;
        Ok(())
    }

    fn finish(&mut self, _ctx: &RuleCtx) -> Result<()> {
        // libxt_conntrack.c state_opts: --state is XTOPT_MAND.
        if self.states == 0 {
            return Err(must_be_specified("state", "state"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        save_invert(out, self.invert);
        out.push_str(" --state ");
        out.push_str(&states_text(self.states));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        save_invert(out, self.invert);
        out.push_str(" state ");
        out.push_str(&states_text(self.states));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use crate::argv;

    fn run(args: &str) -> std::result::Result<(String, String, String), String> {
        let mut words: Vec<String> = vec!["-A".into(), "INPUT".into()];
        words.extend(args.split_whitespace().map(String::from));
        let inv = argv::parse(&words, "filter", false).map_err(|e| e.to_string())?;
        let r = inv.rules.into_iter().next().ok_or("no rule")?;
        let (mut p, mut n) = (String::new(), String::new());
        for m in &r.matches {
            m.print(&mut p, false);
            m.print(&mut n, true);
        }
        Ok((crate::save::rule_spec(&r), p, n))
    }

    #[test]
    fn save_and_print() {
        let (s, p, n) = run("-m state ! --state est,new,UNTRACKED,invalid").unwrap();
        assert_eq!(s, " -m state ! --state INVALID,NEW,ESTABLISHED,UNTRACKED");
        assert_eq!(p, " ! state INVALID,NEW,ESTABLISHED,UNTRACKED");
        assert_eq!(n, p);
        let (s, _, _) = run("-m state --state RELATED,NEW").unwrap();
        assert_eq!(s, " -m state --state NEW,RELATED");
    }

    #[test]
    fn refusals() {
        for (args, msg) in [
            ("-m state", "state: option \"--state\" must be specified\n"),
            ("-m state --state wrong", "Bad state \"wrong\""),
            ("-m state --state SNAT", "Bad state \"SNAT\""),
            ("-m state --state NEW,,EST", "Bad state \",EST\""),
            (
                "-m state --state NEW,",
                "\"--state\" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED",
            ),
            (
                "-m state --state NEW --state NEW",
                "state: option \"--state\" can only be used once.\n",
            ),
        ] {
            assert_eq!(run(args).unwrap_err(), msg, "{args}");
        }
    }
}
