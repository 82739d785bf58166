"""Writes the sample county (Samples/) in the other forms a county hands its data over in, for the
test that every form gives the same rows and values:

  csv/           each sample file as UTF-8 CSV (bytes the sample's encoding cannot decode, one
                 of its planted mistakes, become U+FFFD here as in a workbook)
  county.xlsx    one workbook: a notes sheet (填表说明) first, then a sheet per sample file
  separate/      one .xlsx workbook per sample file
  county.xls     the same workbook as Excel 97-2003 (BIFF8, written by xlwt)

Every cell is written as the text the CSV holds, as a clerk's Excel keeps it when the columns are
formatted as text. Needs openpyxl and xlwt (pip install openpyxl xlwt); the files it writes are
committed, so the tests need neither.
"""
import csv, os
import openpyxl, xlwt

here = os.path.dirname(os.path.abspath(__file__))
samples = os.path.abspath(os.path.join(here, "../../../../Samples"))
# Each sample file, the encoding and delimiter it was exported with, and the sheet it becomes.
SOURCES = [
    ("schools.csv", "utf-8-sig", ",", "学校基本情况"),
    ("teachers.csv", "gb18030", ",", "教师名册"),
    ("school_31500/teachers_unicode.txt", "utf-16", "\t", "教师名册（31500）"),
    ("county_finance.csv", "utf-8", ",", "县级财政"),
]
NOTES = [["填表说明"], ["1. 每张表的第一行为表头，请勿改动。"], ["2. 身份证号请按文本格式填写。"]]


def rows(name, encoding, delimiter):
    with open(os.path.join(samples, name), encoding=encoding, errors="replace", newline="") as f:
        return list(csv.reader(f, delimiter=delimiter))


tables = [(sheet, rows(name, enc, delim), os.path.splitext(os.path.basename(name))[0]) for name, enc, delim, sheet in SOURCES]


def fill(ws, data):
    for r in data:
        ws.append(r if r else [None])
        # Text that starts with "=" stays text, as in a column formatted as text (openpyxl would
        # otherwise store it as a formula with no result).
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"


os.makedirs(os.path.join(here, "csv"), exist_ok=True)
for sheet, data, base in tables:
    with open(os.path.join(here, "csv", base + ".csv"), "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(data)

book = openpyxl.Workbook()
book.active.title = "填表说明"
fill(book.active, NOTES)
for sheet, data, _ in tables:
    fill(book.create_sheet(sheet), data)
book.save(os.path.join(here, "county.xlsx"))

os.makedirs(os.path.join(here, "separate"), exist_ok=True)
for sheet, data, base in tables:
    single = openpyxl.Workbook()
    single.active.title = sheet
    fill(single.active, data)
    single.save(os.path.join(here, "separate", base + ".xlsx"))

legacy = xlwt.Workbook(encoding="utf-8")
for sheet, data in [("填表说明", NOTES)] + [(s, d) for s, d, _ in tables]:
    ws = legacy.add_sheet(sheet)
    for i, r in enumerate(data):
        for j, value in enumerate(r):
            if value != "":
                ws.write(i, j, value)
legacy.save(os.path.join(here, "county.xls"))
