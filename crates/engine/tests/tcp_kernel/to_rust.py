#!/usr/bin/env python3
"""Prints the unit-test tables of conntrack/tcp.rs from the recorded
kernel runs (NAME.json + NAME.linux.json in this directory)."""
import json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = "198.51.100.2"


def flags(b):
    return "".join(ch for bit, ch in zip(range(8), "FSRPAUEC") if b >> bit & 1)


def decode(hexs):
    p = bytes.fromhex(hexs)
    ihl = (p[0] & 15) * 4
    t = p[ihl:]
    doff = (t[12] >> 4) * 4
    return dict(src=".".join(map(str, p[12:16])), flags=flags(t[13]), seq=int.from_bytes(t[4:8], "big"),
                ack=int.from_bytes(t[8:12], "big"), win=int.from_bytes(t[14:16], "big"),
                opts=t[20:doff].hex(), n=len(p) - ihl - doff)


def ct(text):
    lines = [l.split() for l in text.strip().split("\n") if l.strip()]
    if not lines:
        return "None"
    assert len(lines) == 1, text
    w = lines[0]
    fl = ("U" if "[UNREPLIED]" in w else "") + ("A" if "[ASSURED]" in w else "")
    orig = "C" if w[6] == "src=" + CLIENT else "S"
    return f'Some(({orig}, "{w[5]}", {w[4]}, "{fl}"))'


def emit(name):
    sc = json.load(open(os.path.join(HERE, name + ".json")))
    lx = json.load(open(os.path.join(HERE, name + ".linux.json")))
    const = name.upper()
    out = [f"    // tests/tcp_kernel/{name}.linux.json (Linux {lx['kernel']})"]
    out.append("    #[rustfmt::skip]")
    out.append(f"    const {const}: &[Step] = &[")
    for p, step in zip(sc["packets"], lx["steps"]):
        d = decode(p["hex"])
        who = "C" if d["src"] == CLIENT else "S"
        at = f"Some({int(round(p['at'] * 1000))})" if "at" in p else "None"
        fwd = "true" if step["forwarded"] else "false"
        out.append(f'        st({who}, "{d["flags"]}", {d["seq"]}, {d["ack"]}, {d["win"]}, "{d["opts"]}", {d["n"]}, '
                   f'{at}, {fwd}, {ct(step["conntrack"])}),')
    out.append("    ];")
    sysctl = ", ".join(f'("{k.rsplit(".", 1)[1]}", {v})' for k, v in sc.get("sysctl", {}).items())
    out.append("    #[test]")
    out.append(f"    fn kernel_{name}() {{")
    out.append(f"        replay(&[{sysctl}], {const});")
    out.append("    }")
    return "\n".join(out)


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(f[:-len(".linux.json")] for f in os.listdir(HERE) if f.endswith(".linux.json"))
    print("\n\n".join(emit(n) for n in names))
