#!/usr/bin/env python3
"""Writes the rule-pack fixtures. Every figure is chosen by hand so that the
verdicts are known in advance; the comments say which way each one goes."""
import csv, io, math
from pathlib import Path

HERE = Path(__file__).resolve().parent
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def idn(birth, serial, male):
    body = f"500110{birth}{serial % 500 * 2 + (1 if male else 0):03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, W)) % 11]


def write(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


SCHOOL_HEADER = ["school_code", "school_name", "county_code", "school_type", "urban_rural", "total_pupils", "primary_pupils",
                 "junior_pupils", "classes", "largest_class", "full_time_teachers", "teachers_above_degree", "backbone_teachers",
                 "pe_teachers", "music_teachers", "art_teachers", "building_area", "sports_area", "equipment_value",
                 "multimedia_classrooms", "music_rooms", "music_room_area", "art_rooms", "art_room_area", "public_funds_budget",
                 "training_budget", "certified_teachers", "trained_360_teachers", "year_built"]

# Per-pupil (or per-100-pupil) targets a section meets comfortably.
GOOD_P = dict(r1=5.0, r2=1.2, r3=1.0, r4=5.5, r5=9.5, r6=2300, r7=2.5)
GOOD_J = dict(r1=6.0, r2=1.2, r3=1.0, r4=6.5, r5=11.0, r6=2700, r7=2.6)


def school(code, name, county, kind, urban, primary, junior, quality=1.0, weakest=None, largest=42, rooms_ok=True,
           training_share=0.06, trained_all=True, total=None):
    """A school whose indicators are `quality` times a comfortable level; `weakest`
    = (indicator, share of standard) sets one indicator to an exact share."""
    weighted = primary + 1.1 * junior
    t = GOOD_P if primary > 0 else {k: v / 1.1 for k, v in GOOD_J.items()}
    level = {k: v * quality for k, v in t.items()}
    if weakest:
        key, share = weakest
        std = dict(r1=4.2, r2=1.0, r3=0.9, r4=4.5, r5=7.5, r6=2000, r7=2.3)[key] if primary > 0 else \
            dict(r1=5.3, r2=1.0, r3=0.9, r4=5.8, r5=10.2, r6=2500, r7=2.4)[key] / 1.1
        level[key] = std * share
    per100 = lambda k: math.ceil(level[k] * weighted / 100 - 1e-9)   # whole teachers and rooms, never below the level
    teachers = math.ceil((primary + junior) / 15)
    classes = max(1, math.ceil((primary + junior) / 42))
    rooms = math.ceil(classes / 12)
    funds = (primary + junior) * 1000
    row = [code, name, county, kind, urban, total or primary + junior, primary or "", junior or "", classes, largest, teachers,
           # counts are rounded so that an exact share stays exact: these counts are chosen per 100 pupils
           per100("r1"), per100("r2"), per100("r3"), 0, 0,
           round(level["r4"] * weighted, 2), round(level["r5"] * weighted, 2), round(level["r6"] * weighted, 2),
           per100("r7"), rooms if rooms_ok else 1, 100 if rooms_ok else 60, rooms if rooms_ok else 1, 95 if rooms_ok else 50,
           funds, round(funds * training_share), teachers, teachers if trained_all else teachers - 2, 2010]
    return row


# ---------------------------------------------------------------- two counties
A, B = "500110", "500111"
schools = [
    school("3150010001", "甲一小", A, "小学", "城区", 400, 0),
    school("3150010002", "甲二小", A, "小学", "镇区", 600, 0),
    school("3150010003", "甲三小", A, "小学", "乡村", 800, 0),
    school("3150010004", "甲一中", A, "初级中学", "城区", 0, 500),
    school("3150010005", "甲二中", A, "初级中学", "城区", 0, 700),
    school("3150010006", "甲九年制", A, "九年一贯制学校", "城区", 600, 300),
    # one indicator at exactly 85 % of its standard: passes; at 84.9 %: fails
    school("3150010007", "甲四小", A, "小学", "城区", 500, 0, weakest=("r4", 0.85)),
    school("3150010008", "甲五小", A, "小学", "城区", 500, 0, weakest=("r4", 0.849)),
    school("3150010009", "甲教学点", A, "教学点", "乡村", 50, 0),       # exactly 50: evaluated
    school("3150010010", "甲小教学点", A, "教学点", "乡村", 49, 0),       # under 50: outside the evaluation
    school("3150010011", "甲特校", A, "特殊教育学校", "城区", 60, 0),
    school("3150010012", "甲六小", A, "小学", "城区", 500, 0, weakest=("r4", 1.0)),  # R4 exactly at its standard
    school("3150010101", "乙一小", B, "小学", "城区", 900, 0),
    school("3150010102", "乙二小", B, "小学", "乡村", 900, 0, quality=0.2, largest=52, rooms_ok=False, training_share=0.02, trained_all=False),
    school("3150010103", "乙三小", B, "小学", "城区", 2100, 0, quality=0.2, training_share=0.02),   # too large
    school("3150010104", "乙一中", B, "初级中学", "城区", 0, 800),
    school("3150010105", "乙二中", B, "初级中学", "乡村", 0, 800, quality=0.2, training_share=0.03),
    school("3150010106", "乙教学点", B, "教学点", "乡村", 70, 0),
]
# A school rejected for its own error (sections do not add up): its teachers and funding depend on it.
bad = school("3150010107", "乙四小", B, "小学", "城区", 300, 0)
bad[5] = 310
schools.append(bad)
schools[11][26] = schools[11][10] - 3                                                      # 乙一小: 3 teachers uncertified (G12)
write(HERE / "pair/current/schools.csv", SCHOOL_HEADER, schools)

# Teachers: the roster agrees with the schools table, except 乙二中 (half missing);
# three teachers name a school that does not exist; the rejected school has teachers.
T_HEADER = ["teacher_id", "name", "id_number", "school_code", "sex", "birth_date", "section", "degree", "certified",
            "subject", "backbone_level", "training_hours", "annual_wage"]
teachers = []
n = 0
for row in schools:
    code, kind, count = row[0], row[3], row[10]
    if code == "3150010105":
        count //= 2
    for _ in range(count):
        n += 1
        teachers.append([f"T{n:07d}", "王芳", idn(f"{1980 + n // 500}0101", n, False), code, "女", f"{1980 + n // 500}-01-01", "小学", "本科", "是", "语文",
                         "无", "400", "15.2万"])
for _ in range(3):
    n += 1
    teachers.append([f"T{n:07d}", "李强", idn("19860101", n, True), "3150099999", "男", "1986-01-01", "小学", "本科", "是", "数学",
                     "无", "400", "15.2万"])
write(HERE / "pair/current/teachers.csv", T_HEADER, teachers)

# Funding under the national profile (720 primary, 940 junior, under 100 pupils funded as 100, special 6000).
F_HEADER = ["school_code", "year", "funded_pupils", "boarding_pupils", "special_pupils", "per_pupil_standard", "amount", "special_amount"]
funding = []
for row in schools:
    code, kind, primary, junior, county = row[0], row[3], row[6] or 0, row[7] or 0, row[2]
    if kind == "特殊教育学校":
        funding.append([code, 2024, 60, "", 60, 6000, 60 * 6500, ""])                       # 6500 per pupil: G7 met
        continue
    pupils = primary + junior
    expected = max(pupils, 100) * (720 if primary else 940) if pupils else 0
    factor = 1.05 if county == A else 0.9
    funding.append([code, 2024, pupils, "", "", "", round(expected * factor), ""])
funding.append(["3150099999", 2024, 300, "", "", "", 300000, ""])                           # no such school
funding[12][4], funding[12][7] = 10, 50000                                                 # 乙一小: 5000 per special pupil, G7 not met
write(HERE / "pair/current/funding.csv", F_HEADER, funding)

FIN_HEADER = ["county_code", "county_name", "year", "edu_expenditure", "edu_expenditure_per_pupil", "edu_expenditure_growth",
              "fiscal_revenue_growth", "preschool_share", "avg_teacher_wage", "avg_civil_servant_wage", "teachers_eligible_exchange",
              "teachers_exchanged", "backbone_exchanged", "grade7_enrolment_3y_ago", "transfers_in", "transfers_out", "deaths",
              "junior_graduates", "survey_valid", "survey_satisfied", "quota_places_total", "quota_places_allocated",
              "nearby_enrolment_primary", "nearby_enrolment_junior", "migrant_public_share", "disabled_enrolment_rate",
              "public_kindergarten_share", "affordable_kindergarten_share", "preschool_gross_enrolment", "nine_year_retention",
              "dual_qualified_share", "large_class_share", "teacher_certification_rate", "wage_bill", "staff_education_budget",
              "training_budget_total"]
good = [A, "甲县", 2024, "25.46亿", "19434.44", "5.77%", "4.58%", "4%", "154203", "153549", "1210", "123", "49", "2046", "47", "49", "2",
        "2026", "379", "337", "1400", "835", "100%", "97%", "90%", "97%", "66%", "85%", "96%", "98%", "75%", "0", "100%", "2.4亿", "300万", "600万"]
poor = [B, "乙县", 2024, "20.1亿", "15000", "1.5%", "3%", "2%", "140000", "150000", "1000", "50", "5", "2000", "10", "20", "0",
        "1800", "400", "300", "1000", "400", "90%", "90%", "80%", "90%", "50%", "70%", "90%", "95%", "60%", "3%", "98%", "2亿", "100万", "200万"]
write(HERE / "pair/current/county_finance.csv", FIN_HEADER, [good, poor])
prev_a = [A, "甲县", 2023, "24.07亿", "19102.41"] + good[5:]
prev_b = [B, "乙县", 2023, "21.0亿", "15500"] + poor[5:]
prev_a[2] = prev_b[2] = 2023
write(HERE / "pair/previous/county_finance.csv", FIN_HEADER, [prev_a, prev_b])

# Quality monitoring: county A even and above 0.5; county B low and uneven.
M_HEADER = ["school_code", "county_code", "grade", "subject", "composite"]
monitoring = []
for row in schools:
    code, county = row[0], row[2]
    for subject in ["语文", "数学"]:
        if county == A:
            value = 0.62 if code[-1] in "13579" else 0.58
        else:
            value = 0.7 if code[-1] in "13579" else 0.3
        monitoring.append([code, county, 8, subject, value])
write(HERE / "pair/current/monitoring.csv", M_HEADER, monitoring)

# ---------------------------------------------------------------- seed 003 (万盛经开区, 2024)
# 26 schools: public funds 18,142,000 yuan, training 788,300 yuan, 6 schools at 5 % or more.
seed = []
for i in range(26):
    funds = 642000 if i == 25 else 700000
    if i < 6:
        training = 35000                    # exactly 5 %
    elif i == 25:
        training = 29200
    else:
        training = 28900
    seed.append(school(f"31500{20001 + i:05d}", f"万盛{i + 1}校", "500110", "小学", "城区", 700, 0))
    seed[-1][24] = funds
    seed[-1][25] = training
write(HERE / "seed003/schools.csv", SCHOOL_HEADER, seed)
rows = []
for year, exchanged, backbone in [(2022, 102, 32), (2023, 94, 33), (2024, 123, 49)]:
    r = list(good)
    r[1], r[2], r[11], r[12], r[10] = "万盛经开区", year, str(exchanged), str(backbone), "1210"
    rows.append(r)
write(HERE / "seed003/county_finance.csv", FIN_HEADER, rows)

# ---------------------------------------------------------------- profiles
# Funding rows whose verdict depends on the profile (see ProfileTests).
prof_schools = [
    school("3150030001", "城区初中", "500112", "初级中学", "城区", 0, 1200),
    school("3150030002", "乡村小学", "500112", "小学", "乡村", 150, 0),
    school("3150030003", "城区小学", "500112", "小学", "城区", 300, 0),
]
write(HERE / "profiles/schools.csv", SCHOOL_HEADER, prof_schools)
write(HERE / "profiles/funding.csv", F_HEADER, [
    ["3150030001", 2024, 1200, "", "", "", 1500000, ""],   # national 1,128,000 met; Yubei 2,082,000 not met
    ["3150030002", 2024, 150, "", "", "", 200000, ""],     # national 108,000 met; Yubei 150 × (1635 + 400) = 305,250 not met
    ["3150030003", 2024, 300, "", "", "", 700000, ""],     # national 216,000 met; Yubei 300 × (1535 + 200) = 520,500 met
])
print("pack fixtures written")
