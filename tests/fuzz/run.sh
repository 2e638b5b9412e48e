#!/usr/bin/env bash
# run.sh FUZZER SECONDS - fuzz the config parser for SECONDS, seeded with the
# golden configs, and print a closing line "fuzz: N passed, N failed".
set -u
fuzzer=$1 secs=$2
here=$(cd "$(dirname "$0")" && pwd)
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp "$here"/../golden/good/*.cfg "$here"/../golden/bad/*.cfg "$corpus"/
# Findings (crash-*, leak-*) go to build/fuzz/ so they can be replayed.
mkdir -p build/fuzz/artifacts
"$fuzzer" -max_total_time="$secs" -max_len=4096 -timeout=10 \
	-dict="$here/cfg.dict" -artifact_prefix=build/fuzz/artifacts/ \
	-print_final_stats=1 "$corpus" >build/fuzz/log 2>&1
rc=$?
grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' build/fuzz/log | tail -2
if [ $rc -eq 0 ]; then
	echo "fuzz: config parser ran ${secs}s without a finding"
	echo "fuzz: 1 passed, 0 failed"
else
	tail -40 build/fuzz/log
	echo "fuzz: 0 passed, 1 failed"
fi
exit $rc
