# lib.sh - what the rack scenario scripts share: running a command in a
# node's Dom0 and counting checks.  Sourced; sets $here, $rack, $LAB, $out.
rack=$here/rack.sh
LAB=${RACK_DIR:-$(cd "$here/../.." && pwd)/build/lab}
pass=0 fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

ok()  { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; sed 's/^/  | /' "$out" | tail -20; }

# on NODE EXPECTED_RC CMD: run CMD in NODE's Dom0, output in $out
on() {
	local node=$1 want=$2; shift 2
	"$rack" ctl "$node" "$*" >"$out" 2>&1; local rc=$?
	[ "$rc" -eq "$want" ] && return 0
	echo "  ($node: '$*' exited $rc, expected $want)" >>"$out"
	return 1
}
has() { grep -qE -- "$1" "$out"; }
# until_on NODE SECONDS CMD: retry CMD until it succeeds
until_on() {
	local node=$1 secs=$2 end; shift 2
	end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do on "$node" 0 "$@" && return 0; sleep 3; done
	return 1
}
# disk_is NODE REGEX: NetBSD's disk line in `clusterctl disks` matches
disk_is() { on "$1" 0 "clusterctl disks NetBSD" && has "^NetBSD +xvda .*$2"; }
# until_disk NODE SECONDS REGEX
until_disk() {
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do disk_is "$1" "$3" && return 0; sleep 2; done
	return 1
}
# seq_on NODE: NetBSD's last sequence number seen on its console (a loaded
# node may show nothing in 3 s: it is asked again, for up to 30 s)
seq_on() {
	local end=$((SECONDS + 30)) s=
	while [ $SECONDS -lt $end ]; do
		on "$1" 0 "timeout 3 clusterctl console NetBSD | grep -o 'seq=[0-9]*' | tail -1" &&
			s=$(sed -n 's/^seq=//p' "$out" | tail -1)
		[ -n "$s" ] && { echo "$s"; return 0; }
	done
	return 1
}
state_of() { on "$1" 0 "clusterctl list" && awk -v n="$2" '$1 == n { print $5 }' "$out"; }

# finish WHAT: the tally; on a failure, the end of each node's serial log
# (clusterd's log and the kernel's), and from each node that still answers
# Xen's log and the end of every guest console log, so that a CI log says
# what happened.
finish() {
	echo "$1 took $((SECONDS - t0)) s"
	echo "$pass passed, $fail failed"
	[ $fail -eq 0 ] && return 0
	local f node
	for f in "$LAB"/node*.serial; do
		echo "---- the last 40 lines of $f ----"
		tail -n 40 "$f" | tr -d '\r' | sed 's/\x1b\[[0-9;]*[a-zA-Z]//g'
		node=$(basename "$f" .serial)
		echo "---- $node: xl dmesg (end) and guest consoles (end) ----"
		RACK_CTL_ACK=15 RACK_CTL_TRIES=1 RACK_CTL_TIMEOUT=30 "$rack" ctl "$node" 'xl dmesg | tail -n 15
			for g in /var/lib/xenrack/console/guest-*.log; do
				[ -f "$g" ] && echo "-- $g" && tail -n 15 "$g"
			done' 2>&1 | tr -d '\r'
	done
	return 1
}
