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
timeout --kill-after=30s "${minutes}m" "$SWIFT" test --skip-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
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
