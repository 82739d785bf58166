"""The county office's index of the schools' feedback workbooks in headless Chromium: the sample
county validated and handed back with --feedback, the index page opened as a file. It lists
every workbook, the schools by errors, each name linking to its workbook; the school at the top
is the one with the most errors in index.csv. With --screenshots, pictures of the index and of
one school's workbook (its problem list, then its roster sheet) for the README.

Usage: /usr/bin/python3 Tests/browser/feedback_index.py .build/debug/schoolstat [--screenshots docs/images]"""

import argparse
import csv
import html
import os
import shutil
import subprocess
import tempfile

import openpyxl
from selenium.webdriver.common.by import By

from browser_support import ROOT, check, chromium, finish


def render_sheet(path, index, rows, columns, title, html_path, widths=None):
    """One sheet of a workbook as a picture: fills, comment marks and one comment shown, as in Excel."""
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[index]
    shown_note = False
    out = []
    for row in sheet.iter_rows(min_row=1, max_row=rows, max_col=columns):
        cells = []
        for c in row:
            fill = c.fill.fgColor.rgb[-6:] if c.fill is not None and c.fill.fill_type == "solid" else "ffffff"
            mark = "<span class=m></span>" if c.comment else ""
            note = ""
            if c.comment and not shown_note and c.row > 3:
                note = f"<div class=note>{html.escape(c.comment.text)}</div>"
                shown_note = True
            value = "" if c.value is None else str(c.value)
            if len(value) == 18 and value[:17].isdigit():
                value = value[:6] + "********" + value[-4:]  # masked in the picture, as in every output
            style = f"background:#{fill}" + (";color:#0563c1;text-decoration:underline" if c.hyperlink else "")
            width = f";max-width:{widths[c.column - 1]}px;overflow:hidden" if widths else ""
            cells.append(f"<td style='{style}{width}'>{mark}{html.escape(value[:60])}{note}</td>")
        out.append(f"<tr><th>{row[0].row}</th>" + "".join(cells) + "</tr>")
    letters = "".join(f"<th>{chr(65 + i)}</th>" for i in range(columns))
    tabs = "".join(f"<span class='tab{' on' if i == index else ''}'>{html.escape(n)}</span>" for i, n in enumerate(book.sheetnames))
    with open(html_path, "w", encoding="utf-8") as f:
        f.write("<!doctype html><meta charset=utf-8><style>body{font:13px 'WenQuanYi Micro Hei','Noto Sans CJK SC',sans-serif;margin:8px}"
                "table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:2px 6px;white-space:nowrap;position:relative}"
                "th{background:#eef1f4;color:#57606a;font-weight:normal}.m{position:absolute;top:0;right:0;border-left:6px solid transparent;"
                "border-top:6px solid #c00}.note{position:absolute;left:100%;top:0;z-index:2;width:320px;white-space:normal;"
                "background:#ffffe1;border:1px solid #888;padding:6px;box-shadow:2px 2px 4px rgba(0,0,0,.3)}"
                ".tab{display:inline-block;border:1px solid #ccc;border-top:none;padding:2px 10px;margin-right:2px;background:#f3f3f3}"
                ".tab.on{background:#fff;font-weight:bold}</style>"
                f"<p>{html.escape(title)}</p><table><tr><th></th>{letters}</tr>{''.join(out)}</table><div>{tabs}</div>")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="schoolstat-feedback-")
    binary = os.path.abspath(args.binary)
    driver = None
    try:
        exports = os.path.join(work, "exports")
        shutil.copytree(os.path.join(ROOT, "Samples"), exports, ignore=shutil.ignore_patterns("*.md", "*.py"))
        feedback = os.path.join(work, "feedback")
        run = subprocess.run([binary, "validate", exports, "--rules", os.path.join(ROOT, "Rules"), "--out", os.path.join(work, "run"),
                              "--quiet", "--feedback", feedback], capture_output=True, text=True, timeout=300)
        check(run.returncode == 1, f"the sample county has errors and its feedback is written ({run.returncode}: {run.stderr[-200:]})")
        with open(os.path.join(feedback, "index.csv"), encoding="utf-8-sig") as f:
            index = list(csv.DictReader(f))
        workbooks = sorted(n for n in os.listdir(feedback) if n.endswith(".xlsx"))

        driver = chromium()
        driver.get("file://" + os.path.join(feedback, "index.html"))
        check(driver.find_element(By.TAG_NAME, "h1").text == "各校问题反馈", "the index page opens")
        rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
        check(len(rows) == len(index) == len(workbooks), f"one line per workbook ({len(rows)}, {len(index)}, {len(workbooks)})")
        errors = [int(r.find_elements(By.TAG_NAME, "td")[2].text) for r in rows[:-1]]
        check(errors == sorted(errors, reverse=True), f"the schools by errors, most first ({errors[:5]} …)")
        top = rows[0].find_elements(By.TAG_NAME, "td")
        check(top[1].text == index[0]["学校标识码"] and top[2].text == index[0]["错误"], "the page and index.csv agree on the top school")
        link = top[-1].find_element(By.TAG_NAME, "a")
        target = link.get_attribute("href")
        check(target.startswith("file://") and os.path.exists(os.path.join(feedback, index[0]["文件"])), f"the school's name links to its workbook ({target})")
        check(rows[-1].find_elements(By.TAG_NAME, "td")[0].text == "未匹配学校", "the county office's workbook last")
        if args.screenshots:
            os.makedirs(args.screenshots, exist_ok=True)
            driver.set_window_size(1100, 900)
            driver.save_screenshot(os.path.join(args.screenshots, "feedback-index.png"))
            book = os.path.join(feedback, index[0]["文件"])
            page = os.path.join(work, "list.html")
            render_sheet(book, 0, 12, 10, f"{index[0]['文件']} · 第一张表“问题清单”：每个问题链接到它的单元格", page,
                         widths=[40, 40, 150, 90, 110, 90, 320, 200, 150, 100])
            driver.set_window_size(1400, 520)
            driver.get("file://" + page)
            driver.save_screenshot(os.path.join(args.screenshots, "feedback-school-list.png"))
            page = os.path.join(work, "roster.html")
            render_sheet(book, 2, 12, 13, f"{index[0]['文件']} · 工作表“教师名册”：只有本校的行，问题单元格标色并附批注（图中身份证号已遮盖）", page)
            driver.get("file://" + page)
            driver.save_screenshot(os.path.join(args.screenshots, "feedback-school-roster.png"))
    finally:
        if driver:
            driver.quit()
        shutil.rmtree(work, ignore_errors=True)
    finish("the feedback index: all checks passed")


if __name__ == "__main__":
    main()
