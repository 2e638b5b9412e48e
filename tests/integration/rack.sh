#!/usr/bin/env bash
# rack.sh - the virtual rack: N QEMU nodes that PXE-boot the appliance from
# bootd, all inside one network namespace.  As root.
#
#   rack.sh up [N]          boot N nodes (default 2) and wait until ready
#   rack.sh ctl NODE CMD..  run a shell command in NODE's Dom0
#   rack.sh wait NODE RE [S] wait until NODE's serial log matches RE
#   rack.sh console NODE    attach to NODE's serial console (Ctrl-] leaves)
#   rack.sh down            stop everything and remove the namespace
#
# Nothing leaves the namespace: the bridge, bootd, dnsmasq and the nodes'
# taps all live in it, and the bridge has no uplink.
#
# Knobs (environment): RACK_WATCHDOG (W, 30), RACK_TOKEN (corosync token,
# 5000 ms), RACK_COROSYNC=0 (no corosync), RACK_NODE_CPUS (1), RACK_NODE_MEM
# (2048 MiB), RACK_CPU (QEMU -cpu, see CPU below), RACK_DOM0_ARGS (more
# Dom0 kernel parameters), RACK_CTL_TIMEOUT / RACK_CTL_ACK / RACK_CTL_TRIES
# (ctl, below).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
NS=${RACK_NS:-xrlab}
LAB=${RACK_DIR:-$top/build/lab}
IMAGES=$top/build/appliance
NET=10.99.0
PORT=8080
NODE_MEM=${RACK_NODE_MEM:-2048}
# No XSAVE at all (Xen then saves vCPU state with FXSAVE), nor FSGSBASE or
# AVX: with XSAVE, Xen PV domains under QEMU 7.2's TCG now and then found
# their SSE registers changed across a context switch.  That was every
# "memory corruption" seen in the rack: a guest's busybox dying in malloc,
# clusterd's heap, and TLS records failing their MAC between Dom0s, which
# a migration stream (AES-GCM on every byte, while other processes run)
# hit within its first 2 MiB every time.  Without XSAVE: none (docs/ha.md,
# docs/migration.md).
CPU=${RACK_CPU:-max,-smap,-smep,-fsgsbase,-avx,-avx2,-fma,-f16c,-vaes,-vpclmulqdq,-xsave,-xsaveopt,-xsavec,-xsaves}
BOOT_TIMEOUT=${RACK_BOOT_TIMEOUT:-900}

die() { echo "rack: $*" >&2; exit 1; }
log() { echo "rack: $*" >&2; }
mac_of() { printf '52:54:00:99:00:%02x' "$1"; }
ip_of() { echo "$NET.$((10 + $1))"; }

in_ns() { ip netns exec "$NS" "$@"; }

up() {
	local n=${1:-2} i
	[ "$(id -u)" -eq 0 ] || die "the virtual rack needs root (network namespaces, taps)"
	for f in xen vmlinuz initrd.img; do
		[ -s "$IMAGES/$f" ] || die "$IMAGES/$f missing: run 'make appliance' first"
	done
	[ -x "$top/build/bootd" ] || die "build/bootd missing: run 'make' first"
	ip netns list | grep -qw "$NS" && die "namespace $NS exists: run 'rack.sh down' first"
	rm -rf "$LAB"
	mkdir -p "$LAB"
	echo "$n" >"$LAB/nodes"

	ip netns add "$NS"
	in_ns ip link set lo up
	in_ns ip link add br0 type bridge stp_state 0 forward_delay 0
	in_ns ip addr add "$NET.1/24" dev br0
	in_ns ip link set br0 up

	{
		echo "# the virtual rack, written by tests/integration/rack.sh"
		# W = 30 s: under TCG a loaded host can stall a Dom0 for more than
		# the default 10 s, and Xen then resets a healthy node (seen).
		# RACK_COROSYNC=0 boots the nodes without corosync.
		echo "dom0-args console=hvc0 xenrack.watchdog=${RACK_WATCHDOG:-30}$([ "${RACK_COROSYNC:-1}" = 1 ] || echo " xenrack.corosync=0")${RACK_DOM0_ARGS:+ $RACK_DOM0_ARGS}"
		for i in $(seq "$n"); do echo "node$i $(mac_of "$i") $(ip_of "$i")"; done
	} >"$LAB/inventory"
	# The test guest is served beside the appliance for the lab to fetch.
	# Not through in_ns: $! must be bootd itself (ip netns exec execs it).
	# corosync-qnetd: the boot host's vote for an even-sized rack (docs/ha.md),
	# with a /run of its own so that it leaves nothing on the host.
	ip netns exec "$NS" unshare -m sh -c \
		'mount -t tmpfs tmpfs /run && mkdir -p /run/corosync-qnetd && exec corosync-qnetd -f -4 -s off -l "$1"' \
		qnetd "$NET.1" >"$LAB/qnetd.log" 2>&1 &
	echo $! >"$LAB/qnetd.pid"
	ip netns exec "$NS" "$top/build/bootd" --inventory "$LAB/inventory" --images "$IMAGES" \
		--state "$LAB/bootd" --listen "$NET.1" --port "$PORT" --interface br0 --qnetd "$NET.1" \
		--token "${RACK_TOKEN:-5000}" \
		${RACK_BOOTD_ARGS:-} \
		>"$LAB/bootd.log" 2>&1 &
	echo $! >"$LAB/bootd.pid"

	for i in $(seq "$n"); do
		in_ns ip tuntap add "tap$i" mode tap
		in_ns ip link set "tap$i" master br0 up
		truncate -s 4G "$LAB/node$i-data.img"
		# One CPU a node: with two, Dom0 memory got corrupted now and
		# then, mostly right after a domain was created (segfaults,
		# TLS records failing their MAC, garbled IPC): most likely
		# cross-CPU TLB flushes of nested Xen PV under TCG.  Neither
		# thread=single, -pcid nor xpti=false helped; one CPU did.
		in_ns qemu-system-x86_64 -name "node$i" -machine pc -accel tcg \
			-cpu "$CPU" -m "$NODE_MEM" -smp "${RACK_NODE_CPUS:-1}" \
			-display none -monitor none \
			-chardev "socket,id=ser0,path=$LAB/node$i.console,server=on,wait=off,logfile=$LAB/node$i.serial" \
			-serial chardev:ser0 \
			-boot n,reboot-timeout=5000 -netdev "tap,id=net0,ifname=tap$i,script=no,downscript=no" \
			-device "virtio-net-pci,netdev=net0,mac=$(mac_of "$i")" \
			-drive "file=$LAB/node$i-data.img,if=virtio,format=raw" \
			-device virtio-serial-pci \
			-chardev "socket,id=lab,path=$LAB/node$i.lab,server=on,wait=off" \
			-device virtserialport,chardev=lab,name=xenrack.lab \
			-pidfile "$LAB/node$i.pid" -daemonize
		log "node$i: powered on ($(mac_of "$i"), $(ip_of "$i"))"
	done
	for i in $(seq "$n"); do
		wait_log "node$i" "xenrack: node node$i ready" "$BOOT_TIMEOUT" ||
			die "node$i did not become ready in ${BOOT_TIMEOUT}s; see $LAB/node$i.serial"
		log "node$i: ready"
	done
}

# wait_log NODE REGEX SECONDS
wait_log() {
	local node=$1 re=$2 secs=${3:-300} end=$((SECONDS + ${3:-300}))
	while [ $SECONDS -lt $end ]; do
		grep -qE "$re" "$LAB/$node.serial" 2>/dev/null && return 0
		local pid
		pid=$(cat "$LAB/$node.pid" 2>/dev/null) || true
		[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && { log "$node: QEMU has exited"; return 1; }
		sleep 2
	done
	return 1
}

# ctl NODE COMMAND...: run COMMAND in NODE's Dom0; its output and status.
# The agent acknowledges a command at once (appliance/lab-agent); one not
# acknowledged within RACK_CTL_ACK seconds is sent again, up to
# RACK_CTL_TRIES times in all (the agent runs an ID once).  A command may
# run for RACK_CTL_TIMEOUT seconds.
ctl() {
	local node=$1; shift
	local sock=$LAB/$node.lab id=$$.$RANDOM line rc= got= try wait
	local ack=${RACK_CTL_ACK:-30} msg
	[ -S "$sock" ] || die "$node: no management socket $sock (is the rack up?)"
	msg="$id $(printf '%s' "$*" | base64 -w0)"
	for try in $(seq "${RACK_CTL_TRIES:-3}"); do
		coproc AGENT { exec socat -t 900 - "UNIX-CONNECT:$sock"; }
		apid=$AGENT_PID		# bash unsets AGENT_PID when the coproc ends
		# The node serves one connection at a time: never leave ours behind.
		trap 'kill "${apid:-}" 2>/dev/null || true' EXIT
		printf '%s\n' "$msg" >&"${AGENT[1]}"
		wait=$ack
		while IFS= read -r -t "$wait" line <&"${AGENT[0]}"; do
			line=${line%$'\r'}
			case $line in
			"@@xenrack-got $id") got=1; wait=${RACK_CTL_TIMEOUT:-900} ;;
			"@@xenrack-done $id rc="*) rc=${line##*rc=}; break ;;
			@@xenrack-got*|@@xenrack-done*) ;;	# an earlier command's
			*) [ -n "$got" ] && printf '%s\n' "$line" ;;
			esac
		done
		kill "$apid" 2>/dev/null || true
		wait "$apid" 2>/dev/null || true
		[ -n "$rc" ] && return "$rc"
		[ -n "$got" ] && die "$node: the lab agent took the command but did not answer in ${RACK_CTL_TIMEOUT:-900} s"
		[ "$try" -lt "${RACK_CTL_TRIES:-3}" ] &&
			log "$node: the lab agent did not acknowledge command $id in $ack s; sending it again"
	done
	die "$node: no answer from the lab agent"
}

down() {
	local f pid
	for f in "$LAB"/node*.pid "$LAB"/bootd.pid "$LAB"/qnetd.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$f"
	done
	if ip netns list | grep -qw "$NS"; then
		# Anything still in the namespace is ours: say so, then stop it.
		for pid in $(ip netns pids "$NS"); do
			log "stopping leftover process $pid ($(cat /proc/$pid/comm 2>/dev/null))"
			kill "$pid" 2>/dev/null || true
		done
		ip netns delete "$NS"
	fi
	rm -f "$LAB"/*.img
	log "down: namespace $NS, taps, bootd and QEMU nodes are gone"
}

cmd=${1:-}
shift || true
case $cmd in
up) up "$@" ;;
ctl) [ $# -ge 2 ] || die "usage: rack.sh ctl NODE COMMAND..."; ctl "$@" ;;
wait) [ $# -ge 2 ] || die "usage: rack.sh wait NODE REGEX [SECONDS]"; wait_log "$@" ;;
console) [ $# -eq 1 ] || die "usage: rack.sh console NODE"
	exec socat -,raw,echo=0,escape=0x1d "UNIX-CONNECT:$LAB/$1.console" ;;
down) down ;;
*) echo "usage: rack.sh up [N] | ctl NODE CMD... | wait NODE RE [S] | console NODE | down" >&2; exit 2 ;;
esac
