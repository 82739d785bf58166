"""The roster checks of Rules/schemas/teachers.yaml, written in Polars.

Same checks and outputs as `schoolstat validate` on a generated roster: a
violation list (row, rule) and a clean file with normalised values. Two threads.
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
SEX = {"男": "male", "女": "female", "M": "male", "F": "female"}
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]

df = pl.read_csv(src, infer_schema=False).with_row_index("row", offset=2)
df.columns = ["row", "teacher_id", "name", "id_number", "school_code", "sex", "birth_date", "section", "degree", "certified",
              "subject", "backbone_level", "training_hours", "wage_raw"]
FULL = "０１２３４５６７８９ＴＸ"
tid = pl.col("teacher_id").str.strip_chars().str.replace_many(list(FULL), list("0123456789TX")).str.to_uppercase()
idn = pl.col("id_number").str.strip_chars().str.to_uppercase()
digits = [idn.str.slice(i, 1).cast(pl.Int64, strict=False) * W[i] for i in range(17)]
check = pl.lit("10X98765432").str.slice(pl.sum_horizontal(digits) % 11, 1)
birth = pl.coalesce([pl.col("birth_date").str.strptime(pl.Date, f, strict=False) for f in ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d")])
wage_text = pl.col("wage_raw").str.strip_chars()
wage = (pl.when(wage_text.str.ends_with("元")).then(wage_text.str.strip_suffix("元").cast(pl.Float64, strict=False))
        .otherwise(wage_text.str.strip_suffix("万").cast(pl.Float64, strict=False) * 10000))
df = df.with_columns(
    teacher_id=tid, id_number=idn, birth=birth, wage=wage,
    degree_n=pl.col("degree").replace_strict(DEGREES, default=None),
    certified_n=pl.col("certified").replace_strict(BOOLS, default=None, return_dtype=pl.Boolean),
    sex_n=pl.col("sex").replace_strict(SEX, default=None),
    check_ok=idn.str.len_chars().eq(18) & idn.str.slice(17, 1).eq(check),
)
rules = {
    "teachers.teacher_id.pattern": ~pl.col("teacher_id").str.contains(r"^[A-Z0-9]{6,20}$"),
    "teachers.id_number.length": pl.col("id_number").str.len_chars().ne(18),
    "teachers.school_code.length": ~pl.col("school_code").str.contains(r"^[0-9]{10}$"),
    "teachers.birth_date.type": pl.col("birth").is_null(),
    "teachers.degree.enum": pl.col("degree_n").is_null(),
    "teachers.certified.type": pl.col("certified_n").is_null(),
    "teachers.sex.enum": pl.col("sex_n").is_null(),
    "teachers.annual_wage.type": pl.col("wage").is_null(),
    "teachers.id_checksum": ~pl.col("check_ok"),
    "teachers.id_birth_date": pl.col("check_ok") & pl.col("birth").ne(pl.col("id_number").str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)),
    "teachers.id_sex": pl.col("check_ok") & pl.col("sex_n").ne(pl.when(pl.col("id_number").str.slice(16, 1).cast(pl.Int64, strict=False) % 2 == 1).then(pl.lit("male")).otherwise(pl.lit("female"))),
}
flags = df.select("row", *[e.fill_null(False).alias(name) for name, e in rules.items()])
violations = flags.unpivot(index="row", variable_name="rule").filter(pl.col("value")).select("row", "rule").sort("row", "rule")
violations.write_csv(f"{out}/violations.csv")
bad = violations.select("row").unique()
clean = df.join(bad, on="row", how="anti").select("teacher_id", "id_number", "school_code", sex="sex_n", birth_date="birth",
                                                 degree="degree_n", certified="certified_n", annual_wage="wage")
clean.write_csv(f"{out}/clean.csv")
print(f"rows={df.height} violations={violations.height} clean={clean.height}")
