"""End-to-end test of `schoolstat serve` in a real browser (Debian's headless Chromium through
chromedriver and Selenium): a clerk's workbook with planted mistakes is uploaded through the page,
the problem list is checked as rendered, the annotated workbook is downloaded and read back with
openpyxl (a second, independent xlsx reader), and the corrected workbook is uploaded and shows no
errors and what was fixed.

    python3 Tests/browser/check_page.py BINARY [--screenshots DIR]

Exit status 0 when every check passes; each failed check is printed."""

import argparse
import glob
import os
import shutil
import subprocess
import tempfile
import time

import openpyxl
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from browser_support import ROOT, check, chromium, finish

HEADER = ["教师编号", "姓名", "身份证号", "学校标识码", "性别", "出生日期", "任教学段", "最高学历", "教师资格证",
          "任教学科", "骨干教师级别", "近五年培训学时", "年工资收入（万元）"]
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
NAMES = "黄洋 胡超梅 何丽 王芳 李强 张伟 刘洋 陈静 杨帆 赵敏 周杰 吴婷 郑浩 孙丽 钱进 冯雪 蒋涛 沈慧 韩冰 杨柳".split()
# The planted mistakes: cell → (column index, wrong value, words the message must hold).
PLANTED = {
    "F5": (5, "1980-02-30", "不是有效日期"),
    "H8": (7, "函授", "不在允许的取值中"),
    "I10": (8, "待定", "应填“是”或“否”"),
    "L12": (11, "3600", "超出合理范围"),
}


def id_number(birth, i, female):
    body = "500110" + birth.replace("-", "") + f"{i * 10 % 1000 + (0 if female else 1):03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


def workbook(path, planted):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "教师名册"
    sheet.append(HEADER)
    for i, name in enumerate(NAMES, start=1):
        female = i % 2 == 0
        birth = f"19{70 + i}-0{1 + i % 9}-1{i % 10}"
        sheet.append([f"T5001100{i:02d}", name, id_number(birth, i, female), "3150010001", "女" if female else "男",
                      birth, "小学", "本科", "是", "语文", "无", "120", "12.5"])
    if planted:
        for cell, (_, value, _) in PLANTED.items():
            sheet[cell] = value
    book.save(path)


def start_server(binary):
    server = subprocess.Popen([binary, "serve", "--port", "0", "--rules", os.path.join(ROOT, "Rules")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    if "http://" not in line:
        server.kill()
        raise SystemExit("the server did not start: " + line + server.stderr.read())
    return server, line[line.index("http://"):].strip()


def upload(driver, path, wait):
    previous = driver.find_element(By.ID, "title").text if driver.find_element(By.ID, "result").is_displayed() else None
    driver.find_element(By.ID, "file").send_keys(path)
    wait.until(EC.visibility_of_element_located((By.ID, "result")))
    wait.until(lambda d: d.find_element(By.ID, "busy").get_attribute("hidden") is not None)
    return previous


def summary(driver):
    counts = {}
    for li in driver.find_elements(By.CSS_SELECTOR, "#summary li"):
        counts[li.get_attribute("class")] = int(li.find_element(By.CLASS_NAME, "count").text)
    return counts


def render_workbook(path, html_path):
    """The annotated workbook's data sheet as a picture for the README: fills and comments as in Excel."""
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[1]
    rows = []
    for row in sheet.iter_rows(min_row=1, max_row=14):
        cells = []
        for c in row:
            fill = c.fill.fgColor.rgb[-6:] if c.fill is not None and c.fill.fill_type == "solid" else "ffffff"
            mark = "<span class=m></span>" if c.comment else ""
            note = f"<div class=note>{c.comment.text}</div>" if c.comment and c.coordinate == "F5" else ""
            value = c.value or ""
            if c.column == 3 and c.row > 1:
                value = value[:6] + "********" + value[-4:]  # masked in the picture, as in every output
            cells.append(f"<td style='background:#{fill}'>{mark}{value}{note}</td>")
        rows.append(f"<tr><th>{row[0].row}</th>" + "".join(cells) + "</tr>")
    letters = "".join(f"<th>{chr(65 + i)}</th>" for i in range(sheet.max_column))
    with open(html_path, "w", encoding="utf-8") as f:
        f.write("<!doctype html><meta charset=utf-8><style>body{font:13px 'WenQuanYi Micro Hei','Noto Sans CJK SC',sans-serif;margin:8px}"
                "table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:2px 6px;white-space:nowrap;position:relative}"
                "th{background:#eef1f4;color:#57606a;font-weight:normal}.m{position:absolute;top:0;right:0;border-left:6px solid transparent;"
                "border-top:6px solid #c00}.note{position:absolute;left:100%;top:0;z-index:2;width:300px;white-space:normal;"
                "background:#ffffe1;border:1px solid #888;padding:6px;box-shadow:2px 2px 4px rgba(0,0,0,.3)}</style>"
                f"<p>标注工作簿 · 工作表“{sheet.title}”（第一张表“问题清单”列出全部问题；图中身份证号已遮盖）</p>"
                f"<table><tr><th></th>{letters}</tr>{''.join(rows)}</table>")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="schoolstat-browser-")
    downloads = os.path.join(work, "downloads")
    os.mkdir(downloads)
    planted, corrected = os.path.join(work, "本校教师名册.xlsx"), os.path.join(work, "corrected", "本校教师名册.xlsx")
    os.mkdir(os.path.dirname(corrected))
    workbook(planted, True)
    workbook(corrected, False)
    server, url = start_server(os.path.abspath(args.binary))
    driver = None
    try:
        driver = chromium(downloads)
        wait = WebDriverWait(driver, 60)
        driver.get(url)
        check(driver.find_element(By.TAG_NAME, "h1").text == "学校数据提交前检查", "the page opens in Chinese")

        upload(driver, planted, wait)
        counts = summary(driver)
        check(counts.get("errors") == 4, f"four errors counted on the page ({counts.get('errors')})")
        check(counts.get("read") == 20 and counts.get("rejected") == 4, f"20 rows read, 4 with errors ({counts})")
        items = driver.find_elements(By.CSS_SELECTOR, "li.problem.error")
        cells = {li.get_attribute("data-cell"): li for li in items}
        check(set(cells) == set(PLANTED), f"the problems are at exactly the planted cells ({sorted(cells)})")
        for cell, (_, value, words) in PLANTED.items():
            li = cells.get(cell)
            row, letter = cell[1:], cell[0]
            text = li.text if li else ""
            check(f"第 {row} 行 {letter} 列（{cell}）" in text and value in text and words in text,
                  f"{cell} shows its place, value and message: {text[:80]}")
        highlighted = driver.find_elements(By.CSS_SELECTOR, "#rows td.error")
        check(len(highlighted) == 4, f"the rows table highlights four cells ({len(highlighted)})")
        groups = driver.find_elements(By.CSS_SELECTOR, "details.group")
        check(len(groups) == 4, f"problems grouped by kind ({len(groups)} groups)")
        if args.screenshots:
            os.makedirs(args.screenshots, exist_ok=True)
            driver.save_screenshot(os.path.join(args.screenshots, "check-page.png"))

        driver.find_element(By.ID, "download").click()
        deadline = time.time() + 30
        found = []
        while time.time() < deadline:
            found = [f for f in glob.glob(os.path.join(downloads, "*.xlsx"))]
            if found and not glob.glob(os.path.join(downloads, "*.crdownload")):
                break
            time.sleep(0.2)
        check(len(found) == 1 and os.path.basename(found[0]) == "本校教师名册-标注.xlsx", f"the annotated workbook downloads ({found})")
        if found:
            book = openpyxl.load_workbook(found[0])
            check(book.sheetnames[0] == "问题清单", f"its first sheet is the problem list ({book.sheetnames})")
            problems = book.worksheets[0]
            links = [c.hyperlink.location for c in problems["C"][1:] if c.hyperlink]
            check(sorted(links) == sorted(f"'{book.sheetnames[1]}'!{c}" for c in PLANTED), f"the list links to each cell ({links})")
            data = book.worksheets[1]
            filled = {c.coordinate for row in data.iter_rows(min_row=2) for c in row if c.fill.fill_type == "solid"}
            commented = {c.coordinate for row in data.iter_rows(min_row=2) for c in row if c.comment}
            check(filled == set(PLANTED), f"exactly the problem cells are filled ({sorted(filled)})")
            check(commented == set(PLANTED), f"exactly the problem cells carry comments ({sorted(commented)})")
            check(all(PLANTED[c][2] in data[c].comment.text for c in PLANTED), "each comment says what is wrong")
            check(data["C2"].value == id_number("1971-02-11", 1, False), "the clerk's own values are kept as written")
            check(data.freeze_panes == "A2" and data.auto_filter.ref is not None, "the header row is frozen and filtered")
            if args.screenshots:
                html = os.path.join(work, "workbook.html")
                render_workbook(found[0], html)
                driver.get("file://" + html)
                driver.save_screenshot(os.path.join(args.screenshots, "annotated-workbook.png"))
                driver.get(url)
                upload(driver, planted, wait)

        driver.find_element(By.ID, "only-errors").click()
        check(not driver.find_elements(By.CSS_SELECTOR, "li.problem.warning"), "the errors-only filter hides warnings")
        driver.find_element(By.ID, "lang").click()
        check(driver.find_element(By.TAG_NAME, "h1").text.startswith("Check your school"), "the English switch works")
        check("row 5, column F (F5)" in driver.find_element(By.ID, "groups").text, "places are shown in English too")
        driver.find_element(By.ID, "lang").click()

        upload(driver, corrected, wait)
        wait.until(lambda d: summary(d).get("errors") == 0 or d.find_element(By.ID, "compare").is_displayed())
        counts = summary(driver)
        check(counts.get("errors") == 0, f"the corrected workbook has no errors ({counts.get('errors')})")
        compare = driver.find_element(By.ID, "compare").text
        check("已改正 4 处" in compare and "仍需修改 0 处" in compare, f"the page says what was fixed: {compare[:60]}")
        if args.screenshots:
            driver.save_screenshot(os.path.join(args.screenshots, "check-page-corrected.png"))
    finally:
        if driver:
            driver.quit()
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    finish("browser test passed")


if __name__ == "__main__":
    main()
