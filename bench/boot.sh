#!/usr/bin/env bash
# bench/boot.sh [http|tftp]... - power-on to clusterd ready of one PXE node
# of the virtual rack, by phase, with the images fetched over HTTP and over
# TFTP.  As root.  Prints a table and the TFTP/HTTP ratio of each phase.
#
# Phases, from the node's serial console and bootd's log (dnsmasq's lines),
# each line timestamped on the host as it arrives:
#   dhcp         power-on until dnsmasq acknowledges iPXE's DHCP request
#   fetch        until Xen prints its first line: the boot script, xen,
#                vmlinuz and initrd.img (iPXE itself prints nothing on serial)
#   xen          until the Dom0 kernel prints "Linux version"
#   dom0 kernel  until our init starts ("xenrack-init: starting")
#   dom0 init    until "xenrack: node node1 ready" (clusterd answers)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rack=$top/tests/integration/rack.sh
lab=$top/build/lab
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(http tftp)
markers=("DHCPACK\(br0\) 10\.99\.0\.11" "^[0-9.]+ \(XEN\)" "Linux version" "xenrack-init: starting"
	 "xenrack: node node1 ready")
names=("dhcp" "fetch" "xen" "dom0 kernel" "dom0 init")
declare -A result

stamp() {	# stamp FILE OUT: append FILE's lines to OUT with the time each came
	tail -F -n +1 "$1" 2>/dev/null |
		while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done >>"$2"
}

run() {
	local mode=$1 ts=$lab/../boot-$1.ts t0 prev i t
	"$rack" down >/dev/null 2>&1 || true
	# The last run's logs must not be mistaken for this one's.
	rm -f "$lab/node1.serial" "$lab/bootd.log"
	RACK_BOOTD_ARGS="--images-over $mode" "$rack" up 1 >/dev/null 2>&1 &
	local up=$!
	: >"$ts"
	for _ in $(seq 100); do [ -e "$lab/node1.serial" ] && break; sleep 0.1; done
	t0=$(date +%s.%N)
	# Timestamp each line of the console and of bootd's log as it arrives.
	stamp "$lab/node1.serial" "$ts" &
	local t1=$!
	stamp "$lab/bootd.log" "$ts" &
	local t2=$!
	wait "$up" || { kill $t1 $t2; echo "boot ($mode) failed; see $lab/node1.serial" >&2; exit 1; }
	sleep 1
	{
		pkill -P $t1; pkill -P $t2; kill $t1 $t2
		wait $t1 $t2
	} 2>/dev/null || true
	prev=$t0
	for i in "${!markers[@]}"; do
		t=$(grep -a -E "${markers[$i]}" "$ts" | sort -n | head -1 | cut -d' ' -f1) || true
		[ -n "$t" ] || { echo "$mode: marker '${markers[$i]}' not seen" >&2; exit 1; }
		result[$mode,$i]=$(awk -v a="$t" -v b="$prev" 'BEGIN { print a - b }')
		prev=$t
	done
	result[$mode,total]=$(awk -v a="$prev" -v b="$t0" 'BEGIN { print a - b }')
	"$rack" down >/dev/null 2>&1 || true
}

for m in "${modes[@]}"; do run "$m"; done

printf '\nboot of one node under QEMU TCG, seconds (images: xen %s, vmlinuz %s, initrd.img %s bytes)\n' \
	"$(stat -c %s "$top/build/appliance/xen")" "$(stat -c %s "$top/build/appliance/vmlinuz")" \
	"$(stat -c %s "$top/build/appliance/initrd.img")"
printf '%-12s' phase; for m in "${modes[@]}"; do printf '%10s' "$m"; done
[ ${#modes[@]} -eq 2 ] && printf '%12s' "${modes[1]}/${modes[0]}"; echo
for i in "${!names[@]}" total; do
	if [ "$i" = total ]; then label=total; else label=${names[$i]}; fi
	printf '%-12s' "$label"
	for m in "${modes[@]}"; do printf '%10.1f' "${result[$m,$i]}"; done
	[ ${#modes[@]} -eq 2 ] && printf "%12.2f" "$(awk -v a="${result[${modes[1]},$i]}" -v b="${result[${modes[0]},$i]}" 'BEGIN { print a / b }')"
	echo
done
