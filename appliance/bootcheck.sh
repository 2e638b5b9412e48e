#!/bin/bash
# appliance/bootcheck.sh - boot the built node image in QEMU (TCG, no PXE,
# no network) and wait for "xenrack: node NAME ready" on the serial console.
#
# usage: appliance/bootcheck.sh [-o IMGDIR] [-l LOG] [-t SECONDS] [-n NAME] [-g] [-0]
#   -o IMGDIR   the images (default build/appliance of this clone)
#   -l LOG      serial log (default build/appliance-boot.log)
#   -t SECONDS  give up after this long (default 400)
#   -n NAME     node name, passed as xenrack.node=NAME (default node1)
#   -g          then, in Dom0, create the test guest with clusterctl from a
#               second disk, show its console, ping it, destroy it
#   -0          no NIC at all (default: one virtio NIC on QEMU's user network
#               with restrict=on, for DHCP only: nothing leaves the machine)
# Exit status 0 when the node (and with -g the guest) came up.
# Environment: BOOTCHECK_GUEST_EXTRA="guest.dirty=16" adds guest parameters;
# BOOTCHECK_TRACE=1 traces the Xen hotplug scripts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

img=$top/build/appliance
logf=$top/build/appliance-boot.log
limit=400 node=node1 guest= nic=(-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0)
while getopts o:l:t:n:g0h opt; do
	case $opt in
	o) img=$OPTARG ;;
	l) logf=$OPTARG ;;
	t) limit=$OPTARG ;;
	n) node=$OPTARG ;;
	g) guest=1 ;;
	0) nic=(-nic none) ;;
	h) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "usage: $0 [-o IMGDIR] [-l LOG] [-t SECONDS] [-n NAME] [-g] [-0]" ;;
	esac
done
for f in xen vmlinuz initrd.img; do
	[ -s "$img/$f" ] || die "$img/$f missing: run make appliance"
done
command -v qemu-system-x86_64 >/dev/null || { need_root; ensure_host_pkgs qemu-system-x86; }

tmp=$(mktemp -d /tmp/xenrack-bootcheck.XXXXXX)
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	exec 3>&- 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# /dev/vda: an empty data disk, formatted by the node's init.
truncate -s 256M "$tmp/data.img"
drives=(-drive "file=$tmp/data.img,if=virtio,format=raw")
if [ -n "$guest" ]; then
	[ -s "$img/guest-initrd.img" ] || die "$img/guest-initrd.img missing"
	mkdir "$tmp/g"
	cp "$img/vmlinuz" "$img/guest-initrd.img" "$tmp/g/"
	truncate -s 16M "$tmp/g/tick.img"
	cat >"$tmp/g/tick.cfg" <<-EOF
	# The xenrack test guest (appliance/guest-init).
	name = "tick"
	kernel = "/mnt/vmlinuz"
	ramdisk = "/mnt/guest-initrd.img"
	extra = "console=hvc0 guest.ip=10.99.0.50${BOOTCHECK_GUEST_EXTRA:+ $BOOTCHECK_GUEST_EXTRA}"
	memory = 128
	disk = [ 'file:/mnt/tick.img,xvda,w' ]
	vif = [ 'mac=00:16:3e:00:00:50, bridge=bridge0' ]
	EOF
	mkfs.ext4 -q -F -d "$tmp/g" "$tmp/vdb.img" 256M
	drives+=(-drive "file=$tmp/vdb.img,if=virtio,format=raw")
fi

mkfifo "$tmp/in"
exec 3<>"$tmp/in"
: >"$logf"
t0=$(date +%s.%N)
qemu-system-x86_64 -machine pc -cpu max,-smap,-smep,-fsgsbase,-avx,-avx2,-fma,-f16c,-vaes,-vpclmulqdq,-xsavec,-xsaves -m 2048 -smp 2 \
	-nographic -no-reboot "${nic[@]}" "${drives[@]}" \
	-kernel "$img/xen" \
	-append "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M" \
	-initrd "$img/vmlinuz console=hvc0 xenrack.node=$node,$img/initrd.img" \
	<&3 >"$logf" 2>&1 &
qpid=$!
log "QEMU pid $qpid, serial log $logf"

# wait_for REGEX SECONDS: until the log matches, QEMU dies or time is up.
wait_for() {
	local end=$(( $(date +%s) + $2 ))
	while ! grep -qaE "$1" "$logf"; do
		kill -0 "$qpid" 2>/dev/null || { log "QEMU exited"; return 1; }
		[ "$(date +%s)" -lt "$end" ] || { log "timed out waiting for /$1/"; return 1; }
		sleep 1
	done
}
# type LINE: type a line on the Dom0 console.
type_line() { printf '%s\r' "$1" >&3; sleep 1; }

rc=0
if wait_for "xenrack: node $node ready" "$limit"; then
	t1=$(date +%s.%N)
	log "node $node ready $(echo "$t1 - $t0" | bc 2>/dev/null || awk "BEGIN{print $t1 - $t0}") s after QEMU start"
else
	rc=1
fi

if [ "$rc" = 0 ] && [ -n "$guest" ]; then
	sleep 3
	type_line ''
	type_line 'mount /dev/vdb /mnt && ip addr add 10.99.0.1/24 dev bridge0; echo MOUNT-RC=$?'
	# BOOTCHECK_TRACE=1: trace the hotplug scripts (into /var/log/xen/xen-hotplug.log).
	if [ -n "${BOOTCHECK_TRACE:-}" ]; then
		type_line 'for s in block vif-bridge; do sed -i "1a set -x" /etc/xen/scripts/$s; done'
	fi
	type_line 'clusterctl create /mnt/tick.cfg; echo CREATE-RC=$?'
	if wait_for 'CREATE-RC=[0-9]' 300 && grep -qa 'CREATE-RC=0' "$logf"; then
		type_line 'sleep 25; clusterctl list; xl list'
		sleep 40
		type_line 'timeout 8 clusterctl console tick; echo; echo CONSOLE""-DONE'
		wait_for 'CONSOLE-DONE' 60 || true
		type_line 'ping -c 3 -W 5 10.99.0.50; echo PING-RC=$?'
		wait_for 'PING-RC=[0-9]' 60 || true
		type_line 'clusterctl destroy tick; echo DESTROY-RC=$?'
		wait_for 'DESTROY-RC=[0-9]' 60 || true
		grep -qa 'xenrack-guest tick=' "$logf" || { log "guest console showed no tick"; rc=1; }
		grep -qa 'PING-RC=0' "$logf" || { log "guest did not answer ping"; rc=1; }
	else
		log "clusterctl create failed"
		rc=1
	fi
	[ -n "${BOOTCHECK_TRACE:-}" ] && type_line 'grep -v -E "^\++ [A-Z_]+=" /var/log/xen/xen-hotplug.log | head -120'
	type_line 'logread | tail -60; echo LOGS""-DONE'
	wait_for 'LOGS-DONE' 30 || true
fi
type_line 'poweroff -f' 2>/dev/null || true
exit $rc
