#!/usr/bin/env bash
# Instructions per row, counted by valgrind (callgrind): unlike wall time on a
# shared machine, the count does not depend on what else runs, so two builds
# can be compared to the percent. One worker thread (valgrind runs threads one
# at a time anyway); the fixed start-up is measured on a one-row file and
# subtracted. SHA-256 is libcrypto's; valgrind hides the CPU's SHA instructions
# from it, so its vector code is counted instead (about 3.0 k instructions per row of
# the generated roster).
# Usage: bash bench/instructions.sh [rows] [binary] [rules]     (default 100000, the release build, Rules)
set -euo pipefail
# Swift seeds its hashing per process, which moves the count by about ±100 instructions per row
# from run to run; a fixed seed makes two builds comparable from one run each.
export SWIFT_DETERMINISTIC_HASHING=1
cd "$(dirname "$0")/.."
rows=${1:-100000}
bin=${2:-.build/release/schoolstat}
rules=${3:-Rules}
work=bench/work
mkdir -p "$work"
if ! command -v valgrind >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq valgrind
fi
[ -x "$bin" ] || swift build -c release --static-swift-stdlib
cc -O2 -o "$work/parse_only" bench/parse_only.c -lcsv
dir="$work/roster-$rows-500"
[ -f "$dir/teachers.csv" ] || "$bin" generate --rows "$rows" --seed 1 --schools 500 --out "$dir" >/dev/null
head -2 "$dir/teachers.csv" > "$work/one-row.csv"
# valgrind reads the symbols of a binary without its debug sections much faster.
stripped="$work/stripped-$$"
strip --strip-debug -o "$stripped" "$bin"
trap 'rm -f "$stripped" "$work"/instructions-history-$$.sqlite*; rm -rf "$work/out-instructions-$$"' EXIT

count() { # count COMMAND... → instructions executed (validate exits 1 when it finds errors: expected)
  { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null || true; } \
    | awk '/I[ ]+refs:/ { gsub(",", "", $NF); print $NF }'
}
# The row pass only: the run history's cost grows with findings, not rows, and bench/history.sh
# measures it (HISTORY=1 counts it here too).
history=(--no-history); [ -n "${HISTORY:-}" ] && history=(--history "$work/instructions-history-$$.sqlite")
validate=("$stripped" validate --rules "$rules" --out "$work/out-instructions-$$" --quiet --threads 1 "${history[@]}")

parse_n=$(count "$work/parse_only" "$dir/teachers.csv")
parse_1=$(count "$work/parse_only" "$work/one-row.csv")
ours_n=$(count "${validate[@]}" "$dir/teachers.csv")
ours_1=$(count "${validate[@]}" "$work/one-row.csv")
awk -v r="$rows" -v pn="$parse_n" -v p1="$parse_1" -v on="$ours_n" -v o1="$ours_1" 'BEGIN {
  p = (pn - p1) / (r - 1); o = (on - o1) / (r - 1)
  printf "%-22s %16s %16s %14s\n", "", "instructions", "start-up", "per row"
  printf "%-22s %16.0f %16.0f %14.0f\n", "libcsv parse only", pn, p1, p
  printf "%-22s %16.0f %16.0f %14.0f\n", "schoolstat validate", on, o1, o
  printf "per row, schoolstat / parse only: %.1f\n", o / p
}'
