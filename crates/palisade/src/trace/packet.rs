//! The packet on `palisade trace`'s command line: the lab's `pkt`
//! language (palisade_lab::pkt) in the form a user writes it,
//!
//! ```text
//! tcp 203.0.113.7:40000 -> 198.51.100.1:8080 in eth0 flags S
//! udp 172.17.0.3:5353 -> 8.8.8.8:53 in docker0 len 30
//! icmp 203.0.113.7 -> 198.51.100.1 in eth0 type echo-request
//! tcp 198.51.100.1:1234 -> 172.17.0.2:80 local
//! ```
//! `->` (or `>`) between the addresses, `in IFACE` or `local` for where it
//! enters, and every option of the `pkt` language either as `key=value` or
//! as `key value`.

use palisade_lab::pkt;
use palisade_lab::scenario::Via;

/// The `pkt` options that take a value (`key=value`).
const VALUED: &[&str] = &[
    "flags", "seq", "ack", "win", "urp", "opts", "csum", "ulen", "id", "ipid", "mtu", "gw", "ptr",
    "rest", "quote", "quotelen", "proto", "ttl", "tos", "frag", "iplen", "ipopts", "len", "data",
    "code",
];

/// A packet given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliPacket {
    pub via: Via,
    /// The same packet in the `pkt` language.
    pub spec: String,
    pub bytes: Vec<u8>,
}

/// Splits at spaces, keeping a parenthesised group (`quote=(...)`) in one
/// word.
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1).ok_or("`)` without `(`")?,
            _ => {}
        }
        if c.is_whitespace() && depth == 0 {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        } else {
            word.push(c);
        }
    }
    if depth != 0 {
        return Err("`(` without `)`".to_string());
    }
    if !word.is_empty() {
        out.push(word);
    }
    Ok(out)
}

/// Parses the packet words (one argument or several).
pub fn parse(args: &[String]) -> Result<CliPacket, String> {
    let text = args.join(" ");
    let w = words(&text)?;
    let [kind, src, arrow, dst, rest @ ..] = w.as_slice() else {
        return Err(format!(
            "packet `{text}`: expected `PROTO SRC -> DST in IFACE [OPTIONS]`"
        ));
    };
    if arrow != "->" && arrow != ">" {
        return Err(format!(
            "packet `{text}`: expected `->` between the addresses, found `{arrow}`"
        ));
    }
    let mut via = None;
    let mut opts: Vec<String> = Vec::new();
    let mut it = rest.iter();
    while let Some(word) = it.next() {
        let mut value_of = |key: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("packet `{text}`: `{key}` needs a value"))
        };
        match word.as_str() {
            "in" => {
                let iface = value_of("in")?;
                if via.replace(Via::In(iface)).is_some() {
                    return Err(format!("packet `{text}`: `in` or `local` given twice"));
                }
            }
            "local" => {
                if via.replace(Via::Local).is_some() {
                    return Err(format!("packet `{text}`: `in` or `local` given twice"));
                }
            }
            // `type echo-request`, `type 3/4`, `type 8`.
            "type" => {
                let t = value_of("type")?;
                if t.bytes().all(|b| b.is_ascii_digit()) {
                    opts.push(format!("type={t}"));
                } else {
                    opts.push(t);
                }
            }
            k if VALUED.contains(&k) => {
                let v = value_of(k)?;
                opts.push(format!("{k}={v}"));
            }
            other => opts.push(other.to_string()),
        }
    }
    let Some(via) = via else {
        return Err(format!(
            "packet `{text}`: say where it enters: `in IFACE` (received) or `local` (sent by this host)"
        ));
    };
    let mut spec = format!("{kind} {src} > {dst}");
    for o in &opts {
        spec.push(' ');
        spec.push_str(o);
    }
    let bytes = pkt::build(&spec).map_err(|e| e.to_string())?;
    Ok(CliPacket { via, spec, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<CliPacket, String> {
        parse(&[text.to_string()])
    }

    #[test]
    fn the_issue_forms_become_pkt_specs() {
        let t = p("tcp 203.0.113.7:40000 -> 198.51.100.1:8080 in eth0 flags S").unwrap();
        assert_eq!(t.via, Via::In("eth0".into()));
        assert_eq!(t.spec, "tcp 203.0.113.7:40000 > 198.51.100.1:8080 flags=S");
        assert_eq!(t.bytes, pkt::build(&t.spec).unwrap());
        let i = p("icmp 203.0.113.7 -> 198.51.100.1 in eth0 type echo-request").unwrap();
        assert_eq!(i.spec, "icmp 203.0.113.7 > 198.51.100.1 echo-request");
        let n = p("icmp 1.2.3.4 -> 5.6.7.8 local type 3 code 4 mtu 1400").unwrap();
        assert_eq!(n.via, Via::Local);
        assert_eq!(n.spec, "icmp 1.2.3.4 > 5.6.7.8 type=3 code=4 mtu=1400");
        let u = parse(&[
            "udp".into(),
            "172.17.0.3:5353".into(),
            "->".into(),
            "8.8.8.8:53".into(),
            "in".into(),
            "docker0".into(),
            "len=30".into(),
            "df".into(),
        ])
        .unwrap();
        assert_eq!(u.spec, "udp 172.17.0.3:5353 > 8.8.8.8:53 len=30 df");
        let q =
            p("icmp 1.2.3.4 > 5.6.7.8 in eth0 port-unreachable quote=(udp 5.6.7.8:1 > 1.2.3.4:2)")
                .unwrap();
        assert!(q.spec.ends_with("quote=(udp 5.6.7.8:1 > 1.2.3.4:2)"));
    }

    #[test]
    fn mistakes_are_explained() {
        for (text, want) in [
            ("tcp 1.2.3.4:1 -> 5.6.7.8:2", "say where it enters"),
            ("tcp 1.2.3.4:1 5.6.7.8:2 in eth0", "expected `->`"),
            ("tcp 1.2.3.4:1", "expected `PROTO SRC"),
            ("tcp 1.2.3.4:1 => 5.6.7.8:2 in eth0", "expected `->`"),
            ("tcp 1.2.3.4:1 -> 5.6.7.8:2 in", "`in` needs a value"),
            ("tcp 1.2.3.4:1 -> 5.6.7.8:2 in eth0 local", "given twice"),
            (
                "tcp 1.2.3.4:1 -> 5.6.7.8:2 in eth0 flags",
                "`flags` needs a value",
            ),
            ("tcp 1.2.3.4 -> 5.6.7.8:2 in eth0", "ADDRESS:PORT"),
            ("tcp 1.2.3.4:1 -> 5.6.7.8:2 in eth0 bogus", "bogus"),
            ("udp 1.2.3.4:1 -> 5.6.7.8:2 in eth0 quote=(x", "without `)`"),
        ] {
            let e = p(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
