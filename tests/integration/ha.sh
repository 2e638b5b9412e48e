#!/usr/bin/env bash
# ha.sh - the cluster in the virtual rack (after storage.sh, on the same two
# nodes): corosync with the boot host's qnetd as third vote, the CPG domain
# table, and the HA restart of NetBSD on node2 when node1's QEMU is killed.
# It runs last: node1 stays dead.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

DISK=/var/lib/xenrack/NetBSD-disk.img
t0=$SECONDS


if until_on node1 120 "clusterctl nodes | grep -q '^node2 .* yes '" && on node1 0 "clusterctl nodes" &&
   has '^Quorum: yes   Watchdog: armed' && has '^node1 .* yes '; then
	ok "nodes: node1 and node2 members, quorate, watchdog armed"
else bad "membership"; fi
# Three votes: both nodes and the boot host's qnetd (through qdevice), so
# either node keeps quorum when the other dies.
until_on node2 60 "corosync-quorumtool -s | grep -qE 'Total votes: +3'" &&
	ok "quorum: 3 votes, qnetd's among them" || bad "qdevice vote missing"

# NetBSD again, now autorestart, its disk replicated to node2.
on node2 0 "rm -f $DISK"
if on node1 0 "grep -v '^autorestart' /etc/xen/NetBSD.cfg >/etc/xen/NetBSD-ha.cfg &&
	echo 'autorestart = True' >>/etc/xen/NetBSD-ha.cfg && clusterctl create /etc/xen/NetBSD-ha.cfg" &&
   until_disk node1 180 "node2 +Primary +UpToDate\$"; then
	ok "NetBSD (autorestart) created on node1, its disk UpToDate on node2"
else bad "create HA NetBSD"; fi
until_on node2 30 "clusterctl nodes | grep -q '^node1 .* yes  *NetBSD\$'" &&
	ok "node2's table: node1 runs NetBSD" || bad "domain table on node2"
on node2 1 "clusterctl create /etc/xen/NetBSD.cfg" && has "domain 'NetBSD' already exists on node1" &&
	ok "NetBSD refused on node2: names are unique in the cluster" || bad "unique name"
until_on node1 120 "timeout 3 clusterctl console NetBSD | grep -q 'seq=[3-9]'" || bad "guest writing"
on node1 0 "timeout 3 clusterctl console NetBSD | grep -o 'seq=[0-9]*' | tail -1"
last=$(sed -n 's/^seq=//p' "$out" | tail -1)

# ---- node1 dies: its QEMU is killed ----
kill -9 "$(cat "$LAB/node1.pid")"
t=$SECONDS
detected= started=
while [ $((SECONDS - t)) -lt 300 ]; do
	if [ -z "$detected" ] && on node2 0 "clusterctl nodes" && has '^node1 .* no '; then
		detected=$((SECONDS - t))
	fi
	if on node2 0 "clusterctl list" && has '^NetBSD .* node2$'; then started=$((SECONDS - t)); break; fi
	sleep 1
done
if [ -n "$started" ]; then
	ok "node1 killed: NetBSD runs on node2 $started s later (node1 seen gone after ${detected:-?} s)"
else bad "NetBSD not restarted on node2"; fi
on node2 0 "grep -E 'ha: (restarting|NetBSD restarted)|left' /var/log/clusterd.log | tail -4" &&
	sed 's/^/  node2: /' "$out"
on node2 0 "clusterctl disks NetBSD" && has 'Primary' && ok "node2 promoted NetBSD's replica" ||
	bad "promote on node2"
# The guest goes on from its last acknowledged write (guest-init's header).
if [ -n "$last" ] && until_on node2 120 "timeout 3 clusterctl console NetBSD | grep -E -m1 'continuing after seq=[0-9]+'" &&
   n=$(grep -oE 'continuing after seq=[0-9]+' "$out" | grep -oE '[0-9]+$') && [ "$n" -ge "$last" ]; then
	ok "NetBSD on node2 continues after seq=$n (node1's console had shown seq=$last)"
else bad "disk sequence after failover (node1 showed '$last')"; fi

finish "ha scenarios"
