"""Writes the workbooks of several sheets the sheet tests read, with openpyxl (/usr/bin/python3,
Debian's python3-openpyxl), as a county's template or a school's export leaves them.

  county.xlsx     填表说明 (notes), 学校基本情况 (Samples/schools.csv), 教师名册 (the check
                  fixture's roster), 补充名册 (three more teachers, hidden), 图表 (a chart sheet),
                  空白 (an empty sheet)
  reordered.xlsx  the same sheets in another order
  notes.xlsx      only notes and a list of choices: no table at all
"""
import csv, os, sys
import openpyxl
from openpyxl.chart import BarChart, Reference

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "../../../.."))


def rows(path, encoding):
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.reader(f))


schools = rows(os.path.join(root, "Samples/schools.csv"), "utf-8-sig")
roster = rows(os.path.join(here, "../check/roster_gbk.csv"), "gb18030")
more = [roster[0],
        ["T500110101", "陈静", "500110198001010011", "3150010001", "女", "1980-01-01", "小学", "本科", "是", "数学", "无", "120", "12.5000"],
        ["T500110102", "刘洋", "500110198102020022", "3150010001", "男", "1981-02-02", "小学", "本科", "是", "语文", "无", "120", "12.5000"],
        ["T500110103", "赵敏", "500110198203030033", "3150010001", "女", "1982-13-03", "小学", "本科", "是", "英语", "无", "120", "12.5000"]]


def book(order):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in order:
        if name == "图表":
            chart = BarChart()
            data = wb[order[0] if order[0] in wb.sheetnames else wb.sheetnames[0]]
            chart.add_data(Reference(data, min_col=1, min_row=1, max_row=2))
            wb.create_chartsheet(name).add_chart(chart)
            continue
        ws = wb.create_sheet(name)
        if name == "填表说明":
            ws.append(["填表说明"])
            ws.append(["1. 身份证号填写 18 位，最后一位可以是 X。"])
            ws.append(["2. 出生日期写成 1980-01-01。"])
        elif name == "学校基本情况":
            for r in schools: ws.append(r)
        elif name == "教师名册":
            for r in roster: ws.append(r)
        elif name == "补充名册":
            for r in more: ws.append(r)
            ws.sheet_state = "hidden"
    return wb


def save(wb, name):
    wb.save(os.path.join(here, name))


save(book(["填表说明", "学校基本情况", "教师名册", "补充名册", "图表", "空白"]), "county.xlsx")
save(book(["教师名册", "填表说明", "补充名册", "学校基本情况", "空白", "图表"]), "reordered.xlsx")
notes = openpyxl.Workbook()
notes.active.title = "填表说明"
notes.active.append(["请按模板填写"])
choices = notes.create_sheet("选项")
for v in ["小学", "初级中学", "九年一贯制学校"]: choices.append([v])
notes.save(os.path.join(here, "notes.xlsx"))
