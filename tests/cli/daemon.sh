#!/usr/bin/env bash
# clusterctl against a real clusterd process on the simulated hypervisor:
# the commands, their output, exit codes, and the console relay.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pass=0 fail=0 dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

export XENRACK_SOCKET=$tmp/clusterd.sock
ctl() { "$top/build/clusterctl" "$@"; }

# expect RC CMD... : run, keep stdout/stderr in $tmp/out, $tmp/err
expect() {
	local want=$1; shift
	ctl "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
	if [ "$rc" -eq "$want" ]; then ok; else
		bad "clusterctl $*: exit $rc, expected $want"; cat "$tmp/out" "$tmp/err"
	fi
}
has() {	# has FILE TEXT
	if grep -qF -- "$2" "$tmp/$1"; then ok; else bad "$1 lacks '$2'"; cat "$tmp/$1"; fi
}

# No daemon yet: a clear error, exit 1.
expect 1 list
has err "cannot reach clusterd at $tmp/clusterd.sock"

"$top/build/clusterd" --hv sim -n node1 2>"$tmp/clusterd.log" &
dpid=$!
for _ in $(seq 50); do [ -S "$XENRACK_SOCKET" ] && break; sleep 0.1; done

# A second clusterd on the same socket refuses to start.
"$top/build/clusterd" --hv sim 2>"$tmp/err2"; rc=$?
[ $rc -ne 0 ] && grep -q "already serving" "$tmp/err2" && ok || bad "second clusterd started (rc $rc)"

# A client that sends half a header and stalls holds up nobody, and is
# dropped after the request deadline (5 s).
(printf 'XRCT'; sleep 8) | socat - "UNIX-CONNECT:$XENRACK_SOCKET" >/dev/null 2>&1 &
slow=$!
sleep 0.5
t0=$(date +%s%N)
expect 0 list
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -lt 2000 ] && ok || bad "list took $ms ms beside a stalled client"
for _ in $(seq 80); do grep -q 'sent 4 bytes of a request' "$tmp/clusterd.log" && break; sleep 0.1; done
grep -q 'sent 4 bytes of a request and then nothing for 5000 ms; dropped' "$tmp/clusterd.log" &&
	ok || bad "stalled client not dropped"
kill $slow 2>/dev/null; wait $slow 2>/dev/null

# The seed's config with only the paths changed.
: >"$tmp/vmlinuz"; truncate -s 64M "$tmp/nbsd-disk"
sed -e "s|/netbsd-XEN2_DOMU|$tmp/vmlinuz|" \
    -e "s|^disk = \[ 'phy:/dev/wd0e,wd0d,w' \]|disk = [ 'file:$tmp/nbsd-disk,wd0d,w' ]|" \
    "$top/tests/golden/good/xmexample1.cfg" >"$tmp/NetBSD.cfg"

expect 0 create "$tmp/NetBSD.cfg"
has out "Started domain NetBSD (id 1) on node1"
expect 0 list
has out "Name                        ID Mem(MB) VCPUs  State   Time(s)  Node"
has out "Domain-0                     0     512     1 r-----"
has out "NetBSD                       1     128     1 -b----"
expect 0 list --json
has out '"name": "NetBSD"'
has out '"node": "node1"'
expect 1 create "$tmp/NetBSD.cfg"
has err "domain 'NetBSD' already exists (id 1) on node1"

# A bad config: its errors with file:line:col, nothing created.
printf 'name = "Other"\nkernel = "%s"\ndisk = [ "phy:/dev/wd0e,wd0d" ]\nfoo = 1\n' \
	"$tmp/vmlinuz" >"$tmp/bad.cfg"
expect 1 create "$tmp/bad.cfg"
has err "$tmp/bad.cfg:3:29: error: disk 'phy:/dev/wd0e,wd0d': mode missing, expected r or w"
has err "$tmp/bad.cfg:4:1: warning: unknown key 'foo' ignored"
has err "clusterctl: $tmp/bad.cfg: 1 error in the config"
expect 0 list
if grep -q Other "$tmp/out"; then bad "bad config created a domain"; else ok; fi

expect 0 pause NetBSD
has out "Paused NetBSD"
expect 1 pause NetBSD
has err "domain 'NetBSD' is already paused"
expect 0 list
has out "--p---"
expect 0 unpause NetBSD

# Console: the banner arrives, Ctrl-] leaves.
mkfifo "$tmp/in"
ctl console NetBSD <"$tmp/in" >"$tmp/console" 2>&1 &
cpid=$!
exec 9>"$tmp/in"
for _ in $(seq 50); do grep -q booting "$tmp/console" 2>/dev/null && break; sleep 0.1; done
printf '\035' >&9
exec 9>&-
for _ in $(seq 100); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$cpid" 2>/dev/null; then
	bad "console did not leave on Ctrl-]"; kill "$cpid"
elif wait "$cpid"; then ok; else bad "console exit status"; fi
has console "[sim] domain NetBSD (id 1) booting"

expect 0 shutdown -w NetBSD
has out "Domain NetBSD has shut down"
expect 1 destroy NetBSD
has err "no domain named 'NetBSD' on node1"
expect 1 destroy Domain-0
has err "refusing to destroy Domain-0"

# Usage errors exit 2.
expect 2 pause
expect 2 pause a b
expect 2 list --bogus
expect 2 create
expect 2 nosuchcommand
expect 0 help
has out "console"

kill "$dpid"; wait "$dpid" 2>/dev/null; dpid=
[ -e "$XENRACK_SOCKET" ] && bad "socket left behind" || ok
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
