#!/usr/bin/env bash
# bootd on 127.0.0.1 without dnsmasq, and xenrack-enrol against it: scripts
# for known and unknown MACs, images, enrolment, the one-time token, the CA
# kept across restarts, and the refusals.  No root needed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bootd=$top/build/bootd enrol=$top/build/xenrack-enrol
tmp=$(mktemp -d)
pass=0 fail=0 pid=
stop() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
	pid=
}
trap 'stop; rm -rf "$tmp"' EXIT
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }

# start ARGS...: run bootd in the background, set $pid and $url
start() {
	"$bootd" --inventory "$tmp/rack.inv" --images "$tmp/img" --state "$tmp/state" \
		--listen 127.0.0.1 --port 0 --no-dnsmasq "$@" >"$tmp/log" 2>&1 &
	pid=$!
	url=
	for _ in $(seq 50); do
		url=$(sed -n 's/.* at \(http:\/\/127\.0\.0\.1:[0-9]*\) .*/\1/p' "$tmp/log")
		[ -n "$url" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	bad "bootd did not start"; cat "$tmp/log"; return 1
}
get() { curl -s -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' "$@"; }

mkdir -p "$tmp/img"
cat >"$tmp/rack.inv" <<'INV'
cluster rack1
node1 52:54:00:00:00:01 10.99.0.11
node2 52:54:00:00:00:02 10.99.0.12
INV
printf 'xen image\n' >"$tmp/img/xen"
printf 'dom0 kernel\n' >"$tmp/img/vmlinuz"
head -c 20000000 /dev/urandom >"$tmp/img/initrd.img"
printf 'hidden\n' >"$tmp/img/.hidden"

start --any-source || { echo "$pass passed, $((fail + 1)) failed"; exit 1; }

# the chain script dnsmasq hands to iPXE
check "/boot.ipxe" [ "$(get "$url/boot.ipxe")" = 200 ]
check "chain line" grep -qF "chain $url/boot/\${netX/mac:hexhyp}.ipxe" "$tmp/body"

# a known MAC gets Xen, the Dom0 kernel and initrd, and a token
check "known MAC" [ "$(get "$url/boot/52-54-00-00-00-01.ipxe")" = 200 ]
cp "$tmp/body" "$tmp/script1"
check "script header" [ "$(head -1 "$tmp/script1")" = "#!ipxe" ]
check "kernel line" grep -q "^kernel $url/images/xen console=com1 " "$tmp/script1"
check "module vmlinuz" grep -q "^module $url/images/vmlinuz console=hvc0 xenrack.node=node1 xenrack.bootd=$url xenrack.token=[0-9a-f]\{32\} " "$tmp/script1"
check "module initrd" grep -q "^module $url/images/initrd.img " "$tmp/script1"
check "boot line" grep -q "^boot " "$tmp/script1"
check "no-store" grep -qi "^cache-control: no-store" "$tmp/hdr"
token=$(grep -o 'xenrack.token=[0-9a-f]*' "$tmp/script1" | cut -d= -f2)

# an unknown MAC is told so and does not boot
check "unknown MAC" [ "$(get "$url/boot/52:54:00:00:00:99.ipxe")" = 200 ]
check "unknown message" grep -qF "this machine (MAC 52:54:00:00:00:99) is not in the inventory" "$tmp/body"
check "unknown: no kernel" bash -c "! grep -q '^kernel\|^boot' '$tmp/body'"
check "unknown logged" grep -q "MAC 52:54:00:00:00:99 (from 127.0.0.1) is not in the inventory" "$tmp/log"
check "bad MAC" [ "$(get "$url/boot/zz.ipxe")" = 400 ]

# images, and nothing else
t0=$(date +%s.%N)
check "initrd" [ "$(get "$url/images/initrd.img")" = 200 ]
t1=$(date +%s.%N)
check "initrd bytes" cmp -s "$tmp/body" "$tmp/img/initrd.img"
echo "initrd.img: 20000000 bytes in $(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }") s"
check "xen" [ "$(get "$url/images/xen")" = 200 ]
check "traversal" [ "$(get --path-as-is "$url/images/../state/ca.key")" = 404 ]
check "traversal %2f" [ "$(get "$url/images/..%2fstate%2fca.key")" = 404 ]
check "dot file" [ "$(get "$url/images/.hidden")" = 404 ]
check "missing image" [ "$(get "$url/images/nothing")" = 404 ]
check "ca.crt" [ "$(get "$url/ca.crt")" = 200 ]
check "ca.crt is the CA" cmp -s "$tmp/body" "$tmp/state/ca.crt"
check "no ca.key" [ "$(get "$url/ca.key")" = 404 ]
check "ca.key 0600" [ "$(stat -c %a "$tmp/state/ca.key")" = 600 ]

# enrolment with the token from the script, as the node does at boot
sed -n 's/^module [^ ]*vmlinuz \(.*\) || goto failed$/\1/p' "$tmp/script1" >"$tmp/cmdline"
t0=$(date +%s.%N)
"$enrol" --cmdline "$tmp/cmdline" --dir "$tmp/node1" >"$tmp/out" 2>&1; rc=$?
t1=$(date +%s.%N)
check "enrol exit 0" [ $rc -eq 0 ] || cat "$tmp/out"
echo "enrolment (key, CSR, POST, checks, files): $(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }") s"
for f in node.key node.crt ca.crt node.json; do
	check "node1/$f" [ -s "$tmp/node1/$f" ]
done
check "node.key 0600" [ "$(stat -c %a "$tmp/node1/node.key")" = 600 ]
check "openssl verify" bash -c "openssl verify -CAfile '$tmp/node1/ca.crt' '$tmp/node1/node.crt' | grep -q ': OK$'"
check "same CA" cmp -s "$tmp/node1/ca.crt" "$tmp/state/ca.crt"
check "key matches cert" [ "$(openssl pkey -in "$tmp/node1/node.key" -pubout)" = \
	"$(openssl x509 -in "$tmp/node1/node.crt" -noout -pubkey)" ]
openssl x509 -in "$tmp/node1/node.crt" -noout -text >"$tmp/text"
check "SAN" grep -q "DNS:node1, IP Address:10.99.0.11" "$tmp/text"
check "EKU" grep -q "TLS Web Server Authentication, TLS Web Client Authentication" "$tmp/text"
check "CN" grep -q "Subject: CN = node1" "$tmp/text"
check "node.json" grep -q '"cluster": *"rack1"' "$tmp/node1/node.json"
check "node.json nodes" grep -q '"name": *"node2"' "$tmp/node1/node.json"
check "issued copy" test -n "$(ls "$tmp/state/issued/" | grep "^node1-.*\.crt$")"
# the key never went over the wire: bootd has no copy of it
check "key not on bootd" bash -c "! grep -rqF \"\$(sed -n 2p '$tmp/node1/node.key')\" '$tmp/state'"

# the token works once
"$enrol" --cmdline "$tmp/cmdline" --dir "$tmp/again" >"$tmp/out" 2>&1; rc=$?
check "second enrol refused" [ $rc -eq 1 ]
check "second enrol message" grep -q "HTTP 403: node1: token already used" "$tmp/out"
check "nothing written" [ ! -e "$tmp/again/node.key" ]
check "wrong token" [ "$(get -X POST -H 'Content-Type: application/json' \
	-d '{"node":"node2","token":"0123456789abcdef0123456789abcdef","csr":"x"}' \
	"$url/enrol")" = 400 ]
code=$(get -X POST -d "{\"node\":\"node2\",\"token\":\"0123456789abcdef0123456789abcdef\",\"csr\":$(openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj /CN=node2 2>/dev/null | sed 's/$/\\n/' | tr -d '\n' | sed 's/.*/"&"/')}" "$url/enrol")
check "no token for node2" [ "$code" = 403 ]
check "no token message" grep -q "no enrolment token was issued" "$tmp/body"
head -c 100000 /dev/zero >"$tmp/big"
check "413" [ "$(get -X POST --data-binary @"$tmp/big" "$url/enrol")" = 413 ]
check "405" [ "$(get -X PUT "$url/enrol")" = 405 ]
check "enrol errors name the URL" bash -c "'$enrol' --bootd http://127.0.0.1:1 --node node1 --token 0123456789abcdef0123456789abcdef --retries 1 --dir '$tmp/x' 2>&1 | grep -q 'http://127.0.0.1:1/enrol'"
check "missing cmdline field" bash -c "echo 'console=hvc0' >'$tmp/cl2'; '$enrol' --cmdline '$tmp/cl2' --dir '$tmp/x' 2>&1 | grep -q 'no xenrack.bootd= on the kernel command line'"

# SIGTERM stops bootd cleanly
kill "$pid"; wait "$pid"; rc=$?; pid=
check "SIGTERM exit 0" [ $rc -eq 0 ]
fp1=$(openssl x509 -in "$tmp/state/ca.crt" -noout -fingerprint -sha256)

# a restart keeps the CA, voids the tokens, and checks source addresses
start
check "same CA after restart" [ "$(openssl x509 -in "$tmp/state/ca.crt" -noout -fingerprint -sha256)" = "$fp1" ]
check "CA loaded, not created" bash -c "! grep -q 'created the cluster CA' '$tmp/log'"
check "script from a wrong address" [ "$(get "$url/boot/52-54-00-00-00-02.ipxe")" = 200 ]
check "wrong address message" grep -q "should have address 10.99.0.12" "$tmp/body"
check "wrong address: no token" bash -c "! grep -q 'xenrack.token' '$tmp/body'"
stop

# a bad inventory stops bootd at start with FILE:LINE:COL
printf 'node1 52:54:00:00:00:01 10.99.0.11\nnode2 52:54:00:00:00:0g 10.99.0.12\n' >"$tmp/bad.inv"
"$bootd" --inventory "$tmp/bad.inv" --images "$tmp/img" --state "$tmp/state" \
	--listen 127.0.0.1 --no-dnsmasq >"$tmp/out" 2>&1; rc=$?
check "bad inventory exit 1" [ $rc -eq 1 ]
check "bad inventory message" grep -qF "$tmp/bad.inv:2:7: bad MAC address '52:54:00:00:00:0g'" "$tmp/out"

# a port in use is named
start --any-source
port=${url##*:}
"$bootd" --inventory "$tmp/rack.inv" --images "$tmp/img" --state "$tmp/state" \
	--listen 127.0.0.1 --port "$port" --no-dnsmasq >"$tmp/out" 2>&1; rc=$?
check "port in use" [ $rc -eq 1 ]
check "port in use message" grep -q "cannot listen on 127.0.0.1:$port: Address already in use" "$tmp/out"
stop

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
