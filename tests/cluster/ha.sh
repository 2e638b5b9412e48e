#!/usr/bin/env bash
# ha.sh - the cluster layer on this host, as root, without Xen: two clusterd
# (--hv sim) in network namespaces over real corosync, corosync-qdevice and
# corosync-qnetd, with corosync.conf written by xenrack-enrol.  Proves:
# membership and quorum in `clusterctl nodes`, the replicated domain table,
# names unique in the cluster, routed operations, the watchdog fed only while
# quorate, and an HA domain restarted on the survivor only after the lost
# node's fence wait (a domain that is not HA stays down).
# (The virtual rack proves the same on real Xen and DRBD: tests/integration.)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=$top/build
P=xrha			# namespaces: $P-br (the switch), $P-q (qnetd), $P-n1, $P-n2
NET=10.97.0
W=3			# the watchdog timeout: fence wait = W + 4 s
tmp=$(mktemp -d /tmp/xrha.XXXXXX)
pass=0 fail=0
pids=()

ok()  { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; [ -s "$tmp/out" ] && sed 's/^/  | /' "$tmp/out" | tail -15; }

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	for ns in $P-n1 $P-n2 $P-q $P-br; do ip netns delete "$ns" 2>/dev/null; done
	if [ $fail -ne 0 ]; then
		for n in 1 2; do
			echo "---- node$n: clusterd ----"; tail -n 25 "$tmp/n$n/clusterd.log" 2>/dev/null
		done
	fi
	[ -n "${XRHA_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "ha.sh: needs root (network namespaces)" >&2; exit 1; }
for t in corosync corosync-qdevice corosync-qnetd openssl nsenter unshare; do
	command -v "$t" >/dev/null || { echo "ha.sh: $t missing (scripts/deps.sh test)" >&2; exit 1; }
done
for ns in $P-n1 $P-n2 $P-q $P-br; do
	ip netns list | grep -qw "$ns" && { echo "ha.sh: namespace $ns exists; remove it first" >&2; exit 1; }
done

# ---- the network: a bridge, a veth a host ----
ip netns add $P-br
ip -n $P-br link add br0 type bridge
ip -n $P-br link set br0 up
plug() {	# plug NS ADDR
	ip netns add "$1"
	ip link add "v-$1" type veth peer name eth0 netns "$1"
	ip link set "v-$1" netns $P-br
	ip -n $P-br link set "v-$1" master br0 up
	ip -n "$1" addr add "$2/24" dev eth0
	ip -n "$1" link set eth0 up
	ip -n "$1" link set lo up
}
plug $P-q $NET.1
plug $P-n1 $NET.11
plug $P-n2 $NET.12
cut()   { ip -n $P-br link set "v-$P-n$1" nomaster; }
mend()  { ip -n $P-br link set "v-$P-n$1" master br0; }

ip netns exec $P-q unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec corosync-qnetd -f -4 -s off' \
	>"$tmp/qnetd.log" 2>&1 &
pids+=($!)

# ---- certificates from a CA of the test's own ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$tmp/ca.key" -out "$tmp/ca.crt" -subj /CN=xrha-ca 2>/dev/null
for n in 1 2; do
	d=$tmp/n$n
	mkdir -p "$d/state"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/node.key" -out "$d/node.csr" -subj "/CN=node$n" 2>/dev/null
	printf 'subjectAltName=DNS:node%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$n" >"$d/ext"
	openssl x509 -req -in "$d/node.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/ext" -out "$d/node.crt" 2>/dev/null
	cp "$tmp/ca.crt" "$d/ca.crt"
	cat >"$d/node.json" <<-EOF
	{ "node": "node$n", "address": "$NET.1$n", "cluster": "xrha", "qnetd": "$NET.1",
	  "nodes": [ { "name": "node1", "address": "$NET.11" }, { "name": "node2", "address": "$NET.12" } ] }
	EOF
	# corosync.conf as a node gets it, with this test's paths.
	"$B/xenrack-enrol" --corosync-only -d "$d" --corosync "$d/corosync.conf" ||
		{ echo "ha.sh: xenrack-enrol --corosync-only failed" >&2; exit 1; }
	sed -i "s|^\(\s*\)logfile: .*|\1logfile: $d/corosync.log|" "$d/corosync.conf"
	printf 'system {\n\tstate_dir: %s/state\n}\n' "$d" >>"$d/corosync.conf"
	touch "$d/watchdog"
done
printf 'dummy kernel\n' >"$tmp/kernel"
cat >"$tmp/web.cfg" <<EOF
name = "web"
kernel = "$tmp/kernel"
memory = 64
autorestart = True
EOF
sed 's/^autorestart.*/autorestart = False/; s/"web"/"batch"/' "$tmp/web.cfg" >"$tmp/batch.cfg"

# ---- a node: its own /run and network, corosync, qdevice, clusterd ----
start_node() {	# start_node N
	local n=$1 d=$tmp/n$1 i
	ip netns exec $P-n$n unshare -m sh -c 'mount -t tmpfs tmpfs /run && echo $$ >"$1" && exec sleep infinity' \
		holder "$d/holder.pid" &
	pids+=($!)
	for i in $(seq 50); do [ -s "$d/holder.pid" ] && break; sleep 0.1; done
	local h; h=$(cat "$d/holder.pid")
	nsenter -t "$h" -m -n corosync -f -c "$d/corosync.conf" >"$d/corosync.out" 2>&1 &
	echo $! >"$d/corosync.pid"; pids+=($!)
	for i in $(seq 100); do nsenter -t "$h" -m -n corosync-cfgtool -s >/dev/null 2>&1 && break; sleep 0.1; done
	nsenter -t "$h" -m -n corosync-qdevice -f >"$d/qdevice.out" 2>&1 &
	echo $! >"$d/qdevice.pid"; pids+=($!)
	nsenter -t "$h" -m -n "$B/clusterd" --hv sim -n "node$n" --cert-dir "$d" --state-dir "$d/state" \
		-s "$d/sock" --watchdog $W --watchdog-device "$d/watchdog" >"$d/clusterd.log" 2>&1 &
	echo $! >"$d/clusterd.pid"; pids+=($!)
	for i in $(seq 100); do [ -S "$d/sock" ] && break; sleep 0.1; done
}
# kill_node N: the node dies at once, all of it
kill_node() {
	local d=$tmp/n$1 f
	for f in clusterd qdevice corosync holder; do kill -9 "$(cat "$d/$f.pid")" 2>/dev/null; rm -f "$d/$f.pid"; done
	rm -f "$d/sock"
}
ctl() {		# ctl N EXPECTED_RC ARGS...: clusterctl on node N, output in $tmp/out
	local n=$1 want=$2; shift 2
	XENRACK_SOCKET=$tmp/n$n/sock "$B/clusterctl" "$@" >"$tmp/out" 2>&1
	local rc=$?
	[ $rc -eq "$want" ] && return 0
	echo "(node$n: 'clusterctl $*' exited $rc, expected $want)" >>"$tmp/out"
	return 1
}
has() { grep -qE -- "$1" "$tmp/out"; }
until_ctl() {	# until_ctl SECONDS N REGEX ARGS...
	local end=$((SECONDS + $1)) n=$2 re=$3; shift 3
	while [ $SECONDS -lt $end ]; do ctl "$n" 0 "$@" && has "$re" && return 0; sleep 0.5; done
	return 1
}
wd_size() { stat -c %s "$tmp/n$1/watchdog"; }

start_node 1
start_node 2
t=$SECONDS
if until_ctl 60 1 '^node2 .* yes ' nodes && has '^Quorum: yes   Watchdog: armed' && has '^node1 .* yes '; then
	ok "nodes: both members, quorate, watchdog armed ($((SECONDS - t)) s)"
else bad "membership"; fi

# ---- the domain table: any node answers for all ----
ctl 1 0 create "$tmp/web.cfg" && ok "create web (autorestart) on node1" || bad "create web"
ctl 1 0 create "$tmp/batch.cfg" && ok "create batch (not HA) on node1" || bad "create batch"
until_ctl 10 2 '^node1 .* yes +(batch web|web batch)$' nodes &&
	ok "nodes on node2: node1 runs web and batch (the CPG table)" || bad "domain table"
ctl 2 0 list && has '^web .* node1$' && ok "list on node2 shows web on node1" || bad "list on node2"
ctl 2 1 create "$tmp/web.cfg" && has "domain 'web' already exists on node1" &&
	ok "create web on node2 refused: names are unique in the cluster" || bad "unique names"
ctl 2 0 pause web && ctl 1 0 list && has '^web .*--p--- .* node1$' &&
	ok "pause web asked on node2: done on node1" || bad "routed pause"
ctl 2 0 unpause web || bad "unpause"

# ---- fencing: the watchdog is fed only while quorate ----
s1=$(wd_size 1); sleep 3; s2=$(wd_size 1)
[ "$s2" -gt "$s1" ] && ok "node1 feeds its watchdog while quorate (+$((s2 - s1)) in 3 s)" ||
	bad "watchdog not fed ($s1 -> $s2)"
cut 1
t=$SECONDS
# node1 is cut off from node2 and qnetd: it must stop feeding at once,
# well before node2 may act (W + 4 s after it saw node1 leave).
stopped=
for _ in $(seq 40); do
	a=$(wd_size 1); sleep 1; b=$(wd_size 1)
	[ "$a" = "$b" ] && { stopped=$((SECONDS - t)); break; }
done
if [ -n "$stopped" ]; then ok "node1 cut off: it stopped feeding its watchdog within $stopped s"
else bad "node1 cut off but still feeds its watchdog"; fi
if until_ctl 30 2 'Lost domains' nodes && has '^ +web +was on node1 +HA: restarts on a member' &&
   has '^ +batch +was on node1 +not HA: stays down'; then
	ok "node2: node1 left; web is HA and waits for the fence, batch stays down"
else bad "lost domains on node2"; fi
# In a real node Xen has reset node1 W s after it stopped feeding; here
# the test does it, at that moment.
sleep $W
last_fed=$(stat -c %Y "$tmp/n1/watchdog")
kill_node 1
if until_ctl 40 2 '^web .* node2$' list; then
	took=$((SECONDS - t))
	restarted=$(date +%s)
	ok "web restarted on node2, $took s after node1 was cut off"
	[ $((restarted - last_fed)) -ge $W ] &&
		ok "no two copies: node1's watchdog had been unfed $((restarted - last_fed)) s (>= W = $W s)" ||
		bad "web restarted only $((restarted - last_fed)) s after node1's last keepalive"
else bad "web not restarted on node2"; fi
ctl 2 0 list && ! has '^batch ' && ok "batch (not HA) was not restarted" || bad "batch restarted"
grep -q "ha: restarting web here: node node1 left" "$tmp/n2/clusterd.log" &&
	ok "node2's log says why it restarted web" || bad "restart log line"

# ---- quorum lost: node2 alone without qnetd is 1 vote of 3 ----
kill -9 "${pids[0]}"	# qnetd
if until_ctl 40 2 '^Quorum: NO' nodes; then
	a=$(wd_size 2); sleep 3; b=$(wd_size 2)
	[ "$a" = "$b" ] && ok "node2 without quorum: Quorum NO, and its watchdog is no longer fed" ||
		bad "node2 feeds its watchdog without quorum ($a -> $b)"
else bad "node2 still quorate alone"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
