//! Scenarios and their outcomes, in the JSON form of
//! `../shared/tools/kernel_oracle.py`:
//!
//! ```text
//! {"interfaces": [{"name": "eth0", "addr": "198.51.100.1/24"}, ...],
//!                                                (optional "mtu": 1400)
//!  "routes": ["default dev eth0", ...],                         (optional)
//!  "sysctl": {"net.netfilter.nf_conntrack_tcp_loose": "0"},     (optional, after the rules)
//!  "rules": "<iptables-restore text>",
//!  "packets": [{"in": "eth0", "hex": "45.."},       arrives on eth0
//!              {"local": true, "hex": "45.."},      sent by a local process
//!              {"in": "eth0", "pkt": "udp 1.2.3.4:5 > 6.7.8.9:53", "at": 0.5}]}
//! ```
//! A packet gives its bytes as `hex` or as a [`crate::pkt`] description
//! `pkt`; `at` is seconds after the first packet. Beyond the oracle's
//! format, a scenario and each packet may carry a `comment`. Anything else
//! is refused (the oracle ignores unknown keys, which hides typos), as are
//! packets naming an undeclared interface and ambiguous packets.
//!
//! Two more additions of this lab, for NAT bindings Linux chooses at
//! random (a port clash, `--random`, `--random-fully`):
//! - a `pkt` line may refer to what left the host for an earlier input
//!   packet K (the first packet that left for it): `{K.src}`, `{K.dst}`,
//!   `{K.sport}`, `{K.dport}` (ports of TCP, UDP, UDP-Lite and SCTP) and
//!   `{K.id}` (an ICMP echo's id), so that an answer goes to whatever
//!   binding was chosen, e.g. `udp 203.0.113.5:53 > {0.src}:{0.sport}`;
//!   the packet is built when it is sent, by each harness from its own
//!   outputs;
//! - `"random_nat": ["ADDR[-ADDR][:PORT[-PORT]]", ...]` names the ranges
//!   such choices are made in; the outcome is then compared with the
//!   golden by rule (`compare::compare_by_rule`) rather than byte for
//!   byte.
//!
//! The outcome: for each input packet, the packets that left each
//! interface; `iptables-save -c`; `conntrack -L -o extended`; `conntrack
//! -L expect`; from the engine only, what LOG and NFLOG rules reported
//! (`log`).

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{hex, pkt};

/// Why a scenario was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError(pub String);

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScenarioError {}

impl From<ScenarioError> for std::io::Error {
    fn from(e: ScenarioError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub interfaces: Vec<Interface>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<String>,
    #[serde(default, skip_serializing_if = "Sysctls::is_empty")]
    pub sysctl: Sysctls,
    pub rules: String,
    /// Ranges of NAT bindings chosen at random (see the module comment).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub random_nat: Vec<String>,
    pub packets: Vec<Packet>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    pub name: String,
    /// `ip addr add` syntax, e.g. `198.51.100.1/24`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    /// `ip link set NAME mtu N` (68-65535); 1500 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
}

/// A host without packets or rules: its interfaces, routes and sysctl
/// settings (`palisade replay --topology`), in the scenario's JSON form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub interfaces: Vec<Interface>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<String>,
    #[serde(default, skip_serializing_if = "Sysctls::is_empty")]
    pub sysctl: Sysctls,
}

/// Reads `path` and parses it with `parse`; errors name the file.
fn load_json<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, ScenarioError>,
) -> std::io::Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    parse(&text).map_err(|e| ScenarioError(format!("{}: {e}", path.display())).into())
}

impl Host {
    /// A host file, or a whole scenario's host (its rules and packets
    /// ignored).
    pub fn from_json(text: &str) -> Result<Host, ScenarioError> {
        serde_json::from_str(text).or_else(|e| {
            Scenario::from_json(text)
                .map(|sc| sc.host())
                .map_err(|_| ScenarioError(format!("topology: {e}")))
        })
    }

    pub fn load(path: &Path) -> std::io::Result<Host> {
        load_json(path, Host::from_json)
    }

    /// Refuses what a scenario of this host would refuse (interface
    /// names).
    pub fn check(&self) -> Result<(), ScenarioError> {
        self.scenario("", Vec::new()).map(|_| ())
    }

    /// The scenario of this host with `rules` and `packets`, checked.
    pub fn scenario(&self, rules: &str, packets: Vec<Packet>) -> Result<Scenario, ScenarioError> {
        let sc = Scenario {
            comment: None,
            interfaces: self.interfaces.clone(),
            routes: self.routes.clone(),
            sysctl: self.sysctl.clone(),
            rules: rules.to_string(),
            packets,
            random_nat: Vec::new(),
        };
        sc.check()?;
        Ok(sc)
    }
}

/// `sysctl` settings in the order given (a JSON object; values are
/// strings or integers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sysctls(pub Vec<(String, String)>);

impl Sysctls {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Sysctls {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Sysctls {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Sysctls;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of sysctl names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Sysctls, A::Error> {
                let mut out: Vec<(String, String)> = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, SysctlValue>()? {
                    if out.iter().any(|(seen, _)| *seen == k) {
                        return Err(de::Error::custom(format!("sysctl `{k}` given twice")));
                    }
                    out.push((k, v.0));
                }
                Ok(Sysctls(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A sysctl value: a string, or an integer written as one.
struct SysctlValue(String);

impl<'de> Deserialize<'de> for SysctlValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any {
            S(String),
            U(u64),
            I(i64),
        }
        match Any::deserialize(d) {
            Ok(Any::S(s)) => Ok(SysctlValue(s)),
            Ok(Any::U(n)) => Ok(SysctlValue(n.to_string())),
            Ok(Any::I(n)) => Ok(SysctlValue(n.to_string())),
            Err(_) => Err(de::Error::custom(
                "a sysctl value is a string or an integer",
            )),
        }
    }
}

/// Where a packet enters the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Arrives on this interface.
    In(String),
    /// Sent by a local process (uid 0, raw socket with IP_HDRINCL).
    Local,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPacket", into = "RawPacket")]
pub struct Packet {
    pub via: Via,
    /// The packet, as given or as built from `pkt`.
    pub bytes: Vec<u8>,
    /// The `pkt` description the bytes were built from, if any.
    pub pkt: Option<String>,
    /// Seconds after the first packet; otherwise as soon as the previous
    /// packet's output has gone quiet.
    pub at: Option<f64>,
    pub comment: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPacket {
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    iface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    local: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pkt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

impl TryFrom<RawPacket> for Packet {
    type Error = ScenarioError;

    fn try_from(r: RawPacket) -> Result<Self, ScenarioError> {
        let fail = |m: &str| Err(ScenarioError(m.to_string()));
        let via = match (r.iface, r.local.unwrap_or(false)) {
            (Some(i), false) => Via::In(i),
            (None, true) => Via::Local,
            (Some(_), true) => return fail("a packet has both \"in\" and \"local\": true"),
            (None, false) => return fail("a packet needs \"in\": IFACE or \"local\": true"),
        };
        let bytes = match (&r.hex, &r.pkt) {
            (Some(h), None) => match hex::decode(h) {
                Some(b) => b,
                None => return fail(&format!("packet hex is not hex: {h:?}")),
            },
            (None, Some(p)) => {
                // A packet answering an earlier output is built, for now,
                // with placeholders: its syntax is checked here.
                let spec = expand_refs(p, None)?;
                pkt::build(&spec).map_err(|e| ScenarioError(e.to_string()))?
            }
            _ => return fail("a packet needs exactly one of \"hex\" and \"pkt\""),
        };
        Ok(Packet {
            via,
            bytes,
            pkt: r.pkt,
            at: r.at,
            comment: r.comment,
        })
    }
}

impl From<Packet> for RawPacket {
    fn from(p: Packet) -> Self {
        let (iface, local) = match p.via {
            Via::In(i) => (Some(i), None),
            Via::Local => (None, Some(true)),
        };
        let hex = p.pkt.is_none().then(|| hex::encode(&p.bytes));
        RawPacket {
            iface,
            local,
            hex,
            pkt: p.pkt,
            at: p.at,
            comment: p.comment,
        }
    }
}

/// A `{K.FIELD}` reference in a `pkt` line (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OutputRef<'a> {
    packet: usize,
    field: &'a str,
}

/// The references of a `pkt` line, with where each stands.
fn output_refs(spec: &str) -> Result<Vec<(std::ops::Range<usize>, OutputRef<'_>)>, ScenarioError> {
    let mut refs = Vec::new();
    let mut rest = 0;
    while let Some(open) = spec[rest..].find('{').map(|i| rest + i) {
        let Some(close) = spec[open..].find('}').map(|i| open + i) else {
            return Err(ScenarioError(format!("pkt `{spec}`: `{{` without `}}`")));
        };
        let inner = &spec[open + 1..close];
        let parsed = inner.split_once('.').and_then(|(k, f)| {
            let packet = k.parse().ok()?;
            matches!(f, "src" | "dst" | "sport" | "dport" | "id")
                .then_some(OutputRef { packet, field: f })
        });
        let Some(r) = parsed else {
            return Err(ScenarioError(format!(
                "pkt `{spec}`: `{{{inner}}}` is not {{K.src}}, {{K.dst}}, {{K.sport}}, {{K.dport}} or {{K.id}}"
            )));
        };
        refs.push((open..close + 1, r));
        rest = close + 1;
    }
    Ok(refs)
}

/// The value of field `f` in packet `bytes` (an IPv4 datagram).
fn field_of(bytes: &[u8], f: &str) -> Option<String> {
    let hl = usize::from(*bytes.first()? & 0x0f) * 4;
    let ip = bytes.get(..20)?;
    let addr = |at: usize| std::net::Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]);
    let proto = ip[9];
    let first_fragment = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff == 0;
    let be16 = |at: usize| -> Option<u16> {
        let b = bytes.get(hl + at..hl + at + 2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    };
    let ports = first_fragment && matches!(proto, 6 | 17 | 132 | 136);
    match f {
        "src" => Some(addr(12).to_string()),
        "dst" => Some(addr(16).to_string()),
        "sport" if ports => be16(0).map(|p| p.to_string()),
        "dport" if ports => be16(2).map(|p| p.to_string()),
        "id" if first_fragment && proto == 1 => be16(4).map(|p| p.to_string()),
        _ => None,
    }
}

/// A `pkt` line with its references replaced by what left the host
/// (`outputs`, one list per earlier input), or by placeholders (0.0.0.0,
/// 0) when `outputs` is `None`.
fn expand_refs(spec: &str, outputs: Option<&[Vec<Output>]>) -> Result<String, ScenarioError> {
    let refs = output_refs(spec)?;
    if refs.is_empty() {
        return Ok(spec.to_string());
    }
    let mut out = String::with_capacity(spec.len());
    let mut at = 0;
    for (span, r) in refs {
        out.push_str(&spec[at..span.start]);
        let value = match outputs {
            None if matches!(r.field, "src" | "dst") => "0.0.0.0".to_string(),
            None => "0".to_string(),
            Some(outs) => {
                let sent = outs
                    .get(r.packet)
                    .and_then(|o| o.first())
                    .and_then(|o| hex::decode(&o.hex));
                sent.as_deref()
                    .and_then(|b| field_of(b, r.field))
                    .ok_or_else(|| {
                        ScenarioError(format!(
                            "pkt `{spec}`: no {} in what left for packet {}",
                            r.field, r.packet
                        ))
                    })?
            }
        };
        out.push_str(&value);
        at = span.end;
    }
    out.push_str(&spec[at..]);
    Ok(out)
}

impl Packet {
    /// The bytes to send, given what left the host for the inputs before
    /// this one: as given, or built now when the `pkt` line refers to
    /// earlier outputs.
    pub fn bytes_after(&self, outputs: &[Vec<Output>]) -> Result<Vec<u8>, ScenarioError> {
        match &self.pkt {
            Some(spec) if spec.contains('{') => {
                let spec = expand_refs(spec, Some(outputs))?;
                pkt::build(&spec).map_err(|e| ScenarioError(e.to_string()))
            }
            _ => Ok(self.bytes.clone()),
        }
    }
}

impl Scenario {
    /// Parses and checks a scenario.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let sc: Scenario =
            serde_json::from_str(text).map_err(|e| ScenarioError(format!("scenario: {e}")))?;
        sc.check()?;
        Ok(sc)
    }

    pub fn load(path: &Path) -> std::io::Result<Scenario> {
        load_json(path, Scenario::from_json)
    }

    /// What the oracle would trip over half-way, refused up front.
    pub fn check(&self) -> Result<(), ScenarioError> {
        let mut names = HashSet::new();
        for itf in &self.interfaces {
            let n = &itf.name;
            // net/core/dev.c dev_valid_name; IFNAMSIZ is 16 with the NUL.
            if n.is_empty()
                || n.len() > 15
                || n == "."
                || n == ".."
                || n.contains(['/', ':'])
                || n.chars().any(char::is_whitespace)
            {
                return Err(ScenarioError(format!("invalid interface name {n:?}")));
            }
            if !names.insert(n.as_str()) {
                return Err(ScenarioError(format!("interface {n:?} declared twice")));
            }
            // drivers/net/tun.c: MIN_MTU 68, MAX_MTU 65535.
            if itf.mtu.is_some_and(|m| !(68..=65535).contains(&m)) {
                return Err(ScenarioError(format!(
                    "interface {n:?}: MTU must be 68-65535"
                )));
            }
        }
        for (i, p) in self.packets.iter().enumerate() {
            match &p.via {
                Via::In(n) if !names.contains(n.as_str()) => {
                    return Err(ScenarioError(format!(
                        "packet {i}: interface {n:?} is not declared"
                    )));
                }
                Via::Local if p.bytes.len() < 20 => {
                    return Err(ScenarioError(format!(
                        "packet {i}: a local packet needs at least an IPv4 header"
                    )));
                }
                _ => {}
            }
            if let Some(spec) = &p.pkt {
                for (_, r) in output_refs(spec)? {
                    if r.packet >= i {
                        return Err(ScenarioError(format!(
                            "packet {i}: {{{}.{}}} refers to a packet not sent before it",
                            r.packet, r.field
                        )));
                    }
                }
            }
        }
        for r in &self.random_nat {
            crate::compare::NatRange::parse(r)?;
        }
        Ok(())
    }

    /// The `random_nat` ranges (checked when the scenario was loaded).
    pub fn random_nat_ranges(&self) -> Result<Vec<crate::compare::NatRange>, ScenarioError> {
        self.random_nat
            .iter()
            .map(|r| crate::compare::NatRange::parse(r))
            .collect()
    }

    /// The host this scenario runs on.
    pub fn host(&self) -> Host {
        Host {
            comment: None,
            interfaces: self.interfaces.clone(),
            routes: self.routes.clone(),
            sysctl: self.sysctl.clone(),
        }
    }

    /// The same scenario with every packet given as hex, for tools that
    /// know only the oracle's format (a packet referring to earlier
    /// outputs keeps its `pkt` line: it has no bytes before it is sent).
    pub fn expanded(&self) -> Scenario {
        let mut sc = self.clone();
        for p in &mut sc.packets {
            if !p.pkt.as_deref().is_some_and(|s| s.contains('{')) {
                p.pkt = None;
            }
        }
        sc
    }
}

/// The suffix of outcomes recorded from the live kernel: scenario `X.json`
/// has its golden outcome in `X.linux.json`.
pub const GOLDEN_SUFFIX: &str = ".linux.json";

/// Where the golden outcome of scenario file `path` is; `None` if `path`
/// is no scenario's name (not `.json`, or itself a golden outcome).
pub fn golden_path(path: &Path) -> Option<PathBuf> {
    let name = path.to_str()?;
    if name.ends_with(GOLDEN_SUFFIX) {
        return None;
    }
    let stem = name.strip_suffix(".json")?;
    Some(PathBuf::from(format!("{stem}{GOLDEN_SUFFIX}")))
}

/// The scenario files below directory `dir` (every `.json` but golden
/// outcomes), sorted.
pub fn scenario_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for e in entries {
        if e.is_dir() {
            out.extend(scenario_files(&e)?);
        } else if golden_path(&e).is_some() {
            out.push(e);
        }
    }
    Ok(out)
}

/// What a scenario did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// For each input packet, what left the interfaces (in arrival order).
    #[serde(default)]
    pub outputs: Vec<Vec<Output>>,
    /// `iptables-save -c` afterwards.
    #[serde(default)]
    pub save: String,
    /// `conntrack -L -o extended` afterwards.
    #[serde(default)]
    pub conntrack: String,
    /// `conntrack -L expect` afterwards (the helpers' expectations);
    /// absent from the JSON when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expect: String,
    /// Local packets the kernel refused to send (kernel_oracle.py stops
    /// instead); absent from the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub send_errors: Vec<SendError>,
    /// What LOG and NFLOG rules reported: filled by the engine only (Linux
    /// writes no LOG line from a non-initial namespace and NFLOG has no
    /// listener there), so comparisons ignore it; absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<LogEntry>,
}

/// One LOG or NFLOG report, with the input packet that caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum LogEntry {
    /// A kernel log message: syslog level and text (no timestamp).
    #[serde(rename = "LOG")]
    Log {
        packet: usize,
        level: u8,
        line: String,
    },
    /// A packet for nfnetlink_log group `group`, `len` bytes long.
    #[serde(rename = "NFLOG")]
    Nflog {
        packet: usize,
        group: u16,
        prefix: String,
        len: usize,
    },
}

/// A local packet that `sendto` refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendError {
    /// Its index in the scenario.
    pub packet: usize,
    /// The errno's name, e.g. `EPERM` (a DROP or REJECT in OUTPUT).
    pub errno: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// The interface it left by.
    pub out: String,
    pub hex: String,
}

impl Outcome {
    pub fn from_json(text: &str) -> Result<Outcome, ScenarioError> {
        serde_json::from_str(text).map_err(|e| ScenarioError(format!("outcome: {e}")))
    }

    pub fn load(path: &Path) -> std::io::Result<Outcome> {
        load_json(path, Outcome::from_json)
    }

    /// Pretty JSON with a final newline, as golden files store it.
    pub fn to_json_pretty(&self) -> String {
        // Strings and lists of strings always serialise.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORACLE_STYLE: &str = r#"{
      "interfaces": [{"name": "eth0", "addr": "198.51.100.1/24"}, {"name": "eth1"}],
      "routes": ["default dev eth0"],
      "sysctl": {"net.b": "0", "net.a": 1},
      "rules": "*filter\nCOMMIT\n",
      "packets": [{"in": "eth0", "hex": "4500"},
                  {"local": true, "pkt": "udp 1.2.3.4:5 > 6.7.8.9:53", "at": 0.5}]}"#;

    #[test]
    fn parses_the_oracle_format_and_pkt() {
        let sc = Scenario::from_json(ORACLE_STYLE).unwrap();
        assert_eq!(sc.interfaces[1].addr, None);
        assert_eq!(
            sc.sysctl.0,
            vec![("net.b".into(), "0".into()), ("net.a".into(), "1".into())]
        );
        assert_eq!(sc.packets[0].via, Via::In("eth0".into()));
        assert_eq!(sc.packets[0].bytes, vec![0x45, 0]);
        assert_eq!(sc.packets[1].via, Via::Local);
        assert_eq!(sc.packets[1].bytes.len(), 28);
        assert_eq!(sc.packets[1].at, Some(0.5));
        // Serialised back: pkt stays pkt; expanded, it becomes hex.
        let back = serde_json::to_value(&sc).unwrap();
        assert_eq!(back["packets"][1]["pkt"], "udp 1.2.3.4:5 > 6.7.8.9:53");
        assert_eq!(back["sysctl"]["net.a"], "1");
        let flat = serde_json::to_value(sc.expanded()).unwrap();
        assert!(flat["packets"][1].get("pkt").is_none());
        assert_eq!(flat["packets"][1]["hex"].as_str().unwrap().len(), 56);
        assert_eq!(flat["packets"][1]["local"], true);
    }

    #[test]
    fn refuses_what_the_oracle_would_trip_over() {
        let base: serde_json::Value = serde_json::from_str(ORACLE_STYLE).unwrap();
        for (path, value, want) in [
            ("/packets/0/in", "eth9", "not declared"),
            ("/packets/0/hex", "45g0", "not hex"),
            ("/packets/1/pkt", "udp 1.2.3.4 > 6.7.8.9:53", "ADDRESS:PORT"),
            ("/interfaces/1/name", "eth0", "declared twice"),
            (
                "/interfaces/1/name",
                "a-very-long-name",
                "invalid interface name",
            ),
        ] {
            let mut v = base.clone();
            *v.pointer_mut(path).unwrap() = value.into();
            let e = Scenario::from_json(&v.to_string()).unwrap_err();
            assert!(e.0.contains(want), "{path}: {e}");
        }
        for (json, want) in [
            (r#"{"in": "eth0", "local": true, "hex": "4500"}"#, "both"),
            (r#"{"hex": "4500"}"#, "needs \"in\""),
            (r#"{"in": "eth0"}"#, "exactly one"),
            (r#"{"in": "eth0", "hex": "45", "pkt": "x"}"#, "exactly one"),
            (r#"{"in": "eth0", "hex": "45", "when": 1}"#, "unknown field"),
            (
                r#"{"local": true, "hex": "4500"}"#,
                "at least an IPv4 header",
            ),
        ] {
            let mut v = base.clone();
            v["packets"] = serde_json::from_str(&format!("[{json}]")).unwrap();
            let e = Scenario::from_json(&v.to_string()).unwrap_err();
            assert!(e.0.contains(want), "{json}: {e}");
        }
        for bad in [67, 65536] {
            let mut v = base.clone();
            v["interfaces"][0]["mtu"] = bad.into();
            let e = Scenario::from_json(&v.to_string()).unwrap_err();
            assert!(e.0.contains("MTU must be 68-65535"), "{e}");
        }
        let mut v = base.clone();
        v["interfaces"][0]["mtu"] = 1400.into();
        assert_eq!(
            Scenario::from_json(&v.to_string()).unwrap().interfaces[0].mtu,
            Some(1400)
        );
        let mut v = base.clone();
        v["sysctls"] = serde_json::json!({});
        assert!(Scenario::from_json(&v.to_string()).is_err());
        v = base;
        v["sysctl"] = serde_json::json!({"a": 1.5});
        let e = Scenario::from_json(&v.to_string()).unwrap_err();
        assert!(e.0.contains("string or an integer"), "{e}");
    }

    #[test]
    fn outcome_round_trips_the_oracle_json() {
        let text = r#"{"outputs": [[{"out": "eth1", "hex": "45"}], []],
                       "save": "*filter\n", "conntrack": ""}"#;
        let o = Outcome::from_json(text).unwrap();
        assert_eq!(o.outputs[0][0].out, "eth1");
        let back: serde_json::Value = serde_json::from_str(&o.to_json_pretty()).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
        assert_eq!(Outcome::from_json("{}").unwrap(), Outcome::default());
    }

    #[test]
    fn log_entries_in_json() {
        let o = Outcome {
            log: vec![
                LogEntry::Log {
                    packet: 0,
                    level: 4,
                    line: "IN=eth0 OUT= ".into(),
                },
                LogEntry::Nflog {
                    packet: 1,
                    group: 2,
                    prefix: "p".into(),
                    len: 28,
                },
            ],
            ..Outcome::default()
        };
        let v: serde_json::Value = serde_json::from_str(&o.to_json_pretty()).unwrap();
        assert_eq!(
            v["log"],
            serde_json::json!([
                {"kind": "LOG", "packet": 0, "level": 4, "line": "IN=eth0 OUT= "},
                {"kind": "NFLOG", "packet": 1, "group": 2, "prefix": "p", "len": 28}
            ])
        );
        assert_eq!(Outcome::from_json(&o.to_json_pretty()).unwrap(), o);
        // Absent when empty, as in the kernel's outcomes.
        let v: serde_json::Value =
            serde_json::from_str(&Outcome::default().to_json_pretty()).unwrap();
        assert!(v.get("log").is_none());
    }
}
