#!/usr/bin/env bash
# run-suite.sh NAME TEST... - run cmocka binaries and test scripts, add up
# their results and print one closing line "NAME: N passed, N failed".
set -u
name=$1; shift
passed=0 failed=0 broken=()
for t in "$@"; do
	log=$(mktemp)
	echo "== $t"
	"./$t" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	# cmocka: "[  PASSED  ] 12 test(s)." / "[  FAILED  ] 1 test(s), listed below:"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	# our scripts: "N passed, N failed"
	if [ -z "$p" ]; then
		p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -1)
		f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | tail -1)
	fi
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# crashed or failed without saying so
	fi
	passed=$((passed + p)) failed=$((failed + f))
	[ "$rc" -ne 0 ] && broken+=("$t")
	rm -f "$log"
done
echo
[ ${#broken[@]} -gt 0 ] && echo "failing: ${broken[*]}"
echo "$name: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#broken[@]} -eq 0 ]
