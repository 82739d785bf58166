"""The roster checks of Rules/schemas/teachers.yaml, written in DuckDB SQL.

Same checks and outputs as checks_polars.py (every column check, the row checks,
both unique keys; violation list and a clean file with every column, name and ID
number masked). Two threads.
Usage: python checks_duckdb.py teachers.csv OUTDIR
"""
import os, sys
import duckdb

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
con = duckdb.connect()
con.execute("SET threads = 2")
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
checksum = " + ".join(f"TRY_CAST(substr(id_number, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(W))
SECTIONS = {"小学": "primary", "小学段": "primary", "初中": "junior", "初级中学": "junior", "高中": "senior", "高级中学": "senior"}
BACKBONE = {"无": "none", "否": "none", "非骨干": "none", "不是": "none", "县级": "county", "区级": "county", "县级骨干": "county",
            "区级骨干": "county", "区县级": "county", "市级": "city", "市级骨干": "city", "省级": "province", "省级骨干": "province",
            "国家级": "national"}
def case(column, mapping):
    return "CASE " + column + " " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in mapping.items()) + " END"
con.execute(f"""
CREATE TABLE t AS
SELECT *,
  CASE WHEN length(id_number) = 18 THEN substr('10X98765432', (({checksum}) % 11) + 1, 1) = substr(id_number, 18, 1) ELSE false END AS check_ok,
  regexp_full_match(id_number, '[0-9]{{17}}[0-9X]') AS id_ok,
  regexp_full_match(teacher_id, '[A-Z0-9]{{6,20}}') AS tid_ok,
  regexp_full_match(id_number, '[0-9.]+E[+]?[0-9]+') AS id_sci,
  date_diff('year', birth, DATE '2024-09-30')
    - CASE WHEN strftime(birth, '%m%d') > '0930' THEN 1 ELSE 0 END AS age
FROM (
  SELECT row_number() OVER () + 1 AS row,
         upper(translate(trim(column00), '０１２３４５６７８９ＴＸ', '0123456789TX')) AS teacher_id,
         trim(column01) AS name, upper(trim(column02)) AS id_number, trim(column03) AS school_code,
         CASE trim(column04) WHEN '男' THEN 'male' WHEN '女' THEN 'female' WHEN 'M' THEN 'male' WHEN 'F' THEN 'female'
              WHEN '男性' THEN 'male' WHEN '女性' THEN 'female' WHEN '1' THEN 'male' WHEN '2' THEN 'female' END AS sex,
         trim(column06) AS section_raw, {case("trim(column06)", SECTIONS)} AS section,
         trim(column09) AS subject,
         trim(column10) AS backbone_raw, {case("trim(column10)", BACKBONE)} AS backbone_level,
         trim(column11) AS hours_raw, TRY_CAST(trim(column11) AS DOUBLE) AS hours,
         coalesce(try_strptime(column05, '%Y-%m-%d'), try_strptime(column05, '%Y/%m/%d'), try_strptime(column05, '%Y年%m月%d日'),
                  try_strptime(column05, '%Y%m%d'))::DATE AS birth,
         CASE column07 WHEN '研究生' THEN 'postgraduate' WHEN '硕士' THEN 'postgraduate' WHEN '本科' THEN 'bachelor'
              WHEN '大学本科' THEN 'bachelor' WHEN '大學本科' THEN 'bachelor' WHEN '专科' THEN 'associate' WHEN '大专' THEN 'associate'
              WHEN '中专' THEN 'secondary_vocational' WHEN '高中' THEN 'high_school' END AS degree,
         CASE WHEN column08 IN ('是', 'Y', '√', '有', '1') THEN true WHEN column08 IN ('否', 'N', '×', '无', '0') THEN false END AS certified,
         CASE WHEN trim(column12) LIKE '%元' THEN TRY_CAST(rtrim(trim(column12), '元') AS DOUBLE)
              ELSE TRY_CAST(rtrim(trim(column12), '万') AS DOUBLE) * 10000 END AS wage
  FROM read_csv('{src}', header = true, all_varchar = true, names = ['column00','column01','column02','column03','column04','column05',
                'column06','column07','column08','column09','column10','column11','column12'])
)
""")
con.execute(f"""
COPY (
  SELECT row, rule FROM (
    SELECT row, 'teachers.teacher_id.pattern' AS rule FROM t WHERE NOT tid_ok
    UNION ALL SELECT row, 'teachers.teacher_id.required' FROM t WHERE coalesce(teacher_id, '') = ''
    UNION ALL SELECT row, 'teachers.name.required' FROM t WHERE coalesce(name, '') = ''
    UNION ALL SELECT row, 'teachers.name.length' FROM t WHERE NOT length(name) BETWEEN 2 AND 30
    UNION ALL SELECT row, 'teachers.id_number.scientific' FROM t WHERE id_sci
    UNION ALL SELECT row, 'teachers.id_number.length' FROM t WHERE NOT id_sci AND length(id_number) <> 18
    UNION ALL SELECT row, 'teachers.id_number.pattern' FROM t WHERE length(id_number) = 18 AND NOT id_ok
    UNION ALL SELECT row, 'teachers.birth_date.range' FROM t WHERE NOT birth BETWEEN DATE '1940-01-01' AND DATE '2010-12-31'
    UNION ALL SELECT row, 'teachers.section.enum' FROM t WHERE coalesce(section_raw, '') <> '' AND section IS NULL
    UNION ALL SELECT row, 'teachers.backbone_level.enum' FROM t WHERE coalesce(backbone_raw, '') NOT IN ('', '-', '/') AND backbone_level IS NULL
    UNION ALL SELECT row, 'teachers.subject.length' FROM t WHERE length(subject) > 30
    UNION ALL SELECT row, 'teachers.training_hours.type' FROM t WHERE coalesce(hours_raw, '') <> '' AND hours IS NULL
    UNION ALL SELECT row, 'teachers.training_hours.range' FROM t WHERE NOT hours BETWEEN 0 AND 3000
    UNION ALL SELECT row, 'teachers.training_hours_plausible' FROM t WHERE hours > 1200
    UNION ALL SELECT row, 'teachers.annual_wage.range' FROM t WHERE NOT wage BETWEEN 0 AND 1000000
    UNION ALL SELECT row, 'teachers.age_plausible' FROM t WHERE NOT age BETWEEN 18 AND 70
    UNION ALL SELECT row, 'teachers.unique_teacher_id' FROM (
      SELECT row, row_number() OVER (PARTITION BY teacher_id ORDER BY row) AS n FROM t WHERE tid_ok) WHERE n > 1
    UNION ALL SELECT row, 'teachers.unique_id_number' FROM (
      SELECT row, row_number() OVER (PARTITION BY id_number ORDER BY row) AS n FROM t WHERE id_ok) WHERE n > 1
    UNION ALL SELECT row, 'teachers.school_code.length' FROM t WHERE NOT regexp_full_match(school_code, '[0-9]{{10}}')
    UNION ALL SELECT row, 'teachers.birth_date.type' FROM t WHERE birth IS NULL
    UNION ALL SELECT row, 'teachers.degree.enum' FROM t WHERE degree IS NULL
    UNION ALL SELECT row, 'teachers.certified.type' FROM t WHERE certified IS NULL
    UNION ALL SELECT row, 'teachers.sex.enum' FROM t WHERE sex IS NULL
    UNION ALL SELECT row, 'teachers.annual_wage.type' FROM t WHERE wage IS NULL
    UNION ALL SELECT row, 'teachers.id_checksum' FROM t WHERE id_ok AND NOT check_ok
    UNION ALL SELECT row, 'teachers.id_birth_date' FROM t WHERE check_ok AND birth <> try_strptime(substr(id_number, 7, 8), '%Y%m%d')::DATE
    UNION ALL SELECT row, 'teachers.id_sex' FROM t WHERE check_ok AND sex <> CASE WHEN TRY_CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1 THEN 'male' ELSE 'female' END
  ) ORDER BY row, rule
) TO '{out}/violations.csv' (HEADER)
""")
con.execute(f"""
COPY (
  SELECT teacher_id, substr(name, 1, 1) || repeat('*', length(name) - 1) AS name,
         substr(id_number, 1, 6) || '********' || substr(id_number, 15, 4) AS id_number, school_code, sex, birth AS birth_date,
         section, degree, certified, subject, backbone_level, hours AS training_hours, wage AS annual_wage,
         '{src}' AS source_file, row AS source_line
  FROM t WHERE row NOT IN (SELECT row FROM read_csv('{out}/violations.csv') WHERE rule <> 'teachers.training_hours_plausible')
  ORDER BY row
) TO '{out}/clean.csv' (HEADER)
""")
print(con.execute(f"SELECT count(*) FROM t").fetchone()[0], "rows")
