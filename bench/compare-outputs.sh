#!/usr/bin/env bash
# Do two builds write the same outputs? Runs each binary on Samples/ (validate --score, then
# score, in Chinese and English, text and JSON), on the Samples with a previous period and on the
# generated 20,000- and 400,000-row rosters, then compares every output file byte for byte and the
# console output line for line. The run id is fixed (--run-id); the only lines set aside are the
# timings in summary.json ("*_seconds"), the output path in console messages and the run id of an
# evaluation's marker, which is made from the clock.
# Usage: bash bench/compare-outputs.sh BEFORE_BINARY AFTER_BINARY        (exit 0: identical)
set -uo pipefail
cd "$(dirname "$0")/.."
before=${1:?before binary}; after=${2:?after binary}
work=$(mktemp -d "${TMPDIR:-/tmp}/schoolstat-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT
rosters=bench/work
for rows in 20000 400000; do
  d="$rosters/roster-$rows-compare"
  [ -f "$d/teachers.csv" ] || "$before" generate --rows "$rows" --seed 7 --schools $((rows / 200)) --out "$d" >/dev/null
done

run_all() { # run_all BINARY DIR
  local bin=$1 o=$2; mkdir -p "$o"
  local r=(--rules Rules --run-id compare)
  "$bin" validate Samples "${r[@]}" --out "$o/samples" --score > "$o/samples.stdout" 2> "$o/samples.stderr"; echo "exit $?" >> "$o/samples.stdout"
  "$bin" validate Samples "${r[@]}" --out "$o/samples-en" --lang en --format json --max-messages 500 > "$o/samples-en.stdout" 2> "$o/samples-en.stderr"; echo "exit $?" >> "$o/samples-en.stdout"
  "$bin" validate Samples "${r[@]}" --out "$o/samples-prev" --previous "$o/samples" --profile yubei > "$o/samples-prev.stdout" 2> "$o/samples-prev.stderr"; echo "exit $?" >> "$o/samples-prev.stdout"
  "$bin" score "$o/samples" --rules Rules --out "$o/samples-score" > "$o/score.stdout" 2> "$o/score.stderr"; echo "exit $?" >> "$o/score.stdout"
  for rows in 20000 400000; do
    "$bin" validate "$rosters/roster-$rows-compare" "${r[@]}" --out "$o/roster-$rows" --quiet --score > "$o/roster-$rows.stdout" 2> "$o/roster-$rows.stderr"; echo "exit $?" >> "$o/roster-$rows.stdout"
  done
  # set aside what depends on the clock
  find "$o" -name summary.json -exec sed -i -E '/"[a-z_]+_seconds" : /d' {} +
  find "$o" -name '*.std*' -exec sed -i -E "s#$o#OUT#g; s/[0-9]+\.[0-9]+ ?(s|秒)\b/TIME/g; /\"[a-z_]+_seconds\" ?: /d" {} +
  find "$o" -path '*evaluation/.schoolstat-run' -o -path '*-score/.schoolstat-run' | xargs sed -i -E 's/"run_id":"[^"]*"/"run_id":"X"/' 
}
run_all "$before" "$work/before"
run_all "$after" "$work/after"
if diff -r "$work/before" "$work/after" > "$work/diff.txt"; then
  files=$(find "$work/after" -type f | wc -l)
  bytes=$(find "$work/after" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
  echo "identical: $files files, $bytes bytes"
else
  head -60 "$work/diff.txt"; echo "DIFFERENT"; exit 1
fi
