//! Expectations (net/netfilter/nf_conntrack_expect.c): a helper that read
//! an address and port in a connection's payload expects a connection
//! there; the first packet that fits one starts a connection RELATED to
//! the master, and the expectation is used up.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::helper::Helper;
use super::tuple::{Dir, Tuple};
use super::ConnId;
use crate::time::Time;

/// `NF_CT_EXPECT_CLASS_DEFAULT`.
pub const CLASS_DEFAULT: u8 = 0;

/// NAT's part of an expectation (`saved_proto`, `dir`, and
/// `nf_nat_follow_master` as `expectfn`): the connection that arrives is
/// NATed as its master's traffic in direction `dir`, to `saved_port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectNat {
    pub dir: Dir,
    pub saved_port: u16,
}

/// `struct nf_conntrack_expect`, IPv4 only. The mask keeps the whole
/// destination (address, protocol, port) and, of the source, what
/// `src_mask`/`sport_mask` keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    /// The original tuple the connection will have; `a` is the source
    /// port, `b` the destination port.
    pub tuple: Tuple,
    pub src_mask: u32,
    pub sport_mask: u16,
    pub master: ConnId,
    pub class: u8,
    /// The master's helper, listed as the expectation's (`exp->helper`).
    pub helper: Helper,
    /// Absolute expiry (the expectation's timer). Linux arms a
    /// `timer_list` for it (nf_ct_expect_insert), and the timer wheel
    /// rounds a 300 s timeout up to its level's granularity (4096 jiffies
    /// at HZ=250, kernel/time/timer.c calc_wheel_index): it fires between
    /// 300 and 316.4 s after the helper saw the command, depending on the
    /// jiffies counter since boot. Here it is exactly the policy's
    /// timeout.
    pub expires: Time,
    pub nat: Option<ExpectNat>,
}

/// Why `nf_ct_expect_related` refused an expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectError {
    /// -EALREADY: the same expectation exists for the master in another
    /// class.
    Already,
    /// -EBUSY: another expectation covers part of the same tuples.
    Busy,
    /// -EMFILE: the master may not have more.
    TooMany,
}

impl Expect {
    /// `nf_ct_tuple_mask_cmp` of a connection's original tuple.
    pub fn matches(&self, t: &Tuple) -> bool {
        (t.src ^ self.tuple.src) & self.src_mask == 0
            && (t.a ^ self.tuple.a) & self.sport_mask == 0
            && t.dst == self.tuple.dst
            && t.proto == self.tuple.proto
            && t.b == self.tuple.b
    }

    /// `expect_matches`: the same tuple and mask.
    fn same(&self, o: &Expect) -> bool {
        self.tuple == o.tuple && self.src_mask == o.src_mask && self.sport_mask == o.sport_mask
    }

    /// `expect_clash`: equal on what both masks keep.
    fn clashes(&self, o: &Expect) -> bool {
        let src_mask = self.src_mask & o.src_mask;
        let sport_mask = self.sport_mask & o.sport_mask;
        (self.tuple.src ^ o.tuple.src) & src_mask == 0
            && (self.tuple.a ^ o.tuple.a) & sport_mask == 0
            && self.tuple.dst == o.tuple.dst
            && self.tuple.proto == o.tuple.proto
            && self.tuple.b == o.tuple.b
    }
}

/// The expectation table: oldest first (Linux keeps each hash bucket and
/// each master's list newest first, and walks them that way).
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    list: Vec<Expect>,
}

impl Expectations {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Drops expectations whose timer ran out (`nf_ct_expectation_timed_out`).
    fn expire(&mut self, now: Time) {
        self.list.retain(|e| e.expires > now);
    }

    /// `nf_ct_expect_related` with its checks (`__nf_ct_expect_check`):
    /// an identical expectation of the same master is replaced, one that
    /// overlaps another's is refused, and past the helper's
    /// `max_expected` the master's oldest of the class is evicted.
    pub fn related(&mut self, now: Time, exp: Expect) -> Result<(), ExpectError> {
        self.expire(now);
        for i in (0..self.list.len()).rev() {
            let e = self.list[i];
            if e.master == exp.master && e.same(&exp) {
                if e.class != exp.class {
                    return Err(ExpectError::Already);
                }
                self.list.remove(i);
                break;
            } else if e.clashes(&exp) {
                return Err(ExpectError::Busy);
            }
        }
        let max = exp.helper.policy().max_expected;
        let of_class = |l: &[Expect]| {
            l.iter()
                .filter(|e| e.master == exp.master && e.class == exp.class)
                .count()
        };
        if max != 0 && of_class(&self.list) >= max {
            // evict_oldest_expect: the last of the master's newest-first
            // list.
            if let Some(i) = self
                .list
                .iter()
                .position(|e| e.master == exp.master && e.class == exp.class)
            {
                self.list.remove(i);
            }
            if of_class(&self.list) >= max {
                return Err(ExpectError::TooMany);
            }
        }
        self.list.push(exp);
        Ok(())
    }

    /// `nf_ct_unexpect_related`: takes back an expectation just added.
    pub fn unexpect(&mut self, exp: &Expect) {
        self.list
            .retain(|e| !(e.master == exp.master && e.same(exp)));
    }

    /// `nf_ct_find_expectation` for a connection's first packet: the
    /// newest expectation its tuple fits, taken out of the table, when
    /// `usable` says its master may have children (confirmed, not dying).
    pub fn take(
        &mut self,
        now: Time,
        t: &Tuple,
        usable: impl Fn(ConnId) -> bool,
    ) -> Option<Expect> {
        self.expire(now);
        let i = self.list.iter().rposition(|e| e.matches(t))?;
        if !usable(self.list[i].master) {
            return None;
        }
        Some(self.list.remove(i))
    }

    /// `nf_ct_remove_expectations`: a master is gone, and so are its
    /// expectations.
    pub fn remove_master(&mut self, master: ConnId) {
        self.list.retain(|e| e.master != master);
    }

    /// Live expectations, oldest first.
    pub fn live(&self, now: Time) -> impl Iterator<Item = &Expect> {
        self.list.iter().filter(move |e| e.expires > now)
    }
}

/// One line of `conntrack -L expect` (libnetfilter_conntrack's
/// `__snprintf_expect_default`, from ctnetlink_exp_dump_expect): seconds
/// left, the expected tuple, the mask (ctnetlink_exp_dump_mask: the
/// destination all ones), the master's original tuple, class, helper.
pub fn format_line(out: &mut String, e: &Expect, master: &Tuple, now: Time) {
    let secs = (e.expires - now).as_secs();
    let ports = |t: &Tuple| format!("sport={} dport={}", t.a, t.b);
    let _ = writeln!(
        out,
        "{secs} proto={} src={} dst={} {} mask-src={} mask-dst=255.255.255.255 sport={} dport=65535 \
         master-src={} master-dst={} {} class={} helper={}",
        e.tuple.proto,
        Ipv4Addr::from(e.tuple.src),
        Ipv4Addr::from(e.tuple.dst),
        ports(&e.tuple),
        Ipv4Addr::from(e.src_mask),
        e.sport_mask,
        Ipv4Addr::from(master.src),
        Ipv4Addr::from(master.dst),
        ports(master),
        e.class,
        e.helper.name(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4::PROTO_TCP;

    fn exp(master: u32, src: u32, dport: u16) -> Expect {
        Expect {
            tuple: Tuple {
                src,
                dst: 0x0a00_0002,
                proto: PROTO_TCP,
                a: 0,
                b: dport,
            },
            src_mask: u32::MAX,
            sport_mask: 0,
            master: ConnId(master),
            class: CLASS_DEFAULT,
            helper: Helper::Ftp,
            expires: Time::from_secs(300),
            nat: None,
        }
    }

    #[test]
    fn one_per_master_clash_across_masters() {
        let now = Time::from_secs(1);
        let mut t = Expectations::default();
        assert_eq!(t.related(now, exp(1, 5, 100)), Ok(()));
        // max_expected 1: the master's older one is evicted.
        assert_eq!(t.related(now, exp(1, 5, 200)), Ok(()));
        assert_eq!(t.live(now).map(|e| e.tuple.b).collect::<Vec<_>>(), [200]);
        // Another master expecting the same: refused.
        assert_eq!(t.related(now, exp(2, 5, 200)), Err(ExpectError::Busy));
        // A connection fitting it takes it.
        let mut c = exp(0, 5, 200).tuple;
        c.a = 20;
        assert!(t.take(now, &c, |_| true).is_some());
        assert!(t.is_empty());
        // Expired ones are gone.
        t.related(now, exp(1, 5, 100)).unwrap();
        assert!(t
            .take(Time::from_secs(300), &exp(0, 5, 100).tuple, |_| true)
            .is_none());
    }
}
