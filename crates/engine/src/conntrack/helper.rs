//! Conntrack helpers as connections carry them (`struct nf_conn_help`,
//! net/netfilter/nf_conntrack_helper.c): which helper a connection has,
//! the helper's own state, and the sequence adjustment NAT helpers need.
//! The protocol parsers themselves are in `crate::helpers`.

use super::seqadj::SeqAdj;
use crate::wire::ipv4::{PROTO_TCP, PROTO_UDP};

/// The helpers palisade implements. Linux assigns none by itself (since
/// 6.0 there is no automatic assignment by port): `-j CT --helper NAME`
/// in the raw table attaches one to the connections its packets start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Helper {
    /// nf_conntrack_ftp.c / nf_nat_ftp.c.
    Ftp,
    /// nf_conntrack_tftp.c / nf_nat_tftp.c.
    Tftp,
}

/// `struct nf_conntrack_expect_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectPolicy {
    /// How many expectations of a class one connection may have waiting;
    /// a new one evicts the oldest.
    pub max_expected: usize,
    /// Seconds an expectation waits for its connection.
    pub timeout: u64,
}

impl Helper {
    /// `nf_conntrack_helper_try_module_get`: the helper registered under
    /// `name` (compared exactly) for the layer-4 protocol `proto`.
    pub fn find(name: &str, proto: u8) -> Option<Helper> {
        match (name, proto) {
            ("ftp", PROTO_TCP) => Some(Helper::Ftp),
            ("tftp", PROTO_UDP) => Some(Helper::Tftp),
            _ => None,
        }
    }

    /// The helper's name (`HELPER_NAME`), as `conntrack -L` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Helper::Ftp => "ftp",
            Helper::Tftp => "tftp",
        }
    }

    /// `ftp_exp_policy` and `tftp_exp_policy`: one expectation at a time,
    /// for five minutes.
    pub fn policy(self) -> ExpectPolicy {
        ExpectPolicy {
            max_expected: 1,
            timeout: 5 * 60,
        }
    }
}

/// `NUM_SEQ_TO_REMEMBER` (nf_conntrack_ftp.h).
pub const FTP_SEQS: usize = 2;

/// `struct nf_ct_ftp_master`: per direction, the sequence numbers right
/// after a line end, where a command may start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FtpLines {
    pub seq_aft_nl: [[u32; FTP_SEQS]; 2],
    pub seq_aft_nl_num: [u8; 2],
}

/// A helped connection's extension (`nf_conn_help`, with the seqadj
/// extension NAT helpers use beside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help {
    pub helper: Helper,
    pub ftp: FtpLines,
    /// `nf_conn_seqadj`, by direction.
    pub seqadj: [SeqAdj; 2],
}

impl Help {
    pub fn new(helper: Helper) -> Help {
        Help {
            helper,
            ftp: FtpLines::default(),
            seqadj: [SeqAdj::default(); 2],
        }
    }
}
