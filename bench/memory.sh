#!/usr/bin/env bash
# Peak memory of `schoolstat validate` on a small and a large generated roster
# of the same 500 schools. Memory must stay flat as rows grow: the large run's
# peak RSS should be within 1.5x of the small one's. (Memory grows with the
# number of schools and counties, by design; holding them fixed isolates rows.)
# Usage: bash bench/memory.sh [small_rows] [large_rows]
set -euo pipefail
cd "$(dirname "$0")/.."
small=${1:-10000}
large=${2:-1000000}
bin=.build/release/schoolstat
work=bench/work
mkdir -p "$work"
[ -x "$bin" ] || swift build -c release --static-swift-stdlib
peak() { # rows → "kbytes seconds"
  local dir="$work/roster-$1-500"
  [ -f "$dir/teachers.csv" ] || "$bin" generate --rows "$1" --seed 1 --schools 500 --out "$dir"
  /usr/bin/time -f "%M %e" "$bin" validate "$dir" --rules Rules --out "$work/out-$1" --quiet --no-history >/dev/null 2>"$work/time-$1" || true
  tail -1 "$work/time-$1"
}
read -r small_kb small_s < <(peak "$small")
read -r large_kb large_s < <(peak "$large")
printf '%-10s %12s %10s %12s\n' rows "peak RSS MB" seconds "rows/s"
awk -v r="$small" -v kb="$small_kb" -v s="$small_s" 'BEGIN { printf "%-10s %12.1f %10s %12.0f\n", r, kb / 1024, s, r / s }'
awk -v r="$large" -v kb="$large_kb" -v s="$large_s" 'BEGIN { printf "%-10s %12.1f %10s %12.0f\n", r, kb / 1024, s, r / s }'
awk -v a="$large_kb" -v b="$small_kb" 'BEGIN { printf "peak RSS ratio (large/small): %.2f (target <= 1.5)\n", a / b }'
