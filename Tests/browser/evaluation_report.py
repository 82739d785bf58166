"""The county evaluation over recorded runs, opened in a real browser (Debian's headless Chromium
through chromedriver and Selenium): the sample county is validated with --score three nights in a
row, one school's largest class fixed on the second night and back on the third, and
evaluation.html is checked as rendered — the county by name and the overall verdict first, no rule
id, `key=value` or English in the Chinese body, a chart per indicator titled in Chinese with a
visible dot per run, the dots' colours and tooltips, the school that failed again since tonight by
name, the history by its file name, and that the file loads nothing from anywhere else. Then a school
named `<script>alert(1)</script>` is shown as text: no script runs, no element is injected.

    python3 Tests/browser/evaluation_report.py BINARY [--screenshots DIR]

Exit status 0 when every check passes; each failed check is printed."""

import argparse
import csv
import os
import re
import shutil
import subprocess
import tempfile

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from browser_support import ROOT, check, chromium, finish


def validate(binary, inputs, out):
    result = subprocess.run([binary, "validate", inputs, "--rules", os.path.join(ROOT, "Rules"), "--out", out, "--score", "--quiet"],
                            capture_output=True, text=True)
    check(result.returncode == 1, f"validate --score exits 1 (errors in the samples), got {result.returncode}: {result.stderr[-300:]}")


def edit_school(path, code, old, new):
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    start = text.index("\r\n" + code + ",") + 2
    end = text.index("\r\n", start)
    line = text[start:end]
    check(old in line, f"{old} is in the line of school {code}")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text[:start] + line.replace(old, new) + text[end:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="schoolstat-evaluation-")
    try:
        inputs, out = os.path.join(work, "in"), os.path.join(work, "out")
        shutil.copytree(os.path.join(ROOT, "Samples"), inputs)
        schools = os.path.join(inputs, "schools.csv")
        with open(schools, "rb") as f:
            original = f.read()
        validate(binary, inputs, out)
        edit_school(schools, "3150010001", ",40,49,126,", ",40,44,126,")
        validate(binary, inputs, out)
        with open(schools, "wb") as f:
            f.write(original)
        validate(binary, inputs, out)

        with open(os.path.join(out, "evaluation", "indicator_trend.csv"), encoding="utf-8-sig") as f:
            trend = list(csv.DictReader(f))
        series = {(r["county_code"], r["section"], r["indicator"]) for r in trend}

        driver = chromium()
        try:
            driver.get("file://" + os.path.join(out, "evaluation", "evaluation.html"))
            # The county by name, the overall verdict before anything else about it.
            h2 = driver.find_elements(By.TAG_NAME, "h2")
            check(h2 and h2[0].text.startswith("万盛经开区"), f"the county is named: {[h.text for h in h2[:1]]}")
            first = driver.find_element(By.CSS_SELECTOR, "section.county > p")
            check(first.get_attribute("class") == "verdict" and first.text.startswith("总体结论："), f"the verdict comes first: {first.text[:60]}")
            tally = driver.find_elements(By.CSS_SELECTOR, "table.tally tr")
            check([r.text.split()[0] for r in tally[1:]] == ["资源配置", "政府保障程度", "教育质量", "社会认可度"], f"the verdict's table by part: {[r.text for r in tally]}")
            body = driver.find_element(By.CSS_SELECTOR, "section.county").text
            # The schools' own names are data (one sample name is a formula): what is left is the report's words.
            with open(os.path.join(out, "evaluation", "school_indicators.csv"), encoding="utf-8-sig") as f:
                names = {r["school_name"].lstrip("'") for r in csv.DictReader(f)}
            words_of_report = body
            for name in sorted(names, key=len, reverse=True):
                words_of_report = words_of_report.replace(name, "").replace(name[:8] + "…", "")
            ids = re.findall(r"\b(?:balance|guarantee|quality|finance|funding|targets|consistency)\.[A-Za-z0-9_.]+", body)
            check(not ids, f"no rule id in the body: {ids[:5]}")
            pairs = re.findall(r"[A-Za-z_]{2,}=\S*", body)
            check(not pairs, f"no key=value in the body: {pairs[:5]}")
            words = set(re.findall(r"[A-Za-z]{3,}", words_of_report)) - {"sqlite"}
            check(not words - {"schoolstat", "history"}, f"no English in the Chinese body: {sorted(words)[:10]}")
            check(work not in body and "schoolstat-history.sqlite" in body, "the history is named by its file name only")
            labels = [c.get_attribute("aria-label") for c in driver.find_elements(By.CSS_SELECTOR, "svg.chart")]
            untitled = [l for l in labels if not re.search(r"[\u4e00-\u9fff]", l) or re.search(r"\b(?:balance|guarantee|quality|finance|funding|targets)\.", l)]
            check(labels and not untitled, f"every chart is titled in Chinese: {untitled[:3]}")
            bars = driver.find_elements(By.CSS_SELECTOR, "svg.chart g.bar text")
            check(any(b.text == "万盛小学" for b in bars), "the chart bars are labelled by school name")

            headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h3")]
            check(any("历次运行" in h for h in headings), f"the report has its part on the recorded runs: {headings}")
            charts = driver.find_elements(By.CSS_SELECTOR, "svg.trend")
            check(len(charts) == len(series) and len(charts) > 20, f"one chart per indicator: {len(charts)} charts, {len(series)} series")
            shown = [c for c in charts if c.size["width"] > 100 and c.size["height"] > 50 and c.is_displayed()]
            check(len(shown) == len(charts), f"every chart is laid out and visible ({len(shown)} of {len(charts)})")
            dots = [len(c.find_elements(By.CSS_SELECTOR, "circle.run")) for c in charts]
            check(all(n == 3 for n in dots), f"three runs, a dot each, in every chart: {sorted(set(dots))}")

            # Class size: the share meeting it rose on night 2 and fell back; every night is not met (red).
            class_size = next(c for c in charts if c.get_attribute("aria-label").startswith("小学班额不超过45人"))
            driver.execute_script("arguments[0].scrollIntoView()", class_size)
            circles = class_size.find_elements(By.CSS_SELECTOR, "circle.run")
            heights = [float(c.get_attribute("cy")) for c in circles]
            check(heights[1] < heights[0] and heights[2] == heights[0], f"the class-size line rises on night 2 and falls back: cy {heights}")
            check(all(c.get_attribute("fill") == "#c62828" for c in circles), "every class-size dot is red (not met)")
            tips = [c.find_element(By.TAG_NAME, "title").get_attribute("textContent") for c in circles]
            check(all("不达标" in t and "%" in t for t in tips), f"each dot's tooltip gives its date, share and conclusion: {tips}")

            # The school that fixed its class size and then undid it fails since tonight only.
            rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "table.streaks tr")]
            again = [r for r in rows if r.startswith("万盛小学") and "小学班额不超过45人" in r]
            check(len(again) == 1 and again[0].split()[-3] == "1", f"万盛小学 fails class size since tonight: {again}")
            stuck = [r for r in rows if r.startswith("青年小学") and "小学班额不超过45人" in r]
            check(len(stuck) == 1 and " 3 " in stuck[0], f"青年小学 has failed class size three nights: {stuck}")

            # One self-contained file: nothing loaded from anywhere but the file itself.
            resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
            check(resources == [], f"the report loads nothing else: {resources}")
            if args.screenshots:
                os.makedirs(args.screenshots, exist_ok=True)
                section = next(h for h in driver.find_elements(By.TAG_NAME, "h3") if "历次运行" in h.text)
                driver.execute_script("arguments[0].scrollIntoView()", section)
                driver.save_screenshot(os.path.join(args.screenshots, "evaluation-history.png"))
        finally:
            driver.quit()

        # A school named like a script: text on the page, nothing run, nothing injected.
        text = original.decode("utf-8-sig")
        with open(schools, "w", encoding="utf-8-sig", newline="") as f:
            f.write(text.replace("3150010001,万盛小学,", "3150010001,<script>alert(1)</script>,", 1))
        hostile = os.path.join(work, "hostile")
        validate(binary, inputs, hostile)
        driver = chromium()
        try:
            driver.get("file://" + os.path.join(hostile, "evaluation", "evaluation.html"))
            try:
                driver.switch_to.alert
                ran = True
            except NoAlertPresentException:
                ran = False
            check(not ran, "the hostile name's script does not run")
            check(driver.execute_script("return document.querySelectorAll('script').length") == 0, "no script element is injected")
            page = driver.find_element(By.TAG_NAME, "body").text
            check("<script>alert(1)</script>" in page, "the hostile name is shown as text")
        finally:
            driver.quit()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    finish("the evaluation over recorded runs renders as it should")


if __name__ == "__main__":
    main()
