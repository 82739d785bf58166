"""Reads every workbook of a feedback directory with openpyxl (a reader schoolstat does not
share) and prints what a person opening them would see, as JSON: each sheet's cells, comments,
filled cells and links, and the workbook's properties."""
import json
import os
import sys

import openpyxl

def dump(path):
    book = openpyxl.load_workbook(path)
    sheets = []
    for ws in book.worksheets:
        cells, comments, fills, links = {}, {}, {}, {}
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    cells[c.coordinate] = str(c.value)
                if c.comment is not None:
                    comments[c.coordinate] = c.comment.text
                if c.fill is not None and c.fill.fill_type == "solid":
                    fills[c.coordinate] = str(c.fill.fgColor.rgb)
                if c.hyperlink is not None:
                    links[c.coordinate] = c.hyperlink.location or c.hyperlink.target or ""
        sheets.append({"name": ws.title, "cells": cells, "comments": comments, "fills": fills, "links": links,
                       "max_row": ws.max_row})
    return {"sheets": sheets, "creator": book.properties.creator, "description": book.properties.description}

directory = sys.argv[1]
out = {}
for name in sorted(os.listdir(directory)):
    if name.endswith(".xlsx"):
        out[name] = dump(os.path.join(directory, name))
json.dump(out, sys.stdout, ensure_ascii=False)
