#!/usr/bin/env bash
# Records the real captures `tests/replay.rs` replays (root; ip, tcpdump,
# dumpcap, iptables-restore, python3). Two hosts in private network
# namespaces, set up as palisade-lab's kernel harness sets its host up
# (crates/lab/src/kernel.rs BASE_SYSCTL: forwarding on, rp_filter and
# redirects off, no ICMP rate limit, IPv6 off; no listening sockets):
#
# - docker: eth0 198.51.100.1/24 to a client (198.51.100.2), docker0
#   172.17.0.1/16 to a container (172.17.0.2) with a server on port 80,
#   published as 8080 by docker.rules (moby's default bridge ruleset).
#   Captured at once by `tcpdump -i any` (docker_any.pcap: pcap, Linux
#   cooked v2, both directions; docker_any.ifindex: the interface
#   indices, as `--iface` takes them) and by `dumpcap` on eth0 and docker0, of
#   which tshark keeps what the host received (docker_in.pcapng: pcapng,
#   Ethernet, interface names, the two interfaces' packets interleaved
#   out of time order as dumpcap writes them).
# - plain: eth0 198.51.100.1/24 with plain.rules (an INPUT firewall),
#   captured by `tcpdump -i eth0 -Q in` (plain_in.pcap) and `-Q out`
#   (plain_out.pcap), Ethernet pcap files.
#
# The client keeps IPv6 on, so the captures hold some IPv6 and ARP for the
# replay to skip.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "record.sh: run as root" >&2; exit 1; }

tag=rec$$
all=$(mktemp --suffix=.pcapng)
H=${tag}h C=${tag}c K=${tag}k P=${tag}p Q=${tag}q
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in $H $C $K $P $Q; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT

nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }

host_sysctls() {
  for kv in net.ipv4.ip_forward=1 net.ipv6.conf.all.disable_ipv6=1 \
            net.ipv6.conf.default.disable_ipv6=1 net.ipv4.conf.all.rp_filter=0 \
            net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.all.send_redirects=0 \
            net.ipv4.conf.default.send_redirects=0 net.ipv4.icmp_ratelimit=0 \
            net.ipv4.icmp_msgs_per_sec=1000000 net.ipv4.icmp_msgs_burst=1000000; do
    nsx "$1" sysctl -qw "$kv"
  done
}

# veth pair: $1 in namespace $2 named $3, peer in namespace $4 named $5.
link() {
  ip link add "${tag}$1" type veth peer name "${tag}$1p"
  ip link set "${tag}$1" netns "$2"; nsx "$2" ip link set "${tag}$1" name "$3"
  ip link set "${tag}$1p" netns "$4"; nsx "$4" ip link set "${tag}$1p" name "$5"
}

# A TCP server answering one line per connection, `count` connections.
serve() { # ns port count reply
  nsx "$1" python3 -c "
import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', $2)); s.listen(4)
for _ in range($3):
    c,_=s.accept(); c.recv(100); c.sendall(b'$4\n'); c.close()
" &
  pids+=($!)
}

# A TCP client: connect, send a line, read the answer (timeout 1.5 s).
ask() { # ns addr port
  nsx "$1" python3 -c "
import socket
s=socket.socket(); s.settimeout(1.5)
try:
    s.connect(('$2', $3)); s.sendall(b'hello\n'); s.recv(100)
except OSError as e: pass
s.close()
" || true
}

udp() { # ns addr port
  nsx "$1" python3 -c "
import socket
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'query', ('$2', $3))
" || true
}

# Echo requests from a raw socket, `count` of them 0.2 s apart.
ping() { # ns addr count
  nsx "$1" python3 -c "
import socket, struct, time
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for seq in range(1, $3 + 1):
    body = struct.pack('!BBHHH', 8, 0, 0, 0x1234, seq) + b'palisade'
    s.sendto(body[:2] + struct.pack('!H', csum(body)) + body[4:], ('$2', 0))
    time.sleep(0.2)
"
}

capture() { # ns file args...
  local ns=$1 file=$2; shift 2
  # Run directly (not in a function's subshell) so that $! is the
  # capturing process; background jobs ignore SIGINT, so it gets SIGTERM.
  ip netns exec "$ns" "$@" -w "$file" 2>/dev/null &
  pids+=($!)
}

stop_captures() {
  sleep 1
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}

## The Docker host.
for n in $H $C $K; do ip netns add "$n"; done
host_sysctls $H
link e $H eth0 $C eth0
link d $H docker0 $K eth0
nsx $H ip link set lo up
nsx $H ip addr add 198.51.100.1/24 dev eth0
nsx $H ip addr add 172.17.0.1/16 dev docker0
for d in eth0 docker0; do
  nsx $H sysctl -qw net.ipv4.conf.$d.rp_filter=0 net.ipv4.conf.$d.send_redirects=0
  nsx $H ip link set $d up
done
nsx $H iptables-restore < docker.rules
nsx $C ip addr add 198.51.100.2/24 dev eth0
nsx $K ip addr add 172.17.0.2/16 dev eth0
nsx $K sysctl -qw net.ipv6.conf.all.disable_ipv6=1
# `tcpdump -i any` records interface indices: which is which.
for d in eth0 docker0; do
  echo "$(nsx $H cat /sys/class/net/$d/ifindex)=$d"
done > docker_any.ifindex
capture $H docker_any.pcap tcpdump -U -q -i any
capture $H "$all" dumpcap -q -i eth0 -i docker0
sleep 5  # dumpcap takes its time to start
for n in $C $K; do nsx $n ip link set lo up; nsx $n ip link set eth0 up; done
sleep 1
nsx $K ip route add default via 172.17.0.1
nsx $C ip route add 172.17.0.0/16 via 198.51.100.1
nsx $H ip route add default via 198.51.100.254 dev eth0
sleep 2
serve $K 80 1 "hello from the container"
serve $C 9000 1 "hello from outside"
sleep 0.5
ping $C 198.51.100.1 2          # echo replies from the host
ask $C 198.51.100.1 8080        # published port: DNAT to the container
ask $C 198.51.100.1 22          # nothing listens: the host's reset
udp $C 198.51.100.1 53          # port unreachable from the host
ask $C 172.17.0.2 80            # direct to the container: raw PREROUTING drops it
ask $K 198.51.100.2 9000        # the container goes out: MASQUERADE
ping $K 198.51.100.2 1          # masqueraded echo request
stop_captures
# dumpcap marks no direction, and its `-f inbound` loses packets on a
# veth (the container's answers of a DNATed connection); what the host
# sent is left out by its MAC addresses instead.
macs=$(for d in eth0 docker0; do nsx $H cat /sys/class/net/$d/address; done | paste -sd,)
tshark -r "$all" -Y "not eth.src in {$macs}" -w docker_in.pcapng 2>/dev/null
rm -f "$all"
for n in $H $C $K; do ip netns del "$n"; done

## The plain host.
for n in $P $Q; do ip netns add "$n"; done
host_sysctls $P
link p $P eth0 $Q eth0
nsx $P ip link set lo up
nsx $P ip addr add 198.51.100.1/24 dev eth0
nsx $P sysctl -qw net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.eth0.send_redirects=0
nsx $P ip link set eth0 up
nsx $P iptables-restore < plain.rules
nsx $Q ip addr add 198.51.100.2/24 dev eth0
capture $P plain_in.pcap tcpdump -U -q -i eth0 -Q in
capture $P plain_out.pcap tcpdump -U -q -i eth0 -Q out
sleep 2
nsx $Q ip link set lo up
nsx $Q ip link set eth0 up
sleep 2
ping $Q 198.51.100.1 2          # accepted: echo replies
ask $Q 198.51.100.1 22          # REJECT with a reset
udp $Q 198.51.100.1 53          # REJECT: port unreachable
udp $Q 198.51.100.1 123         # the policy drops it
ask $Q 198.51.100.1 80          # the policy drops the SYN and its retransmission
stop_captures
chmod 644 docker_any.pcap docker_in.pcapng plain_in.pcap plain_out.pcap
ls -l docker_any.pcap docker_in.pcapng plain_in.pcap plain_out.pcap
