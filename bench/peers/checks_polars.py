"""The roster checks of Rules/schemas/teachers.yaml, written in Polars.

The same checks as `schoolstat validate` on a generated roster (every column
check: required, type, enum, length, pattern, range; the row checks; both unique
keys: every later occurrence of a key), and the same kinds of output: a
violation list (row, rule) and a clean file with every column normalised, name and
ID number masked, source file and line. Two threads.
Usage: python checks_polars.py teachers.csv OUTDIR
"""
import os, sys
os.environ.setdefault("POLARS_MAX_THREADS", "2")
import polars as pl

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
DEGREES = {"研究生": "postgraduate", "硕士": "postgraduate", "本科": "bachelor", "大学本科": "bachelor", "大學本科": "bachelor",
           "专科": "associate", "大专": "associate", "中专": "secondary_vocational", "高中": "high_school"}
BOOLS = {"是": True, "Y": True, "√": True, "有": True, "1": True, "否": False, "N": False, "×": False, "无": False, "0": False}
SEX = {"男": "male", "女": "female", "M": "male", "F": "female", "男性": "male", "女性": "female", "1": "male", "2": "female"}
SECTIONS = {"小学": "primary", "小学段": "primary", "初中": "junior", "初级中学": "junior", "高中": "senior", "高级中学": "senior"}
BACKBONE = {"无": "none", "否": "none", "非骨干": "none", "不是": "none", "县级": "county", "区级": "county", "县级骨干": "county",
            "区级骨干": "county", "区县级": "county", "市级": "city", "市级骨干": "city", "省级": "province", "省级骨干": "province",
            "国家级": "national"}
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]

# Lazy, so that Polars plans the whole query (projection, common subexpressions, streaming the read).
lf = pl.scan_csv(src, infer_schema=False, new_columns=[
    "teacher_id", "name", "id_number", "school_code", "sex", "birth_date", "section", "degree", "certified",
    "subject", "backbone_level", "training_hours", "wage_raw"]).with_row_index("row", offset=2)
FULL = "０１２３４５６７８９ＴＸ"
# The two keys normalised once, as columns: the checksum alone reads the ID number seventeen times.
lf = lf.with_columns(
    teacher_id=pl.col("teacher_id").str.strip_chars().str.replace_many(list(FULL), list("0123456789TX")).str.to_uppercase(),
    id_number=pl.col("id_number").str.strip_chars().str.to_uppercase())
tid, idn = pl.col("teacher_id"), pl.col("id_number")
digits = [idn.str.slice(i, 1).cast(pl.Int64, strict=False) * W[i] for i in range(17)]
check = pl.lit("10X98765432").str.slice(pl.sum_horizontal(digits) % 11, 1)
birth = pl.coalesce([pl.col("birth_date").str.strptime(pl.Date, f, strict=False) for f in ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d")])
wage_text = pl.col("wage_raw").str.strip_chars()
wage = (pl.when(wage_text.str.ends_with("元")).then(wage_text.str.strip_suffix("元").cast(pl.Float64, strict=False))
        .otherwise(wage_text.str.strip_suffix("万").cast(pl.Float64, strict=False) * 10000))
name = pl.col("name").str.strip_chars()
section = pl.col("section").str.strip_chars()
backbone = pl.col("backbone_level").str.strip_chars()
hours = pl.col("training_hours").str.strip_chars().cast(pl.Float64, strict=False)
df = lf.with_columns(
    birth=birth, wage=wage, name=name, hours=hours,
    section_n=section.replace_strict(SECTIONS, default=None), section_given=section.str.len_chars() > 0,
    backbone_n=backbone.replace_strict(BACKBONE, default=None), backbone_given=~backbone.is_in(["", "-", "/"]) & backbone.is_not_null(),
    subject=pl.col("subject").str.strip_chars(),
    degree_n=pl.col("degree").replace_strict(DEGREES, default=None),
    certified_n=pl.col("certified").replace_strict(BOOLS, default=None, return_dtype=pl.Boolean),
    sex_n=pl.col("sex").replace_strict(SEX, default=None),
    check_ok=idn.str.len_chars().eq(18) & idn.str.slice(17, 1).eq(check),
    id_ok=idn.str.contains(r"^[0-9]{17}[0-9X]$"),
    tid_ok=tid.str.contains(r"^[A-Z0-9]{6,20}$"),
).collect()
REPORT = pl.date(2024, 9, 30)
age = (REPORT.dt.year() - pl.col("birth").dt.year()
       - ((REPORT.dt.month() < pl.col("birth").dt.month())
          | ((REPORT.dt.month() == pl.col("birth").dt.month()) & (REPORT.dt.day() < pl.col("birth").dt.day()))).cast(pl.Int32))
rules = {
    "teachers.teacher_id.required": pl.col("teacher_id").is_null() | (pl.col("teacher_id") == ""),
    "teachers.name.required": pl.col("name").is_null() | (pl.col("name") == ""),
    "teachers.name.length": ~pl.col("name").str.len_chars().is_between(2, 30),
    "teachers.id_number.pattern": (pl.col("id_number").str.len_chars() == 18) & ~pl.col("id_number").str.contains(r"^[0-9]{17}[0-9X]$"),
    "teachers.birth_date.range": ~pl.col("birth").is_between(pl.date(1940, 1, 1), pl.date(2010, 12, 31)),
    "teachers.section.enum": pl.col("section_given") & pl.col("section_n").is_null(),
    "teachers.backbone_level.enum": pl.col("backbone_given") & pl.col("backbone_n").is_null(),
    "teachers.subject.length": pl.col("subject").str.len_chars() > 30,
    "teachers.training_hours.type": pl.col("training_hours").is_not_null() & pl.col("hours").is_null(),
    "teachers.training_hours.range": ~pl.col("hours").is_between(0, 3000),
    "teachers.training_hours_plausible": pl.col("hours") > 1200,
    "teachers.annual_wage.range": ~pl.col("wage").is_between(0, 1000000),
    "teachers.age_plausible": ~age.is_between(18, 70),
    # A key counts once its cell passed its own checks (as in schoolstat); each later occurrence of a key is flagged.
    "teachers.unique_teacher_id": pl.col("tid_ok") & pl.when(pl.col("tid_ok")).then(pl.col("teacher_id")).is_first_distinct().not_(),
    "teachers.unique_id_number": pl.col("id_ok") & pl.when(pl.col("id_ok")).then(pl.col("id_number")).is_first_distinct().not_(),
    "teachers.teacher_id.pattern": ~pl.col("teacher_id").str.contains(r"^[A-Z0-9]{6,20}$"),
    "teachers.id_number.scientific": pl.col("id_number").str.contains(r"^[0-9.]+E\+?[0-9]+$"),
    "teachers.id_number.length": ~pl.col("id_number").str.contains(r"^[0-9.]+E\+?[0-9]+$") & pl.col("id_number").str.len_chars().ne(18),
    "teachers.school_code.length": ~pl.col("school_code").str.contains(r"^[0-9]{10}$"),
    "teachers.birth_date.type": pl.col("birth").is_null(),
    "teachers.degree.enum": pl.col("degree_n").is_null(),
    "teachers.certified.type": pl.col("certified_n").is_null(),
    "teachers.sex.enum": pl.col("sex_n").is_null(),
    "teachers.annual_wage.type": pl.col("wage").is_null(),
    "teachers.id_checksum": pl.col("id_ok") & ~pl.col("check_ok"),
    "teachers.id_birth_date": pl.col("check_ok") & pl.col("birth").ne(pl.col("id_number").str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)),
    "teachers.id_sex": pl.col("check_ok") & pl.col("sex_n").ne(pl.when(pl.col("id_number").str.slice(16, 1).cast(pl.Int64, strict=False) % 2 == 1).then(pl.lit("male")).otherwise(pl.lit("female"))),
}
flags = df.select("row", *[e.fill_null(False).alias(name) for name, e in rules.items()])
violations = pl.concat([flags.filter(pl.col(rule)).select("row", rule=pl.lit(rule)) for rule in rules]).sort("row", "rule")
violations.write_csv(f"{out}/violations.csv")
bad = violations.filter(pl.col("rule") != "teachers.training_hours_plausible").select("row").unique()
masked_name = pl.col("name").str.slice(0, 1) + pl.lit("*").repeat_by(pl.col("name").str.len_chars() - 1).list.join("")
masked_id = pl.col("id_number").str.slice(0, 6) + pl.lit("********") + pl.col("id_number").str.slice(14, 4)
clean = df.join(bad, on="row", how="anti").select(
    "teacher_id", name=masked_name, id_number=masked_id, school_code="school_code", sex="sex_n", birth_date="birth",
    section="section_n", degree="degree_n", certified="certified_n", subject="subject", backbone_level="backbone_n",
    training_hours="hours", annual_wage="wage", source_file=pl.lit(src), source_line="row")
clean.write_csv(f"{out}/clean.csv")
print(f"rows={df.height} violations={violations.height} clean={clean.height}")
