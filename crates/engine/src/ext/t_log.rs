//! `-j LOG`, `-j NFLOG`, `-j TRACE`, `-j CHECKSUM`: targets that leave the
//! packet as it is and continue.
//!
//! LOG (xt_LOG.c `log_tg` → `nf_log_packet` → nf_log_syslog.c
//! `nf_log_ip_packet`) reports the kernel's log line to
//! [`crate::Outputs::log`], as Linux would with nf_log_all_netns=1 (in a
//! non-initial namespace it writes nothing otherwise). NFLOG (iptables-nft
//! writes an nft `log group` expression, nft_log.c → nfnetlink_log)
//! reports its group, prefix and the packet's length. TRACE only sets
//! nf_trace (xt_TRACE.c); CHECKSUM fills checksums only of
//! CHECKSUM_PARTIAL packets (xt_CHECKSUM.c), which never occur here.

use palisade_rules::ext::checksum::Checksum;
use palisade_rules::ext::log::Log;
use palisade_rules::ext::nflog::Nflog;
use palisade_rules::ext::trace::Trace;
use palisade_rules::ext::Extension;
use palisade_rules::model::{Hook, Rule, TableId};

use super::{downcast, HookCtx, PacketTarget, Verdict};
use crate::log::{self, LogContext, LogRecord, LOOPBACK_MAC};
use crate::topology::LOOPBACK;

#[derive(Debug)]
struct PassThrough;

impl PacketTarget for PassThrough {
    fn apply(&self, _cx: &mut HookCtx<'_>) -> Verdict {
        Verdict::Continue
    }
}

#[derive(Debug)]
struct LogTarget(Log);

/// The devices a hook passes to its tables (`state->in`, `state->out`):
/// NF_HOOK's arguments in ip_rcv, ip_local_deliver, ip_forward,
/// __ip_local_out and ip_output.
fn hook_devices<'a>(cx: &'a HookCtx<'_>) -> (Option<&'a str>, Option<&'a str>) {
    let dev = |i: Option<u16>| i.map(|i| cx.topo.interface(i).name.as_str());
    let (i, o) = (dev(cx.meta.in_iface), dev(cx.meta.out_iface));
    match cx.hook {
        Hook::Prerouting | Hook::Input => (i, None),
        Hook::Forward => (i, o),
        Hook::Output | Hook::Postrouting => (None, o),
    }
}

impl PacketTarget for LogTarget {
    fn apply(&self, cx: &mut HookCtx<'_>) -> Verdict {
        let (in_dev, out_dev) = hook_devices(cx);
        // dump_mac_header reads skb->dev, the input device at the hooks
        // that have one; only lo's packets carry a link-layer header.
        let mac: &[u8] = if cx.meta.in_iface == Some(LOOPBACK) {
            &LOOPBACK_MAC
        } else {
            &[]
        };
        let lc = LogContext {
            prefix: &self.0.prefix,
            flags: self.0.flags,
            in_dev,
            out_dev,
            mac,
            owner: cx.meta.sock.owner(),
            mark: cx.meta.mark,
        };
        let line = log::ip_packet_line(&lc, cx.pkt);
        cx.env.log.push(LogRecord::Log {
            level: self.0.level,
            line,
        });
        Verdict::Continue
    }
}

#[derive(Debug)]
struct NflogTarget(Nflog);

impl PacketTarget for NflogTarget {
    fn apply(&self, cx: &mut HookCtx<'_>) -> Verdict {
        cx.env.log.push(LogRecord::Nflog {
            group: self.0.group,
            prefix: self.0.prefix.clone(),
            len: cx.pkt.len(),
        });
        Verdict::Continue
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule, _t: TableId) -> Option<Box<dyn PacketTarget>> {
    if let Some(l) = downcast::<Log>(ext) {
        return Some(Box::new(LogTarget(l.clone())));
    }
    if let Some(n) = downcast::<Nflog>(ext) {
        return Some(Box::new(NflogTarget(n.clone())));
    }
    let known = downcast::<Trace>(ext).is_some() || downcast::<Checksum>(ext).is_some();
    known.then(|| Box::new(PassThrough) as Box<dyn PacketTarget>)
}
