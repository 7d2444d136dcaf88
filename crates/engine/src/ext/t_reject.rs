//! `-j REJECT` (ipt_REJECT.c reject_tg): answers with an ICMP error or a
//! TCP reset, then drops the packet.

use palisade_rules::ext::reject::{Reject, RejectWith};
use palisade_rules::ext::Extension;
use palisade_rules::model::{Rule, TableId};

use super::{downcast, HookCtx, PacketTarget, Verdict};
use crate::env::{Generated, GeneratedKind};
use crate::meta::PacketMeta;
use crate::reply;
use crate::wire::ipv4::{Ipv4Read, PROTO_UDP};

#[derive(Debug)]
struct RejectTarget(RejectWith);

/// `nf_send_unreach`'s checksum test: `nf_reject_verify_csum` skips AH,
/// ESP, SCTP, UDP-Lite and GRE (and, in 6.18, no longer lists DCCP) and
/// a UDP datagram without checksum; for the others `nf_ip_checksum` must
/// come out right (summed with the IP header: an L4 sum of 0 passes as
/// well as 0xffff for protocols without a pseudo-header).
fn unreach_checksum_ok(pkt: &[u8]) -> bool {
    let hl = pkt.header_len();
    match pkt.protocol() {
        PROTO_UDP if pkt.get(hl + 6..hl + 8) == Some(&[0, 0]) => true,
        47 | 50 | 51 | 132 | 136 => true,
        _ => reply::nf_ip_checksum_ok(pkt),
    }
}

impl PacketTarget for RejectTarget {
    fn apply(&self, cx: &mut HookCtx<'_>) -> Verdict {
        let code = match self.0 {
            RejectWith::IcmpNetUnreachable => 0,
            RejectWith::IcmpHostUnreachable => 1,
            RejectWith::IcmpProtoUnreachable => 2,
            RejectWith::IcmpPortUnreachable => 3,
            RejectWith::IcmpNetProhibited => 9,
            RejectWith::IcmpHostProhibited => 10,
            RejectWith::IcmpAdminProhibited => 13,
            RejectWith::TcpReset => {
                if let Some(data) = reply::reject_reset(cx.env, cx.pkt, cx.meta) {
                    // nf_send_reset: nf_ct_attach, the reset is RELATED to
                    // the packet's connection, in the other direction.
                    cx.env.generated.push(Generated {
                        data,
                        meta: PacketMeta {
                            ct: cx.meta.ct.attached_to_answer(),
                            local_origin: true,
                            ..PacketMeta::default()
                        },
                        kind: GeneratedKind::Datagram,
                    });
                    // nf_send_reset: nf_ct_set_closing on the connection.
                    if let crate::conntrack::CtRef::Conn(id, _) = cx.meta.ct {
                        cx.ct.set_closing(cx.now, id);
                    }
                }
                return Verdict::Drop;
            }
        };
        if cx.summary.frag_offset == 0 && unreach_checksum_ok(cx.pkt) {
            if let Some(data) =
                reply::icmp_error(cx.now, cx.topo, cx.env, cx.pkt, cx.meta, 3, code, 0)
            {
                // nf_send_unreach -> icmp_send: icmp_glue_bits attaches
                // the packet's connection (nf_ct_attach).
                cx.env.generated.push(Generated {
                    data,
                    meta: PacketMeta {
                        ct: cx.meta.ct.attached_to_answer(),
                        local_origin: true,
                        ..PacketMeta::default()
                    },
                    kind: GeneratedKind::Datagram,
                });
            }
        }
        Verdict::Drop
    }
}

pub fn compile(ext: &dyn Extension, _rule: &Rule, _t: TableId) -> Option<Box<dyn PacketTarget>> {
    Some(Box::new(RejectTarget(downcast::<Reject>(ext)?.with)))
}
