#!/usr/bin/env bash
# deps.sh GROUP... - install the Debian packages xenrack needs, if missing.
# Idempotent and quiet when everything is there.  Groups:
#   build   compile xenrack and run `make check`
#   test    the rest of `make test` (fuzzer, host-level tests)
#   rack    the virtual rack and the appliance build (`make lab`)
set -euo pipefail

build=(build-essential pkg-config libxen-dev libjson-c-dev libcmocka-dev libzstd-dev
       libmicrohttpd-dev libssl-dev libcurl4-openssl-dev libcpg-dev libquorum-dev)
test=(clang libclang-rt-14-dev openssl curl dnsmasq iproute2 ipxe isc-dhcp-client socat
      corosync corosync-qdevice corosync-qnetd util-linux)
rack=(qemu-system-x86 ipxe-qemu dnsmasq iproute2 socat corosync-qnetd nftables iputils-ping openssl)	# appliance/build.sh installs its own

want=()
for group in "$@"; do
	case $group in
	build) want+=("${build[@]}") ;;
	test)  want+=("${test[@]}") ;;
	rack)  want+=("${rack[@]}") ;;
	*) echo "deps.sh: unknown group '$group' (build, test or rack)" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}" >&2
	echo "deps.sh: run as root, or: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
