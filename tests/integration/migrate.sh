#!/usr/bin/env bash
# migrate.sh - live migration in the virtual rack (after crash.sh, before
# ha.sh): NetBSD, its file: disk replicated, dirtying 16 MiB of memory and
# writing its sequence to its disk, goes node1 -> node2 -> node1 while it
# runs.  Then what must fail does, and leaves one copy running:
#   - bad arguments, refused by clusterctl or clusterd;
#   - TLS clients the target must refuse before any data flows: no
#     certificate, another CA's, the cluster CA's for a node not in it;
#   - a stream cut short or corrupted, which the target must reject;
#   - the connection cut before the stream, in precopy, in stop-and-copy,
#     after "received" before "commit", and a receiver that dies;
#   - a cancel, and a guest that does not converge without throttling.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

NS=${RACK_NS:-xrlab}
DISK=/var/lib/xenrack/NetBSD-disk.img
CA=$LAB/bootd
t0=$SECONDS

# mig NODE EXPECTED_RC ARGS: clusterctl migrate on NODE, output in $out
mig() {
	local node=$1 want=$2; shift 2
	RACK_CTL_TIMEOUT=900 on "$node" "$want" "clusterctl migrate $*"
}
# where: the node `clusterctl list` on node1 shows NetBSD on
where() { on node1 0 "clusterctl list" && awk '$1 == "NetBSD" { print $7 }' "$out"; }
# copies: how many nodes' Xen have NetBSD (0, 1 or 2)
copies() {
	local n=0
	for node in node1 node2; do
		"$rack" ctl "$node" "xl list NetBSD" >/dev/null 2>&1 && n=$((n + 1))
	done
	echo $n
}
# tick NODE: the last "tick=N uptime=U seq=Q" NetBSD printed on NODE
tick() {
	on "$1" 0 "timeout 4 clusterctl console NetBSD | grep -o 'tick=[0-9]* uptime=[0-9.]* seq=[0-9]*' | tail -1" &&
		grep -o 'tick=[0-9]* uptime=[0-9.]* seq=[0-9]*' "$out" | tail -1
}
field() { echo "$2" | grep -o "$1=[0-9.]*" | cut -d= -f2; }
# goes_on NODE TICK: NetBSD on NODE printed a later tick than TICK, from the
# same boot (tick and uptime larger, seq larger)
goes_on() {
	local end=$((SECONDS + 60)) now
	while [ $SECONDS -lt $end ]; do
		now=$(tick "$1")
		if [ -n "$now" ] && [ "$(field tick "$now")" -gt "$(field tick "$2")" ] &&
		   [ "$(field seq "$now")" -gt "$(field seq "$2")" ] &&
		   awk -v a="$(field uptime "$now")" -v b="$(field uptime "$2")" 'BEGIN { exit !(a > b) }'; then
			echo "$now"
			return 0
		fi
		sleep 2
	done
	return 1
}
# one_copy_on NODE: after a failed migration, NetBSD runs on NODE only,
# keeps running, its disk Primary there and Secondary on the other node
one_copy_on() {
	local node=$1 other=node2 before
	[ "$node" = node2 ] && other=node1
	local end=$((SECONDS + 30))
	# a dead receiver's paused copy goes within seconds (clusterd's reaper)
	while [ "$(copies)" != 1 ] && [ $SECONDS -lt $end ]; do sleep 2; done
	before=$(tick "$node") || return 1
	[ "$(copies)" = 1 ] && "$rack" ctl "$node" "xl list NetBSD" >/dev/null 2>&1 &&
		goes_on "$node" "$before" >/dev/null &&
		until_disk "$node" 60 "$other +Primary +UpToDate\$" &&
		until_disk "$other" 60 "$node +Secondary +UpToDate\$" &&
		on "$other" 0 "ls /run/xenrack/migrate/ | grep -c . || true" && has '^0$'
}
# pings: the guest's vif answers from the rack's network
pings() { ip netns exec "$NS" ping -c 3 -W 2 10.99.0.50 >/dev/null 2>&1; }

# ---- NetBSD on node1, dirtying memory, its disk replicated to node2 ----
on node1 0 "clusterctl destroy NetBSD; clusterctl delete NetBSD" || true
on node2 0 "clusterctl destroy NetBSD; clusterctl delete NetBSD; rm -f $DISK" || true
"$here/lab-netbsd.sh" node1 --no-create >"$out" 2>&1 || bad "the test guest on node1"
if on node1 0 "sed -i 's|guest.ip=10.99.0.50/24|& guest.dirty=16|' /etc/xen/NetBSD.cfg &&
	clusterctl create /etc/xen/NetBSD.cfg" &&
   until_disk node1 180 "node2 +Primary +UpToDate\$" &&
   until_on node1 120 "timeout 3 clusterctl console NetBSD | grep -q 'seq=[3-9]'"; then
	ok "NetBSD on node1, dirtying 16 MiB, its disk UpToDate on node2"
else bad "create NetBSD"; fi

# ---- bad arguments: refused, nothing moves ----
mig node1 1 NetBSD node9 && has "node9 is not a node of this cluster" &&
	ok "migrate to node9: refused (not a node)" || bad "node9"
mig node2 1 Nope node1 && has "no domain named 'Nope' in the cluster" &&
	ok "migrate Nope: refused (no such domain), asked on node2" || bad "Nope"
mig node1 1 NetBSD node1 && has "NetBSD already runs on node1" &&
	ok "migrate to its own node: refused" || bad "same node"
mig node1 2 --downtime-ms soon NetBSD node2 && has "expected milliseconds" &&
	ok "--downtime-ms soon: usage error" || bad "--downtime-ms"
mig node1 1 --fault meteor NetBSD node2 && has "'meteor' is not a fault" &&
	ok "--fault meteor: refused" || bad "--fault"
[ "$(where)" = node1 ] && ok "NetBSD still on node1" || bad "moved by a refused request"

# ---- TLS clients the target refuses before any data flows ----
tlsdir=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj "/CN=other CA" -keyout "$tlsdir/otherca.key" -out "$tlsdir/otherca.crt" 2>/dev/null
# node2 in name, from the other CA; node9 from the cluster's own CA
for who in other:node2:"$tlsdir/otherca" cluster:node9:"$CA/ca"; do
	IFS=: read -r tag cn issuer <<<"$who"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
		-keyout "$tlsdir/$tag.key" -out "$tlsdir/$tag.csr" 2>/dev/null
	openssl x509 -req -in "$tlsdir/$tag.csr" -CA "$issuer.crt" -CAkey "$issuer.key" \
		-CAcreateserial -days 1 -out "$tlsdir/$tag-node.crt" \
		-extfile <(echo "subjectAltName=DNS:$cn") 2>/dev/null
done
# hello: a CTL_PEER_MIGRATE_IN header (XRCT, v1, 0x107) and a small body
hello() { printf 'XRCT\0\001\001\007\0\0\0\002\0\0\0\0{}'; }
client() {
	hello | ip netns exec "$NS" timeout 20 openssl s_client -quiet -tls1_3 -connect 10.99.0.12:7390 \
		-CAfile "$CA/ca.crt" "$@" >"$out" 2>&1
}
for c in "none::" "other:$tlsdir/other-node.crt:$tlsdir/other.key" \
	 "node9:$tlsdir/cluster-node.crt:$tlsdir/cluster.key"; do
	IFS=: read -r tag crt key <<<"$c"
	mark=$(stat -c %s "$LAB/node2.serial")
	if [ -n "$crt" ]; then client -cert "$crt" -key "$key"; else client; fi
	sleep 2
	log=$(tail -c +"$((mark + 1))" "$LAB/node2.serial" | tr -d '\r')
	if echo "$log" | grep -qE 'peer: refused a connection|is not a peer of node2' &&
	   ! echo "$log" | grep -q 'receiving' && [ "$(copies)" = 1 ]; then
		ok "TLS client with $tag certificate: node2 refused it before any data ($(echo "$log" |
			grep -oE 'refused a connection.*|node node9 is not a peer.*' | head -1 | cut -c1-90))"
	else
		bad "TLS client with $tag certificate"
		echo "$log" | tail -5
	fi
done
rm -rf "$tlsdir"

# ---- node1 -> node2 -> node1 ----
# migrate_to FROM TO ASK: NetBSD from FROM to TO, asked on node ASK
migrate_to() {
	local from=$1 to=$2 ask=$3 before after ms said
	before=$(tick "$from")
	ms=$SECONDS
	if mig "$ask" 0 "NetBSD $to"; then
		cat "$out"
		said=$(grep -o 'downtime [0-9]* ms.*' "$out")
		after=$(goes_on "$to" "$before") &&
		[ "$(where)" = "$to" ] && [ "$(copies)" = 1 ] && pings &&
		until_disk "$to" 60 "$from +Primary +UpToDate\$" &&
		until_disk "$from" 60 "$to +Secondary +UpToDate\$" &&
		on "$to" 0 "drbdsetup show xr-NetBSD-xvda" && ! has 'two-primaries' &&
		on "$to" 0 "ls /var/lib/xenrack/domains/NetBSD.json" &&
		ok "$from -> $to (asked on $ask) in $((SECONDS - ms)) s: $said;" \
		   "before: $before; after: $after; list says $to; one copy; ping answers;" \
		   "DRBD Primary on $to only, two-primaries closed" && return 0
	fi
	bad "migrate $from -> $to (before: $before, after: ${after:-})"
	return 1
}
migrate_to node1 node2 node1
# back, asked on node1: the request goes to node2, the progress comes back
migrate_to node2 node1 node1

# ---- faults: one copy runs on node1 afterwards, and goes on ----
# (a generous downtime target: stop-and-copy comes after round 2, not after
# the throttling the round trips above went through)
for f in before-stream precopy stop-and-copy after-received receiver-dies truncate corrupt; do
	mig node1 1 --fault "$f" --downtime-ms 10000 NetBSD node2
	cp "$out" "$out.mig"
	if one_copy_on node1; then
		ok "fault $f: refused ($(grep -o 'clusterctl: migrate NetBSD: .*' "$out.mig" | cut -c29-150));" \
		   "NetBSD runs on node1 only and goes on"
	else
		bad "fault $f"
		cat "$out.mig"
	fi
	rm -f "$out.mig"
done
# the target's side of the stream faults
if grep -a -q 'before its END record: truncated' "$LAB/node2.serial" &&
   grep -a -q "sha256 differs from the sender's" "$LAB/node2.serial"; then
	ok "node2 rejected the truncated stream and the corrupted one itself"
else bad "the target's own checks"; fi

# ---- cancel, from the other node, and a guest that does not converge ----
( sleep 8; "$rack" ctl node2 "clusterctl migrate --cancel NetBSD" >"$out.cancel" 2>&1 ) &
mig node1 1 --bandwidth 2M NetBSD node2
wait
if has 'cancelled' && grep -q 'Asked node1 to stop migrating NetBSD' "$out.cancel" && one_copy_on node1; then
	ok "cancelled from node2 during a 2 MiB/s migration: NetBSD goes on on node1"
else bad "cancel"; cat "$out.cancel"; fi
rm -f "$out.cancel"
mig node1 1 --no-throttle --downtime-ms 1 --max-rounds 4 NetBSD node2
said=$(grep -oE 'it (did|does) not converge.*' "$out")
if [ -n "$said" ] && has 'NetBSD keeps running on node1' && one_copy_on node1; then
	ok "--downtime-ms 1 --no-throttle: gave up ($said); NetBSD goes on on node1"
else bad "non-convergence"; fi

# ---- leave the rack as found: no NetBSD, no resources (ha.sh makes its own) ----
on node1 0 "clusterctl destroy NetBSD" && until_on node1 60 "clusterctl delete NetBSD" &&
	ok "NetBSD destroyed and its disk resources deleted" || bad "clean up"

finish "migrate.sh"
