#!/usr/bin/env bash
# The clerk's page end to end: a 2,000-row workbook posted to `schoolstat serve`, checked and
# annotated, and the answer (problems and annotated workbook) received — upload to download —
# timed with curl, next to the same check and annotation by `schoolstat check` in the same run.
# The server's peak memory is read from GNU time when it stops.
# Usage: bash bench/check-page.sh [rows] [requests]        (default 2000 rows, 7 requests)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-2000}
requests=${2:-7}
bin=.build/release/schoolstat
work=bench/work/check-page
[ -x "$bin" ] || swift build -c release --static-swift-stdlib
mkdir -p "$work"
# A roster of one school, as the workbook a clerk's Excel saves (the generator's planted mistakes included).
"$bin" generate --rows "$rows" --seed 7 --schools 1 --out "$work/gen" >/dev/null
/usr/bin/python3 - "$work/gen/teachers.csv" "$work/roster.xlsx" <<'PY'
import csv, sys, openpyxl
book = openpyxl.Workbook()
sheet = book.active
with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
    for row in csv.reader(f):
        sheet.append(row)
book.save(sys.argv[2])
PY
/usr/bin/time -v -o "$work/server-time.txt" "$bin" serve --port 0 --rules Rules > "$work/server.out" 2>&1 &
timer=$!
for _ in $(seq 100); do grep -q "http://" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$work/server.out" | head -1)
times=()
for i in $(seq "$requests"); do
  t=$(curl -s -o "$work/answer.json" -w '%{time_total}' -X POST --data-binary @"$work/roster.xlsx" "${url}api/check?name=roster.xlsx")
  times+=("$t")
done
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['workbook'] and d['files'][0]['rows_read'] > 0; print('answer: %d rows read, %d errors, %d warnings, workbook %d KB (base64)' % (d['files'][0]['rows_read'], d['errors'], d['warnings'], len(d['workbook'])//1024))" "$work/answer.json"
kill -INT "$(pgrep -P "$timer" -f 'schoolstat serve' || echo "$timer")" 2>/dev/null || true
wait "$timer" 2>/dev/null || true
cli=()
for i in $(seq "$requests"); do
  rm -f "$work/cli.xlsx"
  s=$(date +%s.%N)
  "$bin" check "$work/roster.xlsx" --rules Rules --annotate "$work/cli.xlsx" >/dev/null || true
  e=$(date +%s.%N)
  cli+=("$(echo "$e - $s" | bc)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
page=$(median "${times[@]}")
check=$(median "${cli[@]}")
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/server-time.txt")
echo "rows: $rows, requests: $requests"
echo "page, upload to download (median): ${page} s"
echo "schoolstat check --annotate (median): ${check} s   ratio page/check: $(echo "scale=2; $page / $check" | bc)"
echo "server peak RSS after $requests requests: $((rss / 1024)) MB"
