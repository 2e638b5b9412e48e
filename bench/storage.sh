#!/usr/bin/env bash
# bench/storage.sh - write throughput and latency of a replicated disk
# against the same disk unreplicated, in one virtual-rack run.  As root.
#
# A 2-node rack; on node1 a domain "Bench" (the test guest, paused while
# measuring) with a 256 MiB file: disk replicated to node2.  In
# node1's Dom0, xenrack-diskbench (bench/diskbench.c) writes with O_DIRECT |
# O_DSYNC, as a guest's synchronous writes reach blkback:
#   replicated    /dev/drbdN, connected to node2 (protocol C)
#   DRBD alone    the same device with node2 disconnected
#   unreplicated  the same file through the same kind of loop device
#                 (direct I/O), after the domain and its resource are gone
# Then the ratio of each figure.  RACK_KEEP=1 reuses a rack that is up
# (and leaves it up).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rack=$top/tests/integration/rack.sh
MIB=${BENCH_MIB:-64}
IMG=/var/lib/xenrack/bench.img
on() { "$rack" ctl node1 "$*"; }

if [ -z "${RACK_KEEP:-}" ]; then
	"$rack" down >/dev/null 2>&1 || true
	trap '"$rack" down >/dev/null 2>&1' EXIT
	"$rack" up 2 >/dev/null
fi
url=http://10.99.0.1:8080/images
cfg=$(printf '%s\n' 'name = "Bench"' 'memory = 128' \
	'kernel = "/var/lib/xenrack/guest/vmlinuz"' \
	'ramdisk = "/var/lib/xenrack/guest/guest-initrd.img"' \
	"disk = [ 'file:$IMG,xvdb,w' ]" 'extra = "console=hvc0"' | base64 -w0)
on "mkdir -p /var/lib/xenrack/guest &&
	wget -q -O /var/lib/xenrack/guest/vmlinuz $url/vmlinuz &&
	wget -q -O /var/lib/xenrack/guest/guest-initrd.img $url/guest-initrd.img &&
	rm -f $IMG && truncate -s 256M $IMG && echo $cfg | base64 -d >/tmp/Bench.cfg" >/dev/null
"$rack" ctl node2 "rm -f $IMG" >/dev/null
on "clusterctl create --peer node2 /tmp/Bench.cfg" >&2
for _ in $(seq 120); do
	on "clusterctl disks Bench" | grep -q 'Primary *UpToDate$' && break
	sleep 2
done
on "clusterctl disks Bench" >&2
dev=$(on "clusterctl disks --json Bench" | sed -n 's/.*"minor": *\([0-9]*\).*/\/dev\/drbd\1/p')
[ -n "$dev" ] || { echo "bench: no DRBD device for Bench" >&2; exit 1; }

# A paused guest leaves Dom0 the CPUs and cannot be upset by the load.
on "clusterctl pause Bench" >&2
echo "== replicated: $dev (node1 -> node2, protocol C)"
repl=$(on "/usr/libexec/xenrack/diskbench $dev $MIB")
echo "$repl"
# The same device with the peer disconnected: what DRBD costs locally
# (activity log, bitmap), without the network and the peer's disk.
res=$(on "clusterctl disks --json Bench" | sed -n 's/.*"resource": *"\([^"]*\)".*/\1/p')
echo "== DRBD alone: $dev, $res disconnected from node2"
alone=$(on "drbdadm disconnect $res && /usr/libexec/xenrack/diskbench $dev $MIB; drbdadm connect $res")
echo "$alone"
on "clusterctl destroy Bench && sleep 2 && clusterctl delete Bench" >&2
echo "== unreplicated: $IMG on a direct-I/O loop device"
plain=$(on "l=\$(/usr/sbin/losetup --find --show --direct-io=on $IMG) && /usr/libexec/xenrack/diskbench \$l $MIB; losetup -d \$l")
echo "$plain"
on "rm -f $IMG" >/dev/null
"$rack" ctl node2 "rm -f $IMG" >/dev/null

field() { echo "$1" | awk -v p="$2" -v k="$3" '$1 == p { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }'; }
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }'; }
printf '%-5s %-8s %13s %13s %13s %8s %8s\n' pass figure unreplicated "DRBD alone" replicated \
	alone/un repl/un
for p in seq rand; do
	for k in MiB/s p50_us p99_us; do
		a=$(field "$plain" $p $k) m=$(field "$alone" $p $k) b=$(field "$repl" $p $k)
		printf '%-5s %-8s %13s %13s %13s %8s %8s\n' $p $k "$a" "$m" "$b" \
			"$(ratio "$a" "$m")" "$(ratio "$a" "$b")"
	done
done
echo "(ratios to unreplicated: throughput below 1 and latency above 1 are the cost;"
echo " alone/un is DRBD's local bookkeeping, repl/un adds the network and node2's disk)"
