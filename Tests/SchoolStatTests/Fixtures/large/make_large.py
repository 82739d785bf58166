"""Writes the large files the bounded-memory tests check, streamed so that writing them takes
little memory.

  make_large.py workbook PATH ROWS   a roster workbook of one teacher's row copied down ROWS times,
                                     only the teacher number counting up, with the same two mistakes
                                     on every row (no ID number, a birth date of month 13): six
                                     megabytes that inflate to a million rows (385 MB of XML, a
                                     ratio of 61, under the reader's zip-bomb ratio of 100)
  make_large.py errors PATH ROWS     a UTF-8 roster CSV in which every row has a mistake of its own
                                     (an ID number whose check digit is wrong, each one different)
"""
import sys, zipfile

HEADER = ["教师编号", "姓名", "身份证号", "学校标识码", "性别", "出生日期", "最高学历", "教师资格证", "年工资收入（万元）"]


def row(number, cells, wage=""):
    tail = f"<c><v>{wage}</v></c>" if wage else ""
    return f'<row r="{number}">' + "".join(f'<c t="inlineStr"><is><t>{cell}</t></is></c>' for cell in cells) + tail + "</row>"


def workbook(path, rows):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                   '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                   'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="名册" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'.encode())
            f.write(row(1, HEADER).encode())
            chunk = []
            for i in range(1, rows + 1):
                chunk.append(row(i + 1, ["T%07d" % i, "王芳", "", "3150010001", "女", "1980-13-05", "本科", "是"], "15.4203"))
                if len(chunk) == 10000:
                    f.write("".join(chunk).encode())
                    chunk = []
            f.write("".join(chunk).encode())
            f.write(b"</sheetData></worksheet>")


def id_number(i):
    """An 18-digit ID number whose check digit is wrong, a different one for each i."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    body = "500110" + "19%02d%02d%02d" % (60 + i % 30, 1 + i // 30 % 12, 1 + i // 360 % 28) + "%03d" % (i // 10080 % 1000)
    right = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    wrong = "0" if right != "0" else "1"
    return body + wrong


def errors(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(HEADER) + "\r\n")
        for i in range(1, rows + 1):
            f.write("T%07d,王芳%d,%s,3150010001,女,1980-01-05,本科,是,15.4203\r\n" % (i, i % 100, id_number(i)))


if __name__ == "__main__":
    kind, path, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    {"workbook": workbook, "errors": errors}[kind](path, rows)
