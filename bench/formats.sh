#!/usr/bin/env bash
# The same roster handed over as CSV, as an .xlsx workbook and as a legacy .xls workbook (split
# over sheets of at most 65,535 rows, Excel 97-2003's bound), validated by the release build:
# time and peak memory of each, in one run, and the rows read, clean and rejected, which must
# agree. The workbooks are written by openpyxl and xlwt from bench/.venv (installed when missing).
# Usage: bash bench/formats.sh [rows]        (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-200000}
bin=.build/release/schoolstat
work=bench/work/formats
py=bench/.venv/bin/python
[ -x "$bin" ] || swift build -c release --static-swift-stdlib
[ -x "$py" ] || python3 -m venv bench/.venv
"$py" -c "import openpyxl, xlwt" 2>/dev/null || bench/.venv/bin/pip install -q openpyxl xlwt
mkdir -p "$work"
[ -f "$work/gen-$rows/teachers.csv" ] || "$bin" generate --rows "$rows" --seed 3 --schools 200 --out "$work/gen-$rows" >/dev/null
if [ ! -f "$work/roster-$rows.xls" ]; then
  "$py" - "$work/gen-$rows/teachers.csv" "$work/roster-$rows.xlsx" "$work/roster-$rows.xls" <<'PY'
import csv, sys, openpyxl, xlwt
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
book = openpyxl.Workbook(write_only=True)
sheet = book.create_sheet("教师名册")
for r in rows:
    sheet.append(r)
book.save(sys.argv[2])
legacy = xlwt.Workbook(encoding="utf-8")
header, body = rows[0], rows[1:]
for part in range(0, len(body), 65535):
    ws = legacy.add_sheet("教师名册%d" % (part // 65535 + 1))
    for i, r in enumerate([header] + body[part:part + 65535]):
        for j, v in enumerate(r):
            if v != "":
                ws.write(i, j, v)
legacy.save(sys.argv[3])
PY
fi
printf '%-34s %10s %10s %10s %10s %10s\n' form seconds "peak MB" read clean rejected
for input in "$work/gen-$rows/teachers.csv" "$work/roster-$rows.xlsx" "$work/roster-$rows.xls"; do
  rm -rf "$work/out"
  /usr/bin/time -f '%e %M' -o "$work/time.txt" "$bin" validate "$input" --rules Rules --out "$work/out" --quiet --no-history --as-of 2024-09-30 >/dev/null 2>&1 || true
  read -r s k < <(tail -1 "$work/time.txt")
  counts=$(python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['tables']['teachers']; print(t['rows_read'], t['rows_clean'], t['rows_rejected'])" "$work/out/summary.json")
  printf '%-34s %10s %10d %10s %10s %10s\n' "$(basename "$input") ($(du -h "$input" | cut -f1))" "$s" $((k / 1024)) $counts
done
