#!/usr/bin/env bash
# bench/migrate-transport.sh - the migration transport alone, on loopback,
# on one memory image, in a network namespace of its own:
#   ceiling   `openssl speed -evp aes-128-gcm`, one core, 16 KiB blocks
#   ours      xenrack-migbench: the pump and the feeder of a migration
#             (frames, TLS 1.3 with both node certificates, the stream check,
#             SHA-256 on both sides), plain and with --compress (zstd)
#   ssh       the same bytes through `ssh host cat`, xl migrate's transport
# The image: MIG_IMAGE if set; else 256 MiB of a running virtual-rack
# node's RAM (QEMU's guest memory: Xen, Dom0, guests), when a rack is up;
# else 256 MiB of this machine's own files and zeros.  As root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build/xenrack-migbench
NS=xrmigbench
MIB=${MIG_MIB:-256}
work=$(mktemp -d)
cleanup() {
	[ -s "$work/sshd.pid" ] && kill "$(cat "$work/sshd.pid")" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
command -v sshd >/dev/null || { apt-get install -y -q openssh-server openssh-client >/dev/null; }
[ -x "$bin" ] || make -C "$top" "$bin" >/dev/null

# ---- the image ----
img=$work/image
if [ -n "${MIG_IMAGE:-}" ]; then
	cp "$MIG_IMAGE" "$img"
	what="$MIG_IMAGE"
elif pid=$(cat "$top"/build/lab/node1.pid 2>/dev/null) && [ -d /proc/"$pid" ]; then
	# QEMU's guest RAM: its largest anonymous read-write mapping
	start=0 best=0
	while read -r r perm _ _ _ path; do
		[ -z "${path:-}" ] && [ "${perm:0:2}" = rw ] || continue
		s=$((16#${r%-*})) e=$((16#${r#*-}))
		[ $((e - s)) -gt $best ] && best=$((e - s)) start=$s
	done </proc/"$pid"/maps
	# all of it, zero pages and all: what a migration of it would send
	dd if=/proc/"$pid"/mem of="$img" bs=1M iflag=skip_bytes,count_bytes \
		skip="$start" count="$best" status=none
	what="node1's RAM, $((best >> 20)) MiB (virtual rack, QEMU pid $pid)"
else
	{ find /usr/lib /usr/bin -type f -size +100k 2>/dev/null | head -400 | xargs cat 2>/dev/null
	  head -c $((MIB << 20)) /dev/zero; } | head -c $((MIB << 20)) >"$img" || true
	what="$MIB MiB of /usr/lib and /usr/bin files and zeros (no rack up)"
fi
bytes=$(stat -c %s "$img")

# ---- certificates, as bootd makes them: a CA, node1 and node2 ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj "/CN=bench CA" -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
for n in node1 node2; do
	mkdir -p "$work/$n"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" \
		-keyout "$work/$n/node.key" -out "$work/$n.csr" 2>/dev/null
	openssl x509 -req -in "$work/$n.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
		-CAcreateserial -days 1 -out "$work/$n/node.crt" \
		-extfile <(echo "subjectAltName=DNS:$n") 2>/dev/null
	cp "$work/ca.crt" "$work/$n/"
done

ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

# ---- the ceiling: AES-128-GCM on one core, 16 KiB blocks (a TLS record) ----
ceiling=$(openssl speed -evp aes-128-gcm -seconds 3 2>/dev/null |
	awk '/^AES-128-GCM|^aes-128-gcm/ { v = $NF; sub(/k$/, "", v); print v * 1000 / 1048576 }')

# ---- ours ----
ours_line=$(in_ns taskset -c 0 "$bin" "$work/node2" "$work/node1" "$img")
z_line=$(in_ns taskset -c 0 "$bin" "$work/node2" "$work/node1" "$img" --compress)
rate() { echo "$1" | grep -o '[0-9.]* MiB/s' | cut -d' ' -f1; }
ours=$(rate "$ours_line")
zrate=$(rate "$z_line")
zratio=$(echo "$z_line" | grep -o 'bytes ([0-9.]*)' | grep -o '[0-9.]*')

# ---- ssh: the same bytes, to `cat >/dev/null` on the other end ----
ssh-keygen -q -t ed25519 -N '' -f "$work/host" >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$work/user" >/dev/null
cp "$work/user.pub" "$work/authorized_keys"
chmod 600 "$work/authorized_keys"
mkdir -p /run/sshd
in_ns taskset -c 0 /usr/sbin/sshd -D -p 2222 -o ListenAddress=127.0.0.1 -h "$work/host" \
	-o AuthorizedKeysFile="$work/authorized_keys" -o PermitRootLogin=prohibit-password \
	-o StrictModes=no -o UsePAM=no -o PidFile="$work/sshd.pid" &
sleep 1
ssh_opts=(-p 2222 -i "$work/user" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	  -o LogLevel=ERROR)
in_ns ssh "${ssh_opts[@]}" root@127.0.0.1 true
t0=$(date +%s.%N)
in_ns taskset -c 0 ssh "${ssh_opts[@]}" root@127.0.0.1 'cat >/dev/null' <"$img"
t1=$(date +%s.%N)
ssh_rate=$(awk -v b="$bytes" -v a="$t0" -v c="$t1" 'BEGIN { printf "%.1f", b / 1048576 / (c - a) }')
cipher=$(in_ns ssh -v "${ssh_opts[@]}" root@127.0.0.1 true 2>&1 | grep -o 'cipher: [a-z0-9@.-]*' | head -1)

echo "migration transport on loopback, both ends on one core, image: $what"
printf '%-44s %10s %10s\n' "path" "MiB/s" "ratio"
printf '%-44s %10.1f %10s\n' "openssl speed aes-128-gcm, 16 KiB (ceiling)" "$ceiling" "1.00"
printf '%-44s %10.1f %10.2f\n' "xenrack (TLS 1.3, frames, checks, SHA-256)" "$ours" \
	"$(awk -v a="$ours" -v b="$ceiling" 'BEGIN { print a / b }')"
printf '%-44s %10.1f %10.2f\n' "xenrack --compress (zstd 1)" "$zrate" \
	"$(awk -v a="$zrate" -v b="$ceiling" 'BEGIN { print a / b }')"
printf '%-44s %10.1f %10.2f\n' "ssh | cat ($cipher)" "$ssh_rate" \
	"$(awk -v a="$ssh_rate" -v b="$ceiling" 'BEGIN { print a / b }')"
echo "xenrack / ssh: $(awk -v a="$ours" -v b="$ssh_rate" 'BEGIN { printf "%.2f", a / b }');" \
     "zstd sends $zratio of the bytes (wire/stream);" \
     "$(echo "$ours_line" | grep -o '[0-9.]*% zero pages') in the image"
