#!/usr/bin/env bash
# Golden tests of `clusterctl check`: every good/*.cfg must pass with the
# stdout in .out (and the warnings in .err, if any), and its normalised form
# must parse back to itself; every bad/*.cfg must fail (exit 1) with exactly
# the messages in .err.  UPDATE=1 rewrites the expected files (review them!).
set -u
here=$(cd "$(dirname "$0")" && pwd)
ctl=$(cd "$here/../.." && pwd)/build/clusterctl
cd "$here"
pass=0 fail=0 tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

same() {	# same EXPECTED ACTUAL WHAT
	if [ "${UPDATE:-}" = 1 ]; then
		if [ -s "$2" ]; then cp "$2" "$1"; else rm -f "$1"; fi
		return 0
	fi
	local want=/dev/null
	[ -e "$1" ] && want=$1
	if ! diff -u "$want" "$2" >"$tmp/diff"; then
		bad "$3"; cat "$tmp/diff"; return 1
	fi
}

for cfg in good/*.cfg; do
	base=${cfg%.cfg}
	"$ctl" check "$cfg" >"$tmp/out" 2>"$tmp/err"; rc=$?
	[ $rc -eq 0 ] || { bad "$cfg: exit $rc, expected 0"; cat "$tmp/err"; continue; }
	same "$base.out" "$tmp/out" "$cfg: stdout" || continue
	same "$base.err" "$tmp/err" "$cfg: stderr" || continue
	if [ -e "$base.json" ] || [ "${UPDATE:-}" = 1 -a "$base" = good/xmexample1 ]; then
		"$ctl" check --json "$cfg" >"$tmp/json" 2>/dev/null
		same "$base.json" "$tmp/json" "$cfg: --json" || continue
	fi
	# The normalised config is a config too, and a fixed point.
	cp "$tmp/out" "$tmp/norm.cfg"
	"$ctl" check "$tmp/norm.cfg" >"$tmp/out2" 2>"$tmp/err2"
	if ! cmp -s "$tmp/out" "$tmp/out2" || [ -s "$tmp/err2" ]; then
		bad "$cfg: normalised form does not parse back to itself"
		diff -u "$tmp/out" "$tmp/out2"; cat "$tmp/err2"; continue
	fi
	ok
done

for cfg in bad/*.cfg; do
	base=${cfg%.cfg}
	"$ctl" check "$cfg" >"$tmp/out" 2>"$tmp/err"; rc=$?
	[ $rc -eq 1 ] || { bad "$cfg: exit $rc, expected 1"; cat "$tmp/err"; continue; }
	[ -s "$tmp/out" ] && { bad "$cfg: printed a domain despite errors"; continue; }
	[ -e "$base.err" ] || [ "${UPDATE:-}" = 1 ] || { bad "$cfg: no $base.err"; continue; }
	same "$base.err" "$tmp/err" "$cfg: messages" || continue
	ok
done

# Usage errors exit 2; a missing file is a failure (1).
"$ctl" check >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "check without FILE: expected exit 2"
"$ctl" check --bogus good/xmexample1.cfg >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "check --bogus: expected exit 2"
"$ctl" check no/such.cfg >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc -eq 1 ] && grep -q 'no/such.cfg: No such file or directory' "$tmp/err"; then ok; else bad "missing file: exit $rc"; cat "$tmp/err"; fi
"$ctl" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "unknown command: expected exit 2"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
