#!/usr/bin/env bash
# Produces the listing goldens from the REAL iptables (1.8.9, nf_tables) in
# a private network namespace: for each crates/rules/tests/listing/NAME.rules
# it restores the file with counters and records what iptables -L (in every
# flag combination) and -S print, into NAME.golden. Run as root.
set -euo pipefail
cd "$(dirname "$0")/../crates/rules/tests/listing"
ns="palisade-listing-$$"
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
run() { ip netns exec "$ns" "$@"; }
for input in *.rules; do
  name="${input%.rules}"
  out="$name.golden"
  run iptables -F; run iptables -X
  for t in raw mangle nat filter security; do run iptables -t $t -F 2>/dev/null || true; run iptables -t $t -X 2>/dev/null || true; done
  run iptables-restore -c < "$input"
  : > "$out"
  tables=$(grep '^\*' "$input" | tr -d '*')
  for t in $tables; do
    for flags in "" "-n" "-v" "-n -v" "-v -x" "-n -v -x" "--line-numbers" "-n -v -x --line-numbers" "-n --line-numbers"; do
      echo "### -t $t -L $flags" >> "$out"
      run iptables -t $t -L $flags >> "$out"
    done
    echo "### -t $t -S" >> "$out"; run iptables -t $t -S >> "$out"
    echo "### -t $t -S -v" >> "$out"; run iptables -t $t -S -v >> "$out"
  done
  # Single chains and single rules.
  first=$(echo $tables | awk '{print $1}')
  for chain in $(run iptables -t $first -S | awk '$1=="-P"||$1=="-N"{print $2}'); do
    echo "### -t $first -L $chain -n -v" >> "$out"; run iptables -t $first -L $chain -n -v >> "$out"
    echo "### -t $first -S $chain" >> "$out"; run iptables -t $first -S $chain >> "$out"
    echo "### -t $first -L $chain 1 -n" >> "$out"; run iptables -t $first -L $chain 1 -n >> "$out"
    echo "### -t $first -S $chain 1" >> "$out"; run iptables -t $first -S $chain 1 >> "$out"
  done
  echo "wrote $out"
done
