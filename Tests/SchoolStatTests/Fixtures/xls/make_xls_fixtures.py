#!/usr/bin/env python3
"""Writes the legacy Excel 97-2003 (.xls) fixtures next to this script.

    pip install xlwt          # BIFF8 workbooks, as Excel 97-2003 saves them
    python3 make_xls_fixtures.py

The .xls files are committed: the tests need neither xlwt nor LibreOffice.

- roster.xls     one sheet 教师名册 with the header of check/roster_gbk.csv: Chinese text, an
                 18-digit ID number and a 10-digit school code stored as text, date-formatted
                 birth dates, integers, 12.5, a double that is 0.1 + 0.2, a large whole number,
                 a date and time, a boolean, an error, formulas with a cached number, text and
                 error, an empty row and trailing blank (formatted) cells.
- sheets.xls     填表说明 (notes) first, then 教师名册, then a hidden sheet 内部数据.
- annotated.xls  问题清单 first (the sheet schoolstat's annotated copy puts first), then 教师名册.
- encrypted.xls  biff5_gbk.xls with a FILEPASS record (Excel 95's password obfuscation) after its
                 BOF; the records after it are left plain: the reader refuses a workbook on that
                 record alone, whatever follows.
- oversized.xls  biff5_gbk.xls whose sheets declare 65,535 columns in a second DIMENSIONS record
                 (FreeXL, left to itself, fails to size the cells and then crashes freeing them).
- short_dimensions.xls  biff5_gbk.xls with a DIMENSIONS record of no bytes after a record whose
                 body reads as 65,535 by 65,535 (FreeXL, left to itself, sizes the cells from
                 what the record before left in its buffer, fails, and crashes).
- merged.xls     the teacher roster of the workbook tests (WorkbookBuilder in
                 HostileWorkbookTests.swift, the same header and teachers 1–5) under a group row
                 基本信息 / 学历与资格 merged across A1:D1 and E1:I1, with the school code written
                 once and merged down over the five teachers (D3:D7), as county rosters often have it.
- damaged.xls    roster.xls cut off after its first 2,600 bytes.
- not_excel.xls  a CSV file named .xls.
- biff5_gbk.xls  Excel 5.0/95 (BIFF5) as a Chinese Excel 95 saved it: CODEPAGE 936, sheet names
                 and text in GBK, a "Book" stream. Neither xlwt (BIFF8 only) nor LibreOffice
                 (7.4 imports Excel 95 but no longer exports it) writes BIFF5, so the records
                 are built here and put in xlwt's compound file: sheets 教师名册 and 说明; on
                 教师名册 a header, text, a date (built-in format 14), 12.5, 92, and formulas
                 with cached GBK text and a cached number.
"""
import datetime
import io
import struct
from pathlib import Path

import xlwt
from xlwt.CompoundDoc import XlsDoc

HERE = Path(__file__).resolve().parent
# The header of check/roster_gbk.csv, word for word.
HEADER = (HERE.parent / "check" / "roster_gbk.csv").read_text(encoding="gbk").splitlines()[0].split(",")
DATE = xlwt.easyxf(num_format_str="YYYY-MM-DD")
DATETIME = xlwt.easyxf(num_format_str="YYYY-MM-DD hh:mm:ss")
TEXT = xlwt.easyxf(num_format_str="@")


# The cached results of formula cells, by (row, column): xlwt writes a formula with no result
# (Excel computes it on opening); Excel saves one with its last result, as here.
CACHED = {(4, 6): 3.0, (4, 7): "本科", (4, 10): ("error", 0x07)}


def formula_with_result(cell):
    value = CACHED.get((cell.rowx, cell.colx))
    tail = b""
    if isinstance(value, float):
        result = struct.pack("<d", value)
    elif isinstance(value, str):
        result = struct.pack("<BBBBHH", 0, 0, 0, 0, 0, 0xFFFF)
        text = value.encode("utf-16-le")
        tail = record(0x0207, struct.pack("<HB", len(value), 1) + text)
    elif isinstance(value, tuple):
        result = struct.pack("<BBBBHH", 2, 0, value[1], 0, 0, 0xFFFF)
    else:
        result = struct.pack("<BBBBHH", 3, 0, 0, 0, 0, 0xFFFF)
    body = struct.pack("<3H", cell.rowx, cell.colx, cell.xf_idx) + result + struct.pack("<HL", cell.calc_flags & 3, 0) + cell.frmla.rpn()
    return record(0x0006, body) + tail


xlwt.Cell.FormulaCell.get_biff_data = formula_with_result


def roster(ws):
    for c, h in enumerate(HEADER):
        ws.write(0, c, h)
    rows = [
        ["T500110001", "黄洋", "500110197102110111", "3150010001", "男", datetime.date(1971, 2, 11),
         "小学", "本科", "是", "语文", "无", 120, 12.5],
        ["T500110002", "胡超梅", "500110197203120204", "3150010001", "女", datetime.date(1972, 3, 12),
         "小学", "本科", "是", "语文", "无", 96, 0.1 + 0.2],
    ]
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            ws.write(r, c, v, DATE if isinstance(v, datetime.date) else TEXT if isinstance(v, str) else xlwt.Style.default_style)
    # Row 4 (index 3) left empty. Row 5: numbers not stored as text, a date and time, a boolean,
    # and blank but formatted cells after the last value.
    ws.write(4, 0, "T500110003")
    ws.write(4, 1, "陳小明")
    ws.write(4, 2, "50011019860412001X")
    ws.write(4, 3, 3150010001)
    ws.write(4, 4, "男")
    ws.write(4, 5, datetime.datetime(1986, 4, 12, 8, 30, 0), DATETIME)
    ws.write(4, 6, xlwt.Formula("1+2"))          # cached result 3
    ws.write(4, 7, xlwt.Formula("\"本\"&\"科\""))  # cached text result 本科
    ws.write(4, 8, True)
    ws.row(4).set_cell_error(9, 0x2A)  # #N/A
    ws.write(4, 10, xlwt.Formula("1/0"))          # cached error #DIV/0!
    ws.write(4, 11, -3)
    ws.write(4, 12, 15.4203)
    ws.write(4, 13, "", TEXT)
    ws.write(4, 14, None, DATE)


# The header and teachers of WorkbookBuilder (HostileWorkbookTests.swift), computed the same way.
BUILDER_HEADER = ["教师编号", "姓名", "身份证号", "学校标识码", "性别", "出生日期", "最高学历", "教师资格证", "年工资收入（万元）"]


def builder_teacher(i):
    k = i // 99
    birth = "%04d%02d%02d" % (1975 + k // 336, 1 + (k // 28) % 12, 1 + k % 28)
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    body = "500110" + birth + "%02d" % (i % 99) + "2"
    total = sum(int(d) * w for d, w in zip(body, weights))
    ident = body + "10X98765432"[total % 11]
    date = birth[:4] + "-" + birth[4:6] + "-" + birth[6:]
    return ["T%07d" % i, "王芳", ident, "3150010001", "女", date, "本科", "是", "15.4203"]


def merged(ws):
    ws.write_merge(0, 0, 0, 3, "基本信息")
    ws.write_merge(0, 0, 4, 8, "学历与资格")
    for c, h in enumerate(BUILDER_HEADER):
        ws.write(1, c, h)
    for i in range(1, 6):
        for c, v in enumerate(builder_teacher(i)):
            if c != 3:
                ws.write(i + 1, c, v, TEXT)
    ws.write_merge(2, 6, 3, 3, "3150010001", TEXT)


def record(kind, body):
    return struct.pack("<HH", kind, len(body)) + body


def biff5_gbk(encrypted=False, oversized=False, short_dimensions=False):
    """A BIFF5 workbook stream: globals (BOF, CODEPAGE 936, DATEMODE, fonts, XFs,
    BOUNDSHEETs, EOF), then each sheet (BOF, DIMENSIONS, cells, EOF)."""
    gbk = lambda s: s.encode("gbk")
    sheets = {
        "教师名册": [
            (0, 0, "教师编号"), (0, 1, "姓名"), (0, 2, "学校名称"), (0, 3, "出生日期"), (0, 4, "年工资收入（万元）"),
            (1, 0, "T500110001"), (1, 1, "黄洋"), (1, 2, "重庆市万盛经开区第一小学"), (1, 3, ("date", 26065)), (1, 4, 12.5),
            (2, 0, "T500110002"), (2, 1, "胡超梅"), (2, 2, "关坝镇中心小学"), (2, 3, ("date", 26370)), (2, 4, 92.0),
            (3, 0, "T500110003"), (3, 1, ("formula", "李娜")), (3, 2, ("formula", "关坝镇中心小学")), (3, 4, ("formula", 13.8)),
        ],
        "说明": [(0, 0, "本表由学校统计员填写")],
    }
    def sheet_stream(cells):
        rows = max(r for r, _, _ in cells) + 1
        cols = max(c for _, c, _ in cells) + 1
        out = record(0x0809, struct.pack("<HHHH", 0x0500, 0x0010, 0x0DBB, 0x07CC))
        out += record(0x0200, struct.pack("<HHHHH", 0, rows, 0, cols, 0))
        if short_dimensions:
            # A record whose body reads as 65,535 by 65,535, then a DIMENSIONS record of no bytes.
            out += record(0x0055, struct.pack("<HHHHH", 0, 0xFFFF, 0, 0xFFFF, 0))
            out += record(0x0200, b"")
        if oversized:
            # A second DIMENSIONS record declaring 65,535 rows by 65,535 columns.
            out += record(0x0200, struct.pack("<HHHHH", 0, 0xFFFF, 0, 0xFFFF, 0))
        for r, c, v in cells:
            if isinstance(v, str):
                out += record(0x0204, struct.pack("<HHHH", r, c, 15, len(gbk(v))) + gbk(v))
            elif isinstance(v, float):
                out += record(0x0203, struct.pack("<HHHd", r, c, 15, v))
            elif v[0] == "date":
                out += record(0x0203, struct.pack("<HHHd", r, c, 16, float(v[1])))
            elif isinstance(v[1], str):
                # A formula ="…" (one tStr token) with its text result in the next STRING record.
                tokens = bytes([0x17, len(gbk(v[1]))]) + gbk(v[1])
                out += record(0x0006, struct.pack("<HHHBBBBHHHLH", r, c, 15, 0, 0, 0, 0, 0, 0xFFFF, 0, 0, len(tokens)) + tokens)
                out += record(0x0207, struct.pack("<H", len(gbk(v[1]))) + gbk(v[1]))
            else:
                # A formula =13.8 (one tNum token) with its result.
                tokens = b"\x1f" + struct.pack("<d", v[1])
                out += record(0x0006, struct.pack("<HHHdHLH", r, c, 15, v[1], 0, 0, len(tokens)) + tokens)
        return out + record(0x000A, b"")
    globals_ = record(0x0809, struct.pack("<HHHH", 0x0500, 0x0005, 0x0DBB, 0x07CC))
    if encrypted:
        globals_ += record(0x002F, struct.pack("<HH", 0x1234, 0xCDEF))  # FILEPASS: XOR key and hash
    globals_ += record(0x0042, struct.pack("<H", 936))
    globals_ += record(0x0022, struct.pack("<H", 0))
    font = struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0x86, 0) + bytes([len(gbk("宋体"))]) + gbk("宋体")
    for _ in range(5):
        globals_ += record(0x0031, font)
    # 15 style XFs, the default cell XF (15) and a date XF (16, format 14).
    style = struct.pack("<HHHHHHHH", 0, 0, 0xFFF5, 0x0020, 0, 0, 0, 0)
    cell = lambda fmt: struct.pack("<HHHHHHHH", 0, fmt, 0x0001, 0x0020, 0, 0, 0, 0)
    globals_ += b"".join(record(0x00E0, style) for _ in range(15)) + record(0x00E0, cell(0)) + record(0x00E0, cell(14))
    boundsheets_len = sum(4 + 4 + 2 + 1 + len(gbk(n)) for n in sheets)
    offset = len(globals_) + boundsheets_len + 4   # + EOF
    streams = [sheet_stream(cells) for cells in sheets.values()]
    for name, stream in zip(sheets, streams):
        globals_ += record(0x0085, struct.pack("<IHB", offset, 0, len(gbk(name))) + gbk(name))
        offset += len(stream)
    globals_ += record(0x000A, b"")
    return globals_ + b"".join(streams)


def compound_file(stream, name):
    """The stream in an OLE compound file (xlwt's writer), its directory entry renamed."""
    out = io.BytesIO()
    XlsDoc().save(out, stream)
    data = bytearray(out.getvalue())
    old = "Workbook\x00".encode("utf-16-le")
    at = data.index(old)
    new = (name + "\x00").encode("utf-16-le")
    data[at:at + 64] = new + bytes(64 - len(new))
    data[at + 64:at + 66] = struct.pack("<H", len(new))
    return bytes(data)


def main():
    wb = xlwt.Workbook(encoding="utf-8")
    roster(wb.add_sheet("教师名册"))
    wb.save(str(HERE / "roster.xls"))

    wb = xlwt.Workbook(encoding="utf-8")
    notes = wb.add_sheet("填表说明")
    notes.write(0, 0, "请按教师名册填写，每位教师一行。")
    notes.write(2, 0, "出生日期请写成 1985-03-02。")
    roster(wb.add_sheet("教师名册"))
    hidden = wb.add_sheet("内部数据")
    hidden.write(0, 0, "学校代码表")
    hidden.visibility = 1  # hidden
    wb.save(str(HERE / "sheets.xls"))

    wb = xlwt.Workbook(encoding="utf-8")
    problems = wb.add_sheet("问题清单")
    problems.write(0, 0, "位置")
    problems.write(0, 1, "问题")
    roster(wb.add_sheet("教师名册"))
    wb.save(str(HERE / "annotated.xls"))

    wb = xlwt.Workbook(encoding="utf-8")
    merged(wb.add_sheet("名册"))
    wb.save(str(HERE / "merged.xls"))

    data = (HERE / "roster.xls").read_bytes()
    (HERE / "damaged.xls").write_bytes(data[:2600])
    (HERE / "not_excel.xls").write_text("教师编号,姓名\nT1,王芳\n", encoding="utf-8")

    (HERE / "biff5_gbk.xls").write_bytes(compound_file(biff5_gbk(), "Book"))
    (HERE / "encrypted.xls").write_bytes(compound_file(biff5_gbk(encrypted=True), "Book"))
    (HERE / "oversized.xls").write_bytes(compound_file(biff5_gbk(oversized=True), "Book"))
    (HERE / "short_dimensions.xls").write_bytes(compound_file(biff5_gbk(short_dimensions=True), "Book"))
    print("xls fixtures written")


if __name__ == "__main__":
    main()
