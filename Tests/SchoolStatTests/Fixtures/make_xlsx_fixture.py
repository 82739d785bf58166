#!/usr/bin/env python3
"""Writes reading/teachers.xlsx with openpyxl, as a school clerk's Excel would:
a title row, a header, text and numeric cells, a real date cell, an empty cell,
an empty row, and a traditional-character name. (pip install openpyxl)"""
import datetime
from pathlib import Path
import openpyxl

wb = openpyxl.Workbook()
ws = wb.active
ws.title = "教师名册"
ws.append(["万盛经开区教师名册（2024年）"])
ws.append(["教师编号", "姓名", "身份证号", "学校标识码", "性别", "出生日期", "最高学历", "教师资格证", "年工资收入（万元）"])
ws.append(["T0000001", "王芳", "11010519491231002X", "3150010001", "女", "1949-12-31", "本科", "是", 15.4203])
ws.append(["T0000002", "陳小明", "500110198604120015", 3150010001, "男", datetime.date(1986, 4, 12), "大专", "Y", 12.5])
ws.append([])
ws.append(["T0000003", "李娜", "500110199001010022", "3150010001", "女", "1990年1月1日", "研究生", None, "13.8万"])
# A second sheet that must not be read.
other = wb.create_sheet("说明")
other.append(["本表由学校统计员填写"])
wb.save(Path(__file__).resolve().parent / "reading" / "teachers.xlsx")
print("xlsx fixture written")

# The same roster written the way Excel itself writes it: shared strings (one
# of them rich text, one with a phonetic guide), a boolean cell and a formula's
# cached text result. Built by hand with zipfile so the XML is exactly Excel's form.
import zipfile
shared = ["教师编号", "姓名", "身份证号", "学校标识码", "性别", "出生日期", "最高学历", "教师资格证",
          "T0000001", "王芳", "11010519491231002X", "3150010001", "女", "1949-12-31", "本科"]
si = "".join(f"<si><t>{s}</t></si>" for s in shared)
si += "<si><r><t>陳小</t></r><r><rPr><b/></rPr><t>明</t></r><rPh sb=\"0\" eb=\"1\"><t>チン</t></rPh></si>"   # index 15, rich text
def c(ref, idx): return f'<c r="{ref}" t="s"><v>{idx}</v></c>'
sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
         '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
         '<row r="1">' + "".join(c(f"{chr(65 + i)}1", i) for i in range(8)) + '</row>'
         '<row r="2">' + "".join(c(f"{chr(65 + i)}2", 8 + i) for i in range(7)) + '<c r="H2" t="b"><v>1</v></c></row>'
         '<row r="4"><c r="A4" t="str"><f>"T"&amp;"0000002"</f><v>T0000002</v></c>' + c("B4", 15) +
         '<c r="C4" t="inlineStr"><is><t>500110198604120015</t></is></c><c r="D4"><v>3150010001</v></c>' + c("E4", 12) +   # 女, but the ID number says male: a finding on Excel row 4
         
         '<c r="F4" s="1"><v>31514</v></c>' + c("G4", 14) + '<c r="H4" t="b"><v>0</v></c></row>'
         '</sheetData></worksheet>')
files = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId3"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    "xl/sharedStrings.xml": f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{si}</sst>',
    "xl/worksheets/sheet1.xml": sheet,
}
with zipfile.ZipFile(Path(__file__).resolve().parent / "reading" / "teachers_shared_strings.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
    for name, text in files.items():
        z.writestr(name, text)
(Path(__file__).resolve().parent / "reading" / "not_really.xlsx").write_bytes("教师编号,姓名\nT1,王芳\n".encode("utf-8"))
