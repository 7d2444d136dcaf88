//! The state of the rate and state matches across commits, as Linux keeps
//! it under iptables-nft: a rule's own state (limit's bucket, statistic's
//! nth counter, connlimit's lists) starts afresh with every commit (a
//! restore creates new rule instances), while a hashlimit table or recent
//! list lives on as long as some rule names it (xt_hashlimit.c
//! `htable_find_get`/`htable_put`, xt_recent.c `recent_mt_check`/
//! `recent_mt_destroy`). And their per-packet path, once a flow's bucket
//! or entry exists, allocates nothing.

#[path = "common/alloc_count.rs"]
mod alloc_count;

use palisade_engine::wire::{ipv4, transport};
use palisade_engine::{Engine, Ingress, Outputs, Time, Topology};
use palisade_rules::model::Ruleset;
use palisade_rules::restore::{restore, RestoreOptions};

const CLIENT_A: u32 = 0xc633_6402;
const CLIENT_B: u32 = 0xc633_6403;
const SERVER: u32 = 0xac11_0002;

struct Host {
    engine: Engine,
    eth0: palisade_engine::topology::IfIndex,
    now: Time,
    out: Outputs,
}

impl Host {
    fn new() -> Host {
        let mut topo = Topology::new();
        let eth0 = topo
            .add_interface("eth0", Some("198.51.100.1/24"))
            .expect("eth0");
        topo.add_interface("eth1", Some("172.17.0.1/16"))
            .expect("eth1");
        Host {
            engine: Engine::new(topo, 1),
            eth0,
            now: Time::from_secs(3600),
            out: Outputs::default(),
        }
    }

    fn load(&mut self, filter_forward: &[&str]) {
        let mut text = String::from(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n",
        );
        for r in filter_forward {
            text.push_str("-A FORWARD ");
            text.push_str(r);
            text.push('\n');
        }
        text.push_str("COMMIT\n");
        let mut rs = Ruleset::default();
        restore(&mut rs, &text, RestoreOptions::default()).expect("rules");
        self.engine.load(&rs).expect("compile");
    }

    /// A UDP datagram from `src` in on eth0, 100 ms after the last one;
    /// whether it was forwarded.
    fn send(&mut self, src: u32, sport: u16) -> bool {
        let mut p = vec![0u8; 28];
        ipv4::write_header(&mut p, 0, 28, 1, false, 64, 17, src, SERVER);
        p[20..22].copy_from_slice(&sport.to_be_bytes());
        p[22..24].copy_from_slice(&53u16.to_be_bytes());
        p[24..26].copy_from_slice(&8u16.to_be_bytes());
        transport::fill_l4_checksum(&mut p);
        self.now = self.now + Time::from_millis(100);
        self.out.clear();
        self.engine
            .process(self.now, Ingress::Interface(self.eth0), p, &mut self.out);
        !self.out.packets.is_empty()
    }
}

const HASHLIMIT: &str = "-m hashlimit --hashlimit-upto 1/hour --hashlimit-burst 1 \
     --hashlimit-mode srcip --hashlimit-name t -j ACCEPT";

#[test]
fn hashlimit_table_lives_while_named() {
    let mut h = Host::new();
    h.load(&[HASHLIMIT]);
    assert!(h.send(CLIENT_A, 1));
    assert!(!h.send(CLIENT_A, 1));
    // A new ruleset naming the table keeps it, with its buckets; a rule
    // asking for more (1000/sec, burst 100) does not change how the
    // table's buckets start: B's new bucket holds one packet too.
    h.load(&[
        "-p udp -m udp --dport 9 -j ACCEPT",
        "-m hashlimit --hashlimit-upto 1000/sec --hashlimit-burst 100 \
         --hashlimit-mode srcip --hashlimit-name t -j ACCEPT",
    ]);
    assert!(!h.send(CLIENT_A, 1));
    assert!(h.send(CLIENT_B, 1));
    assert!(!h.send(CLIENT_B, 1));
    // A ruleset without it destroys it; named again, it starts empty.
    h.load(&["-j ACCEPT"]);
    h.load(&[HASHLIMIT]);
    assert!(h.send(CLIENT_A, 1));
    assert!(!h.send(CLIENT_A, 1));
}

#[test]
fn recent_list_lives_while_named_and_grows_empty() {
    let set = "-p udp -m udp --sport 1 -m recent --set --name l -j ACCEPT";
    let check = "-p udp -m udp --sport 2 -m recent --rcheck --name l -j ACCEPT";
    let mut h = Host::new();
    h.load(&[set, check]);
    assert!(!h.send(CLIENT_A, 2));
    assert!(h.send(CLIENT_A, 1));
    assert!(h.send(CLIENT_A, 2));
    // Kept by a ruleset that names it, whatever its other rules.
    h.load(&["-p tcp -j ACCEPT", check]);
    assert!(h.send(CLIENT_A, 2));
    // A rule asking for more stamps (--hitcount 40: 64) empties it.
    h.load(&[
        set,
        check,
        "-p udp -m udp --sport 3 -m recent --rcheck --hitcount 40 --name l",
    ]);
    assert!(!h.send(CLIENT_A, 2));
    assert!(h.send(CLIENT_A, 1));
    // Gone with the last rule naming it.
    h.load(&["-p tcp -j ACCEPT"]);
    h.load(&[set, check]);
    assert!(!h.send(CLIENT_A, 2));
}

#[test]
fn rule_state_starts_afresh_with_each_commit() {
    let rules = [
        "-m limit --limit 1/hour --limit-burst 1 -j ACCEPT",
        "-p udp -m udp --sport 7 -m statistic --mode nth --every 3 --packet 0 -j ACCEPT",
    ];
    let mut h = Host::new();
    h.load(&rules);
    assert!(h.send(CLIENT_A, 1));
    assert!(!h.send(CLIENT_A, 1));
    // nth: the first of three.
    assert!(h.send(CLIENT_A, 7));
    assert!(!h.send(CLIENT_A, 7));
    // The same rules committed again are new rules: a full bucket, a
    // counter from the start.
    h.load(&rules);
    assert!(h.send(CLIENT_A, 1));
    assert!(h.send(CLIENT_A, 7));
    assert!(!h.send(CLIENT_A, 7));
}

#[test]
fn rate_matches_allocate_nothing_per_packet() {
    let mut h = Host::new();
    h.load(&[
        "-m limit --limit 1/hour --limit-burst 1 -j ACCEPT",
        "-m statistic --mode nth --every 2 --packet 0",
        "-m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 5 --hashlimit-mode srcip,srcport \
         --hashlimit-name a",
        "-m recent --rcheck --seconds 10 --hitcount 2 --name r",
        "-m recent --set --name r",
        "-m statistic --mode random --probability 0.5",
        "-j ACCEPT",
    ]);
    // The first packets create the bucket and the list entry.
    for _ in 0..3 {
        assert!(h.send(CLIENT_A, 1));
    }
    let before = alloc_count::allocations();
    let mut sent = 0;
    for _ in 0..1000 {
        // The packet itself is the caller's allocation.
        let mut p = vec![0u8; 28];
        ipv4::write_header(&mut p, 0, 28, 1, false, 64, 17, CLIENT_A, SERVER);
        p[20..22].copy_from_slice(&1u16.to_be_bytes());
        p[22..24].copy_from_slice(&53u16.to_be_bytes());
        p[24..26].copy_from_slice(&8u16.to_be_bytes());
        transport::fill_l4_checksum(&mut p);
        let start = alloc_count::allocations();
        h.now = h.now + Time::from_millis(100);
        h.out.clear();
        h.engine
            .process(h.now, Ingress::Interface(h.eth0), p, &mut h.out);
        sent += h.out.packets.len();
        // Forwarding reuses the packet's buffer.
        assert_eq!(alloc_count::allocations(), start);
        h.out.packets.clear();
    }
    assert_eq!(sent, 1000);
    assert!(alloc_count::allocations() - before >= 1000);
}
