#!/usr/bin/env python3
"""Writes the reader fixtures: each file is named for what it exercises."""
from pathlib import Path

HERE = Path(__file__).resolve().parent
R = HERE / "reading"
R.mkdir(exist_ok=True)

# A tiny valid roster used in every encoding (IDs carry correct check digits).
ROWS = [
    ["教师编号", "姓名", "身份证号", "学校标识码", "性别", "出生日期", "最高学历", "教师资格证"],
    ["T0000001", "王芳", "11010519491231002X", "3150010001", "女", "1949-12-31", "本科", "是"],
    ["T0000002", "陈小明", "500110198604120015", "3150010001", "男", "1986/4/12", "大专", "Y"],
    ["T0000003", "李娜", "500110199001010022", "3150010001", "女", "1990年1月1日", "研究生", "√"],
]


def join(rows, sep=",", nl="\r\n"):
    return nl.join(sep.join(r) for r in rows) + nl


(R / "encoding_utf8.csv").write_bytes(join(ROWS, nl="\n").encode("utf-8"))
(R / "encoding_utf8_bom.csv").write_bytes(b"\xef\xbb\xbf" + join(ROWS).encode("utf-8"))
(R / "encoding_gb18030.csv").write_bytes(join(ROWS).encode("gb18030"))
(R / "encoding_utf16le_tab.txt").write_bytes(b"\xff\xfe" + join(ROWS, sep="\t").encode("utf-16-le"))
(R / "encoding_utf16be_tab.txt").write_bytes(b"\xfe\xff" + join(ROWS, sep="\t").encode("utf-16-be"))

# Quoted fields holding the delimiter, doubled quotes and line breaks (CRLF file).
(R / "quoted_fields_crlf.csv").write_bytes(
    ('a,b,c\r\n'
     '1,"x, y","say ""hi"""\r\n'
     '2,"line one\r\nline two",z\r\n'
     '3,"three\nlines\nhere",w\r\n'
     '4,plain,last\r\n').encode("utf-8"))

# Old Mac line ends and a last line without a line end.
(R / "cr_only.csv").write_bytes(b"a,b\r1,2\r3,4")
(R / "no_final_newline.csv").write_bytes(b"a,b\n1,2\n3,4")

# Blank lines, a row of only commas, and the header repeated mid-file.
(R / "blank_and_repeated_header.csv").write_bytes(
    join([ROWS[0], ROWS[1], [], [""] * 8, ROWS[0], ROWS[2], [], ROWS[3]], nl="\n").encode("utf-8"))

# Too few fields, too many fields, trailing empty fields.
ragged = [ROWS[0], ROWS[1][:5], ROWS[2] + ["多余"], ROWS[3] + ["", ""]]
(R / "ragged_rows.csv").write_bytes(join(ragged, nl="\n").encode("utf-8"))

# The same column twice, and a column the schema does not know.
dup = [ROWS[0] + ["姓名", "备注"]] + [r + [r[1], "x"] for r in ROWS[1:]]
(R / "duplicate_and_unknown_headers.csv").write_bytes(join(dup, nl="\n").encode("utf-8"))

# A byte that is not valid GB18030 in the middle of a name; other rows intact.
data = join(ROWS).encode("gb18030")
name = "陈小明".encode("gb18030")
(R / "invalid_gb18030_bytes.csv").write_bytes(data.replace(name, name[:2] + b"\xff" + name[2:]))

# Invalid UTF-8 in a file that is otherwise UTF-8.
data = join(ROWS, nl="\n").encode("utf-8")
(R / "invalid_utf8_bytes.csv").write_bytes(data.replace("李娜".encode(), "李".encode() + b"\xc3\x28"))

# A title line above the header, traditional headers with units in brackets.
trad = [["萬盛經開區教師名冊（2024年）"], ["教師編號", "姓名", "身份證號", "學校標識碼", "性別", "出生日期", "最高學歷", "教師資格證", "年工資收入（萬元）"]] + \
       [r + [w] for r, w in zip(ROWS[1:], ["15.4203", "１２.５", "13.8万"])]
(R / "title_row_traditional_headers.csv").write_bytes(join(trad).encode("utf-8"))

# An empty file, and one with only a header.
(R / "empty.csv").write_bytes(b"")
(R / "header_only.csv").write_bytes(join(ROWS[:1]).encode("utf-8"))
print("fixtures written")

# A quote opened and never closed: the rest of the file becomes one value.
(R / "unterminated_quote.csv").write_bytes(join([ROWS[0], ["T0000001", '"王芳'] + ROWS[1][2:], ROWS[2]], nl="\n").encode("utf-8"))
