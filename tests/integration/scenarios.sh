#!/usr/bin/env bash
# scenarios.sh - the rack scenarios of `make integration`, on a rack that
# rack.sh has brought up: real Xen, real libxl, the real appliance.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

t0=$SECONDS
n=$(cat "$LAB/nodes")
for i in $(seq "$n"); do
	if on "node$i" 0 "clusterctl list" && has '^Domain-0 +0 ' && has "node$i\$"; then
		ok "node$i: booted over PXE, clusterd answers on real Xen"
	else bad "node$i: clusterd"; fi
done
if on node1 0 "xl info | grep -E '^(xen_version|xen_caps)'"; then
	ok "node1: Xen $(awk '/xen_version/ {print $3}' "$out")"
else bad "node1: xl info"; fi

# A bad config is refused with its error, and nothing is created.
if on node1 1 "printf 'name = \"Bad\"\nkernel = \"/nonexistent\"\ndisk = [ \"phy:/dev/wd0e,wd0d\" ]\n' >/tmp/Bad.cfg && clusterctl create /tmp/Bad.cfg" &&
   has "/tmp/Bad.cfg:3:29: error: disk 'phy:/dev/wd0e,wd0d': mode missing, expected r or w"; then
	ok "bad config refused with file:line:col"
else bad "bad config"; fi
if on node1 1 "printf 'name = \"Bad\"\nkernel = \"/nonexistent\"\n' >/tmp/Bad.cfg && clusterctl create /tmp/Bad.cfg" &&
   has "kernel /nonexistent: No such file or directory"; then
	ok "missing kernel refused before libxl is asked"
else bad "missing kernel"; fi
on node1 0 "clusterctl list; xl list" && ! has '^Bad ' && ok "nothing created by the bad configs" ||
	bad "a bad config left a domain"

# create: the seed's config with paths changed.
t=$SECONDS
if "$here/lab-netbsd.sh" node1 >"$out" 2>&1 && has 'Started domain NetBSD \(id [0-9]+\) on node1'; then
	ok "create NetBSD on node1 ($((SECONDS - t)) s)"
else bad "create NetBSD"; fi
if on node1 0 "clusterctl list" && has '^NetBSD +[0-9]+ +128 +1 '; then
	ok "list shows NetBSD, 128 MB, 1 VCPU, on node1"
else bad "list after create"; fi

# Any node answers for the cluster: node2 lists NetBSD on node1.
if on node2 0 "clusterctl list" && has '^NetBSD +[0-9]+ +128 +1 .* node1$' && has '^Domain-0 .* node2$'; then
	ok "list on node2 shows NetBSD on node1"
else bad "list on node2"; fi

# console: the guest's ticks arrive.
t=$SECONDS
if until_on node1 180 "timeout 5 clusterctl console NetBSD | grep -m1 'xenrack-guest tick='"; then
	ok "console shows the guest ticking ($((SECONDS - t)) s after create)"
else bad "console"; fi

# network: the guest's vif on bridge0 answers Dom0.
if until_on node1 60 "ping -c 2 -W 2 10.99.0.50"; then
	ok "guest vif on bridge0 answers ping from node1's Dom0"
else bad "ping guest"; fi

# pause / unpause on real Xen.
# Paused is "p"; the vCPU may be blocked ("b") at that moment as well.
if on node1 0 "clusterctl pause NetBSD" && [[ "$(state_of node1 NetBSD)" =~ ^-[b-]p---$ ]]; then
	ok "pause: state -[b-]p---"
else bad "pause"; fi
# The first read drains what the console buffered before the pause.
on node1 143 "timeout 3 clusterctl console NetBSD"
if on node1 143 "timeout 4 clusterctl console NetBSD"; ! grep -q 'tick=' "$out"; then
	ok "paused guest prints nothing"
else bad "paused guest still ticks"; fi
if on node1 0 "clusterctl unpause NetBSD" && on node1 0 "timeout 5 clusterctl console NetBSD | grep -m1 tick="; then
	ok "unpause: ticking again"
else bad "unpause"; fi
on node1 1 "clusterctl unpause NetBSD" && has "is not paused" && ok "unpause of a running domain refused" ||
	bad "double unpause"

# shutdown, asked on node2: node1 does it; the guest powers off and
# on_poweroff=destroy removes it.
t=$SECONDS
if on node2 0 "clusterctl shutdown -w NetBSD" && on node1 0 "xl list" && ! has '^NetBSD '; then
	ok "shutdown -w on node2: NetBSD on node1 powered off and is gone ($((SECONDS - t)) s)"
else bad "shutdown from node2"; fi
on node2 1 "clusterctl pause NoSuch" && has "no domain named 'NoSuch' in the cluster" &&
	ok "an unknown domain is unknown in the whole cluster" || bad "unknown domain from node2"

# destroy.
if "$here/lab-netbsd.sh" node1 >"$out" 2>&1 && on node1 0 "clusterctl destroy NetBSD" &&
   on node1 0 "xl list" && ! has '^NetBSD '; then
	ok "destroy: gone at once"
else bad "destroy"; fi
on node1 1 "clusterctl destroy NetBSD" && has "no domain named 'NetBSD' in the cluster" &&
	ok "destroy of an unknown domain refused" || bad "destroy unknown"

finish "scenarios"
