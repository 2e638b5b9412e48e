#!/usr/bin/env bash
# bootd + dnsmasq answering a real DHCP client (dhclient) in network
# namespaces: the inventory address and boot file for a PXE ROM, TFTP of
# iPXE, the HTTP boot file for an iPXE client, enrolment from the node's own
# address, the pool and message for an unknown MAC, and dnsmasq's lifetime
# tied to bootd's.  Needs root, dnsmasq, dhclient, ipxe, curl.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bootd=$top/build/bootd enrol=$top/build/xenrack-enrol
tmp=$(mktemp -d)
S=xrpxe-s-$$ N=xrpxe-n-$$
pass=0 fail=0 pid=
stop() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
	pid=
}
cleanup() {
	stop
	ip netns pids "$N" 2>/dev/null | while read -r p; do kill "$p"; done
	ip netns del "$N" 2>/dev/null
	ip netns del "$S" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
inS() { ip netns exec "$S" "$@"; }
inN() { ip netns exec "$N" "$@"; }

if [ "$(id -u)" != 0 ]; then echo "dhcp.sh: needs root; skipped"; echo "0 passed, 0 failed"; exit 0; fi
for p in dnsmasq dhclient curl; do
	command -v $p >/dev/null || { echo "dhcp.sh: $p missing"; echo "0 passed, 1 failed"; exit 1; }
done
[ -f /usr/lib/ipxe/undionly.kpxe ] || { echo "dhcp.sh: package ipxe missing"; echo "0 passed, 1 failed"; exit 1; }

ip netns add "$S" && ip netns add "$N" || exit 1
ip link add xrpxe-s type veth peer name xrpxe-n
ip link set xrpxe-s netns "$S"
ip link set xrpxe-n netns "$N"
inS ip addr add 10.99.0.1/24 dev xrpxe-s
inS ip link set xrpxe-s up
inS ip link set lo up
inN ip link set lo up
inN ip link set xrpxe-n address 52:54:00:00:00:01
inN ip link set xrpxe-n up

mkdir -p "$tmp/img"
printf 'cluster rack1\nnode1 52:54:00:00:00:01 10.99.0.11\nnode2 52:54:00:00:00:02 10.99.0.12\n' >"$tmp/rack.inv"
printf 'xen\n' >"$tmp/img/xen"; printf 'kernel\n' >"$tmp/img/vmlinuz"; printf 'initrd\n' >"$tmp/img/initrd.img"

start() {
	ip netns exec "$S" "$bootd" --inventory "$tmp/rack.inv" --images "$tmp/img" --state "$tmp/state" \
		--interface xrpxe-s --port 8080 --dhcp-range 10.99.0.200,10.99.0.210 \
		>"$tmp/log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		grep -q "started DHCP" "$tmp/log" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	bad "bootd/dnsmasq did not start"; cat "$tmp/log"; return 1
}
# lease [USERCLASS]: one DHCP exchange from the node namespace; the lease in $tmp/lease
lease() {
	{ echo "timeout 15; retry 1;"; [ -n "${1:-}" ] && echo "send user-class \"$1\";"; } >"$tmp/dhclient.conf"
	rm -f "$tmp/lease"
	inN dhclient -1 -4 -sf /bin/true -cf "$tmp/dhclient.conf" -lf "$tmp/lease" \
		-pf "$tmp/dhclient.pid" xrpxe-n >"$tmp/dhclient.out" 2>&1
	inN dhclient -x -pf "$tmp/dhclient.pid" -lf "$tmp/lease" xrpxe-n >/dev/null 2>&1
	grep -q fixed-address "$tmp/lease" || { cat "$tmp/dhclient.out"; return 1; }
}
field() { sed -n "s/^ *$1 \"\{0,1\}\([^\";]*\)\"\{0,1\};/\1/p" "$tmp/lease" | tail -1; }

start || { echo "$pass passed, $((fail + 1)) failed"; exit 1; }
dpid=$(cat "$tmp/state/dnsmasq.pid" 2>/dev/null)
check "dnsmasq conf" grep -q "^dhcp-host=52:54:00:00:00:01,10.99.0.11,node1$" "$tmp/state/dnsmasq.conf"

# a PXE ROM (no iPXE user class) gets its inventory address and iPXE by TFTP
check "lease (PXE)" lease
check "inventory address" [ "$(field fixed-address)" = 10.99.0.11 ]
check "boot file undionly.kpxe" [ "$(field filename)" = undionly.kpxe ]
inN ip addr replace 10.99.0.11/24 dev xrpxe-n
check "TFTP undionly.kpxe" inN curl -s -o "$tmp/undionly" "tftp://10.99.0.1/undionly.kpxe"
check "TFTP bytes" cmp -s "$tmp/undionly" /usr/lib/ipxe/undionly.kpxe

# iPXE gets the HTTP chain script instead
check "lease (iPXE)" lease iPXE
check "boot file for iPXE" [ "$(field filename)" = "http://10.99.0.1:8080/boot.ipxe" ]
inN ip addr replace 10.99.0.11/24 dev xrpxe-n	# dhclient's release took it away
check "chain script" inN curl -sf -o "$tmp/chain" "http://10.99.0.1:8080/boot.ipxe"
check "node script" inN curl -sf -o "$tmp/script" "http://10.99.0.1:8080/boot/52-54-00-00-00-01.ipxe"
check "script has token" grep -q "xenrack.token=[0-9a-f]\{32\}" "$tmp/script"
sed -n 's/^module [^ ]*vmlinuz \(.*\) || goto failed$/\1/p' "$tmp/script" >"$tmp/cmdline"
check "enrol from the node's address" inN "$enrol" --cmdline "$tmp/cmdline" --dir "$tmp/node1"
check "cert verifies" bash -c "openssl verify -CAfile '$tmp/node1/ca.crt' '$tmp/node1/node.crt' | grep -q ': OK$'"

# enrolment for another node from this address is refused (source check)
inS curl -s -o /dev/null "http://10.99.0.1:8080/boot/52-54-00-00-00-02.ipxe"
check "node2 script from node1's address has no token" bash -c \
	"ip netns exec $N curl -s http://10.99.0.1:8080/boot/52-54-00-00-00-02.ipxe | grep -q 'should have address 10.99.0.12'"

# an unknown MAC gets a pool address and the message
inN ip addr flush dev xrpxe-n
inN ip link set xrpxe-n address 52:54:00:00:00:99
check "lease (unknown)" lease iPXE
a=$(field fixed-address)
check "pool address" bash -c "case '$a' in 10.99.0.20[0-9]|10.99.0.210) true;; *) false;; esac"
inN ip addr replace "$a/24" dev xrpxe-n
check "unknown script" bash -c "ip netns exec $N curl -s http://10.99.0.1:8080/boot/52-54-00-00-00-99.ipxe | grep -q 'is not in the inventory'"

# SIGTERM: bootd stops dnsmasq
stop
check "dnsmasq gone with bootd" bash -c "! kill -0 '$dpid' 2>/dev/null"
check "logged" grep -q "stopping" "$tmp/log"

# dnsmasq dying is reported and stops bootd
start
dpid=$(cat "$tmp/state/dnsmasq.pid")
kill -9 "$dpid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid"; rc=$?; pid=
check "bootd exits 1 when dnsmasq dies" [ $rc -eq 1 ]
check "death reported" grep -q "dnsmasq (pid $dpid) was killed by signal 9" "$tmp/log"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
