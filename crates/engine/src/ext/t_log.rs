//! `-j LOG`, `-j NFLOG`, `-j TRACE`, `-j CHECKSUM`: targets that leave the
//! packet as it is and continue. Inside a network namespace LOG writes
//! nothing (nf_log_all_netns=0, net/netfilter/nf_log.c); NFLOG has no
//! listener (xt_NFLOG.c); TRACE only sets nf_trace (xt_TRACE.c);
//! CHECKSUM fills checksums only of CHECKSUM_PARTIAL packets
//! (xt_CHECKSUM.c), which never occur here.

use palisade_rules::ext::checksum::Checksum;
use palisade_rules::ext::log::Log;
use palisade_rules::ext::nflog::Nflog;
use palisade_rules::ext::trace::Trace;
use palisade_rules::ext::Extension;
use palisade_rules::model::{Rule, TableId};

use super::{downcast, HookCtx, PacketTarget, Verdict};

#[derive(Debug)]
struct PassThrough;

impl PacketTarget for PassThrough {
    fn apply(&self, _cx: &mut HookCtx<'_>) -> Verdict {
        Verdict::Continue
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule, _t: TableId) -> Option<Box<dyn PacketTarget>> {
    let known = downcast::<Log>(ext).is_some()
        || downcast::<Nflog>(ext).is_some()
        || downcast::<Trace>(ext).is_some()
        || downcast::<Checksum>(ext).is_some();
    known.then(|| Box::new(PassThrough) as Box<dyn PacketTarget>)
}
