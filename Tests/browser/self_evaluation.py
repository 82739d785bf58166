"""The self-evaluation draft (evaluation/self_evaluation.docx) read back with a second reader,
python-docx (Debian's python3-docx): the sample county and a generated county are validated with
--score, and the draft is checked against the CSVs written beside it — the heading structure of
seed 003, the overall verdict in the first lines, every resource indicator's schools meeting, failing
schools by name and variation coefficients, the county figures of the guarantee and quality
indicators, no rule id and no `key=value` in the text, what the evaluator must fill in highlighted.
Then a county without its finance table and the sample (which has no monitoring table) say 数据不足
where the data cannot decide, with no figure invented; and a school named
`<script>alert(1)</script>` is text in the draft.

    python3 Tests/browser/self_evaluation.py BINARY

Exit status 0 when every check passes; each failed check is printed."""

import argparse
import csv
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

import docx
from docx.enum.text import WD_COLOR_INDEX

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_support import ROOT, check, finish  # noqa: E402

RULE_ID = re.compile(r"\b(balance|guarantee|quality|finance|funding|targets|consistency)\.[A-Za-z0-9_]+")
KEY_VALUE = re.compile(r"[A-Za-z_]{2,}=")
PARTS = ["（一）资源配置情况", "（二）政府保障情况", "（三）教育质量情况", "（四）社会认可度调查情况", "（五）“一票否决”指标情况"]
COUNTS = [8, 15, 9, 1, 1]


def run(binary, inputs, out, *extra):
    result = subprocess.run([binary, "validate", inputs, "--rules", os.path.join(ROOT, "Rules"), "--out", out, "--score", "--quiet",
                             "--no-history", *extra], capture_output=True, text=True, timeout=600)
    check(result.returncode in (0, 1), f"validate --score exits 0 or 1, got {result.returncode}: {result.stderr[-400:]}")


def records(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def read(out):
    path = os.path.join(out, "evaluation", "self_evaluation.docx")
    check(os.path.exists(path), f"the draft is written: {path}")
    return docx.Document(path)


def structure(document):
    """Heading 3 paragraphs grouped by the Heading 2 above them, each with its body paragraphs."""
    parts, current, indicator = {}, None, None
    for p in document.paragraphs:
        style = p.style.name
        if style == "Heading 1":
            current = None
        elif style == "Heading 2":
            current = p.text
            parts[current] = []
        elif style == "Heading 3" and current is not None:
            indicator = {"title": p.text, "body": []}
            parts[current].append(indicator)
        elif current is not None and indicator is not None and p.text:
            indicator["body"].append(p)
    return parts


def body_text(indicator):
    return "".join(p.text for p in indicator["body"])


def cv3(text):
    return f"{float(text):.3f}"


def check_common(document, out, county_name):
    text = [p.text for p in document.paragraphs]
    title = next(p for p in document.paragraphs if p.style.name == "Title").text
    check(title.startswith(county_name) and title.endswith("自评报告（数据部分·草稿）"), f"the title names the county: {title}")
    h1 = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    check(h1 == ["总体结论", "一、基本情况", "二、指标完成情况", "三、存在的主要问题", "四、后续工作推进思路"], f"the parts of seed 003 in order: {h1}")
    verdict_at = next(i for i, t in enumerate(text) if t.startswith("总体结论："))
    check(verdict_at <= 4, f"the overall verdict is in the first lines (paragraph {verdict_at})")
    parts = structure(document)
    check(list(parts)[:5] == PARTS, f"二 has the five parts of the official method: {list(parts)}")
    for name, count in zip(PARTS, COUNTS):
        indicators = parts.get(name, [])
        check(len(indicators) == count, f"{name} lists {count} indicators, has {len(indicators)}")
        wrong = [i["title"] for i in indicators
                 if not i["title"].startswith("指标") or [p.text.startswith("自评结论：") for p in i["body"]].count(True) != 1
                 or not i["body"][-1].text.startswith("自评结论：")]
        check(not wrong, f"{name}: every indicator reads 指标N：… and ends with one 自评结论: {wrong}")
    everything = text + [c.text for t in document.tables for row in t.rows for c in row.cells]
    ids = [t for t in everything if RULE_ID.search(t)]
    check(not ids, f"no rule id in the draft: {ids[:3]}")
    pairs = [t for t in everything if KEY_VALUE.search(t)]
    check(not pairs, f"no key=value in the draft: {pairs[:3]}")
    # What the evaluator must supply is highlighted: the planning indicator (G1) is to be filled in.
    g1 = parts[PARTS[1]][0]
    runs = [r for p in g1["body"] for r in p.runs if "待填写" in r.text]
    check(runs and all(r.font.highlight_color == WD_COLOR_INDEX.YELLOW for r in runs), "G1's 「（待填写：…）」 is highlighted")
    table = document.tables[0]
    header = [c.text for c in table.rows[0].cells]
    check(header[:4] == ["方面", "指标数", "达标", "不达标"], f"the verdict's table: {header}")
    return parts


def generate_county(directory):
    """A county of 24 schools with every resource column: each resource its standard times the
    pupils times a factor, some below; and a county finance row naming the county."""
    os.makedirs(directory)
    rng = random.Random(20241)
    header = ["学校标识码", "学校名称", "行政区划代码", "学校类型", "城乡分类", "在校生数", "小学在校生数", "初中在校生数", "班级数", "最大班额",
              "专任教师数", "高于规定学历教师数", "县级及以上骨干教师数", "体育专任教师数", "音乐专任教师数", "美术专任教师数",
              "教学及辅助用房面积（m²）", "体育运动场馆面积（平方米）", "教学仪器设备值（元）", "网络多媒体教室数", "音乐专用教室数",
              "音乐专用教室面积", "美术专用教室数", "美术专用教室面积", "公用经费预算（元）", "教师培训经费（元）", "持证教师数",
              "完成360学时培训教师数", "建校年份"]
    rows = []
    for i in range(24):
        junior = i % 3 == 0
        pupils = rng.randint(300, 1500)
        standards = (5.3, 1.0, 0.9, 5.8, 10.2, 2500, 2.4) if junior else (4.2, 1.0, 0.9, 4.5, 7.5, 2000, 2.3)
        f = [rng.choice((0.8, 0.95, 1.1, 1.3, 1.6)) for _ in standards]
        per100 = lambda k: max(1, round(standards[k] * f[k] * pupils / 100))
        classes = pupils // 45 + 1
        teachers = max(pupils // 12, per100(0) + 5)
        pe_art = per100(2)
        rows.append([f"31099900{i + 10:02d}", f"试验{'中学' if junior else '小学'}{i + 1}号", "500999", "初级中学" if junior else "小学", "城区",
                     pupils, "" if junior else pupils, pupils if junior else "", classes, rng.choice((40, 44, 48, 52)), teachers,
                     per100(0), per100(1), pe_art // 3 + 1, pe_art // 3, pe_art - 2 * (pe_art // 3) - 1 if pe_art > 2 else 0,
                     round(standards[3] * f[3] * pupils, 1), round(standards[4] * f[4] * pupils, 1), round(standards[5] * f[5] * pupils),
                     per100(6), classes // 12 + 1, 100, classes // 12 + 1, 95, 600000, rng.choice((20000, 35000)), teachers, teachers, 2010])
    with open(os.path.join(directory, "schools.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    with open(os.path.join(directory, "county_finance.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["行政区划代码", "区县名称", "年度", "一般公共预算教育支出", "教师平均工资", "公务员平均工资"])
        w.writerow(["500999", "生成县", "2024", "520000000", "121000", "125500"])


def check_resources(parts, out):
    county = records(os.path.join(out, "evaluation", "county_indicators.csv"))
    schools = records(os.path.join(out, "evaluation", "school_indicators.csv"))
    # The CSV defuses a name that looks like a formula with a leading apostrophe; the draft has it as it is.
    names = {r["school_code"]: r["school_name"][1:] if r["school_name"][:2] in ("'=", "'+", "'-", "'@") else r["school_name"]
             for r in schools}
    resources = parts[PARTS[0]]
    for n in range(1, 8):
        rid = f"R{n}"
        indicator = resources[n - 1]
        body = body_text(indicator)
        rows = [r for r in schools if r["section"] and r[f"{rid}_met"] in ("true", "false")]
        codes = {r["school_code"] for r in rows}
        failing = {r["school_code"] for r in rows if r[f"{rid}_met"] == "false"}
        check(f"达标学校 {len(codes) - len(failing)} 所" in body, f"{rid}: {len(codes) - len(failing)} schools meet it, as school_indicators.csv says: {body[:160]}")
        unnamed = [names[code] for code in failing if names[code] not in body]
        check(not unnamed if len(failing) <= 30 else f"等 {len(failing)} 所" in body,
              f"{rid}: the {len(failing)} failing schools are named (up to 30): missing {unnamed}")
        share = f"{round((len(codes) - len(failing)) / len(codes) * 100, 1):g}%" if codes else "—"
        check(f"达标比例 {share}" in body, f"{rid}: share {share}: {body[-120:]}")
        cvs = [cv3(r["cv"]) for r in county if r["indicator"] == rid and r["cv"]]
        check(cvs and all(c in body for c in cvs), f"{rid}: variation coefficients {cvs} as county_indicators.csv gives them")
    school_rule = body_text(resources[7])
    failing = {r["school_code"] for r in schools if r["verdict"] == "not_met"}
    unnamed = [names[code] for code in failing if names[code] not in school_rule]
    check(failing == set() or not unnamed, f"the school rule names the {len(failing)} failing schools: missing {unnamed}")
    return county


def county_row(county, indicator):
    return next((r for r in county if r["indicator"] == indicator), None)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="schoolstat-self-evaluation-")
    try:
        # The sample county.
        inputs, out = os.path.join(work, "in"), os.path.join(work, "out")
        shutil.copytree(os.path.join(ROOT, "Samples"), inputs)
        run(binary, inputs, out)
        document = read(out)
        parts = check_common(document, out, "万盛经开区")
        county = check_resources(parts, out)
        guarantee, quality = parts[PARTS[1]], parts[PARTS[2]]
        g8 = county_row(county, "guarantee.G8.teacher_wage")
        body = body_text(guarantee[7])
        for figure in ("value", "standard"):
            wan = f"{round(float(g8[figure]) / 10000, 4):g}万元"
            check(wan in body, f"G8 gives the {figure} in 万元 as county_indicators.csv has it ({g8[figure]} 元 → {wan}): {body}")
        q1 = county_row(county, "quality.Q1.retention")
        check(f"为{q1['value']}%" in body_text(quality[0]), f"Q1's retention {q1['value']}% as in the CSV: {body_text(quality[0])}")
        s1 = county_row(county, "quality.S1.satisfaction")
        s1_body = body_text(parts[PARTS[3]][0])
        check(f"{s1['numerator']}份" in s1_body and f"{s1['value']}%" in s1_body, f"S1's figures as in the CSV: {s1_body}")
        q9 = body_text(quality[8])
        check("数据不足" in q9 and "质量监测结果" in q9 and not re.search(r"\d", q9.split("自评结论")[0].replace("0.5", "").replace("0.15", "")),
              f"with no monitoring table, Q9 says 数据不足 and invents nothing: {q9}")
        # The Markdown report: the county by name and the verdict first; no rule id or key=value before its appendix.
        with open(os.path.join(out, "evaluation", "evaluation.md"), encoding="utf-8") as f:
            markdown = f.read()
        body = markdown.split("## 附录")[0]
        check("## 万盛经开区（500110）\n\n**总体结论：" in body, "evaluation.md names the county and gives the verdict first")
        check(not RULE_ID.search(body) and not KEY_VALUE.search(body), f"evaluation.md's body has no rule id or key=value: {RULE_ID.findall(body)[:3]}")
        check("guarantee.G8.teacher_wage" in markdown.split("## 附录")[1], "the appendix maps lines to rule ids")
        problems = []
        seen = False
        for p in document.paragraphs:
            if p.style.name == "Heading 1":
                seen = p.text == "三、存在的主要问题"
            elif seen and p.text:
                problems.append(p.text)
        check(len(problems) >= 1 and all(re.match(r"\d+\. ", t) for t in problems), f"三 lists the problems, numbered: {problems[:3]}")

        # A county without its finance table: the finance-based indicators say 数据不足, nothing invented.
        no_finance, out2 = os.path.join(work, "nofinance"), os.path.join(work, "out2")
        shutil.copytree(os.path.join(ROOT, "Samples"), no_finance)
        os.remove(os.path.join(no_finance, "county_finance.csv"))
        run(binary, no_finance, out2)
        document = read(out2)
        parts = check_common(document, out2, "万盛经开区")   # the name now from the schools table's title row
        for part, index, label in ((PARTS[1], 7, "G8"), (PARTS[2], 0, "Q1"), (PARTS[3], 0, "S1")):
            indicator = parts[part][index]
            figures = [p.text for p in indicator["body"] if not p.text.startswith("标准：") and not p.text.startswith("自评结论")]
            check(figures and all("数据不足" in t and "区县教育经费" in t for t in figures), f"{label} without county finance: {figures}")
            check(not any(re.search(r"\d", t) for t in figures), f"{label} invents no figure: {figures}")
            marked = [r for p in indicator["body"] for r in p.runs if "（待填写：" in r.text]
            check(marked and all(r.font.highlight_color == WD_COLOR_INDEX.YELLOW for r in marked),
                  f"{label} asks the evaluator, highlighted, to supply what is missing")
            check(indicator["body"][-1].text == "自评结论：数据不足。", f"{label} concludes 数据不足: {indicator['body'][-1].text}")

        # A school named like a script is text; --county-name names the county.
        hostile, out3 = os.path.join(work, "hostile"), os.path.join(work, "out3")
        shutil.copytree(os.path.join(ROOT, "Samples"), hostile)
        schools = os.path.join(hostile, "schools.csv")
        with open(schools, encoding="utf-8-sig", newline="") as f:
            text = f.read()
        check("万盛小学" in text, "the sample has 万盛小学")
        with open(schools, "w", encoding="utf-8-sig", newline="") as f:
            f.write(text.replace("3150010001,万盛小学,", "3150010001,<script>alert(1)</script>,", 1))
        run(binary, hostile, out3, "--county-name", "试验&<县>")
        document = read(out3)
        all_text = "\n".join(p.text for p in document.paragraphs)
        check("<script>alert(1)</script>" in all_text, "the hostile school name is in the draft as text")
        title = next(p for p in document.paragraphs if p.style.name == "Title").text
        check(title.startswith("试验&<县>"), f"--county-name overrides: {title}")

        # A county the test makes: named by its finance table, the same structure, its figures equal its CSVs.
        generated, out4 = os.path.join(work, "generated"), os.path.join(work, "out4")
        generate_county(generated)
        run(binary, generated, out4)
        document = read(out4)
        parts = check_common(document, out4, "生成县")
        county = check_resources(parts, out4)
        schools = records(os.path.join(out4, "evaluation", "school_indicators.csv"))
        check(any(r["verdict"] == "not_met" for r in schools) and any(r["verdict"] == "met" for r in schools),
              "the generated county has schools meeting and failing the resource standards")
        g8 = body_text(parts[PARTS[1]][7])
        check("12.1万元" in g8 and "12.55万元" in g8 and g8.endswith("自评结论：不达标。"), f"G8 from the generated finance row: {g8}")
        verdict = next(p.text for p in document.paragraphs if p.text.startswith("总体结论："))
        check("不达标" in verdict, f"the generated county's verdict: {verdict}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    finish("the self-evaluation draft reads back as it should")


if __name__ == "__main__":
    main()
