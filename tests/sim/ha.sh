#!/usr/bin/env bash
# ha.sh - the HA decision (cluster/ha.c) in the simulated rack: 32 nodes,
# 2000 domains, crashes and partitions; no domain may run twice and every
# HA domain must run at the end.  Also the other way round: with a fencing
# wait shorter than the watchdog needs, two copies must show up, or the
# simulator's check is worth nothing.
set -u
sim=${1:-$(dirname "$0")/../../build/tests/ha_sim}
pass=0 fail=0
for seed in 1 2 3; do
	if out=$("$sim" --seed "$seed" --hours 1 2>&1); then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); echo "FAIL: seed $seed"; echo "$out"
	fi
done
# The fencing wait cut below the watchdog minus the fastest detection.
out=$("$sim" --seed 7 --hours 1 --fence-ms 6000 2>&1); rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -qE 'double copies: [1-9]'; then
	pass=$((pass + 1))
else
	fail=$((fail + 1)); echo "FAIL: a fencing wait of 6 s went unnoticed (rc $rc)"; echo "$out"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
