#!/usr/bin/env bash
# Speed of `schoolstat validate` on generated rosters, next to libcsv parsing
# the same file (the floor) and, with --peers, the same checks in Polars and
# DuckDB. One run, same files, same machine: compare the ratios, not the seconds.
# Usage: bash bench/run.sh [--peers] [rows ...]      (default rows: 400000 4000000; REPS=N runs each, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
peers=0
if [ "${1:-}" = "--peers" ]; then peers=1; shift; fi
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(400000 4000000)
bin=.build/release/schoolstat
work=bench/work
mkdir -p "$work"
[ -x "$bin" ] || swift build -c release
cc -O2 -o "$work/parse_only" bench/parse_only.c -lcsv
py=bench/.venv/bin/python
base=0

reps=${REPS:-3}

# measure LABEL ROWS BYTES COMMAND...: prints one table row; the parse-only time is the base of the ratios.
# Each command runs $reps times (REPS=3 by default) and the fastest run is reported, with its peak
# memory: the machine is shared, and the fastest run is the one least disturbed by others.
measure() {
  local label=$1 rows=$2 bytes=$3; shift 3
  local secs="" kb="" s k
  for _ in $(seq "$reps"); do
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>&1 || true
    read -r s k < <(tail -1 "$work/time.txt")   # time adds a line when the command exits non-zero
    if [ -z "$secs" ] || awk -v a="$s" -v b="$secs" 'BEGIN { exit !(a < b) }'; then secs=$s; kb=$k; fi
  done
  [ "$base" = 0 ] && base=$secs
  awk -v l="$label" -v r="$rows" -v b="$bytes" -v s="$secs" -v k="$kb" -v base="$base" 'BEGIN {
    printf "| %-20s | %9s | %8.2f | %11.0f | %7.1f | %8.1f | %7.2f |\n", l, r, s, r / s, b / s / 1048576, k / 1024, s / base }'
}

echo "| tool | rows | seconds | rows/s | MB/s | peak MB | × parse |"
echo "|---|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  dir="$work/roster-$n-2000"
  [ -f "$dir/teachers.csv" ] || "$bin" generate --rows "$n" --seed 1 --schools 2000 --out "$dir" >/dev/null
  bytes=$(stat -c %s "$dir/teachers.csv")
  base=0
  measure "libcsv parse only" "$n" "$bytes" "$work/parse_only" "$dir/teachers.csv"
  measure "schoolstat validate" "$n" "$bytes" "$bin" validate "$dir/teachers.csv" --rules Rules --out "$work/out-$n" --quiet
  if [ $peers = 1 ]; then
    measure "Polars (2 threads)" "$n" "$bytes" "$py" bench/peers/checks_polars.py "$dir/teachers.csv" "$work/polars-$n"
    measure "DuckDB (2 threads)" "$n" "$bytes" "$py" bench/peers/checks_duckdb.py "$dir/teachers.csv" "$work/duckdb-$n"
  fi
done
