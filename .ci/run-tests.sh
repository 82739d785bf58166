#!/usr/bin/env bash
# The test suite, with a ceiling on its time: a test that hangs fails the suite within the
# ceiling, and the tests started and never finished are named, instead of the suite running
# until whatever runs it gives up. SWIFT and TEST_MINUTES (default 45) may be set.
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
minutes=${TEST_MINUTES:-45}
log=$(mktemp "${TMPDIR:-/tmp}/schoolstat-tests.XXXXXX")
trap 'rm -f "$log"' EXIT
started=$(date +%s)
timeout --kill-after=30s "${minutes}m" "$SWIFT" test --skip-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
elapsed=$(( $(date +%s) - started ))
# 124: stopped at the ceiling; 137: killed 30 s after, or by something else (the system short of
# memory) before the ceiling, which the time tells apart.
past=$(awk -v e="$elapsed" -v m="$minutes" 'BEGIN { print (e >= m * 60) ? 1 : 0 }')
if [ "$status" -eq 124 ] || { [ "$status" -eq 137 ] && [ "$past" -eq 1 ]; }; then
    printf "\nThe tests ran past %s minutes and were stopped. Started and not finished:\n" "$minutes"
    /usr/bin/python3 - "$log" <<'PY'
import re, sys
started, ended = [], set()
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.search(r'Test (?:case passing .* to )?"(.*?)" started', line)
    if m and m.group(1) not in started:
        started.append(m.group(1))
    m = re.search(r'Test "(.*?)" (?:passed|failed|skipped|with \d+ test cases? (?:passed|failed))', line)
    if m:
        ended.add(m.group(1))
for name in started:
    if name not in ended:
        print("  " + name)
PY
fi
exit "$status"
