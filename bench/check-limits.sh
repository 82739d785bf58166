#!/usr/bin/env bash
# The clerk's check and page on files far larger than a school's, with the release build: a
# workbook of one row copied down a million times (6 MB, 385 MB of XML) and a roster of 177,000
# rows with a different mistake on every row (15 MB). For each: `check` with its default limits
# (refused by the row limit), `check --max-rows 0` (checked in full, the annotated workbook
# written), and an upload to `schoolstat serve` followed by a normal one; time and peak memory of
# each, the server's own peak read from /proc as it runs.
# Usage: bash bench/check-limits.sh [rows]      (default 1000000 for the workbook)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
bin=.build/release/schoolstat
work=bench/work/check-limits
[ -x "$bin" ] || swift build -c release --static-swift-stdlib
mkdir -p "$work"
[ -f "$work/copied-$rows.xlsx" ] || python3 Tests/SchoolStatTests/Fixtures/large/make_large.py workbook "$work/copied-$rows.xlsx" "$rows"
[ -f "$work/errors.csv" ] || python3 Tests/SchoolStatTests/Fixtures/large/make_large.py errors "$work/errors.csv" 177000
roster=Tests/SchoolStatTests/Fixtures/check/roster_gbk.csv

measure() { # label, command…: wall time and peak RSS (GNU time)
  local label=$1; shift
  rm -f "$work/a.xlsx"
  /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" > "$work/out.txt" 2>&1 || true
  read -r s k < <(tail -1 "$work/time.txt")
  printf '%-58s %8.2f s %8d MB\n' "$label" "$s" $((k / 1024))
}
echo "files: copied-$rows.xlsx $(du -h "$work/copied-$rows.xlsx" | cut -f1), errors.csv $(du -h "$work/errors.csv" | cut -f1)"
for f in "copied-$rows.xlsx" errors.csv; do
  measure "check $f (default limits)" "$bin" check "$work/$f" --rules Rules --annotate "$work/a.xlsx"
  measure "check $f --max-rows 0 --annotate" "$bin" check "$work/$f" --rules Rules --max-rows 0 --annotate "$work/a.xlsx"
  [ -f "$work/a.xlsx" ] && echo "    annotated workbook $(du -h "$work/a.xlsx" | cut -f1)"
done
measure "validate copied-$rows.xlsx" "$bin" validate "$work/copied-$rows.xlsx" --rules Rules --out "$work/out" --no-history
echo "    ledger.csv $(wc -l < "$work/out/ledger.csv") lines, $(du -h "$work/out" | tail -1 | cut -f1) written"

"$bin" serve --port 0 --rules Rules > "$work/server.out" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "http://" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$work/server.out" | head -1)
for f in "copied-$rows.xlsx" errors.csv roster_gbk.csv; do
  path="$work/$f"; [ "$f" = roster_gbk.csv ] && path=$roster
  t=$(curl -s -o "$work/answer.json" -w '%{http_code} %{time_total}' -X POST --data-binary @"$path" "${url}api/check?name=$f")
  note=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print((d.get('notes_zh') or [d.get('error_zh') or 'errors %d' % d.get('errors', -1)])[0][:60])" "$work/answer.json")
  hwm=$(awk '/VmHWM/ {print int($2/1024)}' /proc/$server/status)
  printf 'serve upload %-24s HTTP %s s   server peak %d MB   %s\n' "$f" "$t" "$hwm" "$note"
done
