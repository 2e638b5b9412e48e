#!/usr/bin/env bash
# storage.sh - replicated disks in the virtual rack (after scenarios.sh, on
# the same two nodes): real DRBD 8.4 between node1 and node2, driven by
# clusterd.  The NetBSD guest writes a numbered record a second to its
# disk (appliance/guest-init); every check reads back what it wrote.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

DISK=/var/lib/xenrack/NetBSD-disk.img
RES=xr-NetBSD-xvda
t0=$SECONDS

# nothing_left NODE: no record, no resource file, no DRBD minor, no loop
nothing_left() {
	on "$1" 0 "ls -A /var/lib/xenrack/storage | grep -v '^\.lock\$'; ls /sys/block | grep drbd; losetup -a; true" &&
		[ ! -s "$out" ]
}
# drbd_link cut|restore: the replication link alone, DRBD's ports (7788 +
# minor) dropped on the rack's bridge; corosync and the peer channel stay
# up.  (A whole node cut off is isolation: ha.sh.)
drbd_link() {
	local ns=${RACK_NS:-xrlab}
	case $1 in
	cut) ip netns exec "$ns" nft -f - <<-EOF
		table bridge xrcut {
			chain forward {
				type filter hook forward priority 0;
				tcp dport 7788-8043 drop
				tcp sport 7788-8043 drop
			}
		}
		EOF
		;;
	restore) ip netns exec "$ns" nft delete table bridge xrcut ;;
	esac
}

# The domain scenarios.sh made has stopped: its disk stayed, demoted.
if disk_is node1 "node2 +Secondary +UpToDate" && disk_is node2 "node1 +Secondary +UpToDate"; then
	ok "after scenarios: NetBSD's disk replicated node1 <-> node2, Secondary and UpToDate on both"
else bad "replicated disk after scenarios"; fi

# delete: both sides torn down; data files stay.
if on node1 0 "clusterctl delete NetBSD" && nothing_left node1 && nothing_left node2 &&
   on node1 0 "test -s $DISK" && on node2 0 "test -s $DISK"; then
	ok "delete: resources gone on both nodes, data files kept"
else bad "delete"; fi

# ---- bad input: a clear error, nothing created on either node ----
bad_create() {	# bad_create WHAT MESSAGE-REGEX CONFIG-DISK-LINE [OPTIONS]
	local what=$1 msg=$2 disk=$3 opts=${4:-}
	if on node1 1 "sed 's|^disk = .*|disk = [ \"$disk\" ]|' /etc/xen/NetBSD.cfg >/tmp/Bad.cfg &&
		clusterctl create $opts /tmp/Bad.cfg" && has "$msg" &&
	   nothing_left node1 && nothing_left node2 && on node1 0 "xl list" && ! has '^NetBSD '; then
		ok "refused: $what; nothing left on either node"
	else bad "bad input: $what"; fi
}
bad_create "phy: device that does not exist" \
	"disk phy:/dev/xenrack-nonexistent: No such file or directory" \
	"phy:/dev/xenrack-nonexistent,wd0d,w"
bad_create "file: in a directory that does not exist" \
	"disk file:/var/lib/xenrack/nodir/NetBSD.img: directory /var/lib/xenrack/nodir does not exist" \
	"file:/var/lib/xenrack/nodir/NetBSD.img,wd0d,w"
bad_create "a peer that is not in the cluster" \
	"--peer node9: not a node of this cluster \\(node1, node2\\)" "file:$DISK,wd0d,w" "--peer node9"
on node1 0 "truncate -s 100G /var/lib/xenrack/Big.img"
bad_create "a disk larger than the peer's free space" \
	"node2: disk file:/var/lib/xenrack/Big.img: the replica needs 100.0 GiB, [0-9.]+ [MG]iB free here" \
	"file:/var/lib/xenrack/Big.img,wd0d,w" "--peer node2"
on node1 0 "stat -c %s /var/lib/xenrack/Big.img; rm -f /var/lib/xenrack/Big.img" &&
	has '^107374182400$' && ok "the refused disk was not grown for metadata" || bad "Big.img size"
# The replica from before is still on node2: it is never overwritten.
bad_create "the peer already has a file at the disk's path" \
	"node2: disk file:$DISK: a file of [0-9.]+ MiB is already here" "file:$DISK,wd0d,w"
on node2 0 "rm -f $DISK"

# ---- create: the first sync, the guest writes ----
t=$SECONDS
if "$here/lab-netbsd.sh" node1 >"$out" 2>&1 && has 'Started domain NetBSD' &&
   has "xvda +file:$DISK +node2 +Primary"; then
	ok "create: NetBSD on node1, disk replicated to node2 ($((SECONDS - t)) s)"
else bad "create replicated"; fi
t=$SECONDS
if until_disk node1 180 "node2 +Primary +UpToDate\$" && disk_is node2 "node1 +Secondary +UpToDate\$"; then
	ok "first sync done: UpToDate on both ($((SECONDS - t)) s after create)"
else bad "first sync"; fi
on node1 0 "clusterctl list -l" && has "^ +xvda +file:$DISK +node2 +Primary +UpToDate" &&
	ok "list -l shows the disk's replication" || bad "list -l"
until_on node1 120 "timeout 3 clusterctl console NetBSD | grep -q 'seq=[3-9]'" &&
	ok "guest writes its sequence to the replicated disk" || bad "guest writing"

# ---- the replication link cut: node2 fenced, Degraded, the guest goes on ----
drbd_link cut
t=$SECONDS
if until_disk node1 90 "Degraded"; then
	ok "replication link to node2 cut: node1 shows Degraded ($((SECONDS - t)) s)"
else bad "Degraded"; fi
# node1's fence-peer handler had node2 outdate its copy (docs/storage.md).
if until_disk node2 60 "node1 +Secondary +Outdated\$"; then
	ok "node1's fence-peer handler outdated node2's copy ($((SECONDS - t)) s after the cut)"
else bad "node2's copy not outdated"; fi
s1=$(seq_on node1); sleep 8; s2=$(seq_on node1)
if [ -n "$s1" ] && [ -n "$s2" ] && [ "$s2" -gt "$s1" ]; then
	ok "guest keeps writing while degraded (seq $s1 -> $s2)"
else bad "guest stalled while degraded (seq '$s1' -> '$s2')"; fi
on node2 0 "! drbdadm primary $RES" && has "UpToDate data" &&
	ok "node2's outdated copy cannot be promoted" || bad "outdated copy promoted"
drbd_link restore
t=$SECONDS
if until_disk node1 180 "node2 +Primary +UpToDate\$" && disk_is node2 "UpToDate\$"; then
	ok "link back: resynced to UpToDate ($((SECONDS - t)) s)"
else bad "resync"; fi

# ---- split-brain: detected, kept apart, nothing discarded ----
drbd_link cut
until_disk node1 90 "Degraded" && until_disk node2 90 "Outdated"
# An operator overrides the fencing: node2 forced Primary behind node1's
# back, and written: two histories.
on node2 0 "drbdadm primary --force $RES && printf 'node2 was here' | dd of=/dev/drbd0 bs=512 seek=100000 conv=sync,fsync 2>/dev/null && drbdadm secondary $RES" ||
	bad "making a split brain on node2"
drbd_link restore
t=$SECONDS
if until_disk node1 120 "SplitBrain" && until_disk node2 60 "SplitBrain"; then
	ok "split-brain detected and reported on both nodes ($((SECONDS - t)) s); left disconnected"
else bad "split-brain detection"; fi
sleep 5
disk_is node1 "SplitBrain" && ok "still SplitBrain: nothing resolved behind the operator's back" ||
	bad "split-brain resolved by itself"
# The operator keeps node1's data (docs/storage.md): node2 discards its own.
if on node2 0 "drbdadm connect --discard-my-data $RES" && on node1 0 "drbdadm connect $RES" &&
   until_disk node1 180 "node2 +Primary +UpToDate\$"; then
	ok "resolved by the documented commands: UpToDate again"
else bad "split-brain resolution"; fi

# ---- hand over: node1 stops and demotes, node2 reads the same bytes ----
last=$(seq_on node1)
if on node1 0 "clusterctl shutdown -w NetBSD" && until_disk node1 60 "Secondary +UpToDate\$"; then
	ok "shutdown: node1 demoted NetBSD's disk to Secondary"
else bad "demote after shutdown"; fi
# Each side's data area: the DRBD device's size, from events2.
sum1= sum2=
on node1 0 "n=\$(drbdsetup events2 --now --statistics $RES | sed -n 's/.* device .* size:\\([0-9]*\\).*/\\1/p'); head -c \$((n * 1024)) $DISK | sha256sum; dd if=$DISK bs=512 count=1 2>/dev/null | head -1" &&
	sum1=$(awk 'NR == 1 { print $1 }' "$out") && hdr1=$(sed -n 2p "$out")
on node2 0 "drbdadm primary $RES && sha256sum </dev/drbd0; dd if=/dev/drbd0 bs=512 count=1 2>/dev/null | head -1; drbdadm secondary $RES" &&
	sum2=$(awk 'NR == 1 { print $1 }' "$out") && hdr2=$(sed -n 2p "$out")
if [ -n "$sum1" ] && [ "$sum1" = "$sum2" ]; then
	ok "node2 promoted and read exactly node1's data (sha256 ${sum1:0:16}...)"
else bad "checksums differ: node1 '$sum1' node2 '$sum2'"; fi
lastw=$(echo "${hdr2:-}" | sed -n 's/.* last=\([0-9]*\) .*/\1/p')
if [ -n "$lastw" ] && [ -n "$last" ] && [ "$lastw" -ge "$last" ]; then
	ok "node2's copy holds the guest's last record (last=$lastw, console saw $last)"
else bad "last record: disk '$lastw', console '$last'"; fi

# NetBSD restarted on node2 carries on where its disk left off.
if "$here/lab-netbsd.sh" node2 >"$out" 2>&1 && has "xvda +file:$DISK +node1 +Primary" &&
   until_on node2 120 "timeout 3 clusterctl console NetBSD | grep -m1 -E 'seq=$((lastw + 1))\\b|continuing after seq=$lastw'"; then
	ok "NetBSD on node2 continues the sequence after seq=$lastw"
else bad "restart on node2"; fi
on node1 1 "clusterctl delete NetBSD" && has "domain 'NetBSD' runs on node2" &&
	ok "delete on node1 refused while NetBSD runs on node2" || bad "delete while running on the peer"
on node2 0 "clusterctl destroy NetBSD" && until_disk node2 60 "Secondary" &&
	ok "destroy on node2: its disk demoted" || bad "destroy on node2"
if on node2 0 "clusterctl delete NetBSD" && nothing_left node1 && nothing_left node2 &&
   on node1 0 "stat -c %s $DISK" && has '^67108864$' && on node2 0 "stat -c %s $DISK" && has '^67108864$'; then
	ok "delete: nothing left on either node; both files back at 64 MiB, without metadata"
else bad "final delete"; fi

finish "storage scenarios"
