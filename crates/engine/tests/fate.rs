//! `Outputs::fate` and `Outputs::generated`: what became of each input
//! (sent, delivered, dropped where, or discarded by the IP layer) and how
//! many of the packets out are the host's own answers.

mod common;

use palisade_engine::wire::{ipv4, transport};
use palisade_engine::{DropSite, Fate, Ingress, Outputs, SendError, Time};
use palisade_rules::model::{Hook, TableId};

const RULES: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:USER - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset
-A INPUT -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset
-A FORWARD -j USER
-A FORWARD -o eth1 -p tcp -m tcp --dport 80 -j ACCEPT
-A USER -p tcp -m tcp --dport 81 -j DROP
-A OUTPUT -p tcp -m tcp --sport 23 -j DROP
-A OUTPUT -p tcp -m tcp --dport 9 -j DROP
COMMIT
";

fn tcp(src: u32, dst: u32, dport: u16, ttl: u8) -> Vec<u8> {
    let mut p = vec![0u8; 40];
    ipv4::write_header(&mut p, 0, 40, 1, true, ttl, 6, src, dst);
    p[20..22].copy_from_slice(&40000u16.to_be_bytes());
    p[22..24].copy_from_slice(&dport.to_be_bytes());
    p[24..28].copy_from_slice(&1u32.to_be_bytes());
    p[32] = 5 << 4;
    p[33] = 0x02;
    p[34..36].copy_from_slice(&64240u16.to_be_bytes());
    transport::fill_l4_checksum(&mut p);
    p
}

#[test]
fn each_input_says_what_became_of_it() {
    let (mut e, ifs) = common::host(common::ETH0_ETH1, &[], RULES, 1);
    let eth0 = ifs[0];
    let rs = common::ruleset(RULES);
    // Chain positions in the filter table as loaded.
    let filter = rs.table(TableId::Filter).unwrap();
    let pos = |name: &str| filter.chains().position(|c| c.name == name).unwrap();

    let (client, host, inside) = (0xc633_6402, 0xc633_6401, 0x0a00_0002);
    let chain = |hook, chain, rule| {
        Fate::Dropped(DropSite::Chain {
            hook,
            table: TableId::Filter,
            chain,
            rule,
        })
    };
    let cases = [
        // Forwarded.
        (
            Ingress::Interface(eth0),
            tcp(client, inside, 80, 64),
            Fate::Sent,
            1,
            0,
        ),
        // Reaches the stack, which answers with a reset.
        (
            Ingress::Interface(eth0),
            tcp(client, host, 1, 64),
            Fate::Delivered,
            1,
            1,
        ),
        // REJECT: dropped at its rule, its reset generated.
        (
            Ingress::Interface(eth0),
            tcp(client, host, 22, 64),
            chain(Hook::Input, pos("INPUT"), Some(0)),
            1,
            1,
        ),
        // REJECT whose reset OUTPUT drops: still the input's REJECT.
        (
            Ingress::Interface(eth0),
            tcp(client, host, 23, 64),
            chain(Hook::Input, pos("INPUT"), Some(1)),
            0,
            0,
        ),
        // A rule of a user chain, and a built-in chain's policy.
        (
            Ingress::Interface(eth0),
            tcp(client, inside, 81, 64),
            chain(Hook::Forward, pos("USER"), Some(0)),
            0,
            0,
        ),
        (
            Ingress::Interface(eth0),
            tcp(client, inside, 82, 64),
            chain(Hook::Forward, pos("FORWARD"), None),
            0,
            0,
        ),
        // TTL expired: the IP layer's, with an ICMP error generated.
        (
            Ingress::Interface(eth0),
            tcp(client, inside, 80, 1),
            Fate::Discarded,
            1,
            1,
        ),
        // Sent by a local process, and one OUTPUT drops.
        (Ingress::Local, tcp(host, client, 80, 64), Fate::Sent, 1, 0),
        (
            Ingress::Local,
            tcp(host, client, 9, 64),
            chain(Hook::Output, pos("OUTPUT"), Some(1)),
            0,
            0,
        ),
    ];
    let mut out = Outputs::default();
    for (i, (ingress, pkt, fate, packets, generated)) in cases.into_iter().enumerate() {
        out.clear();
        e.process(Time::from_secs(100 + i as u64), ingress, pkt, &mut out);
        assert_eq!(out.fate, fate, "case {i}");
        assert_eq!(out.packets.len(), packets, "case {i}: packets");
        assert_eq!(out.generated, generated, "case {i}: generated");
    }
    assert_eq!(out.send_error, Some(SendError::Eperm));
    // The next input starts afresh even when `out` is not cleared.
    e.process(
        Time::from_secs(200),
        Ingress::Interface(eth0),
        tcp(client, inside, 80, 64),
        &mut out,
    );
    assert_eq!(out.fate, Fate::Sent);
}
