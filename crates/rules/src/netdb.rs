//! The host's name databases, read the way glibc's `files` backend reads
//! them, because iptables resolves names through libc: `/etc/services`
//! (getservbyname), `/etc/protocols` (getprotobyname), `/etc/hosts`
//! (getaddrinfo without DNS: palisade never queries the network).
//! A missing file is an empty database.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::OnceLock;

struct Services {
    /// (name or alias, proto) -> port
    by_name: HashMap<(String, String), u16>,
    /// (port, proto) -> official name (first entry wins, as in glibc)
    by_port: HashMap<(u16, String), String>,
}

struct Protocols {
    by_name: HashMap<String, u8>,
    by_number: HashMap<u8, String>,
}

struct Networks {
    by_addr: HashMap<Ipv4Addr, String>,
}

struct Hosts {
    by_name: HashMap<String, Vec<Ipv4Addr>>,
    by_addr: HashMap<Ipv4Addr, String>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Lines of a files-database with comments removed, split into fields.
fn records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines().filter_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let fields: Vec<&str> = line.split_whitespace().collect();
        (!fields.is_empty()).then_some(fields)
    })
}

fn services() -> &'static Services {
    static DB: OnceLock<Services> = OnceLock::new();
    DB.get_or_init(|| {
        let text = read("/etc/services");
        let mut db = Services {
            by_name: HashMap::new(),
            by_port: HashMap::new(),
        };
        for f in records(&text) {
            let Some((port, proto)) = f.get(1).and_then(|pp| pp.split_once('/')) else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            for name in &f[..1] {
                db.by_port
                    .entry((port, proto.to_string()))
                    .or_insert_with(|| name.to_string());
            }
            for name in std::iter::once(&f[0]).chain(f[2..].iter()) {
                db.by_name
                    .entry((name.to_string(), proto.to_string()))
                    .or_insert(port);
            }
        }
        db
    })
}

fn protocols() -> &'static Protocols {
    static DB: OnceLock<Protocols> = OnceLock::new();
    DB.get_or_init(|| {
        let text = read("/etc/protocols");
        let mut db = Protocols {
            by_name: HashMap::new(),
            by_number: HashMap::new(),
        };
        for f in records(&text) {
            let Some(Ok(num)) = f.get(1).map(|n| n.parse::<u8>()) else {
                continue;
            };
            db.by_number.entry(num).or_insert_with(|| f[0].to_string());
            for name in std::iter::once(&f[0]).chain(f[2..].iter()) {
                db.by_name.entry(name.to_string()).or_insert(num);
            }
        }
        db
    })
}

fn hosts() -> &'static Hosts {
    static DB: OnceLock<Hosts> = OnceLock::new();
    DB.get_or_init(|| {
        let text = read("/etc/hosts");
        let mut db = Hosts {
            by_name: HashMap::new(),
            by_addr: HashMap::new(),
        };
        for f in records(&text) {
            let Ok(addr) = f[0].parse::<Ipv4Addr>() else {
                continue;
            };
            for name in &f[1..] {
                let list = db.by_name.entry(name.to_string()).or_default();
                if !list.contains(&addr) {
                    list.push(addr);
                }
            }
            if let Some(name) = f.get(1) {
                db.by_addr.entry(addr).or_insert_with(|| name.to_string());
            }
        }
        db
    })
}

fn networks() -> &'static Networks {
    static DB: OnceLock<Networks> = OnceLock::new();
    DB.get_or_init(|| {
        let text = read("/etc/networks");
        let mut db = Networks {
            by_addr: HashMap::new(),
        };
        for f in records(&text) {
            let Some(Ok(addr)) = f.get(1).map(|a| a.parse::<Ipv4Addr>()) else {
                continue;
            };
            db.by_addr.entry(addr).or_insert_with(|| f[0].to_string());
        }
        db
    })
}

/// getnetbyaddr(addr): the `/etc/networks` name of a network address.
pub fn network_name(addr: Ipv4Addr) -> Option<&'static str> {
    networks().by_addr.get(&addr).map(String::as_str)
}

/// getservbyname(name, proto)
pub fn service_port(name: &str, proto: &str) -> Option<u16> {
    services()
        .by_name
        .get(&(name.to_string(), proto.to_string()))
        .copied()
}

/// getservbyport(port, proto)
pub fn service_name(port: u16, proto: &str) -> Option<&'static str> {
    services()
        .by_port
        .get(&(port, proto.to_string()))
        .map(String::as_str)
}

/// getprotobyname(name)
pub fn protocol_number(name: &str) -> Option<u8> {
    protocols().by_name.get(name).copied()
}

/// getprotobynumber(num)
pub fn protocol_name(num: u8) -> Option<&'static str> {
    protocols().by_number.get(&num).map(String::as_str)
}

/// The IPv4 addresses `/etc/hosts` gives a name, in file order.
pub fn host_addresses(name: &str) -> Option<&'static [Ipv4Addr]> {
    hosts().by_name.get(name).map(Vec::as_slice)
}

/// The first name `/etc/hosts` gives an address (reverse lookup).
pub fn host_name(addr: Ipv4Addr) -> Option<&'static str> {
    hosts().by_addr.get(&addr).map(String::as_str)
}

/// One of the account databases (`/etc/passwd`, `/etc/group`): names to
/// ids and ids to their first name.
struct Accounts {
    by_name: HashMap<String, u32>,
    by_id: HashMap<u32, String>,
}

/// Reads `name:password:id:...` lines the way glibc's `files` backend
/// does (nss/nss_files/files-parse.c): leading blanks skipped, blank and
/// `#` lines ignored, the third field a decimal id (cast to 32 bits);
/// the first line with a name or an id wins. NIS `+`/`-` lines are not
/// accounts of the `files` backend.
fn parse_accounts(text: &str) -> Accounts {
    let mut db = Accounts {
        by_name: HashMap::new(),
        by_id: HashMap::new(),
    };
    for line in text.lines() {
        let line = line.trim_start_matches([' ', '\t', '\r', '\x0b', '\x0c']);
        if line.is_empty() || line.starts_with(['#', '+', '-']) {
            continue;
        }
        let mut fields = line.splitn(4, ':');
        let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if name.is_empty() || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(id) = id.parse::<u128>() else {
            continue;
        };
        let id = id as u32;
        db.by_name.entry(name.to_string()).or_insert(id);
        db.by_id.entry(id).or_insert_with(|| name.to_string());
    }
    db
}

fn passwd() -> &'static Accounts {
    static DB: OnceLock<Accounts> = OnceLock::new();
    DB.get_or_init(|| parse_accounts(&read("/etc/passwd")))
}

fn group() -> &'static Accounts {
    static DB: OnceLock<Accounts> = OnceLock::new();
    DB.get_or_init(|| parse_accounts(&read("/etc/group")))
}

/// getpwnam(name)->pw_uid
pub fn user_id(name: &str) -> Option<u32> {
    passwd().by_name.get(name).copied()
}

/// getpwuid(uid)->pw_name
pub fn user_name(uid: u32) -> Option<&'static str> {
    passwd().by_id.get(&uid).map(String::as_str)
}

/// getgrnam(name)->gr_gid
pub fn group_id(name: &str) -> Option<u32> {
    group().by_name.get(name).copied()
}

/// getgrgid(gid)->gr_name
pub fn group_name(gid: u32) -> Option<&'static str> {
    group().by_id.get(&gid).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_files() {
        let db = parse_accounts(
            "root:x:0:0:root:/root:/bin/bash\n\
             # comment:x:5:5\n\
             \x20 daemon:x:1:1:#not a comment:/:/bin/false\n\
             +nis::7:7:::\n\
             toor:x:0:0::/:/bin/sh\n\
             bad:x:1x:1\n\
             short:x\n\
             big:x:4294967297:0\n\
             :x:9:9\n",
        );
        assert_eq!(db.by_name.get("root"), Some(&0));
        assert_eq!(db.by_name.get("toor"), Some(&0));
        assert_eq!(db.by_id.get(&0).map(String::as_str), Some("root"));
        assert_eq!(db.by_name.get("daemon"), Some(&1));
        assert_eq!(db.by_name.get("big"), Some(&1));
        assert_eq!(db.by_id.get(&1).map(String::as_str), Some("daemon"));
        for absent in ["# comment", "+nis", "nis", "bad", "short", ""] {
            assert!(!db.by_name.contains_key(absent), "{absent}");
        }
        assert!(!db.by_id.contains_key(&9));
    }
}
