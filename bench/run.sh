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
[ -x "$bin" ] || swift build -c release --static-swift-stdlib
cc -O2 -o "$work/parse_only" bench/parse_only.c -lcsv
py=bench/.venv/bin/python

reps=${REPS:-3}

# Each command runs $reps times (REPS=3 by default) and the fastest run is reported, with its
# peak memory. The runs of the commands for one size are interleaved (first run of each, then
# the second of each...), so that a slow spell of this shared machine falls on all of them
# alike, and the fastest run is the one least disturbed by others.
declare -A best_s best_kb
run_once() {   # run_once KEY COMMAND...: times one run, keeps the fastest per KEY
  local key=$1; shift
  local s k
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>&1 || true
  read -r s k < <(tail -1 "$work/time.txt")   # time adds a line when the command exits non-zero
  if [ -z "${best_s[$key]:-}" ] || awk -v a="$s" -v b="${best_s[$key]}" 'BEGIN { exit !(a < b) }'; then
    best_s[$key]=$s; best_kb[$key]=$k
  fi
}
# row LABEL KEY ROWS BYTES: prints one table row; the parse-only time is the base of the ratios.
row() {
  local label=$1 key=$2 rows=$3 bytes=$4
  awk -v l="$label" -v r="$rows" -v b="$bytes" -v s="${best_s[$key]}" -v k="${best_kb[$key]}" -v base="${best_s[parse]}" 'BEGIN {
    printf "| %-20s | %9s | %8.2f | %11.0f | %7.1f | %8.1f | %7.2f |\n", l, r, s, r / s, b / s / 1048576, k / 1024, s / base }'
}

echo "| tool | rows | seconds | rows/s | MB/s | peak MB | × parse |"
echo "|---|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  dir="$work/roster-$n-2000"
  [ -f "$dir/teachers.csv" ] || "$bin" generate --rows "$n" --seed 1 --schools 2000 --out "$dir" >/dev/null
  bytes=$(stat -c %s "$dir/teachers.csv")
  best_s=(); best_kb=()
  for _ in $(seq "$reps"); do
    run_once parse "$work/parse_only" "$dir/teachers.csv"
    # The same checks as the peers: no run history (bench/history.sh measures it).
    run_once schoolstat "$bin" validate "$dir/teachers.csv" --rules Rules --out "$work/out-$n" --quiet --no-history
    if [ $peers = 1 ]; then
      run_once polars "$py" bench/peers/checks_polars.py "$dir/teachers.csv" "$work/polars-$n"
      run_once duckdb "$py" bench/peers/checks_duckdb.py "$dir/teachers.csv" "$work/duckdb-$n"
    fi
  done
  row "libcsv parse only" parse "$n" "$bytes"
  row "schoolstat validate" schoolstat "$n" "$bytes"
  if [ $peers = 1 ]; then
    row "Polars (2 threads)" polars "$n" "$bytes"
    row "DuckDB (2 threads)" duckdb "$n" "$bytes"
    # The peers must find what schoolstat finds, row for row, or the comparison means nothing.
    for peer in polars duckdb; do
      "$py" bench/peers/same_findings.py "$work/out-$n" "$work/$peer-$n" >&2 || echo "(the $peer checks differ from schoolstat's: see above)" >&2
    done
  fi
done
