#!/usr/bin/env bash
# lab-netbsd.sh NODE [--no-create] - put the test guest and NetBSD.cfg on
# NODE and create the NetBSD domain there (the last step of `make lab`, and
# the scenarios'); --no-create leaves the create to the caller.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rack=$here/rack.sh
node=${1:-node1}
url=http://10.99.0.1:8080/images
cfg=$(base64 -w0 "$here/NetBSD.cfg")

"$rack" ctl "$node" "mkdir -p /var/lib/xenrack/guest /etc/xen &&
	wget -q -O /var/lib/xenrack/guest/vmlinuz $url/vmlinuz &&
	wget -q -O /var/lib/xenrack/guest/guest-initrd.img $url/guest-initrd.img &&
	{ [ -e /var/lib/xenrack/NetBSD-disk.img ] || truncate -s 64M /var/lib/xenrack/NetBSD-disk.img; } &&
	echo $cfg | base64 -d >/etc/xen/NetBSD.cfg"
[ "${2:-}" = --no-create ] || "$rack" ctl "$node" "clusterctl create /etc/xen/NetBSD.cfg"
