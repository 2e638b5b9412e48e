#!/usr/bin/env bash
# bench/ha.sh - the HA decision (cluster/ha.c) at scale: 32 nodes, 2000
# domains, 8 simulated hours of crashes and partitions (tests/sim/ha_sim.c).
# Prints the events, that no domain ran twice, and the time one decision
# over all 2000 domains takes (mean and max, on this machine).  Then the
# same world with the fencing wait at watchdog - 4 s, to show what the
# wait buys.  No root, no rack.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
make -s -C "$top" build/tests/ha_sim
sim=$top/build/tests/ha_sim
echo "== fencing wait as budgeted (watchdog 10 s + detection spread 2 s + margin 2 s)"
"$sim" --seed 11 --hours 8 || true
echo "== fencing wait 6 s (shorter than the watchdog needs)"
"$sim" --seed 11 --hours 8 --fence-ms 6000 || true
