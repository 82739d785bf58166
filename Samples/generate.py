#!/usr/bin/env python3
"""Writes the sample county in Samples/ (deterministic: fixed seed).

A small county modelled on 万盛经开区 (seed 003): 30 schools of the kinds the
evaluation method names, a roster of about 1,500 teachers split between a
county-wide GB18030 export and one school's separate UTF-16 "Unicode text"
export with traditional-character headers, and a county finance file with
English headers. Realistic mistakes are planted; Samples/README.md lists them.
"""
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
rng = random.Random(20241)

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def id_number(birth, male, serial):
    body = f"500110{birth}{serial % 500 * 2 + (1 if male else 0):03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


def fullwidth(s):
    return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else c for c in s)


# ---------------------------------------------------------------- schools
SCHOOL_KINDS = (
    [("primary", "小学")] * 13 + [("junior", "初级中学")] * 5 + [("nine_year", "九年一贯制学校")]
    + [("special_education", "特殊教育学校")] + [("teaching_point", "教学点")] * 5
    + [("complete_middle", "完全中学"), ("twelve_year", "十二年一贯制学校"), ("primary", "小学"), ("junior", "初级中学"), ("primary", "小学")]
)
NAMES = ["万盛", "青年", "丛林", "南桐", "关坝", "金桥", "黑山", "石林", "万东", "红岩", "鱼子岗", "板辽", "东林", "溱州", "建设",
         "新田", "和平", "桃子", "星光", "凉风", "温泉", "弓子", "清溪", "双河", "中山", "民主", "复兴", "龙泉", "兴隆", "永安"]

school_rows = []
school_codes = []
for i, (kind, label) in enumerate(SCHOOL_KINDS):
    code = f"31500{10001 + i * 37:05d}"
    school_codes.append((code, kind))
    base = NAMES[i]
    name = {"primary": f"{base}小学", "junior": f"{base}中学", "nine_year": f"{base}九年制学校",
            "special_education": "万盛经开区特殊教育学校", "teaching_point": f"{base}村教学点",
            "complete_middle": f"{base}中学校", "twelve_year": f"{base}实验学校"}[kind]
    if kind == "teaching_point":
        pupils = [49, 50, 38, 72, 91][i % 5] if i < 24 else 60
        prim, jun, sen = pupils, "", ""
    elif kind == "primary":
        pupils = rng.randrange(300, 1900)
        prim, jun, sen = pupils, "", ""
    elif kind == "junior":
        pupils = rng.randrange(400, 1600)
        prim, jun, sen = "", pupils, ""
    elif kind == "nine_year":
        prim, jun = 820, 410
        sen = ""
        pupils = prim + jun
    elif kind == "twelve_year":
        prim, jun, sen = 600, 450, 380
        pupils = prim + jun + sen
    elif kind == "complete_middle":
        prim, jun, sen = "", 700, 900
        pupils = jun + sen
    else:  # special education
        pupils = 59
        prim, jun, sen = 40, 19, ""
    urban = rng.choice(["城区", "镇区", "乡村", "111", "121", "210"])
    classes = max(1, pupils // 42)
    teachers = max(3, round(pupils / rng.uniform(12, 17)))
    public_funds = round(pupils * rng.uniform(700, 1100), -2)
    training = round(public_funds * rng.choice([0.02, 0.03, 0.05, 0.06, 0.04]), -2)
    row = {
        "学校标识码": code, "学校名称": name, "行政区划代码": "500110", "学校类型": label, "城乡分类": urban,
        "在校生数": str(pupils), "小学在校生数": str(prim), "初中在校生数": str(jun), "高中在校生数": str(sen),
        "班级数": str(classes), "最大班额": str(min(pupils, rng.randrange(30, 52))), "专任教师数": str(teachers),
        "高于规定学历教师数": str(round(teachers * 0.8)), "县级及以上骨干教师数": str(max(0, round(teachers * 0.15))),
        "体育专任教师数": str(max(1, teachers // 14)), "音乐专任教师数": str(max(0, teachers // 20)), "美术专任教师数": str(max(0, teachers // 22)),
        "教学及辅助用房面积（m²）": f"{pupils * rng.uniform(4.0, 7.0):.1f}", "体育运动场馆面积（平方米）": f"{pupils * rng.uniform(6.0, 12.0):.1f}",
        "教学仪器设备值（万元）": f"{pupils * rng.uniform(1800, 3200) / 10000:.4f}", "网络多媒体教室数": str(classes + rng.randrange(0, 3)),
        "音乐专用教室数": str(max(1, classes // 12)), "音乐专用教室面积": str(rng.choice([96, 100, 88, 120])),
        "美术专用教室数": str(max(1, classes // 12)), "美术专用教室面积": str(rng.choice([90, 96, 80, 110])),
        "公用经费预算（元）": f"{public_funds:,.0f}", "教师培训经费（元）": f"{training:.0f}",
        "持证教师数": str(teachers), "完成360学时培训教师数": str(teachers - rng.randrange(0, 3)),
        "建校年份": str(rng.randrange(1950, 2020)),
    }
    school_rows.append(row)

# Planted mistakes (see README.md).
school_rows[2]["在校生数"] = fullwidth(school_rows[2]["在校生数"])            # full-width digits: fine after normalising
school_rows[2]["小学在校生数"] = fullwidth(school_rows[2]["小学在校生数"])
school_rows[3]["学校名称"] = "\u00a0青年小學\u200b "                          # NBSP, zero-width space, traditional 學
school_rows[4]["学校标识码"] = school_rows[4]["学校标识码"][:-1]             # 9 digits
school_rows[5]["学校标识码"] = "3.15001E+09"                                  # Excel scientific notation
school_rows[6]["在校生数"] = str(int(school_rows[6]["在校生数"]) + 30)         # sections do not add up
school_rows[7]["学校类型"] = "村小"                                           # not an accepted school type
school_rows[8]["体育运动场馆面积（平方米）"] = "-1200"                        # negative area
school_rows[9]["教学仪器设备值（万元）"] = "约300"                            # not a number
school_rows[10]["教师培训经费（元）"] = "7.5万"                               # value unit overrides header unit
school_rows[11]["公用经费预算（元）"] = "-"                                   # placeholder for missing
school_rows[12]["学校标识码"] = school_rows[13]["学校标识码"]                 # duplicate school code
school_rows[1]["初中在校生数"] = "35"                                         # junior pupils at a primary school
school_rows[1]["在校生数"] = str(int(school_rows[1]["在校生数"]) + 35)
school_rows[15]["建校年份"] = "2031"                                           # future year
school_rows[16]["最大班额"] = "=1+2"                                           # formula in a number column
school_rows[17]["学校名称"] = "=HYPERLINK(\"http://example.invalid\",\"点击\")"  # formula injection attempt

headers = list(school_rows[0].keys())
lines = ["万盛经开区2024年义务教育学校基本情况统计表" + "," * (len(headers) - 1), ",".join(headers)]


def csv_field(v):
    return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n\r') else v


for n, row in enumerate(school_rows):
    lines.append(",".join(csv_field(row[h]) for h in headers))
    if n == 19:
        lines.append("")                                                      # a blank line
(HERE / "schools.csv").write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))

# ---------------------------------------------------------------- teachers
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国庆春梅晓燕"
DEGREES = ["本科", "大学本科", "专科", "大专", "研究生", "硕士", "中专", "本科", "本科", "本科"]
CERT = ["是", "是", "是", "Y", "√", "有", "1", "是", "否"]
SUBJECTS = ["语文", "数学", "英语", "体育", "音乐", "美术", "科学", "道德与法治", "物理", "化学", "信息技术"]
BACKBONE = ["无", "无", "无", "无", "", "区级", "市级", "县级", "无"]


def date_text(y, m, d, style):
    return [f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}", f"{y}年{m}月{d}日", f"{y}{m:02d}{d:02d}", f"{y}.{m}.{d}"][style]


teacher_rows = []
serial = 0
teachers_reported = [int(r["专任教师数"]) for r in school_rows]
for (code, kind), reported in zip(school_codes, teachers_reported):
    # The roster agrees with the schools table, except two schools whose roster is incomplete.
    n = reported if code not in (school_codes[9][0], school_codes[20][0]) else reported - 9
    for _ in range(n):
        serial += 1
        male = rng.random() < 0.35
        y, m, d = rng.randrange(1965, 2001), rng.randrange(1, 13), rng.randrange(1, 29)
        idn = id_number(f"{y}{m:02d}{d:02d}", male, serial)
        style = rng.choice([0, 0, 0, 1, 2, 3, 4])
        wage = rng.uniform(118000, 178000)
        teacher_rows.append({
            "教师编号": f"T{500110000 + serial:09d}", "姓名": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < .6 else ""),
            "身份证号": idn, "学校标识码": code, "性别": "男" if male else "女", "出生日期": date_text(y, m, d, style),
            "任教学段": "小学" if kind in ("primary", "teaching_point") else ("初中" if kind == "junior" else rng.choice(["小学", "初中"])),
            "最高学历": rng.choice(DEGREES), "教师资格证": rng.choice(CERT), "任教学科": rng.choice(SUBJECTS),
            "骨干教师级别": rng.choice(BACKBONE), "近五年培训学时": str(rng.choice([360, 372, 400, 288, 420, 365, 310])),
            "年工资收入（万元）": f"{wage / 10000:.4f}",
        })

t = teacher_rows
# The last school's teachers went in a separate file (below); the rest form the county export.
split_code = school_codes[-1][0]
separate = [r for r in t if r["学校标识码"] == split_code]
county = [r for r in t if r["学校标识码"] != split_code]

# Planted mistakes in the county roster.
county[3]["身份证号"] = county[3]["身份证号"][:-1] + ("0" if county[3]["身份证号"][-1] != "0" else "1")  # bad check digit
county[10]["出生日期"] = "1980-02-30"                                                  # no such date
county[20]["性别"] = "女" if county[20]["性别"] == "男" else "男"                       # sex disagrees with ID
county[30]["最高学历"] = "函授"                                                        # unknown degree
county[40]["教师编号"] = county[41]["教师编号"]                                        # duplicate teacher id
county[50]["教师编号"] = "Ｔ" + fullwidth(county[50]["教师编号"][1:])                  # full-width id: fine
county[60]["年工资收入（万元）"] = "15.42万"                                           # value unit: fine
county[70]["年工资收入（万元）"] = "154203"                                            # yuan in a 万元 column → out of range
county[80]["出生日期"] = str((__import__("datetime").date(1986, 4, 12) - __import__("datetime").date(1899, 12, 30)).days)  # Excel serial
y = int(county[80]["身份证号"][6:10])
county[80]["身份证号"] = id_number("19860412", county[80]["性别"] == "男", 80)
county[90]["教师资格证"] = "待定"                                                      # not yes/no
county[100]["任教学科"] = "语文\n（兼班主任）"                                          # quoted newline
county[110]["任教学科"] = "=cmd|'/C calc'!A0"                                          # formula injection
county[120]["身份证号"] = "5.00110E+17"                                                # scientific notation
county[130]["出生日期"] = "2009-01-01"                                                 # too young
county[130]["身份证号"] = id_number("20090101", county[130]["性别"] == "男", 30)
county[140]["姓名"] = "陳  小明"                                                       # traditional + spaces
county[150]["近五年培训学时"] = "3600"                                                 # hours entered as minutes → warning
county[160]["身份证号"] = county[161]["身份证号"]                                      # duplicate ID number

theaders = list(county[0].keys())
out = [",".join(theaders)]
for n, row in enumerate(county):
    fields = [csv_field(row[h]) for h in theaders]
    if n == 170:
        fields = fields[:-2]                                                         # too few fields
    if n == 180:
        fields[9] = fields[9] + ",音乐"                                               # unquoted comma → too many
    out.append(",".join(fields))
    if n == 700:
        out.append(",".join(theaders))                                                # repeated header mid-file
    if n == 900:
        out.append("")                                                                # blank line
data = ("\r\n".join(out) + "\r\n").encode("gb18030")
# A byte sequence that is not valid GB18030 inside one name (a damaged export).
marker = county[200]["姓名"].encode("gb18030")
data = data.replace(marker, marker[:2] + b"\xff" + marker[2:], 1)
(HERE / "teachers.csv").write_bytes(data)

# One school's own export: Excel "Unicode text" (UTF-16LE, BOM, tabs), traditional headers.
TRAD = {"教师编号": "教師編號", "姓名": "姓名", "身份证号": "身份證號", "学校标识码": "學校標識碼", "性别": "性別", "出生日期": "出生日期",
        "任教学段": "任教學段", "最高学历": "最高學歷", "教师资格证": "教師資格證", "任教学科": "任教學科", "骨干教师级别": "骨幹教師級別",
        "近五年培训学时": "近五年培訓學時", "年工资收入（万元）": "年工資收入（萬元）"}
separate[2]["最高学历"] = "大學本科"
separate[3]["骨干教师级别"] = "區級"
separate[4]["教师资格证"] = "×"
rows = ["\t".join(TRAD[h] for h in theaders)] + ["\t".join(r[h] for h in theaders) for r in separate]
(HERE / "school_31500" / "teachers_unicode.txt").parent.mkdir(exist_ok=True)
(HERE / "school_31500" / "teachers_unicode.txt").write_bytes(("\r\n".join(rows) + "\r\n").encode("utf-16"))

# ---------------------------------------------------------------- county finance (English headers)
fin_headers = ["county_code", "county_name", "year", "edu_expenditure", "edu_expenditure_per_pupil", "edu_expenditure_growth",
               "fiscal_revenue_growth", "avg_teacher_wage", "avg_civil_servant_wage", "student_teacher_ratio",
               "teachers_eligible_exchange", "teachers_exchanged", "backbone_exchanged", "grade7_enrolment_3y_ago",
               "transfers_in", "transfers_out", "deaths", "junior_graduates", "survey_valid", "survey_satisfied",
               "quota_places_total", "quota_places_allocated"]
fin_rows = [
    ["500110", "万盛经开区", "2022", "18.12亿", "15,890.20", "3.1%", "2.5%", "148,900", "147,300", "1:13.2", "980", "102", "32", "2010", "40", "45", "1", "1988", "360", "318", "1350", "790"],
    ["500110", "万盛经开区", "2023", "18.96亿", "16,402.75", "4.6%", "3.2%", "151,020", "150,880", "1:13.0", "940", "94", "33", "2031", "44", "47", "0", "2001", "372", "329", "1380", "810"],
    ["500110", "萬盛經開區", "2024", "19.84亿", "17,011.30", "4.64%", "3.45%", "15.4203万", "15.3549万", "1∶12.77", "1210", "123", "49", "2046", "47", "49", "2", "2026", "379", "337", "1400", "835"],
    ["500110", "万盛经开区", "2024", "19.84亿", "17,011.30", "4.64%", "3.45%", "154203", "153549", "1:12.77", "1210", "123", "129", "2046", "47", "49", "2", "2026", "379", "337", "1400", "835"],
]
text = "\n".join([",".join(fin_headers)] + [",".join(csv_field(v) for v in r) for r in fin_rows]) + "\n"
(HERE / "county_finance.csv").write_bytes(text.encode("utf-8"))
print(f"schools: {len(school_rows)}, teachers: {len(county)} + {len(separate)}, finance: {len(fin_rows)}")
