#!/usr/bin/env bash
# crash.sh - a guest that panics in the virtual rack: on_crash = 'restart'
# restarts it on its node, and a crash loop stops with the domain left
# crashed (state c) and said so in clusterd's log.  Runs on node2 (node1
# may be gone after ha.sh), after storage.sh put the guest there.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
t0=$SECONDS
N=node2

# Crashy: the test guest without disk or network, panicking after 2 ticks.
if on $N 0 "sed -e 's/^name = .*/name = \"Crashy\"/' -e '/^disk/d' -e '/^vif/d' -e '/^nics/d' \
	-e 's/^extra = .*/extra = \"console=hvc0 guest.panic=2\"/' /etc/xen/NetBSD.cfg >/tmp/Crashy.cfg &&
	echo \"on_crash = 'restart'\" >>/tmp/Crashy.cfg && clusterctl create /tmp/Crashy.cfg"; then
	ok "Crashy created on $N (on_crash = restart, guest.panic=2)"
else bad "create Crashy"; fi
if until_on $N 180 "grep -q 'domain Crashy: restarted as id' /var/log/clusterd.log"; then
	ok "Crashy panicked and was restarted on $N ($((SECONDS - t0)) s)"
else bad "no restart after a crash"; fi
if until_on $N 600 "grep -q 'domain Crashy crashed 4 times in 600 s: a crash loop' /var/log/clusterd.log"; then
	ok "crash loop stopped after 3 restarts ($((SECONDS - t0)) s)"
else bad "crash loop not stopped"; fi
if on $N 0 "clusterctl list" && has '^Crashy .* -+c-+ '; then
	ok "Crashy left crashed: state c in list"
else bad "Crashy's state"; fi
on $N 0 "clusterctl destroy Crashy" && on $N 0 "clusterctl list" && ! has '^Crashy ' &&
	ok "destroy clears it" || bad "destroy Crashy"

finish "crash scenarios"
