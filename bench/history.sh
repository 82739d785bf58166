#!/usr/bin/env bash
# What the run history costs on a large roster: the generated roster (default 4,000,000 rows)
# validated twice with history, 1 % of its rows changed between the runs, next to the same two
# validations with --no-history, measured together. Reports wall time and peak RSS (GNU time) of
# each, and what the second run found changed.
# Usage: bash bench/history.sh [rows]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-4000000}
bin=.build/release/schoolstat
work=bench/work/history-$rows
[ -x "$bin" ] || swift build -c release --static-swift-stdlib
mkdir -p "$work"
gen="bench/work/roster-$rows-history"
[ -f "$gen/teachers.csv" ] || "$bin" generate --rows "$rows" --seed 3 --schools $((rows / 200)) --out "$gen" >/dev/null
rm -rf "$work/in" "$work"/out-* "$work"/*.sqlite* "$work"/time-*
mkdir -p "$work/in"
cp "$gen/teachers.csv" "$work/in/teachers.csv"

measure() { # measure NAME ARGS... → "seconds rss_mb"
  local name=$1; shift
  /usr/bin/time -v -o "$work/time-$name" "$bin" validate "$work/in/teachers.csv" --rules Rules --quiet "$@" > /dev/null 2>&1 || true
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time-$name" | awk -F: '{ if (NF == 3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$work/time-$name")
  echo "$wall $rss"
}

first_plain=$(measure first-plain --out "$work/out-plain" --no-history)
first_history=$(measure first-history --out "$work/out-history" --history "$work/history.sqlite")
# 1 % of the rows changed: every hundredth teacher's training hours set out of range.
python3 - "$work/in/teachers.csv" <<'PY'
import sys
path = sys.argv[1]
with open(path, "rb") as f:
    lines = f.read().split(b"\n")
changed = 0
for i in range(1, len(lines)):
    if i % 100 == 0 and lines[i].count(b",") >= 12:
        fields = lines[i].split(b",")
        fields[11] = b"9999"
        lines[i] = b",".join(fields)
        changed += 1
with open(path, "wb") as f:
    f.write(b"\n".join(lines))
print(f"changed {changed} rows", file=sys.stderr)
PY
second_plain=$(measure second-plain --out "$work/out-plain" --no-history)
second_history=$(measure second-history --out "$work/out-history" --history "$work/history.sqlite")

echo "rows: $rows"
printf '%-32s %10s %10s\n' "" "seconds" "peak MB"
printf '%-32s %10s %10s\n' "first run, no history" $first_plain
printf '%-32s %10s %10s\n' "first run, history" $first_history
printf '%-32s %10s %10s\n' "second run (1 % changed), no history" $second_plain
printf '%-32s %10s %10s\n' "second run (1 % changed), history" $second_history
python3 - "$work/out-history/summary.json" "$work/history.sqlite" <<'PY'
import json, os, sys
c = json.load(open(sys.argv[1]))["changes"]["totals"]
print(f"second run: {c['new']} new, {c['fixed']} fixed, {c['open']} open; history database {os.path.getsize(sys.argv[2]) // (1 << 20)} MB")
PY
