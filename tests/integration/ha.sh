#!/usr/bin/env bash
# ha.sh - the cluster in the virtual rack (after storage.sh and crash.sh, on
# the same two nodes): corosync with the boot host's qnetd as third vote,
# the CPG domain table, then the two ways a node is lost:
#   1. node1 isolated (its tap cut): it resets itself through the Xen
#      watchdog, NetBSD restarts on node2, and never do two copies run;
#      node1 boots again over PXE, rejoins, and its DRBD copy resyncs;
#   2. node2 killed (its QEMU): NetBSD restarts on node1, from the copy
#      that resynced, with the failover's phases measured.
# It runs last: node2 stays dead.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

DISK=/var/lib/xenrack/NetBSD-disk.img
NS=${RACK_NS:-xrlab}
t0=$SECONDS

# ask NODE CMD: a quick question; a node that does not answer (it is being
# reset) costs 20 s at most
ask() { RACK_CTL_ACK=10 RACK_CTL_TRIES=2 RACK_CTL_TIMEOUT=30 "$rack" ctl "$@" 2>/dev/null; }
# runs NODE: NetBSD runs in NODE's Xen (a node that does not answer runs
# nothing: it is being reset)
runs() { ask "$1" "xl list NetBSD" >/dev/null; }
# continues NODE LAST: NetBSD on NODE went on from its disk's record LAST
# or later (guest-init prints where it continues from)
continues() {
	local n
	until_on "$1" 120 "timeout 3 clusterctl console NetBSD | grep -E -m1 'continuing after seq=[0-9]+'" &&
		n=$(grep -oE 'continuing after seq=[0-9]+' "$out" | grep -oE '[0-9]+$') &&
		[ -n "$2" ] && [ "$n" -ge "$2" ] && echo "$n"
}
# ready_count NODE: how many times NODE's serial log says it was ready
ready_count() { grep -c "xenrack: node $1 ready" "$LAB/$1.serial" 2>/dev/null; }

if until_on node1 120 "clusterctl nodes | grep -q '^node2 .* yes '" && on node1 0 "clusterctl nodes" &&
   has '^Quorum: yes   Watchdog: armed' && has '^node1 .* yes '; then
	ok "nodes: node1 and node2 members, quorate, watchdog armed"
else bad "membership"; fi
# Three votes: both nodes and the boot host's qnetd (through qdevice), so
# either node keeps quorum when the other dies.
until_on node2 60 "corosync-quorumtool -s | grep -qE 'Total votes: +3'" &&
	ok "quorum: 3 votes, qnetd's among them" || bad "qdevice vote missing"

# NetBSD again, now autorestart, its disk replicated to node2.  Its kernel
# and ramdisk are on node1 only, as an operator's files would be: the image
# store must bring them to node2.
on node2 0 "rm -f $DISK; rm -rf /var/lib/xenrack/guest /var/lib/xenrack/images"
"$here/lab-netbsd.sh" node1 --no-create >"$out" 2>&1 || bad "the test guest on node1"
if on node1 0 "mkdir -p /root/ha && cp /var/lib/xenrack/guest/* /root/ha/ &&
	sed -e '/^autorestart/d' -e 's|/var/lib/xenrack/guest/|/root/ha/|' /etc/xen/NetBSD.cfg >/etc/xen/NetBSD-ha.cfg &&
	echo 'autorestart = True' >>/etc/xen/NetBSD-ha.cfg && clusterctl create /etc/xen/NetBSD-ha.cfg" &&
   until_disk node1 180 "node2 +Primary +UpToDate\$"; then
	ok "NetBSD (autorestart) created on node1 from /root/ha, its disk UpToDate on node2"
else bad "create HA NetBSD"; fi
on node1 0 "cd /root/ha && sha256sum vmlinuz guest-initrd.img" && sums=$(awk '{ print $1 }' "$out")
if [ -n "$sums" ] && on node2 0 "for s in $(echo $sums); do sha256sum /var/lib/xenrack/images/sha256-\$s; done" &&
   [ "$(awk '{ print $1 }' "$out")" = "$sums" ]; then
	ok "node2's image store holds NetBSD's kernel and ramdisk, byte for byte (sha256 $(echo $sums | cut -c1-12)...)"
else bad "images on node2"; fi
until_on node2 30 "clusterctl nodes | grep -q '^node1 .* yes  *NetBSD\$'" &&
	ok "node2's table: node1 runs NetBSD" || bad "domain table on node2"
on node2 1 "printf 'name = \"NetBSD\"\\nkernel = \"/etc/hostname\"\\nmemory = 64\\n' >/tmp/NetBSD-dup.cfg &&
	clusterctl create /tmp/NetBSD-dup.cfg" && has "domain 'NetBSD' already exists on node1" &&
	ok "NetBSD refused on node2: names are unique in the cluster" || bad "unique name"
until_on node1 120 "timeout 3 clusterctl console NetBSD | grep -q 'seq=[3-9]'" || bad "guest writing"

# ---- 1. node1 isolated: its tap leaves the rack's bridge ----
serial_at=$(stat -c %s "$LAB/node1.serial")
boots=$(ready_count node1)
last=$(seq_on node1)
ip netns exec "$NS" ip link set tap1 nomaster
t=$SECONDS
both= reset= started= frozen=
while [ $((SECONDS - t)) -lt 300 ]; do
	# node2 first: a copy seen there and then one still on node1 were
	# both running at that moment.
	r2= r1=
	runs node2 && r2=1
	[ -z "$reset" ] && runs node1 && r1=1
	[ -n "$r1" ] && [ -n "$r2" ] && both="${both:-}$((SECONDS - t)) "
	if [ -z "$frozen" ] && [ -n "$r1" ] && ask node1 "clusterctl disks NetBSD" | grep -q 'Frozen'; then
		frozen=$((SECONDS - t))
	fi
	if [ -z "$reset" ] && tail -c +"$((serial_at + 1))" "$LAB/node1.serial" |
	   grep -qE 'Watchdog timer fired|Dom0.*rebooting'; then
		reset=$((SECONDS - t))
	fi
	[ -n "$r2" ] && [ -z "$started" ] && started=$((SECONDS - t))
	[ -n "$reset" ] && [ -n "$started" ] && break
	sleep 1
done
tail -c +"$((serial_at + 1))" "$LAB/node1.serial" | tr -d '\r' |
	grep -E 'fence-peer|NOT quorate|Watchdog timer fired|Dom0.*rebooting' | head -6 | sed 's/^/  node1: /'
[ -n "$frozen" ] && ok "isolated node1 froze NetBSD's disk I/O (seen ${frozen} s after the cut): no write node2 lacks" ||
	bad "node1's disk never showed Frozen"
[ -n "$reset" ] && ok "isolated node1 reset by the Xen watchdog ${reset} s after the cut" ||
	bad "node1 not reset by its watchdog"
if [ -n "$started" ] && [ -n "$reset" ] && [ "$reset" -le "$started" ]; then
	ok "NetBSD runs on node2 ${started} s after the cut, after node1's reset"
else bad "NetBSD on node2: started '${started}', node1 reset '${reset}'"; fi
[ -z "$both" ] && ok "never two copies: sampled every second or two on both nodes" ||
	bad "two copies of NetBSD ran at ${both}s after the cut"
n=$(continues node2 "$last") && ok "NetBSD on node2 continues after seq=$n (node1's console had shown seq=$last)" ||
	bad "disk sequence on node2 (node1 showed '$last')"

# node1 boots again over PXE once its cable is back.
ip netns exec "$NS" ip link set tap1 master br0
t=$SECONDS
while [ $((SECONDS - t)) -lt 600 ] && [ "$(ready_count node1)" -le "$boots" ]; do sleep 3; done
if [ "$(ready_count node1)" -gt "$boots" ]; then
	ok "node1 booted again over PXE ($((SECONDS - t)) s after its tap came back)"
else bad "node1 did not boot again"; fi
if until_on node1 180 "clusterctl nodes | grep -q '^node2 .* yes  *NetBSD\$'" &&
   on node1 0 "clusterctl nodes" && has '^Quorum: yes' && has '^node1 .* yes '; then
	ok "node1 rejoined: quorate, and sees NetBSD on node2"
else bad "node1 rejoin"; fi
t=$SECONDS
if until_disk node1 300 "node2 +Secondary +UpToDate\$" && disk_is node2 "node1 +Primary +UpToDate\$"; then
	ok "node1's copy resynced from node2: UpToDate, no split-brain ($((SECONDS - t)) s)"
else bad "resync after rejoin"; fi
on node1 0 "grep -E 'sync|Split' /var/log/clusterd.log; dmesg | grep -iE 'drbd.*(split|sync|uuid)' | tail -4"
sed 's/^/  node1: /' "$out" | tail -5

# ---- 2. node2 dies: its QEMU is killed ----
until_on node2 120 "timeout 3 clusterctl console NetBSD | grep -q 'seq='" || bad "guest writing on node2"
last=$(seq_on node2)
kill -9 "$(cat "$LAB/node2.pid")"
t=$SECONDS
detected= started=
while [ $((SECONDS - t)) -lt 300 ]; do
	if [ -z "$detected" ] && on node1 0 "clusterctl nodes" && has '^node2 .* no '; then
		detected=$((SECONDS - t))
	fi
	if on node1 0 "clusterctl list" && has '^NetBSD .* node1$'; then started=$((SECONDS - t)); break; fi
	sleep 1
done
if [ -n "$started" ]; then
	ok "node2 killed: NetBSD runs on node1 $started s later (node2 seen gone after ${detected:-?} s)"
else bad "NetBSD not restarted on node1"; fi
# The phases, from node1's log: when node2 left, the fence wait, the
# promotion of the replica and the domain's start.
on node1 0 "grep -E 'ha: (restarting|NetBSD restarted)|Primary in|node2 left|fence-peer' /var/log/clusterd.log | tail -6" &&
	sed 's/^/  node1: /' "$out"
on node1 0 "clusterctl disks NetBSD" && has 'Primary' && ok "node1 promoted NetBSD's replica" ||
	bad "promote on node1"
n=$(continues node1 "$last") && ok "NetBSD on node1 continues after seq=$n (node2's console had shown seq=$last)" ||
	bad "disk sequence after failover (node2 showed '$last')"

finish "ha scenarios"
