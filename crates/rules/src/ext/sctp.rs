//! `-m sctp`: SCTP ports and chunk types (extensions/libxt_sctp.c; kernel
//! net/netfilter/xt_sctp.c). iptables-nft 1.8.9 keeps it an xt match (no
//! native form in iptables/nft.c), so the kernel's generic check wants a
//! non-inverted `-p sctp` (x_tables.c `xt_check_match`, `.proto`);
//! userspace does not ask for one.

use std::any::Any;

use super::tcp::print_ports;
use super::util::{parse_port_range, save_invert};
use super::{CheckCtx, Extension, OptCall, OptDef};
use crate::error::{Errno, Error, Result};

const IPPROTO_SCTP: u8 = 132;

/// xt_sctp.h `XT_NUM_SCTP_FLAGS`: chunk types that may carry flags.
const NUM_FLAG_INFO: usize = 4;

/// libxt_sctp.c `sctp_chunk_names`, in table order: name, chunk type and
/// the letters of its flags from bit 7 down to bit 0 (`-` = no flag).
const CHUNK_NAMES: &[(&str, u8, &[u8; 8])] = &[
    ("DATA", 0, b"----IUBE"),
    ("INIT", 1, b"--------"),
    ("INIT_ACK", 2, b"--------"),
    ("SACK", 3, b"--------"),
    ("HEARTBEAT", 4, b"--------"),
    ("HEARTBEAT_ACK", 5, b"--------"),
    ("ABORT", 6, b"-------T"),
    ("SHUTDOWN", 7, b"--------"),
    ("SHUTDOWN_ACK", 8, b"--------"),
    ("ERROR", 9, b"--------"),
    ("COOKIE_ECHO", 10, b"--------"),
    ("COOKIE_ACK", 11, b"--------"),
    ("ECN_ECNE", 12, b"--------"),
    ("ECN_CWR", 13, b"--------"),
    ("SHUTDOWN_COMPLETE", 14, b"-------T"),
    ("I_DATA", 64, b"----IUBE"),
    ("RE_CONFIG", 130, b"--------"),
    ("PAD", 132, b"--------"),
    ("ASCONF", 193, b"--------"),
    ("ASCONF_ACK", 128, b"--------"),
    ("FORWARD_TSN", 192, b"--------"),
    ("I_FORWARD_TSN", 194, b"--------"),
];

/// xt_sctp.h `SCTP_CHUNK_MATCH_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkMatch {
    Any,
    All,
    Only,
}

/// xt_sctp.h `struct xt_sctp_flag_info`. `chunk` holds what libxt_sctp.c
/// stores there: the index in [`CHUNK_NAMES`], not the chunk type, so
/// flags given for a chunk past SHUTDOWN_COMPLETE are kept but never
/// printed (`parse_sctp_chunk` passes `i` to `save_chunk_flag_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagInfo {
    pub chunk: u8,
    pub flag: u8,
    pub mask: u8,
}

/// `--chunk-types`: the match kind, the chunk types (a 256-bit map) and
/// per-chunk flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunks {
    pub kind: ChunkMatch,
    pub map: [u32; 8],
    pub flags: Vec<FlagInfo>,
    pub invert: bool,
}

impl Chunks {
    pub fn contains(&self, chunk: u8) -> bool {
        self.map[usize::from(chunk / 32)] & (1 << (chunk % 32)) != 0
    }

    fn set(&mut self, chunk: u8) {
        self.map[usize::from(chunk / 32)] |= 1 << (chunk % 32);
    }

    /// libxt_sctp.c `print_chunks` (without the `!`): the kind, then
    /// `NONE`, `ALL` or the chunks by number with their flags.
    fn write(&self, out: &mut String, numeric: bool) {
        out.push_str(match self.kind {
            ChunkMatch::Any => " any",
            ChunkMatch::All => " all",
            ChunkMatch::Only => " only",
        });
        if self.map == [0; 8] {
            out.push_str(" NONE");
            return;
        }
        if self.map == [u32::MAX; 8] {
            out.push_str(" ALL");
            return;
        }
        let mut first = true;
        for chunk in (0..=255u8).filter(|&c| self.contains(c)) {
            out.push_str(if first { " " } else { "," });
            first = false;
            if numeric {
                out.push_str(&format!("0x{chunk:04X}"));
            } else if let Some((name, _, _)) = CHUNK_NAMES.iter().find(|(_, t, _)| *t == chunk) {
                out.push_str(name);
            }
            for info in self.flags.iter().filter(|f| f.chunk == chunk) {
                write_flags(out, chunk, info);
            }
        }
    }
}

/// libxt_sctp.c `print_chunk_flags`: `:` and one letter per flag in the
/// mask, upper case when set. The letters are looked up by chunk type,
/// which only ever gets here for the first 15 entries, where the type is
/// the index.
fn write_flags(out: &mut String, chunk: u8, info: &FlagInfo) {
    let Some((_, _, letters)) = CHUNK_NAMES.get(usize::from(chunk)) else {
        return;
    };
    if info.mask != 0 {
        out.push(':');
    }
    for bit in (0..8).rev() {
        if info.mask & (1 << bit) != 0 {
            let c = char::from(letters[7 - bit]);
            out.push(if info.flag & (1 << bit) != 0 {
                c
            } else {
                c.to_ascii_lowercase()
            });
        }
    }
}

/// libxt_sctp.c `parse_sctp_chunks`/`parse_sctp_chunk`: the match kind and
/// a comma-separated list of `NAME[:FLAGS]`, or `ALL`/`NONE`.
fn parse_chunks(kind: &str, list: &str, invert: bool) -> Result<Chunks> {
    let kind = if kind.eq_ignore_ascii_case("ANY") {
        ChunkMatch::Any
    } else if kind.eq_ignore_ascii_case("ALL") {
        ChunkMatch::All
    } else if kind.eq_ignore_ascii_case("ONLY") {
        ChunkMatch::Only
    } else {
        return Err(Error::param(
            "Match type has to be one of \"ALL\", \"ANY\" or \"ONLY\"",
        ));
    };
    let mut chunks = Chunks {
        kind,
        map: [0; 8],
        flags: Vec::new(),
        invert,
    };
    if list.eq_ignore_ascii_case("ALL") {
        chunks.map = [u32::MAX; 8];
        return Ok(chunks);
    }
    if list.eq_ignore_ascii_case("NONE") {
        return Ok(chunks);
    }
    // strtok skips empty fields.
    for item in list.split(',').filter(|s| !s.is_empty()) {
        let (name, flags) = match item.split_once(':') {
            Some((n, f)) => (n, Some(f)),
            None => (item, None),
        };
        let Some(index) = CHUNK_NAMES
            .iter()
            .position(|(n, _, _)| n.eq_ignore_ascii_case(name))
        else {
            return Err(Error::param(format!("Unknown sctp chunk `{name}'")));
        };
        let (_, chunk_type, letters) = CHUNK_NAMES[index];
        chunks.set(chunk_type);
        for b in flags.unwrap_or("").bytes() {
            // strchr finds the first match, so `-` is bit 7.
            let upper = b.to_ascii_uppercase();
            let Some(pos) = letters.iter().position(|&l| l == upper) else {
                return Err(Error::param(format!(
                    "Invalid flags for chunk type {index}"
                )));
            };
            add_flag(
                &mut chunks.flags,
                index as u8,
                7 - pos as u8,
                b.is_ascii_uppercase(),
            )?;
        }
    }
    Ok(chunks)
}

/// libxt_sctp.c `save_chunk_flag_info`.
fn add_flag(flags: &mut Vec<FlagInfo>, chunk: u8, bit: u8, set: bool) -> Result<()> {
    let value = if set { 1 << bit } else { 0 };
    if let Some(info) = flags.iter_mut().find(|f| f.chunk == chunk) {
        info.mask |= 1 << bit;
        info.flag |= value;
        return Ok(());
    }
    if flags.len() == NUM_FLAG_INFO {
        return Err(Error::param(
            "Number of chunk types with flags exceeds currently allowed limit. Increasing this limit involves changing IPT_NUM_SCTP_FLAGS and recompiling both the kernel space and user space modules",
        ));
    }
    flags.push(FlagInfo {
        chunk,
        flag: value,
        mask: 1 << bit,
    });
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sctp {
    /// `--sport`: the range and its `!` (`XT_SCTP_SRC_PORTS`).
    pub sport: Option<((u16, u16), bool)>,
    /// `--dport` (`XT_SCTP_DEST_PORTS`).
    pub dport: Option<((u16, u16), bool)>,
    /// `--chunk-types` (`XT_SCTP_CHUNK_TYPES`).
    pub chunks: Option<Chunks>,
}

impl Sctp {
    pub fn new_boxed() -> Box<dyn Extension> {
        Box::new(Sctp::default())
    }
}

/// libxt_sctp.c `sctp_save` for one port option: always written once given.
fn save_port(out: &mut String, opt: &str, given: Option<((u16, u16), bool)>) {
    let Some(((lo, hi), invert)) = given else {
        return;
    };
    save_invert(out, invert);
    if lo == hi {
        out.push_str(&format!(" --{opt} {lo}"));
    } else {
        out.push_str(&format!(" --{opt} {lo}:{hi}"));
    }
}

// A getopt-style extension: every option takes `!` and repeats are
// refused by the parser itself, with its own messages.
static OPTIONS: &[OptDef] = &[
    OptDef::value("source-port").invertible().multi(),
    OptDef::value("sport").invertible().multi(),
    OptDef::value("destination-port").invertible().multi(),
    OptDef::value("dport").invertible().multi(),
    OptDef::value("chunk-types").invertible().multi(),
];

impl Extension for Sctp {
    fn name(&self) -> &'static str {
        "sctp"
    }

    fn options(&self) -> &'static [OptDef] {
        OPTIONS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<()> {
        match call.name {
            "source-port" | "sport" => {
                if self.sport.is_some() {
                    return Err(Error::param("Only one `--source-port' allowed"));
                }
                self.sport = Some((parse_port_range(call.arg(), "sctp")?, call.invert));
            }
            "destination-port" | "dport" => {
                if self.dport.is_some() {
                    return Err(Error::param("Only one `--destination-port' allowed"));
                }
                self.dport = Some((parse_port_range(call.arg(), "sctp")?, call.invert));
            }
            _ => {
                if self.chunks.is_some() {
                    return Err(Error::param("Only one `--chunk-types' allowed"));
                }
                let kind = call.arg().to_string();
                let Some(list) = call.next_word() else {
                    return Err(Error::param("--chunk-types requires two args"));
                };
                self.chunks = Some(parse_chunks(&kind, &list, call.invert)?);
            }
        }
        Ok(())
    }

    fn check(&self, ctx: &CheckCtx) -> Result<(), Errno> {
        // x_tables.c xt_check_match: `.proto = IPPROTO_SCTP` (xt_sctp.c).
        // sctp_mt_check's own tests cannot fail for what iptables builds.
        if ctx.proto != IPPROTO_SCTP || ctx.proto_invert {
            return Err(Errno::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        save_port(out, "sport", self.sport);
        save_port(out, "dport", self.dport);
        if let Some(chunks) = &self.chunks {
            save_invert(out, chunks.invert);
            out.push_str(" --chunk-types");
            chunks.write(out, false);
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" sctp");
        if let Some((range, invert)) = self.sport {
            print_ports(out, "spt", range, invert, numeric, "sctp");
        }
        if let Some((range, invert)) = self.dport {
            print_ports(out, "dpt", range, invert, numeric, "sctp");
        }
        if let Some(chunks) = &self.chunks {
            if chunks.invert {
                out.push_str(" !");
            }
            chunks.write(out, numeric);
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argv;
    use crate::ext::testing::{self, words};
    use crate::model::Ruleset;
    use crate::ops;

    fn run(rule: &str) -> Result<Sctp> {
        testing::first_match(&words(&format!("-A INPUT {rule}")))
    }

    fn err(rule: &str) -> String {
        run(rule).map(|_| ()).unwrap_err().to_string()
    }

    fn saved(rule: &str) -> String {
        let mut s = String::new();
        run(rule).unwrap().save(&mut s);
        s
    }

    fn printed(rule: &str, numeric: bool) -> String {
        let mut s = String::new();
        run(rule).unwrap().print(&mut s, numeric);
        s
    }

    #[test]
    fn ports() {
        assert_eq!(
            saved("-p sctp --dport 80 ! --sport 5:7"),
            " ! --sport 5:7 --dport 80"
        );
        assert_eq!(
            saved("-p sctp --sport 0:65535 ! --dport 0:65535"),
            " --sport 0:65535 ! --dport 0:65535"
        );
        assert_eq!(
            saved("-p sctp --sport :5 --dport 0x10:"),
            " --sport 0:5 --dport 16:65535"
        );
        assert_eq!(
            printed("-p sctp --sport 0:65535 ! --dport 0:65535", true),
            " sctp dpts:!0:65535"
        );
        assert_eq!(
            printed("-p sctp ! --sport 5:7 --dport 80", true),
            " sctp spts:!5:7 dpt:80"
        );
        assert_eq!(printed("-p sctp -m sctp", false), " sctp");
    }

    #[test]
    fn chunks() {
        assert_eq!(
            saved("-p sctp --chunk-types any DATA:IuBe,INIT,ABORT:t"),
            " --chunk-types any DATA:IuBe,INIT,ABORT:t"
        );
        assert_eq!(
            printed("-p sctp --chunk-types any DATA:IuBe,INIT,ABORT:t", true),
            " sctp any 0x0000:IuBe,0x0001,0x0006:t"
        );
        assert_eq!(
            saved("-p sctp ! --chunk-types only all"),
            " ! --chunk-types only ALL"
        );
        assert_eq!(
            printed("-p sctp ! --chunk-types only all", false),
            " sctp ! only ALL"
        );
        assert_eq!(
            saved("-p sctp --chunk-types all none"),
            " --chunk-types all NONE"
        );
        assert_eq!(
            saved("-p sctp --chunk-types ANY ,,data,,"),
            " --chunk-types any DATA"
        );
        // Flags of a chunk past SHUTDOWN_COMPLETE are stored under its
        // table index and never shown.
        assert_eq!(
            saved("-p sctp --chunk-types all I_DATA:I,DATA:e"),
            " --chunk-types all DATA:e,I_DATA"
        );
        assert_eq!(
            saved("-p sctp --chunk-types any DATA:IIuB,DATA:E"),
            " --chunk-types any DATA:IuBE"
        );
        assert_eq!(
            saved("-p sctp --chunk-types any INIT:-"),
            " --chunk-types any INIT:-"
        );
        assert_eq!(
            printed("-p sctp --chunk-types any pad,asconf,asconf_ack", false),
            " sctp any ASCONF_ACK,PAD,ASCONF"
        );
        assert_eq!(
            printed("-p sctp --chunk-types any pad,asconf,asconf_ack", true),
            " sctp any 0x0080,0x0084,0x00C1"
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(
            err("-p sctp --chunk-types any DATA,ALL"),
            "Unknown sctp chunk `ALL'"
        );
        assert_eq!(
            err("-p sctp --chunk-types any data:x"),
            "Invalid flags for chunk type 0"
        );
        assert_eq!(
            err("-p sctp --chunk-types any i_data:x"),
            "Invalid flags for chunk type 15"
        );
        assert_eq!(
            err("-p sctp --chunk-types foo DATA"),
            "Match type has to be one of \"ALL\", \"ANY\" or \"ONLY\""
        );
        assert_eq!(
            err("-p sctp --chunk-types any"),
            "--chunk-types requires two args"
        );
        assert_eq!(
            err("-p sctp --chunk-types any !"),
            "--chunk-types requires two args"
        );
        assert_eq!(
            err("-p sctp --chunk-types any DATA --chunk-types any INIT"),
            "Only one `--chunk-types' allowed"
        );
        assert_eq!(
            err("-p sctp --sport 1 --sport 2"),
            "Only one `--source-port' allowed"
        );
        assert_eq!(
            err("-p sctp --dport 1 --destination-port 2"),
            "Only one `--destination-port' allowed"
        );
        assert_eq!(err("-p sctp --sport 5:3"), "invalid portrange (min > max)");
        assert_eq!(
            err("-p sctp --sport 65536"),
            "invalid port/service `65536' specified"
        );
        assert!(
            err("-p sctp --chunk-types any DATA:I,ABORT:T,SHUTDOWN_COMPLETE:t,I_DATA:u,PAD:-")
                .starts_with("Number of chunk types with flags exceeds")
        );
        assert!(run(
            "-p sctp --chunk-types any DATA:I,ABORT:T,SHUTDOWN_COMPLETE:t,I_DATA:u,DATA:e"
        )
        .is_ok());
    }

    #[test]
    fn kernel_wants_sctp_protocol() {
        for rule in ["-m sctp --dport 5", "! -p sctp -m sctp --dport 5"] {
            let inv = argv::parse(&words(&format!("-A INPUT {rule}")), "filter", false).unwrap();
            let e = ops::execute(&mut Ruleset::default(), &inv).unwrap_err();
            assert_eq!(
                e.to_string(),
                "RULE_APPEND failed (Invalid argument): rule in chain INPUT"
            );
        }
        let inv = argv::parse(&words("-A INPUT -p 132 -m sctp"), "filter", false).unwrap();
        assert!(ops::execute(&mut Ruleset::default(), &inv).is_ok());
    }
}
