"""Writes the clerk-check fixtures: one school's roster as a county clerk's Excel would save it
(GB18030, CRLF), with a value holding a line break and planted mistakes, and the same roster
corrected. Run from this directory: python3 make_check_fixtures.py"""

HEADER = "教师编号,姓名,身份证号,学校标识码,性别,出生日期,任教学段,最高学历,教师资格证,任教学科,骨干教师级别,近五年培训学时,年工资收入（万元）"
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def id_number(birth, serial, female):
    # serial: 3 digits, the last one odd for men and even for women
    s = serial * 10 + (0 if female else 1) if serial < 100 else serial
    body = "500110" + birth.replace("-", "") + f"{s:03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


def rows(fixed):
    names = ["黄洋", "胡超梅", "何丽", "王芳", "李强", "张伟", "刘洋", "陈静", "杨帆", "赵敏", "周杰", "吴婷"]
    out = []
    for i, name in enumerate(names, start=1):
        female = i % 2 == 0
        birth = f"19{70 + i}-0{1 + i % 9}-1{i % 10}"
        subject = "语文" if i != 3 else '"语文\n数学"'
        row = [f"T5001100{i:02d}", name, id_number(birth, i, female), "3150010001", "女" if female else "男", birth,
               "小学", "本科", "是", subject, "无", "120", "12.5000"]
        if not fixed:
            if i == 4:
                row[6] = "高中"  # 3150010001 is a primary school in the county's table
            if i == 6:
                row[5] = birth[:8] + "31" if birth[5:7] in ("02", "04", "06", "09", "11") else "1980-02-30"
            if i == 8:
                row[7] = "函授"
            if i == 10:
                row[0] = "T500110009"  # the same as the row before
            if i == 12:
                row[3] = "3150019999"  # no such school in the county's table
        out.append(",".join(row))
    return out


for name, fixed in (("roster_gbk.csv", False), ("roster_fixed_gbk.csv", True)):
    text = "\r\n".join([HEADER] + rows(fixed)) + "\r\n"
    with open(name, "wb") as f:
        f.write(text.encode("gb18030"))
