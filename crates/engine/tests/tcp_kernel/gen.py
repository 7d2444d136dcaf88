#!/usr/bin/env python3
"""Builds the TCP conntrack scenarios in this directory and records what
Linux does with them (kernel_oracle.py, run as root).

For each scenario NAME it writes NAME.json (the oracle's input) and
NAME.linux.json: the full run's output plus, for every prefix of the
packet list, whether the last packet was forwarded and what
`conntrack -L` showed after it ("steps").

Usage: gen.py [NAME...]   (default: all)
"""
import json, os, platform, subprocess, sys
from scapy.all import IP, TCP, Raw

ORACLE = "/work/shared/tools/kernel_oracle.py"
HERE = os.path.dirname(os.path.abspath(__file__))
C, S, CP, SP = "198.51.100.2", "10.0.0.2", 40000, 80
RULES = ("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A FORWARD -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n")
OPT = {"mss": ("MSS", 1460), "sack": ("SAckOK", b""), "nop": ("NOP", None)}


def c(flags, seq, ack=0, win=64240, n=0, opts=(), at=None):
    return dict(d="c", f=flags, seq=seq, ack=ack, win=win, n=n, opts=list(opts), at=at)


def s(flags, seq, ack=0, win=64240, n=0, opts=(), at=None):
    return dict(d="s", f=flags, seq=seq, ack=ack, win=win, n=n, opts=list(opts), at=at)


def build(st):
    src, dst, sp, dp, itf = (C, S, CP, SP, "eth0") if st["d"] == "c" else (S, C, SP, CP, "eth1")
    opts = []
    for o in st["opts"]:
        if isinstance(o, str):
            opts.append(OPT[o] if o != "nop" else ("NOP", None))
        else:
            opts.append(tuple(o))
    p = IP(src=src, dst=dst, ttl=64) / TCP(sport=sp, dport=dp, flags=st["f"], seq=st["seq"] & 0xFFFFFFFF,
                                           ack=st["ack"] & 0xFFFFFFFF, window=st["win"], options=opts)
    if st["n"]:
        p = p / Raw(b"x" * st["n"])
    d = {"in": itf, "hex": bytes(p).hex()}
    if st["at"] is not None:
        d["at"] = st["at"]
    return d


HS = [c("S", 1000), s("SA", 5000, 1001), c("A", 1001, 5001)]
HS_DATA = HS + [c("PA", 1001, 5001, n=100), s("A", 5001, 1101), s("PA", 5001, 1101, n=200), c("A", 1101, 5201)]
FIN_C = HS + [c("FA", 1001, 5001), s("A", 5001, 1002), s("FA", 5001, 1002), c("A", 1002, 5002)]

SCENARIOS = {
    "handshake": dict(steps=HS),
    "data_both_ways": dict(steps=HS_DATA),
    "fin_client_first": dict(steps=FIN_C),
    "fin_server_first": dict(steps=HS + [s("FA", 5001, 1001), c("A", 1001, 5002), c("FA", 1001, 5002),
                                         s("A", 5002, 1002)]),
    "rst_server_in_window": dict(steps=HS_DATA + [s("R", 5201)]),
    "rst_client_below_maxack": dict(steps=HS_DATA + [c("R", 1050), c("R", 1101)]),
    "rst_client_inexact": dict(steps=HS_DATA + [c("R", 1150)]),
    "rst_answering_syn": dict(steps=[c("S", 1000), s("RA", 0, 1001)]),
    "rst_client_after_syn": dict(steps=[c("S", 1000), c("R", 1001)]),
    "syn_retransmit": dict(steps=[c("S", 1000), c("S", 1000, at=2.0), s("SA", 5000, 1001, at=2.1),
                                  c("A", 1001, 5001, at=2.2)]),
    "syn_timewait_reopen": dict(steps=FIN_C + [c("S", 900000), s("SA", 70000, 900001),
                                               c("A", 900001, 70001)]),
    "syn_timewait_reopen_reply": dict(steps=FIN_C + [s("S", 900000)]),
    "syn_close_reopen": dict(steps=HS_DATA + [s("R", 5201), c("S", 900000)]),
    "data_out_of_window": dict(steps=HS + [c("PA", 1001 + 200000, 5001, n=100), c("PA", 1001, 5001, n=100),
                                           s("A", 5001, 1101)]),
    "data_out_of_window_liberal": dict(steps=HS + [c("PA", 1001 + 200000, 5001, n=100)],
                                       sysctl={"net.netfilter.nf_conntrack_tcp_be_liberal": "1"}),
    "data_retransmit_below_window": dict(steps=HS_DATA + [c("PA", 1001 - 100000, 5201, n=100),
                                                         c("PA", 1101, 5201, n=10)]),
    "data_overshoot": dict(steps=[c("S", 1000, win=1000), s("SA", 5000, 1001, win=1000),
                                  c("A", 1001, 5001, win=1000), c("PA", 1001, 5001, win=1000, n=1000),
                                  c("PA", 2001, 5001, win=1000, n=200), c("PA", 2201, 5001, win=1000, n=100),
                                  c("PA", 7201, 5001, win=1000, n=100), s("A", 5001, 2301, win=1000)]),
    "loose_pickup": dict(steps=[c("A", 1001, 5001), s("A", 5001, 1001), c("PA", 1001, 5001, n=10),
                                s("A", 5001, 1011)]),
    "loose_pickup_reply_rst": dict(steps=[c("A", 1001, 5001), s("R", 5001)]),
    "loose_off": dict(steps=[c("A", 1001, 5001), c("S", 1000), s("SA", 5000, 1001), c("A", 1001, 5001)],
                      sysctl={"net.netfilter.nf_conntrack_tcp_loose": "0"}),
    "simultaneous_open": dict(steps=[c("S", 1000), s("S", 5000), c("SA", 1000, 5001), s("SA", 5000, 1001),
                                     s("A", 5001, 1001), c("A", 1001, 5001)]),
    "window_scale": dict(steps=[c("S", 1000, opts=["mss", "sack", ("WScale", 7)]),
                                s("SA", 5000, 1001, win=1000, opts=["mss", "sack", ("WScale", 7)]),
                                c("A", 1001, 5001, win=1000), s("A", 5001, 1001, win=1000),
                                c("PA", 1001 + 70000, 5001, win=1000, n=1000)]),
    "window_scale_one_sided": dict(steps=[c("S", 1000, opts=["mss", "sack", ("WScale", 7)]),
                                          s("SA", 5000, 1001, win=1000, opts=["mss", "sack"]),
                                          c("A", 1001, 5001, win=1000), s("A", 5001, 1001, win=1000),
                                          c("PA", 1001 + 70000, 5001, win=1000, n=1000)]),
    "sack_blocks": dict(steps=[c("S", 1000, opts=["mss", "sack"]), s("SA", 5000, 1001, opts=["mss", "sack"]),
                               c("A", 1001, 5001), c("PA", 1001, 5001, n=100), c("PA", 1201, 5001, n=100),
                               s("A", 5001, 1101, opts=["nop", "nop", ("SAck", (1201, 1301))]),
                               s("A", 5001, 1101, opts=["nop", "nop", ("SAck", (1201, 1401))])]),
    "synack_wrong_ack": dict(steps=[c("S", 1000), s("SA", 5000, 2000), s("SA", 5000, 1001 - 100000),
                                    s("SA", 5000, 1001), c("A", 1001, 5001)]),
    "ack_retransmits": dict(steps=HS + [c("A", 1001, 5001), c("A", 1001, 5001), c("A", 1001, 5001)]),
    "syn_in_established_resync": dict(steps=HS_DATA + [c("S", 900000), s("SA", 70000, 900001),
                                                       c("A", 900001, 70001)]),
    "challenge_ack_last_ack": dict(steps=FIN_C[:-1] + [c("S", 900000), s("A", 5002, 1002), c("A", 1002, 5002)]),
    "fin_in_syn_sent": dict(steps=[c("S", 1000), c("FA", 1001, 0)]),
    "bad_flags": dict(steps=[c("SF", 1000), c("SR", 1000), c("", 1000), c("S", 1000), c("F", 1001)]),
    "half_open_challenge_rst": dict(steps=[c("S", 1000), s("A", 7777, 4242), c("R", 4242)]),
    "fin_invalid_lowers_timeout": dict(steps=HS + [s("FA", 5001, 1001), c("A", 1001, 5002), s("FA", 5001, 1001),
                                                    c("FA", 1001 + 500000, 5002)],
                                       sysctl={"net.netfilter.nf_conntrack_tcp_timeout_last_ack": "600"}),
    "syn_reinit": dict(steps=[c("S", 1000), c("S", 3000), s("SA", 5000, 1001), s("SA", 5000, 3001),
                              c("A", 3001, 5001)]),
    "ignore_invalid_rst": dict(steps=HS_DATA + [c("R", 1050)],
                               sysctl={"net.netfilter.nf_conntrack_tcp_ignore_invalid_rst": "1"}),
    "zero_window": dict(steps=HS + [s("A", 5001, 1001, win=0), c("A", 1001, 5001)]),
    "simultaneous_open_timing": dict(steps=[c("S", 1000), s("S", 5000, at=3.0)]),
    "rst_below_maxack_liberal": dict(steps=HS_DATA + [c("R", 1050)],
                                     sysctl={"net.netfilter.nf_conntrack_tcp_be_liberal": "1"}),
    "loose_pickup_liberal_window": dict(steps=[c("A", 1001, 5001), s("A", 5001, 1001),
                                               c("PA", 1001 + 900000, 5001, n=10), s("A", 5001 + 700000, 1001)]),
    "ack_retransmits_max1": dict(steps=HS + [c("A", 1001, 5001), c("A", 1001, 5001)],
                                 sysctl={"net.netfilter.nf_conntrack_tcp_max_retrans": "1"}),
    "rst_in_syn_recv": dict(steps=[c("S", 1000), s("SA", 5000, 1001), c("R", 1001)]),
    "fin_in_syn_recv": dict(steps=[c("S", 1000), s("SA", 5000, 1001), c("FA", 1001, 5001), s("A", 5001, 1002)]),
    "reply_syn_in_established": dict(steps=HS + [s("S", 5001), c("SA", 1001, 5001), c("A", 1001, 5001)]),
    "ack_in_syn_sent": dict(steps=[c("S", 1000), c("A", 1001, 5001), c("PA", 1001, 5001, n=10)]),
    "syn_reopen_after_own_rst": dict(steps=HS_DATA + [c("R", 1101), c("S", 900000), s("SA", 70000, 900001)]),
    "close_expiry_new_syn": dict(steps=HS_DATA + [s("R", 5201), c("S", 900000, at=10.6)]),
    "synack_retransmit_reinit": dict(steps=[c("S", 1000), s("SA", 5000, 1001), s("SA", 6000, 1001),
                                            c("A", 1001, 6001), c("A", 1001, 5001)]),
}


def scenario(name):
    sc = SCENARIOS[name]
    return {"interfaces": [{"name": "eth0", "addr": "198.51.100.1/24"},
                           {"name": "eth1", "addr": "10.0.0.1/24"}],
            "sysctl": sc.get("sysctl", {}), "rules": RULES,
            "packets": [build(st) for st in sc["steps"]]}


def oracle(sc):
    r = subprocess.run(["python3", ORACLE], input=json.dumps(sc), capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def summary(text):
    out = []
    for line in text.strip().split("\n"):
        w = line.split()
        if len(w) < 7:
            continue
        flags = "".join(x for x in w if x.startswith("["))
        out.append(f"{w[5]} {w[4]}s from={w[6][4:]} {flags}")
    return " / ".join(out) or "(none)"


def record(name):
    sc = scenario(name)
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(sc, f, indent=1)
        f.write("\n")
    full = oracle(sc)
    steps = []
    for k in range(1, len(sc["packets"]) + 1):
        part = dict(sc, packets=sc["packets"][:k])
        out = oracle(part)
        steps.append({"forwarded": bool(out["outputs"][-1]), "conntrack": out["conntrack"]})
    full["kernel"] = platform.release()
    full["steps"] = steps
    with open(os.path.join(HERE, name + ".linux.json"), "w") as f:
        json.dump(full, f, indent=1)
        f.write("\n")
    print(name)
    for st, step in zip(SCENARIOS[name]["steps"], steps):
        print(f"  {st['d']} {st['f'] or '-':3} seq={st['seq']} ack={st['ack']} n={st['n']}: "
              f"{'fwd ' if step['forwarded'] else 'DROP'} | {summary(step['conntrack'])}")


if __name__ == "__main__":
    for name in sys.argv[1:] or SCENARIOS:
        record(name)
