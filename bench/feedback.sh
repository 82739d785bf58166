#!/usr/bin/env bash
# Each school's workbook from a county run, at county scale: a generated roster (default
# 400,000 rows) for 2,000 schools and for 200, validated, then `schoolstat feedback` on each run.
# Reports wall time and peak RSS (GNU time) of the feedback next to the validate run it reads,
# measured together, and the workbooks written: the peak must not grow with the schools.
# Usage: bash bench/feedback.sh [rows]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-400000}
bin=${SCHOOLSTAT_BIN:-.build/release/schoolstat}
[ -x "$bin" ] || swift build -c release --static-swift-stdlib
work=bench/work/feedback-$rows
rm -rf "$work"
mkdir -p "$work"

measure() { # measure NAME COMMAND... → "seconds rss_mb"
  local name=$1; shift
  /usr/bin/time -v -o "$work/time-$name" "$bin" "$@" > /dev/null 2>&1 || true
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time-$name" | awk -F: '{ if (NF == 3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$work/time-$name")
  echo "$wall $rss"
}

echo "rows: $rows"
printf '%-28s %10s %10s %10s %10s\n' "" "seconds" "peak MB" "workbooks" "MB written"
for schools in 2000 200; do
  gen="$work/in-$schools"
  "$bin" generate --rows "$rows" --seed 5 --schools "$schools" --out "$gen" > /dev/null
  v=$(measure "validate-$schools" validate "$gen" --rules Rules --quiet --no-history --out "$work/run-$schools")
  f=$(measure "feedback-$schools" feedback "$work/run-$schools" --rules Rules --out "$work/feedback-$schools")
  books=$(find "$work/feedback-$schools" -name '*.xlsx' | wc -l)
  size=$(du -sm "$work/feedback-$schools" | cut -f1)
  printf '%-28s %10s %10s %10s %10s\n' "validate, $schools schools" $v "" ""
  printf '%-28s %10s %10s %10s %10s\n' "feedback, $schools schools" $f "$books" "$size"
done
