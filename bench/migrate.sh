#!/usr/bin/env bash
# bench/migrate.sh - `clusterctl migrate` against `xl migrate` in the
# virtual rack, on the same domain and workload.  As root.
#
# NetBSD (128 MiB, its file: disk replicated) goes node1 -> node2 and back,
# idle and then rewriting 16 MiB of memory (guest.dirty=16), each way with
# clusterctl and with xl.  xl migrate's transport is nc between the Dom0s
# (xl would pipe through ssh; the nodes have no ssh), and its disk handover
# is done by hand as an operator would: the two-primaries window, the
# target promoted before, the source demoted after.
#
# Figures per migration:
#   downtime  the longest gap between replies to a 100 Hz ping of the
#             guest from the rack's network: what a client sees, measured
#             the same way for both (clusterctl's own figure beside it)
#   total     the command's wall time
#   sent      bytes out of the source's NIC during the command
# RACK_KEEP=1 reuses a rack that is up (and leaves it up).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rack=$top/tests/integration/rack.sh
NS=${RACK_NS:-xrlab}
RES=xr-NetBSD-xvda
on() { local n=$1; shift; RACK_CTL_TIMEOUT=900 "$rack" ctl "$n" "$*"; }

if [ -z "${RACK_KEEP:-}" ]; then
	"$rack" down >/dev/null 2>&1 || true
	trap '"$rack" down >/dev/null 2>&1' EXIT
	"$rack" up 2 >/dev/null
fi
command -v ping >/dev/null || apt-get install -y -q iputils-ping >/dev/null

tx() { on "$1" "cat /sys/class/net/eth0/statistics/tx_bytes"; }

# ping_gap FILE: the longest gap in ms between replies in ping -D output
ping_gap() {
	awk -F'[][]' '/bytes from/ { t = $2 * 1000; if (p && t - p > g) g = t - p; p = t }
		END { printf "%d", g }' "$1"
}

# measure TOOL FROM TO: one migration, a line of figures
measure() {
	local tool=$1 from=$2 to=$3 log t0 t1 b0 b1 gap own=- pingpid rc=0
	log=$(mktemp)
	b0=$(tx "$from")
	ip netns exec "$NS" ping -D -i 0.01 -W 1 10.99.0.50 >"$log.ping" 2>&1 &
	pingpid=$!
	sleep 2
	t0=$(date +%s.%N)
	if [ "$tool" = clusterctl ]; then
		on "$from" "clusterctl migrate NetBSD $to" >"$log" 2>&1 || rc=$?
		own=$(grep -o 'downtime [0-9]* ms' "$log" | grep -o '[0-9]*')
	else
		on "$to" "drbdadm primary $RES" >/dev/null
		on "$to" "nc -l -p 7401 -e xl migrate-receive >/tmp/xl-recv.log 2>&1 &" >/dev/null
		sleep 1
		on "$from" "xl migrate -s \"sh -c 'exec nc 10.99.0.1${to#node} 7401' x\" NetBSD $to" >"$log" 2>&1 || rc=$?
	fi
	t1=$(date +%s.%N)
	sleep 3
	kill "$pingpid" 2>/dev/null; wait "$pingpid" 2>/dev/null || true
	if [ "$tool" = xl ]; then
		on "$from" "drbdadm secondary $RES" >/dev/null || true
	fi
	b1=$(tx "$from")
	gap=$(ping_gap "$log.ping")
	printf '%-10s %-6s %s->%s %10d %8s %9.1f %10.1f\n' "$tool" "$load" "$from" "$to" "$gap" \
		"$own" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		"$(awk -v a="$b0" -v b="$b1" 'BEGIN { print (b - a) / 1048576 }')"
	if [ $rc -ne 0 ]; then
		echo "    ($tool failed, exit $rc; the domain is where \`clusterctl list\` says)" >&2
		sed 's/^/    | /' "$log" | tail -15 >&2
		on "$to" "tail -5 /tmp/xl-recv.log" 2>/dev/null | sed 's/^/    target | /' >&2 || true
	fi
	rm -f "$log" "$log.ping"
}

setup() {
	on node1 "clusterctl destroy NetBSD; clusterctl delete NetBSD" >/dev/null 2>&1 || true
	on node2 "clusterctl destroy NetBSD; clusterctl delete NetBSD; rm -f /var/lib/xenrack/NetBSD-disk.img" >/dev/null 2>&1 || true
	"$top/tests/integration/lab-netbsd.sh" node1 --no-create >/dev/null
	[ "$1" = dirty ] && on node1 "sed -i 's|guest.ip=10.99.0.50/24|& guest.dirty=16|' /etc/xen/NetBSD.cfg" >/dev/null
	on node1 "clusterctl create /etc/xen/NetBSD.cfg" >/dev/null
	until on node1 "clusterctl disks NetBSD" | grep -q 'Primary *UpToDate'; do sleep 3; done
	# the window stays open for xl's turns; clusterctl opens and closes its own
	sleep 20
}

printf '%-10s %-6s %-12s %10s %8s %9s %10s\n' tool load way "downtime" "(own)" "total s" "sent MiB"
# BENCH_LOADS picks the workloads (default: idle dirty)
for load in ${BENCH_LOADS:-idle dirty}; do
	setup "$load"
	measure clusterctl node1 node2
	measure clusterctl node2 node1
	on node1 "drbdadm net-options --allow-two-primaries=yes $RES" >/dev/null
	measure xl node1 node2
	measure xl node2 node1
	on node1 "drbdadm net-options --allow-two-primaries=no $RES" >/dev/null || true
done
