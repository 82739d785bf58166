"""The roster checks of Rules/schemas/teachers.yaml, written in DuckDB SQL.

Same checks and outputs as checks_polars.py. Two threads.
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
con.execute(f"""
CREATE TABLE t AS
SELECT row_number() OVER () + 1 AS row, *,
  CASE WHEN length(id_number) = 18 THEN substr('10X98765432', (({checksum}) % 11) + 1, 1) = substr(id_number, 18, 1) ELSE false END AS check_ok
FROM (
  SELECT upper(translate(trim(column00), '０１２３４５６７８９ＴＸ', '0123456789TX')) AS teacher_id,
         upper(trim(column02)) AS id_number, trim(column03) AS school_code,
         CASE column04 WHEN '男' THEN 'male' WHEN '女' THEN 'female' WHEN 'M' THEN 'male' WHEN 'F' THEN 'female' END AS sex,
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
    SELECT row, 'teachers.teacher_id.pattern' AS rule FROM t WHERE NOT regexp_full_match(teacher_id, '[A-Z0-9]{{6,20}}')
    UNION ALL SELECT row, 'teachers.id_number.length' FROM t WHERE length(id_number) <> 18
    UNION ALL SELECT row, 'teachers.school_code.length' FROM t WHERE NOT regexp_full_match(school_code, '[0-9]{{10}}')
    UNION ALL SELECT row, 'teachers.birth_date.type' FROM t WHERE birth IS NULL
    UNION ALL SELECT row, 'teachers.degree.enum' FROM t WHERE degree IS NULL
    UNION ALL SELECT row, 'teachers.certified.type' FROM t WHERE certified IS NULL
    UNION ALL SELECT row, 'teachers.sex.enum' FROM t WHERE sex IS NULL
    UNION ALL SELECT row, 'teachers.annual_wage.type' FROM t WHERE wage IS NULL
    UNION ALL SELECT row, 'teachers.id_checksum' FROM t WHERE NOT check_ok
    UNION ALL SELECT row, 'teachers.id_birth_date' FROM t WHERE check_ok AND birth <> try_strptime(substr(id_number, 7, 8), '%Y%m%d')::DATE
    UNION ALL SELECT row, 'teachers.id_sex' FROM t WHERE check_ok AND sex <> CASE WHEN TRY_CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1 THEN 'male' ELSE 'female' END
  ) ORDER BY row, rule
) TO '{out}/violations.csv' (HEADER)
""")
con.execute(f"""
COPY (
  SELECT teacher_id, id_number, school_code, sex, birth AS birth_date, degree, certified, wage AS annual_wage
  FROM t WHERE row NOT IN (SELECT row FROM read_csv('{out}/violations.csv'))
) TO '{out}/clean.csv' (HEADER)
""")
print(con.execute(f"SELECT count(*) FROM t").fetchone()[0], "rows")
