//! Errors of the rule language, classified the way iptables classifies them,
//! because the class decides the exit status (iptables/xshared.h
//! `enum xtables_exittype`: OTHER_PROBLEM 1, PARAMETER_PROBLEM 2,
//! VERSION_PROBLEM 3, RESOURCE_PROBLEM 4).

use std::fmt;

/// What the kernel answered to a change it refused, as iptables-nft names
/// the batch operation that failed (iptables/nft.c `nft_cmd_op` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelOp {
    RuleAppend,
    RuleInsert,
    RuleReplace,
    ChainDel,
    ChainRename,
}

impl KernelOp {
    pub fn as_str(self) -> &'static str {
        match self {
            KernelOp::RuleAppend => "RULE_APPEND",
            KernelOp::RuleInsert => "RULE_INSERT",
            KernelOp::RuleReplace => "RULE_REPLACE",
            KernelOp::ChainDel => "CHAIN_DEL",
            KernelOp::ChainRename => "CHAIN_RENAME",
        }
    }
}

/// The errno values the kernel's checks return, with glibc's `strerror` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Errno {
    /// EINVAL: a target or match used in a table or hook it does not allow.
    Invalid,
    /// EMLINK: jump depth past NFT_JUMP_STACK_SIZE (which is how loops show).
    TooManyLinks,
    /// EOPNOTSUPP: a jump to a base chain.
    NotSupported,
    /// EBUSY: deleting a chain that is referenced or not empty.
    Busy,
    /// ENOENT: an ipset that does not exist.
    NoEntry,
    /// ERANGE: a name longer than the kernel keeps.
    Range,
}

impl Errno {
    pub fn strerror(self) -> &'static str {
        match self {
            Errno::Invalid => "Invalid argument",
            Errno::TooManyLinks => "Too many links",
            Errno::NotSupported => "Operation not supported",
            Errno::Busy => "Device or resource busy",
            Errno::NoEntry => "No such file or directory",
            Errno::Range => "Numerical result out of range",
        }
    }
}

/// A kernel refusal: which operation, why, and on which chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    pub op: KernelOp,
    pub errno: Errno,
    pub chain: String,
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // iptables/nft.c mnl_append_error: "%s failed (%s): %s", the last
        // part (what failed) written into a 128-byte buffer, so a long
        // chain name is cut after 127 bytes.
        let what = match self.op {
            KernelOp::ChainDel | KernelOp::ChainRename => "chain",
            _ => "rule in chain",
        };
        let object = format!("{what} {}", self.chain);
        let mut end = object.len().min(127);
        while !object.is_char_boundary(end) {
            end -= 1;
        }
        write!(
            f,
            "{} failed ({}): {}",
            self.op.as_str(),
            self.errno.strerror(),
            &object[..end]
        )
    }
}

/// Any error a command can end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A bad command line or rule (exit 2). The text is iptables' own.
    Param(String),
    /// "Bad argument `X'" (exit 2), printed without the program prefix.
    BadArgument(String),
    /// A runtime problem such as a missing rule or chain (exit 1), printed
    /// as `iptables: TEXT`.
    Runtime(String),
    /// A runtime problem iptables prints with its version prefix (exit 1).
    RuntimeVersioned(String),
    /// An unknown table (exit 3).
    NoTable(String),
    /// Something the kernel refused at commit (exit 4).
    Kernel(KernelError),
}

impl Error {
    pub fn param(msg: impl Into<String>) -> Self {
        Error::Param(msg.into())
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Runtime(_) | Error::RuntimeVersioned(_) => 1,
            Error::Param(_) | Error::BadArgument(_) => 2,
            Error::NoTable(_) => 3,
            Error::Kernel(_) => 4,
        }
    }

    // iptables' runtime messages (iptables/nft.c nft_strerror table).
    pub fn no_such_chain() -> Self {
        Error::Runtime("No chain/target/match by that name.".into())
    }
    pub fn bad_rule() -> Self {
        Error::Runtime("Bad rule (does a matching rule exist in that chain?).".into())
    }
    pub fn chain_exists() -> Self {
        Error::Runtime("Chain already exists.".into())
    }
    pub fn index_too_big() -> Self {
        Error::Runtime("Index of insertion too big.".into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Param(m) | Error::Runtime(m) | Error::RuntimeVersioned(m) => f.write_str(m),
            Error::BadArgument(a) => write!(f, "Bad argument `{a}'"),
            Error::NoTable(t) => write!(f, "table '{t}' does not exist"),
            Error::Kernel(k) => k.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
