#!/usr/bin/env bash
# Two builds timed on the same generated roster, their runs interleaved (parse-only pass, before,
# after; then again) so that a slow spell of this shared machine falls on both alike. Prints, for
# each, the fastest and the mean wall time, the fastest and the mean user CPU time, and the largest
# peak RSS. Compare the two lines, not the seconds of another day.
# Usage: bash bench/compare-speed.sh BEFORE_BINARY AFTER_BINARY [rows]     (default 400000; REPS=N rounds, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:?before binary}; after=${2:?after binary}
rows=${3:-400000}; reps=${REPS:-10}
work=bench/work
mkdir -p "$work"
cc -O2 -o "$work/parse_only" bench/parse_only.c -lcsv
dir="$work/roster-$rows"
[ -f "$dir/teachers.csv" ] || "$before" generate --rows "$rows" --seed 1 --schools 2000 --out "$dir" >/dev/null
times=$(mktemp)
trap 'rm -f "$times"; rm -rf "$work/out-speed-$$"' EXIT
for _ in $(seq "$reps"); do
  /usr/bin/time -f "parse %e %U %M" -a -o "$times" "$work/parse_only" "$dir/teachers.csv" >/dev/null 2>&1 || true
  for which in before after; do
    bin=$before; [ "$which" = after ] && bin=$after
    rm -rf "$work/out-speed-$$"
    # validate exits 1 when it finds errors (expected); time then adds a line of its own.
    /usr/bin/time -f "$which %e %U %M" -a -o "$times" "$bin" validate "$dir/teachers.csv" --rules Rules \
      --out "$work/out-speed-$$" --quiet --no-history >/dev/null 2>&1 || true
  done
done
echo "$rows rows, $reps rounds:"
for which in parse before after; do
  grep "^$which " "$times" | awk -v k="$which" '
    { n++; w += $2; u += $3; if (n == 1 || $2 < bw) bw = $2; if (n == 1 || $3 < bu) bu = $3; if ($4 > m) m = $4 }
    END { printf "  %-6s wall fastest %6.2f s, mean %6.2f s; user CPU fastest %6.2f s, mean %6.2f s; peak RSS %6.1f MB\n", k, bw, w / n, bu, u / n, m / 1024 }'
done
