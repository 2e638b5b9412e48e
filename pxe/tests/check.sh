#!/usr/bin/env bash
# bootd --check over good and bad inventories: exit status and the exact
# FILE:LINE:COL messages, as `vmd -n` regress tests do.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bootd=$top/build/bootd
tmp=$(mktemp -d)
pass=0 fail=0
trap 'rm -rf "$tmp"' EXIT
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

cd "$tmp"
cat >good.inv <<'INV'
# rack 1, row A
cluster rack1
dom0-args console=hvc0 loglevel=4

node1 52:54:00:00:00:01 10.99.0.11
node2 52:54:00:00:00:02 10.99.0.12   # slot 2
INV
"$bootd" --check --inventory good.inv >out 2>err; rc=$?
[ $rc -eq 0 ] && ok || { bad "good.inv: exit $rc"; cat err; }
[ "$(cat out)" = "good.inv: 2 nodes, cluster rack1" ] && ok || bad "good.inv: output '$(cat out)'"

cat >bad.inv <<'INV'
cluster rack1
node1 52:54:00:00:00:01 10.99.0.11
node2 52:54:zz:00:00:02 10.99.0.12
node3 52:54:00:00:00:01 10.99.0.13
node4 52:54:00:00:00:04 10.99.0.300
node1 52:54:00:00:00:05 10.99.0.15
node6 52:54:00:00:00:06 10.99.0.11
INV
cat >bad.want <<'ERR'
bad.inv:3:7: bad MAC address '52:54:zz:00:00:02' (expected six hex octets like 52:54:00:00:00:01)
bad.inv:4:7: MAC address 52:54:00:00:00:01 already belongs to node1 (line 2)
bad.inv:5:25: bad IPv4 address '10.99.0.300'
bad.inv:6:1: node node1 already defined on line 2
bad.inv:7:25: address 10.99.0.11 already belongs to node1 (line 2)
ERR
"$bootd" -n -i bad.inv >out 2>err; rc=$?
[ $rc -eq 1 ] && ok || bad "bad.inv: exit $rc, expected 1"
diff -u bad.want err && ok || bad "bad.inv: messages differ"

# a Xen command line that does not fit iPXE's 512 bytes names the node
"$bootd" -n -i good.inv --xen-args "$(printf 'x%.0s' $(seq 300))" >out 2>err; rc=$?
[ $rc -eq 1 ] && ok || bad "long --xen-args: exit $rc"
grep -q "good.inv:5: node node1: the multiboot command lines need" err && ok ||
	{ bad "long --xen-args: message"; cat err; }

"$bootd" -n -i missing.inv >out 2>err; rc=$?
[ $rc -eq 1 ] && grep -q "missing.inv: No such file" err && ok || bad "missing file: exit $rc"
"$bootd" --bogus >out 2>err; rc=$?
[ $rc -eq 2 ] && ok || bad "unknown option: exit $rc, expected 2"

# the dnsmasq configurations bootd writes pass dnsmasq's own syntax check
if command -v dnsmasq >/dev/null; then
	for mode in "" "--proxy-dhcp" "--dhcp-range 127.0.0.100,127.0.0.200"; do
		# shellcheck disable=SC2086
		"$bootd" -i good.inv --interface lo --state "$tmp" $mode \
			--print-dnsmasq-conf >dns.conf 2>err &&
			dnsmasq --test -C dns.conf >out 2>&1 && ok ||
			{ bad "dnsmasq --test ($mode)"; cat err out; }
	done
	grep -q "^dhcp-host=52:54:00:00:00:02,10.99.0.12,node2$" dns.conf && ok ||
		bad "dhcp-host line"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
