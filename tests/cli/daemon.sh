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

"$top/build/clusterd" --hv sim -n node1 --cert-dir "$tmp" --state-dir "$tmp" 2>"$tmp/clusterd.log" &
dpid=$!
for _ in $(seq 50); do [ -S "$XENRACK_SOCKET" ] && break; sleep 0.1; done

# A second clusterd on the same socket refuses to start.
"$top/build/clusterd" --hv sim --cert-dir "$tmp" --state-dir "$tmp" 2>"$tmp/err2"; rc=$?
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

# Disks (storage): this clusterd has no node.json, a cluster of one node,
# so nothing is replicated; records live in $tmp/storage.
truncate -s 8M "$tmp/disky.img"
printf 'name = "Disky"\nkernel = "%s"\nmemory = 64\ndisk = [ "file:%s/disky.img,xvda,w" ]\n' \
	"$tmp/vmlinuz" "$tmp" >"$tmp/disky.cfg"
nostate() {	# nostate WHY: no record of Disky, no domain Disky
	if ls "$tmp/storage"/xr-Disky-* >/dev/null 2>&1; then bad "$1: a record was left"; else ok; fi
	ctl list >"$tmp/out" 2>&1
	if grep -q Disky "$tmp/out"; then bad "$1: domain Disky exists"; else ok; fi
}
expect 1 create --peer node2 "$tmp/disky.cfg"
has err "clusterctl: --peer node2: not a node of this cluster (a cluster of one node)"
nostate "create --peer node2"
expect 1 create --peer=node2 "$tmp/disky.cfg"
has err "--peer node2: not a node of this cluster (a cluster of one node)"
expect 1 create --peer node1 "$tmp/disky.cfg"
has err "--peer node1: that is this node; a replica must be on another node"
nostate "create --peer node1"
expect 2 create --peer
has err "--peer needs a NODE (or none)"
expect 2 create "$tmp/disky.cfg" --peer
expect 2 create --peer "" "$tmp/disky.cfg"
nostate "create --peer without a value"
[ "$(stat -c %s "$tmp/disky.img")" = 8388608 ] && ok || bad "disky.img changed size"

expect 0 create --peer none "$tmp/disky.cfg"
has out "Started domain Disky (id "
has out "xvda   file:$tmp/disky.img"
has out "unreplicated"
[ -f "$tmp/storage/xr-Disky-xvda.json" ] && ok || bad "no record of Disky's disk"
[ "$(stat -c %s "$tmp/disky.img")" = 8388608 ] && ok || bad "an unreplicated disk grew"
expect 0 disks
has out "Domain           Disk   Backend"
if grep -E "^Disky +xvda +file:$tmp/disky.img +- +- +unreplicated$" "$tmp/out" >/dev/null
then ok; else bad "disks: no unreplicated line for Disky"; cat "$tmp/out"; fi
expect 0 disks Disky
has out "unreplicated"
if grep -q NetBSD "$tmp/out"; then bad "disks Disky lists NetBSD"; else ok; fi
expect 0 list -l
# The disk line comes right under its domain, indented.
if grep -A1 '^Disky ' "$tmp/out" | tail -1 |
	grep -E "^    xvda +file:$tmp/disky.img +.*unreplicated$" >/dev/null
then ok; else bad "list -l: no disk line under Disky"; cat "$tmp/out"; fi
if grep -A1 '^Domain-0 ' "$tmp/out" | tail -1 | grep -q '^    '; then
	bad "list -l: a disk line under Domain-0"; else ok; fi
expect 0 list
if grep -q "^    xvda" "$tmp/out"; then bad "list without -l shows disks"; else ok; fi
expect 0 disks --json
if command -v jq >/dev/null; then
	jq -e 'type == "array"' "$tmp/out" >/dev/null && ok || bad "disks --json: not a JSON array"
	[ "$(jq -r '.[] | select(.domain == "Disky") | "\(.vdev) \(.kind) \(.disk) \(.size) \(.state)"' \
		"$tmp/out")" = "xvda file $tmp/disky.img 8388608 unreplicated" ] &&
		ok || { bad "disks --json: Disky's disk"; cat "$tmp/out"; }
else
	python3 -m json.tool "$tmp/out" >/dev/null && ok || bad "disks --json: not JSON"
fi
has out "\"disk\": \"$tmp/disky.img\""
expect 0 list -l --json
has out '"disks": ['

# A running domain's disks stay; a stopped one's go, its data file stays.
expect 1 delete Disky
has err "domain 'Disky' is running (id "
has err "shut it down first"
[ -f "$tmp/storage/xr-Disky-xvda.json" ] && ok || bad "delete of a running domain removed its record"
expect 0 destroy Disky
expect 0 delete Disky
has out "Deleted the disk resources of Disky"
[ -e "$tmp/storage/xr-Disky-xvda.json" ] && bad "record left after delete" || ok
[ -f "$tmp/disky.img" ] && ok || bad "delete removed the data file"
expect 0 disks
if grep -q Disky "$tmp/out"; then bad "disks still lists Disky"; cat "$tmp/out"; else ok; fi
expect 1 delete Disky
has err "domain 'Disky' has no disks recorded on node1"
expect 1 delete NoSuch
has err "domain 'NoSuch' has no disks recorded on node1"
expect 2 delete
expect 2 disks a b
# Created again after delete: a fresh record.
expect 0 create "$tmp/disky.cfg"
has out "unreplicated"
expect 0 destroy Disky
expect 0 delete Disky

kill "$dpid"; wait "$dpid" 2>/dev/null; dpid=
[ -e "$XENRACK_SOCKET" ] && bad "socket left behind" || ok
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
